"""The bare-Python-ptrace baseline: the simplest possible PTRACE_SYSEMU loop.

    python3 -m bench.ptrace_loop [--no-pin] -- PROG ARGS...

Forks PROG under PTRACE_TRACEME and stops it at every syscall with
PTRACE_SYSEMU. getpid is answered here (GETREGS, set rax, SETREGS: the same
requests a Sentry makes for a syscall that completes at once); every other
syscall (the static libc's start-up, the result write, exit_group) is passed
through to the host by rewinding rip onto the `syscall` instruction. The
getpid figure the program prints is therefore the per-syscall floor of any
Python ptrace design, the yardstick of issue 2 ("within 1.5x of a bare Python
ptrace loop"). Tracer and tracee are pinned to one CPU, as the Sentry pins a
stub thread next to itself; --no-pin leaves them free.

Not a sandbox: passed-through syscalls run on the host. Benchmark use only.
"""

import ctypes
import os
import signal
import sys

PTRACE_TRACEME = 0
PTRACE_GETREGS = 12
PTRACE_SETREGS = 13
PTRACE_SYSCALL = 24
PTRACE_SYSEMU = 31
PTRACE_SETOPTIONS = 0x4200
PTRACE_GET_SYSCALL_INFO = 0x420E
PTRACE_O_TRACESYSGOOD = 0x1
PTRACE_O_EXITKILL = 0x100000
PTRACE_SYSCALL_INFO_ENTRY = 1
SYSCALL_STOP = signal.SIGTRAP | 0x80

SYS_getpid = 39
# Offsets (in 8-byte words) in struct user_regs_struct.
RAX, ORIG_RAX, RIP = 10, 15, 16
SYSCALL_INSN_LEN = 2

_libc = ctypes.CDLL(None, use_errno=True)
_ptrace = _libc.ptrace
_ptrace.argtypes = (ctypes.c_long, ctypes.c_long, ctypes.c_void_p, ctypes.c_void_p)
_ptrace.restype = ctypes.c_long


def ptrace(request, pid, addr=None, data=None):
    if _ptrace(request, pid, addr, data) == -1:
        err = ctypes.get_errno()
        raise OSError(err, f"ptrace({request:#x}): {os.strerror(err)}")


def _exit_code(status):
    if os.WIFEXITED(status):
        return os.WEXITSTATUS(status)
    return 128 + os.WTERMSIG(status)


def _pass_through(pid, regs, info):
    """Runs the syscall the tracee is stopped at on the host; returns an exit
    code if the tracee ended meanwhile, else None (stopped at its exit)."""
    regs[RIP] -= SYSCALL_INSN_LEN
    regs[RAX] = regs[ORIG_RAX]
    ptrace(PTRACE_SETREGS, pid, None, ctypes.addressof(regs))
    # Resuming with PTRACE_SYSCALL may first report the exit of the emulated
    # (skipped) syscall; only the exit after a fresh entry ends the trip.
    entered = False
    sig = 0
    while True:
        ptrace(PTRACE_SYSCALL, pid, None, sig)
        sig = 0
        _, status = os.waitpid(pid, 0)
        if not os.WIFSTOPPED(status):
            return _exit_code(status)
        stop = os.WSTOPSIG(status)
        if stop != SYSCALL_STOP:
            sig = stop
            continue
        ptrace(PTRACE_GET_SYSCALL_INFO, pid, ctypes.sizeof(info), ctypes.addressof(info))
        if info[0] == PTRACE_SYSCALL_INFO_ENTRY:
            entered = True
        elif entered:
            return None


def trace(argv, pin=True):
    """Runs argv under the loop and returns its exit code (128+N on signal N)."""
    if pin:
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    pid = os.fork()
    if pid == 0:
        try:
            ptrace(PTRACE_TRACEME, 0)
            os.execv(argv[0], argv)
        except OSError as e:
            os.write(2, f"ptrace_loop: {argv[0]}: {e.strerror}\n".encode())
        os._exit(127)
    _, status = os.waitpid(pid, 0)  # the SIGTRAP of execve
    if not os.WIFSTOPPED(status):
        return _exit_code(status)
    ptrace(PTRACE_SETOPTIONS, pid, None, PTRACE_O_TRACESYSGOOD | PTRACE_O_EXITKILL)
    regs = (ctypes.c_ulong * 27)()
    regs_addr = ctypes.addressof(regs)
    info = (ctypes.c_uint8 * 88)()
    waitpid = os.waitpid
    sig = 0
    while True:
        ptrace(PTRACE_SYSEMU, pid, None, sig)
        sig = 0
        _, status = waitpid(pid, 0)
        if not os.WIFSTOPPED(status):
            return _exit_code(status)
        stop = os.WSTOPSIG(status)
        if stop != SYSCALL_STOP:
            sig = stop  # a signal: deliver it on the next resume
            continue
        ptrace(PTRACE_GETREGS, pid, None, regs_addr)
        if regs[ORIG_RAX] == SYS_getpid:
            regs[RAX] = pid
            ptrace(PTRACE_SETREGS, pid, None, regs_addr)
        else:
            code = _pass_through(pid, regs, info)
            if code is not None:
                return code


def main(args=None):
    args = list(sys.argv[1:] if args is None else args)
    pin = True
    if args and args[0] == "--no-pin":
        pin = False
        args.pop(0)
    if args and args[0] == "--":
        args.pop(0)
    if not args:
        print("usage: python3 -m bench.ptrace_loop [--no-pin] -- PROG ARGS...", file=sys.stderr)
        return 2
    return trace(args, pin=pin)


if __name__ == "__main__":
    sys.exit(main())
