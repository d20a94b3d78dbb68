"""mount(2), umount2(2) and pivot_root(2) on the calling task's mount namespace (``task.ns.mnt``,
a vfs/vfs.py VirtualFilesystem), as fs/namespace.c does them.

mount: a bind (MS_BIND, MS_REC: with the mounts below), a new tmpfs (size=, mode=, uid=, gid=,
nr_inodes=), proc, sysfs, devpts, mqueue (the caller's IPC namespace's) or cgroup2, a remount
(with MS_BIND: the mount's flags only; MS_RDONLY then makes writes EROFS), a propagation type
(MS_SHARED/MS_PRIVATE/MS_SLAVE/MS_UNBINDABLE, MS_REC), MS_MOVE. Propagation types are recorded and
shown in mountinfo, but mount events do not propagate between peers. A proc mount is the procfs
of the mounter's PID namespace (fsimpl/procfs.py procfs_for); devpts is the sandbox's single one.
umount2: MNT_DETACH (the subtree leaves the namespace, open files keep it), MNT_FORCE (nothing to
abort: as a plain umount), MNT_EXPIRE, UMOUNT_NOFOLLOW. A mount is busy (EBUSY) while files are
open on it, a task's root or cwd is on it, or something is mounted below it.
"""
from snakevisor.abi.capability import CAP_SYS_ADMIN
from snakevisor.abi.mount_options import data_pairs, tmpfs_options
from snakevisor.abi.errno import EAGAIN, EBUSY, EINVAL, ELOOP, ENODEV, ENOSPC, ENOTDIR, EPERM, SyscallError
from snakevisor.abi.fs import (AT_FDCWD, MNT_DETACH, MNT_EXPIRE, MNT_FORCE, MS_BIND, MS_MGC_MSK, MS_MGC_VAL, MS_MOVE,
                               MS_NOATIME, MS_NODEV, MS_NODIRATIME, MS_NOEXEC, MS_NOSUID, MS_NOSYMFOLLOW,
                               MS_PRIVATE, MS_PROPAGATION, MS_RDONLY, MS_REC, MS_RELATIME, MS_REMOUNT, MS_SHARED,
                               MS_SILENT, MS_SLAVE, MS_STRICTATIME, MS_UNBINDABLE, UMOUNT_NOFOLLOW)
from snakevisor.sentry.fsimpl.procfs import procfs_for
from snakevisor.sentry.kernel.userns import owner_capable
from snakevisor.sentry.fsimpl.sysfs import Cgroup2Filesystem, SysFilesystem
from snakevisor.sentry.fsimpl.tmpfs import TmpfsFilesystem
from snakevisor.sentry.vfs.at import read_path, resolve_at
from snakevisor.sentry.vfs.mount import VirtualDentry
from snakevisor.sentry.vfs.resolve import is_reachable
from snakevisor.sentry.vfs.vfs import LIMITS as MOUNT_LIMITS

PAGE = 4096     # mount(2) copies at most a page of data
ATIME = MS_NOATIME | MS_NODIRATIME | MS_RELATIME | MS_STRICTATIME
PER_MOUNT = MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_NOATIME | MS_NODIRATIME | MS_RELATIME | MS_NOSYMFOLLOW


def _admin(t):
    if not owner_capable(t.creds, t.ns.mnt, CAP_SYS_ADMIN):
        raise SyscallError(EPERM)


def _string(t, addr, limit=PAGE):
    return None if not addr else t.mm.read_cstring(addr, limit)


def _mount_root(t, vd):
    """A path that must be the root of a mount of the caller's namespace (EINVAL otherwise)."""
    if vd.dentry is not vd.mount.root or vd.mount.vfs is not t.ns.mnt:
        raise SyscallError(EINVAL)
    return vd.mount


def mount_flags(flags, old=None):
    """The per-mount flags of mount(2)'s ``flags``: relatime unless noatime or strictatime; a
    remount that names no atime flag keeps the mount's (``old``)."""
    kept = flags & PER_MOUNT & ~MS_RELATIME
    if not flags & (MS_NOATIME | MS_STRICTATIME):
        kept |= MS_RELATIME
    if old is not None and not flags & ATIME:
        kept = kept & ~ATIME | old & ATIME
    return kept


def mount(t, source, target, fstype, flags, data):
    flags &= 0xFFFFFFFF
    if flags & MS_MGC_MSK == MS_MGC_VAL:
        flags &= ~MS_MGC_MSK
    source, fstype, data = _string(t, source), _string(t, fstype), _string(t, data)
    path = read_path(t, target)
    vd = resolve_at(t, AT_FDCWD, path)
    _admin(t)
    if flags & MS_REMOUNT:
        m = _mount_root(t, vd)
        m.flags = mount_flags(flags, m.flags)   # without MS_BIND too: the superblock's flags are not kept apart
        return 0
    if flags & MS_BIND:
        return _bind(t, source, path, flags & MS_REC)
    if flags & MS_PROPAGATION:
        return _change_type(t, vd, flags)
    if flags & MS_MOVE:
        return _move(t, source, path)
    if fstype is None or vd.mount.vfs is not t.ns.mnt:
        raise SyscallError(EINVAL)   # check_mnt: only on a mount of the caller's namespace
    _room(t.ns.mnt, 1)
    fs = _new_filesystem(t, fstype, data)
    m = t.ns.mnt.mount(fs, vd, flags=mount_flags(flags), source=source or b"none")
    _inherit_sharing(m)
    if fs is t.kernel.devpts and fs.mount is None:
        fs.set_mount(m)
    return 0


