"""AF_UNIX sockets in the Sentry: stream, datagram and seqpacket; names; SCM_RIGHTS and credentials.

Each ``UnixSocket`` has a receive queue of ``Message``s (data, passed
FileDescriptions, sender credentials and address) and one WaitQueue notified on
every change. Senders append to the peer's queue and notify it; receivers
notify the peer when space is freed. Names: a path binds a socket inode in the
VFS (mknod S_IFSOCK, so a read-only mount gives EROFS) and the inode maps to
the socket here; abstract names (leading NUL) live in a table. ``connect`` on a
listener creates the server-side socket at once and queues it for ``accept``,
as Linux does. Passed descriptions hold a reference until received or dropped.
"""
import itertools
import struct
from collections import deque

from snakevisor.abi.errno import (EADDRINUSE, EAGAIN, ECONNREFUSED, ECONNRESET, EEXIST, EINVAL, EISCONN,
                                  EMSGSIZE, ENOPROTOOPT, ENOTCONN, EOPNOTSUPP, EPERM, EPIPE, EPROTOTYPE,
                                  SyscallError)
from snakevisor.abi.fs import FIONREAD, S_IFMT, S_IFSOCK, TIOCOUTQ
from snakevisor.abi.landlock import SCOPE_ABSTRACT_UNIX_SOCKET
from snakevisor.abi.poll import (POLLERR, POLLHUP, POLLIN, POLLOUT, POLLPRI, POLLRDHUP, POLLRDNORM, POLLWRBAND,
                                 POLLWRNORM)
from snakevisor.abi.socket import (AF_UNIX, AF_UNSPEC, DEFAULT_RCVBUF, DEFAULT_SNDBUF, LINGER, MSG_DONTWAIT, MSG_OOB,
                                   MSG_PEEK, MSG_TRUNC, SHUT_RD, SHUT_RDWR, SHUT_WR, SIOCATMARK, SO_ACCEPTCONN,
                                   SO_DOMAIN, SO_ERROR, SO_KEEPALIVE, SO_LINGER, SO_PASSCRED, SO_PEERCRED, SO_PROTOCOL,
                                   SO_RCVBUF, SO_RCVTIMEO, SO_REUSEADDR, SO_SNDBUF, SO_SNDTIMEO, SO_TYPE, SOCK_DGRAM,
                                   SOCK_MIN_RCVBUF, SOCK_MIN_SNDBUF, SOCK_SEQPACKET, SOCK_STREAM, SOCKBUF_MAX,
                                   SOL_SOCKET, SOMAXCONN, SO_REUSEPORT, SO_BROADCAST, SO_PEEK_OFF,
                                   SO_PRIORITY, SO_OOBINLINE, SO_DONTROUTE, SO_RCVLOWAT, SO_SNDLOWAT, SO_PASSSEC,
                                   SO_PEERSEC, SO_RCVBUFFORCE, SO_SNDBUFFORCE, SO_MARK, SO_NO_CHECK, UCRED,
                                   pack_sockaddr_un)
from snakevisor.abi.capability import CAP_NET_ADMIN, CAP_NET_RAW
from snakevisor.sentry.fsimpl.sockfs import RecvResult, SocketImpl
from snakevisor.sentry.kernel.userns import OVERFLOW_ID, id_in
from snakevisor.sentry.net import registry
from snakevisor.sentry.net.unix_stream import at_mark, read_stream, recv_urgent
from snakevisor.sentry.kernel.netns import ROOT
from snakevisor.sentry.vfs import fasync
from snakevisor.sentry.vfs.waiter import WaitQueue

SHUTDOWN_RCV = 1
SHUTDOWN_SND = 2
MAX_DGRAM_QLEN = 10          # net.unix.max_dgram_qlen
_by_inode: dict = {}         # socket Inode in the VFS -> bound UnixSocket
_autobind = itertools.count(1)
INT = struct.Struct("<i")
INT_MAX = (1 << 31) - 1
FALSE = INT.pack(0)
# SOL_SOCKET options kept for getsockopt only (they change nothing for a Unix socket): flags, and values.
STORED_FLAGS = (SO_REUSEADDR, SO_REUSEPORT, SO_KEEPALIVE, SO_BROADCAST, SO_OOBINLINE, SO_DONTROUTE, SO_PASSSEC,
                SO_NO_CHECK)
