"""The new mount API (fs/fsopen.c, fs/namespace.c): fsopen, fsconfig, fsmount and fspick on
filesystem contexts (fsimpl/fscontext.py); open_tree, move_mount and mount_setattr on mounts.

A detached tree (fsmount's mount, open_tree's OPEN_TREE_CLONE copy) lives in an anonymous mount
namespace (vfs/vfs.py ``VirtualFilesystem.detached``) held by the O_PATH fd returned: its files
can be reached through that fd, move_mount attaches the whole tree to the caller's namespace,
and the fd's last close drops a tree still detached (files opened in it stay usable, as after
MNT_DETACH). mount(2)'s pieces are shared with syscalls/mount.py: the capability check, the
superblock of a filesystem type and its options, copies of a tree, moving a tree, propagation
types, the writers check. Not done: idmapped mounts (MOUNT_ATTR_IDMAP: EPERM for the sandbox's
user namespace, as Linux's for the initial one); mount events between peers.
"""
from snakevisor.abi.capability import CAP_SYS_ADMIN
from snakevisor.abi.errno import EBUSY, E2BIG, EINVAL, ENAMETOOLONG, ENODEV, EOPNOTSUPP, EPERM, SyscallError
from snakevisor.abi.fs import (AT_FDCWD, AT_RECURSIVE, AT_SYMLINK_NOFOLLOW, MS_NOATIME, MS_RDONLY, MS_RELATIME, O_LARGEFILE,
                               O_PATH, PROC_NS_INODES, to_s32)
from snakevisor.abi.mount_api import (ATIME_TO_MS, ATTR_TO_MS, FSCONFIG_BINARY_MAX, FSCONFIG_CMD_CREATE,
                                      FSCONFIG_CMD_CREATE_EXCL, FSCONFIG_CMD_RECONFIGURE, FSCONFIG_KEY_MAX,
                                      FSCONFIG_SET_BINARY, FSCONFIG_SET_FD, FSCONFIG_SET_FLAG, FSCONFIG_SET_PATH,
                                      FSCONFIG_SET_PATH_EMPTY, FSCONFIG_SET_STRING, FSMOUNT_ATTRS, FSMOUNT_CLOEXEC,
                                      FSOPEN_CLOEXEC, FSPICK_CLOEXEC, FSPICK_EMPTY_PATH, FSPICK_FLAGS,
                                      FSPICK_SYMLINK_NOFOLLOW, MOUNT_ATTR, MOUNT_ATTR__ATIME, MOUNT_ATTR_IDMAP,
                                      MOUNT_ATTR_SIZE_VER0, MOVE_MOUNT_BENEATH, MOVE_MOUNT_F_EMPTY_PATH,
                                      MOVE_MOUNT_F_SYMLINKS, MOVE_MOUNT_MASK, MOVE_MOUNT_SET_GROUP,
                                      MOVE_MOUNT_T_EMPTY_PATH, MOVE_MOUNT_T_SYMLINKS, OPEN_TREE_CLOEXEC,
                                      OPEN_TREE_CLONE, OPEN_TREE_FLAGS, SETATTR_ATTRS, SETATTR_FLAGS)
from snakevisor.abi.mount_options import FS_PARAMETERS
from snakevisor.sentry.fsimpl.overlay_mount import check_fsconfig_path
from snakevisor.sentry.fsimpl import fscontext as fc
from snakevisor.sentry.fsimpl.nsfs import ns_of_file
from snakevisor.sentry.syscalls.mount import (PAGE, PROPAGATION, admin, copy_tree, move_tree, new_filesystem,
                                              no_writers, reconfigure_superblock, room)
from snakevisor.sentry.syscalls.newfd import install_new
from snakevisor.sentry.vfs import propagation as shared_subtrees
from snakevisor.sentry.vfs.at import read_path, resolve_at, task_ctx
from snakevisor.sentry.vfs.file import FileDescription, PathImpl
from snakevisor.sentry.vfs.mount import Mount, VirtualDentry
from snakevisor.sentry.vfs.pathops import open_vd
from snakevisor.sentry.vfs.vfs import VirtualFilesystem

# Filesystems whose superblock is one per namespace and always exists (mqueue's per IPC
# namespace, sysfs's per network namespace, cgroup2's per cgroup namespace): CMD_CREATE_EXCL
# cannot make a new one.
KEYED_SUPERBLOCKS = ("mqueue", "sysfs", "cgroup2")


class DetachedTreeImpl(PathImpl):
    """The O_PATH file of a detached tree: its last close drops the tree if still detached
    (Linux's FMODE_NEED_UNMOUNT, dissolve_on_fput)."""

    def __init__(self, inode, vfs):
        super().__init__(inode)
        self.vfs = vfs

    def release(self):
        self.vfs.dissolve()   # empty once move_mount attached the tree


