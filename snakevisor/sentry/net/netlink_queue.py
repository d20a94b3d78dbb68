"""The receive queue of the Sentry's netlink sockets (net/netlink.py's refusals, net/sock_diag.py's
answers): datagrams the Sentry makes, bounded by the socket's receive buffer as Linux bounds a
netlink socket by sk_rmem_alloc. An answer that finds the buffer full is dropped and the socket
*overruns* (netlink_overrun): its next receive fails with ENOBUFS once, unless NETLINK_NO_ENOBUFS
is set. A dump's datagrams are made only as the reader makes room (they are never dropped). So an
application that sends requests and never reads holds the Sentry to one buffer's worth of them."""
from collections import deque

from snakevisor.abi.errno import EAGAIN, ENOBUFS, SyscallError


class ReceiveQueue:
    __slots__ = ("datagrams", "bytes", "overrun")

    def __init__(self):
        self.datagrams = deque()
        self.bytes = 0            # what the queued datagrams hold
        self.overrun = False      # an answer was dropped since the last receive

    def __bool__(self):
        return bool(self.datagrams)

    def put(self, datagram: bytes, rcvbuf: int, always=False) -> None:
        """Queue an answer, or drop it if the buffer is already over ``rcvbuf`` (Linux's
        netlink_attachskb lets one in while it is not: the queue may pass it by one)."""
        if self.bytes > rcvbuf and not always:
            self.overrun = True
            return
        self.datagrams.append(datagram)
        self.bytes += len(datagram)

    def take(self, peek: bool, report_overrun: bool = True) -> bytes:
        """The next datagram (left queued if ``peek``); ENOBUFS first after an overrun (once), as
        Linux's sock_error before a datagram; EAGAIN if none."""
        if self.overrun and not peek:
            self.overrun = False
            if report_overrun:
                raise SyscallError(ENOBUFS)
        if not self.datagrams:
            raise SyscallError(EAGAIN)
        if peek:
            return self.datagrams[0]
        datagram = self.datagrams.popleft()
        self.bytes -= len(datagram)
        return datagram

    def clear(self) -> None:
        self.datagrams.clear()
        self.bytes = 0
        self.overrun = False
