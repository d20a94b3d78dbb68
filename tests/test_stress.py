"""Stress (issue 4): 100 threads contending on a futex, 500 forked children, a signal
storm of 10,000 standard and 10,000 real-time signals between two threads, 200
concurrent fork+exec from 50 threads. Each is differential, and afterwards no stub
process of that sandbox may be left (see harness.no_stub_left).
"""
import contextlib
import os
import signal
import subprocess
import sys
import time

import pytest

from harness import REPO, StubWatch, compare, compile_c, no_stub_left, sandbox_cmd, sandbox_env
from do_support import cmdline_of, still_running, stubs_below, wait_gone


@pytest.mark.parametrize("mode,expect", [
    ("futex", b"raw futex lock counter=200000 (want 200000), pthread mutex counter=25000 (want 25000)"),
    ("forks", b"bad=0 concurrent reaped=100"),
    ("storm", b"RT: sent=10000 received=10000 out_of_order=0"),
    ("spawnmany", b"200 fork+exec from 50 threads: bad=0"),
])
def test_stress(mode, expect):
    binary = compile_c("proc_stress", extra=("-pthread",))
    with no_stub_left():
        native, _ = compare([binary, mode], timeout=30, native_status=0)
    assert expect in native.stdout


def test_stub_check_can_fail():
    """no_stub_left must be able to fail: a process named snakevisor-stub orphaned inside
    the block is reported (and killed by the helper)."""
    with pytest.raises(AssertionError, match="stub processes left"):
        with no_stub_left(deadline=2) as watch:
            subprocess.run(["/bin/bash", "-c", "(exec -a snakevisor-stub sleep 30) & exit 0"], check=True)
            deadline = time.monotonic() + 30
            while not watch.seen:   # until the orphan has exec'd (and is ours, as subreaper)
                assert time.monotonic() < deadline, "the fake stub never showed"
                time.sleep(0.01)


def test_stub_watch_records_stubs_until_they_end():
    """What no_stub_left checks after the block: a stub seen while it ran is reported while it
    still runs, and not once it has ended (nor an empty block, which fails for seeing nothing)."""
    before = stubs_below(os.getpid())   # (a stub an earlier test killed may not be gone yet)
    fake = subprocess.Popen(["/bin/bash", "-c", "exec -a snakevisor-stub sleep 30"])
    try:
        deadline = time.monotonic() + 30
        while fake.pid not in stubs_below(os.getpid()):   # until bash has exec'd
            assert time.monotonic() < deadline, "the fake stub never showed"
            time.sleep(0.01)
        watch = StubWatch()
        watch.sample()
        seen = {pid: start for pid, start in watch.seen.items() if pid not in before}
        assert still_running(seen) == [fake.pid]
    finally:
        fake.kill()
        fake.wait()
    assert still_running(seen) == []
    with pytest.raises(AssertionError, match="the check was empty"):
        with no_stub_left():
            pass


def test_session_fails_on_a_stub_left(tmp_path):
    """The check at the end of a test session (conftest.pytest_sessionfinish): a stub still
    running below pytest fails the run (exit status 1) and is killed."""
    (tmp_path / "test_leak.py").write_text(
        "import os, subprocess, sys, time\n"
        "sys.path.insert(0, %r)\n"
        "from do_support import stubs_below\n"
        "def test_leak():\n"
        "    global leak\n"
        "    leak = subprocess.Popen(['/bin/bash', '-c', 'exec -a snakevisor-stub sleep 60'])\n"
        "    end = time.monotonic() + 30\n"
        "    while leak.pid not in stubs_below(os.getpid()):\n"
        "        assert time.monotonic() < end\n"
        "        time.sleep(0.01)\n"
        "    print('LEAKED', leak.pid, flush=True)\n" % os.path.dirname(os.path.abspath(__file__)))
    res = subprocess.run([sys.executable, "-m", "pytest", "-q", "-s", "-p", "no:cacheprovider", "-p", "conftest",
                          str(tmp_path / "test_leak.py")], capture_output=True, text=True, timeout=120, cwd=tmp_path,
                         env=dict(os.environ, PYTHONPATH=os.pathsep.join([os.path.join(REPO, "tests"), REPO]),
                                  SNAKEVISOR_TEST_STUB_GRACE="0.5"))
    leaked = [int(line.split()[1]) for line in res.stdout.splitlines() if line.startswith("LEAKED")]
    left = [pid for pid in leaked if cmdline_of(pid).startswith(b"snakevisor-stub")]
    for pid in left:   # the hook did not kill it: do it here
        os.kill(pid, signal.SIGKILL)
    assert len(leaked) == 1 and res.returncode == 1, res.stdout + res.stderr
    assert f"stub processes left running by this test run (now killed): {leaked}" in res.stdout, res.stdout
    assert not left, "the session's check did not kill the stub"


def test_killed_sentry_leaves_no_stub():
    """SIGKILL to `snakevisor do` mid-run: every stub of its sandbox dies with it (the Sentry,
    killed by PR_SET_PDEATHSIG, is the init of their PID namespace)."""
    with no_stub_left() as watch:
        p = subprocess.Popen(sandbox_cmd(["/bin/sleep", "30"]), env=sandbox_env(),
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        try:
            deadline = time.monotonic() + 60
            while not stubs_below(p.pid):   # the sandbox is up: its application runs in a stub
                assert p.poll() is None and time.monotonic() < deadline, "no stub process appeared"
                time.sleep(0.05)
            stubs = stubs_below(p.pid)
            watch.record(stubs)   # the watcher thread may not have sampled yet on a busy machine
            os.kill(p.pid, signal.SIGKILL)
            p.wait()
            assert wait_gone(stubs) == [], f"stubs still running after `do` was killed: {stubs}"
        finally:
            # the Gofer, in the same process group, goes too (it would be re-parented to us)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(p.pid, signal.SIGKILL)
            p.wait()
