"""Regressions found with LTP's syscall tests as an oracle (I/O area: pipes, poll, epoll,
fcntl, sockets, ...): tests/programs/ltp_io.c, one case per argument, run natively and in
the sandbox; stdout and exit status must match."""
import pytest

from conftest import compile_c
from test_differential import app_env, compare

CASES = ["caps", "locks", "connect_state", "setuid_perms", "o_path", "sock_errnos", "vmsplice", "splice_kinds", "epoll_exclusive", "termio", "sigio", "proc_writes"]


@pytest.mark.parametrize("case", CASES)
def test_ltp_io(case):
    binary = compile_c("ltp_io")
    native, _ = compare([binary, case], env=app_env())
    assert native.returncode == 0, native.stdout.decode(errors="replace")[-2000:]
