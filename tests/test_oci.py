"""The OCI runtime as containerd drives it: create, start, state, exec, ps, kill, delete, run,
many containers at once, a crashed sandbox, bad configs, hooks, console socket, runc flag spellings."""
import concurrent.futures
import fcntl
import json
import os
import signal
import socket
import struct
import subprocess
import termios
import time

import pytest

from oci_support import alive, create, host_processes, make_bundle, read_out, state, sv, wait_status

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="OCI containers here need root (namespaces, mounts)")



def test_spec_writes_runc_default(tmp_path):
    res = sv(str(tmp_path / "s"), "spec", "--bundle", str(tmp_path))
    assert res.returncode == 0, res.stderr
    spec = json.loads((tmp_path / "config.json").read_text())
    assert spec["process"]["args"] == ["sh"] and spec["root"]["path"] == "rootfs"
    assert {"type": "pid"} in spec["linux"]["namespaces"]
    again = sv(str(tmp_path / "s"), "spec", "--bundle", str(tmp_path))
    assert again.returncode == 1 and "exists" in again.stderr


def test_run_passes_output_and_exit_status(tmp_path, root):
    b = make_bundle(str(tmp_path / "b"), ["sh", "-c", "echo hello from $(hostname); exit 3"])
    res = sv(root, "run", "--bundle", b, "r1")
    assert res.returncode == 3, res.stderr
    assert res.stdout == "hello from snakevisor\n"
    assert not os.path.exists(os.path.join(root, "r1")), "run leaves no state behind"


def test_run_death_by_signal_is_128_plus_n(tmp_path, root):
    b = make_bundle(str(tmp_path / "b"), ["sh", "-c", "kill -9 $$"])
    assert sv(root, "run", "-b", b, "r2").returncode == 137


def test_run_missing_program_fails_at_create(tmp_path, root):
    b = make_bundle(str(tmp_path / "b"), ["/no/such/program"])
    res = sv(root, "run", "-b", b, "r3")
    assert res.returncode != 0 and "/no/such/program" in res.stderr
    assert not os.path.exists(os.path.join(root, "r3"))


def test_lifecycle_as_containerd_drives_it(tmp_path, root):
    b = make_bundle(str(tmp_path / "b"), ["sh", "-c", "echo started; exec sleep 1000"])
    pid_file = str(tmp_path / "c.pid")
    res = create(root, "c1", b, str(tmp_path), "--pid-file", pid_file)
    assert res.returncode == 0, res.stderr
    st = state(root, "c1")
    pid = int(open(pid_file).read())
    assert st["status"] == "created" and st["pid"] == pid and st["bundle"] == b and st["id"] == "c1"
    assert st["ociVersion"] and alive(pid)
    assert read_out(str(tmp_path), "c1") == "", "init must not run before start"
    assert sv(root, "start", "c1").returncode == 0
    assert state(root, "c1")["status"] == "running"
    deadline = time.monotonic() + 10
    while "started" not in read_out(str(tmp_path), "c1") and time.monotonic() < deadline:
        time.sleep(0.05)
    assert read_out(str(tmp_path), "c1") == "started\n"
    assert sv(root, "start", "c1").returncode == 1, "a second start is an error"
    # The table is the sandbox's view; --format json (engines': docker top, ctr task ps) the host
    # pids, as runc's: the sandbox process and the host processes below it (never, say, the host's 1).
    ps = sv(root, "ps", "--format", "json", "c1")
    assert set(json.loads(ps.stdout)) == host_processes(root, "c1")
    table = sv(root, "ps", "c1").stdout
    assert "sleep 1000" in table and "PID" in table and "     1 " in table
    listing = json.loads(sv(root, "list", "--format", "json").stdout)
    assert [(c["id"], c["status"]) for c in listing] == [("c1", "running")]
    assert "c1" in sv(root, "list").stdout
    tree = host_processes(root, "c1") - {pid}
    assert tree, "the sandbox runs the Gofer and the stubs"
    assert sv(root, "kill", "c1", "TERM").returncode == 0
    wait_status(root, "c1", "stopped")
    # As runc's: kill of a stopped container is an error in runc's words (containerd's shim reads
    # them as "already finished"), kill --all of one succeeds.
    res = sv(root, "kill", "c1")
    assert res.returncode == 1 and "container not running" in res.stderr, res.stderr
    assert sv(root, "kill", "--all", "c1", "KILL").returncode == 0
    assert sv(root, "delete", "c1").returncode == 0
    assert not os.path.exists(os.path.join(root, "c1"))
    assert not alive(pid) and not any(alive(p) for p in tree)
    assert sv(root, "state", "c1").returncode == 1


