"""Socket syscalls: socket, socketpair, bind, listen, accept/accept4, connect, send/recv families,
shutdown, names and options — for every family through the SocketImpl interface (fsimpl/sockfs.py).

Handlers copy addresses, iovecs and control messages between application
memory and the family's impl. Blocking is done here: an impl raises EAGAIN and
``_blocking`` waits on its ``wait_target`` (honouring O_NONBLOCK, MSG_DONTWAIT
and SO_RCVTIMEO/SO_SNDTIMEO). Data moves in bounded chunks (MAX_CHUNK): a
blocking stream send loops until everything is queued, MSG_WAITALL loops
until the buffer is full, as Linux.
"""
import struct
from types import GeneratorType

from snakevisor.abi.errno import (EAFNOSUPPORT, EAGAIN, EALREADY, EFAULT, EINPROGRESS, EINTR, EINVAL, EMSGSIZE,
                                  EPIPE, EPROTONOSUPPORT, ERESTARTSYS, ESOCKTNOSUPPORT, SyscallError)
from snakevisor.abi.fs import O_NONBLOCK, to_s32, to_u32
from snakevisor.abi.landlock import ACCESS_NET_BIND_TCP, ACCESS_NET_CONNECT_TCP
from snakevisor.abi import socket as S
from snakevisor.abi.socket import AF_MAX, SOCK_MAX
from snakevisor.sentry.fsimpl.sockfs import RecvResult, new_socket_file, socket_of
from snakevisor.sentry.net.inet import InetSocket, check_create as inet_check_create
from snakevisor.sentry.kernel import netns
from snakevisor.sentry.net.netlink import new_netlink_socket
from snakevisor.sentry.net.unix import UnixSocket, socketpair as unix_socketpair, task_creds
from snakevisor.sentry.syscalls.pipe import install_pair, send_sigpipe
from snakevisor.sentry.syscalls.newfd import install_new
from snakevisor.sentry.syscalls.socket_control import control_out, parse_control

MAX_CHUNK = 1 << 20          # bytes moved per step between application memory and a socket
MAX_MESSAGE = 4 << 20        # largest datagram we gather (Unix dgram limit is below it anyway)
MAX_CONTROL = 64 << 10       # control buffer bytes we read
INT = struct.Struct("<i")


# --- helpers --------------------------------------------------------------------------------------------

def _sock(t, fd):
    f = t.fdtable.get(to_s32(fd))
    f.check_not_path()   # sockfd_lookup: an O_PATH descriptor is EBADF, not ENOTSOCK
    return f, socket_of(f)


def _read_addr(t, addr, addrlen):
    n = to_s32(addrlen)
    if n < 0 or n > S.SOCKADDR_MAX:
        raise SyscallError(EINVAL)
    if not addr or n == 0:
        return None if not addr else b""
    return t.mm.copy_in(addr, n)


def _write_addr(t, addr_ptr, len_ptr, value):
    """Copy a sockaddr out through (addr, socklen_t*) as Linux's move_addr_to_user."""
    if not addr_ptr or not len_ptr:
        return
    given = INT.unpack(t.mm.copy_in(len_ptr, 4))[0]
    if given < 0:
        raise SyscallError(EINVAL)
    value = value or b""
    if given and value:
        t.mm.copy_out(addr_ptr, value[:given])
    t.mm.copy_out(len_ptr, INT.pack(len(value)))


def _write_name(t, addr_ptr, len_ptr, value):
    """getsockname/getpeername: both pointers are required (a NULL one faults)."""
    given = INT.unpack(t.mm.copy_in(len_ptr, 4))[0]
    if given < 0:
        raise SyscallError(EINVAL)
    if given and value:
        t.mm.copy_out(addr_ptr, value[:given])
    t.mm.copy_out(len_ptr, INT.pack(len(value)))


def _blocking(t, f, sock, op, fn, dontwait=False):
    """Call ``fn`` until it does not raise EAGAIN, waiting between tries unless non-blocking."""
    deadline = None
    while True:
        try:
            return fn()
        except SyscallError as e:
            if e.errno != EAGAIN or f.flags & O_NONBLOCK or dontwait:
                raise
        if op == "recv":
            instead = sock.blocked_recv_result()   # e.g. a datagram socket shut down for reading
            if instead is not None:
                return instead
        w, ev = sock.wait_target(t, op)
        tmo = sock.timeout(op)
        now = t.kernel.monotonic()
        if tmo is not None and deadline is None:
            deadline = now + tmo
        if deadline is not None and now >= deadline:
            raise SyscallError(EINPROGRESS if op == "connect" else EAGAIN)
        from snakevisor.abi.poll import POLLERR, POLLHUP, POLLRDHUP
        yield from _wait(t, w, ev | POLLERR | POLLHUP | POLLRDHUP, None if deadline is None else deadline - now)


