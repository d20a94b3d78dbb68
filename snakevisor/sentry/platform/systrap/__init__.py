"""The systrap platform (``--platform=systrap``): application syscalls trap into a signal handler
in the stub, not into ptrace stops. gVisor's pkg/sentry/platform/systrap, in miniature.

Each stub process is a fork of a master stub (made and driven with ptrace, as the ptrace
platform's), set up by one batch of requests while still traced, then detached:

- its application threads' seccomp filter returns SECCOMP_RET_TRAP for every syscall whose
  instruction pointer lies outside the stub's code page, and lets the stub's own code make only
  the few syscalls the handler needs (write to the eventfd only, futex, clone with the thread
  flags only, arch_prctl, sigaltstack, rt_sigprocmask, rt_sigreturn, exit);
- its first thread, the *mapper*, never runs application code: it waits on a socket only it
  may read or write (stub.S mapper_loop) and makes, for each message, the mmaps of the
  MemoryFile, munmaps and mprotects the Sentry wrote into its request pages (read-only in the
  stub), and maps host files the Sentry sends it on that socket (a volume's shared mappings:
  ``map_host_file``); its own filter is the only one that allows those calls (filters are per
  thread);
- SIGSYS, SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP and SIGURG (the Sentry's kick) run the stub's
  handler (stub.S) on an alternate stack inside the thread's *sysmsg*, 64 KiB of the MemoryFile
  mapped both in the stub and in the Sentry. The handler records the signal and where the
  kernel put the frame (siginfo, ucontext, XSAVE area), sets its state to EVENT, writes the
  Sentry's eventfd (the loop's epoll watches it) unless the Sentry is awake, and waits on a
  futex (see Handshakes);
- the Sentry reads and edits the registers in the saved ucontext and sets the state to RESUME
  (the handler returns through rt_sigreturn with them) or to SYSCALL/CLONE: the handler makes
  that host syscall (a new thread, exit) and reports DONE. Only a new stub's set-up uses
  ptrace; syscalls, faults and mapping changes never do.

A stub that dies is noticed through its pidfd; the stubs die with the Sentry (PDEATHSIG on the
master, and on every stub towards the master).

Handshakes: each side makes a host syscall for the other only when the other sleeps. Two flag
pairs, each a Dekker pattern (store my flag, full barrier, load the other's word):

- *Sentry to stub* (``asleep``): the Sentry stores the new state, fences (``_fence``), and makes
  FUTEX_WAKE only if ``asleep`` is set. The stub stores ``asleep`` = 1 with an xchg (a full
  barrier), reads the state again and only then makes FUTEX_WAIT on the state (which the kernel
  compares once more). With both barriers one of the two sees the other's store: either the
  Sentry sees ``asleep`` and wakes, or the stub sees the new state and does not sleep.
- *Stub to Sentry* (``polled``): a resume sets ``polled``: the loop looks at every running
  stub's state before it sleeps (``spin``; pinned, the stub often traps again while the Sentry
  is still awake, preempted by the wake-up it made). The stub sets its state to EVENT
  with an xchg and writes the eventfd only if ``polled`` is clear. Before the loop sleeps in
  epoll, ``spin`` clears ``polled`` of every running stub, fences and reads their states once
  more: an EVENT stored before its flag store became visible is seen there, one stored after
  sees the cleared flag and writes the eventfd.

Pinned (the stub never spins) the Sentry wakes the stub always and the stub's wait is
unbounded, as before (a word of the read-only code page says so). Both flags live in the
sysmsg, which the application can write: a scribbled ``asleep`` = 0 loses its own thread's
wake-up, so a spinning stub's waits are bounded (2 ms, then 1 s: first_nap and later_nap in
stub.S); a scribbled ``polled`` = 1 loses its own thread's eventfd write, so the loop never
sleeps longer than BACKSTOP while stubs run (``sleep_cap``). Either costs only the scribbling
thread time. The Sentry's barrier is a lock taken and dropped (locked instructions in
CPython's lock, a full barrier on x86).

CPUs: pinned with the Sentry to one CPU by default, as the ptrace platform. Not pinned
(``do --cpu=-1``), a stub spins STUB_SPIN pauses (~10 us) before its futex wait and the loop
watches the running stubs for SENTRY_SPIN before it sleeps in epoll; a stub whose syscall
waits in the Sentry is set to BLOCKED and stops spinning (``_blocked``). A lone getpid loop then
takes 4.3-4.5 us (pinned 8 us) on a quiet 2-CPU VM, but pipe and futex ping-pongs and stat
were 2-6 times slower than pinned on the shared one (docs/design.md section 4 has the table).

Not done: a thread's sysmsg is 64 KiB of MemoryFile (MAX_THREADS live threads a process);
FP state is read and written in the signal frame's XSAVE area only as large as that frame has.

Residual risk (what an application can do that it cannot under ptrace). Everything the stub
shares with the Sentry is writable by the application: its threads' sysmsg pages, the signal
frames in them, and its own registers. The Sentry bounds every pointer it reads from a sysmsg
to that sysmsg, takes values only as integers and never blocks on a stub without a deadline,
so a scribbling application confuses (or kills) only its own threads. An application may
jump into the stub's code (or forge a SYSCALL request in a sysmsg) and so make, from the stub's
instruction pointer, the syscalls its threads' filter allows: futex (on its own memory or its
sysmsgs: time), a write of 8 bytes to the eventfd (a spurious wake-up of the loop), its own
FS/GS bases, signal mask and alternate stack, a thread (counted by the pids limit), exit. Not
mmap, munmap or mprotect: those are the mapper's alone (before it, a jump into the stub mapped
any MemoryFile offset: other processes' memory, tmpfs files). Under ptrace (PTRACE_SYSEMU
stops every syscall, wherever it comes from) none of this is possible.
"""
import _thread
import contextlib
import ctypes
import os
import signal
import socket
import struct
import time

