"""harness.deadline, which conftest wraps around every test so that none can hang the suite: it
interrupts a block that overruns, and nested inside the per-test limit it leaves that limit armed."""
import signal
import time

import pytest

from harness import deadline


def test_deadline_interrupts_a_blocked_wait():
    started = time.monotonic()
    with pytest.raises(TimeoutError, match="the wait still running"):
        with deadline(0.2, "the wait"):
            signal.pause()   # blocks until a signal comes: only the deadline's SIGALRM will
    assert time.monotonic() - started < 30


def test_inner_deadline_leaves_the_per_test_limit_armed():
    before, _ = signal.getitimer(signal.ITIMER_REAL)
    assert before > 0, "conftest arms a limit on every test"
    with deadline(5):
        pass
    after, _ = signal.getitimer(signal.ITIMER_REAL)
    assert 0 < after <= before
