"""Task: one application thread, run as a coroutine of the Sentry's loop.

The coroutine waits for its stub thread to stop, serves the syscall through
the table, writes the result into rax and resumes the stub. A handler that
must block is a generator: the Task ``yield from``s it, and the loop resumes
the Task when what it waits for happens. Before every return to application
code pending signals are delivered (kernel/signals.py).
"""
import signal as host_signal
from types import GeneratorType

from snakevisor.abi import signal as S
from snakevisor.abi.errno import EFAULT, EIO, ENOSYS, ERESTARTSYS, SyscallError
from snakevisor.abi.mm import VSYSCALL_ADDR
from snakevisor.abi.prctl import DEFAULT_TIMER_SLACK_NS, PR_TSC_ENABLE
from snakevisor.abi.seccomp import SIGINFO_SYS
from snakevisor.sentry.kernel import cputime, debugregs, ptrace, seccomp, user_dispatch
from snakevisor.sentry.kernel.loop import INTERRUPTED, WAIT_STOP, Sleep, WaitFd, WaitMany, WaitQueueReq
from snakevisor.sentry.kernel.signals import RESTART_CODES, make_siginfo
from snakevisor.sentry.platform.interface import EXIT, FAULT, IGNORE, SYSCALL, StubGone
from snakevisor.sentry.kernel.syscall_table import TABLE
from snakevisor.sentry.mm import growsdown, hostmap
from snakevisor.sentry.mm.lazy import BusError
from snakevisor.sentry.vfs.waiter import HostFdWaitable


class TaskExit(Exception):
    """Raised by exit/exit_group (and fatal signals) to end a Task's coroutine."""


