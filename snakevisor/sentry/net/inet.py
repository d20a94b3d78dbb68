"""AF_INET/AF_INET6 TCP and UDP over host sockets owned by the Sentry.

The Sentry creates a host socket (in the sandbox's network namespace) per
application socket, sets it non-blocking (it is ours alone) and maps each
operation onto it; waiting is done by the loop on ``HostFdWaitable``. Data
moves in bounded steps (at most MAX_CHUNK per host call); stream data goes
straight between the host socket and application memory (``recv_views`` /
``send_views`` on views of the MemoryFile), so the host kernel does the only copy. Socket options
pass through for a whitelist; addresses are passed as raw sockaddr bytes with
ctypes calls, so IPv4/IPv6 layouts are the kernel's own.
"""
import ctypes
import errno as _errno
import fcntl
import os
import select
import socket as _socket
import struct

from snakevisor.abi.capability import CAP_NET_ADMIN, CAP_NET_BIND_SERVICE, CAP_NET_RAW
from snakevisor.abi.errno import (EACCES, EAGAIN, EALREADY, EINPROGRESS, EINVAL, EISCONN, ENOPROTOOPT, ENOTTY, EOPNOTSUPP,
                                  EPERM, EPROTONOSUPPORT, SyscallError)
from snakevisor.abi.fs import FIONREAD, TIOCOUTQ
from snakevisor.abi.poll import (POLLERR, POLLHUP, POLLIN, POLLOUT, POLLPRI, POLLRDBAND, POLLRDHUP, POLLRDNORM,
                                 POLLWRBAND, POLLWRNORM)
from snakevisor.abi import netlink as NL
from snakevisor.abi.ethtool import SIOCETHTOOL
from snakevisor.abi import socket as S
from snakevisor.abi.socket import IOVec, MsgHdr
from snakevisor.abi.socket import IPV6_ADDRFORM
from snakevisor.hostos.libc import errno_error as _err, libc
from snakevisor.sentry.fsimpl.sockfs import RecvResult, SocketImpl
from snakevisor.sentry.net import registry
from snakevisor.sentry.net.ethtool import ethtool_ioctl
from snakevisor.sentry.kernel.netns import ROOT, of_task
from snakevisor.sentry.kernel.userns import owner_capable
from snakevisor.sentry.vfs.waiter import HostFdWaitable

MAX_CHUNK = 1 << 20
MAX_OPTLEN = 2048   # option values passed to the host: an IPv6 routing header is up to 2048 bytes
UNPRIVILEGED_PORT_START = 1024   # net.ipv4.ip_unprivileged_port_start in a new network namespace

