"""Path-level VFS operations: open, mkdir, mknod, symlink, link, unlink, rmdir, rename, setattr.

These are the rules common to every filesystem, applied once: "." / ".." /
root as the last component, trailing slashes, existing targets, read-only
mounts (EROFS), cross-mount links and renames (EXDEV), mount points (EBUSY),
renaming a directory below itself, permission checks, umask, and keeping the
Dentry cache in step with what the filesystem did. Syscall handlers and the
kernel (loader, exec, procfs) call these; filesystems implement the Inode side.
"""
from snakevisor.abi.errno import (EACCES, EBUSY, EEXIST, EINVAL, EISDIR, ELOOP, ENOENT, ENOTDIR, ETXTBSY,
                                  ENOTEMPTY, EPERM, EROFS, EXDEV, SyscallError)
from snakevisor.abi.capability import CAP_CHOWN, CAP_FOWNER, CAP_FSETID
from snakevisor.abi.inotify import IN_OPEN
from snakevisor.abi.landlock import ACCESS_FS_TRUNCATE as LANDLOCK_TRUNCATE
from snakevisor.abi.fs import RESOLVE_BENEATH, RESOLVE_IN_ROOT, RESOLVE_NO_MAGICLINKS, RESOLVE_NO_SYMLINKS
from snakevisor.abi.fs import (O_ACCMODE, O_CREAT, O_DIRECT, O_DIRECTORY, O_EXCL, O_LARGEFILE, O_NOATIME, O_NOFOLLOW,
                               O_PATH, O_PATH_KEEP, O_RDONLY, O_RDWR, O_TRUNC, O_WRONLY, __O_TMPFILE,
                               RENAME_EXCHANGE, RENAME_NOREPLACE, RENAME_WHITEOUT, S_ISGID, S_ISUID, S_ISVTX, S_IXGRP,
                               S_IFBLK, S_IFCHR, S_IFDIR, S_IFLNK, S_IFMT, S_IFREG, SYMLOOP_MAX, MS_NODEV)
from snakevisor.sentry.vfs import fsnotify, leases
from snakevisor.sentry.vfs.dentry import Dentry
from snakevisor.sentry.vfs.file import FileDescription, PathImpl, needs_remove_privs, remove_privs
from snakevisor.sentry.vfs.mount import VirtualDentry
from snakevisor.sentry.vfs import inode_flags
from snakevisor.sentry.vfs.permissions import (MAY_EXEC, MAY_READ, MAY_WRITE, capable, capable_wrt_inode,
                                               check_fsids_mapped, check_owner, check_permission, fsuid, in_group,
                                               sgid_to_drop)
from snakevisor.sentry.vfs.resolve import (lookup_child, lookup_child_or_none, resolve,
                                           resolve_parent)
from snakevisor.sentry.vfs.vfs import LIMITS


def _dotty(last: bytes) -> bool:
    return last in (b"", b".", b"..")


def check_writable_mount(vd: VirtualDentry) -> None:
    if vd.mount.readonly:
        raise SyscallError(EROFS)


def _landlock(ctx):
    """The caller's Landlock domain (kernel/landlock.py), whose methods check what it may do; None
    for most tasks, so a hook costs this test."""
    return ctx.creds.landlock if ctx.creds is not None else None


def _may_delete(creds, parent_inode, inode) -> None:
    """may_delete's checks of the name's owner: in a sticky directory only the file's or
    directory's owner (or CAP_FOWNER) may remove or rename it; an append-only directory, an
    immutable or append-only inode keep their names (EPERM)."""
    if parent_inode.iflags or inode.iflags:
        inode_flags.check_delete(parent_inode, inode)
    if parent_inode.mode & S_ISVTX and not capable(creds, CAP_FOWNER):
        uid = fsuid(creds)
        if uid != inode.uid and uid != parent_inode.uid:
            raise SyscallError(EPERM)


# --- open ------------------------------------------------------------------------------


def open_path(ctx, start: VirtualDentry, path: bytes, flags: int, mode: int = 0o666,
              umask: int = 0) -> FileDescription:
    """openat(2) below the syscall layer: returns a new FileDescription (refs=1)."""
    if flags & O_PATH:
        flags &= O_PATH_KEEP      # first, as Linux's build_open_how: O_PATH|O_TMPFILE opens a path
    if flags & __O_TMPFILE:
        return _open_tmpfile(ctx, start, path, flags, mode & 0o7777, umask)
    if flags & O_CREAT:
        vd, created = _open_create(ctx, start, path, flags, mode & 0o7777, umask)
    else:
        vd = resolve(ctx, start, path, follow_final=not flags & O_NOFOLLOW,
                     want_dir=bool(flags & O_DIRECTORY))
        created = False
    return open_vd(ctx, vd, flags, created)


