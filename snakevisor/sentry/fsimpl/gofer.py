"""The gofer filesystem: files of the container's root and volumes, served over 9P by the Gofer.

Each Inode holds a 9P fid (a capability the Gofer gave us). Lookups walk one
component; directory listings use Treaddir; every change (create, mkdir,
unlink, rename, setattr, xattrs...) is one or two 9P requests. For regular
files the Gofer may donate a host descriptor at open (the snakevisor
extension): reads and writes are then a plain ``pread``/``pwrite`` on it, with
no 9P round trip; without donation they go over Tread/Twrite on an opened fid.

Caching. A filesystem is *exclusive* when this sandbox is its only writer (the
root overlay: the Gofer serves it to nobody else). Attributes are then kept
here and updated locally after each of our own changes, and failed lookups are
remembered (and forgotten when we create the name). A shared filesystem (a
volume: host processes may change it) keeps no negative entries, revalidates a
cached child with a walk before using it, and refreshes attributes on stat and
open (an ``fstat`` of the donated descriptor when there is one).

Host descriptors. Every open handle (a donated descriptor, or an opened fid,
which holds one in the Gofer) is in one Sentry-wide LRU bounded independently of
the application's RLIMIT_NOFILE (fsimpl/gofer_handles.py); past the bound the
least recently used handle is closed and reopens on its next use.

The page cache (MemoryFile chunks) serves file mappings. Our writes go to the
host at once and update any cached chunk, so cache and host agree. Only a
writable MAP_SHARED mapping may change the cache: the file ranges it maps are
*dirty* (PageCache.dirty), and only those are written back to the host, on
fsync, msync, munmap (``dec_ref``), close, truncation and at sandbox exit
(``sync_all``); when the last writable mapping goes they are clean again. A
file only ever mapped read-only is never written back, so newer data a host
process wrote meanwhile is not reverted.
"""
import ctypes
import os
import time
from collections import OrderedDict

from snakevisor.abi.errno import (EINVAL, EISDIR, ENOENT, ENXIO, EOPNOTSUPP, EPERM, EROFS, EXDEV,
                                  SyscallError)
from snakevisor.abi.fs import (FALLOC_FL_KEEP_SIZE, FALLOC_FL_PUNCH_HOLE, FALLOC_FL_ZERO_RANGE, O_ACCMODE,
                               O_RDONLY, O_RDWR, O_TRUNC, RENAME_EXCHANGE, S_IFBLK, S_IFCHR, S_IFDIR,
                               S_IFIFO, S_IFLNK, S_IFMT, S_IFREG, S_IFSOCK, S_ISGID, StatfsResult,
                               V9FS_MAGIC, dev_major, dev_minor)
from snakevisor.p9 import constants as P9
from snakevisor.sentry.fsimpl.gofer_handles import OPEN_HANDLES, Handle, host_call
from snakevisor.sentry.mm.pagecache import CHUNK_SIZE, PageCache
from snakevisor.sentry.vfs.dentry import Dentry
from snakevisor.sentry.vfs.device import open_device, open_fifo
from snakevisor.sentry.vfs.file import FileDescriptionImpl
from snakevisor.sentry.vfs.filesystem import Filesystem
from snakevisor.sentry.vfs.inode import Inode

_DTYPE_FROM_QID = {P9.QTDIR: 4, P9.QTSYMLINK: 10}
_XATTR_REPLACE = 2
IDLE_HANDLES = 128      # closed files whose host descriptors stay open for a reopen
# Shared mounts: attributes fetched this recently are current enough (a path walk's
# revalidation followed by the stat of the same syscall makes one request, not two).
FRESH_NS = 1_000_000
_libc = ctypes.CDLL(None, use_errno=True)
_libc.fallocate.argtypes = (ctypes.c_int, ctypes.c_int, ctypes.c_int64, ctypes.c_int64)


