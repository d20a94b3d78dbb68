"""Shared fixtures: compiling C programs at test time, and running commands natively and in snakevisor."""
import hashlib
import os
import shutil
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# The sandbox mounts its own tmpfs on /tmp, so programs under test live elsewhere.
BUILD_DIR = os.environ.get("SNAKEVISOR_TEST_BUILD", "/var/tmp/snakevisor-tests")
PROGRAMS = os.path.join(REPO, "tests", "programs")


def compile_c(name, static=False, extra=()):
    """Compile tests/programs/NAME.c (cached by content hash); returns the binary's path."""
    if shutil.which("gcc") is None:
        pytest.skip("gcc is not installed: differential C tests need it")
    src = os.path.join(PROGRAMS, name + ".c")
    with open(src, "rb") as f:
        digest = hashlib.sha256(f.read() + repr((static, extra)).encode()).hexdigest()[:12]
    os.makedirs(BUILD_DIR, exist_ok=True)
    out = os.path.join(BUILD_DIR, f"{name}{'-static' if static else ''}-{digest}")
    if not os.path.exists(out):
        cmd = ["gcc", "-O1", "-w", "-o", out + ".tmp", src, *extra] + (["-static"] if static else [])
        subprocess.run(cmd, check=True)
        os.rename(out + ".tmp", out)
    return out


def program_copy(name):
    """tests/programs/NAME copied to the build directory (cached by content): a script the
    sandbox runs must not live under /tmp, where the checkout may be and the sandbox has its own."""
    src = os.path.join(PROGRAMS, name)
    with open(src, "rb") as f:
        data = f.read()
    os.makedirs(BUILD_DIR, exist_ok=True)
    out = os.path.join(BUILD_DIR, f"{hashlib.sha256(data).hexdigest()[:12]}-{name}")
    if not os.path.exists(out):
        with open(out + ".tmp", "wb") as f:
            f.write(data)
        os.rename(out + ".tmp", out)
    return out


def exit_code(returncode):
    """A native run's status as `snakevisor do` reports it: death by signal N is 128+N."""
    return 128 - returncode if returncode < 0 else returncode


# Both runs start in "/": the checkout may live under /tmp, which the sandbox hides behind its own tmpfs.
NEUTRAL_CWD = "/"


def run_native(argv, input=None, timeout=60, env=None, cwd=NEUTRAL_CWD, stdin=None):
    return subprocess.run(argv, input=input, capture_output=True, timeout=timeout, env=env, cwd=cwd, stdin=stdin)


SENTRY_BUG = b"snakevisor: internal error"


def check_no_sentry_bug(stderr: bytes) -> None:
    """No sandboxed run may hit a Sentry bug: a handler that raised something other than
    SyscallError (the caller got EIO, the log a traceback). Every run through the harness checks."""
    if SENTRY_BUG in stderr:
        at = stderr.index(SENTRY_BUG)
        raise AssertionError("the Sentry logged an internal error:\n" + stderr[at:at + 4000].decode(errors="replace"))


# SNAKEVISOR_PLATFORM=systrap runs every `snakevisor do` of the tests on that platform.
PLATFORM_FLAGS = ("--platform", os.environ["SNAKEVISOR_PLATFORM"]) if os.environ.get("SNAKEVISOR_PLATFORM") else ()


def run_sandboxed(argv, input=None, timeout=120, flags=(), env=None, cwd=NEUTRAL_CWD, stdin=None):
    cmd = [sys.executable, "-m", "snakevisor", "do", *PLATFORM_FLAGS, *flags, "--", *argv]
    full_env = dict(os.environ if env is None else env)
    full_env["PYTHONPATH"] = REPO  # for the snakevisor command itself, run on the host
    result = subprocess.run(cmd, input=input, capture_output=True, timeout=timeout, env=full_env, cwd=cwd,
                            stdin=stdin)
    check_no_sentry_bug(result.stderr)
    return result


@pytest.fixture
def differential():
    """Run argv natively and in the sandbox; assert equal stdout and exit status; return both results."""
    def check(argv, input=None, env=None, compare_stderr=False):
        native = run_native(argv, input=input, env=env)
        boxed = run_sandboxed(argv, input=input, env=env)
        assert boxed.returncode == exit_code(native.returncode), (
            f"exit status: native {native.returncode}, sandbox {boxed.returncode}\n"
            f"sandbox stderr:\n{boxed.stderr.decode(errors='replace')[-3000:]}")
        assert boxed.stdout == native.stdout, (
            f"stdout differs\nnative:\n{native.stdout[:2000]!r}\nsandbox:\n{boxed.stdout[:2000]!r}\n"
            f"sandbox stderr:\n{boxed.stderr.decode(errors='replace')[-3000:]}")
        if compare_stderr:
            assert boxed.stderr == native.stderr
        return native, boxed
    return check


@pytest.hookimpl(trylast=True)   # after the session's fixtures are torn down (runner.py's hook)
def pytest_sessionfinish(session, exitstatus):
    """No test may leave a stub process behind: a stub still running below this process (the
    Sentries of its sandboxes are, and the stubs below them) fails the run, and is killed. Stubs
    elsewhere on the host belong to other runs and are none of our business."""
    from do_support import stubs_below, wait_gone
    stubs = stubs_below(os.getpid())
    grace = float(os.environ.get("SNAKEVISOR_TEST_STUB_GRACE", "10"))   # a sandbox killed last may be going down
    leftover = wait_gone(stubs, timeout=grace) if stubs else []
    if not leftover:
        return
    for pid in leftover:
        try:
            os.kill(pid, 9)
        except ProcessLookupError:
            pass
    message = f"stub processes left running by this test run (now killed): {leftover}"
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line("ERROR: " + message, red=True, bold=True)
    else:
        print("ERROR: " + message, file=sys.stderr)
    if session.exitstatus in (pytest.ExitCode.OK, pytest.ExitCode.NO_TESTS_COLLECTED):
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
