"""signalfd and signalfd4."""
from snakevisor.abi.errno import EINVAL, SyscallError
from snakevisor.abi.fs import to_s32
from snakevisor.sentry.fsimpl.signalfd import SFD_CLOEXEC, SignalFDImpl, new_signalfd


def signalfd4(t, fd, mask_ptr, size, flags):
    if size != 8:
        raise SyscallError(EINVAL)
    mask = int.from_bytes(t.mm.copy_in(mask_ptr, 8), "little")
    fd = to_s32(fd)
    if fd == -1:
        f = new_signalfd(t.kernel, mask, flags)
        return t.fdtable.install(f, cloexec=bool(flags & SFD_CLOEXEC))
    if flags & ~(SFD_CLOEXEC | 0o4000):
        raise SyscallError(EINVAL)
    f = t.fdtable.get(fd)
    f.check_not_path()
    if not isinstance(f.impl, SignalFDImpl):
        raise SyscallError(EINVAL)
    f.impl.mask = mask & ~((1 << 8) | (1 << 18))  # SIGKILL and SIGSTOP cannot be read
    return fd


def signalfd(t, fd, mask_ptr, size):
    return signalfd4(t, fd, mask_ptr, size, 0)