def _wait(t, w, ev, timeout):
    """t.block_on for a socket call: a signal ends a wait that has a time limit (SO_RCVTIMEO,
    SO_SNDTIMEO) with EINTR, never a restart, as Linux's sock_intr_errno."""
    try:
        return (yield from t.block_on(w, ev, timeout))
    except SyscallError as e:
        if e.errno == ERESTARTSYS and timeout is not None:
            raise SyscallError(EINTR) from None
        raise


class IoVec:
    """The application's iovec array as one byte range: bounded reads and scattered writes."""

    def __init__(self, t, vecs):
        self.t, self.vecs = t, [(b, n) for b, n in vecs if n]
        self.total = sum(n for _, n in self.vecs)

    @classmethod
    def single(cls, t, buf, n):
        return cls(t, [(buf, n)])

    def _ranges(self, off, n):
        """(address, length) of the application ranges holding bytes [off, off+n) of the vector."""
        pos = 0
        for base, length in self.vecs:
            if n <= 0:
                break
            if off < pos + length:
                start = max(off, pos) - pos
                take = min(length - start, n)
                yield base + start, take
                n -= take
                off += take
            pos += length

    def gather(self, off, n) -> bytes:
        return b"".join(self.t.mm.copy_in(a, m) for a, m in self._ranges(off, n))

    def views(self, off, n, write=False) -> list:
        """Memoryviews of application memory for bytes [off, off+n) (EFAULT if any is unmapped)."""
        out = []
        for a, m in self._ranges(off, n):
            out += self.t.mm.io_views(a, m, write)
        return out

    def scatter(self, off, data) -> None:
        pos, mv = 0, memoryview(data)
        for base, length in self.vecs:
            if not len(mv):
                break
            if off < pos + length:
                start = max(off, pos) - pos
                take = min(length - start, len(mv))
                self.t.mm.copy_out(base + start, mv[:take])
                mv = mv[take:]
                off += take
            pos += length


# --- creation -------------------------------------------------------------------------------------------

def _new_impl(t, domain, stype, protocol):
    base = stype & S.SOCK_TYPE_MASK
    if stype & ~(S.SOCK_TYPE_MASK | S.SOCK_NONBLOCK | S.SOCK_CLOEXEC):
        raise SyscallError(EINVAL)
    if domain < 0 or domain >= AF_MAX:
        raise SyscallError(EAFNOSUPPORT)
    if base >= SOCK_MAX:
        raise SyscallError(EINVAL)
    if domain == S.AF_UNIX:
        if protocol not in (0, S.AF_UNIX):
            raise SyscallError(EPROTONOSUPPORT)
        if base == S.SOCK_RAW:
            base = S.SOCK_DGRAM   # Linux treats a raw Unix socket as a datagram one
        if base not in (S.SOCK_STREAM, S.SOCK_DGRAM, S.SOCK_SEQPACKET):
            raise SyscallError(ESOCKTNOSUPPORT)
        return UnixSocket(base, task_creds(t), netns.of_task(t))
    if domain == S.AF_INET and base == S.SOCK_PACKET:
        domain = S.AF_PACKET   # the old spelling of a packet socket (__sock_create)
    if domain == S.AF_PACKET:
        inet_check_create(t, domain, base, protocol)
        raise SyscallError(EAFNOSUPPORT)   # packet sockets are not implemented
    if domain in (S.AF_INET, S.AF_INET6):
        if base not in (S.SOCK_STREAM, S.SOCK_DGRAM, S.SOCK_RAW, S.SOCK_SEQPACKET):
            raise SyscallError(ESOCKTNOSUPPORT)
        inet_check_create(t, domain, base, protocol)
        ns = netns.of_task(t)
        return InetSocket(domain, base, protocol, ns.host_socket(domain, base, protocol), ns)
    if domain == S.AF_NETLINK:
        return new_netlink_socket(base, protocol, netns.of_task(t), t.creds)
    raise SyscallError(EAFNOSUPPORT)


