"""seccomp(2) and PR_SET_SECCOMP for the application (issue 16 "Kernel features II", item 3),
differential: tests/programs/seccomp_app.c's sections, seccomp_notify.c (user notification) and
seccomp_libseccomp.c (a libseccomp user) run natively and in the sandbox, where the Sentry runs
the filters itself (kernel/seccomp.py, kernel/bpf.py, kernel/seccomp_notify.py). Unit tests feed
the BPF checker and interpreter hostile programs and check Linux's instruction count."""
import os
import random
import re
from types import SimpleNamespace

import pytest

from harness import compare, compile_c, run_sandboxed
from snakevisor.abi.errno import EINVAL, SyscallError
from snakevisor.abi.seccomp import BPF_JEQ_K, BPF_LD_W_ABS, BPF_RET_K, SOCK_FILTER
from snakevisor.sentry.kernel import bpf
from snakevisor.sentry.kernel import seccomp as K


def _binary():
    return compile_c("seccomp_app", static=True, extra=("-pthread",))


@pytest.mark.parametrize("section", ["errno", "trap", "kill", "strict", "tsync", "precedence", "invalid",
                                     "nnp", "status", "stack", "restart", "charge"])
def test_seccomp(section):
    compare([_binary(), section], native_status=0)


def test_trace_action_with_a_tracer():
    """SECCOMP_RET_TRACE: PTRACE_EVENT_SECCOMP stops with the filter's data, the tracer letting
    the call run, skipping it and changing it; ENOSYS with no tracer (it was ENOSYS always)."""
    native, _ = compare([compile_c("seccomp_trace")], native_status=0)
    assert b"getuid skipped, rax 777: 777" in native.stdout


def test_user_notification():
    """A listener's supervisor answers a filtered thread's syscalls (tests/programs/seccomp_notify.c)."""
    binary = compile_c("seccomp_notify", static=True, extra=("-pthread",))
    native, _ = compare([binary], native_status=0)
    assert b"target result 0: 4242" in native.stdout


def test_random_programs_never_hurt_the_sentry():
    """1000 programs of random bytes and random valid opcodes: refused (EINVAL) or run with the
    same outcome as on Linux, each in its own child."""
    native, _ = compare([_binary(), "random"], native_status=0, timeout=300)
    assert b"refused" in native.stdout and b"installed 0" not in native.stdout


def test_filters_are_charged_to_the_memory_limit():
    """Filters live in the Sentry's memory: under --memory 64m, threads holding 7 filters of 4096
    instructions each (280 fit natively: the 'charge' section above) fill it: a thread stops early
    with ENOMEM, or the next thread's stack no longer fits (which comes first depends on where
    the limit falls), and the sandbox carries on."""
    res = run_sandboxed([_binary(), "charge"], flags=("--memory", "64m"))
    assert res.returncode == 0, res.stderr
    m = re.search(rb"threads: (\d+); filters installed: (\d+); threads stopped short by ENOMEM: (\d+)", res.stdout)
    assert m, res.stdout
    threads, filters, short = (int(x) for x in m.groups())
    assert 20 <= filters < 280 and (short >= 1 or threads < 40), res.stdout


def test_libseccomp_program():
    """A real libseccomp user: rules with argument comparisons, ERRNO, TRAP and KILL_PROCESS."""
    if not os.path.exists("/usr/include/seccomp.h"):
        pytest.skip("libseccomp-dev is not installed (tools/setup.sh --test installs it)")
    binary = compile_c("seccomp_libseccomp", extra=("-lseccomp",))
    native, _ = compare([binary], native_status=0)
    assert b"open O_CREAT: -1 EPERM" in native.stdout


def test_bpf_checker_and_interpreter_on_random_bytes():
    """Hostile programs straight into the checker: EINVAL or a program whose every run ends in a
    32-bit value, never another exception (a crash of the Sentry's syscall path)."""
    rng = random.Random(16)
    valid = 0
    for _ in range(20000):
        n = rng.randint(0, 40)
        raw = bytes(rng.getrandbits(8) for _ in range(8 * n))
        if rng.random() < 0.7:   # bias towards known opcodes so that some pass
            raw = b"".join(SOCK_FILTER.pack(rng.choice(list(bpf.OPCODES)), rng.randint(0, 3), rng.randint(0, 3),
                                            rng.choice((0, 4, 16, 60, 0x7FFF0000, rng.getrandbits(32))))
                           for _ in range(n))
        try:
            prog = bpf.check(raw)
        except SyscallError as e:
            assert e.errno == EINVAL
            continue
        valid += 1
        words = [rng.getrandbits(32) for _ in range(16)]
        assert 0 <= bpf.run(prog, words) <= 0xFFFFFFFF
    assert valid > 50, valid   # (87 with this seed)


def test_linux_length():
    """MAX_INSNS_PER_PATH counts Linux's eBPF translation: the figures the stack section measures."""
    ret = SOCK_FILTER.pack(BPF_RET_K, 0, 0, 0x7FFF0000)
    assert bpf.linux_length(bpf.check(ret)) == 5
    ld = SOCK_FILTER.pack(BPF_LD_W_ABS, 0, 0, 0)
    assert bpf.linux_length(bpf.check(ld * 4095 + ret)) == 4100
    jeq_neg = SOCK_FILTER.pack(BPF_JEQ_K, 0, 1, 0xC000003E)   # negative constant, true branch next: JNE
    assert bpf.linux_length(bpf.check(jeq_neg + ret + ret)) == 3 + 2 + 2 + 2


def test_nth_filter_gives_programs_as_installed():
    """For ptrace's PTRACE_SECCOMP_GET_FILTER: index 0 is the first filter installed (Linux's
    get_nth_filter), the bytes are the program as the application gave it (the decoded form
    rewrites loads)."""
    older = SOCK_FILTER.pack(BPF_LD_W_ABS, 0, 0, 4) + SOCK_FILTER.pack(BPF_RET_K, 0, 0, 0x7FFF0000)
    newer = SOCK_FILTER.pack(BPF_RET_K, 0, 0, 0x50001)
    stack = K.Filter(older, bpf.check(older), None, False)
    stack = K.Filter(newer, bpf.check(newer), stack, True)
    task = SimpleNamespace(seccomp=stack)
    assert K.nth_filter(task, 1).raw == newer and K.nth_filter(task, 1).log
    assert K.nth_filter(task, 0).raw == older and K.nth_filter(task, 2) is None
    assert K.nth_filter(SimpleNamespace(seccomp=K.STRICT), 0) is None
