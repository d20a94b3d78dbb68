"""Regressions found by running real programs (cp, tar, git, sqlite3, perl, node, java, gdb, make)
natively and in the sandbox: tests/programs/real_found.c, one case per argument, run natively and
in the sandbox; stdout and exit status must match."""
import pytest

from harness import app_env, compare, compile_c

CASES = ["posix_acl"]


@pytest.mark.parametrize("case", CASES)
def test_real_found(case):
    native, _ = compare([compile_c("real_found"), case], env=app_env(), native_status=0)
    assert native.stdout, "the case printed nothing"
