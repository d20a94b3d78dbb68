"""The ptrace platform: stub processes are address spaces, stub threads are Contexts.

A master stub (exec'd from a memfd under PTRACE_TRACEME) is created at boot;
every new address space is a fork of it made by injecting ``fork`` through its
gadget, so no execve is needed once the Sentry is locked down. Application
threads run in stub threads under PTRACE_SYSEMU; the Sentry injects host
syscalls (mmap of the memory memfd, munmap, mprotect, clone) through the
gadget of a stopped stub thread.
"""
import ctypes
import errno
import os
import signal
import struct

from snakevisor.abi import ptrace as pt
from snakevisor.abi.futex import FUTEX_WAKE
from snakevisor.abi.mm import MAP_FIXED, MAP_SHARED, VSYSCALL_ADDR
from snakevisor.abi.prctl import PR_SET_NO_NEW_PRIVS, PR_SET_PDEATHSIG
from snakevisor.abi.sched import (ADDR_NO_RANDOMIZE, CLONE_FILES, CLONE_FS, CLONE_SIGHAND, CLONE_SYSVSEM, CLONE_THREAD,
                                  CLONE_VM, WALL)
from snakevisor.abi.seccomp import (BPF_ALU, BPF_AND, BPF_JEQ_K, BPF_K, BPF_LD_W_ABS, BPF_RET_K, SECCOMP_RET_TRAP,
                                   SECCOMP_SET_MODE_FILTER, SIGINFO_SYS, SOCK_FILTER, SYS_SECCOMP)
from snakevisor.abi.syscall_numbers import SYSCALL_NUMBERS as NR
from snakevisor.abi.time import OWN_THREAD_CPUCLOCK
from snakevisor.hostos.libc import close_fds_except, die_with_parent, libc, ptrace as _ptrace, ptrace_raw as _ptrace_raw, syscall
from snakevisor.sentry.platform.interface import EXIT, FAULT, FAULT_SIGNALS, IGNORE, SIGNAL, SYSCALL, StubGone
from snakevisor.sentry.platform.layout import STUB_ADDR, STUB_SPAN
from snakevisor.sentry.platform.ptrace.stub import GADGET, STUB_MEMFD, build_stub_elf

# The hot path calls _ptrace_raw (no argument conversion, see hostos/libc.py).
_c_ulong = ctypes.c_ulong

# The flags the Sentry injects clone with: a new thread in the same stub process.
HOST_THREAD_CLONE_FLAGS = CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD | CLONE_SYSVSEM
_XSTATE_MAX = 16384
_xstate_size = None   # Context.xstate_size
# One XSAVE buffer and its iovec for every Context (the Sentry makes ptrace requests from one
# thread, and an image is copied out before the next request): a signal's delivery and its
# sigreturn move the image three times, so no buffer is made and converted per call.
_XBUF = ctypes.create_string_buffer(_XSTATE_MAX)
_XVIEW = memoryview(_XBUF).cast("B")
_XIOV = (ctypes.c_uint64 * 2)(ctypes.addressof(_XBUF), _XSTATE_MAX)
_XIOV_PTR = ctypes.c_void_p(ctypes.addressof(_XIOV))
_MASK64 = (1 << 64) - 1
STUB_OPTIONS = (pt.PTRACE_O_TRACESYSGOOD | pt.PTRACE_O_TRACECLONE | pt.PTRACE_O_TRACEFORK
                | pt.PTRACE_O_EXITKILL)
SYSCALL_STOP = signal.SIGTRAP | 0x80


PARKED_MAX = 8      # stub threads an address space keeps for its next threads (Context.inject_exit)
PARKED_TOTAL = 32   # and all address spaces together: they are host threads (an engine's pids.max counts them)

_SYSCALL_EVENT = (SYSCALL, 0)
_IGNORE_EVENT = (IGNORE, 0)
_SIGSYS_EVENT = (FAULT, signal.SIGSYS)

