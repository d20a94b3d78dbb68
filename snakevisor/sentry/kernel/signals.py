"""Signals: sending, pending queues, delivery onto the application stack, sigreturn, default actions.

Delivery happens where Linux does it: on the way back to user mode, after a
syscall or after a stop (a fault, a kick). A handler gets an x86_64
rt_sigframe (siginfo, ucontext with the general registers, the signal mask,
the alternate stack, and the full XSAVE state) built on its stack; rt_sigreturn
reads it back. A Task waiting inside the Sentry is woken with ERESTARTSYS; one
running application code is kicked with a host SIGURG, which stops its stub
thread so the Sentry can deliver.
"""
import ctypes
import operator
import struct

from snakevisor.abi import signal as S
from snakevisor.abi.ptrace import SEGMENT_RPL_USER, USER32_CS, USER_CS, USER_DS
from snakevisor.abi.errno import (EAGAIN, EINTR, ERESTART_RESTARTBLOCK, ERESTARTNOHAND, ERESTARTNOINTR,
                                  ERESTARTSYS, SyscallError)
from snakevisor.abi.syscall_numbers import SYSCALL_NUMBERS
from snakevisor.abi.fs import to_s32, to_s64
from snakevisor.abi.resource import RLIMIT_SIGPENDING
from snakevisor.sentry.kernel import ptrace
from snakevisor.sentry.kernel.pidns import protected_init

RESTART_CODES = (-ERESTARTSYS, -ERESTARTNOINTR, -ERESTARTNOHAND, -ERESTART_RESTARTBLOCK)
# Syscalls that never restart after a handler ran (Linux returns ERESTARTNOHAND or EINTR for them).
NO_RESTART_AFTER_HANDLER = {SYSCALL_NUMBERS[n] for n in (
    "poll", "ppoll", "select", "pselect6", "epoll_wait", "epoll_pwait", "epoll_pwait2", "nanosleep",
    "clock_nanosleep", "rt_sigsuspend", "rt_sigtimedwait", "pause", "sigaltstack", "msgrcv", "msgsnd",
    "semop", "semtimedop", "io_getevents", "signalfd4")}
NR_RESTART_SYSCALL = SYSCALL_NUMBERS["restart_syscall"]
MAX_RT_QUEUE = 63432  # like RLIMIT_SIGPENDING here: a storm of queued RT signals is not dropped


# The registers sigcontext saves, read in one C call (a generator of getattr cost a frame each).
_sigcontext_regs = operator.attrgetter(*S.SIGCONTEXT_REGS)


def sigbit(sig):
    return 1 << (sig - 1)


def make_siginfo(sig, code, pid=0, uid=0, **kw):
    if "addr" in kw:
        return S.SIGINFO_FAULT.pack(sig, 0, code, kw["addr"]).ljust(S.SIGINFO_SIZE, b"\0")
    if "status" in kw:
        return S.SIGINFO_CHLD.pack(sig, 0, code, pid, uid, kw["status"], kw.get("utime", 0),
                                   kw.get("stime", 0)).ljust(S.SIGINFO_SIZE, b"\0")
    if "value" in kw:
        return S.SIGINFO_QUEUE.pack(sig, 0, code, pid, uid, kw["value"]).ljust(S.SIGINFO_SIZE, b"\0")
    return S.SIGINFO_KILL.pack(sig, 0, code, pid, uid).ljust(S.SIGINFO_SIZE, b"\0")


def _real_uid(tg):
    leader = tg.leader
    return leader.creds.uid if leader is not None else None


def _si_code(info):
    return struct.unpack_from("<i", info, 8)[0]


def default_action(sig):
    if sig in S.STOP_SIGNALS:
        return "stop"
    if sig in S.IGNORE_BY_DEFAULT:
        return "continue" if sig == S.SIGCONT else "ignore"
    if sig in S.COREDUMP_SIGNALS:
        return "core"
    return "terminate"


