"""Descriptor-based file syscalls: read/write families, close, lseek, fstat, getdents, dup, ioctl, ...
(fcntl and flock: syscalls/fcntl.py)

Handlers decode raw registers, find the FileDescription in the Task's FDTable
and call the VFS. Reads and writes that would block are generators: they wait
on the file's ``waitable()`` through ``t.block_on`` unless O_NONBLOCK is set.
Transfer sizes are capped (short reads/writes are allowed by Linux), so an
application's count never sizes an allocation directly.
"""
import struct
from types import GeneratorType

from snakevisor.abi import fs as _fs_abi
from snakevisor.abi.landlock import ACCESS_FS_IOCTL_DEV, ACCESS_FS_TRUNCATE, MASKED_IOCTLS
from snakevisor.abi.mm import TASK_SIZE_MAX
from snakevisor.abi.errno import (EACCES, EAGAIN, EBADF, EFAULT, EFBIG, EPIPE, EINVAL, EISDIR, ENODEV, EOPNOTSUPP,
                                  ESPIPE, EXDEV, SyscallError)
from snakevisor.abi.inotify import IN_MODIFY
from snakevisor.abi.fs import (CLOSE_RANGE_CLOEXEC, FALLOC_FL_KEEP_SIZE, FALLOC_FL_PUNCH_HOLE, CLOSE_RANGE_UNSHARE,
                               FIOASYNC, FIOCLEX, FIONBIO, FIONCLEX, FIONREAD, O_APPEND, O_ASYNC, O_CLOEXEC,
                               O_NONBLOCK, POLLIN, S_IFIFO, S_IFSOCK, POLLOUT, RWF_APPEND, RWF_NOWAIT, RWF_SUPPORTED,
                               ST_NOATIME, ST_NODEV, ST_NOEXEC, ST_NOSUID, ST_RDONLY, MS_NOATIME, MS_NODEV,
                               MS_NOEXEC, MS_NOSUID, pack_stat, pack_statfs, to_s32, to_s64, to_u32)
from snakevisor.sentry.syscalls.fsize import check_new_size, fsize_limit, signal_if_limit
from snakevisor.sentry.syscalls.pipe import send_sigpipe
from snakevisor.sentry.syscalls.fileattr import FILEATTR_IOCTLS, fileattr_ioctl
from snakevisor.sentry.vfs import fasync, fsnotify, inode_flags
from snakevisor.sentry.kernel.userns import id_from, stat_view
from snakevisor.sentry.vfs.at import task_ctx
from snakevisor.sentry.vfs.file import MAX_LFS_FILESIZE, needs_remove_privs, remove_privs
from snakevisor.sentry.vfs.pathops import chmod_vd, chown_vd
from snakevisor.sentry.syscalls.newfd import install_new
from snakevisor.sentry.syscalls.namespace import ns_ioctl
from snakevisor.sentry.syscalls.pidfd import pidfd_ioctl
from snakevisor.sentry.fsimpl.nsfs import ns_of_file
from snakevisor.sentry.fsimpl.pidfd import pidfd_group, pidfd_thread

# Per-call transfer cap of a read or write through a bytes object in the Sentry: bounds its
# allocations (callers loop on short counts). Files that read straight into application memory
# (copy_read) take up to Linux's MAX_RW_COUNT, as many programs read a whole file in one call.
MAX_IO = 16 << 20
MAX_RW_COUNT = _fs_abi.MAX_RW_COUNT
MAX_DIRENTS = 1 << 20
F_OWNER_EX = struct.Struct("<ii")   # struct f_owner_ex: type, pid


def _file(t, fd):
    return t.fdtable.get(to_s32(fd))


def _file_not_path(t, fd):
    f = t.fdtable.get(to_s32(fd))
    f.check_not_path()
    return f


def with_blocking(t, f, op, events, nowait: bool = False):
    """Run ``op`` until it does not raise EAGAIN, waiting for ``events`` on the file between tries.

    A generator (``yield from`` it). Non-blocking descriptions and RWF_NOWAIT get EAGAIN.
    """
    while True:
        try:
            return op()
        except SyscallError as e:
            w = waitable_for_retry(t, f, e, nowait)
        yield from t.block_on(w, events)