# The stubs' seccomp filter starts by trapping (SIGSYS) a legacy vsyscall: the host kernel's
# emulation of one runs the filter with the vsyscall page's address (seccomp_data.instruction_pointer,
# at 8), and PTRACE_SYSEMU never sees it. Context.event makes that SIGSYS the syscall, as systrap does.
VSYSCALL_TRAP = b"".join(SOCK_FILTER.pack(*insn) for insn in (
    (BPF_LD_W_ABS, 0, 0, 12), (BPF_JEQ_K, 0, 4, 0xFFFFFFFF),          # the high half of the address
    (BPF_LD_W_ABS, 0, 0, 8), (BPF_ALU | BPF_AND | BPF_K, 0, 0, 0xFFFFF000),
    (BPF_JEQ_K, 0, 1, VSYSCALL_ADDR & 0xFFFFFFFF), (BPF_RET_K, 0, 0, SECCOMP_RET_TRAP)))
_SIGURG = signal.SIGURG


def ptrace(req, pid, addr=0, data=0):
    r = _ptrace(req, pid, addr, data)
    if r == -1:
        err = ctypes.get_errno()
        if err:
            raise OSError(err, f"ptrace({req}, {pid}): {os.strerror(err)}")
    return r


def _xstate_request(req, tid):
    """PTRACE_GETREGSET or SETREGSET of NT_X86_XSTATE through the shared buffer (_XIOV)."""
    if _ptrace_raw(req, tid, pt.NT_X86_XSTATE, _XIOV_PTR) == -1:
        err = ctypes.get_errno()
        raise OSError(err, f"ptrace({req}, {tid}): {os.strerror(err)}")


def _poke_debugreg(tid, n, value):
    ptrace(pt.PTRACE_POKEUSER, tid, pt.debugreg_offset(n), value)


def wait_stop(tid):
    """Wait for ``tid``'s next state change; StubGone if it died instead of stopping."""
    while True:
        try:
            pid, status = os.waitpid(tid, WALL)
        except ChildProcessError:
            raise StubGone(tid, None)
        if os.WIFSTOPPED(status):
            return status
        raise StubGone(tid, status)


def decode_status(status):
    """A waitpid status of a traced stub thread as (kind, value): see platform/interface.py."""
    if status >> 8 == SYSCALL_STOP and status & 0xFF == 0x7F:
        return _SYSCALL_EVENT
    if status & 0xFF != 0x7F:
        return EXIT, status
    if status >> 16:  # a ptrace event (fork/clone) we did not ask for here
        return _IGNORE_EVENT
    sig = status >> 8 & 0xFF
    return (FAULT if sig in FAULT_SIGNALS else SIGNAL), sig


