"""Open host files of the gofer filesystem: ``Handle``, the bounded LRU, and per file ``HostFile``.

A handle is one inode's open host file, read-only or read-write: a descriptor the
Gofer donated, or an opened 9P fid (which holds a descriptor in the Gofer). All
of them are in ``OPEN_HANDLES``, least recently used first and bounded
independently of the application's RLIMIT_NOFILE: past the bound the oldest is
closed, and reopens (a walk from the inode's fid and a Tlopen) on its next use.
So an application may open as many Gofer files as its own limit allows while the
Sentry holds a bounded number of host descriptors for them.

``HostFile`` is the pair of handles one regular file keeps (a reader, or a writer
that also reads); ``IdleFiles`` bounds the files that keep theirs while no open
file description uses them, for a quick reopen.
"""
import os
import resource
from collections import OrderedDict

from snakevisor.abi.errno import EIO, ENXIO, SyscallError
from snakevisor.abi.fs import O_RDONLY, O_RDWR
from snakevisor.hostio import pread_full, preadv_into, pwrite_full
from snakevisor.p9.client import run_steps

MAX_OPEN_HANDLES = 2048   # open handles (host descriptors) of all gofer mounts, at most
IDLE_HANDLES = 128        # closed files whose host descriptors stay open for a reopen


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
    """An open host file of one inode (a GoferRegularFile), read-only or read-write: a donated
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
        return run_steps(self.pread_steps(n, offset))

    def pread_steps(self, n, offset):
        """Read ``n`` bytes at ``offset`` (fewer at the end of the file): a generator of 9P steps
        (p9/client.py), none on a donated descriptor."""
        out = []
        while n > 0:
            fd = self.host_fd()   # (each time: the handle may have been evicted meanwhile)
            if fd is not None:
                out.append(host_call(pread_full, fd, n, offset))
                break
            chunk = yield from self.fid.read_steps(offset, n)
            if not chunk:
                break
            out.append(chunk)
            offset += len(chunk)
            n -= len(chunk)
        return out[0] if len(out) == 1 else b"".join(out)

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

    def pwrite_steps(self, data, offset):
        """Write ``data`` at ``offset``: a generator of 9P steps, none on a donated descriptor."""
        fd = self.host_fd()
        if fd is None:
            return (yield from self.fid.write_steps(offset, data))
        return host_call(pwrite_full, fd, data, offset)

    def pwrite(self, data, offset):
        fd = self.host_fd()
        if fd is None:
            return run_steps(self.pwrite_steps(data, offset))
        try:   # host_call, inlined: every write to a donated descriptor comes here
            return pwrite_full(fd, data, offset)
        except OSError as e:
            raise SyscallError(e.errno or EIO)

    def fsync_steps(self):
        fd = self.host_fd()
        if fd is None:
            yield from self.fid.fsync_steps()
        else:
            host_call(os.fsync, fd)

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


class HostFile:
    """The open host files of one regular file: at most one read-only Handle and one
    read-write Handle (a writer serves reads too, so a reader is closed when one opens)."""

    __slots__ = ("inode", "reader", "writer")

    def __init__(self, inode):
        self.inode = inode
        self.reader = self.writer = None

    @property
    def held(self):
        """Does the file hold a handle (an open host descriptor or opened fid, or one to reopen)?"""
        return self.reader is not None or self.writer is not None

    def ensure_reader(self):
        """One read handle per file (a writer opened read-write serves as one)."""
        if self.reader is None and self.writer is None:
            self.reader = Handle(self.inode, O_RDONLY)

    def for_reading(self):
        self.ensure_reader()
        return self.writer or self.reader

    def for_writing(self):
        if self.writer is None:
            self.writer = Handle(self.inode, O_RDWR)
            if self.reader is not None:
                self.reader.close()
                self.reader = None
        return self.writer

    def adopt_reader(self, fd):
        """``fd``, a host descriptor of the file open read-only (directfs), is its reader."""
        self.reader = Handle(self.inode, O_RDONLY, fd=fd)

    def adopt_writer(self, fd=None, fid=None):
        """The file was just created open read-write: ``fd`` donated, or ``fid`` opened."""
        self.writer = Handle(self.inode, O_RDWR, fd=fd, fid=fid)

    def writer_fd(self):
        """The writer's host descriptor, or None (no writer, or 9P I/O)."""
        return self.writer.host_fd() if self.writer is not None else None

    def donated(self):
        """Is the file's I/O on a donated descriptor now (no wait for the Gofer)?"""
        h = self.writer or self.reader
        return h is not None and h.fd is not None

    def fstat(self):
        """os.fstat of the descriptor held now (none is reopened for it), or None."""
        h = self.writer or self.reader
        if h is not None and h.fd is not None:
            return host_call(os.fstat, h.fd)
        return None

    def fsync_steps(self):
        h = self.writer or self.reader
        if h is not None:
            yield from h.fsync_steps()

    def seek_data_hole(self, offset, whence):
        """lseek(SEEK_DATA or SEEK_HOLE) on the donated descriptor: the host knows the file's
        holes (ENXIO past the last data or the end). None with 9P I/O, which knows none."""
        fd = self.for_reading().host_fd()
        return None if fd is None else host_call(os.lseek, fd, offset, whence)

    def close(self):
        for h in (self.reader, self.writer):
            if h is not None:
                h.close()
        self.reader = self.writer = None


class IdleFiles:
    """Files of one mount with handles but no open file description, least recently closed
    first: kept for a quick reopen, at most ``limit`` of them, so the Sentry does not hold a
    host descriptor for every file ever opened."""

    def __init__(self, limit=IDLE_HANDLES):
        self.limit = limit
        self.lru = OrderedDict()

    def busy(self, inode):
        """``inode`` is open again (or gone): no longer idle."""
        self.lru.pop(inode, None)

    def rest(self, inode):
        """``inode``'s last open file is closed: keep its handles, closing the oldest past the bound."""
        self.lru[inode] = None
        while len(self.lru) > self.limit:
            old, _ = self.lru.popitem(last=False)
            old.host.close()
