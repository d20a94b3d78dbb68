"""Regressions found with the test suites that ship inside pip packages (psutil, trio, numpy) as
oracles, run natively and in the sandbox with per-test outcomes compared:
tests/programs/pysuites_found.c, one case per argument, natively and in the sandbox; stdout and exit
status must match. (None of those packages is needed here.)"""
import pytest

from harness import app_env, compare, compile_c

CASES = ["maps_names", "comm_bytes", "mount_names", "ethtool", "cpu_monotonic", "ctx_switches", "memfree_touched"]


@pytest.mark.parametrize("case", CASES)
def test_pysuites_found(case):
    native, _ = compare([compile_c("pysuites_found"), case], env=app_env(), native_status=0)
    assert native.stdout, "the case printed nothing"
