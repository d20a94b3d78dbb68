"""The warm start path (snakevisor/warm/): `snakevisor do --warm` through `snakevisor server`.

A warm sandbox must be indistinguishable from a cold one (environment, fds, cwd, limits, umask,
ids, the namespaces' view, exit codes and signals), share nothing with the previous one, and
leave nothing behind: every test runs its own server on a private socket and stops it, and
checks that no process of the server's tree outlives it.
"""
import contextlib
import fcntl
import os
import pty
import re
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import termios
import time

import pytest

from do_support import children_of, comm_of, descendants_of, stat_of, status_of, wait_gone
from harness import REPO, check_no_sentry_bug, compile_c, run, run_sandboxed, sandbox_cmd, sandbox_env, snakevisor_cmd
from snakevisor.hostos import readable
from warm_support import START_TIMEOUT, Server, on_demand_socket, process_tree, running_server, servers_of, wait_for

from snakevisor.warm.protocol import VERSION, answers, send_message, server_pid

# /proc/self/status lines of the sandbox's view that do not depend on pids or memory use.
STATUS_LINES = "^(Name|Umask|State|Uid|Gid|Groups|Cap[A-Za-z]+|NoNewPrivs|Seccomp|Seccomp_filters|Threads):"
PROBE = (
    "env | sort; echo ---; ls -l --time-style=+ /proc/self/fd | sed -E 's/[0-9]{3,}/N/g'; echo ---; pwd; "
    "ulimit -a; umask; id; hostname; echo ---; grep -E '" + STATUS_LINES + "' /proc/self/status; "
    "for n in /proc/self/ns/*; do echo $n $(readlink $n); done; cat /proc/self/mountinfo | sed -E 's/[0-9]{3,}/N/g'; "
    "touch /vol/made-here; exit 7"
)


@pytest.fixture(autouse=True)
def no_process_left():
    """After each test (and its server's stop): no child of the test is left, running or zombie."""
    yield
    wait_for("the test's children to be gone",
              lambda: not [p for p in descendants_of(os.getpid()) if stat_of(p) is not None], timeout=30)


@pytest.fixture
def server():
    yield from running_server()


def warm(srv, argv, flags=(), env=None, **kw):
    """`snakevisor do --warm FLAGS -- ARGV` through ``srv`` (``env``: the client's, default ours);
    its stderr must not say it went cold."""
    env = sandbox_env(env, SNAKEVISOR_WARM_SOCKET=srv.path)
    r = run(sandbox_cmd(argv, ("--warm", *flags)), env=env, **kw)
    check_no_sentry_bug(r.stderr)
    assert b"starting cold" not in r.stderr, r.stderr.decode(errors="replace")
    return r


CLIENT_CPU = max(os.sched_getaffinity(0))


def _client_state():
    """In the client before exec: a umask, rlimits, CPU affinity and niceness of its own, which
    the sandbox's host side (the do process, the Sentry) must have warm as cold."""
    os.umask(0o027)
    import resource
    resource.setrlimit(resource.RLIMIT_CORE, (4096, 8192))
    os.sched_setaffinity(0, {CLIENT_CPU})
    os.setpriority(os.PRIO_PROCESS, 0, 3)


def test_warm_and_cold_runs_are_indistinguishable(server, tmp_path):
    vols = {}
    out = {}
    for mode in ("cold", "warm"):
        vols[mode] = tmp_path / mode
        vols[mode].mkdir()
        flags = ("-v", f"{vols[mode]}:/vol", "--hostname", "probe", "--overlay-upper", f"{vols[mode]}/upper")
        env = dict(server.env(), PROBE_VAR="a b\tc", LANG="C.UTF-8", SNAKEVISOR_WARM="0")   # cold unless --warm
        argv = ["/bin/sh", "-c", PROBE]
        if mode == "cold":
            r = run(sandbox_cmd(argv, flags), env=sandbox_env(env), cwd="/usr/share", preexec_fn=_client_state)
        else:
            r = warm(server, argv, flags, env=env, cwd="/usr/share", preexec_fn=_client_state)
        check_no_sentry_bug(r.stderr)
        assert r.returncode == 7, r.stderr.decode(errors="replace")
        out[mode] = r.stdout.decode()
    assert "/usr/share\n" in out["warm"] and "PROBE_VAR=a b\tc\n" in out["warm"]
    assert out["warm"] == out["cold"]
    # The do process made the --overlay-upper directory with the client's umask, warm as cold.
    modes = {m: os.stat(vols[m] / "upper").st_mode & 0o777 for m in vols}
    assert modes["warm"] == modes["cold"] == 0o750, modes
    assert (vols["warm"] / "made-here").exists()


