"""FileDescription (the open file) and FileDescriptionImpl (what a filesystem supplies).

A FileDescription is what an fd refers to: the VirtualDentry it was opened
at, status flags, the file offset, a reference count (dup/fork share it).
The generic rules live here once — access mode and O_PATH checks, offsets,
O_APPEND, pread/pwrite validation, lseek, getdents — and call the
FileDescriptionImpl for the data. Impls raise EAGAIN when they would block;
the syscall layer then waits on ``waitable(task)`` unless O_NONBLOCK is set.
The Task an operation is done for is its first argument (read, write, readiness,
waitable, ioctl), never looked up from a global.
"""
from snakevisor.abi.errno import (EBADF, EFAULT, EFBIG, EINVAL, EISDIR, ENODEV, ENOTDIR, ENOTTY, ENXIO,
                                  ESPIPE, SyscallError)
from snakevisor.abi.fs import (O_ACCMODE, O_APPEND, O_PATH, O_RDONLY, O_RDWR, O_WRONLY, O_OPEN_ONLY,
                               MAX_RW_COUNT, SEEK_SET, SEEK_CUR, SEEK_END, SEEK_DATA, SEEK_HOLE,
                               DT_DIR, POLLIN, POLLOUT, POLLRDNORM, POLLWRNORM,
                               pack_dirent64, pack_dirent, S_IFMT, S_IFREG, O_NOATIME, MS_NOATIME, MS_NODIRATIME)
from snakevisor.abi.inotify import IN_ACCESS, IN_CLOSE_NOWRITE, IN_CLOSE_WRITE, IN_MODIFY
from snakevisor.sentry.vfs import dnotify, fasync, fsnotify, leases, locks
from snakevisor.sentry.vfs.permissions import setid_bits_to_kill

MAX_LFS_FILESIZE = (1 << 63) - 1


SETID_BITS = 0o6000


def needs_remove_privs(inode) -> bool:
    """Whether a write or truncation of ``inode`` must call remove_privs (a cheap first look:
    Linux's IS_NOSEC)."""
    return bool(inode.mode & SETID_BITS) or inode.has_file_caps()


def remove_privs(creds, dentry) -> None:
    """A write to, or truncation of, a regular file clears its set-id bits unless the writer
    has CAP_FSETID, and its file capabilities whoever writes (Linux's file_remove_privs,
    do_truncate): a changed program must not keep running as its owner or with its
    capabilities. Callers ask only when ``needs_remove_privs(inode)``."""
    inode = dentry.inode
    if inode.is_reg and inode.has_file_caps():
        inode.kill_priv()
    kill = setid_bits_to_kill(creds, inode)
    if kill:
        inode.setattr(mode=inode.mode & 0o7777 & ~kill)
        fsnotify.attributes_changed(dentry, mode=True)


class FileSizeLimitExceeded(SyscallError):
    """EFBIG from a write that starts at or past the writer's RLIMIT_FSIZE (the caller sends SIGXFSZ)."""

    def __init__(self):
        super().__init__(EFBIG)


