"""Linux AIO: io_setup, io_submit, io_getevents, io_pgetevents, io_cancel, io_destroy (fs/aio.c).

As Linux does for files opened without O_DIRECT (every file here), a request runs to completion
inside io_submit, through the same read and write paths as pread/pwrite/preadv/pwritev/fsync;
its result (a count, or -errno for an I/O error) is queued as an io_event, and an IOCB_FLAG_RESFD
eventfd is signalled. Errors found before the I/O starts (a bad descriptor or opcode) are
io_submit's own. A context's id is the address of a page in the process (Linux's ring): its
header carries no AIO_RING_MAGIC, so libaio reaps through io_getevents rather than reading it.
"""
import os
import struct
import weakref

from snakevisor.abi import mm as M
from snakevisor.abi.aio import (IO_EVENT, IOCB, IOCB_CMD_FDSYNC as FDSYNC, IOCB_CMD_FSYNC as FSYNC,
                                IOCB_CMD_PREAD as PREAD, IOCB_CMD_PREADV as PREADV, IOCB_CMD_PWRITE as PWRITE,
                                IOCB_CMD_PWRITEV as PWRITEV, IOCB_FLAG_RESFD)
from snakevisor.abi.errno import EAGAIN, EBADF, EFAULT, EINTR, EINVAL, ERESTARTSYS, SyscallError
from snakevisor.abi.fs import RWF_NOWAIT, RWF_SUPPORTED, to_s32, to_s64
from snakevisor.abi.mm import TASK_SIZE_MAX
from snakevisor.sentry.fsimpl.eventfd import EventFDImpl
from snakevisor.sentry.kernel.syscall_table import settle
from snakevisor.sentry.syscalls.file import _iovecs, _read_into, _readv, _write_from, _writev
from snakevisor.sentry.syscalls.poll import read_sigmask, sigmask_scope
from snakevisor.sentry.syscalls.time import NSEC, TIMESPEC
from snakevisor.sentry.vfs.waiter import WaitQueue

KIOCB_KEY = 0
AIO_MAX_NR = 65536
RING_SIZE = 4096
COMPLETED = 1

_requested = [0]                          # events asked for by every live context (aio-max-nr)


class AioContext:
    def __init__(self, capacity):
        self.capacity = capacity
        self.events = []                  # completed io_event records not yet reaped
        self.done = WaitQueue()
        self.dead = False                 # io_destroy'ed: its waiters wake and leave


RING_NAME = "/[aio] (deleted)"


def _ctx(t, ctx_id):
    """The context ``ctx_id`` names: its ring must still be there and readable (lookup_ioctx reads
    the ring's header: a ring unmapped, replaced or made PROT_NONE is EINVAL)."""
    ctx = t.mm.aio_contexts.get(ctx_id)
    v = t.mm.vmas.find(ctx_id)
    if ctx is None or v is None or v.name != RING_NAME or t.mm.accessible_span(ctx_id, 4) < 4:
        raise SyscallError(EINVAL)
    return ctx


def ring_remap(t, old, old_len, new_len):
    """mremap of ``old``: a context's ring does not grow (VM_DONTEXPAND: EFAULT); the context
    moves with its whole ring (aio_ring_mremap). Returns the context to re-key, or None."""
    ctx = t.mm.aio_contexts.get(old)
    if ctx is None:
        return None
    if new_len > old_len:
        raise SyscallError(EFAULT)
    return ctx if old_len == RING_SIZE and new_len == RING_SIZE else None


def ring_moved(t, old, new):
    """The ring of the context at ``old`` now lies at ``new``: that is its id."""
    if new != old:
        t.mm.aio_contexts[new] = t.mm.aio_contexts.pop(old)


def io_setup(t, nr_events, ctxp):
    current = struct.unpack("<Q", t.mm.copy_in(ctxp, 8))[0]
    nr_events &= 0xFFFFFFFF
    if current or nr_events == 0:
        raise SyscallError(EINVAL)
    capacity = max(nr_events, 4 * (os.cpu_count() or 1)) * 2
    if capacity > 0x10000000 // IO_EVENT.size:
        raise SyscallError(EINVAL)
    if _requested[0] + nr_events > AIO_MAX_NR:
        raise SyscallError(EAGAIN)
    ring = t.mm.mmap(0, RING_SIZE, M.PROT_READ | M.PROT_WRITE, M.MAP_PRIVATE | M.MAP_ANONYMOUS, name=RING_NAME)
    try:
        t.mm.copy_out(ctxp, struct.pack("<Q", ring))
    except SyscallError:
        t.mm.munmap(ring, RING_SIZE)
        raise
    ctx = t.mm.aio_contexts[ring] = AioContext(capacity)
    _requested[0] += nr_events
    weakref.finalize(ctx, _release_count, nr_events)   # when its address space goes, or io_destroy
    return 0


def _release_count(n):
    _requested[0] -= n


def io_destroy(t, ctx_id):
    ctx = _ctx(t, ctx_id)
    del t.mm.aio_contexts[ctx_id]
    ctx.dead = True
    ctx.done.notify(COMPLETED)   # a thread waiting in io_getevents gets EINVAL (Linux's kill_ioctx)
    t.mm.munmap(ctx_id, RING_SIZE)
    return 0


