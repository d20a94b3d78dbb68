"""What each io_uring request does (io_uring/*.c's prep and issue: two functions per opcode).

``prep(ring, t, req)`` runs at submission: it checks the SQE's fields and reads what Linux reads
then (iovec arrays, a path, a timeout), raising SyscallError to refuse it. ``issue(ring, t, req)``
returns the CQE's result, raises SyscallError (the CQE carries -errno), or returns PENDING once
the ring has been asked to finish the request later (``ring.park`` on the file's WaitQueue,
``ring.arm_timeout``). The file is looked up at issue (a bad fd is the CQE's EBADF).
Reads and writes go through the same FileDescription calls as read(2) and write(2), tried
without waiting: a file that would block (an empty pipe) is retried when it signals readiness,
so nothing waits inside io_uring_enter. Opcodes not here complete with -EINVAL, as on a
kernel without them (IORING_REGISTER_PROBE says which are here).
"""
import time

from snakevisor.abi.errno import EAGAIN, EBADF, EFAULT, EINPROGRESS, EINVAL, ENOENT, EOPNOTSUPP, SyscallError
from snakevisor.abi.fs import O_NONBLOCK, RWF_APPEND, RWF_NOWAIT, RWF_SUPPORTED
from snakevisor.abi.io_uring import (IORING_CQE_F_MORE, IORING_FSYNC_DATASYNC, IORING_OP_ACCEPT,
                                     IORING_OP_ASYNC_CANCEL, IORING_OP_CLOSE, IORING_OP_CONNECT,
                                     IORING_OP_FILES_UPDATE, IORING_OP_FSYNC, IORING_OP_NOP, IORING_OP_OPENAT,
                                     IORING_OP_POLL_ADD, IORING_OP_POLL_REMOVE, IORING_OP_READ, IORING_OP_READV,
                                     IORING_OP_READ_FIXED, IORING_OP_RECV, IORING_OP_RECVMSG, IORING_OP_SEND,
                                     IORING_OP_SENDMSG, IORING_OP_STATX, IORING_OP_TIMEOUT,
                                     IORING_OP_TIMEOUT_REMOVE, IORING_OP_WRITE, IORING_OP_WRITEV,
                                     IORING_OP_WRITE_FIXED, IORING_POLL_ADD_MULTI, IORING_TIMEOUT_ABS,
                                     IOSQE_BUFFER_SELECT, IOSQE_CQE_SKIP_SUCCESS, IOSQE_FIXED_FILE, IOSQE_IO_DRAIN,
                                     IOSQE_VALID, UIO_MAXIOV)
from snakevisor.abi.poll import POLLERR, POLLHUP, POLLIN, POLLOUT
from snakevisor.abi.socket import MSG_DONTWAIT, MSGHDR, SOCK_CLOEXEC, SOCK_NONBLOCK, SOCKADDR_MAX
from snakevisor.abi.time import NSEC, TIMESPEC
from snakevisor.sentry.fsimpl.iouring import PENDING, IoUring
from snakevisor.sentry.fsimpl.sockfs import socket_of
from snakevisor.sentry.syscalls import io_uring_calls, io_uring_rsrc, socket
from snakevisor.sentry.syscalls.fs import do_open, statx
from snakevisor.sentry.syscalls.file import MAX_IO, _gather, _scatter
from snakevisor.sentry.syscalls.fsize import fsize_limit
from snakevisor.sentry.vfs.at import read_path

U64_MAX = (1 << 64) - 1


def _refuse(*fields):
    """Fields an opcode does not use must be zero (Linux's prep checks): EINVAL otherwise."""
    if any(fields):
        raise SyscallError(EINVAL)


def request_file(ring, t, req):
    """The request's file (a registered one with IOSQE_FIXED_FILE), held until its CQE."""
    if req.flags & IOSQE_FIXED_FILE:
        f = ring.files.get(req.fd) if ring.files is not None else None
        if f is None:
            raise SyscallError(EBADF)
    else:
        f = t.fdtable.get(req.fd)
    if f.impl is not ring:      # a request on the ring itself holds no reference: no cycle
        f.inc_ref()
    req.file = f
    return f


# --- reads and writes ----------------------------------------------------------------------------


def _prep_rw(ring, t, req, vectored=False):
    _refuse(req.ioprio)
    if vectored:
        if req.len > UIO_MAXIOV:
            raise SyscallError(EINVAL)
        req.prepared = t.mm.read_iovecs(req.addr, req.len)
    else:
        req.prepared = [(req.addr, req.len)]
    if req.off != U64_MAX and req.off >= 1 << 63:
        raise SyscallError(EINVAL)