def _without_umask(directory, mode: int, umask: int) -> int:
    """mode_strip_umask and posix_acl_create: the umask, unless ``directory`` has a default ACL,
    which gives what is made in it its permissions instead."""
    return mode if directory.default_acl() is not None else mode & ~umask


def _open_tmpfile(ctx, start, path, flags, mode, umask):
    """open(O_TMPFILE): an unnamed regular file in the directory ``path`` names, which linkat
    may name later (unless O_EXCL). Its Dentry is dead from the start, a child of the directory
    in name only ("#ino", as Linux's d_tmpfile), so the file goes with its last reference."""
    # The flags first (Linux's build_open_flags: O_DIRECTORY, no O_CREAT, writable), then the path.
    if flags & (__O_TMPFILE | O_DIRECTORY | O_CREAT) != __O_TMPFILE | O_DIRECTORY or \
            flags & O_ACCMODE not in (O_WRONLY, O_RDWR):
        raise SyscallError(EINVAL)
    vd = resolve(ctx, start, path, follow_final=True)
    directory = vd.dentry.inode
    if not directory.is_dir:
        raise SyscallError(ENOTDIR)
    _may_create(ctx, vd, None)
    inode = directory.tmpfile(_without_umask(directory, mode, umask), bool(flags & O_EXCL), ctx.creds)
    inode.linkable = not flags & O_EXCL
    dentry = Dentry(inode, b"#%d" % inode.ino, vd.dentry)
    try:
        return open_vd(ctx, VirtualDentry(vd.mount, dentry), flags & ~(__O_TMPFILE | O_DIRECTORY | O_EXCL), True)
    finally:
        dentry.kill()    # dead from the start: released with the open file (or now, if none)


def _open_create(ctx, start, path, flags, mode, umask):
    links = 0
    while True:
        parent, last, trailing = resolve_parent(ctx, start, path)
        if trailing or _dotty(last):
            raise SyscallError(EISDIR)
        child = lookup_child_or_none(ctx, parent, last)
        if child is None:
            _may_create(ctx, parent, S_IFREG)
            inode = parent.dentry.inode.create(last, _without_umask(parent.dentry.inode, mode, umask), ctx.creds)
            d = parent.dentry.add_child(last, inode)
            fsnotify.created(parent.dentry, last, inode)
            return VirtualDentry(parent.mount, d), True
        if flags & O_EXCL:
            raise SyscallError(EEXIST)
        if not child.dentry.inode.is_symlink:
            return child, False
        if flags & O_NOFOLLOW or ctx.rflags & RESOLVE_NO_SYMLINKS:
            raise SyscallError(ELOOP)
        links += 1
        if links > SYMLOOP_MAX:
            raise SyscallError(ELOOP)
        target = child.dentry.inode.resolve_link(ctx.task)
        if target is not None:
            if ctx.rflags & RESOLVE_NO_MAGICLINKS:
                raise SyscallError(ELOOP)
            if ctx.rflags & (RESOLVE_BENEATH | RESOLVE_IN_ROOT):
                raise SyscallError(EXDEV)
            return target, False
        # A (possibly dangling) symlink: create or open its target.
        text = child.dentry.inode.readlink(ctx.task)
        if not text:
            raise SyscallError(ENOENT)
        start, path = parent, text


# The permission an access mode needs (O_ACCMODE 3, not a valid mode, asks for both as Linux's).
_ACCESS_MASK = {O_RDONLY: MAY_READ, O_WRONLY: MAY_WRITE, O_RDWR: MAY_READ | MAY_WRITE, 3: MAY_READ | MAY_WRITE}