from snakevisor.abi import ptrace as pt
from snakevisor.abi import seccomp as SC
from snakevisor.abi import signal as S
from snakevisor.abi.errno import EAGAIN, SyscallError
from snakevisor.abi.futex import FUTEX_WAIT as _FUTEX_WAIT, FUTEX_WAKE as _FUTEX_WAKE
from snakevisor.abi.prctl import PR_SET_NO_NEW_PRIVS, PR_SET_PDEATHSIG
from snakevisor.abi.syscall_numbers import SYSCALL_NUMBERS as NR
from snakevisor.abi.time import OWN_THREAD_CPUCLOCK, Timespec
from snakevisor.hostos.libc import readable, syscall as _syscall
from snakevisor.sentry.platform import ptrace as ptp
from snakevisor.sentry.platform.interface import EXIT, FAULT, FAULT_SIGNALS, SIGNAL, SYSCALL, StubGone
from snakevisor.sentry.platform.ptrace.stub import STUB_ADDR, STUB_MEMFD
from snakevisor.sentry.platform.systrap import stub as st
from snakevisor.sentry.platform.systrap.sysmsg import Sysmsg, SysmsgHead
from snakevisor.sentry.platform.systrap.mapper import (CLONE_FLAGS, COUNT, PER_BATCH, REQUESTS_BYTES, Mapper, MapperChannel,
                                                        failure as _failure, filter_program, map_host_file,
                                                        write_batch as _write_batch)

_perf_counter = time.perf_counter
_NR_FUTEX = NR["futex"]
_NR_TGKILL = NR["tgkill"]
_NR_PIDFD_GETFD = NR["pidfd_getfd"]
_MASK64 = (1 << 64) - 1

SYSMSG_BASE = STUB_ADDR + (1 << 30)   # above TASK_SIZE: the application cannot map over it
MAX_THREADS = 4096                    # sysmsg slots per address space (a slot is reused once its thread is gone)

FILTER_ADDR = STUB_ADDR + st.FILTER_OFFSET   # both seccomp programs, read-only in every stub
SETUP_ADDR = STUB_ADDR + 0x30000      # a new stub's set-up batch, read-only in every stub
REQUESTS_ADDR = STUB_ADDR + 0x20000   # the mapper's request pages (AddressSpace.run_requests)
_SCRATCH = 0x800                      # in the first thread's sysmsg page, past its head: the set-up's
_SENTRY_END = 1                       # socketpair answer, then the mapper's read buffer
TRAPPED_SIGNALS = (S.SIGSYS, S.SIGSEGV, S.SIGBUS, S.SIGFPE, S.SIGILL, S.SIGTRAP, S.SIGURG)
STUB_SPIN = 1000                      # pause iterations a stub spins before its futex wait
SENTRY_SPIN = 20e-6                   # seconds the loop watches running stubs before it sleeps
BACKSTOP = 0.1                        # seconds the loop sleeps at most while stubs run (see sleep_cap)
WAIT_SLICE = 0.05                     # the Sentry's futex waits on a stub, between liveness checks
STUB_DEADLINE = 30.0                  # a stub that answers nothing for this long is killed
_GREGS = S.UC_MCONTEXT_OFF
_FPSTATE_PTR = _GREGS + 23 * 8
_CSGSFS = _GREGS + 18 * 8
_UC_SIGMASK = S.UC_SIGMASK_OFF
_RAX = S.SIGCONTEXT_REGS.index("rax")   # REG_RAX
_U64 = ctypes.c_uint64
_ST_EVENT = st.ST_EVENT
_U64S = struct.Struct("<Q")
_I32 = struct.Struct("<i")
_EVENT = struct.Struct("<QQQ")            # the sysmsg's signo, info, uctx
_CSGSFS_WORDS = struct.Struct("<4H")
_TAIL = struct.Struct("<5Q")              # FrameRegs after the frame's words: orig_rax .. ss
_SW_REST = bytes(512 - pt.XSTATE_XCR0_OFFSET - 8)   # PTRACE_GETREGSET's software bytes after XCR0