# Options passed through to the host socket: (level, name).
PASSTHROUGH = {
    (S.SOL_SOCKET, o) for o in (S.SO_REUSEADDR, S.SO_REUSEPORT, S.SO_KEEPALIVE, S.SO_SNDBUF, S.SO_RCVBUF,
                                S.SO_LINGER, S.SO_BROADCAST, S.SO_OOBINLINE, S.SO_PRIORITY, S.SO_RCVLOWAT,
                                S.SO_SNDLOWAT, S.SO_DONTROUTE, S.SO_TIMESTAMP, S.SO_BUSY_POLL,
                                S.SO_INCOMING_CPU, S.SO_ZEROCOPY, S.SO_TIMESTAMPNS, S.SO_TIMESTAMPING,
                                S.SO_RXQ_OVFL, S.SO_PEEK_OFF, S.SO_NO_CHECK, S.SO_PASSCRED, S.SO_DETACH_FILTER, S.SO_LOCK_FILTER,
                                S.SO_DETACH_REUSEPORT_BPF)
} | {(S.SOL_TCP, o) for o in (S.TCP_NODELAY, S.TCP_MAXSEG, S.TCP_CORK, S.TCP_KEEPIDLE, S.TCP_KEEPINTVL,
                                S.TCP_KEEPCNT, S.TCP_SYNCNT, S.TCP_LINGER2, S.TCP_DEFER_ACCEPT,
                                S.TCP_WINDOW_CLAMP, S.TCP_QUICKACK, S.TCP_USER_TIMEOUT, S.TCP_FASTOPEN,
                                S.TCP_NOTSENT_LOWAT, S.TCP_CONGESTION, S.TCP_INFO, S.TCP_INQ)
} | {(S.SOL_IP, o) for o in (S.IP_TOS, S.IP_TTL, S.IP_RECVERR, S.IP_PKTINFO, S.IP_MTU_DISCOVER, S.IP_RECVTOS,
                              S.IP_MULTICAST_IF, S.IP_MULTICAST_TTL, S.IP_MULTICAST_LOOP,
                              S.IP_ADD_MEMBERSHIP, S.IP_DROP_MEMBERSHIP, S.IP_FREEBIND,
                              S.IP_BIND_ADDRESS_NO_PORT, S.IP_OPTIONS, S.IP_RECVOPTS, S.IP_RETOPTS,
                              S.IP_RECVTTL, S.IP_MTU, S.IP_RECVORIGDSTADDR, S.IP_MULTICAST_ALL,
                              S.IP_HDRINCL)   # (the host refuses it but on a raw socket, as ours)
} | {(S.SOL_IPV6, o) for o in (S.IPV6_V6ONLY, S.IPV6_UNICAST_HOPS, S.IPV6_MULTICAST_IF, S.IPV6_MULTICAST_HOPS,
                                S.IPV6_MULTICAST_LOOP, S.IPV6_RECVPKTINFO, S.IPV6_TCLASS, S.IPV6_ADD_MEMBERSHIP,
                                S.IPV6_DROP_MEMBERSHIP, S.IPV6_MTU_DISCOVER, S.IPV6_MTU, S.IPV6_RECVERR,
                                S.IPV6_MULTICAST_ALL, S.IPV6_PKTINFO, S.IPV6_RECVHOPLIMIT, S.IPV6_HOPLIMIT,
                                S.IPV6_RECVHOPOPTS, S.IPV6_RECVRTHDR, S.IPV6_RECVDSTOPTS, S.IPV6_RECVPATHMTU,
                                S.IPV6_PATHMTU, S.IPV6_DONTFRAG, S.IPV6_RECVTCLASS, S.IPV6_AUTOFLOWLABEL,
                                S.IPV6_RECVORIGDSTADDR)
} | {(S.SOL_IPV6, o) for o in (IPV6_ADDRFORM, 54, 55, 57, 59)   # ADDRFORM, HOPOPTS, RTHDRDSTOPTS, RTHDR, DSTOPTS
} | {(level, o) for level in (S.SOL_IP, S.SOL_IPV6) for o in range(42, 48)   # MCAST_JOIN_GROUP .. MCAST_MSFILTER-1:
     # the protocol-independent multicast group requests (group_req, group_source_req)
} | {(S.SOL_UDP, 1)}   # UDP_CORK
# Options Linux reserves to holders of one of these capabilities (sk_setsockopt, do_ipv6_setsockopt):
# the host socket is the Sentry's, whose capabilities are not the application's.
PRIVILEGED_OPTIONS = {
    (S.SOL_SOCKET, S.SO_MARK): (CAP_NET_RAW, CAP_NET_ADMIN),   # either will do
    (S.SOL_SOCKET, S.SO_SNDBUFFORCE): (CAP_NET_ADMIN,),
    (S.SOL_SOCKET, S.SO_RCVBUFFORCE): (CAP_NET_ADMIN,),
    (S.SOL_IPV6, S.IPV6_HOPOPTS): (CAP_NET_RAW,),
    (S.SOL_IPV6, S.IPV6_RTHDRDSTOPTS): (CAP_NET_RAW,),
    (S.SOL_IPV6, S.IPV6_DSTOPTS): (CAP_NET_RAW,),
}
# SOL_SOCKET options read from the host socket but never set on it (the Sentry's socket would be
# changed for the application, or is refused: SO_DEBUG and SO_BINDTODEVICE need CAP_NET_ADMIN/RAW).
READ_ONLY = {S.SO_TYPE, S.SO_ERROR, S.SO_DOMAIN, S.SO_PROTOCOL, S.SO_ACCEPTCONN, S.SO_PEERCRED,
             S.SO_BINDTODEVICE, S.SO_COOKIE, S.SO_MEMINFO}
