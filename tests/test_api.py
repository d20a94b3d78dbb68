"""The embeddable Python API, snakevisor.Sandbox: runs compared with subprocess natively, stdin,
env and cwd, state across runs, files in and out, timeouts, memory and pids limits, volumes,
streaming, and teardown (close, with, exceptions, a killed caller) leaving nothing behind."""
import os
import re
import signal
import subprocess
import sys
import time

import pytest

from harness import REPO, deadline
from do_support import descendants_of
from oci_support import alive

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="sandboxes here need root (namespaces, mounts)")

import snakevisor  # noqa: E402

BASIC = ["/bin/sh", "-c", r"echo out; echo err >&2; printf '\000\377\r\n'; echo $#; exit 3", "sh", "a b"]


@pytest.fixture(scope="module")
def sb():
    with snakevisor.Sandbox(timeout=120) as box:
        yield box


def wait_until(cond, timeout=60):
    """Poll ``cond`` (a check of state we cannot wait on directly) until true or ``timeout``."""
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def sandbox_pids(box):
    """Host pids of the sandbox: its watcher, its pid 1 and everything under that."""
    return [box.watcher_pid, box.pid] + descendants_of(box.pid)


def test_import_is_cheap():
    code = "import sys, snakevisor; print('snakevisor.sandbox.api' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True)
    assert out.stdout == "False\n"


def test_run_matches_subprocess(sb):
    native = subprocess.run(BASIC, capture_output=True, stdin=subprocess.DEVNULL)
    res = sb.run(BASIC)
    assert (res.stdout, res.stderr, res.exit_code) == (native.stdout, native.stderr, native.returncode)
    assert res.stdout == b"out\n\0\xff\r\n1\n" and res.signal is None and not res.timed_out
    native = subprocess.run(["/bin/sh", "-c", "kill -TERM $$"], capture_output=True)
    res = sb.run(["/bin/sh", "-c", "kill -TERM $$"])
    assert (res.exit_code, res.signal) == (native.returncode, signal.SIGTERM) == (-15, 15)
    with pytest.raises(FileNotFoundError):
        sb.run(["/no/such/program"])
    with pytest.raises(subprocess.CalledProcessError):
        sb.run(["false"]).check()
    # A string is one program, as subprocess takes it without a shell (it ran "e" for "echo").
    assert sb.run("echo").stdout == subprocess.run("echo", capture_output=True).stdout == b"\n"
    with pytest.raises(ValueError):
        sb.run([])
    for bad in ({"pids": -1}, {"memory": -1}):   # as the CLI refuses them; they meant "no limit"
        with pytest.raises(ValueError):
            snakevisor.Sandbox(**bad)


def test_cpu_times_reported(sb):
    res = sb.run(["/bin/sh", "-c", "i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done; /bin/true"])
    assert res.exit_code == 0 and res.user_time + res.system_time > 0


def test_input(sb):
    data = os.urandom(1 << 20)   # more than a pipe holds: written as the process reads
    res = sb.run(["cat"], input=data)
    assert res.exit_code == 0 and res.stdout == data
    assert sb.run(["wc", "-c"], input=b"").stdout.strip() == b"0"
    assert sb.run(["cat"]).stdout == b"", "no input: stdin is /dev/null"


def test_env_and_cwd(sb):
    res = sb.run(["/bin/sh", "-c", 'echo "$FOO|$PATH"; pwd'], env={"FOO": "bar baz"}, cwd="/etc")
    assert res.stdout.decode().split("\n")[1] == "/etc"
    foo, path = res.stdout.decode().split("\n")[0].split("|")
    assert foo == "bar baz" and "/usr/bin" in path
    assert b"FOO" not in sb.run(["env"]).stdout, "env is per run"
    with pytest.raises(FileNotFoundError):
        sb.run(["pwd"], cwd="/no/such/dir")


def test_spawn_errors_are_the_ones_subprocess_raises(sb):
    """A program or cwd that cannot be used raises what subprocess raises for it natively, by the
    sandbox's errno (a PermissionError and a NotADirectoryError were SandboxErrors before)."""
    for argv, cwd in ((["/etc/passwd"], None), (["pwd"], "/etc/passwd"), (["/no/such/program"], None),
                      (["pwd"], "/no/such/dir")):
        with pytest.raises(OSError) as native:
            subprocess.run(argv, cwd=cwd)
        with pytest.raises(OSError) as boxed:
            sb.run(argv, cwd=cwd)
        assert (type(boxed.value), boxed.value.errno) == (type(native.value), native.value.errno), (argv, cwd)


