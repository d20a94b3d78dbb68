"""splice, tee, sendfile, copy_file_range: moving data between descriptors inside the Sentry.

All four share ``_transfer``: data goes from the source to the destination in
bounded chunks, and the source is only consumed by what the destination
accepted (a pipe source is peeked first, a seekable source is read at an
explicit offset), so a short write loses nothing.
"""
import struct

from snakevisor.abi.errno import EAGAIN, EBADF, EINVAL, EISDIR, EPIPE, ESPIPE, SyscallError
from snakevisor.abi.fs import LOFF_MAX, MAX_RW_COUNT, O_APPEND, O_NONBLOCK, POLLIN, POLLOUT, to_s32
from snakevisor.abi.poll import SPLICE_F_ALL, SPLICE_F_NONBLOCK
from snakevisor.sentry.fsimpl.pipefs import PipeImpl
from snakevisor.sentry.fsimpl.sockfs import SocketImpl
from snakevisor.sentry.syscalls.fsize import file_too_big, fsize_limit
from snakevisor.sentry.syscalls.pipe import send_sigpipe

CHUNK = 1 << 20
LOFF = struct.Struct("<q")


def _read_off(t, ptr):
    if not ptr:
        return None
    off, = LOFF.unpack(t.mm.copy_in(ptr, 8))
    if off < 0:
        raise SyscallError(EINVAL)
    return off


def _verify_area(f, pos, count):
    """Linux's rw_verify_area for a file side: a count negative as ssize_t, or one taking the
    position (``pos``, else the file's own) past the largest loff_t, is EINVAL."""
    if pos is None:
        pos = f.offset if f.impl.seekable else 0
    if count > LOFF_MAX or pos + count > LOFF_MAX:
        raise SyscallError(EINVAL)


def _wait(t, f, events):
    w = f.waitable(t)
    if w is None:
        raise SyscallError(EAGAIN)
    yield from t.block_on(w, events)


def _transfer(t, src, dst, count, src_off=None, dst_off=None, nonblock=False, consume=True,
              return_partial=True):
    """Move up to ``count`` bytes; returns (bytes moved, new src offset, new dst offset)."""
    count = min(count, MAX_RW_COUNT)
    s_impl = src.impl
    src_pipe = isinstance(s_impl, PipeImpl)
    if s_impl.seekable and src_off is None:
        src_off, advance_src = src.offset, True
    else:
        advance_src = False
    done = 0
    limit = fsize_limit(t, dst) if dst_off is not None else None
    while done < count:
        n = min(count - done, CHUNK)
        if limit is not None:
            # RLIMIT_FSIZE: what fits below it is moved; going on at the limit is EFBIG and SIGXFSZ
            # (after some progress the count so far, as Linux's write loop returns it).
            if dst_off >= limit:
                err = file_too_big(t)
                if done:
                    break
                raise err
            n = min(n, limit - dst_off)
        data = yield from _read_chunk(t, src, dst, n, src_off, nonblock, done)
        if not data:
            break
        w = yield from _write_chunk(t, dst, data, dst_off, nonblock, done, return_partial)
        if w == 0:
            break
        if src_pipe and consume:   # (tee: the source keeps its data)
            s_impl.pipe.read(w, s_impl.packet)
            s_impl.pipe.queue.notify(POLLOUT)
        if src_off is not None and s_impl.seekable:
            src_off += w
        if dst_off is not None:
            dst_off += w
        done += w
        if w < len(data) or not src_pipe and not s_impl.seekable:
            if nonblock or dst.flags & O_NONBLOCK or return_partial:
                break
        if not consume:
            break   # tee copies what is there once
    if advance_src:
        src.offset = src_off
    return done, src_off, dst_off


def _read_chunk(t, src, dst, n, src_off, nonblock, done):
    """Read up to ``n`` bytes of ``src`` for _transfer, what ``dst`` may take, without consuming
    a pipe; waits for data unless non-blocking. b"" to stop: the end of the data, or nothing
    ready once ``done`` bytes were moved."""
    s_impl = src.impl
    while True:
        if isinstance(s_impl, PipeImpl):
            if s_impl.pipe.size:
                return s_impl.peek(n)
            if s_impl.pipe.writers == 0 or done:
                return b""
            if nonblock or src.flags & O_NONBLOCK:
                raise SyscallError(EAGAIN)
        elif s_impl.seekable:
            return src.read(t, n, src_off)
        else:
            m = n
            if isinstance(dst.impl, PipeImpl):
                pipe = dst.impl.pipe   # take from the source only what the pipe's free slots hold
                m = min(n, pipe.free_slots() * 4096 or 4096)
            try:
                return src.read(t, m)
            except SyscallError as e:
                if e.errno != EAGAIN or done or nonblock or src.flags & O_NONBLOCK:
                    if e.errno == EAGAIN and done:
                        return b""
                    raise
        yield from _wait(t, src, POLLIN)


