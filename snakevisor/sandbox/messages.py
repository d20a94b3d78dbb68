"""Messages between snakevisor's own processes over a stream socket: a 4-byte little-endian length
and a marshal'ed value (dicts of ints, bytes, strs and lists: never code), with descriptors by
SCM_RIGHTS on the length word. The warm server's protocol (warm/protocol.py) and the hand-over of a
command to a booted sandbox process (sandbox/do.py) speak it. Light: os, marshal, struct and the C
socket module only (the warm client imports it; socket.py's enum and selectors cost it ~4 ms).
"""
import _socket
import marshal
import os
import struct

MAX_MESSAGE = 4 << 20   # argv is bounded by the kernel's ARG_MAX (2 MiB by default)


class ProtocolError(Exception):
    """The peer closed the connection, or sent what is not a message."""


def peer(sock):
    """(pid, uid) of the process at the other end of Unix socket ``sock`` (SO_PEERCRED: for a
    socketpair, the process that made it), the pid as our PID namespace sees it."""
    cred = sock.getsockopt(_socket.SOL_SOCKET, _socket.SO_PEERCRED, 12)   # struct ucred: pid, uid, gid
    return int.from_bytes(cred[:4], "little", signed=True), int.from_bytes(cred[4:8], "little")


def send_message(sock, value, fds=()):
    """Send one message; ``fds`` ride on its length word."""
    data = marshal.dumps(value)
    head = len(data).to_bytes(4, "little")
    if fds:
        sock.sendmsg([head], [(_socket.SOL_SOCKET, _socket.SCM_RIGHTS, struct.pack(f"{len(fds)}i", *fds))])
    else:
        sock.sendall(head)
    sock.sendall(data)


def _recv_fds(sock, size, max_fds):
    """(data, descriptors) of one recvmsg of at most ``size`` bytes and ``max_fds`` descriptors."""
    fds = []
    data, ancillary, _flags, _addr = sock.recvmsg(size, _socket.CMSG_LEN(max_fds * 4))
    for level, kind, payload in ancillary:
        if level == _socket.SOL_SOCKET and kind == _socket.SCM_RIGHTS:
            fds += struct.unpack(f"{len(payload) // 4}i", payload[:len(payload) - len(payload) % 4])
    return data, fds


def _recv_exactly(sock, n):
    chunks = []
    while n:
        chunk = sock.recv(min(n, 1 << 16))
        if not chunk:
            raise ProtocolError("connection closed")
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)


def recv_message(sock, max_fds=0):
    """(value, fds) of the next message; at most ``max_fds`` fds are kept (more are closed)."""
    head, fds = b"", []
    while len(head) < 4:
        if max_fds and not fds:
            part, fds = _recv_fds(sock, 4 - len(head), max_fds + 1)
        else:
            part = sock.recv(4 - len(head))
        if not part:
            _close_all(fds)
            raise ProtocolError("connection closed")
        head += part
    if len(fds) > max_fds:
        _close_all(fds[max_fds:])
        fds = fds[:max_fds]
    size = int.from_bytes(head, "little")
    try:
        if size > MAX_MESSAGE:
            raise ProtocolError(f"message of {size} bytes (at most {MAX_MESSAGE})")
        try:
            return marshal.loads(_recv_exactly(sock, size)), fds
        except (EOFError, ValueError, TypeError) as e:
            raise ProtocolError(f"bad message: {e}") from None
    except ProtocolError:
        _close_all(fds)
        raise


def _close_all(fds):
    for fd in fds:
        os.close(fd)


def open_stdio():
    """Which of this process's standard fds (0-2) are open: what a request passes on."""
    out = []
    for fd in (0, 1, 2):
        try:
            os.fstat(fd)
            out.append(fd)
        except OSError:
            pass
    return out
