"""Inode: the DentryImpl, what a filesystem owns behind each Dentry.

Every filesystem (tmpfs, devfs, gofer, procfs, host, ...) subclasses
``Inode``. The base class holds the attributes struct stat reports and gives
every operation a default that fails with the errno Linux uses when a file
type or filesystem does not support it, so a subclass only overrides what it
does. Directory operations take names (bytes, one component, never "." or
".."); the VFS has already resolved paths, checked permissions, read-only
mounts and mount points, and keeps the Dentry cache in step afterwards.

In-memory references: each live Dentry and each mapping holds a reference
(``inc_ref``/``dec_ref``); when the last one goes and ``nlink`` is 0 the inode
is ``evict``-ed (tmpfs frees the file's data then: unlink while open).
"""
import time

from snakevisor.sentry.vfs.dentry import RefCountError
from snakevisor.abi.errno import (EEXIST, EINVAL, ENODATA, ENOENT, ENOTDIR, EOPNOTSUPP, EPERM, EROFS, ENOTTY,
                                  ENODEV, SyscallError)
from snakevisor.abi.fs import (FS_NOATIME_FL, S_IFMT, S_IFDIR, S_IFREG, S_IFLNK, S_IFCHR, S_IFBLK, StatResult,
                               XATTR_NAME_CAPS, XATTR_NAME_POSIX_ACL_ACCESS, XATTR_NAME_POSIX_ACL_DEFAULT,
                               dtype_of)


now_ns = time.time_ns   # the clock of file times (an alias: a wrapper cost a call on every write)


