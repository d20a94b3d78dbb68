"""AF_NETLINK NETLINK_SOCK_DIAG sockets (ss, lsof, systemd, ...), in the Sentry.

A request is answered here, from the sandbox's own sockets in the socket's network namespace
(net/inet_diag.py for TCP and UDP over IPv4 and IPv6, net/unix_diag.py for AF_UNIX), never from
the host's tables: no host socket shows. As Linux's netlink_rcv_skb: each message of a send is a
request (non-requests and control messages only get the ACK they ask for); an error or an ACK
(NLM_F_ACK) answers with NLMSG_ERROR, the request echoed unless NETLINK_CAP_ACK; a dump's answers
come in datagrams of at most NLMSG_GOODSIZE bytes, or of the largest buffer the reader has
received with (up to 32 KiB), made as it reads, then NLMSG_DONE in a datagram of its own; one
dump at a time (EBUSY). The sockets of other families have no handler here (ENOENT); SOCK_DESTROY
is EOPNOTSUPP (as a kernel without CONFIG_INET_DIAG_DESTROY).
"""
import itertools
import struct
from collections import deque

from snakevisor.abi import netlink as NL
from snakevisor.abi import sock_diag as D
from snakevisor.abi import socket as S
from snakevisor.abi.capability import CAP_NET_ADMIN
from snakevisor.abi.errno import (EBUSY, ECONNREFUSED, EINVAL, ENOENT, ENOPROTOOPT, EOPNOTSUPP, EPERM,
                                  SyscallError)
from snakevisor.abi.poll import POLLIN, POLLOUT, POLLRDNORM, POLLWRNORM
from snakevisor.sentry.fsimpl.sockfs import RecvResult, SocketImpl
from snakevisor.sentry.kernel.userns import owner_capable
from snakevisor.sentry.net import inet_diag, registry, unix_diag
from snakevisor.sentry.net.netlink_ports import claim_port, parse_sockaddr_nl, release_port
from snakevisor.sentry.net.netlink_queue import ReceiveQueue
from snakevisor.sentry.vfs.waiter import WaitQueue

INT = struct.Struct("<i")
MAX_MESSAGE = 1 << 20
NLA = struct.Struct("<HH")
_cookies = itertools.count(1)
# SOL_NETLINK options kept (they change nothing here but what CAP_ACK and EXT_ACK say of errors)
STORED_NETLINK = (NL.NETLINK_PKTINFO, NL.NETLINK_BROADCAST_ERROR, NL.NETLINK_NO_ENOBUFS, NL.NETLINK_CAP_ACK,
                  NL.NETLINK_EXT_ACK, NL.NETLINK_GET_STRICT_CHK, NL.NETLINK_LISTEN_ALL_NSID)


def cookie_of(s) -> tuple[int, int]:
    """The socket's sock_diag cookie (sock_gen_cookie: a number of its own, never reused), as two u32."""
    cookie = getattr(s, "diag_cookie", None)
    if cookie is None:
        cookie = s.diag_cookie = next(_cookies)
    return cookie & 0xFFFFFFFF, cookie >> 32


def nla(typ: int, payload: bytes) -> bytes:
    return (NLA.pack(NLA.size + len(payload), typ) + payload).ljust(NL.nlmsg_align(NLA.size + len(payload)), b"\0")


