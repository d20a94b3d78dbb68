"""File leases (fcntl F_SETLEASE/F_GETLEASE, sentry/vfs/leases.py): tests/programs/leases.c natively
and in the sandbox, on tmpfs, on the Gofer's root overlay and on a volume; and, in the sandbox
only, a break forced after /proc/sys/fs/lease-break-time (natively that is the host's setting)."""
from harness import app_env, compile_c, exit_code, run_native, run_sandboxed, tail


def test_leases_on_tmpfs_match_linux(differential):
    differential([compile_c("leases"), "/tmp"], native_status=0)


def test_leases_on_the_gofer_root_match_linux(differential):
    differential([compile_c("leases"), "/var/tmp"], native_status=0)


def test_leases_on_a_volume_match_linux(tmp_path):
    d = str(tmp_path)
    argv = [compile_c("leases"), d]
    native = run_native(argv, env=app_env())
    assert native.returncode == 0, tail(native.stderr)
    boxed = run_sandboxed(argv, flags=("-v", f"{d}:{d}"), env=app_env())
    assert boxed.stdout == native.stdout, tail(boxed.stdout, 3000) + tail(boxed.stderr)
    assert boxed.returncode == exit_code(native.returncode)


def test_unanswered_break_times_out():
    boxed = run_sandboxed([compile_c("leases"), "/tmp", "timeout"])
    assert boxed.returncode == 0, tail(boxed.stderr)
    assert boxed.stdout.decode().splitlines() == [
        "  setlease: 0", "  open after timeout ok: 1", "  waited about a second 1", "  get UNLCK",
        "  signal RTMIN+1 code 3 fd_matches 1"]