def _socket_file(t, impl, flags):
    """A file for socket ``impl``, owned by the caller's effective ids; SOCK_NONBLOCK from ``flags``."""
    creds = t.creds
    if isinstance(impl, UnixSocket):
        impl.landlock = getattr(creds, "landlock", None)   # the Landlock domain of its file's maker (Linux's f_cred)
    return new_socket_file(impl, bool(flags & S.SOCK_NONBLOCK), getattr(creds, "euid", 0), getattr(creds, "egid", 0))


def _install_socket(t, impl, flags):
    return install_new(t, _socket_file(t, impl, flags), bool(flags & S.SOCK_CLOEXEC))


def socket(t, domain, stype, protocol):
    domain, stype, protocol = to_s32(domain), to_s32(stype), to_s32(protocol)
    return _install_socket(t, _new_impl(t, domain, stype, protocol), stype)


def socketpair(t, domain, stype, protocol, sv):
    domain, stype, protocol = to_s32(domain), to_s32(stype), to_s32(protocol)
    if domain != S.AF_UNIX:
        # Linux creates the socket first (its type and protocol errors come first), then finds
        # that the family has no socketpair.
        impl = _new_impl(t, domain, stype, protocol)
        impl.release()
        raise SyscallError(95)   # EOPNOTSUPP: sock_no_socketpair
    probe = _new_impl(t, domain, stype, protocol)
    a, b = unix_socketpair(probe.stype, task_creds(t), probe.netns)
    fa, fb = _socket_file(t, a, stype), _socket_file(t, b, stype)
    install_pair(t, fa, fb, bool(stype & S.SOCK_CLOEXEC), sv)
    return 0


# --- names and connections ------------------------------------------------------------------------------

def bind(t, fd, addr, addrlen):
    f, sock = _sock(t, fd)
    a = _read_addr(t, addr, addrlen)
    if a is None:
        raise SyscallError(EFAULT)
    if t.creds.landlock is not None:
        _landlock_tcp(t, sock, a, ACCESS_NET_BIND_TCP)
    sock.bind(t, a)
    return 0


def _landlock_tcp(t, sock, addr, access):
    """Landlock's TCP port rights (ABI 4), for TCP sockets only (not MPTCP: erratum 1)."""
    if isinstance(sock, InetSocket) and sock.stype == S.SOCK_STREAM and sock.protocol in (0, S.IPPROTO_TCP):
        t.creds.landlock.check_tcp(sock.family, addr, access)


def listen(t, fd, backlog):
    f, sock = _sock(t, fd)
    sock.listen(t, to_s32(backlog))
    return 0


def _accept(t, fd, addr, addrlen, flags):
    flags = to_s32(flags)
    if flags & ~(S.SOCK_NONBLOCK | S.SOCK_CLOEXEC):
        raise SyscallError(EINVAL)
    f, sock = _sock(t, fd)
    return f.holding(_accept_waiting(t, f, sock, addr, addrlen, flags))


def _accept_waiting(t, f, sock, addr, addrlen, flags):
    new, peer = yield from _blocking(t, f, sock, "accept", lambda: sock.accept(t))
    return install_socket(t, new, flags, addr, addrlen, peer)


def install_socket(t, impl, flags, addr, addrlen, peer):
    """An accepted socket's fd (SOCK_NONBLOCK, SOCK_CLOEXEC from ``flags``), the peer's address
    written out through (addr, addrlen) first (accept4, io_uring's ACCEPT)."""
    nf = _socket_file(t, impl, flags)
    try:
        _write_addr(t, addr, addrlen, peer)
    except SyscallError:
        nf.dec_ref()
        raise
    return install_new(t, nf, bool(flags & S.SOCK_CLOEXEC))


def accept(t, fd, addr, addrlen):
    return (yield from _accept(t, fd, addr, addrlen, 0))


def accept4(t, fd, addr, addrlen, flags):
    return (yield from _accept(t, fd, addr, addrlen, flags))


def connect(t, fd, addr, addrlen):
    f, sock = _sock(t, fd)
    a = _read_addr(t, addr, addrlen)
    if a is None:
        raise SyscallError(EFAULT)
    if t.creds.landlock is not None:
        _landlock_tcp(t, sock, a, ACCESS_NET_CONNECT_TCP)
    return f.holding(_connect(t, f, sock, a))