def open_vd(ctx, vd: VirtualDentry, flags: int, created: bool = False) -> FileDescription:
    """Open an already resolved file (also /proc/self/fd/N re-opens)."""
    inode = vd.dentry.inode
    if flags & O_PATH:
        if flags & O_DIRECTORY and not inode.is_dir:
            raise SyscallError(ENOTDIR)
        return FileDescription(PathImpl(inode), vd, flags & O_PATH_KEEP)   # no O_LARGEFILE, as Linux
    ftype = inode.mode & S_IFMT   # once, not a property per test: every open asks several times
    if ftype == S_IFLNK:
        raise SyscallError(ELOOP)
    mask = _ACCESS_MASK[flags & O_ACCMODE]
    if flags & O_TRUNC:
        mask |= MAY_WRITE
    if ftype == S_IFDIR:
        if flags & O_CREAT or mask & MAY_WRITE:
            raise SyscallError(EISDIR)
    elif flags & O_DIRECTORY:
        raise SyscallError(ENOTDIR)
    if not created:
        check_permission(ctx.creds, inode, mask)
    if inode.iflags:
        inode_flags.check_open(inode, flags)
    if flags & O_NOATIME:
        check_owner(ctx.creds, inode)   # may_open: only the owner may stop atime updates
    if ftype in (S_IFCHR, S_IFBLK) and vd.mount.flags & MS_NODEV:
        raise SyscallError(EACCES)   # Linux's may_open: no device opens through a nodev mount
    if mask & MAY_WRITE and (ftype == S_IFREG or ftype == S_IFDIR):
        check_writable_mount(vd)
        if inode.exec_users:
            raise SyscallError(ETXTBSY)   # a running program (get_write_access)
    truncate = flags & O_TRUNC and ftype == S_IFREG and not created
    creds = ctx.creds   # _landlock inlined: open is the hottest path
    denied = 0 if creds is None or creds.landlock is None else creds.landlock.open_file(vd, flags, ftype)
    if truncate and denied & LANDLOCK_TRUNCATE:
        raise SyscallError(EACCES)
    if inode.leases is not None:
        leases.break_lease(ctx.task, inode, flags)
    if flags & O_DIRECT and not inode.direct_io:
        raise SyscallError(EINVAL)   # do_dentry_open: a file without FMODE_CAN_ODIRECT
    impl = inode.open(ctx.task, flags)
    if truncate:   # even an empty file: its mtime and ctime change, as Linux's do_truncate
        if needs_remove_privs(inode):
            remove_privs(creds, vd.dentry)
        inode.setattr(size=0)
    f = FileDescription(impl, vd, flags | O_LARGEFILE)
    f.direct_io = inode.direct_io
    if denied:
        f.landlock_denied = denied
    if fsnotify.marks:   # Linux announces the open (do_dentry_open), then the truncation
        fsnotify.file_event(vd.dentry, IN_OPEN)
        if truncate:
            fsnotify.attributes_changed(vd.dentry, size=True)
    return f


# --- creating names -----------------------------------------------------------------------


def _prepare_create(ctx, start, path, is_dir: bool, ftype: int | None) -> tuple[VirtualDentry, bytes]:
    """Common checks of mkdir/mknod/symlink/link for the new name (Linux's filename_create); Landlock's
    right to make a file of type ``ftype`` there (link, None, checks its own)."""
    parent, last, trailing = resolve_parent(ctx, start, path)
    if _dotty(last):
        raise SyscallError(EEXIST)
    if lookup_child_or_none(ctx, parent, last, follow_mounts=False) is not None:
        raise SyscallError(EEXIST)
    if trailing and not is_dir:
        raise SyscallError(ENOENT)
    _may_create(ctx, parent, ftype)
    return parent, last


def _may_create(ctx, parent: VirtualDentry, ftype: int | None) -> None:
    """may_create for a new name in ``parent``: a writable mount, Landlock's right to make a file
    of type ``ftype`` (None: the caller checks its own), the maker's ids mapped in the
    filesystem's user namespace, write and search permission on the directory."""
    check_writable_mount(parent)
    if ftype is not None and (domain := _landlock(ctx)) is not None:
        domain.check_make(parent, ftype)
    check_fsids_mapped(ctx.creds, parent.mount.fs)
    check_permission(ctx.creds, parent.dentry.inode, MAY_WRITE | MAY_EXEC)


def mkdir_path(ctx, start, path: bytes, mode: int, umask: int = 0) -> VirtualDentry:
    parent, last = _prepare_create(ctx, start, path, True, S_IFDIR)
    directory = parent.dentry.inode
    inode = directory.mkdir(last, _without_umask(directory, mode, umask) & (0o777 | S_ISVTX), ctx.creds)
    return _added(parent, last, inode)


def mknod_path(ctx, start, path: bytes, mode: int, rdev: int, umask: int = 0) -> VirtualDentry:
    parent, last = _prepare_create(ctx, start, path, False, mode)
    mode = (mode & S_IFMT) | (_without_umask(parent.dentry.inode, mode, umask) & 0o7777)
    inode = parent.dentry.inode.mknod(last, mode, rdev, ctx.creds)
    return _added(parent, last, inode)


