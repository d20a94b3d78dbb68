"""signalfd: a file that reads the reading thread's pending signals (of a mask) as signalfd_siginfo.

Whose signals is the Task passed to read, readiness and waitable: the reader, the poller, or
for epoll the thread that added the descriptor (its wait queue) and the one in epoll_wait."""
import struct

from snakevisor.abi import signal as S
from snakevisor.abi.errno import EAGAIN, EINVAL, SyscallError
from snakevisor.abi.fs import O_NONBLOCK, O_RDWR
from snakevisor.abi.poll import POLLIN, POLLRDNORM, SFD_CLOEXEC, SFD_NONBLOCK
from snakevisor.sentry.fsimpl.anon import anon_inode_file
from snakevisor.sentry.vfs.file import FileDescriptionImpl

# struct signalfd_siginfo: signo, errno, code, pid, uid, fd, tid, band, overrun, trapno, status, int,
# ptr, utime, stime, addr, addr_lsb, then padding to 128 bytes.
SIGNALFD_SIGINFO = struct.Struct("<IiiIIiIIIIiiQQQQH46x")


def to_signalfd_siginfo(info):
    signo, errno, code = S.SIGINFO_HEAD.unpack_from(info)
    pid = uid = tid = overrun = status = ival = 0
    ptr = utime = stime = addr = 0
    if signo == S.SIGCHLD and code > 0:
        _, _, _, pid, uid, status, utime, stime = S.SIGINFO_CHLD.unpack_from(info)
    elif code == S.SI_TIMER:
        _, _, _, tid, overrun, ptr = S.SIGINFO_TIMER.unpack_from(info)
        ival = ptr & 0xFFFFFFFF
    elif signo in S.SYNCHRONOUS_SIGNALS and code > 0:
        addr = S.SIGINFO_FAULT.unpack_from(info)[3]
    else:
        _, _, _, pid, uid, ptr = S.SIGINFO_QUEUE.unpack_from(info)
        ival = ptr & 0xFFFFFFFF
    ival = ival - (1 << 32) if ival >= 1 << 31 else ival
    return SIGNALFD_SIGINFO.pack(signo, errno, code, pid, uid, 0, tid, 0, overrun, 0, status, ival, ptr,
                                 utime, stime, addr, 0)


class SignalFDImpl(FileDescriptionImpl):
    seekable = False

    def __init__(self, kernel, mask):
        super().__init__()
        self.kernel = kernel
        self.mask = mask & ~S.UNBLOCKABLE

    def read(self, task, n, offset):
        if n < SIGNALFD_SIGINFO.size:
            raise SyscallError(EINVAL)
        out = []
        while len(out) < n // SIGNALFD_SIGINFO.size:
            sig, info = self.kernel.signals.dequeue(task, mask=~self.mask & ((1 << 64) - 1))
            if sig is None:
                break
            out.append(to_signalfd_siginfo(info))
        if not out:
            raise SyscallError(EAGAIN)
        return b"".join(out)

    def readiness(self, task, mask):
        if task is not None and self.kernel.signals.pending_mask(task) & self.mask:
            return mask & (POLLIN | POLLRDNORM)
        return 0

    def waitable(self, task):
        return task.tg.signal_arrivals if task is not None else None


def new_signalfd(kernel, mask, flags):
    if flags & ~(SFD_CLOEXEC | SFD_NONBLOCK):
        raise SyscallError(EINVAL)
    return anon_inode_file("signalfd", SignalFDImpl(kernel, mask), O_RDWR | (flags & O_NONBLOCK))