class Context:
    """One stub thread: the host thread that runs one application Task."""

    __slots__ = ("tid", "address_space", "regs", "_regs_addr", "_regs_ptr", "pending_host_signals", "loaded_debugregs",
                 "vsyscall_nr")

    def __init__(self, tid, address_space):
        self.tid = tid
        self.address_space = address_space
        self.regs = pt.UserRegs()
        self._regs_addr = ctypes.addressof(self.regs)
        self._regs_ptr = ctypes.c_void_p(self._regs_addr)
        self.pending_host_signals = []
        self.loaded_debugregs = None   # (DR0..DR3, DR7) loaded into the host thread, None for none
        self.vsyscall_nr = None        # at a legacy vsyscall's stop: its syscall number

    def event(self, status):
        """decode_status's answer, but the SIGSYS of a legacy vsyscall (VSYSCALL_TRAP; the host
        kernel has emulated its ``ret`` already) is that syscall, its number from the siginfo."""
        ev = decode_status(status)
        if ev != _SIGSYS_EVENT:
            return ev
        _, _, code, call_addr, nr, _ = SIGINFO_SYS.unpack_from(self.get_siginfo())
        if code != SYS_SECCOMP or call_addr & ~0xFFF != VSYSCALL_ADDR:
            return ev
        self.vsyscall_nr = nr
        return _SYSCALL_EVENT

    def interrupt(self):
        """Kick a running stub thread with SIGURG: a signal-delivery stop follows."""
        pid = self.address_space.pid if self.address_space is not None else self.tid
        syscall(NR["tgkill"], pid, self.tid, _SIGURG)

    def stop_now(self):
        """Kick the running thread and wait for its stop here (a waitpid status, owed to the loop)."""
        self.interrupt()
        status = wait_stop(self.tid)
        self.get_regs()
        return status

    # -- register access -------------------------------------------------
    def get_regs(self):
        if _ptrace_raw(pt.PTRACE_GETREGS, self.tid, None, self._regs_ptr) == -1:
            raise StubGone(self.tid, None)
        if self.vsyscall_nr is not None:
            self.regs.orig_rax = self.vsyscall_nr
        return self.regs

    def set_regs(self):
        if _ptrace_raw(pt.PTRACE_SETREGS, self.tid, None, self._regs_ptr) == -1:
            raise StubGone(self.tid, None)

    def set_return(self, value):
        """Poke rax only: the cheap way to complete a syscall."""
        value &= _MASK64
        self.regs.rax = value
        _ptrace_raw(pt.PTRACE_POKEUSER, self.tid, 80, _c_ulong(value))  # offsetof(rax) == 80

    def get_xstate(self) -> bytes:
        """The thread's full XSAVE image (x87, SSE, AVX, ... as this CPU has them)."""
        _XIOV[1] = _XSTATE_MAX
        _xstate_request(pt.PTRACE_GETREGSET, self.tid)
        return _XVIEW[:_XIOV[1]].tobytes()

    def xstate_size(self) -> int:
        """The size of this CPU's XSAVE image (the same for every thread: asked once)."""
        global _xstate_size
        if _xstate_size is None:
            _xstate_size = len(self.get_xstate())
        return _xstate_size

    def set_xstate(self, data: bytes):
        n = len(data)
        if n > _XSTATE_MAX:
            raise OSError(errno.EINVAL, "set_xstate: image larger than any XSAVE area")
        _XVIEW[:n] = data
        _XIOV[1] = n
        _xstate_request(pt.PTRACE_SETREGSET, self.tid)

    def get_siginfo(self) -> bytes:
        buf = ctypes.create_string_buffer(128)
        ptrace(pt.PTRACE_GETSIGINFO, self.tid, 0, ctypes.addressof(buf))
        return buf.raw

    # -- hardware breakpoints ----------------------------------------------
    def load_debug_registers(self, breakpoints):
        """Make the host thread's debug registers hold ``breakpoints`` ((slot, address, x86 length,
        x86 type), checked as Linux checks them) in the same slots; one touching the stub's own
        pages stays off (application code never reaches them, the Sentry's injections do). Host
        requests only for a change: DR7 off first, the addresses, then DR7 (each host write is
        checked against the others). OSError if the host refuses."""
        addrs, dr7 = [0] * pt.HBP_NUM, 0
        for n, addr, x86_len, x86_type in breakpoints:
            if addr + pt.breakpoint_length(x86_len, x86_type) > STUB_ADDR and addr < STUB_ADDR + STUB_SPAN:
                continue
            addrs[n] = addr
            dr7 |= pt.dr7_field(n, x86_len, x86_type)
        wanted = (*addrs, dr7) if dr7 else None
        if wanted == self.loaded_debugregs:
            return True
        self.loaded_debugregs = None
        _poke_debugreg(self.tid, pt.DR_CONTROL, 0)
        if wanted is not None:
            for n, addr in enumerate(addrs):
                _poke_debugreg(self.tid, n, addr)
            _poke_debugreg(self.tid, pt.DR_CONTROL, dr7)
        self.loaded_debugregs = wanted
        return True

    def debug_status(self):
        """The breakpoints (DR6's DR_TRAP bits) behind the host thread's last debug trap."""
        if self.loaded_debugregs is None:
            return 0
        dr6 = ptrace(pt.PTRACE_PEEKUSER, self.tid, pt.debugreg_offset(pt.DR_STATUS), 0)
        return (dr6 ^ pt.DR6_RESERVED) & pt.DR_TRAP_BITS   # Linux shows it flipped back

    def _debug_registers_cleared(self):
        """Are the host thread's debug registers off (turned off now if a Task loaded some)?"""
        try:
            return self.load_debug_registers(())
        except OSError:
            return False

    # -- running ---------------------------------------------------------
    def resume(self, sig=0):
        """Let application code run until its next syscall or signal."""
        self.vsyscall_nr = None   # (its SIGSYS is not passed on: the stop's signal is ``sig``)
        if _ptrace_raw(pt.PTRACE_SYSEMU, self.tid, None, sig) == -1:
            raise StubGone(self.tid, None)

    def inject(self, nr, *args):
        """Run host syscall ``nr`` in this (stopped) stub thread; return its result.

        The application's registers are saved and restored around it, so the
        thread can be resumed afterwards as if nothing happened.
        """
        saved = self._prepare_injection(nr, args)
        try:
            self._run_until_trap()
            result = self.get_regs().rax
        finally:
            self._restore(saved)
        return result - (1 << 64) if result >= 1 << 63 else result

    def inject_exit(self):
        """End this (stopped) stub thread with exit(2), without waiting: a thread-group leader's
        exit is not reported while other threads live, so waiting here could block forever.

        Or keep it: up to PARKED_MAX stopped threads wait in their address space for its next
        new_thread, which then takes one instead of injecting a clone (and this one's exit is
        saved too). Nothing of the old thread reaches the new one's application code: every
        register and the XSAVE state are set anew before it runs, debug registers a tracer set
        are turned off here (else it exits), and the rest of a thread's
        state (signal mask and handlers, robust list, TLS) is the Sentry's, not the host's.
        StubGone, as the injection, if the thread is not stopped."""
        aspace = self.address_space
        if aspace is not None and len(aspace.parked) < PARKED_MAX and len(aspace.platform.parked) < PARKED_TOTAL:
            self.get_regs()   # StubGone unless stopped
            if self.loaded_debugregs is None or self._debug_registers_cleared():   # none for the next Task
                aspace.parked.append(self.tid)
                aspace.platform.parked.add(self.tid)
                return
        self._prepare_injection(NR["exit"], (0,))
        ptrace(pt.PTRACE_CONT, self.tid, 0, 0)

    def thread_cpu_ns(self, which):
        """clock_gettime of the thread's own CPU clock, injected at its syscall stop. It writes
        below the red zone of the thread's stack, memory a signal frame may overwrite at any
        time (the ABI's rule), read back with PTRACE_PEEKDATA; None where that is not writable
        (the application's rsp, its own business)."""
        scratch = (self.regs.rsp - 128 - 16) & ~15
        if scratch <= 0 or self.inject(NR["clock_gettime"], OWN_THREAD_CPUCLOCK[which], scratch) != 0:
            return None
        try:
            sec, nsec = (ptrace(pt.PTRACE_PEEKDATA, self.tid, scratch + 8 * i) for i in range(2))
        except OSError:
            return None
        return sec * 1_000_000_000 + nsec if sec >= 0 and 0 <= nsec < 1_000_000_000 else None

    def _prepare_injection(self, nr, args):
        """Point the thread at the gadget with syscall ``nr`` and ``args``; returns the saved registers."""
        saved = self.regs.copy()
        regs = self.regs
        regs.rax, regs.orig_rax, regs.rip = nr, _MASK64, GADGET
        a = list(args) + [0] * (6 - len(args))
        regs.rdi, regs.rsi, regs.rdx, regs.r10, regs.r8, regs.r9 = (x & _MASK64 for x in a)
        try:
            self.set_regs()
        except StubGone:
            self.regs.copy_from(saved)
            raise
        return saved

    def _restore(self, saved):
        self.regs.copy_from(saved)
        try:
            self.set_regs()
        except StubGone:
            pass

    def _run_until_trap(self):
        """Continue to the gadget's int3, setting aside host signals that arrive meanwhile."""
        ptrace(pt.PTRACE_CONT, self.tid, 0, 0)
        while True:
            status = wait_stop(self.tid)
            sig = os.WSTOPSIG(status)
            event = status >> 16
            if sig == signal.SIGTRAP and event == 0:
                return
            if event:
                return status  # fork/clone events are handled by the caller
            if sig not in (signal.SIGSTOP,):
                self.pending_host_signals.append(sig)
            ptrace(pt.PTRACE_CONT, self.tid, 0, 0)

    def inject_with_event(self, nr, *args):
        """Inject a syscall that raises a ptrace event (fork, clone); return the event's message."""
        saved = self._prepare_injection(nr, args)
        try:
            status = self._run_until_trap()
            if status is None:
                result = self.get_regs().rax
                raise OSError(-(result - (1 << 64)) if result >= 1 << 63 else 0, "injected clone failed")
            msg = ctypes.c_ulong()
            ptrace(pt.PTRACE_GETEVENTMSG, self.tid, 0, ctypes.addressof(msg))
            self._run_until_trap()  # the syscall returns to the int3
            return msg.value
        finally:
            self._restore(saved)


