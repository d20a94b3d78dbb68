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