class FileDescriptionImpl:
    """Per-open-file behaviour supplied by a filesystem. Defaults: not readable/writable/seekable.

    Besides the methods below, an impl may set these optional hooks (None/False: not offered);
    the syscall layer asks for them by name, never by probing:
      ``task_read(task, file, vecs)`` / ``task_write(task, file, vecs)``: move data straight
        between application memory ``vecs`` [(addr, len)] and the file (host sockets): the count,
        or a generator that gives it when the call must wait;
      ``blocking_read(task, n)``: a generator for a read with its own timing (a terminal's
        VMIN/VTIME), or None to read as usual;
      ``blocking_ioctl(task, cmd, arg)``: a generator serving every ioctl of the file, for one
        whose ioctls may wait (seccomp's NOTIF_RECV);
      ``write_discarding(count)``: a sink that never looks at the data (/dev/null): the count;
      ``send_empty(task, file)``: what a zero-length write(2) does (datagram sockets send one);
      ``always_eof``: reads return 0 without touching the buffer; ``seek_always_zero``: lseek
        always answers 0; ``sigpipe_on_epipe``: EPIPE from a write also raises SIGPIPE;
      ``on_close(fdtable)``: any descriptor of it in ``fdtable`` is being closed (Linux's
        ->flush, once per close, not only at the last reference: mq_notify's owner);
      ``read_waiting(task, n, offset)`` / ``write_waiting(task, data, offset)``: generators for
        a seekable file whose I/O waits for another process (the Gofer without a donated
        descriptor) while other Tasks run, under ``io_lock`` (a vfs.waiter.TaskMutex);
        ``fsync_waiting(task)`` likewise for fsync;
      ``open_waiting(task)``: a generator a blocking open(2) runs before its descriptor is
        installed (a FIFO end waiting for its partner); a signal ends it (ERESTARTSYS).
    """

    seekable = False
    copy_read = None   # copy_read(task, buf, n, offset): a read straight into application memory
    writes_from_views = False   # write's data may be a memoryview of application memory
    wait_items = None   # wait_items() -> [(waitable, mask)]: a file that needs several (an epoll)
    task_read = None
    task_write = None
    blocking_read = None
    blocking_ioctl = None
    write_discarding = None
    send_empty = None
    on_close = None
    read_waiting = None
    write_waiting = None
    fsync_waiting = None
    open_waiting = None
    io_lock = None
    always_eof = False
    seek_always_zero = False
    sigpipe_on_epipe = False
    # Linux's ->splice_read / ->splice_write: without them splice, sendfile and copy_file_range
    # refuse the file (EINVAL) before waiting on anything (anon_inode files, /dev/null's read side)
    splice_read = True
    splice_write = True

    def __init__(self, inode=None):
        self.inode = inode
        self.description = None  # set by FileDescription

    def read(self, task, n: int, offset: int | None) -> bytes:
        """Up to ``n`` bytes at ``offset`` (None: not seekable) for ``task``, the Task on whose behalf
        the read is done (a signalfd reads its signals, a terminal applies job control to it; None:
        the Sentry itself, e.g. the loader). Every data operation below gets it the same way,
        as gVisor's get a context: nothing reads a global "current task"."""
        raise SyscallError(EINVAL)

    def write(self, task, data, offset: int | None) -> int:
        raise SyscallError(EINVAL)

    def end_offset(self) -> int:
        """The offset SEEK_END and O_APPEND use."""
        return self.inode.size if self.inode is not None else 0

    def seek_end(self) -> int:
        """Where SEEK_END, SEEK_DATA and SEEK_HOLE seek from (EINVAL: a file that cannot)."""
        return self.end_offset()

    def seek_data_hole(self, offset: int, whence: int) -> int:
        # Without hole tracking the whole file is data (what Linux does by default).
        size = self.seek_end()
        if offset >= size:
            raise SyscallError(ENXIO)
        return offset if whence == SEEK_DATA else size

    def stat(self):
        return self.inode.stat()

    def ioctl(self, task, cmd: int, arg: int) -> int:
        if self.inode is not None:
            return self.inode.ioctl(task, cmd, arg)
        raise SyscallError(ENOTTY)

    def readiness(self, task, mask: int) -> int:
        """The events of ``mask`` ready for ``task`` (poll's, select's or epoll_wait's caller)."""
        return mask & (POLLIN | POLLOUT | POLLRDNORM | POLLWRNORM)

    def waitable(self, task):
        """The WaitQueue (or HostFdWaitable) ``task`` waits on for readiness; None: nothing to wait for."""
        return None

    def mappable(self):
        raise SyscallError(ENODEV)

    def allocate(self, mode: int, offset: int, length: int) -> None:
        raise SyscallError(ENODEV)

    def fsync(self) -> None:
        # Linux's vfs_fsync_range: a file without ->fsync (pipes, sockets, devices, anon_inode
        # and procfs files) is EINVAL; filesystems' regular files and directories override this
        raise SyscallError(EINVAL)

    def truncate(self, size: int) -> None:
        """ftruncate through this description (host files truncate the host file)."""
        self.inode.setattr(size=size)

    def fcntl(self, task, cmd: int, arg: int) -> int:
        """fcntl commands the generic layer does not know (F_GETPIPE_SZ, seals...)."""
        if cmd in (1031, 1032):  # F_SETPIPE_SZ, F_GETPIPE_SZ on something that is not a pipe
            raise SyscallError(EBADF)
        raise SyscallError(EINVAL)

    def release(self) -> None:
        pass


