"""Hardware breakpoints and watchpoints through ptrace inside the sandbox (kernel/debugregs.py):
the debug registers' checks and traps of a C tracer as natively, gdb's `watch` (on the ptrace
platform, which loads them into its traced stub threads, whatever SNAKEVISOR_PLATFORM says), and
the systrap platform's refusal to enable one (its stubs are not traced once running)."""
import re
import shutil

import pytest

from harness import app_env, compare, compile_c, run_native, run_sandboxed

GDB = shutil.which("gdb")
ON_PTRACE = ("--platform", "ptrace")


def test_debug_registers_as_natively():
    """DR4/DR5, addresses past TASK_SIZE_MAX, DR7's length/type/alignment checks (errnos, and
    DR7 unchanged after a refusal), a write watchpoint trapping at each write (TRAP_HWBKPT,
    si_addr, DR6, the value) but not at a syscall's, an execute breakpoint, DR6 after a single
    step, a forked child's and an exec'd image's registers; breakpoints at the stub's code page
    must not disturb the Sentry's injections there."""
    native, _ = compare([compile_c("ptrace_debugregs")], native_status=0, flags=ON_PTRACE)
    assert b"first write: si_code 4 si_addr==rip 1 rip==target 0 dr6 0xffff0ff1 watched 1" in native.stdout
    assert b"at target: si_code 4 si_addr==rip 1 rip==target 1" in native.stdout


def test_debug_registers_are_per_thread():
    """A watchpoint set on one thread traps its write; a thread made after it exited starts with
    none and does not trap, though in the sandbox it reuses the first one's parked stub thread."""
    native, _ = compare([compile_c("ptrace_debugregs_threads", extra=("-pthread",))], native_status=0,
                        flags=ON_PTRACE)
    assert b"first thread: si_code 4 dr6 0xffff0ff1 watched 1" in native.stdout
    assert b"second thread: exited 0" in native.stdout


def test_systrap_refuses_to_enable_a_breakpoint():
    """On systrap the registers are read and written, but a DR7 that enables a breakpoint is EIO
    (and leaves DR7 as it was); everything else as natively."""
    argv = [compile_c("ptrace_debugregs"), "enable"]
    native = run_native(argv, env=app_env())
    assert native.returncode == 0 and b"dr7 write len 4: 0\n" in native.stdout, native.stdout
    boxed = run_sandboxed(argv, env=app_env(), flags=("--platform", "systrap"))
    want = native.stdout.replace(b"dr7 write len 4: 0\n", b"dr7 write len 4: -5\n").replace(b"dr7 0xd0001", b"dr7 0")
    assert boxed.stdout == want, boxed.stdout.decode(errors="replace") + boxed.stderr.decode(errors="replace")


def _gdb_lines(out):
    return re.sub(rb"\(process \d+\)", b"(process N)", out)


@pytest.mark.skipif(GDB is None, reason="gdb is not installed (tools/setup.sh --test installs it)")
def test_gdb_watch():
    """gdb's `watch` on a global changed in a loop: a hardware watchpoint that stops at each
    change with the same old and new values as natively, then the program runs to its end."""
    binary = compile_c("ptrace_watch_target", extra=("-g", "-O0"))
    commands = ["break main", "run", "watch counter", "continue", "continue", "continue", "continue"]
    argv = [GDB, "-batch", "-nx", *(x for c in commands for x in ("-ex", c)), binary]
    native = run_native(argv, env=app_env())
    if b"Hardware watchpoint 2: counter" not in native.stdout:
        pytest.skip(f"gdb has no hardware watchpoint natively here: {native.stdout[-300:]!r} {native.stderr[-300:]!r}")
    boxed = run_sandboxed(argv, env=app_env(), flags=ON_PTRACE)
    assert _gdb_lines(boxed.stdout) == _gdb_lines(native.stdout), \
        boxed.stdout.decode(errors="replace") + boxed.stderr.decode(errors="replace")
    assert b"Old value = 3\nNew value = 6\n" in boxed.stdout and b"counter=6" in boxed.stdout
    assert b"debug register" not in boxed.stderr, boxed.stderr[-2000:]
