"""Regressions found with LTP's syscall tests as an oracle (splice kinds, fsync, memfd seals,
execve, clocks, sysinfo, prctl, procfs sysctls): tests/programs/ltp_misc.c, one case per
argument, run natively and in the sandbox; stdout and exit status must match."""
import pytest

from harness import app_env, compare, compile_c

CASES = ["no_splice", "fsync_kinds", "memfd_seals", "execve_null_argv", "coarse_clocks", "sysinfo_timens", "prctl_misc"]


@pytest.mark.parametrize("case", CASES)
def test_ltp_misc(case):
    binary = compile_c("ltp_misc")
    native, _ = compare([binary, case], env=app_env())
    assert native.returncode == 0, native.stdout.decode(errors="replace")[-2000:]