def waitable_for_retry(t, f, e: SyscallError, nowait: bool):
    """What to wait on before trying again an operation on ``f`` that failed with ``e``: ``e``
    itself is raised unless it is EAGAIN on a blocking description that has something to wait on."""
    if e.errno != EAGAIN or f.flags & O_NONBLOCK or nowait:
        raise e
    w = f.waitable(t)
    if w is None:
        raise e
    return w


def install_dup(t, f, cloexec: bool = False, minfd: int = 0) -> int:
    """A new fd sharing ``f`` (dup, F_DUPFD); on failure the extra reference is undone."""
    f.inc_ref()
    return install_new(t, f, cloexec, minfd)


def _iovecs(t, iov, iovcnt, cap=MAX_IO):
    cnt = to_s32(iovcnt)
    if cnt < 0:
        raise SyscallError(EINVAL)
    vecs = t.mm.read_iovecs(iov, cnt)
    total = 0
    for base, length in vecs:
        if length > (1 << 63) - 1:
            raise SyscallError(EINVAL)
        if base + length > TASK_SIZE_MAX:
            raise SyscallError(EFAULT)
        total += length
    return vecs, min(total, cap)


def _scatter(t, vecs, data) -> None:
    pos = 0
    for base, length in vecs:
        if pos >= len(data):
            break
        chunk = data[pos:pos + length]
        if chunk:
            t.mm.copy_out(base, chunk)
        pos += len(chunk)


def _spans(t, vecs, limit, write=False):
    """(address, length) of the accessible pieces of ``vecs``, ``limit`` bytes at most, as readv
    and writev take them: empty entries are skipped, and a fault ends them there (a short count),
    EFAULT if nothing comes before it. A caller that moves less than a piece should stop there."""
    got = 0
    for base, length in vecs:
        take = min(length, limit - got)
        if take <= 0:
            if got >= limit:
                return
            continue   # an empty entry
        avail = t.mm.accessible_span(base, take, write=write)
        if not avail:
            if not got:
                raise SyscallError(EFAULT)
            return
        yield base, avail
        got += avail
        if avail < take:
            return


def _gather(t, vecs, limit) -> bytes:
    """The bytes of ``vecs`` (at most ``limit``), as writev copies them (_spans)."""
    return b"".join([t.mm.copy_in(base, n) for base, n in _spans(t, vecs, limit)])


# --- read family -----------------------------------------------------------------------------


def _do_read(t, f, n, offset=None, nowait=False):
    """The bytes read; or, when the read must wait, a generator that waits and gives them (most
    reads complete at once: no generator is made for them). See syscall_table.settle."""
    blocking_read = f.impl.blocking_read   # terminals: VTIME's timers
    if blocking_read is not None and not nowait and not f.flags & O_NONBLOCK:
        timed = blocking_read(t, n)
        if timed is not None:
            return f.holding(timed)
    if f.impl.read_waiting is not None and not nowait:   # gofer files: the Gofer may be slow
        return f.holding(f.read_waiting(t, n, offset))
    try:
        return f.read(t, n, offset)
    except SyscallError as e:
        w = waitable_for_retry(t, f, e, nowait)
    return f.holding(_read_after_wait(t, f, n, offset, nowait, w))


def _read_after_wait(t, f, n, offset, nowait, w):
    yield from t.block_on(w, POLLIN)
    return (yield from with_blocking(t, f, lambda: f.read(t, n, offset), POLLIN, nowait))


def _check_rw(t, buf, count, pos=None):
    """vfs_read/vfs_write's checks, in Linux's order: access_ok (EFAULT), then the count and the
    end offset must fit in a signed 64-bit value (EINVAL)."""
    if buf + count > TASK_SIZE_MAX:
        raise SyscallError(EFAULT)
    if count >= 1 << 63 or (pos is not None and pos + count >= 1 << 63):
        raise SyscallError(EINVAL)


# From this size up, a read or write of a file that offers it copies between the file and
# views of application memory (one copy); below, the views cost more than a bytes copy:
# pread64 4K took 4.5 us in-process through them, 3.1 us through bytes.
COPY_VIEWS_FROM = 32 * 1024


