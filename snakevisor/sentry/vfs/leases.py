"""File leases: fcntl(F_SETLEASE/F_GETLEASE) and the lease break on open and truncate, as
Linux's fs/locks.c (generic_setlease, __break_lease, time_out_leases) does them.

A lease belongs to an open file description and lives on its inode (``inode.leases``, None
for nearly every inode: the open path's one test). A read lease needs no description open for
writing, a write lease no other description open at all (``inode.writers``/``inode.readers``,
counted by FileDescription). An open for writing (or truncate(2)) breaks every lease, an open
for reading a write lease: the holder gets SIGIO (or its F_SETSIG signal, POLL_MSG, si_fd) and
the opener waits until the holder downgrades or unlocks, or until lease-break-time passes and
the Sentry does it for the holder. An O_NONBLOCK open gets EWOULDBLOCK at once (the break still
starts). Only the Sentry's own opens are seen: a Gofer file changed by a host process breaks
nothing, as with Linux's leases on a network filesystem's client.
"""
from snakevisor.abi.capability import CAP_LEASE
from snakevisor.abi.errno import EACCES, EAGAIN, EINVAL, EWOULDBLOCK, SyscallError
from snakevisor.abi.fs import F_OWNER_PID, F_RDLCK, F_UNLCK, F_WRLCK, O_ACCMODE, O_NONBLOCK, O_RDONLY
from snakevisor.abi.signal import POLL_MSG
from snakevisor.sentry.vfs import fasync
from snakevisor.sentry.vfs.permissions import capable, fsuid
from snakevisor.sentry.vfs.waiter import WaitQueue

# /proc/sys/fs/lease-break-time: seconds a holder has to answer a break (Linux's default).
LIMITS = {"lease_break_time": 45}
EV_CHANGED = 1
_HELD: dict = {}    # id(inode) -> inode, for each inode with leases (/proc/locks lists them)


class LeaseBreakWait(SyscallError):
    """An open or truncate must wait for the leases of ``inode`` to be given up: the syscall
    layer waits (``wait_break``) and tries again."""

    def __init__(self, inode):
        super().__init__(EWOULDBLOCK)
        self.inode = inode


class Lease:
    __slots__ = ("file", "fd", "type", "target", "deadline", "pid")

    def __init__(self, file, fd, ltype, pid):
        self.file, self.fd, self.type, self.pid = file, fd, ltype, pid
        self.target = None      # while a break is pending: F_RDLCK or F_UNLCK
        self.deadline = None    # monotonic time the break is forced at (None: never)


class InodeLeases:
    __slots__ = ("leases", "queue")

    def __init__(self):
        self.leases: list[Lease] = []
        self.queue = WaitQueue()


def _conflicts(lease, want_write) -> bool:
    return want_write or lease.type == F_WRLCK


def _time_out(kernel, inode) -> None:
    """Breaks past their deadline are done for the holder (Linux's time_out_leases)."""
    il = inode.leases
    now = kernel.monotonic()
    for lease in list(il.leases):
        if lease.deadline is not None and lease.deadline <= now:
            _modify(inode, lease, lease.target)


def _modify(inode, lease, ltype) -> None:
    """The holder (or a timeout) sets its lease to ``ltype`` (lease_modify)."""
    il = inode.leases
    if ltype == F_UNLCK:
        il.leases.remove(lease)
        f = lease.file
        f.owner, f.signal = 0, 0    # Linux's f_delown and signum = 0
        if not il.leases and not len(il.queue):
            _drop(inode)
    else:
        lease.type = ltype
        if lease.target == F_RDLCK or lease.target == ltype:
            lease.target, lease.deadline = None, None
    il.queue.notify(EV_CHANGED)


def _drop(inode) -> None:
    inode.leases = None
    _HELD.pop(id(inode), None)


def _mine(inode, f):
    il = inode.leases
    return None if il is None else next((x for x in il.leases if x.file is f), None)


def getlease(task, f) -> int:
    """F_GETLEASE: the lease's type, or during a break the type it is to become."""
    inode = f.inode
    if inode is None or inode.leases is None:
        return F_UNLCK
    _time_out(task.kernel, inode)
    lease = _mine(inode, f)
    if lease is None:
        return F_UNLCK
    return lease.type if lease.target is None else lease.target


def _check_open_counts(inode, f, ltype) -> None:
    """check_conflicting_open: a read lease needs no writer, a write lease no other opener."""
    if ltype == F_RDLCK:
        if inode.writers:
            raise SyscallError(EAGAIN)
        return
    mine_w, mine_r = (1, 0) if f.writable else (0, 1)
    if inode.writers != mine_w or getattr(inode, "readers", 0) != mine_r or inode.exec_users:
        raise SyscallError(EAGAIN)


