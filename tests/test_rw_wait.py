"""read(2) and write(2) that must wait and those that need not (tests/programs/rw_wait.c): the
handlers make a generator only for a call that waits (syscalls/file.py), so each way through is
run natively and in the sandbox: a reader asleep on an empty pipe, a blocking write larger than
the pipe, a write to a full pipe, EAGAIN without O_NONBLOCK's wait, pread and pwrite at once."""

from harness import compare, compile_c


def test_reads_and_writes_that_wait_and_that_do_not():
    native, _ = compare([compile_c("rw_wait")], native_status=0)
    assert b"FAIL" not in native.stdout
