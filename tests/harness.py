"""The test harness: building test programs, running a command natively and in `snakevisor do`,
comparing the two runs, and checking that no stub process outlives its sandbox.

Every run is in a session of its own and, at its deadline, its whole process group is
SIGKILLed (``subprocess.run(timeout=)`` would kill only the direct child, leaving a hung
Sentry and its stubs behind). Every sandboxed run's stderr is checked for a Sentry internal
error. ``sandbox_cmd`` is the one place that spells the `snakevisor do` command line (with the
platform SNAKEVISOR_PLATFORM asks for, else the default), ``sandbox_env`` the environment it needs from a checkout.

Leftover stubs are found by recording the stubs below this process while a block runs
(StubWatch) and checking that each one is gone afterwards; only stubs that were ours are counted
(other sandboxes may run on the host at the same time, so a global `pgrep -f snakevisor-stub`
would be wrong). tests/do_support.py reads the process tree from /proc.
"""
import contextlib
import ctypes
import faulthandler
import glob
import hashlib
import os
import shutil
import signal
import subprocess
import sys
import threading
import time

import pytest

from do_support import stubs_below, wait_gone

from snakevisor.abi.errno import SyscallError
from snakevisor.sentry import platform as platform_names

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# The sandbox mounts its own tmpfs on /tmp, so programs under test live elsewhere.
BUILD_DIR = os.environ.get("SNAKEVISOR_TEST_BUILD", "/var/tmp/snakevisor-tests")
PROGRAMS = os.path.join(REPO, "tests", "programs")
# Both runs start in "/": the checkout may live under /tmp, which the sandbox hides behind its own tmpfs.
NEUTRAL_CWD = "/"
# SNAKEVISOR_PLATFORM=ptrace runs every `snakevisor do` of the tests on that platform (PLATFORM:
# the one they run on), and SNAKEVISOR_DIRECTFS=false with 9P only (the CLI reads it too; a flag
# survives a test's own env).
PLATFORM = os.environ.get("SNAKEVISOR_PLATFORM") or platform_names.DEFAULT
PLATFORM_FLAGS = ((("--platform", os.environ["SNAKEVISOR_PLATFORM"]) if os.environ.get("SNAKEVISOR_PLATFORM") else ())
                  + ((f"--directfs={os.environ['SNAKEVISOR_DIRECTFS']}",) if os.environ.get("SNAKEVISOR_DIRECTFS")
                     else ()))
SENTRY_BUG = b"snakevisor: internal error"


def errno_of(fn, *args, **kwargs):
    """The errno ``fn(*args, **kwargs)`` fails with (a SyscallError); the test fails if it succeeds."""
    with pytest.raises(SyscallError) as e:
        fn(*args, **kwargs)
    return e.value.errno


# --- test programs -------------------------------------------------------------------------------
def compile_c(name, static=False, extra=()):
    """Compile tests/programs/NAME.c (cached by content hash); returns the binary's path."""
    if shutil.which("gcc") is None:
        pytest.skip("gcc is not installed: differential C tests need it")
    src = os.path.join(PROGRAMS, name + ".c")
    digest = hashlib.sha256(repr((static, extra, "-g" in extra)).encode())
    for path in [src] + sorted(glob.glob(os.path.join(PROGRAMS, "*.h"))):   # a header may change the binary
        with open(path, "rb") as f:
            digest.update(f.read())
    digest = digest.hexdigest()[:12]
    os.makedirs(BUILD_DIR, exist_ok=True)
    out = os.path.join(BUILD_DIR, f"{name}{'-static' if static else ''}-{digest}")
    if not os.path.exists(out):
        if "-g" in extra:   # debug info names the source: a copy outside /tmp, which the sandbox sees too
            src = program_copy(name + ".c")
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


# --- command lines -------------------------------------------------------------------------------
def snakevisor_cmd(*args):
    """The snakevisor CLI from this checkout (run with sandbox_env), started as the README's
    launcher starts it (-S: site-packages is not imported)."""
    return [sys.executable, "-S", "-m", "snakevisor", *args]


def sandbox_cmd(argv, flags=(), platform=True):
    """`snakevisor do FLAGS -- ARGV`, on SNAKEVISOR_PLATFORM's platform unless ``platform`` is false
    (for a test that names its platform itself)."""
    return snakevisor_cmd("do", *(PLATFORM_FLAGS if platform else ()), *flags, "--", *argv)


