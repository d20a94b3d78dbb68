"""Fixtures and hooks shared by the tests; the harness itself (building, running, comparing) is tests/harness.py."""
import os
import signal
import sys
import time

import pytest

from harness import compare, deadline, stubs_left_by_run

# The suite runs cold unless asked to run warm (SNAKEVISOR_WARM=1 pytest ...): without the
# variable a ``do`` that finds no server starts one, which would outlive the run. The warm tests
# start their own servers on private sockets, and stop them.
os.environ.setdefault("SNAKEVISOR_WARM", "0")
_SESSION_START = time.time()

# The tests signal sandboxes and programs (^C, SIGHUP to `do`, bash traps) expecting the default
# dispositions, which a launcher that ignores SIGHUP, SIGINT or SIGQUIT (nohup, a background job
# of a script) would pass on to every run, native and sandboxed alike (`do` keeps its caller's
# ignored signals, as exec does): the suite starts from the defaults whatever launched it.
for _sig in (signal.SIGHUP, signal.SIGQUIT):
    if signal.getsignal(_sig) == signal.SIG_IGN:
        signal.signal(_sig, signal.SIG_DFL)
if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

# Fixtures for every test module: the OCI tests' state root and container cleanup (root,
# no_leftovers), the VFS tests' booted tree (world).
pytest_plugins = ("oci_support", "test_vfs_fixtures")


@pytest.fixture
def differential():
    """harness.compare: run argv natively and in the sandbox; equal stdout and exit status."""
    return compare


# No test may hang the suite: one still running after this long fails (TimeoutError, with every
# thread's stack on stderr) and the run goes on. Far above any test's time on a loaded machine.
TEST_LIMIT_S = float(os.environ.get("SNAKEVISOR_TEST_LIMIT", "900"))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item):
    with deadline(TEST_LIMIT_S, f"{item.nodeid}"):
        yield


@pytest.hookimpl(trylast=True)   # after the session's fixtures are torn down (runner.py's hook)
def pytest_sessionfinish(session, exitstatus):
    """No test may leave a stub process behind: a stub still running below this process (the
    Sentries of its sandboxes are, and the stubs below them) fails the run, and is killed. Stubs
    elsewhere on the host belong to other runs and are none of our business."""
    grace = float(os.environ.get("SNAKEVISOR_TEST_STUB_GRACE", "10"))   # a sandbox killed last may be going down
    leftover = stubs_left_by_run(grace)
    if leftover:
        _fail_run(session, f"stub processes left running by this test run (now killed): {leftover}")
    server = _server_started_by_run()
    if server:
        _fail_run(session, f"a `do` of this run started a server on the default socket (pid {server}, now "
                           "stopped): its environment lacked SNAKEVISOR_WARM (harness.WARM_SETTING)")


def _server_started_by_run():
    """The pid of a warm server on the default socket whose lock was taken during this run (a ``do``
    with an environment made from scratch, without SNAKEVISOR_WARM, starts one); it is stopped."""
    from snakevisor.warm.protocol import SOCKET_ENV, default_socket, server_pid
    ours = os.environ.pop(SOCKET_ENV, None)   # the path an environment made from scratch gets
    try:
        path = default_socket()
    finally:
        if ours is not None:
            os.environ[SOCKET_ENV] = ours
    pid = server_pid(path)
    try:
        if pid is None or os.stat(path + ".lock").st_mtime < _SESSION_START:
            return None
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            if b"server" not in f.read().split(b"\0"):
                return None
        os.kill(pid, signal.SIGTERM)
        return pid
    except (OSError, ValueError):
        return None


def _fail_run(session, message):
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line("ERROR: " + message, red=True, bold=True)
    else:
        print("ERROR: " + message, file=sys.stderr)
    if session.exitstatus in (pytest.ExitCode.OK, pytest.ExitCode.NO_TESTS_COLLECTED):
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
