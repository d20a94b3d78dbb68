"""Signal-driven I/O: O_ASYNC descriptions signal their owner (F_SETOWN, F_SETOWN_EX) when
they become readable or writable, as Linux's fasync/kill_fasync/send_sigio do.

A description with O_ASYNC and an owner registers on its file's WaitQueue; an input event
(POLLIN) on a readable description sends POLL_IN, an output event (POLLOUT) on a writable one
POLL_OUT. The signal is F_SETSIG's (with si_code, si_band and si_fd) or SIGIO (SI_KERNEL).
Files whose readiness comes from a host descriptor (inet sockets, host files) are not covered.
"""
import struct

from snakevisor.abi import signal as S
from snakevisor.abi.errno import EINVAL, ESRCH, SyscallError
from snakevisor.abi.fs import F_OWNER_PGRP, F_OWNER_PID, F_OWNER_TID
from snakevisor.abi.landlock import SCOPE_SIGNAL
from snakevisor.abi.poll import POLLERR, POLLHUP, POLLIN, POLLOUT, POLLPRI, POLLRDNORM, POLLWRNORM
from snakevisor.abi.signal import POLL_ERR, POLL_HUP, POLL_IN, POLL_MSG, POLL_OUT, POLL_PRI
from snakevisor.sentry.vfs.waiter import WaitQueue

_BAND = {POLL_IN: POLLIN | POLLRDNORM, POLL_OUT: POLLOUT | POLLWRNORM | 0x200, POLL_MSG: POLLIN | POLLRDNORM | 0x400,
         POLL_ERR: POLLERR, POLL_PRI: POLLPRI | 0x80, POLL_HUP: POLLHUP | POLLERR}   # Linux's band_table
SIGINFO_POLL = struct.Struct("<iii4xqi")   # si_signo, si_errno, si_code, si_band, si_fd


def owner_exists(kernel, owner_type, pid) -> bool:
    ns = kernel.pidns
    if pid in ns.tasks:
        return True
    return owner_type == F_OWNER_PGRP and bool(ns.process_group(pid))


def set_owner(t, f, who) -> None:
    """F_SETOWN (and a socket's FIOSETOWN, SIOCSPGRP): ``who`` is a pid, -pgid or 0 (none), as
    ``t``'s PID namespace names it; ESRCH for one that does not exist."""
    if who == -(1 << 31):
        raise SyscallError(EINVAL)
    kind = F_OWNER_PGRP if who < 0 else F_OWNER_PID
    if who:
        gid = t.tg.pidns.global_id(abs(who))   # owners are kept as global ids (kernel/pidns.py)
        if gid is None or not owner_exists(t.kernel, kind, gid):
            raise SyscallError(ESRCH)
        who = gid
    f.owner, f.owner_type = abs(who), kind
    f.owner_landlock = (t.tg, t.creds.landlock)


def get_owner(t, f) -> int:
    """F_GETOWN (and FIOGETOWN, SIOCGPGRP): the owner's pid, or -pgid, as ``t`` names it."""
    owner = t.tg.pidns.id_of(f.owner)
    return -owner if f.owner_type == F_OWNER_PGRP else owner


def _targets(kernel, owner_type, pid):
    ns = kernel.pidns
    if owner_type == F_OWNER_TID:
        task = ns.tasks.get(pid)
        return [task] if task is not None else []
    if owner_type == F_OWNER_PGRP:
        return ns.process_group(pid)
    tg = ns.thread_groups.get(pid)
    if tg is None:
        task = ns.tasks.get(pid)
        tg = task.tg if task is not None else None
    return [tg] if tg is not None else []


def _scoped_out(setter, target) -> bool:
    """Landlock's signal scope (hook_file_send_sigiotask): the domain of the process that set the
    owner must contain the target's (a Task or, for a process, its leader), unless that process is
    the target."""
    tg, domain = setter
    task = getattr(target, "leader", target)   # a ThreadGroup's signals go to its leader's check
    if domain is None or task is None or task.tg is tg:
        return False
    return domain.scoped_out(task.creds.landlock, SCOPE_SIGNAL)


def send_sigio(kernel, f, reason, fd=None) -> None:
    """Signal ``f``'s owner: F_SETSIG's signal with ``reason`` as si_code and ``fd`` (default: the
    one O_ASYNC was set through) as si_fd, or a plain SIGIO."""
    if not f.owner:
        return
    sig = f.signal or S.SIGIO
    if f.signal:
        info = SIGINFO_POLL.pack(sig, 0, reason, _BAND.get(reason, 0), f.fasync[2] if fd is None else fd).ljust(S.SIGINFO_SIZE, b"\0")
    else:
        info = struct.pack("<iii", S.SIGIO, 0, S.SI_KERNEL).ljust(S.SIGINFO_SIZE, b"\0")
    _signal_owner(kernel, f, sig, info)


def _signal_owner(kernel, f, sig, info) -> None:
    signals = kernel.signals
    owner_type = f.owner_type
    for target in _targets(kernel, owner_type, f.owner):
        if f.owner_landlock is not None and _scoped_out(f.owner_landlock, target):
            continue
        if owner_type == F_OWNER_TID:
            signals.send_to_task(target, sig, info)
        else:
            signals.send_to_group(target, sig, info)


def send_sigurg(kernel, f) -> None:
    """Urgent data came to socket file ``f`` (Linux's sk_send_sigurg): SIGURG (SI_KERNEL) to its
    owner, O_ASYNC or not; with O_ASYNC and F_SETSIG, that signal too (POLL_PRI)."""
    if not f.owner:
        return
    _signal_owner(kernel, f, S.SIGURG, struct.pack("<iii", S.SIGURG, 0, S.SI_KERNEL).ljust(S.SIGINFO_SIZE, b"\0"))
    if f.fasync is not None and f.signal:
        send_sigio(kernel, f, POLL_PRI)


def update(t, f, fd) -> None:
    """After O_ASYNC or the owner changed: (un)register ``f`` (reached as ``fd`` by ``t``) for signals."""
    want = bool(f.flags & 0o20000)   # O_ASYNC
    if f.fasync is not None and not want:
        queue, handle, _ = f.fasync
        queue.unregister(handle)
        f.fasync = None
        return
    if not want or f.fasync is not None:
        return
    kernel = t.kernel
    queue = f.waitable(t)
    if not isinstance(queue, WaitQueue):
        return

    def on_event(events):
        if f.fasync is None:
            return False
        if events & POLLIN and f.readable:
            send_sigio(kernel, f, POLL_IN)
        elif events & POLLOUT and f.writable:
            send_sigio(kernel, f, POLL_OUT)
        return False
    f.fasync = (queue, queue.register(on_event, POLLIN | POLLOUT), fd)


def release(f) -> None:
    if f.fasync is not None:
        queue, handle, _ = f.fasync
        queue.unregister(handle)
        f.fasync = None
