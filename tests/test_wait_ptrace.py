"""wait4/waitid corners found with gVisor's wait_test: a child its parent traces is reaped by a
__WCLONE wait (a tracee is waitable whatever the flags say, Linux 4.7), once; __WNOTHREAD limits a
wait to the calling thread's own children. tests/programs/wait_ptrace.c, natively and in the
sandbox; stdout and exit status must match."""
import pytest

from harness import app_env, compare, compile_c

CASES = ["tracee_wclone", "tracee_waitid", "wnothread"]


@pytest.mark.parametrize("case", CASES)
def test_wait_ptrace(case):
    native, _ = compare([compile_c("wait_ptrace", extra=("-pthread",)), case], env=app_env(), native_status=0)
    assert native.stdout, "the case printed nothing"
