"""ptrace(2) inside the sandbox: tracer and tracee are both Tasks (gVisor's kernel/ptrace.go).

Nothing here reaches the host's ptrace. A tracee's *ptrace-stop* is a wait of its coroutine, like
a group stop: at the points Linux stops a tracee (syscall entry and exit, the delivery of a
signal, an event such as fork or exec, a group stop, a new child's first stop) the Task records
a wait status in its ``PtraceState`` and blocks on the state's queue until its tracer resumes it
(PTRACE_CONT, PTRACE_SYSCALL, ...), detaches it, or it is killed (SIGKILL ends the coroutine like
any other wait). Meanwhile its stub thread stays stopped, so the tracer reads and writes the
registers the Task holds (``ctx.regs``; a change is written to the stub at once) and its memory
through the MemoryManager.

The tracer collects the reports through wait4/waitid (syscalls/wait.py asks ``wait_reports``),
also for tracees that are not its children. The requests themselves are syscalls/ptrace.py.
"""

from snakevisor.abi import ptrace as P
from snakevisor.abi import sched as C
from snakevisor.abi import signal as S
from snakevisor.abi.errno import ENOSYS, EPERM, ESRCH, SyscallError
from snakevisor.abi.syscall_numbers import SYSCALL_NUMBERS
from snakevisor.sentry.kernel.creds import may_ptrace
from snakevisor.sentry.vfs.waiter import WaitQueue

EXEC_NRS = frozenset(SYSCALL_NUMBERS[n] for n in ("execve", "execveat"))
EXIT_NRS = frozenset(SYSCALL_NUMBERS[n] for n in ("exit", "exit_group"))
_EXIT_GROUP = SYSCALL_NUMBERS["exit_group"]
SYSCALL_REQUESTS = frozenset((P.PTRACE_SYSCALL, P.PTRACE_SYSEMU, P.PTRACE_SYSEMU_SINGLESTEP))
SYSEMU_REQUESTS = frozenset((P.PTRACE_SYSEMU, P.PTRACE_SYSEMU_SINGLESTEP))
STEP_REQUESTS = frozenset((P.PTRACE_SINGLESTEP, P.PTRACE_SYSEMU_SINGLESTEP))
TF = 0x100   # eflags' trap flag: the CPU traps (SIGTRAP) after one instruction
TRAP_BRKPT = 1
MASK64 = (1 << 64) - 1
SKIPPED = -1   # syscall_enter's answer for a call the tracer skips (no application number is negative)

# What a stop is (the kind decides GETSIGINFO's and GET_SYSCALL_INFO's answers).
SIGNAL_STOP, SYSCALL_ENTER, SYSCALL_EXIT, EVENT_STOP, GROUP_STOP = range(5)


class PtraceState:
    """One tracee's side of the relation (Task.ptrace); the tracer lists these (Task.ptraced)."""

    def __init__(self, task, tracer, seized, options=0):
        self.task = task
        self.tracer = tracer
        self.seized = seized
        self.options = options
        self.stopped = False          # in a ptrace-stop: the tracer may make requests
        self.report = None            # wait status the tracer has not collected yet
        self.kind = None              # of the current stop
        self.resume = None            # (request, signal) the tracer ended the stop with
        self.mode = P.PTRACE_CONT     # the last resuming request: SYSCALL/SYSEMU stop at syscalls
        self.siginfo = None           # the current stop's siginfo (None in a group stop)
        self.event_msg = 0
        self.exit_status = None       # the tracee has exited: a report the tracer still collects
        self.interrupt = False        # PTRACE_INTERRUPT asked for a stop
        self.sysemu = False           # this syscall was stopped at by PTRACE_SYSEMU: not run
        self.clone_event = 0          # PTRACE_EVENT_* the clone being served stops for
        self.stepping = False         # PTRACE_SINGLESTEP set TF in the tracee's eflags
        self.step_syscall = False     # the stepped instruction is a syscall: trap after it
        self.wake = WaitQueue()


def _wait_status(sig, event=0):
    return ((event << 8 | sig) << 8) | 0x7F


def _kill_info(sig, code, pid, uid):
    return S.SIGINFO_KILL.pack(sig, 0, code, pid, uid).ljust(S.SIGINFO_SIZE, b"\0")


def _trap_info(task, sig, event=0):
    """The siginfo Linux's ptrace_stop gives syscall and event stops: si_code is the exit code."""
    return _kill_info(sig, sig | event << 8, task.tid, task.creds.uid)