def setlease(task, f, fd, ltype) -> int:
    """F_SETLEASE (generic_setlease): owner or CAP_LEASE, regular files, one lease per description."""
    if ltype not in (F_RDLCK, F_WRLCK, F_UNLCK):
        raise SyscallError(EINVAL)
    inode = f.inode
    if inode is None:
        raise SyscallError(EINVAL)   # an anonymous file: not a regular one
    if fsuid(task.creds) != inode.uid and not capable(task.creds, CAP_LEASE):
        raise SyscallError(EACCES)
    if not inode.is_reg:
        raise SyscallError(EINVAL)
    if inode.leases is not None:
        _time_out(task.kernel, inode)
    mine = _mine(inode, f)
    if ltype == F_UNLCK:
        if mine is None:
            raise SyscallError(EAGAIN)
        _modify(inode, mine, F_UNLCK)
        return 0
    _check_open_counts(inode, f, ltype)
    others = [x for x in inode.leases.leases if x is not mine] if inode.leases is not None else []
    if others and (ltype == F_WRLCK or any(x.target == F_UNLCK for x in others)):
        raise SyscallError(EAGAIN)
    if mine is not None:
        _modify(inode, mine, ltype)
    else:
        if inode.leases is None:
            inode.leases = InodeLeases()
            _HELD[id(inode)] = inode
        inode.leases.leases.append(Lease(f, fd, ltype, task.tg.tgid))
    f.owner, f.owner_type, f.owner_landlock = task.tg.tgid, F_OWNER_PID, None   # lease_setup's f_setown
    mine = _mine(inode, f)
    mine.fd = fd
    return 0


def break_lease(task, inode, flags) -> None:
    """An open with ``flags`` (or a truncate: O_WRONLY) of ``inode``, which has leases: start
    breaking those it conflicts with; EWOULDBLOCK for O_NONBLOCK, else LeaseBreakWait while any
    conflicting lease remains."""
    kernel = task.kernel if task is not None else None
    if kernel is not None:
        _time_out(kernel, inode)
    il = inode.leases
    if il is None:
        return
    if not il.leases and not len(il.queue):
        _drop(inode)
        return
    want_write = flags & O_ACCMODE != O_RDONLY
    wait = LIMITS["lease_break_time"]
    deadline = None if kernel is None or wait <= 0 else kernel.monotonic() + wait
    conflicting = False
    for lease in il.leases:
        if not _conflicts(lease, want_write):
            continue
        conflicting = True
        target = F_UNLCK if want_write else F_RDLCK
        if lease.target == F_UNLCK or lease.target == target or kernel is None:
            continue   # already breaking that far; the Sentry's own opens break nothing
        lease.target, lease.deadline = target, deadline
        fasync.send_sigio(kernel, lease.file, POLL_MSG, lease.fd)
    if not conflicting:
        return
    if flags & O_NONBLOCK or task is None:   # the Sentry's own opens never wait either
        raise SyscallError(EWOULDBLOCK)
    raise LeaseBreakWait(inode)


def wait_break(task, inode):
    """Wait (a generator) until the leases of ``inode`` change or the first break deadline passes."""
    il = inode.leases
    if il is None:
        return
    deadlines = [x.deadline for x in il.leases if x.deadline is not None]
    timeout = max(0.0, min(deadlines) - task.kernel.monotonic()) if deadlines else None
    yield from task.block_on(il.queue, EV_CHANGED, timeout)


def release(f) -> None:
    """The description's last reference went: its lease goes (locks_remove_lease)."""
    lease = _mine(f.inode, f)
    if lease is not None:
        _modify(f.inode, lease, F_UNLCK)



def retrying(task, fn, *args):
    """``fn(*args)`` (an open or a truncate) at once; or, when it meets a lease break, a generator
    that waits out each break and tries again, which a plain syscall handler returns for the
    dispatcher to run (kernel/syscall_table.py): an open makes no generator unless it waits."""
    try:
        return fn(*args)
    except LeaseBreakWait as pending:
        return _retry_after(task, pending.inode, fn, args)


def _retry_after(task, inode, fn, args):
    while True:
        yield from wait_break(task, inode)
        try:
            return fn(*args)
        except LeaseBreakWait as pending:
            inode = pending.inode


def proc_rows():
    """(state, type, pid, dev, ino) of every lease, for /proc/locks (lock_get_status): the type
    shown during a break is the one it is to become."""
    for inode in list(_HELD.values()):
        for lease in inode.leases.leases if inode.leases is not None else ():
            state = "ACTIVE" if lease.target is None else "BREAKING"
            yield state, lease.type if lease.target is None else lease.target, lease.pid, inode.dev, inode.ino
