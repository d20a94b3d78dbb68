"""PI futexes (FUTEX_LOCK_PI, LOCK_PI2, TRYLOCK_PI, UNLOCK_PI, WAIT_REQUEUE_PI, CMP_REQUEUE_PI), raw and
under glibc's PTHREAD_PRIO_INHERIT and robust mutexes: tests/programs/pi_futex.c, one case per
argument, natively and in the sandbox; stdout (futex words with thread ids by name) and exit
status must match. The robust list's PI entries and a dying owner's hand-over are covered too; and,
with stand-ins for a Task and its memory, that a word changed under every compare-and-swap makes
LOCK_PI give its turn back (interruptibly) rather than spin in the Sentry."""
import struct
import types

import pytest

from harness import app_env, compare, compile_c

CASES = ["errors", "contention", "trylock", "robust", "owner_exits", "signal", "cond", "requeue",
         "requeue_errors", "hammer", "exec_robust"]


@pytest.mark.parametrize("case", CASES)
def test_pi_futex(case):
    native, _ = compare([compile_c("pi_futex", extra=("-pthread",)), case], env=app_env(), native_status=0)
    assert native.stdout, "the case printed nothing"


# -- a word the application never stops changing: the Sentry gives its turn back, interruptibly ----
class _Word:
    """Application memory whose futex word changes under every compare-and-swap."""

    def __init__(self, value):
        self.value, self.swaps = value, 0

    def copy_in(self, addr, n):
        return struct.pack("<I", self.value)

    def compare_and_swap(self, addr, old, new):
        self.swaps += 1
        self.value ^= 1 << 29   # another thread got there first
        return self.value


class _Task:
    def __init__(self, tid, mm, tasks):
        self.tid, self.mm, self.exited = tid, mm, False
        self.tg = types.SimpleNamespace(pidns=types.SimpleNamespace(id_of=lambda g: g, task_of=tasks.get))
        self.kernel = types.SimpleNamespace(monotonic=lambda: 0.0)

    def sleep_until(self, deadline):
        yield "turn given back"


def test_lock_pi_never_spins_on_a_changing_word():
    from snakevisor.abi.errno import ERESTARTNOINTR, ERESTARTSYS, SyscallError
    from snakevisor.sentry.kernel.futex import FutexManager
    from snakevisor.sentry.kernel.futex_pi import CAS_TRIES
    tasks = {}
    word = _Word(7)   # owned by thread 7, no waiters bit yet: LOCK_PI must swap it in
    me, owner = _Task(5, word, tasks), _Task(7, word, tasks)
    tasks[7] = owner
    call = FutexManager().pi.lock(me, 0x1000, None, True)
    assert next(call) == "turn given back" and word.swaps == CAS_TRIES
    assert next(call) == "turn given back" and word.swaps == 2 * CAS_TRIES
    with pytest.raises(SyscallError) as e:
        call.throw(SyscallError(ERESTARTSYS))   # a signal while it waits for its turn
    assert e.value.errno == ERESTARTNOINTR
