"""FDTable: a process's file descriptor numbers -> (FileDescription, close-on-exec).

Reference rule: ``install``/``install_at`` take over ONE reference the
caller holds (a fresh FileDescription has refs=1; for dup pass
``file.inc_ref()``). ``remove`` hands the table's reference back: the caller
``dec_ref()``s it (close does exactly that). A replaced or closed-on-exec
description is released by the table itself.
"""
import bisect

from snakevisor.abi.errno import EBADF, EINVAL, EMFILE, SyscallError
from snakevisor.abi.resource import NR_OPEN
from snakevisor.sentry.vfs import locks

DEFAULT_NOFILE = 1024
# /proc/sys/fs/nr_open: the ceiling of RLIMIT_NOFILE (setrlimit above it is EPERM), so of fd numbers
LIMITS = {"nr_open": NR_OPEN}
NR_OPEN_MIN, NR_OPEN_MAX = 64, 2147483584   # sysctl_nr_open_min/_max (BITS_PER_LONG; INT_MAX & -64)


class FDTable:
    def __init__(self, limit: int = DEFAULT_NOFILE):
        self.limit = limit                 # RLIMIT_NOFILE soft limit
        self._files: dict[int, list] = {}  # fd -> [file, cloexec]
        self._used: list[int] = []         # sorted fds, for lowest-free search

    def set_limit(self, limit: int) -> None:
        self.limit = max(0, min(limit, LIMITS["nr_open"]))

    def __len__(self):
        return len(self._files)

    def __iter__(self):
        """(fd, file) in fd order (for /proc/self/fd)."""
        return iter([(fd, self._files[fd][0]) for fd in self._used])

    def __contains__(self, fd):
        return fd in self._files

    def get(self, fd: int):
        e = self._files.get(fd)
        if e is None:
            raise SyscallError(EBADF)
        return e[0]

    def _lowest_free(self, minfd: int) -> int:
        used = self._used
        i = bisect.bisect_left(used, minfd)
        if i == len(used) or used[i] != minfd:
            return minfd
        # used[j] - j never decreases (sorted, distinct fds): the run of consecutive fds from
        # minfd ends where it grows. A binary search, not a walk: a dense table of thousands of
        # fds made every open O(n).
        key, lo, hi = minfd - i, i, len(used)
        while lo < hi:
            mid = (lo + hi) // 2
            if used[mid] - mid == key:
                lo = mid + 1
            else:
                hi = mid
        return minfd + (lo - i)

    def install(self, file, cloexec: bool = False, minfd: int = 0) -> int:
        """Put ``file`` at the lowest free fd >= minfd; EMFILE past the limit."""
        if minfd < 0:
            raise SyscallError(EINVAL)
        fd = self._lowest_free(minfd)
        if fd >= self.limit:
            raise SyscallError(EMFILE)
        self._files[fd] = [file, bool(cloexec)]
        bisect.insort(self._used, fd)
        return fd

    def install_at(self, fd: int, file, cloexec: bool = False) -> int:
        """dup2/dup3: put ``file`` at ``fd``, closing what was there. EBADF past the limit."""
        if fd < 0 or fd >= self.limit:
            raise SyscallError(EBADF)
        old = self._files.get(fd)
        self._files[fd] = [file, bool(cloexec)]
        if old is None:
            bisect.insort(self._used, fd)
        else:
            self._closing(old[0])
            old[0].dec_ref()
        return fd

    def remove(self, fd: int):
        """Take ``fd`` out; the caller now owns the table's reference (and must dec_ref it)."""
        e = self._files.pop(fd, None)
        if e is None:
            raise SyscallError(EBADF)
        del self._used[bisect.bisect_left(self._used, fd)]
        self._closing(e[0])
        return e[0]

    def _closing(self, file) -> None:
        """Closing any descriptor of a file drops the record locks this table's process holds on it,
        and tells the file (its impl's on_close hook)."""
        if locks.any_locks() and file.inode is not None:
            locks.release_posix(self, file.inode)
        on_close = file.impl.on_close
        if on_close is not None:
            on_close(self)

    def close(self, fd: int) -> None:
        self.remove(fd).dec_ref()

    def get_cloexec(self, fd: int) -> bool:
        e = self._files.get(fd)
        if e is None:
            raise SyscallError(EBADF)
        return e[1]

    def set_cloexec(self, fd: int, cloexec: bool) -> None:
        e = self._files.get(fd)
        if e is None:
            raise SyscallError(EBADF)
        e[1] = bool(cloexec)

    def fds_in_range(self, first: int, last: int) -> list[int]:
        lo = bisect.bisect_left(self._used, first)
        hi = bisect.bisect_right(self._used, last)
        return self._used[lo:hi]

    def close_on_exec(self) -> None:
        """execve: close every descriptor marked close-on-exec."""
        for fd in [fd for fd in self._used if self._files[fd][1]]:
            self.close(fd)

    def check_copy(self) -> None:
        """dup_fd: a copy's table holds the words of bits (64 descriptors each) up to the highest
        open descriptor, and can hold no more than nr_open rounded up to a word: EMFILE past it
        (a lowered fs.nr_open with a descriptor above it)."""
        if self._used and (self._used[-1] // 64 + 1) * 64 > ((LIMITS["nr_open"] - 1) | 63) + 1:
            raise SyscallError(EMFILE)

    def fork(self) -> "FDTable":
        """A copy sharing the descriptions (fork/clone without CLONE_FILES, unshare)."""
        self.check_copy()
        t = FDTable(self.limit)
        for fd in self._used:
            f, cloexec = self._files[fd]
            t._files[fd] = [f.inc_ref(), cloexec]
        t._used = list(self._used)
        return t

    def close_all(self) -> None:
        """Process exit: release every descriptor."""
        for fd in list(self._used):
            self.close(fd)