# -- the stops ------------------------------------------------------------------------------------
def stop(task, kind, status, info=None, msg=None):
    """Enter a ptrace-stop reporting wait status ``status``; returns the (request, signal) that
    ended it ((PTRACE_DETACH, sig) when the tracer detached). PTRACE_LISTEN keeps it stopped until
    its group stop ends, then it traps again (PTRACE_EVENT_STOP, SIGTRAP)."""
    st = task.ptrace
    while True:
        request = yield from _stop_once(task, st, kind, status, info, msg)
        if request[0] != P.PTRACE_LISTEN or task.ptrace is not st:
            return request
        tg = task.tg
        while tg.stopped and not tg.exiting and not st.interrupt:
            try:
                yield from task.block_on(tg.continued, 1, interruptible=False)
            except SyscallError:
                pass
        st.interrupt = False
        kind, status, info, msg = EVENT_STOP, _wait_status(S.SIGTRAP, P.PTRACE_EVENT_STOP), \
            _trap_info(task, S.SIGTRAP, P.PTRACE_EVENT_STOP), None


def _stop_once(task, st, kind, status, info, msg):
    _end_step(task, st)
    st.stopped, st.report, st.kind, st.resume = True, status, kind, None
    st.siginfo = info
    if msg is not None:
        st.event_msg = msg
    _notify_tracer(task, st, status)
    try:
        while st.resume is None and not task.tg.exiting:
            try:
                yield from task.block_on(st.wake, 1, interruptible=False)
            except SyscallError:
                pass   # a signal arrived: it waits until the tracer resumes us
    finally:
        st.stopped = False
        st.report = None
    if st.resume is not None and st.resume[0] in STEP_REQUESTS and task.ptrace is st:
        if kind == SYSCALL_ENTER:
            st.step_syscall = True   # Linux traps once the syscall is done
        else:
            _start_step(task, st)
    return st.resume or (P.PTRACE_CONT, 0)


def _start_step(task, st):
    """Single-stepping is the CPU's: TF in eflags makes the next instruction trap (a SIGTRAP fault
    the Task reports as a signal-delivery-stop). Set as the tracee leaves its stop."""
    regs = task.ctx.regs
    regs.eflags |= TF
    task.ctx.set_regs()
    st.stepping = True


def _end_step(task, st):
    if st.stepping:
        st.stepping = False
        regs = task.ctx.regs
        regs.eflags &= ~TF
        task.ctx.set_regs()


def entering_handler(task):
    """A signal handler's frame is about to be set up while the tracer single-steps: as on Linux,
    the frame does not keep the tracer's TF, and the tracee traps at the handler's first
    instruction (the SIGTRAP queued here is delivered right after the frame)."""
    st = task.ptrace
    if st.stepping:
        st.stepping = False
        task.ctx.regs.eflags &= ~TF
        task.kernel.signals.send_to_task(task, S.SIGTRAP, _kill_info(S.SIGTRAP, TRAP_BRKPT, 0, 0))


def _notify_tracer(task, st, status):
    tracer_tg = st.tracer.tg
    handler, flags, _, _ = tracer_tg.handlers.get(S.SIGCHLD)
    if handler != S.SIG_IGN and not flags & S.SA_NOCLDSTOP:
        info = S.SIGINFO_CHLD.pack(S.SIGCHLD, 0, S.CLD_TRAPPED, task.tid, task.creds.uid, status >> 8 & 0xFF,
                                   0, 0).ljust(S.SIGINFO_SIZE, b"\0")
        task.kernel.signals.send_to_group(tracer_tg, S.SIGCHLD, info)
    tracer_tg.child_events.notify(1)


def event_stop(task, event, msg):
    """A PTRACE_EVENT_* stop (the caller checked the tracer asked for it); GETEVENTMSG gives ``msg``."""
    status = _wait_status(S.SIGTRAP, event)
    yield from stop(task, EVENT_STOP, status, _trap_info(task, S.SIGTRAP, event), msg)


def first_stop(task):
    """A new auto-attached Task's first stop, before it runs: PTRACE_EVENT_STOP under SEIZE, else
    the delivery of the SIGSTOP queued for it."""
    st = task.ptrace
    if st.seized:
        yield from event_stop(task, P.PTRACE_EVENT_STOP, 0)
    elif task.kernel.signals.deliverable(task):
        yield from task.kernel.signals.deliver(task)


