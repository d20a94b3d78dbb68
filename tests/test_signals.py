"""Signals (issue 4), differential: delivery order and masks (standard signals coalesce,
real-time ones queue), sigprocmask/sigpending, ignored vs blocked, nested handlers,
SA_SIGINFO fields, SA_RESETHAND, SA_NODEFER, sigsuspend, sigtimedwait, sigaltstack with
SA_ONSTACK, SA_RESTART vs EINTR (signal from a child, alarm, setitimer), faults delivered
to handlers (SIGSEGV/SIGBUS/SIGFPE/SIGILL/SIGTRAP with si_code, si_addr, RIP), and the
FP/vector state around handlers. Programs: tests/programs/proc_*.c.
"""
import pytest

from harness import app_env, compare, compile_c, run, run_native, sandbox_cmd, sandbox_env


@pytest.mark.parametrize("section", ["order", "stacked", "masks", "nested", "resethand", "siginfo",
                                     "suspend", "timedwait", "inherit"])
def test_signal_semantics(section):
    """`order`: standard signals once each, lowest first; RT signals queued with values,
    in order; thread-directed before process-directed. `stacked`: handlers that block
    nothing get one frame per pending signal, set up before returning to user mode."""
    binary = compile_c("proc_signals")
    compare([binary, section], native_status=0)


def test_sigaltstack():
    """SA_ONSTACK handlers on the alt stack (SS_ONSTACK, EPERM to change it there),
    nested on it, overflow recovery, an 8 KiB one holds a frame (no AMX tile data in it), fork
    keeps it, exec drops it."""
    binary = compile_c("proc_altstack")
    native, _ = compare([binary], native_status=0)
    assert b"stack overflow recovered on alt stack: exited=1 code=42" in native.stdout
    assert b"8 KiB alt stack: exited=1 code=7" in native.stdout


@pytest.mark.parametrize("mode", ["child", "itimer", "alarm"])
def test_sa_restart_vs_eintr(mode):
    """A blocking read/write/wait4 restarts under SA_RESTART and fails with EINTR without
    it; nanosleep/poll/select/pause never restart; ignored signals do not interrupt. The
    signal comes from a child, from setitimer(ITIMER_REAL) or from alarm()."""
    binary = compile_c("proc_restart")
    compare([binary, mode], native_status=0)


@pytest.mark.parametrize("section", ["segv", "bus", "arith", "fatal", "trapno"])
def test_faults(section):
    """si_code and si_addr of SIGSEGV (MAPERR/ACCERR on NULL, read-only, PROT_NONE, NX,
    munmap'd pages), SIGBUS past EOF, SIGFPE (idiv by 0), SIGILL (ud2), SIGTRAP (int3);
    handlers that return after moving RIP; faults with the signal blocked or ignored kill;
    `trapno` compares REG_TRAPNO in the ucontext."""
    binary = compile_c("proc_faults")
    compare([binary, section], native_status=0)


def test_fp_state_survives_handlers():
    """xmm/ymm/zmm/k registers, MXCSR and x87 CW survive a handler that clobbers them;
    an edit of uc_mcontext.fpregs reaches the registers; exact FP under a signal storm."""
    binary = compile_c("proc_fpstate", extra=("-pthread",))
    native, _ = compare([binary], native_status=0)
    assert b"xmm0-15 preserved: 16/16" in native.stdout


def test_handler_starts_with_clean_fp_state():
    """Linux gives a handler a fresh FPU state: MXCSR 0x1f80, x87 CW 0x37f."""
    binary = compile_c("proc_fpstate", extra=("-pthread",))
    native, _ = compare([binary, "clean"], native_status=0)
    assert b"MXCSR=0x1f80 FCW=0x37f" in native.stdout


def test_rlimit_sigpending():
    """Queued signals are charged to the receiving user: sigqueue of a real-time signal past
    RLIMIT_SIGPENDING is EAGAIN, kill(2) and standard signals still arrive with their
    information lost (si_code SI_USER), and a child's queued signals count for its parent."""
    binary = compile_c("sigpending_limit")
    native, _ = compare([binary], native_status=0)
    assert b"own rt queue: 4 queued, then EAGAIN" in native.stdout


# A launcher that ignores signals: nohup's SIGHUP, a script's background job's SIGINT and SIGQUIT.
IGNORING = ("/bin/sh", "-c", 'trap "" HUP INT QUIT USR1; exec "$@"', "sh")


def test_the_command_starts_with_the_signals_its_caller_ignores():
    """exec keeps ignored signals ignored, and so does `do` for its command (and for what that
    execs); SIGPIPE, which Python ignores itself, is the default for it as for Python's own
    subprocesses."""
    prog = compile_c("ignored_signals")
    native = run_native([*IGNORING, prog], env=app_env())
    assert native.stdout == b"ignored: 1 2 3 10\n", native.stdout
    boxed = run([*IGNORING, *sandbox_cmd([prog])], env=sandbox_env(app_env()))
    assert boxed.stdout == native.stdout, boxed.stdout + boxed.stderr
    plain = run(sandbox_cmd([prog]), env=sandbox_env(app_env()))
    assert plain.stdout == b"ignored:\n", plain.stdout + plain.stderr


# A launcher that lowers limits below any default (a low hard RLIMIT_NOFILE once broke the
# stubs' start, which moved their descriptors to 1024 and up).
LIMITING = ("prlimit", "--nofile=333:700", "--stack=4194304:", "--core=0:1048576", "--fsize=1099511627776", "--")


def test_the_command_starts_with_its_callers_resource_limits():
    """exec keeps the resource limits, and so does `do` for its command: the same ones natively
    and in the sandbox under a launcher that sets four of them."""
    prog = compile_c("rlimits")
    native = run_native([*LIMITING, prog], env=app_env())
    assert b"7 333 700\n" in native.stdout, native.stdout
    boxed = run([*LIMITING, *sandbox_cmd([prog])], env=sandbox_env(app_env()))
    assert boxed.stdout == native.stdout, boxed.stdout + boxed.stderr


def test_cpu_time_interval_timers():
    """ITIMER_VIRTUAL and ITIMER_PROF count the process's CPU time, not the wall clock's: nothing
    while it sleeps, the signal after about its value of spinning, repeated by the interval."""
    native, _ = compare([compile_c("itimer_cpu")], timeout=120, native_status=0)
    assert native.stdout.count(b": 1") == 8 and b": 0" not in native.stdout, native.stdout
