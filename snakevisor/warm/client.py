"""``snakevisor do --warm`` (or SNAKEVISOR_WARM=1): the thin client of the warm server.

It imports only os, sys, signal, socket and protocol.py: no Sentry, no Gofer, no argparse. It
connects to the server (starting one, detached, if none answers; a stale socket file is the
server's to replace), sends its argv with its standard fds, relays SIGINT, SIGQUIT, SIGTERM,
SIGHUP, SIGWINCH (and ^Z: SIGTSTP, then SIGCONT) to the sandbox, and exits with the sandbox's
exit code. Everything else the cold ``do`` would inherit, the server's session reads from /proc.
When no server can serve it, ``run`` returns None and the caller goes on cold.
"""
import os
import signal
import socket
import sys
import time

from snakevisor.warm import protocol

START_TIMEOUT_S = 30.0   # a server imports everything first: slow on a loaded machine
RELAYED = (signal.SIGINT, signal.SIGQUIT, signal.SIGTERM, signal.SIGHUP, signal.SIGWINCH)
# The flags that take a value, globally and of ``do``: the verb and --warm are found without the
# CLI's parser (a test checks these against cli/main.py's parser).
VALUED_GLOBAL_FLAGS = frozenset(("root", "log", "log-format", "platform", "network", "rootless", "criu", "directfs",
                                 "overlay2"))
VALUED_DO_FLAGS = frozenset(("cwd", "cpu", "hostname", "platform", "volume", "v", "rootfs", "overlay-upper", "overlay2",
                             "network", "net", "pids-limit", "memory", "m", "tmpfs-size", "directfs"))


class Unavailable(Exception):
    """No server serves this client; str: why (one line)."""


def try_warm(argv):
    """The exit code of ``snakevisor ARGV`` run warm, or None when it is to run cold: not a
    ``do``, neither --warm nor SNAKEVISOR_WARM=1, or no server could serve it."""
    verb = _first_positional(argv, VALUED_GLOBAL_FLAGS)
    if verb is None or argv[verb] != "do":
        return None
    end = _first_positional(argv[verb + 1:], VALUED_DO_FLAGS)
    do_flags = argv[verb + 1:][:end]
    explicit = "--warm" in do_flags or "-warm" in do_flags
    if not explicit and os.environ.get("SNAKEVISOR_WARM") != "1":
        return None
    return run(argv, explicit)


def _first_positional(argv, valued):
    """The index of the first argument that is neither a flag nor a flag's value (None: none)."""
    skip = False
    for i, a in enumerate(argv):
        if skip:
            skip = False
        elif a == "--":
            return i
        elif a.startswith("-") and len(a) > 1:
            name = a.lstrip("-")
            skip = "=" not in name and name in valued
        else:
            return i
    return None


def run(argv, explicit):
    """Run ``snakevisor ARGV`` through the warm server; the exit code, or None to go cold
    (with a one-line note on stderr when --warm was ``explicit``)."""
    try:
        conn = _connect(protocol.default_socket())
        _request(conn, argv)
    except Unavailable as e:
        if explicit:
            print(f"snakevisor do: --warm: {e}; starting cold", file=sys.stderr)
        return None
    return _relay(conn)


def _connect(path):
    try:
        return _dial(path)
    except OSError:
        pass
    word = _start_server(path)
    if not word:
        raise Unavailable(f"the server for {path} failed to start")
    give_up = time.monotonic() + START_TIMEOUT_S
    while True:   # b"other": a server that was starting too may not listen yet
        try:
            return _dial(path)
        except OSError as e:
            if time.monotonic() > give_up:
                raise Unavailable(f"no server answers on {path} ({e.strerror})") from None
            time.sleep(0.01)


def _dial(path):
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
    try:
        conn.connect(path)
    except OSError:
        conn.close()
        raise
    return conn


def _start_server(path):
    """Start ``snakevisor server`` for ``path``, detached (its own session, not our child); what
    it said on its ready pipe once listening (b"": it failed)."""
    pkg_parent = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (pkg_parent, env.get("PYTHONPATH")) if p)
    env.pop("SNAKEVISOR_WARM", None)
    idle = os.environ.get(protocol.IDLE_ENV) or str(protocol.DEFAULT_IDLE_S)
    ready_r, ready_w = os.pipe()
    argv = [sys.executable, "-m", "snakevisor", "server", "--socket", path, "--idle-timeout", idle,
            "--ready-fd", "3"]
    pid = os.fork()
    if pid == 0:
        try:
            os.setsid()
            if os.fork() == 0:
                os.chdir("/")
                null = os.open(os.devnull, os.O_RDWR)
                for fd in protocol.STDIO:
                    os.dup2(null, fd)
                os.dup2(ready_w, 3)   # inheritable: the one fd the server keeps from us
                os.closerange(4, 1 << 16)
                os.execve(sys.executable, argv, env)
        finally:
            os._exit(127)
    os.close(ready_w)
    os.waitpid(pid, 0)
    try:
        chunks = []
        while True:
            chunk = os.read(ready_r, 16)   # EOF once the server has said it, or has died
            if not chunk:
                return b"".join(chunks)
            chunks.append(chunk)
    finally:
        os.close(ready_r)


def _request(conn, argv):
    """Send the request with our standard fds; Unavailable if the server refuses it."""
    stdio = [fd for fd in protocol.STDIO if _is_open(fd)]
    try:
        protocol.send_message(conn, {"version": protocol.VERSION, "argv": [os.fsencode(a) for a in argv],
                                     "stdio": stdio}, fds=stdio)
        reply, _ = protocol.recv_message(conn)
    except (OSError, protocol.ProtocolError) as e:
        conn.close()
        raise Unavailable(f"the server closed the connection ({e})") from None
    if not reply.get("ok"):
        conn.close()
        raise Unavailable(f"the server refused: {reply.get('why')}")


def _is_open(fd):
    try:
        os.fstat(fd)
        return True
    except OSError:
        return False


def _relay(conn):
    """Relay our signals until the sandbox's exit code arrives; return it."""
    def relay(signum, _frame):
        _send_signal(conn, signum)

    def stop(signum, _frame):   # ^Z: the sandbox stops, then we do; fg continues both
        _send_signal(conn, signal.SIGTSTP)
        signal.signal(signal.SIGTSTP, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGTSTP)
        signal.signal(signal.SIGTSTP, stop)
        _send_signal(conn, signal.SIGCONT)
    for sig in RELAYED:
        signal.signal(sig, relay)
    signal.signal(signal.SIGTSTP, stop)
    try:
        reply, _ = protocol.recv_message(conn)
        return int(reply["exit"])
    except (OSError, protocol.ProtocolError, KeyError, TypeError, ValueError):
        print("snakevisor do: --warm: the server went away before the sandbox ended (killed?)", file=sys.stderr)
        return 125


def _send_signal(conn, signum):
    try:
        protocol.send_message(conn, {"signal": int(signum)})
    except OSError:
        pass