def test_do_process_gets_the_client_limits_and_no_other_fds(server):
    """The warm do process (the Sentry's parent) has the client's rlimits, CPUs and niceness,
    and only fds 0-2."""
    proc = subprocess.Popen(sandbox_cmd(["/bin/sh", "-c", "echo ready; read x"], ("--warm",)), env=server.env(),
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd="/",
                            start_new_session=True, preexec_fn=_client_state)
    try:
        assert proc.stdout.readline() == b"ready\n"
        sentries = [p for p in server.watch() if _nspid_init(p)]
        assert len(sentries) == 1, sentries
        do_pid = stat_of(sentries[0])[1]
        with open(f"/proc/{do_pid}/limits") as f:
            core = next(line for line in f if line.startswith("Max core file size"))
        assert core.split()[4:6] == ["4096", "8192"], core
        assert os.sched_getaffinity(do_pid) == os.sched_getaffinity(sentries[0]) == {CLIENT_CPU}
        assert os.getpriority(os.PRIO_PROCESS, do_pid) == 3
        assert sorted(int(fd) for fd in os.listdir(f"/proc/{do_pid}/fd")) == [0, 1, 2]
        # The server itself holds the listening socket, its lock, the two ends of the channel its
        # sessions tell it on, its spare's hand-over socket, its watch on its source (inotify)
        # and nothing of the client's.
        server_fds = os.listdir(f"/proc/{server.proc.pid}/fd")
        assert len(server_fds) <= 10, [os.readlink(f"/proc/{server.proc.pid}/fd/{fd}") for fd in server_fds]
        out, err = proc.communicate(b"go\n", timeout=60)
        assert proc.returncode == 0, err
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def _nspid_init(pid):
    try:
        return status_of(pid)["NSpid"].split()[-1] == "1"
    except (OSError, KeyError):
        return False


def test_exit_codes_and_signals_as_cold(server):
    for script in ("exit 0", "exit 3", "kill -TERM $$", "kill -SEGV $$", "/no/such/program"):
        cold = run_sandboxed(["/bin/sh", "-c", script])
        hot = warm(server, ["/bin/sh", "-c", script])
        assert (hot.returncode, hot.stdout) == (cold.returncode, cold.stdout), script
    missing = warm(server, ["/no/such/command"])
    assert missing.returncode == run_sandboxed(["/no/such/command"]).returncode == 127
    bad_flag = warm(server, ["/bin/true"], flags=("--cwd", "relative"))
    assert bad_flag.returncode == 2 and b"--cwd relative" in bad_flag.stderr


def _server_fds(pid):
    """The targets of the server's fds; one closed between the listing and its readlink (a
    session's connection, closed after its fork) is marked so: the idle check then fails and retries."""
    targets = []
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            targets.append(os.readlink(f"/proc/{pid}/fd/{fd}"))
        except FileNotFoundError:
            targets.append("closed-while-listed")
    return sorted(targets)


def _server_state(server):
    """The server's fds and threads once it is idle: no child but its spare (after a ``do``, one
    is always made) and its Gofer zygote, and no socket but the listening one, the two ends of the
    channel its sessions tell it on, the hand-over socket to its spare and the zygote's link (a connection is accepted, and closed after its
    session's fork, when the server gets to it: maybe after the client is done, on a loaded machine;
    a leaked one stays). A spare's socket is a new one each time: sockets are compared by number."""
    pid = server.proc.pid
    seen = {}

    def idle():   # the fds compared are the ones this check saw: a connection may come just after
        kinds = sorted(comm_of(c) for c in children_of(pid))
        seen["fds"] = fds = _server_fds(pid)
        return (kinds == ["sv-spare", "sv-zygote"] and "closed-while-listed" not in fds
                and sum(fd.startswith("socket:") for fd in fds) == 5)
    wait_for("the server to be idle", idle, timeout=30)
    fds = [re.sub(r"^socket:\[\d+\]$", "socket", fd) for fd in seen["fds"]]
    return fds, status_of(pid)["Threads"], os.listdir(f"/proc/{pid}/task")


def test_nothing_carries_over_between_warm_sandboxes(server):
    before = _server_state(server)
    first = warm(server, ["/bin/sh", "-c", "echo secret > /tmp/left; echo x > /dev/shm/left; cat /tmp/left"])
    assert first.returncode == 0 and first.stdout == b"secret\n", first.stderr
    second = warm(server, ["/bin/sh", "-c", "ls /tmp /dev/shm; test -e /tmp/left && echo LEAK; true"])
    assert second.returncode == 0 and b"left" not in second.stdout, second.stdout
    assert _server_state(server) == before   # the server holds nothing of theirs: the same fds, one thread


def test_stdin_is_piped_through(server):
    data = b"".join(b"line %d\n" % i for i in range(20000))
    r = warm(server, ["/bin/sh", "-c", "cat; echo done"], input=data)
    assert r.returncode == 0 and r.stdout == data + b"done\n", r.stderr


def _set_winsize(fd, rows, cols):
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))


def _read_until(fd, pattern, timeout=START_TIMEOUT):
    """What the pty's master reads until ``pattern`` shows up (AssertionError at EOF or timeout)."""
    buf, end = b"", time.monotonic() + timeout
    while not re.search(pattern, buf) and time.monotonic() < end:
        if readable(fd, 0.5):
            try:
                chunk = os.read(fd, 4096)
            except OSError:   # EIO: every replica closed
                chunk = b""
            if not chunk:
                break
            buf += chunk
    assert re.search(pattern, buf), buf
    return buf


