"""The base inode of gofer files: attributes, their revalidation, setattr and xattrs.

Every gofer inode holds a 9P fid. ``GoferInode`` itself serves the files with
no data of their own here (devices, FIFOs, sockets); directories
(directory.py) and regular files (regular.py) subclass it, and ``GoferSymlink``
caches its target.

Attributes. On an exclusive mount they are kept here and updated locally after
each of our own changes. On a shared one they are refreshed on stat and open
when older than FRESH_NS (``revalidate``); a walk's qids that show an unchanged
version make them current again at no cost (``confirm``).
"""
import time
from time import monotonic_ns as _monotonic_ns

from snakevisor.abi.errno import EINVAL, EISDIR, ENXIO, EOPNOTSUPP, EROFS, SyscallError
from snakevisor.abi.fs import (S_IFBLK, S_IFCHR, S_IFDIR, S_IFIFO, S_IFMT, XATTR_NAME_POSIX_ACL_ACCESS,
                               XATTR_NAME_POSIX_ACL_DEFAULT, dev_major, dev_minor)
from snakevisor.p9 import constants as P9
from snakevisor.sentry.fsimpl.gofer import directfs, xattr
from snakevisor.sentry.vfs.device import open_device, open_fifo
from snakevisor.sentry.vfs.inode import Inode, now_ns

# Shared mounts: attributes fetched this recently are current enough (a path walk's
# revalidation followed by the stat of the same syscall makes one request, not two).
FRESH_NS = 1_000_000