def syscall_enter(task, regs):
    """The syscall-enter stop; returns the syscall number to run (the tracer may change it, or
    skip the call with an invalid one: rax is then the result)."""
    st = task.ptrace
    nr = regs.orig_rax
    st.sysemu = False
    if st.stepping:   # stepping onto a syscall: no TF while the Sentry serves it, a trap after it
        _end_step(task, st)
        st.step_syscall = True
    if st.mode in SYSCALL_REQUESTS:
        regs.rax = -ENOSYS & MASK64   # what Linux shows at syscall entry
        st.sysemu = st.mode in SYSEMU_REQUESTS
        yield from _syscall_stop(task, SYSCALL_ENTER, P.EVENTMSG_SYSCALL_ENTRY)
        nr = regs.orig_rax
        if st.sysemu or nr == MASK64:
            return SKIPPED   # PTRACE_SYSEMU (no exit stop either), or the tracer's -1: not run
    if nr in EXIT_NRS:
        status = (regs.rdi & 0xFF) << 8
        if nr == _EXIT_GROUP and task.tg.group_exit_status is None:
            # As do_group_exit sets SIGNAL_GROUP_EXIT before the exit event: a thread collected
            # from now on reports the group's code (wait_reports), whenever it ended.
            task.tg.group_exit_status = status
        yield from exit_event(task, status)
    return nr


def exit_event(task, status):
    """PTRACE_EVENT_EXIT as the Task is about to exit (exit, exit_group, a fatal signal) with wait
    status ``status`` (GETEVENTMSG gives it), if the tracer asked for it."""
    st = task.ptrace
    if st is not None and st.options & P.PTRACE_O_TRACEEXIT:
        yield from event_stop(task, P.PTRACE_EVENT_EXIT, status)


def skipped_return(regs):
    """The result of a syscall the tracer skipped (SKIPPED): whatever rax holds, even once the
    tracer has detached."""
    return regs.rax - (1 << 64) if regs.rax >= 1 << 63 else regs.rax


def syscall_exit(task, nr, ret):
    """The exec event (or SIGTRAP) after a successful execve, then the syscall-exit stop; returns
    the syscall's result, which the tracer may have changed."""
    st = task.ptrace
    if nr in EXEC_NRS and ret == 0:
        if st.options & P.PTRACE_O_TRACEEXEC:
            yield from event_stop(task, P.PTRACE_EVENT_EXEC, task.tid)
        elif not st.seized:   # the old way of seeing an exec: a SIGTRAP after it
            task.kernel.signals.send_to_task(task, S.SIGTRAP, _kill_info(S.SIGTRAP, S.SI_USER, 0, 0))
    st = task.ptrace
    if st is None:
        return ret
    regs = task.ctx.regs
    if st.mode in SYSCALL_REQUESTS and not st.sysemu:
        regs.rax = ret & MASK64
        yield from _syscall_stop(task, SYSCALL_EXIT, P.EVENTMSG_SYSCALL_EXIT)
        ret = skipped_return(regs)   # the tracer may have changed it (its writes are immediate)
    if st.interrupt and task.ptrace is st:
        yield from interrupt_stop(task)
    if st.step_syscall:
        st.step_syscall = False
        task.kernel.signals.send_to_task(task, S.SIGTRAP, _kill_info(S.SIGTRAP, TRAP_BRKPT, 0, 0))
    return ret


def _syscall_stop(task, kind, which):
    st = task.ptrace
    sig = S.SIGTRAP | (0x80 if st.options & P.PTRACE_O_TRACESYSGOOD else 0)
    return (yield from stop(task, kind, _wait_status(sig), _trap_info(task, sig), which))


def interrupt_stop(task):
    """PTRACE_INTERRUPT's stop: PTRACE_EVENT_STOP with SIGTRAP at the next way back to user mode."""
    task.ptrace.interrupt = False
    yield from event_stop(task, P.PTRACE_EVENT_STOP, 0)


def signal_stop(task, sig, info, syscall_ret=None):
    """The signal-delivery-stop: the tracer sees ``sig`` and decides what is delivered (the signal
    of its resuming request; 0 suppresses it). Returns (sig, info), sig 0 for none."""
    st = task.ptrace
    regs = task.ctx.regs
    if syscall_ret is not None:
        regs.rax = syscall_ret & MASK64   # what the tracer sees while the syscall is interrupted
    st.siginfo = info
    _, new = yield from stop(task, SIGNAL_STOP, _wait_status(sig), info)
    info = st.siginfo if task.ptrace is st else info   # PTRACE_SETSIGINFO may have replaced it
    if new and new != sig:
        info = _kill_info(new, S.SI_USER, st.tracer.tg.tgid, st.tracer.creds.uid)
    return new, info