def _room(vfs, n):
    """count_mounts: ENOSPC when ``n`` more mounts would pass /proc/sys/fs/mount-max."""
    if len(vfs.mounts) + n > MOUNT_LIMITS["mount_max"]:
        raise SyscallError(ENOSPC)


def _new_filesystem(t, fstype, data):
    """do_new_mount's filesystem: ENODEV for a type the Sentry has not."""
    k = t.kernel
    if fstype == b"tmpfs":
        try:
            p = tmpfs_options("tmpfs", data_pairs(data or b""))
        except ValueError:
            raise SyscallError(EINVAL) from None
        return TmpfsFilesystem(k.memory_file, mode=p["mode"], uid=p["uid"], gid=p["gid"], size_limit=p["size"],
                               nr_inodes=p["nr_inodes"])
    others = {b"proc": lambda: k.procfs, b"sysfs": lambda: SysFilesystem(k), b"devpts": lambda: k.devpts,
              b"mqueue": lambda: t.ns.ipc.mqueue, b"cgroup2": lambda: Cgroup2Filesystem(k)}
    if t.tg.pidns is not k.pidns:   # proc of a PID namespace made inside: that namespace's own
        others[b"proc"] = lambda: procfs_for(k, t.tg.pidns)
    make = others.get(fstype)
    fs = make() if make is not None else None
    if fs is None:
        raise SyscallError(ENODEV)
    return fs


def _new_peer_group(vfs):
    """The lowest peer group number no mount of the namespace uses (Linux's is the lowest free of
    one kernel-wide allocator)."""
    used = {o.peer_group for o in vfs.mounts} | {o.master for o in vfs.mounts}
    return next(n for n in range(1, len(used) + 2) if n not in used)


def _inherit_sharing(m):
    """A mount made below a shared mount is shared in a peer group of its own (attach_recursive_mnt
    with invent_group_ids), as mountinfo shows on a host whose / is shared."""
    if m.parent is not None and m.parent.propagation == "shared" and m.propagation != "shared":
        m.propagation, m.peer_group = "shared", _new_peer_group(m.vfs)


def _source_and_target(t, source, path):
    """The source path's file, then the target's again: a lookup may replace a cached Dentry that
    a filesystem does not trust (procfs's), and the mount must go on the one now cached."""
    src = resolve_at(t, AT_FDCWD, source or b"")
    return src, resolve_at(t, AT_FDCWD, path)


def _bind(t, source, path, recursive):
    """do_loopback: the file or directory ``source`` names, mounted again on ``path`` (with the
    mounts below it for MS_REC, unbindable ones left out)."""
    src, target = _source_and_target(t, source, path)
    vfs = t.ns.mnt
    if src.mount.propagation == "unbindable" or src.mount.vfs is not vfs or target.mount.vfs is not vfs:
        raise SyscallError(EINVAL)
    top = src.mount.copy()
    top.root = src.dentry
    if top.propagation != "shared":
        top.propagation, top.master = "private", 0
    target = vfs.follow_mounts(target)
    if target.dentry.inode.is_dir != src.dentry.inode.is_dir:
        raise SyscallError(ENOTDIR)
    below = vfs.subtree(src.mount)[1:] if recursive else []   # before the copy joins the tree
    _room(vfs, 1 + len(below))
    vfs.graft(top, target)
    _inherit_sharing(top)
    copies = {src.mount: top}
    for o in below:
        parent = copies.get(o.parent)
        if parent is None or o.propagation == "unbindable" or (
                o.parent is src.mount and not is_reachable(VirtualDentry(o.parent, o.mountpoint), src)):
            continue
        copies[o] = c = o.copy()
        vfs.graft(c, VirtualDentry(parent, o.mountpoint))
    return 0


def _change_type(t, vd, flags):
    """do_change_type: exactly one propagation flag (MS_REC and MS_SILENT aside)."""
    m = _mount_root(t, vd)
    kind = flags & ~(MS_REC | MS_SILENT)
    names = {MS_SHARED: "shared", MS_PRIVATE: "private", MS_SLAVE: "slave", MS_UNBINDABLE: "unbindable"}
    if kind not in names:
        raise SyscallError(EINVAL)
    for o in (t.ns.mnt.subtree(m) if flags & MS_REC else [m]):
        _set_type(t.ns.mnt, o, names[kind])
    return 0