def _read_into(t, f, buf, count, pos=None, nowait=False):
    """Read at most what fits in the mapped part of ``buf``: a bad tail gives a short read, an
    unmapped start EFAULT, and in neither case does the file offset move past what was copied.
    ``nowait``: RWF_NOWAIT (an AIO request's), EAGAIN rather than a wait."""
    _check_rw(t, buf, count, pos)
    n = count if count <= MAX_IO else min(count, MAX_IO if f.impl.copy_read is None else MAX_RW_COUNT)
    room = t.mm.accessible_span(buf, n, write=True)
    if n and not room:
        if f.impl.always_eof:
            return 0  # /dev/null never writes into the buffer
        raise SyscallError(EFAULT)
    task_read = f.impl.task_read   # host sockets: straight into application memory
    if task_read is not None and pos is None and room and not nowait:
        return task_read(t, f, [(buf, room)])   # a count, or a generator the dispatcher runs
    if room >= COPY_VIEWS_FROM and f.impl.copy_read is not None:   # (then room may pass MAX_IO)
        return f.copy_read(t, buf, room, pos)   # tmpfs: file pages to application memory, one copy
    data = _do_read(t, f, room, pos, nowait)
    if data.__class__ is GeneratorType:
        return _then_after(data, _copy_out_read, (t, buf))
    return _copy_out_read(t, buf, data)


def _copy_out_read(t, buf, data):
    if data:
        t.mm.copy_out(buf, data)
    return len(data)


def _then_after(waiting, fn, args):
    """A generator giving ``fn(*args, result)`` once the generator ``waiting`` gives its result."""
    return fn(*args, (yield from waiting))


READ, WRITE = 0, 1   # Task.ioac's indexes: rchar, wchar (bytes), then syscr, syscw (calls)


def _counted(t, ret, which):
    """I/O accounting (/proc/PID/io, Linux's add_rchar/inc_syscr in vfs_read and the like): one
    call more, and its bytes, once its count is known (``ret``: a count, or a generator)."""
    if ret.__class__ is GeneratorType:
        return _then_after(ret, _count, (t, which))
    io = t.ioac
    io[which] += ret
    io[which + 2] += 1
    return ret


def _count(t, which, ret):
    return _counted(t, ret, which)


def _open_for(t, fd, write):
    """The file ``fd``, which must be open for writing (``write``) or reading: EBADF otherwise."""
    f = _file(t, fd)
    if not (f.writable if write else f.readable):
        raise SyscallError(EBADF)
    return f


def _offset(pos):
    """pread64's and pwrite64's offset: a negative one is EINVAL."""
    pos = to_s64(pos)
    if pos < 0:
        raise SyscallError(EINVAL)
    return pos


def read(t, fd, buf, count):
    f = _file(t, fd)   # _open_for, inlined for the commonest syscalls
    if not f.readable:
        raise SyscallError(EBADF)
    return _counted(t, _read_into(t, f, buf, count), READ)   # a generator only if it must wait


def _positional(t, fd, write):
    """pread64's and pwrite64's file: ESPIPE for one that cannot seek, before its access mode
    (Linux asks FMODE_PREAD/FMODE_PWRITE first), then EBADF as _open_for."""
    f = t.fdtable.get(to_s32(fd))
    if f.writable if write else f.readable:   # (the common case: one test of each)
        if not f.impl.seekable:
            raise SyscallError(ESPIPE)
        return f
    f.check_not_path()   # an O_PATH descriptor is EBADF first (fdget does not see it)
    raise SyscallError(EBADF if f.impl.seekable else ESPIPE)


def pread64(t, fd, buf, count, pos):
    pos = _offset(pos)
    return _counted(t, _read_into(t, _positional(t, fd, False), buf, count, pos), READ)


