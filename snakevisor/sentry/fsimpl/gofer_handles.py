"""Open host files of the gofer filesystem (fsimpl/gofer.py): ``Handle`` and the bounded LRU.

A handle is one inode's open host file, read-only or read-write: a descriptor the
Gofer donated, or an opened 9P fid (which holds a descriptor in the Gofer). All
of them are in ``OPEN_HANDLES``, least recently used first and bounded
independently of the application's RLIMIT_NOFILE: past the bound the oldest is
closed, and reopens (a walk from the inode's fid and a Tlopen) on its next use.
So an application may open as many Gofer files as its own limit allows while the
Sentry holds a bounded number of host descriptors for them.
"""
import os
import resource
from collections import OrderedDict

from snakevisor.abi.errno import EIO, ENXIO, SyscallError
from snakevisor.abi.fs import O_RDONLY
from snakevisor.hostio import pread_full, preadv_into, pwrite_full

MAX_OPEN_HANDLES = 2048   # open handles (host descriptors) of all gofer mounts, at most


def host_call(fn, *args):
    """A host call on a donated descriptor, with OSError turned into the errno."""
    try:
        return fn(*args)
    except OSError as e:
        raise SyscallError(e.errno or EIO)


class OpenHandles:
    """Every open Handle, least recently used first, at most ``limit`` of them: what the
    Sentry holds on the host for Gofer files does not grow with the application's open files
    (nor exhaust the Sentry's own RLIMIT_NOFILE). An evicted handle is closed; its next use
    reopens it."""

    def __init__(self, limit=MAX_OPEN_HANDLES):
        self.limit = limit
        self.lru = OrderedDict()

    def used(self, handle):
        lru = self.lru
        if handle in lru:
            lru.move_to_end(handle)
            return
        lru[handle] = None
        while len(lru) > self.limit:
            old, _ = lru.popitem(last=False)
            old.close_host()

    def forget(self, handle):
        self.lru.pop(handle, None)

    def fit_to_rlimit(self):
        """Keep well inside the Sentry's own descriptor limit (host sockets and the rest need room)."""
        soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
        if soft != resource.RLIM_INFINITY:
            self.limit = max(16, min(MAX_OPEN_HANDLES, soft // 4))


OPEN_HANDLES = OpenHandles()


class Handle:
    """An open host file of one inode (a GoferInode), read-only or read-write: a donated
    descriptor (``fd``) or an opened 9P fid. Closed by OPEN_HANDLES when it is the least recently used one past
    the bound (``close_host``), it reopens on its next use."""

    __slots__ = ("inode", "flags", "fd", "fid")

    def __init__(self, inode, flags, fd=None, fid=None):
        self.inode, self.flags = inode, flags
        self.fd, self.fid = fd, fid
        if fd is None and fid is None:
            self._reopen()
        OPEN_HANDLES.used(self)

    @property
    def writable(self):
        return self.flags != O_RDONLY

    def _reopen(self):
        fid = self.inode.fid.walk([])
        try:
            result = fid.lopen(self.flags)
        except SyscallError:
            fid.clunk()
            raise
        if result.host_fd is not None:
            fid.clunk()
            self.fd = result.host_fd
        else:
            self.fid = fid     # no donation (or the descriptor could not be received): 9P I/O

    def host_fd(self):
        """The donated descriptor (reopened if it was evicted), or None for 9P I/O on ``fid``."""
        if self.fd is None and self.fid is None:
            self._reopen()
        OPEN_HANDLES.used(self)
        return self.fd

    def pread(self, n, offset):
        fd = self.host_fd()
        if fd is not None:
            return host_call(pread_full, fd, n, offset)
        out = []
        while n > 0:
            chunk = self.fid.read(offset, n)
            if not chunk:
                break
            out.append(chunk)
            offset += len(chunk)
            n -= len(chunk)
        return b"".join(out)

    def pread_into(self, view, offset):
        """Fill ``view`` from ``offset`` (what lies past the end of the file is left alone);
        on a donated descriptor only the file's data extents are read, so the host file's
        holes stay holes of ``view``'s (zeroed) MemoryFile pages."""
        fd = self.host_fd()
        if fd is None:
            pos, n = 0, len(view)
            while pos < n:
                chunk = self.fid.read(offset + pos, min(n - pos, 1 << 20))
                if not chunk:
                    break
                view[pos:pos + len(chunk)] = chunk
                pos += len(chunk)
            return
        end = offset + len(view)
        pos = offset
        while pos < end:
            try:
                data = os.lseek(fd, pos, os.SEEK_DATA)
                hole = min(os.lseek(fd, data, os.SEEK_HOLE), end)
            except OSError as e:
                if e.errno == ENXIO:
                    return          # no data after pos
                data, hole = pos, end   # no SEEK_DATA here: read it all
            if data >= end:
                return
            host_call(preadv_into, fd, view[data - offset:hole - offset], data)
            pos = hole

    def pwrite(self, data, offset):
        fd = self.host_fd()
        if fd is None:
            return self.fid.write(offset, data)
        return host_call(pwrite_full, fd, data, offset)

    def fsync(self):
        fd = self.host_fd()
        if fd is not None:
            host_call(os.fsync, fd)
        else:
            self.fid.fsync()

    def close_host(self):
        """Release the descriptor or the opened fid (the inode's own fid stays its own)."""
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None
        fid, self.fid = self.fid, None
        if fid is not None and fid is not self.inode.fid:
            try:
                fid.clunk()
            except SyscallError:
                pass

    def close(self):
        OPEN_HANDLES.forget(self)
        self.close_host()
