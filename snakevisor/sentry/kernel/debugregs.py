"""A Task's debug registers: DR0-DR3, DR6 and DR7 as a tracer reads and writes them through
PTRACE_PEEKUSER/POKEUSER (Linux's arch/x86/kernel/ptrace.c ptrace_get_debugreg and
ptrace_set_debugreg over the perf breakpoints of kernel/events/hw_breakpoint.c), the hardware
breakpoints they make the platform load into the Task's host thread, and DR6 after a debug trap.

They are the Sentry's state (``Task.debugregs``, None until first used). Linux keeps one perf
breakpoint per slot, made by the first write of its address or of a DR7 that enables it, and
checks every change of a slot's address, length or type the way it checks a new one (EINVAL:
an execute breakpoint has length 1, no I/O type, an address aligned to its length and below
TASK_SIZE_MAX), a disabled slot's too; a DR7 write that fails puts the slots back as the old
DR7 names them. DR7 reads back as written (reserved bits too), DR6 as written or as the last
debug trap set it. fork keeps DR6 and DR7's value but no breakpoint (copy_thread); exec clears
all (flush_ptrace_hw_breakpoint).

The enabled breakpoints are loaded into the host thread as soon as a write changes them (the
tracee is stopped then; ``Context.load_debug_registers``), so nothing is added to the path of
a syscall. A platform that cannot (systrap: its stubs are not traced once running) refuses,
and the write that would enable one fails with EIO.
"""
from snakevisor.abi import ptrace as P
from snakevisor.abi import signal as S
from snakevisor.abi.errno import EINVAL, EIO, ESRCH, SyscallError
from snakevisor.abi.mm import TASK_SIZE_MAX
from snakevisor.sentry.platform.interface import StubGone

_INITIAL = (None,) * P.HBP_NUM


class DebugRegs:
    """One Task's debug registers. ``bps``: per slot None or (addr, x86_len, x86_type, disabled),
    Linux's perf breakpoint; ``dr6``: virtual_dr6 (positive polarity); ``dr7``: ptrace_dr7."""

    __slots__ = ("bps", "dr6", "dr7")

    def __init__(self, bps=_INITIAL, dr6=0, dr7=0):
        self.bps, self.dr6, self.dr7 = bps, dr6, dr7

    def forked(self):
        """A child's: Linux's copy_thread copies the thread struct and clears only the breakpoints."""
        return DebugRegs(_INITIAL, self.dr6, self.dr7)

    def get(self, n):
        if n < P.HBP_NUM:
            bp = self.bps[n]
            return bp[0] if bp is not None else 0
        if n == P.DR_STATUS:
            return self.dr6 ^ P.DR6_RESERVED
        return self.dr7 if n == P.DR_CONTROL else 0   # DR4 and DR5 read 0

    def set(self, n, value):
        """ptrace_set_debugreg: EIO for DR4/DR5, EINVAL for a breakpoint Linux refuses."""
        if n < P.HBP_NUM:
            bp = self.bps[n] or (0, P.X86_BREAKPOINT_LEN_1, P.X86_BREAKPOINT_WRITE, True)   # a new one's stub fields
            _check(value, bp[1], bp[2])
            self._put(n, (value,) + bp[1:])
        elif n == P.DR_STATUS:
            self.dr6 = value ^ P.DR6_RESERVED
        elif n == P.DR_CONTROL:
            self._write_dr7(value)
        else:
            raise SyscallError(EIO)

    def _put(self, n, bp):
        bps = list(self.bps)
        bps[n] = bp
        self.bps = tuple(bps)

    def _write_dr7(self, value):
        """ptrace_write_dr7: every slot's fields from DR7 (reserved bits ignored); on a refusal,
        a second pass with the DR7 the old breakpoints make, and the first pass's error."""
        old = self._encoded()
        try:
            self._apply(value & ~P.DR_CONTROL_RESERVED)
        except SyscallError:
            self._apply(old)
            raise
        self.dr7 = value

    def _apply(self, dr7):
        for n in range(P.HBP_NUM):
            field = dr7 >> (P.DR_CONTROL_SHIFT + n * P.DR_CONTROL_SIZE)
            enabled = dr7 >> (n * P.DR_ENABLE_SIZE) & 3
            x86_len, x86_type = field & 0xC | 0x40, field & 3 | 0x80   # decode_dr7
            bp = self.bps[n]
            if bp is None and not enabled:
                continue
            addr = bp[0] if bp is not None else 0
            _check(addr, x86_len, x86_type)
            self._put(n, (addr, x86_len, x86_type, not enabled))

    def _encoded(self):
        """ptrace_get_dr7: the DR7 the enabled breakpoints make."""
        dr7 = 0
        for n, _, x86_len, x86_type in self.enabled():
            dr7 |= P.dr7_field(n, x86_len, x86_type)   # Linux's has G bits, not L: _apply takes either
        return dr7

    def enabled(self):
        """(slot, address, x86 length, x86 type) of each enabled breakpoint."""
        return tuple((n, bp[0], bp[1], bp[2]) for n, bp in enumerate(self.bps) if bp is not None and not bp[3])


