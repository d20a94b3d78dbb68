"""A warm ``create`` (and ``run -d``, ``exec -d``): the keeper, the caller's process that stands for
the container (for the exec'd process).

Engines wait for the container's pid as their child: containerd's shim and conmon are subreapers,
and the sandbox process of a cold ``create`` is reparented to them when its spawner exits. A
sandbox forked by the warm server is the server's descendant instead, so a warm ``create``
forks, as the cold one does, a detached grandchild (its own session) that is reparented to the
caller's subreaper: the keeper. It sends the request (with the caller's stdio), tells ``create``
its exit code once the session has run the cold verb, then lives as long as the sandbox: the
session relays its signals (SIGTERM, SIGINT, ...) to the sandbox and the sandbox's exit code
back, and the keeper exits with it. Its pid is the container's pid (state, --pid-file); killed,
the session kills the sandbox; the session gone (the server killed), it kills the sandbox.
For ``exec -d`` it is the cold exec's waiter: its pid goes to --pid-file once the process has
started, and it exits with the process's exit code (the session's do process waits for it).

Like client.py, it imports only os, signal, socket and protocol.py.
"""
import os
import signal
import sys

from snakevisor.warm import client, protocol

LOST_CODE = 128 + signal.SIGKILL   # the server died under the sandbox: it is killed


def run_container(argv, path, explicit, start):
    """``snakevisor ARGV`` (create, run -d) through the server on ``path``: create's exit code,
    or None when it is to run cold (no keeper is left then). ``start``: client.connect()'s."""
    report_r, report_w = os.pipe()
    middle = os.fork()
    if middle == 0:
        try:
            os.close(report_r)
            os.setsid()   # as the cold create detaches its sandbox process
            if os.fork() == 0:
                _keeper(argv, path, explicit, start, report_w)
        finally:
            os._exit(0)
    os.close(report_w)
    os.waitpid(middle, 0)
    words = client.read_all(report_r).split()
    if len(words) == 2 and words[0] == b"created":
        return int(words[1])
    if words == [b"cold"]:
        return None
    # Not a word: the keeper died (killed?) while the server created: a cold retry could find
    # half a container, so this create fails.
    verb = argv[client.first_verb(argv)]
    print(f"snakevisor {verb}: the warm create's keeper died before the container was made", file=sys.stderr)
    return 1


def _keeper(argv, path, explicit, start, report_w):
    """The keeper process; never returns."""
    code = 1
    try:
        os.closerange(3, report_w)   # only the caller's stdio goes to the sandbox, as a cold create's
        os.closerange(report_w + 1, 1 << 16)
        try:
            conn = client.connect(path, start=start)
            client.request(conn, argv, container=True)
            reply, _ = protocol.recv_message(conn)
            created, sandbox = int(reply["created"]), int(reply["sandbox"])
        except client.Unavailable as e:
            client.note_cold(argv, explicit, e)
            os.write(report_w, b"cold")
            return
        except (OSError, protocol.ProtocolError, KeyError, TypeError, ValueError):
            os.write(report_w, b"created 125")   # the server died while creating
            code = 125
            return
        pidfd = _pidfd(sandbox)
        null = os.open(os.devnull, os.O_RDWR)   # before the sandbox's mount namespace (no /dev)
        if not created and sandbox:   # a container's (an exec's keeper stands for a host process)
            _join_namespaces(sandbox)
        os.write(report_w, f"created {created}".encode())
        os.close(report_w)
        _quiet_stdio(null)   # the sandbox has them; an engine's reader sees EOF when it ends
        code = created if created else _wait(conn, pidfd)
    finally:
        os._exit(code)


# What engines find at /proc/PID/ns/* of the container's pid: a pod's containers join their pause
# container's network, IPC and UTS namespaces by that path. The keeper's must be the sandbox's (its
# PID namespace cannot be: the sandbox's pid 1 dying would kill the keeper before it tells the
# exit code; a PID namespace joined by path is not the sandbox's own anyway, sandbox/lockdown.py).
SHARED_NAMESPACES = ("ipc", "uts", "net", "mnt")


def _join_namespaces(pid):
    import ctypes   # only here: ~1 ms (Python 3.11 has no os.setns)
    libc = ctypes.CDLL(None, use_errno=True)
    for ns in SHARED_NAMESPACES:
        try:
            fd = os.open(f"/proc/{pid}/ns/{ns}", os.O_RDONLY | os.O_CLOEXEC)
        except OSError:   # the sandbox died meanwhile: its exit is reported as ever
            return
        try:
            if libc.setns(fd, 0) != 0:
                err = ctypes.get_errno()
                print(f"snakevisor: warm keeper: setns({ns}): {os.strerror(err)}", file=sys.stderr)
        finally:
            os.close(fd)


def _pidfd(pid):
    try:
        return os.pidfd_open(pid) if pid > 0 else None
    except OSError:
        return None


def _wait(conn, pidfd):
    """The sandbox's exit code, as the session sends it; our signals are relayed meanwhile. The
    others are ignored: a cold sandbox process is pid 1 of its namespace, which signals it has no
    handler for do not reach (but SIGKILL)."""
    for sig in signal.valid_signals() - {signal.SIGKILL, signal.SIGSTOP, signal.SIGCHLD}:
        try:
            signal.signal(sig, signal.SIG_IGN)
        except (OSError, ValueError):
            pass
    code = client.relay(conn, stop=False)
    if code is None:   # the session died (the server killed): the sandbox dies too
        if pidfd is not None:
            try:
                signal.pidfd_send_signal(pidfd, signal.SIGKILL)
            except OSError:
                pass
        return LOST_CODE
    return code


def _quiet_stdio(null):
    for fd in protocol.STDIO:
        os.dup2(null, fd)
    os.close(null)
    sys.stdout = sys.stderr = None   # nothing more to say: no one to say it to