def _set_type(vfs, m, kind):
    if kind == "shared":
        if m.propagation != "shared":
            m.peer_group = _new_peer_group(vfs)
    elif kind == "slave":
        # A shared mount with peers becomes their slave; one without peers (nor master) private.
        peers = m.propagation == "shared" and any(o is not m and o.peer_group == m.peer_group
                                                  for o in vfs.mounts)
        if m.propagation == "shared":
            m.master = m.peer_group if peers else 0
        kind = "slave" if m.master else "private"
        m.peer_group = 0
    else:
        m.peer_group = m.master = 0
    m.propagation = kind


def _move(t, source, path):
    """do_move_mount_old: a whole mount (and what is below it) to ``path``."""
    if not source:
        raise SyscallError(EINVAL)
    src, target = _source_and_target(t, source, path)
    m = _mount_root(t, src)
    vfs = t.ns.mnt
    if m.parent is None or target.mount.vfs is not vfs:
        raise SyscallError(EINVAL)
    target = vfs.follow_mounts(target)
    if target.dentry.inode.is_dir != src.dentry.inode.is_dir:
        raise SyscallError(ENOTDIR)
    if m.parent.propagation == "shared":
        raise SyscallError(EINVAL)
    p = target.mount
    while p is not None:
        if p is m:
            raise SyscallError(ELOOP)   # into itself
        p = p.parent
    vfs.move(m, target)
    return 0


# -- umount2 -------------------------------------------------------------------------------------

def umount2(t, target, flags):
    flags &= 0xFFFFFFFF
    if flags & ~(MNT_FORCE | MNT_DETACH | MNT_EXPIRE | UMOUNT_NOFOLLOW):
        raise SyscallError(EINVAL)
    vd = resolve_at(t, AT_FDCWD, read_path(t, target), follow=not flags & UMOUNT_NOFOLLOW)
    _admin(t)
    vfs = t.ns.mnt
    vd = vfs.follow_mounts(vd) if vd.mount.vfs is vfs else vd   # LOOKUP_MOUNTPOINT: the topmost mount
    m = _mount_root(t, vd)
    if flags & MNT_EXPIRE:
        if m is t.fs.root.mount or flags & (MNT_FORCE | MNT_DETACH):
            raise SyscallError(EINVAL)
        if busy(t.kernel, m):
            raise SyscallError(EBUSY)
        if not getattr(m, "expiry_mark", False):
            m.expiry_mark = True
            raise SyscallError(EAGAIN)
    if flags & MNT_DETACH:
        if m.parent is None:
            raise SyscallError(EINVAL)   # the namespace root: it is not attached to anything
        vfs.detach(m)
        return 0
    if m.parent is None or busy(t.kernel, m):
        raise SyscallError(EBUSY)
    vfs.umount(m)
    m.vfs = None
    return 0


def busy(kernel, m):
    """Something uses mount ``m``: an open file, a task's root or cwd, a mount below it."""
    if m.refs > 0 or any(o.parent is m for o in m.vfs.mounts):
        return True
    return any(task.fs is not None and m in (task.fs.root.mount, task.fs.cwd.mount)
               for task in kernel.pidns.tasks.values() if not task.exited)


# -- pivot_root ----------------------------------------------------------------------------------

def pivot_root(t, new_root, put_old):
    new = resolve_at(t, AT_FDCWD, read_path(t, new_root), want_dir=True)
    old = resolve_at(t, AT_FDCWD, read_path(t, put_old), want_dir=True)
    _admin(t)
    vfs, root = t.ns.mnt, t.fs.root
    if not new.inode.is_dir or not old.inode.is_dir:
        raise SyscallError(ENOTDIR)
    old = vfs.follow_mounts(old) if old.mount.vfs is vfs else old   # lock_mount: the topmost mount there
    if (old.mount.propagation == "shared" or _parent_shared(new.mount) or _parent_shared(root.mount)
            or root.mount.vfs is not vfs or new.mount.vfs is not vfs):
        raise SyscallError(EINVAL)
    if new.mount is root.mount or old.mount is root.mount:
        raise SyscallError(EBUSY)
    # The namespace root counts as attached (Linux's sits on rootfs, or on the host's tree).
    if root.dentry is not root.mount.root:
        raise SyscallError(EINVAL)
    if new.dentry is not new.mount.root or new.mount.parent is None:
        raise SyscallError(EINVAL)
    if not is_reachable(old, new) or not is_reachable(new, root):
        raise SyscallError(EINVAL)
    old_root = root
    vfs.pivot(root.mount, new.mount, old)
    new_vd = VirtualDentry(new.mount, new.dentry)
    for task in t.kernel.pidns.tasks.values():   # chroot_fs_refs
        fs = task.fs
        if fs is not None and task.ns.mnt is vfs:
            if fs.root == old_root:
                fs.set_root(new_vd)
            if fs.cwd == old_root:
                fs.set_cwd(new_vd)
    return 0


def _parent_shared(m):
    return m.parent is not None and m.parent.propagation == "shared"
