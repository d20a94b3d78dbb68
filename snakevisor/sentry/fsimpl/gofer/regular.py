"""Regular gofer files: their data I/O through host handles, and their open file descriptions.

The Gofer may donate a host descriptor at open (the snakevisor extension): reads
and writes are then a plain ``pread``/``pwrite`` on it, with no 9P round trip;
without donation they go over Tread/Twrite on an opened fid, and read(2),
write(2) and fsync(2) wait for the replies while other Tasks run
(``read_waiting``...). Either is a Handle (handles.py) in the file's
``HostFile``; mappings are its ``FileMapping`` (mapping.py).
"""
import os

from snakevisor.abi.errno import EOPNOTSUPP, EROFS, SyscallError
from snakevisor.abi.fs import (FALLOC_FL_COLLAPSE_RANGE, FALLOC_FL_INSERT_RANGE, FALLOC_FL_KEEP_SIZE,
                               FALLOC_FL_PUNCH_HOLE, FALLOC_FL_ZERO_RANGE, O_ACCMODE, O_RDONLY, O_TRUNC)
from snakevisor.hostio import preadv_into
from snakevisor.hostos.libc import checked, libc
from snakevisor.p9 import constants as P9
from snakevisor.p9.client import run_steps
from snakevisor.sentry.fsimpl.gofer import directfs
from snakevisor.sentry.fsimpl.gofer.handles import HostFile, host_call
from snakevisor.sentry.fsimpl.gofer.inode import GoferInode
from snakevisor.sentry.fsimpl.gofer.mapping import FileMapping
from snakevisor.sentry.fsimpl.gofer.wait import in_task
from snakevisor.sentry.vfs.file import FileDescriptionImpl
from snakevisor.sentry.vfs.waiter import TaskMutex



_SHIFTING = FALLOC_FL_COLLAPSE_RANGE | FALLOC_FL_INSERT_RANGE    # fallocate modes that move data