# SOL_SOCKET options the host refuses the Sentry (CAP_NET_ADMIN/RAW), which change nothing the sandbox
# relies on: kept for getsockopt after the application's own capability check (name -> how a value reads).
KEPT = {S.SO_MARK: int, S.SO_DEBUG: lambda v: int(bool(v))}
BUF_FORCE = {(S.SOL_SOCKET, S.SO_SNDBUFFORCE): S.SO_SNDBUF, (S.SOL_SOCKET, S.SO_RCVBUFFORCE): S.SO_RCVBUF}
# Control messages ip6_datagram_send_ctl reserves to CAP_NET_RAW: hop-by-hop and destination options.
PRIVILEGED_CMSGS = {(S.SOL_IPV6, o) for o in (S.IPV6_2292HOPOPTS, S.IPV6_2292DSTOPTS, S.IPV6_HOPOPTS,
                                                S.IPV6_RTHDRDSTOPTS, S.IPV6_DSTOPTS)}
INT = struct.Struct("<i")
# Every event a host socket reports: poll's POLLRDNORM/POLLWRNORM/... are asked for by name.
HOST_EVENTS = POLLIN | POLLOUT | POLLPRI | POLLRDHUP | POLLRDNORM | POLLRDBAND | POLLWRNORM | POLLWRBAND
# ioctls the host socket answers, with the size of what they write out.
HOST_IOCTLS = {FIONREAD: 4, TIOCOUTQ: 4, S.SIOCATMARK: 4, S.SIOCOUTQNSD: 4, S.SIOCGSTAMP: 16, S.SIOCGSTAMPNS: 16}
HOST_CONTROL = 4096   # control bytes taken from the host per datagram

IFCONF = struct.Struct("<i4xQ")



def _poll(fd, events) -> int:
    p = select.poll()
    p.register(fd, events)
    r = p.poll(0)
    return r[0][1] if r else 0


_ping_group_range = None   # (low, high) of net.ipv4.ping_group_range in the sandbox's namespace


def load_ping_group_range(path="/proc/sys/net/ipv4/ping_group_range") -> None:
    """Read the namespace's ping_group_range at boot (nothing is opened after lockdown)."""
    global _ping_group_range
    try:
        with open(path) as f:
            low, high = (int(x) for x in f.read().split())
        _ping_group_range = (low, high)
    except (OSError, ValueError):
        _ping_group_range = None   # unknown: the host's own check stands alone


def check_create(t, family, stype, protocol) -> None:
    """Who may create which inet or packet socket, judged on the application's credentials (the
    host judges the Sentry's, which are not the application's). Raw and packet sockets need the
    sandbox's --net-raw (as runsc's) and CAP_NET_RAW: EPERM otherwise, as Linux's inet_create and
    packet_create; ICMP "ping" sockets need a group in ping_group_range (ping_init_sock: EACCES)."""
    if family == S.AF_PACKET or stype == S.SOCK_RAW:
        if stype == S.SOCK_RAW and family != S.AF_PACKET:
            if not 0 <= protocol < S.IPPROTO_MAX:
                raise SyscallError(EINVAL)
            if protocol == S.IPPROTO_IP:
                raise SyscallError(EPROTONOSUPPORT)
        if not (t.kernel.net_raw and t.creds.has_cap(CAP_NET_RAW)):
            raise SyscallError(EPERM)
        return
    ping = (family, protocol) in ((S.AF_INET, S.IPPROTO_ICMP), (S.AF_INET6, S.IPPROTO_ICMPV6))
    if ping and stype == S.SOCK_DGRAM and _ping_group_range is not None:
        low, high = _ping_group_range
        c = t.creds
        if not any(low <= g <= high for g in [c.egid, *c.groups]):
            raise SyscallError(EACCES)


