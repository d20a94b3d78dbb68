"""io_uring's registered resources (io_uring/rsrc.c, filetable.c): IORING_REGISTER_FILES and
_BUFFERS, their tagged forms (FILES2, BUFFERS2, sparse tables), updates (FILES_UPDATE, FILES_UPDATE2,
BUFFERS_UPDATE, and the IORING_OP_FILES_UPDATE request), and unregistering. A tagged slot's tag
comes back as a CQE when its resource leaves the table (fsimpl/iouring.py's Registered).

Registered files hold a reference on their description; registered buffers are only checked to be
mapped and writable when registered (Linux pins their pages; here a request re-checks them).
"""
import struct

from snakevisor.abi.errno import EBADF, EBUSY, EFAULT, EINVAL, ENXIO, SyscallError
from snakevisor.abi.io_uring import (IORING_MAX_FIXED_FILES, IORING_MAX_REG_BUFFERS, IORING_REGISTER_FILES_SKIP,
                                     IORING_RSRC_REGISTER_SPARSE, RSRC_REGISTER, RSRC_UPDATE2)
from snakevisor.sentry.fsimpl.iouring import IoUring, Registered

SZ_1G = 1 << 30
U64 = struct.Struct("<Q")


def _file_entry(t, fd):
    if fd == -1:
        return None
    f = t.fdtable.get(fd)
    if isinstance(f.impl, IoUring):
        raise SyscallError(EBADF)   # as Linux: no ring in a ring's table
    return f.inc_ref()


def _buffer_entry(t, iov):
    base, length = iov
    if not base:
        if length:
            raise SyscallError(EFAULT)
        return None    # an empty slot
    if not length or length > SZ_1G or t.mm.accessible_span(base, length, write=True) < length:
        raise SyscallError(EFAULT)   # Linux pins the pages: unmapped ones are EFAULT
    return (base, length)


# kind: (largest table, bytes per item, decode, make an entry, drop an entry)
KINDS = {
    "files": (IORING_MAX_FIXED_FILES, 4, lambda raw: [fd for (fd,) in struct.iter_unpack("<i", raw)],
              _file_entry, lambda f: f.dec_ref()),
    "buffers": (IORING_MAX_REG_BUFFERS, 16, lambda raw: list(struct.iter_unpack("<QQ", raw)),
                _buffer_entry, lambda b: None),
}


def _items(t, kind, data, tags_addr, nr):
    """The ``nr`` raw items at ``data`` (None for each when data is 0: a sparse table) and their tags."""
    _limit, size, decode, _make, _drop = KINDS[kind]
    raw = decode(t.mm.copy_in(data, size * nr)) if data else [None] * nr
    tags = [tag for (tag,) in U64.iter_unpack(t.mm.copy_in(tags_addr, 8 * nr))] if tags_addr else [0] * nr
    return raw, tags


def register(t, ring, kind, data, tags_addr, nr):
    limit, _size, _decode, make, drop = KINDS[kind]
    if getattr(ring, kind) is not None:
        raise SyscallError(EBUSY)
    if nr == 0 or nr > limit:
        raise SyscallError(EINVAL)
    raw, tags = _items(t, kind, data, tags_addr, nr)
    entries = []
    try:
        for item, tag in zip(raw, tags):
            entry = None if item is None else make(t, item)
            entries.append(entry)
            if entry is None and tag:
                raise SyscallError(EINVAL)   # a tag on an empty slot
    except SyscallError:
        for entry in entries:
            if entry is not None:
                drop(entry)
        raise
    setattr(ring, kind, Registered(ring, entries, tags, drop))
    return 0


def update(t, ring, kind, offset, data, tags_addr, nr):
    """Replace slots ``offset``.. with new items; returns how many were done (Linux stops at the
    first failure, reporting it only if nothing was done)."""
    table = getattr(ring, kind)
    if table is None:
        raise SyscallError(ENXIO)
    if offset + nr > len(table.entries):
        raise SyscallError(EINVAL)
    if not data and nr:
        raise SyscallError(EFAULT)
    raw, tags = _items(t, kind, data, tags_addr, nr)
    make = KINDS[kind][3]
    done = 0
    for item, tag in zip(raw, tags):
        if not (kind == "files" and item == IORING_REGISTER_FILES_SKIP):
            try:
                entry = None if item is None else make(t, item)
                if entry is None and tag:
                    raise SyscallError(EINVAL)
            except SyscallError:
                if done:
                    break
                raise
            table.replace(offset + done, entry, tag)
        done += 1
    return done


def register2(t, ring, kind, arg, size):
    """IORING_REGISTER_FILES2 / BUFFERS2: struct io_uring_rsrc_register."""
    if size != RSRC_REGISTER.size:
        raise SyscallError(EINVAL)
    nr, flags, resv2, data, tags = RSRC_REGISTER.unpack(t.mm.copy_in(arg, RSRC_REGISTER.size))
    if resv2 or flags & ~IORING_RSRC_REGISTER_SPARSE or flags & IORING_RSRC_REGISTER_SPARSE and data:
        raise SyscallError(EINVAL)
    return register(t, ring, kind, data, tags, nr)


def update2(t, ring, kind, arg, size):
    """IORING_REGISTER_FILES_UPDATE2 / BUFFERS_UPDATE: struct io_uring_rsrc_update2."""
    if size != RSRC_UPDATE2.size:
        raise SyscallError(EINVAL)
    offset, resv, data, tags, nr, resv2 = RSRC_UPDATE2.unpack(t.mm.copy_in(arg, RSRC_UPDATE2.size))
    if resv or resv2:
        raise SyscallError(EINVAL)
    return update(t, ring, kind, offset, data, tags, nr)


def files_update(t, ring, arg, nr):
    """IORING_REGISTER_FILES_UPDATE: struct io_uring_files_update (offset, resv, fds), nr fds."""
    offset, resv, fds = struct.unpack("<IIQ", t.mm.copy_in(arg, 16))
    if resv:
        raise SyscallError(EINVAL)
    return update(t, ring, "files", offset, fds, 0, nr)
