"""ptrace(2) inside the sandbox (issue 16 "Kernel features II", item 1), differential: a C tracer
and its tracees (tests/programs/ptrace_*.c) natively and sandboxed, then strace -f itself.
Set SNAKEVISOR_PLATFORM=ptrace to run them on the other platform.
"""
import collections
import re
import shutil

import pytest

from harness import app_env, compare, compile_c, run_native, run_sandboxed

STRACE = shutil.which("strace")
PIPELINE = "ls / | wc -l"


def test_syscall_stops_registers_memory_events():
    """TRACEME, syscall-enter/exit stops, a result changed at exit, a syscall skipped, registers,
    PEEK/POKE, process_vm_readv/writev, fork/exec/exit events and the grandchild's stops."""
    binary = compile_c("ptrace_syscalls")
    native, _ = compare([binary], native_status=0)
    assert b"exit event: msg 768" in native.stdout   # the grandchild's _exit(3), as a wait status


def test_registers_changed_at_a_signal_stop_after_a_syscall_stick():
    """The tracer's rax at a signal-delivery-stop right after a syscall is what the syscall returns."""
    native, _ = compare([compile_c("ptrace_signal_rax")], native_status=0)
    assert b"tgkill returned 77" in native.stdout


def test_sysemu_comes_before_the_tracees_seccomp_filter():
    """A call PTRACE_SYSEMU emulates never reaches the tracee's filter (one that kills); under
    PTRACE_SYSCALL the filter runs after the entry stop."""
    native, _ = compare([compile_c("ptrace_sysemu_seccomp")], native_status=0)
    assert b"sysemu: exited 0" in native.stdout and b"syscall: killed by signal 31" in native.stdout


def test_seccomp_filters_read_back_by_the_tracer():
    """PTRACE_SECCOMP_GET_FILTER and GET_METADATA: the tracee's filters as installed, first one
    at index 0, with their LOG flag; ENOENT past the last, EFAULT for a bad buffer."""
    native, _ = compare([compile_c("ptrace_seccomp_filter")], native_status=0)
    assert b"filter 0 (the first installed): length = 3" in native.stdout and b"returns ALLOW: 1" in native.stdout


def test_attach_seize_interrupt_listen_detach_kill():
    """ATTACH/SEIZE of running processes, INTERRUPT, LISTEN through a group stop, DETACH, SIGKILL
    and PTRACE_KILL of a stopped tracee, the tracer's exit (EXITKILL or a plain detach), and a
    tracer that is not the parent collecting its tracee's exit."""
    binary = compile_c("ptrace_attach")
    native, _ = compare([binary], native_status=0)
    assert b"t (tracing stop)" in native.stdout


def test_traced_thread():
    """PTRACE_O_TRACECLONE: the clone event, the new thread's first stop and its exit, each
    reported to the tracer by the thread's tid."""
    binary = compile_c("ptrace_threads", extra=("-pthread",))
    compare([binary], native_status=0)


def test_thread_collected_after_its_groups_exit_reports_the_groups_code():
    """A traced thread that ended with 0, collected after its group's exit_group(5) began (the main
    thread's PTRACE_EVENT_EXIT stop), reports 5 (Linux's wait_task_zombie); the Sentry reported the
    code the thread had when it ended."""
    binary = compile_c("ptrace_group_exit_code", extra=("-pthread",))
    native, _ = compare([binary], native_status=0)
    assert b"thread collected after the group: exited 5" in native.stdout, native.stdout


def _syscalls_per_program(trace):
    """strace -f -o output: program (its last execve) -> the set of syscall names it made."""
    names, program = collections.defaultdict(set), {}
    for line in trace.decode(errors="replace").splitlines():
        m = re.match(r"(\d+)\s+(?:<\.\.\. (\w+) resumed>|(\w+)\()", line)
        if m:
            names[m.group(1)].add(m.group(2) or m.group(3))
            e = re.search(r'execve\("([^"]+)"', line)   # the last one is the one that worked
            if e:
                program[m.group(1)] = e.group(1)
    return {program.get(pid, pid): calls for pid, calls in names.items()}


@pytest.mark.skipif(STRACE is None, reason="strace is not installed (tools/setup.sh --test installs it)")
def test_strace_follows_a_pipeline(tmp_path):
    """`strace -f sh -c 'ls / | wc -l'`: every process with the same syscalls as natively, each
    exit seen, and the pipeline's own output intact."""
    trace = tmp_path / "trace"
    script = f"{STRACE} -f -o {{}} /bin/sh -c '{PIPELINE}' >/dev/null"   # the same stdout both times
    native = run_native(["/bin/sh", "-c", script.format(trace)], env=app_env(PWD="/"))
    if native.returncode != 0 or not trace.exists():
        pytest.skip(f"strace does not work natively here (no ptrace?): {native.stderr[-300:]!r}")
    boxed = run_sandboxed(["/bin/sh", "-c", script.format("/tmp/trace") + " && cat /tmp/trace"], env=app_env(PWD="/"))
    assert boxed.returncode == 0, boxed.stderr[-2000:]
    want, got = _syscalls_per_program(trace.read_bytes()), _syscalls_per_program(boxed.stdout)
    assert set(got) == {"/bin/sh", "/usr/bin/ls", "/usr/bin/wc"}, boxed.stdout[-3000:]
    for program, calls in want.items():
        assert got[program] == calls, f"{program}: missing {calls - got[program]}, extra {got[program] - calls}"
        assert {"execve", "openat", "read", "exit_group"} <= calls
    assert boxed.stdout.count(b"+++ exited with 0 +++") == 3
    plain = run_sandboxed(["/bin/sh", "-c", f"{STRACE} -f -o /dev/null /bin/sh -c '{PIPELINE}'"], env=app_env(PWD="/"))
    untraced = run_sandboxed(["/bin/sh", "-c", PIPELINE], env=app_env(PWD="/"))
    assert plain.stdout == untraced.stdout and plain.returncode == 0


def test_single_step_and_breakpoint():
    """An int3 poked into the text, hit, removed; then PTRACE_SINGLESTEP (TF) to the exit: the
    same number of instructions and stepped syscalls as natively."""
    binary = compile_c("ptrace_step")
    native, _ = compare([binary], native_status=0)
    assert b"syscalls stepped over 1, exited 1 with 9" in native.stdout


GDB = shutil.which("gdb")


@pytest.mark.skipif(GDB is None, reason="gdb is not installed (tools/setup.sh --test installs it)")
def test_gdb_batch():
    """gdb -batch: a breakpoint, bt, print and set var, stepi, next, continue to a SIGSEGV; its
    output as natively (gdb turns address randomization off, so addresses match too)."""
    binary = compile_c("ptrace_gdb_target", extra=("-g", "-O0"))
    commands = ["break f", "run", "bt", "print *p", "set var *p = 5", "stepi", "next", "info registers rip",
                "continue", "bt"]
    argv = [GDB, "-batch", "-nx", *(x for c in commands for x in ("-ex", c)), binary]
    native = run_native(argv, env=app_env())
    if b"Breakpoint 1, f" not in native.stdout:
        pytest.skip(f"gdb does not work natively here (no ptrace?): {native.stderr[-300:]!r}")
    boxed = run_sandboxed(argv, env=app_env())
    assert boxed.stdout == native.stdout, boxed.stdout.decode(errors="replace") + boxed.stderr.decode(errors="replace")
    assert b"Program received signal SIGSEGV" in boxed.stdout
    assert b"Can't read" not in boxed.stderr, boxed.stderr[-2000:]   # ld.so's link map names the vDSO from it