def interface_ioctl(task, cmd, arg, ns=None):
    """The network-device ioctls every socket family answers on Linux (SIOCGIF*, SIOCGIFCONF; glibc
    asks them on an AF_UNIX socket), in the socket's network namespace ``ns`` (None: the caller's):
    queries answer through a Sentry socket there; SIOCSIFFLAGS in a namespace the sandbox made
    goes to the broker for a caller with CAP_NET_ADMIN; other changes, and any in the sandbox's own
    namespace, are EPERM; SIOCETHTOOL's queries go to the host (net/ethtool.py); anything else ENOTTY."""
    ns = ns or of_task(task)
    if cmd == SIOCETHTOOL:
        return ethtool_ioctl(task, arg, ns.query_socket().fileno())
    if cmd in NL.IF_WRITE_IOCTLS:
        # sock_ioctl reads an ifreq before dev_ioctl checks CAP_NET_ADMIN (EFAULT first); the
        # route ioctls check it before reading their rtentry (ip_rt_ioctl)
        ifreq = None if cmd in (NL.SIOCADDRT, NL.SIOCDELRT) else task.mm.copy_in(arg, NL.IFREQ_SIZE)
        if cmd != NL.SIOCSIFFLAGS or ns.broker_id is None or not owner_capable(task.creds, ns, CAP_NET_ADMIN):
            raise SyscallError(EPERM)
        ns.set_interface_flags(ifreq)
        return 0
    if cmd not in NL.IFREQ_READ_IOCTLS and cmd != NL.SIOCGIFCONF:
        raise SyscallError(ENOTTY)
    fd = ns.query_socket().fileno()
    try:
        if cmd != NL.SIOCGIFCONF:
            task.mm.copy_out(arg, fcntl.ioctl(fd, cmd, task.mm.copy_in(arg, NL.IFREQ_SIZE)))
            return 0
        # struct ifconf {int len; struct ifreq *buf}: a NULL buf asks for the size.
        length, buf = IFCONF.unpack(task.mm.copy_in(arg, IFCONF.size))
        if length < 0:
            raise SyscallError(EINVAL)
        size = min(length, 64 * NL.IFREQ_SIZE) if buf else 0
        host = ctypes.create_string_buffer(max(size, 1))
        got = IFCONF.unpack(fcntl.ioctl(fd, cmd, IFCONF.pack(size, ctypes.addressof(host) if buf else 0)))[0]
        if buf and got:
            task.mm.copy_out(buf, host.raw[:got])
        task.mm.copy_out(arg, INT.pack(got))
        return 0
    except OSError as e:
        raise SyscallError(e.errno or EINVAL)