def symlink_path(ctx, start, path: bytes, target: bytes) -> VirtualDentry:
    if not target:
        raise SyscallError(ENOENT)
    parent, last = _prepare_create(ctx, start, path, False, S_IFLNK)
    inode = parent.dentry.inode.symlink(last, target, ctx.creds)
    return _added(parent, last, inode)


def link_path(ctx, old: VirtualDentry, start, path: bytes) -> VirtualDentry:
    parent, last = _prepare_create(ctx, start, path, False, None)
    if old.mount is not parent.mount:
        raise SyscallError(EXDEV)
    inode = old.dentry.inode
    if LIMITS["protected_hardlinks"]:
        _may_link(ctx.creds, inode)
    if (domain := _landlock(ctx)) is not None:
        domain.check_refer(old, parent, None, False, False)
    if inode.is_dir:
        raise SyscallError(EPERM)
    if inode.nlink == 0 and not inode.linkable:
        raise SyscallError(ENOENT)
    if inode.iflags:
        inode_flags.check_unchanged(inode)   # vfs_link: no new name for a locked inode
    parent.dentry.inode.link(last, inode)
    if inode.linkable:
        inode.linkable = False     # an O_TMPFILE file's first name: from now on an ordinary file
    vd = VirtualDentry(parent.mount, parent.dentry.add_child(last, inode))
    fsnotify.linked(parent.dentry, last, inode)
    return vd


def _may_link(creds, inode) -> None:
    """may_linkat under fs.protected_hardlinks: a file that is special, setuid, setgid and
    executable, or not both readable and writable by the caller gets a new name only from its
    owner (or CAP_FOWNER): EPERM."""
    mode = inode.mode
    if mode & S_IFMT == S_IFREG and not mode & S_ISUID and mode & (S_ISGID | S_IXGRP) != S_ISGID | S_IXGRP:
        try:
            check_permission(creds, inode, MAY_READ | MAY_WRITE)
            return
        except SyscallError:
            pass
    check_owner(creds, inode)


def _added(parent, last, inode) -> VirtualDentry:
    """A new name made by mkdir, mknod or symlink: cached, and announced (IN_CREATE)."""
    vd = VirtualDentry(parent.mount, parent.dentry.add_child(last, inode))
    fsnotify.created(parent.dentry, last, inode)
    return vd


# --- removing names -------------------------------------------------------------------------


def unlink_path(ctx, start, path: bytes) -> None:
    parent, last, trailing = resolve_parent(ctx, start, path)
    if _dotty(last):
        raise SyscallError(EISDIR)
    check_writable_mount(parent)
    child = lookup_child(ctx, parent, last, follow_mounts=False)
    inode = child.dentry.inode
    if (domain := _landlock(ctx)) is not None and not trailing:
        domain.check_remove(parent, False)
    if inode.is_dir:
        raise SyscallError(EISDIR)
    if trailing:
        raise SyscallError(ENOTDIR)
    check_permission(ctx.creds, parent.dentry.inode, MAY_WRITE | MAY_EXEC)
    _may_delete(ctx.creds, parent.dentry.inode, inode)
    if child.dentry.is_mountpoint:
        raise SyscallError(EBUSY)
    parent.dentry.inode.unlink(last)
    fsnotify.link_count_changed(inode)
    parent.dentry.forget_child(last)
    fsnotify.removed(parent.dentry, last, inode)


def rmdir_path(ctx, start, path: bytes) -> None:
    parent, last, trailing = resolve_parent(ctx, start, path)
    if last == b".":
        raise SyscallError(EINVAL)
    if last == b"..":
        raise SyscallError(ENOTEMPTY)
    if last == b"":
        raise SyscallError(EBUSY)
    check_writable_mount(parent)
    child = lookup_child(ctx, parent, last, follow_mounts=False)
    inode = child.dentry.inode
    if (domain := _landlock(ctx)) is not None:
        domain.check_remove(parent, True)
    if not inode.is_dir:
        raise SyscallError(ENOTDIR)
    check_permission(ctx.creds, parent.dentry.inode, MAY_WRITE | MAY_EXEC)
    _may_delete(ctx.creds, parent.dentry.inode, inode)
    if child.dentry.is_mountpoint or child == ctx.root:
        raise SyscallError(EBUSY)
    parent.dentry.inode.rmdir(last)
    parent.dentry.forget_child(last)
    fsnotify.removed(parent.dentry, last, inode)