class Inode:
    """Base DentryImpl. ``fs`` is the owning Filesystem (gives ``dev`` and ``readonly``)."""

    blksize = 4096
    has_btime = False   # statx reports STATX_BTIME (a filesystem that records birth times)
    linkable = False    # an O_TMPFILE file without O_EXCL: linkat may give it its first name
    iflags = 0          # FS_*_FL inode flags (vfs/inode_flags.py), set per inode where a filesystem keeps them
    user_flags = None   # the flags users may set here; None: no inode flags (ENOTTY, EOPNOTSUPP)
    trusts_cached_children = True   # revalidate_child is the one below (set per subclass)
    leases = None       # an open file's leases (vfs/leases.py); None for nearly every inode
    readers = 0         # descriptions open read-only (a regular file; set per inode once opened)

    def __init_subclass__(cls, **kw):
        super().__init_subclass__(**kw)
        # Path resolution's fast path skips the revalidate_child call of a class that keeps ours.
        cls.trusts_cached_children = cls.revalidate_child is Inode.revalidate_child

    def __init__(self, fs, mode: int, ino: int | None = None, uid: int = 0, gid: int = 0,
                 rdev: int = 0, nlink: int | None = None):
        self.fs = fs
        self.mode = mode
        self.ino = ino if ino is not None else fs.next_ino()
        self.uid = uid
        self.gid = gid
        self.rdev = rdev
        self.nlink = nlink if nlink is not None else (2 if mode & S_IFMT == S_IFDIR else 1)
        self.size = 0
        t = now_ns()
        self.atime = self.mtime = self.ctime = self.btime = t
        self.refs = 0
        self.writers = 0        # descriptions open for writing (a regular file)
        self.exec_users = 0     # address spaces running it: no opening for writing (ETXTBSY)

    # --- identity -------------------------------------------------------------
    @property
    def dev(self) -> int:
        return self.fs.dev

    @property
    def type(self) -> int:
        return self.mode & S_IFMT

    @property
    def dtype(self) -> int:
        return dtype_of(self.mode)

    @property
    def is_dir(self) -> bool:
        return self.mode & S_IFMT == S_IFDIR

    @property
    def is_reg(self) -> bool:
        return self.mode & S_IFMT == S_IFREG

    @property
    def is_symlink(self) -> bool:
        return self.mode & S_IFMT == S_IFLNK

    @property
    def is_device(self) -> bool:
        return self.mode & S_IFMT in (S_IFCHR, S_IFBLK)

    def blocks(self) -> int:
        """st_blocks in 512-byte units."""
        return (self.size + 511) // 512

    def stat(self) -> StatResult:
        # Positional arguments, in StatResult's field order: every stat(2) builds one, and keywords cost.
        return StatResult(self.fs.dev, self.ino, self.nlink, self.mode, self.uid, self.gid, self.rdev,
                          self.size, self.blksize, self.blocks(), self.atime, self.mtime, self.ctime,
                          self.btime if self.has_btime else None)

    # --- references -------------------------------------------------------------
    def inc_ref(self) -> None:
        self.refs += 1

    def dec_ref(self) -> None:
        self.refs -= 1
        if self.refs < 0:
            raise RefCountError(f"inode {self.ino}: reference count below zero")
        if self.refs == 0 and self.nlink <= 0:
            self.evict()

    def evict(self) -> None:
        """The inode is unreachable and unreferenced: free what it holds."""

    # --- timestamps -------------------------------------------------------------
    def touch_atime(self) -> None:
        # relatime: only when atime is not newer than mtime/ctime (what Linux mounts default to).
        if (self.atime <= self.mtime or self.atime <= self.ctime) and not self.iflags & FS_NOATIME_FL:
            self.atime = now_ns()

    def touch_mtime(self) -> None:
        self.mtime = self.ctime = now_ns()

    def touch_ctime(self) -> None:
        self.ctime = now_ns()

    # --- directory operations (defaults: not a directory / not supported) ---------
    def _no_dir_op(self):
        if not self.is_dir:
            raise SyscallError(ENOTDIR)
        raise SyscallError(EROFS if self.fs.readonly else EPERM)

    def lookup(self, name: bytes) -> "Inode":
        if not self.is_dir:
            raise SyscallError(ENOTDIR)
        raise SyscallError(ENOENT)

    # A generator (task) giving iterdir's entries while other Tasks run (a directory whose
    # listing waits for the Gofer), or None.
    iterdir_waiting = None

    def iterdir(self):
        """(name, ino, dtype) of each entry, without "." and ".."."""
        if not self.is_dir:
            raise SyscallError(ENOTDIR)
        return iter(())

    def revalidate_child(self, name: bytes, child: "Inode") -> bool:
        """Is a cached child Dentry still right? (procfs/gofer may say no.)"""
        return True

    def revalidate_chain(self, chain) -> int:
        """How many leading (name, inode) pairs of a cached path below this directory are still
        right, checked at once. Asked only on filesystems whose ``revalidates`` is set."""
        return len(chain)

    def create(self, name: bytes, mode: int, creds=None) -> "Inode":
        self._no_dir_op()

    def mkdir(self, name: bytes, mode: int, creds=None) -> "Inode":
        self._no_dir_op()

    def tmpfile(self, mode: int, exclusive: bool, creds=None) -> "Inode":
        """open(O_TMPFILE) in this directory: a regular file with no name (nlink 0), open for
        writing. A filesystem without unnamed files: EOPNOTSUPP, as Linux's."""
        if not self.is_dir:
            raise SyscallError(ENOTDIR)
        raise SyscallError(EOPNOTSUPP)

    def mknod(self, name: bytes, mode: int, rdev: int, creds=None) -> "Inode":
        self._no_dir_op()

    def symlink(self, name: bytes, target: bytes, creds=None) -> "Inode":
        self._no_dir_op()

    def link(self, name: bytes, inode: "Inode") -> None:
        self._no_dir_op()

    def unlink(self, name: bytes) -> None:
        self._no_dir_op()

    def rmdir(self, name: bytes) -> None:
        self._no_dir_op()

    def rename(self, oldname: bytes, newdir: "Inode", newname: bytes, flags: int = 0, creds=None) -> None:
        """RENAME_* ``flags``; a filesystem without whiteouts refuses RENAME_WHITEOUT (EINVAL),
        one with them makes the whiteout ``creds``'s."""
        self._no_dir_op()

    # --- symlinks ---------------------------------------------------------------------
    def readlink(self, task) -> bytes:
        raise SyscallError(EINVAL)

    def resolve_link(self, task):
        """A magic link (procfs) returns the VirtualDentry it points at; None: follow readlink()."""
        return None

    # --- any file ---------------------------------------------------------------------
    def open(self, task, flags: int):
        """Return the FileDescriptionImpl for an open with O_* ``flags``."""
        if self.is_dir:
            from snakevisor.sentry.vfs.file import DirectoryImpl
            return DirectoryImpl(self)
        raise SyscallError(ENODEV)

    def setattr(self, *, mode: int | None = None, uid: int | None = None, gid: int | None = None,
                size: int | None = None, atime: int | None = None, mtime: int | None = None) -> None:
        """chmod (permission bits only)/chown/truncate/utimes; times in ns. Read-only: EROFS."""
        if self.fs.readonly:
            raise SyscallError(EROFS)
        if size is not None and size != self.size:
            raise SyscallError(EINVAL)   # no resizing; "truncating" to its own size (open's O_TRUNC) is fine
        self._apply_attrs(mode, uid, gid, atime, mtime)

    def change_ctime(self) -> None:
        """A change of nothing but the change time: chown to ids of -1 (notify_change's ATTR_CTIME)."""
        if self.fs.readonly:
            raise SyscallError(EROFS)
        self.touch_ctime()

    def _apply_attrs(self, mode, uid, gid, atime, mtime) -> None:
        """The in-memory part of setattr, shared by filesystems that keep attributes here."""
        if mode is not None:
            self.mode = (self.mode & S_IFMT) | (mode & 0o7777)
        if uid is not None:
            self.uid = uid
        if gid is not None:
            self.gid = gid
        if atime is not None:
            self.atime = atime
        if mtime is not None:
            self.mtime = mtime
        self.ctime = now_ns()

    def statfs(self):
        return self.fs.statfs()

    # Opening with O_DIRECT: only regular files of filesystems that take it (Linux's
    # FMODE_CAN_ODIRECT: tmpfs, the host's disk filesystems); anything else is EINVAL.
    direct_io = False

    # --- extended attributes ------------------------------------------------------------
    # Filesystems that keep xattrs in memory (tmpfs) set ``memory_xattrs``; others report
    # none and refuse to store any, as a filesystem without xattr support does.
    memory_xattrs = False

    host_acls = False   # system.posix_acl_* go to a host filesystem that applies them (Gofer files)

    def keeps_acls(self) -> bool:
        """Are this inode's POSIX ACLs the Sentry's to keep and apply (vfs/posix_acl.py)? Elsewhere
        system.posix_acl_* go to the filesystem (a Gofer file's host applies them) or are unsupported."""
        return self.memory_xattrs and self.fs.posix_acl

    def access_acl(self) -> bytes | None:
        """The access ACL the Sentry checks this inode's permissions against, if it keeps one."""
        xattrs = self.__dict__.get("_xattrs")
        return xattrs.get(XATTR_NAME_POSIX_ACL_ACCESS) if xattrs else None

    def check_acl_removal(self, name: bytes) -> None:
        """Before an ACL is removed: overlayfs refuses one its lower file lacks (ENODATA)."""

    def default_acl(self) -> bytes | None:
        """A directory's default ACL the Sentry gives what is made in it, if it keeps one."""
        xattrs = self.__dict__.get("_xattrs")
        return xattrs.get(XATTR_NAME_POSIX_ACL_DEFAULT) if xattrs else None

    def _check_system_name(self, name: bytes) -> None:
        # Linux's tmpfs has handlers for the two ACL names only (none without ACL support): any
        # other system.* name is EOPNOTSUPP.
        if name.startswith(b"system.") and not (
                self.fs.posix_acl and name in (XATTR_NAME_POSIX_ACL_ACCESS, XATTR_NAME_POSIX_ACL_DEFAULT)):
            raise SyscallError(EOPNOTSUPP)

    def getxattr(self, name: bytes) -> bytes:
        if self.memory_xattrs:
            self._check_system_name(name)
        xattrs = getattr(self, "_xattrs", None) or {}
        if name not in xattrs:
            raise SyscallError(ENODATA)
        return xattrs[name]

    def listxattr(self) -> list:
        return list(getattr(self, "_xattrs", None) or {})

    def setxattr(self, name: bytes, value: bytes, flags: int) -> None:
        if not self.memory_xattrs:
            raise SyscallError(EOPNOTSUPP)
        self._check_system_name(name)
        if name.startswith(b"user.") and not (self.is_reg or self.is_dir):
            raise SyscallError(EPERM)
        xattrs = self.__dict__.setdefault("_xattrs", {})
        if flags & 1 and name in xattrs:      # XATTR_CREATE
            raise SyscallError(EEXIST)
        if flags & 2 and name not in xattrs:  # XATTR_REPLACE
            raise SyscallError(ENODATA)
        xattrs[name] = bytes(value)
        self.touch_ctime()

    def has_file_caps(self) -> bool:
        """Does the file carry capabilities (security.capability) that a change must drop
        (cap_inode_need_killpriv)? Filesystems whose host kernel drops them itself say no."""
        xattrs = getattr(self, "_xattrs", None)
        return bool(xattrs) and XATTR_NAME_CAPS in xattrs

    def kill_priv(self) -> None:
        """Drop file capabilities (security.capability), as a chown, a write or a truncation
        does (cap_inode_killpriv): a changed program must not keep them."""
        xattrs = getattr(self, "_xattrs", None)
        if xattrs:
            xattrs.pop(XATTR_NAME_CAPS, None)

    def removexattr(self, name: bytes) -> None:
        if self.memory_xattrs:
            self._check_system_name(name)
        xattrs = getattr(self, "_xattrs", None) or {}
        if name not in xattrs:
            raise SyscallError(ENODATA)
        del xattrs[name]
        self.touch_ctime()

    def ioctl(self, task, cmd: int, arg: int) -> int:
        raise SyscallError(ENOTTY)
