"""name_to_handle_at(2) and open_by_handle_at(2): file handles for tmpfs and Gofer files.

A handle is 12 opaque bytes, as a tmpfs handle on Linux (FILEID_INO32_GEN): a number the Sentry
gives the inode on its first handle, and a random generation that makes it unguessable. The
kernel's HandleTable maps the number back to the inode while the inode lives (a file unlinked
and no longer open is gone, and its handle ESTALE, as on Linux; the table holds inodes weakly). Other filesystems (proc, sysfs,
devpts, mqueue, pipes and sockets) have no handles: EOPNOTSUPP, as Linux's without export ops.
"""
import itertools
import os
import struct
import weakref

from snakevisor.abi.capability import CAP_DAC_READ_SEARCH
from snakevisor.abi.errno import EINVAL, EOPNOTSUPP, EOVERFLOW, EPERM, ESTALE, SyscallError
from snakevisor.abi.fs import (AT_EMPTY_PATH, AT_FDCWD, AT_HANDLE_CONNECTABLE, AT_HANDLE_FID, AT_HANDLE_MNT_ID_UNIQUE,
                               AT_SYMLINK_FOLLOW, FILEID_INVALID, MAX_HANDLE_SZ, O_CLOEXEC, to_s32)
from snakevisor.sentry.fsimpl.gofer.filesystem import GoferFilesystem
from snakevisor.sentry.fsimpl.tmpfs import TmpfsFilesystem
from snakevisor.sentry.syscalls.newfd import install_new
from snakevisor.sentry.vfs.at import read_path, resolve_at, task_ctx
from snakevisor.sentry.vfs.dentry import Dentry
from snakevisor.sentry.vfs.mount import VirtualDentry
from snakevisor.sentry.vfs.pathops import open_vd

HEADER = struct.Struct("<Ii")           # struct file_handle: handle_bytes, handle_type
HANDLE = struct.Struct("<IQ")           # our f_handle: generation, number
FILEID_INO32_GEN = 1
FILEID_INO64_GEN = 0x81   # exportfs_encode_ino64_fid: u64 inode number, u32 generation
VALID_FLAGS = AT_SYMLINK_FOLLOW | AT_EMPTY_PATH | AT_HANDLE_FID | AT_HANDLE_MNT_ID_UNIQUE | AT_HANDLE_CONNECTABLE
FILEID_USER_FLAGS_MASK = 0xFFFF0000
FILEID_VALID_USER_FLAGS = 0x00010000    # FILEID_IS_CONNECTABLE
HANDLE_FILESYSTEMS = (TmpfsFilesystem, GoferFilesystem)


class HandleTable:
    """number -> (generation, the inode weakly, a Dentry of it weakly); inode -> number."""

    def __init__(self):
        self._numbers = weakref.WeakKeyDictionary()
        self._entries = {}
        self._next = itertools.count(1)

    def encode(self, dentry) -> bytes:
        inode = dentry.inode
        number = self._numbers.get(inode)
        if number is None:
            number = self._numbers[inode] = next(self._next)
            generation = int.from_bytes(os.urandom(4), "little")
            forget = lambda _ref, n=number: self._entries.pop(n, None)   # noqa: E731
            self._entries[number] = [generation, weakref.ref(inode, forget), weakref.ref(dentry)]
        else:
            self._entries[number][2] = weakref.ref(dentry)     # the latest name it was reached by
        return HANDLE.pack(self._entries[number][0], number)

    def decode(self, data: bytes):
        """The Dentry a handle names (a name-less one if none is left), or None if it is stale."""
        if len(data) < HANDLE.size:
            return None
        generation, number = HANDLE.unpack_from(data)
        entry = self._entries.get(number)
        if entry is None or entry[0] != generation:
            return None
        inode, dentry = entry[1](), entry[2]()
        if inode is None or (inode.nlink <= 0 and inode.refs == 0):
            return None                 # unlinked and no longer open: evicted
        if dentry is None or dentry.inode is not inode:
            dentry = Dentry(inode)      # disconnected, as Linux's exportfs may give; its hold on
            dentry.dead = True          # the inode goes with the last file opened through it
        return dentry


def handle_table(kernel) -> HandleTable:
    table = getattr(kernel, "file_handles", None)
    if table is None:
        table = kernel.file_handles = HandleTable()
    return table


def name_to_handle_at(t, dirfd, path_addr, handle_addr, mount_id_addr, flags):
    flags &= 0xFFFFFFFF
    if flags & ~VALID_FLAGS or (flags & AT_HANDLE_FID and flags & AT_HANDLE_CONNECTABLE):
        raise SyscallError(EINVAL)
    vd = resolve_at(t, dirfd, read_path(t, path_addr), flags, follow=bool(flags & AT_SYMLINK_FOLLOW))
    exportable = isinstance(vd.mount.fs, HANDLE_FILESYSTEMS)
    if not exportable and not flags & AT_HANDLE_FID:
        raise SyscallError(EOPNOTSUPP)
    room, _ = HEADER.unpack(t.mm.copy_in(handle_addr, HEADER.size))
    if room > MAX_HANDLE_SZ:
        raise SyscallError(EINVAL)
    if exportable:
        data, fid_type = handle_table(t.kernel).encode(vd.dentry), FILEID_INO32_GEN
    else:   # exportfs_encode_ino64_fid: a file id of any filesystem, inode number and generation (0)
        data, fid_type = struct.pack("<QI", vd.dentry.inode.stat().ino, 0), FILEID_INO64_GEN
    result, body = 0, data
    if len(data) > room:
        result, body = -EOVERFLOW, b""
    if flags & AT_HANDLE_MNT_ID_UNIQUE:
        t.mm.copy_out(mount_id_addr, struct.pack("<Q", vd.mount.id))
    else:
        t.mm.copy_out(mount_id_addr, struct.pack("<i", vd.mount.id))
    handle_type = FILEID_INVALID if result else fid_type
    t.mm.copy_out(handle_addr, HEADER.pack(len(data), handle_type) + body)
    if result:
        raise SyscallError(-result)
    return 0


def _anchor(t, mount_fd):
    """get_path_anchor: the mount a handle is decoded in (the cwd's for AT_FDCWD; EBADF)."""
    fd = to_s32(mount_fd)
    if fd == AT_FDCWD:
        return t.fs.cwd.mount
    return t.fdtable.get(fd).vd.mount


def open_by_handle_at(t, mount_fd, handle_addr, flags):
    mount = _anchor(t, mount_fd)
    if not t.creds.has_cap(CAP_DAC_READ_SEARCH):
        raise SyscallError(EPERM)
    size, handle_type = HEADER.unpack(t.mm.copy_in(handle_addr, HEADER.size))
    if size > MAX_HANDLE_SZ or size == 0:
        raise SyscallError(EINVAL)
    if handle_type < 0 or handle_type & FILEID_USER_FLAGS_MASK & ~FILEID_VALID_USER_FLAGS:
        raise SyscallError(EINVAL)
    data = t.mm.copy_in(handle_addr + HEADER.size, size)
    dentry = handle_table(t.kernel).decode(bytes(data))
    if dentry is None or dentry.inode.fs is not mount.fs:
        raise SyscallError(ESTALE)
    flags &= 0xFFFFFFFF
    dentry.inc_ref()
    try:
        f = open_vd(task_ctx(t), VirtualDentry(mount, dentry), flags)
    finally:
        dentry.dec_ref()
    return install_new(t, f, bool(flags & O_CLOEXEC))