def _drop_all_capabilities():
    """A stub needs no capability (it maps the MemoryFile, clones threads, exits): every set,
    the bounding set included, is emptied before the exec, so the stub holds none even as root.
    Best effort: without CAP_SETPCAP (an unprivileged caller) there is no root's set to drop."""
    from snakevisor.hostos import HostSetupError, drop_capabilities
    try:
        drop_capabilities(())
    except HostSetupError:
        pass


def spawn_master(elf, fds):
    """Fork and exec ``elf`` (bytes) under PTRACE_TRACEME as a master stub whose only descriptors
    are ``fds`` ({number in the stub: descriptor here}); returns its pid, stopped at its entry
    with STUB_OPTIONS set. It dies with the Sentry (PDEATHSIG) and reaps its own children."""
    import fcntl
    elf_fd = os.memfd_create("snakevisor-stub", os.MFD_CLOEXEC)
    os.write(elf_fd, elf)
    pid = os.fork()
    if pid == 0:  # child: become the master stub
        try:
            die_with_parent()
            os.setsid()
            libc.personality(ADDR_NO_RANDOMIZE)
            signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # forked stubs reap themselves
            for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGPIPE):
                signal.signal(sig, signal.SIG_DFL)
            signal.pthread_sigmask(signal.SIG_SETMASK, [])
            # Out of the way first (a source may sit on another's target number), then in place;
            # above every target, not at a fixed number the caller's RLIMIT_NOFILE may not reach.
            above = max(fds, default=2) + 1
            high = fcntl.fcntl(elf_fd, fcntl.F_DUPFD_CLOEXEC, above)
            moved = {target: fcntl.fcntl(src, fcntl.F_DUPFD_CLOEXEC, above) for target, src in fds.items()}
            for target, src in moved.items():
                os.dup2(src, target, inheritable=True)
            close_fds_except(set(fds) | {high})
            _drop_all_capabilities()
            ptrace(pt.PTRACE_TRACEME, 0)
            os.execve(high, [b"snakevisor-stub"], {})
        finally:
            os._exit(127)
    os.close(elf_fd)
    status = wait_stop(pid)
    if os.WSTOPSIG(status) != signal.SIGTRAP:
        raise RuntimeError(f"stub did not start: status {status:#x}")
    ptrace(pt.PTRACE_SETOPTIONS, pid, 0, STUB_OPTIONS)
    return pid


