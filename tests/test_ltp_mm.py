"""Regressions found with LTP's syscall tests as an oracle (memory area: futex keys and counts,
mmap, mprotect, madvise, msync): tests/programs/ltp_mm.c, one case per argument, run natively
and in the sandbox; stdout and exit status must match."""
import pytest

from harness import app_env, compare, compile_c

CASES = ["futex_efault", "futex_counts", "devzero_rdonly", "mmap_order", "madvise_checks", "fork_advice", "msync_locked", "growsdown",
         "madv_remove", "mincore_residency"]


@pytest.mark.parametrize("case", CASES)
def test_ltp_mm(case):
    binary = compile_c("ltp_mm", extra=("-pthread",))
    native, _ = compare([binary, case], env=app_env())
    assert native.returncode == 0, native.stdout.decode(errors="replace")[-2000:]