class GoferInode(Inode):
    host_acls = True
    _default_acl = False   # a directory's default ACL as last asked (False: not asked yet)
    _access_acl = None     # (ctime, value) of the access ACL last read from the host
    _blocks_stale = False  # our own changes may have moved the host's st_blocks since we read it
    wd = 0   # directories the Gofer watches: its inotify watch (directory.py, notify.py)

    def __init__(self, fs, fid, attr):
        super().__init__(fs, attr.mode, ino=attr.qid.path, uid=attr.uid, gid=attr.gid, rdev=attr.rdev,
                         nlink=attr.nlink)
        self.fid = fid
        self.hostpath = None   # directfs.HostPath: the file's donated O_PATH descriptor
        self.origin = None     # directfs: (directory, name) it was looked up as (a hint, checked on use)
        self.refresh(attr)
        self.btime = attr.btime_ns if attr.btime_ns is not None else attr.ctime_ns
        self.has_btime = attr.btime_ns is not None   # the host's filesystem records birth times
        self.blksize = attr.blksize or 4096

    # -- attributes and their revalidation -------------------------------------------
    def _fresh(self):
        """Were the attributes fetched within the last FRESH_NS (in this same syscall, say)?"""
        return time.monotonic_ns() - self._fetched < FRESH_NS

    def refresh(self, attr):
        """Take attributes the Gofer reported (a cached page cache is cut to a smaller size)."""
        self._fetched = time.monotonic_ns()
        self._version = attr.qid.version  # a later walk with the same qid version: still right
        self.mode, self.uid, self.gid = attr.mode, attr.uid, attr.gid
        self.nlink, self.rdev = attr.nlink, attr.rdev
        self.atime, self.mtime, self.ctime = attr.atime_ns, attr.mtime_ns, attr.ctime_ns
        self._blocks, self._blocks_stale = attr.blocks, False
        self._set_size(attr.size)

    def refresh_host(self, st):
        """Take attributes from the host's stat of the file (directfs, or a donated descriptor).
        Once per component of every walk on a volume: no call for an unchanged size."""
        self._fetched = _monotonic_ns()   # (the qid version stays: a walk showing it means unchanged)
        self.mode, self.uid, self.gid, self.nlink, self.rdev = st.st_mode, st.st_uid, st.st_gid, st.st_nlink, st.st_rdev
        self.atime, self.mtime, self.ctime = st.st_atime_ns, st.st_mtime_ns, st.st_ctime_ns
        self._blocks, self._blocks_stale = st.st_blocks, False
        if st.st_size != self.size:
            self._set_size(st.st_size)

    def confirm(self, qid):
        """Does ``qid`` (from a walk) show this very file at the version our attributes are of?
        Then they are current again."""
        if qid.path != self.ino or not qid.version or qid.version != self._version:
            return False
        self._fetched = time.monotonic_ns()   # unchanged since we last asked
        return True

    def recheck(self):
        """The same file, changed: fetch its attributes with its own fid unless fresh."""
        if not self._fresh():
            self.refresh(self.fid.getattr(P9.GETATTR_BASIC))

    def revalidate(self, force=False):
        """Shared filesystems: fetch current attributes (unless fresh and not ``force``)."""
        if self.fs.exclusive or (self._fresh() and not force):
            return
        self._fetch()

    def _fetch(self):
        st = directfs.fstat(self)
        if st is None:
            self.refresh(self.fid.getattr(P9.GETATTR_BASIC))
        else:
            self.refresh_host(st)

    def touch_mtime(self):
        self.mtime = self.ctime = now_ns()   # Inode.touch_mtime, inlined: every write comes here
        self._fetched = 0   # a local estimate: on a shared mount the next stat asks the host
        self._blocks_stale = True   # and on an exclusive one for st_blocks (the host allocates)

    def touch_ctime(self):
        super().touch_ctime()
        self._fetched = 0

    def _set_size(self, size):
        self.size = size

    def blocks(self):
        """st_blocks: the host's count, asked again after our own writes, truncations and
        allocations (du reads it, and tar --sparse takes a file with none for all hole)."""
        if self._blocks_stale:
            self._blocks_stale = False
            try:
                st = directfs.fstat(self)
                self._blocks = st.st_blocks if st is not None else self.fid.getattr(P9.GETATTR_BLOCKS).blocks
            except SyscallError:
                pass   # gone on the host meanwhile: what we knew
        return self._blocks

    def stat(self):
        try:
            self.revalidate()
        except SyscallError:
            pass   # gone on the host meanwhile: report what we knew
        return super().stat()

    def setattr(self, *, mode=None, uid=None, gid=None, size=None, atime=None, mtime=None):
        if self.fs.readonly:
            raise SyscallError(EROFS)
        valid = 0
        if size is not None:
            valid |= self._resize(size)
        if mode is not None:
            valid |= P9.SETATTR_MODE
        if uid is not None:
            valid |= P9.SETATTR_UID
        if gid is not None:
            valid |= P9.SETATTR_GID
        if atime is not None:
            valid |= P9.SETATTR_ATIME | P9.SETATTR_ATIME_SET
        if mtime is not None:
            valid |= P9.SETATTR_MTIME | P9.SETATTR_MTIME_SET
        if valid:
            self.fid.setattr(valid, mode=(mode or 0) & 0o7777, uid=uid or 0, gid=gid or 0, size=size or 0,
                             atime_ns=atime or 0, mtime_ns=mtime or 0)
        if size is not None:
            self._set_size(size)
            self.touch_mtime()
        self._apply_attrs(mode, uid, gid, atime, mtime)

    def change_ctime(self):
        if self.fs.readonly:
            raise SyscallError(EROFS)
        self.fid.setattr(P9.SETATTR_CTIME, mode=0, uid=0, gid=0, size=0, atime_ns=0, mtime_ns=0)
        self.touch_ctime()

    def _resize(self, size):
        """Truncation's part before the Tsetattr: the SETATTR bits it still needs (regular files)."""
        raise SyscallError(EISDIR if self.is_dir else EINVAL)

    # -- extended attributes -------------------------------------------------------------
    def getxattr(self, name):
        return xattr.get(self.fid, name)

    def listxattr(self):
        return xattr.names(self.fid)

    def setxattr(self, name, value, flags):
        if self.fs.readonly:
            raise SyscallError(EROFS)
        if not value:
            # 9P's xattrcreate with size 0 means "remove": an empty value needs the snakevisor
            # dialect's flag, and a plain 9P2000.L server cannot store one.
            if not self.fid.client.donation:
                raise SyscallError(EOPNOTSUPP)
            flags |= P9.XATTR_SET_EMPTY
        xattr.put(self.fid, name, value, flags)
        self._xattr_changed(name)

    def removexattr(self, name):
        if self.fs.readonly:
            raise SyscallError(EROFS)
        xattr.put(self.fid, name, b"", xattr.XATTR_REPLACE)
        self._xattr_changed(name)

    def _xattr_changed(self, name):
        self.touch_ctime()
        if name == XATTR_NAME_POSIX_ACL_ACCESS:
            # The host made the mode what the ACL says (a minimal ACL is only mode bits, an
            # extended one's mask is the group bits): cached attributes are stale even here.
            self._fetch()
        elif name == XATTR_NAME_POSIX_ACL_DEFAULT:
            self._default_acl = False

    def access_acl(self):
        """The host's access ACL, for the VFS's check of a caller who does not own the file (Linux
        asks the filesystem's get_acl there): read again once the change time moved (setting an
        ACL changes it)."""
        cached = self._access_acl
        if cached is not None and cached[0] == self.ctime:
            return cached[1]
        try:
            value = xattr.get(self.fid, XATTR_NAME_POSIX_ACL_ACCESS) or None
        except SyscallError:
            value = None   # none (ENODATA), or a host filesystem without ACLs
        self._access_acl = (self.ctime, value)
        return value

    def default_acl(self):
        """A directory's default ACL on the host, which gives it to what is made here (the VFS
        must then leave the umask out): asked once, then again after our own change of it."""
        if not self.is_dir:
            return None
        if self._default_acl is False:
            try:
                self._default_acl = xattr.get(self.fid, XATTR_NAME_POSIX_ACL_DEFAULT) or None
            except SyscallError:
                self._default_acl = None   # none (ENODATA), or a host filesystem without ACLs
        return self._default_acl

    # -- files ---------------------------------------------------------------------------------
    def open(self, task, flags):
        kind = self.mode & S_IFMT
        if kind == S_IFDIR:
            return super().open(task, flags)
        if kind in (S_IFCHR, S_IFBLK):
            return open_device(task, kind, dev_major(self.rdev), dev_minor(self.rdev), self, flags)
        if kind == S_IFIFO:
            return open_fifo(self, flags)
        raise SyscallError(ENXIO)

    def evict(self):
        self.fs.forget(self)
        if self.wd:
            self.fs.notifier.forget(self)
        if self.hostpath is not None:
            self.hostpath.close()
        if self.fid is not None:
            try:
                self.fid.clunk()
            except SyscallError:
                pass


class GoferSymlink(GoferInode):
    """A symbolic link: its target is read once (a link's target never changes)."""

    def __init__(self, fs, fid, attr):
        super().__init__(fs, fid, attr)
        self._link = None

    def readlink(self, task):
        if self._link is None:
            self._link = directfs.readlink(self)
        if self._link is None:
            self._link = self.fid.readlink()
        return self._link
