"""Advisory file locks: POSIX record locks (fcntl F_SETLK/F_SETLKW/F_GETLK), open file
description locks (F_OFD_*) and flock(2) locks, as Linux's fs/locks.c keeps them.

Locks live in the Sentry, keyed by the file's (dev, ino), so every path and descriptor
to one file sees the same locks. A record lock's owner is the FDTable of the process
that set it (Linux's ``current->files``: threads share it, fork gives the child its own,
so a child inherits no record locks) or, for an OFD lock, the FileDescription. POSIX
and OFD locks share one list and conflict with each other; flock locks are a separate
list owned by FileDescriptions. A process's record locks on a file go when it closes
any descriptor of that file (``release_posix``, called by the FDTable); OFD and flock
locks when the description's last reference goes (``release_description``).
"""
import os

from snakevisor.abi.errno import EAGAIN, EDEADLK, SyscallError
from snakevisor.abi.fs import F_RDLCK, F_UNLCK, F_WRLCK
from snakevisor.sentry.vfs import leases
from snakevisor.sentry.vfs.waiter import WaitQueue

INF = 1 << 64
EV_UNLOCK = 1


class _LockedFile:
    __slots__ = ("records", "flocks", "queue")

    def __init__(self):
        self.records = []   # [owner, ofd, type, start, end (exclusive), pid]
        self.flocks = []    # [description, type, pid]
        self.queue = WaitQueue()


_FILES: dict = {}      # (dev, ino) -> _LockedFile
_WAITING: dict = {}    # POSIX owner -> (key, type, start, end) it blocks on (deadlock detection)


def key_of(inode):
    return (inode.dev, inode.ino)


def _get(key):
    lf = _FILES.get(key)
    if lf is None:
        lf = _FILES[key] = _LockedFile()
    return lf


def _tidy(key, lf):
    if not lf.records and not lf.flocks and not len(lf.queue):
        _FILES.pop(key, None)


def _conflict(lf, owner, ltype, start, end):
    for lk in lf.records:
        if lk[0] is not owner and lk[3] < end and start < lk[4] and (ltype == F_WRLCK or lk[2] == F_WRLCK):
            return lk
    return None


def test(inode, owner, ltype, start, end):
    """F_GETLK: the first lock another owner holds that would block this one, or None."""
    lf = _FILES.get(key_of(inode))
    return None if lf is None else _conflict(lf, owner, ltype, start, end)


def _deadlock(lf_key, owner, blocker) -> bool:
    """Would ``owner`` waiting on ``blocker`` close a cycle of waiting POSIX owners?"""
    seen = 0
    while seen < 64:
        if blocker is owner:
            return True
        want = _WAITING.get(blocker)
        if want is None:
            return False
        lf = _FILES.get(want[0])
        nxt = lf and _conflict(lf, blocker, *want[1:])
        if nxt is None or nxt[1]:
            return False
        blocker = nxt[0]
        seen += 1
    return False


def _apply(lf, owner, ofd, ltype, start, end, pid):
    """Set [start, end) to ``ltype`` for ``owner``: split what it held there, merge neighbours."""
    kept = []
    for lk in lf.records:
        if lk[0] is not owner or lk[4] < start or end < lk[3]:
            kept.append(lk)
            continue
        if lk[2] == ltype and ltype != F_UNLCK:
            start, end = min(start, lk[3]), max(end, lk[4])   # same type, touching: merge
            continue
        if lk[3] < start:
            kept.append([owner, lk[1], lk[2], lk[3], start, lk[5]])
        if lk[4] > end:
            kept.append([owner, lk[1], lk[2], end, lk[4], lk[5]])
    if ltype != F_UNLCK:
        kept.append([owner, ofd, ltype, start, end, pid])
    kept.sort(key=lambda lk: lk[3])
    lf.records = kept


