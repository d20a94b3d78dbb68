"""mount(2), umount2(2) and pivot_root(2) on the calling task's mount namespace (``task.ns.mnt``,
a vfs/vfs.py VirtualFilesystem), as fs/namespace.c does them.

mount: a bind (MS_BIND, MS_REC: with the mounts below), a new tmpfs (size=, mode=, uid=, gid=,
nr_inodes=), ramfs (mode=), proc, sysfs, devpts, mqueue (the caller's IPC namespace's) or cgroup2, a remount
(with MS_BIND: the mount's flags only; without, a tmpfs superblock's ro/rw and limits too; MS_RDONLY
then makes writes EROFS, EBUSY while a file is open for writing there), a propagation type
(MS_SHARED/MS_PRIVATE/MS_SLAVE/MS_UNBINDABLE, MS_REC), MS_MOVE. Mounts and umounts on a shared mount
propagate to its peers and slaves (vfs/propagation.py), in any namespace. A proc mount is the procfs
of the mounter's PID namespace (fsimpl/procfs.py procfs_for); devpts is the sandbox's single one.
umount2: MNT_DETACH (the subtree leaves the namespace, open files keep it), MNT_FORCE (nothing to
abort: as a plain umount), MNT_EXPIRE, UMOUNT_NOFOLLOW. A mount is busy (EBUSY) while files are
open on it, a task's root or cwd is on it, or something is mounted below it.
"""
import os

from snakevisor.abi.capability import CAP_SYS_ADMIN
from snakevisor.abi.mount_options import OPTION_PARSERS, data_pairs, tmpfs_options
from snakevisor.abi.mm import PAGE_SIZE
from snakevisor.abi.errno import EAGAIN, EBUSY, EINVAL, ELOOP, ENODEV, ENOENT, ENOSPC, ENOTDIR, EPERM, SyscallError
from snakevisor.abi.fs import (AT_FDCWD, MNT_DETACH, MNT_EXPIRE, MNT_FORCE, MS_BIND, MS_MGC_MSK, MS_MGC_VAL, MS_MOVE,
                               MS_NOATIME, MS_NODEV, MS_NODIRATIME, MS_NOEXEC, MS_NOSUID, MS_NOSYMFOLLOW,
                               MS_PRIVATE, MS_PROPAGATION, MS_RDONLY, MS_REC, MS_RELATIME, MS_REMOUNT, MS_SHARED,
                               MS_SILENT, MS_SLAVE, MS_STRICTATIME, MS_UNBINDABLE, UMOUNT_NOFOLLOW)
from snakevisor.sentry.fsimpl.nsfs import NsInode
from snakevisor.sentry.fsimpl.overlay_mount import new_overlay
from snakevisor.sentry.fsimpl.procfs import procfs_for
from snakevisor.sentry.kernel.userns import owner_capable
from snakevisor.sentry.fsimpl.sysfs import Cgroup2Filesystem, SysFilesystem
from snakevisor.sentry.fsimpl.tmpfs import RamfsFilesystem, TmpfsFilesystem
from snakevisor.sentry.vfs import propagation
from snakevisor.sentry.vfs.at import read_path, resolve_at
from snakevisor.sentry.vfs.mount import VirtualDentry
from snakevisor.sentry.vfs.resolve import is_reachable
from snakevisor.sentry.vfs.vfs import LIMITS as MOUNT_LIMITS

PAGE = 4096     # mount(2) copies at most a page of data
ATIME = MS_NOATIME | MS_NODIRATIME | MS_RELATIME | MS_STRICTATIME
PROPAGATION = {MS_SHARED: "shared", MS_PRIVATE: "private", MS_SLAVE: "slave", MS_UNBINDABLE: "unbindable"}
PER_MOUNT = MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_NOATIME | MS_NODIRATIME | MS_RELATIME | MS_NOSYMFOLLOW


def _admin(t):
    """May the caller change mounts: CAP_SYS_ADMIN over the mount namespace's user namespace, and
    no Landlock domain restricting files (its sb_mount, sb_umount and sb_pivotroot hooks)."""
    if not owner_capable(t.creds, t.ns.mnt, CAP_SYS_ADMIN) or \
            t.creds.landlock is not None and t.creds.landlock.any_fs:
        raise SyscallError(EPERM)


def _string(t, addr, limit=PAGE):
    return None if not addr else t.mm.read_cstring(addr, limit)