def test_terminal_and_window_size_through_a_pty(server):
    """-t on a pty: the sandbox gets a terminal of that size; a resize (SIGWINCH to the client)
    reaches it."""
    master, replica = pty.openpty()
    _set_winsize(master, 30, 100)
    script = ("tty; stty size; trap 'stty size; exit 4' WINCH; echo ready; "
              "while :; do sleep 0.05; done")
    proc = subprocess.Popen(sandbox_cmd(["/bin/sh", "-c", script], ("--warm", "-t")), env=server.env(),
                            stdin=replica, stdout=replica, stderr=replica, cwd="/", start_new_session=True)
    os.close(replica)
    try:
        out = _read_until(master, rb"ready\r\n")
        assert b"/dev/pts/0\r\n" in out and b"30 100\r\n" in out, out
        _set_winsize(master, 40, 120)
        proc.send_signal(signal.SIGWINCH)
        _read_until(master, rb"40 120\r\n")
        assert proc.wait(timeout=60) == 4
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        os.close(master)


def _start_waiting(server, script, job=False):
    """A warm client running ``script``, once it has printed "ready"; in a session of its own, or
    with ``job`` in a process group of its own in our session, as a shell's job (a group that a
    stop signal can stop: not orphaned)."""
    where = dict(process_group=0) if job else dict(start_new_session=True)
    proc = subprocess.Popen(sandbox_cmd(["/bin/sh", "-c", script], ("--warm",)), env=server.env(),
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd="/", **where)
    assert proc.stdout.readline() == b"ready\n", proc.stderr.read() if proc.poll() is not None else ""
    return proc


@pytest.mark.parametrize("sig", ["INT", "TERM", "HUP"])
def test_signals_to_the_client_reach_the_program(server, sig):
    """^C (SIGINT), SIGTERM and SIGHUP sent to the client reach the sandboxed program."""
    proc = _start_waiting(server, f"trap 'echo got-{sig}; exit 5' {sig}; echo ready; while :; do sleep 0.05; done")
    try:
        proc.send_signal(getattr(signal, "SIG" + sig))
        out, err = proc.communicate(timeout=60)
        assert (proc.returncode, out) == (5, f"got-{sig}\n".encode()), err
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def test_killing_the_client_ends_its_sandbox(server):
    proc = _start_waiting(server, "echo ready; read x")
    serving = server.watch()
    assert len(serving) > 3   # the server, the session, the do process, the sandbox...
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    sandboxes = {p: t for p, t in serving.items() if p != server.proc.pid}
    left = wait_gone(sandboxes)
    assert not left, f"the sandbox outlived its client: {[(p, comm_of(p), stat_of(p)) for p in left]}"


def test_a_server_started_with_sigterm_blocked_and_ignored_stops_on_it(tmp_path):
    """exec keeps a blocked or ignored signal: a server whose starter had SIGTERM so (as a shell's
    background job may have SIGINT) still stops on SIGTERM, and leaves nothing."""
    def sigterm_blocked_and_ignored():
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
    path = str(tmp_path / "s.sock")
    proc = subprocess.Popen(snakevisor_cmd("server", "--socket", path, "--idle-timeout", "600"), env=sandbox_env(),
                            cwd="/", stdin=subprocess.DEVNULL, start_new_session=True,
                            preexec_fn=sigterm_blocked_and_ignored)
    try:
        wait_for("the server's socket", lambda: answers(path) or proc.poll() is not None)
        tree = process_tree(proc.pid)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0
        assert not wait_gone(tree) and not answers(path)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def test_killed_server_ends_its_clients_with_a_clear_error():
    srv = Server()
    try:
        clients = [_start_waiting(srv, "echo ready; read x") for _ in range(2)]
        srv.watch()
        srv.proc.kill()
        for proc in clients:
            # stdin stays open until the client has ended: closed at once, the shell's read could
            # end the sandbox (exit 1) before the server's death reaches its session (the kernel
            # sends PR_SET_PDEATHSIG after the dying server's files are closed, its inotify
            # instance among them, which can take milliseconds)
            proc.wait(timeout=60)
            out, err = proc.communicate(timeout=60)
            assert proc.returncode == 125, (proc.returncode, err)
            assert b"server went away" in err, err
    finally:
        srv.stop()   # checks that nothing of its tree is left


def test_stale_socket_is_recovered_by_a_server_started_on_demand(tmp_path):
    with on_demand_socket() as path:
        stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        stale.bind(path)   # a socket file nobody listens on: a server that died
        stale.close()
        env = sandbox_env(SNAKEVISOR_WARM_SOCKET=path, SNAKEVISOR_WARM_IDLE="60")
        r = run(sandbox_cmd(["/bin/echo", "recovered"], ("--warm",)), env=env)
        assert (r.returncode, r.stdout) == (0, b"recovered\n"), r.stderr
        assert b"starting cold" not in r.stderr, r.stderr
        pid = server_pid(path)
        assert stat_of(pid) is not None and answers(path)
        assert os.stat(path).st_mode & 0o777 == 0o600
        again = run(sandbox_cmd(["/bin/echo", "again"], ()), env=dict(env, SNAKEVISOR_WARM="1"))
        assert (again.returncode, again.stdout, again.stderr) == (0, b"again\n", b"")


