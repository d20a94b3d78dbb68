"""The gofer filesystem: files of the container's root and volumes, served over 9P by the Gofer.

Each Inode holds a 9P fid (a capability the Gofer gave us). Lookups walk one
component; directory listings use Treaddir. For regular files the Gofer may
donate a host descriptor at open (the snakevisor extension): reads then are a
plain ``pread`` and the page cache that backs file mappings is filled straight
from it. Without donation everything goes over 9P reads.

Read-only for now: the Sentry caches attributes and negative lookups, which
is only safe while nobody else changes the tree; the writable root replaces
this with revalidation.
"""
import os

from snakevisor.abi.errno import EIO, ENOENT, EROFS, SyscallError
from snakevisor.abi.fs import O_ACCMODE, O_RDONLY, S_IFMT, S_IFREG, StatfsResult
from snakevisor.p9 import constants as P9
from snakevisor.sentry.mm.pagecache import PageCache
from snakevisor.sentry.vfs.dentry import Dentry
from snakevisor.sentry.vfs.file import FileDescriptionImpl
from snakevisor.sentry.vfs.filesystem import Filesystem
from snakevisor.sentry.vfs.inode import Inode

V9FS_MAGIC = 0x01021997
_DTYPE_FROM_QID = {P9.QTDIR: 4, P9.QTSYMLINK: 10}


class GoferFilesystem(Filesystem):
    name = "9p"
    magic = V9FS_MAGIC

    def __init__(self, client, memory_file, readonly=True, aname=b""):
        super().__init__(readonly=readonly)
        self.client = client
        self.memory_file = memory_file
        self.inodes = {}  # qid.path -> GoferInode (hard links share one)
        root_fid = client.attach(aname)
        self.root = Dentry(self._inode(root_fid, root_fid.getattr(P9.GETATTR_BASIC)))
        self.root.inc_ref()

    def _inode(self, fid, attr):
        inode = self.inodes.get(attr.qid.path)
        if inode is not None:
            fid.clunk()
            return inode
        inode = GoferInode(self, fid, attr)
        self.inodes[attr.qid.path] = inode
        return inode

    def statfs(self):
        try:
            s = self.root.inode.fid.statfs()
        except SyscallError:
            return super().statfs()
        return StatfsResult(type=V9FS_MAGIC, bsize=s.bsize, blocks=s.blocks, bfree=s.bfree, bavail=s.bavail,
                            files=s.files, ffree=s.ffree, namelen=s.namelen,
                            fsid=(self.dev & 0xFFFFFFFF, self.dev >> 32), frsize=s.bsize)

    def mount_options(self):
        return "trans=fd,cache=remote_revalidating"


class GoferInode(Inode):
    def __init__(self, fs, fid, attr):
        super().__init__(fs, attr.mode, ino=attr.qid.path, uid=attr.uid, gid=attr.gid, rdev=attr.rdev,
                         nlink=attr.nlink)
        self.fid = fid
        self.size = attr.size
        self.atime, self.mtime, self.ctime = attr.atime_ns, attr.mtime_ns, attr.ctime_ns
        self.btime = attr.ctime_ns
        self._blocks = attr.blocks
        self.blksize = attr.blksize or 4096
        self._negative = set()
        self._link = None
        self._host_fd = None
        self._read_fid = None
        self.cache = None

    def blocks(self):
        return self._blocks

    # -- directories ---------------------------------------------------------
    def lookup(self, name):
        if not self.is_dir:
            return super().lookup(name)
        if name in self._negative:
            raise SyscallError(ENOENT)
        try:
            fid = self.fid.walk([name])
        except SyscallError as e:
            if e.errno == ENOENT and self.fs.readonly:
                self._negative.add(name)
            raise
        try:
            attr = fid.getattr(P9.GETATTR_BASIC)
        except SyscallError:
            fid.clunk()
            raise
        return self.fs._inode(fid, attr)

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
            fid.clunk()
        return iter(entries)

    # -- symlinks ------------------------------------------------------------
    def readlink(self):
        if not self.is_symlink:
            return super().readlink()
        if self._link is None:
            self._link = self.fid.readlink()
        return self._link

    # -- files -----------------------------------------------------------------
    def open(self, flags):
        if self.is_dir:
            return super().open(flags)
        if self.mode & S_IFMT != S_IFREG:
            return super().open(flags)
        if flags & O_ACCMODE != O_RDONLY and self.fs.readonly:
            raise SyscallError(EROFS)
        self._ensure_reader()
        return GoferFileImpl(self)

    def _ensure_reader(self):
        """One read handle per inode: a donated host fd, or an opened 9P fid."""
        if self._host_fd is not None or self._read_fid is not None:
            return
        fid = self.fid.walk([])
        try:
            result = fid.lopen(O_RDONLY)
        except SyscallError:
            fid.clunk()
            raise
        if result.host_fd is not None:
            self._host_fd = result.host_fd
            fid.clunk()
        else:
            self._read_fid = fid

    def read_data(self, offset, n):
        n = min(n, max(self.size - offset, 0)) if self.fs.readonly else n
        if n <= 0:
            return b""
        if self._host_fd is not None:
            try:
                return os.pread(self._host_fd, n, offset)
            except OSError as e:
                raise SyscallError(e.errno or EIO)
        out = []
        while n > 0:
            chunk = self._read_fid.read(offset, n)
            if not chunk:
                break
            out.append(chunk)
            offset += len(chunk)
            n -= len(chunk)
        return b"".join(out)

    def _fill(self, offset, length):
        return self.read_data(offset, length)

    def mappable(self):
        self._ensure_reader()
        if self.cache is None:
            self.cache = PageCache(self.fs.memory_file, fill=self._fill)
        return self

    def translate(self, offset, length):
        return self.cache.translate(offset, length)

    def evict(self):
        if self.cache is not None:
            self.cache.release()
        if self._host_fd is not None:
            os.close(self._host_fd)
            self._host_fd = None

    def statfs(self):
        return self.fs.statfs()


class GoferFileImpl(FileDescriptionImpl):
    seekable = True

    def read(self, n, offset):
        return self.inode.read_data(offset, n)

    def write(self, data, offset):
        raise SyscallError(EROFS)

    def mappable(self):
        return self.inode.mappable()


