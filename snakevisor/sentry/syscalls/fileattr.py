"""Inode flags from user space (the rules are vfs/inode_flags.py's): chattr/lsattr's ioctls
(FS_IOC_GETFLAGS/SETFLAGS and the fsxattr pair) and file_getattr/file_setattr (Linux 6.17),
which say the same by path with struct file_attr."""
import struct

from snakevisor.abi import fs as _fs_abi
from snakevisor.abi.errno import E2BIG, EBADF, EINVAL, EOPNOTSUPP, EROFS, SyscallError
from snakevisor.abi.fs import AT_EMPTY_PATH, AT_SYMLINK_NOFOLLOW, FILE_ATTR, O_PATH, to_s32, to_u32
from snakevisor.abi.mm import PAGE_SIZE
from snakevisor.sentry.vfs import inode_flags
from snakevisor.sentry.vfs.at import read_path, resolve_at

FILEATTR_IOCTLS = (_fs_abi.FS_IOC_GETFLAGS, _fs_abi.FS_IOC_SETFLAGS, _fs_abi.FS_IOC_FSGETXATTR,
                   _fs_abi.FS_IOC_FSSETXATTR)


def fileattr_ioctl(t, f, cmd, arg):
    """chattr/lsattr's ioctls on a filesystem that keeps inode flags (others: ENOTTY)."""
    inode = f.inode
    if cmd == _fs_abi.FS_IOC_GETFLAGS:
        t.mm.copy_out(arg, struct.pack("<i", inode_flags.get_flags(inode)))
        return 0
    if cmd == _fs_abi.FS_IOC_FSGETXATTR:
        t.mm.copy_out(arg, _fs_abi.FSXATTR.pack(inode_flags.xflags_of(inode_flags.get_flags(inode)), 0, 0, 0, 0))
        return 0
    if cmd == _fs_abi.FS_IOC_SETFLAGS:
        flags, fsx = struct.unpack("<I", t.mm.copy_in(arg, 4))[0], False
    else:
        xflags, extsize, _, projid, cowextsize = _fs_abi.FSXATTR.unpack(t.mm.copy_in(arg, _fs_abi.FSXATTR.size))
        flags, fsx = _fsx_flags(xflags, extsize, projid, cowextsize), True
    _set(t, f.vd, flags, fsx)
    return 0


def _fsx_flags(xflags, extsize, projid, cowextsize):
    if xflags & ~_fs_abi.FS_XFLAG_COMMON or extsize or projid or cowextsize:
        raise SyscallError(EOPNOTSUPP)   # fileattr_has_fsx: what only XFS-like filesystems keep
    return inode_flags.flags_of(xflags)


def _set(t, vd, flags, fsx):
    if vd.mount.readonly:
        raise SyscallError(EROFS)
    inode_flags.set_flags(t.creds, vd.dentry.inode, flags, fsx)   # no inotify event, as Linux




def _target(t, dfd, path_addr, at_flags, usize):
    """The file file_getattr/file_setattr name (``dfd`` itself for an empty path with
    AT_EMPTY_PATH), after their size and flag checks."""
    at_flags = to_u32(at_flags)
    if at_flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH):
        raise SyscallError(EINVAL)
    if usize > PAGE_SIZE:
        raise SyscallError(E2BIG)
    if usize < FILE_ATTR.size:
        raise SyscallError(EINVAL)
    path = read_path(t, path_addr) if path_addr or not at_flags & AT_EMPTY_PATH else b""
    if not path and at_flags & AT_EMPTY_PATH and to_s32(dfd) >= 0:
        f = t.fdtable.get(to_s32(dfd))
        if f.flags & O_PATH:
            raise SyscallError(EBADF)
        return f.vd
    return resolve_at(t, dfd, path, at_flags, follow=not at_flags & AT_SYMLINK_NOFOLLOW)


def _no_fileattr(inode):
    if inode.user_flags is None:
        raise SyscallError(EOPNOTSUPP)   # vfs_fileattr_get's ENOIOCTLCMD, as these calls say it


def file_getattr(t, dfd, path, addr, usize, at_flags):
    vd = _target(t, dfd, path, at_flags, usize)
    _no_fileattr(vd.dentry.inode)
    out = FILE_ATTR.pack(inode_flags.xflags_of(inode_flags.get_flags(vd.dentry.inode)), 0, 0, 0, 0)
    t.mm.copy_out(addr, out.ljust(usize, b"\0"))   # copy_struct_to_user: a larger struct is zero-filled
    return 0


def file_setattr(t, dfd, path, addr, usize, at_flags):
    vd = _target(t, dfd, path, at_flags, usize)
    raw = t.mm.copy_in(addr, usize)
    if any(raw[FILE_ATTR.size:]):
        raise SyscallError(E2BIG)
    xflags, extsize, _nextents, projid, cowextsize = FILE_ATTR.unpack_from(raw)
    if xflags >> 32:
        raise SyscallError(EINVAL)
    _no_fileattr(vd.dentry.inode)
    _set(t, vd, _fsx_flags(xflags, extsize, projid, cowextsize), True)
    return 0