class FrameRegs(ctypes.Structure, pt.RegsCopy):
    """The registers as the kernel saves them in a signal frame (sigcontext's first 18 words, so
    reading or writing them is one memmove), then what the frame does not hold. The kernel reads
    them by name, as it does ptrace's user_regs_struct."""
    _fields_ = [(name, ctypes.c_uint64) for name in S.SIGCONTEXT_REGS] + [
        (name, ctypes.c_uint64) for name in ("orig_rax", "fs_base", "gs_base", "cs", "ss", "ds", "es", "fs", "gs")]


_FRAME_BYTES = 18 * 8


_SLICE = Timespec(0, int(WAIT_SLICE * 1e9))
_SLICE_REF = ctypes.byref(_SLICE)


def _futex_wake(ptr):
    _syscall(_NR_FUTEX, ptr, _FUTEX_WAKE, 1, None, None, 0)


_fence_lock = _thread.allocate_lock()
_fence_acquire, _fence_release = _fence_lock.acquire, _fence_lock.release


def _fence():
    """A full memory barrier: taking and dropping a lock are locked instructions (sem_trywait,
    sem_post; x86 orders every load after them), the store-load order the handshakes need."""
    _fence_acquire(False)
    _fence_release()


def _futex_wait_slice(ptr, val):
    _syscall(_NR_FUTEX, ptr, _FUTEX_WAIT, val, _SLICE_REF, None, 0)


