"""io_uring_setup, io_uring_enter, io_uring_register (io_uring/io_uring.c, register.c, rsrc.c).

The ring itself is fsimpl/iouring.py; what each opcode does is syscalls/io_uring_ops.py. Setup
checks its arguments as Linux does (sizes rounded to powers of two, IORING_SETUP_CLAMP,
CQSIZE, non-zero resv, flags this ring does not implement: EINVAL) and reports only the
features implemented here. Enter submits, then waits (GETEVENTS) for min_complete CQEs with
the caller's signal mask applied during the wait and an EXT_ARG timeout (ETIME).
"""
import struct

from snakevisor.abi.errno import EBADFD, EBUSY, EINTR, EINVAL, ENXIO, EOPNOTSUPP, ERESTARTSYS, ETIME, SyscallError
from snakevisor.abi.fs import to_s32
from snakevisor.abi.io_uring import (CQRING_OFFSETS, GETEVENTS_ARG, IORING_ENTER_EXT_ARG, IORING_ENTER_GETEVENTS,
                                     IORING_ENTER_SQ_WAIT, IORING_ENTER_SQ_WAKEUP, IORING_FEAT_CQE_SKIP,
                                     IORING_FEAT_EXT_ARG, IORING_FEAT_FAST_POLL, IORING_FEAT_NODROP,
                                     IORING_FEAT_POLL_32BITS, IORING_FEAT_RSRC_TAGS, IORING_FEAT_RW_CUR_POS,
                                     IORING_FEAT_SINGLE_MMAP, IORING_FEAT_SQPOLL_NONFIXED,
                                     IORING_FEAT_SUBMIT_STABLE, IORING_MAX_CQ_ENTRIES, IORING_MAX_ENTRIES,
                                     IORING_OP_LAST, IORING_REGISTER_BUFFERS, IORING_REGISTER_BUFFERS2,
                                     IORING_REGISTER_BUFFERS_UPDATE, IORING_REGISTER_ENABLE_RINGS,
                                     IORING_REGISTER_EVENTFD, IORING_REGISTER_EVENTFD_ASYNC, IORING_REGISTER_FILES,
                                     IORING_REGISTER_FILES2, IORING_REGISTER_FILES_UPDATE,
                                     IORING_REGISTER_FILES_UPDATE2, IORING_REGISTER_PROBE, IORING_SETUP_CLAMP,
                                     IORING_SETUP_COOP_TASKRUN, IORING_SETUP_CQSIZE, IORING_SETUP_R_DISABLED,
                                     IORING_SETUP_SINGLE_ISSUER, IORING_SETUP_SQPOLL, IORING_SETUP_SQ_AFF,
                                     IORING_SETUP_SUBMIT_ALL, IORING_UNREGISTER_BUFFERS, IORING_UNREGISTER_EVENTFD,
                                     IORING_UNREGISTER_FILES, IO_URING_OP_SUPPORTED, PARAMS, PARAMS_SIZE,
                                     PROBE_HEADER, PROBE_OP, SQRING_OFFSETS)
from snakevisor.abi.poll import POLLIN
from snakevisor.abi.time import NSEC, TIMESPEC
from snakevisor.sentry.fsimpl.eventfd import EventFDImpl
from snakevisor.sentry.fsimpl.iouring import IoUring, cq_offsets, new_io_uring, sq_offsets
from snakevisor.sentry.syscalls import io_uring_ops
from snakevisor.sentry.syscalls import io_uring_rsrc as rsrc
from snakevisor.sentry.syscalls.io_uring_ops import OPS
from snakevisor.sentry.syscalls.newfd import install_new
from snakevisor.sentry.syscalls.poll import read_sigmask, sigmask_scope

SETUP_FLAGS = (IORING_SETUP_CQSIZE | IORING_SETUP_CLAMP | IORING_SETUP_SUBMIT_ALL | IORING_SETUP_R_DISABLED
               | IORING_SETUP_SQPOLL | IORING_SETUP_SQ_AFF   # SQPOLL: the SQ is consumed at each enter
               | IORING_SETUP_COOP_TASKRUN | IORING_SETUP_SINGLE_ISSUER)   # these two: completions need no task work
FEATURES = (IORING_FEAT_SINGLE_MMAP | IORING_FEAT_NODROP | IORING_FEAT_SUBMIT_STABLE | IORING_FEAT_RW_CUR_POS
            | IORING_FEAT_FAST_POLL | IORING_FEAT_POLL_32BITS | IORING_FEAT_SQPOLL_NONFIXED | IORING_FEAT_EXT_ARG
            | IORING_FEAT_RSRC_TAGS | IORING_FEAT_CQE_SKIP)