_NONE = DebugRegs()


def _check(addr, x86_len, x86_type):
    """arch_bp_generic_fields and hw_breakpoint_parse for a ptrace (user-only) breakpoint."""
    if x86_type == P.X86_BREAKPOINT_EXECUTE and x86_len != P.X86_BREAKPOINT_LEN_X:
        raise SyscallError(EINVAL)
    if x86_type not in (P.X86_BREAKPOINT_EXECUTE, P.X86_BREAKPOINT_WRITE, P.X86_BREAKPOINT_RW):
        raise SyscallError(EINVAL)   # R/W 10: I/O breakpoints
    length = P.breakpoint_length(x86_len, x86_type)   # an execute one's alignment is 1 too
    if addr & (length - 1) or addr + length - 1 >= TASK_SIZE_MAX:
        raise SyscallError(EINVAL)


def peek(task, n):
    """PEEKUSER of DRn."""
    return (task.debugregs or _NONE).get(n)


def poke(task, n, value):
    """POKEUSER of DRn on a stopped tracee; the breakpoints it enables are loaded into its host
    thread at once. Nothing changes if the write fails (or the platform cannot load them: EIO)."""
    old = task.debugregs or _NONE
    regs = DebugRegs(old.bps, old.dr6, old.dr7)
    regs.set(n, value)
    if n == P.DR_STATUS:
        task.debugregs = regs
        return
    try:
        loaded = task.ctx.load_debug_registers(regs.enabled())
    except StubGone:
        raise SyscallError(ESRCH) from None
    except OSError as e:
        _reload(task, old)
        raise SyscallError(e.errno or EIO) from None
    if not loaded:
        raise SyscallError(EIO)
    task.debugregs = regs


def _reload(task, regs):
    try:
        task.ctx.load_debug_registers(regs.enabled())
    except (OSError, StubGone):
        pass


def on_trap(task, info):
    """A SIGTRAP fault in application code: a debug trap (a single step or a breakpoint: si_code
    TRAP_TRACE or TRAP_HWBKPT) sets DR6 as Linux's exc_debug_user, to the step bit and the bits
    of the breakpoints that triggered (the host thread's DR6 names them); an int3 leaves it."""
    code = S.SIGINFO_HEAD.unpack_from(info)[2]
    if code not in (S.TRAP_TRACE, S.TRAP_HWBKPT):
        return
    regs = task.debugregs
    if regs is None:
        regs = task.debugregs = DebugRegs()
    hit = task.ctx.debug_status() & sum(1 << n for n, *_ in regs.enabled())
    regs.dr6 = (P.DR_STEP if code == S.TRAP_TRACE else 0) | hit