def mountable(vd):
    """A place something may be mounted on: not a procfs magic link (ENOENT), which an O_PATH
    file of the link, followed through /proc/self/fd, would otherwise reach."""
    if getattr(vd.dentry.inode, "cant_mount", False):
        raise SyscallError(ENOENT)
    return vd


def mount_root(t, vd):
    """A path that must be the root of a mount of the caller's namespace (EINVAL otherwise)."""
    if vd.dentry is not vd.mount.root or vd.mount.vfs is not t.ns.mnt:
        raise SyscallError(EINVAL)
    return vd.mount


def mount_flags(flags, old=None):
    """The per-mount flags of mount(2)'s ``flags``: relatime unless noatime or strictatime, which
    also cancels noatime; a remount that names no atime flag keeps the mount's (``old``)."""
    kept = flags & PER_MOUNT & ~MS_RELATIME
    if not flags & (MS_NOATIME | MS_STRICTATIME):
        kept |= MS_RELATIME
    if flags & MS_STRICTATIME:
        kept &= ~MS_NOATIME   # strictatime wins over a noatime beside it (path_mount)
    if old is not None and not flags & ATIME:
        kept = kept & ~ATIME | old & ATIME
    return kept


admin = _admin   # may_mount: the new mount API's syscalls check it too (syscalls/mount_api.py)


def mount(t, source, target, fstype, flags, data):
    flags &= 0xFFFFFFFF
    if flags & MS_MGC_MSK == MS_MGC_VAL:
        flags &= ~MS_MGC_MSK
    source, fstype, data = _string(t, source), _string(t, fstype), _string(t, data)
    path = read_path(t, target)
    vd = resolve_at(t, AT_FDCWD, path)
    admin(t)
    if flags & MS_REMOUNT:
        m = mount_root(t, vd)
        if not m.may_change_flags(mount_flags(flags, m.flags)):
            raise SyscallError(EPERM)   # can_change_locked_flags, before anything changes
        if flags & MS_BIND:
            if flags & MS_RDONLY:
                no_writers([m])
        else:   # do_remount: the superblock first, then the mount's flags
            try:
                reconfigure_superblock(t, m.fs, bool(flags & MS_RDONLY), data_pairs(data or b""))
            except ValueError:
                raise SyscallError(EINVAL) from None
        m.flags = mount_flags(flags, m.flags)
        if m.vfs is not None:
            m.vfs.touch()
        return 0
    if flags & MS_BIND:
        return _bind(t, source, path, flags & MS_REC)
    if flags & MS_PROPAGATION:
        return _change_type(t, vd, flags)
    if flags & MS_MOVE:
        return _move(t, source, path)
    if fstype is None or vd.mount.vfs is not t.ns.mnt:
        raise SyscallError(EINVAL)   # check_mnt: only on a mount of the caller's namespace
    room(t.ns.mnt, 1)
    fs = new_filesystem(t, fstype, data_pairs(data or b""))
    if flags & MS_RDONLY and fs.readonly_apart:
        fs.readonly = True   # the new superblock's SB_RDONLY
    steps = plan_propagation(t, mountable(t.ns.mnt.follow_mounts(vd)))
    m = t.ns.mnt.mount(fs, vd, flags=mount_flags(flags), source=source or b"none")
    propagate_attached(t, steps, m)
    if fs is t.kernel.devpts and fs.mount is None:
        fs.set_mount(m)
    return 0


def no_writers(mounts):
    """mnt_hold_writers: EBUSY while a file is open for writing on one of ``mounts`` that is to
    become read-only."""
    if any(m.writers and not m.readonly for m in mounts):
        raise SyscallError(EBUSY)


def reconfigure_superblock(t, fs, readonly, pairs):
    """reconfigure_super (mount(2)'s MS_REMOUNT without MS_BIND, fsconfig's CMD_RECONFIGURE): a
    superblock's read-only state (None: unchanged; only where the filesystem keeps it apart from
    its mounts') and a tmpfs's limits from option ``pairs`` (never its mode or owner, as
    shmem_reconfigure). ValueError (its message Linux's) for a bad option or a size below use."""
    if fs.name == "tmpfs":
        p = tmpfs_options(fs.name, pairs, defaults={}, total=total_memory(t.kernel))
        size = p.get("size", fs.size_limit)
        if size and size < fs.used:
            raise ValueError("Too small a size for current use")
    if readonly is not None and fs.readonly_apart:
        if readonly:
            no_writers([o for o in t.ns.mnt.mounts if o.fs is fs])
        fs.readonly = readonly
    if fs.name == "tmpfs":
        fs.size_limit, fs.nr_inodes = size, p.get("nr_inodes", fs.nr_inodes)


