"""Regressions found with gVisor's syscall tests as an oracle (files, directories, fcntl,
sendfile, lseek, procfs, utimes): tests/programs/gvt_vfs.c, one case per argument, run natively
and in the sandbox; stdout and exit status must match."""
import pytest

from harness import app_env, compare, compile_c

CASES = ["getdents", "trunc_times", "fcntl", "sendfile", "lseek", "fdinfo", "pread_espipe", "utimes", "rename_dots", "inotify_more"]


@pytest.mark.parametrize("case", CASES)
def test_gvt_vfs(case):
    binary = compile_c("gvt_vfs")
    native, _ = compare([binary, case], env=app_env())
    assert native.returncode == 0, native.stdout.decode(errors="replace")[-2000:]


def test_protected_hardlinks():
    """The sandbox's fs.protected_hardlinks is 1, as Debian sets it; compared with a host that agrees."""
    with open("/proc/sys/fs/protected_hardlinks") as f:
        if f.read().strip() != "1":
            pytest.skip("this host's fs.protected_hardlinks is not 1: native links would differ")
    native, _ = compare([compile_c("gvt_vfs"), "protected_hardlinks"], env=app_env())
    assert b"EPERM" in native.stdout
