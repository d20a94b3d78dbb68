"""timerfd: a host timerfd owned by the Sentry behind each application timerfd.

The host kernel already keeps CLOCK_REALTIME/MONOTONIC/BOOTTIME timers with
absolute and interval modes and counts expirations exactly; the Sentry holds
one non-blocking host timerfd per application timerfd, passes settime/gettime
through, and its readiness and wake-ups come from the loop polling that host
descriptor (``HostFdWaitable``), so it works in poll/select/epoll unchanged.
(The Sentry's seccomp whitelist must allow timerfd_create/settime/gettime.)
"""
import ctypes
import os
import select

from snakevisor.abi.errno import EAGAIN, EINVAL, SyscallError
from snakevisor.abi.fs import O_NONBLOCK, O_RDWR
from snakevisor.abi.poll import ITIMERSPEC, POLLIN, POLLRDNORM, TFD_CLOEXEC, TFD_NONBLOCK
from snakevisor.hostos.libc import checked, libc
from snakevisor.sentry.fsimpl.anon import anon_inode_file
from snakevisor.sentry.vfs.file import FileDescriptionImpl
from snakevisor.sentry.vfs.waiter import HostFdWaitable


class TimerFDImpl(FileDescriptionImpl):
    seekable = False

    def __init__(self, host_fd: int, clockid: int = 0):
        super().__init__()
        self.host_fd = host_fd
        self.clockid = clockid   # a time namespace shifts absolute expiries of some clocks

    def read(self, task, n, offset):
        if n < 8:
            raise SyscallError(EINVAL)
        try:
            return os.read(self.host_fd, 8)
        except BlockingIOError:
            raise SyscallError(EAGAIN)
        except OSError as e:
            raise SyscallError(e.errno or EINVAL)

    def readiness(self, task, mask):
        p = select.poll()
        p.register(self.host_fd, select.POLLIN)
        return (POLLIN | POLLRDNORM) & mask if p.poll(0) else 0

    def waitable(self, task):
        return HostFdWaitable(self.host_fd)

    def settime(self, flags: int, new: bytes) -> bytes:
        """timerfd_settime with raw struct itimerspec bytes; returns the old value's bytes."""
        old = ctypes.create_string_buffer(ITIMERSPEC.size)
        checked(libc.timerfd_settime(self.host_fd, flags, new, old))
        return old.raw

    def gettime(self) -> bytes:
        cur = ctypes.create_string_buffer(ITIMERSPEC.size)
        checked(libc.timerfd_gettime(self.host_fd, cur))
        return cur.raw

    def release(self):
        os.close(self.host_fd)


def new_timerfd(clockid: int, flags: int):
    if flags & ~(TFD_CLOEXEC | TFD_NONBLOCK):
        raise SyscallError(EINVAL)
    host_fd = checked(libc.timerfd_create(clockid, os.O_NONBLOCK | os.O_CLOEXEC))
    return anon_inode_file("timerfd", TimerFDImpl(host_fd, clockid), O_RDWR | (flags & O_NONBLOCK))
