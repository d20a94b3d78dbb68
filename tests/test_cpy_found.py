"""Regressions found with CPython's own regression suite as an oracle (its modules run natively and
in the sandbox, per-test outcomes compared): tests/programs/cpy_found.c, one case per argument,
natively and in the sandbox; stdout and exit status must match."""
import pytest

from harness import app_env, compare, compile_c

CASES = ["access_userns", "symlink_owner", "nproc_limit"]


@pytest.mark.parametrize("case", CASES)
def test_cpy_found(case):
    native, _ = compare([compile_c("cpy_found", extra=("-pthread",)), case], env=app_env(), native_status=0)
    assert native.stdout, "the case printed nothing"
