"""Dentry: a name in the tree, pointing at an Inode (the DentryImpl).

A Dentry is not the inode: two hard links are two Dentries sharing one
Inode. Dentries cache their looked-up children (positive entries only) and
are reference counted: an open file holds its Dentry. Unlinking marks a
Dentry dead and drops it from its parent's cache; when its last reference
goes, its reference on the Inode goes too (so unlinked-but-open data lives
exactly as long as the last open file).
"""
from snakevisor.sentry.vfs import fsnotify


class RefCountError(AssertionError):
    """A reference count went below zero: a Sentry bug, raised where it happens instead of hidden."""


class Dentry:
    __slots__ = ("name", "parent", "inode", "children", "refs", "mount_count", "dead", "released",
                 "vouched", "__weakref__")

    def __init__(self, inode, name: bytes = b"", parent: "Dentry | None" = None):
        self.name = name
        self.parent = parent
        self.inode = inode
        self.children: dict[bytes, Dentry] = {}
        self.refs = 0
        self.mount_count = 0   # mounts stacked on this Dentry (maintained by the VFS)
        self.dead = False
        self.released = False
        self.vouched = 0       # the resolution (ResolveContext.epoch) whose batched revalidation covered us
        inode.inc_ref()

    def __repr__(self):
        return f"Dentry({self.name!r}, ino={self.inode.ino})"

    @property
    def is_mountpoint(self) -> bool:
        return self.mount_count > 0

    @property
    def is_root(self) -> bool:
        return self.parent is None

    def inc_ref(self) -> "Dentry":
        self.refs += 1
        return self

    def dec_ref(self) -> None:
        self.refs -= 1
        if self.refs <= 0:
            if self.refs < 0:
                raise RefCountError(f"dentry {self.name!r}: reference count below zero")
            if self.dead:
                self._release()

    def _release(self) -> None:
        # The inode stays reachable from a stale VirtualDentry (it answers ENOENT for
        # creations in a removed directory, say); only our reference on it goes.
        if not self.released:
            self.released = True
            if fsnotify.marks:
                fsnotify.dentry_released(self)
            self.inode.dec_ref()

    # --- the child cache ------------------------------------------------------
    def child(self, name: bytes, epoch: int = 0) -> "Dentry":
        """The child named ``name`` (one component, not "." or ".."), looked up if not cached.
        A cached child is revalidated unless resolution ``epoch`` already did it in a batch."""
        d = self.children.get(name)
        if d is not None:
            if d.mount_count or (epoch and d.vouched == epoch) or self.inode.revalidate_child(name, d.inode):
                return d
            self.forget_child(name)
        inode = self.inode.lookup(name)
        return self.add_child(name, inode)

    def add_child(self, name: bytes, inode) -> "Dentry":
        d = Dentry(inode, name, self)
        self.children[name] = d
        return d

    def forget_child(self, name: bytes) -> None:
        """Drop a cached child that is gone (unlinked, replaced, or stale)."""
        d = self.children.pop(name, None)
        if d is not None:
            d.kill()

    def kill(self) -> None:
        """This name no longer exists: release it once nobody holds it."""
        if self.dead:
            return
        self.dead = True
        if self.refs == 0:
            self._release()

    def move_to(self, new_parent: "Dentry", new_name: bytes) -> None:
        """Rename: re-attach this Dentry under ``new_parent``."""
        if self.parent is not None and self.parent.children.get(self.name) is self:
            del self.parent.children[self.name]
        self.parent = new_parent
        self.name = new_name
        new_parent.children[new_name] = self

    def is_ancestor_of(self, other: "Dentry") -> bool:
        """True if ``other`` is this Dentry or below it (same filesystem tree)."""
        d = other
        while d is not None:
            if d is self:
                return True
            d = d.parent
        return False