def rename_path(ctx, ostart, opath: bytes, nstart, npath: bytes, flags: int = 0) -> None:
    if flags & ~(RENAME_NOREPLACE | RENAME_EXCHANGE | RENAME_WHITEOUT) or \
            (flags & RENAME_EXCHANGE and flags & (RENAME_NOREPLACE | RENAME_WHITEOUT)):
        raise SyscallError(EINVAL)
    op, olast, otrail = resolve_parent(ctx, ostart, opath)
    np, nlast, ntrail = resolve_parent(ctx, nstart, npath)
    if op.mount is not np.mount:
        raise SyscallError(EXDEV)
    if _dotty(olast):
        raise SyscallError(EBUSY)
    if _dotty(nlast):   # "." or "..": there is something there (do_renameat2's order)
        raise SyscallError(EEXIST if flags & RENAME_NOREPLACE else EBUSY)
    check_writable_mount(op)
    src = lookup_child(ctx, op, olast, follow_mounts=False)
    dst = lookup_child_or_none(ctx, np, nlast, follow_mounts=False)
    sinode = src.dentry.inode
    if flags & RENAME_EXCHANGE:
        if dst is None:
            raise SyscallError(ENOENT)
    elif dst is not None and flags & RENAME_NOREPLACE:
        raise SyscallError(EEXIST)
    if not sinode.is_dir and (otrail or ntrail):
        raise SyscallError(ENOTDIR)
    if dst is not None and dst.dentry.inode is sinode:
        return  # two links to one inode: POSIX says do nothing
    if sinode.is_dir and src.dentry.is_ancestor_of(np.dentry):
        raise SyscallError(EINVAL)
    if dst is not None and dst.dentry.is_ancestor_of(op.dentry):
        raise SyscallError(EINVAL if flags & RENAME_EXCHANGE else ENOTEMPTY)
    if (domain := _landlock(ctx)) is not None:
        domain.check_refer(src, np, dst, True, bool(flags & RENAME_EXCHANGE))
    _may_rename(ctx.creds, op, src, np, dst, flags)
    # RENAME_WHITEOUT leaves a whiteout (char 0:0, the caller's) at the old name: not cached here.
    op.dentry.inode.rename(olast, np.dentry.inode, nlast, flags, creds=ctx.creds)
    if fsnotify.marks:
        fsnotify.moved(op.dentry, olast, np.dentry, nlast, sinode,
                       dst.dentry if dst is not None and not flags & RENAME_EXCHANGE else None)
        if flags & RENAME_EXCHANGE:
            fsnotify.moved(np.dentry, nlast, op.dentry, olast, dst.dentry.inode)
    # Bring the Dentry cache in line with the filesystem.
    sd = src.dentry
    if flags & RENAME_EXCHANGE:
        dd = dst.dentry
        del op.dentry.children[olast]
        del np.dentry.children[nlast]
        sd.parent, sd.name = np.dentry, nlast
        dd.parent, dd.name = op.dentry, olast
        np.dentry.children[nlast] = sd
        op.dentry.children[olast] = dd
        return
    if dst is not None:
        np.dentry.forget_child(nlast)
    sd.move_to(np.dentry, nlast)


def _may_rename(creds, op, src, np, dst, flags) -> None:
    """vfs_rename's permission checks: removing the old name (and the one replaced), making the
    new one; and a directory that changes parent needs write permission on itself, for its "..".
    """
    for parent, child in ((op, src), (np, dst)):
        if child is not None:
            check_permission(creds, parent.dentry.inode, MAY_WRITE | MAY_EXEC)
            _may_delete(creds, parent.dentry.inode, child.dentry.inode)
            if child.dentry.is_mountpoint:
                raise SyscallError(EBUSY)
    if dst is None:
        check_permission(creds, np.dentry.inode, MAY_WRITE | MAY_EXEC)
    if op.dentry.inode is not np.dentry.inode:
        if src.dentry.inode.is_dir:
            check_permission(creds, src.dentry.inode, MAY_WRITE)
        if flags & RENAME_EXCHANGE and dst.dentry.inode.is_dir:
            check_permission(creds, dst.dentry.inode, MAY_WRITE)


# --- attributes -------------------------------------------------------------------------------