def test_exec_into_running_container(tmp_path, root):
    b = make_bundle(str(tmp_path / "b"), ["sleep", "1000"])
    assert create(root, "e1", b, str(tmp_path)).returncode == 0
    assert sv(root, "start", "e1").returncode == 0
    res = sv(root, "exec", "e1", "/bin/sh", "-c", "echo $$; ps")
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    assert lines[0].isdigit() and int(lines[0]) > 1
    assert any("sleep 1000" in line for line in lines[1:]), res.stdout
    assert sv(root, "exec", "e1", "sh", "-c", "exit 7").returncode == 7
    res = sv(root, "exec", "--env", "FOO=bar", "--cwd", "/tmp", "e1", "sh", "-c", 'echo "$FOO $(pwd)"')
    assert res.stdout == "bar /tmp\n"
    proc = {"args": ["sh", "-c", "id -u; cat"], "cwd": "/", "env": ["PATH=/bin"], "user": {"uid": 1000, "gid": 1000}}
    (tmp_path / "p.json").write_text(json.dumps(proc))
    res = sv(root, "exec", "--process", str(tmp_path / "p.json"), "e1", input="through stdin\n")
    assert res.returncode == 0, res.stderr
    assert res.stdout == "1000\nthrough stdin\n"
    res = sv(root, "exec", "e1", "/no/such")
    assert res.returncode != 0 and "/no/such" in res.stderr
    assert sv(root, "delete", "e1").returncode == 1, "a running container needs --force"
    assert sv(root, "delete", "--force", "e1").returncode == 0


def test_exec_detached_pid_file(tmp_path, root):
    b = make_bundle(str(tmp_path / "b"), ["sleep", "1000"])
    assert create(root, "d1", b, str(tmp_path)).returncode == 0
    assert sv(root, "start", "d1").returncode == 0
    out = tmp_path / "exec.out"
    with open(out, "w") as f:
        res = sv(root, "exec", "--detach", "--pid-file", str(tmp_path / "e.pid"), "d1", "sh", "-c",
                 "echo detached", stdout=f, stderr=subprocess.STDOUT)
    assert res.returncode == 0
    waiter = int((tmp_path / "e.pid").read_text())
    deadline = time.monotonic() + 10
    while alive(waiter) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert out.read_text() == "detached\n"
    assert sv(root, "delete", "-f", "d1").returncode == 0


def test_many_containers_at_once(tmp_path, root):
    b = make_bundle(str(tmp_path / "b"), ["sh", "-c", "echo up; exec sleep 1000"])
    ids = [f"p{i}" for i in range(5)]

    def lifecycle(cid):
        r = create(root, cid, b, str(tmp_path))
        assert r.returncode == 0, r.stderr
        r = sv(root, "start", cid)
        assert r.returncode == 0, r.stderr
        return state(root, cid)
    with concurrent.futures.ThreadPoolExecutor(5) as pool:
        states = list(pool.map(lifecycle, ids))
    assert all(s["status"] == "running" for s in states)
    assert len({s["pid"] for s in states}) == 5
    listing = json.loads(sv(root, "list", "--format", "json").stdout)
    assert sorted(c["id"] for c in listing) == ids
    with concurrent.futures.ThreadPoolExecutor(5) as pool:
        assert all(r.returncode == 0 for r in pool.map(lambda c: sv(root, "kill", c, "KILL"), ids))
    for cid in ids:
        wait_status(root, cid, "stopped")
        assert sv(root, "delete", cid).returncode == 0
    assert not any(alive(s["pid"]) for s in states)
    assert json.loads(sv(root, "list", "--format", "json").stdout) == []