STORED_VALUES = (SO_PRIORITY, SO_RCVLOWAT, SO_SNDLOWAT, SO_PEEK_OFF, SO_MARK)
QUEUE_MAX = 8 * SOCKBUF_MAX   # bytes a socket's peer may queue to it, whatever its SO_SNDBUFFORCE


class Message:
    __slots__ = ("data", "rights", "creds", "addr")

    def __init__(self, data: bytes, rights=None, creds=None, addr=None):
        self.data, self.rights, self.creds, self.addr = data, rights, creds, addr

    def drop(self):
        for f in self.rights or ():
            f.dec_ref()
        self.rights = None


def _queue_full(sock) -> bool:
    """unix_recvq_full: more datagrams queued than max_dgram_qlen (so 11 fit with the default 10)."""
    return len(sock.rq) > MAX_DGRAM_QLEN


def task_creds(t):
    """(pid, uid, gid) for SCM_CREDENTIALS / SO_PEERCRED, as Linux's cred_to_ucred (effective ids)."""
    if t is None:
        return None
    c = t.creds
    return (t.tg.tgid if getattr(t, "tg", None) is not None else 0,
            getattr(c, "euid", getattr(c, "uid", 0)), getattr(c, "egid", getattr(c, "gid", 0)))


def ucred_seen_by(t, creds):
    """(pid, uid, gid), kept as global pid and kernel ids, as reader ``t``'s PID and user
    namespaces name them (SO_PEERCRED, a received SCM_CREDENTIALS)."""
    if creds is None:   # sent while neither end had SO_PASSCRED: none recorded (maybe_add_creds)
        return 0, OVERFLOW_ID, OVERFLOW_ID
    tg = getattr(t, "tg", None)
    if tg is None:
        return creds
    pid, uid, gid = creds
    return tg.pidns.id_of(pid), id_in(t.creds, uid), id_in(t.creds, gid, "gid")


def parse_sockaddr_un(addr: bytes, for_bind: bool) -> bytes | None:
    """The name in a sockaddr_un: path bytes, b"\\0..." for abstract; None for "autobind" (family only)."""
    if len(addr) < 2 or len(addr) > 110:
        raise SyscallError(EINVAL)
    family, = struct.unpack_from("<H", addr)
    if family != AF_UNIX:
        raise SyscallError(EINVAL)
    path = addr[2:]
    if not path:
        if for_bind:
            return None
        raise SyscallError(EINVAL)
    if path[0] == 0:
        return bytes(path)
    nul = path.find(b"\0")
    return bytes(path if nul < 0 else path[:nul])


