"""Signal syscalls: dispositions, masks, alternate stacks, sending, waiting, and rt_sigreturn.

The machinery (queues, delivery, frames) is kernel/signals.py; these are the thin syscall ends.
"""
import struct

from snakevisor.abi import signal as S
from snakevisor.abi.capability import CAP_KILL
from snakevisor.abi.errno import (EAGAIN, EINTR, EINVAL, ENOMEM, EPERM, ERESTARTNOHAND, ERESTARTSYS, ESRCH,
                                  SyscallError)
from snakevisor.abi.fs import to_s32
from snakevisor.abi.landlock import SCOPE_SIGNAL
from snakevisor.abi.poll import SIGSET_SIZE
from snakevisor.sentry.kernel.pidns import init_ignores, seen_from
from snakevisor.sentry.kernel.userns import id_in
from snakevisor.sentry.kernel.signals import make_siginfo
from snakevisor.sentry.syscalls.time import NSEC, read_timespec


def _check_sig(sig, allow_zero=False):
    sig = to_s32(sig)
    if not (0 if allow_zero else 1) <= sig <= S.NSIG:
        raise SyscallError(EINVAL)
    return sig


def _read_sigset(t, addr, size):
    if size != SIGSET_SIZE:
        raise SyscallError(EINVAL)
    return int.from_bytes(t.mm.copy_in(addr, 8), "little")


def rt_sigaction(t, sig, act, oldact, sigsetsize):
    sig = to_s32(sig)
    if sigsetsize != SIGSET_SIZE or not 1 <= sig <= S.NSIG:
        raise SyscallError(EINVAL)
    new = None
    if act:
        new = S.KSIGACTION.unpack(t.mm.copy_in(act, S.KSIGACTION.size))
        if sig in S.SIG_KERNEL_ONLY:
            raise SyscallError(EINVAL)
    if oldact:
        t.mm.copy_out(oldact, S.KSIGACTION.pack(*t.tg.handlers.get(sig)))
    if new is not None:
        handler, flags, restorer, mask = new
        t.tg.handlers.actions[sig] = (handler, flags & 0xFFFFFFFF, restorer, mask & ~S.UNBLOCKABLE)
        if t.kernel.signals.is_ignored(t.tg, sig):
            # Setting a signal to be ignored discards it when pending (POSIX).
            for pend in [t.tg.shared_pending] + [x.pending for x in t.tg.tasks]:
                pend.pop(sig, None)
    return 0


def rt_sigprocmask(t, how, set_ptr, oldset, sigsetsize):
    if sigsetsize != SIGSET_SIZE:
        raise SyscallError(EINVAL)
    new = None
    if set_ptr:
        new = int.from_bytes(t.mm.copy_in(set_ptr, 8), "little")
        if how not in (S.SIG_BLOCK, S.SIG_UNBLOCK, S.SIG_SETMASK):
            raise SyscallError(EINVAL)
    if oldset:
        t.mm.copy_out(oldset, t.sigmask.to_bytes(8, "little"))
    if new is not None:
        if how == S.SIG_BLOCK:
            mask = t.sigmask | new
        elif how == S.SIG_UNBLOCK:
            mask = t.sigmask & ~new
        else:
            mask = new
        t.sigmask = mask & ~S.UNBLOCKABLE
    return 0


def rt_sigpending(t, addr, sigsetsize):
    if sigsetsize > SIGSET_SIZE:
        raise SyscallError(EINVAL)
    pending = t.kernel.signals.pending_mask(t) & t.sigmask
    t.mm.copy_out(addr, pending.to_bytes(8, "little")[:sigsetsize])
    return 0


def sigaltstack(t, ss, old_ss):
    new = None
    on_alt = t.on_altstack(t.ctx.regs.rsp)
    if ss:
        sp, flags, size = S.STACK_T.unpack(t.mm.copy_in(ss, S.STACK_T.size))
        flags &= 0xFFFFFFFF   # an int: SS_AUTODISARM is its sign bit
        mode = flags & ~S.SS_AUTODISARM
        if mode not in (0, S.SS_DISABLE, S.SS_ONSTACK):
            raise SyscallError(EINVAL)
        if on_alt:
            raise SyscallError(EPERM)
        if mode == S.SS_DISABLE:
            new = (0, S.SS_DISABLE, 0)
        else:
            if size < S.MINSIGSTKSZ:
                raise SyscallError(ENOMEM)
            new = (sp, flags & S.SS_AUTODISARM, size)
    if old_ss:
        sp, flags, size = t.altstack
        t.mm.copy_out(old_ss, S.STACK_T.pack(sp, to_s32(flags | (S.SS_ONSTACK if on_alt else 0)), size))
    if new is not None:
        t.altstack = new
    return 0