def _connect(t, f, sock, a):
    try:
        yield from _blocking(t, f, sock, "connect", lambda: sock.connect(t, a))
    except SyscallError as e:
        # EALREADY: a connect under way already (one a signal interrupted and SA_RESTART restarts,
        # or a non-blocking one's), which a blocking connect waits for as Linux does.
        if e.errno not in (EINPROGRESS, EALREADY) or f.flags & O_NONBLOCK:
            raise
        # A blocking connect on a host socket: wait for the handshake, then report its result.
        w, ev = sock.wait_target(t, "connect")
        tmo = sock.timeout("connect")
        got = yield from _wait(t, w, ev, tmo)
        if not got and tmo is not None:
            raise SyscallError(EINPROGRESS)
        sock.connect_finish(t)
    return 0


def getsockname(t, fd, addr, addrlen):
    f, sock = _sock(t, fd)
    _write_name(t, addr, addrlen, sock.getsockname(t))
    return 0


def getpeername(t, fd, addr, addrlen):
    f, sock = _sock(t, fd)
    _write_name(t, addr, addrlen, sock.getpeername(t))
    return 0


def shutdown(t, fd, how):
    f, sock = _sock(t, fd)
    sock.shutdown(t, to_s32(how))
    return 0


# --- options ---------------------------------------------------------------------------------------------

def getsockopt(t, fd, level, name, optval, optlen):
    f, sock = _sock(t, fd)
    n = INT.unpack(t.mm.copy_in(optlen, 4))[0]
    if n < 0:
        raise SyscallError(EINVAL)
    value = sock.getsockopt(t, to_s32(level), to_s32(name), n)
    # (bytes, length): optlen reports a size beyond what was copied (NETLINK_LIST_MEMBERSHIPS)
    value, full = value if isinstance(value, tuple) else (value, None)
    value = value[:n]
    if value:
        t.mm.copy_out(optval, value)
    t.mm.copy_out(optlen, INT.pack(len(value) if full is None else full))
    return 0


def setsockopt(t, fd, level, name, optval, optlen):
    f, sock = _sock(t, fd)
    n = to_s32(optlen)
    if n < 0:
        raise SyscallError(EINVAL)
    value = t.mm.copy_in(optval, min(n, 4096)) if n else b""
    sock.setsockopt(t, to_s32(level), to_s32(name), value)
    return 0


# --- sending ------------------------------------------------------------------------------------------------

def _send(t, f, sock, iov: IoVec, flags, addr, rights, creds, control=b"", sent=0):
    """Send from ``iov`` (its first ``sent`` bytes are queued already: _send_now); a stream socket
    in blocking mode loops until all is queued."""
    dontwait = bool(flags & S.MSG_DONTWAIT)
    stream = sock.stype == S.SOCK_STREAM
    direct = stream and addr is None and isinstance(sock, InetSocket)   # host stream: no copy through Python
    total = iov.total
    try:
        while True:
            step = min(total - sent, MAX_CHUNK if stream else MAX_MESSAGE)
            # MSG_OOB makes the last byte of the whole send urgent, not each step's
            step_flags = flags if sent + step >= total else flags & ~S.MSG_OOB
            if direct:
                def attempt():
                    return sock.send_views(iov.views(sent, step), step_flags)
            else:
                chunk = iov.gather(sent, step)

                def attempt():
                    if control:
                        return sock.sendmsg(t, chunk, step_flags, addr, rights, creds, control)
                    return sock.sendmsg(t, chunk, step_flags, addr, rights, creds)
            try:
                n = yield from _blocking(t, f, sock, "send", attempt,
                                         dontwait or (sent > 0 and (f.flags & O_NONBLOCK)))
            except SyscallError as e:
                if sent:
                    return sent   # any error after some data is queued: the count (tcp_sendmsg, unix_stream_sendmsg)
                _send_failed(t, sock, flags, e)
                raise
            sent += n
            if not stream or sent >= total or f.flags & O_NONBLOCK or dontwait:
                return sent
    finally:
        for r in rights:
            r.dec_ref()   # references not taken over by a queued message


