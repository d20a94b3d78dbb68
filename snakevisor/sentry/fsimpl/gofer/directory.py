"""Gofer directories: lookup, revalidation of cached names, listing, and every change of names.

Lookups walk one component; listings use Treaddir; each change (create, mkdir,
mknod, symlink, link, unlink, rmdir, rename) is one or two 9P requests, after
which link counts and times are updated here. On an exclusive mount failed
lookups are remembered (and forgotten when we create the name); a shared mount
keeps no negative entries and revalidates a cached child with a walk before it
is used (``revalidate_chain``, ``revalidate_child``).
"""

from snakevisor.abi.errno import EINVAL, ENOENT, EOPNOTSUPP, EPERM, EROFS, EXDEV, SyscallError
from snakevisor.abi.fs import (O_EXCL, O_RDONLY, O_RDWR, RENAME_EXCHANGE, RENAME_WHITEOUT, S_IFBLK, S_IFCHR,
                               S_IFDIR, S_IFIFO, S_IFMT, S_IFREG, S_IFSOCK, S_ISGID, WHITEOUT_DEV)
from snakevisor.p9 import constants as P9
from snakevisor.p9.client import run_steps
from snakevisor.sentry.fsimpl.gofer import directfs
from snakevisor.sentry.fsimpl.gofer.inode import GoferInode
from snakevisor.sentry.fsimpl.gofer.wait import in_task
from snakevisor.sentry.vfs import resolve

_DTYPE_FROM_QID = {P9.QTDIR: 4, P9.QTSYMLINK: 10}


def _new_gid(parent, creds):
    """The group of a new file: the creator's, or the directory's if it is set-group-ID."""
    if parent.mode & S_ISGID:
        return parent.gid
    return getattr(creds, "fsgid", 0) if creds is not None else 0


def _is_dir(inode):
    return 1 if inode is not None and inode.is_dir else 0


class Names:
    """What a directory knows of its names: the inode of each name looked up or made here
    (for link-count bookkeeping when the name goes) and, where ``remember_absent`` (an
    exclusive mount), the names known not to exist."""

    __slots__ = ("remember_absent", "inodes", "_absent")

    def __init__(self, remember_absent):
        self.remember_absent = remember_absent
        self.inodes = {}
        self._absent = set()

    def known_absent(self, name):
        return name in self._absent

    def missing(self, name):
        """A walk to ``name`` said ENOENT."""
        if self.remember_absent:
            self._absent.add(name)

    def present(self, name):
        self._absent.discard(name)

    def bind(self, name, inode):
        self._absent.discard(name)
        self.inodes[name] = inode

    def unbind(self, name):
        """``name`` is gone: its inode if we knew it, else None."""
        return self.inodes.pop(name, None)