class GoferFilesystem(Filesystem):
    name = "9p"
    magic = V9FS_MAGIC

    def __init__(self, client, memory_file, readonly=True, aname=b"", exclusive=None):
        super().__init__(readonly=readonly)
        self.client = client
        self.memory_file = memory_file
        # Read-only mounts of an image nobody changes cache like exclusive ones.
        self.exclusive = readonly if exclusive is None else exclusive
        self.revalidates = not self.exclusive   # cached names are checked with the Gofer (vfs/resolve.py)
        self.cache_negative = self.exclusive
        self.inodes = {}  # qid.path -> GoferInode (hard links share one)
        self.mapped = set()   # inodes whose cache a writable mapping may have changed
        # Inodes with open handles but no open file: kept for a quick reopen, bounded
        # so the Sentry does not hold a host descriptor for every file ever opened.
        self.idle = OrderedDict()
        self.has_unlinkat = self.has_renameat = True   # False once the server says EOPNOTSUPP
        OPEN_HANDLES.fit_to_rlimit()
        root_fid = client.attach(aname)
        self.root = Dentry(self._inode(root_fid, root_fid.getattr(P9.GETATTR_BASIC)))
        self.root.inc_ref()

    def _inode(self, fid, attr):
        """The inode for a freshly walked ``fid``: the known one for its qid (fid clunked), or a new one."""
        inode = self.inodes.get(attr.qid.path)
        if inode is not None and inode.type == attr.mode & S_IFMT and inode.nlink > 0:
            fid.clunk(wait=False)
            if not self.exclusive:
                inode._refresh(attr)
            return inode
        inode = GoferInode(self, fid, attr)
        self.inodes[attr.qid.path] = inode
        return inode

    def opened(self, inode):
        inode._opens += 1
        self.idle.pop(inode, None)

    def closed(self, inode):
        inode._opens -= 1
        if inode._opens > 0 or inode in self.mapped or inode.cache is not None:
            return
        self.idle[inode] = None
        while len(self.idle) > IDLE_HANDLES:
            old, _ = self.idle.popitem(last=False)
            old._close_handles()

    def forget(self, inode):
        """``inode`` has no name left: a new file may now reuse its host inode number."""
        if self.inodes.get(inode.ino) is inode:
            del self.inodes[inode.ino]

    def sync_all(self):
        """Write every mapped file's cache back to the host (sandbox exit)."""
        for inode in list(self.mapped):
            try:
                inode.writeback()
            except SyscallError:
                pass

    def statfs(self):
        try:
            s = self.root.inode.fid.statfs()
        except SyscallError:
            return super().statfs()
        return StatfsResult(type=V9FS_MAGIC, bsize=s.bsize, blocks=s.blocks, bfree=s.bfree, bavail=s.bavail,
                            files=s.files, ffree=s.ffree, namelen=s.namelen,
                            fsid=(self.dev & 0xFFFFFFFF, self.dev >> 32), frsize=s.bsize)

    def mount_options(self):
        return "trans=fd,cache=" + ("loose" if self.exclusive else "remote_revalidating")


def _new_gid(parent, creds):
    """The group of a new file: the creator's, or the directory's if it is set-group-ID."""
    if parent.mode & S_ISGID:
        return parent.gid
    return getattr(creds, "fsgid", 0) if creds is not None else 0


