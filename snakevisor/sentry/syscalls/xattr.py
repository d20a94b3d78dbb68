"""Extended attributes: get/set/list/remove, in their path, l- (no follow), f- (fd) and -at forms.

The VFS part is ``Inode.getxattr/setxattr/listxattr/removexattr`` (tmpfs keeps
them in memory; others say ENODATA / EOPNOTSUPP); here are the Linux argument
rules: name length, the namespace prefix, size probing and ERANGE, flags.
"""
from snakevisor.abi.capability import CAP_FSETID, CAP_SETFCAP, CAP_SYS_ADMIN
from snakevisor.abi.errno import E2BIG, EACCES, EINVAL, ENODATA, EOPNOTSUPP, EPERM, ERANGE, EROFS, SyscallError
from snakevisor.abi.fs import (AT_EMPTY_PATH, AT_FDCWD, AT_SYMLINK_NOFOLLOW, S_ISGID, S_ISVTX, VFS_CAP_REVISION_MASK,
                               VFS_CAP_SIZES,
                               XATTR_ARGS, XATTR_CREATE, XATTR_LIST_MAX, XATTR_NAME_CAPS, XATTR_NAME_MAX, XATTR_REPLACE,
                               XATTR_SIZE_MAX, to_s32, to_u32)
from snakevisor.abi.mm import PAGE_SIZE
from snakevisor.abi.inotify import IN_ATTRIB
from snakevisor.sentry.vfs import fsnotify, inode_flags, posix_acl
from snakevisor.sentry.vfs.at import read_path, resolve_at
from snakevisor.sentry.vfs.permissions import (MAY_READ, MAY_WRITE, capable_wrt_inode, check_owner, check_permission,
                                               in_group)

NAMESPACES = (b"user.", b"trusted.", b"security.", b"system.")


def _read_name(t, addr):
    name = t.mm.read_cstring(addr, XATTR_NAME_MAX + 1)
    if not name or len(name) > XATTR_NAME_MAX:
        raise SyscallError(ERANGE)
    if not name.startswith(NAMESPACES):
        raise SyscallError(EOPNOTSUPP)
    return name


def _inode_at(t, path_addr, follow):
    return resolve_at(t, AT_FDCWD, read_path(t, path_addr), follow=follow).dentry.inode


def _inode_fd(t, fd):
    f = t.fdtable.get(to_s32(fd))
    f.check_not_path()
    return f.inode, f


def _permission(t, inode, name, write):
    """xattr_permission (fs/xattr.c), before the attribute is looked up: a write needs the inode
    neither immutable nor append-only and its ids mapped; security.* and system.* are the
    filesystem's to judge; trusted.* needs CAP_SYS_ADMIN (EPERM to write, ENODATA to read);
    user.* exists only on regular files and directories (EPERM / ENODATA), a sticky directory's
    only for its owner to write, and follows the mode bits (EACCES)."""
    if write:
        if inode.iflags:
            inode_flags.check_unchanged(inode)
        ns = getattr(t.creds, "user_ns", None)
        if ns is not None and (ns.from_kernel("uid", inode.uid) is None or ns.from_kernel("gid", inode.gid) is None):
            raise SyscallError(EPERM)
    if name.startswith(b"security."):
        # The capability module's (cap_inode_setxattr, cap_inode_removexattr): changing file
        # capabilities needs CAP_SETFCAP (_check_caps, _remove), the rest CAP_SYS_ADMIN.
        if write and name != XATTR_NAME_CAPS and not t.creds.has_cap(CAP_SYS_ADMIN):
            raise SyscallError(EPERM)
        return
    if name.startswith(b"system."):
        return
    if name.startswith(b"trusted."):
        if not t.creds.has_cap(CAP_SYS_ADMIN):
            raise SyscallError(EPERM if write else ENODATA)
        return
    if not (inode.is_reg or inode.is_dir):
        raise SyscallError(EPERM if write else ENODATA)
    if write and inode.is_dir and inode.mode & S_ISVTX:
        check_owner(t.creds, inode)
    check_permission(t.creds, inode, MAY_WRITE if write else MAY_READ)


def _get(t, inode, name_addr, value, size):
    name = _read_name(t, name_addr)
    _permission(t, inode, name, False)
    if _is_acl(inode, name):   # vfs_get_acl: ids as the caller's user namespace sees them
        if inode.is_symlink:
            raise SyscallError(EOPNOTSUPP)
        data = posix_acl.to_xattr(inode.getxattr(name), getattr(t.creds, "user_ns", None))
        return _answer(t, value, size, data, XATTR_SIZE_MAX)
    return _answer(t, value, size, inode.getxattr(name), XATTR_SIZE_MAX)


