"""seccomp(2) and PR_SET_SECCOMP for the application (issue 16 "Kernel features II", item 3),
differential: tests/programs/seccomp_app.c's sections run natively and in the sandbox, where the
Sentry runs the filters itself (kernel/seccomp.py, kernel/bpf.py). The unit tests check the BPF
checker and interpreter against programs whose answers Linux gives (the differential sections
show it does)."""
import pytest

from harness import compare, compile_c


def _binary():
    return compile_c("seccomp_app", static=True, extra=("-pthread",))


@pytest.mark.parametrize("section", ["errno", "trap", "kill", "strict", "tsync", "precedence", "invalid",
                                     "nnp", "status", "stack"])
def test_seccomp(section):
    compare([_binary(), section], native_status=0)


def test_random_programs_never_hurt_the_sentry():
    """1000 programs of random bytes and random valid opcodes: refused (EINVAL) or run with the
    same outcome as on Linux, each in its own child."""
    native, _ = compare([_binary(), "random"], native_status=0, timeout=300)
    assert b"refused" in native.stdout and b"installed 0" not in native.stdout