def _write_chunk(t, dst, data, dst_off, nonblock, done, return_partial):
    """Write ``data`` to ``dst`` for _transfer; waits for room unless non-blocking (or, with
    ``return_partial``, once ``done`` bytes were moved). 0 to stop."""
    while True:
        try:
            return dst.write(t, data, dst_off)
        except SyscallError as e:
            if e.errno == EPIPE and not done:
                send_sigpipe(t)
            if e.errno != EAGAIN or nonblock or dst.flags & O_NONBLOCK or (done and return_partial):
                if done and e.errno in (EAGAIN, EPIPE):
                    return 0
                raise
        yield from _wait(t, dst, POLLOUT)


def _files(t, fd_in, fd_out):
    src = t.fdtable.get(to_s32(fd_in))
    dst = t.fdtable.get(to_s32(fd_out))
    if not src.readable or not dst.writable:
        raise SyscallError(EBADF)
    return src, dst


def _check_spliceable(src, dst):
    """EINVAL, before any wait, for a source or destination Linux cannot splice (a directory, a
    file without ->splice_read or ->splice_write)."""
    for f, can in ((src, src.impl.splice_read), (dst, dst.impl.splice_write)):
        if not can or f.inode is not None and f.inode.is_dir:
            raise SyscallError(EINVAL)


def _check_sendfile_source(src):
    """sendfile's source may be anything that splices but a pipe: EINVAL (Go's io.Copy from a
    pipe into a socket then falls back to read and write; it waited forever here)."""
    if isinstance(src.impl, PipeImpl):
        raise SyscallError(EINVAL)


def _bad_flags(flags) -> bool:
    """Flags beyond SPLICE_F_ALL (the 32 bits Linux reads): EINVAL, before the descriptors."""
    return bool(flags & 0xFFFFFFFF & ~SPLICE_F_ALL)


def splice(t, fd_in, off_in, fd_out, off_out, length, flags):
    if not length:
        return 0     # Linux answers a zero length first, whatever the rest
    if _bad_flags(flags):
        raise SyscallError(EINVAL)
    src, dst = _files(t, fd_in, fd_out)
    in_pipe, out_pipe = isinstance(src.impl, PipeImpl), isinstance(dst.impl, PipeImpl)
    if not in_pipe and not out_pipe:
        raise SyscallError(EINVAL)
    if in_pipe and off_in or out_pipe and off_out:
        raise SyscallError(ESPIPE)
    if in_pipe and out_pipe and src.impl.pipe is dst.impl.pipe:
        raise SyscallError(EINVAL)
    _check_spliceable(src, dst)
    if dst.flags & O_APPEND and not out_pipe:
        raise SyscallError(EINVAL)
    s_off = _read_off(t, off_in)
    d_off = _read_off(t, off_out)
    if off_in and not src.impl.seekable or off_out and not dst.impl.seekable:
        raise SyscallError(ESPIPE)
    if not in_pipe:
        _verify_area(src, s_off, length)
    if not out_pipe:
        _verify_area(dst, d_off, length)
    if d_off is None and dst.impl.seekable:
        d_off = dst.offset
        advance_dst = True
    else:
        advance_dst = False
    done, s_off, d_off = yield from _transfer(t, src, dst, length, s_off, d_off,
                                              bool(to_s32(flags) & SPLICE_F_NONBLOCK))
    if off_in:
        t.mm.copy_out(off_in, LOFF.pack(s_off))
    if off_out:
        t.mm.copy_out(off_out, LOFF.pack(d_off))
    elif advance_dst:
        dst.offset = d_off
    return done


