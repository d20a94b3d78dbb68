"""sockfs: socket files — the SocketImpl interface every family implements, and socket file creation.

A socket is a FileDescriptionImpl on the anonymous sockfs mount, named
"socket:[ino]". ``SocketImpl`` fixes the operations the socket syscalls call
(bind, listen, accept, connect, sendmsg, recvmsg, shutdown, names, options);
read(2)/write(2) map onto recvmsg/sendmsg. Operations raise EAGAIN when they
would block and the syscall layer waits on ``wait_target()``. Families:
net/unix.py (in the Sentry) and net/inet.py (host sockets).
"""
from dataclasses import dataclass, field

from snakevisor.abi.errno import EDOM, EINVAL, ENOPROTOOPT, ENXIO, EOPNOTSUPP, SyscallError
from snakevisor.abi.fs import O_NONBLOCK, O_RDWR, S_IFSOCK, SOCKFS_MAGIC
from snakevisor.abi.poll import POLLIN, POLLOUT
from snakevisor.abi.socket import SO_RCVTIMEO, TIMEVAL
from snakevisor.abi.time import S64_MAX, USEC
from snakevisor.sentry.fsimpl.anon import new_anon_file, shared_anon_filesystem
from snakevisor.sentry.net import registry
from snakevisor.sentry.vfs.file import FileDescriptionImpl
from snakevisor.sentry.vfs.inode import Inode


@dataclass
class RecvResult:
    data: bytes
    full_len: int = -1           # the datagram's real length (MSG_TRUNC); -1: len(data)
    addr: bytes | None = None    # packed sockaddr of the sender, if any
    rights: list = field(default_factory=list)   # FileDescriptions (SCM_RIGHTS), references owned
    creds: tuple | None = None   # (pid, uid, gid) (SCM_CREDENTIALS)
    flags: int = 0               # MSG_* out flags (MSG_TRUNC, MSG_EOR...)
    control: bytes = b""         # already-packed control messages (host sockets)


_socket_module = None


def _socket_calls():
    """syscalls/socket.py, which imports this module: imported at first use, then kept (read and
    write on a socket come through it; an import statement per call cost more)."""
    global _socket_module
    if _socket_module is None:
        from snakevisor.sentry.syscalls import socket
        _socket_module = socket
    return _socket_module


