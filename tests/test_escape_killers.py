"""One-line sandbox killers (issue 11 "Trust", items 6-9): application values that used to crash the
Sentry or kill a process where Linux answers normally. Each program runs natively and in the
sandbox (same output and status), and ends by starting another program, so the sandbox is shown
to keep answering after the killer."""
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
from conftest import compile_c  # noqa: E402
from proc_util import compare, no_stub_left  # noqa: E402


def test_huge_timeouts_do_not_kill_the_sandbox():
    """Item 6: tv_sec up to 2^63-1 on every blocking call (nanosleep, clock_nanosleep, futex, poll,
    ppoll, select, pselect6, epoll_wait/pwait2, rt_sigtimedwait, SO_RCVTIMEO, timers) sleeps as
    Linux does (interruptible, remaining time measured from the saturated end), and invalid
    timespecs are EINVAL."""
    with no_stub_left():
        native, _ = compare([compile_c("killers_time")], timeout=90, native_status=0)
    assert b"still alive" in native.stdout


def test_timer_overrun_saturates():
    """Item 7: an overrun count past INT_MAX (an absolute timer decades in the past, 1 ms interval)
    raised struct.error in the loop; Linux reports DELAYTIMER_MAX in si_overrun and
    timer_getoverrun."""
    with no_stub_left():
        native, _ = compare([compile_c("killers_timer")], timeout=60, native_status=0)
    assert b"si_overrun saturated: 1" in native.stdout