def _vector_args(t, fd, iov, iovcnt, flags, write, pos=None):
    """The checks of readv's and writev's family, in Linux's order (the RWF flags, the fd, for
    preadv/pwritev (``pos``) whether the file can seek, the iovecs, the fd's mode); returns the
    file, the iovecs and their total length."""
    if flags & ~RWF_SUPPORTED:
        raise SyscallError(EOPNOTSUPP)
    f = _file(t, fd)
    if pos is not None and not f.impl.seekable:
        f.check_not_path()   # an O_PATH descriptor is EBADF first (fdget does not see it)
        raise SyscallError(ESPIPE)   # (FMODE_PREAD/PWRITE come before the access mode)
    vecs, total = _iovecs(t, iov, iovcnt, MAX_RW_COUNT)
    if not (f.writable if write else f.readable):
        raise SyscallError(EBADF)
    return f, vecs, total


def _readv(t, fd, iov, iovcnt, pos=None, flags=0):
    f, vecs, total = _vector_args(t, fd, iov, iovcnt, flags, False, pos)
    if total == 0:
        return 0
    task_read = f.impl.task_read
    if task_read is not None and pos is None and not flags:
        return task_read(t, f, vecs)   # (a count or a generator)
    if total >= COPY_VIEWS_FROM and f.impl.copy_read is not None:
        return _copy_read_vecs(t, f, vecs, total, pos)
    # At most what fits in the accessible part of the buffers: a bad tail gives a short read
    # and the file loses nothing it did not hand over (EFAULT if nothing is accessible).
    spans = list(_spans(t, vecs, min(total, MAX_IO), write=True))
    data = _do_read(t, f, sum(n for _, n in spans), pos, bool(flags & RWF_NOWAIT))
    if data.__class__ is GeneratorType:
        return _then_after(data, _scatter_read, (t, spans))
    return _scatter_read(t, spans, data)


def _copy_read_vecs(t, f, vecs, total, pos):
    """readv of a file that reads straight into application memory (it never waits): each
    accessible piece in turn (_spans), to the first short read."""
    got = 0
    for base, n in _spans(t, vecs, total, write=True):
        done = f.copy_read(t, base, n, None if pos is None else pos + got)
        got += done
        if done < n:
            break
    return got


def _scatter_read(t, vecs, data):
    _scatter(t, vecs, data)
    return len(data)


def readv(t, fd, iov, iovcnt):   # plain handlers, as read's: a generator only if they wait
    return _counted(t, _readv(t, fd, iov, iovcnt), READ)


def _pos_arg(pos_l, allow_current: bool):
    pos = to_s64(pos_l)
    if pos == -1 and allow_current:
        return None
    if pos < 0:
        raise SyscallError(EINVAL)
    return pos


def preadv(t, fd, iov, iovcnt, pos_l, pos_h):
    return _counted(t, _readv(t, fd, iov, iovcnt, _pos_arg(pos_l, False)), READ)


def preadv2(t, fd, iov, iovcnt, pos_l, pos_h, flags):
    return _counted(t, _readv(t, fd, iov, iovcnt, _pos_arg(pos_l, True), to_s32(flags)), READ)


# --- write family -----------------------------------------------------------------------------


def _do_write(t, f, data, offset=None, append=False, nowait=False):
    """write(2) semantics: a blocking write to a pipe, socket or terminal waits until all of it is
    written (or a signal comes after some of it: then the partial count); EPIPE also raises SIGPIPE.
    The count written; or, when the write must wait (for the Gofer, for room, to go on), a
    generator that gives it: most writes go through at once, with no generator made for them."""
    view = data if data.__class__ is memoryview else memoryview(data)   # (views of application memory are)
    limit = fsize_limit(t, f)
    if f.impl.write_waiting is not None and not nowait:   # gofer files: the Gofer may be slow
        return f.holding(_write_waiting(t, f, view, offset, append, nowait, limit))
    try:
        try:
            n = f.write(t, view, offset, append, limit)
        except SyscallError as e:
            w = waitable_for_retry(t, f, e, nowait)
            return f.holding(_write_waiting(t, f, view, offset, append, nowait, limit, w))
    except SyscallError as e:
        _write_failed(t, f, e)
        raise
    if n <= 0 or n >= len(view) or f.flags & O_NONBLOCK or nowait or f.impl.seekable:
        return n
    return f.holding(_write_waiting(t, f, view, offset, append, nowait, limit, done=n))