def test_unreachable_server_falls_back_to_cold(tmp_path):
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("")
    env = sandbox_env(SNAKEVISOR_WARM_SOCKET=str(not_a_dir / "s.sock"))
    r = run(sandbox_cmd(["/bin/echo", "cold"], ("--warm",)), env=env)
    assert (r.returncode, r.stdout) == (0, b"cold\n")
    assert r.stderr.count(b"\n") == 1 and b"starting cold" in r.stderr, r.stderr
    quiet = run(sandbox_cmd(["/bin/echo", "cold"]), env=dict(env, SNAKEVISOR_WARM="1"))
    assert (quiet.returncode, quiet.stdout, quiet.stderr) == (0, b"cold\n", b"")


def test_server_stops_when_idle_and_when_its_socket_is_removed():
    idle = Server(idle_timeout=1)
    try:
        assert idle.proc.wait(timeout=30) == 0
        assert not os.path.exists(idle.path)
    finally:
        idle.stop()
    removed = Server()
    try:
        os.unlink(removed.path)
        assert removed.proc.wait(timeout=30) == 0
    finally:
        removed.stop()


def test_ten_concurrent_warm_runs(server):
    procs = [subprocess.Popen(sandbox_cmd(["/bin/echo", f"run {i}"], ("--warm",)), env=server.env(), cwd="/",
                              stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              start_new_session=True) for i in range(10)]
    try:
        for i, proc in enumerate(procs):
            out, err = proc.communicate(timeout=120)
            assert (proc.returncode, out) == (0, f"run {i}\n".encode()), err
            assert b"starting cold" not in err, err
    finally:
        for proc in procs:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def test_client_flag_tables_match_the_parser():
    """The client finds the verb and --warm without argparse: its tables of flags that take a
    value must be the parser's."""
    from snakevisor.cli.main import _long_flags, build_parser
    from snakevisor.warm.client import VALUED_DO_FLAGS, VALUED_GLOBAL_FLAGS, first_verb
    flags = _long_flags(build_parser())
    assert VALUED_GLOBAL_FLAGS == flags[None][1]
    assert VALUED_DO_FLAGS == flags["do"][1]
    assert first_verb(["--root", "do", "state", "x"]) == 2   # "do" is --root's value, not the verb


def test_client_imports_neither_sentry_nor_gofer(server):
    cmd = sandbox_cmd(["/bin/true"], ("--warm",))
    r = run([cmd[0], "-X", "importtime", *cmd[1:]], env=server.env())
    assert r.returncode == 0, r.stderr
    imported = set(re.findall(rb"\| +(snakevisor[\w.]*)", r.stderr))
    assert b"snakevisor.warm.client" in imported, r.stderr
    # It reads argv first (light OCI verbs: nothing imported), and exits without finalising (cli/ending.py).
    light = {b"snakevisor.cli", b"snakevisor.cli.light", b"snakevisor.cli.ending"}
    assert imported <= {b"snakevisor", b"snakevisor.warm", b"snakevisor.warm.client", b"snakevisor.warm.protocol",
                        b"snakevisor.sandbox", b"snakevisor.sandbox.messages", b"snakevisor.sandbox.environ",
                        *light}, imported


def _wait_state(pid, states):
    wait_for(f"process {pid} in state {states}", lambda: (stat_of(pid) or ("X",))[0] in states, timeout=30)


def test_ctrl_z_stops_the_sandbox_and_fg_continues_it(server):
    """^Z (SIGTSTP to the client): the client and the sandbox stop; SIGCONT continues both."""
    proc = _start_waiting(server, "echo ready; read x; echo resumed", job=True)
    try:
        sentry = next(p for p in server.watch() if _nspid_init(p))
        proc.send_signal(signal.SIGTSTP)
        _wait_state(proc.pid, "T")
        _wait_state(sentry, "T")
        proc.send_signal(signal.SIGCONT)
        _wait_state(sentry, "SR")
        out, err = proc.communicate(b"go\n", timeout=60)
        assert (proc.returncode, out) == (0, b"resumed\n"), err
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def _anon_kib(pid):
    return int(status_of(pid)["RssAnon"].split()[0])