def _tree_fd(t, vfs, cloexec):
    root = vfs.root_mount
    f = FileDescription(DetachedTreeImpl(root.root.inode, vfs), VirtualDentry(root, root.root), O_PATH | O_LARGEFILE)
    return install_new(t, f, cloexec)


def _context(t, fd):
    """The fs context behind ``fd`` (EBADF; EINVAL for another file)."""
    f = t.fdtable.get(fd)
    f.check_not_path()   # fdget: an O_PATH fd is EBADF
    impl = f.impl
    if not isinstance(impl, fc.FsContextImpl):
        raise SyscallError(EINVAL)
    return impl


# -- filesystem contexts -------------------------------------------------------------------------

def fsopen(t, name, flags):
    admin(t)
    if flags & 0xFFFFFFFF & ~FSOPEN_CLOEXEC:
        raise SyscallError(EINVAL)
    fstype = _bounded_string(t, name, PAGE)
    if fstype not in FS_PARAMETERS:
        raise SyscallError(ENODEV)
    return install_new(t, fc.new_fs_context(fstype), bool(flags & FSOPEN_CLOEXEC))


def fspick(t, dirfd, path, flags):
    admin(t)
    flags &= 0xFFFFFFFF
    if flags & ~FSPICK_FLAGS:
        raise SyscallError(EINVAL)
    vd = resolve_at(t, dirfd, read_path(t, path), follow=not flags & FSPICK_SYMLINK_NOFOLLOW,
                    allow_empty=bool(flags & FSPICK_EMPTY_PATH))
    if vd.dentry is not vd.mount.root:
        raise SyscallError(EINVAL)
    return install_new(t, fc.new_fs_context(vd.mount.fs.name, vd.mount.fs), bool(flags & FSPICK_CLOEXEC))


def _fsconfig_value(t, cmd, value, aux):
    """The value argument of fsconfig ``cmd`` as the filesystem gets it (EINVAL for a missing or
    extra one, as vfs's checks), and whether it is a string."""
    if cmd == FSCONFIG_SET_FLAG:
        if value or aux:
            raise SyscallError(EINVAL)
        return None, False
    if cmd == FSCONFIG_SET_STRING:
        if not value or aux:
            raise SyscallError(EINVAL)
        return _bounded_string(t, value), True
    if cmd == FSCONFIG_SET_BINARY:
        if not value or not 0 < aux <= FSCONFIG_BINARY_MAX:
            raise SyscallError(EINVAL)
        return bytes(t.mm.copy_in(value, aux)), False
    if cmd in (FSCONFIG_SET_PATH, FSCONFIG_SET_PATH_EMPTY):
        if not value or (aux < 0 and aux != AT_FDCWD):
            raise SyscallError(EINVAL)
        return bytes(read_path(t, value)), False
    if value or aux < 0:   # FSCONFIG_SET_FD
        raise SyscallError(EINVAL)
    t.fdtable.get(aux)
    return None, False


def _bounded_string(t, addr, limit=FSCONFIG_KEY_MAX):
    """strndup_user(limit): EINVAL past the bound (the NUL counted)."""
    try:
        text = bytes(t.mm.read_cstring(addr, limit))
    except SyscallError as e:
        if e.errno != ENAMETOOLONG:
            raise
        raise SyscallError(EINVAL) from None
    if len(text) >= limit:
        raise SyscallError(EINVAL)
    return text.decode(errors="replace")


def fsconfig(t, fd, cmd, key, value, aux):
    fd, cmd, aux = to_s32(fd), cmd & 0xFFFFFFFF, to_s32(aux)
    if fd < 0:
        raise SyscallError(EINVAL)
    commands = (FSCONFIG_CMD_CREATE, FSCONFIG_CMD_CREATE_EXCL, FSCONFIG_CMD_RECONFIGURE)
    if cmd in commands:
        if key or value or aux:
            raise SyscallError(EINVAL)
    elif cmd > FSCONFIG_SET_FD:
        raise SyscallError(EOPNOTSUPP)
    elif not key:
        raise SyscallError(EINVAL)
    ctx = _context(t, fd)
    if cmd not in commands:
        name = _bounded_string(t, key)
        got, is_string = _fsconfig_value(t, cmd, value, aux)
        ctx.settle()
        check_fsconfig_path(t, ctx, name, got)
        ctx.set_param(name, got, is_string)
        return 0
    ctx.settle()
    if cmd == FSCONFIG_CMD_RECONFIGURE:
        return _reconfigure(t, ctx)
    if ctx.phase != fc.CREATE_PARAMS:
        raise SyscallError(EBUSY)
    admin(t)
    if cmd == FSCONFIG_CMD_CREATE_EXCL and ctx.fstype in KEYED_SUPERBLOCKS:
        ctx.phase = fc.FAILED
        ctx.fail("reusing existing filesystem not allowed", level="w", errno=EBUSY)
    try:
        ctx.fs = new_filesystem(t, ctx.fstype.encode(), list(ctx.params.items()))
    except SyscallError:
        ctx.phase = fc.FAILED
        raise
    if ctx.readonly and ctx.fs.readonly_apart:   # only a superblock of its own: never the shared proc
        ctx.fs.readonly = True
    ctx.phase = fc.AWAITING_MOUNT
    return 0


