"""AF_NETLINK NETLINK_ROUTE sockets: what `ip addr`, `ip route` and getifaddrs() ask, answered read-only
(NETLINK_SOCK_DIAG ones are net/sock_diag.py's); netlink port ids, per protocol.

Each application socket is backed by a host NETLINK_ROUTE socket of the
Sentry, so answers describe the sandbox's network namespace exactly (lo only
with ``--network=none``). The Sentry is privileged there, so requests are
filtered: only the rtnetlink GET types (RTM_READ_ONLY) reach the host; any
other request is answered here with an NLMSG_ERROR of EPERM, as Linux answers
a process without CAP_NET_ADMIN, and never sent. Unicast to other netlink
sockets and multicast sends are refused; subscribing to notification groups
(read-only) is allowed.

Port ids are the sandbox's: a socket's id is its process's tgid (the first
one, as Linux) or a negative number, and the host's id is rewritten to it in
every answer, so no host pid shows through and getifaddrs' port checks hold.
"""
import ctypes
import errno as _errno
import socket as _socket

from snakevisor.abi.errno import (EAGAIN, ECONNREFUSED, EINVAL, ENOPROTOOPT, EOPNOTSUPP, EPERM, ESOCKTNOSUPPORT,
                                  EPROTONOSUPPORT, SyscallError)
from snakevisor.abi import netlink as NL
from snakevisor.abi.sock_diag import NETLINK_SOCK_DIAG
from snakevisor.abi.capability import CAP_NET_ADMIN
from snakevisor.abi import socket as S
from snakevisor.abi.poll import POLLIN, POLLRDNORM
from snakevisor.hostos.libc import errno_error, libc
from snakevisor.sentry.fsimpl.sockfs import RecvResult
from snakevisor.sentry.net.inet import INT, InetSocket
from snakevisor.sentry.kernel.netns import ROOT
from snakevisor.sentry.kernel.userns import owner_capable
from snakevisor.sentry.net.netlink_ports import claim_port, parse_sockaddr_nl, release_port
from snakevisor.sentry.net.netlink_queue import ReceiveQueue
from snakevisor.sentry.net.sock_diag import SockDiagSocket

MAX_MESSAGE = 1 << 20
KERNEL_CREDS = (0, 0, 0)   # every answer comes from the kernel: pid 0, root (SCM_CREDENTIALS under SO_PASSCRED)
# SOL_NETLINK options passed to the host socket: they shape what we receive, they change nothing else.
PASSTHROUGH_NETLINK = frozenset((NL.NETLINK_ADD_MEMBERSHIP, NL.NETLINK_DROP_MEMBERSHIP, NL.NETLINK_PKTINFO,
                                 NL.NETLINK_BROADCAST_ERROR, NL.NETLINK_NO_ENOBUFS, NL.NETLINK_LIST_MEMBERSHIPS,
                                 NL.NETLINK_CAP_ACK, NL.NETLINK_EXT_ACK, NL.NETLINK_GET_STRICT_CHK))

def new_netlink_socket(stype: int, protocol: int, ns=ROOT, creds=None):
    if stype not in (S.SOCK_RAW, S.SOCK_DGRAM):
        raise SyscallError(ESOCKTNOSUPPORT)
    if protocol == NETLINK_SOCK_DIAG:
        return SockDiagSocket(stype, ns, creds)
    if protocol != NL.NETLINK_ROUTE:
        raise SyscallError(EPROTONOSUPPORT)
    return NetlinkSocket(stype, protocol, ns)