def rt_sigreturn(t):
    return t.kernel.signals.sigreturn(t)


# -- sending ------------------------------------------------------------------------------
def _may_signal_task(t, target, sig):
    """Linux's check_kill_permission: within the thread group always; else the sender's real or
    effective uid must be the target's real or saved uid, or the sender has CAP_KILL; SIGCONT
    also reaches any process of the sender's session."""
    if target.tg is t.tg:
        return True
    other = target.creds
    if not (t.creds.has_cap(CAP_KILL) or {t.creds.uid, t.creds.euid} & {other.uid, other.suid}
            or sig == S.SIGCONT and target.tg.sid == t.tg.sid):
        return False
    # Then the LSM's word: a Landlock domain scoped for signals reaches only its own and nested ones
    return t.creds.landlock is None or not t.creds.landlock.scoped_out(other.landlock, SCOPE_SIGNAL)


def _may_signal(t, target_tg, sig):
    """The same for a process (kill(2) checks the task its pid names: the leader)."""
    leader = target_tg.leader
    if leader is None:
        return target_tg is t.tg or t.creds.has_cap(CAP_KILL)
    return _may_signal_task(t, leader, sig)


def _kill_groups(t, pid):
    """The processes kill(2)'s ``pid`` names, in the caller's PID namespace (-1: every one
    visible there but the caller and that namespace's init)."""
    ns = t.tg.pidns
    if pid > 0:
        tg = ns.group_of(pid)
        if tg is None:
            task = ns.task_of(pid)   # a thread id also names its process for kill(2)
            tg = task.tg if task is not None else None
        return [tg] if tg is not None and not tg.reaped else []  # a zombie exists (the signal does nothing)
    if pid == 0:
        return t.kernel.pidns.process_group(t.tg.pgid)   # the caller's own group, visible or not
    if pid == -1:
        init = ns.init if ns.parent is not None else t.kernel.init
        return [g for _, g in ns.groups() if g.exit_status is None and g is not t.tg and g is not init]
    return ns.process_group(-pid)


def _sender_info(t, tg, sig, code):
    """The siginfo of a signal ``t`` sends to process ``tg``: its pid and uid as the receiver's
    PID and user namespaces name them (0 / the overflow id from outside)."""
    leader = tg.leader
    uid = id_in(leader.creds if leader is not None else None, t.creds.uid)
    return make_siginfo(sig, code, seen_from(tg, t.tg.tgid), uid)


def kill(t, pid, sig):
    pid, sig = to_s32(pid), _check_sig(sig, allow_zero=True)
    if pid == -(1 << 31):
        raise SyscallError(ESRCH)
    groups = _kill_groups(t, pid)
    if not groups:
        raise SyscallError(ESRCH)
    sent = 0
    for tg in groups:
        if not _may_signal(t, tg, sig):
            continue
        sent += 1
        if not init_ignores(t.tg, tg, sig):
            t.kernel.signals.send_to_group(tg, sig, _sender_info(t, tg, sig, S.SI_USER))
    if not sent:
        raise SyscallError(EPERM)
    return 0


def _thread(t, tgid, tid):
    task = t.tg.pidns.task_of(tid)
    if task is None or task.exited or (tgid is not None and task.tg is not t.tg.pidns.group_of(tgid)):
        raise SyscallError(ESRCH)
    return task


def tgkill(t, tgid, tid, sig):
    tgid, tid, sig = to_s32(tgid), to_s32(tid), _check_sig(sig, allow_zero=True)
    if tgid <= 0 or tid <= 0:
        raise SyscallError(EINVAL)
    return _tkill(t, tgid, tid, sig)


def tkill(t, tid, sig):
    tid, sig = to_s32(tid), _check_sig(sig, allow_zero=True)
    if tid <= 0:
        raise SyscallError(EINVAL)
    return _tkill(t, None, tid, sig)