ENTER_FLAGS = IORING_ENTER_GETEVENTS | IORING_ENTER_SQ_WAKEUP | IORING_ENTER_SQ_WAIT | IORING_ENTER_EXT_ARG


def _pow2(n):
    return 1 << (n - 1).bit_length()


def _size(n, limit, flags):
    """A ring size asked for: 0 is EINVAL, past ``limit`` EINVAL or (CLAMP) the limit; then the
    next power of two."""
    if n == 0 or n > limit and not flags & IORING_SETUP_CLAMP:
        raise SyscallError(EINVAL)
    return _pow2(min(n, limit))


def _ring_sizes(entries, flags, cq_asked):
    sq = _size(entries, IORING_MAX_ENTRIES, flags)
    if not flags & IORING_SETUP_CQSIZE:
        return sq, 2 * sq
    cq = _size(cq_asked, IORING_MAX_CQ_ENTRIES, flags)
    if cq < sq:
        raise SyscallError(EINVAL)
    return sq, cq


def io_uring_setup(t, entries, params):
    raw = t.mm.copy_in(params, PARAMS_SIZE)
    _sq, cq_asked, flags, cpu, idle, _features, wq_fd, *resv = PARAMS.unpack_from(raw)
    if any(resv) or flags & ~SETUP_FLAGS or flags & IORING_SETUP_SQ_AFF and not flags & IORING_SETUP_SQPOLL:
        raise SyscallError(EINVAL)
    sq, cq = _ring_sizes(entries & 0xFFFFFFFF, flags, cq_asked)
    f = new_io_uring(t.kernel, t.kernel.memory_file, sq, cq, flags, io_uring_ops)
    out = (PARAMS.pack(sq, cq, flags, cpu, idle, FEATURES, wq_fd, 0, 0, 0)
           + SQRING_OFFSETS.pack(*sq_offsets(sq, cq)) + CQRING_OFFSETS.pack(*cq_offsets()))
    try:
        t.mm.copy_out(params, out)
    except SyscallError:
        f.dec_ref()
        raise
    return install_new(t, f, True)


def _ring(t, fd):
    f = t.fdtable.get(to_s32(fd))
    if not isinstance(f.impl, IoUring):
        raise SyscallError(EOPNOTSUPP)
    return f.impl


def _wait_args(t, flags, argp, argsz):
    """(sigmask address, its size, timeout in ns or None), from EXT_ARG's struct or the plain args."""
    if not flags & IORING_ENTER_EXT_ARG:
        return argp, argsz, None
    if argsz != GETEVENTS_ARG.size:
        raise SyscallError(EINVAL)
    sigmask, sigsz, _pad, ts = GETEVENTS_ARG.unpack(t.mm.copy_in(argp, GETEVENTS_ARG.size))
    timeout = None
    if ts:
        sec, nsec = TIMESPEC.unpack(t.mm.copy_in(ts, TIMESPEC.size))
        if sec < 0 or not 0 <= nsec < NSEC:
            raise SyscallError(EINVAL)
        timeout = sec * NSEC + nsec
    return sigmask, sigsz, timeout


def _wait(t, ring, min_complete, timeout_ns):
    deadline = None if timeout_ns is None else t.kernel.monotonic() + timeout_ns / NSEC
    while ring.ready_cqes() < min_complete:
        left = None if deadline is None else deadline - t.kernel.monotonic()
        if left is not None and left <= 0:
            raise SyscallError(ETIME)
        try:
            yield from t.block_on(ring.queue, POLLIN, left)
        except SyscallError as e:
            if e.errno != ERESTARTSYS:
                raise
            if ring.ready_cqes():   # as Linux: completions that arrived meanwhile are a success
                return 0
            raise SyscallError(EINTR)
    return 0


