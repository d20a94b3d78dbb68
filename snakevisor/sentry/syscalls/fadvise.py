"""Advice about file I/O: fadvise64 and sync_file_range.

The Sentry has no readahead or write-back of its own to tune: tmpfs data lives in the
MemoryFile, and gofer files reach the host at once (their page cache is written back on
fsync, munmap and close). So these validate their arguments as Linux does and succeed.
"""
from snakevisor.abi.errno import EINVAL, ESPIPE, SyscallError
from snakevisor.abi.fs import (POSIX_FADV_NOREUSE, POSIX_FADV_NORMAL, SYNC_FILE_RANGE_ALL, S_IFBLK, S_IFDIR, S_IFIFO,
                               S_IFLNK, S_IFMT, S_IFREG, to_s64)
from snakevisor.sentry.syscalls.file import _file_not_path


def _mode(f):
    return f.inode.mode & S_IFMT if f.inode is not None else 0


def fadvise64(t, fd, offset, length, advice):
    f = _file_not_path(t, fd)
    if _mode(f) == S_IFIFO:
        raise SyscallError(ESPIPE)
    if to_s64(length) < 0 or not POSIX_FADV_NORMAL <= advice <= POSIX_FADV_NOREUSE:
        raise SyscallError(EINVAL)
    return 0


def sync_file_range(t, fd, offset, nbytes, flags):
    offset, nbytes = to_s64(offset), to_s64(nbytes)
    if flags & ~SYNC_FILE_RANGE_ALL & 0xFFFFFFFF or offset < 0 or nbytes < 0 or offset + nbytes >= 1 << 63:
        raise SyscallError(EINVAL)
    f = _file_not_path(t, fd)
    if _mode(f) not in (S_IFREG, S_IFBLK, S_IFDIR, S_IFLNK):
        raise SyscallError(ESPIPE)
    return 0