class GoferRegularFile(GoferInode):
    direct_io = True

    def __init__(self, fs, fid, attr):
        # Before the attributes are taken: a size is applied to the mapping's cache.
        self.host = HostFile(self)        # the open host files: reader and writer
        self.mapping = FileMapping(self)  # the page cache, for mappings
        self.opens = 0                    # open file descriptions (GoferFileImpl)
        self.io_lock = TaskMutex()        # reads and writes that wait for the Gofer, one at a time
        super().__init__(fs, fid, attr)

    def _set_size(self, size):
        if size < self.size:
            self.mapping.truncate(size)
        self.size = size

    def _fetch(self):
        """A host fstat when we hold a descriptor; a Tgetattr otherwise."""
        st = self.host.fstat()
        if st is None:
            return super()._fetch()
        self.refresh_host(st)

    def open(self, task, flags):
        if flags & O_ACCMODE != O_RDONLY or flags & O_TRUNC:
            if self.fs.readonly:
                raise SyscallError(EROFS)
            self.host.for_writing()
        else:
            if not self.host.held and self.fs.directfs:
                fd = directfs.open_read(self)   # no Twalk and Tlopen
                if fd is not None:
                    self.host.adopt_reader(fd)
            self.host.ensure_reader()
        try:
            self.revalidate()
        except SyscallError:
            pass
        return GoferFileImpl(self)

    def created_open(self, fid, host_fd):
        """The file was just made by Tlcreate on ``fid`` (this inode's fid), which is open
        read-write; ``host_fd`` is its donated descriptor, or None."""
        if host_fd is None:
            # The created fid is open read-write: it is the file's first writer.
            self.host.adopt_writer(fid=fid)
            return
        # I/O goes through the donated descriptor: the inode keeps an unopened fid, whose
        # descriptor in the Gofer may be closed while idle (an open one holds two for good).
        try:
            self.fid = fid.walk([])
            fid.clunk(wait=False)
        except SyscallError:
            pass   # it keeps the opened one
        self.host.adopt_writer(fd=host_fd)

    def host_lock_fd(self):
        """(a host descriptor of an open description of this file, writable?) for the Sentry to
        hold the sandbox's locks on (vfs/hostlocks.py): a dup of its writer's, else its
        reader's; None where I/O is 9P's (no descriptor)."""
        ways = ((self.host.for_reading, False),) if self.fs.readonly else \
            ((self.host.for_writing, True), (self.host.for_reading, False))
        for handle, writable in ways:
            try:
                fd = handle().host_fd()
            except SyscallError:
                continue   # (not to be opened for writing by the Gofer: read locks only)
            if fd is not None:
                return os.dup(fd), writable
        return None

    def opened(self):
        self.opens += 1
        self.fs.idle.busy(self)

    def closed(self):
        self.opens -= 1
        # A cached file keeps its handles (its pages fill through them) until it is evicted;
        # a file a writable mapping may have changed is always a cached one.
        if self.opens > 0 or self.mapping.cache is not None:
            return
        self.fs.idle.rest(self)

    # -- data --------------------------------------------------------------------------
    # On a donated descriptor I/O is a host call (read_data, write_data). Over 9P it is steps
    # (p9/client.py) that a Task runs through wait.py's in_task, waiting for the Gofer while
    # others run (read_steps, write_steps).
    def _clip_read(self, offset, n):
        """(the count to read from the host, or the data itself when it is not read there)."""
        dirty = self.mapping.dirty
        if self.fs.readonly or dirty:
            n = min(n, max(self.size - offset, 0))
        if n <= 0:
            return 0, b""
        if dirty:
            # The application may have written through a shared mapping: the cache is newest.
            return n, self.mapping.cache.read(offset, n)
        return n, None

    def read_data(self, offset, n):
        n, data = self._clip_read(offset, n)
        return self.host.for_reading().pread(n, offset) if data is None else data

    def read_into(self, offset, n, views_of):
        """read_data on a donated descriptor, straight into application memory: ``views_of(count)``
        gives the views of the buffer's first ``count`` bytes; the count read."""
        n, data = self._clip_read(offset, n)
        if n <= 0:
            return 0
        views, done = views_of(n), 0
        if data is not None:   # newest in the cache (a shared mapping wrote)
            for v in views:
                v[:] = data[done:done + len(v)]
                done += len(v)
            return done
        fd = self.host.for_reading().host_fd()
        for v in views:
            got = host_call(preadv_into, fd, v, offset + done)
            done += got
            if got < len(v):
                break   # end of file
        return done

    def read_steps(self, offset, n):
        n, data = self._clip_read(offset, n)
        return (yield from self.host.for_reading().pread_steps(n, offset)) if data is None else data

    def write_data(self, offset, data):
        return self._wrote(offset, data, self.host.for_writing().pwrite(data, offset))

    def write_steps(self, offset, data):
        return self._wrote(offset, data, (yield from self.host.for_writing().pwrite_steps(data, offset)))

    def _wrote(self, offset, data, n):
        if self.mode & 0o6000 and n:
            self.keep_setid()
        if self.mapping.cache is not None:
            self.mapping.update(offset, memoryview(data)[:n])
        if offset + n > self.size:
            self.size = offset + n
        self.touch_mtime()
        return n

    def _resize(self, size):
        self.mapping.sync()
        fd = self.host.writer_fd()
        if fd is not None:
            host_call(os.ftruncate, fd, size)
            if self.mode & 0o6000:
                self.keep_setid()
            return 0
        return P9.SETATTR_SIZE

    def keep_setid(self):
        """The host clears a file's set-id bits when the Sentry, without CAP_FSETID there, writes
        to, truncates or allocates it through a donated descriptor. Whether they go is the VFS's decision,
        already applied to ``mode`` (vfs/file.py remove_privs): the Gofer, which has CAP_FSETID,
        sets what remains back. (Over 9P the Gofer writes and the host keeps them.)"""
        if self.host.donated():
            self.fid.setattr(P9.SETATTR_MODE, mode=self.mode & 0o7777, uid=0, gid=0, size=0, atime_ns=0, mtime_ns=0)

    def allocate(self, mode, offset, length):
        fd = self.host.for_writing().host_fd()
        if fd is None:
            if mode != 0:
                raise SyscallError(EOPNOTSUPP)
            if offset + length > self.size:
                self.setattr(size=offset + length)
            return
        if mode & _SHIFTING:
            self.mapping.sync()    # the host moves the file's data: what a mapping wrote first
        checked(libc.fallocate(fd, mode, offset, length))
        if self.mode & 0o6000:
            self.keep_setid()
        if mode & _SHIFTING:
            # The data past offset moved on the host (ext4, xfs): its size and cached bytes now.
            self._set_size(host_call(os.fstat, fd).st_size)
            self.mapping.reload_from(offset)
        elif mode & (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE) and self.mapping.cache is not None:
            end = min(offset + length, self.size)
            if end > offset:
                self.mapping.update(offset, bytes(end - offset))
        if not mode & (FALLOC_FL_KEEP_SIZE | _SHIFTING) and offset + length > self.size:
            self.size = offset + length
        self.touch_mtime()

    def fsync_steps(self):
        self.mapping.sync()
        yield from self.host.fsync_steps()

    def mappable(self):
        self.host.ensure_reader()
        return self.mapping.ensure_cache()

    def evict(self):
        self.mapping.release()
        self.fs.idle.busy(self)
        self.host.close()
        super().evict()