class Context:
    """One stub thread, parked in the stub's handler whenever the Sentry looks at it."""

    __slots__ = ("tid", "address_space", "platform", "regs", "msg", "words", "fs_base", "gs_base", "running",
                 "_uctx", "_gregs", "_regs_mv", "_regs_frame", "_cs_ss", "_signo", "_uctx_stub", "_uoff",
                 "_frame_mv", "_info_stub", "_ioff", "__weakref__")

    def __init__(self, address_space, tid, msg):
        self.tid = tid
        self.address_space = address_space
        self.platform = address_space.platform
        self.regs = FrameRegs()
        self._regs_mv = memoryview(self.regs).cast("B")
        self._regs_frame = self._regs_mv[:_FRAME_BYTES]   # the words a frame holds
        self._cs_ss = None
        self.msg = msg
        self.words = msg.words   # words[0]: the state, read by the loop's spin
        self.fs_base = self.gs_base = 0
        self.running = False
        self._signo = 0
        self._info_stub = self._ioff = None
        self.lose_frame()

    def lose_frame(self):
        """No frame to read or write (yet, or the stub is gone): register access is StubGone."""
        self._uctx = self._gregs = self._uoff = self._frame_mv = self._uctx_stub = None

    # -- events ---------------------------------------------------------------
    def event(self, report):
        return report

    def _report(self):
        """The event the handler recorded, as (kind, value); also finds the frame (where the
        kernel puts it on the alternate stack is the same event after event: kept)."""
        msg = self.msg
        signo, info, uctx = _EVENT.unpack_from(msg.mv, SysmsgHead.signo.offset)
        if uctx != self._uctx_stub:
            self.lose_frame()
            uoff = msg.offset_of(uctx, S.UCONTEXT_SIZE)
            if uoff is not None:
                self._uctx_stub, self._uoff = uctx, uoff
                self._uctx = msg.here + uoff
                self._gregs = self._uctx + _GREGS
                self._frame_mv = msg.mv[uoff + _GREGS:uoff + _GREGS + _FRAME_BYTES]
        if info != self._info_stub:
            self._info_stub, self._ioff = info, msg.offset_of(info, S.SIGINFO_SIZE)
        self._signo = signo
        if self._uctx is None or not 0 < signo <= 64:
            return EXIT, S.SIGSYS   # a forged record: its own thread is lost
        if signo == S.SIGSYS:
            return SYSCALL, 0
        return (FAULT if signo in FAULT_SIGNALS else SIGNAL), signo

    def _frame(self):
        if self._gregs is None:
            raise StubGone(self.tid, S.SIGSYS)
        return self._gregs

    # -- registers ------------------------------------------------------------
    def get_regs(self):
        self._frame()
        r = self.regs
        self._regs_frame[:] = self._frame_mv
        if self._cs_ss is None:   # the same in every frame of the thread
            cs, _, _, ss = _CSGSFS_WORDS.unpack_from(self.msg.mv, self._uoff + _CSGSFS)
            self._cs_ss = cs, ss
        orig_rax = _MASK64
        if self._signo == S.SIGSYS and self._ioff is not None:
            orig_rax = _I32.unpack_from(self.msg.mv, self._ioff + SC.SIGSYS_SYSCALL_OFFSET)[0] & _MASK64
        _TAIL.pack_into(self._regs_mv, _FRAME_BYTES, orig_rax, self.fs_base, self.gs_base, *self._cs_ss)
        return r

    def set_regs(self):
        self._frame()
        self._frame_mv[:] = self._regs_frame
        r = self.regs
        if r.fs_base != self.fs_base:   # the handler sets them (arch_prctl) before it returns
            head = self.msg.head
            head.fs_base = self.fs_base = r.fs_base
            head.fs_dirty = 1
        if r.gs_base != self.gs_base:
            head = self.msg.head
            head.gs_base = self.gs_base = r.gs_base
            head.gs_dirty = 1

    def set_return(self, value):
        value &= _MASK64
        self.regs.rax = value
        self._frame()
        _U64S.pack_into(self.msg.mv, self._uoff + _GREGS + _RAX * 8, value)

    def _fpstate(self):
        """(address here, size, features) of the frame's XSAVE area, as its software bytes say
        (a bare FXSAVE area, x87 and SSE, if they do not)."""
        self._frame()
        ptr = _U64.from_address(self._uctx + _FPSTATE_PTR).value
        base = self.msg.local(ptr, 512)
        if base is None:
            raise StubGone(self.tid, S.SIGSYS)
        magic1, _, features, size = S.FPX_SW_BYTES.unpack_from(ctypes.string_at(base + S.FPX_SW_OFFSET, 20))
        if magic1 != S.FP_XSTATE_MAGIC1 or size < 512 or self.msg.local(ptr, size) is None:
            return base, 512, 3
        return base, size, features

    def get_xstate(self):
        """The frame's XSAVE area with PTRACE_GETREGSET's software bytes (XCR0, then zeros) for
        the frame's own (the signal-frame format: its magic, sizes and features)."""
        base, size, features = self._fpstate()
        return (ctypes.string_at(base, pt.XSTATE_XCR0_OFFSET) + _U64S.pack(features) + _SW_REST +
                ctypes.string_at(base + 512, size - 512))

    def xstate_size(self):
        return self._fpstate()[1]

    def set_xstate(self, data):
        base, size, _ = self._fpstate()
        data = bytes(data[:size])
        # The software-reserved bytes describe this frame's layout to rt_sigreturn: keep ours.
        ctypes.memmove(base, data[:S.FPX_SW_OFFSET], min(len(data), S.FPX_SW_OFFSET))
        if len(data) > 512:
            ctypes.memmove(base + 512, data[512:], len(data) - 512)

    def get_siginfo(self):
        info = self.msg.local(self.msg.head.info, S.SIGINFO_SIZE)
        return bytes(S.SIGINFO_SIZE) if info is None else ctypes.string_at(info, S.SIGINFO_SIZE)

    @staticmethod
    def load_debug_registers(breakpoints):
        """Hardware breakpoints are not loaded here: the stubs are not traced once running (no
        host PTRACE_POKEUSER), and a thread cannot set its own debug registers."""
        return not breakpoints

    @staticmethod
    def debug_status():
        return 0

    # -- running --------------------------------------------------------------
    def resume(self, sig=0):
        if self._uoff is not None:
            _U64S.pack_into(self.msg.mv, self._uoff + _UC_SIGMASK, 0)  # no host signal blocked
        self.running = True
        platform = self.platform
        platform.running[self.tid] = self
        self.msg.head.polled = 1   # the loop looks at our state before it sleeps (spin)
        self._set_state(st.ST_RESUME)

    def _set_state(self, state):
        """Hand the stub ``state``; when stubs spin, wake it only if it sleeps (or is about to)
        in FUTEX_WAIT (pinned, a stub never spins: it is always woken, its wait unbounded)."""
        head = self.msg.head
        head.state = state
        if not self.platform.wake_always:
            _fence()   # the state is visible before ``asleep`` is read (see the module docstring)
            if not head.asleep:
                return
        _futex_wake(self.msg.state_ptr)

    def interrupt(self):
        _syscall(_NR_TGKILL, self.address_space.pid, self.tid, S.SIGURG)

    def stop_now(self):
        """Kick the running thread and wait here until its handler has recorded the stop; the
        report is taken from the platform's running set (so it is not delivered twice) and owed
        to the loop. A death is reported by the platform's pidfd watch: StubGone carries None."""
        self.interrupt()
        try:
            self._wait_while(st.ST_RESUME)
        except StubGone:
            raise StubGone(self.tid, None)
        self.address_space.platform.running.pop(self.tid, None)
        self.running = False
        report = self._report()
        self.get_regs()
        return report

    def _request(self, state, nr, args):
        head = self.msg.head
        head.nr = nr
        for i in range(6):
            head.args[i] = (args[i] if i < len(args) else 0) & _MASK64
        self._set_state(state)

    def _wait_while(self, value):
        """Wait until the stub moves its state on from ``value``; StubGone if it dies or hangs."""
        head = self.msg.head
        waited = 0.0
        head.waiting = 1   # the handler wakes us when it records an event
        try:
            while head.state == value:
                _futex_wait_slice(self.msg.state_ptr, value)
                if head.state != value:
                    break
                waited += WAIT_SLICE
                if not self.address_space.alive() or waited > STUB_DEADLINE:
                    self.address_space.kill()
                    raise StubGone(self.tid, S.SIGKILL)
        finally:
            head.waiting = 0
        return head.state

    def inject_exit(self):
        """End this stopped thread, or park it as the ptrace platform does: up to PARKED_MAX
        threads wait in their handler (no Task, out of the running set, so no report is taken from
        them) for the address space's next new_thread, which saves a clone, a first trap and an
        exit. The new Task sets every register, the XSAVE state and the TLS bases anew."""
        if self.running:   # in application code: the caller kicks it and retries at its stop
            raise StubGone(self.tid, None)
        aspace, platform = self.address_space, self.platform
        platform.forget(self)
        aspace.contexts.pop(self.tid, None)
        if self._gregs is not None and len(aspace.parked) < ptp.PARKED_MAX and \
                platform.parked_total < ptp.PARKED_TOTAL:
            aspace.parked.append(self)
            platform.parked_total += 1
            return
        self._request(st.ST_SYSCALL, NR["exit"], ())
        if self.msg.reusable:
            aspace.retired.append(self.msg)

    def thread_cpu_ns(self, which):
        """The thread runs clock_gettime of its own CPU clock in its handler and writes it into its
        sysmsg: the application's memory, so a figure it forges is only its own."""
        if self.running:
            return None
        self._request(st.ST_SYSCALL, NR["clock_gettime"],
                      (OWN_THREAD_CPUCLOCK[which], self.msg.stub + SysmsgHead.cputime.offset))
        try:
            self._wait_while(st.ST_SYSCALL)
        except StubGone:   # (its Task finds out as it resumes)
            return None
        head = self.msg.head
        sec, nsec = head.cputime
        return sec * 1_000_000_000 + nsec if head.ret == 0 and sec >= 0 and 0 <= nsec < 1_000_000_000 else None

    def wait_first_event(self):
        """A new thread runs thread_start and traps (ud2): wait for that first report."""
        self._wait_while(st.ST_INIT)
        if self._report()[0] == EXIT:
            raise StubGone(self.tid, S.SIGSYS)
        self.get_regs()