def test_runs_share_state(sb, tmp_path):
    marker = f"/etc/snakevisor-api-{os.getpid()}"
    assert sb.run(["/bin/sh", "-c", f"echo first > {marker}; echo tmp > /tmp/shared"]).exit_code == 0
    assert sb.run(["cat", marker, "/tmp/shared"]).stdout == b"first\ntmp\n"
    assert not os.path.exists(marker), "the host's root is untouched"
    bg = sb.run(["/bin/sh", "-c", "sleep 1000 >/dev/null 2>&1 & echo $!"])
    pid = int(bg.stdout)
    assert any(p["pid"] == pid for p in sb.ps()), "a background process outlives its run"
    assert sb.run(["kill", "-9", str(pid)]).exit_code == 0


def test_put_get_file_roundtrip(sb):
    data = bytes(range(256)) * 64 + os.urandom(300_000)
    sb.put_file("/tmp/blob.bin", data)
    assert sb.get_file("/tmp/blob.bin") == data
    assert sb.run(["wc", "-c", "/tmp/blob.bin"]).stdout.split()[0] == str(len(data)).encode()
    sb.put_file("/tmp/name with spaces", "text\n", mode=0o755)
    assert sb.get_file("/tmp/name with spaces") == b"text\n"
    assert sb.run(["stat", "-c", "%a", "/tmp/name with spaces"]).stdout == b"755\n"
    sb.put_file("/tmp/empty", b"")
    assert sb.get_file("/tmp/empty") == b""
    with pytest.raises(FileNotFoundError):
        sb.get_file("/tmp/no-such-file")
    with pytest.raises(OSError):
        sb.put_file("/no/such/dir/f", b"x")


def test_timeout_kills_process_group(sb):
    res = sb.run(["/bin/sh", "-c", "sleep 1000 >/dev/null & echo $!; sleep 1000"], timeout=2)
    assert res.timed_out and res.signal == signal.SIGKILL and res.exit_code == -9
    child = int(res.stdout)
    live = [p["pid"] for p in sb.ps() if p["state"] != "Z"]   # a zombie until init reaps it
    assert child not in live, "the run's background child died with it"
    assert sb.run(["echo", "still here"]).stdout == b"still here\n"
    res = sb.run(["/bin/sh", "-c", "exit 4"], timeout=60)
    assert (res.exit_code, res.timed_out) == (4, False)


def test_memory_limit():
    with snakevisor.Sandbox(memory="96m") as box:
        small = box.run(["python3", "-c", "b = bytearray(16 << 20); print(len(b))"])
        assert small.exit_code == 0 and small.stdout == b"16777216\n", small.stderr
        big = box.run(["python3", "-c", "b = bytearray(256 << 20); print(len(b))"])
        assert big.exit_code != 0 and big.stdout == b""
        assert b"MemoryError" in big.stderr or big.signal is not None, big.stderr
        assert box.run(["echo", "ok"]).stdout == b"ok\n"


def test_fork_bomb_under_pids_limit():
    # Bounded as a whole: a bomb that starved the Sentry would hang a call or the close.
    with deadline(180, "the fork bomb test"), snakevisor.Sandbox(pids=40) as box:
        res = box.run(["/bin/sh", "-c", "b() { b | b & }; b; sleep 1000"], timeout=10)
        assert res.timed_out
        assert box.run(["echo", "alive"]).stdout == b"alive\n"
        assert len([p for p in box.ps() if p["state"] != "Z"]) <= 2, box.ps()   # init, its sleep: no bomb
        full = box.run(["/bin/sh", "-c", "for i in $(seq 60); do sleep 1000 & done; wait"], timeout=5)
        assert b"fork" in full.stderr.lower() or b"resource" in full.stderr.lower(), full.stderr


def test_volume_writes_stay_inside(tmp_path):
    vol = tmp_path / "vol"
    vol.mkdir()
    (vol / "given").write_text("from host\n")
    ro = tmp_path / "ro"
    ro.mkdir()
    (ro / "f").write_text("read only\n")
    hostname = open("/etc/hostname", "rb").read()
    with snakevisor.Sandbox(volumes=[f"{vol}:/data", (str(ro), "/ro", "ro")]) as box:
        res = box.run(["/bin/sh", "-c", "cat /data/given /ro/f; echo made > /data/made; echo evil > /data/../escape;"
                       " echo evil > /etc/hostname; echo evil > /ro/f; cat /etc/hostname"])
        assert res.stdout == b"from host\nread only\nevil\n"
        assert b"Read-only file system" in res.stderr
        assert box.get_file("/ro/f") == b"read only\n"
    assert (vol / "made").read_text() == "made\n"
    assert (ro / "f").read_text() == "read only\n"
    assert not (tmp_path / "escape").exists() and not os.path.exists("/escape")
    assert open("/etc/hostname", "rb").read() == hostname


