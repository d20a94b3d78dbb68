"""VirtualFilesystem (the mount namespace): the mount tree and crossing between mounts.

``mount(fs, target)`` stacks a filesystem on a VirtualDentry (or makes it the
namespace root); path resolution asks ``follow_mounts`` after each step down
and ``mountpoint_of`` to go up out of a mount's root. ``mount_table`` is what
/proc/mounts prints.
"""
from dataclasses import dataclass

from snakevisor.abi.errno import EBUSY, EINVAL, ENOTDIR, SyscallError
from snakevisor.sentry.vfs.mount import Mount, VirtualDentry


@dataclass
class MountInfo:
    id: int
    parent_id: int
    source: bytes
    target: bytes
    fstype: str
    options: str


class VirtualFilesystem:
    def __init__(self):
        self.root_mount: Mount | None = None
        self._covering: dict[VirtualDentry, Mount] = {}   # mountpoint -> top mount on it
        self.mounts: list[Mount] = []                    # in mount order

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
            m = Mount(fs, root, target.mount, target.dentry, flags, source)
            target.dentry.mount_count += 1
            self._covering[target] = m
        m.vfs = self
        self.mounts.append(m)
        return m

    def umount(self, m: Mount) -> None:
        if m is self.root_mount or any(c.parent is m for c in self.mounts):
            raise SyscallError(EBUSY)
        if m not in self.mounts:
            raise SyscallError(EINVAL)
        key = VirtualDentry(m.parent, m.mountpoint)
        self.mounts.remove(m)
        m.mountpoint.mount_count -= 1
        # Uncover: an earlier mount stacked on the same point becomes visible again.
        below = [o for o in self.mounts if o.parent is m.parent and o.mountpoint is m.mountpoint]
        if below:
            self._covering[key] = below[-1]
        else:
            self._covering.pop(key, None)

    def follow_mounts(self, vd: VirtualDentry) -> VirtualDentry:
        """If something is mounted on ``vd``, the root of the topmost mount there."""
        while vd.dentry.mount_count:
            m = self._covering.get(vd)
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