def _reconfigure(t, ctx):
    """vfs_cmd_reconfigure: the picked superblock takes the context's ro/rw and tmpfs sizes."""
    if ctx.phase != fc.RECONF_PARAMS:
        raise SyscallError(EBUSY)
    if not t.creds.has_cap(CAP_SYS_ADMIN):
        ctx.phase = fc.FAILED
        raise SyscallError(EPERM)
    ctx.phase = fc.FAILED   # until it succeeds (reconfigure_super's errors leave it so)
    try:
        reconfigure_superblock(t, ctx.fs, ctx.readonly if ctx.readonly_set else None, list(ctx.params.items()))
    except ValueError as e:
        ctx.fail(str(e))
    ctx.reconfigured()
    return 0


def _ms_bits(attrs):
    """The per-mount MS_* flags of MOUNT_ATTR_* bits ``attrs``, atime aside."""
    return sum(ms for bit, ms in ATTR_TO_MS if attrs & bit)


def _atime(attrs):
    """The MS_* flag of the one atime mode in ``attrs`` (EINVAL for two)."""
    atime = ATIME_TO_MS.get(attrs & MOUNT_ATTR__ATIME)
    if atime is None:
        raise SyscallError(EINVAL)
    return atime


def fsmount(t, fd, flags, attrs):
    admin(t)
    flags, attrs = flags & 0xFFFFFFFF, attrs & 0xFFFFFFFF
    if flags & ~FSMOUNT_CLOEXEC or attrs & ~FSMOUNT_ATTRS:
        raise SyscallError(EINVAL)
    mount_flags = _ms_bits(attrs) | _atime(attrs)
    ctx = _context(t, to_s32(fd))
    if ctx.phase != fc.AWAITING_MOUNT:
        raise SyscallError(EINVAL if ctx.fs is None else EBUSY)
    ctx.phase = fc.MOUNTED
    m = Mount(ctx.fs, flags=mount_flags, source=(ctx.source or "none").encode())
    if ctx.fs is t.kernel.devpts and ctx.fs.mount is None:
        ctx.fs.set_mount(m)
    return _tree_fd(t, VirtualFilesystem.detached(m), bool(flags & FSMOUNT_CLOEXEC))


# -- mounts --------------------------------------------------------------------------------------

def open_tree(t, dirfd, path, flags):
    flags &= 0xFFFFFFFF
    if flags & ~OPEN_TREE_FLAGS or flags & (AT_RECURSIVE | OPEN_TREE_CLONE) == AT_RECURSIVE:
        raise SyscallError(EINVAL)
    if flags & OPEN_TREE_CLONE:
        admin(t)
    vd = resolve_at(t, dirfd, read_path(t, path), flags, follow=not flags & AT_SYMLINK_NOFOLLOW)
    cloexec = bool(flags & OPEN_TREE_CLOEXEC)
    if not flags & OPEN_TREE_CLONE:
        return install_new(t, open_vd(task_ctx(t), vd, O_PATH), cloexec)
    if vd.mount.vfs is not t.ns.mnt and not (vd.mount.vfs is not None and vd.mount.vfs.anonymous):
        raise SyscallError(EINVAL)
    top, below = copy_tree(vd, flags & AT_RECURSIVE)
    room(t.ns.mnt, 1 + len(below))
    return _tree_fd(t, VirtualFilesystem.detached(top, below), cloexec)


def move_mount(t, from_dirfd, from_path, to_dirfd, to_path, flags):
    flags &= 0xFFFFFFFF
    if flags & ~MOVE_MOUNT_MASK or flags & (MOVE_MOUNT_BENEATH | MOVE_MOUNT_SET_GROUP) == (
            MOVE_MOUNT_BENEATH | MOVE_MOUNT_SET_GROUP):
        raise SyscallError(EINVAL)
    admin(t)
    src = resolve_at(t, from_dirfd, read_path(t, from_path), follow=bool(flags & MOVE_MOUNT_F_SYMLINKS),
                     allow_empty=bool(flags & MOVE_MOUNT_F_EMPTY_PATH))
    target = resolve_at(t, to_dirfd, read_path(t, to_path), follow=bool(flags & MOVE_MOUNT_T_SYMLINKS),
                        allow_empty=bool(flags & MOVE_MOUNT_T_EMPTY_PATH))
    if flags & MOVE_MOUNT_SET_GROUP:
        return _set_group(src, target)
    return move_tree(t, src, target, beneath=bool(flags & MOVE_MOUNT_BENEATH))


