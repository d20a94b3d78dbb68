"""VirtualFilesystem (the mount namespace): the mount tree and crossing between mounts.

``mount(fs, target)`` stacks a filesystem on a VirtualDentry (or makes it the
namespace root); path resolution asks ``follow_mounts`` after each step down
and ``mountpoint_of`` to go up out of a mount's root. ``mount_table`` is what
/proc/mounts prints. The tree edits of mount(2), umount2(2) and pivot_root(2)
(syscalls/mount.py) are here too: detaching a subtree, moving a mount, swapping
the root, and ``copy`` (CLONE_NEWNS: a new namespace with a copy of every mount).
"""
from dataclasses import dataclass

from snakevisor.abi.errno import EBUSY, EINVAL, ENOTDIR, SyscallError
from snakevisor.abi.fs import PROC_NS_INODES
from snakevisor.abi.poll import POLLERR, POLLIN, POLLPRI, POLLRDNORM
from snakevisor.sentry.vfs.mount import Mount, VirtualDentry
from snakevisor.sentry.vfs.waiter import WaitQueue


# /proc/sys/fs/mount-max: the most mounts a namespace may hold (Linux's default); more is ENOSPC.
# protected_hardlinks: link(2) of a file one does not own needs a safe source (pathops.link_path);
# on, as Debian and most distributions set it.
LIMITS = {"mount_max": 100000, "protected_hardlinks": 1}


@dataclass
class MountInfo:
    id: int
    parent_id: int
    source: bytes
    target: bytes
    fstype: str
    options: str