def _send_failed(t, sock, flags, e):
    """A send that queued nothing failed with ``e``: EPIPE also raises SIGPIPE (unless MSG_NOSIGNAL)."""
    if e.errno == EPIPE and not flags & S.MSG_NOSIGNAL and sock.sigpipe_on_epipe:
        send_sigpipe(t)


# --- host stream sockets with data or room now ------------------------------------------------------------------
# read/write/recv/send on a host TCP socket (InetSocket, SOCK_STREAM) most often move their bytes at
# once: one host call between the socket and views of application memory, answered with a plain count.
# The generators (_send, _recv: waits, loops, every other socket) run only when the call must wait or go on.

def _direct_stream(sock, total):
    return sock.stype == S.SOCK_STREAM and 0 < total <= MAX_CHUNK and isinstance(sock, InetSocket)


def _send_now(t, f, sock, iov: IoVec, flags):
    """_send without an address or control data: a count, or _send's generator when the call must
    wait (EAGAIN) or, blocking, queue the rest of a partial send."""
    total = iov.total
    if not _direct_stream(sock, total):
        return _send(t, f, sock, iov, flags, None, [], None)
    try:
        n = sock.send_views(iov.views(0, total), flags)
    except SyscallError as e:
        if e.errno == EAGAIN:
            return _send(t, f, sock, iov, flags, None, [], None)
        _send_failed(t, sock, flags, e)
        raise
    if n < total and not (f.flags & O_NONBLOCK or flags & S.MSG_DONTWAIT):
        return _send(t, f, sock, iov, flags, None, [], None, sent=n)
    return n


def _recv_now(sock, iov: IoVec, flags):
    """What a host stream socket has queued now, straight into application memory: the count, or
    None when the call goes _recv's way (nothing queued, MSG_WAITALL or MSG_ERRQUEUE, another
    socket). One host call is all _recv_direct makes for a buffer of at most MAX_CHUNK bytes."""
    if flags & (S.MSG_WAITALL | S.MSG_ERRQUEUE) or not _direct_stream(sock, iov.total):
        return None
    try:
        return sock.recv_views(iov.views(0, iov.total, True), flags)
    except SyscallError as e:
        if e.errno != EAGAIN:
            raise
        return None


def _sendmsg_one(t, f, sock, msg_addr, flags):
    name, namelen, iov, iovlen, control, controllen, _ = S.MSGHDR.unpack(t.mm.copy_in(msg_addr, S.MSGHDR.size))
    if iovlen > S.UIO_MAXIOV:
        raise SyscallError(EMSGSIZE)
    vecs = IoVec(t, t.mm.read_iovecs(iov, iovlen))
    addr = _read_addr(t, name, namelen) if name else None
    rights, creds, other = [], None, b""
    if controllen:
        if controllen > MAX_CONTROL:
            raise SyscallError(55)   # ENOBUFS
        rights, creds, other = parse_control(t, sock, t.mm.copy_in(control, controllen))
    return (yield from _send(t, f, sock, vecs, flags, addr or None, rights, creds, other))


def sendto(t, fd, buf, length, flags, addr, addrlen):
    f, sock = _sock(t, fd)
    a = _read_addr(t, addr, addrlen) if addr else None
    if not a:   # send(2): a count when the host socket takes it at once
        return _held(f, _send_now(t, f, sock, IoVec.single(t, buf, length), to_s32(flags)))
    return f.holding(_send(t, f, sock, IoVec.single(t, buf, length), to_s32(flags), a, [], None))


def _held(f, result):
    """A count as it is; a generator (the call waits) holding its file meanwhile."""
    return f.holding(result) if isinstance(result, GeneratorType) else result


def sendmsg(t, fd, msg, flags):
    f, sock = _sock(t, fd)
    return f.holding(_sendmsg_one(t, f, sock, msg, to_s32(flags)))


def sendmmsg(t, fd, msgvec, vlen, flags):
    f, sock = _sock(t, fd)
    return f.holding(_sendmmsg(t, f, sock, msgvec, vlen, flags))


def _sendmmsg(t, f, sock, msgvec, vlen, flags):
    vlen = min(to_u32(vlen), S.UIO_MAXIOV)
    done = 0
    for i in range(vlen):
        base = msgvec + i * S.MMSGHDR_SIZE
        try:
            n = yield from _sendmsg_one(t, f, sock, base, to_s32(flags))
        except SyscallError:
            if done:
                return done
            raise
        t.mm.copy_out(base + S.MMSG_LEN_OFFSET, struct.pack("<I", n))
        done += 1
    return done


