"""Small kernel features as Linux 6.x has them (AF_UNIX MSG_OOB, mountinfo's propagate_from, the
pidfd ioctls and PIDFD_THREAD, clone3's set_tid and ns_last_pid; clock_nanosleep on CPU-time clocks):
tests/programs/kfeatures.c and cpu_nanosleep.c, one case per argument, natively and in the
sandbox; stdout and exit status must match."""
import pytest

from harness import app_env, compare, compile_c

CASES = ["oob_basic", "oob_skip", "oob_replace", "oob_peek", "oob_inline", "oob_signal", "oob_errors", "propagate_from",
         "pidfd_info", "pidfd_ns", "set_tid", "ns_last_pid", "pidfd_thread"]
CPU_SLEEP_CASES = ["spin", "idle", "restart", "thread", "child"]


@pytest.mark.parametrize("case", CASES)
def test_kfeatures(case):
    native, _ = compare([compile_c("kfeatures", extra=("-pthread",)), case], env=app_env(), native_status=0)
    assert native.stdout, "the case printed nothing"


@pytest.mark.parametrize("case", CPU_SLEEP_CASES)
def test_cpu_clock_nanosleep(case):
    native, _ = compare([compile_c("cpu_nanosleep", extra=("-pthread",)), case], native_status=0)
    assert native.stdout, "the case printed nothing"