def total_memory(kernel):
    """The memory a tmpfs's size="N%" is a share of: the sandbox's, as /proc/meminfo's MemTotal."""
    return kernel.memory_file.limit or os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")


def room(vfs, n):
    """count_mounts: ENOSPC when ``n`` more mounts would pass /proc/sys/fs/mount-max."""
    if len(vfs.mounts) + n > MOUNT_LIMITS["mount_max"]:
        raise SyscallError(ENOSPC)


def new_filesystem(t, fstype, pairs):
    """do_new_mount's filesystem of options ``pairs`` ((key, value or None)): ENODEV for a type the
    Sentry has not. Also the superblock of fsconfig's FSCONFIG_CMD_CREATE (syscalls/mount_api.py)."""
    k = t.kernel
    if fstype in (b"tmpfs", b"ramfs"):
        try:
            p = OPTION_PARSERS[fstype.decode()](fstype.decode(), pairs, total=total_memory(k))
        except ValueError:
            raise SyscallError(EINVAL) from None
        if fstype == b"ramfs":
            fs = RamfsFilesystem(k.memory_file, mode=p["mode"])
            fs.user_ns = t.creds.user_ns
            return fs
        fs = TmpfsFilesystem(k.memory_file, mode=p["mode"], uid=p["uid"], gid=p["gid"], size_limit=p["size"],
                             nr_inodes=p["nr_inodes"])
        fs.user_ns = t.creds.user_ns   # s_user_ns: the files made there must be owned by ids of it
        # shmem's default, not shown in mountinfo: totalram_pages()/2, rounded down (size=50% rounds
        # up, so with an odd number of pages it is shown).
        fs.default_size = total_memory(k) // PAGE_SIZE // 2 * PAGE_SIZE
        return fs
    if fstype == b"overlay":
        return new_overlay(t, pairs)
    others = {b"proc": lambda: k.procfs, b"sysfs": lambda: SysFilesystem(k), b"devpts": lambda: k.devpts,
              b"mqueue": lambda: t.ns.ipc.mqueue, b"cgroup2": lambda: Cgroup2Filesystem(k)}
    if t.tg.pidns is not k.pidns:   # proc of a PID namespace made inside: that namespace's own
        others[b"proc"] = lambda: procfs_for(k, t.tg.pidns)
    make = others.get(fstype)
    fs = make() if make is not None else None
    if fs is None:
        raise SyscallError(ENODEV)
    return fs


def plan_propagation(t, where, skip=(), size=1):
    """Before a tree of ``size`` mounts (``skip``: those that exist) goes on ``where``: where it
    will propagate (ENOSPC now if it cannot)."""
    return propagation.plan_mount(where.mount, where.dentry, set(skip), size, MOUNT_LIMITS["mount_max"])


def propagate_attached(t, steps, top, below=()):
    """attach_recursive_mnt's propagation: a tree (``top``, ``below``: (mount, parent, mountpoint))
    just attached on a shared mount is shared (each mount in a peer group of its own unless it
    is already) and copied where ``steps`` (plan_propagation's) say."""
    if top.parent is None or top.parent.group is None:
        return
    propagation.invent_groups([top] + [c for c, _, _ in below])
    mnt_ns = t.ns.mnt
    propagation.apply_mount(steps, top, list(below),
                            lambda r: getattr(r.vfs, "user_ns", None) is not getattr(mnt_ns, "user_ns", None))


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
    if target.mount.vfs is not vfs or not _may_copy_tree(src, vfs) or _mnt_ns_loop(t, src):
        raise SyscallError(EINVAL)
    target = mountable(vfs.follow_mounts(target))
    if target.dentry.inode.is_dir != src.dentry.inode.is_dir:
        raise SyscallError(ENOTDIR)
    top, below = copy_tree(src, recursive)
    room(vfs, 1 + len(below))
    steps = plan_propagation(t, target, [top] + [c for c, _, _ in below], 1 + len(below))
    vfs.graft(top, target)
    for c, parent, mountpoint in below:
        vfs.graft(c, VirtualDentry(parent, mountpoint))
    propagate_attached(t, steps, top, below)
    return 0


