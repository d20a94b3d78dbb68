"""``snakevisor do`` and the OCI verbs when a server answers (``do --warm`` or SNAKEVISOR_WARM=1:
one is started if none does; SNAKEVISOR_WARM=0: never warm): the thin client of the warm server.

It imports only os, sys, the C modules under signal and socket, and protocol.py: no Sentry, no
Gofer, no argparse. It
connects to the server (starting one, detached, if none answers; a stale socket file is the
server's to replace), sends its argv with its standard fds, relays SIGINT, SIGQUIT, SIGTERM,
SIGHUP, SIGWINCH (and ^Z: SIGTSTP, then SIGCONT) to the sandbox, and exits with the sandbox's
exit code. Everything else the cold ``do`` would inherit, the server's session reads from /proc.
When no server can serve it, ``run`` returns None and the caller goes on cold (a ``do``, and an
OCI verb that boots a sandbox, that found none start one for the commands to come). An OCI verb
finds its flags with small tables too (checked against the parser by a test); create, run -d
and exec -d go through a keeper (keeper.py).
"""
import _signal as signal   # the C modules: signal.py and socket.py import enum (~4 ms of a start)
import _socket as socket
import os
import sys
import time

from snakevisor.sandbox import environ
from snakevisor.sandbox.messages import open_stdio
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
    """The exit code of ``snakevisor ARGV`` run warm, or None when it is to run cold: a ``do`` or
    an OCI verb with no server running and neither --warm (``do``) nor SNAKEVISOR_WARM=1 (those
    start one), SNAKEVISOR_WARM=0 (always cold, unless ``do --warm``), or no server could serve it."""
    verb = first_verb(argv)
    if verb is None:
        return None
    if argv[verb] != "do":
        return _try_oci(argv, verb)
    mode = os.environ.get("SNAKEVISOR_WARM")
    explicit = "warm" in _flag_names(argv[verb + 1:], VALUED_DO_FLAGS)
    if mode == "0" and not explicit:
        return None
    # None answers: with --warm, start one and wait for it; else this do runs cold, and a server
    # starts for the next ones.
    return run(argv, explicit, start=True if explicit or mode == "1" else BACKGROUND)


def _try_oci(argv, verb):
    """An OCI verb warm: create, run -d and exec -d through a keeper (warm/keeper.py), the verbs
    that end when their work does (start, kill, delete, state, attached exec, ...) as ``do``.
    With no server answering, it runs cold, and create, run and exec start one (as ``do``)."""
    mode = os.environ.get("SNAKEVISOR_WARM")
    kind = oci_kind(argv[verb], argv[verb + 1:])
    if kind is None or mode == "0":
        return None
    path = protocol.default_socket()
    explicit = mode == "1"
    start = True if explicit else BACKGROUND if argv[verb] in BOOTING_VERBS else False
    if not explicit and not os.path.exists(path):   # no server: cold (no keeper forked for it)
        if start:
            start_in_background(path)
        return None
    if kind == "container":
        from snakevisor.warm.keeper import run_container
        return run_container(argv, path, explicit, start)
    return run(argv, explicit, path=path, start=start)


# The OCI verbs that boot a sandbox: the ones that start a server when none answers.
BOOTING_VERBS = frozenset(("create", "run", "exec"))
# OCI verbs whose work ends with the command, and the flags of exec, run and create that take a
# value: the warm path must know where their container id is, to see their flags.
SIMPLE_OCI_VERBS = frozenset(("start", "kill", "delete", "state", "list", "ps"))
VALUED_EXEC_FLAGS = frozenset(("process", "p", "cwd", "env", "e", "user", "u", "additional-gids", "g",
                               "pid-file", "console-socket", "cap", "c", "process-label", "apparmor",
                               "cgroup", "preserve-fds"))
VALUED_BUNDLE_FLAGS = frozenset(("bundle", "b", "console-socket", "pid-file", "preserve-fds", "pidfd-socket"))
DETACH_FLAGS = frozenset(("d", "detach"))


