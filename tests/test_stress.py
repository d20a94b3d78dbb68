"""Stress (issue 4): 100 threads contending on a futex, 500 forked children, a signal
storm of 10,000 standard and 10,000 real-time signals between two threads, 200
concurrent fork+exec from 50 threads. Each is differential, and afterwards no stub
process of that sandbox may be left (see proc_util.no_stub_left).
"""
import contextlib
import os
import signal
import subprocess
import sys
import time

import pytest

from conftest import REPO, compile_c
from proc_util import compare, no_stub_left


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
        with no_stub_left():
            subprocess.run(["/bin/bash", "-c", "(exec -a snakevisor-stub sleep 30) & exit 0"], check=True)


def test_killed_sentry_leaves_no_stub():
    """SIGKILL to `snakevisor do` mid-run: its stubs die with it (PR_SET_PDEATHSIG)."""
    with no_stub_left():
        env = dict(os.environ, PYTHONPATH=REPO)
        p = subprocess.Popen([sys.executable, "-m", "snakevisor", "do", "--", "/bin/sleep", "30"], env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        time.sleep(1.5)
        os.kill(p.pid, signal.SIGKILL)
        p.wait()
        # the Gofer, in the same process group, goes too (it would be re-parented to us)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(p.pid, signal.SIGKILL)