class Signals:
    """The kernel's signal machinery (one per Kernel)."""

    def __init__(self, kernel):
        self.kernel = kernel

    # -- sending -----------------------------------------------------------------------
    def is_ignored(self, tg, sig):
        handler = tg.handlers.get(sig)[0]
        return handler == S.SIG_IGN or (handler == S.SIG_DFL and default_action(sig) == "ignore")

    def send_to_group(self, tg, sig, info=None, prefer=None):
        """kill(2) semantics: queue ``sig`` for the process and wake a thread that can take it
        (``prefer`` if it can: the thread a CPU timer found running)."""
        if tg.exit_status is not None or tg.exiting:
            return
        if sig == 0:
            return
        info = info or make_siginfo(sig, S.SI_KERNEL)
        self._prepare(tg, sig)
        # An ignored signal is dropped, unless every thread blocks it (sigwait and signalfd may take it;
        # a thread in rt_sigtimedwait has unblocked what it waits for, but still blocks it: real_sigmask).
        if self.is_ignored(tg, sig) and sig != S.SIGCONT and \
                not all((t.sigmask | t.real_sigmask) & sigbit(sig) for t in tg.tasks if not t.exited) and \
                not any(t.ptrace for t in tg.tasks):   # a tracer sees even ignored signals
            return
        self._enqueue(tg, tg.shared_pending, sig, info)
        tg.signal_arrivals.notify(1)
        if prefer is not None and not prefer.exited and not prefer.sigmask & sigbit(sig):
            target = prefer
        else:
            target = self._pick_thread(tg, sig)
        if target is not None:
            self.kick(target)

    def send_to_task(self, task, sig, info=None):
        """tgkill(2) semantics: queue ``sig`` for one thread."""
        tg = task.tg
        if task.exited or tg.exiting or sig == 0:
            return
        info = info or make_siginfo(sig, S.SI_TKILL)
        self._prepare(tg, sig)
        if self.is_ignored(tg, sig) and sig != S.SIGCONT and not (task.sigmask | task.real_sigmask) & sigbit(sig) \
                and task.ptrace is None:
            return
        self._enqueue(tg, task.pending, sig, info)
        tg.signal_arrivals.notify(1)
        self.kick(task)

    def _enqueue(self, tg, pending, sig, info):
        queue = pending.setdefault(sig, [])
        code = _si_code(info)
        # Standard signals do not queue twice, but for a POSIX timer's, which has its own queue
        # entry (send_sigqueue): it waits behind the pending one, counting its overruns.
        if sig < S.SIGRTMIN and queue and code != S.SI_TIMER:
            return
        if len(queue) >= MAX_RT_QUEUE:
            return
        if code < 0 or sig >= S.SIGRTMIN:
            # Linux's __sigqueue_alloc: a queue entry is charged to the receiver's user and
            # refused past its RLIMIT_SIGPENDING (kill(2)'s standard signals are exempt).
            # At the default limit (MAX_RT_QUEUE) and above the per-user count is not taken (it
            # scans every process): each queue is bounded by MAX_RT_QUEUE instead.
            limit = tg.limits[RLIMIT_SIGPENDING][0]
            if limit < MAX_RT_QUEUE and self._queued_for_user(tg) >= limit:
                if sig >= S.SIGRTMIN and code != S.SI_USER:
                    raise SyscallError(EAGAIN)
                if queue:
                    return
                info = make_siginfo(sig, S.SI_USER)   # the signal arrives, its information is lost
        queue.append(info)

    def _queued_for_user(self, tg):
        """Queued signals of every process whose real uid is ``tg``'s (Linux's per-user count)."""
        uid = _real_uid(tg)
        count = 0
        for other in self.kernel.pidns.thread_groups.values():
            if _real_uid(other) != uid:
                continue
            for pend in [other.shared_pending] + [t.pending for t in other.tasks]:
                for q in pend.values():
                    count += len(q)
        return count

    def _prepare(self, tg, sig):
        """What happens at send time: SIGCONT resumes a stopped group and drops stop signals, and
        a stop signal drops a pending SIGCONT (Linux's prepare_signal)."""
        if sig == S.SIGCONT:
            for pend in [tg.shared_pending] + [t.pending for t in tg.tasks]:
                for s in S.STOP_SIGNALS:
                    pend.pop(s, None)
            for t in tg.tasks:
                t.stop_pending = False
            if tg.stopped:
                tg.stopped = False
                tg.stop_report = None
                tg.continue_report = True
                tg.continued.notify(1)
                self.notify_parent(tg, S.CLD_CONTINUED, S.SIGCONT)
        elif sig in S.STOP_SIGNALS:
            for pend in [tg.shared_pending] + [t.pending for t in tg.tasks]:
                pend.pop(S.SIGCONT, None)
        if sig == S.SIGKILL:
            # SIGKILL cannot be blocked or handled: the group dies now.
            if tg.tasks:
                self.kernel.kill_group(tg, S.SIGKILL)

    def _pick_thread(self, tg, sig):
        live = [t for t in tg.tasks if not t.exited]
        for t in live:
            if not t.sigmask & sigbit(sig):
                return t
        return None

    def kick(self, task, force=False):
        """Make ``task`` notice its pending signals soon (``force``: a tracer's PTRACE_INTERRUPT)."""
        if task.exited or not (force or self.deliverable(task)):
            return
        loop = self.kernel.loop
        if loop.interrupt(task):
            return
        if loop.on_stub(task) and not task.kicked:
            task.kicked = True
            task.ctx.interrupt()

    # -- pending ------------------------------------------------------------------------
    def deliverable(self, task):
        """Has ``task`` a signal to take, or a stop to enter (stop_pending), before it returns to user mode?"""
        pending, shared = task.pending, task.tg.shared_pending
        if not pending and not shared:   # asked after every syscall, and nearly always nothing is pending
            return task.stop_pending
        mask = ~task.sigmask | S.UNBLOCKABLE
        for pend in (pending, shared):
            for sig, q in pend.items():
                if q and sigbit(sig) & mask:
                    return True
        return task.stop_pending

    def dequeue(self, task, mask=None):
        """The next signal ``task`` can take (synchronous first, then lowest number)."""
        blocked = task.sigmask if mask is None else mask
        best = None
        # As Linux: the thread's own queue before the process's; in each, synchronous (fault)
        # signals first, then the lowest number.
        for pend in (task.pending, task.tg.shared_pending):
            for sig, q in pend.items():
                if not q or (sigbit(sig) & blocked and sig not in S.SIG_KERNEL_ONLY):
                    continue
                key = (0 if sig in S.SYNCHRONOUS_SIGNALS else 1, sig)
                if best is None or key < best[0]:
                    best = (key, pend, sig)
            if best is not None:
                break
        if best is None:
            return None, None
        _, pend, sig = best
        info = pend[sig].pop(0)
        if not pend[sig]:
            del pend[sig]
        return sig, info

    def pending_mask(self, task):
        bits = 0
        for pend in (task.pending, task.tg.shared_pending):
            for sig, q in pend.items():
                if q:
                    bits |= sigbit(sig)
        return bits

    # -- delivery -----------------------------------------------------------------------
    def force_fault(self, task, sig, info):
        """A fault in application code: if blocked or ignored, the default action is forced."""
        tg = task.tg
        handler = tg.handlers.get(sig)[0]
        if task.sigmask & sigbit(sig) or handler == S.SIG_IGN:
            tg.handlers.actions[sig] = (S.SIG_DFL, 0, 0, 0)
            task.sigmask &= ~sigbit(sig)
        if tg.handlers.get(sig)[0] == S.SIG_DFL and task.ptrace is None:
            tg.unkillable_lost = True   # force_sig_info_to_task: even a namespace's init dies of it
        task.pending.setdefault(sig, []).insert(0, info)

    def deliver(self, task, syscall_ret=None, nr=None):
        """Deliver what is pending before ``task`` returns to user mode (a generator: a stop waits).

        ``syscall_ret`` is the value the interrupted syscall returns (None after a non-syscall
        stop). Registers are written back in full when anything changed; returns True then."""
        regs = task.ctx.regs
        handled = False
        # Only a syscall restarts: after rt_sigreturn (orig_rax -1) a restart code in rax is the
        # application's data, as Linux checks syscall_get_nr() >= 0.
        restartable = regs.orig_rax < 1 << 63
        yield from self._join_group_stop(task)
        while True:
            sig, info = self.dequeue(task)
            if sig is None:
                break
            if task.ptrace is not None and sig != S.SIGKILL:
                sig, info = yield from self._traced_signal(task, sig, info, syscall_ret)
                if syscall_ret is not None:   # the stop showed the return value in rax: the tracer's word now
                    syscall_ret = to_s64(regs.rax)
                if not sig:
                    continue
            handler, flags, restorer, mask = task.tg.handlers.get(sig)
            if handler == S.SIG_IGN:
                continue
            if handler == S.SIG_DFL:
                yield from self._default_action(task, sig)   # nothing, a stop, or the group dies
                continue
            # A handler: settle the interrupted syscall first, then build the frame. Every other
            # deliverable signal gets its frame on top before we return (the last runs first).
            if syscall_ret is not None:
                if restartable:
                    syscall_ret = self._restart_for_handler(regs, syscall_ret, flags, nr)
                regs.rax = syscall_ret & (1 << 64) - 1
                syscall_ret = None
            if task.ptrace is not None:
                ptrace.entering_handler(task)
            self._setup_frame(task, sig, info, handler, flags, restorer, mask)
            handled = True
        if not handled and task.saved_sigmask is not None:
            # sigsuspend/ppoll/pselect: no handler ran, so their temporary mask ends here.
            task.sigmask = task.saved_sigmask
            task.saved_sigmask = None
        if syscall_ret is not None:
            if syscall_ret in RESTART_CODES and restartable:
                self._restart(regs, syscall_ret)
            else:
                regs.rax = syscall_ret & (1 << 64) - 1
            task.ctx.set_regs()
            return True
        if handled:
            task.ctx.set_regs()
        return handled

    def _default_action(self, task, sig):
        """A dequeued signal's default action (a generator: a stop waits)."""
        action = default_action(sig)
        if action in ("ignore", "continue"):
            return
        if sig not in S.SIG_KERNEL_ONLY and protected_init(task.tg):
            return   # get_signal: queued while blocked, still unhandled: a namespace's init drops it
        if action == "stop":
            yield from self.group_stop(task, sig)
            return
        status = self.death_status(task.tg, sig)
        if task.ptrace is not None:
            yield from ptrace.exit_event(task, status)
        self.kernel.kill_group(task.tg, sig, status)   # raises TaskExit for ``task``

    def _join_group_stop(self, task):
        """Another thread stopped the group since ``task`` last ran: it stops too; or its tracer's
        PTRACE_INTERRUPT, which may have ended a wait (pause) with nothing to deliver, traps it."""
        if task.stop_pending:
            task.stop_pending = False
            if task.tg.stopped:
                yield from self.group_stop(task, task.tg.stop_signal)
            if task.ptrace is not None and task.ptrace.interrupt:
                yield from ptrace.interrupt_stop(task)

    def _traced_signal(self, task, sig, info, syscall_ret):
        """The tracer's say on a signal (its signal-delivery-stop): (the signal to deliver, its
        siginfo), 0 if none; a replacement the Task blocks is queued again, as on Linux."""
        sig, info = yield from ptrace.signal_stop(task, sig, info, syscall_ret)
        if sig and task.sigmask & sigbit(sig) and sig not in S.SIG_KERNEL_ONLY:
            self.send_to_task(task, sig, info)
            return 0, None
        return sig, info

    @staticmethod
    def death_status(tg, sig):
        """The wait status of a process killed by ``sig``'s default action: a core-dumping signal
        sets 0x80 when RLIMIT_CORE allows a core."""
        return sig | (0x80 if default_action(sig) == "core" and tg.limits[4][0] > 0 else 0)

    @staticmethod
    def _restart(regs, ret=None):
        """Re-execute the syscall instruction (rip back over ``syscall``) with its number restored;
        ERESTART_RESTARTBLOCK's as restart_syscall, which continues the Task's restart_block."""
        regs.rax = NR_RESTART_SYSCALL if ret == -ERESTART_RESTARTBLOCK else regs.orig_rax
        regs.rip -= 2

    def _restart_for_handler(self, regs, ret, flags, nr):
        if ret == -ERESTARTNOINTR:
            self._restart(regs)
            return regs.rax
        if ret == -ERESTARTSYS and flags & S.SA_RESTART and nr not in NO_RESTART_AFTER_HANDLER:
            self._restart(regs)
            return regs.rax
        if ret in RESTART_CODES:
            return -EINTR
        return ret

    def _setup_frame(self, task, sig, info, handler, flags, restorer, mask):
        ctx, regs = task.ctx, task.ctx.regs
        xstate = ctx.get_xstate()
        fpstate = _tagged_fpstate(xstate)
        frame, fp_addr = self._place_frame(task, flags, len(fpstate))
        if frame is None:
            # The frame would overflow the alternate stack: Linux does not write past it but
            # forces SIGSEGV (force_sigsegv), as when the frame cannot be written at all.
            self._frame_fault(task, sig)
            return
        uc = frame + 8
        try:
            task.mm.copy_out(fp_addr, fpstate)
            task.mm.copy_out(frame, struct.pack("<Q", restorer if flags & S.SA_RESTORER else 0)
                             + self._ucontext(task, sig, info, fp_addr) + info)
        except SyscallError:
            self._frame_fault(task, sig)   # no room for the frame
            return
        task.saved_sigmask = None
        regs.rdi, regs.rsi, regs.rdx = sig, uc + S.UCONTEXT_SIZE, uc
        regs.rax = 0
        regs.rsp = frame
        regs.rip = handler
        regs.cs, regs.ss = USER_CS, USER_DS   # handlers run in 64-bit mode whatever was interrupted
        regs.eflags &= ~(0x100 | 0x400 | 0x10000 | 0x40000)  # TF DF RF AC
        regs.orig_rax = (1 << 64) - 1
        new_mask = task.sigmask | mask
        if not flags & S.SA_NODEFER:
            new_mask |= sigbit(sig)
        task.sigmask = new_mask & ~S.UNBLOCKABLE
        if flags & S.SA_RESETHAND:
            task.tg.handlers.actions[sig] = (S.SIG_DFL, flags, restorer, mask)  # only the handler resets
        if task.altstack[1] & S.SS_AUTODISARM:   # any frame, whichever stack it is on (save_altstack)
            task.altstack = (0, S.SS_DISABLE, 0)
        try:
            ctx.set_xstate(_init_fpstate(xstate))  # handlers start with a clean FPU, as on Linux
        except OSError:
            pass

    @staticmethod
    def _place_frame(task, flags, fp_size):
        """Where the frame and its FPU state go (get_sigframe): (frame, fpstate address), or
        (None, None) when a frame on the alternate stack would not fit in it."""
        alt_sp, alt_flags, alt_size = task.altstack
        sp = task.ctx.regs.rsp
        nested = entering = False
        if not alt_flags & S.SS_DISABLE:   # most programs have no alternate stack: none of this
            # A handler already on the alternate stack (without SS_AUTODISARM) nests on it;
            # SA_ONSTACK switches to it otherwise.
            def on_sig_stack(addr):   # Linux's on_sig_stack: never with SS_AUTODISARM
                return not alt_flags & S.SS_AUTODISARM and task.on_altstack(addr)
            nested = on_sig_stack(sp)
            entering = bool(flags & S.SA_ONSTACK and alt_size and not on_sig_stack(sp - 128))
        sp = alt_sp + alt_size if entering else sp - 128   # below the red zone
        fp_addr = (sp - fp_size) & ~63
        frame = ((fp_addr - S.RT_SIGFRAME_SIZE) & ~15) - 8
        if (nested or entering) and not alt_sp < frame <= alt_sp + alt_size:
            return None, None
        return frame, fp_addr

    def _ucontext(self, task, sig, info, fp_addr):
        """The frame's ucontext: flags, the altstack, the interrupted registers, the mask to restore."""
        regs = task.ctx.regs
        alt_sp, alt_flags, alt_size = task.altstack
        trapno, err, cr2 = self._fault_context(sig, info)
        sc = S.SIGCONTEXT.pack(*_sigcontext_regs(regs), regs.cs & 0xFFFF, 0, 0,
                               regs.ss & 0xFFFF, err, trapno, task.sigmask & 0xFFFFFFFFFFFFFFFF, cr2, fp_addr)
        # uc_stack is the altstack as set (save_altstack: sas_ss_flags, not SS_ONSTACK), restored on sigreturn.
        stack = S.STACK_T.pack(alt_sp, to_s32(alt_flags), alt_size)
        old_mask = task.saved_sigmask if task.saved_sigmask is not None else task.sigmask
        return _UC_HEAD + stack + sc + struct.pack("<Q", old_mask)

    def _frame_fault(self, task, sig):
        """A signal frame that cannot be set up (Linux's force_sigsegv): ``sig`` is dropped and
        SIGSEGV forced on the thread, whose handler may run on a stack it can write; if ``sig``
        was SIGSEGV itself, the process dies of it (raising TaskExit when ``task`` is the current
        Task, as it is while signals are delivered)."""
        if sig != S.SIGSEGV:
            self.force_fault(task, S.SIGSEGV, make_siginfo(S.SIGSEGV, S.SI_KERNEL))
            return
        task.tg.handlers.actions[S.SIGSEGV] = (S.SIG_DFL, 0, 0, 0)
        self.kernel.kill_group(task.tg, S.SIGSEGV)

    @staticmethod
    def _fault_context(sig, info):
        """(trapno, err, cr2) for the sigcontext of a hardware fault, as the CPU exception set them."""
        if sig not in S.SYNCHRONOUS_SIGNALS:   # first: most signals are not faults
            return 0, 0, 0
        code = S.SIGINFO_HEAD.unpack_from(info)[2]
        if code <= 0:
            return 0, 0, 0
        addr = S.SIGINFO_FAULT.unpack_from(info)[3]
        if sig in (S.SIGSEGV, S.SIGBUS):
            return 14, 4 | (1 if code == 2 else 0), addr      # page fault: user mode, protection?
        return {S.SIGILL: 6, S.SIGTRAP: 3, S.SIGFPE: 0}.get(sig, 0), 0, 0

    def sigreturn(self, task):
        mm, ctx, regs = task.mm, task.ctx, task.ctx.regs
        uc = regs.rsp
        try:
            raw = mm.copy_in(uc, S.UCONTEXT_SIZE)
        except SyscallError:
            return self._bad_frame(task)
        values = S.SIGCONTEXT.unpack_from(raw, S.UC_MCONTEXT_OFF)
        nregs = len(S.SIGCONTEXT_REGS)
        eflags = regs.eflags
        layout, pick = _regs_restorer(type(regs))
        layout.pack_into(regs, 0, *pick(values[:nregs] + layout.unpack_from(regs)))
        regs.eflags = (eflags & ~S.FIX_EFLAGS) | (regs.eflags & S.FIX_EFLAGS)
        cs, _, _, ss = values[nregs:nregs + 4]   # cs, gs, fs, ss: fs and gs are not restored
        fp_addr = values[nregs + 4 + 4]  # after the regs, 4 segment words, err..cr2
        # Forced to CPL 3 as Linux does, so PTRACE_SETREGS accepts them; a selector that is still
        # bad faults on return (SIGSEGV), as on Linux.
        regs.cs, regs.ss = cs | SEGMENT_RPL_USER, ss | SEGMENT_RPL_USER
        uc_flags = struct.unpack_from("<Q", raw, S.UC_FLAGS_OFF)[0]
        if not uc_flags & S.UC_STRICT_RESTORE_SS and regs.cs == USER_CS and regs.ss != USER_DS:
            regs.ss = USER_DS   # force_valid_ss: __USER_DS is the only 64-bit data segment here
        regs.orig_rax = (1 << 64) - 1
        mask = struct.unpack_from("<Q", raw, S.UC_SIGMASK_OFF)[0]
        task.sigmask = mask & ~S.UNBLOCKABLE
        alt_sp, alt_flags, alt_size = S.STACK_T.unpack_from(raw, S.UC_STACK_OFF)
        if not task.on_altstack(regs.rsp):
            task.altstack = (alt_sp, alt_flags & (S.SS_DISABLE | S.SS_AUTODISARM), alt_size) \
                if not alt_flags & S.SS_DISABLE else (0, S.SS_DISABLE, 0)
        if fp_addr:
            size = ctx.xstate_size()
            in_frame = _frame_xstate_size(size)
            try:
                image = mm.copy_in(fp_addr, in_frame)
                if struct.unpack_from("<I", image, 24)[0] & ~cpu_mxcsr_mask(ctx):
                    # Reserved MXCSR bits: XRSTOR faults natively whatever XSTATE_BV says, while
                    # the host's SETREGSET checks MXCSR only if the header marks x87/SSE/AVX in use.
                    return self._bad_frame(task)
                if in_frame < size:   # no tile data in the frame: XSTATE_BV says it is in its initial state
                    image += _NO_TILES
                ctx.set_xstate(image)
            except (SyscallError, OSError):
                return self._bad_frame(task)   # the registers and mask stay restored, as on Linux
        if regs.cs not in (USER_CS, USER32_CS) or regs.ss != USER_DS:
            # Linux's return to user mode with these selectors faults (#GP: SIGSEGV, SI_KERNEL).
            # The systrap stub returns with its own selectors, so the Sentry raises it itself.
            self.force_fault(task, S.SIGSEGV, make_siginfo(S.SIGSEGV, S.SI_KERNEL))
        ctx.set_regs()
        return regs.rax - (1 << 64) if regs.rax >= 1 << 63 else regs.rax

    def _bad_frame(self, task):
        """rt_sigreturn's badframe: SIGSEGV is forced (a handler may catch it), the call returns 0."""
        self.force_fault(task, S.SIGSEGV, make_siginfo(S.SIGSEGV, S.SI_KERNEL))
        return 0

    # -- stops and parents -------------------------------------------------------------
    def group_stop(self, task, sig):
        """Default action of a stop signal: every thread of the group stops until SIGCONT."""
        tg = task.tg
        if not tg.stopped:
            tg.stopped = True
            tg.stop_signal = sig
            tg.stop_report = (sig << 8) | 0x7F
            self.notify_parent(tg, S.CLD_STOPPED, sig)
            for t in tg.tasks:
                if t is not task and not t.exited:
                    t.stop_pending = True   # it stops on its way back to user mode (deliver)
                    self.kick(t)
        while tg.stopped and not tg.exiting:
            if task.ptrace is not None:
                if (yield from ptrace.group_stop(task, sig)):
                    return   # the tracer resumed it, group stop or not
                continue     # detached: the group may have been continued meanwhile (PTRACE_LISTEN)
            try:
                yield from task.block_on(tg.continued, 1, interruptible=False)   # only SIGCONT or SIGKILL end a stop
            except SyscallError:
                pass

    def notify_parent(self, tg, code, status):
        parent = tg.parent
        if parent is None:
            return
        if code in (S.CLD_STOPPED, S.CLD_CONTINUED):
            handler, flags, _, _ = parent.handlers.get(S.SIGCHLD)
            if not flags & S.SA_NOCLDSTOP:
                info = make_siginfo(S.SIGCHLD, code, parent.pidns.id_of(tg.tgid), 0, status=status)
                self.send_to_group(parent, S.SIGCHLD, info)
        parent.child_events.notify(1)