class VirtualFilesystem:
    kind = "mnt"   # a namespace (kernel/namespaces.py); ``ino`` its /proc/PID/ns/mnt number

    def __init__(self, ino=PROC_NS_INODES["mnt"], anonymous=False):
        self.root_mount: Mount | None = None
        # An anonymous namespace holds a detached tree (open_tree's clone, fsmount's mount) until
        # move_mount attaches it or its fd's last close drops it (syscalls/mount_api.py).
        self.anonymous = anonymous
        # mountpoint -> top mount on it; read directly by path resolution's fast walk (resolve.py)
        self.covering: dict[VirtualDentry, Mount] = {}
        # mountpoint -> the mounts under its top one, oldest first (none, unless an old tree is
        # copied: mounts now stack on the top mount's root, propagation tucks them there)
        self.stacked: dict[VirtualDentry, list[Mount]] = {}
        self.mounts: list[Mount] = []                    # in mount order
        self.ino = ino
        # /proc/PID/mounts and mountinfo poll for changes of the tree (mnt_namespace's event/poll)
        self.events = {"mounts": 0}
        self.changed = WaitQueue()

    def touch(self) -> None:
        """touch_mnt_namespace: a mount was added, removed, moved or changed; a watcher's poll
        of /proc/PID/mounts or mountinfo sees it (EPOLLERR|EPOLLPRI once)."""
        self.events["mounts"] += 1
        self.changed.notify(POLLIN | POLLRDNORM | POLLERR | POLLPRI)

    @property
    def root(self) -> VirtualDentry:
        return VirtualDentry(self.root_mount, self.root_mount.root)

    def mount(self, fs, target: VirtualDentry | None = None, flags: int = 0, source: bytes = b"none",
              root=None) -> Mount:
        """Mount ``fs`` on ``target`` (None: as the namespace root). ``root``: a Dentry of fs (bind)."""
        if target is None:
            if self.root_mount is not None:
                raise SyscallError(EBUSY)
            m = Mount(fs, root, None, None, flags, source)
            self.root_mount = m
        else:
            target = self.follow_mounts(target)
            if target.dentry.inode.is_dir != (root or fs.root).inode.is_dir:
                raise SyscallError(ENOTDIR)   # a directory on a file or a file on a directory (graft_tree)
            m = Mount(fs, root, None, None, flags, source)
            self._attach(m, target)
        m.vfs = self
        self.mounts.append(m)
        self.touch()
        return m

    def graft(self, m: Mount, target: VirtualDentry) -> None:
        """Add mount ``m`` (a copy: a bind's submounts) exactly on ``target``."""
        self._attach(m, target)
        m.vfs = self
        self.mounts.append(m)
        self.touch()

    def graft_tucked(self, m: Mount, target: VirtualDentry) -> None:
        """A propagated mount ``m`` exactly on ``target``; what was mounted there goes on ``m``'s
        root (mnt_change_mountpoint), under it."""
        under = self.covering.get(target)
        if under is not None:
            self._uncover(under)
        self.graft(m, target)
        if under is not None:
            self._attach(under, VirtualDentry(m, m.root))

    def _attach(self, m: Mount, target: VirtualDentry) -> None:
        """Put ``m`` on top of ``target`` (already in ``mounts`` or about to be)."""
        m.parent, m.mountpoint = target.mount, target.dentry
        target.dentry.mount_count += 1
        under = self.covering.get(target)
        if under is not None:
            self.stacked.setdefault(target, []).append(under)
        self.covering[target] = m

    def _uncover(self, m: Mount) -> None:
        """Take ``m`` off its mountpoint: an earlier mount stacked there becomes visible again."""
        key = VirtualDentry(m.parent, m.mountpoint)
        m.mountpoint.mount_count -= 1
        below = self.stacked.get(key)
        if self.covering.get(key) is m:
            if below:
                self.covering[key] = below.pop()
            else:
                self.covering.pop(key, None)
        elif below and m in below:
            below.remove(m)
        if below is not None and not below:
            del self.stacked[key]
        m.parent = m.mountpoint = None

    def lift(self, topper: Mount) -> VirtualDentry:
        """``topper`` leaves the root of the mount it wholly covers, which is to be unmounted, and
        will take that mount's place: returns the place."""
        under = topper.parent
        self._uncover(topper)
        return VirtualDentry(under.parent, under.mountpoint)

    def put_back(self, topper: Mount, where: VirtualDentry) -> None:
        """``topper`` (lifted) on ``where``, the mount it covered gone from there."""
        self._attach(topper, where)
        self.touch()

    def children(self, m: Mount) -> list[Mount]:
        """The mounts attached on ``m``."""
        return [o for o in self.mounts if o.parent is m]

    def umount(self, m: Mount) -> None:
        if m is self.root_mount or self.children(m):
            raise SyscallError(EBUSY)
        if m not in self.mounts:
            raise SyscallError(EINVAL)
        self._uncover(m)
        self.mounts.remove(m)
        m.leave()
        self.touch()

    def subtree(self, m: Mount) -> list[Mount]:
        """``m`` and every mount below it, parents before children (siblings in mount order)."""
        children = {}
        for o in self.mounts:
            children.setdefault(o.parent, []).append(o)
        out, stack = [], [m]
        while stack:
            o = stack.pop()
            out.append(o)
            stack.extend(reversed(children.get(o, ())))
        return out

    def detach(self, m: Mount) -> None:
        """umount2(MNT_DETACH): ``m`` and the mounts below it leave the namespace; open files on
        them keep their Mount (and their files) until closed."""
        tree = self.subtree(m)
        gone = set(tree)
        # disconnect_mount: a locked mount stays on its parent (also going), still hiding what it
        # covers from whoever holds a file there; the tree's mounts then cross through a remnant
        # that is no namespace (mount_root and every check_mnt refuse them).
        kept = {o for o in tree if o.locked and o.parent in gone}
        remnant = VirtualFilesystem(ino=0) if kept else None
        for o in reversed(tree):
            if o in kept:
                key = VirtualDentry(o.parent, o.mountpoint)
                self.covering.pop(key, None)
                remnant.covering[key] = o
            else:
                self._uncover(o)
            o.vfs = remnant
            o.leave()
        self.mounts = [o for o in self.mounts if o not in gone]   # (one pass: trees can be large)
        self.touch()

    def move(self, m: Mount, target: VirtualDentry) -> None:
        """MS_MOVE: ``m`` (with what is mounted below it) goes on top of ``target``."""
        target = self.follow_mounts(target)
        self._uncover(m)
        self._attach(m, target)
        self.mounts = self.subtree(self.root_mount)   # parents before children again (copy relies on it)
        self.touch()

    def pivot(self, root: Mount, new: Mount, put_old: VirtualDentry) -> None:
        """pivot_root: ``new`` takes the place of ``root`` (the caller's root mount: the namespace
        root, or a mount it is chrooted to), which goes on top of ``put_old``."""
        self._uncover(new)
        if root is self.root_mount:
            self.root_mount = new
        else:
            where = VirtualDentry(root.parent, root.mountpoint)
            self._uncover(root)
            self._attach(new, where)
        self._attach(root, put_old)
        self.mounts = self.subtree(self.root_mount)   # parents before children again (copy relies on it)
        self.touch()

    def copy(self, ino: int, shared_to_slave: bool = False) -> "tuple[VirtualFilesystem, dict]":
        """CLONE_NEWNS: a namespace with a copy of each mount (same filesystems, same places, the
        copies of shared mounts their peers, or with ``shared_to_slave`` their slaves); returns
        it and {old Mount: its copy}."""
        new = VirtualFilesystem(ino)
        copies = {m: m.copy(shared_to_slave=shared_to_slave) for m in self.mounts}
        for m in self.mounts:
            c = copies[m]
            c.vfs = new
            new.mounts.append(c)
            if m.parent is None:
                new.root_mount = c
            else:
                new._attach(c, VirtualDentry(copies[m.parent], m.mountpoint))
        return new, copies

    @classmethod
    def detached(cls, top: Mount, below=()) -> "VirtualFilesystem":
        """An anonymous namespace of ``top`` and ``below`` ((mount, parent, mountpoint) parents first)."""
        vfs = cls(ino=0, anonymous=True)
        vfs.root_mount, top.vfs = top, vfs
        vfs.mounts.append(top)
        for m, parent, mountpoint in below:
            vfs.graft(m, VirtualDentry(parent, mountpoint))
        return vfs

    def adopt(self, other: "VirtualFilesystem", target: VirtualDentry) -> None:
        """move_mount of a detached tree: every mount of anonymous namespace ``other`` joins this
        one, its root on top of ``target``; ``other`` is left empty."""
        self._attach(self._take(other), self.follow_mounts(target))

    def _take(self, other: "VirtualFilesystem") -> Mount:
        """The mounts of anonymous namespace ``other`` join this one (the root not attached yet)."""
        top = other.root_mount
        for m in other.mounts:
            m.vfs = self
            self.mounts.append(m)
        self.covering.update(other.covering)
        self.stacked.update(other.stacked)
        other.mounts, other.covering, other.stacked, other.root_mount = [], {}, {}, None
        self.touch()
        return top

    def put_beneath(self, m: Mount, top: Mount) -> None:
        """MOVE_MOUNT_BENEATH: ``m`` (attached here, or the root of an anonymous namespace) takes
        the place of ``top``, which goes on ``m``'s root: unmounting ``top`` then reveals ``m``."""
        if m.vfs is not self:
            self._take(m.vfs)
        elif m.parent is not None:
            self._uncover(m)
        where = VirtualDentry(top.parent, top.mountpoint)
        self._uncover(top)
        self._attach(m, where)
        self._attach(top, VirtualDentry(m, m.root))
        self.mounts = self.subtree(self.root_mount)   # parents before children again (copy relies on it)
        self.touch()

    def dissolve(self) -> None:
        """The last close of a detached tree's fd, or the last task of a namespace gone: every
        mount leaves it (open files on them keep their Mount, as after MNT_DETACH)."""
        for o in reversed(self.mounts):
            if o.parent is not None:
                self._uncover(o)
            o.vfs = None
            o.leave()
        self.mounts, self.root_mount = [], None

    def follow_mounts(self, vd: VirtualDentry) -> VirtualDentry:
        """If something is mounted on ``vd``, the root of the topmost mount there."""
        while vd.dentry.mount_count:
            m = self.covering.get(vd)
            if m is None:
                break
            vd = VirtualDentry(m, m.root)
        return vd

    def mountpoint_of(self, m: Mount) -> VirtualDentry | None:
        """Where ``m`` is attached (None for the namespace root or an anonymous mount)."""
        if m.parent is None:
            return None
        return VirtualDentry(m.parent, m.mountpoint)

    def mount_table(self) -> list[MountInfo]:
        from snakevisor.sentry.vfs.resolve import path_of
        out = []
        for m in self.mounts:
            target = b"/" if m.parent is None else path_of(VirtualDentry(m.parent, m.mountpoint), self.root)
            out.append(MountInfo(m.id, m.parent.id if m.parent else m.id, m.source, target, m.fs.name,
                                 m.options()))
        return out


MountNamespace = VirtualFilesystem
