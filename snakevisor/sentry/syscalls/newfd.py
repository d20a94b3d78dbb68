"""Giving a new file description an fd in the Task's FDTable: the table takes the caller's
reference, or, when no fd can be had (EMFILE, EINVAL), the reference is dropped so that the
description does not outlive the failed call."""
from snakevisor.abi.errno import SyscallError


def install_new(t, f, cloexec: bool, minfd: int = 0) -> int:
    """Install ``f`` at the lowest free fd >= ``minfd``; on failure drop our reference to it."""
    try:
        return t.fdtable.install(f, cloexec, minfd)
    except SyscallError:
        f.dec_ref()
        raise