# For an environment made from scratch: the CLI runs as the suite does (conftest.py: cold unless
# SNAKEVISOR_WARM says otherwise), not as one without the variable (a server started on demand).
WARM_SETTING = {"SNAKEVISOR_WARM": os.environ.get("SNAKEVISOR_WARM", "0")}


def sandbox_env(env=None, **extra):
    """``env`` (default: ours) with PYTHONPATH for the snakevisor CLI run from the checkout."""
    return dict(os.environ if env is None else env, PYTHONPATH=REPO, **extra)


def app_env(**extra):
    """One environment for both runs of a comparison. PYTHONPATH is the CLI's and the
    application sees it, so the native run gets it too; LANG keeps Python's C-locale coercion
    from adding LC_CTYPE to the sandbox's environment (see test_environment_passes_through_unchanged)."""
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8", "PYTHONPATH": REPO, "HOME": "/root",
           **WARM_SETTING}
    env.update(extra)
    return env


def exit_code(returncode):
    """A native run's status as `snakevisor do` reports it: death by signal N is 128+N."""
    return 128 - returncode if returncode < 0 else returncode


# --- running -------------------------------------------------------------------------------------
def tail(data, n=1500):
    return data.decode(errors="replace")[-n:] if data else ""


class Hung(subprocess.TimeoutExpired):
    """A run still going at its deadline (its process group was killed); says what it printed."""

    def __str__(self):
        return (f"still running after {self.timeout}s (its process group was killed): {' '.join(self.cmd)}\n"
                f"stdout tail:\n{tail(self.output)}\nstderr tail:\n{tail(self.stderr)}")


