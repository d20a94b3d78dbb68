"""sock_diag for AF_UNIX (net/unix/diag.c): a dump of the namespace's Unix sockets by state, or one
socket by inode number, with the attributes udiag_show asks for (name, bound file, peer, pending
connections, queue lengths, memory, uid) and the shutdown state. Connections not yet accepted
have no inode and are not listed (Linux skips them too), only counted in their listener's icons.

Also what /proc/net/unix shows of a socket's state: ``peer_counts`` and ``sk_state``."""
from collections import Counter

from snakevisor.abi import sock_diag as D
from snakevisor.abi.errno import EINVAL, ENOENT, ESTALE, SyscallError
from snakevisor.abi.socket import AF_UNIX
from snakevisor.sentry.kernel.userns import id_in
from snakevisor.sentry.net.registry import live_sockets


def peer_counts(socks) -> Counter:
    """How many sockets (connections queued for accept too) have each socket (by id) as their peer."""
    embryos = [e for s in socks if s.listening for e in s.backlog]
    return Counter(id(p.peer) for p in list(socks) + embryos if p.peer)


def sk_state(s, pointed: Counter) -> int:
    """The socket's sk_state: LISTEN, ESTABLISHED once connected (a datagram socket with a peer, or
    one another has connected to: unix_dgram_connect makes both ends so), else CLOSE."""
    if s.listening:
        return D.TCP_LISTEN
    if s.connection_based:
        return D.TCP_ESTABLISHED if s.connected else D.TCP_CLOSE
    return D.TCP_ESTABLISHED if s.peer is not None or pointed[id(s)] else D.TCP_CLOSE


def unix_sockets(ns) -> list:
    from snakevisor.sentry.net.unix import UnixSocket
    return [s for s in live_sockets() if isinstance(s, UnixSocket) and not s.closed and s.netns is ns]


def _kernel_dev(dev: int) -> int:
    """A stat st_dev (new_encode_dev) as the kernel's dev_t (MKDEV: major << 20 | minor)."""
    major, minor = (dev >> 8) & 0xFFF, (dev & 0xFF) | ((dev >> 12) & 0xFFF00)
    return major << 20 | minor


def _rqlen(s) -> tuple[int, int]:
    if s.listening:
        return len(s.backlog), s.max_backlog
    if s.connection_based:
        inq = s.rq_bytes
    else:
        inq = len(s.rq[0].data) if s.rq else 0
    peer = s.peer
    return inq, peer.rq_bytes if peer is not None and not peer.closed else 0


def _attrs(s, show: int, creds) -> list:
    """(type, payload) of the attributes ``show`` asks for, in sk_diag_fill's order."""
    out = []
    if show & D.UDIAG_SHOW_NAME and s.name is not None:
        out.append((D.UNIX_DIAG_NAME, s.name if s.name[0] == 0 else s.name + b"\0"))
    vfs = getattr(s, "vfs_inode", None)
    if show & D.UDIAG_SHOW_VFS and vfs is not None:
        out.append((D.UNIX_DIAG_VFS, D.UNIX_DIAG_PAIR.pack(vfs.ino, _kernel_dev(vfs.fs.dev))))
    if show & D.UDIAG_SHOW_PEER and s.peer is not None and not s.peer.closed:
        out.append((D.UNIX_DIAG_PEER, _ino(s.peer).to_bytes(4, "little")))
    if show & D.UDIAG_SHOW_ICONS and s.listening:
        out.append((D.UNIX_DIAG_ICONS, b"".join(_ino(e.peer).to_bytes(4, "little") for e in s.backlog)))
    if show & D.UDIAG_SHOW_RQLEN:
        out.append((D.UNIX_DIAG_RQLEN, D.UNIX_DIAG_PAIR.pack(*_rqlen(s))))
    if show & D.UDIAG_SHOW_MEMINFO:
        inq, outq = (0, 0) if s.listening else _rqlen(s)
        out.append((D.UNIX_DIAG_MEMINFO, b"".join(n.to_bytes(4, "little") for n in
                                                   (inq, s.rcvbuf, outq, s.sndbuf, 0, 0, 0, 0, 0))))
    out.append((D.UNIX_DIAG_SHUTDOWN, bytes([s.shutdown_state & 3])))
    if show & D.UDIAG_SHOW_UID:
        out.append((D.UNIX_DIAG_UID, id_in(creds, s.inode.uid).to_bytes(4, "little")))
    return out


def _ino(s) -> int:
    """sock_i_ino: 0 for a socket with no file (a connection not yet accepted)."""
    inode = getattr(s, "inode", None) if s is not None else None
    return inode.ino if inode is not None else 0


def _message(s, state: int, show: int, creds, cookie_of) -> tuple[bytes, list]:
    body = D.UNIX_DIAG_MSG.pack(AF_UNIX, s.stype, state, 0, s.inode.ino, *cookie_of(s))
    return body, _attrs(s, show, creds)


def unix_request(req: bytes, dump: bool, ns, creds, cookie_of) -> list:
    """The answers (body, attributes) to a unix_diag_req; a request for one socket (not a dump)
    names it by inode number: EINVAL for 0, ENOENT if none in this namespace, ESTALE for a cookie
    that is not its."""
    if len(req) < D.UNIX_DIAG_REQ.size:
        raise SyscallError(EINVAL)
    _, _, _, states, ino, show, c0, c1 = D.UNIX_DIAG_REQ.unpack_from(req)
    socks = unix_sockets(ns)
    pointed = peer_counts(socks)
    if dump:
        return [_message(s, st, show, creds, cookie_of) for s in socks
                if states & (1 << (st := sk_state(s, pointed)))]
    if ino == 0:
        raise SyscallError(EINVAL)
    s = next((s for s in socks if s.inode.ino == ino), None)
    if s is None:
        raise SyscallError(ENOENT)
    if (c0, c1) != (D.INET_DIAG_NOCOOKIE, D.INET_DIAG_NOCOOKIE) and (c0, c1) != cookie_of(s):
        raise SyscallError(ESTALE)
    return [_message(s, sk_state(s, pointed), show, creds, cookie_of)]