_MAGIC2 = struct.pack("<I", S.FP_XSTATE_MAGIC2)
_UC_HEAD = struct.pack("<QQ", S.UC_FP_XSTATE | S.UC_SIGCONTEXT_SS | S.UC_STRICT_RESTORE_SS, 0)   # uc_flags, uc_link


_NO_TILES = bytes(S.XTILEDATA_SIZE)


def _frame_xstate_size(size):
    """How much of an XSAVE image of ``size`` bytes a signal frame holds: all of it, but the AMX tile
    data, which Linux's frame leaves out for a process without AMX permission (abi/signal.py)."""
    return S.XTILEDATA_OFFSET if size == S.XTILEDATA_OFFSET + S.XTILEDATA_SIZE else size


def _tagged_fpstate(xstate):
    """The XSAVE image as the frame holds it (_frame_xstate_size), tagged the way the kernel tags
    it so glibc and debuggers can parse it (a bytearray: the frame's one copy, written out as it is)."""
    n = _frame_xstate_size(len(xstate))
    xs = bytearray(memoryview(xstate)[:n])
    xfeatures = 3
    if n >= S.XSTATE_BV_OFFSET + 8:
        xfeatures = struct.unpack_from("<Q", xs, S.XSTATE_BV_OFFSET)[0]
        if n < len(xstate):
            xfeatures &= ~(1 << S.XFEATURE_XTILEDATA)   # initial anyway: the stub may not use AMX
            struct.pack_into("<Q", xs, S.XSTATE_BV_OFFSET, xfeatures)
    xs += _MAGIC2
    S.FPX_SW_BYTES.pack_into(xs, S.FPX_SW_OFFSET, S.FP_XSTATE_MAGIC1, n + 4, xfeatures, n)
    return xs


