"""Advice about file I/O and the page cache: fadvise64, sync_file_range, cachestat.

The Sentry has no readahead or write-back of its own to tune: tmpfs data lives in the
MemoryFile, and gofer files reach the host at once (their page cache is written back on
fsync, munmap and close). So these validate their arguments as Linux does and succeed.
"""
from snakevisor.abi.capability import CAP_FOWNER
from snakevisor.abi.errno import EBADF, EINVAL, EPERM, ESPIPE, SyscallError
from snakevisor.abi.fs import (POSIX_FADV_NOREUSE, POSIX_FADV_NORMAL, SYNC_FILE_RANGE_ALL, S_IFBLK, S_IFDIR, S_IFIFO,
                               S_IFLNK, S_IFMT, S_IFREG, O_PATH, CACHESTAT, CACHESTAT_RANGE, to_s32, to_s64)
from snakevisor.sentry.vfs.permissions import MAY_WRITE, check_permission
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


def cachestat(t, fd, range_addr, out_addr, flags):
    """cachestat(2) over the Sentry's page cache: tmpfs (and memfd) pages are counted exactly
    (never dirty, as Linux's shmem); a Gofer file counts the pages the Sentry caches for it
    (its mappings), not the host's cache of the file."""
    f = t.fdtable.get(to_s32(fd))
    if f.flags & O_PATH:
        raise SyscallError(EBADF)
    if flags:
        raise SyscallError(EINVAL)
    off, length = CACHESTAT_RANGE.unpack(t.mm.copy_in(range_addr, CACHESTAT_RANGE.size))
    inode = f.inode
    if inode is not None and not f.writable and inode.uid != t.creds.fsuid and not t.creds.has_cap(CAP_FOWNER):
        try:
            check_permission(t.creds, inode, MAY_WRITE)
        except SyscallError:
            raise SyscallError(EPERM)   # can_do_cachestat: residency is a side channel
    first = off >> 12
    last = (1 << 52) if length == 0 else (off + length - 1) >> 12
    try:
        cache = f.mappable().cache   # the PageCache a mapping would use (None: none made yet)
    except SyscallError:
        cache = None                 # not mappable (a pipe, a socket): nothing cached
    cached, dirty = cache.residency(first, last) if cache is not None and last >= first else (0, 0)
    t.mm.copy_out(out_addr, CACHESTAT.pack(cached, dirty, 0, 0, 0))
    return 0