class AddressSpace:
    """One stub process. Its mmap, munmap and mprotect are made by its *mapper*: the process's
    first thread, which never runs application code and makes them in batches from its request
    pages when its socket says so. Seccomp filters are per thread: only the mapper's allows
    those calls, so an application thread that jumps into the stub's code (or forges a request
    in its sysmsg) cannot map the MemoryFile or change a protection (design.md section 10)."""

    def __init__(self, platform, pid):
        self.platform = platform
        self.pid = pid
        self.contexts = {}
        self.sysmsgs = []
        self.pidfd = None
        self.dead = False
        self.retired = []   # sysmsgs of threads told to exit
        self.parked = []    # stopped threads no Task uses (Context.inject_exit), for new_thread
        self.mapper = None  # the MapperChannel to its first thread, once the stub is set up
        self.requests = platform.memory_file.allocate(REQUESTS_BYTES)   # map_ranges's, at REQUESTS_ADDR
        self.hold = None    # MemoryFile.hold_frees's token from kill() to gone()

    maps_host_files = True
    map_host_file = map_host_file   # (mapper.py: a volume file's descriptor sent to the mapper)

    def map_file_range(self, ctx, addr, length, prot, mf_offset):
        self.run_requests(ctx, [ptp.map_request(addr, length, prot, mf_offset)])

    def unmap(self, ctx, addr, length):   # (as on ptrace, an unmap or protect that fails is not an error)
        self.run_requests(ctx, [(NR["munmap"], addr, length)], check=False)

    def protect(self, ctx, addr, length, prot):
        self.run_requests(ctx, [(NR["mprotect"], addr, length, prot)], check=False)

    def map_ranges(self, ctx, ranges):
        """In batches the mapper runs from the stub's request pages (mapped read-only in the stub:
        an application thread can neither write them nor, by its filter, make these calls)."""
        for first in range(0, len(ranges), PER_BATCH):
            self.run_requests(ctx, [ptp.map_request(*r) for r in ranges[first:first + PER_BATCH]])

    def run_requests(self, ctx, requests, check=True):
        """``requests`` ((nr, arguments...), a batch at most) made by the mapper, in order, for
        ``ctx`` (the stub's death is its StubGone; None: the process's); OSError for the first
        that fails (if ``check``)."""
        _write_batch(self.platform.memory_file, self.requests, requests)
        left, result = self.mapper.run_batch(self.pid if ctx is None else ctx.tid)
        if left and check:
            raise _failure(requests, left, result)

    def alive(self):
        if self.dead:
            return False
        if self.pidfd is not None and readable(self.pidfd):
            return False
        return True

    def new_sysmsg(self, requests):
        """A sysmsg for the next thread: one whose thread is gone (the kernel cleared its tid
        word), or a new one, whose mapping into the stub is appended to ``requests`` (for
        run_requests)."""
        for i, msg in enumerate(self.retired):
            if msg.head.tid_word == 0:
                del self.retired[i]
                msg.reset(self.platform.stub_spin)
                return msg
        if len(self.sysmsgs) >= MAX_THREADS:
            raise SyscallError(EAGAIN)
        mf = self.platform.memory_file
        offset = mf.allocate(st.SYSMSG_SIZE)
        stub_addr = SYSMSG_BASE + len(self.sysmsgs) * st.SYSMSG_SIZE
        msg = Sysmsg(mf, offset, stub_addr, self.platform.stub_spin)
        self.sysmsgs.append(msg)
        requests.append(ptp.map_request(stub_addr, st.SYSMSG_SIZE, 3, offset))
        return msg

    def add(self, ctx):
        self.contexts[ctx.tid] = ctx
        self.platform.contexts[ctx.tid] = ctx
        return ctx

    def _unpark(self):
        """A parked thread still there (the application cannot end a stub thread, but may have
        scribbled its sysmsg), or None."""
        while self.parked:
            child = self.parked.pop()
            self.platform.parked_total -= 1
            if _syscall(_NR_TGKILL, self.pid, child.tid, 0) == 0:
                return self.add(child)
            if child.msg.reusable:
                self.retired.append(child.msg)
        return None

    def new_thread(self, ctx):
        child = self._unpark()
        if child is not None:
            return child
        requests = []
        msg = self.new_sysmsg(requests)
        if requests:
            self.run_requests(ctx, requests)
        msg.reusable = True
        msg.head.tid_word = -1   # until the kernel writes the thread's tid
        ctx._request(st.ST_CLONE, 0, (CLONE_FLAGS, msg.stub + st.SYSMSG_SIZE - 64, msg.stub,
                                      msg.stub + SysmsgHead.tid_word.offset))
        ctx._wait_while(st.ST_CLONE)
        tid = ctx.msg.head.ret
        if tid <= 0:
            raise OSError(-tid, "clone in the stub failed")
        if tid in self.platform.contexts or any(p.tid == tid for p in self.parked) or \
                _syscall(_NR_TGKILL, self.pid, tid, 0) != 0:
            # Not a new thread of this process: the answer sits in the application's memory, and
            # another of its threads wrote over it (a known tid would alias that thread's
            # events). The process is killed, as for any forged request.
            self.kill()
            raise StubGone(ctx.tid, S.SIGSYS)
        child = Context(self, tid, msg)
        child.fs_base, child.gs_base = ctx.fs_base, ctx.gs_base
        self.add(child)
        child.wait_first_event()
        return child

    def kill(self):
        if not self.dead:
            if self.hold is None:   # until its pidfd says it is dead, its threads may still write
                self.hold = self.platform.memory_file.hold_frees()
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def gone(self):
        """The stub process has exited: free what it used."""
        self.dead = True
        for ctx in self.contexts.values():
            self.platform.forget(ctx)
        self.contexts.clear()
        self.platform.parked_total -= len(self.parked)
        self.parked.clear()
        mf = self.platform.memory_file
        for msg in self.sysmsgs:
            mf.free(msg.offset, st.SYSMSG_SIZE)
        self.sysmsgs = []
        if self.requests is not None:
            mf.free(self.requests, REQUESTS_BYTES)
            self.requests = None
        if self.pidfd is not None:
            os.close(self.pidfd)
            self.pidfd = None
        if self.mapper is not None:
            self.mapper.close()
        if self.hold is not None:
            mf.end_hold(self.hold)
            self.hold = None


