"""Regressions found with LTP's syscall tests as an oracle (splice kinds, fsync, memfd seals,
execve, clocks, sysinfo, prctl, procfs sysctls): tests/programs/ltp_misc.c, one case per
argument, run natively and in the sandbox; stdout and exit status must match."""
import pytest

from harness import app_env, compare, compile_c, run_sandboxed

CASES = ["no_splice", "fsync_kinds", "memfd_seals", "execve_null_argv", "coarse_clocks", "sysinfo_timens", "timens_range", "prctl_misc", "sysctl_writes", "tmpfs_seek_holes", "pidns_init_signals", "pidns_depth", "mq_notify_pidns", "userns_depth", "timerslack_proc", "close_range_unshare", "key_users", "kcmp_io", "timer_settime_order", "aio_pipe", "request_key_dest_perm", "sticky_timeouts", "handle_fid", "inotify_fdinfo", "ipc_mni", "ns_ioctls", "ipc_next_id"]


@pytest.mark.parametrize("case", CASES)
def test_ltp_misc(case):
    binary = compile_c("ltp_misc")
    native, _ = compare([binary, case], env=app_env())
    assert native.returncode == 0, native.stdout.decode(errors="replace")[-2000:]


def test_sysctl_limits_in_the_sandbox():
    """What cannot be compared with the host without changing it: a new kernel.pid_max bounds the
    PIDs of later processes; vm.max_map_count (the Sentry's own limit) is read-only, EACCES to root."""
    script = ("echo 400 > /proc/sys/kernel/pid_max && cat /proc/sys/kernel/pid_max && "
              "for i in 1 2 3 4 5 6 7 8 9 10; do sh -c 'test $$ -lt 400 && echo below'; done; "
              "stat -c %a /proc/sys/vm/max_map_count; echo 1000 > /proc/sys/vm/max_map_count || echo refused")
    out = run_sandboxed(["/bin/sh", "-c", script])
    assert out.stdout.decode().split() == ["400"] + ["below"] * 10 + ["444", "refused"], out


def test_fd_table_copy_past_nr_open():
    """Sandbox only, as it lowers fs.nr_open (the host's must not change): fork and
    unshare(CLONE_FILES) copy the fd table, EMFILE while a descriptor lies past nr_open rounded
    up to 64 (dup_fd); clone(CLONE_FILES) copies nothing."""
    out = run_sandboxed([compile_c("ltp_misc"), "nr_open_copy"])
    assert out.stdout.decode().splitlines() == [
        "fork: EMFILE", "CLONE_FILES child made, its unshare(CLONE_FILES) EMFILE: 1", "fork once it is closed: made"], out


def test_sched_rt_sysctls_in_the_sandbox():
    """Sandbox only, as the sysctls are global: kernel.sched_rr_timeslice_ms sets SCHED_RR's slice
    (0 or less restores 100 ms); sched_rt_period_us and sched_rt_runtime_us refuse a period
    below 1 and a runtime below -1 or past the period (EINVAL), keeping the old values."""
    out = run_sandboxed([compile_c("ltp_misc"), "sched_rt_sysctls"])
    assert out.stdout.decode().splitlines() == [
        "slice 25 ms", "/proc/sys/kernel/sched_rr_timeslice_ms: 100",
        "write /proc/sys/kernel/sched_rt_period_us: EINVAL", "write /proc/sys/kernel/sched_rt_runtime_us: EINVAL",
        "write /proc/sys/kernel/sched_rt_runtime_us: EINVAL",
        "/proc/sys/kernel/sched_rt_period_us: 500000", "/proc/sys/kernel/sched_rt_runtime_us: -1"], out
