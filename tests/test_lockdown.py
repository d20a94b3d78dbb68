"""The locked-down sandbox of an OCI container: namespaces, the empty root, the Sentry's seccomp
filter (and that programs still run under it), and the limits and identity from config.json;
and the same lock-down of the Sentry of `snakevisor do`."""
import os
import shutil
import signal
import subprocess
import tempfile

import pytest

from harness import BUILD_DIR, compile_c, exit_code, run, sandbox_cmd, sandbox_env, snakevisor_cmd
from snakevisor.hostos import readable
from do_support import sentry_of, status_of, stubs_below
from oci_support import create, make_bundle, state, sv

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="OCI containers here need root (namespaces, mounts)")

# Programs that do not depend on the host's files (the container's root is busybox's).
DIFFERENTIAL = ("pipe_semantics", "poll_semantics", "unix_sockets", "timeuname", "memory", "tmpfs", "devices",
                "tcp_udp")



@pytest.fixture(scope="module")
def progs():
    """A host directory of static test programs, bind-mounted read-only at /progs in containers."""
    d = tempfile.mkdtemp(prefix="oci-progs-", dir=os.path.dirname(BUILD_DIR) if os.path.isdir(
        os.path.dirname(BUILD_DIR)) else None)
    for name in DIFFERENTIAL + ("oci_alloc",):
        shutil.copy2(compile_c(name, static=True), os.path.join(d, name))
    yield d
    shutil.rmtree(d, ignore_errors=True)


def progs_mount(progs):
    return {"destination": "/progs", "type": "bind", "source": progs, "options": ["rbind", "ro"]}


@pytest.fixture
def running(tmp_path, root):
    b = make_bundle(str(tmp_path / "b"), ["sleep", "1000"])
    assert create(root, "l1", b, str(tmp_path)).returncode == 0
    assert sv(root, "start", "l1").returncode == 0
    yield state(root, "l1")["pid"]
    sv(root, "delete", "--force", "l1")


def test_sentry_runs_under_seccomp_and_open_is_denied(root, running):
    with open(f"/proc/{running}/status") as f:
        status = dict(line.split(":", 1) for line in f.read().splitlines() if ":" in line)
    assert status["Seccomp"].strip() == "2"
    assert status["NoNewPrivs"].strip() == "1"
    res = sv(root, "debug", "l1", "open", "/proc/self/status")
    assert res.returncode == 0, res.stderr
    assert int(res.stdout) == 1, "open(2) from the Sentry after boot must fail with EPERM"
    # The sandbox still serves: exec works under the filter.
    assert sv(root, "exec", "l1", "echo", "still here").stdout == "still here\n"


def test_sentry_has_an_empty_root_and_its_own_namespaces(root, running):
    assert sorted(os.listdir(f"/proc/{running}/root")) == ["proc"]
    for ns in ("mnt", "pid", "ipc", "uts", "net"):
        assert os.readlink(f"/proc/{running}/ns/{ns}") != os.readlink(f"/proc/self/ns/{ns}"), ns
    with open(f"/proc/{running}/status") as f:
        nspid = [line for line in f if line.startswith("NSpid:")][0].split()
    assert nspid[-1] == "1", "the sandbox process is init of its PID namespace"


def test_without_seccomp_the_open_succeeds(tmp_path, root):
    """The test above can fail: with the filter off the same request opens the file."""
    b = make_bundle(str(tmp_path / "b"), ["sleep", "1000"])
    out = open(tmp_path / "o", "w")
    res = sv(root, "create", "--no-seccomp", "-b", b, "ns1", stdout=out, stderr=subprocess.STDOUT)
    out.close()
    assert res.returncode == 0
    try:
        assert int(sv(root, "debug", "ns1", "open", "/proc/self/status").stdout) == 0
    finally:
        sv(root, "delete", "--force", "ns1")


