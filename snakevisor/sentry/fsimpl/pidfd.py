"""pidfd: a file that refers to a process (pidfd_open, CLONE_PIDFD).

It is readable (POLLIN) once the process has exited, and also hung up
(POLLHUP) once it has been reaped; read(2) on it is EINVAL, as on Linux.
"""
from snakevisor.abi.fs import O_NONBLOCK, O_RDWR
from snakevisor.abi.poll import POLLHUP, POLLIN, POLLRDNORM
from snakevisor.sentry.fsimpl.anon import anon_inode_file
from snakevisor.sentry.vfs.file import FileDescriptionImpl


class PidFDImpl(FileDescriptionImpl):
    seekable = False

    def __init__(self, tg):
        super().__init__()
        self.tg = tg

    def readiness(self, task, mask):
        tg = self.tg
        if tg.reaped:
            return (POLLIN | POLLRDNORM | POLLHUP) & (mask | POLLHUP)
        if tg.exit_status is not None:
            return (POLLIN | POLLRDNORM) & mask
        return 0

    def waitable(self, task):
        return self.tg.pidfd_waiters


def new_pidfd(tg, nonblock: bool = False):
    return anon_inode_file("pidfd", PidFDImpl(tg), O_RDWR | (O_NONBLOCK if nonblock else 0))


def pidfd_group(f):
    """The ThreadGroup a pidfd names, or None for any other file."""
    impl = f.impl
    return impl.tg if isinstance(impl, PidFDImpl) else None
