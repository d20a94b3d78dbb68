"""A handled signal ends an interruptible wait even when it also wakes that wait through a watched
file (tests/programs/signal_wakeup.c); PostgreSQL's background workers never stopped otherwise."""
from harness import compile_c


def test_signal_ends_a_wait_woken_by_its_own_signalfd(differential):
    native, _ = differential([compile_c("signal_wakeup")])
    assert native.stdout.count(b"exit 0") == 3
