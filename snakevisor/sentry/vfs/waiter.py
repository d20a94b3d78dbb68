"""What a blocking syscall waits on: a Sentry WaitQueue or a host descriptor.

A syscall generator does ``yield from t.block_on(waitable, events)``; the
kernel's loop implements the wait. ``WaitQueue`` is for objects that live in
the Sentry (pipes, sockets, eventfds): the producer calls ``notify(events)``
and the kernel registers a callback while a Task waits. ``HostFdWaitable``
names a host descriptor the loop polls (stdin/stdout, host sockets).
"""
import itertools

from snakevisor.abi.errno import ERESTARTSYS, SyscallError


class HostFdWaitable:
    """Readiness comes from ``poll``/``epoll`` on host descriptor ``fd``."""

    __slots__ = ("fd",)

    def __init__(self, fd: int):
        self.fd = fd

    def __repr__(self):
        return f"HostFdWaitable({self.fd})"

    def __eq__(self, other):
        return isinstance(other, HostFdWaitable) and other.fd == self.fd

    def __hash__(self):
        return hash(("hostfd", self.fd))


class WaitQueue:
    """Callbacks to run when events happen on a Sentry object."""

    def __init__(self):
        self._waiters: dict[int, tuple] = {}
        self._exclusive: dict[int, tuple] = {}
        self._ids = itertools.count(1)

    def register(self, callback, events: int, exclusive: bool = False) -> int:
        """Call ``callback(events_that_happened)`` on each matching notify; returns a handle.

        Exclusive callbacks (EPOLLEXCLUSIVE) come after all others, in registration order, and a
        notify stops at the first one that returns true (it woke a waiter), as Linux's
        __wake_up_common does with nr_exclusive=1."""
        handle = next(self._ids)
        (self._exclusive if exclusive else self._waiters)[handle] = (callback, events)
        return handle

    def unregister(self, handle: int) -> None:
        if self._waiters.pop(handle, None) is None and self._exclusive:
            self._exclusive.pop(handle, None)

    def notify(self, events: int) -> None:
        # Copy first: a callback may unregister itself (or others). Most notifies find nobody
        # (a pipe's every read and write notifies): no copy for them.
        if self._waiters:
            for callback, mask in list(self._waiters.values()):
                if mask & events:
                    callback(mask & events)
        if self._exclusive:
            for callback, mask in list(self._exclusive.values()):
                if mask & events and callback(mask & events):
                    break

    def __len__(self):
        return len(self._waiters) + len(self._exclusive)


def wait_killable(task, queue, done):
    """Wait on ``queue`` until ``done()`` (a generator): a catchable signal does not end the
    wait (it is handled after, as in Linux's TASK_KILLABLE sleeps); SIGKILL ends the Task."""
    while not done():
        try:
            yield from task.block_on(queue, 1, interruptible=False)
        except SyscallError as e:
            if e.errno != ERESTARTSYS:
                raise


class TaskMutex:
    """A lock a Task may hold across waits (Linux's inode lock around a file's I/O)."""

    __slots__ = ("held", "queue")

    def __init__(self):
        self.held = False
        self.queue = None

    def acquire(self, task):
        """A generator: ``yield from`` it, then ``release`` in a finally."""
        if self.held:
            if self.queue is None:
                self.queue = WaitQueue()
            yield from wait_killable(task, self.queue, lambda: not self.held)
        self.held = True

    def release(self):
        self.held = False
        if self.queue is not None:
            self.queue.notify(1)