def test_crashed_sandbox_is_stopped_and_delete_force_cleans(tmp_path, root):
    b = make_bundle(str(tmp_path / "b"), ["sleep", "1000"])
    assert create(root, "x1", b, str(tmp_path)).returncode == 0
    assert sv(root, "start", "x1").returncode == 0
    pid = state(root, "x1")["pid"]
    tree = host_processes(root, "x1") - {pid}
    os.kill(pid, signal.SIGKILL)
    wait_status(root, "x1", "stopped")
    assert sv(root, "delete", "--force", "x1").returncode == 0
    assert not os.path.exists(os.path.join(root, "x1"))
    time.sleep(0.2)
    assert not alive(pid) and not [p for p in tree if alive(p)]
    stubs = subprocess.run(["pgrep", "-f", "snakevisor-stub"], capture_output=True, text=True).stdout.split()
    assert not set(map(int, stubs)) & set(tree)


def test_kill_before_start_and_delete_created(tmp_path, root):
    b = make_bundle(str(tmp_path / "b"), ["sleep", "1000"])
    assert create(root, "k1", b, str(tmp_path)).returncode == 0
    assert sv(root, "kill", "k1", "9").returncode == 0
    wait_status(root, "k1", "stopped")
    assert sv(root, "delete", "k1").returncode == 0
    assert create(root, "k2", b, str(tmp_path)).returncode == 0
    pid = state(root, "k2")["pid"]
    assert sv(root, "delete", "k2").returncode == 0, "a created container is deleted without --force"
    assert not alive(pid)


def test_duplicate_and_bad_ids(tmp_path, root):
    b = make_bundle(str(tmp_path / "b"), ["sleep", "1000"])
    assert create(root, "dup", b, str(tmp_path)).returncode == 0
    res = create(root, "dup", b, str(tmp_path))
    assert res.returncode == 1 and "exists" in res.stderr
    assert sv(root, "delete", "dup").returncode == 0
    res = create(root, "../evil", b, str(tmp_path))
    assert res.returncode == 1 and "invalid container id" in res.stderr


@pytest.mark.parametrize("mutate, field", [
    (lambda s: s["process"].pop("args"), "process.args"),
    (lambda s: s["process"].__setitem__("args", "sh -c true"), "process.args"),
    (lambda s: s["process"].__setitem__("args", []), "process.args"),
    (lambda s: s["process"]["user"].__setitem__("uid", "0"), "process.user.uid"),
    (lambda s: s["process"].__setitem__("cwd", "relative"), "process.cwd"),
    (lambda s: s["process"]["rlimits"][0].__setitem__("type", "RLIMIT_BOGUS"), "process.rlimits[0].type"),
    (lambda s: s["mounts"][0].__setitem__("destination", "proc"), "mounts[0].destination"),
    (lambda s: s.__setitem__("hostname", 7), "hostname"),
    (lambda s: s["root"].pop("path"), "root.path"),
    (lambda s: s["linux"].__setitem__("resources", {"memory": {"limit": "lots"}}), "linux.resources.memory.limit"),
])
def test_bad_config_names_the_field(tmp_path, root, mutate, field):
    b = make_bundle(str(tmp_path / "b"), ["true"])
    spec = json.loads(open(os.path.join(b, "config.json")).read())
    mutate(spec)
    with open(os.path.join(b, "config.json"), "w") as f:
        json.dump(spec, f)
    res = create(root, "bad", b, str(tmp_path))
    assert res.returncode == 1
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and field in lines[0], res.stderr
    assert not os.path.exists(os.path.join(root, "bad"))