def _fixed_range(ring, req):
    """READ_FIXED/WRITE_FIXED: the range must lie in the registered buffer buf_index."""
    buf = ring.buffers.get(req.buf_index) if ring.buffers is not None else None
    if buf is None:
        raise SyscallError(EFAULT)
    base, length = buf
    if req.addr < base or req.addr + req.len > base + length:
        raise SyscallError(EFAULT)


def _issue_rw(ring, t, req, write, fixed=False):
    if fixed:
        _fixed_range(ring, req)
    f = request_file(ring, t, req)
    if not (f.writable if write else f.readable):
        raise SyscallError(EBADF)
    flags = req.op_flags
    if flags & ~RWF_SUPPORTED:
        raise SyscallError(EOPNOTSUPP)
    vecs = req.prepared
    total = min(sum(n for _, n in vecs), MAX_IO)
    offset = None if req.off == U64_MAX or not f.impl.seekable else req.off   # -1: the file position
    for base, n in vecs:
        if n and t.mm.accessible_span(base, n, write=not write) < n:
            raise SyscallError(EFAULT)
    req.expected = total
    if write:
        data = _gather(t, vecs, total)

        def attempt():
            return f.write(t, data, offset, bool(flags & RWF_APPEND), fsize_limit(t, f))
    else:
        def attempt():
            data = f.read(t, total, offset)
            _scatter(t, vecs, data)
            return len(data)
    return _try_or_park(ring, t, req, f, POLLOUT if write else POLLIN, attempt, flags & RWF_NOWAIT)


def _try_or_park(ring, t, req, f, events, attempt, nowait=False):
    """``attempt()`` now; if it would block, again each time ``f`` may have ``events`` (PENDING).
    A non-blocking file, or a request asking not to wait, gets EAGAIN as read(2) would."""
    try:
        return attempt()
    except SyscallError as e:
        if e.errno != EAGAIN or f.flags & O_NONBLOCK or nowait:
            raise
    return ring.park(t, req, f, events, attempt)


# --- the others -----------------------------------------------------------------------------------


def _nothing(ring, t, req):
    return 0


def _prep_fsync(ring, t, req):
    _refuse(req.addr, req.ioprio, req.buf_index, req.file_index, req.op_flags & ~IORING_FSYNC_DATASYNC)


def _fsync(ring, t, req):
    request_file(ring, t, req).fsync()
    return 0


def _prep_poll_add(ring, t, req):
    _refuse(req.addr, req.ioprio, req.off, req.buf_index, req.len & ~IORING_POLL_ADD_MULTI)


def _poll_add(ring, t, req):
    f = request_file(ring, t, req)
    mask = (req.op_flags & 0xFFFF) | POLLERR | POLLHUP
    multi = bool(req.len & IORING_POLL_ADD_MULTI)
    ready = f.readiness(t, mask)
    if ready and not multi:
        return ready

    def on_event(happened):
        if id(req) not in ring.pending:
            return False
        ev = f.readiness(t, mask)
        if ev:
            ring.complete(req, ev, IORING_CQE_F_MORE, more=multi)
        return bool(ev)
    ring.arm(t, req, f, mask & ~(POLLERR | POLLHUP), on_event)
    if ready:
        ring.complete(req, ready, IORING_CQE_F_MORE, more=True)
    return PENDING


def _prep_by_user_data(ring, t, req):
    """POLL_REMOVE, TIMEOUT_REMOVE, ASYNC_CANCEL: only addr (the target's user_data) is used;
    their update and cancel-all flags are not supported."""
    _refuse(req.ioprio, req.off, req.len, req.buf_index, req.op_flags, req.file_index)


def _cancel(kinds):
    def issue(ring, t, req):
        if not ring.cancel(req.addr, kinds):
            raise SyscallError(ENOENT)
        return 0
    return issue


def _prep_timeout(ring, t, req):
    if req.len != 1:
        raise SyscallError(EINVAL)
    _refuse(req.ioprio, req.buf_index, req.op_flags & ~IORING_TIMEOUT_ABS)   # other clocks: not here
    sec, nsec = TIMESPEC.unpack(t.mm.copy_in(req.addr, TIMESPEC.size))
    if sec < 0 or not 0 <= nsec < NSEC:
        raise SyscallError(EINVAL)
    req.prepared = sec * NSEC + nsec