# --- receiving --------------------------------------------------------------------------------------------------

def _recv_direct(t, f, sock, iov: IoVec, flags, want_control=False):
    """A host stream socket: the kernel copies straight into application memory, in bounded steps.
    ``want_control``: recvmsg has a control buffer, which the first step's messages fill."""
    dontwait = bool(flags & S.MSG_DONTWAIT)
    total = iov.total
    step = min(total, MAX_CHUNK)   # even 0: a null recv still says ENOTCONN, EAGAIN or waits for data
    if want_control:
        got, control = yield from _blocking(
            t, f, sock, "recv", lambda: sock.recv_views_control(iov.views(0, step, True), flags), dontwait)
    else:
        got = yield from _blocking(t, f, sock, "recv", lambda: sock.recv_views(iov.views(0, step, True), flags),
                                   dontwait)
        control = b""
    if flags & S.MSG_PEEK:
        return RecvResult(b"", control=control), got
    waitall = flags & S.MSG_WAITALL
    # MSG_WAITALL waits until the buffer is full (or EOF, an error, a signal); otherwise a step that
    # filled its part takes whatever else is queued now, without waiting.
    n = got
    while got < total and n and (waitall or n == step):
        step = min(total - got, MAX_CHUNK)

        def more():
            return sock.recv_views(iov.views(got, step, True), flags)
        try:
            n = yield from _blocking(t, f, sock, "recv", more, dontwait or not waitall)
        except SyscallError:
            break
        got += n
    return RecvResult(b"", control=control), got


def _recv(t, f, sock, iov: IoVec, flags, want_addr, want_control=False):
    """Receive into ``iov``; returns (RecvResult of the first step, bytes placed)."""
    if sock.stype == S.SOCK_STREAM and isinstance(sock, InetSocket) and not flags & S.MSG_ERRQUEUE:
        return (yield from _recv_direct(t, f, sock, iov, flags, want_control))
    # An inet socket's error queue is never waited for.
    dontwait = bool(flags & S.MSG_DONTWAIT or flags & S.MSG_ERRQUEUE and isinstance(sock, InetSocket))
    stream = sock.stype == S.SOCK_STREAM
    total = iov.total
    cap = min(total, MAX_CHUNK) if stream else min(total, MAX_MESSAGE)
    res = yield from _blocking(t, f, sock, "recv", lambda: sock.recvmsg(t, cap, flags, want_addr), dontwait)
    iov.scatter(0, res.data)
    got = len(res.data)
    # MSG_WAITALL: a stream read goes on until the buffer is full (or EOF, an error, a signal, an
    # urgent byte's mark). recv(MSG_OOB) takes one byte.
    if not stream or flags & (S.MSG_PEEK | S.MSG_OOB) or res.rights:
        pass
    elif flags & S.MSG_WAITALL:
        while got < total and res.data:
            try:
                more = yield from _blocking(t, f, sock, "recv",
                                            lambda: sock.recv_more(t, min(total - got, MAX_CHUNK), flags),
                                            dontwait)
            except SyscallError:
                break
            got = _append(res, more, iov, got)
            if more.rights or not more.data:
                break
    elif got == cap and cap < total:
        # More is there than one step moved: take what is queued now, without waiting.
        while got < total:
            try:
                more = sock.recv_more(t, min(total - got, MAX_CHUNK), flags | S.MSG_DONTWAIT)
            except SyscallError:
                break
            got = _append(res, more, iov, got)
            if more.rights or not more.data:
                break
    return res, got


def _append(res, more, iov, got):
    """A further step of a stream read joins the first's result. Descriptors end the read and
    come with it, as Linux's unix_stream_read_generic stops after the data that carried them.
    Returns the bytes placed so far."""
    iov.scatter(got, more.data)
    res.rights.extend(more.rights)
    return got + len(more.data)