def set_lock(t, inode, owner, ofd, ltype, start, end, wait):
    """F_SETLK(W)/F_OFD_SETLK(W). A generator (``yield from``): with ``wait`` it blocks until
    no other owner's lock conflicts; otherwise EAGAIN. EDEADLK when waiting would deadlock."""
    key = key_of(inode)
    lf = _get(key)
    try:
        while ltype != F_UNLCK:
            blocker = _conflict(lf, owner, ltype, start, end)
            if blocker is None:
                break
            if not wait:
                raise SyscallError(EAGAIN)
            if not ofd and not blocker[1] and _deadlock(key, owner, blocker[0]):
                raise SyscallError(EDEADLK)
            if not ofd:
                _WAITING[owner] = (key, ltype, start, end)
            try:
                yield from t.block_on(lf.queue, EV_UNLOCK)
            finally:
                _WAITING.pop(owner, None)
            lf = _get(key)
        _apply(lf, owner, ofd, ltype, start, end, -1 if ofd else t.tg.tgid)
        lf.queue.notify(EV_UNLOCK)   # a downgrade or an unlock may unblock a waiter
    finally:
        _tidy(key, lf)
    return 0


def release_posix(owner, inode) -> None:
    """``owner`` (an FDTable) closed a descriptor of ``inode``: its record locks there go."""
    key = key_of(inode)
    lf = _FILES.get(key)
    if lf is None:
        return
    n = len(lf.records)
    lf.records = [lk for lk in lf.records if lk[0] is not owner]
    if len(lf.records) != n:
        lf.queue.notify(EV_UNLOCK)
    _tidy(key, lf)


def release_description(description, inode) -> None:
    """The description's last reference went: its OFD and flock locks go."""
    key = key_of(inode)
    lf = _FILES.get(key)
    if lf is None:
        return
    n, m = len(lf.records), len(lf.flocks)
    lf.records = [lk for lk in lf.records if lk[0] is not description]
    lf.flocks = [fl for fl in lf.flocks if fl[0] is not description]
    if len(lf.records) != n or len(lf.flocks) != m:
        lf.queue.notify(EV_UNLOCK)
    _tidy(key, lf)


def any_locks() -> bool:
    return bool(_FILES)


def flock(t, inode, description, ltype, wait):
    """flock(2): LOCK_SH (F_RDLCK), LOCK_EX (F_WRLCK) or LOCK_UN (F_UNLCK) for the whole file.
    A conversion drops the old lock first, as Linux does. A generator."""
    key = key_of(inode)
    lf = _get(key)
    try:
        mine = next((fl for fl in lf.flocks if fl[0] is description), None)
        if mine is not None:
            if mine[1] == ltype:
                return 0
            lf.flocks.remove(mine)
            lf.queue.notify(EV_UNLOCK)
        if ltype == F_UNLCK:
            return 0
        while any(fl[1] == F_WRLCK or ltype == F_WRLCK for fl in lf.flocks):
            if not wait:
                raise SyscallError(EAGAIN)
            yield from t.block_on(lf.queue, EV_UNLOCK)
            lf = _get(key)
        lf.flocks.append([description, ltype, t.tg.tgid])
    finally:
        _tidy(key, lf)
    return 0


_TYPE_NAMES = {F_WRLCK: "WRITE", F_RDLCK: "READ", F_UNLCK: "UNLCK"}


def proc_locks(pid_of) -> str:
    """/proc/locks as Linux's locks_show prints it: record, OFD and flock locks, then leases;
    ``pid_of(tgid)`` names a holder as the reader's PID namespace does (OFD locks show -1)."""
    rows = []
    for (dev, ino), lf in list(_FILES.items()):
        for lk in lf.records:
            rows.append(("OFDLCK ADVISORY  " if lk[1] else "POSIX  ADVISORY  ", lk[2],
                         -1 if lk[1] else pid_of(lk[5]), dev, ino, lk[3], lk[4]))
        rows += [("FLOCK  ADVISORY  ", fl[1], pid_of(fl[2]), dev, ino, 0, INF) for fl in lf.flocks]
    rows += [(f"LEASE  {state:<10}", ltype, pid_of(pid), dev, ino, 0, INF)
             for state, ltype, pid, dev, ino in leases.proc_rows()]
    out = []
    for n, (kind, ltype, pid, dev, ino, start, end) in enumerate(rows, 1):
        span = f"{start} EOF" if end == INF else f"{start} {end - 1}"
        out.append(f"{n}: {kind}{_TYPE_NAMES[ltype]} {pid} {os.major(dev):02x}:{os.minor(dev):02x}:{ino} {span}\n")
    return "".join(out)