def _write_waiting(t, f, view, offset, append, nowait, limit, w=None, done=0):
    """_do_write's loop once it must wait: first on ``w`` if given; ``done`` bytes are written."""
    blocking = not (f.flags & O_NONBLOCK or nowait or f.impl.seekable)
    waiting = f.impl.write_waiting is not None and not nowait
    while True:
        try:
            if w is not None:
                yield from t.block_on(w, POLLOUT)
                w = None
            if waiting:
                n = yield from f.write_waiting(t, view[done:], offset, append, limit)
            else:
                try:   # with_blocking's loop, inlined
                    n = f.write(t, view[done:], offset, append, limit)
                except SyscallError as e:
                    w = waitable_for_retry(t, f, e, nowait)
                    continue
        except SyscallError as e:
            _write_failed(t, f, e)
            if done:
                return done
            raise
        done += n
        if not blocking or n <= 0 or done >= len(view):
            return done


def _write_failed(t, f, e):
    """A write failed with ``e``: EPIPE raises SIGPIPE, EFBIG past RLIMIT_FSIZE SIGXFSZ."""
    if e.errno == EPIPE and f.impl.sigpipe_on_epipe:
        send_sigpipe(t)
    signal_if_limit(t, e)


def write(t, fd, buf, count):
    f = _file(t, fd)   # _open_for, inlined for the commonest syscalls
    if not f.writable:
        raise SyscallError(EBADF)
    return _counted(t, _write_from(t, f, buf, count), WRITE)   # a generator only if it must wait


def _write_from(t, f, buf, count, pos=None, nowait=False):
    """Write what can be copied from ``buf`` (a bad tail gives a short write, a bad start EFAULT).
    Sinks that never look at the data (/dev/null, /dev/full) do not touch the buffer, as on Linux.
    ``nowait``: RWF_NOWAIT (an AIO request's), EAGAIN rather than a wait."""
    _check_rw(t, buf, count, pos)
    discard = f.impl.write_discarding
    if discard is not None:
        return discard(min(count, MAX_RW_COUNT))
    n = count if count <= MAX_IO else min(count, MAX_RW_COUNT if f.impl.writes_from_views else MAX_IO)
    avail = t.mm.accessible_span(buf, n)
    if n and not avail:
        raise SyscallError(EFAULT)
    task_write = f.impl.task_write   # host sockets: straight from application memory
    if task_write is not None and pos is None and avail and not nowait:
        return task_write(t, f, [(buf, avail)])   # a count, or a generator the dispatcher runs
    if avail >= COPY_VIEWS_FROM and f.impl.writes_from_views:   # tmpfs: application memory to file pages, one copy
        views = t.mm.io_views(buf, avail)
        if len(views) > 1 and avail > MAX_IO:
            views = t.mm.io_views(buf, MAX_IO)   # (joined: a bounded copy)
        data = views[0] if len(views) == 1 else b"".join(views)
    else:
        data = t.mm.copy_in(buf, avail) if avail else b""
    if not data and not f.impl.seekable:
        return _write_nothing(t, f)   # (a generator)
    return _do_write(t, f, data, pos, nowait=nowait)


def _write_nothing(t, f):
    """A write of 0 bytes: a socket still sends (a 0-byte datagram on a message socket, as Linux's
    sock_write_iter); anything else not seekable returns 0."""
    send_empty = f.impl.send_empty
    if send_empty is None:
        return 0
    return (yield from send_empty(t, f))


def pwrite64(t, fd, buf, count, pos):
    pos = _offset(pos)
    return _counted(t, _write_from(t, _positional(t, fd, True), buf, count, pos), WRITE)


def _writev(t, fd, iov, iovcnt, pos=None, flags=0):
    f, vecs, total = _vector_args(t, fd, iov, iovcnt, flags, True, pos)
    if total == 0:
        return 0   # vfs_writev: nothing to write never reaches the file (not even a socket)
    task_write = f.impl.task_write
    if task_write is not None and pos is None and not flags:
        return task_write(t, f, vecs)   # (a count or a generator)
    data = _gather(t, vecs, min(total, MAX_IO))
    return _do_write(t, f, data, pos, bool(flags & RWF_APPEND), bool(flags & RWF_NOWAIT))


