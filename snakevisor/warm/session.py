"""One warm request, in a fork of the server: check the client, become its ``do`` process.

The session takes on what a cold ``do`` process would have inherited from the client: its standard
fds (by SCM_RIGHTS), working directory, umask, rlimits, CPU affinity, niceness, environment; then forks the ``do`` process,
which ignores the signals the client ignores (the client says which), closes every other fd and
runs the cold CLI with the client's argv. What it cannot take on
(another user, other groups, other namespaces, other cgroups or root) is refused, and the client
starts cold.
"""
import os
import resource
import select
import signal
import sys

from snakevisor.abi.resource import RLIM_NLIMITS
from snakevisor.hostos.libc import become_subreaper, close_fds_except, die_with_parent, kill_and_reap
from snakevisor.sandbox import environ, gofer_zygote
from snakevisor.sandbox.do import RELAYED, install_stdio, wait_status_to_exit_code
from snakevisor.warm.protocol import STDIO, VERSION, ProtocolError, peer, recv_message, send_message

NAMESPACES = ("mnt", "net", "pid", "uts", "ipc", "user", "cgroup")
STOP_SIGNALS = (signal.SIGTSTP, signal.SIGCONT)   # the client's ^Z and fg: see _relay


class Refused(Exception):
    """This session cannot stand in for a cold ``do`` of that client; str: why (one line)."""


def start_session():
    """A fork of the server becomes a session."""
    die_with_parent()   # the server killed: every session, and so every sandbox, ends
    os.setsid()         # no terminal of the server's: its ^C is not the sandboxes'
    for sig in (signal.SIGTERM, signal.SIGHUP):   # as a fresh interpreter has them (the cold do)
        signal.signal(sig, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)


def run_session(conn, learn_fd, spare=None):
    """Serve the connection ``conn`` (start_session() done); the session's exit code. ``learn_fd``:
    the channel on which the server learns how its next spare is to boot (warm/spare.py's tell);
    ``spare``: warm/spare.py's SpareDo, a booted sandbox that may serve it."""
    try:
        peer = _peer(conn)
    except Refused:   # another user: not a word
        return 1
    try:
        request, fds = recv_message(conn, max_fds=len(STDIO))
        if request.get("version") != VERSION:
            raise Refused("the server runs other code")
        _adopt_stdio(request.get("stdio", []), fds)
        _adopt_caller(peer)
        argv = [os.fsdecode(a) for a in request["argv"]]
        send_message(conn, {"ok": True})
    except Refused as e:
        send_refusal(conn, str(e))
        return 1
    except (ProtocolError, OSError, KeyError, TypeError):
        return 1
    if request.get("container"):
        if spare is not None:
            spare.take(None)
        return _serve_container(conn, argv, peer)
    ignored = [int(s) for s in request.get("ignored", ())]   # the signals the client ignores
    pid = _spared(argv, spare, learn_fd, ignored)
    if pid is None:
        pid = os.fork()
        if pid == 0:
            _do_process(conn, argv, ignored=ignored)
    _quiet_stdio()
    code = _relay(conn, pid)
    if code is not None:
        _send_quietly(conn, {"exit": code})
    return 0


def _spared(argv, spare, learn_fd, ignored):
    """The spare ``do`` process running ``argv``'s command, or None (a fresh one is to be forked);
    the server is told how ``argv`` boots."""
    from snakevisor.warm import spare as spares
    found = spares.plan(argv)
    if found is not None and found[2] is not None:   # a do a spare can boot
        spares.tell(learn_fd, found[2])
    return spare.take(found, ignored) if spare is not None else None


def send_refusal(conn, why):
    """Tell a client this server will not serve it (it runs cold)."""
    _send_quietly(conn, {"ok": False, "why": why})


def _send_quietly(conn, value):
    try:
        send_message(conn, value)
    except OSError:   # the client is gone
        pass


def _peer(conn):
    """The client's pid; Refused if it is not the server's user."""
    pid, uid = peer(conn)
    if uid != os.geteuid() or pid <= 0:
        raise Refused(f"uid {uid} is not the server's")
    return pid


def _adopt_stdio(present, fds):
    """The client's fds 0-2 become ours; the ones it has closed are closed here too."""
    present = [fd for fd in present if fd in STDIO]
    if len(present) != len(fds):
        for fd in fds:
            os.close(fd)
        raise Refused("standard fds missing from the request")
    install_stdio(present, fds)


def _status(pid):
    with open(f"/proc/{pid}/status") as f:
        return {k: v.strip() for k, v in (line.split(":", 1) for line in f if ":" in line)}


def _read(path):
    with open(path, "rb") as f:
        return f.read()


def _adopt_caller(pid):
    """The client's credentials, namespaces, cgroups and root must be ours; its working directory,
    umask, rlimits, CPU affinity, niceness and environment become ours."""
    try:
        status = _status(pid)
        if status["Gid"].split()[1] != str(os.getegid()) or \
                sorted(map(int, status["Groups"].split())) != sorted(os.getgroups()):
            raise Refused("the client's groups are not the server's")
        for ns in NAMESPACES:
            if os.readlink(f"/proc/{pid}/ns/{ns}") != os.readlink(f"/proc/self/ns/{ns}"):
                raise Refused(f"the client's {ns} namespace is not the server's")
        if _read(f"/proc/{pid}/cgroup") != _read("/proc/self/cgroup"):   # its limits and accounting
            raise Refused("the client's cgroups are not the server's")
        root, mine = os.stat(f"/proc/{pid}/root"), os.stat("/")
        if (root.st_dev, root.st_ino) != (mine.st_dev, mine.st_ino):
            raise Refused("the client's root directory is not the server's")
        os.chdir(f"/proc/{pid}/cwd")   # the very directory, even if renamed or removed
        os.umask(int(status["Umask"], 8))
        for res in range(RLIM_NLIMITS):
            resource.setrlimit(res, resource.prlimit(pid, res))
        # The CPUs it may run on (the Sentry pins itself to one of them) and its niceness.
        os.sched_setaffinity(0, os.sched_getaffinity(pid))
        os.setpriority(os.PRIO_PROCESS, 0, os.getpriority(os.PRIO_PROCESS, pid))
        environ.adopt(_read(f"/proc/{pid}/environ"))
    except (OSError, ValueError, KeyError) as e:
        raise Refused(f"cannot take on the client's process state: {e}") from None


