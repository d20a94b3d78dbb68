"""The Gofer's fid table: each fid is a capability holding an O_PATH host descriptor.

A ``FidState`` is reference counted: the table holds one reference and every
request using the fid holds one while it runs (possibly in a worker thread),
so a Tclunk racing with a Tread never closes a descriptor in use.

The Sentry keeps a fid for every file it knows, so the descriptors of idle fids
(not open, no request using them) are bounded (``IDLE_PATHS``): past the bound
the least recently used is closed and reopened from the attach root by its
names, one component at a time without following symlinks, when next used, and
only if that still leads to the very same file (else ESTALE). A fid whose names
no longer lead to it (unlinked, renamed) is not closed; before the Gofer itself
unlinks a name (or renames over it), closed fids of that name are reopened, and
its renames rename the fids at and below the name (``IdlePaths.by_names``).
"""
from __future__ import annotations

import os
import threading
from collections import OrderedDict

from snakevisor.abi.errno import EBADF, ENFILE, ESTALE, SyscallError
from snakevisor.p9.messages import Qid

MAX_FIDS = 1 << 16
MAX_IDLE_PATHS = 4096


class XattrState:
    """An xattr fid: the value read at Txattrwalk, or the one being written after Txattrcreate."""

    __slots__ = ("writing", "name", "size", "flags", "data")

    def __init__(self, writing: bool, name: bytes, data: bytes | bytearray, size: int = 0, flags: int = 0):
        self.writing, self.name, self.data, self.size, self.flags = writing, name, data, size, flags


class FidState:
    __slots__ = ("path_fd", "qid", "names", "open_fd", "open_flags", "dirents", "xattr", "refs", "_retired",
                 "walk", "ident", "root")

    def __init__(self, path_fd: int, qid: Qid, names: tuple = ()):
        self.path_fd = path_fd      # O_PATH|O_NOFOLLOW descriptor: the file itself
        self.qid = qid
        self.names = names          # components from the attach root (for Trename/Tremove)
        self.open_fd: int | None = None   # set by Tlopen/Tlcreate
        self.open_flags = 0
        self.dirents: list | None = None  # readdir snapshot: [(name, Qid, dtype)]
        self.xattr: "XattrState | None" = None   # set by Txattrwalk/Txattrcreate
        self.refs = 1
        self._retired: list[int] = []
        self.walk = None            # names -> O_PATH descriptor from the attach root (set by the table)
        self.ident = None           # (st_dev, st_ino) while path_fd is closed (IDLE_PATHS)
        self.root = None            # (st_dev, st_ino) of the attach root its names start from

    @property
    def idle(self) -> bool:
        """May its path descriptor be closed now (nothing but the table holds it)?"""
        return (self.refs == 1 and self.open_fd is None and self.xattr is None and self.walk is not None
                and self.path_fd is not None and not self._retired)

    def close_path(self) -> bool:
        """Close the path descriptor if its names lead back to this file (False: they do not)."""
        try:
            here = os.fstat(self.path_fd)
            if here.st_nlink == 0:
                return False
            fd = self.walk(self.names)
            try:
                there = os.fstat(fd)
            finally:
                os.close(fd)
        except (OSError, SyscallError):
            return False
        if (there.st_dev, there.st_ino) != (here.st_dev, here.st_ino):
            return False
        os.close(self.path_fd)
        self.path_fd, self.ident = None, (here.st_dev, here.st_ino)
        return True

    def reopen_path(self):
        """Reopen a closed path descriptor by the fid's names: ESTALE if they lead elsewhere now."""
        try:
            fd = self.walk(self.names)
        except OSError:
            raise SyscallError(ESTALE) from None
        try:
            st = os.fstat(fd)
        except OSError:
            os.close(fd)
            raise
        if (st.st_dev, st.st_ino) != self.ident:
            os.close(fd)
            raise SyscallError(ESTALE)
        self.path_fd, self.ident = fd, None

    @property
    def is_open(self) -> bool:
        return self.open_fd is not None

    def replace_path_fd(self, fd: int):
        """Point the fid at another object (the caller holds a reference). The old descriptor
        closes now if nobody else uses the fid (only the table and the caller hold it), else with
        the last reference: a created file's fid must not keep its directory's open as well."""
        old, self.path_fd = self.path_fd, fd
        if self.refs <= 2:
            os.close(old)
        else:
            self._retired.append(old)

    def acquire(self) -> "FidState":
        self.refs += 1
        return self

    def release(self):
        self.refs -= 1
        if self.refs == 0:
            IDLE_PATHS.forget(self)
            for fd in [self.path_fd, self.open_fd, *self._retired]:
                if fd is not None:
                    try:
                        os.close(fd)
                    except OSError:
                        pass
            self.path_fd = self.open_fd = None
            self._retired = []
            self.dirents = None