def _set_group(src, target):
    """MOVE_MOUNT_SET_GROUP (do_set_group): the private mount rooted at ``target`` joins the
    peer group (or the master) of the shared or slave mount rooted at ``src``, a mount of the
    same superblock whose root is at or above ``target``'s."""
    frm, to = src.mount, target.mount
    if frm.vfs is None or to.vfs is None or src.dentry is not frm.root or target.dentry is not to.root:
        raise SyscallError(EINVAL)
    if frm.fs is not to.fs or not frm.root.is_ancestor_of(to.root):
        raise SyscallError(EINVAL)
    if to.group is not None or to.master is not None or frm.group is None and frm.master is None:
        raise SyscallError(EINVAL)
    shared_subtrees.set_master(to, frm.master)
    if frm.group is not None:
        shared_subtrees.join(to, frm.group)
    return 0


def mount_setattr(t, dirfd, path, flags, uattr, size):
    flags = flags & 0xFFFFFFFF
    if flags & ~SETATTR_FLAGS:
        raise SyscallError(EINVAL)
    if size > PAGE:
        raise SyscallError(E2BIG)
    if size < MOUNT_ATTR_SIZE_VER0:
        raise SyscallError(EINVAL)
    admin(t)
    raw = bytes(t.mm.copy_in(uattr, size))
    if any(raw[MOUNT_ATTR_SIZE_VER0:]):
        raise SyscallError(E2BIG)   # copy_struct_from_user: a newer struct's fields we do not know
    attr_set, attr_clr, propagation, userns_fd = MOUNT_ATTR.unpack_from(raw)
    if not (attr_set or attr_clr or propagation):
        return 0   # nothing to do: not even the path is looked up
    set_ms, clear_ms, kind = _setattr_changes(t, attr_set, attr_clr, propagation, userns_fd)
    vd = resolve_at(t, dirfd, read_path(t, path), flags, follow=not flags & AT_SYMLINK_NOFOLLOW)
    m = vd.mount
    if vd.dentry is not m.root or m.vfs is None:
        raise SyscallError(EINVAL)
    if m.vfs is not t.ns.mnt and not (m.vfs.anonymous and m is m.vfs.root_mount):
        raise SyscallError(EINVAL)
    mounts = m.vfs.subtree(m) if flags & AT_RECURSIVE else [m]
    if not all(o.may_change_flags(o.flags & ~clear_ms | set_ms) for o in mounts):
        raise SyscallError(EPERM)   # mount_setattr_prepare: can_change_locked_flags
    if set_ms & MS_RDONLY:
        no_writers(mounts)   # before any change: all or nothing
    for o in mounts:
        o.flags = o.flags & ~clear_ms | set_ms
        if kind is not None:
            shared_subtrees.change(o, kind)
    m.vfs.touch()
    return 0


def _setattr_changes(t, attr_set, attr_clr, propagation, userns_fd):
    """build_mount_kattr: the MS_* flags to set and clear, and the propagation type (or None)."""
    if propagation and propagation not in PROPAGATION:
        raise SyscallError(EINVAL)
    both = attr_set | attr_clr
    if both >> 32 or both & ~SETATTR_ATTRS:
        raise SyscallError(EINVAL)
    set_ms, clear_ms = _ms_bits(attr_set), _ms_bits(attr_clr)
    if both & MOUNT_ATTR__ATIME:
        if attr_clr & MOUNT_ATTR__ATIME != MOUNT_ATTR__ATIME:
            raise SyscallError(EINVAL)
        clear_ms |= MS_RELATIME | MS_NOATIME   # the atime modes exclude one another
        set_ms |= _atime(attr_set)
    if both & MOUNT_ATTR_IDMAP:
        _idmap(t, attr_clr, userns_fd)
    return set_ms, clear_ms, PROPAGATION.get(propagation)


def _idmap(t, attr_clr, userns_fd):
    """build_mount_idmapped's checks. The sandbox's one user namespace is the initial one, which
    Linux refuses to idmap with (EPERM); a namespace of another kind is EINVAL."""
    if attr_clr & MOUNT_ATTR_IDMAP or userns_fd > 0x7FFFFFFF:
        raise SyscallError(EINVAL)
    f = t.fdtable.get(userns_fd)
    f.check_not_path()
    ns = ns_of_file(f)
    if ns is None or ns.kind != "user":
        raise SyscallError(EINVAL)
    raise SyscallError(EPERM if ns.ino == PROC_NS_INODES["user"] else EINVAL)