class NetlinkSocket(InetSocket):
    """A NETLINK_ROUTE socket over a host one (the host-socket plumbing is InetSocket's)."""

    def __init__(self, stype, protocol, ns=ROOT):
        super().__init__(S.AF_NETLINK, stype, protocol, ns.host_socket(S.AF_NETLINK, stype, protocol), ns)
        self.port = 0            # the id the application sees (0: not bound yet)
        self.groups = 0
        self.pending = ReceiveQueue()   # answers made here (refusals), delivered before the host's
        self.passcred = False    # SO_PASSCRED: recvmsg adds the sender's (the kernel's) credentials

    # --- addresses ------------------------------------------------------------------------------
    _parse = staticmethod(parse_sockaddr_nl)

    def _host_port(self) -> int:
        return NL.SOCKADDR_NL.unpack(self._name(libc.getsockname)[:NL.SOCKADDR_NL.size])[2]

    def _autobind(self, t, pid=0, groups=0):
        if self.port:
            if pid and pid != self.port:
                raise SyscallError(EINVAL)   # already bound elsewhere
        else:
            self.port = claim_port(t, NL.NETLINK_ROUTE, pid)
        host = self._host_port()
        if groups != self.groups or host == 0:
            # The host picks its own id (kept on a re-bind); groups only let notifications in.
            a = NL.SOCKADDR_NL.pack(S.AF_NETLINK, 0, host, groups)
            if libc.bind(self.fd, a, len(a)) < 0:
                raise errno_error()
            self.groups = groups

    def bind(self, t, addr):
        pid, groups = self._parse(addr)
        self._autobind(t, pid, groups)

    def connect(self, t, addr):
        pid, groups = self._parse(addr)
        if pid or groups:
            raise SyscallError(ECONNREFUSED if pid else EPERM)   # only the kernel is a peer here
        self._autobind(t)

    def connect_finish(self, t):
        pass

    def getsockname(self, t):
        return NL.SOCKADDR_NL.pack(S.AF_NETLINK, 0, self.port, self.groups)

    def getpeername(self, t):
        return NL.SOCKADDR_NL.pack(S.AF_NETLINK, 0, 0, 0)

    def listen(self, t, backlog):
        raise SyscallError(EOPNOTSUPP)

    def accept(self, t):
        raise SyscallError(EOPNOTSUPP)

    def shutdown(self, t, how):
        raise SyscallError(EOPNOTSUPP)

    # --- data --------------------------------------------------------------------------------------
    def sendmsg(self, t, data, flags, addr, rights, creds):
        if rights:
            raise SyscallError(EINVAL)
        if addr:
            pid, groups = self._parse(addr)
            if groups:
                raise SyscallError(EPERM)          # multicast sends need CAP_NET_ADMIN
            if pid:
                raise SyscallError(ECONNREFUSED)   # no other netlink socket to talk to
        data = bytes(memoryview(data)[:MAX_MESSAGE])
        self._autobind(t)
        allowed, refused = [], []
        for off, length, typ, mflags, seq, pid in NL.iter_nlmsgs(data):
            msg = data[off:off + length]
            if typ < NL.NLMSG_MIN_TYPE or not mflags & NL.NLM_F_REQUEST:
                continue   # control messages and non-requests: the kernel ignores them too
            (allowed if typ in NL.RTM_READ_ONLY else refused).append(msg)
        for msg in refused:
            for answer in self._change(t, msg):
                self.pending.put(answer, S.DEFAULT_RCVBUF)
        for msg in allowed:
            n = libc.sendto(self.fd, msg, len(msg), S.MSG_DONTWAIT | S.MSG_NOSIGNAL, None, 0)
            if n < 0:
                e = ctypes.get_errno()
                raise SyscallError(EAGAIN if e == _errno.EWOULDBLOCK else e)
        return len(data)

    def _change(self, t, msg):
        """The answers to a change request: EPERM, but in a namespace the sandbox made for a caller
        with CAP_NET_ADMIN, where the broker makes it (links, addresses, routes) and answers."""
        if self.netns.broker_id is None or not owner_capable(t.creds, self.netns, CAP_NET_ADMIN):
            return [NL.nlmsg_error(EPERM, msg, self.port)]
        try:
            answers = self.netns.rtnetlink(msg)
        except SyscallError as e:
            return [NL.nlmsg_error(e.errno, msg, self.port)]
        out = []
        for off, length, typ, mflags, seq, _ in NL.iter_nlmsgs(answers):
            body = answers[off + NL.NLMSGHDR.size:off + length]
            out.append(NL.NLMSGHDR.pack(length, typ, mflags, seq, self.port) + body)
        return out

    def recvmsg(self, t, n, flags, want_addr):
        n = max(0, min(n, MAX_MESSAGE))
        peek = flags & S.MSG_PEEK
        kernel = NL.SOCKADDR_NL.pack(S.AF_NETLINK, 0, 0, 0) if want_addr else None
        if self.pending or self.pending.overrun:
            msg = self.pending.take(peek)
            return RecvResult(msg[:n], len(msg), kernel, creds=KERNEL_CREDS, flags=S.MSG_TRUNC if len(msg) > n else 0)
        buf = ctypes.create_string_buffer(max(n, 1))
        hflags = (flags & S.MSG_PEEK) | S.MSG_TRUNC | S.MSG_DONTWAIT
        got = libc.recvfrom(self.fd, buf, n, hflags, None, None)
        if got < 0:
            e = ctypes.get_errno()
            raise SyscallError(EAGAIN if e == _errno.EWOULDBLOCK else e)
        data = self._rewrite_ports(bytearray(buf.raw[:min(got, n)]))
        return RecvResult(bytes(data), got, kernel, creds=KERNEL_CREDS, flags=S.MSG_TRUNC if got > n else 0)

    def _rewrite_ports(self, data: bytearray) -> bytearray:
        host = self._host_port()
        if host == self.port:
            return data
        for off, _, _, _, _, pid in NL.iter_nlmsgs(data):
            if pid == host:
                NL.NLMSGHDR.pack_into(data, off, *NL.NLMSGHDR.unpack_from(data, off)[:4], self.port)
        return data

    # --- readiness and options ----------------------------------------------------------------------
    def readiness(self, task, mask):
        ready = super().readiness(task, mask)
        if self.pending:
            ready |= (POLLIN | POLLRDNORM) & mask
        return ready

    def getsockopt(self, t, level, name, optlen):
        if level == NL.SOL_NETLINK:
            if name not in PASSTHROUGH_NETLINK:
                raise SyscallError(ENOPROTOOPT)
            if name == NL.NETLINK_LIST_MEMBERSHIPS:
                # The whole group bitmap's size is reported, its 32-bit words copied as they fit.
                groups = self._host_getsockopt(level, name, 256)
                return groups[:optlen - optlen % 4], len(groups)
            return self._host_getsockopt(level, name, optlen)
        if (level, name) == (S.SOL_SOCKET, S.SO_PASSCRED):
            return INT.pack(int(self.passcred))
        return super().getsockopt(t, level, name, optlen)

    def setsockopt(self, t, level, name, value):
        if level == NL.SOL_NETLINK:
            if name not in PASSTHROUGH_NETLINK:
                raise SyscallError(ENOPROTOOPT)
            value = bytes(value[:256])
            if libc.setsockopt(self.fd, level, name, value, len(value)) < 0:
                raise errno_error()
            return
        if (level, name) == (S.SOL_SOCKET, S.SO_PASSCRED):
            if len(value) < 4:
                raise SyscallError(EINVAL)
            self.passcred = bool(INT.unpack_from(value)[0])
            return
        super().setsockopt(t, level, name, value)

    def _host_getsockopt(self, level, name, optlen):
        size = max(0, min(optlen, 256))
        buf = ctypes.create_string_buffer(max(size, 1))
        ln = ctypes.c_uint(size)
        if libc.getsockopt(self.fd, level, name, buf, ctypes.byref(ln)) < 0:
            raise errno_error()
        return buf.raw[:ln.value]

    def release(self):
        release_port(NL.NETLINK_ROUTE, self.port)
        super().release()