@pytest.mark.parametrize("name", DIFFERENTIAL)
def test_programs_run_under_the_filter(tmp_path, root, progs, name):
    native = subprocess.run([os.path.join(progs, name)], capture_output=True, timeout=60, cwd="/",
                            env={"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                                 "TERM": "xterm"})
    # Not as pid 1 (init ignores signals it has no handler for): under sh, which waits for it.
    # A tmpfs /tmp as the programs need it: the root is read-only and, as under runc, nothing else is mounted.
    b = make_bundle(str(tmp_path / "b"), ["sh", "-c", f"/progs/{name}; exit $?"], mounts=[
        {"destination": "/proc", "type": "proc", "source": "proc"},
        {"destination": "/tmp", "type": "tmpfs", "source": "tmpfs"}, progs_mount(progs)])
    boxed = run(snakevisor_cmd("--root", root, "run", "-b", b, name), timeout=120, env=sandbox_env())
    assert boxed.returncode == exit_code(native.returncode), boxed.stderr.decode(errors="replace")[-2000:]
    assert boxed.stdout == native.stdout


def test_memory_limit_gives_enomem(tmp_path, root, progs):
    b = make_bundle(str(tmp_path / "b"), ["/progs/oci_alloc"], mounts=[progs_mount(progs)],
                    linux={"resources": {"memory": {"limit": 64 << 20}}, "namespaces": [{"type": "pid"}]})
    res = sv(root, "run", "-b", b, "m1", timeout=120)
    assert res.returncode == 0, res.stdout + res.stderr
    mib = int(res.stdout.split()[2])
    assert 16 <= mib < 64 and "Cannot allocate memory" in res.stdout, res.stdout


@pytest.mark.parametrize("limit, forks", [(10, False), (100, True)])
def test_pids_limit_stops_a_fork_bomb(tmp_path, root, limit, forks):
    script = "for i in $(seq 30); do sleep 5 & done; ps | grep -c ' sleep 5$'; kill $(jobs -p)"
    b = make_bundle(str(tmp_path / "b"), ["sh", "-c", script],
                    linux={"resources": {"pids": {"limit": limit}}, "namespaces": [{"type": "pid"}]})
    res = sv(root, "run", "-b", b, "f1", timeout=120)
    if forks:
        assert res.stdout == "30\n" and res.returncode == 0, res.stderr
    else:   # busybox sh gives up at the first fork refused with EAGAIN
        assert "can't fork: Resource temporarily unavailable" in res.stderr and res.returncode == 2


def test_identity_rlimits_hostname_from_config(tmp_path, root):
    b = make_bundle(str(tmp_path / "b"), ["sh", "-c", "id; ulimit -n; hostname; cat /proc/self/status | grep CapEff"],
                    process_user={"uid": 1000, "gid": 1000, "additionalGids": [5, 6]},
                    process_rlimits=[{"type": "RLIMIT_NOFILE", "soft": 123, "hard": 456}], hostname="boxy")
    res = sv(root, "run", "-b", b, "i1")
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    assert lines[0].startswith("uid=1000 gid=1000 groups=") and "5" in lines[0] and "6" in lines[0]
    assert lines[1:3] == ["123", "boxy"]
    assert lines[3].split()[1] == "0000000000000000", "a non-root user without ambient caps has none"


def test_capabilities_of_root_follow_config(tmp_path, root):
    b = make_bundle(str(tmp_path / "b"), ["sh", "-c", "grep -E 'Cap(Eff|Bnd)' /proc/self/status"])
    res = sv(root, "run", "-b", b, "cap1")
    caps = dict(line.split() for line in res.stdout.strip().splitlines())
    # runc's default: CAP_AUDIT_WRITE (29), CAP_KILL (5), CAP_NET_BIND_SERVICE (10)
    want = f"{(1 << 29) | (1 << 5) | (1 << 10):016x}"
    assert caps == {"CapEff:": want, "CapBnd:": want}, res.stdout + res.stderr


def test_tmpfs_and_bind_mounts(tmp_path, root):
    host = tmp_path / "vol"
    host.mkdir()
    (host / "f").write_text("from the host\n")
    script = ("stat -c %a /scratch; cat /vol/f; echo new > /vol/g; cat /ro/f; "
              "echo x > /ro/h || echo ro refused; dd if=/dev/zero of=/scratch/big bs=1024 count=2048 2>&1 | tail -1")
    b = make_bundle(str(tmp_path / "b"), ["sh", "-c", script], mounts=[
        {"destination": "/scratch", "type": "tmpfs", "source": "tmpfs", "options": ["mode=700", "size=1m"]},
        {"destination": "/vol", "type": "bind", "source": str(host), "options": ["rbind", "rw"]},
        {"destination": "/ro", "type": "bind", "source": str(host), "options": ["rbind", "ro"]},
        {"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ["ro"]},
        {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue"}])
    res = sv(root, "run", "-b", b, "v1")
    lines = res.stdout.splitlines()
    assert lines[:3] == ["700", "from the host", "from the host"], res.stdout + res.stderr
    assert "ro refused" in lines
    assert (host / "g").read_text() == "new\n"
    assert not (host / "h").exists()
    assert "1024+0 records out" in lines, "the 1m tmpfs took only 1 MiB of the 2"


# -- `snakevisor do`: the same walls --------------------------------------------------------------
def _do(argv, flags=(), **kw):
    return subprocess.Popen(sandbox_cmd(argv, flags), env=sandbox_env(), cwd="/",
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw)


def test_do_sentry_is_locked_down():
    """During a `do` run the Sentry has its own mount and PID namespaces (pid 1 there), an empty
    root, only CAP_NET_BIND_SERVICE and CAP_NET_RAW, no_new_privs and its seccomp filter; its
    stubs hold no capability at all."""
    proc = _do(["sh", "-c", "echo ready; read x; echo bye"])
    try:
        assert proc.stdout.readline() == b"ready\n"
        sentry = sentry_of(proc.pid)
        assert sentry is not None, "the Sentry is not the init of a PID namespace of its own"
        status = status_of(sentry)
        assert (status["Seccomp"], status["NoNewPrivs"]) == ("2", "1")
        net_caps = f"{1 << 10 | 1 << 13:016x}"   # CAP_NET_BIND_SERVICE, CAP_NET_RAW
        assert [status[k] for k in ("CapEff", "CapPrm", "CapBnd", "CapInh", "CapAmb")] == \
            [net_caps] * 3 + ["0" * 16] * 2, status
        for ns in ("mnt", "pid", "ipc", "uts", "net"):
            assert os.readlink(f"/proc/{sentry}/ns/{ns}") != os.readlink(f"/proc/self/ns/{ns}"), ns
        assert sorted(os.listdir(f"/proc/{sentry}/root")) == ["proc"]
        stubs = list(stubs_below(sentry))
        assert stubs, "no stub process under the Sentry"
        for stub in stubs:   # a stub needs no capability: every set is empty, bounding included
            caps = status_of(stub)
            assert [caps[k] for k in ("CapEff", "CapPrm", "CapBnd")] == ["0" * 16] * 3, (stub, caps)
        out, err = proc.communicate(b"\n", timeout=120)
        assert (out, proc.returncode) == (b"bye\n", 0), err.decode(errors="replace")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_do_relays_signals_and_exit_status():
    """SIGTERM sent to `do` alone reaches the sandbox's init; its exit status comes back."""
    proc = _do(["sh", "-c", "trap 'echo got TERM; exit 3' TERM; echo ready; while :; do sleep 0.05; done"])
    try:
        assert proc.stdout.readline() == b"ready\n"
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=120)
        assert (out, proc.returncode) == (b"got TERM\n", 3), err.decode(errors="replace")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    killed = _do(["sh", "-c", "kill -USR1 $$"])
    killed.communicate(timeout=120)
    assert killed.returncode == 128 + signal.SIGUSR1


def test_do_features_work_locked_down(tmp_path):
    """stdio shared by `> log 2>&1`, a volume, --strace and SNAKEVISOR_PROFILE under the lock-down."""
    vol = tmp_path / "vol"
    vol.mkdir()
    log = tmp_path / "log"
    prof = tmp_path / "prof"
    env = sandbox_env(SNAKEVISOR_PROFILE=str(prof))
    with open(log, "w") as f:
        res = subprocess.run(sandbox_cmd(["sh", "-c", "echo one; echo two >&2; echo three; echo kept > /v/f"],
                                         ("--strace", "--volume", f"{vol}:/v")),
                             stdout=f, stderr=subprocess.STDOUT, env=env, cwd="/", timeout=120)
    text = log.read_text()
    assert res.returncode == 0, text
    lines = [line for line in text.splitlines() if line in ("one", "two", "three")]
    assert lines == ["one", "two", "three"], text   # one shared offset: nothing written over
    assert "write(1" in text, "strace output"
    assert (vol / "f").read_text() == "kept\n"
    import pstats
    assert any(func[2] == "run" for func in pstats.Stats(str(prof)).stats), "a profile of the Sentry"


class _JobShell:
    """An interactive bash on a pty of its own (job control, a terminal that sends ^C and ^Z to
    its foreground process group), started in the checkout."""

    def __init__(self):
        import pty
        self.pid, self.fd = pty.fork()
        if self.pid == 0:
            os.environ["PYTHONPATH"] = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
            os.execvp("bash", ["bash", "--norc", "--noprofile", "-i"])
        self.seen = b""
        self.send("PS1='$ '\n")
        self.expect(b"$ ")

    def send(self, text):
        os.write(self.fd, text.encode() if isinstance(text, str) else text)

    def expect(self, pattern, timeout=120):
        """Output up to and including ``pattern`` (consumed), or fail after ``timeout`` seconds."""
        import time
        deadline = time.monotonic() + timeout
        while pattern not in self.seen:
            left = deadline - time.monotonic()
            if left <= 0:
                pytest.fail(f"no {pattern!r} from the terminal; it showed {self.seen[-500:]!r}")
            if readable(self.fd, left):
                try:
                    self.seen += os.read(self.fd, 4096)
                except OSError:
                    break
        head, _, self.seen = self.seen.partition(pattern)
        return head + pattern

    def close(self):
        try:
            os.kill(self.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        os.waitpid(self.pid, 0)
        os.close(self.fd)


@pytest.fixture
def job_shell():
    shell = _JobShell()
    yield shell
    shell.close()


def test_do_terminal_interrupt_and_suspend(job_shell):
    """Without -t the sandbox shares the caller's terminal: ^C reaches its foreground process (the
    terminal signals `do` and the sandbox process alike), ^Z suspends the whole sandbox as a job
    (status 148, as natively) and fg resumes it."""
    sh = job_shell
    # (It waits in a loop, not in `read`: a ^C landing between the echo and the read, as it may
    # on a loaded machine, would run the trap and leave the read waiting, natively too.)
    sh.send("python3 -m snakevisor do -- sh -c 'n=0; trap \"n=$((n+1))\" INT; echo re\"\"ady; "
            "while [ $n = 0 ]; do sleep 0.05; done; echo ints=$n'; echo rc=$?\n")
    sh.expect(b"ready")
    sh.send(b"\x03")
    assert b"ints=1\r\nrc=0" in sh.expect(b"rc=0")
    sh.send("python3 -m snakevisor do -- sh -c 'echo re\"\"ady; read x; echo got $x'; echo rc=$?\n")
    sh.expect(b"ready")
    sh.send(b"\x1a")
    assert b"rc=148" in sh.expect(b"rc=148")
    sh.send("fg\n")
    sh.expect(b"fg")
    sh.send("hello\n")
    sh.expect(b"got hello")