def oci_kind(verb, rest):
    """How OCI ``verb`` (flags and arguments ``rest``) goes warm: "simple" (as ``do``: the command
    ends with its work), "container" (create, run -d, exec -d: a keeper stands for the container
    or the exec'd process), or None (cold)."""
    if verb in SIMPLE_OCI_VERBS:
        return "simple"
    if verb not in ("exec", "create", "run"):
        return None
    names = _flag_names(rest, VALUED_EXEC_FLAGS if verb == "exec" else VALUED_BUNDLE_FLAGS)
    if verb == "create" or names & DETACH_FLAGS:   # a process of the caller's stands for it
        return "container"
    if verb == "exec" and "pid-file" in names:   # attached: the file names the exec command itself
        return None
    return "simple"


def first_verb(argv):
    """The index of the verb in ``snakevisor ARGV`` (None: none)."""
    return _first_positional(argv, VALUED_GLOBAL_FLAGS)


def _flag_names(argv, valued):
    """The names of the flags before the first positional argument (not their values)."""
    return _scan(argv, valued)[0]


def _first_positional(argv, valued):
    """The index of the first argument that is neither a flag nor a flag's value (None: none)."""
    return _scan(argv, valued)[1]


def _scan(argv, valued):
    """(names of the flags before the first positional argument, its index or None); ``valued``:
    the flags that take the next argument as their value (unless given as --flag=value)."""
    names, skip = set(), False
    for i, a in enumerate(argv):
        if skip:
            skip = False
        elif a == "--":
            return names, i
        elif a.startswith("-") and len(a) > 1:
            name = a.lstrip("-")
            skip = "=" not in name and name in valued
            names.add(name.split("=")[0])
        else:
            return names, i
    return names, None


def run(argv, explicit, path=None, start=True):
    """Run ``snakevisor ARGV`` through the warm server; the exit code, or None to go cold
    (with a one-line note on stderr when --warm was ``explicit``). ``start``: as connect()'s."""
    try:
        conn = connect(path or protocol.default_socket(), start)
    except Unavailable as e:
        note_cold(argv, explicit, e)
        return None
    return serve_through(conn, argv, explicit)


def serve_through(conn, argv, explicit):
    """Have the server on connection ``conn`` run ``snakevisor ARGV``: as run()."""
    try:
        request(conn, argv)
    except Unavailable as e:
        note_cold(argv, explicit, e)
        return None
    code = relay(conn)
    if code is None:
        print("snakevisor: warm: the server went away before the sandbox ended (killed?)", file=sys.stderr)
        return 125
    return code


def note_cold(argv, explicit, why):
    """A warm ``do`` that goes cold says why; an OCI verb does not: engines parse what the
    runtime prints (runc's ps and state, with its stderr)."""
    if explicit and argv[first_verb(argv) or 0] == "do":
        print(f"snakevisor do: --warm: {why}; starting cold", file=sys.stderr)


BACKGROUND = "background"   # connect()'s ``start``: start a server for the commands to come, and go cold


def connect(path, start=True):
    """A connection to the server on ``path``. If none answers (no socket file, or a stale one,
    which the server replaces): ``start`` True starts one and waits for it; BACKGROUND starts
    one without waiting and, as False, raises Unavailable (this command runs cold)."""
    try:
        return _dial(path)
    except OSError:
        if start == BACKGROUND:
            start_in_background(path)
        if start is not True:
            raise Unavailable(f"no server answers on {path}") from None
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
    """A connection to the server on ``path``; OSError if none answers, or if the one that does
    is another user's (our standard fds are not handed to it)."""
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
    try:
        conn.connect(path)
        _, uid = protocol.peer(conn)
        if uid != os.geteuid():
            raise PermissionError(f"the server on {path} is uid {uid}'s")
    except OSError:
        conn.close()
        raise
    return conn


def _start_server(path):
    """Start ``snakevisor server`` for ``path``, detached (its own session, not our child); what
    it said on its ready pipe once listening (b"": it failed)."""
    ready_r, ready_w = os.pipe()
    try:
        _spawn_server(path, ready=ready_w)
    finally:
        os.close(ready_w)
    return read_all(ready_r)   # EOF once the server has said it, or has died