def _timeout(ring, t, req):
    ns = req.prepared
    deadline = ns if req.op_flags & IORING_TIMEOUT_ABS else time.monotonic_ns() + ns   # the ring timer's clock
    if req.off:   # also completes (with 0) once that many other CQEs are posted
        ring.counted.append([ring.posted + req.off, req])
    return ring.arm_timeout(req, deadline)


# --- sockets --------------------------------------------------------------------------------------


def _prep_send_recv(ring, t, req):
    _refuse(req.ioprio, req.file_index, req.addr3, req.off, req.buf_index)   # send's dest addr, zero copy: not here


def _send_recv(ring, t, req, send):
    f = request_file(ring, t, req)
    sock = socket_of(f)
    flags = req.op_flags
    n = min(req.len, MAX_IO)
    if n and t.mm.accessible_span(req.addr, n, write=not send) < n:
        raise SyscallError(EFAULT)
    if send:
        data = t.mm.copy_in(req.addr, n)

        def attempt():
            return sock.sendmsg(t, data, flags, None, [], None)
    else:
        def attempt():
            res = sock.recvmsg(t, n, flags, False)
            for r in res.rights:
                r.dec_ref()
            t.mm.copy_out(req.addr, res.data)
            return len(res.data)
    return _try_or_park(ring, t, req, f, POLLOUT if send else POLLIN, attempt, flags & MSG_DONTWAIT)


def _prep_msg(ring, t, req):
    _refuse(req.ioprio, req.file_index, req.buf_index)
    if req.flags & IOSQE_FIXED_FILE:
        raise SyscallError(EBADF)   # sendmsg(2)'s handler takes a descriptor number
    t.mm.copy_in(req.addr, MSGHDR.size)   # EFAULT now, as Linux copies the msghdr at prep


def _drive(gen):
    """The result of syscall generator ``gen`` asked not to wait (MSG_DONTWAIT); EAGAIN if it would."""
    try:
        gen.send(None)
    except StopIteration as stop:
        return stop.value
    gen.close()
    raise SyscallError(EAGAIN)


def _msg(ring, t, req, call):
    """SENDMSG, RECVMSG: sendmsg(2)/recvmsg(2) themselves (SCM_RIGHTS, names, control data), tried
    without waiting and again when the socket is ready."""
    f = request_file(ring, t, req)
    socket_of(f)
    flags = req.op_flags
    return _try_or_park(ring, t, req, f, POLLOUT if call is socket.sendmsg else POLLIN,
                        lambda: _drive(call(t, req.fd, req.addr, flags | MSG_DONTWAIT)), flags & MSG_DONTWAIT)


def _prep_accept(ring, t, req):
    _refuse(req.len, req.buf_index, req.ioprio, req.file_index, req.op_flags & ~(SOCK_NONBLOCK | SOCK_CLOEXEC))


def _accept(ring, t, req):
    f = request_file(ring, t, req)
    sock = socket_of(f)

    def attempt():
        new, peer = sock.accept(t)
        return socket.install_socket(t, new, req.op_flags, req.addr, req.off, peer)
    return _try_or_park(ring, t, req, f, POLLIN, attempt)


def _prep_connect(ring, t, req):
    _refuse(req.len, req.buf_index, req.op_flags, req.file_index, req.ioprio)
    if req.off > SOCKADDR_MAX:   # addr2: the address's length
        raise SyscallError(EINVAL)
    req.prepared = t.mm.copy_in(req.addr, req.off)


def _connect(ring, t, req):
    f = request_file(ring, t, req)
    sock = socket_of(f)
    try:
        sock.connect(t, req.prepared)
        return 0
    except SyscallError as e:
        if e.errno != EINPROGRESS or f.flags & O_NONBLOCK:
            raise

    def attempt():   # a host socket's handshake: done once it is writable (or failed)
        if not f.readiness(t, POLLOUT | POLLERR | POLLHUP):
            raise SyscallError(EAGAIN)
        sock.connect_finish(t)
        return 0
    return ring.park(t, req, f, POLLOUT, attempt)


def _prep_files_update(ring, t, req):
    _refuse(req.op_flags, req.file_index, req.ioprio, req.buf_index)
    if req.off >= 1 << 32 or not req.len:
        raise SyscallError(EINVAL)   # IORING_FILE_INDEX_ALLOC: not here


def _files_update(ring, t, req):
    return io_uring_rsrc.update(t, ring, "files", req.off, req.addr, 0, req.len)


def _prep_no_direct(ring, t, req):
    """Direct descriptors (file_index, IOSQE_FIXED_FILE on open/close) are not supported."""
    _refuse(req.file_index, req.flags & IOSQE_FIXED_FILE, req.ioprio, req.buf_index)