def test_a_warm_gofer_is_the_zygotes_and_the_sentrys_child(server):
    """A warm sandbox's Gofer is forked by the server's Gofer zygote (which has not imported the
    Sentry: the Gofer maps less of the heap than a fork of the server would), in the sandbox's PID
    namespace, and is the sandbox process's child; it serves the sandbox's files."""
    proc = _start_waiting(server, "echo ready; read x; cat /etc/hostname")
    try:
        sentry = next(p for p in server.watch() if _nspid_init(p))
        gofers = [p for p in children_of(sentry) if comm_of(p) == "sv-gofer"]
        assert len(gofers) == 1, [comm_of(p) for p in children_of(sentry)]
        gofer = gofers[0]
        assert os.readlink(f"/proc/{gofer}/ns/pid") == os.readlink(f"/proc/{sentry}/ns/pid")
        zygote = [p for p in children_of(server.proc.pid) if comm_of(p) == "sv-zygote"]
        assert len(zygote) == 1
        assert _anon_kib(gofer) < _anon_kib(server.proc.pid) * 0.8, (_anon_kib(gofer), _anon_kib(server.proc.pid))
        out, err = proc.communicate(b"go\n", timeout=60)
        with open("/etc/hostname", "rb") as f:
            assert (proc.returncode, out) == (0, f.read()), err
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def test_without_its_zygote_the_server_forks_gofers_itself():
    """The zygote killed: the next sandboxes fork their Gofers themselves, and run."""
    srv = Server(spare=False)
    try:
        zygote = next(p for p in children_of(srv.proc.pid) if comm_of(p) == "sv-zygote")
        os.kill(zygote, signal.SIGKILL)
        wait_for("the zygote to be reaped", lambda: stat_of(zygote) is None, timeout=30)
        r = warm(srv, ["/bin/sh", "-c", "echo ok; cat /etc/hostname"])
        with open("/etc/hostname", "rb") as f:
            assert (r.returncode, r.stdout) == (0, b"ok\n" + f.read()), r.stderr
    finally:
        srv.stop()


_FAKE_ZYGOTE = """
import os, socket, sys, threading
from snakevisor.hostos.setup import HostSetupError
from snakevisor.sandbox import gofer_zygote
ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
st = os.fstat(ours.fileno())
gofer_zygote._link = (ours.fileno(), (st.st_dev, st.st_ino), os.stat("/proc/self/ns/user").st_ino)

def zygote():   # takes the request, then answers garbage or nothing (its end of the reply closed)
    _, fds, _, _ = socket.recv_fds(theirs, 4096, 16)
    with socket.socket(fileno=fds[0]) as reply:
        if sys.argv[1] == "garbage":
            reply.send(b"garbage")
    for fd in fds[1:]:
        os.close(fd)
threading.Thread(target=zygote).start()
try:
    gofer_zygote.fork_gofer(["--isolate"], [])
except HostSetupError as e:
    print(f"{type(e).__name__}: {e}")
"""


@pytest.mark.parametrize("answer", ["garbage", "nothing"])
def test_a_zygote_that_fails_a_request_is_a_host_setup_error(answer):
    """A Gofer zygote that took the request and gave no Gofer (killed, or a garbled answer) is a
    HostSetupError, which `do` prints as one line ("cannot start the Gofer"), not a traceback.
    (fork_gofer asks only as its PID namespace's init: here pid 1 of a fresh one.)"""
    r = run(["unshare", "--pid", "--fork", sys.executable, "-c", _FAKE_ZYGOTE, answer],
            env=dict(os.environ, PYTHONPATH=REPO), timeout=60)
    assert r.returncode == 0, r.stderr.decode(errors="replace")
    assert r.stdout.startswith(b"ZygoteError: [Errno 5] the Gofer zygote failed"), r.stdout + r.stderr


def test_the_sandbox_cannot_reach_the_server(server):
    """The server's socket is in the sandbox's root (an overlay of the host's /), but a host
    socket is not the sandbox's to connect to: a sandbox cannot ask for sandboxes of its own."""
    script = (f"test -S {server.path} && echo visible; "
              f"python3 -c 'import socket; socket.socket(socket.AF_UNIX).connect(\"{server.path}\")' 2>/dev/null "
              "&& echo CONNECTED; true")
    r = warm(server, ["/bin/sh", "-c", script])
    assert (r.returncode, r.stdout) == (0, b"visible\n"), r.stderr


def test_the_client_hands_nothing_to_another_users_server():
    """A socket at the server's path that another uid listens on is no server of ours: the client
    does not connect to it (it would hand over its standard fds), whatever the socket's mode."""
    from snakevisor.warm import client
    sock_dir = tempfile.mkdtemp(prefix="svwarm-", dir="/var/tmp")
    os.chmod(sock_dir, 0o777)
    path = os.path.join(sock_dir, "s.sock")
    ready_r, ready_w = os.pipe()
    done_r, done_w = os.pipe()
    pid = os.fork()
    if pid == 0:   # nobody listens on path until the test is done
        try:
            os.close(done_w)
            os.setgroups([])
            os.setgid(65534)
            os.setuid(65534)
            listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            listener.bind(path)
            listener.listen(4)
            os.chmod(path, 0o777)
            os.write(ready_w, b"x")
            os.read(done_r, 1)
        finally:
            os._exit(0)
    os.close(ready_w)
    os.close(done_r)
    try:
        assert os.read(ready_r, 1) == b"x"
        assert answers(path)   # something listens there
        with pytest.raises(PermissionError):
            client._dial(path)
    finally:
        os.close(done_w)
        os.waitpid(pid, 0)
        os.close(ready_r)
        os.unlink(path)
        os.rmdir(sock_dir)