class GoferDirectory(GoferInode):
    def __init__(self, fs, fid, attr):
        super().__init__(fs, fid, attr)
        self.names = Names(fs.cache_negative)
        if fs.exclusive:
            # Nobody else changes names here: path walks skip revalidate_child (vfs/resolve.py).
            self.trusts_cached_children = True
        self.wd = 0              # the Gofer's inotify watch on this directory (notify.py), 0: none
        self.trusted = set()     # watched: names checked since the last event naming them

    def lookup(self, name):
        if self.names.known_absent(name) or (self.fs.directfs and directfs.absent(self, name)):
            self.names.missing(name)
            raise SyscallError(ENOENT)
        try:
            if self.fs.directfs:
                fid, fd, st, wd = directfs.lookup(self, name)
            else:
                fid, fd, st, wd = self.fid.walk([name]), None, None, 0
        except SyscallError as e:
            if e.errno == ENOENT:
                self.names.missing(name)
            raise
        try:
            attr = fid.getattr(P9.GETATTR_BASIC) if st is None else directfs.attr_of(st, fid.qid, fd)
        except SyscallError:
            fid.clunk()
            raise
        inode = self.fs.inode_for(fid, attr)
        if fd is not None:
            directfs.adopt(inode, fd, st, wd)
            inode.origin = (self, name)
            if self.wd:
                self.trusted.add(name)   # just walked on the host: true until an event names it
        self.names.bind(name, inode)
        return inode

    def revalidate_chain(self, chain):
        """How many leading (name, inode) pairs of a path below this directory are still what
        the cache says, from one Twalkqids (a stale or changed one is left to revalidate_child).
        Not asked with directfs, whose revalidate_child is a host fstatat (filesystem.py)."""
        try:
            qids = self.fid.peek_qids([name for name, _ in chain])
        except SyscallError:
            return 0
        good = 0
        for qid, (_, inode) in zip(qids, chain):
            if not inode.confirm(qid):
                break
            good += 1
        return good

    def revalidate_child(self, name, child):
        if self.fs.exclusive:
            return True
        if self.wd:   # watched (notify.py): trusted until an event names it
            notifier = self.fs.notifier
            if notifier.walk != resolve.walks:
                notifier.drain(resolve.walks)
            if name in self.trusted:
                return True
        known = directfs.check_child(self, name, child) if self.fs.directfs else None
        if known is not None:
            if known and self.wd:
                self.trusted.add(name)
            return known
        try:
            qids = self.fid.peek_qids([name])
        except SyscallError:
            return False
        if not qids or qids[-1].path != child.ino:
            return False   # gone, or another file by that name now
        if not child.confirm(qids[-1]):   # unchanged since we last asked: no Tgetattr
            try:
                child.recheck()   # same file, changed: its own fid
            except SyscallError:
                return False
        return True

    def iterdir(self):
        return run_steps(self.iterdir_steps())

    def iterdir_waiting(self, task):
        return in_task(task, self.iterdir_steps())

    def iterdir_steps(self):
        """The listing: Treaddir steps (p9/client.py) on a fid opened for it (with directfs on a
        shared mount, the host's getdents64: no steps)."""
        entries = directfs.listdir(self) if self.fs.directfs else None
        if entries is not None:
            return iter(entries)
        fid = self.fid.walk([])
        try:
            fid.lopen(O_RDONLY)
            entries, offset = [], 0
            count = max(4096, self.fs.client.msize - 64)
            while True:
                batch = yield from fid.readdir_steps(offset, count)
                if not batch:
                    break
                for e in batch:
                    if e.name not in (b".", b".."):
                        entries.append((e.name, e.qid.path, e.dtype or _DTYPE_FROM_QID.get(e.qid.type, 8)))
                offset = batch[-1].offset
        finally:
            fid.clunk(wait=False)
        return iter(entries)

    # -- making names --------------------------------------------------------------------
    def _created(self, name, fid, creds):
        """Finish a creation: attributes, owner, caches. Returns the new inode."""
        inode = self._adopt(fid, creds)
        self.names.bind(name, inode)
        self.touch_mtime()
        return inode

    def _adopt(self, fid, creds):
        """The inode of a file just made on ``fid``, owned by the caller."""
        try:
            attr = fid.getattr(P9.GETATTR_BASIC)
            uid = getattr(creds, "fsuid", 0) if creds is not None else 0
            if attr.uid != uid:
                # The Gofer creates as itself; the file, a symlink too, belongs to the caller.
                fid.setattr(P9.SETATTR_UID, uid=uid)
                attr.uid = uid
        except SyscallError:
            fid.clunk()
            raise
        return self.fs.inode_created(fid, attr)

    def _walk_new(self, name, creds):
        return self._created(name, self.fid.walk([name]), creds)

    def _check_writable(self):
        if self.fs.readonly:
            raise SyscallError(EROFS)

    def create(self, name, mode, creds=None):
        self._check_writable()
        fid = self.fid.walk([])
        try:
            r = fid.lcreate(name, O_RDWR, mode & 0o7777, _new_gid(self, creds))
        except SyscallError:
            fid.clunk()
            raise
        inode = self._created(name, fid, creds)
        inode.created_open(fid, r.host_fd)
        return inode

    def tmpfile(self, mode, exclusive, creds=None):
        """open(O_TMPFILE): an unnamed file made by the host's O_TMPFILE in the directory (our
        Gofer's dialect: Tlcreate with no name), open read-write; linkable unless ``exclusive``.
        Plain 9P2000.L has no unnamed files: EOPNOTSUPP, which glibc's callers handle."""
        self._check_writable()
        if not self.fs.client.donation:
            raise SyscallError(EOPNOTSUPP)
        fid = self.fid.walk([])
        try:
            r = fid.lcreate(b"", O_RDWR | P9.DOTL_TMPFILE | (O_EXCL if exclusive else 0), mode & 0o7777,
                            _new_gid(self, creds))
        except SyscallError:
            fid.clunk()
            raise
        inode = self._adopt(fid, creds)
        inode.created_open(fid, r.host_fd)
        return inode

    def mkdir(self, name, mode, creds=None):
        self._check_writable()
        self.fid.mkdir(name, mode & 0o7777, _new_gid(self, creds))
        inode = self._walk_new(name, creds)
        self.nlink += 1
        if self._default_acl is not False:
            inode._default_acl = self._default_acl   # the host gave it ours: no need to ask
        return inode

    def mknod(self, name, mode, rdev, creds=None):
        self._check_writable()
        kind = mode & S_IFMT
        whiteout = kind == S_IFCHR and rdev == WHITEOUT_DEV    # Linux lets even an unprivileged user
        if kind in (S_IFCHR, S_IFBLK, S_IFDIR) and not whiteout:
            raise SyscallError(EPERM)    # the Gofer makes no device nodes on the host
        if kind not in (0, S_IFREG, S_IFIFO, S_IFSOCK, S_IFCHR):
            raise SyscallError(EINVAL)
        self.fid.mknod(name, (kind or S_IFREG) | (mode & 0o7777), 0, 0, _new_gid(self, creds))
        return self._walk_new(name, creds)

    def symlink(self, name, target, creds=None):
        self._check_writable()
        self.fid.symlink(name, target, _new_gid(self, creds))
        return self._walk_new(name, creds)

    def link(self, name, inode):
        self._check_writable()
        if not isinstance(inode, GoferInode) or inode.fs is not self.fs:
            raise SyscallError(EXDEV)
        self.fid.link(inode.fid, name)
        inode.nlink += 1
        inode.touch_ctime()
        self.names.bind(name, inode)
        self.touch_mtime()

    # -- removing and moving names --------------------------------------------------------
    def _drop(self, inode):
        """One name of ``inode`` is gone (``inode`` may be None: never looked up here)."""
        if inode is None:
            return
        inode.nlink = 0 if inode.is_dir else inode.nlink - 1
        inode.touch_ctime()
        if inode.nlink <= 0:
            self.fs.forget(inode)
            if inode.refs <= 0:
                inode.evict()

    def unlink(self, name):
        self._check_writable()
        self.fs.unlinkat(self.fid, name, 0)
        self._drop(self.names.unbind(name))
        self.touch_mtime()

    def rmdir(self, name):
        self._check_writable()
        self.fs.unlinkat(self.fid, name, P9.AT_REMOVEDIR)
        self._drop(self.names.unbind(name))
        self.nlink -= 1
        self.touch_mtime()

    def rename(self, oldname, newdir, newname, flags=0, creds=None):
        self._check_writable()
        if not isinstance(newdir, GoferDirectory) or newdir.fs is not self.fs:
            raise SyscallError(EXDEV)
        self.fs.renameat(self.fid, oldname, newdir.fid, newname, flags)
        if flags & RENAME_EXCHANGE:
            self._exchanged(oldname, newdir, newname)
            return
        src = self.names.unbind(oldname)
        dst = newdir.names.unbind(newname)
        if dst is not None and dst is not src:
            if dst.is_dir:
                newdir.nlink -= 1
            self._drop(dst)
        if src is not None:
            newdir.names.bind(newname, src)
            src.touch_ctime()
            if src.is_dir and newdir is not self:
                self.nlink -= 1
                newdir.nlink += 1
        newdir.names.present(newname)
        self.touch_mtime()
        newdir.touch_mtime()
        if flags & RENAME_WHITEOUT:
            self._whiteout_left(oldname, creds)

    def _whiteout_left(self, name, creds):
        """The host left a whiteout (char 0:0) at ``name``: made the caller's, as Linux's."""
        inode = self._walk_new(name, creds)
        gid = _new_gid(self, creds)
        if inode.gid != gid:
            inode.fid.setattr(P9.SETATTR_GID, gid=gid)
            inode.gid = gid

    def _exchanged(self, oldname, newdir, newname):
        """The host swapped ``oldname`` here and ``newname`` in ``newdir``: so do the names'
        inodes, and a directory moving between parents moves one link with it."""
        src, dst = self.names.unbind(oldname), newdir.names.unbind(newname)
        for d, name, inode in ((newdir, newname, src), (self, oldname, dst)):
            if inode is not None:
                d.names.bind(name, inode)
                inode.touch_ctime()
            else:
                d.names.present(name)
        if newdir is not self:
            moved = _is_dir(src) - _is_dir(dst)
            self.nlink -= moved
            newdir.nlink += moved
        self.touch_mtime()
        newdir.touch_mtime()
