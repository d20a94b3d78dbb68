"""Host file-system primitives the Gofer needs beyond ``os``: fstatfs, utimensat and
renameat2 through ctypes, qids and dirent types from stat results, and
errno translation of host exceptions."""
from __future__ import annotations

import ctypes
import os
import stat as S

from snakevisor.abi.errno import EINVAL, EIO, SyscallError
from snakevisor.abi.fs import AT_FDCWD, Statfs
from snakevisor.abi.time import Timespec
from snakevisor.hostos.libc import get_errno, libc
from snakevisor.p9 import constants as C
from snakevisor.p9.messages import Qid


def renameat2(olddirfd: int, oldname: bytes, newdirfd: int, newname: bytes, flags: int):
    """renameat2(2) relative to two directory descriptors (``os.rename`` has no flags)."""
    if libc.renameat2(olddirfd, oldname, newdirfd, newname, flags) != 0:
        raise SyscallError(get_errno() or EINVAL)


def fstatfs(fd: int) -> Statfs:
    buf = Statfs()
    if libc.fstatfs(fd, ctypes.byref(buf)) != 0:
        raise SyscallError(get_errno())
    return buf


def utimens(path: bytes, atime: tuple[int, int], mtime: tuple[int, int]):
    """utimensat(AT_FDCWD, path, {atime, mtime}, 0); nsec may be UTIME_NOW/UTIME_OMIT."""
    times = (Timespec * 2)(Timespec(*atime), Timespec(*mtime))
    if libc.utimensat(AT_FDCWD, path, times, 0) != 0:
        raise SyscallError(get_errno())


def qid_type(mode: int) -> int:
    if S.S_ISDIR(mode):
        return C.QTDIR
    if S.S_ISLNK(mode):
        return C.QTSYMLINK
    return C.QTFILE


class QidPaths:
    """Qid paths unique across the host devices one mount spans.

    An overlay reports each layer's files with that layer's device, so inode
    numbers alone collide (an upper tmpfs file and a lower ext4 file may both
    be inode 10).  The first device seen (the mount root's) keeps plain inode
    numbers; each further device gets its own high bits, as gVisor's gofer
    does.  An overlay with xino puts a layer number in an inode's top bits
    (2^63 and up): those count as a further device too, so that every qid
    path stays below 2^63 (programs parse /proc/PID/maps' inode as a signed
    64-bit number).  The version is a digest of ctime, mtime and size, so a client that
    sees the same qid on a walk knows the attributes it cached are still right
    (the Sentry's revalidation of a shared mount then needs no Tgetattr).
    """

    def __init__(self):
        self._devs: dict[tuple[int, int], int] = {}

    def path(self, dev: int, ino: int) -> int:
        key = (dev, ino >> 48)
        idx = self._devs.get(key)
        if idx is None:
            idx = self._devs[key] = len(self._devs)
        if idx == 0:
            return ino
        return ((idx & 0x7FFF) << 48) | (ino & ((1 << 48) - 1))

    def qid(self, st: os.stat_result) -> Qid:
        return Qid(qid_type(st.st_mode), attr_version(st), self.path(st.st_dev, st.st_ino))


def attr_version(st: os.stat_result) -> int:
    """A 32-bit digest of what changes whenever a file's attributes do (never 0)."""
    h = hash((st.st_ctime_ns, st.st_mtime_ns, st.st_size, st.st_nlink)) & 0xFFFFFFFF
    return h or 1


def qid_of(st: os.stat_result) -> Qid:
    """A qid for a single-device tree (tests and tools); sessions use QidPaths."""
    return Qid(qid_type(st.st_mode), 0, st.st_ino)


def dtype_of_mode(mode: int) -> int:
    """Linux DT_* is the S_IFMT bits shifted down by 12."""
    return S.S_IFMT(mode) >> 12


def proc_path(fd: int) -> bytes:
    """The magic link naming the object an O_PATH descriptor holds."""
    return b"/proc/self/fd/%d" % fd


def to_u64(v: int) -> int:
    """Two's complement for the wire (pre-1970 times stay representable)."""
    return v & 0xFFFFFFFFFFFFFFFF


def errno_of(exc: BaseException) -> int:
    if isinstance(exc, SyscallError):
        return exc.errno
    if isinstance(exc, OSError):
        return exc.errno or EIO
    if isinstance(exc, (ValueError, OverflowError)):
        return EINVAL
    return EIO
