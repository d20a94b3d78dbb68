"""Default limits of `snakevisor do` (README, "Running a command"): a fork bomb stops at the pids
limit with the sandbox alive and the host never holding more stub tasks than that; a fork the
host refuses is EAGAIN, not EIO; memory and /tmp are bounded (--memory, --tmpfs-size)."""
import os
import re
import selectors
import subprocess
import threading
import time

import pytest

from harness import PLATFORM, compile_c, run_sandboxed, sandbox_cmd, sandbox_env
from do_support import children_of, comm_of, namespace_tasks, sentry_of

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="the sandbox's namespaces need root")

DEFAULT_PIDS_LIMIT = 1024     # sandbox/do.py
SLACK = 4                     # stub tasks beyond the application's: the master stub, the waker
# Host tasks a sandboxed process takes: one stub thread per task, and on systrap one more per
# process, its mapper (platform/systrap/mapper.py), which a fork bomb of processes doubles.
HOST_TASKS_PER_PROCESS = 2 if PLATFORM == "systrap" else 1
REFUSAL_LINE = re.compile(r"clone fails with EAGAIN")


def _readline(proc, timeout):
    """A line of the sandbox's stdout, or fail after ``timeout`` seconds (a busy machine: generous)."""
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    if not sel.select(timeout):
        pytest.fail(f"no output from the sandbox in {timeout} s")
    return proc.stdout.readline()


class _PeakCounter(threading.Thread):
    """Counts, again and again until stopped, the host tasks in the sandbox's PID namespace
    outside the Sentry and the Gofer; keeps the largest count seen."""

    def __init__(self, do_pid):
        super().__init__(daemon=True)
        self.do_pid, self.peak, self.done = do_pid, 0, threading.Event()

    def run(self):
        sentry = None
        while not self.done.is_set():
            try:
                sentry = sentry or sentry_of(self.do_pid)
                if sentry is not None:
                    gofer = [c for c in children_of(sentry) if comm_of(c) == "sv-gofer"]
                    self.peak = max(self.peak, namespace_tasks(sentry, exclude=gofer))
            except OSError:   # the sandbox ended meanwhile
                pass

    def stop(self):
        self.done.set()
        self.join(timeout=60)
        return self.peak