def test_another_user_is_refused(server):
    """SO_PEERCRED: a client of another uid gets no answer, even when the socket's mode lets it in."""
    os.chmod(server.dir, 0o711)
    os.chmod(server.path, 0o666)
    rd, wr = os.pipe()
    pid = os.fork()
    if pid == 0:   # nobody, without exec (python lives under /root): sockets and bytes only
        word = b"error"
        try:
            os.setgroups([])
            os.setgid(65534)
            os.setuid(65534)
            s = socket.socket(socket.AF_UNIX)
            s.connect(server.path)
            send_message(s, {"version": VERSION, "argv": [b"do", b"--", b"/bin/true"], "stdio": []})
            word = b"refused" if s.recv(100) == b"" else b"served"
        except (ConnectionResetError, BrokenPipeError):   # closed with the request unread, or before it was sent
            word = b"refused"
        except BaseException as e:
            word = repr(e).encode()
        finally:
            os.write(wr, word)
            os._exit(0)
    os.close(wr)
    try:
        with os.fdopen(rd, "rb") as f:
            assert f.read() == b"refused"
    finally:
        os.waitpid(pid, 0)


def test_ten_first_runs_at_once_start_one_server():
    """No server yet, ten clients at once: each may start one, one wins the lock, all are served warm."""
    with on_demand_socket() as path:
        env = sandbox_env(SNAKEVISOR_WARM_SOCKET=path, SNAKEVISOR_WARM_IDLE="60")
        procs = [subprocess.Popen(sandbox_cmd(["/bin/echo", f"run {i}"], ("--warm",)), env=env, cwd="/",
                                  stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  start_new_session=True) for i in range(10)]
        try:
            for i, proc in enumerate(procs):
                out, err = proc.communicate(timeout=120)
                assert (proc.returncode, out, err) == (0, f"run {i}\n".encode(), b"")
            wait_for("the losing servers to exit", lambda: len(servers_of(path)) == 1, timeout=30)
        finally:
            for proc in procs:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def test_secrets_drawn_at_import_are_drawn_again_in_each_fork():
    """Every sandbox of a warm server descends from one interpreter: what a module draws at
    import (kcmp's cookies) must be drawn again in each fork, or every sandbox shares it."""
    from snakevisor.sentry.syscalls import kcmp
    rd, wr = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.write(wr, repr(kcmp._COOKIES).encode())
        finally:
            os._exit(0)
    os.close(wr)
    with os.fdopen(rd, "rb") as f:
        child = f.read().decode()
    os.waitpid(pid, 0)
    assert child != repr(kcmp._COOKIES) and len(kcmp._COOKIES) > 1


def _served_warm(env, preexec_fn=None):
    """Run `do -- sh` with ``env`` (no --warm); whether a server ran its sandbox: a cold ``do``
    has the sandbox as its child, a warm client has no child at all."""
    proc = subprocess.Popen(sandbox_cmd(["/bin/sh", "-c", "echo ready; read x"]), env=env, cwd="/",
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            preexec_fn=preexec_fn)
    try:
        assert proc.stdout.readline() == b"ready\n", proc.stderr.read()
        return not children_of(proc.pid)
    finally:
        out, err = proc.communicate(b"x\n", timeout=60)
        assert proc.returncode == 0, err


def test_a_running_server_is_used_without_asking(server):
    """Without --warm, ``do`` goes through a server that answers; SNAKEVISOR_WARM=0 never does."""
    env = {k: v for k, v in server.env().items() if k != "SNAKEVISOR_WARM"}
    assert _served_warm(env)
    assert not _served_warm(dict(env, SNAKEVISOR_WARM="0"))


def test_with_no_server_do_runs_cold_and_starts_one_for_the_next():
    """No server answers and SNAKEVISOR_WARM is unset: ``do`` runs cold and starts a server, detached,
    without waiting for it; the next ``do`` is served by it. SNAKEVISOR_WARM=0 starts none."""
    with on_demand_socket() as path:
        env = {k: v for k, v in sandbox_env(SNAKEVISOR_WARM_SOCKET=path, SNAKEVISOR_WARM_IDLE="60").items()
               if k != "SNAKEVISOR_WARM"}
        assert not _served_warm(dict(env, SNAKEVISOR_WARM="0"))
        assert not os.path.exists(path + ".lock")   # none was started
        assert not _served_warm(env)                # cold: the sandbox is the client's child
        wait_for("the server started on demand", lambda: answers(path))
        assert os.stat(path).st_mode & 0o777 == 0o600
        assert _served_warm(env)


def test_clients_starting_at_once_start_one_server():
    """Each client that finds no server takes PATH.lock before starting one and hands it over: a
    second client finds it held and starts none (50 ``do`` at once start one server, not 50)."""
    from snakevisor.warm import client
    with on_demand_socket() as path:
        before = set(servers_of(path))
        client.start_in_background(path)
        client.start_in_background(path)   # the lock is the first one's server's now
        wait_for("the server started on demand", lambda: answers(path))   # (exec'd by now)
        started = set(servers_of(path)) - before
        assert len(started) == 1, started
        assert server_pid(path) in started



def _new_cgroup():
    """A fresh cgroup directory of some hierarchy this process may create in, or None."""
    for base in ("/sys/fs/cgroup/pids", "/sys/fs/cgroup/unified", "/sys/fs/cgroup"):
        if os.path.exists(os.path.join(base, "cgroup.procs")):
            path = os.path.join(base, f"svwarm-{os.getpid()}")
            try:
                os.mkdir(path)
                return path
            except OSError:
                continue
    return None


