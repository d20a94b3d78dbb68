"""eventfd, eventfd2 (fsimpl/eventfd.py holds the counter file)."""
from snakevisor.abi.errno import EINVAL, SyscallError
from snakevisor.abi.fs import to_s32, to_u32
from snakevisor.abi.poll import EFD_CLOEXEC, EFD_NONBLOCK, EFD_SEMAPHORE
from snakevisor.sentry.fsimpl.eventfd import new_eventfd
from snakevisor.sentry.syscalls.newfd import install_new


def _eventfd(t, initval, flags):
    if flags & ~(EFD_CLOEXEC | EFD_NONBLOCK | EFD_SEMAPHORE):
        raise SyscallError(EINVAL)
    f = new_eventfd(to_u32(initval), bool(flags & EFD_SEMAPHORE), bool(flags & EFD_NONBLOCK))
    return install_new(t, f, bool(flags & EFD_CLOEXEC))


def eventfd(t, initval):
    return _eventfd(t, initval, 0)


def eventfd2(t, initval, flags):
    return _eventfd(t, initval, to_s32(flags))