def rtnl_dump(msg_type: int, body: bytes, ns=ROOT) -> list:
    """The Sentry's own rtnetlink dump (a GET with NLM_F_DUMP) in the sandbox's network namespace:
    [(message type, body after the nlmsghdr)], for /proc/net. Not the application's: no port
    rewriting, no filtering beyond RTM_READ_ONLY. A dump is produced as it is read, so the
    blocking reads end at NLMSG_DONE (a time limit guards against anything else)."""
    if msg_type not in NL.RTM_READ_ONLY:
        raise ValueError(msg_type)
    out = []
    sock = ns.host_socket(_socket.AF_NETLINK, _socket.SOCK_RAW, NL.NETLINK_ROUTE) or \
        _socket.socket(_socket.AF_NETLINK, _socket.SOCK_RAW | _socket.SOCK_CLOEXEC, NL.NETLINK_ROUTE)
    with sock as s:
        s.settimeout(2.0)
        s.sendto(NL.NLMSGHDR.pack(NL.NLMSGHDR.size + len(body), msg_type, NL.NLM_F_REQUEST | NL.NLM_F_DUMP, 1, 0)
                 + body, (0, 0))
        while True:
            try:
                data = s.recv(1 << 16)
            except OSError:
                return out
            if not data:
                return out
            for off, length, typ, _, _, _ in NL.iter_nlmsgs(data):
                if typ in (NL.NLMSG_DONE, NL.NLMSG_ERROR):
                    return out
                out.append((typ, data[off + NL.NLMSGHDR.size:off + length]))