def group_stop(task, sig):
    """A traced Task in a group stop: a ptrace-stop the tracer ends (PTRACE_EVENT_STOP under SEIZE,
    whose siginfo names the stop signal). Returns False if it was detached (the caller goes back
    to the plain group stop)."""
    st = task.ptrace
    if st.seized:
        yield from stop(task, GROUP_STOP, _wait_status(sig, P.PTRACE_EVENT_STOP),
                        _trap_info(task, sig, P.PTRACE_EVENT_STOP))
    else:
        yield from stop(task, GROUP_STOP, _wait_status(sig))
    return task.ptrace is st


# -- attaching and detaching ----------------------------------------------------------------------
def attach(tracer, tracee, seized, options=0):
    """Make ``tracer`` trace ``tracee`` (the checks done by the caller)."""
    st = PtraceState(tracee, tracer, seized, options)
    tracee.ptrace = st
    tracer.ptraced.append(st)
    return st


def check_attach(tracer, tracee):
    """PTRACE_ATTACH/SEIZE's refusals (ptrace_attach): EPERM for our own process, a Task already
    traced or exiting, or one the access rule (kernel/creds.py may_ptrace) denies."""
    if tracee is None or tracee.exited:
        raise SyscallError(ESRCH)
    if tracee.tg is tracer.tg or tracee.ptrace is not None or tracee.tg.exiting or \
            not may_ptrace(tracer, tracee):
        raise SyscallError(EPERM)


def traceme(task):
    """PTRACE_TRACEME: the parent thread (the one that forked us, or the one that took us on
    when it exited) becomes the tracer."""
    parent, tracer = task.tg.parent, task.tg.parent_task
    if parent is not None and (tracer is None or tracer.exited or tracer.tg is not parent):
        tracer = next((t for t in parent.tasks if not t.exited), None)
    if task.ptrace is not None or tracer is None:
        raise SyscallError(EPERM)
    if tracer.creds.landlock is not None and not tracer.creds.landlock.may_reach(task.creds.landlock):
        raise SyscallError(EPERM)   # Landlock: the tracer's domain must contain ours
    attach(tracer, task, False)


def wake_stopped(task):
    """A Task in a group stop re-checks its state (it has just been attached: it traps)."""
    if task.tg.stopped:
        task.kernel.loop.interrupt(task)


def resume(st, request, sig):
    st.resume = (request, sig)
    if request != P.PTRACE_LISTEN:
        st.mode = request
    st.wake.notify(1)


def detach(st, sig=0):
    """End the relation; a stopped tracee resumes (with ``sig`` from a signal-delivery-stop)."""
    tracee = st.task
    _unlink(st)
    if st.stopped:
        if st.kind != SIGNAL_STOP and sig:
            tracee.kernel.signals.send_to_task(tracee, sig)
        resume(st, P.PTRACE_DETACH, sig if st.kind == SIGNAL_STOP else 0)
        st.mode = P.PTRACE_CONT


def on_clone(parent, child, flags, exit_signal):
    """Before a new Task starts: with the matching PTRACE_O_TRACE* option (or CLONE_PTRACE) it is
    traced by the parent's tracer, and starts in a stop. The parent's event stop comes after."""
    st = parent.ptrace
    st.clone_event = 0
    if flags & C.CLONE_UNTRACED:
        return
    if flags & C.CLONE_VFORK:
        event, option = P.PTRACE_EVENT_VFORK, P.PTRACE_O_TRACEVFORK
    elif exit_signal != S.SIGCHLD or flags & C.CLONE_THREAD:
        event, option = P.PTRACE_EVENT_CLONE, P.PTRACE_O_TRACECLONE
    else:
        event, option = P.PTRACE_EVENT_FORK, P.PTRACE_O_TRACEFORK
    if not st.options & option and not flags & C.CLONE_PTRACE:
        return
    attach(st.tracer, child, st.seized, st.options)
    if not st.seized:
        child.pending.setdefault(S.SIGSTOP, []).append(_kill_info(S.SIGSTOP, S.SI_USER, 0, 0))
    st.clone_event = event if st.options & option else 0


def clone_event(task, child_tid):
    """The parent's PTRACE_EVENT_FORK/VFORK/CLONE stop (GETEVENTMSG: the new tid)."""
    event, task.ptrace.clone_event = task.ptrace.clone_event, 0
    if event:
        yield from event_stop(task, event, task.ptrace.tracer.tg.pidns.id_of(child_tid))


def vfork_done(task, child_tid):
    st = task.ptrace
    if st is not None and st.options & P.PTRACE_O_TRACEVFORKDONE:
        yield from event_stop(task, P.PTRACE_EVENT_VFORK_DONE, st.tracer.tg.pidns.id_of(child_tid))