def _may_copy_tree(src, vfs):
    """may_copy_tree: a mount of the caller's namespace, or a namespace's nsfs file (so that
    /proc/PID/ns/net bound on a file keeps that namespace, as ip netns does)."""
    return src.mount.vfs is vfs or isinstance(src.dentry.inode, NsInode)


def _mnt_ns_loop(t, src):
    """mnt_ns_loop: a mount namespace's file may be bound only in an older namespace (else a
    namespace could hold itself). Namespace inode numbers are handed out in creation order."""
    node = src.dentry.inode
    return isinstance(node, NsInode) and node.kind == "mnt" and node.ns is not None and t.ns.mnt.ino >= node.ns.ino


def copy_tree(src, recursive):
    """The copies of a bind of ``src`` (a VirtualDentry): the top mount, rooted at src's dentry,
    and for ``recursive`` the mounts below it as (copy, parent's copy, mountpoint), parents
    first, unbindable ones and those out of src's reach left out (EINVAL for an unbindable src)."""
    if src.mount.unbindable:
        raise SyscallError(EINVAL)
    vfs = src.mount.vfs   # None for nsfs's internal mount: no mounts below it
    if vfs is None:
        recursive = False
    elif not recursive and any(o.parent is src.mount and o.locked and is_reachable(VirtualDentry(o.parent, o.mountpoint), src)
                               for o in vfs.mounts):
        raise SyscallError(EINVAL)   # has_locked_children: a bind alone would reveal what they cover
    top = src.mount.copy()
    if top.anonymous:   # an nsfs file's: the bind has a place and a path (the source is the fs's name)
        top.anonymous, top.source = False, src.mount.fs.name.encode()
    top.root = src.dentry
    top.locked = False   # __do_loopback: the new mount is the caller's own
    copies, below = {src.mount: top}, []
    for o in (vfs.subtree(src.mount)[1:] if recursive else ()):
        parent = copies.get(o.parent)
        if parent is None or o.unbindable or (
                o.parent is src.mount and not is_reachable(VirtualDentry(o.parent, o.mountpoint), src)):
            continue
        copies[o] = c = o.copy()
        below.append((c, parent, o.mountpoint))
    return top, below


def _change_type(t, vd, flags):
    """do_change_type: exactly one propagation flag (MS_REC and MS_SILENT aside)."""
    m = mount_root(t, vd)
    kind = flags & ~(MS_REC | MS_SILENT)
    if kind not in PROPAGATION:
        raise SyscallError(EINVAL)
    for o in (t.ns.mnt.subtree(m) if flags & MS_REC else [m]):
        propagation.change(o, PROPAGATION[kind])
    t.ns.mnt.touch()
    return 0


def _move(t, source, path):
    """do_move_mount_old: a whole mount (and what is below it) to ``path``."""
    if not source:
        raise SyscallError(EINVAL)
    return move_tree(t, *_source_and_target(t, source, path))


def move_tree(t, src, target, beneath=False):
    """do_move_mount (MS_MOVE, move_mount(2)): the mount whose root ``src`` is, attached in the
    caller's namespace or the root of a detached tree (syscalls/mount_api.py), with the mounts
    below it, goes on top of ``target`` (``beneath``: under the mount on top there). The root of
    a detached tree may also go into another detached tree (Linux 6.15)."""
    vfs, m = t.ns.mnt, src.mount
    attached, dest = m.parent is not None, target.mount.vfs
    if src.dentry is not m.root or not _may_move(vfs, m, dest, attached) or beneath and dest is not vfs:
        raise SyscallError(EINVAL)
    if m.locked:
        raise SyscallError(EINVAL)   # do_move_mount: a locked mount moves only with its parent
    vfs = dest
    target = mountable(vfs.follow_mounts(target))
    if target.dentry.inode.is_dir != src.dentry.inode.is_dir or (attached and m.parent.group is not None):
        raise SyscallError(EINVAL)
    p = target.mount
    if beneath:
        _check_beneath(t, m, target)
        p = p.parent
    if p.group is not None and any(o.unbindable for o in m.vfs.subtree(m)):
        raise SyscallError(EINVAL)
    for q in _ancestors(p):
        if q is m:
            raise SyscallError(ELOOP)   # into itself
    if not attached:
        room(vfs, len(m.vfs.mounts))
    moving = m.vfs.subtree(m)
    steps = plan_propagation(t, VirtualDentry(p, target.mount.mountpoint) if beneath else target, moving, len(moving))
    if beneath:
        vfs.put_beneath(m, target.mount)
    elif attached:
        vfs.move(m, target)
    else:
        vfs.adopt(m.vfs, target)
    propagate_attached(t, steps, m, [(o, o.parent, o.mountpoint) for o in moving[1:]])
    return 0