def _serve_container(conn, argv, keeper):
    """A warm ``create`` (or ``run -d``, ``exec -d``) for ``keeper``, the client's process that
    stands for the container (its pid is the container's) or the exec'd process: the ``do``
    process runs the cold verb (sandbox/container.py's WARM.keeper). A create's sandbox process
    becomes our child (we are a subreaper): we tell the keeper create's exit code and the
    sandbox's pid, relay its signals to the sandbox and its exit code back. A detached exec's
    ``do`` process waits for the exec'd process, as the cold exec's waiter: once it has started,
    we tell the keeper and relay to the ``do`` process. The keeper gone, what it stood for is
    killed: nothing outlives it."""
    from snakevisor.sandbox.container import WARM
    from snakevisor.sandbox.state import process_start_time
    become_subreaper()
    report_r, report_w = os.pipe()
    WARM.keeper = (keeper, process_start_time(keeper) or 0, report_w)
    pid = os.fork()
    if pid == 0:
        os.close(report_r)
        _do_process(conn, argv, keep=report_w)
    os.close(report_w)
    _quiet_stdio()
    first = _relay(conn, pid, until=report_r)
    report = _read_report(report_r)
    if report[:1] == [b"pid"]:   # exec -d: the process has started, the do process waits for it
        _send_quietly(conn, {"created": 0, "sandbox": 0})
        return _send_exit(conn, _relay(conn, pid))
    code = _relay(conn, pid) if first == REPORTED else first
    sandbox = int(report[1]) if report[:1] == [b"sandbox"] else 0
    if code != 0 or not sandbox:   # the keeper gone (None), or create failed: no container
        if sandbox:
            kill_and_reap(sandbox)
        _send_quietly(conn, {"created": 1 if code is None else code, "sandbox": 0})
        return 0
    _send_quietly(conn, {"created": 0, "sandbox": sandbox})
    return _send_exit(conn, _relay(conn, sandbox))


def _send_exit(conn, code):
    if code is not None:   # None: the keeper is gone
        _send_quietly(conn, {"exit": code})
    return 0


def _read_report(fd):
    """What create or exec wrote to pipe ``fd`` ("sandbox PID", "pid PID"), as words ([]: nothing
    yet, or nothing at all); ``fd`` is closed."""
    os.set_blocking(fd, False)
    try:
        words = os.read(fd, 64).split()
    except BlockingIOError:
        words = []
    finally:
        os.close(fd)
    return words if len(words) == 2 and words[1].isdigit() else []


def _do_process(conn, argv, keep=None, ignored=()):
    """The forked ``do`` process: the cold CLI with the client's argv, ignoring what the client
    ignores (``ignored``); never returns. It keeps only the client's fds 0-2 (and ``keep``)."""
    code = 1
    try:
        die_with_parent()
        conn.close()
        environ.ignore(ignored)
        close_fds_except({keep, gofer_zygote.held_fd()} - {None}, lowest=3)   # the zygote's link: its Gofer's
        from snakevisor.cli.main import main
        sys.argv[1:] = argv
        code = main(argv, warm=False)   # the cold path: never back to a server
    except SystemExit as e:   # a usage error
        code = e.code if isinstance(e.code, int) else 2
    except KeyboardInterrupt:
        code = 128 + signal.SIGINT
    finally:
        from snakevisor.cli.ending import exit_now
        exit_now(code)


def _quiet_stdio():
    """The session keeps none of the client's fds: a pipe's reader sees EOF when the sandbox ends."""
    null = os.open(os.devnull, os.O_RDWR)
    for fd in STDIO:
        os.dup2(null, fd)
    os.close(null)


REPORTED = "reported"   # what _relay returns when its ``until`` pipe has something (or EOF)


def _relay(conn, pid, until=None):
    """Pass the client's signals to the ``do`` process until it exits; its exit code (None: the
    client went away, and the ``do`` process was killed; REPORTED: ``until`` became readable)."""
    pidfd = os.pidfd_open(pid)
    poller = select.poll()
    poller.register(conn, select.POLLIN)
    poller.register(pidfd, select.POLLIN)
    if until is not None:
        poller.register(until, select.POLLIN)
    while True:
        for fd, _ in poller.poll():
            if fd == until:
                os.close(pidfd)
                return REPORTED
            if fd == pidfd:
                return wait_status_to_exit_code(os.waitpid(pid, 0)[1])
            try:
                msg, _ = recv_message(conn)
            except (ProtocolError, OSError):
                kill_and_reap(pid)
                return None
            sig = msg.get("signal") if isinstance(msg, dict) else None
            if sig == signal.SIGCONT:   # after ^Z: the do process and its sandbox go on (our group)
                os.killpg(0, signal.SIGCONT)
            elif sig in RELAYED or sig == signal.SIGTSTP:
                os.kill(pid, sig)