def writev(t, fd, iov, iovcnt):   # plain handlers, as write's: a generator only if they wait
    return _counted(t, _writev(t, fd, iov, iovcnt), WRITE)


def pwritev(t, fd, iov, iovcnt, pos_l, pos_h):
    return _counted(t, _writev(t, fd, iov, iovcnt, _pos_arg(pos_l, False)), WRITE)


def pwritev2(t, fd, iov, iovcnt, pos_l, pos_h, flags):
    return _counted(t, _writev(t, fd, iov, iovcnt, _pos_arg(pos_l, True), to_s32(flags)), WRITE)


# --- descriptors -------------------------------------------------------------------------------


def close(t, fd):
    t.fdtable.remove(to_s32(fd)).dec_ref()
    return 0


def close_range(t, first, last, flags):
    first, last, flags = to_u32(first), to_u32(last), to_u32(flags)
    if flags & ~(CLOSE_RANGE_UNSHARE | CLOSE_RANGE_CLOEXEC) or first > last:
        raise SyscallError(EINVAL)
    if flags & CLOSE_RANGE_UNSHARE:
        t.kernel.unshare_resource(t, "fdtable")   # __close_range: a shared table is copied first
    for fd in t.fdtable.fds_in_range(first, last):
        if flags & CLOSE_RANGE_CLOEXEC:
            t.fdtable.set_cloexec(fd, True)
        else:
            t.fdtable.close(fd)
    return 0


def dup(t, fd):
    return install_dup(t, _file(t, fd))


def _dup_to(t, oldfd, newfd, cloexec):
    f = t.fdtable.get(oldfd)
    if newfd < 0 or newfd >= t.fdtable.limit:
        raise SyscallError(EBADF)
    f.inc_ref()
    try:
        return t.fdtable.install_at(newfd, f, cloexec)
    except SyscallError:
        f.dec_ref()
        raise


def dup2(t, oldfd, newfd):
    oldfd, newfd = to_s32(oldfd), to_s32(newfd)
    if oldfd == newfd:
        t.fdtable.get(oldfd)
        return newfd
    return _dup_to(t, oldfd, newfd, False)


def dup3(t, oldfd, newfd, flags):
    oldfd, newfd, flags = to_s32(oldfd), to_s32(newfd), to_s32(flags)
    if flags & ~O_CLOEXEC or oldfd == newfd:
        raise SyscallError(EINVAL)
    return _dup_to(t, oldfd, newfd, bool(flags & O_CLOEXEC))


def lseek(t, fd, offset, whence):
    whence = to_u32(whence)
    return _file(t, fd).lseek(to_s64(offset), whence)


def fstat(t, fd, statbuf):
    st = stat_view(t.creds, _file(t, fd).stat())
    t.mm.copy_out(statbuf, pack_stat(st))
    return 0


def _getdents(t, fd, dirp, count, old):
    f = _file(t, fd)
    # Linux keeps the count in an int: above INT_MAX no record fits (EINVAL, 0 at the end).
    count = min(to_s32(count), MAX_DIRENTS)
    room = t.mm.accessible_span(dirp, count, write=True) if count > 0 else None
    inode = f.inode
    if inode is not None and inode.iterdir_waiting is not None:   # gofer directories
        data = yield from f.getdents_waiting(t, count, old=old, room=room)
    else:
        data = f.getdents64(count, old=old, room=room)
    if data:
        t.mm.copy_out(dirp, data)
    return len(data)


def getdents64(t, fd, dirp, count):
    return (yield from _getdents(t, fd, dirp, count, False))


def getdents(t, fd, dirp, count):
    return (yield from _getdents(t, fd, dirp, count, True))


# --- ioctl ------------------------------------------------------------------------------------------


