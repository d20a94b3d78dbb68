"""io_uring requests that are one syscall with its arguments taken from the SQE (io_uring/fs.c,
sync.c, advise.c, epoll.c, net.c's shutdown): they run at issue through that syscall's own handler, so
their checks and errors are the syscall's. The table says, per opcode, the handler, where each
argument sits in the SQE (Linux's layout) and which fields must be zero; fields holding paths
are read at prep, as Linux's getname there. IOSQE_FIXED_FILE is refused (EBADF) for them.
"""
from snakevisor.abi.errno import EBADF, EINVAL, SyscallError
from snakevisor.abi.io_uring import (IORING_OP_EPOLL_CTL, IORING_OP_FADVISE, IORING_OP_FALLOCATE, IORING_OP_LINKAT, IORING_OP_MADVISE,
                                     IORING_OP_MKDIRAT, IORING_OP_RENAMEAT, IORING_OP_SHUTDOWN, IORING_OP_SYMLINKAT,
                                     IORING_OP_SYNC_FILE_RANGE, IORING_OP_UNLINKAT, IOSQE_FIXED_FILE)
from snakevisor.sentry.syscalls import epoll, fadvise, file, fs, mm, socket
from snakevisor.sentry.vfs.at import read_path


def _len_or(field):
    """Linux 6.x takes a 64-bit length from ``field`` and, when it is 0, the 32-bit sqe->len."""
    return lambda req: getattr(req, field) or req.len


def _field(name):
    return lambda req: getattr(req, name)


# opcode: (handler, argument getters, fields that must be 0, fields holding paths)
CALLS = {
    IORING_OP_SYNC_FILE_RANGE: (fadvise.sync_file_range, ("fd", "off", "len", "op_flags"), ("addr", "buf_index"), ()),
    IORING_OP_FALLOCATE: (file.fallocate, ("fd", "len", "off", "addr"), ("buf_index", "op_flags"), ()),
    IORING_OP_FADVISE: (fadvise.fadvise64, ("fd", "off", _len_or("addr"), "op_flags"), ("buf_index",), ()),
    IORING_OP_MADVISE: (mm.madvise, ("addr", _len_or("off"), "op_flags"), ("buf_index",), ()),
    IORING_OP_EPOLL_CTL: (epoll.epoll_ctl, ("fd", "len", "off", "addr"), ("buf_index",), ()),
    IORING_OP_SHUTDOWN: (socket.shutdown, ("fd", "len"), ("off", "addr", "op_flags", "buf_index", "addr3"), ()),
    IORING_OP_RENAMEAT: (fs.renameat2, ("fd", "addr", "len", "off", "op_flags"), ("buf_index",), ("addr", "off")),
    IORING_OP_UNLINKAT: (fs.unlinkat, ("fd", "addr", "op_flags"), ("off", "len", "buf_index"), ("addr",)),
    IORING_OP_MKDIRAT: (fs.mkdirat, ("fd", "addr", "len"), ("off", "op_flags", "buf_index"), ("addr",)),
    IORING_OP_SYMLINKAT: (fs.symlinkat, ("addr", "fd", "off"), ("len", "op_flags", "buf_index"), ("addr", "off")),
    IORING_OP_LINKAT: (fs.linkat, ("fd", "addr", "len", "off", "op_flags"), ("buf_index",), ("addr", "off")),
}


# run by an io-wq worker in Linux (FADVISE only for some advice; counted as inline here)
WORKER_CALLS = (IORING_OP_SYNC_FILE_RANGE, IORING_OP_FALLOCATE, IORING_OP_MADVISE, IORING_OP_RENAMEAT,
                IORING_OP_UNLINKAT, IORING_OP_MKDIRAT, IORING_OP_SYMLINKAT, IORING_OP_LINKAT)


def prep(ring, t, req):
    _handler, _args, zero, paths = CALLS[req.opcode]
    if req.flags & IOSQE_FIXED_FILE:
        raise SyscallError(EBADF)
    if req.file_index or req.ioprio or any(getattr(req, name) for name in zero):
        raise SyscallError(EINVAL)
    for name in paths:
        read_path(t, getattr(req, name))   # EFAULT, ENAMETOOLONG now, as Linux's prep


def issue(ring, t, req):
    handler, args, _zero, _paths = CALLS[req.opcode]
    return handler(t, *((_field(a) if isinstance(a, str) else a)(req) for a in args))
