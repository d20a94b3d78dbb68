"""Threads and futexes (issue 4), differential: 100 threads on a mutex + condvar, joins
through CLONE_CHILD_CLEARTID (pthread and a raw clone), tgkill to a chosen thread,
process signals routed to a thread that does not block them, the main thread exiting
first, exit_group from a thread, futex operations and errors, shared vs private futexes
across fork, robust mutexes, joined threads leaving their group (/proc/self/stat's num_threads), a new
thread's FP state (its creator's, not that of a thread whose stub thread it reuses)
(tests/programs/proc_threads.c); futex_waitv (futex_waitv.c).
"""
import pytest

from harness import compare, compile_c


@pytest.mark.parametrize("section", ["contention", "cleartid", "thread_signals", "exits", "futex_ops",
                                     "robust_mutexes", "fork_from_thread", "reaped_threads",
                                     "thread_fp_state"])
def test_threads(section):
    binary = compile_c("proc_threads", extra=("-pthread",))
    compare([binary, section], native_status=0)


@pytest.mark.parametrize("static", [False, True], ids=["dynamic", "static"])
def test_contention_static_and_dynamic(static):
    """The 100-thread contention run also as a static binary (its own TLS set-up, no ld.so)."""
    binary = compile_c("proc_threads", static=static, extra=("-pthread",))
    native, _ = compare([binary, "contention"], native_status=0)
    assert b"counter=100000 (want 100000)" in native.stdout


def test_first_process_killed_through_a_thread():
    """tgkill(SIGTERM) to a non-main thread of the sandbox's first process: the whole
    process dies by SIGTERM (status 143 from `snakevisor do`)."""
    binary = compile_c("proc_threads", extra=("-pthread",))
    native, _ = compare([binary, "kill_own_thread"])
    assert native.returncode == -15


def test_futex_waitv():
    """futex_waitv(2): three futexes waited on at once, the index of the woken one returned;
    EAGAIN, ETIMEDOUT on both clocks, and the argument checks in Linux's order."""
    native, _ = compare([compile_c("futex_waitv", extra=("-pthread",))], native_status=0)
    assert b"woke futex 2 (flags 0x2): waitv returned 2" in native.stdout