def ioctl(t, fd, cmd, arg):
    fdn, cmd = to_s32(fd), to_u32(cmd)
    f = t.fdtable.get(fdn)
    f.check_not_path()
    if f.landlock_denied & ACCESS_FS_IOCTL_DEV and cmd not in MASKED_IOCTLS:
        raise SyscallError(EACCES)   # a device opened under a Landlock domain without IOCTL_DEV
    if cmd == FIOCLEX or cmd == FIONCLEX:
        t.fdtable.set_cloexec(fdn, cmd == FIOCLEX)
        return 0
    if cmd == FIONBIO or cmd == FIOASYNC:
        on, = struct.unpack("<i", t.mm.copy_in(arg, 4))
        bit = O_NONBLOCK if cmd == FIONBIO else O_ASYNC
        f.flags = f.flags | bit if on else f.flags & ~bit
        fasync.update(t, f, fdn)
        return 0
    if cmd in (_fs_abi.FICLONE, _fs_abi.FICLONERANGE):
        return _clone_file(t, f, cmd, arg)
    inode = f.inode
    if cmd in _OWNER_IOCTLS and inode is not None and inode.type == S_IFSOCK:
        return _socket_owner(t, f, cmd, arg)
    if cmd in FILEATTR_IOCTLS and inode is not None and inode.user_flags is not None:
        return fileattr_ioctl(t, f, cmd, arg)
    if cmd == FIONREAD and inode is not None and inode.is_reg and f.impl.seekable:
        t.mm.copy_out(arg, struct.pack("<i", max(0, min(f.impl.end_offset() - f.offset, 0x7FFFFFFF))))
        return 0
    if f.impl.blocking_ioctl is not None:
        return f.impl.blocking_ioctl(t, cmd, arg)   # a generator, which the dispatcher runs
    node = ns_of_file(f)
    if node is not None:
        return ns_ioctl(t, node, cmd, arg)   # nsfs: NS_GET_USERNS, NS_GET_PARENT...
    tg = pidfd_group(f)
    if tg is not None:
        return pidfd_ioctl(t, tg, pidfd_thread(f), cmd, arg)
    return f.ioctl(t, cmd, arg)


_OWNER_IOCTLS = (_fs_abi.FIOSETOWN, _fs_abi.SIOCSPGRP, _fs_abi.FIOGETOWN, _fs_abi.SIOCGPGRP)


def _socket_owner(t, f, cmd, arg):
    """A socket's FIOSETOWN/SIOCSPGRP and FIOGETOWN/SIOCGPGRP: F_SETOWN and F_GETOWN through an
    int in memory (sock_ioctl)."""
    if cmd in (_fs_abi.FIOSETOWN, _fs_abi.SIOCSPGRP):
        fasync.set_owner(t, f, struct.unpack("<i", t.mm.copy_in(arg, 4))[0])
    else:
        t.mm.copy_out(arg, struct.pack("<i", fasync.get_owner(t, f)))
    return 0


def _clone_file(t, dst, cmd, arg):
    """FICLONE/FICLONERANGE (reflinks), which do_vfs_ioctl handles for any file: the checks of
    ioctl_file_clone and vfs_clone_file_range, then EOPNOTSUPP (no filesystem here shares extents)."""
    src_fd = arg if cmd == _fs_abi.FICLONE else struct.unpack("<q", t.mm.copy_in(arg, 8))[0]
    src = t.fdtable.get(to_s32(src_fd))
    src.check_not_path()
    if src.vd.mount is not dst.vd.mount:
        raise SyscallError(EXDEV)
    si, di = src.inode, dst.inode
    if si.is_dir or di.is_dir:
        raise SyscallError(EISDIR)
    if not si.is_reg or not di.is_reg:
        raise SyscallError(EINVAL)
    if not src.readable or not dst.writable or dst.flags & O_APPEND:
        raise SyscallError(EBADF)
    raise SyscallError(EOPNOTSUPP)


# --- attributes through a descriptor -------------------------------------------------------------------


def statfs_of(vd) -> bytes:
    s = vd.dentry.inode.statfs() if vd.dentry.inode is not None else vd.mount.fs.statfs()
    m = vd.mount
    for mbit, sbit in ((MS_NOSUID, ST_NOSUID), (MS_NODEV, ST_NODEV), (MS_NOEXEC, ST_NOEXEC),
                       (MS_NOATIME, ST_NOATIME)):
        if m.flags & mbit:
            s.flags |= sbit
    if m.readonly:
        s.flags |= ST_RDONLY
    return pack_statfs(s)


