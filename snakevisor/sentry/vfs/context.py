"""FSContext: a task's filesystem context (root, cwd, umask), shared or copied on clone.

It holds a reference on the root and cwd Dentries, so a removed working
directory stays valid (lookups in it fail with ENOENT, as on Linux).
"""
from snakevisor.sentry.vfs.mount import VirtualDentry


class FSContext:
    def __init__(self, root: VirtualDentry, cwd: VirtualDentry | None = None, umask: int = 0o022):
        self.root = root
        self.cwd = cwd if cwd is not None else root
        self.umask = umask
        root.dentry.inc_ref()
        self.cwd.dentry.inc_ref()
        root.mount.pin(1)
        self.cwd.mount.pin(1)

    def fork(self) -> "FSContext":
        """A copy (clone without CLONE_FS)."""
        return FSContext(self.root, self.cwd, self.umask)

    def remap(self, copies: dict) -> None:
        """CLONE_NEWNS: the root and cwd move to the copies of their mounts ({Mount: copy}); the
        Dentry references stay as they are."""
        old = (self.root.mount, self.cwd.mount)
        self.root = VirtualDentry(copies.get(self.root.mount, self.root.mount), self.root.dentry)
        self.cwd = VirtualDentry(copies.get(self.cwd.mount, self.cwd.mount), self.cwd.dentry)
        self._repin(old)

    def _repin(self, old) -> None:
        """The root and cwd hold their mounts (pins), as a path holds its vfsmount."""
        self.root.mount.pin(1)
        self.cwd.mount.pin(1)
        for m in old:
            m.pin(-1)

    def set_cwd(self, vd: VirtualDentry) -> None:
        vd.dentry.inc_ref()
        old, self.cwd = self.cwd, vd
        old.dentry.dec_ref()
        vd.mount.pin(1)
        old.mount.pin(-1)

    def set_root(self, vd: VirtualDentry) -> None:
        vd.dentry.inc_ref()
        old, self.root = self.root, vd
        old.dentry.dec_ref()
        vd.mount.pin(1)
        old.mount.pin(-1)

    def release(self) -> None:
        """The last task using this context exited."""
        self.root.dentry.dec_ref()
        self.cwd.dentry.dec_ref()
        self.root.mount.pin(-1)
        self.cwd.mount.pin(-1)