def io_uring_enter(t, fd, to_submit, min_complete, flags, argp, argsz):
    flags &= 0xFFFFFFFF
    if flags & ~ENTER_FLAGS:
        raise SyscallError(EINVAL)   # IORING_ENTER_REGISTERED_RING: no registered ring fds here
    ring = _ring(t, fd)
    if ring.disabled:
        raise SyscallError(EBADFD)
    to_submit &= 0xFFFFFFFF
    if ring.setup_flags & IORING_SETUP_SQPOLL:   # what the SQ thread would have taken; Linux answers to_submit
        ring.submit(t, ring.sq_entries)
        submitted = to_submit
    else:
        submitted = ring.submit(t, to_submit) if to_submit else 0
    if submitted != to_submit or not flags & IORING_ENTER_GETEVENTS:
        return submitted
    min_complete = min(min_complete & 0xFFFFFFFF, ring.cq_entries)
    try:
        if ring.ready_cqes() >= min_complete:
            return submitted
        sigmask, sigsz, timeout = _wait_args(t, flags, argp, argsz)
        mask = read_sigmask(t, sigmask, sigsz)
        yield from sigmask_scope(t, mask, _wait(t, ring, min_complete, timeout))
    except SyscallError:
        if submitted:
            return submitted
        raise
    return submitted


# --- io_uring_register -------------------------------------------------------------------------


def _register_eventfd(t, ring, arg, nr, asynchronous):
    if nr != 1:
        raise SyscallError(EINVAL)
    if ring.eventfd is not None:
        raise SyscallError(EBUSY)
    fd = struct.unpack("<i", t.mm.copy_in(arg, 4))[0]
    impl = t.fdtable.get(fd).impl
    if not isinstance(impl, EventFDImpl):
        raise SyscallError(EINVAL)
    ring.eventfd, ring.eventfd_async = impl, asynchronous
    return 0


def _register_probe(t, ring, arg, nr):
    nr = min(nr, IORING_OP_LAST)
    size = PROBE_HEADER.size + PROBE_OP.size * nr
    if any(t.mm.copy_in(arg, size)):
        raise SyscallError(EINVAL)   # the caller's struct must come zeroed
    ops = b"".join(PROBE_OP.pack(op, 0, IO_URING_OP_SUPPORTED if op in OPS else 0, 0) for op in range(nr))
    t.mm.copy_out(arg, PROBE_HEADER.pack(IORING_OP_LAST - 1, nr, 0, 0, 0, 0) + ops)
    return 0


def _enable_rings(t, ring, arg, nr):
    if arg or nr:
        raise SyscallError(EINVAL)
    if not ring.disabled:
        raise SyscallError(EBADFD)
    ring.disabled = False
    return 0


def _unregister(kind):
    def unregister(t, ring, arg, nr):
        if arg or nr:
            raise SyscallError(EINVAL)
        ring.unregister(kind)
        return 0
    return unregister


def _unregister_eventfd(t, ring, arg, nr):
    if arg or nr:
        raise SyscallError(EINVAL)
    if ring.eventfd is None:
        raise SyscallError(ENXIO)
    ring.eventfd = None
    return 0


REGISTER = {   # opcode: handler(t, ring, arg, nr_args)
    IORING_REGISTER_BUFFERS: lambda t, ring, arg, nr: rsrc.register(t, ring, "buffers", arg, 0, nr),
    IORING_UNREGISTER_BUFFERS: _unregister("buffers"),
    IORING_REGISTER_FILES: lambda t, ring, arg, nr: rsrc.register(t, ring, "files", arg, 0, nr),
    IORING_UNREGISTER_FILES: _unregister("files"),
    IORING_REGISTER_EVENTFD: lambda t, ring, arg, nr: _register_eventfd(t, ring, arg, nr, False),
    IORING_UNREGISTER_EVENTFD: _unregister_eventfd,
    IORING_REGISTER_FILES_UPDATE: rsrc.files_update,
    IORING_REGISTER_EVENTFD_ASYNC: lambda t, ring, arg, nr: _register_eventfd(t, ring, arg, nr, True),
    IORING_REGISTER_PROBE: _register_probe,
    IORING_REGISTER_ENABLE_RINGS: _enable_rings,
    IORING_REGISTER_FILES2: lambda t, ring, arg, nr: rsrc.register2(t, ring, "files", arg, nr),
    IORING_REGISTER_FILES_UPDATE2: lambda t, ring, arg, nr: rsrc.update2(t, ring, "files", arg, nr),
    IORING_REGISTER_BUFFERS2: lambda t, ring, arg, nr: rsrc.register2(t, ring, "buffers", arg, nr),
    IORING_REGISTER_BUFFERS_UPDATE: lambda t, ring, arg, nr: rsrc.update2(t, ring, "buffers", arg, nr),
}


def io_uring_register(t, fd, opcode, arg, nr_args):
    ring = _ring(t, fd)
    handler = REGISTER.get(opcode & 0xFFFFFFFF)
    if handler is None:
        raise SyscallError(EINVAL)
    return handler(t, ring, arg, nr_args & 0xFFFFFFFF)