def fstatfs(t, fd, buf):
    t.mm.copy_out(buf, statfs_of(_file(t, fd).vd))
    return 0


def fchmod(t, fd, mode):
    f = _file_not_path(t, fd)
    chmod_vd(task_ctx(t), f.vd, to_u32(mode))
    return 0


def id_arg(x, creds=None, which="uid"):
    """uid_t/gid_t argument: -1 means "leave unchanged"; others are in ``creds``' user namespace
    (EINVAL if unmapped there) and become kernel ids (kernel/userns.py)."""
    x = to_u32(x)
    return None if x == 0xFFFFFFFF else id_from(creds, x, which) if creds is not None else x


def fchown(t, fd, uid, gid):
    f = _file_not_path(t, fd)
    chown_vd(task_ctx(t), f.vd, id_arg(uid, t.creds), id_arg(gid, t.creds, "gid"))
    return 0


def ftruncate(t, fd, length):
    length = to_s64(length)
    if length < 0:
        raise SyscallError(EINVAL)
    f = _file_not_path(t, fd)
    inode = f.inode
    if not f.writable or inode is None or not inode.is_reg:
        raise SyscallError(EINVAL)
    if f.landlock_denied & ACCESS_FS_TRUNCATE:
        raise SyscallError(EACCES)   # opened under a Landlock domain without TRUNCATE
    if length > MAX_LFS_FILESIZE:
        raise SyscallError(EFBIG)
    if inode.iflags:
        inode_flags.check_unchanged(inode)   # do_sys_ftruncate: not an append-only (or immutable) file
    check_new_size(t, inode, length)
    if needs_remove_privs(inode):
        remove_privs(t.creds, f.vd.dentry)
    f.impl.truncate(length)
    fsnotify.attributes_changed(f.vd.dentry, size=True)
    return 0


def fsync(t, fd):
    f = _file(t, fd)
    if f.impl.fsync_waiting is not None:   # gofer files: the Gofer may be slow
        yield from f.fsync_waiting(t)
    else:
        f.fsync()
    return 0


def fdatasync(t, fd):
    return (yield from fsync(t, fd))


def syncfs(t, fd):
    _file_not_path(t, fd)
    return 0


def fallocate(t, fd, mode, offset, length):
    mode, offset, length = to_s32(mode), to_s64(offset), to_s64(length)
    if offset < 0 or length <= 0:
        raise SyscallError(EINVAL)
    f = _file_not_path(t, fd)
    if not f.writable:
        raise SyscallError(EBADF)
    inode = f.inode
    if inode is not None and inode.is_dir:
        raise SyscallError(EISDIR)
    if inode.type == S_IFIFO if inode is not None else not f.impl.seekable:
        raise SyscallError(ESPIPE)   # vfs_fallocate: pipes; other non-regular files are ENODEV
    if inode is None or not inode.is_reg:
        raise SyscallError(ENODEV)
    if inode.iflags:
        inode_flags.check_allocate(inode, mode)
    if offset + length > MAX_LFS_FILESIZE:
        raise SyscallError(EFBIG)
    # The filesystem checks RLIMIT_FSIZE: a tmpfs even for KEEP_SIZE (shmem_fallocate), others
    # (ext4) only when the file grows; punching a hole never grows it.
    if not mode & FALLOC_FL_PUNCH_HOLE and (not mode & FALLOC_FL_KEEP_SIZE or inode.fs.name == "tmpfs"):
        check_new_size(t, inode, offset + length)
    if needs_remove_privs(inode):
        remove_privs(t.creds, f.vd.dentry)   # file_modified, as a write
    f.impl.allocate(mode, offset, length)
    fsnotify.file_event(f.vd.dentry, IN_MODIFY)
    return 0


def readahead(t, fd, offset, count):
    f = _file_not_path(t, fd)
    if not f.readable:
        raise SyscallError(EBADF)
    if f.inode is None or not f.inode.is_reg:
        raise SyscallError(EINVAL)
    return 0