class GoferInode(Inode):
    def __init__(self, fs, fid, attr):
        super().__init__(fs, attr.mode, ino=attr.qid.path, uid=attr.uid, gid=attr.gid, rdev=attr.rdev,
                         nlink=attr.nlink)
        self.fid = fid
        self.cache = None
        self._refresh(attr)
        self.btime = attr.btime_ns if attr.btime_ns is not None else attr.ctime_ns
        self.has_btime = attr.btime_ns is not None   # the host's filesystem records birth times
        self.blksize = attr.blksize or 4096
        self._negative = set()
        self._children = {}          # name -> GoferInode, for nlink bookkeeping on unlink/rename
        self._link = None
        self._reader = None          # Handle opened read-only
        self._writer = None          # Handle opened read-write
        self._opens = 0              # open file descriptions (GoferFileImpl)
        self._wmap = None            # _WritableMapping: what writable shared VMAs hold

    def _fresh(self):
        """Were the attributes fetched within the last FRESH_NS (in this same syscall, say)?"""
        return time.monotonic_ns() - self._fetched < FRESH_NS

    def _refresh(self, attr):
        """Take attributes the Gofer reported (a cached page cache is cut to a smaller size)."""
        self._fetched = time.monotonic_ns()
        self._version = attr.qid.version  # a later walk with the same qid version: still right
        self.mode, self.uid, self.gid = attr.mode, attr.uid, attr.gid
        self.nlink, self.rdev = attr.nlink, attr.rdev
        self.atime, self.mtime, self.ctime = attr.atime_ns, attr.mtime_ns, attr.ctime_ns
        self._blocks = attr.blocks
        self._set_size(attr.size)

    def touch_mtime(self):
        super().touch_mtime()
        self._fetched = 0   # a local estimate: on a shared mount the next stat asks the host

    def touch_ctime(self):
        super().touch_ctime()
        self._fetched = 0

    def _set_size(self, size):
        if self.cache is not None and size < self.size:
            self.cache.truncate(size)
        self.size = size

    def blocks(self):
        return self._blocks

    def _revalidate(self, force=False):
        """Shared filesystems: fetch current attributes (a host fstat when we hold a descriptor)."""
        if self.fs.exclusive or (self._fresh() and not force):
            return
        h = self._writer or self._reader
        if h is not None and h.fd is not None:
            st = host_call(os.fstat, h.fd)
            self.mode, self.uid, self.gid, self.nlink = st.st_mode, st.st_uid, st.st_gid, st.st_nlink
            self.atime, self.mtime, self.ctime = st.st_atime_ns, st.st_mtime_ns, st.st_ctime_ns
            self._blocks = st.st_blocks
            self._set_size(st.st_size)
            self._fetched = time.monotonic_ns()
            return
        self._refresh(self.fid.getattr(P9.GETATTR_BASIC))

    def stat(self):
        try:
            self._revalidate()
        except SyscallError:
            pass   # gone on the host meanwhile: report what we knew
        return super().stat()

    # -- directories ---------------------------------------------------------
    def lookup(self, name):
        if not self.is_dir:
            return super().lookup(name)
        if name in self._negative:
            raise SyscallError(ENOENT)
        try:
            fid = self.fid.walk([name])
        except SyscallError as e:
            if e.errno == ENOENT and self.fs.cache_negative:
                self._negative.add(name)
            raise
        try:
            attr = fid.getattr(P9.GETATTR_BASIC)
        except SyscallError:
            fid.clunk()
            raise
        inode = self.fs._inode(fid, attr)
        self._children[name] = inode
        return inode

    def revalidate_chain(self, chain):
        """How many leading (name, inode) pairs of a path below this directory are still what
        the cache says, from one Twalkqids (a stale or changed one is left to revalidate_child)."""
        try:
            qids = self.fid.peek_qids([name for name, _ in chain])
        except SyscallError:
            return 0
        now = time.monotonic_ns()
        good = 0
        for qid, (_, inode) in zip(qids, chain):
            if qid.path != inode.ino or not qid.version or qid.version != inode._version:
                break
            inode._fetched = now   # unchanged since we last asked
            good += 1
        return good

    def revalidate_child(self, name, child):
        if self.fs.exclusive:
            return True
        try:
            qids = self.fid.peek_qids([name])
        except SyscallError:
            return False
        if not qids or qids[-1].path != child.ino:
            return False   # gone, or another file by that name now
        if qids[-1].version and qids[-1].version == child._version:
            child._fetched = time.monotonic_ns()   # unchanged since we last asked: no Tgetattr
        elif not child._fresh():
            try:
                child._refresh(child.fid.getattr(P9.GETATTR_BASIC))   # same file, changed: its own fid
            except SyscallError:
                return False
        return True

    def iterdir(self):
        if not self.is_dir:
            return super().iterdir()
        fid = self.fid.walk([])
        try:
            fid.lopen(O_RDONLY)
            entries, offset = [], 0
            count = max(4096, self.fs.client.msize - 64)
            while True:
                batch = fid.readdir(offset, count)
                if not batch:
                    break
                for e in batch:
                    if e.name not in (b".", b".."):
                        entries.append((e.name, e.qid.path, e.dtype or _DTYPE_FROM_QID.get(e.qid.type, 8)))
                offset = batch[-1].offset
        finally:
            fid.clunk(wait=False)
        return iter(entries)

    def _created(self, name, fid, creds):
        """Finish a creation: attributes, owner, caches. Returns the new inode."""
        try:
            attr = fid.getattr(P9.GETATTR_BASIC)
            uid = getattr(creds, "fsuid", 0) if creds is not None else 0
            if attr.uid != uid and attr.mode & S_IFMT != S_IFLNK:
                # The Gofer creates as itself; the file belongs to the caller.
                fid.setattr(P9.SETATTR_UID, uid=uid)
                attr.uid = uid
        except SyscallError:
            fid.clunk()
            raise
        old = self.fs.inodes.get(attr.qid.path)
        if old is not None:
            self.fs.forget(old)   # a stale inode whose host inode number was reused
        inode = GoferInode(self.fs, fid, attr)
        self.fs.inodes[attr.qid.path] = inode
        self._negative.discard(name)
        self._children[name] = inode
        self.touch_mtime()
        return inode

    def _walk_new(self, name, creds):
        return self._created(name, self.fid.walk([name]), creds)

    def create(self, name, mode, creds=None):
        self._check_dir_op()
        fid = self.fid.walk([])
        try:
            r = fid.lcreate(name, O_RDWR, mode & 0o7777, _new_gid(self, creds))
        except SyscallError:
            fid.clunk()
            raise
        inode = self._created(name, fid, creds)
        if r.host_fd is None:
            # The created fid is open read-write: it is the file's first writer.
            inode._writer = Handle(inode, O_RDWR, fid=fid)
            return inode
        # I/O goes through the donated descriptor: the inode keeps an unopened fid, whose
        # descriptor in the Gofer may be closed while idle (an open one holds two for good).
        try:
            inode.fid = fid.walk([])
            fid.clunk(wait=False)
        except SyscallError:
            pass   # it keeps the opened one
        inode._writer = Handle(inode, O_RDWR, fd=r.host_fd)
        return inode

    def mkdir(self, name, mode, creds=None):
        self._check_dir_op()
        self.fid.mkdir(name, mode & 0o7777, _new_gid(self, creds))
        inode = self._walk_new(name, creds)
        self.nlink += 1
        return inode

    def mknod(self, name, mode, rdev, creds=None):
        self._check_dir_op()
        kind = mode & S_IFMT
        if kind in (S_IFCHR, S_IFBLK, S_IFDIR):
            raise SyscallError(EPERM)    # the Gofer makes no device nodes on the host
        if kind not in (0, S_IFREG, S_IFIFO, S_IFSOCK):
            raise SyscallError(EINVAL)
        self.fid.mknod(name, (kind or S_IFREG) | (mode & 0o7777), 0, 0, _new_gid(self, creds))
        return self._walk_new(name, creds)

    def symlink(self, name, target, creds=None):
        self._check_dir_op()
        self.fid.symlink(name, target, _new_gid(self, creds))
        return self._walk_new(name, creds)

    def link(self, name, inode):
        self._check_dir_op()
        if not isinstance(inode, GoferInode) or inode.fs is not self.fs:
            raise SyscallError(EXDEV)
        self.fid.link(inode.fid, name)
        inode.nlink += 1
        inode.touch_ctime()
        self._negative.discard(name)
        self._children[name] = inode
        self.touch_mtime()

    def _check_dir_op(self):
        if not self.is_dir:
            raise SyscallError(EINVAL)
        if self.fs.readonly:
            raise SyscallError(EROFS)

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

    def _unlinkat(self, name, flags):
        if self.fs.has_unlinkat:
            try:
                return self.fid.unlinkat(name, flags)
            except SyscallError as e:
                if e.errno != EOPNOTSUPP:
                    raise
                self.fs.has_unlinkat = False    # an older server (diod): Tremove, as v9fs does
        self.fid.walk([name]).remove()

    def unlink(self, name):
        self._check_dir_op()
        self._unlinkat(name, 0)
        self._drop(self._children.pop(name, None))
        self.touch_mtime()

    def rmdir(self, name):
        self._check_dir_op()
        self._unlinkat(name, P9.AT_REMOVEDIR)
        self._drop(self._children.pop(name, None))
        self.nlink -= 1
        self.touch_mtime()

    def rename(self, oldname, newdir, newname, flags=0):
        self._check_dir_op()
        if flags & RENAME_EXCHANGE:
            raise SyscallError(EINVAL)    # 9P2000.L has no exchange
        if not isinstance(newdir, GoferInode) or newdir.fs is not self.fs:
            raise SyscallError(EXDEV)
        # RENAME_NOREPLACE: the VFS has checked the target is absent (9P cannot say "no replace").
        if self.fs.has_renameat:
            try:
                self.fid.renameat(oldname, newdir.fid, newname)
            except SyscallError as e:
                if e.errno != EOPNOTSUPP:
                    raise
                self.fs.has_renameat = False
        if not self.fs.has_renameat:
            fid = self.fid.walk([oldname])
            try:
                fid.rename(newdir.fid, newname)
            finally:
                fid.clunk()
        src = self._children.pop(oldname, None)
        dst = newdir._children.pop(newname, None)
        if dst is not None and dst is not src:
            if dst.is_dir:
                newdir.nlink -= 1
            self._drop(dst)
        if src is not None:
            newdir._children[newname] = src
            src.touch_ctime()
            if src.is_dir and newdir is not self:
                self.nlink -= 1
                newdir.nlink += 1
        newdir._negative.discard(newname)
        self.touch_mtime()
        newdir.touch_mtime()

    # -- symlinks ------------------------------------------------------------
    def readlink(self):
        if not self.is_symlink:
            return super().readlink()
        if self._link is None:
            self._link = self.fid.readlink()
        return self._link

    # -- attributes ------------------------------------------------------------
    def setattr(self, *, mode=None, uid=None, gid=None, size=None, atime=None, mtime=None):
        if self.fs.readonly:
            raise SyscallError(EROFS)
        valid = 0
        if size is not None:
            if self.is_dir:
                raise SyscallError(EISDIR)
            if not self.is_reg:
                raise SyscallError(EINVAL)
            if self in self.fs.mapped:
                self.writeback()
            w = self._writer
            fd = w.host_fd() if w is not None else None
            if fd is not None:
                host_call(os.ftruncate, fd, size)
            else:
                valid |= P9.SETATTR_SIZE
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

    def statfs(self):
        return self.fs.statfs()

    # -- extended attributes ---------------------------------------------------------
    def getxattr(self, name):
        fid, size = self.fid.xattrwalk(name)
        try:
            return fid.read(0, size) if size else b""
        finally:
            fid.clunk()

    def listxattr(self):
        data = self.getxattr(b"")
        return [n for n in data.split(b"\0") if n]

    def setxattr(self, name, value, flags):
        if self.fs.readonly:
            raise SyscallError(EROFS)
        if not value:
            # 9P's xattrcreate with size 0 means "remove": an empty value cannot be stored.
            raise SyscallError(EOPNOTSUPP)
        self._xattr_write(name, value, flags)
        self.touch_ctime()

    def removexattr(self, name):
        if self.fs.readonly:
            raise SyscallError(EROFS)
        self._xattr_write(name, b"", _XATTR_REPLACE)
        self.touch_ctime()

    def _xattr_write(self, name, value, flags):
        fid = self.fid.walk([])
        try:
            fid.xattrcreate(name, len(value), flags)
            if value:
                fid.write(0, value)
        except SyscallError:
            fid.clunk()
            raise
        fid.clunk()      # commits the value; a failure to store it is reported here

    # -- files -----------------------------------------------------------------
    def open(self, flags):
        kind = self.mode & S_IFMT
        if kind == S_IFDIR:
            return super().open(flags)
        if kind in (S_IFCHR, S_IFBLK):
            return open_device(kind, dev_major(self.rdev), dev_minor(self.rdev), self, flags)
        if kind == S_IFIFO:
            return open_fifo(self, flags)
        if kind != S_IFREG:
            raise SyscallError(ENXIO)
        if flags & O_ACCMODE != O_RDONLY or flags & O_TRUNC:
            if self.fs.readonly:
                raise SyscallError(EROFS)
            self._ensure_writer()
        else:
            self._ensure_reader()
        try:
            self._revalidate()
        except SyscallError:
            pass
        return GoferFileImpl(self)

    def _ensure_reader(self):
        """One read handle per inode (a writer opened read-write serves as one)."""
        if self._reader is None and self._writer is None:
            self._reader = Handle(self, O_RDONLY)

    def _ensure_writer(self):
        if self._writer is None:
            self._writer = Handle(self, O_RDWR)
            if self._reader is not None:
                self._reader.close()
                self._reader = None

    def _handle(self):
        h = self._writer or self._reader
        if h is None:
            self._ensure_reader()
            h = self._reader
        return h

    def read_data(self, offset, n):
        if self.fs.readonly or self in self.fs.mapped:
            n = min(n, max(self.size - offset, 0))
        if n <= 0:
            return b""
        if self in self.fs.mapped:
            # The application may have written through a shared mapping: the cache is newest.
            return self.cache.read(offset, n)
        return self._handle().pread(n, offset)

    def write_data(self, offset, data):
        if self._writer is None:
            self._ensure_writer()
        n = self._writer.pwrite(data, offset)
        if self.cache is not None:
            self._cache_update(offset, memoryview(data)[:n])
        if offset + n > self.size:
            self.size = offset + n
        self.touch_mtime()
        return n

    def _cache_update(self, offset, data):
        """Copy written bytes into the chunks already cached (others fill from the host later)."""
        chunks, mf = self.cache.chunks, self.cache.mf
        pos, end = 0, len(data)
        while pos < end:
            idx, within = divmod(offset + pos, CHUNK_SIZE)
            m = min(CHUNK_SIZE - within, end - pos)
            base = chunks.get(idx)
            if base is not None:
                mf.write(base + within, data[pos:pos + m])
            pos += m

    def allocate(self, mode, offset, length):
        if self._writer is None:
            self._ensure_writer()
        fd = self._writer.host_fd()
        if fd is None:
            if mode != 0:
                raise SyscallError(EOPNOTSUPP)
            if offset + length > self.size:
                self.setattr(size=offset + length)
            return
        if _libc.fallocate(fd, mode, offset, length) != 0:
            raise SyscallError(ctypes.get_errno())
        if mode & (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE) and self.cache is not None:
            end = min(offset + length, self.size)
            if end > offset:
                self._cache_update(offset, bytes(end - offset))
        if not mode & FALLOC_FL_KEEP_SIZE and offset + length > self.size:
            self.size = offset + length
        self.touch_mtime()

    def fsync(self):
        if self in self.fs.mapped:
            self.writeback()
        h = self._writer or self._reader
        if h is not None:
            h.fsync()

    # -- mappings ----------------------------------------------------------------
    def mappable(self):
        self._ensure_reader()
        if self.cache is None:
            self.cache = PageCache(self.fs.memory_file, fill_into=self._fill_into)
        return self

    def _fill_into(self, offset, view):
        n = min(len(view), max(self.size - offset, 0))
        if n > 0:
            self._handle().pread_into(view[:n], offset)

    def translate(self, offset, length):
        return self.cache.translate(offset, length)

    def writable_mapping(self, offset, length):
        """A MAP_SHARED mapping of [offset, offset+length) is (or becomes) writable: its pages
        are dirty from now on. Returns what its VMAs hold instead of the inode."""
        self.mappable()
        self.cache.mark_dirty(offset, length)
        self.fs.mapped.add(self)
        if self._wmap is None:
            self._wmap = _WritableMapping(self)
        return self._wmap

    def _unmapped_writable(self):
        """The last writable mapping is gone: write its pages back; nothing is dirty any more."""
        try:
            self.writeback()
        except SyscallError:
            pass
        if self.cache is not None:
            self.cache.dirty = []
        self.fs.mapped.discard(self)

    def writeback(self):
        """Write the dirty cached bytes (within the file's size) to the host; pages of them the
        application never touched and that were holes of the host file stay unwritten."""
        if self.cache is None or self.fs.readonly or not self.cache.dirty:
            return
        self._ensure_writer()
        view = memoryview(self.cache.mf.view)   # slices of it are not copies
        for start, end in self.cache.dirty:
            end = min(end, self.size)
            if end <= start:
                continue
            for foff, mf_off, n in self.cache.data_ranges(start, end - start):
                self._writer.pwrite(view[mf_off:mf_off + n], foff)

    def _close_handles(self):
        for h in (self._reader, self._writer):
            if h is not None:
                h.close()
        self._reader = self._writer = None

    def evict(self):
        self.fs.mapped.discard(self)
        self.fs.idle.pop(self, None)
        self.fs.forget(self)
        if self.cache is not None:
            self.cache.release()
            self.cache = None
        self._close_handles()
        if self.fid is not None:
            try:
                self.fid.clunk()
            except SyscallError:
                pass


