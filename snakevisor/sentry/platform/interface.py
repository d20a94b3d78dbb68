"""The platform interface: what the kernel asks of the thing that runs application code
(Context, AddressSpace and Platform below document it; the platforms' classes do not derive from
them, and nothing imports typing for them: ~2 ms of every cold start).

gVisor's pkg/sentry/platform in miniature. A Platform makes AddressSpaces (one per
application process: a host stub process) and each AddressSpace holds Contexts (one per
application thread: a host stub thread). The kernel drives a Context like this:

    ctx.resume()                    # run application code...
    report = yield WAIT_STOP        # ...until the loop hands the Task a stop report for ctx.tid
    kind, value = ctx.event(report) # what happened: SYSCALL, FAULT, SIGNAL, EXIT or IGNORE
    regs = ctx.get_regs()           # read (and edit, then set_regs / set_return) the registers

A *report* is whatever the platform's wait source delivered for the thread: the ptrace
platform's is a waitpid status word, systrap's an event read from memory shared with the
stub. Only the Context that produced it (or ``Platform.event``, for a report no Context
claims) interprets it.

Implementations: platform/ptrace (PTRACE_SYSEMU; the default) and platform/systrap
(seccomp SECCOMP_RET_TRAP and a signal handler in the stub; ``--platform=systrap``).
"""
from snakevisor.abi.signal import SYNCHRONOUS_SIGNALS

# Event kinds, the first element of Context.event()'s answer.
SYSCALL = 0   # value: 0; the syscall number is regs.orig_rax, arguments in rdi..r9
FAULT = 1     # value: the signal (SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP, SIGSYS); see get_siginfo
SIGNAL = 2    # value: a host signal that reached the stub thread (SIGURG: the Sentry's own kick)
EXIT = 3      # value: the host wait status of the stub thread, which is gone
IGNORE = 4    # value: 0; a platform-internal stop: resume the Context and wait again

FAULT_SIGNALS = frozenset(SYNCHRONOUS_SIGNALS)   # what a FAULT's value may be


class StubGone(Exception):
    """The stub thread exited or was killed while the Sentry was driving it."""

    def __init__(self, tid, status):
        super().__init__(tid, status)
        self.tid = tid
        self.status = status


class Context:
    """One application thread's host thread. Every method but ``interrupt`` needs it stopped
    (it has produced a report and not been resumed since)."""

    tid: int                 # host thread id: the key stop reports arrive under
    address_space: "AddressSpace"
    regs: object             # abi.ptrace.UserRegs: filled by get_regs, written by set_regs

    def event(self, report) -> tuple[int, int]:
        """Decode a stop report for this thread into (kind, value) as the constants above say."""

    def get_regs(self):
        """Read the registers into ``regs`` (and return it); orig_rax is the syscall number at a
        SYSCALL stop, -1 otherwise."""

    def set_regs(self) -> None:
        """Write ``regs`` back: they take effect when the thread resumes."""

    def set_return(self, value: int) -> None:
        """Set rax only: the cheap way to complete a syscall."""

    def get_xstate(self) -> bytes:
        """The thread's FP/vector state as an XSAVE image (the layout PTRACE_GETREGSET gives)."""

    def set_xstate(self, data: bytes) -> None:
        """Replace the FP/vector state with an XSAVE image (as get_xstate returns)."""

    def xstate_size(self) -> int:
        """The size of this CPU's XSAVE image."""

    def get_siginfo(self) -> bytes:
        """The 128-byte siginfo of a FAULT or SIGNAL stop (si_addr, si_code for faults)."""

    def load_debug_registers(self, breakpoints) -> bool:
        """Make the host thread's hardware breakpoints ``breakpoints``, a tuple of (slot, address,
        x86 length, x86 type) as Linux's ptrace accepts them (kernel/debugregs.py); False if the
        platform cannot (and nothing changed), OSError if the host refused."""

    def debug_status(self) -> int:
        """The DR6 trap bits (slots) of the breakpoints behind the last debug trap (a SIGTRAP
        FAULT); 0 with none loaded."""

    def resume(self, sig: int = 0) -> None:
        """Run application code until its next syscall, fault or signal."""

    def interrupt(self) -> None:
        """Make a thread running application code stop soon (a SIGNAL report with SIGURG);
        callable at any time, does nothing if the thread is gone."""

    def stop_now(self):
        """Stop this thread while it runs application code, wait for the stop here and read its
        registers; returns the stop report, which the caller owes the loop (``loop.hand_back``)
        once done with the thread. StubGone if the thread died (its ``status`` then is a report
        to hand back, or None when the platform reports the death itself)."""

    def inject_exit(self) -> None:
        """End this stub thread (exit(2)) without waiting for it."""

    def thread_cpu_ns(self, which: int) -> int | None:
        """This (stopped) host thread's own CPU clock in nanoseconds (``which``: CPUCLOCK_PROF,
        VIRT or SCHED), as only the thread itself may read it on the host; None where the
        platform cannot ask it (the caller then counts the process's)."""