def map_request(addr, length, prot, mf_offset):
    """The host mmap that maps MemoryFile bytes [mf_offset, +length) at ``addr``: (nr, args...)."""
    return NR["mmap"], addr, length, prot, MAP_SHARED | MAP_FIXED, STUB_MEMFD, mf_offset


class InjectedMemoryOps:
    """An address space's mappings changed by host syscalls run in one of its stopped threads
    (``ctx.inject``): the memory memfd mapped MAP_SHARED|MAP_FIXED, munmap, mprotect."""

    def map_file_range(self, ctx, addr, length, prot, mf_offset):
        r = ctx.inject(*map_request(addr, length, prot, mf_offset))
        if r != addr:   # (a tracee's registers: no answer the application could have written)
            raise OSError(-r, f"stub mmap at {addr:#x} failed")

    def map_ranges(self, ctx, ranges):
        """A fresh stub's mappings (after fork): each (addr, length, prot, mf_offset), in order."""
        for r in ranges:
            self.map_file_range(ctx, *r)

    def unmap(self, ctx, addr, length):
        ctx.inject(NR["munmap"], addr, length)

    def protect(self, ctx, addr, length, prot):
        ctx.inject(NR["mprotect"], addr, length, prot)


class AddressSpace(InjectedMemoryOps):
    """One stub process. Maps MemoryFile ranges at application addresses, never a host file: a
    volume's MAP_SHARED pages stay the page cache's here, written back (mm/hostmap.py)."""

    maps_host_files = False

    def __init__(self, platform, pid):
        self.platform = platform
        self.pid = pid
        self.contexts = {}
        self.parked = []   # host tids of stopped threads no Task uses, for new_thread
        self.hold = None   # MemoryFile.hold_frees's token from kill() to the reaping of its leader

    def new_context(self, tid):
        ctx = Context(tid, self)
        self.contexts[tid] = ctx
        if tid != self.pid:
            self.platform.stub_threads.add(tid)
        return ctx

    def new_thread(self, ctx):
        """A new stub thread in this address space: a parked one (see Context.inject_exit), or one
        made by injecting clone through ``ctx``."""
        while self.parked:
            tid = self.parked.pop()
            self.platform.parked.discard(tid)
            thread = self.new_context(tid)
            try:
                thread.get_regs()
            except StubGone:
                continue   # killed meanwhile (its death is reported to the loop as any stray's)
            return thread
        tid = ctx.inject_with_event(NR["clone"], HOST_THREAD_CLONE_FLAGS, 0, 0, 0, 0)
        wait_stop(tid)  # auto-attached: it starts stopped
        return self.new_context(tid)

    def kill(self):
        self.platform.parked.difference_update(self.parked)   # they die with it
        self.parked.clear()
        try:
            os.kill(self.pid, signal.SIGKILL)
        except ProcessLookupError:
            # Reaped already (its exit taken by a wait for an injected call): nothing of it can
            # write, and no reaped() will come to end a hold.
            self.platform.address_spaces.pop(self.pid, None)
            return
        if self.hold is None and self.pid in self.platform.address_spaces:
            # Until it is reaped, its threads may still write (one running on another CPU).
            self.hold = self.platform.memory_file.hold_frees()