def kill_group(proc):
    """SIGKILL the session ``proc`` leads, if it still runs."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)


def run(cmd, input=None, timeout=60, env=None, cwd=NEUTRAL_CWD, stdin=None, **popen):
    """Run ``cmd`` in its own session with stdout and stderr captured (stdin: ``input``, else
    ``stdin``, else /dev/null). At ``timeout`` s its whole group is killed and Hung raised."""
    if input is not None:
        stdin = subprocess.PIPE
    elif stdin is None:
        stdin = subprocess.DEVNULL
    proc = subprocess.Popen(cmd, stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=cwd,
                            start_new_session=True, **popen)
    try:
        out, err = proc.communicate(input, timeout=timeout)
    except subprocess.TimeoutExpired:
        kill_group(proc)
        out, err = proc.communicate()
        raise Hung(cmd, timeout, out, err) from None
    finally:
        kill_group(proc)   # an exception (^C) while waiting leaves nothing behind
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err)


def run_native(argv, input=None, timeout=60, env=None, cwd=NEUTRAL_CWD, stdin=None):
    return run(argv, input=input, timeout=timeout, env=env, cwd=cwd, stdin=stdin)


def under_seccomp(bpf, attempts):
    """Each of ``attempts`` (callables) run in a forked child once ``bpf`` is loaded: its result
    as a string: what it returned if a string or a number, else "allowed"; the errno of an OSError."""
    from snakevisor.seccomp import load
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            load(bpf)
            results = []
            for fn in attempts:
                try:
                    got = fn()
                    results.append(str(got) if isinstance(got, (str, int)) else "allowed")
                except OSError as e:
                    results.append(str(e.errno))
            os.write(w, ",".join(results).encode())
        finally:
            os._exit(0)
    os.close(w)
    os.waitpid(pid, 0)
    with os.fdopen(r, "rb") as f:
        return f.read().decode().split(",")


@contextlib.contextmanager
def deadline(seconds, what="the block"):
    """Fail (TimeoutError) if the block still runs after ``seconds``: for a test whose calls have no
    timeout of their own (an API that may hang). SIGALRM interrupts whatever this thread waits in;
    the main thread only, as pytest runs tests. Deadlines nest: an outer one (conftest's limit on
    every test) is re-armed with what is left of it, or fires at once if it has passed."""
    def expired(_signum, _frame):
        faulthandler.dump_traceback(all_threads=True)   # where it hung, on stderr
        raise TimeoutError(f"{what} still running after {seconds}s")
    old = signal.signal(signal.SIGALRM, expired)
    outer_left, _ = signal.setitimer(signal.ITIMER_REAL, seconds)
    started = time.monotonic()
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
        if outer_left:
            signal.setitimer(signal.ITIMER_REAL, max(outer_left - (time.monotonic() - started), 1e-3))


def check_no_sentry_bug(stderr: bytes) -> None:
    """No sandboxed run may hit a Sentry bug: a handler that raised something other than
    SyscallError (the caller got EIO, the log a traceback). Every run through the harness checks."""
    if SENTRY_BUG in stderr:
        at = stderr.index(SENTRY_BUG)
        raise AssertionError("the Sentry logged an internal error:\n" + stderr[at:at + 4000].decode(errors="replace"))


def run_sandboxed(argv, input=None, timeout=120, flags=(), env=None, cwd=NEUTRAL_CWD, stdin=None):
    """`snakevisor do FLAGS -- ARGV` (see run); its stderr must show no Sentry internal error."""
    result = run(sandbox_cmd(argv, flags), input=input, timeout=timeout, env=sandbox_env(env), cwd=cwd, stdin=stdin)
    check_no_sentry_bug(result.stderr)
    return result


def _first_difference(native, boxed, context=3):
    """Where two outputs first differ, with a few lines around (a long output's tails may agree)."""
    a, b = native.decode(errors="replace").splitlines(), boxed.decode(errors="replace").splitlines()
    i = next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
    lo = max(0, i - context)
    return (f"\n--- first difference at line {i + 1}:\n  native: " + "\n  native: ".join(a[lo:i + context])
            + "\n  sandbox: " + "\n  sandbox: ".join(b[lo:i + context]))


def compare(argv, timeout=120, env=None, input=None, native_status=None, flags=()):
    """Run natively and in the sandbox, with the same environment (default app_env()): same
    stdout and exit status (128+N for death by signal N). Returns (native, boxed).
    ``native_status``, if given, is asserted first so a broken program is not mistaken for a
    Sentry bug."""
    env = env or app_env()
    native = run_native(argv, input=input, env=env, timeout=timeout)
    if native_status is not None:
        assert native.returncode == native_status, (
            f"program misbehaves natively (status {native.returncode}):\n{tail(native.stdout, 2000)}"
            f"\n{tail(native.stderr, 2000)}")
    try:
        boxed = run_sandboxed(argv, timeout=timeout, env=env, input=input, flags=flags)
    except Hung as e:
        pytest.fail(str(e) + f"\nnative stdout:\n{tail(native.stdout)}")
    detail = (f"\n--- native stdout:\n{tail(native.stdout, 2500)}"
              f"\n--- sandbox stdout:\n{tail(boxed.stdout, 2500)}"
              f"\n--- sandbox stderr:\n{tail(boxed.stderr, 2500)}")
    assert boxed.stdout == native.stdout, "stdout differs" + _first_difference(native.stdout, boxed.stdout) + detail
    assert boxed.returncode == exit_code(native.returncode), (
        f"exit status: native {native.returncode}, sandbox {boxed.returncode}" + detail)
    return native, boxed


# --- leftover stubs ------------------------------------------------------------------------------
PR_SET_CHILD_SUBREAPER = 36
_libc = ctypes.CDLL(None, use_errno=True)


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
        self.record(stubs_below(os.getpid()))

    def record(self, stubs):
        """Add stubs found by the test itself: a stub can come and go between two samples of the
        thread (on a busy machine it may not run for a while)."""
        for pid, start in stubs.items():
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


def kill_pids(pids):
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


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
        kill_pids(leftover)   # checked to be the same process: kill it so one failure does not poison the rest
        # reap whatever was re-parented to us (stubs and orphaned gofers alike)
        with contextlib.suppress(ChildProcessError):
            while os.waitpid(-1, os.WNOHANG)[0] > 0:
                pass
    assert not leftover, f"stub processes left after the sandbox exited: {leftover}"
    if expect_stubs:
        assert watch.seen, "no stub process was seen during the block: the check was empty"


def stubs_left_by_run(grace):
    """The stubs still running below this process ``grace`` s after the test run (now killed)."""
    stubs = stubs_below(os.getpid())
    leftover = wait_gone(stubs, timeout=grace) if stubs else []
    kill_pids(leftover)
    return leftover
