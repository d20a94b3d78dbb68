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

Files other kernels' processes see (volumes) have the sandbox's locks held on the host too
(hostlocks.py): a lock someone outside holds refuses or delays one here.
"""
import os

from snakevisor.abi.errno import EAGAIN, EDEADLK, SyscallError
from snakevisor.abi.fs import F_RDLCK, F_UNLCK, F_WRLCK
from snakevisor.sentry.vfs import hostlocks, leases
from snakevisor.sentry.vfs.waiter import WaitQueue

INF = hostlocks.INF
EV_UNLOCK = 1
HOST_RETRY = (0.002, 0.1)   # s: how soon a wait on a lock held outside looks again, first and at most


class _LockedFile:
    __slots__ = ("records", "flocks", "queue", "mirror")

    def __init__(self):
        self.records = []   # [owner, ofd, type, start, end (exclusive), pid]
        self.flocks = []    # [description, type, pid]
        self.queue = WaitQueue()
        self.mirror = None  # HostMirror holding these on the host, False if none (hostlocks.py)


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
        if lf.mirror:
            lf.mirror.close()   # (the host's locks go with the description)
            lf.mirror = None


def _mirror(lf, inode):
    if lf.mirror is None:
        lf.mirror = hostlocks.open_mirror(inode) or False
    return lf.mirror


def _conflict(lf, owner, ltype, start, end):
    for lk in lf.records:
        if lk[0] is not owner and lk[3] < end and start < lk[4] and (ltype == F_WRLCK or lk[2] == F_WRLCK):
            return lk
    return None


def test(inode, owner, ltype, start, end):
    """F_GETLK: the first lock another owner holds that would block this one, or None; one held
    outside the sandbox (hostlocks.py) has no owner here and pid 0, as Linux shows a holder in
    no PID namespace of the caller's."""
    key = key_of(inode)
    lf = _get(key)
    try:
        lk = _conflict(lf, owner, ltype, start, end)
        if lk is None and _mirror(lf, inode):
            outside = lf.mirror.conflict(ltype, start, end)
            if outside is not None:
                lk = [None, False, outside[0], outside[1], outside[2], 0]
        return lk
    finally:
        _tidy(key, lf)


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


def _applied(records, owner, ofd, ltype, start, end, pid):
    """``records`` with [start, end) set to ``ltype`` for ``owner``: what it held there split,
    neighbours merged."""
    kept = []
    for lk in records:
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
    return kept


def _outside_wait(t, lf, tries):
    """Wait a while for a lock held outside the sandbox (or an unlock here) before looking again."""
    first, most = HOST_RETRY
    yield from t.block_on(lf.queue, EV_UNLOCK, timeout=min(most, first * (2 ** min(tries, 10))))


def set_lock(t, inode, owner, ofd, ltype, start, end, wait):
    """F_SETLK(W)/F_OFD_SETLK(W). A generator (``yield from``): with ``wait`` it blocks until
    no other owner's lock conflicts; otherwise EAGAIN. EDEADLK when waiting would deadlock."""
    key = key_of(inode)
    lf = _get(key)
    tries = 0
    try:
        while True:
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
            new = _applied(lf.records, owner, ofd, ltype, start, end, -1 if ofd else t.tg.tgid)
            if not _mirror(lf, inode) or lf.mirror.update(lf.records, new, start, end):
                break
            if not wait:
                raise SyscallError(EAGAIN)   # held outside the sandbox
            yield from _outside_wait(t, lf, tries)
            tries += 1
            lf = _get(key)
        lf.records = new
        lf.queue.notify(EV_UNLOCK)   # a downgrade or an unlock may unblock a waiter
    finally:
        _tidy(key, lf)
    return 0


def _drop_records(lf, keep):
    """Keep only the records ``keep`` accepts; the host's follow (only weaker: it cannot fail)."""
    new = [lk for lk in lf.records if keep(lk)]
    if len(new) != len(lf.records):
        if lf.mirror:
            lf.mirror.update(lf.records, new, 0, INF)
        lf.records = new
        lf.queue.notify(EV_UNLOCK)


def release_posix(owner, inode) -> None:
    """``owner`` (an FDTable) closed a descriptor of ``inode``: its record locks there go."""
    key = key_of(inode)
    lf = _FILES.get(key)
    if lf is None:
        return
    _drop_records(lf, lambda lk: lk[0] is not owner)
    _tidy(key, lf)


def release_description(description, inode) -> None:
    """The description's last reference went: its OFD and flock locks go."""
    key = key_of(inode)
    lf = _FILES.get(key)
    if lf is None:
        return
    _drop_records(lf, lambda lk: lk[0] is not description)
    m = len(lf.flocks)
    lf.flocks = [fl for fl in lf.flocks if fl[0] is not description]
    if len(lf.flocks) != m:
        if lf.mirror:
            lf.mirror.set_flock(_strongest_flock(lf.flocks))
        lf.queue.notify(EV_UNLOCK)
    _tidy(key, lf)


def any_locks() -> bool:
    return bool(_FILES)


def flock(t, inode, description, ltype, wait):
    """flock(2): LOCK_SH (F_RDLCK), LOCK_EX (F_WRLCK) or LOCK_UN (F_UNLCK) for the whole file.
    A conversion drops the old lock first, as Linux does. A generator."""
    key = key_of(inode)
    lf = _get(key)
    tries = 0
    try:
        mine = next((fl for fl in lf.flocks if fl[0] is description), None)
        if mine is not None:
            if mine[1] == ltype:
                return 0
            lf.flocks.remove(mine)
            lf.queue.notify(EV_UNLOCK)
            if lf.mirror:
                lf.mirror.set_flock(_strongest_flock(lf.flocks))
        if ltype == F_UNLCK:
            return 0
        while True:
            while any(fl[1] == F_WRLCK or ltype == F_WRLCK for fl in lf.flocks):
                if not wait:
                    raise SyscallError(EAGAIN)
                yield from t.block_on(lf.queue, EV_UNLOCK)
                lf = _get(key)
            if not _mirror(lf, inode) or lf.mirror.set_flock(_strongest_flock(lf.flocks + [[None, ltype]])):
                break
            if not wait:
                raise SyscallError(EAGAIN)   # held outside the sandbox
            yield from _outside_wait(t, lf, tries)
            tries += 1
            lf = _get(key)
        lf.flocks.append([description, ltype, t.tg.tgid])
    finally:
        _tidy(key, lf)
    return 0


def _strongest_flock(flocks):
    return F_WRLCK if any(fl[1] == F_WRLCK for fl in flocks) else F_RDLCK if flocks else F_UNLCK


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