class InetSocket(SocketImpl):
    def __init__(self, family, stype, protocol, sock: _socket.socket | None = None, ns=ROOT):
        super().__init__()
        self.family, self.stype, self.protocol = family, stype, protocol
        self.netns = ns   # the network namespace it was made in (/proc/net lists it there)
        if sock is None:
            try:
                sock = _socket.socket(family, stype | _socket.SOCK_NONBLOCK | _socket.SOCK_CLOEXEC, protocol)
            except OSError as e:
                raise SyscallError(e.errno or EINVAL)
        sock.setblocking(False)
        self.sock = sock
        self.fd = sock.fileno()
        self.rcvtimeo = self.sndtimeo = None
        self.connecting = False
        self.read_shut = False
        self.shut = 0            # sk_shutdown: RCV_SHUTDOWN 1 | SEND_SHUTDOWN 2 of shutdown(2) calls (sock_diag)
        self.port_locked = False  # bound to a port it chose (SOCK_BINDPORT_LOCK: sock_diag's "auto" test)
        self.kept = {}   # KEPT options the application set: name -> int

    # --- addresses and connections -----------------------------------------------------
    def _check_family(self, addr):
        if len(addr) < 2:
            raise SyscallError(EINVAL)

    def bind(self, t, addr):
        self._check_family(addr)
        # The host socket is the Sentry's, which may bind any port: the application's own
        # capabilities decide (ports below ip_unprivileged_port_start need CAP_NET_BIND_SERVICE).
        if (len(addr) >= (16 if self.family == _socket.AF_INET else 24)
                and struct.unpack_from("<H", addr)[0] == self.family
                and 0 < struct.unpack_from(">H", addr, 2)[0] < UNPRIVILEGED_PORT_START
                and not t.creds.has_cap(CAP_NET_BIND_SERVICE)):
            raise SyscallError(EACCES)
        if libc.bind(self.fd, addr, len(addr)) < 0:
            raise _err()
        self.port_locked = len(addr) >= 4 and struct.unpack_from(">H", addr, 2)[0] != 0

    def listen(self, t, backlog):
        try:
            self.sock.listen(max(0, min(backlog, S.SOMAXCONN)) if backlog >= 0 else S.SOMAXCONN)
        except OSError as e:
            raise SyscallError(e.errno or EINVAL)

    def accept(self, t):
        buf = ctypes.create_string_buffer(S.SOCKADDR_MAX)
        ln = ctypes.c_uint(S.SOCKADDR_MAX)
        fd = libc.accept4(self.fd, buf, ctypes.byref(ln), os.O_NONBLOCK | os.O_CLOEXEC)
        if fd < 0:
            e = ctypes.get_errno()
            raise SyscallError(EAGAIN if e == _errno.EWOULDBLOCK else e)
        sock = _socket.socket(fileno=fd)
        return InetSocket(self.family, self.stype, self.protocol, sock, self.netns), buf.raw[:ln.value]

    def connect(self, t, addr):
        if libc.connect(self.fd, addr, len(addr)) < 0:
            e = ctypes.get_errno()
            if e in (EINPROGRESS, EALREADY):   # (connect_finish completes it for a blocking caller)
                self.connecting = addr
            raise SyscallError(e)
        self.connecting = False

    def connect_finish(self, t):
        """A blocking connect's handshake is over: connect again, as the host's own blocking
        connect does after its wait, so the socket becomes connected (a later connect gets
        EISCONN) or takes the error (ECONNREFUSED...) and is unconnected again."""
        addr, self.connecting = self.connecting, False
        if addr and libc.connect(self.fd, addr, len(addr)) < 0:
            e = ctypes.get_errno()
            if e != EISCONN:
                raise SyscallError(e)

    def _name(self, fn):
        buf = ctypes.create_string_buffer(S.SOCKADDR_MAX)
        ln = ctypes.c_uint(S.SOCKADDR_MAX)
        if fn(self.fd, buf, ctypes.byref(ln)) < 0:
            raise _err()
        return buf.raw[:ln.value]

    def getsockname(self, t):
        return self._name(libc.getsockname)

    def getpeername(self, t):
        return self._name(libc.getpeername)

    def shutdown(self, t, how):
        try:
            self.sock.shutdown(how)
        except OSError as e:
            # An unconnected datagram socket is shut down all the same (ENOTCONN notwithstanding).
            if e.errno == _errno.ENOTCONN:
                self.shut |= how + 1
                self.read_shut = how in (S.SHUT_RD, S.SHUT_RDWR) or self.read_shut
            raise SyscallError(e.errno or EINVAL)
        self.shut |= how + 1
        if how in (S.SHUT_RD, S.SHUT_RDWR):
            self.read_shut = True

    def blocked_recv_result(self):
        """A datagram socket shut down for reading: a recv that would block returns 0 (the host's
        non-blocking recv says EAGAIN; Linux's blocking one sees RCV_SHUTDOWN and returns 0)."""
        if self.read_shut and self.stype != _socket.SOCK_STREAM:
            return RecvResult(b"")
        return None

    # --- data -----------------------------------------------------------------------------
    def sendmsg(self, t, data, flags, addr, rights, creds, control=b""):
        """``control``: packed IP/IPv6-level control messages (IP_TOS, IPV6_HOPLIMIT, ...) for the host."""
        if rights:
            raise SyscallError(EINVAL)
        if control and not t.creds.has_cap(CAP_NET_RAW) and \
                any((level, typ) in PRIVILEGED_CMSGS for level, typ, _ in S.parse_cmsgs(control)):
            raise SyscallError(EPERM)
        mv = memoryview(data)[:MAX_CHUNK]
        flags = (flags & ~S.MSG_DONTWAIT) | S.MSG_DONTWAIT | S.MSG_NOSIGNAL
        if control:
            payload, cbuf = bytes(mv), ctypes.create_string_buffer(control, len(control))
            iov = IOVec(ctypes.cast(ctypes.c_char_p(payload), ctypes.c_void_p), len(payload))
            msg = MsgHdr(ctypes.cast(ctypes.c_char_p(addr), ctypes.c_void_p) if addr else None,
                          len(addr) if addr else 0, ctypes.pointer(iov), 1, ctypes.addressof(cbuf), len(control), 0)
            n = libc.sendmsg(self.fd, ctypes.byref(msg), flags)
        else:
            n = libc.sendto(self.fd, bytes(mv), len(mv), flags, addr, len(addr) if addr else 0)
        if n < 0:
            e = ctypes.get_errno()
            raise SyscallError(EAGAIN if e == _errno.EWOULDBLOCK else e)
        return n

    def recvmsg(self, t, n, flags, want_addr):
        n = max(0, min(n, MAX_CHUNK))
        buf = ctypes.create_string_buffer(max(n, 1))
        abuf = ctypes.create_string_buffer(S.SOCKADDR_MAX)
        # Control messages the options ask for (IP_PKTINFO, IPV6_RECVHOPLIMIT, SO_TIMESTAMP, ...) come
        # back packed; recvmsg fits them into the application's buffer as Linux's put_cmsg does.
        cbuf = ctypes.create_string_buffer(HOST_CONTROL)
        iov = IOVec(ctypes.addressof(buf), n)
        msg = MsgHdr(ctypes.addressof(abuf), S.SOCKADDR_MAX, ctypes.pointer(iov), 1,
                      ctypes.addressof(cbuf), HOST_CONTROL, 0)
        hflags = (flags & (S.MSG_PEEK | S.MSG_TRUNC | S.MSG_OOB | S.MSG_ERRQUEUE)) | S.MSG_DONTWAIT
        if self.stype == _socket.SOCK_DGRAM:
            hflags |= S.MSG_TRUNC   # the host then returns a datagram's real length
        got = libc.recvmsg(self.fd, ctypes.byref(msg), hflags)
        if got < 0:
            e = ctypes.get_errno()
            raise SyscallError(EAGAIN if e == _errno.EWOULDBLOCK else e)
        out_flags = msg.flags & (S.MSG_CTRUNC | S.MSG_EOR | S.MSG_OOB | S.MSG_ERRQUEUE)
        full = got
        if self.stype == _socket.SOCK_DGRAM and got > n:
            out_flags |= S.MSG_TRUNC   # only with MSG_TRUNC does the host report the real length
        data = buf.raw[:min(got, n)]
        addr = abuf.raw[:msg.namelen] if want_addr and msg.namelen else None
        return RecvResult(data, full, addr, flags=out_flags, control=cbuf.raw[:msg.controllen])

    # Stream data straight between the host socket and application memory (views of the
    # MemoryFile from mm.io_views): the kernel copies once, as natively; nothing passes through Python.
    def recv_views(self, views, flags) -> int:
        # MSG_TRUNC: TCP discards the bytes instead of copying them (the host writes nothing).
        hflags = (flags & (S.MSG_PEEK | S.MSG_OOB | S.MSG_TRUNC)) | S.MSG_DONTWAIT
        try:
            if not views:   # (Python's recv_into returns 0 for a null buffer without asking the host)
                if libc.recvfrom(self.fd, None, 0, hflags, None, None) < 0:
                    raise _err()
                return 0
            if len(views) == 1:
                return self.sock.recv_into(views[0], 0, hflags)
            return self.sock.recvmsg_into(views, 0, hflags)[0]
        except BlockingIOError:
            raise SyscallError(EAGAIN) from None
        except OSError as e:
            raise SyscallError(e.errno or EINVAL) from None

    def recv_views_control(self, views, flags):
        """recv_views for a recvmsg with a control buffer: (count, the control messages the options
        ask for, packed: SO_TIMESTAMP, TCP_INQ's TCP_CM_INQ, ...)."""
        hflags = (flags & (S.MSG_PEEK | S.MSG_OOB | S.MSG_TRUNC)) | S.MSG_DONTWAIT
        try:
            n, anc, _, _ = self.sock.recvmsg_into(views, HOST_CONTROL, hflags)
        except BlockingIOError:
            raise SyscallError(EAGAIN) from None
        except OSError as e:
            raise SyscallError(e.errno or EINVAL) from None
        return n, b"".join(S.pack_cmsg(level, typ, data) for level, typ, data in anc)

    def send_views(self, views, flags) -> int:
        hflags = (flags & ~S.MSG_DONTWAIT) | S.MSG_DONTWAIT | S.MSG_NOSIGNAL
        try:
            if len(views) == 1:
                return self.sock.send(views[0], hflags)
            return self.sock.sendmsg(views, (), hflags)
        except BlockingIOError:
            raise SyscallError(EAGAIN) from None
        except OSError as e:
            raise SyscallError(e.errno or EINVAL) from None

    # --- readiness and options -----------------------------------------------------------------
    def readiness(self, task, mask):
        ev = _poll(self.fd, HOST_EVENTS)
        return ev & (mask | POLLERR | POLLHUP)

    def waitable(self, task):
        return HostFdWaitable(self.fd)

    def ioctl(self, task, cmd, arg):
        size = HOST_IOCTLS.get(cmd)
        if size:
            try:
                task.mm.copy_out(arg, fcntl.ioctl(self.fd, cmd, bytes(size)))
            except OSError as e:
                raise SyscallError(e.errno or EINVAL)
            return 0
        return interface_ioctl(task, cmd, arg, self.netns)

    def getsockopt(self, t, level, name, optlen):
        if level == S.SOL_SOCKET and name in (S.SO_RCVTIMEO, S.SO_SNDTIMEO):
            return self.get_timeout_opt(name)
        if level == S.SOL_SOCKET and name in KEPT:
            return INT.pack(self.kept.get(name, 0))
        if level == S.SOL_SOCKET and name in READ_ONLY or (level, name) in PASSTHROUGH:
            size = max(0, min(optlen, MAX_OPTLEN))
            buf = ctypes.create_string_buffer(max(size, 1))
            ln = ctypes.c_uint(size)
            if libc.getsockopt(self.fd, level, name, buf, ctypes.byref(ln)) < 0:
                raise _err()
            return buf.raw[:ln.value]
        # An IPv4 socket hands a level it does not know to ip_getsockopt, which says EOPNOTSUPP.
        own = {_socket.SOCK_STREAM: S.IPPROTO_TCP, _socket.SOCK_DGRAM: S.IPPROTO_UDP, _socket.SOCK_RAW: 255}.get(self.stype)
        if self.family == _socket.AF_INET and level not in (S.SOL_SOCKET, S.SOL_IP, own):
            raise SyscallError(EOPNOTSUPP)
        raise SyscallError(ENOPROTOOPT)

    def setsockopt(self, t, level, name, value):
        if level == S.SOL_SOCKET and name in (S.SO_RCVTIMEO, S.SO_SNDTIMEO):
            return self.set_timeout_opt(name, value)
        if level == S.SOL_SOCKET and name in (S.SO_ATTACH_FILTER, S.SO_ATTACH_REUSEPORT_CBPF):
            return self._attach_filter(t, name, value)
        caps = PRIVILEGED_OPTIONS.get((level, name))
        if (level, name) == (S.SOL_SOCKET, S.SO_PRIORITY) and len(value) >= 4 and \
                not 0 <= INT.unpack_from(value)[0] <= 6:
            caps = (CAP_NET_RAW, CAP_NET_ADMIN)   # priorities beyond 0..6
        if caps and not any(t.creds.has_cap(c) for c in caps):
            raise SyscallError(EPERM)
        # The host would refuse the Sentry the forcing variants: the plain option, capped at the
        # host's {r,w}mem_max, is the nearest (the caller was entitled to at least that).
        name = BUF_FORCE.get((level, name), name)
        if level == S.SOL_SOCKET and name in KEPT:
            return self._keep(t, name, value)
        if (level, name) not in PASSTHROUGH:
            if level == S.SOL_SOCKET:
                return   # accepted and ignored, as a best effort (SO_PASSCRED, ...)
            raise SyscallError(ENOPROTOOPT)
        value = bytes(value[:MAX_OPTLEN])
        if libc.setsockopt(self.fd, level, name, value, len(value)) < 0:
            raise _err()
        if (level, name) == (S.SOL_IPV6, IPV6_ADDRFORM):
            self.family = _socket.AF_INET   # the host socket is an IPv4 one now

    def _keep(self, t, name, value):
        if len(value) < 4:
            raise SyscallError(EINVAL)
        v = INT.unpack_from(value)[0]
        if name == S.SO_DEBUG and v and not t.creds.has_cap(CAP_NET_ADMIN):
            raise SyscallError(EACCES)   # (sk_setsockopt: turning it on only)
        self.kept[name] = KEPT[name](v)

    def _attach_filter(self, t, name, value):
        """A classic BPF program (struct sock_fprog) for the host socket, whose kernel checks and runs
        it: its instructions are copied from the application's memory, the pointer made the Sentry's."""
        if len(value) < S.SOCK_FPROG.size:
            raise SyscallError(EINVAL)
        count, ptr = S.SOCK_FPROG.unpack_from(value)
        if not 0 < count <= S.BPF_MAXINSNS:
            raise SyscallError(EINVAL)
        prog = ctypes.create_string_buffer(t.mm.copy_in(ptr, count * S.SOCK_FILTER_SIZE))
        fprog = S.SOCK_FPROG.pack(count, ctypes.addressof(prog))
        if libc.setsockopt(self.fd, S.SOL_SOCKET, name, fprog, len(fprog)) < 0:
            raise _err()

    def release(self):
        registry.unregister(self)
        if self.stype == _socket.SOCK_STREAM:
            self._unlinger()
        self.sock.close()

    def _unlinger(self):
        """A lingering close (SO_LINGER on, with a time) would block the Sentry's own close of the
        host socket, every task with it, until the data is sent or the time is up: the host
        socket closes without lingering instead (its data still goes out after close, as after
        the linger time on Linux); only the caller's wait is lost. An abortive close (time 0)
        stays as it is."""
        buf = ctypes.create_string_buffer(S.LINGER.size)
        ln = ctypes.c_uint(S.LINGER.size)
        if libc.getsockopt(self.fd, S.SOL_SOCKET, S.SO_LINGER, buf, ctypes.byref(ln)) == 0:
            onoff, seconds = S.LINGER.unpack(buf.raw)
            if onoff and seconds > 0:
                off = S.LINGER.pack(0, 0)
                libc.setsockopt(self.fd, S.SOL_SOCKET, S.SO_LINGER, off, len(off))
