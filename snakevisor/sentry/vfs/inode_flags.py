"""Inode flags (chattr(1)'s append-only, immutable, nodump, noatime, sync) and their rules.

A filesystem that keeps flags sets ``Inode.user_flags`` (the FS_*_FL bits it lets users change:
tmpfs, as Linux's shmem) and stores them in ``Inode.iflags``; every other inode has neither, and
asking it is ENOTTY (ioctl) or EOPNOTSUPP (file_getattr), as on a Linux filesystem without
fileattr support. The checks the rest of the VFS makes call the small functions here, which cost
one attribute test for an inode without flags:

- immutable: no write permission at all (EPERM, before the mode bits), no unlink, rename, link,
  attribute or xattr change;
- append-only: opened for writing only with O_APPEND and never with O_TRUNC, no truncation, no
  unlink/rename, no link, no chmod/chown/explicit times; a directory so marked keeps its names;
- noatime: reads do not move atime.
Setting flags needs the owner or CAP_FOWNER, and CAP_LINUX_IMMUTABLE to change immutable or
append-only (fs/file_attr.c)."""

from snakevisor.abi import fs as F
from snakevisor.abi.capability import CAP_FOWNER, CAP_LINUX_IMMUTABLE
from snakevisor.abi.errno import EOPNOTSUPP, EPERM, ENOTTY, SyscallError

LOCKED = F.FS_IMMUTABLE_FL | F.FS_APPEND_FL


def check_may_write(inode) -> None:
    """inode_permission's MAY_WRITE rule: nobody writes an immutable inode."""
    if inode.iflags & F.FS_IMMUTABLE_FL:
        raise SyscallError(EPERM)


def check_open(inode, flags: int) -> None:
    """may_open's rule for append-only files."""
    if inode.iflags & F.FS_APPEND_FL and (flags & F.O_ACCMODE != F.O_RDONLY and not flags & F.O_APPEND
                                         or flags & F.O_TRUNC):
        raise SyscallError(EPERM)


def check_unchanged(inode) -> None:
    """Neither immutable nor append-only: what unlink, rename, link, chmod, chown, explicit times,
    truncate and xattr changes need of the inode they change."""
    if inode.iflags & LOCKED:
        raise SyscallError(EPERM)


def check_append_kept(inode) -> None:
    """F_SETFL: an append-only file's descriptions keep O_APPEND."""
    if inode.iflags & F.FS_APPEND_FL:
        raise SyscallError(EPERM)


def check_allocate(inode, mode: int) -> None:
    """vfs_fallocate: nothing on an immutable file, only growth (KEEP_SIZE) on an append-only one."""
    if inode.iflags & F.FS_IMMUTABLE_FL or inode.iflags & F.FS_APPEND_FL and mode & ~F.FALLOC_FL_KEEP_SIZE:
        raise SyscallError(EPERM)


def check_delete(parent, victim) -> None:
    """may_delete: an append-only directory keeps its names; a locked inode keeps its name."""
    if parent.iflags & F.FS_APPEND_FL or victim.iflags & LOCKED:
        raise SyscallError(EPERM)


def xflags_of(flags: int) -> int:
    return sum(x for f, x in F.FS_FLAG_XFLAG if flags & f)


def flags_of(xflags: int) -> int:
    return sum(f for f, x in F.FS_FLAG_XFLAG if xflags & x)


def get_flags(inode) -> int:
    if inode.user_flags is None:
        raise SyscallError(ENOTTY)
    return inode.iflags


def set_flags(creds, inode, flags: int, fsx: bool = False) -> None:
    """vfs_fileattr_set: ``flags`` replaces the common flags (``fsx``: it came as xflags, which
    cannot say the filesystem-specific ones, kept as they are)."""
    if inode.user_flags is None:
        raise SyscallError(ENOTTY)
    if creds.fsuid != inode.uid and not creds.has_cap(CAP_FOWNER):
        raise SyscallError(EPERM)
    old = inode.iflags
    if fsx:
        flags |= old & ~F.FS_COMMON_FL
    if (old ^ flags) & LOCKED and not creds.has_cap(CAP_LINUX_IMMUTABLE):
        raise SyscallError(EPERM)
    if flags & ~inode.user_flags:
        raise SyscallError(EOPNOTSUPP)
    inode.iflags = flags
    inode.touch_ctime()