def test_hooks_get_the_state_on_stdin(tmp_path, root):
    out = tmp_path / "hooks"
    out.mkdir()

    def hook(name):
        return {"path": "/bin/sh", "args": ["sh", "-c", f"cat > {out}/{name}"]}
    b = make_bundle(str(tmp_path / "b"), ["sleep", "1000"],
                    hooks={"prestart": [hook("prestart")], "createRuntime": [hook("createRuntime")],
                           "poststart": [hook("poststart")], "poststop": [hook("poststop")]})
    assert create(root, "h1", b, str(tmp_path)).returncode == 0
    pre = json.loads((out / "prestart").read_text())
    assert pre["id"] == "h1" and pre["pid"] == state(root, "h1")["pid"] and pre["bundle"] == b
    assert (out / "createRuntime").exists() and not (out / "poststart").exists()
    assert sv(root, "start", "h1").returncode == 0
    assert json.loads((out / "poststart").read_text())["status"] == "running"
    assert sv(root, "delete", "--force", "h1").returncode == 0
    assert json.loads((out / "poststop").read_text())["status"] == "stopped"


def test_failing_prestart_hook_fails_create(tmp_path, root):
    b = make_bundle(str(tmp_path / "b"), ["sleep", "1000"],
                    hooks={"prestart": [{"path": "/bin/false"}]})
    res = create(root, "h2", b, str(tmp_path))
    assert res.returncode == 1 and "prestart" in res.stderr
    assert not os.path.exists(os.path.join(root, "h2"))


def _create_with_console(tmp_path, root, cid, args):
    """`create --console-socket` of a container running ``args`` on a terminal; the pty master
    the runtime sent (non-blocking)."""
    b = make_bundle(str(tmp_path / "b"), args, terminal=True)
    sock_path = str(tmp_path / "console.sock")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(sock_path)
    listener.listen(1)
    res = create(root, cid, b, str(tmp_path), "--console-socket", sock_path)
    assert res.returncode == 0, res.stderr
    conn, _ = listener.accept()
    _, fds, _, _ = socket.recv_fds(conn, 1024, 1)
    conn.close()
    listener.close()
    assert len(fds) == 1 and os.isatty(fds[0])
    os.set_blocking(fds[0], False)
    return fds[0]


def _read_until(fd, want, got=b"", timeout=10):
    deadline = time.monotonic() + timeout
    while want not in got and time.monotonic() < deadline:
        try:
            got += os.read(fd, 1024)
        except BlockingIOError:
            time.sleep(0.05)
    return got


def test_console_socket_gets_the_pty_master(tmp_path, root):
    master = _create_with_console(tmp_path, root, "t1", ["sh", "-c", "test -t 0 && test -t 1 && echo on a tty; sleep 1000"])
    assert sv(root, "start", "t1").returncode == 0
    assert b"on a tty" in _read_until(master, b"on a tty")
    os.close(master)
    assert sv(root, "delete", "-f", "t1").returncode == 0


def test_console_is_a_terminal_of_the_sandboxes_that_follows_resizes(tmp_path, root):
    """As an engine drives it (podman run -it): the container's terminal is a pty of the Sentry's
    (/dev/pts/0, job control and line editing inside), bridged to the console; the size the engine
    gives the console after create, and a resize after start, reach it (SIGWINCH to the sandbox)."""
    script = ('tty; stty size; read x; echo "got $x"; '
              'while [ "$(stty size)" != "30 100" ]; do sleep 0.05; done; echo resized')
    master = _create_with_console(tmp_path, root, "t2", ["sh", "-c", script])
    try:
        fcntl.ioctl(master, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
        assert sv(root, "start", "t2").returncode == 0
        got = _read_until(master, b"24 80\r\n")
        assert got == b"/dev/pts/0\r\n24 80\r\n", got
        os.write(master, b"hello\r")
        got = _read_until(master, b"got hello\r\n")
        assert got == b"hello\r\ngot hello\r\n", got   # echoed by the Sentry's line discipline
        fcntl.ioctl(master, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))
        assert _read_until(master, b"resized\r\n") == b"resized\r\n"
        wait_status(root, "t2", "stopped")
    finally:
        os.close(master)
        sv(root, "delete", "-f", "t2")


