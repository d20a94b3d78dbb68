"""The syscall fuzzer (issue 11, "Trust"): tests/programs/fuzz_syscalls.c run inside the sandbox
by tests/fuzz.py. A short run here; the long one is ``python3 tests/fuzz.py syscalls --count 1000000``.

The run fails on a Sentry traceback in its log, a hang, a child exit status the child could
not have earned, a health check (getpid, a pipe round trip) that fails after a batch, an errno
no syscall may return, a host canary file that changed, or a host process left behind.
Regressions the fuzzer found are differential tests of tests/programs/fuzz_found.c.
"""
import os

import pytest

from harness import compile_c, exit_code, run_native, run_sandboxed
import fuzz


@pytest.mark.parametrize("seed", [1, 7])
def test_short_fuzz_run(seed):
    result = fuzz.fuzz_syscalls(count=4000, seed=seed, batch=400, stall=300)
    assert result.ok, result.report()
    assert result.calls >= 4000


@pytest.mark.parametrize("case", ["sigtimedwait_chld", "far_timer"])
def test_found_by_fuzzer(differential, case):
    differential([compile_c("fuzz_found"), case])


@pytest.mark.parametrize("stdin", ["/dev/null", "regular file"])
def test_poll_on_unpollable_stdin(stdin, tmp_path):
    """stdin a host file with no poll method: a poll for nothing blocks without starving the
    sandbox (it hung the whole Sentry), a poll for input is ready at once, as on Linux."""
    binary = compile_c("fuzz_found")
    path = os.devnull if stdin == "/dev/null" else str(tmp_path / "input")
    if path != os.devnull:
        with open(path, "w") as f:
            f.write("x")
    results = []
    for run in (run_native, run_sandboxed):
        with open(path, "rb") as f:
            results.append(run([binary, "poll_unpollable"], stdin=f, timeout=60))
    native, boxed = results
    assert boxed.returncode == exit_code(native.returncode), boxed.stderr.decode(errors="replace")[-2000:]
    assert boxed.stdout == native.stdout