class IdlePaths:
    """Path descriptors of fids, least recently used first, at most ``limit`` open (across
    every connection of the Gofer); ``by_names``: (attach root, names) -> the fids called so, kept
    right across the Gofer's own renames (a closed fid is found again only by its names). Names
    count from a root: a rename under one root leaves another root's fids of the same names be."""

    def __init__(self, limit: int = MAX_IDLE_PATHS):
        self.limit = limit
        self.lru: OrderedDict = OrderedDict()
        self.by_names: dict[tuple, set] = {}
        self.lock = threading.RLock()   # one Gofer process serves on one thread; tests run several

    def add(self, st: FidState):
        with self.lock:
            self.by_names.setdefault((st.root, st.names), set()).add(st)
            self.used(st)

    def used(self, st: FidState):
        if st.path_fd is None:
            return
        with self.lock:
            lru = self.lru
            lru[st] = None
            lru.move_to_end(st)
            if len(lru) > self.limit:
                self._close_some()

    def _close_some(self):
        lru = self.lru
        for _ in range(len(lru)):
            if len(lru) <= self.limit:
                return
            st, _ = lru.popitem(last=False)
            if st.refs > 1 and st.path_fd is not None:
                lru[st] = None          # in use right now: the most recent one, in fact
            elif st.idle:
                st.close_path()
            # else (open, or its names lead elsewhere): it keeps its descriptor, out of the LRU

    def forget(self, st: FidState):
        with self.lock:
            self.lru.pop(st, None)
            self._unindex(st)

    def _unindex(self, st):
        key = (st.root, st.names)
        group = self.by_names.get(key)
        if group is not None:
            group.discard(st)
            if not group:
                del self.by_names[key]

    def set_names(self, st: FidState, names: tuple):
        with self.lock:
            self._unindex(st)
            st.names = names
            if st.walk is not None:
                self.by_names.setdefault((st.root, names), set()).add(st)

    def reopen(self, root, names: tuple):
        """Reopen the closed fids of ``names`` under ``root``, about to be unlinked (or replaced by
        a rename): their names would not find them any more. They keep their descriptors from now on."""
        with self.lock:
            for st in list(self.by_names.get((root, names), ())):
                if st.path_fd is None and st.ident is not None:
                    try:
                        st.reopen_path()
                    except (OSError, SyscallError):
                        pass   # gone already: its next use says ESTALE

    def renamed(self, root, old: tuple, new: tuple, directory: bool):
        """``old`` under ``root`` is now called ``new``: its fids follow (and, a directory, those
        below it)."""
        with self.lock:
            self._rename_groups(self._take(root, old, directory), old, new)

    def exchanged(self, root, a: tuple, b: tuple, a_dir: bool, b_dir: bool):
        """``a`` and ``b`` under ``root`` swapped names (renameat2 RENAME_EXCHANGE): the fids of
        each, and of what is below a directory, follow. Both sets are taken out before either
        goes back, so neither lands among the other's."""
        with self.lock:
            from_a, from_b = self._take(root, a, a_dir), self._take(root, b, b_dir)
            self._rename_groups(from_a, a, b)
            self._rename_groups(from_b, b, a)

    def _take(self, root, names: tuple, directory: bool) -> list:
        """Remove and return the (names, fids) groups of ``names`` (and below it, a directory)."""
        n = len(names)
        if directory:
            keys = [k for k in self.by_names if k[0] == root and k[1][:n] == names]
        else:
            keys = [(root, names)]
        return [(key, group) for key in keys if (group := self.by_names.pop(key, None))]

    def _rename_groups(self, groups: list, old: tuple, new: tuple):
        n = len(old)
        for (root, names), group in groups:
            names = new + names[n:]
            for st in group:
                st.names = names
            self.by_names.setdefault((root, names), set()).update(group)


IDLE_PATHS = IdlePaths()


class FidTable:
    """fid number -> FidState for one connection; ``walk(names)`` opens a path from its root."""

    def __init__(self, limit: int = MAX_FIDS, walk=None, root=None):
        self._fids: dict[int, FidState] = {}
        self.limit = limit
        self.walk = walk
        self.root = root            # the attach root's (st_dev, st_ino): IdlePaths' names count from it

    def __len__(self):
        return len(self._fids)

    def __contains__(self, fid: int):
        return fid in self._fids

    def acquire(self, fid: int, reopen: bool = True) -> FidState:
        """The fid's state with a reference taken (EBADF if unknown), its path descriptor
        reopened if IDLE_PATHS had closed it (``reopen=False``: not needed, as for Tclunk)."""
        st = self._fids.get(fid)
        if st is None:
            raise SyscallError(EBADF)
        if reopen and st.path_fd is None and st.ident is not None:
            with IDLE_PATHS.lock:
                st.reopen_path()
        st.acquire()
        if reopen:
            IDLE_PATHS.used(st)
        return st

    def install(self, fid: int, state: FidState):
        """Bind ``fid`` (takes over the state's initial reference)."""
        old = self._fids.get(fid)
        if old is None and len(self._fids) >= self.limit:
            state.release()
            raise SyscallError(ENFILE)
        state.walk, state.root = self.walk, self.root
        self._fids[fid] = state
        if old is not None:
            old.release()
        IDLE_PATHS.add(state)

    def remove(self, fid: int):
        st = self._fids.pop(fid, None)
        if st is None:
            raise SyscallError(EBADF)
        st.release()

    def clear(self):
        fids, self._fids = self._fids, {}
        for st in fids.values():
            st.release()