def _is_acl(inode, name):
    """Is ``name`` an ACL that ``inode``'s filesystem has: one the Sentry keeps, or the host's?"""
    return name in posix_acl.NAMES and (inode.keeps_acls() or inode.host_acls)


def _set_acl(t, dentry, name, data):
    """do_set_acl, vfs_set_acl, set_posix_acl and simple_set_acl: the value checked (no flags
    apply); a default ACL only on a directory (EACCES; removing one elsewhere does nothing); the
    owner's or CAP_FOWNER's to change (EPERM), whoever stores it. An access ACL the Sentry keeps
    becomes the mode bits, kept only if it says more than they can, and drops the set-group-ID
    bit of a changer outside the file's group and without CAP_FSETID (the host does that to its
    own). An empty value removes."""
    inode = dentry.inode
    acl = posix_acl.from_xattr(data, getattr(t.creds, "user_ns", None)) if data else None
    _permission(t, inode, name, True)   # may_write_xattr
    if inode.is_symlink:
        raise SyscallError(EOPNOTSUPP)
    if name == posix_acl.DEFAULT and not inode.is_dir:
        if acl is not None:
            raise SyscallError(EACCES)
        return 0
    check_owner(t.creds, inode)
    if acl is None:
        inode.check_acl_removal(name)
    if name == posix_acl.ACCESS and inode.keeps_acls():
        mode, extended = posix_acl.equiv_mode(acl, inode.mode) if acl is not None else (inode.mode, False)
        if not (in_group(t.creds, inode.gid) or capable_wrt_inode(t.creds, CAP_FSETID, inode)):
            mode &= ~S_ISGID
        inode.setattr(mode=mode & 0o7777)
        acl = acl if extended else None
    if acl is not None:
        inode.setxattr(name, posix_acl.pack(acl), 0)
    elif name in inode.listxattr():
        inode.removexattr(name)
    else:
        inode.touch_ctime()
    fsnotify.file_event(dentry, IN_ATTRIB, of_inode=True)
    return 0


def _set(t, dentry, name_addr, value, size, flags, readonly):
    inode = dentry.inode
    if flags & ~(XATTR_CREATE | XATTR_REPLACE) or flags == XATTR_CREATE | XATTR_REPLACE:
        raise SyscallError(EINVAL)
    name = _read_name(t, name_addr)
    if size > XATTR_SIZE_MAX:
        raise SyscallError(E2BIG)
    data = t.mm.copy_in(value, size) if size else b""
    if readonly:
        raise SyscallError(EROFS)
    if _is_acl(inode, name):
        return _set_acl(t, dentry, name, data)
    if name == XATTR_NAME_CAPS and data:
        _check_caps(t, inode, data)
    _permission(t, inode, name, True)
    inode.setxattr(name, data, flags)
    fsnotify.file_event(dentry, IN_ATTRIB, of_inode=True)
    return 0


def _check_caps(t, inode, data):
    """cap_convert_nscap's check of file capabilities being set: a struct vfs_cap_data of a
    known revision and that revision's size (else EINVAL), set with CAP_SETFCAP (else EPERM)."""
    magic = int.from_bytes(data[:4], "little") if len(data) >= 4 else 0
    if VFS_CAP_SIZES.get(magic & VFS_CAP_REVISION_MASK) != len(data):
        raise SyscallError(EINVAL)
    if not capable_wrt_inode(t.creds, CAP_SETFCAP, inode):
        raise SyscallError(EPERM)


def _list(t, inode, addr, size):
    names = inode.listxattr()
    if not t.creds.has_cap(CAP_SYS_ADMIN):
        names = [n for n in names if not n.startswith(b"trusted.")]
    return _answer(t, addr, size, b"".join(n + b"\0" for n in names), XATTR_LIST_MAX)


def _answer(t, addr, size, data, limit):
    """getxattr's and listxattr's answer: with ``size`` 0 only the length ``data`` needs, else
    ``data`` copied to ``addr`` if it fits in ``size`` (ERANGE if not, or past ``limit``)."""
    if size == 0:
        return len(data)
    if len(data) > min(size, limit):
        raise SyscallError(ERANGE)
    t.mm.copy_out(addr, data)
    return len(data)


def _remove(t, dentry, name_addr, readonly):
    inode = dentry.inode
    name = _read_name(t, name_addr)
    if readonly:
        raise SyscallError(EROFS)
    if _is_acl(inode, name):
        return _set_acl(t, dentry, name, b"")   # vfs_remove_acl: set_posix_acl with no ACL
    _permission(t, inode, name, True)
    if name == XATTR_NAME_CAPS and not capable_wrt_inode(t.creds, CAP_SETFCAP, inode):
        raise SyscallError(EPERM)   # cap_inode_removexattr
    inode.removexattr(name)
    fsnotify.file_event(dentry, IN_ATTRIB, of_inode=True)
    return 0