class Waker:
    """A stub thread parked in futex_wait on a word of the MemoryFile.

    Waking it (``wake()``: store 1, FUTEX_WAKE, from a signal handler or any thread) makes it
    return to the gadget's int3 and stop, so the Sentry's blocking ``waitpid`` returns: the
    loop can sleep in one waitpid and still be woken by host signals, sockets with O_ASYNC and
    helper threads, with nothing added to the per-syscall path."""

    ADDR = 0x20000

    def __init__(self, platform):
        self.address_space, self.ctx = platform.new_address_space()
        self.tid = self.ctx.tid
        mf = platform.memory_file
        self.offset = mf.allocate(4096)
        self.address_space.map_file_range(self.ctx, self.ADDR, 4096, 3, self.offset)
        base = ctypes.c_char.from_buffer(mf.view, self.offset)
        self._sentry_addr = ctypes.addressof(base)
        del base  # the address stays valid while the MemoryFile is mapped
        self._word = ctypes.c_uint32.from_address(self._sentry_addr)
        self._saved = self.ctx.regs.copy()
        self.arm()

    def arm(self):
        regs = self.ctx.regs
        regs.copy_from(self._saved)
        regs.rax, regs.orig_rax, regs.rip = NR["futex"], _MASK64, GADGET
        regs.rdi, regs.rsi, regs.rdx, regs.r10 = self.ADDR, 0, 0, 0  # FUTEX_WAIT while the word is 0
        self.ctx.set_regs()
        ptrace(pt.PTRACE_CONT, self.tid, 0, 0)

    def wake(self):
        self._word.value = 1
        syscall(NR["futex"], ctypes.c_void_p(self._sentry_addr), FUTEX_WAKE, 1, 0, 0, 0)

    def on_stop(self):
        """The waker stopped (it was woken): clear the word and park it again."""
        self._word.value = 0
        self.arm()


# The kernel's own mappings in every process (the stubs' are the application's), with the
# permissions Linux's /proc/PID/maps shows for them.
SPECIAL_MAPPING_PERMS = {"[vvar]": "r--p", "[vvar_vclock]": "r--p", "[vdso]": "r-xp", "[vsyscall]": "--xp"}