class AddressSpace:
    """One application address space: a host stub process. Operations name ``ctx``, a stopped
    Context of this address space: the ptrace platform makes them in that thread, systrap in
    the stub's mapper thread (a death is reported as ``ctx``'s)."""

    pid: int                 # host pid of the stub process (for CPU times)
    maps_host_files: bool    # can map a host file's descriptor (map_host_file): systrap yes, ptrace no

    def map_file_range(self, ctx: Context, addr: int, length: int, prot: int, mf_offset: int) -> None:
        """Map MemoryFile bytes [mf_offset, +length) at ``addr`` (MAP_SHARED|MAP_FIXED)."""

    def map_host_file(self, ctx: Context, addr: int, length: int, prot: int, fd: int, offset: int) -> None:
        """Map the host file open at the Sentry's descriptor ``fd``, from ``offset``, at ``addr``
        (MAP_SHARED|MAP_FIXED): the stub's pages are then the host's page cache of the file (a
        volume's file: mm/hostmap.py). Only where ``maps_host_files``; OSError if the host refuses."""

    def map_ranges(self, ctx: Context, ranges) -> None:
        """map_file_range for each (addr, length, prot, mf_offset) of a fresh stub (one batch
        where the platform can)."""

    def unmap(self, ctx: Context, addr: int, length: int) -> None:
        """Remove the host mappings in [addr, addr + length)."""

    def protect(self, ctx: Context, addr: int, length: int, prot: int) -> None:
        """Change the host protection of [addr, addr + length)."""

    def new_thread(self, ctx: Context) -> Context:
        """A new stopped Context (host thread) in this address space, made through ``ctx``."""

    def kill(self) -> None:
        """Kill the stub process (every Context in it reports EXIT or raises StubGone)."""


class Platform:
    """Makes address spaces; owns the stub processes and their clean-up."""

    def new_address_space(self) -> tuple["AddressSpace", "Context"]:
        """An empty address space and its first Context, stopped and ready for set_regs."""

    def attach(self, loop) -> None:
        """Connect the kernel's loop to the platform's wait source: stop reports reach it as
        ``loop.deliver(tid, report)`` or through its waitpid."""

    def vdso_range(self) -> tuple[int, int] | None:
        """The host vDSO's [start, end) in every stub (the application uses it as its vDSO)."""

    def special_mappings(self) -> list[tuple[int, int, str, str]]:
        """(start, end, perms, name) of the host kernel's [vvar], [vdso] and [vsyscall] in every
        stub, for /proc/PID/maps."""

    def event(self, report) -> tuple[int, int]:
        """Decode any report the platform's wait source gives for one of its host threads, also
        one no Context is waiting for (a stray: a thread being retired, the stub master) into
        (kind, value), as Context.event does; EXIT's value is a wait status."""

    def reaped(self, pid: int) -> None:
        """The loop collected the exit of host thread ``pid``."""

    def close(self) -> None:
        """Kill every stub process."""
