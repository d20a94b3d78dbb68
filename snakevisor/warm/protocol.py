"""The warm server's socket (where it lives) and its messages; the thin client imports this module
alone, so it may use nothing but os, socket and marshal (built in, or imported by Python anyway).

A message is a 4-byte little-endian length and a marshal'ed value (dicts of ints, bytes and lists:
never code). The request carries the client's standard fds by SCM_RIGHTS on its first bytes.
Client -> server: {"version", "argv"}, then {"signal": N} for each signal the client relays.
Server -> client: {"ok": True} or {"ok": False, "why": str}, then {"exit": code}.
"""
import marshal
import os
import socket

# A server and a client must be the same code: the version names the checkout, not a release.
VERSION = "1 " + os.path.dirname(os.path.abspath(__file__))
MAX_MESSAGE = 4 << 20   # argv is bounded by the kernel's ARG_MAX (2 MiB by default)
STDIO = (0, 1, 2)
SOCKET_ENV = "SNAKEVISOR_WARM_SOCKET"   # overrides the default path (tests use a private one)
IDLE_ENV = "SNAKEVISOR_WARM_IDLE"       # idle timeout (s) of a server the client starts
DEFAULT_IDLE_S = 60.0


class ProtocolError(Exception):
    """The peer closed the connection, or sent what is not a message."""


def default_socket():
    """$SNAKEVISOR_WARM_SOCKET, else /run/snakevisor/warm.sock for root (the state root), else
    $XDG_RUNTIME_DIR/snakevisor/warm.sock (or a per-user directory under /tmp)."""
    path = os.environ.get(SOCKET_ENV)
    if path:
        return os.path.abspath(path)
    if os.geteuid() == 0:
        return "/run/snakevisor/warm.sock"
    base = os.environ.get("XDG_RUNTIME_DIR") or f"/tmp/snakevisor-{os.geteuid()}"
    return os.path.join(base, "snakevisor", "warm.sock")


def answers(path):
    """A server accepts connections on ``path``."""
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.connect(path)
        return True
    except OSError:
        return False
    finally:
        probe.close()


def send_message(sock, value, fds=()):
    """Send one message; ``fds`` ride on its length word."""
    data = marshal.dumps(value)
    head = len(data).to_bytes(4, "little")
    if fds:
        socket.send_fds(sock, [head], list(fds))
    else:
        sock.sendall(head)
    sock.sendall(data)


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
            part, got, _flags, _addr = socket.recv_fds(sock, 4 - len(head), max_fds + 1)
            fds = list(got)
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