def _prep_close(ring, t, req):
    _prep_no_direct(ring, t, req)
    _refuse(req.off, req.addr, req.len, req.op_flags)


def _close(ring, t, req):
    if isinstance(t.fdtable.get(req.fd).impl, IoUring):
        raise SyscallError(EBADF)    # as Linux's io_close: an io_uring is not closed from a ring
    t.fdtable.remove(req.fd).dec_ref()
    return 0


def _prep_path(ring, t, req):
    _prep_no_direct(ring, t, req)
    req.prepared = read_path(t, req.addr)


def _openat(ring, t, req):
    return do_open(t, req.fd, req.prepared, req.op_flags, req.len, may_wait=False)


def _statx(ring, t, req):
    return statx(t, req.fd, req.addr, req.op_flags, req.len, req.off)


def _prep_rwv(ring, t, req):
    _prep_rw(ring, t, req, vectored=True)


OPS = {   # opcode: (prep, issue)
    IORING_OP_NOP: (_nothing, _nothing),
    IORING_OP_READV: (_prep_rwv, lambda ring, t, req: _issue_rw(ring, t, req, False)),
    IORING_OP_WRITEV: (_prep_rwv, lambda ring, t, req: _issue_rw(ring, t, req, True)),
    IORING_OP_FSYNC: (_prep_fsync, _fsync),
    IORING_OP_READ_FIXED: (_prep_rw, lambda ring, t, req: _issue_rw(ring, t, req, False, fixed=True)),
    IORING_OP_WRITE_FIXED: (_prep_rw, lambda ring, t, req: _issue_rw(ring, t, req, True, fixed=True)),
    IORING_OP_POLL_ADD: (_prep_poll_add, _poll_add),
    IORING_OP_POLL_REMOVE: (_prep_by_user_data, _cancel((IORING_OP_POLL_ADD,))),
    IORING_OP_TIMEOUT: (_prep_timeout, _timeout),
    IORING_OP_TIMEOUT_REMOVE: (_prep_by_user_data, _cancel((IORING_OP_TIMEOUT,))),
    IORING_OP_ASYNC_CANCEL: (_prep_by_user_data, _cancel(None)),
    IORING_OP_OPENAT: (_prep_path, _openat),
    IORING_OP_CLOSE: (_prep_close, _close),
    IORING_OP_STATX: (_prep_path, _statx),
    IORING_OP_ACCEPT: (_prep_accept, _accept),
    IORING_OP_SENDMSG: (_prep_msg, lambda ring, t, req: _msg(ring, t, req, socket.sendmsg)),
    IORING_OP_RECVMSG: (_prep_msg, lambda ring, t, req: _msg(ring, t, req, socket.recvmsg)),
    IORING_OP_FILES_UPDATE: (_prep_files_update, _files_update),
    IORING_OP_CONNECT: (_prep_connect, _connect),
    IORING_OP_SEND: (_prep_send_recv, lambda ring, t, req: _send_recv(ring, t, req, True)),
    IORING_OP_RECV: (_prep_send_recv, lambda ring, t, req: _send_recv(ring, t, req, False)),
    IORING_OP_READ: (_prep_rw, lambda ring, t, req: _issue_rw(ring, t, req, False)),
    IORING_OP_WRITE: (_prep_rw, lambda ring, t, req: _issue_rw(ring, t, req, True)),
}


OPS.update({opcode: (io_uring_calls.prep, io_uring_calls.issue) for opcode in io_uring_calls.CALLS})

# Linux always runs these in an io-wq worker (REQ_F_FORCE_ASYNC): only their completions signal
# an eventfd registered with IORING_REGISTER_EVENTFD_ASYNC.
WORKER_OPS = frozenset((IORING_OP_FSYNC, IORING_OP_STATX, *io_uring_calls.WORKER_CALLS))


def prep(ring, t, req):
    if req.flags & ~IOSQE_VALID or req.flags & IOSQE_BUFFER_SELECT:
        raise SyscallError(EINVAL)   # provided buffers: not here
    ops = OPS.get(req.opcode)
    if ops is None:
        raise SyscallError(EINVAL)
    if req.flags & IOSQE_CQE_SKIP_SUCCESS:
        ring.drain_disabled = True   # as Linux: CQE counts no longer tell when to drain
    if req.flags & IOSQE_IO_DRAIN and ring.drain_disabled:
        raise SyscallError(EOPNOTSUPP)
    ops[0](ring, t, req)


def issue(ring, t, req):
    return OPS[req.opcode][1](ring, t, req)