def _recvmsg_one(t, f, sock, msg_addr, flags):
    hdr = t.mm.copy_in(msg_addr, S.MSGHDR.size)
    name, namelen, iov, iovlen, control, controllen, _ = S.MSGHDR.unpack(hdr)
    if iovlen > S.UIO_MAXIOV:
        raise SyscallError(EMSGSIZE)
    if to_s32(namelen) < 0:
        raise SyscallError(EINVAL)
    vecs = IoVec(t, t.mm.read_iovecs(iov, iovlen))
    res, got = yield from _recv(t, f, sock, vecs, flags, bool(name), bool(control and controllen))
    ctl, mflags = control_out(t, sock, res, flags, control, min(controllen, MAX_CONTROL) if control else 0)
    if ctl:
        t.mm.copy_out(control, ctl)
    t.mm.copy_out(msg_addr + S.MSG_CONTROLLEN_OFFSET, struct.pack("<Q", len(ctl)))
    if name:
        a = res.addr or b""
        if a and namelen:
            t.mm.copy_out(name, a[:namelen])
        t.mm.copy_out(msg_addr + S.MSG_NAMELEN_OFFSET, struct.pack("<I", len(a)))
    t.mm.copy_out(msg_addr + S.MSG_FLAGS_OFFSET, INT.pack(res.flags | mflags | (flags & S.MSG_CMSG_CLOEXEC)))
    if flags & S.MSG_TRUNC and res.full_len >= 0 and sock.stype != S.SOCK_STREAM:
        return res.full_len
    return got


def socket_read(t, f, sock, vecs):
    """read(2)/readv(2) on a socket: recv without flags (SocketImpl.task_read); a count, or a
    generator that waits."""
    iov = IoVec(t, vecs)
    if not iov.total:
        return 0   # sock_read_iter: a null read returns 0 at once, connected or not
    got = _recv_now(sock, iov, 0)
    return got if got is not None else f.holding(_socket_read_waiting(t, f, sock, iov))


def _socket_read_waiting(t, f, sock, iov):
    res, got = yield from _recv(t, f, sock, iov, 0, False)
    for r in res.rights:
        r.dec_ref()
    return got


def socket_write(t, f, sock, vecs):
    """write(2)/writev(2) on a socket: send without flags (SocketImpl.task_write); a count, or a
    generator that waits."""
    return _held(f, _send_now(t, f, sock, IoVec(t, vecs), 0))


def recvfrom(t, fd, buf, length, flags, addr, addrlen):
    f, sock = _sock(t, fd)
    flags = to_s32(flags)
    iov = IoVec.single(t, buf, length)
    got = _recv_now(sock, iov, flags)
    if got is None:
        return f.holding(_recvfrom_waiting(t, f, sock, iov, flags, addr, addrlen))
    if addr and addrlen:
        _write_addr(t, addr, addrlen, b"")   # a stream socket gives no source address
    return got


def _recvfrom_waiting(t, f, sock, iov, flags, addr, addrlen):
    res, got = yield from _recv(t, f, sock, iov, flags, bool(addr))
    for r in res.rights:
        r.dec_ref()
    if addr and addrlen:
        _write_addr(t, addr, addrlen, res.addr or b"")
    if flags & S.MSG_TRUNC and res.full_len >= 0 and sock.stype != S.SOCK_STREAM:
        return res.full_len
    return got


def recvmsg(t, fd, msg, flags):
    f, sock = _sock(t, fd)
    return f.holding(_recvmsg_one(t, f, sock, msg, to_s32(flags)))


def recvmmsg(t, fd, msgvec, vlen, flags, timeout):
    f, sock = _sock(t, fd)
    return f.holding(_recvmmsg(t, f, sock, msgvec, vlen, flags, timeout))


def _recvmmsg(t, f, sock, msgvec, vlen, flags, timeout):
    flags = to_s32(flags)
    vlen = min(to_u32(vlen), S.UIO_MAXIOV)
    deadline = None
    if timeout:
        sec, nsec = struct.unpack("<qq", t.mm.copy_in(timeout, 16))
        if sec < 0 or not 0 <= nsec < 1_000_000_000:
            raise SyscallError(EINVAL)
        deadline = t.kernel.monotonic() + sec + nsec / 1e9
    done = 0
    for i in range(vlen):
        base = msgvec + i * S.MMSGHDR_SIZE
        try:
            n = yield from _recvmsg_one(t, f, sock, base, flags)
        except SyscallError:
            if done:
                break
            raise
        t.mm.copy_out(base + S.MMSG_LEN_OFFSET, struct.pack("<I", n))
        done += 1
        if flags & S.MSG_WAITFORONE:
            flags |= S.MSG_DONTWAIT
        if deadline is not None and t.kernel.monotonic() >= deadline:
            break
    return done