class Task:
    def __init__(self, kernel, tg, tid, ctx, mm, fdtable, fs, creds):
        self.kernel = kernel
        self.tg = tg
        self.tid = tid
        self.ctx = ctx
        self.mm = mm
        self.fdtable = fdtable
        self.fs = fs
        self.creds = creds
        self.ns = kernel.init_ns       # uts, ipc, mnt namespaces (kernel/namespaces.py): clone/unshare/setns replace it
        self.name = b""
        self.clear_child_tid = 0
        self.robust_list = (0, 0)
        self.sigmask = 0
        self.real_sigmask = 0   # the mask rt_sigtimedwait set aside while it sleeps (Linux's real_blocked)
        self.saved_sigmask = None      # restored after a handler runs (sigsuspend, ppoll, pselect)
        self.pending = {}              # signo -> [siginfo]
        self.altstack = (0, S.SS_DISABLE, 0)
        self.kicked = False
        self.stop_pending = False      # a group stop to join or a PTRACE_INTERRUPT trap to take (JOBCTL_*)
        self.restart_block = None      # what restart_syscall continues (a relative nanosleep's deadline)
        self.ioac = [0, 0, 0, 0]       # rchar, wchar, syscr, syscw: /proc/PID/task/TID/io (syscalls/file.py)
        self.cpu_prev = cputime.PrevCputime()   # its own times' split last given out (RUSAGE_THREAD)
        self.nvcsw = 0                 # voluntary context switches: the waits it made (_resumed)
        self.wait_token = 0
        self.cancel_wait = None
        self.exited = False
        self.vfork_parent = None       # the Task blocked in vfork until we exec or exit
        self.pdeath_signal = 0
        self.timer_slack_ns = self.default_timer_slack_ns = DEFAULT_TIMER_SLACK_NS   # prctl's, reported only
        self.loginuid = self.sessionid = None   # the audit login uid (kernel id) and session (None: unset)
        self.tsc_mode = PR_TSC_ENABLE  # PR_SET_TSC's, reported only: rdtsc is not trapped
        self.cpu_mask = None           # sched_setaffinity's answer, reported back (None: every CPU)
        self.nice = 0                  # setpriority's, a thread's own on Linux; reported only
        # (policy, rt priority, reset on fork, deadline params) of sched_setscheduler/setattr (syscalls/sched.py)
        self.sched = (0, 0, False, None)
        self.seccomp = None            # the application's seccomp mode and filters (kernel/seccomp.py)
        self.user_dispatch = None      # prctl's syscall user dispatch (kernel/user_dispatch.py)
        self.ptrace = None             # kernel/ptrace.py PtraceState while traced
        self.ptraced = []              # the PtraceStates of the Tasks we trace
        self.debugregs = None          # kernel/debugregs.py DebugRegs once a tracer or a trap set them
        self.coro = self._run()

    # -- what handlers use ------------------------------------------------
    @property
    def limits(self):
        return self.tg.limits

    def process_group_id(self):
        return self.tg.pidns.id_of(self.tg.pgid)   # as the task's PID namespace names it

    def on_altstack(self, sp):
        base, flags, size = self.altstack
        return not flags & S.SS_DISABLE and size and base < sp <= base + size

    def _interrupted(self, result):
        if result is INTERRUPTED:
            raise SyscallError(ERESTARTSYS)
        return result

    def _resumed(self):
        """Back from a wait: other Tasks ran meanwhile, so the stub thread the mm injects through is
        ours again (the one it last used may have exited since). The wait was a voluntary context
        switch, as Linux counts a task that sleeps (nvcsw: /proc/PID/status, getrusage)."""
        self.nvcsw += 1
        self.tg.nvcsw += 1
        self.kernel.context_switches += 1
        if self.mm is not None and self.ctx is not None:
            self.mm.active_context = self.ctx

    def _check_signals(self, interruptible):
        """Like Linux's interruptible sleeps, a wait does not start while a signal is deliverable:
        one that arrived as the previous wait ended (woken by its own event, say a signalfd's)
        would otherwise wait with it until the next event."""
        if interruptible and self.kernel.signals.deliverable(self):
            raise SyscallError(ERESTARTSYS)

    def block_on(self, waitable, events, timeout=None, interruptible=True):
        """Wait until ``waitable`` has one of ``events``; returns the events (0 on timeout).

        A signal cuts the wait short with ERESTARTSYS; the dispatcher turns that into
        a restart or EINTR as Linux does. ``interruptible`` False: a signal already pending
        does not prevent the wait (vfork's parent; a signal sent during it still ends it)."""
        self._check_signals(interruptible)
        deadline = None if timeout is None else self.kernel.monotonic() + timeout
        if isinstance(waitable, HostFdWaitable):
            result = yield WaitFd(waitable.fd, events, deadline)
        else:
            result = yield WaitQueueReq(waitable, events, deadline)
        self._resumed()
        return self._interrupted(result)

    def block_on_many(self, items, timeout=None):
        """Wait until any (waitable, events) in ``items`` fires; returns its events (0 on timeout).

        With no items this is a plain sleep (poll with no descriptors)."""
        self._check_signals(True)
        deadline = None if timeout is None else self.kernel.monotonic() + timeout
        reqs = [(True, w.fd, ev) if isinstance(w, HostFdWaitable) else (False, w, ev)
                for w, ev in items if w is not None]
        if not reqs and deadline is not None:
            result = yield Sleep(deadline)
        else:
            result = yield WaitMany(reqs, deadline)
        self._resumed()
        return self._interrupted(result) or 0

    def sleep_until(self, deadline):
        """Sleep until monotonic ``deadline``; ERESTARTSYS if a signal interrupts."""
        self._check_signals(True)
        result = yield Sleep(deadline)
        self._resumed()
        self._interrupted(result)

    def signal_pending(self):
        return self.kernel.signals.deliverable(self)

    # -- the coroutine ----------------------------------------------------
    def _run(self):
        kernel = self.kernel
        entries = TABLE.entries
        signals = kernel.signals
        try:
            if self.ptrace is not None:   # auto-attached: its first stop comes before it runs
                yield from ptrace.first_stop(self)
                self.ctx.resume()
            while True:
                report = yield WAIT_STOP
                self.kicked = False
                ctx = self.ctx
                kind, value = ctx.event(report)
                if kind == SYSCALL:
                    regs = ctx.get_regs()
                    self.mm.active_context = ctx
                    nr = regs.orig_rax
                    if self.ptrace is not None:
                        nr = yield from ptrace.syscall_enter(self, regs)
                    entry = entries.get(nr)
                    if self.seccomp is not None or self.user_dispatch is not None:   # the application's say
                        entry = self._filtered(regs, entry)
                    if entry is None or entry.handler is None:
                        ret = self._no_handler(nr, regs)
                    else:
                        args = (regs.rdi, regs.rsi, regs.rdx, regs.r10, regs.r8, regs.r9)[:entry.nargs]
                        strace = kernel.strace
                        before = strace.enter(self, entry, args) if strace else None
                        try:
                            ret = entry.handler(self, *args)
                            if ret.__class__ is GeneratorType:   # a blocking handler, or a plain one that must wait
                                ret = yield from ret
                        except SyscallError as e:
                            ret = -e.errno
                        except (TaskExit, StubGone, GeneratorExit):
                            raise
                        except Exception:  # a Sentry bug: report it, keep the sandbox up
                            kernel.internal_error(self, entry)
                            ret = -EIO
                        ret = 0 if ret is None else ret
                        if self.mm.host_bounces: hostmap.flush(self.mm)   # (what host calls wrote to host file pages)
                        if strace:
                            strace.exit(self, entry, args, before, ret)
                    if self.ptrace is not None:
                        ret = yield from ptrace.syscall_exit(self, nr, ret)
                    ctx = self.ctx  # execve gives the Task a new stub thread
                    if ret == -EFAULT: ret = self._vsyscall_fault(ctx, ret)   # (rare: one line keeps _run short)
                    if ret in RESTART_CODES or signals.deliverable(self):
                        yield from signals.deliver(self, ret, nr)
                    else:
                        ctx.set_return(ret)
                    ctx.resume()
                else:
                    yield from self._on_other_stop(kind, value)
        except TaskExit:
            pass
        except StubGone as gone:
            kernel.stub_died(self, gone.status)
        finally:
            self.exited = True

    def _vsyscall_fault(self, ctx, ret):
        """EFAULT from a legacy vsyscall (the host kernel emulates one by seccomp's SIGSYS, its
        ``ret`` already done): Linux's emulate_vsyscall raises SIGSEGV instead (SI_KERNEL), the
        registers as at the vsyscall's entry, rax -ENOSYS. Returns what rax gets."""
        signo, _, _, call_addr = SIGINFO_SYS.unpack_from(ctx.get_siginfo())[:4]
        if signo != S.SIGSYS or call_addr & ~0xFFF != VSYSCALL_ADDR:
            return ret
        regs = ctx.regs
        regs.rip, regs.rsp = call_addr, (regs.rsp - 8) & (1 << 64) - 1   # the emulated ret, undone
        self.kernel.signals.force_fault(self, S.SIGSEGV, make_siginfo(S.SIGSEGV, S.SI_KERNEL))
        return -ENOSYS

    def _filtered(self, regs, entry):
        """Syscall user dispatch's, then the application's seccomp filters' say on the call,
        after ptrace as Linux: a call a tracer's PTRACE_SYSEMU skips never reaches them."""
        if self.ptrace is not None and self.ptrace.sysemu:
            return entry
        if self.user_dispatch is not None:
            handler = user_dispatch.intercepts(self, regs)
            if handler is not None:
                return seccomp.verdict(entry, regs.orig_rax, handler)
        if self.seccomp is None:
            return entry
        return seccomp.syscall_entry(self, regs, entry)

    def _no_handler(self, nr, regs):
        if nr == ptrace.SKIPPED:
            return ptrace.skipped_return(regs)   # the tracer skipped the call
        self.kernel.unimplemented(nr)
        return -ENOSYS

    def _on_other_stop(self, kind, sig):
        """A stop that is not a syscall: a fault or a host signal, or our own kick (SIGURG)."""
        ctx = self.ctx
        if kind == EXIT:
            self.kernel.stub_died(self, sig)
            raise TaskExit()
        if kind == IGNORE:  # a platform-internal stop: just continue
            ctx.resume()
            return
        ctx.get_regs()
        self.mm.active_context = ctx
        if kind == FAULT:
            info = ctx.get_siginfo()
            if sig == S.SIGSEGV:
                code, addr = S.SIGINFO_FAULT.unpack_from(info)[2:]
                try:
                    ours = self.mm.handle_fault(addr, code, ctx.regs.rip) or growsdown.grow(self, addr, code)
                except BusError:   # file pages that cannot be had (a full tmpfs): SIGBUS
                    ours, sig = False, S.SIGBUS
                except SyscallError:
                    # No memory left under the sandbox's limit for a copy-on-write page: Linux's
                    # memory cgroup has its OOM killer end a process (SIGKILL); this is the one.
                    self.kernel.log_rate_limited("oom", f"out of memory for a copy-on-write page or a file's page in pid "
                                                        f"{self.tg.tgid}: the process is killed (SIGKILL)")
                    self.kernel.kill_group(self.tg, S.SIGKILL)
                if ours:
                    ctx.resume()  # a copy-on-write fault, not the application's
                    return
                past_eof = sig == S.SIGBUS or self.mm.fault_past_eof(addr)
                if past_eof is None:
                    ctx.resume()  # the file grew: its pages are mapped now
                    return
                if past_eof:
                    sig, info = S.SIGBUS, S.SIGINFO_FAULT.pack(S.SIGBUS, 0, S.BUS_ADRERR, addr).ljust(128, b"\0")
                elif code == S.SEGV_MAPERR and self.mm.vmas.find(addr) is not None:
                    # mapped, but not in the stub (a PROT_NONE reservation): Linux says ACCERR there
                    info = S.SIGINFO_FAULT.pack(S.SIGSEGV, 0, S.SEGV_ACCERR, addr).ljust(128, b"\0")
            elif sig == S.SIGTRAP:
                debugregs.on_trap(self, info)   # DR6 after a single step or a hardware breakpoint
            self.kernel.signals.force_fault(self, sig, info)
        elif sig not in (host_signal.SIGURG, host_signal.SIGSTOP, host_signal.SIGCHLD, host_signal.SIGWINCH):
            # Any other host signal reaching a stub (SIGXCPU, SIGXFSZ...) is the application's.
            self.kernel.signals.send_to_task(self, sig, make_siginfo(sig, S.SI_KERNEL))
        if self.ptrace is not None and self.ptrace.interrupt:
            yield from ptrace.interrupt_stop(self)
        if self.kernel.signals.deliverable(self):
            yield from self.kernel.signals.deliver(self)
        ctx.resume()
