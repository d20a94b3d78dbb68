"""Waiting for children: wait4 and waitid (zombies, stops, continues), with rusage; a tracer also
collects its tracees' ptrace-stops and exits (kernel/ptrace.py wait_reports)."""
import struct

from snakevisor.abi import resource as R
from snakevisor.abi import sched as C
from snakevisor.abi import signal as S
from snakevisor.abi.errno import EAGAIN, EBADF, ECHILD, EINVAL, ERESTARTSYS, ESRCH, SyscallError
from snakevisor.abi.fs import O_NONBLOCK, to_s32
from snakevisor.sentry.kernel import cputime, ptrace
from snakevisor.sentry.fsimpl.pidfd import pidfd_group, pidfd_thread


def _matches(t, child, kind, ident, options):
    if kind == C.P_PID and child.tgid != ident:
        return False
    if kind == C.P_PGID and child.pgid != ident:
        return False
    if kind == C.P_PIDFD and child is not ident:
        return False
    if options & C.WNOTHREAD and child.parent_task is not t:
        return False   # __WNOTHREAD: the children this thread made, not its siblings'
    # __WCLONE waits only for children that do not send SIGCHLD; __WALL for all; a tracee of ours
    # (here: one that exited while we traced it) whatever the flags.
    if not options & C.WALL and child.exit_tracer is not t.tg:
        clone_child = child.exit_signal != S.SIGCHLD
        if bool(options & C.WCLONE) != clone_child:
            return False
    return True


def _find(t, kind, ident, options):
    """(pid, wait status, code, child ThreadGroup, consume) of a child or tracee with something to
    report, or Nones; raise ECHILD if there is no child or tracee to wait for."""
    tracees, report = ptrace.wait_reports(t, kind, ident, options)
    if report is not None:
        return report
    # A zombie counts only for a wait that reports exits: without WEXITED it is nothing to
    # wait for (wait_task_zombie), and with nothing else that is ECHILD, not a wait forever.
    children = [c for c in t.tg.children if _matches(t, c, kind, ident, options)
                and (options & C.WEXITED or not c.is_zombie)]
    if not children and not tracees:
        raise SyscallError(ECHILD)
    for c in children:
        if c.is_zombie and options & C.WEXITED and not ptrace.exit_held(c):
            st = c.exit_status
            code = S.CLD_EXITED if st & 0x7F == 0 else (S.CLD_DUMPED if st & 0x80 else S.CLD_KILLED)
            return c.tgid, st, code, c, None
        if ptrace.traced_by(c, t.tg):
            continue   # its stops are ptrace-stops, reported above
        if c.stop_report is not None and options & C.WSTOPPED and c.exit_status is None:
            return c.tgid, c.stop_report, S.CLD_STOPPED, c, None
        if c.continue_report and options & C.WCONTINUED and c.exit_status is None:
            return c.tgid, 0xFFFF, S.CLD_CONTINUED, c, None
    return None, None, None, None, None


def _wait(t, kind, ident, options):
    # As Linux's do_wait: a wake-up, even by a signal, looks at the children again first, so a
    # child auto-reaped (SA_NOCLDWAIT) while its SIGCHLD interrupts the wait gives ECHILD, not EINTR.
    interrupted = False
    while True:
        found = _find(t, kind, ident, options)
        if found[0] is not None:
            return found
        if options & C.WNOHANG:
            return found
        if interrupted:
            raise SyscallError(ERESTARTSYS)
        try:
            yield from t.block_on(t.tg.child_events, 1)
        except SyscallError as e:
            if e.errno != ERESTARTSYS:
                raise
            interrupted = True


def _consume(t, child, code, options, consume):
    if options & C.WNOWAIT:
        return
    if consume is not None:
        consume()   # a tracee's report
    elif code in (S.CLD_EXITED, S.CLD_KILLED, S.CLD_DUMPED):
        cputime.child_reaped(t.tg, child)
        t.kernel.reap(child)
    elif code == S.CLD_STOPPED:
        child.stop_report = None
    else:
        child.continue_report = False


