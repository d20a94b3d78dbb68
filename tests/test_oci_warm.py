"""The OCI verbs through the warm server (snakevisor/warm/keeper.py): a container created warm is
one created cold to whoever drives it (output, exit code, state JSON, pid file, the pid an engine
waits for as its child, /proc/PID/ns), and leaves nothing behind when deleted or when the server
dies. (SNAKEVISOR_WARM=1 with the OCI test files runs their tests warm too.)"""
import json
import os
import signal
import socket
import subprocess
import sys
import threading

import pytest

from do_support import comm_of, descendants_of
from harness import sandbox_env
from oci_support import alive, create, make_bundle, read_out, state, sv, wait_status
from warm_support import Server, on_demand_socket, running_server, wait_for

from snakevisor.warm.protocol import ProtocolError, answers, recv_message, send_message

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="OCI containers here need root (namespaces, mounts)")
# What the bundle's init reports: its view of the sandbox, the same cold and warm.
PROBE = ("echo out; echo err >&2; hostname; id; pwd; env | sort; ls /; ulimit -n; "
         "grep -E '^(Cap[A-Za-z]+|NoNewPrivs|Seccomp):' /proc/self/status; exit 7")


@pytest.fixture(scope="module")
def server():
    yield from running_server()


@pytest.fixture
def root(tmp_path):
    return str(tmp_path / "state")


def sv_mode(monkeypatch, server, mode):
    """The environment sv() runs the CLI in: cold (SNAKEVISOR_WARM=0) or warm through ``server``."""
    monkeypatch.setenv("SNAKEVISOR_WARM", "1" if mode == "warm" else "0")
    monkeypatch.setenv("SNAKEVISOR_WARM_SOCKET", server.path)


def stored(root, cid):
    with open(os.path.join(root, cid, "state.json")) as f:
        return json.load(f)


def test_run_cold_and_warm_print_and_exit_the_same(tmp_path, root, server, monkeypatch):
    b = make_bundle(str(tmp_path / "b"), ["sh", "-c", PROBE], hostname="probe")
    out = {}
    for mode in ("cold", "warm"):
        sv_mode(monkeypatch, server, mode)
        r = sv(root, "run", "--bundle", b, f"r-{mode}")
        out[mode] = (r.returncode, r.stdout, r.stderr)
        assert not os.path.exists(os.path.join(root, f"r-{mode}"))
    assert out["cold"][0] == 7 and out["cold"][1].startswith("out\nprobe\n"), out["cold"]
    assert out["warm"] == out["cold"]


def _created(root, cid, bundle, tmp_path):
    pid_file = str(tmp_path / f"{cid}.pid")
    r = create(root, cid, bundle, str(tmp_path), "--pid-file", pid_file)
    assert r.returncode == 0, r.stderr
    with open(pid_file) as f:
        return int(f.read())


def test_create_state_pid_and_namespaces_as_cold(tmp_path, root, server, monkeypatch):
    b = make_bundle(str(tmp_path / "b"), ["sh", "-c", "echo started; exec sleep 1000"])
    states, pids = {}, {}
    for mode in ("cold", "warm"):
        sv_mode(monkeypatch, server, mode)
        cid = f"c-{mode}"
        pids[mode] = _created(root, cid, b, tmp_path)
        states[mode] = state(root, cid)
        assert states[mode]["status"] == "created" and states[mode]["pid"] == pids[mode] and alive(pids[mode])
    same = {k: v for k, v in states["cold"].items() if k not in ("id", "pid", "created")}
    assert {k: v for k, v in states["warm"].items() if k not in ("id", "pid", "created")} == same
    assert states["warm"].keys() == states["cold"].keys()
    # Warm: the pid is the keeper's (not the server's descendant), the sandbox the server's; the
    # namespaces engines join by /proc/PID/ns are the sandbox's.
    keeper, sandbox = pids["warm"], stored(root, "c-warm")["sandbox_pid"]
    server.watch()
    assert sandbox in descendants_of(server.proc.pid) and keeper not in descendants_of(server.proc.pid)
    assert stored(root, "c-cold")["sandbox_pid"] == 0
    for ns in ("net", "uts", "ipc", "mnt"):
        assert os.readlink(f"/proc/{keeper}/ns/{ns}") == os.readlink(f"/proc/{sandbox}/ns/{ns}"), ns
        assert os.readlink(f"/proc/{keeper}/ns/{ns}") != os.readlink(f"/proc/self/ns/{ns}"), ns
    for mode in ("cold", "warm"):
        assert sv(root, "start", f"c-{mode}").returncode == 0
        wait_for("init's output", lambda: read_out(str(tmp_path), f"c-{mode}") == "started\n", timeout=30)
        assert state(root, f"c-{mode}")["status"] == "running"
        pstree = set(json.loads(sv(root, "ps", "--format", "json", f"c-{mode}").stdout))
        assert pids[mode] in pstree and len(pstree) > 2
    sv_mode(monkeypatch, server, "warm")
    for mode in ("cold", "warm"):   # the warm verbs on either
        assert sv(root, "delete", "--force", f"c-{mode}").returncode == 0
        assert not alive(pids[mode]) and sv(root, "state", f"c-{mode}").returncode == 1
    assert not alive(sandbox)