def test_a_client_in_other_cgroups_is_served_cold(server):
    """A warm sandbox would run in the server's cgroups, outside the limits and accounting of
    the client's: a client in other cgroups is served cold."""
    group = _new_cgroup()
    if group is None:
        pytest.skip("no cgroup hierarchy to make a cgroup in (needs a writable /sys/fs/cgroup)")

    def enter():
        with open(os.path.join(group, "cgroup.procs"), "w") as f:
            f.write(str(os.getpid()))
    try:
        assert _served_warm(server.env())   # the same cgroups: warm
        assert not _served_warm(server.env(), preexec_fn=enter)
    finally:
        wait_for("the cgroup to empty", lambda: _rmdir_quietly(group), timeout=30)


def _rmdir_quietly(path):
    try:
        os.rmdir(path)
        return True
    except OSError:
        return False


def _spare_sandbox(server):
    """Once the server has a spare booted: the pid of its sandbox process (its PID namespace's init)."""
    found = []

    def booted():
        spares = [c for c in children_of(server.proc.pid) if comm_of(c) == "sv-spare"]
        found[:] = [p for s in spares for p in descendants_of(s) if _nspid_init(p) and
                    any(comm_of(c) == "sv-gofer" for c in children_of(p))]
        return bool(found)
    wait_for("a spare sandbox", booted)
    return found[0]


def _serving_sandbox(server, proc_script, flags=()):
    """Run `do --warm FLAGS -- sh -c SCRIPT` (SCRIPT prints "ready" and reads a line); the pid of
    the sandbox process serving it and what it printed after "ready"."""
    proc = subprocess.Popen(sandbox_cmd(["/bin/sh", "-c", proc_script], ("--warm", *flags)), env=server.env(),
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd="/",
                            start_new_session=True)
    try:
        assert proc.stdout.readline() == b"ready\n", proc.stderr.read()
        sandbox = next(p for p in server.watch() if _nspid_init(p))
        # It runs as any process does, whatever policy a spare waited with (SCHED_IDLE).
        assert {os.sched_getscheduler(int(t)) for t in os.listdir(f"/proc/{sandbox}/task")} == {os.SCHED_OTHER}
        out, err = proc.communicate(b"go\n", timeout=60)
        assert proc.returncode == 0, err
        return sandbox, out
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def test_a_spare_booted_beforehand_serves_the_next_do(server):
    """The server boots a spare sandbox before it is asked; the next ``do`` it fits runs there,
    once: the one after gets another (and sees nothing of the first)."""
    if os.environ.get("SNAKEVISOR_PLATFORM"):
        # The harness's do names a platform, which the server's first spare (do's defaults) may
        # not have: one do teaches the server, and the spare after it is booted so.
        old = _spare_sandbox(server)
        warm(server, ["/bin/true"])
        wait_for("a spare booted as the harness's do", lambda: _spare_sandbox(server) != old)
    spare = _spare_sandbox(server)
    assert os.sched_getscheduler(spare) == os.SCHED_IDLE   # it boots, and waits, in idle CPU time only
    first, out = _serving_sandbox(server, "echo ready; read x; echo secret > /tmp/left; hostname")
    assert (first, out) == (spare, b"snakevisor\n")
    spare = _spare_sandbox(server)
    assert spare != first
    second, out = _serving_sandbox(server, "echo ready; read x; ls /tmp; hostname")
    assert (second, out) == (spare, b"snakevisor\n")


def test_a_spare_boots_as_the_last_do_asked(server):
    """The spare boots with the settings of the last ``do`` (its flags); a ``do`` whose settings
    differ from the spare's gets a fresh sandbox, booted with its own."""
    old = _spare_sandbox(server)   # booted with do's defaults
    renamed, out = _serving_sandbox(server, "echo ready; read x; hostname", ("--hostname", "h1"))
    assert (renamed != old, out) == (True, b"h1\n")
    spare = _spare_sandbox(server)
    again, out = _serving_sandbox(server, "echo ready; read x; hostname", ("--hostname", "h1"))
    assert (again, out) == (spare, b"h1\n")
    spare = _spare_sandbox(server)
    plain, out = _serving_sandbox(server, "echo ready; read x; hostname")
    assert (plain != spare, out) == (True, b"snakevisor\n")


def test_a_spare_past_its_age_is_replaced():
    """A spare older than SNAKEVISOR_WARM_SPARE_AGE (the server's) is ended and another booted, so
    a ``do`` long after the last still finds one, booted from the host's files as they are now."""
    srv = Server(env={"SNAKEVISOR_WARM_SPARE_AGE": "2"})   # (longer than a spare's boot on a busy machine)
    try:
        first = _spare_sandbox(srv)
        wait_for("the spare to be replaced", lambda: stat_of(first) is None)
        assert _spare_sandbox(srv) != first
        sandbox, out = _serving_sandbox(srv, "echo ready; read x; hostname")
        assert out == b"snakevisor\n"
    finally:
        srv.stop()