class _WritableMapping:
    """What the VMAs of writable MAP_SHARED mappings of a gofer file hold instead of the inode:
    a reference on the inode that also counts them, so that when the last one goes the dirty
    pages are written back and become clean. Anything else a VMA asks of its owner (size,
    translate, writeback) is the inode's."""

    __slots__ = ("inode", "refs")

    def __init__(self, inode):
        self.inode, self.refs = inode, 0

    def __getattr__(self, name):
        return getattr(self.inode, name)

    def inc_ref(self):
        self.refs += 1
        self.inode.inc_ref()

    def dec_ref(self):
        self.refs -= 1
        if self.refs == 0:
            self.inode._unmapped_writable()
        self.inode.dec_ref()


class GoferFileImpl(FileDescriptionImpl):
    seekable = True

    def __init__(self, inode):
        super().__init__(inode)
        inode.fs.opened(inode)

    def read(self, n, offset):
        return self.inode.read_data(offset, n)

    def write(self, data, offset):
        return self.inode.write_data(offset, data)

    def end_offset(self):
        inode = self.inode
        if not inode.fs.exclusive:
            inode._revalidate(force=True)   # O_APPEND and SEEK_END see the host's current size
        return inode.size

    def mappable(self):
        return self.inode.mappable()

    def allocate(self, mode, offset, length):
        self.inode.allocate(mode, offset, length)

    def truncate(self, size):
        self.inode.setattr(size=size)

    def fsync(self):
        self.inode.fsync()

    def release(self):
        inode = self.inode
        if inode in inode.fs.mapped:
            try:
                inode.writeback()
            except SyscallError:
                pass
        inode.fs.closed(inode)