def test_popen_streams(sb):
    with sb.popen(["/bin/sh", "-c", "while read x; do echo got $x; done; echo done >&2"], stdin=subprocess.PIPE) as p:
        for i in range(3):   # each line comes back before the next is sent: no buffering in between
            p.stdin.write(f"{i}\n".encode())
            p.stdin.flush()
            assert p.stdout.readline() == f"got {i}\n".encode()
        p.stdin.close()
        assert p.stdout.read() == b"" and p.stderr.read() == b"done\n"
        assert p.wait(60) == 0
    with sb.popen(["/bin/sh", "-c", "echo one; echo two >&2; echo three"], stderr=subprocess.STDOUT) as p:
        assert list(p) == [b"one\n", b"two\n", b"three\n"]
    with sb.popen(["sleep", "1000"]) as p:
        assert p.poll() is None
        with pytest.raises(subprocess.TimeoutExpired):
            p.wait(0.1)
        p.kill()
        assert p.wait(60) == -9 and p.signal == signal.SIGKILL


def test_ps_lists_more_processes_than_one_control_message_holds():
    """40 shells with a 3000-byte argument each make a process list larger than one control
    message (64 KiB): ps pages through it ("control message too large" before)."""
    pad = "x" * 3000
    with snakevisor.Sandbox(pids=200) as box:
        script = "for i in $(seq 40); do (sleep 1000; :) & done; echo ready; wait"
        with box.popen(["/bin/sh", "-c", script, "sh", pad]) as p:
            assert p.stdout.readline() == b"ready\n"
            deadline = time.monotonic() + 60
            while True:   # (each subshell forks its sleep in its own time: "ready" waits for none)
                procs = box.ps()
                if len([q for q in procs if q["cmd"] == "sleep 1000"]) == 40 or time.monotonic() > deadline:
                    break
                time.sleep(0.05)
            assert len([q for q in procs if q["cmd"].endswith(pad)]) == 41, [q["cmd"][:40] for q in procs]
            assert len([q for q in procs if q["cmd"] == "sleep 1000"]) == 40
            assert len({q["pid"] for q in procs}) == len(procs)
            p.kill()


def test_close_leaves_nothing():
    box = snakevisor.Sandbox()
    assert box.run(["true"]).exit_code == 0
    pids, path = sandbox_pids(box), box.dir
    assert len(pids) >= 3 and all(alive(p) for p in pids[:2]) and os.path.isdir(path)
    box.close()
    box.close()
    assert not any(alive(p) for p in pids) and not os.path.exists(path)
    with pytest.raises(snakevisor.SandboxError):
        box.run(["true"])


def test_exception_in_with_leaves_nothing():
    with pytest.raises(ZeroDivisionError):
        with snakevisor.Sandbox() as box:
            pids, path = sandbox_pids(box), box.dir
            1 / 0
    assert not any(alive(p) for p in pids) and not os.path.exists(path)


def test_killed_caller_takes_sandbox_along(tmp_path):
    code = ("import os, sys, snakevisor\n"
            "sb = snakevisor.Sandbox()\n"
            "sb.run(['/bin/sh', '-c', 'sleep 1000 >/dev/null 2>&1 & echo started'])\n"
            "print(sb.watcher_pid, sb.pid, sb.dir, flush=True)\n"
            "sys.stdin.read()\n")
    caller = subprocess.Popen([sys.executable, "-c", code], cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        watcher, pid, path = caller.stdout.readline().split()
        watcher, pid = int(watcher), int(pid)
        pids = [watcher, pid] + descendants_of(pid)
        assert all(alive(p) for p in pids[:2]) and len(pids) >= 3
    finally:
        caller.kill()
        caller.wait()
    assert wait_until(lambda: not any(alive(p) for p in pids)), [p for p in pids if alive(p)]
    assert wait_until(lambda: not os.path.exists(path)), "the watcher removes the directory"


def test_readme_example_runs_verbatim():
    text = open(os.path.join(REPO, "README.md")).read()
    section = text[text.index("## Python API"):]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    exec(compile(code, "README.md", "exec"), {})


def test_cpu_time_limits_each_run():
    """cpu_time=N is each run's RLIMIT_CPU (soft and hard): a run spinning in user code is killed
    (SIGKILL, the hard limit's) after about N seconds of CPU; one that sleeps is not limited."""
    with snakevisor.Sandbox(cpu_time=1, timeout=120) as box:
        res = box.run(["/bin/sh", "-c", "while :; do :; done"])
        assert res.signal == signal.SIGKILL, (res.exit_code, res.stderr)
        assert box.run(["/bin/sh", "-c", "sleep 1.5; echo slept"]).stdout == b"slept\n"
