"""Helpers for the process, signal and thread tests (issue 4): differential runs with a
bound on how long a hung sandbox may take, and a check that no stub process outlives
its sandbox.

A hung Sentry must not hang the suite: the sandbox runs in its own session and the
whole process group is SIGKILLed at the deadline (the Sentry is the init of its PID
namespace: its stubs die with it). Leftover stubs are found by recording the stubs below
this process while a block runs (StubWatch) and checking that each one is gone afterwards;
only stubs that were ours are counted (other sandboxes may run on the host at the same
time, so a global `pgrep -f snakevisor-stub` would be wrong).
"""
import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from conftest import NEUTRAL_CWD, PLATFORM_FLAGS, REPO, check_no_sentry_bug, exit_code, run_native
from do_support import stubs_below, wait_gone

PR_SET_CHILD_SUBREAPER = 36
_libc = ctypes.CDLL(None, use_errno=True)


def app_env(**extra):
    """One environment for both runs (run_sandboxed's PYTHONPATH is the CLI's; the
    application sees the same variables natively and in the sandbox)."""
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8", "PYTHONPATH": REPO, "HOME": "/root"}
    env.update(extra)
    return env


class Hung(Exception):
    pass


def run_boxed(argv, timeout=30, env=None, input=None, cwd=NEUTRAL_CWD, flags=()):
    """`snakevisor do -- argv` in its own session; SIGKILL the group after `timeout` s."""
    cmd = [sys.executable, "-m", "snakevisor", "do", *PLATFORM_FLAGS, *flags, "--", *argv]
    full_env = dict(os.environ if env is None else env)
    full_env["PYTHONPATH"] = REPO
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=full_env, cwd=cwd,
                            start_new_session=True)
    try:
        out, err = proc.communicate(input, timeout=timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        raise Hung(f"sandbox still running after {timeout}s (killed): {' '.join(argv)}\n"
                   f"stdout tail:\n{out.decode(errors='replace')[-1500:]}\n"
                   f"stderr tail:\n{err.decode(errors='replace')[-1500:]}")
    check_no_sentry_bug(err)
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err)


def compare(argv, timeout=20, env=None, input=None, native_status=None):
    """Run natively and in the sandbox: same stdout and exit status (128+N for death by
    signal N). Returns (native, boxed). `native_status`, if given, is asserted first so a
    broken program is not mistaken for a Sentry bug."""
    env = env or app_env()
    native = run_native(argv, input=input, env=env, timeout=timeout)
    if native_status is not None:
        assert native.returncode == native_status, (
            f"program misbehaves natively (status {native.returncode}):\n{native.stdout.decode(errors='replace')[-2000:]}"
            f"\n{native.stderr.decode(errors='replace')[-2000:]}")
    try:
        boxed = run_boxed(argv, timeout=timeout, env=env, input=input)
    except Hung as e:
        pytest.fail(str(e) + f"\nnative stdout:\n{native.stdout.decode(errors='replace')[-1500:]}")
    detail = (f"\n--- native stdout:\n{native.stdout.decode(errors='replace')[-2500:]}"
              f"\n--- sandbox stdout:\n{boxed.stdout.decode(errors='replace')[-2500:]}"
              f"\n--- sandbox stderr:\n{boxed.stderr.decode(errors='replace')[-2500:]}")
    assert boxed.stdout == native.stdout, "stdout differs" + detail
    assert boxed.returncode == exit_code(native.returncode), (
        f"exit status: native {native.returncode}, sandbox {boxed.returncode}" + detail)
    return native, boxed


class StubWatch:
    """Samples the stub processes (named snakevisor-stub) below this process while a block runs.

    Every `do` Sentry is the init of its own PID namespace: a stub orphaned inside it goes to the
    Sentry, never to us, so leftovers cannot be found by their parent. Instead the stubs are
    recorded while they run, by a thread that walks our descendants every few milliseconds, and
    each one recorded must be gone once the block is over."""

    def __init__(self, interval=0.01):
        self.interval = interval
        self.seen = {}          # pid -> start time
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="stub-watch")

    def sample(self):
        for pid, start in stubs_below(os.getpid()).items():
            self.seen.setdefault(pid, start)

    def _run(self):
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(self.interval)

    def start(self):
        self._thread.start()

    def stop(self):
        self._stop.set()
        self._thread.join()
        self.sample()


@contextlib.contextmanager
def no_stub_left(expect_stubs=True, deadline=30):
    """Fail if a stub process seen inside the block still runs after it (polled until
    ``deadline`` s after the block, for a sandbox still going down). With ``expect_stubs`` the
    block must have shown at least one stub, or the check would be empty. This process is a child
    subreaper meanwhile: what is orphaned outside a sandbox's PID namespace comes to us, is seen by
    the last sample, and is reaped."""
    _libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    watch = StubWatch()
    watch.start()
    leftover = []
    try:
        yield watch
        watch.stop()
        leftover = wait_gone(watch.seen, deadline)
    finally:
        watch.stop()
        _libc.prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0)
        for pid in leftover:   # checked to be the same process: kill it so one failure does not poison the rest
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        # reap whatever was re-parented to us (stubs and orphaned gofers alike)
        with contextlib.suppress(ChildProcessError):
            while os.waitpid(-1, os.WNOHANG)[0] > 0:
                pass
    assert not leftover, f"stub processes left after the sandbox exited: {leftover}"
    if expect_stubs:
        assert watch.seen, "no stub process was seen during the block: the check was empty"
