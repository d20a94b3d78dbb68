"""Regressions found with LTP's syscall tests as an oracle (I/O area: pipes, poll, epoll,
fcntl, sockets, ...): tests/programs/ltp_io.c, one case per argument, run natively and in
the sandbox; stdout and exit status must match."""
import subprocess

import pytest

from harness import WARM_SETTING, app_env, compare, compile_c, sandbox_cmd, sandbox_env

CASES = ["caps", "locks", "connect_state", "setuid_perms", "o_path", "sock_errnos", "vmsplice", "splice_kinds", "epoll_exclusive", "termio", "sigio", "proc_writes", "mcast", "random_ioctl", "ficlone", "ipv6_opts"]


@pytest.mark.parametrize("case", CASES)
def test_ltp_io(case):
    binary = compile_c("ltp_io")
    native, _ = compare([binary, case], env=app_env())
    assert native.returncode == 0, native.stdout.decode(errors="replace")[-2000:]


def test_stdout_and_stderr_on_one_open_file(tmp_path):
    """`cmd > log 2>&1`: the caller's fds 1 and 2 are one open file, so they share one offset in
    the sandbox too (as separate descriptions, stderr's output overwrote stdout's)."""
    log = tmp_path / "log"
    with open(log, "wb") as f:
        subprocess.run(sandbox_cmd(["/bin/sh", "-c", "echo one; echo two >&2; echo three; echo four >&2"]),
                       stdout=f, stderr=f, env=sandbox_env({"PATH": "/usr/bin:/bin", **WARM_SETTING}), cwd="/", timeout=120)
    assert log.read_bytes() == b"one\ntwo\nthree\nfour\n"