class DirectoryImpl(FileDescriptionImpl):
    """An open directory: only getdents and lseek (done by FileDescription)."""

    seekable = True

    def read(self, task, n, offset):
        raise SyscallError(EISDIR)

    def write(self, task, data, offset):
        raise SyscallError(EISDIR)

    def end_offset(self):
        raise SyscallError(EINVAL)

    def seek_end(self):
        if self.inode.fs.dir_seek_end:
            return self.inode.size
        raise SyscallError(EINVAL)

    def fsync(self):
        if not self.inode.fs.dir_fsync:
            raise SyscallError(EINVAL)


class PathImpl(FileDescriptionImpl):
    """The impl of an O_PATH description (FileDescription refuses I/O before reaching it)."""


class FileDescription:
    # Landlock rights (TRUNCATE, IOCTL_DEV) a domain denied when the file was opened: ftruncate and
    # ioctl ask the open file, as Linux's; a file opened outside any domain is denied nothing.
    landlock_denied = 0
    # (process, Landlock domain) of whoever set the owner (F_SETOWN): SIGIO obeys its signal scope
    owner_landlock = None

    def __init__(self, impl: FileDescriptionImpl, vd, flags: int, write_access: bool = True):
        self.impl = impl
        impl.description = self
        self.vd = vd
        self.flags = flags & ~O_OPEN_ONLY
        self.offset = 0
        self.refs = 1
        self.direct_io = False   # opened where O_DIRECT is taken (FMODE_CAN_ODIRECT): F_SETFL may set it
        self.owner = 0           # F_SETOWN/F_SETOWN_EX: a pid, tid or process group id
        self.owner_type = 1      # F_OWNER_PID; F_OWNER_TID 0, F_OWNER_PGRP 2
        self.signal = 0          # F_SETSIG
        self.fasync = None       # O_ASYNC registration (vfs/fasync.py)
        self.dnotify = None      # F_NOTIFY registration (vfs/dnotify.py)
        # A regular file open for writing may not be executed (ETXTBSY): counted on its inode; nor
        # may its mount be made read-only (EBUSY): counted on the mount. ``write_access`` False:
        # a pseudo file's description, which takes none (Linux's alloc_file_pseudo: memfd).
        inode = vd.dentry.inode
        self.counts_as_writer = (write_access and flags & O_ACCMODE in (O_WRONLY, O_RDWR) and not flags & O_PATH
                                 and inode is not None and inode.mode & S_IFMT == S_IFREG)
        if self.counts_as_writer:
            inode.writers += 1
            vd.mount.writers += 1
        # Read-only opens of a regular file, for F_SETLEASE's "no other opener" (i_readcount)
        self.counts_as_reader = (flags & O_ACCMODE == O_RDONLY and not flags & O_PATH
                                 and inode is not None and inode.mode & S_IFMT == S_IFREG)
        if self.counts_as_reader:
            inode.readers += 1
        self._dirents = None     # directory snapshot for getdents
        vd.dentry.inc_ref()
        vd.mount.inc_ref()

    def __repr__(self):
        return f"FileDescription({self.vd.dentry!r}, flags={self.flags:#o})"

    # --- references -------------------------------------------------------------
    def inc_ref(self) -> "FileDescription":
        self.refs += 1
        return self

    def dec_ref(self) -> None:
        self.refs -= 1
        if self.refs == 0:
            self.release()

    def holding(self, waiting):
        """The generator ``waiting`` of a syscall that blocks on this file, holding a reference
        meanwhile (as Linux's fdget): another thread's close ends the descriptor, not the open
        file, so the blocked call goes on with it (a pipe's reader still counts as one, a host
        socket's fd stays open and is not reused under it)."""
        self.inc_ref()
        try:
            return (yield from waiting)
        finally:
            self.dec_ref()

    def release(self) -> None:
        """Last reference gone: let the impl free what it holds, drop the Dentry."""
        inode = self.vd.dentry.inode   # the property once: every close comes here
        try:
            if inode is not None and locks.any_locks():
                locks.release_description(self, inode)
            if self.fasync is not None:
                fasync.release(self)
            if self.dnotify is not None:
                dnotify.release(self)
            if self.counts_as_writer:
                inode.writers -= 1
                self.vd.mount.writers -= 1
            elif self.counts_as_reader:
                inode.readers -= 1
            if inode is not None and inode.leases is not None:
                leases.release(self)
            if fsnotify.marks and not self.flags & O_PATH:
                fsnotify.file_event(self.vd.dentry, IN_CLOSE_WRITE if self.writable else IN_CLOSE_NOWRITE)
            self.impl.release()
        finally:
            self.vd.dentry.dec_ref()
            self.vd.mount.dec_ref()

    # --- access mode ----------------------------------------------------------------
    @property
    def inode(self):
        return self.vd.dentry.inode

    @property
    def is_path(self) -> bool:
        return bool(self.flags & O_PATH)

    @property
    def readable(self) -> bool:
        return not self.flags & O_PATH and self.flags & O_ACCMODE in (O_RDONLY, O_RDWR)

    @property
    def writable(self) -> bool:
        return not self.flags & O_PATH and self.flags & O_ACCMODE in (O_WRONLY, O_RDWR)

    def check_not_path(self) -> None:
        if self.flags & O_PATH:
            raise SyscallError(EBADF)

    # --- data -------------------------------------------------------------------------
    def _read_count(self, n: int, offset: int | None) -> int:
        if not self.readable:
            raise SyscallError(EBADF)
        if offset is not None:
            if not self.impl.seekable:
                raise SyscallError(ESPIPE)
            if offset < 0:
                raise SyscallError(EINVAL)
        return max(0, min(n, MAX_RW_COUNT))

    def _accessed(self, data) -> None:
        if data and fsnotify.marks:
            fsnotify.file_event(self.vd.dentry, IN_ACCESS)

    def read(self, task, n: int, offset: int | None = None) -> bytes:
        """read (offset None: at and advancing the file offset) or pread (at ``offset``), for ``task``."""
        n = self._read_count(n, offset)
        impl = self.impl
        if offset is not None:
            data = impl.read(task, n, offset)
        elif not impl.seekable:
            data = impl.read(task, n, None)
        else:
            data = impl.read(task, n, self.offset)
            self.offset += len(data)
        if fsnotify.marks:   # nearly never: no call to _accessed for every read
            self._accessed(data)
        return data

    def copy_read(self, task, buf: int, n: int, offset: int | None = None) -> int:
        """``read`` through the impl's ``copy_read``: the data goes straight into ``task``'s memory
        [buf, buf+n), which the caller found mapped writable; the count."""
        n = self._read_count(n, offset)
        count = self.impl.copy_read(task, buf, n, self.offset if offset is None else offset)
        if offset is None:
            self.offset += count
        if fsnotify.marks:
            self._accessed(count)
        return count

    def read_waiting(self, task, n: int, offset: int | None = None):
        """``read`` through the impl's ``read_waiting`` (a generator: ``yield from`` it): the Task
        waits for the data while others run. Reads and writes of the file through this path
        do not overlap (``impl.io_lock``, Linux's inode lock), so the offset moves in order."""
        n = self._read_count(n, offset)
        lock = self.impl.io_lock
        yield from lock.acquire(task)
        try:
            data = yield from self.impl.read_waiting(task, n, self.offset if offset is None else offset)
            if offset is None:
                self.offset += len(data)
        finally:
            lock.release()
        self._accessed(data)
        return data

    def _write_data(self, data):
        if not self.writable:
            raise SyscallError(EBADF)
        return data[:MAX_RW_COUNT] if len(data) > MAX_RW_COUNT else data

    def _write_at(self, task, data, offset, append, limit):
        """The checks of a write to a seekable file: (the data, cut at ``limit``, and its position).
        A write of some data clears the file's set-id bits and capabilities first (file_remove_privs)."""
        if offset is not None and offset < 0:
            raise SyscallError(EINVAL)
        if self.flags & O_APPEND or append:
            pos = self.impl.end_offset()
        else:
            pos = self.offset if offset is None else offset
        if limit is not None and len(data):
            if pos >= limit:
                raise FileSizeLimitExceeded()
            data = data[:limit - pos]
        if data and (inode := self.vd.dentry.inode) is not None and needs_remove_privs(inode):
            remove_privs(task and task.creds, self.vd.dentry)
        return data, pos

    def _modified(self, n) -> None:
        if n > 0 and fsnotify.marks:
            fsnotify.file_event(self.vd.dentry, IN_MODIFY)

    def write(self, task, data, offset: int | None = None, append: bool = False, limit: int | None = None) -> int:
        """write / pwrite. O_APPEND (or RWF_APPEND) writes at the end, even for pwrite as Linux does.
        ``limit``: the writer's RLIMIT_FSIZE for a regular file (generic_write_check_limits): a write
        is cut short at it, and one that starts there raises FileSizeLimitExceeded."""
        data = self._write_data(data)
        impl = self.impl
        if not impl.seekable:
            if offset is not None:
                raise SyscallError(ESPIPE)
            n = impl.write(task, data, None)
        else:
            data, pos = self._write_at(task, data, offset, append, limit)
            n = impl.write(task, data, pos)
            if offset is None:
                self.offset = pos + n
        if fsnotify.marks:   # nearly never: no call to _modified for every write
            self._modified(n)
        return n

    def write_waiting(self, task, data, offset: int | None = None, append: bool = False,
                      limit: int | None = None):
        """``write`` through the impl's ``write_waiting`` (a generator, see ``read_waiting``)."""
        data = self._write_data(data)
        lock = self.impl.io_lock
        yield from lock.acquire(task)
        try:
            data, pos = self._write_at(task, data, offset, append, limit)
            n = yield from self.impl.write_waiting(task, data, pos)
            if offset is None:
                self.offset = pos + n
        finally:
            lock.release()
        self._modified(n)
        return n

    def lseek(self, off: int, whence: int) -> int:
        if self.flags & O_PATH:
            raise SyscallError(EBADF)
        if not self.impl.seekable:
            raise SyscallError(ESPIPE)
        if self.impl.seek_always_zero:
            self.offset = 0   # /dev/null, /dev/zero, /dev/random: any offset, any whence (null_lseek, noop_llseek)
            return 0
        if whence == SEEK_SET:
            new = off
        elif whence == SEEK_CUR:
            new = self.offset + off
        elif whence == SEEK_END:
            new = self.impl.seek_end() + off
        elif whence in (SEEK_DATA, SEEK_HOLE):
            if off < 0:
                raise SyscallError(ENXIO)
            new = self.impl.seek_data_hole(off, whence)
        else:
            raise SyscallError(EINVAL)
        if new < 0 or new > MAX_LFS_FILESIZE:
            raise SyscallError(EINVAL)
        self.offset = new
        if new == 0:
            self._dirents = None   # rewinddir sees a fresh listing
        return new

    # --- directories ------------------------------------------------------------------------
    def _directory(self):
        """The directory inode getdents lists (EBADF for O_PATH, ENOTDIR if not a directory)."""
        if self.flags & O_PATH:
            raise SyscallError(EBADF)
        inode = self.inode
        if inode is None or not inode.is_dir:
            raise SyscallError(ENOTDIR)
        return inode

    def _listing_stale(self) -> bool:
        return self._dirents is None or self.offset == 0

    def _snapshot(self, inode, entries) -> None:
        """The listing getdents reads from: "." and "..", then ``entries`` (inode.iterdir's)."""
        dentry = self.vd.dentry
        parent = dentry.parent if dentry.parent is not None else dentry
        if dentry is self.vd.mount.root and self.vd.mount.mountpoint is not None:
            mp = self.vd.mount.mountpoint
            parent = mp.parent if mp.parent is not None else mp
        pino = parent.inode.ino if parent.inode is not None else inode.ino
        ents = [(b".", inode.ino, DT_DIR), (b"..", pino, DT_DIR)]
        ents.extend(entries)
        self._dirents = ents

    def getdents64(self, bufsize: int, old: bool = False, room=None) -> bytes:
        """Packed linux_dirent64 records (``old``: linux_dirent) from the directory offset on.
        ``room``: how much of the buffer can really be written (the rest unmapped): as Linux
        copies record by record, the records that fit in it, EFAULT if none does."""
        inode = self._directory()
        if self._listing_stale():
            self._snapshot(inode, inode.iterdir())
        return self._pack_dirents(inode, bufsize, old, room)

    def getdents_waiting(self, task, bufsize: int, old: bool = False, room=None):
        """``getdents64`` whose listing comes from the inode's ``iterdir_waiting`` (a generator:
        the Task waits for the Gofer while others run)."""
        inode = self._directory()
        if self._listing_stale():
            self._snapshot(inode, (yield from inode.iterdir_waiting(task)))
        return self._pack_dirents(inode, bufsize, old, room)

    def _pack_dirents(self, inode, bufsize, old, room=None):
        if fsnotify.marks:   # iterate_dir reports every listing as an access (even at the end)
            fsnotify.file_event(self.vd.dentry, IN_ACCESS)
        ents = self._dirents
        pack = pack_dirent if old else pack_dirent64
        out, used, i = [], 0, self.offset
        while i < len(ents):
            name, ino, dtype = ents[i]
            rec = pack(ino, i + 1, dtype, name)
            if used + len(rec) > bufsize:
                if not out:
                    raise SyscallError(EINVAL)
                break
            if room is not None and used + len(rec) > room:
                if not out:
                    raise SyscallError(EFAULT)
                break
            out.append(rec)
            used += len(rec)
            i += 1
        self.offset = i
        self.accessed()
        return b"".join(out)

    def accessed(self) -> None:
        """A read or a listing (file_accessed): the inode's atime moves, unless the description
        is O_NOATIME or its mount noatime (nodiratime, for a directory)."""
        inode = self.vd.dentry.inode
        mflags = self.vd.mount.flags
        if self.flags & O_NOATIME or mflags & MS_NOATIME or mflags & MS_NODIRATIME and inode.is_dir:
            return
        inode.touch_atime()

    # --- everything else ------------------------------------------------------------------------
    def stat(self):
        st = self.impl.stat()
        st.mnt_id = self.vd.mount.id
        return st

    def ioctl(self, task, cmd: int, arg: int) -> int:
        if self.flags & O_PATH:
            raise SyscallError(EBADF)
        return self.impl.ioctl(task, cmd, arg)

    def readiness(self, task, mask: int) -> int:
        if self.flags & O_PATH:
            return 0
        return self.impl.readiness(task, mask)

    def waitable(self, task):
        return self.impl.waitable(task)

    def mappable(self):
        if self.flags & O_PATH:
            raise SyscallError(EBADF)
        return self.impl.mappable()

    def fsync(self) -> None:
        if self.flags & O_PATH:
            raise SyscallError(EBADF)
        self.impl.fsync()

    def fsync_waiting(self, task):
        """``fsync`` through the impl's ``fsync_waiting`` (a generator, see ``read_waiting``)."""
        if self.flags & O_PATH:
            raise SyscallError(EBADF)
        yield from self.impl.fsync_waiting(task)