def _bomb(flags=(), prefix=()):
    """Run the fork bomb under sh in a sandbox; returns (first line, counter peak, stdout rest,
    stderr, exit status, seconds it ran)."""
    bomb = compile_c("forkbomb", static=True)
    started = time.monotonic()
    proc = subprocess.Popen([*prefix, *sandbox_cmd(["sh", "-c", f"{bomb}; echo alive $?"], flags)],
                            env=sandbox_env(), cwd="/",
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    counter = _PeakCounter(proc.pid)
    counter.start()
    try:
        first = _readline(proc, 600)
        peak = counter.stop()
        out, err = proc.communicate(b"\n", timeout=600)
    finally:
        counter.stop()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return first, peak, out, err.decode(errors="replace"), proc.returncode, time.monotonic() - started


def _check_bomb_ended_well(first, out, err, code, seconds):
    assert first == b"refused: Resource temporarily unavailable\n", (first, err[-3000:])
    assert (out, code) == (b"ended\nalive 0\n", 0), err[-3000:]
    assert "Traceback" not in err, err[-3000:]
    refusals = len(REFUSAL_LINE.findall(err))
    assert 1 <= refusals <= seconds + 1, f"{refusals} refusal lines in {seconds:.0f} s: not rate-limited"


def test_fork_bomb_stops_at_the_default_pids_limit():
    first, peak, out, err, code, seconds = _bomb()
    _check_bomb_ended_well(first, out, err, code, seconds)
    assert peak <= DEFAULT_PIDS_LIMIT * HOST_TASKS_PER_PROCESS + SLACK, \
        f"{peak} host tasks for a limit of {DEFAULT_PIDS_LIMIT}"
    assert "pids limit (1024 tasks) reached" in err


def _pids_cgroup():
    """A writable pids cgroup directory base (v1 or v2), or None."""
    if os.path.isdir("/sys/fs/cgroup/pids"):
        return "/sys/fs/cgroup/pids"
    try:
        with open("/sys/fs/cgroup/cgroup.subtree_control") as f:
            if "pids" in f.read().split():
                return "/sys/fs/cgroup"
    except OSError:
        pass
    return None


@pytest.fixture
def pids_cgroup():
    base = _pids_cgroup()
    if base is None:
        pytest.skip("no pids cgroup controller to make the host refuse forks")
    path = os.path.join(base, f"snakevisor-test-{os.getpid()}")
    try:
        os.mkdir(path)
    except OSError as e:
        pytest.skip(f"cannot make a pids cgroup: {e}")
    yield path
    for _ in range(600):   # its processes are gone once the sandbox is; the kernel frees it soon after
        try:
            os.rmdir(path)
            return
        except OSError:
            time.sleep(0.1)


def test_fork_the_host_refuses_is_eagain_without_traceback(pids_cgroup):
    """No pids limit of the sandbox's own, but a host cgroup of 150 tasks: the stub's clone fails
    on the host and the application sees EAGAIN (was: EIO and a traceback per attempt)."""
    with open(os.path.join(pids_cgroup, "pids.max"), "w") as f:
        f.write("150")
    enter = f"echo $$ > {pids_cgroup}/cgroup.procs && exec \"$@\""
    first, _, out, err, code, seconds = _bomb(flags=("--pids-limit", "0"), prefix=("sh", "-c", enter, "sh"))
    _check_bomb_ended_well(first, out, err, code, seconds)
    assert "the host refused a stub" in err


def test_memory_limit_gives_enomem():
    """Allocating past --memory fails with ENOMEM, as mmap does under RLIMIT_AS or strict overcommit
    (Linux under a memory cgroup would let the allocation succeed and OOM-kill at the fault; the
    Sentry accounts memory when it is mapped, as for an OCI container's linux.resources.memory)."""
    res = run_sandboxed([compile_c("oci_alloc", static=True)], flags=("--memory", "64m"))
    assert res.returncode == 0, res.stdout + res.stderr
    mib = int(res.stdout.split()[2])
    assert 16 <= mib < 64 and b"Cannot allocate memory" in res.stdout, res.stdout


@pytest.mark.parametrize("platform", ["ptrace", "systrap"])
def test_copy_on_write_past_the_memory_limit_kills_the_writer(platform):
    """A forked child writing memory it shares copy-on-write, with no memory left under --memory
    for the copies, is killed with SIGKILL (Linux's memory cgroup OOM kill); its parent carries
    on. (The copy's ENOMEM was an internal error that killed the child's stub while leaving its
    Task counted as running: the sandbox hung.)"""
    res = run_sandboxed([compile_c("cow_oom", static=True)], flags=("--platform", platform, "--memory", "64m"))
    out = res.stdout.decode(errors="replace")
    assert res.returncode == 0, out + res.stderr.decode(errors="replace")
    assert "child killed by signal 9\nparent wrote everything\n" in out, out
    assert b"out of memory for a copy-on-write page" in res.stderr, res.stderr


def test_mapping_count_stops_at_enomem(differential):
    """65,000 one-page mappings: mmap ends with ENOMEM at vm.max_map_count as on Linux, and the
    process goes on (the stub's own limit was an internal error, the program then died of
    SIGSEGV; before that, finding room for each mapping scanned every other one: minutes). Then
    the same limit reached by splitting one mapping with mprotect (each split rebuilt the VMA
    index: 35,000 splits ran for over 9 minutes; mprotect and munmap now say ENOMEM at the limit)."""
    differential([compile_c("map_count")])


def test_default_memory_limit_is_half_the_host_ram():
    ram_mib = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") >> 20
    res = run_sandboxed([compile_c("reserve", static=True)])
    assert res.returncode == 0, res.stdout + res.stderr
    words = res.stdout.split()
    assert words[0] == b"reserved" and b"Cannot allocate memory" in res.stdout, res.stdout
    assert ram_mib // 2 - 512 <= int(words[1]) <= ram_mib // 2, (res.stdout, ram_mib)


def test_tmpfs_size_default_and_flag():
    res = run_sandboxed(["sh", "-c", "stat -f -c '%b %S' /tmp /dev/shm"], flags=("--memory", "256m"))
    assert res.returncode == 0, res.stderr
    sizes = [int(b) * int(s) for b, s in (line.split() for line in res.stdout.splitlines())]
    assert sizes == [256 << 20] * 2, res.stdout   # bounded by the memory limit
    res = run_sandboxed(["sh", "-c", "dd if=/dev/zero of=/tmp/f bs=64k count=32 2>&1; ls -l /tmp/f"],
                        flags=("--tmpfs-size", "1m"))
    assert b"No space left on device" in res.stdout and b" 1048576 " in res.stdout, res.stdout


@pytest.mark.parametrize("flag, value", [("--memory", "12x"), ("--tmpfs-size", "-1"), ("--pids-limit", "-3")])
def test_bad_limit_flags_are_refused(flag, value):
    res = run_sandboxed(["true"], flags=(flag, value))
    assert res.returncode == 2 and b"snakevisor do:" in res.stderr, res.stderr


@pytest.mark.parametrize("platform", ["ptrace", "systrap"])
def test_reservations_count_once_accessible(platform):
    """PROT_NONE reservations are not charged to --memory until mprotect opens them, as Linux
    accounts only writable private mappings: 640 MiB reserved under 64 MiB (a JVM's 240 MiB code
    cache reservation failed under `--memory 256m`: 'Could not reserve enough space'); opening
    whole reservations then meets the limit (ENOMEM), and unmapped ones count no more."""
    res = run_sandboxed([compile_c("reservations", static=True)], flags=("--platform", platform, "--memory", "64m"))
    out = res.stdout.decode(errors="replace")
    assert res.returncode == 0, out + res.stderr.decode(errors="replace")
    lines = out.splitlines()
    assert lines[:3] == ["reserved 40 x 16 MiB", "opened 1 MiB of each", "child: saw the data"], out
    refused = int(lines[3].split("refused at ")[1].split(":")[0])
    assert 0 <= refused < 4 and lines[3].endswith("Cannot allocate memory"), out
    assert lines[4] == "after munmap, 48 MiB: mapped", out