class SocketImpl(FileDescriptionImpl):
    """The operations of a socket; families override what they support."""

    seekable = False
    family = 0
    stype = 0
    protocol = 0
    sigpipe_on_epipe = True   # write(2) on a socket raises SIGPIPE with EPIPE
    # SO_RCVTIMEO/SO_SNDTIMEO in microseconds: None waits forever, 0 never waits.
    rcvtimeo = sndtimeo = None

    @property
    def blocking_write_all(self) -> bool:
        """A blocking write(2) on a stream socket returns once everything is queued."""
        return self.stype == 1   # SOCK_STREAM

    def bind(self, t, addr: bytes) -> None:
        raise SyscallError(EOPNOTSUPP)

    def listen(self, t, backlog: int) -> None:
        raise SyscallError(EOPNOTSUPP)

    def accept(self, t):
        """(new SocketImpl, peer address bytes) or EAGAIN."""
        raise SyscallError(EOPNOTSUPP)

    def connect(self, t, addr: bytes) -> None:
        raise SyscallError(EOPNOTSUPP)

    def connect_finish(self, t) -> None:
        """After a blocking connect waited for POLLOUT: raise the connection's error, if any."""

    def sendmsg(self, t, data, flags: int, addr: bytes | None, rights: list, creds) -> int:
        raise SyscallError(EOPNOTSUPP)

    def recvmsg(self, t, n: int, flags: int, want_addr: bool) -> RecvResult:
        raise SyscallError(EOPNOTSUPP)

    def recv_more(self, t, n: int, flags: int) -> RecvResult:
        """A later step of a stream read that has taken bytes already (MSG_WAITALL, a read larger
        than one step): AF_UNIX stops it at an urgent byte's mark, which a first step would pass."""
        return self.recvmsg(t, n, flags, False)

    def shutdown(self, t, how: int) -> None:
        raise SyscallError(EOPNOTSUPP)

    def blocked_recv_result(self):
        """What a recv that found nothing returns instead of blocking (None: it blocks)."""
        return None

    def getsockname(self, t) -> bytes:
        raise SyscallError(EOPNOTSUPP)

    def getpeername(self, t) -> bytes:
        raise SyscallError(EOPNOTSUPP)

    def getsockopt(self, t, level: int, name: int, optlen: int) -> bytes:
        raise SyscallError(ENOPROTOOPT)

    def setsockopt(self, t, level: int, name: int, value: bytes) -> None:
        raise SyscallError(ENOPROTOOPT)

    def wait_target(self, task, op: str):
        """(waitable, events) to wait on when ``op`` ("send", "recv", "accept", "connect") got EAGAIN."""
        return self.waitable(task), (POLLOUT if op in ("send", "connect") else POLLIN)

    def timeout(self, op: str):
        """SO_RCVTIMEO/SO_SNDTIMEO in seconds (None: wait forever)."""
        usec = self.rcvtimeo if op in ("recv", "accept") else self.sndtimeo
        return None if usec is None else usec / USEC

    def set_timeout_opt(self, name: int, value: bytes) -> None:
        """setsockopt SO_RCVTIMEO/SO_SNDTIMEO as Linux's sock_set_timeout: a negative time means
        "never wait", zero or one too long for a jiffies count (MAX_SCHEDULE_TIMEOUT/HZ, taken
        with HZ=1000) "forever"."""
        if len(value) < TIMEVAL.size:
            raise SyscallError(EINVAL)
        sec, usec = TIMEVAL.unpack_from(value)
        if not 0 <= usec < USEC:
            raise SyscallError(EDOM)
        if sec < 0:
            usec = 0
        elif (sec == 0 and usec == 0) or sec >= S64_MAX // 1000 - 1:
            usec = None
        else:
            usec += sec * USEC
        if name == SO_RCVTIMEO:
            self.rcvtimeo = usec
        else:
            self.sndtimeo = usec

    def get_timeout_opt(self, name: int) -> bytes:
        usec = (self.rcvtimeo if name == SO_RCVTIMEO else self.sndtimeo) or 0
        return TIMEVAL.pack(*divmod(usec, USEC))

    # read(2)/write(2)/readv/writev come here (syscalls/file.py): recv/send without flags or
    # address (sock_read_iter), so SO_RCVTIMEO/SO_SNDTIMEO, SIGPIPE and a host socket's direct
    # path are theirs too.
    def task_read(self, t, f, vecs):
        return _socket_calls().socket_read(t, f, self, vecs)

    def task_write(self, t, f, vecs):
        return _socket_calls().socket_write(t, f, self, vecs)

    def read(self, task, n, offset):
        if n == 0:
            return b""   # sock_read_iter: a read of nothing returns at once, taking no message
        return self.recvmsg(None, n, 0, False).data

    def send_empty(self, t, f):
        """write(2) of 0 bytes: still a send (a 0-byte datagram on a message socket, sock_write_iter)."""
        return _socket_calls().socket_write(t, f, self, [])

    def write(self, task, data, offset):
        return self.sendmsg(None, data, 0, None, [], None)

    def ioctl(self, task, cmd, arg):
        # Network-device queries (SIOCGIF*) work on a socket of any family, as on Linux.
        from snakevisor.sentry.net.inet import interface_ioctl
        return interface_ioctl(task, cmd, arg, getattr(self, "netns", None))


class SocketInode(Inode):
    def open(self, task, flags: int):
        raise SyscallError(ENXIO)   # sock_no_open: /proc/PID/fd/N of a socket does not reopen it


sockfs = shared_anon_filesystem("sockfs", SOCKFS_MAGIC)


def new_socket_file(impl: SocketImpl, nonblock: bool = False, uid: int = 0, gid: int = 0):
    """A FileDescription (refs=1) for socket ``impl`` on sockfs ("socket:[ino]")."""
    fs = sockfs()
    inode = SocketInode(fs, S_IFSOCK | 0o777, uid=uid, gid=gid)
    impl.inode = inode
    registry.register(impl)   # for /proc/net; the family's release unregisters it
    return new_anon_file(fs, inode, f"socket:[{inode.ino}]".encode(), impl,
                         O_RDWR | (O_NONBLOCK if nonblock else 0))


def socket_of(f) -> SocketImpl:
    from snakevisor.abi.errno import ENOTSOCK
    if not isinstance(f.impl, SocketImpl):
        raise SyscallError(ENOTSOCK)
    return f.impl