def _write_rusage(t, addr, child):
    """The reaped child's usage, its own reaped children's included (Linux's RUSAGE_BOTH)."""
    if addr:
        user, system = cputime.group_times(child) if child is not None else (0.0, 0.0)
        maxrss = nvcsw = 0
        if child is not None:
            user, system = user + child.children_cpu[0], system + child.children_cpu[1]
            maxrss = max(child.maxrss, child.children_maxrss) >> 10
            nvcsw = child.nvcsw + child.children_nvcsw
        t.mm.copy_out(addr, R.pack_rusage(user, system, maxrss, nvcsw))


def wait4(t, pid, status_ptr, options, rusage):
    pid = to_s32(pid)
    if options & ~(C.WNOHANG | C.WUNTRACED | C.WCONTINUED | C.WNOTHREAD | C.WALL | C.WCLONE):
        raise SyscallError(EINVAL)
    if pid == -(1 << 31):
        raise SyscallError(ESRCH)  # -INT_MIN cannot name a group
    if pid > 0:
        kind, ident = C.P_PID, t.tg.pidns.global_id(pid)
    elif pid == 0:
        kind, ident = C.P_PGID, t.tg.pgid
    elif pid == -1:
        kind, ident = C.P_ALL, 0
    else:
        kind, ident = C.P_PGID, t.tg.pidns.global_id(-pid)
    pid, status, code, child, consume = yield from _wait(t, kind, ident, options | C.WEXITED)
    if pid is None:
        return 0
    if status_ptr:
        t.mm.copy_out(status_ptr, struct.pack("<i", status))
    _write_rusage(t, rusage, child)
    _consume(t, child, code, 0, consume)
    return t.tg.pidns.id_of(pid)


def waitid(t, idtype, ident, infop, options, rusage):
    idtype, ident = to_s32(idtype), to_s32(ident)
    if options & ~(C.WNOHANG | C.WEXITED | C.WSTOPPED | C.WCONTINUED | C.WNOWAIT | C.WNOTHREAD | C.WALL
                   | C.WCLONE) or not options & (C.WEXITED | C.WSTOPPED | C.WCONTINUED):
        raise SyscallError(EINVAL)
    if idtype == C.P_ALL:
        ident = 0
    elif idtype == C.P_PID:
        if ident <= 0:
            raise SyscallError(EINVAL)
        ident = t.tg.pidns.global_id(ident)
    elif idtype == C.P_PGID:
        if ident < 0:
            raise SyscallError(EINVAL)
        ident = t.tg.pidns.global_id(ident) if ident else t.tg.pgid
    elif idtype == C.P_PIDFD:
        if ident < 0:
            raise SyscallError(EINVAL)
        f = t.fdtable.get(ident)
        ident = pidfd_group(f)
        if ident is None:
            raise SyscallError(EBADF)
        thread = pidfd_thread(f)
        if thread is not None and thread is not ident.leader:
            raise SyscallError(ECHILD)   # a thread's pid is no child's
        if f.flags & O_NONBLOCK and not options & C.WNOHANG:
            found = yield from _wait(t, idtype, ident, options | C.WNOHANG)
            if found[0] is None:
                raise SyscallError(EAGAIN)   # a non-blocking pidfd's child has nothing to report yet
    else:
        raise SyscallError(EINVAL)
    pid, status, code, child, consume = yield from _wait(t, idtype, ident, options)
    if pid is None:
        if infop:
            t.mm.copy_out(infop, bytes(S.SIGINFO_SIZE))
        return 0
    if code == S.CLD_EXITED:
        st = status >> 8 & 0xFF
    elif code in (S.CLD_KILLED, S.CLD_DUMPED):
        st = status & 0x7F
    elif code == S.CLD_STOPPED:
        st = status >> 8 & 0xFF
    elif code == S.CLD_TRAPPED:
        st = status >> 8   # the ptrace exit code, event bits included
    else:
        st = S.SIGCONT
    if infop:
        info = S.SIGINFO_CHLD.pack(S.SIGCHLD, 0, code, t.tg.pidns.id_of(pid), 0, st, 0, 0).ljust(S.SIGINFO_SIZE, b"\0")
        t.mm.copy_out(infop, info)
    _write_rusage(t, rusage, child)
    _consume(t, child, code, options, consume)
    return 0