def tee(t, fd_in, fd_out, length, flags):
    if _bad_flags(flags):
        raise SyscallError(EINVAL)
    if not length:
        return 0
    src, dst = _files(t, fd_in, fd_out)
    if not isinstance(src.impl, PipeImpl) or not isinstance(dst.impl, PipeImpl) or \
            src.impl.pipe is dst.impl.pipe:
        raise SyscallError(EINVAL)
    done, _, _ = yield from _transfer(t, src, dst, length, nonblock=bool(to_s32(flags) & SPLICE_F_NONBLOCK),
                                      consume=False)
    return done


def vmsplice(t, fd, iov, nr_segs, flags):
    """Application memory into a pipe (a writable end) or out of it (a readable one). Like
    splice, it waits only while the pipe is full (or empty) and then moves what it can; the
    descriptor's O_NONBLOCK does not matter, only SPLICE_F_NONBLOCK."""
    from snakevisor.sentry.syscalls.file import _gather, _iovecs, _scatter
    flags = to_s32(flags)
    if flags & ~SPLICE_F_ALL:
        raise SyscallError(EINVAL)
    f = t.fdtable.get(to_s32(fd))
    if not f.writable and not f.readable:
        raise SyscallError(EBADF)
    vecs, total = _iovecs(t, iov, nr_segs)
    if total == 0:
        return 0
    if not isinstance(f.impl, PipeImpl):
        raise SyscallError(EBADF)
    nonblock = bool(flags & SPLICE_F_NONBLOCK)
    if f.writable:
        data = _gather(t, vecs, min(total, MAX_RW_COUNT))
        while True:
            try:
                return f.write(t, data)
            except SyscallError as e:
                if e.errno == EPIPE:
                    send_sigpipe(t)
                if e.errno != EAGAIN or nonblock:
                    raise
            yield from _wait(t, f, POLLOUT)
    while True:
        try:
            data = f.read(t, min(total, MAX_RW_COUNT))
            break
        except SyscallError as e:
            if e.errno != EAGAIN or nonblock:
                raise
        yield from _wait(t, f, POLLIN)
    _scatter(t, vecs, data)
    return len(data)


def sendfile(t, out_fd, in_fd, offset, count):
    src, dst = _files(t, in_fd, out_fd)
    if dst.flags & O_APPEND:
        raise SyscallError(EINVAL)
    _check_spliceable(src, dst)
    off = _read_off(t, offset)
    if off is not None and not src.impl.seekable:
        raise SyscallError(ESPIPE)
    _verify_area(src, off, count)
    _verify_area(dst, None, count)
    _check_sendfile_source(src)
    d_off = None
    advance_dst = dst.impl.seekable
    if advance_dst:
        d_off = dst.offset
    # A blocking socket destination gets everything (Linux loops until the count is sent).
    partial = not isinstance(dst.impl, SocketImpl)
    done, s_off, d_off = yield from _transfer(t, src, dst, count, off, d_off, return_partial=partial)
    if offset:
        t.mm.copy_out(offset, LOFF.pack(s_off))
    if advance_dst:
        dst.offset = d_off
    return done


def copy_file_range(t, fd_in, off_in, fd_out, off_out, length, flags):
    if flags:
        raise SyscallError(EINVAL)
    src = t.fdtable.get(to_s32(fd_in))
    dst = t.fdtable.get(to_s32(fd_out))
    for f in (src, dst):   # the kinds first, then the access modes (generic_file_rw_checks)
        inode = f.inode
        if inode is not None and inode.is_dir:
            raise SyscallError(EISDIR)
        if inode is None or not inode.is_reg:
            raise SyscallError(EINVAL)
    if not src.readable or not dst.writable:
        raise SyscallError(EBADF)
    if dst.flags & O_APPEND:
        raise SyscallError(EBADF)
    s_off = _read_off(t, off_in)
    d_off = _read_off(t, off_out)
    s_start = src.offset if s_off is None else s_off
    d_start = dst.offset if d_off is None else d_off
    if src.inode is dst.inode and s_start < d_start + length and d_start < s_start + length:
        raise SyscallError(EINVAL)
    limit = fsize_limit(t, dst)   # generic_copy_file_checks: the count stops at the limit
    if limit is not None and length:
        if d_start >= limit:
            raise file_too_big(t)
        length = min(length, limit - d_start)
    done, s_end, d_end = yield from _transfer(t, src, dst, length, s_start, d_start)
    if off_in:
        t.mm.copy_out(off_in, LOFF.pack(s_end))
    else:
        src.offset = s_end
    if off_out:
        t.mm.copy_out(off_out, LOFF.pack(d_end))
    else:
        dst.offset = d_end
    return done
