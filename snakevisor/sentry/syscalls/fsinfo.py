"""The obsolete filesystem queries: sysfs(2) (filesystem types by index, over the list
/proc/filesystems shows) and ustat(2) (free blocks and inodes of a mounted filesystem named by
its device number)."""
import struct

from snakevisor.abi.errno import EFAULT, EINVAL, ENOENT, SyscallError
from snakevisor.abi.fs import to_s32
from snakevisor.sentry.vfs.at import read_path
from snakevisor.sentry.vfs.fstypes import FILESYSTEM_TYPES

# struct ustat (x86_64): f_tfree (int), f_tinode (unsigned long), f_fname[6], f_fpack[6].
USTAT = struct.Struct("<i4xQ6s6s4x")


def sysfs(t, option, arg1, arg2):
    option = to_s32(option)
    names = [name.encode() for name, _nodev in FILESYSTEM_TYPES]
    if option == 1:          # the index of the type named at arg1
        if not arg1:
            raise SyscallError(EFAULT)
        name = bytes(read_path(t, arg1))
        if not name:
            raise SyscallError(ENOENT)
        if name not in names:
            raise SyscallError(EINVAL)
        return names.index(name)
    if option == 2:          # the name of type number arg1, into arg2
        index = arg1 & 0xFFFFFFFF
        if index >= len(names):
            raise SyscallError(EINVAL)
        t.mm.copy_out(arg2, names[index] + b"\0")
        return 0
    if option == 3:          # how many types there are
        return len(names)
    raise SyscallError(EINVAL)


def _decode_dev(dev):
    """new_decode_dev: a 32-bit device number as (major, minor)."""
    return (dev & 0xFFF00) >> 8, (dev & 0xFF) | ((dev >> 12) & 0xFFF00)


def _split_dev(dev):
    """A 64-bit dev_t (glibc's encoding, what stat reports) as (major, minor)."""
    return ((dev >> 8) & 0xFFF) | ((dev >> 32) & 0xFFFFF000), (dev & 0xFF) | ((dev >> 12) & 0xFFFFFF00)


def ustat(t, dev, ubuf):
    """The mounted filesystem whose device is ``dev`` (EINVAL if none): its free blocks and inodes."""
    want = _decode_dev(dev & 0xFFFFFFFF)
    for m in t.ns.mnt.mounts:
        inode = m.root.inode
        if inode is not None and _split_dev(inode.stat().dev) == want:
            s = inode.statfs()
            t.mm.copy_out(ubuf, USTAT.pack(to_s32(s.bfree), s.ffree, b"", b""))   # f_tfree is an int
            return 0
    raise SyscallError(EINVAL)
