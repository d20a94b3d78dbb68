"""The sandbox's advisory locks held on the host too, for files other kernels' processes see
(Gofer files with a host descriptor: volumes), so that host processes and other sandboxes see
them and theirs hold the sandbox's off, as two containers sharing a volume expect of one kernel
(SQLite's locks on a shared database).

For each such file with locks the Sentry holds one open file description of the host file (a
dup of the file's own writer, else reader, descriptor: ``inode.host_lock_fd()``), and keeps on it,
as OFD record locks and one flock lock, the union of the sandbox's locks: a range any sandbox
lock writes is write-locked there, one only read locks cover read-locked, the strongest flock
lock the file's. locks.py stays the authority among the sandbox's own processes; the host only
says whether someone outside holds a conflicting lock: a lock is then refused (EAGAIN), or its
wait looks again now and then (the host tells the Sentry of no unlock). A range becomes stronger
on the host before the sandbox's lock is granted, weaker after it is dropped. Closing the
description (once the file has no lock left) drops them all.

On 9P-only mounts (no host descriptor) and the Sentry's own filesystems locks stay the sandbox's,
as they do for files locked past MAX_MIRRORS at once: each mirror is a host descriptor of the
Sentry's, and the application may not make the Sentry run out of them.
"""
import fcntl
import os

from snakevisor.abi.fs import F_OFD_GETLK, F_OFD_SETLK, F_RDLCK, F_UNLCK, F_WRLCK, FLOCK

INF = 1 << 64
MAX_MIRRORS = 1024   # files whose locks are held on the host at once
_open = 0            # mirrors open now
_STRENGTH = {F_UNLCK: 0, F_RDLCK: 1, F_WRLCK: 2}
_FLOCK_OPS = {F_UNLCK: fcntl.LOCK_UN, F_RDLCK: fcntl.LOCK_SH, F_WRLCK: fcntl.LOCK_EX}


def _strongest(types):
    return max(types, key=_STRENGTH.__getitem__, default=F_UNLCK)


def union(records, lo, hi):
    """[(start, end, type)] covering [lo, hi): the strongest of ``records`` (locks.py's
    [owner, ofd, type, start, end, pid]) over each piece."""
    cuts = sorted({lo, hi} | {x for r in records for x in (r[3], r[4]) if lo < x < hi})
    out = []
    for s, e in zip(cuts, cuts[1:]):
        t = _strongest([r[2] for r in records if r[3] < e and s < r[4]])
        if out and out[-1][2] == t and out[-1][1] == s:
            out[-1] = (out[-1][0], e, t)
        else:
            out.append((s, e, t))
    return out


def _flock_struct(ltype, start, end):
    return FLOCK.pack(ltype, 0, start, 0 if end >= INF else end - start, 0)


class HostMirror:
    """The host description holding the sandbox's locks on one file (module docstring)."""

    def __init__(self, fd, writable):
        self.fd, self.writable = fd, writable
        self.flock_type = F_UNLCK
        global _open
        _open += 1

    def _set(self, ltype, start, end):
        """One OFD lock change on the host; False if another holder's lock is in the way."""
        if ltype == F_WRLCK and not self.writable:
            return True   # (the host file is read-only to the Gofer: no one writes it from here)
        try:
            fcntl.fcntl(self.fd, F_OFD_SETLK, _flock_struct(ltype, start, end))
        except OSError:
            return ltype == F_UNLCK   # EAGAIN/EACCES: held elsewhere; an unlock cannot fail
        return True

    def update(self, old, new, lo, hi):
        """Make the host hold ``new``'s union over [lo, hi) where it held ``old``'s: stronger
        pieces first, all or none (False: someone outside holds a conflicting lock), then
        weaker ones."""
        before = {(s, e): t for s, e, t in union(old, lo, hi)}
        pieces = []   # (start, end, old type, new type) where they differ
        for s, e, t in union(new, lo, hi):
            for (bs, be), bt in before.items():
                if bs < e and s < be and bt != t:
                    pieces.append((max(s, bs), min(e, be), bt, t))
        done = []
        for s, e, was, now in pieces:
            if _STRENGTH[now] > _STRENGTH[was]:
                if not self._set(now, s, e):
                    for ds, de, dwas in done:
                        self._set(dwas, ds, de)
                    return False
                done.append((s, e, was))
        for s, e, was, now in pieces:
            if _STRENGTH[now] < _STRENGTH[was]:
                self._set(now, s, e)
        return True

    def conflict(self, ltype, start, end):
        """F_OFD_GETLK: (type, start, end) of a lock someone outside holds that would block
        this one, or None."""
        if ltype == F_WRLCK and not self.writable:
            ltype = F_RDLCK   # (asked as far as this description may ask)
        try:
            raw = fcntl.fcntl(self.fd, F_OFD_GETLK, _flock_struct(ltype, start, end))
        except OSError:
            return None
        t, _, s, n, _ = FLOCK.unpack(raw)
        return None if t == F_UNLCK else (t, s, INF if n == 0 else s + n)

    def set_flock(self, want):
        """Hold ``want`` (the strongest of the sandbox's flock locks) on the host; False if
        someone outside holds one in the way (then the lock held before is taken again: Linux
        drops it first in a conversion)."""
        if want == self.flock_type or (want == F_WRLCK and not self.writable and self.flock_type == F_RDLCK):
            return True
        op = _FLOCK_OPS[want if self.writable or want != F_WRLCK else F_RDLCK]
        try:
            fcntl.flock(self.fd, op | (fcntl.LOCK_NB if want != F_UNLCK else 0))
        except OSError:
            if self.flock_type != F_UNLCK:
                try:
                    fcntl.flock(self.fd, _FLOCK_OPS[self.flock_type] | fcntl.LOCK_NB)
                except OSError:
                    self.flock_type = F_UNLCK
            return False
        self.flock_type = want
        return True

    def close(self):
        global _open
        os.close(self.fd)
        _open -= 1


def open_mirror(inode):
    """A HostMirror for ``inode``, or None if its locks stay the sandbox's."""
    get = getattr(inode, "host_lock_fd", None)
    if get is None or _open >= MAX_MIRRORS:
        return None
    try:
        found = get()
    except OSError:   # (the Sentry's own descriptors ran short: dup's EMFILE)
        return None
    return HostMirror(*found) if found is not None else None
