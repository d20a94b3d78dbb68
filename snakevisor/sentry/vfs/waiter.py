"""What a blocking syscall waits on: a Sentry WaitQueue or a host descriptor.

A syscall generator does ``yield from t.block_on(waitable, events)``; the
kernel's loop implements the wait. ``WaitQueue`` is for objects that live in
the Sentry (pipes, sockets, eventfds): the producer calls ``notify(events)``
and the kernel registers a callback while a Task waits. ``HostFdWaitable``
names a host descriptor the loop polls (stdin/stdout, host sockets).
"""
import itertools


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
        # Copy first: a callback may unregister itself (or others).
        for callback, mask in list(self._waiters.values()):
            if mask & events:
                callback(mask & events)
        if self._exclusive:
            for callback, mask in list(self._exclusive.values()):
                if mask & events and callback(mask & events):
                    break

    def __len__(self):
        return len(self._waiters) + len(self._exclusive)