def _tkill(t, tgid, tid, sig):
    """Send ``sig`` (SI_TKILL) to thread ``tid`` (of thread group ``tgid``, unless None)."""
    target = _thread(t, tgid, tid)
    if not _may_signal_task(t, target, sig):
        raise SyscallError(EPERM)
    if not init_ignores(t.tg, target.tg, sig, target):
        t.kernel.signals.send_to_task(target, sig, _sender_info(t, target.tg, sig, S.SI_TKILL))
    return 0


def _user_siginfo(t, sig, info_ptr, to_self):
    info = bytearray(t.mm.copy_in(info_ptr, S.SIGINFO_SIZE))
    code = struct.unpack_from("<i", info, 8)[0]
    # Only the kernel may forge kernel codes (or SI_TKILL) for another process.
    if not to_self and (code >= 0 or code == S.SI_TKILL):
        raise SyscallError(EPERM)
    struct.pack_into("<i", info, 0, sig)
    return bytes(info)


def rt_sigqueueinfo(t, pid, sig, info_ptr):
    pid, sig = to_s32(pid), _check_sig(sig, allow_zero=True)
    groups = _kill_groups(t, pid) if pid > 0 else []
    if not groups:
        raise SyscallError(ESRCH)
    info = _user_siginfo(t, sig, info_ptr, groups[0] is t.tg)
    if not _may_signal(t, groups[0], sig):
        raise SyscallError(EPERM)
    t.kernel.signals.send_to_group(groups[0], sig, info)
    return 0


def rt_tgsigqueueinfo(t, tgid, tid, sig, info_ptr):
    tgid, tid, sig = to_s32(tgid), to_s32(tid), _check_sig(sig, allow_zero=True)
    if tgid <= 0 or tid <= 0:
        raise SyscallError(EINVAL)
    target = _thread(t, tgid, tid)
    info = _user_siginfo(t, sig, info_ptr, target.tg is t.tg)
    if not _may_signal_task(t, target, sig):
        raise SyscallError(EPERM)
    t.kernel.signals.send_to_task(target, sig, info)
    return 0


# -- waiting for signals ----------------------------------------------------------------
def _wait_for_signal(t):
    """Sleep until a signal is delivered; the syscall then returns EINTR after its handler."""
    while not t.signal_pending():
        try:
            yield from t.block_on_many([])
        except SyscallError:
            break
    raise SyscallError(ERESTARTNOHAND)


def rt_sigsuspend(t, mask_ptr, sigsetsize):
    mask = _read_sigset(t, mask_ptr, sigsetsize)
    t.saved_sigmask = t.sigmask
    t.sigmask = mask & ~S.UNBLOCKABLE
    yield from _wait_for_signal(t)


def pause(t):
    yield from _wait_for_signal(t)


def rt_sigtimedwait(t, set_ptr, info_ptr, timeout_ptr, sigsetsize):
    wanted = _read_sigset(t, set_ptr, sigsetsize) & ~S.UNBLOCKABLE
    timeout = read_timespec(t, timeout_ptr) / NSEC if timeout_ptr else None
    signals = t.kernel.signals
    deadline = None if timeout is None else t.kernel.monotonic() + timeout
    while True:
        sig, info = signals.dequeue(t, mask=~wanted & ((1 << 64) - 1))
        if sig is not None:
            if info_ptr:
                t.mm.copy_out(info_ptr, info)
            return sig
        if signals.deliverable(t):
            raise SyscallError(ERESTARTNOHAND)  # another signal's handler runs: EINTR
        left = None if deadline is None else deadline - t.kernel.monotonic()
        if left is not None and left <= 0:
            raise SyscallError(EAGAIN)
        # Wanted signals are normally blocked; unblock them while we sleep so they wake us.
        old = t.sigmask
        t.sigmask &= ~wanted
        t.real_sigmask = old
        try:
            yield from t.block_on_many([], left)
        except SyscallError as e:
            if e.errno != ERESTARTSYS:
                raise
        finally:
            t.sigmask = old
            t.real_sigmask = 0


def restart_syscall(t):
    """Continue what the Task's last ERESTART_RESTARTBLOCK left (a relative nanosleep, to its
    deadline): signals.deliver restarts such a call as restart_syscall. Nothing left: EINTR."""
    block, t.restart_block = t.restart_block, None
    if block is None:
        raise SyscallError(EINTR)
    return block()
