"""Memory calls on another process through a pidfd: process_madvise(2) (advice on its address
space, bytes advised returned) and process_mrelease(2) (reaping the memory of a process that is
dying). The target is the process a pidfd names (syscalls/pidfd.py)."""
from snakevisor.abi import mm as M
from snakevisor.abi.capability import CAP_SYS_NICE
from snakevisor.abi.errno import EACCES, EINVAL, EPERM, ESRCH, SyscallError
from snakevisor.abi.fs import to_s32
from snakevisor.sentry.kernel.creds import may_ptrace
from snakevisor.sentry.syscalls.pidfd import group_of_fd

# The advice another process's memory may be given (process_madvise_remote_valid): hints that
# destroy nothing.
REMOTE_ADVICE = frozenset((M.MADV_COLD, M.MADV_PAGEOUT, M.MADV_WILLNEED, M.MADV_COLLAPSE))


def _target_group(t, pidfd):
    """pidfd_get_task: the process behind ``pidfd``: EBADF if it is not a pidfd, ESRCH once it has
    exited (a zombie too)."""
    tg = group_of_fd(t, pidfd)
    if tg.reaped or tg.exit_status is not None or all(task.exited for task in tg.tasks):
        raise SyscallError(ESRCH)
    return tg


def process_madvise(t, pidfd, iov_addr, vlen, advice, flags):
    if flags & 0xFFFFFFFF:
        raise SyscallError(EINVAL)
    iovs = t.mm.read_iovecs(iov_addr, vlen)
    tg = _target_group(t, pidfd)
    target, advice = next(task for task in tg.tasks if not task.exited), to_s32(advice)
    if target.mm is not t.mm:
        if not may_ptrace(t, target, fscreds=True):
            raise SyscallError(EACCES)     # PTRACE_MODE_READ_FSCREDS, as mm_access
        if advice not in REMOTE_ADVICE:
            raise SyscallError(EINVAL)
        if not t.creds.has_cap(CAP_SYS_NICE):
            raise SyscallError(EPERM)
    done = 0
    for base, length in iovs:              # vector_madvise: stop at the first failure
        try:
            target.mm.madvise(base, length, advice)
        except SyscallError:
            if done:
                break
            raise
        done += length
    return done


def process_mrelease(t, pidfd, flags):
    """0 for a process that is dying (a fatal signal taken, exiting); EINVAL for one that is
    alive. Its memory goes as the Sentry ends it."""
    if flags & 0xFFFFFFFF:
        raise SyscallError(EINVAL)
    if _target_group(t, pidfd).exiting:
        return 0
    raise SyscallError(EINVAL)