def test_no_spare_when_the_server_is_told_so():
    """SNAKEVISOR_WARM_SPARE=0 in the server's environment: every session boots its own sandbox,
    and the server keeps none booted (with spares, the first ``do`` would have made one)."""
    srv = Server(spare=False)
    try:
        for _ in range(2):
            proc = subprocess.Popen(sandbox_cmd(["/bin/sh", "-c", "echo ready; read x"], ("--warm",)),
                                    env=srv.env(), stdin=subprocess.PIPE, stdout=subprocess.PIPE, cwd="/")
            try:
                assert proc.stdout.readline() == b"ready\n"
                proc.communicate(b"go\n", timeout=60)
            finally:
                proc.kill()
                proc.wait()
        assert not [p for p in descendants_of(srv.proc.pid) if comm_of(p) == "sv-spare"]
    finally:
        srv.stop()


def test_the_server_copies_with_non_temporal_stores_and_the_application_does_not_see_it(server):
    """The server runs with glibc's copy tunable (it execs itself with it; its sandboxes inherit
    it); the application's environment is the client's, without it."""
    from snakevisor.warm.server import COPY_TUNABLE
    with open(f"/proc/{server.proc.pid}/environ", "rb") as f:
        environ = f.read().split(b"\0")
    assert any(e.startswith(b"GLIBC_TUNABLES=") and COPY_TUNABLE.encode() in e for e in environ), environ
    env = {k: v for k, v in server.env().items() if k != "GLIBC_TUNABLES"}
    r = run(sandbox_cmd(["/usr/bin/env"], ("--warm",)), env=env)
    assert r.returncode == 0 and b"PATH=" in r.stdout, r.stderr
    assert b"GLIBC_TUNABLES" not in r.stdout, r.stdout


def test_the_command_starts_with_its_clients_resource_limits(server):
    """Through a server as cold: the command starts with the client's resource limits (which a
    spare booted under the server's cannot serve), not the server's."""
    prog = compile_c("rlimits")
    launcher = ("prlimit", "--nofile=333:700", "--stack=4194304:", "--")
    native = run([*launcher, prog])
    assert b"7 333 700\n" in native.stdout, native.stdout
    env = sandbox_env(None, SNAKEVISOR_WARM_SOCKET=server.path)
    for _ in range(2):
        r = run([*launcher, *sandbox_cmd([prog], ("--warm",))], env=env)
        assert b"starting cold" not in r.stderr and r.stdout == native.stdout, r.stdout + r.stderr
    assert b"7 333 700\n" not in warm(server, [prog]).stdout


def test_the_command_starts_with_the_signals_its_client_ignores(server):
    """Through a server (a forked do process or its spare) as cold: the command starts with the
    signals the client ignores, which the server's own sessions do not."""
    prog = compile_c("ignored_signals")
    launcher = ("/bin/sh", "-c", 'trap "" HUP INT QUIT USR1; exec "$@"', "sh")
    env = sandbox_env(None, SNAKEVISOR_WARM_SOCKET=server.path)
    for _ in range(2):   # the first may be a fresh do process, the second a spare
        r = run([*launcher, *sandbox_cmd([prog], ("--warm",))], env=env)
        assert b"starting cold" not in r.stderr and r.stdout == b"ignored: 1 2 3 10\n", r.stdout + r.stderr
    assert warm(server, [prog]).stdout == b"ignored:\n"


def test_a_server_whose_source_is_edited_serves_the_new_code_at_once():
    """Someone changing the Sentry and running ``do`` again gets the changed code: the server
    watches its package (warm/codewatch.py) and stops when a source file is written; the next
    ``do`` runs cold and starts a server of the new code. (A copy of the package is edited.)"""
    import shutil
    root = tempfile.mkdtemp(prefix="svcode-", dir="/var/tmp")
    try:
        shutil.copytree(os.path.join(REPO, "snakevisor"), os.path.join(root, "snakevisor"),
                        ignore=shutil.ignore_patterns("__pycache__"))
        with on_demand_socket() as path:
            env = {k: v for k, v in os.environ.items() if k != "SNAKEVISOR_WARM"}
            env.update(PYTHONPATH=root, SNAKEVISOR_WARM_SOCKET=path, SNAKEVISOR_WARM_IDLE="60")
            cli = [sys.executable, "-S", "-m", "snakevisor"]

            def machine():
                out = subprocess.run(cli + ["do", "--", "uname", "-m"], env=env, cwd="/", capture_output=True,
                                     stdin=subprocess.DEVNULL, timeout=120)
                assert out.returncode == 0, out.stderr.decode()[-2000:]
                return out.stdout.strip()
            assert machine() == b"x86_64"   # cold; it starts a server
            wait_for("the server started on demand", lambda: answers(path))
            first = server_pid(path)
            assert machine() == b"x86_64"   # served by it
            info = os.path.join(root, "snakevisor", "sentry", "syscalls", "info.py")
            with open(info) as f:
                text = f.read()
            with open(info, "w") as f:   # written in place, as an editor may
                f.write(text.replace("u.release, u.version, u.machine,", 'u.release, u.version, b"edited",'))
            assert machine() == b"edited"
            st = stat_of(first)
            assert st is None or not wait_gone({first: st[2]}), "the old server still runs"
    finally:
        shutil.rmtree(root)
