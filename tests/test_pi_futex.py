"""PI futexes (FUTEX_LOCK_PI, LOCK_PI2, TRYLOCK_PI, UNLOCK_PI, WAIT_REQUEUE_PI, CMP_REQUEUE_PI), raw and
under glibc's PTHREAD_PRIO_INHERIT and robust mutexes: tests/programs/pi_futex.c, one case per
argument, natively and in the sandbox; stdout (futex words with thread ids by name) and exit
status must match. The robust list's PI entries and a dying owner's hand-over are covered too."""
import pytest

from harness import app_env, compare, compile_c

CASES = ["errors", "contention", "trylock", "robust", "owner_exits", "signal", "cond", "requeue",
         "requeue_errors"]


@pytest.mark.parametrize("case", CASES)
def test_pi_futex(case):
    native, _ = compare([compile_c("pi_futex", extra=("-pthread",)), case], env=app_env(), native_status=0)
    assert native.stdout, "the case printed nothing"
