"""The LSM syscalls (lsm_list_modules, lsm_get_self_attr, lsm_set_self_attr; Linux 6.8).

The Sentry's security modules are the ones it enforces itself: capabilities and Landlock
(kernel/landlock.py). Neither has process attributes (those are
SELinux's, AppArmor's and Smack's), so getting or setting one is EOPNOTSUPP, as on a kernel
built without those modules."""
import struct

from snakevisor.abi.errno import E2BIG, EINVAL, EOPNOTSUPP, SyscallError
from snakevisor.abi.lsm import LSM_CTX, LSM_FLAG_SINGLE, LSM_ID_CAPABILITY, LSM_ID_LANDLOCK
from snakevisor.abi.mm import PAGE_SIZE

ACTIVE = [LSM_ID_CAPABILITY, LSM_ID_LANDLOCK]   # lsm_idlist, in order


def lsm_list_modules(t, ids, size_ptr, flags):
    if flags:
        raise SyscallError(EINVAL)
    usize = struct.unpack("<I", t.mm.copy_in(size_ptr, 4))[0]
    total = 8 * len(ACTIVE)
    t.mm.copy_out(size_ptr, struct.pack("<I", total))
    if usize < total:
        raise SyscallError(E2BIG)
    t.mm.copy_out(ids, struct.pack(f"<{len(ACTIVE)}Q", *ACTIVE))
    return len(ACTIVE)


def lsm_get_self_attr(t, attr, ctx, size_ptr, flags):
    if flags & ~LSM_FLAG_SINGLE:
        raise SyscallError(EINVAL)
    t.mm.copy_in(size_ptr, 4)
    t.mm.copy_out(size_ptr, struct.pack("<I", 0))   # no module has an attribute to give
    raise SyscallError(EOPNOTSUPP)


def lsm_set_self_attr(t, attr, ctx, size, flags):
    if flags or size < LSM_CTX.size:
        raise SyscallError(EINVAL)
    if size > PAGE_SIZE:
        raise SyscallError(E2BIG)
    _id, _flags, length, ctx_len = LSM_CTX.unpack_from(t.mm.copy_in(ctx, size))
    if size < length or size < ctx_len + LSM_CTX.size or length < ctx_len + LSM_CTX.size:
        raise SyscallError(EINVAL)
    raise SyscallError(EOPNOTSUPP)   # no module takes process attributes
