"""The warm server's socket (where it lives) and its messages; the thin client imports this module
alone (and sandbox/messages.py's framing), so it may use nothing but os, marshal and the C socket
module (socket.py's enum and selectors are ~4 ms of the client's start).

A message is sandbox/messages.py's: a 4-byte little-endian length and a marshal'ed value (dicts of
ints, bytes and lists: never code). The request carries the client's standard fds by SCM_RIGHTS on its first bytes.
Client -> server: {"version", "argv"}, then {"signal": N} for each signal the client relays.
Server -> client: {"ok": True} or {"ok": False, "why": str}, then {"exit": code}.
"""
import _socket
import os

from snakevisor.sandbox.messages import MAX_MESSAGE, ProtocolError, peer, recv_message, send_message

__all__ = ["MAX_MESSAGE", "ProtocolError", "recv_message", "send_message", "default_socket", "answers", "peer", "server_pid",
           "VERSION", "STDIO", "SOCKET_ENV", "IDLE_ENV", "DEFAULT_IDLE_S"]

# A server and a client must be the same code: the version names the checkout, not a release.
VERSION = "1 " + os.path.dirname(os.path.abspath(__file__))
STDIO = (0, 1, 2)
SOCKET_ENV = "SNAKEVISOR_WARM_SOCKET"   # overrides the default path (tests use a private one)
IDLE_ENV = "SNAKEVISOR_WARM_IDLE"       # idle timeout (s) of a server the client starts
DEFAULT_IDLE_S = 60.0


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


def server_pid(path):
    """The pid PATH.lock holds: the server that serves ``path`` (or served it last), or None."""
    try:
        with open(path + ".lock", "rb") as f:
            return int(f.read()) or None
    except (OSError, ValueError):
        return None


def answers(path):
    """A server accepts connections on ``path``."""
    probe = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM | _socket.SOCK_CLOEXEC)
    try:
        probe.connect(path)
        return True
    except OSError:
        return False
    finally:
        probe.close()