class SystrapPlatform:
    """Stub processes forked from a ptrace-driven master, then detached and driven through sysmsgs."""

    def __init__(self, memory_file, cpu=None, stub_spin=None, sentry_spin=None):
        self.memory_file = memory_file
        if cpu is not None:
            os.sched_setaffinity(0, {cpu})
        # Spinning helps only when the Sentry and the stubs run on different CPUs.
        self.stub_spin = (0 if cpu is not None else STUB_SPIN) if stub_spin is None else stub_spin
        self.sentry_spin = (0 if cpu is not None else SENTRY_SPIN) if sentry_spin is None else sentry_spin
        self.wake_always = self.stub_spin == 0   # a stub that does not spin sleeps at once: no flag to read
        self.eventfd = os.eventfd(0, os.EFD_NONBLOCK | os.EFD_CLOEXEC)
        self.master_pid = ptp.spawn_master(st.build_systrap_elf(self.wake_always),
                                           {STUB_MEMFD: memory_file.fd, st.EVENTFD_FD: self.eventfd})
        # Forks of the master inherit its options: the first thread a stub's set-up clones runs free.
        ptp.ptrace(pt.PTRACE_SETOPTIONS, self.master_pid, 0, ptp.STUB_OPTIONS & ~pt.PTRACE_O_TRACECLONE)
        self.master = ptp.Context(self.master_pid, None)
        self.master.get_regs()
        self.reserved = ptp.PtracePlatform._host_mappings(self.master_pid)
        self.contexts = {}        # host tid -> Context, every live stub thread
        self.running = {}         # host tid -> Context resumed and not yet reported
        self.address_spaces = {}  # pidfd -> AddressSpace
        self.parked_total = 0     # parked threads of all address spaces (host threads: pids.max counts them)
        self.loop = None
        self._filter_len = self._master_fprog = 0
        self._filter_offset = self._write_filter()
        self.setup_page = memory_file.allocate(4096)   # a new stub's set-up batch (new_address_space)
        self._prepare_master()

    # -- set-up ---------------------------------------------------------------
    def _write_filter(self):
        """Both filters (each a sock_fprog, then its program) in MemoryFile pages the master maps
        read-only at FILTER_ADDR: the application threads' first (stub.S first_thread installs
        it), the master's after it (installed once, inherited by every stub)."""
        app, master = filter_program(), filter_program(master=True)
        self._master_fprog = FILTER_ADDR + 16 + len(app)   # where the master's sock_fprog is in the stub
        blob = (SC.SOCK_FPROG.pack(len(app) // 8, FILTER_ADDR + 16) + app +
                SC.SOCK_FPROG.pack(len(master) // 8, self._master_fprog + 16) + master)
        self._filter_len = (len(blob) + 4095) & ~4095
        offset = self.memory_file.allocate(self._filter_len)
        self.memory_file.write(offset, blob)
        return offset

    def _prepare_master(self):
        """Handlers for the trapped signals, the filters' and the set-up page (both read-only) and
        the master's filter, inherited by every fork of the master."""
        mf, master = self.memory_file, self.master
        act = struct.pack("<QQQQ", st.HANDLER, S.SA_SIGINFO | S.SA_ONSTACK | S.SA_RESTORER, st.RESTORER, _MASK64)
        mf.write(self.setup_page, act)
        for addr, length, offset in ((SETUP_ADDR, 4096, self.setup_page),
                                     (FILTER_ADDR, self._filter_len, self._filter_offset)):
            r = master.inject(*ptp.map_request(addr, length, 1, offset))
            if r != addr:
                raise OSError(-r, "mapping a page into the master stub")
        for sig in TRAPPED_SIGNALS:
            r = master.inject(NR["rt_sigaction"], sig, SETUP_ADDR, 0, 8)
            if r != 0:
                raise OSError(-r, f"rt_sigaction({sig}) in the master stub")
        master.inject(NR["prctl"], PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
        r = master.inject(NR["seccomp"], SC.SECCOMP_SET_MODE_FILTER, 0, self._master_fprog)   # every stub's too
        if r != 0:
            raise OSError(-r, "installing the master stub's seccomp filter")

    def attach(self, loop):
        """Stops arrive through the eventfd (the loop polls it) and deaths through pidfds."""
        self.loop = loop
        loop.use_waker(None)
        loop.watch_fd(self.eventfd, self._on_eventfd, edge=True)
        loop.sleep_cap = self.sleep_cap
        loop.spin = self.spin

    vdso_range = ptp.PtracePlatform.vdso_range               # the same host mappings in every stub
    special_mappings = ptp.PtracePlatform.special_mappings

    def new_address_space(self):
        """Fork the master (its filter comes along: the mapper's); one batch (ptrace, from the
        set-up page) maps the request pages and the first thread's sysmsg, makes the mapper's
        socket pair and clones the first application thread (untraced: it installs the
        application threads' filter, stub.S first_thread). The Sentry takes its end of the
        socket (which stays open in the stub too, where no thread may use it: the mapper's filter
        allows MAPPER_FD only, the application threads' neither read nor a write to it) and
        detaches the mapper into its loop."""
        child = self.master.inject_with_event(NR["fork"])
        ptp.wait_stop(child)  # the auto-attached child starts with SIGSTOP
        mapper = Mapper(child, None)
        aspace = AddressSpace(self, child)
        try:
            mapper.get_regs()
            setup = [ptp.map_request(REQUESTS_ADDR, REQUESTS_BYTES, 1, aspace.requests),   # PROT_READ
                     (NR["prctl"], PR_SET_PDEATHSIG, signal.SIGKILL)]
            msg = aspace.new_sysmsg(setup)
            setup += [(NR["socketpair"], socket.AF_UNIX, socket.SOCK_SEQPACKET, 0, msg.stub + _SCRATCH),
                      (NR["clone"], CLONE_FLAGS, msg.stub + st.SYSMSG_SIZE - 64, 0, msg.stub + SysmsgHead.tid_word.offset)]
            first = self._run_setup(mapper, setup, msg.stub + _SCRATCH)
            aspace.pidfd = os.pidfd_open(child)
            aspace.mapper = self._take_channel(aspace, msg)   # (closed by gone)
            mapper.start_loop()
        except BaseException:
            os.kill(child, signal.SIGKILL)
            with contextlib.suppress(ChildProcessError):   # still traced by us: reaped here, not left a zombie
                os.waitpid(child, ptp.WALL)
            aspace.gone()
            raise
        self.address_spaces[aspace.pidfd] = aspace
        if self.loop is not None:
            self.loop.watch_fd(aspace.pidfd, lambda fd=aspace.pidfd: self._on_pidfd(fd))
        ctx = aspace.add(Context(aspace, first, msg))
        ctx.fs_base, ctx.gs_base = mapper.regs.fs_base, mapper.regs.gs_base   # the clone's
        ctx.wait_first_event()
        return aspace, ctx

    def _run_setup(self, mapper, requests, scratch):
        """The set-up batch, from the set-up page: the tid of the thread its clone made."""
        _write_batch(self.memory_file, self.setup_page, requests)
        left, result, tid = mapper.run_setup(SETUP_ADDR + COUNT.size, len(requests), REQUESTS_ADDR, scratch)
        if left:
            raise _failure(requests, left, result)
        return tid

    @staticmethod
    def _take_channel(aspace, msg):
        """The Sentry's end of the socket pair the set-up batch made in the stub (its lowest free
        numbers: the master keeps only 3 and 4), taken with pidfd_getfd."""
        ends = struct.unpack_from("<ii", msg.mv, _SCRATCH)
        if ends != (st.MAPPER_FD, _SENTRY_END):
            raise OSError(EAGAIN, f"the stub's socket pair has descriptors {ends}")
        fd = _syscall(_NR_PIDFD_GETFD, aspace.pidfd, _SENTRY_END, 0)
        if fd < 0:
            raise OSError(ctypes.get_errno(), "pidfd_getfd of the stub's mapper socket")
        return MapperChannel(fd, aspace.pid)

    # -- events ---------------------------------------------------------------
    def _on_eventfd(self):
        """The eventfd was written (edge-triggered: it is never read, its count just grows)."""
        running = self.running
        ready = [ctx for ctx in running.values() if ctx.words[0] == _ST_EVENT]
        for ctx in ready:
            if running.pop(ctx.tid, None) is None:
                continue   # taken while an earlier one was delivered (stop_now owes its report, or forget)
            ctx.running = False
            self.loop.deliver(ctx.tid, ctx._report())
            if not ctx.running and not self.wake_always:
                self._blocked(ctx)

    @staticmethod
    def _blocked(ctx):
        """A stub whose Task did not resume it at once (its syscall waits) stops spinning: its CPU
        is better spent on the thread that will wake it. A stub already asleep is left alone."""
        if ctx.words[0] == _ST_EVENT and not ctx.msg.head.asleep:
            ctx.msg.head.state = st.ST_BLOCKED

    def spin(self):
        """Before the loop sleeps: watch the running threads' states for ``sentry_spin`` seconds
        (the stubs run on another CPU), then clear their ``polled`` flags and look once more;
        True if one stopped (its report is delivered). Pinned, the stub a resume wakes often
        runs at once (wake-up preemption) and has trapped by the time the loop looks."""
        running = self.running
        if not running:
            return False
        if self.sentry_spin:
            deadline = _perf_counter() + self.sentry_spin
            while True:
                if self._take_event():
                    return True
                if _perf_counter() > deadline:
                    break
        for ctx in running.values():   # the loop sleeps next: the stubs must write the eventfd
            ctx.msg.head.polled = 0
        _fence()   # the flags are visible before the states are read: an event now is not missed
        return self._take_event()

    def _take_event(self):
        for ctx in self.running.values():
            if ctx.words[0] == _ST_EVENT:
                self._on_eventfd()
                return True
        return False

    def sleep_cap(self):
        """While stubs run, the loop looks at their states now and then even if the eventfd stays
        quiet: a stub whose ``polled`` flag the application scribbled skips its eventfd write."""
        return BACKSTOP if self.running else None

    def _on_pidfd(self, fd):
        aspace = self.address_spaces.pop(fd, None)
        if aspace is None:
            return
        self.loop.unwatch_fd(fd)
        reported = [ctx for ctx in aspace.contexts.values()]
        aspace.gone()
        for ctx in reported:
            ctx.lose_frame()
            self.loop.deliver(ctx.tid, (EXIT, S.SIGKILL))

    def forget(self, ctx):
        self.running.pop(ctx.tid, None)
        self.contexts.pop(ctx.tid, None)

    @staticmethod
    def event(report):
        """Stubs report (kind, value) pairs; the master and a stub not yet detached are still
        traced children, whose waitpid statuses the loop may collect too."""
        return report if isinstance(report, tuple) else ptp.decode_status(report)

    def reaped(self, pid):
        pass

    def close(self):
        for fd, aspace in list(self.address_spaces.items()):
            aspace.kill()
            if self.loop is not None:
                self.loop.unwatch_fd(fd)
            aspace.gone()
        self.address_spaces.clear()
        try:
            os.kill(self.master_pid, signal.SIGKILL)
            os.waitpid(self.master_pid, ptp.WALL)
        except (ProcessLookupError, ChildProcessError):
            pass
        os.close(self.eventfd)