def _ro(inode, mount=None):
    return inode.fs.readonly or (mount is not None and mount.flags & 1)


def getxattr(t, path, name, value, size):
    return _get(t, _inode_at(t, path, True), name, value, size)


def lgetxattr(t, path, name, value, size):
    return _get(t, _inode_at(t, path, False), name, value, size)


def fgetxattr(t, fd, name, value, size):
    return _get(t, _inode_fd(t, fd)[0], name, value, size)


def setxattr(t, path, name, value, size, flags):
    vd = resolve_at(t, AT_FDCWD, read_path(t, path), follow=True)
    return _set(t, vd.dentry, name, value, size, flags, _ro(vd.dentry.inode, vd.mount))


def lsetxattr(t, path, name, value, size, flags):
    vd = resolve_at(t, AT_FDCWD, read_path(t, path), follow=False)
    return _set(t, vd.dentry, name, value, size, flags, _ro(vd.dentry.inode, vd.mount))


def fsetxattr(t, fd, name, value, size, flags):
    inode, f = _inode_fd(t, fd)
    return _set(t, f.vd.dentry, name, value, size, flags, _ro(inode, f.vd.mount))


def listxattr(t, path, addr, size):
    return _list(t, _inode_at(t, path, True), addr, size)


def llistxattr(t, path, addr, size):
    return _list(t, _inode_at(t, path, False), addr, size)


def flistxattr(t, fd, addr, size):
    return _list(t, _inode_fd(t, fd)[0], addr, size)


def removexattr(t, path, name):
    vd = resolve_at(t, AT_FDCWD, read_path(t, path), follow=True)
    return _remove(t, vd.dentry, name, _ro(vd.dentry.inode, vd.mount))


def lremovexattr(t, path, name):
    vd = resolve_at(t, AT_FDCWD, read_path(t, path), follow=False)
    return _remove(t, vd.dentry, name, _ro(vd.dentry.inode, vd.mount))


def fremovexattr(t, fd, name):
    inode, f = _inode_fd(t, fd)
    return _remove(t, f.vd.dentry, name, _ro(inode, f.vd.mount))




# -- the *xattrat calls (Linux 6.13): a dirfd, AT_ flags, and struct xattr_args ------------------

def _at_target(t, dfd, path_addr, at_flags):
    """The VirtualDentry an *xattrat call names: ``dfd`` itself for an empty path with
    AT_EMPTY_PATH (a real open file: O_PATH is EBADF, as fdget), else the path from ``dfd``."""
    at_flags = to_u32(at_flags)
    if at_flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH):
        raise SyscallError(EINVAL)
    path = read_path(t, path_addr) if path_addr or not at_flags & AT_EMPTY_PATH else b""
    if not path and at_flags & AT_EMPTY_PATH and to_s32(dfd) >= 0:
        return _inode_fd(t, dfd)[1].vd
    return resolve_at(t, dfd, path, at_flags, follow=not at_flags & AT_SYMLINK_NOFOLLOW)


def _xattr_args(t, addr, usize):
    """struct xattr_args {u64 value; u32 size; u32 flags} read as copy_struct_from_user."""
    if usize < XATTR_ARGS.size:
        raise SyscallError(EINVAL)
    if usize > PAGE_SIZE:
        raise SyscallError(E2BIG)
    raw = t.mm.copy_in(addr, usize)
    if any(raw[XATTR_ARGS.size:]):
        raise SyscallError(E2BIG)
    return XATTR_ARGS.unpack_from(raw)


def setxattrat(t, dfd, path, at_flags, name, uargs, usize):
    value, size, flags = _xattr_args(t, uargs, usize)
    vd = _at_target(t, dfd, path, at_flags)
    return _set(t, vd.dentry, name, value, size, flags, _ro(vd.dentry.inode, vd.mount))


def getxattrat(t, dfd, path, at_flags, name, uargs, usize):
    value, size, flags = _xattr_args(t, uargs, usize)
    if flags:
        raise SyscallError(EINVAL)
    return _get(t, _at_target(t, dfd, path, at_flags).dentry.inode, name, value, size)


def listxattrat(t, dfd, path, at_flags, addr, size):
    return _list(t, _at_target(t, dfd, path, at_flags).dentry.inode, addr, size)


def removexattrat(t, dfd, path, at_flags, name):
    vd = _at_target(t, dfd, path, at_flags)
    return _remove(t, vd.dentry, name, _ro(vd.dentry.inode, vd.mount))