_RESTORERS = {}   # a platform's register structure -> (its layout, the picker _regs_restorer makes)


def _regs_restorer(cls):
    """How sigreturn writes sigcontext's registers into a platform's register structure ``cls``
    (all 64-bit words, named as Linux names them) in three C calls instead of a setattr each:
    (Struct of its words, itemgetter taking, from sigcontext's values followed by the structure's
    current words, each word's new value)."""
    r = _RESTORERS.get(cls)
    if r is None:
        names = [name for name, _ in cls._fields_]
        layout = struct.Struct(f"<{len(names)}Q")
        assert ctypes.sizeof(cls) == layout.size, "register structures are 64-bit words"
        nregs = len(S.SIGCONTEXT_REGS)
        picks = [S.SIGCONTEXT_REGS.index(n) if n in S.SIGCONTEXT_REGS else nregs + i for i, n in enumerate(names)]
        r = _RESTORERS[cls] = (layout, operator.itemgetter(*picks))
    return r


def _init_fpstate(xstate):
    """An XSAVE image in the initial state: x87 control word 0x37f, MXCSR 0x1f80, everything else
    zero, and no component marked in use (XSTATE_BV 0). One per (size, MXCSR mask): a CPU's."""
    key = (len(xstate), xstate[28:32])
    init = _INIT_FPSTATE.get(key)
    if init is None:
        buf = bytearray(len(xstate))
        struct.pack_into("<H", buf, 0, 0x37F)
        struct.pack_into("<I", buf, 24, 0x1F80)
        buf[28:32] = xstate[28:32]
        init = _INIT_FPSTATE[key] = bytes(buf)
    return init


_INIT_FPSTATE = {}
_MXCSR_MASK = []   # the CPU's (FXSAVE's MXCSR_MASK), once read


def cpu_mxcsr_mask(ctx):
    """The MXCSR bits this CPU allows (rt_sigreturn's frame and a tracer's FPU state are checked
    against it): FXSAVE's MXCSR_MASK in the platform's XSAVE image of a thread, read once; 0xFFBF
    where the CPU reports 0 (Intel SDM). Bits 16-31 are reserved on every CPU: a systrap image is
    in memory the application can write, so they never pass."""
    if not _MXCSR_MASK:
        _MXCSR_MASK.append((struct.unpack_from("<I", ctx.get_xstate(), 28)[0] or 0xFFBF) & 0xFFFF)
    return _MXCSR_MASK[0]