class SockDiagSocket(SocketImpl):
    family = S.AF_NETLINK
    protocol = D.NETLINK_SOCK_DIAG

    def __init__(self, stype, ns, creds):
        super().__init__()
        self.stype, self.netns, self.creds = stype, ns, creds   # the opener's: uids and CAP_NET_ADMIN
        self.queue = WaitQueue()
        self.rq = ReceiveQueue()        # datagrams ready to be read (bounded by rcvbuf)
        self.dump = None                # (messages left, seq, type) of the dump being read
        self.port = self.groups = 0
        self.max_recv = 0               # the largest buffer a recv has offered (max_recvmsg_len)
        self.rcvbuf = self.sndbuf = S.DEFAULT_RCVBUF
        self.opts = {}
        self.closed = False

    # --- addresses ------------------------------------------------------------------------------
    def _autobind(self, t, pid=0):
        if self.port:
            if pid and pid != self.port:
                raise SyscallError(EINVAL)
            return
        self.port = claim_port(t, D.NETLINK_SOCK_DIAG, pid)

    def bind(self, t, addr):
        pid, groups = parse_sockaddr_nl(addr)
        self._autobind(t, pid)
        self.groups = groups   # (destroy notifications: none are sent)

    def connect(self, t, addr):
        pid, groups = parse_sockaddr_nl(addr)
        if pid or groups:
            raise SyscallError(ECONNREFUSED if pid else EPERM)
        self._autobind(t)

    def getsockname(self, t):
        return NL.SOCKADDR_NL.pack(S.AF_NETLINK, 0, self.port, self.groups)

    def getpeername(self, t):
        return NL.SOCKADDR_NL.pack(S.AF_NETLINK, 0, 0, 0)

    # --- requests -------------------------------------------------------------------------------
    def sendmsg(self, t, data, flags, addr, rights, creds):
        if addr:
            pid, groups = parse_sockaddr_nl(addr)
            if groups:
                raise SyscallError(EPERM)
            if pid:
                raise SyscallError(ECONNREFUSED)
        data = bytes(memoryview(data)[:MAX_MESSAGE])
        self._autobind(t)
        for off, length, typ, mflags, seq, _ in NL.iter_nlmsgs(data):
            msg = data[off:off + length]
            err = 0
            if mflags & NL.NLM_F_REQUEST and typ >= NL.NLMSG_MIN_TYPE:
                try:
                    if self._request(msg, typ, mflags, seq):
                        continue   # a dump started: no ACK, its NLMSG_DONE ends it
                except SyscallError as e:
                    err = e.errno
            if err or mflags & NL.NLM_F_ACK:
                self._queue(self._ack(err, msg))
        self.queue.notify(POLLIN | POLLRDNORM)
        return len(data)

    def _request(self, msg, typ, mflags, seq) -> bool:
        """Answer one request; True if it started a dump. A dump's own failure (a protocol with no
        handler) is the errno its NLMSG_DONE carries; the request's are NLMSG_ERROR."""
        payload = msg[NL.NLMSGHDR.size:]
        dump = bool(mflags & NL.NLM_F_DUMP)   # (either bit, as Linux tests it)
        answers = self._answers(typ, payload, dump)
        if not dump:
            for body, attrs in answers():
                self._queue(self._frame(typ, seq, 0, body, attrs))
            return False
        if self.dump is not None:
            raise SyscallError(EBUSY)
        try:
            out, err = [self._frame(typ, seq, NL.NLM_F_MULTI, body, attrs) for body, attrs in answers()], 0
        except SyscallError as e:
            out, err = [], e.errno
        self.dump = (deque(out), seq, err)
        self._dump_step()
        return True

    def _answers(self, typ, payload, dump):
        """What makes the answers (body, attributes) of a checked request."""
        if typ in (D.TCPDIAG_GETSOCK, D.DCCPDIAG_GETSOCK):
            return self._inet(typ, payload, dump)
        if typ not in (D.SOCK_DIAG_BY_FAMILY, D.SOCK_DESTROY):
            raise SyscallError(EINVAL)
        if len(payload) < D.SOCK_DIAG_REQ.size:
            raise SyscallError(EINVAL)
        family = payload[0]
        if family >= S.AF_MAX:
            raise SyscallError(EINVAL)
        if family not in (S.AF_INET, S.AF_INET6, S.AF_UNIX):
            raise SyscallError(ENOENT)
        if typ == D.SOCK_DESTROY:
            raise SyscallError(EOPNOTSUPP)
        if family == S.AF_UNIX:
            answers = unix_diag.unix_request(payload, dump, self.netns, self.creds, cookie_of)
            return lambda: answers
        return self._inet(typ, payload, dump)

    def _inet(self, typ, payload, dump):
        net_admin = owner_capable(self.creds, self.netns, CAP_NET_ADMIN)
        r = inet_diag.parse_request(typ, payload, dump, net_admin)
        if dump:
            return lambda: inet_diag.dump(self.netns, r, self.creds, net_admin, cookie_of)
        answers = inet_diag.dump_one(self.netns, r, self.creds, net_admin, cookie_of)
        return lambda: answers

    def _frame(self, typ, seq, flags, body, attrs) -> bytes:
        out = body.ljust(NL.nlmsg_align(len(body)), b"\0") + b"".join(nla(a, p) for a, p in attrs)
        return NL.NLMSGHDR.pack(NL.NLMSGHDR.size + len(out), typ, flags, seq, self.port) + out

    def _ack(self, err, msg) -> bytes:
        """NLMSG_ERROR: the request's header, and its payload too for an error unless CAP_ACK."""
        capped = not err or self.opts.get(NL.NETLINK_CAP_ACK)
        echoed = msg[:NL.NLMSGHDR.size] if capped else msg
        body = NL.NLMSGERR_ERROR.pack(-err) + echoed
        seq = NL.NLMSGHDR.unpack_from(msg)[3]
        return NL.NLMSGHDR.pack(NL.NLMSGHDR.size + len(body), NL.NLMSG_ERROR, NL.NLM_F_CAPPED if capped else 0,
                                seq, self.port) + body

    def _queue(self, datagram: bytes, always=False):
        self.rq.put(datagram, self.rcvbuf, always)

    def _dump_step(self):
        """The dump's next datagram: as many answers as fit the reader's buffer, or NLMSG_DONE."""
        left, seq, err = self.dump
        limit = max(D.NLMSG_GOODSIZE, min(self.max_recv, D.NLMSG_MAX_DUMP))
        chunk = []
        while left and (not chunk or sum(map(len, chunk)) + len(left[0]) <= limit):
            chunk.append(left.popleft())
        if chunk:
            self._queue(b"".join(chunk), always=True)
            return
        self.dump = None
        done = INT.pack(-err)
        self._queue(NL.NLMSGHDR.pack(NL.NLMSGHDR.size + len(done), NL.NLMSG_DONE, NL.NLM_F_MULTI, seq, self.port) + done,
                    always=True)

    # --- answers ----------------------------------------------------------------------------------
    def recvmsg(self, t, n, flags, want_addr):
        self.max_recv = max(self.max_recv, n)
        msg = self.rq.take(flags & S.MSG_PEEK, not self.opts.get(NL.NETLINK_NO_ENOBUFS))
        if self.dump is not None and self.rq.bytes <= self.rcvbuf // 2:
            self._dump_step()
        addr = NL.SOCKADDR_NL.pack(S.AF_NETLINK, 0, 0, 0) if want_addr else None
        return RecvResult(msg[:max(n, 0)], len(msg), addr, flags=S.MSG_TRUNC if len(msg) > n else 0)

    def readiness(self, task, mask):
        return ((POLLIN | POLLRDNORM if self.rq else 0) | POLLOUT | POLLWRNORM) & mask

    def waitable(self, task):
        return self.queue

    # --- options ----------------------------------------------------------------------------------
    def getsockopt(self, t, level, name, optlen):
        if level == NL.SOL_NETLINK:
            if name not in STORED_NETLINK:
                raise SyscallError(ENOPROTOOPT)
            return INT.pack(self.opts.get(name, 0))
        if level != S.SOL_SOCKET:
            raise SyscallError(EOPNOTSUPP)
        values = {S.SO_TYPE: self.stype, S.SO_DOMAIN: S.AF_NETLINK, S.SO_PROTOCOL: D.NETLINK_SOCK_DIAG,
                  S.SO_ERROR: 0, S.SO_RCVBUF: self.rcvbuf, S.SO_SNDBUF: self.sndbuf}
        if name in (S.SO_RCVTIMEO, S.SO_SNDTIMEO):
            return self.get_timeout_opt(name)
        if name in values:
            return INT.pack(values[name])
        if name in self.opts:
            return INT.pack(self.opts[name])
        raise SyscallError(ENOPROTOOPT)

    def setsockopt(self, t, level, name, value):
        if level == S.SOL_SOCKET and name in (S.SO_RCVTIMEO, S.SO_SNDTIMEO):
            return self.set_timeout_opt(name, value)
        if len(value) < 4:
            raise SyscallError(EINVAL)
        v = INT.unpack_from(value)[0]
        if level == NL.SOL_NETLINK:
            if name in (NL.NETLINK_ADD_MEMBERSHIP, NL.NETLINK_DROP_MEMBERSHIP):
                return   # the destroy notification groups: nothing is ever sent to them here
            if name not in STORED_NETLINK:
                raise SyscallError(ENOPROTOOPT)
            self.opts[name] = int(bool(v))
            return
        if level != S.SOL_SOCKET:
            raise SyscallError(ENOPROTOOPT)
        if name in (S.SO_RCVBUF, S.SO_SNDBUF, S.SO_RCVBUFFORCE, S.SO_SNDBUFFORCE):
            size = max(min(max(v, 0), S.SOCKBUF_MAX) * 2, S.SOCK_MIN_RCVBUF)   # doubled, as Linux
            if name in (S.SO_RCVBUF, S.SO_RCVBUFFORCE):
                self.rcvbuf = size
            else:
                self.sndbuf = size
            return
        self.opts[name] = v   # other generic options: kept for getsockopt

    def release(self):
        if not self.closed:
            self.closed = True
            registry.unregister(self)
            release_port(D.NETLINK_SOCK_DIAG, self.port)
            self.rq.clear()
            self.dump = None
