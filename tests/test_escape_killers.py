"""One-line sandbox killers (issue 11 "Trust", items 6-9): application values that used to crash the
Sentry or kill a process where Linux answers normally. Each program runs natively and in the
sandbox (same output and status), and ends by starting another program, so the sandbox is shown
to keep answering after the killer."""
import contextlib
import os
import signal
import subprocess
import time

from harness import NEUTRAL_CWD, app_env, compare, compile_c, no_stub_left, sandbox_cmd


@contextlib.contextmanager
def boxed(argv, stdin, stdout):
    """A running `snakevisor do -- argv` with the given host stdio (its pid is the Sentry's);
    SIGKILLed with its session if the block leaves it running."""
    proc = subprocess.Popen(sandbox_cmd(argv), stdin=stdin, stdout=stdout, stderr=subprocess.PIPE, cwd=NEUTRAL_CWD,
                            env=app_env(), start_new_session=True)
    try:
        yield proc
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        proc.stderr.close()


def test_huge_timeouts_do_not_kill_the_sandbox():
    """Item 6: tv_sec up to 2^63-1 on every blocking call (nanosleep, clock_nanosleep, futex, poll,
    ppoll, select, pselect6, epoll_wait/pwait2, rt_sigtimedwait, SO_RCVTIMEO, timers) sleeps as
    Linux does (interruptible, remaining time measured from the saturated end), and invalid
    timespecs are EINVAL."""
    with no_stub_left():
        native, _ = compare([compile_c("killers_time")], timeout=90, native_status=0)
    assert b"still alive" in native.stdout


def test_timer_overrun_saturates():
    """Item 7: an overrun count past INT_MAX (an absolute timer decades in the past, 1 ms interval)
    raised struct.error in the loop; Linux reports DELAYTIMER_MAX in si_overrun and
    timer_getoverrun. A timer's signal is queued once: later expirations while it is pending are
    its overruns (each was queued as another signal), and timer_delete drops it."""
    with no_stub_left():
        native, _ = compare([compile_c("killers_timer")], timeout=60, native_status=0)
    assert b"si_overrun saturated: 1" in native.stdout


def _cpu_seconds(pid):
    """utime + stime of host process ``pid`` (all its threads; not its children)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def test_poll_on_unpollable_stdio_does_not_starve_the_sandbox(tmp_path):
    """Item 8: stdin from /dev/null and stdout to a regular file cannot be polled by the host; a
    poll for POLLPRI on them busy-waited in the Sentry and no other process of the sandbox ran.
    Now they are always readable/writable (as Linux answers for files without poll) and the wait
    sleeps: a child counting getpid calls keeps running meanwhile."""
    prog = compile_c("killers_poll")
    native_out, boxed_out = tmp_path / "native", tmp_path / "boxed"
    with open(native_out, "wb") as out:
        native = subprocess.run([prog, "count"], stdin=subprocess.DEVNULL, stdout=out, timeout=60,
                                cwd=NEUTRAL_CWD, env=app_env())
    assert native.returncode == 0 and b"during the wait >= 1000: 1" in native_out.read_bytes()
    with no_stub_left(), open(boxed_out, "wb") as out, boxed([prog, "count"], subprocess.DEVNULL, out) as proc:
        _, err = proc.communicate(timeout=60)
    assert boxed_out.read_bytes() == native_out.read_bytes(), err.decode(errors="replace")[-3000:]
    assert proc.returncode == 0


def test_poll_on_unpollable_stdio_sleeps(tmp_path):
    """Item 8: while a sandboxed program polls stdin (a regular file) for POLLPRI for 2 s, the
    Sentry sleeps: its CPU time over the wait stays well under the wall time (it was 40-100%)."""
    prog = compile_c("killers_poll")
    stdin = tmp_path / "input"
    stdin.write_bytes(b"some input\n")
    with open(stdin, "rb") as f:
        native = subprocess.run([prog], stdin=f, capture_output=True, timeout=60, cwd=NEUTRAL_CWD,
                                env=app_env())
    assert native.returncode == 0, native
    with no_stub_left(), open(stdin, "rb") as f, boxed([prog], f, subprocess.PIPE) as proc:
        lines = []
        while not lines or lines[-1] not in (b"waiting\n", b""):
            lines.append(proc.stdout.readline())
        cpu0, t0 = _cpu_seconds(proc.pid), time.monotonic()
        lines.append(proc.stdout.readline())    # the poll's result, 2 s later
        cpu1, t1 = _cpu_seconds(proc.pid), time.monotonic()
        rest, err = proc.communicate(timeout=60)
    wall, cpu = t1 - t0, cpu1 - cpu0
    assert wall >= 1.5
    # Asleep it uses next to nothing; spinning it took 40-100% (less on a loaded machine).
    assert cpu < 0.2 * wall, f"the Sentry used {cpu:.2f} s of CPU during a {wall:.2f} s wait"
    assert b"".join(lines) + rest == native.stdout, err.decode(errors="replace")[-3000:]
    assert proc.returncode == 0


def test_non_canonical_registers():
    """Item 9: a TLS/GS base at or above TASK_SIZE_MAX is EPERM for arch_prctl and
    clone(CLONE_SETTLS) (PTRACE_SETREGS refused it and the process was SIGKILLed); rt_sigreturn
    frames with a non-canonical RIP, a null CS or SS, a bad FPU state or an unmapped frame give
    SIGSEGV as on Linux (catchable when the frame was readable), a frame without
    UC_STRICT_RESTORE_SS gets __USER_DS, and a kernel restart code in the frame's RAX is returned
    as is (it used to restart the interrupted call)."""
    with no_stub_left():
        native, _ = compare([compile_c("killers_regs")], timeout=60, native_status=0)
    assert b"clone CLONE_SETTLS 0x7ffffffff000: -1 EPERM" in native.stdout