def _run(t, opcode, fd, buf, nbytes, offset, rw_flags):
    """The request's I/O (a generator); returns its result (a count, or -errno). What Linux checks
    before the I/O starts is io_submit's error: the descriptor's mode, the buffers (the iovec
    array read, no address past user space: EFAULT), a negative offset (rw_verify_area: EINVAL)."""
    f = t.fdtable.get(to_s32(fd))
    if opcode in (PREAD, PREADV) and not f.readable or opcode in (PWRITE, PWRITEV) and not f.writable:
        raise SyscallError(EBADF)
    if rw_flags & ~RWF_SUPPORTED:
        raise SyscallError(EINVAL)
    if opcode in (PREADV, PWRITEV):
        _iovecs(t, buf, nbytes)
    elif opcode in (PREAD, PWRITE) and buf + nbytes > TASK_SIZE_MAX:
        raise SyscallError(EFAULT)
    if offset is not None and to_s64(offset) < 0:
        raise SyscallError(EINVAL)
    if not f.impl.seekable:
        offset = None   # a pipe, socket or terminal reads and writes as a stream (aio has no ESPIPE)
    nowait = bool(rw_flags & RWF_NOWAIT)
    try:
        if opcode == PREAD:
            return (yield from settle(_read_into(t, f, buf, nbytes, offset, nowait)))
        if opcode == PWRITE:
            return (yield from settle(_write_from(t, f, buf, nbytes, offset, nowait)))
        if opcode == PREADV:
            return (yield from settle(_readv(t, fd, buf, nbytes, offset, rw_flags)))
        if opcode == PWRITEV:
            return (yield from settle(_writev(t, fd, buf, nbytes, offset, rw_flags)))
        f.fsync()
        return 0
    except SyscallError as e:
        if e.errno == ERESTARTSYS:
            return -EINTR
        return -e.errno


def _submit_one(t, ctx, addr):
    fields = IOCB.unpack(t.mm.copy_in(addr, IOCB.size))
    data, _key, rw_flags, opcode, _prio, fd, buf, nbytes, offset, reserved2, flags, resfd = fields
    if reserved2 or to_s64(nbytes) < 0:
        raise SyscallError(EINVAL)
    if len(ctx.events) >= ctx.capacity:
        raise SyscallError(EAGAIN)
    eventfd = None
    if flags & IOCB_FLAG_RESFD:
        eventfd = t.fdtable.get(to_s32(resfd)).impl
        if not isinstance(eventfd, EventFDImpl):
            raise SyscallError(EINVAL)
    t.mm.copy_out(addr + 8, struct.pack("<I", KIOCB_KEY))
    if opcode not in (PREAD, PWRITE, FSYNC, FDSYNC, PREADV, PWRITEV):
        raise SyscallError(EINVAL)   # NOOP as in Linux; IOCB_CMD_POLL not supported here (noted)
    t.fdtable.get(to_s32(fd))
    res = yield from _run(t, opcode, fd, buf, nbytes, offset if opcode not in (FSYNC, FDSYNC) else None,
                          rw_flags & 0xFFFFFFFF)
    ctx.events.append(IO_EVENT.pack(data, addr, res, 0))
    ctx.done.notify(COMPLETED)
    if eventfd is not None:
        eventfd.signal(1)


def io_submit(t, ctx_id, nr, iocbpp):
    nr = to_s64(nr)
    if nr < 0:
        raise SyscallError(EINVAL)
    ctx = _ctx(t, ctx_id)
    nr = min(nr, ctx.capacity)
    done = 0
    for i in range(nr):
        try:
            addr = struct.unpack("<Q", t.mm.copy_in(iocbpp + 8 * i, 8))[0]
            yield from _submit_one(t, ctx, addr)
        except SyscallError:
            if done == 0:
                raise
            break
        done += 1
    return done


def _getevents(t, ctx_id, min_nr, nr, events_addr, timeout_addr):
    min_nr, nr = to_s64(min_nr), to_s64(nr)
    timeout = None
    if timeout_addr:
        sec, nsec = TIMESPEC.unpack(t.mm.copy_in(timeout_addr, TIMESPEC.size))
        timeout = sec + nsec / NSEC     # not validated: Linux converts it as it is (<= 0: no wait)
    ctx = _ctx(t, ctx_id)
    if min_nr > nr or min_nr < 0 or nr < 0:
        raise SyscallError(EINVAL)
    deadline = None if timeout is None else t.kernel.monotonic() + timeout
    while len(ctx.events) < min_nr and not ctx.dead:
        left = None if deadline is None else deadline - t.kernel.monotonic()
        if left is not None and left <= 0:
            break
        yield from t.block_on(ctx.done, COMPLETED, left)
    take = ctx.events[:nr]
    if ctx.dead and not take:
        raise SyscallError(EINVAL)
    if take:
        t.mm.copy_out(events_addr, b"".join(take))
        del ctx.events[:len(take)]
    return len(take)


def io_getevents(t, ctx_id, min_nr, nr, events, timeout):
    return (yield from _getevents(t, ctx_id, min_nr, nr, events, timeout))


def io_pgetevents(t, ctx_id, min_nr, nr, events, timeout, usig):
    mask = None
    if usig:
        sigmask, size = struct.unpack("<QQ", t.mm.copy_in(usig, 16))
        mask = read_sigmask(t, sigmask, size)
    return (yield from sigmask_scope(t, mask, _getevents(t, ctx_id, min_nr, nr, events, timeout)))


def io_cancel(t, ctx_id, iocb, result):
    key = struct.unpack("<I", t.mm.copy_in(iocb + 8, 4))[0]
    if key != KIOCB_KEY:
        raise SyscallError(EINVAL)
    _ctx(t, ctx_id)
    raise SyscallError(EINVAL)   # every request completed inside io_submit: none is in flight

