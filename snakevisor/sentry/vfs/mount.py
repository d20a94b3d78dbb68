"""Mount and VirtualDentry: a filesystem attached at a point of the tree.

A ``Mount`` is one attachment of a Filesystem (its root Dentry) on a
mountpoint: the (parent Mount, Dentry) it covers. A ``VirtualDentry`` names
a file the way the VFS needs it: the Dentry plus the Mount it was reached
through (the same Dentry can be visible through several mounts).
"""
import itertools
from collections import namedtuple

from snakevisor.abi.fs import (MS_NOATIME, MS_NODEV, MS_NODIRATIME, MS_NOEXEC, MS_NOSUID, MS_NOSYMFOLLOW, MS_RDONLY,
                               MS_RELATIME)

_mount_ids = itertools.count(1)
# A namespace's root mount sits, as Linux's, on a rootfs no one sees: mountinfo names it as the
# root's parent (a root that were its own parent would read as rootfs itself, which pivot_root
# refuses and tools treat as an initramfs).
ROOTFS_ID = next(_mount_ids)


LOCKABLE = MS_RDONLY | MS_NODEV | MS_NOSUID | MS_NOEXEC   # the flags lock_mnt_tree locks where set
ATIME_FLAGS = MS_NOATIME | MS_NODIRATIME | MS_RELATIME


