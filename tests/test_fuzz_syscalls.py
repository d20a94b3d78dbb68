"""The syscall fuzzer (issue 11, "Trust"): tests/programs/fuzz_syscalls.c run inside the sandbox
by tests/fuzz.py. A short run here; the long one is ``python3 tests/fuzz.py syscalls --count 1000000``.

The run fails on a Sentry traceback in its log, a hang, a child exit status the child could
not have earned, a health check (getpid, a pipe round trip) that fails after a batch, an errno
no syscall may return, a host canary file that changed, or a host process left behind.
Regressions the fuzzer found are differential tests of tests/programs/fuzz_found.c.
"""
import pytest

from conftest import compile_c
import fuzz


@pytest.mark.parametrize("seed", [1, 7])
def test_short_fuzz_run(seed, tmp_path):
    result = fuzz.fuzz_syscalls(count=4000, seed=seed, batch=400, workdir=str(tmp_path))
    assert result.ok, result.report()
    assert result.calls >= 4000


@pytest.mark.parametrize("case", ["sigtimedwait_chld", "far_timer"])
def test_found_by_fuzzer(differential, case):
    differential([compile_c("fuzz_found"), case])