def task_exited(task, status):
    """A Task is torn down: as a tracee its exit is reported to the tracer first (unless the
    tracer is the parent collecting it as a child anyway); as a tracer its tracees are detached,
    or killed under PTRACE_O_EXITKILL."""
    st = task.ptrace
    if st is not None:
        st.stopped = False
        if task is task.tg.leader and task.tg.parent is st.tracer.tg:
            # The tracer is the parent: it reaps the one zombie as its child, a tracee still in
            # that it is waitable whatever __WCLONE says (Linux 4.7's eligible_child).
            task.tg.exit_tracer = st.tracer.tg
            _unlink(st)
        else:
            tg = task.tg
            st.exit_status = tg.group_exit_status if tg.group_exit_status is not None else status
            code, sig = (S.CLD_EXITED, st.exit_status >> 8 & 0xFF) if st.exit_status & 0x7F == 0 else \
                (S.CLD_KILLED, st.exit_status & 0x7F)
            info = S.SIGINFO_CHLD.pack(S.SIGCHLD, 0, code, task.tid, task.creds.uid, sig, 0, 0)
            task.kernel.signals.send_to_group(st.tracer.tg, S.SIGCHLD, info.ljust(S.SIGINFO_SIZE, b"\0"))
            st.tracer.tg.child_events.notify(1)
    for other in list(task.ptraced):
        if other.exit_status is not None:
            _collected(other)
        elif other.options & P.PTRACE_O_EXITKILL:
            _unlink(other)
            task.kernel.signals.send_to_group(other.task.tg, S.SIGKILL)
        else:
            detach(other)


def _unlink(st):
    if st in st.tracer.ptraced:
        st.tracer.ptraced.remove(st)
    if st.task.ptrace is st:
        st.task.ptrace = None


def _collected(st):
    """The tracer has the tracee's exit (or went away): the real parent may hear of it now."""
    _unlink(st)
    tg = st.task.tg
    if st.task is tg.leader and tg.exit_status is not None and tg.parent is not None:
        tg.kernel.notify_parent_exit(tg)


def exit_held(tg):
    """Is ``tg``'s exit still the tracer's to collect before its parent sees it?"""
    leader = tg.leader
    st = leader.ptrace if leader is not None else None
    return st is not None and st.exit_status is not None and st in st.tracer.ptraced


# -- waiting --------------------------------------------------------------------------------------
def _eligible(st, kind, ident):
    task = st.task
    if kind == C.P_PID and task.tid != ident:
        return False
    if kind == C.P_PGID and task.tg.pgid != ident:
        return False
    if kind == C.P_PIDFD and (task.tg is not ident or task is not task.tg.leader):
        return False
    return True   # __WCLONE does not matter for tracees (Linux 4.7's eligible_child)


def wait_reports(t, kind, ident, options):
    """(any tracee eligible, (pid, status, code, group, consume) of one with a report or None)."""
    tracers = [t] if options & C.WNOTHREAD else t.tg.tasks
    any_eligible = False
    for tracer in tracers:
        for st in tracer.ptraced:
            if not _eligible(st, kind, ident):
                continue
            any_eligible = True
            if st.exit_status is not None and options & C.WEXITED:
                # Linux's wait_task_zombie: once the group has exited, its code, whenever the
                # thread ended (a thread that returned before exit_group is collected with it).
                group = st.task.tg.group_exit_status
                status = group if group is not None else st.exit_status
                code = S.CLD_EXITED if status & 0x7F == 0 else (S.CLD_DUMPED if status & 0x80 else S.CLD_KILLED)
                return True, (st.task.tid, status, code, st.task.tg, lambda st=st: _collected(st))
            if st.report is not None and st.stopped:
                def consume(st=st):
                    st.report = None
                return True, (st.task.tid, st.report, S.CLD_TRAPPED, st.task.tg, consume)
    return any_eligible, None


def traced_by(tg, tracer_tg):
    """Is ``tg``'s leader traced by a thread of ``tracer_tg`` (its stops are then ptrace reports)?"""
    leader = tg.leader
    return leader is not None and leader.ptrace is not None and leader.ptrace.tracer.tg is tracer_tg


def tracer_tid(task):
    """/proc/PID/status's TracerPid."""
    st = task.ptrace
    return st.tracer.tid if st is not None and st.exit_status is None else 0


def tracing_stop(task):
    st = task.ptrace
    return st is not None and st.stopped
