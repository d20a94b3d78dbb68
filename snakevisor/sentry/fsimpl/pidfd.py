"""pidfd: a file that refers to a process (pidfd_open, CLONE_PIDFD), or to one thread of it
(PIDFD_THREAD, Linux 6.9: its description has the flag, O_EXCL, in F_GETFL).

It is readable (POLLIN) once the process has exited, and also hung up
(POLLHUP) once it has been reaped; a thread's, other than the leader's, both once the thread has
exited (it is reaped as it exits). read(2) on it is EINVAL, as on Linux.
"""
from snakevisor.abi.fs import O_EXCL, O_NONBLOCK, O_RDWR
from snakevisor.abi.poll import POLLHUP, POLLIN, POLLRDNORM
from snakevisor.sentry.fsimpl.anon import anon_inode_file
from snakevisor.sentry.vfs.file import FileDescriptionImpl


class PidFDImpl(FileDescriptionImpl):
    seekable = False

    def __init__(self, tg, thread=None):
        super().__init__()
        self.tg = tg
        self.thread = thread   # PIDFD_THREAD: the Task it names

    def readiness(self, task, mask):
        tg, thread = self.tg, self.thread
        if thread is not None and thread is not tg.leader:
            return (POLLIN | POLLRDNORM | POLLHUP) & (mask | POLLHUP) if thread.exited else 0
        if tg.reaped:
            return (POLLIN | POLLRDNORM | POLLHUP) & (mask | POLLHUP)
        if tg.exit_status is not None:
            return (POLLIN | POLLRDNORM) & mask
        return 0

    def waitable(self, task):
        return self.tg.pidfd_waiters


def new_pidfd(tg, nonblock: bool = False, thread=None):
    """A pidfd for process ``tg``, or for its thread ``thread`` (PIDFD_THREAD)."""
    f = anon_inode_file("pidfd", PidFDImpl(tg, thread), O_RDWR | (O_NONBLOCK if nonblock else 0))
    if thread is not None:
        f.flags |= O_EXCL   # (an open-only flag a FileDescription drops otherwise)
    return f


def pidfd_group(f):
    """The ThreadGroup a pidfd names, or None for any other file."""
    impl = f.impl
    return impl.tg if isinstance(impl, PidFDImpl) else None


def pidfd_thread(f):
    """The Task a PIDFD_THREAD pidfd names; None for a process's pidfd or any other file."""
    impl = f.impl
    return impl.thread if isinstance(impl, PidFDImpl) else None