class PtracePlatform:
    """Creates address spaces (stub processes) forked from one master stub."""

    def __init__(self, memory_file, cpu=None):
        self.memory_file = memory_file
        if cpu is not None:
            os.sched_setaffinity(0, {cpu})
        self.master_pid = self._spawn_master()
        self.stub_pids = {self.master_pid}   # stub processes not yet reaped
        self.address_spaces = {}             # stub pid -> AddressSpace, until reaped
        self.stub_threads = set()            # their other threads (traced: we reap them too)
        self.parked = set()                  # of those, the parked ones (Context.inject_exit)
        self.master = Context(self.master_pid, None)
        self.master.get_regs()
        self.reserved = self._host_mappings(self.master_pid)
        self._lock_down_master()

    def _spawn_master(self):
        return spawn_master(build_stub_elf(), {STUB_MEMFD: self.memory_file.fd})

    def _lock_down_master(self):
        """Defence in depth: the stubs' own seccomp filter allows only what the Sentry injects.

        Application syscalls never reach it (PTRACE_SYSEMU stops them before seccomp runs);
        anything else executed in a stub kills it. Every address space inherits the filter,
        since each is a fork of the master. The program is handed to the master through a
        page of the MemoryFile mapped for the occasion."""
        from snakevisor.seccomp import KILL, ArgRule, build_whitelist
        rules = [ArgRule("mmap", 4, STUB_MEMFD),                              # only the memory memfd
                 ArgRule("clone", 0, HOST_THREAD_CLONE_FLAGS),               # only new stub threads
                 ArgRule("prctl", 0, PR_SET_PDEATHSIG)]
        rules.append(ArgRule("futex", 1, 0))                                  # the waker's FUTEX_WAIT
        rules += [ArgRule("clock_gettime", 0, c) for c in OWN_THREAD_CPUCLOCK.values()]   # thread_cpu_ns
        bpf = VSYSCALL_TRAP + build_whitelist(["munmap", "mprotect", "fork", "exit", "exit_group"], rules, default=KILL)
        mf = self.memory_file
        page = mf.allocate(4096 + len(bpf))
        scratch = 0x10000  # below every application mapping; unmapped again at once
        try:
            mf.write(page + 16, bpf)
            mf.write(page, struct.pack("<HxxxxxxQ", len(bpf) // 8, scratch + 16))
            n = (len(bpf) + 16 + 4095) & ~4095
            master = self.master
            r = master.inject(NR["mmap"], scratch, n, 1, 0x01 | 0x10, STUB_MEMFD, page)
            if r != scratch:
                raise OSError(-r, "mapping the seccomp program into the stub")
            master.inject(NR["prctl"], PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
            r = master.inject(NR["seccomp"], SECCOMP_SET_MODE_FILTER, 0, scratch)
            if r != 0:
                raise OSError(-r, "installing the stub's seccomp filter")
            master.inject(NR["munmap"], scratch, n)
        finally:
            mf.free(page, 4096 + len(bpf))

    @staticmethod
    def _host_mappings(pid):
        """Host mappings in every stub ([vdso], [vvar], [stack], the stub page): application must avoid them."""
        out = []
        with open(f"/proc/{pid}/maps") as f:
            for line in f:
                parts = line.split()
                lo, hi = (int(x, 16) for x in parts[0].split("-"))
                out.append((lo, hi, parts[5] if len(parts) > 5 else ""))
        return out

    def vdso_range(self):
        for lo, hi, name in self.reserved:
            if name == "[vdso]":
                return lo, hi
        return None

    def special_mappings(self):
        """(start, end, perms, name) of the host's [vvar], [vdso] and [vsyscall] in every stub."""
        return [(lo, hi, SPECIAL_MAPPING_PERMS[name], name) for lo, hi, name in self.reserved
                if name in SPECIAL_MAPPING_PERMS]

    def attach(self, loop):
        """Stops are the loop's waitpid statuses; a Waker stub lets it sleep in waitpid."""
        loop.use_waker(Waker(self))

    def new_address_space(self):
        """Fork the master stub; the child is a stopped, empty address space with one Context."""
        child = self.master.inject_with_event(NR["fork"])
        wait_stop(child)  # the auto-attached child starts with SIGSTOP
        self.stub_pids.add(child)
        aspace = AddressSpace(self, child)
        self.address_spaces[child] = aspace
        ctx = aspace.new_context(child)
        ctx.get_regs()
        ctx.inject(NR["prctl"], PR_SET_PDEATHSIG, signal.SIGKILL)
        return aspace, ctx

    event = staticmethod(decode_status)

    def reaped(self, pid):
        self.stub_pids.discard(pid)
        self.stub_threads.discard(pid)
        self.parked.discard(pid)
        aspace = self.address_spaces.pop(pid, None)   # a leader is reaped after its threads
        if aspace is not None and aspace.hold is not None:
            self.memory_file.end_hold(aspace.hold)
            aspace.hold = None

    def close(self):
        """Kill every stub process and reap it (we trace them all, and are their subreaper)."""
        for pid in list(self.stub_pids):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        # Other threads first: a leader's death is reported only after its threads are reaped.
        for pid in list(self.stub_threads) + list(self.stub_pids):
            while True:
                try:
                    _, status = os.waitpid(pid, WALL)
                except ChildProcessError:
                    break
                if os.WIFEXITED(status) or os.WIFSIGNALED(status):
                    break
        self.stub_pids.clear()
        self.stub_threads.clear()
        self.address_spaces.clear()
