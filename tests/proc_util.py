"""Helpers for the process, signal and thread tests (issue 4): differential runs with a
bound on how long a hung sandbox may take, and a check that no stub process outlives
its sandbox.

A hung Sentry must not hang the suite: the sandbox runs in its own session and the
whole process group is SIGKILLed at the deadline (its stubs die with it through
PR_SET_PDEATHSIG). Leftover stubs are found by making this process a child subreaper
for the duration of a run: a stub that outlives its Sentry is re-parented to us, and
only stubs that were ours are counted (other sandboxes may run on the host at the
same time, so a global `pgrep -f snakevisor-stub` would be wrong).
"""
import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import time

import pytest

from conftest import NEUTRAL_CWD, PLATFORM_FLAGS, REPO, check_no_sentry_bug, exit_code, run_native

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


def _our_stubs():
    """Stub processes that are our children (re-parented to us as subreaper)."""
    me = os.getpid()
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/cmdline", "rb") as f:
                cmdline = f.read()
            with open(f"/proc/{name}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        if b"snakevisor-stub" not in cmdline:
            continue
        ppid = int(stat[stat.rindex(b")") + 2:].split()[1])
        if ppid == me:
            found.append(int(name))
    return found


@contextlib.contextmanager
def no_stub_left():
    """Fail if a stub process of a sandbox started inside the block outlives it."""
    _libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    leftover = []
    try:
        yield
        deadline = time.monotonic() + 3
        while True:
            leftover = _our_stubs()
            if not leftover or time.monotonic() > deadline:
                break
            time.sleep(0.1)
    finally:
        _libc.prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0)
        for pid in leftover:   # ours: clean up so one failure does not poison the rest
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        # reap whatever was re-parented to us (stubs and orphaned gofers alike)
        with contextlib.suppress(ChildProcessError):
            while os.waitpid(-1, os.WNOHANG)[0] > 0:
                pass
    assert not leftover, f"stub processes left after the sandbox exited: {leftover}"