def test_runc_flag_spellings_and_unknown_flags(tmp_path, root):
    b = make_bundle(str(tmp_path / "b"), ["sh", "-c", "exit 4"])
    log = tmp_path / "log.json"
    res = sv(root, "--systemd-cgroup", "-log", str(log), "-log-format", "json", "run", "-bundle", b,
             "--no-new-keyring", "--some-future-flag", "f1")
    assert res.returncode == 4, res.stderr
    res = sv(root, "-log", str(log), "-log-format", "json", "start", "nonexistent")
    assert res.returncode == 1
    entries = [json.loads(line) for line in log.read_text().splitlines()]
    assert any(e["level"] == "error" and "nonexistent" in e["msg"] for e in entries)


def test_default_root_as_runc_chooses(monkeypatch):
    """Without --root: /run/snakevisor for root; $XDG_RUNTIME_DIR/snakevisor for another user, and for
    uid 0 of a user namespace (rootless Podman's) unless $USER is root (test_podman_rootless.py runs it)."""
    from snakevisor.sandbox import state
    monkeypatch.setattr(state, "_in_user_namespace", lambda: False)
    assert state.default_root({"XDG_RUNTIME_DIR": "/run/user/5"}) == "/run/snakevisor"
    monkeypatch.setattr(state, "_in_user_namespace", lambda: True)
    assert state.default_root({"XDG_RUNTIME_DIR": "/run/user/5", "USER": "me"}) == "/run/user/5/snakevisor"
    assert state.default_root({"XDG_RUNTIME_DIR": "/run/user/5", "USER": "root"}) == "/run/snakevisor"
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    assert state.default_root({"XDG_RUNTIME_DIR": "/run/user/5", "USER": "root"}) == "/run/user/5/snakevisor"
    assert state.default_root({}) == "/run/snakevisor"


def test_joined_uts_namespace_gives_its_hostname(tmp_path, root):
    """A container told to join another's UTS namespace by path (as a pod's containers join their
    pause container's, with no hostname of their own) has that container's hostname, as under runc;
    one with a namespace of its own and no hostname has its id."""
    from snakevisor.oci.spec import default_spec
    a = make_bundle(str(tmp_path / "a"), ["sleep", "1000"], hostname="the-pod")
    assert create(root, "uts-a", a, str(tmp_path)).returncode == 0
    try:
        linux = default_spec()["linux"]
        uts = {"type": "uts", "path": f"/proc/{state(root, 'uts-a')['pid']}/ns/uts"}
        linux["namespaces"] = [ns if ns["type"] != "uts" else uts for ns in linux["namespaces"]]
        b = make_bundle(str(tmp_path / "b"), ["hostname"], hostname=None, linux=linux)
        res = sv(root, "run", "--bundle", b, "uts-b")
        assert (res.returncode, res.stdout) == (0, "the-pod\n"), res.stderr
    finally:
        assert sv(root, "delete", "--force", "uts-a").returncode == 0
    c = make_bundle(str(tmp_path / "c"), ["hostname"], hostname=None)
    res = sv(root, "run", "--bundle", c, "uts-c")
    assert (res.returncode, res.stdout) == (0, "uts-c\n"), res.stderr


def test_no_etc_files_of_our_own_under_the_configs_network(tmp_path, root):
    """An image without /etc/hosts or /etc/resolv.conf keeps none under the config's network, as
    under runc (engines bind their own); with the global --network (snakevisor's networking, as
    the Python API asks for it) the sandbox makes them work."""
    script = "ls /etc; cat /etc/hosts 2>/dev/null | grep -c localhost"
    res = sv(root, "run", "--bundle", make_bundle(str(tmp_path / "a"), ["sh", "-c", script]), "etc-a")
    assert res.stdout == "passwd\n0\n", res.stderr
    res = sv(root, "--network", "none", "run", "--bundle", make_bundle(str(tmp_path / "b"), ["sh", "-c", script]),
             "etc-b")
    assert res.stdout == "hosts\npasswd\nresolv.conf\n2\n", res.stderr   # localhost, ip6-localhost