def _may_move(vfs, m, dest, attached):
    """do_move_mount's checks of where ``m`` is and goes: a mount attached in the caller's
    namespace ``vfs`` within it; the root of a detached tree into ``vfs`` or another detached tree."""
    if attached:
        return m.vfs is vfs and dest is vfs
    return (m.vfs is not None and m.vfs.anonymous and m is m.vfs.root_mount and dest is not m.vfs
            and dest is not None and (dest is vfs or dest.anonymous))


def _ancestors(m):
    while m is not None:
        yield m
        m = m.parent


def _check_beneath(t, m, target):
    """can_move_mount_beneath: ``target`` the root of an attached mount other than the caller's
    root, ``m`` with nothing mounted on its root and not below that mount."""
    top = target.mount
    if top.parent is None or target.dentry is not top.root or top is t.fs.root.mount:
        raise SyscallError(EINVAL)
    if m.vfs.covering.get(VirtualDentry(m, m.root)) is not None or top in _ancestors(m):
        raise SyscallError(EINVAL)


# -- umount2 -------------------------------------------------------------------------------------

def umount2(t, target, flags):
    flags &= 0xFFFFFFFF
    if flags & ~(MNT_FORCE | MNT_DETACH | MNT_EXPIRE | UMOUNT_NOFOLLOW):
        raise SyscallError(EINVAL)
    vd = resolve_at(t, AT_FDCWD, read_path(t, target), follow=not flags & UMOUNT_NOFOLLOW)
    admin(t)
    vfs = t.ns.mnt
    vd = vfs.follow_mounts(vd) if vd.mount.vfs is vfs else vd   # LOOKUP_MOUNTPOINT: the topmost mount
    m = mount_root(t, vd)
    if m.locked:
        raise SyscallError(EINVAL)   # can_umount: what it covers stays hidden
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
        also = propagation.umount_targets(vfs.subtree(m))
        vfs.detach(m)
        _umount_propagated(also, lazily=True)
        return 0
    if m.parent is None or busy(t.kernel, m):
        raise SyscallError(EBUSY)
    also = propagation.umount_targets([m])
    if any(q.refs > 0 or q.pins > 0 for q, _ in also):
        raise SyscallError(EBUSY)   # propagate_mount_busy
    vfs.umount(m)
    m.vfs = None
    _umount_propagated(also, lazily=False)
    return 0


def _umount_propagated(also, lazily):
    """Unmount the copies an umount propagated to ((mount, topper), children first); a topper
    takes the place of the mount it covered."""
    for q, topper in also:
        vfs = q.vfs
        if vfs is None or q.parent is None:
            continue
        where = vfs.lift(topper) if topper is not None else None
        if lazily:
            vfs.detach(q)
        else:
            vfs.umount(q)
            q.vfs = None
        if where is not None:
            vfs.put_back(topper, where)


def busy(kernel, m):
    """Something uses mount ``m``: an open file, a task's root or cwd, a mount below it."""
    if m.refs > 0 or m.vfs.children(m):
        return True
    return any(task.fs is not None and m in (task.fs.root.mount, task.fs.cwd.mount)
               for task in kernel.pidns.tasks.values() if not task.exited)


# -- pivot_root ----------------------------------------------------------------------------------

def pivot_root(t, new_root, put_old):
    new = resolve_at(t, AT_FDCWD, read_path(t, new_root), want_dir=True)
    old = resolve_at(t, AT_FDCWD, read_path(t, put_old), want_dir=True)
    admin(t)
    vfs, root = t.ns.mnt, t.fs.root
    if not new.inode.is_dir or not old.inode.is_dir:
        raise SyscallError(ENOTDIR)
    old = vfs.follow_mounts(old) if old.mount.vfs is vfs else old   # lock_mount: the topmost mount there
    if (old.mount.group is not None or _parent_shared(new.mount) or _parent_shared(root.mount)
            or root.mount.vfs is not vfs or new.mount.vfs is not vfs or new.mount.locked):
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
    if root.mount.locked:   # the lock moves to the new root's mount
        new.mount.locked, root.mount.locked = True, False
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
    return m.parent is not None and m.parent.group is not None
