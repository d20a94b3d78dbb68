"""The Gofer's fid table: each fid is a capability holding an O_PATH host descriptor.

A ``FidState`` is reference counted: the table holds one reference and every
request using the fid holds one while it runs (possibly in a worker thread),
so a Tclunk racing with a Tread never closes a descriptor in use.
"""
from __future__ import annotations

import os

from snakevisor.abi.errno import EBADF, ENFILE, SyscallError
from snakevisor.p9.messages import Qid

MAX_FIDS = 1 << 16


class XattrState:
    """An xattr fid: the value read at Txattrwalk, or the one being written after Txattrcreate."""

    __slots__ = ("writing", "name", "size", "flags", "data")

    def __init__(self, writing: bool, name: bytes, data: bytes | bytearray, size: int = 0, flags: int = 0):
        self.writing, self.name, self.data, self.size, self.flags = writing, name, data, size, flags


class FidState:
    __slots__ = ("path_fd", "qid", "names", "open_fd", "open_flags", "dirents", "xattr", "refs", "_retired")

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
            for fd in [self.path_fd, self.open_fd, *self._retired]:
                if fd is not None:
                    try:
                        os.close(fd)
                    except OSError:
                        pass
            self.path_fd = self.open_fd = None
            self._retired = []
            self.dirents = None


class FidTable:
    """fid number -> FidState for one connection."""

    def __init__(self, limit: int = MAX_FIDS):
        self._fids: dict[int, FidState] = {}
        self.limit = limit

    def __len__(self):
        return len(self._fids)

    def __contains__(self, fid: int):
        return fid in self._fids

    def acquire(self, fid: int) -> FidState:
        """The fid's state with a reference taken (EBADF if unknown)."""
        st = self._fids.get(fid)
        if st is None:
            raise SyscallError(EBADF)
        return st.acquire()

    def install(self, fid: int, state: FidState):
        """Bind ``fid`` (takes over the state's initial reference)."""
        old = self._fids.get(fid)
        if old is None and len(self._fids) >= self.limit:
            state.release()
            raise SyscallError(ENFILE)
        self._fids[fid] = state
        if old is not None:
            old.release()

    def remove(self, fid: int):
        st = self._fids.pop(fid, None)
        if st is None:
            raise SyscallError(EBADF)
        st.release()

    def clear(self):
        fids, self._fids = self._fids, {}
        for st in fids.values():
            st.release()