class Mount:
    # Locked (lock_mnt_tree) when copied into a mount namespace of a less privileged user
    # namespace: ``locked`` (MNT_LOCKED: not unmounted or moved alone, what it covers stays
    # hidden), ``lock_flags`` (its LOCKABLE flags, never cleared) and ``lock_atime`` (its atime
    # flags never changed). Bind copies keep them (clone_mnt), the new top mount not ``locked``.
    locked = False
    lock_flags = 0
    lock_atime = False

    def __init__(self, fs, root=None, parent: "Mount | None" = None, mountpoint=None, flags: int = 0,
                 source: bytes = b"none", anonymous: bool = False):
        self.id = next(_mount_ids)
        self.fs = fs
        self.root = root if root is not None else fs.root
        self.parent = parent
        self.mountpoint = mountpoint
        self.flags = flags
        self.source = source
        # Anonymous mounts (pipes, sockets, host files) are in no namespace: their
        # files have no path and show as their Dentry's name ("pipe:[12]").
        self.anonymous = anonymous
        self.refs = 0     # open files on it (umount2's EBUSY)
        self.writers = 0  # of them, regular files open for writing (EBUSY for making it read-only)
        self.pins = 0     # tasks' roots and cwds on it (vfs/context.py)
        self.gone = False      # out of its namespace for good (leave)
        self.finished = False  # and no longer used: its filesystem's active count dropped
        fs.active_mounts = getattr(fs, "active_mounts", 0) + 1   # any object serves as a filesystem
        self.vfs = None   # the VirtualFilesystem it belongs to (set by VirtualFilesystem.mount)
        # Shared subtrees (vfs/propagation.py): the PeerGroup it is shared in, the one it is a
        # slave of; neither: private; ``unbindable``: private and never bound.
        self.group = None
        self.master = None
        self.unbindable = False

    def __repr__(self):
        return f"Mount({self.id}, {self.fs.name})"

    def copy(self, roles: bool = True, shared_to_slave: bool = False) -> "Mount":
        """A copy (clone_mnt: a bind, a namespace's copy): a new id, the same filesystem, root and
        flags; with ``roles``, the peer of a shared mount and the slave of its master (or, with
        ``shared_to_slave``, the slave of a shared mount's group); private without."""
        from snakevisor.sentry.vfs import propagation
        c = Mount(self.fs, self.root, None, None, self.flags, self.source, self.anonymous)
        if roles:
            propagation.clone_roles(self, c, shared_to_slave)
        if self.lock_flags or self.lock_atime or self.locked:
            c.locked, c.lock_flags, c.lock_atime = self.locked, self.lock_flags, self.lock_atime
        return c

    def lock(self, root: bool) -> None:
        """lock_mnt_tree, for this mount (``root``: the copied tree's root, which stays unlocked)."""
        self.lock_flags, self.lock_atime, self.locked = self.flags & LOCKABLE, True, not root

    def may_change_flags(self, flags: int) -> bool:
        """can_change_locked_flags: no locked flag cleared, no locked atime flag changed."""
        return not (self.lock_flags & ~flags or self.lock_atime and (self.flags ^ flags) & ATIME_FLAGS)

    def propagation_fields(self, root) -> str:
        """mountinfo's optional fields as a reader whose root is ``root`` sees them, each with a
        space after it: "shared:1 ", "master:2 " (and "propagate_from:3 " when the closest group
        it receives from with a peer under ``root`` is another), "unbindable ", or none."""
        out = f"shared:{self.group.id} " if self.group is not None else ""
        if self.master is not None:
            out += f"master:{self.master.id} "
            from snakevisor.sentry.vfs import propagation
            dom = propagation.dominating_id(self, root)
            if dom and dom != self.master.id:
                out += f"propagate_from:{dom} "
        return out + ("unbindable " if self.unbindable else "")

    @property
    def readonly(self) -> bool:
        return bool(self.flags & MS_RDONLY) or self.fs.readonly

    def inc_ref(self) -> "Mount":
        self.refs += 1
        return self

    def dec_ref(self) -> None:
        self.refs -= 1
        if self.gone:
            self._maybe_finish()

    def pin(self, n: int) -> None:
        """A task's root or cwd comes here (n=1) or leaves (n=-1)."""
        self.pins += n
        if self.gone:
            self._maybe_finish()

    def leave(self) -> None:
        """Unmounted, detached or dropped with its detached tree: it never returns to a namespace.
        Once no file, root or cwd uses it either, its filesystem loses an active mount; the last
        one gone kills the filesystem (as mntput's deactivate_super)."""
        from snakevisor.sentry.vfs import propagation
        self.gone = True
        propagation.change(self, "private")   # umount_tree: it propagates nothing any more
        self._maybe_finish()

    def _maybe_finish(self) -> None:
        if self.refs <= 0 and self.pins <= 0 and not self.finished:
            self.finished = True
            self.fs.active_mounts -= 1
            if self.fs.active_mounts == 0 and hasattr(self.fs, "kill"):
                self.fs.kill()

    def mount_options(self, superblock: bool = False) -> str:
        """The per-mount options (mountinfo's sixth field): Linux's show_mnt_opts order; the
        superblock's read-only state counts with ``superblock`` (/proc/mounts) or when the
        filesystem does not keep it apart."""
        ro = self.readonly if superblock else self.flags & MS_RDONLY or self.fs.readonly and not self.fs.readonly_apart
        opts = ["ro" if ro else "rw"]
        for bit, name in ((MS_NOSUID, "nosuid"), (MS_NODEV, "nodev"), (MS_NOEXEC, "noexec"),
                          (MS_NOATIME, "noatime"), (MS_NODIRATIME, "nodiratime"), (MS_RELATIME, "relatime"),
                          (MS_NOSYMFOLLOW, "nosymfollow")):
            if self.flags & bit:
                opts.append(name)
        return ",".join(opts)

    def options(self) -> str:
        """The option string of /proc/mounts: the mount's, then the filesystem's."""
        extra = self.fs.mount_options()
        return self.mount_options(superblock=True) + ("," + extra if extra else "")

    def super_options(self) -> str:
        """mountinfo's super options: the filesystem's read-only state and options."""
        extra = self.fs.mount_options()
        return ("ro" if self.fs.readonly else "rw") + ("," + extra if extra else "")


# (mount, dentry): a location in the tree. A plain namedtuple, as typing.NamedTuple would make
# it, without importing typing (~2 ms of every cold start).
VirtualDentry = namedtuple("VirtualDentry", ("mount", "dentry"))
VirtualDentry.inode = property(lambda self: self.dentry.inode)


def anonymous_mount(fs) -> Mount:
    """A mount for a filesystem that is in no namespace (host files, pipefs, sockfs)."""
    return Mount(fs, anonymous=True)