def chmod_vd(ctx, vd: VirtualDentry, mode: int) -> None:
    inode = vd.dentry.inode
    check_writable_mount(vd)
    if inode.iflags:
        inode_flags.check_unchanged(inode)
    check_owner(ctx.creds, inode)
    mode &= 0o7777
    if not in_group(ctx.creds, inode.gid) and not capable(ctx.creds, CAP_FSETID):
        mode &= ~S_ISGID
    inode.setattr(mode=mode)
    fsnotify.attributes_changed(vd.dentry, mode=True)


def chown_vd(ctx, vd: VirtualDentry, uid: int | None, gid: int | None) -> None:
    """chown_common and setattr_prepare's checks: ids of -1 (None) ask for nothing, so anyone may
    make that call, but it still clears set-id bits, which needs the owner."""
    inode = vd.dentry.inode
    check_writable_mount(vd)
    if inode.iflags:
        inode_flags.check_unchanged(inode)
    creds = ctx.creds
    owner = fsuid(creds) == inode.uid
    if uid is not None and not (owner and uid == inode.uid) and not capable_wrt_inode(creds, CAP_CHOWN, inode):
        raise SyscallError(EPERM)
    if (gid is not None and not (owner and (gid == inode.gid or in_group(creds, gid)))
            and not capable_wrt_inode(creds, CAP_CHOWN, inode)):
        raise SyscallError(EPERM)
    mode = None
    if not inode.is_dir:
        # Even with nothing to change, and for root: set-user-ID goes, set-group-ID as a write's would.
        kill = inode.mode & S_ISUID | sgid_to_drop(creds, inode)
        if kill:
            check_owner(creds, inode)   # a change of mode is the owner's
            mode = inode.mode & 0o7777 & ~kill
        inode.kill_priv()   # and the file's capabilities (ATTR_KILL_PRIV)
    if uid is None and gid is None and mode is None:
        inode.change_ctime()
    else:
        inode.setattr(uid=uid, gid=gid, mode=mode)
    fsnotify.attributes_changed(vd.dentry, owner=True)


def utimes_vd(ctx, vd: VirtualDentry, atime: int | None, mtime: int | None, explicit: bool) -> None:
    """Set times in ns (None: leave). ``explicit``: times were given (not "now"), owner only."""
    inode = vd.dentry.inode
    check_writable_mount(vd)
    if inode.iflags:   # explicit times change nothing locked; "now" nothing immutable
        inode_flags.check_unchanged(inode) if explicit else inode_flags.check_may_write(inode)
    if explicit:
        check_owner(ctx.creds, inode)
    elif fsuid(ctx.creds) != inode.uid and not capable(ctx.creds, CAP_FOWNER):   # inode_owner_or_capable
        check_permission(ctx.creds, inode, MAY_WRITE)
    inode.setattr(atime=atime, mtime=mtime)
    fsnotify.attributes_changed(vd.dentry, atime=atime is not None, mtime=mtime is not None)


def truncate_vd(ctx, vd: VirtualDentry, length: int, check_perm: bool = True, check_size=None) -> None:
    """``check_size(inode)``: the caller's RLIMIT_FSIZE check, made after the permission checks."""
    inode = vd.dentry.inode
    if length < 0:
        raise SyscallError(EINVAL)
    if inode.is_dir:
        raise SyscallError(EISDIR)
    if not inode.is_reg:
        raise SyscallError(EINVAL)
    if check_perm:
        check_permission(ctx.creds, inode, MAY_WRITE)
        check_writable_mount(vd)
    if inode.iflags:
        inode_flags.check_unchanged(inode)
    if inode.exec_users:
        raise SyscallError(ETXTBSY)
    if inode.leases is not None:
        leases.break_lease(ctx.task, inode, O_WRONLY)
    if (domain := _landlock(ctx)) is not None:
        domain.check(vd, LANDLOCK_TRUNCATE)
    if check_size is not None:
        check_size(inode)
    if needs_remove_privs(inode):
        remove_privs(ctx.creds, vd.dentry)
    inode.setattr(size=length)
    fsnotify.attributes_changed(vd.dentry, size=True)


def access_vd(ctx, vd: VirtualDentry, mode: int, real: bool = True) -> None:
    """access(2): ``mode`` R_OK|W_OK|X_OK (4|2|1); F_OK is just existence."""
    inode = vd.dentry.inode
    if mode & 2 and (inode.is_reg or inode.is_dir or inode.is_symlink) and vd.mount.readonly:
        raise SyscallError(EROFS)
    if mode:
        check_permission(ctx.creds, inode, mode & 7, real=real)
