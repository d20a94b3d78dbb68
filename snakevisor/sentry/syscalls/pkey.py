"""Memory protection keys: pkey_alloc, pkey_free, pkey_mprotect, as Linux answers on a CPU without PKU.

The sandbox reports no ``pku``/``ospke`` CPU flag, so (as Linux then) no key can be allocated
(pkey_alloc is EINVAL after its argument checks), none can be freed, and pkey_mprotect with
key -1 is exactly mprotect.
"""
from snakevisor.abi.errno import EINVAL, SyscallError
from snakevisor.abi.fs import to_s32
from snakevisor.abi.mm import PKEY_ACCESS_MASK


def pkey_alloc(t, flags, init_rights):
    if flags or init_rights & ~PKEY_ACCESS_MASK:
        raise SyscallError(EINVAL)
    raise SyscallError(EINVAL)    # key 0 taken, then refused: no OSPKE (arch_set_user_pkey_access)


def pkey_free(t, pkey):
    raise SyscallError(EINVAL)    # nothing is ever allocated


def pkey_mprotect(t, addr, length, prot, pkey):
    if to_s32(pkey) != -1:
        raise SyscallError(EINVAL)
    return t.mm.mprotect(addr, length, prot & 0xFFFFFFFF)