class UnixSocket(SocketImpl):
    family = AF_UNIX
    landlock = None   # the Landlock domain of the task that created it (abstract sockets' scope)
    vfs_inode = None  # the socket file of its path name, its listener's for an accepted one (sock_diag)

    def __init__(self, stype: int, creds=None, ns=ROOT):
        super().__init__()
        self.stype = stype
        self.netns = ns              # abstract names are per network namespace
        self.queue = WaitQueue()
        self.rq: deque = deque()
        self.rq_bytes = 0
        self.rcvbuf = DEFAULT_RCVBUF
        self.sndbuf = DEFAULT_SNDBUF
        self.peer: UnixSocket | None = None
        self.connected = False       # stream/seqpacket: has (had) a peer
        self.listening = False
        self.backlog: deque = deque()
        self.max_backlog = 0
        self.name: bytes | None = None
        self.bound_inode = None
        self.shutdown_state = 0
        self.passcred = False
        self.creds = creds             # the creator's (pid, uid, gid)
        self.peercred = None
        self.error = 0
        self.closed = False
        self.rcvtimeo = self.sndtimeo = None
        self.opts = {}                 # options stored for getsockopt only
        self.oob = None                # stream: the queued Message holding the urgent byte (MSG_OOB)

    @property
    def connection_based(self) -> bool:
        return self.stype != SOCK_DGRAM

    @property
    def sigpipe_on_epipe(self) -> bool:
        return self.stype == SOCK_STREAM   # unix_dgram_sendmsg (seqpacket too) raises no SIGPIPE

    # --- names ----------------------------------------------------------------------
    def _bind_name(self, t, name) -> None:
        if name is None:   # autobind: an abstract name of five hex digits, as Linux
            while True:
                name = b"\0" + f"{next(_autobind) & 0xFFFFF:05x}".encode()
                if name not in self.netns.abstract:
                    break
        if name[0] == 0:
            if name in self.netns.abstract:
                raise SyscallError(EADDRINUSE)
            self.netns.abstract[name] = self
        else:
            from snakevisor.sentry.vfs.at import at_start, task_ctx
            from snakevisor.sentry.vfs.pathops import mknod_path
            umask = t.fs.umask
            # The socket's own mode (0777 unless fchmod changed it) less the umask (unix_bind_bsd).
            sock_inode = getattr(self, "inode", None)
            perms = sock_inode.mode & 0o7777 if sock_inode is not None else 0o777
            try:
                vd = mknod_path(task_ctx(t), at_start(t, 0xFFFFFF9C, name), name, S_IFSOCK | perms, 0, umask)
            except SyscallError as e:
                raise SyscallError(EADDRINUSE if e.errno == EEXIST else e.errno)
            self.bound_inode = self.vfs_inode = vd.dentry.inode
            self.bound_inode.inc_ref()
            _by_inode[self.bound_inode] = self
        self.name = name

    def bind(self, t, addr):
        name = parse_sockaddr_un(addr, True)
        if self.name is not None:
            raise SyscallError(EINVAL)
        self._bind_name(t, name)

    def autobind(self, t):
        if self.name is None:
            self._bind_name(t, None)

    def _check_scope(self, t, other) -> "UnixSocket":
        """Landlock's abstract unix socket scope (ABI 6): a scoped domain reaches only abstract
        sockets made inside it or a nested domain, and its datagram socket's peer. Returns ``other``."""
        domain = t.creds.landlock if t is not None else None
        if domain is not None and other is not self.peer and other.name and other.name[0] == 0 and \
                domain.scoped_out(other.landlock, SCOPE_ABSTRACT_UNIX_SOCKET):
            raise SyscallError(EPERM)
        return other

    def lookup(self, t, name: bytes) -> "UnixSocket":
        """The socket bound to ``name``. An abstract name is looked up in this socket's network
        namespace (sock_net, not the caller's now) and found for a socket of this type only (Linux
        hashes abstract names with the type: another type's is not there, ECONNREFUSED); a path's
        socket is found whatever its type (the caller says EPROTOTYPE)."""
        if name[0] == 0:
            s = self.netns.abstract.get(name)
            if s is None or s.stype != self.stype:
                raise SyscallError(ECONNREFUSED)
            return s
        from snakevisor.sentry.vfs.at import resolve_at, task_ctx
        from snakevisor.sentry.vfs.permissions import MAY_WRITE, check_permission
        vd = resolve_at(t, 0xFFFFFF9C, name)
        inode = vd.dentry.inode
        check_permission(task_ctx(t).creds, inode, MAY_WRITE)   # connecting/sending needs write access
        s = _by_inode.get(inode)
        if inode.mode & S_IFMT != S_IFSOCK or s is None or s.closed:
            raise SyscallError(ECONNREFUSED)
        return s

    def getsockname(self, t):
        return pack_sockaddr_un(self.name)

    def getpeername(self, t):
        if self.peer is None or (self.connection_based and not self.connected):
            raise SyscallError(ENOTCONN)
        return pack_sockaddr_un(self.peer.name)

    # --- connections ------------------------------------------------------------------
    def listen(self, t, backlog):
        if not self.connection_based:
            raise SyscallError(EOPNOTSUPP)
        if self.connected:
            raise SyscallError(EINVAL)
        if self.name is None:
            raise SyscallError(EINVAL)
        if backlog < 0 or backlog > SOMAXCONN:
            backlog = SOMAXCONN
        self.max_backlog = backlog
        if not self.listening:
            self.listening = True
            self.creds = task_creds(t) or self.creds
            self.peercred = self.creds   # a listener's SO_PEERCRED is its own (init_peercred)
        self.queue.notify(POLLIN | POLLOUT)

    def connect(self, t, addr):
        if len(addr) >= 2 and struct.unpack_from("<H", addr)[0] == AF_UNSPEC and not self.connection_based:
            self._set_dgram_peer(None)   # dissolve the association
            return
        name = parse_sockaddr_un(addr, False)
        if not self.connection_based:
            target = self.lookup(t, name)
            if target.stype != self.stype:
                raise SyscallError(EPROTOTYPE)
            self._check_scope(t, target)
            self._set_dgram_peer(target)
            return
        if self.listening:
            raise SyscallError(EINVAL)
        if self.connected:
            raise SyscallError(EISCONN)
        listener = self.lookup(t, name)
        if listener.stype != self.stype:
            raise SyscallError(EPROTOTYPE)
        if not listener.listening:
            raise SyscallError(ECONNREFUSED)
        if len(listener.backlog) > listener.max_backlog:
            self._waiting_on = listener
            raise SyscallError(EAGAIN)
        self._check_scope(t, listener)
        mine = task_creds(t) or self.creds
        server = UnixSocket(self.stype, listener.creds, listener.netns)
        server.name, server.vfs_inode = listener.name, listener.vfs_inode
        server.passcred = listener.passcred
        server.peercred = mine
        self.peercred = listener.creds
        server.peer, self.peer = self, server
        server.connected = self.connected = True
        listener.backlog.append(server)
        listener.queue.notify(POLLIN | POLLRDNORM)
        self.queue.notify(POLLOUT | POLLWRNORM)

    def _set_dgram_peer(self, target):
        self.peer = target

    def accept(self, t):
        if not self.connection_based:
            raise SyscallError(EOPNOTSUPP)
        if not self.listening:
            raise SyscallError(EINVAL)
        if not self.backlog:
            raise SyscallError(EAGAIN)
        server = self.backlog.popleft()
        self.queue.notify(POLLOUT)   # a blocked connect may proceed
        return server, pack_sockaddr_un(server.peer.name if server.peer is not None else None)

    def wait_target(self, task, op):
        if op == "connect" and getattr(self, "_waiting_on", None) is not None:
            return self._waiting_on.queue, POLLOUT
        return super().wait_target(task, op)

    # --- data -----------------------------------------------------------------------------
    def _limit(self) -> int:
        # A forced SO_SNDBUF is reported whole but queues at most QUEUE_MAX: queued data is the
        # Sentry's own memory, which an application must not make grow without bound.
        return min(max(self.sndbuf, SOCK_MIN_SNDBUF), QUEUE_MAX)

    def _send_target(self, t, addr, flags):
        """The socket a send goes to, or the error the send gets first (MSG_OOB: a stream socket's
        send of nothing, any datagram or seqpacket send is EOPNOTSUPP, as unix_*_sendmsg)."""
        if flags & MSG_OOB and self.stype == SOCK_DGRAM:
            raise SyscallError(EOPNOTSUPP)
        if self.listening:
            raise SyscallError(ENOTCONN if self.connection_based else EOPNOTSUPP)
        if not self.connection_based:
            if addr is not None:
                target = self._check_scope(t, self.lookup(t, parse_sockaddr_un(addr, False)))
                if target.peer is not None and target.peer is not self:
                    raise SyscallError(EPERM)
            else:
                target = self.peer
                if target is None:
                    raise SyscallError(ENOTCONN)
            if self.shutdown_state & SHUTDOWN_SND:
                raise SyscallError(EPIPE)
            if target.closed:
                if target is self.peer:
                    self._set_dgram_peer(None)   # the dead peer is forgotten: the next send is ENOTCONN
                raise SyscallError(ECONNREFUSED)
            if target.shutdown_state & SHUTDOWN_RCV:
                raise SyscallError(EPIPE)
            if target.stype != self.stype:
                raise SyscallError(EPROTOTYPE)
            return target
        if addr is not None and self.stype == SOCK_STREAM:
            raise SyscallError(EISCONN if self.connected else EOPNOTSUPP)
        if not self.connected:
            raise SyscallError(ENOTCONN)
        if flags & MSG_OOB:   # a stream's urgent byte needs a byte to send; a seqpacket has none
            raise SyscallError(EOPNOTSUPP)
        if self.shutdown_state & SHUTDOWN_SND or self.peer is None or self.peer.closed or \
                self.peer.shutdown_state & SHUTDOWN_RCV:
            raise SyscallError(EPIPE)
        return self.peer

    def sendmsg(self, t, data, flags, addr, rights, creds):
        stream = self.stype == SOCK_STREAM
        urgent = stream and flags & MSG_OOB
        if urgent and not data:
            raise SyscallError(EOPNOTSUPP)
        target = self._send_target(t, addr, flags & ~MSG_OOB if stream else flags)
        n = len(data)
        limit = self._limit()
        if not stream and n > limit - 32:
            raise SyscallError(EMSGSIZE)
        room = limit - target.rq_bytes
        if stream:
            if room <= 0:
                raise SyscallError(EAGAIN)
            # MSG_OOB: the last byte goes as the urgent one once the rest is queued and it has room
            n = min(n - 1, room) if urgent else min(n, room)
            urgent = urgent and room > n
        elif n > room and target.rq or \
                self.stype == SOCK_DGRAM and target.peer is not self and _queue_full(target):
            raise SyscallError(EAGAIN)
        if creds is None and (target.passcred or self.passcred):   # explicit SCM_CREDENTIALS always go
            creds = task_creds(t) or self.creds
        sender = None
        if not stream:   # datagram and seqpacket messages carry the sender's name
            if target.passcred and self.name is None and t is not None:
                self.autobind(t)
            sender = self.name
        # Rights are handed over only with the data they travel with (all of it for messages);
        # a stream's send of nothing queues nothing (the caller drops the descriptors).
        if n or not stream:
            target.queue_message(Message(bytes(data[:n]), list(rights) if rights else None, creds, sender))
            rights.clear()   # the message owns those references now
        if not urgent:
            return n
        # The urgent byte: its own message, SIGURG before the readers' wake-up (queue_oob)
        msg = Message(bytes(data[n:n + 1]), list(rights) if rights else None, creds)
        rights.clear()
        target.oob = msg
        target.urgent_signal(t)
        target.queue_message(msg, POLLPRI)
        return n + 1

    def queue_message(self, msg, events=0):
        self.rq.append(msg)
        self.rq_bytes += len(msg.data)
        self.queue.notify(POLLIN | POLLRDNORM | events)

    def urgent_signal(self, t):
        """Urgent data arrived: SIGURG to this socket's file owner (Linux's sk_send_sigurg). A
        connection not yet accepted has no file."""
        f = getattr(self, "description", None)
        if f is not None and t is not None:
            fasync.send_sigurg(t.kernel, f)

    @property
    def oobinline(self) -> bool:
        return self.opts.get(SO_OOBINLINE, FALSE) != FALSE

    def recvmsg(self, t, n, flags, want_addr, copied=False):
        if flags & MSG_OOB and self.stype != SOCK_STREAM:
            if self.stype == SOCK_SEQPACKET and not self.connected:
                raise SyscallError(ENOTCONN)
            raise SyscallError(EOPNOTSUPP)
        if self.listening:
            raise SyscallError(EINVAL)
        if flags & MSG_OOB:
            if not self.connected:
                raise SyscallError(EINVAL)
            return recv_urgent(self, n, flags)
        if self.stype != SOCK_STREAM:
            return self._recv_message(n, bool(flags & MSG_PEEK), want_addr) if self.rq else \
                self._recv_nothing(flags)
        res = read_stream(self, n, flags, copied, want_addr)
        return res if res is not None else self._recv_nothing(flags)

    def recv_more(self, t, n, flags):
        return self.recvmsg(t, n, flags, False, copied=True)

    def _recv_nothing(self, flags):
        """A read of an empty queue: a pending error, EOF or EAGAIN (the caller waits on EAGAIN)."""
        if self.error:
            err, self.error = self.error, 0
            raise SyscallError(err)
        if self.connection_based:
            if not self.connected:
                raise SyscallError(EINVAL if self.stype == SOCK_STREAM else ENOTCONN)
            if self.shutdown_state & SHUTDOWN_RCV or self.peer is None or self.peer.closed:
                return RecvResult(b"")
        elif self.shutdown_state & SHUTDOWN_RCV and not flags & MSG_DONTWAIT:
            return RecvResult(b"")   # EOF for a blocking read; MSG_DONTWAIT still EAGAIN, as Linux
        raise SyscallError(EAGAIN)

    def _recv_message(self, n, peek, want_addr):
        """Datagram and seqpacket: one message, cut to n bytes (MSG_TRUNC)."""
        msg = self.rq[0]
        res = RecvResult(msg.data[:n], len(msg.data), pack_sockaddr_un(msg.addr) if want_addr and msg.addr else None,
                         creds=msg.creds)
        if len(msg.data) > n:
            res.flags |= MSG_TRUNC
        if peek:
            res.rights = [f.inc_ref() for f in msg.rights or ()]
        else:
            self.rq.popleft()
            self.rq_bytes -= len(msg.data)
            res.rights, msg.rights = msg.rights or [], None
            self.freed()
        return res

    def freed(self):
        """Space freed in our queue: writers to us may go on."""
        if self.peer is not None:
            self.peer.queue.notify(POLLOUT | POLLWRNORM)
        self.queue.notify(POLLOUT | POLLWRNORM)

    def shutdown(self, t, how):
        if how not in (SHUT_RD, SHUT_WR, SHUT_RDWR):
            raise SyscallError(EINVAL)
        if self.connection_based and not self.connected:
            raise SyscallError(ENOTCONN)
        mine = {SHUT_RD: SHUTDOWN_RCV, SHUT_WR: SHUTDOWN_SND, SHUT_RDWR: SHUTDOWN_RCV | SHUTDOWN_SND}[how]
        self.shutdown_state |= mine
        self.queue.notify(POLLIN | POLLOUT | POLLHUP | POLLRDHUP)
        peer = self.peer
        if peer is not None and self.connection_based:
            theirs = (SHUTDOWN_SND if mine & SHUTDOWN_RCV else 0) | (SHUTDOWN_RCV if mine & SHUTDOWN_SND else 0)
            peer.shutdown_state |= theirs
            peer.queue.notify(POLLIN | POLLOUT | POLLHUP | POLLRDHUP)

    # --- readiness ------------------------------------------------------------------------------
    def _writable(self) -> bool:
        if self.listening:
            return False
        peer = self.peer
        if peer is None or peer.closed:
            return True
        if self.stype == SOCK_DGRAM and peer.peer is not self and _queue_full(peer):
            return False
        return peer.rq_bytes < self._limit()

    def readiness(self, task, mask):
        ev = 0
        if self.error:
            ev |= POLLERR
        sd = self.shutdown_state
        if self.connection_based and self.connected and (self.peer is None or self.peer.closed):
            sd = SHUTDOWN_RCV | SHUTDOWN_SND
        if sd == SHUTDOWN_RCV | SHUTDOWN_SND:
            ev |= POLLHUP
        if sd & SHUTDOWN_RCV:
            ev |= POLLRDHUP | POLLIN | POLLRDNORM
        if self.rq or self.listening and self.backlog:
            ev |= POLLIN | POLLRDNORM
        if self.oob is not None:
            ev |= POLLPRI
        if self.connection_based and not self.connected and not self.listening:
            ev |= POLLHUP
        if self._writable():
            ev |= POLLOUT | POLLWRNORM | POLLWRBAND
        return ev & (mask | POLLERR | POLLHUP)

    def waitable(self, task):
        return self.queue

    def ioctl(self, task, cmd, arg):
        if cmd == FIONREAD:
            if self.listening:
                raise SyscallError(EINVAL)
            n = self.rq_bytes if self.stype == SOCK_STREAM else (len(self.rq[0].data) if self.rq else 0)
            task.mm.copy_out(arg, INT.pack(n))
            return 0
        if cmd == SIOCATMARK:
            if self.stype != SOCK_STREAM:
                raise SyscallError(EOPNOTSUPP)
            task.mm.copy_out(arg, INT.pack(at_mark(self)))
            return 0
        if cmd == TIOCOUTQ:
            task.mm.copy_out(arg, INT.pack(self.peer.rq_bytes if self.peer is not None else 0))
            return 0
        return super().ioctl(task, cmd, arg)

    # --- options ----------------------------------------------------------------------------------
    def getsockopt(self, t, level, name, optlen):
        if level != SOL_SOCKET:
            raise SyscallError(EOPNOTSUPP)   # AF_UNIX has no protocol-level options at all
        if name == SO_TYPE:
            return INT.pack(self.stype)
        if name == SO_DOMAIN:
            return INT.pack(AF_UNIX)
        if name == SO_PROTOCOL:
            return INT.pack(0)
        if name == SO_ERROR:
            err, self.error = self.error, 0
            return INT.pack(err)
        if name == SO_ACCEPTCONN:
            return INT.pack(int(self.listening))
        if name == SO_PASSCRED:
            return INT.pack(int(self.passcred))
        if name == SO_PEERCRED:
            if not self.peercred:
                return UCRED.pack(0, 0xFFFFFFFF, 0xFFFFFFFF)
            return UCRED.pack(*ucred_seen_by(t, self.peercred))
        if name == SO_SNDBUF:
            return INT.pack(self.sndbuf)
        if name == SO_RCVBUF:
            return INT.pack(self.rcvbuf)
        if name in (SO_RCVTIMEO, SO_SNDTIMEO):
            return self.get_timeout_opt(name)
        if name == SO_LINGER:
            return self.opts.get(name, LINGER.pack(0, 0))
        if name == SO_PEERSEC:
            raise SyscallError(ENOPROTOOPT)
        if name in STORED_FLAGS or name in STORED_VALUES:
            return self.opts.get(name, INT.pack(1 if name in (SO_RCVLOWAT, SO_SNDLOWAT) else
                                                (-1 if name == SO_PEEK_OFF else 0)))
        raise SyscallError(ENOPROTOOPT)

    def setsockopt(self, t, level, name, value):
        if level != SOL_SOCKET:
            raise SyscallError(EOPNOTSUPP)   # AF_UNIX has no protocol-level options at all
        if name in (SO_RCVTIMEO, SO_SNDTIMEO):
            return self.set_timeout_opt(name, value)
        if name == SO_LINGER:
            if len(value) < LINGER.size:
                raise SyscallError(EINVAL)
            self.opts[name] = bytes(value[:LINGER.size])
            return
        if len(value) < 4:
            raise SyscallError(EINVAL)
        v, = INT.unpack_from(value)
        if name == SO_PASSCRED:
            self.passcred = bool(v)
        elif name in (SO_SNDBUF, SO_RCVBUF, SO_SNDBUFFORCE, SO_RCVBUFFORCE):
            # Linux doubles the value (bookkeeping overhead) and clamps it at {w,r}mem_max; the
            # forcing variants, for CAP_NET_ADMIN only, at INT_MAX.
            force = name in (SO_SNDBUFFORCE, SO_RCVBUFFORCE)
            if force and not (t is not None and t.creds.has_cap(CAP_NET_ADMIN)):
                raise SyscallError(EPERM)
            snd = name in (SO_SNDBUF, SO_SNDBUFFORCE)
            v = max(min(max(v, 0), INT_MAX // 2 if force else SOCKBUF_MAX) * 2,
                    SOCK_MIN_SNDBUF if snd else SOCK_MIN_RCVBUF)
            if snd:
                self.sndbuf = v
            else:
                self.rcvbuf = v
            self.queue.notify(POLLOUT)
        elif name in STORED_FLAGS or name in STORED_VALUES:
            if name == SO_MARK and not (t is not None and (t.creds.has_cap(CAP_NET_RAW) or
                                                           t.creds.has_cap(CAP_NET_ADMIN))):
                raise SyscallError(EPERM)
            self.opts[name] = INT.pack(v if name in STORED_VALUES else int(bool(v)))
        else:
            raise SyscallError(ENOPROTOOPT)

    # --- teardown -------------------------------------------------------------------------------------
    def release(self):
        if self.closed:
            return
        self.closed = True
        registry.unregister(self)
        if self.name is not None:
            if self.name[0] == 0:
                if self.netns.abstract.get(self.name) is self:
                    del self.netns.abstract[self.name]
            elif self.bound_inode is not None:
                if _by_inode.get(self.bound_inode) is self:
                    del _by_inode[self.bound_inode]
                self.bound_inode.dec_ref()
                self.bound_inode = None
        while self.backlog:   # connections never accepted: their clients see a reset
            server = self.backlog.popleft()
            if server.peer is not None:
                server.peer.error = ECONNRESET
            server.release()
        for msg in self.rq:
            msg.drop()
        unread = bool(self.rq)
        self.rq.clear()
        self.rq_bytes = 0
        peer = self.peer
        if peer is not None and self.connection_based:
            peer.shutdown_state = SHUTDOWN_RCV | SHUTDOWN_SND
            if unread and self.stype == SOCK_STREAM:
                peer.error = ECONNRESET
            peer.queue.notify(POLLIN | POLLOUT | POLLHUP | POLLRDHUP | POLLERR)
        self.queue.notify(POLLIN | POLLOUT | POLLHUP)


def socketpair(stype: int, creds, ns=ROOT):
    a, b = UnixSocket(stype, creds, ns), UnixSocket(stype, creds, ns)
    a.peer, b.peer = b, a
    a.connected = b.connected = True
    a.peercred = b.peercred = creds
    return a, b
