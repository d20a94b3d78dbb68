"""Regressions found with stress-ng (Debian 12's 0.15.06) as an oracle: tests/programs/stressng.c,
one case per argument reproducing a stressor's root cause without stress-ng, run natively and in
the sandbox; stdout and exit status must match."""
import pytest

from harness import app_env, compare, compile_c

CASES = ["dir_notify_enable", "deadline_priority", "reboot_pid_namespace", "kcmp_sysvsem", "splice_flags", "mems_allowed", "alarm_busy_forks", "user_dispatch", "cpu_caches", "pty_locked_termios"]


@pytest.mark.parametrize("case", CASES)
def test_stressng(case):
    native, _ = compare([compile_c("stressng", extra=("-pthread",)), case], env=app_env(), native_status=0)
    assert native.stdout, "the case printed nothing"


def test_raw_hdrincl():
    """Raw sockets exist under ``do --net-raw`` only (design.md, section 10)."""
    native, _ = compare([compile_c("stressng", extra=("-pthread",)), "raw_hdrincl"], env=app_env(), native_status=0,
                        flags=("--net-raw",))
    assert b"raw socket made" in native.stdout, native.stdout
