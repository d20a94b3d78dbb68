"""Filesystem: one mounted filesystem instance (its root Dentry, device number, statfs).

Each fsimpl subclasses it. Device numbers for filesystems without a device
come from the anonymous range (major 0), like Linux's get_anon_bdev.
"""
import itertools

from snakevisor.abi.fs import StatfsResult, makedev, NAME_MAX

_anon_minor = itertools.count(16)


def new_anon_dev() -> int:
    return makedev(0, next(_anon_minor))


class Filesystem:
    """Base class. Subclasses set ``root`` (a Dentry) and may override ``statfs``."""

    name = "none"
    magic = 0
    revalidates = False   # cached names may go stale (a shared remote filesystem): see Inode.revalidate_chain
    # True: ``readonly`` is the superblock's own state (fsconfig's reconfigure sets it), which
    # mountinfo shows in the super options only, as Linux's; False: it shows on every mount too.
    readonly_apart = False
    active_mounts = 0     # Mounts of it not yet gone for good (Linux's s_active): see Mount.leave
    dir_fsync = True      # its directories have ->fsync (procfs's and kernfs's do not: EINVAL)
    # its directories seek from their size at SEEK_END (procfs's and kernfs's generic_file_llseek);
    # tmpfs's dcache_dir_lseek knows SEEK_SET and SEEK_CUR only (EINVAL)
    dir_seek_end = False
    # POSIX ACLs (system.posix_acl_*) kept and applied by the Sentry (tmpfs's: vfs/posix_acl.py)
    posix_acl = False

    def __init__(self, readonly: bool = False, dev: int | None = None):
        self.readonly = readonly
        self.dev = dev if dev is not None else new_anon_dev()
        self._ino = itertools.count(1)
        self.root = None

    def next_ino(self) -> int:
        return next(self._ino)

    def statfs(self) -> StatfsResult:
        return StatfsResult(type=self.magic, namelen=NAME_MAX, fsid=(self.dev & 0xFFFFFFFF, self.dev >> 32))

    def mount_options(self) -> str:
        """Filesystem-specific options for /proc/mounts (after rw/ro)."""
        return ""

    def kill(self) -> None:
        """kill_sb: the last mount of this filesystem is gone (unmounted, or a detached tree
        dropped) and nothing holds one: a filesystem that lives in the Sentry frees its files."""