def start_in_background(path):
    """Start a server on ``path`` for the ``do`` commands to come, without waiting for it; none if
    one is starting or running already (it holds PATH.lock). The lock is taken here and handed to
    the server, so that many clients starting at once start one server between them."""
    import fcntl
    try:
        os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
        lock = os.open(path + ".lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW, 0o600)
    except OSError:
        return
    try:
        if os.fstat(lock).st_uid != os.geteuid():
            return
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        _spawn_server(path, lock=lock)
    except OSError:   # held: a server runs or is starting
        pass
    finally:
        os.close(lock)


def _spawn_server(path, **fds):
    """Exec ``snakevisor server`` for ``path`` in a grandchild in its own session (not our child),
    with /dev/null as stdio and ``fds`` (ready=, lock=: our descriptors) as --ready-fd, --lock-fd."""
    pkg_parent = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (pkg_parent, env.get("PYTHONPATH")) if p)
    env.pop("SNAKEVISOR_WARM", None)
    idle = os.environ.get(protocol.IDLE_ENV) or str(protocol.DEFAULT_IDLE_S)
    argv = [sys.executable, "-S", "-m", "snakevisor", "server", "--socket", path, "--idle-timeout", idle]
    numbered = {}   # the server's descriptor numbers: 3, 4, ... in argument order
    for n, (name, fd) in enumerate(fds.items(), 3):
        argv.append(f"--{name}-fd={n}")
        numbered[n] = fd
    pid = os.fork()
    if pid == 0:
        try:
            os.setsid()
            if os.fork() == 0:
                os.chdir("/")
                null = os.open(os.devnull, os.O_RDWR)
                for fd in protocol.STDIO:
                    os.dup2(null, fd)
                for n, fd in numbered.items():
                    os.dup2(fd, n)
                    os.set_inheritable(n, True)   # the fds the server keeps from us (dup2 to itself keeps CLOEXEC)
                from snakevisor.hostos.libc import close_fds_except   # (here only: the client stays light)
                close_fds_except(numbered, lowest=3)
                os.execve(sys.executable, argv, env)
        finally:
            os._exit(127)
    os.waitpid(pid, 0)


def read_all(fd):
    """What is written to pipe ``fd`` until its writers close it; ``fd`` is closed."""
    try:
        chunks = []
        while True:
            chunk = os.read(fd, 64)
            if not chunk:
                return b"".join(chunks)
            chunks.append(chunk)
    finally:
        os.close(fd)


def request(conn, argv, container=False):
    """Send the request with our standard fds; Unavailable if the server refuses it.
    ``container``: from a keeper (warm/keeper.py): create, run -d or exec -d."""
    stdio = open_stdio()
    try:
        protocol.send_message(conn, {"version": protocol.VERSION, "argv": [os.fsencode(a) for a in argv],
                                     "stdio": stdio, "container": container,
                                     "ignored": environ.ignored_signals()}, fds=stdio)
        reply, _ = protocol.recv_message(conn)
    except (OSError, protocol.ProtocolError) as e:
        conn.close()
        raise Unavailable(f"the server closed the connection ({e})") from None
    if not reply.get("ok"):
        conn.close()
        raise Unavailable(f"the server refused: {reply.get('why')}")


def relay(conn, stop=True):
    """Relay our signals until the sandbox's exit code arrives; return it (None: the server
    went away). ``stop``: ^Z stops the sandbox, then us (a keeper has no terminal)."""
    def relay_one(signum, _frame):
        _send_signal(conn, signum)

    def stop_both(signum, _frame):   # ^Z: the sandbox stops, then we do; fg continues both
        _send_signal(conn, signal.SIGTSTP)
        signal.signal(signal.SIGTSTP, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGTSTP)
        signal.signal(signal.SIGTSTP, stop_both)
        _send_signal(conn, signal.SIGCONT)
    for sig in RELAYED:
        signal.signal(sig, relay_one)
    if stop:
        signal.signal(signal.SIGTSTP, stop_both)
    try:
        reply, _ = protocol.recv_message(conn)
        return int(reply["exit"])
    except (OSError, protocol.ProtocolError, KeyError, TypeError, ValueError):
        return None


def _send_signal(conn, signum):
    try:
        protocol.send_message(conn, {"signal": int(signum)})
    except OSError:
        pass
