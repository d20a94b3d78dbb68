"""eventfd: a 64-bit counter file (EFD_SEMAPHORE, blocking and non-blocking), in the Sentry."""
import struct

from snakevisor.abi.errno import EAGAIN, EINVAL, SyscallError
from snakevisor.abi.fs import O_NONBLOCK, O_RDWR
from snakevisor.abi.poll import EVENTFD_MAX, POLLERR, POLLIN, POLLOUT, POLLRDNORM, POLLWRNORM
from snakevisor.sentry.fsimpl.anon import anon_inode_file
from snakevisor.sentry.vfs.file import FileDescriptionImpl
from snakevisor.sentry.vfs.waiter import WaitQueue

U64 = struct.Struct("<Q")


class EventFDImpl(FileDescriptionImpl):
    seekable = False

    def __init__(self, initval: int, semaphore: bool):
        super().__init__()
        self.counter = initval
        self.semaphore = semaphore
        self.queue = WaitQueue()

    def read(self, task, n, offset):
        if n < 8:
            raise SyscallError(EINVAL)
        if self.counter == 0:
            raise SyscallError(EAGAIN)
        value = 1 if self.semaphore else self.counter
        self.counter -= value
        self.queue.notify(POLLOUT | POLLWRNORM)
        return U64.pack(value)

    def write(self, task, data, offset):
        if len(data) < 8:
            raise SyscallError(EINVAL)
        value, = U64.unpack_from(bytes(data[:8]))
        if value == 0xFFFFFFFFFFFFFFFF:
            raise SyscallError(EINVAL)
        if self.counter + value > EVENTFD_MAX:
            raise SyscallError(EAGAIN)
        self.counter += value
        if value:
            self.queue.notify(POLLIN | POLLRDNORM)
        return 8

    def readiness(self, task, mask):
        ev = 0
        if self.counter > 0:
            ev |= POLLIN | POLLRDNORM
        if self.counter < EVENTFD_MAX:
            ev |= POLLOUT | POLLWRNORM
        if self.counter > EVENTFD_MAX:
            ev |= POLLERR
        return ev & (mask | POLLERR)

    def waitable(self, task):
        return self.queue

    def signal(self, n: int = 1) -> None:
        """Kernel-side increment (for in-Sentry producers such as aio completion)."""
        self.counter = min(EVENTFD_MAX, self.counter + n)
        self.queue.notify(POLLIN | POLLRDNORM)


def new_eventfd(initval: int, semaphore: bool, nonblock: bool):
    return anon_inode_file("eventfd", EventFDImpl(initval, semaphore), O_RDWR | (O_NONBLOCK if nonblock else 0))