# An engine's shim: a subreaper that runs `create --pid-file`, `start`, and waits for the pid in
# the file as its child (the create's grandchild, reparented to it); prints the wait status.
SHIM = """
import ctypes, os, subprocess, sys
ctypes.CDLL(None).prctl(36, 1, 0, 0, 0)   # PR_SET_CHILD_SUBREAPER
cmd, root, bundle, pid_file = sys.argv[1:2], sys.argv[2], sys.argv[3], sys.argv[4]
sv = [sys.executable, "-m", "snakevisor", "--root", root]
with open(os.devnull, "w") as null:
    subprocess.run(sv + ["create", "--bundle", bundle, "--pid-file", pid_file, "shimmed"], check=True,
                   stdout=null, stderr=null)
pid = int(open(pid_file).read())
subprocess.run(sv + ["start", "shimmed"], check=True)
_, status = os.waitpid(pid, 0)
subprocess.run(sv + ["delete", "shimmed"], check=True)
print(status)
"""


@pytest.mark.parametrize("mode", ("cold", "warm"))
def test_an_engine_waits_for_the_container_pid_as_its_child(tmp_path, root, server, monkeypatch, mode):
    b = make_bundle(str(tmp_path / "b"), ["sh", "-c", "sleep 0.2; exit 5"])
    sv_mode(monkeypatch, server, mode)
    r = subprocess.run([sys.executable, "-c", SHIM, "-", root, b, str(tmp_path / "pid")], env=sandbox_env(),
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert os.WEXITSTATUS(int(r.stdout)) == 5 and os.WIFEXITED(int(r.stdout)), r.stdout


# An engine's exec (containerd's task exec, docker exec): a subreaper runs `exec -d --pid-file` and
# waits for the pid in the file as its child; prints the wait status.
EXEC_SHIM = """
import ctypes, os, subprocess, sys
ctypes.CDLL(None).prctl(36, 1, 0, 0, 0)   # PR_SET_CHILD_SUBREAPER
root, cid, pid_file = sys.argv[1:4]
with open(os.devnull, "w") as null:
    subprocess.run([sys.executable, "-m", "snakevisor", "--root", root, "exec", "-d", "--pid-file", pid_file, cid,
                    "sh", "-c", "sleep 0.2; exit 4"], check=True, stdout=null, stderr=null)
_, status = os.waitpid(int(open(pid_file).read()), 0)
print(status)
"""


@pytest.mark.parametrize("mode", ("cold", "warm"))
def test_an_engine_waits_for_a_detached_exec_as_its_child(tmp_path, root, server, monkeypatch, mode):
    sv_mode(monkeypatch, server, mode)
    b = make_bundle(str(tmp_path / "b"), ["sleep", "1000"])
    _created(root, "x", b, tmp_path)
    assert sv(root, "start", "x").returncode == 0
    r = subprocess.run([sys.executable, "-c", EXEC_SHIM, root, "x", str(tmp_path / "exec.pid")], env=sandbox_env(),
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert os.WIFEXITED(int(r.stdout)) and os.WEXITSTATUS(int(r.stdout)) == 4, r.stdout
    assert sv(root, "delete", "--force", "x").returncode == 0


@pytest.mark.parametrize("mode", ("cold", "warm"))
def test_exec_and_a_signal_to_the_container_pid(tmp_path, root, server, monkeypatch, mode):
    sv_mode(monkeypatch, server, mode)
    b = make_bundle(str(tmp_path / "b"), ["sh", "-c", "trap 'echo got TERM; exit 9' TERM; echo ready; "
                                                      "while :; do sleep 0.05; done"])
    pid = _created(root, "k", b, tmp_path)
    assert sv(root, "start", "k").returncode == 0
    wait_for("init", lambda: read_out(str(tmp_path), "k") == "ready\n", timeout=30)
    os.kill(pid, signal.SIGUSR1)   # no handler in pid 1 of a namespace: not delivered, cold or warm
    r = sv(root, "exec", "k", "sh", "-c", "echo in exec; exit 3")
    assert (r.returncode, r.stdout) == (3, "in exec\n"), r.stderr
    os.kill(pid, signal.SIGTERM)   # to the container's pid: the keeper's, warm
    wait_status(root, "k", "stopped")
    assert read_out(str(tmp_path), "k") == "ready\ngot TERM\n"
    assert sv(root, "delete", "k").returncode == 0


def test_killed_keeper_or_server_leaves_nothing(tmp_path, root, monkeypatch):
    """SIGKILL of the container's pid stops it; SIGKILL of the server stops every container it
    made (their keepers kill their sandboxes); nothing is left running."""
    srv = Server()
    try:
        sv_mode(monkeypatch, srv, "warm")
        b = make_bundle(str(tmp_path / "b"), ["sleep", "1000"])
        keepers = [_created(root, cid, b, tmp_path) for cid in ("x1", "x2")]
        sandboxes = [stored(root, cid)["sandbox_pid"] for cid in ("x1", "x2")]
        tree = {p for s in sandboxes for p in [s, *descendants_of(s)]}
        os.kill(keepers[0], signal.SIGKILL)
        wait_status(root, "x1", "stopped")
        wait_for("the first sandbox to die", lambda: not alive(sandboxes[0]), timeout=30)
        srv.watch()
        srv.proc.kill()
        wait_for("the second keeper to exit", lambda: not alive(keepers[1]), timeout=30)
        wait_status(root, "x2", "stopped")
        wait_for("every sandbox process to die", lambda: not [p for p in tree if alive(p)], timeout=30)
        for cid in ("x1", "x2"):
            assert sv(root, "delete", cid).returncode == 0
    finally:
        srv.stop()


def test_a_running_server_is_used_without_asking(tmp_path, root, server, monkeypatch):
    """With no SNAKEVISOR_WARM, the OCI verbs use a server that answers; SNAKEVISOR_WARM=0 never."""
    b = make_bundle(str(tmp_path / "b"), ["true"])
    monkeypatch.setenv("SNAKEVISOR_WARM_SOCKET", server.path)
    for setting, warm in ((None, True), ("0", False)):
        if setting is None:
            monkeypatch.delenv("SNAKEVISOR_WARM", raising=False)
        else:
            monkeypatch.setenv("SNAKEVISOR_WARM", setting)
        r = create(root, "auto", b, str(tmp_path))
        assert r.returncode == 0, r.stderr
        assert bool(stored(root, "auto")["sandbox_pid"]) == warm, setting
        assert sv(root, "delete", "--force", "auto").returncode == 0


def test_run_detached_warm_stands_on_a_keeper(tmp_path, root, server, monkeypatch):
    sv_mode(monkeypatch, server, "warm")
    b = make_bundle(str(tmp_path / "b"), ["sleep", "1000"])
    with open(tmp_path / "rd.out", "w") as out:
        r = sv(root, "run", "-d", "--bundle", b, "rd", stdout=out, stderr=out)
    assert r.returncode == 0, (tmp_path / "rd.out").read_text()
    st, saved = state(root, "rd"), stored(root, "rd")
    assert st["status"] == "running" and st["pid"] == saved["pid"] and saved["sandbox_pid"]
    server.watch()
    assert saved["sandbox_pid"] in descendants_of(server.proc.pid) and alive(st["pid"])
    assert sv(root, "delete", "--force", "rd").returncode == 0
    assert not alive(st["pid"]) and not alive(saved["sandbox_pid"])


def _refusing_server(path, seen):
    """A stand-in for a server of another checkout: it refuses every request, as such a server
    does; ``seen`` counts them. Returns the listening socket (close it to stop the thread)."""
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(16)

    def serve():
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            with conn:
                try:
                    _, fds = recv_message(conn, max_fds=3)
                    for fd in fds:
                        os.close(fd)
                    send_message(conn, {"ok": False, "why": "the server runs other code"})
                    seen.append(1)
                except (OSError, ProtocolError):
                    pass
    threading.Thread(target=serve, daemon=True).start()
    return listener


def test_a_stale_or_foreign_server_means_cold_and_silent(tmp_path, root, monkeypatch):
    """A socket nobody listens on: create runs cold, says nothing, and starts a server for the
    creates to come (as ``do`` does), which replaces the stale socket and serves the next one; a
    server that refuses (another version): cold, and nothing said (engines parse the output)."""
    b = make_bundle(str(tmp_path / "b"), ["sh", "-c", "echo hi"])
    monkeypatch.delenv("SNAKEVISOR_WARM", raising=False)
    with on_demand_socket() as path:
        monkeypatch.setenv("SNAKEVISOR_WARM_SOCKET", path)
        stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        stale.bind(path)
        stale.close()
        r = create(root, "stale", b, str(tmp_path))
        assert (r.returncode, r.stderr) == (0, ""), r.stderr
        assert stored(root, "stale")["sandbox_pid"] == 0   # cold
        assert sv(root, "delete", "--force", "stale").returncode == 0
        wait_for("the server the create started", lambda: answers(path))
        r = create(root, "served", b, str(tmp_path))
        assert (r.returncode, r.stderr) == (0, ""), r.stderr
        assert stored(root, "served")["sandbox_pid"] != 0   # warm: the keeper stands for it
        assert sv(root, "delete", "--force", "served").returncode == 0
    path = str(tmp_path / "s.sock")
    monkeypatch.setenv("SNAKEVISOR_WARM_SOCKET", path)
    seen = []
    listener = _refusing_server(path, seen)
    try:
        r = create(root, "foreign", b, str(tmp_path))
        assert (r.returncode, r.stderr) == (0, ""), r.stderr
        assert stored(root, "foreign")["sandbox_pid"] == 0
        r = sv(root, "start", "foreign")   # start, state, delete: cold always (cli/light.py)
        assert (r.returncode, r.stderr) == (0, ""), r.stderr
        wait_status(root, "foreign", "stopped")
        assert read_out(str(tmp_path), "foreign") == "hi\n"
        r = sv(root, "list", "-q")   # through the stand-in
        assert (r.returncode, r.stdout, r.stderr) == (0, "foreign\n", ""), r.stderr
        r = sv(root, "delete", "foreign")
        assert (r.returncode, r.stderr) == (0, ""), r.stderr
    finally:
        listener.close()
    assert len(seen) == 2, seen


def test_failed_warm_create_says_why_and_leaves_nothing(tmp_path, root, server, monkeypatch):
    sv_mode(monkeypatch, server, "warm")
    b = make_bundle(str(tmp_path / "b"), ["/no/such/program"])
    r = create(root, "bad", b, str(tmp_path))
    assert r.returncode == 1 and "/no/such/program" in r.stderr, r.stderr
    assert not os.path.exists(os.path.join(root, "bad"))
    server.watch()
    wait_for("the server's session to end", lambda: [comm_of(p) for p in descendants_of(server.proc.pid)] == ["sv-zygote"],
             timeout=30)   # (the server keeps its Gofer zygote)


def test_client_flag_tables_match_the_parser():
    """The client finds a verb's container id without argparse: its tables must be the parser's."""
    from snakevisor.cli.main import _long_flags, build_parser
    from snakevisor.warm.client import VALUED_BUNDLE_FLAGS, VALUED_EXEC_FLAGS, oci_kind
    flags = _long_flags(build_parser())
    assert VALUED_EXEC_FLAGS == flags["exec"][1]
    assert VALUED_BUNDLE_FLAGS == flags["create"][1] == flags["run"][1]
    assert oci_kind("exec", ["-d", "c", "sh"]) == "container" and oci_kind("exec", ["c", "sh", "-d"]) == "simple"
    assert oci_kind("exec", ["--pid-file", "p", "c", "sh"]) is None
    assert oci_kind("exec", ["--detach", "--pid-file", "p", "c", "sh"]) == "container"
    assert oci_kind("run", ["-b", "-d", "c"]) == "simple"   # -d is the bundle's name there
    assert oci_kind("run", ["--detach", "c"]) == "container" and oci_kind("create", ["c"]) == "container"
    assert oci_kind("spec", []) is None and oci_kind("sandbox-boot", []) is None