class GoferFileImpl(FileDescriptionImpl):
    seekable = True

    def __init__(self, inode):
        super().__init__(inode)
        inode.opened()

    def read(self, task, n, offset):
        return self.inode.read_data(offset, n)

    def write(self, task, data, offset):
        return self.inode.write_data(offset, data)

    # On a donated descriptor reads and writes are host calls between the host file and
    # application memory (copy_read, writes_from_views: see vfs/file.py); over 9P they wait,
    # and no view of application memory may be held across a wait.
    @property
    def copy_read(self):
        return self._copy_read if self.inode.host.donated() else None

    @property
    def writes_from_views(self):
        return self.inode.host.donated()

    def _copy_read(self, task, buf, n, offset):
        return self.inode.read_into(offset, n, lambda count: task.mm.io_views(buf, count, write=True))

    # read(2), write(2) and fsync(2) wait for the Gofer through these, unless the file's
    # descriptor was donated (then the plain methods are host calls that cost no wait).
    # Asked on every read and write: no bound method is made for a donated file.
    @property
    def read_waiting(self):
        return None if self.inode.host.donated() else self._read_waiting

    @property
    def write_waiting(self):
        return None if self.inode.host.donated() else self._write_waiting

    @property
    def fsync_waiting(self):
        return None if self.inode.host.donated() else self._fsync_waiting

    def _read_waiting(self, task, n, offset):
        return in_task(task, self.inode.read_steps(offset, n))

    def _write_waiting(self, task, data, offset):
        return in_task(task, self.inode.write_steps(offset, data))

    def _fsync_waiting(self, task):
        return in_task(task, self.inode.fsync_steps())

    @property
    def io_lock(self):
        return self.inode.io_lock

    def end_offset(self):
        inode = self.inode
        if not inode.fs.exclusive:
            inode.revalidate(force=True)   # O_APPEND and SEEK_END see the host's current size
        return inode.size

    def mappable(self):
        return self.inode.mappable()

    def seek_data_hole(self, offset, whence):
        inode = self.inode
        inode.mapping.sync()     # pages written through a mapping are data, as in Linux's page cache
        pos = inode.host.seek_data_hole(offset, whence)
        return super().seek_data_hole(offset, whence) if pos is None else pos

    def allocate(self, mode, offset, length):
        self.inode.allocate(mode, offset, length)

    def truncate(self, size):
        self.inode.setattr(size=size)

    def fsync(self):
        run_steps(self.inode.fsync_steps())

    def release(self):
        try:
            self.inode.mapping.sync()
        except SyscallError:
            pass
        self.inode.closed()
