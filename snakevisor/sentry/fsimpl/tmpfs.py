"""tmpfs: a read-write filesystem held entirely in the Sentry.

Directories map names to inodes; regular file data lives in a PageCache on
the kernel's MemoryFile (so mappings of a tmpfs file share its pages); symlinks
hold their target; device, FIFO and socket nodes open through the device
registry. Attributes follow Linux: directory nlink is 2 + subdirectories,
mtime/ctime move on writes and directory changes, unlinked files keep their
data until the last reference (open file or mapping) goes.
"""
from snakevisor.abi.errno import (EBUSY, EEXIST, EFBIG, EINVAL, EISDIR, ENAMETOOLONG, ENOENT, ENOMEM, ENOSPC,
                                  ENOTDIR, ENOTEMPTY, ENXIO, EOPNOTSUPP, EPERM, EROFS, EXDEV, SyscallError)
from snakevisor.abi.fs import (FS_APPEND_FL, FS_FLAG_STATX_ATTR, FS_IMMUTABLE_FL, FS_NOATIME_FL, FS_NODUMP_FL,
                               STATX_ATTR_APPEND, STATX_ATTR_IMMUTABLE, STATX_ATTR_NODUMP)
from snakevisor.abi.fs import (F_ADD_SEALS, F_GET_SEALS, F_SEAL_EXEC, F_SEAL_FUTURE_WRITE, F_SEAL_GROW, F_SEAL_SEAL,
                               F_SEAL_SHRINK, F_SEAL_WRITE, FALLOC_FL_KEEP_SIZE, FALLOC_FL_PUNCH_HOLE, RENAME_EXCHANGE,
                               RENAME_NOREPLACE, RENAME_WHITEOUT, S_IFBLK, S_IFCHR, S_IFDIR, S_IFIFO, S_IFLNK, S_IFMT,
                               S_IFREG, S_IFSOCK, S_ISGID, SEEK_DATA, StatfsResult, RAMFS_MAGIC, TMPFS_MAGIC, NAME_MAX, WHITEOUT_DEV,
                               dev_major, dev_minor)
from snakevisor.sentry.mm.lazy import BusError
from snakevisor.sentry.mm.mappable import Mappable
from snakevisor.sentry.mm.pagecache import CHUNK_SIZE, PageCache
from snakevisor.sentry.fsimpl.tmpfs_pages import PAGE, ChargedPages, page_span, pages_up
from snakevisor.sentry.vfs.dentry import Dentry
from snakevisor.sentry.vfs.device import open_device, open_fifo
from snakevisor.sentry.vfs.file import FileDescriptionImpl, MAX_LFS_FILESIZE
from snakevisor.sentry.vfs.filesystem import Filesystem
from snakevisor.sentry.vfs.inode import Inode
from snakevisor.sentry.vfs import posix_acl


FILL_AHEAD = 16   # pages a touch of a hole in a mapping charges at most (gVisor's 64 KiB)


class TmpfsFilesystem(Filesystem):
    name = "tmpfs"
    magic = TMPFS_MAGIC
    readonly_apart = True
    posix_acl = True      # as shmem built with CONFIG_TMPFS_POSIX_ACL (Debian's, most distributions')
    default_size = None   # a size_limit mountinfo leaves out (shmem's default: half the memory)

    def __init__(self, memory_file, mode: int = 0o1777, uid: int = 0, gid: int = 0,
                 readonly: bool = False, size_limit: int | None = None, dev: int | None = None,
                 nr_inodes: int | None = None):
        super().__init__(readonly=readonly, dev=dev)
        self.memory_file = memory_file
        self.size_limit = size_limit      # bytes of file data allowed (None or 0: MemoryFile's limit)
        self.used = 0                     # bytes of pages charged: written or fallocated file pages, long symlinks
        self.root_mode = mode
        self.root_uid, self.root_gid = uid, gid
        self.nr_inodes = nr_inodes        # shown by statfs and /proc/mounts (not enforced)
        self.root = Dentry(TmpfsDir(self, S_IFDIR | (mode & 0o7777), uid, gid))

    def charge(self, pages: int) -> None:
        """Take ``pages`` more pages from the size limit (ENOSPC past it; size=0: no limit)."""
        if pages > 0 and self.size_limit and self.used + pages * PAGE > self.size_limit:
            raise SyscallError(ENOSPC)
        self.used += pages * PAGE

    def room(self) -> int | None:
        """How many more pages the size limit allows (None: no limit)."""
        return max(0, (self.size_limit - self.used) // PAGE) if self.size_limit else None

    def statfs(self) -> StatfsResult:
        s = super().statfs()
        bsize = 4096
        limit = self.size_limit if self.size_limit is not None else self.memory_file.limit
        total = (limit if limit is not None else 1 << 34) // bsize
        used = self.used // bsize
        free = max(0, total - used)
        s.bsize = s.frsize = bsize
        s.blocks, s.bfree, s.bavail = total, free, free   # size=0 (no limit): none, as Linux's
        files = self.nr_inodes if self.nr_inodes is not None else 1 << 20
        s.files, s.ffree = files, max(0, files - 1)
        s.namelen = NAME_MAX
        return s

    def kill(self) -> None:
        """kill_litter_super: every name goes, as if unlinked; a file nothing else holds is freed
        now, one open, mapped or a task's cwd with its last reference (and stays usable until)."""
        inodes, dirs = [], [self.root.inode]
        while dirs:
            d = dirs.pop()
            for inode in d.entries.values():
                inode.nlink = 0
                inodes.append(inode)
                if inode.is_dir:
                    dirs.append(inode)
            d.entries.clear()
        self.root.inode.nlink = 0
        for inode in inodes:
            if inode.refs <= 0:
                inode.evict()
        dentries = [self.root]
        while dentries:   # the cached names: each releases its inode unless a file holds it
            d = dentries.pop()
            dentries.extend(d.children.values())
            for name in list(d.children):
                d.forget_child(name)

    def mount_options(self) -> str:
        """As Linux's shmem_show_options: only what differs from the defaults."""
        opts = []
        if self.size_limit is not None and self.size_limit != self.default_size:
            opts.append(f"size={(self.size_limit + 4095) // 4096 * 4}k")
        if self.nr_inodes is not None:
            opts.append(f"nr_inodes={self.nr_inodes}")
        if self.root_mode & 0o7777 != 0o1777:
            opts.append(f"mode={self.root_mode & 0o7777:03o}")
        if self.root_uid:
            opts.append(f"uid={self.root_uid}")
        if self.root_gid:
            opts.append(f"gid={self.root_gid}")
        return ",".join(opts)


def _owner(parent: "TmpfsDir", creds, mode: int) -> tuple[int, int, int]:
    """uid, gid and mode of a new inode: the creator's fs ids, or the directory's group if setgid."""
    uid = getattr(creds, "fsuid", 0) if creds is not None else 0
    gid = getattr(creds, "fsgid", 0) if creds is not None else 0
    if parent.mode & S_ISGID:
        gid = parent.gid
        if mode & S_IFMT == S_IFDIR:
            mode |= S_ISGID
    return uid, gid, mode


class RamfsFilesystem(TmpfsFilesystem):
    """ramfs: tmpfs's files without its limits; statfs reports no blocks, mountinfo only a mode
    other than 0755 (as Linux's ramfs_show_options)."""
    name = "ramfs"
    magic = RAMFS_MAGIC
    posix_acl = False

    def statfs(self) -> StatfsResult:
        return Filesystem.statfs(self)

    def mount_options(self) -> str:
        return "" if self.root_mode & 0o7777 == 0o755 else f"mode={self.root_mode & 0o7777:o}"

class TmpfsInode(Inode):
    memory_xattrs = True
    # chattr's flags shmem keeps (SHMEM_FL_USER_MODIFIABLE); new names inherit nodump and noatime.
    user_flags = FS_IMMUTABLE_FL | FS_APPEND_FL | FS_NODUMP_FL | FS_NOATIME_FL

    def stat(self):
        st = super().stat()
        st.attributes_mask = STATX_ATTR_IMMUTABLE | STATX_ATTR_APPEND | STATX_ATTR_NODUMP   # shmem_getattr
        if self.iflags:
            st.attributes = sum(a for f, a in FS_FLAG_STATX_ATTR if self.iflags & f)
        return st

    def setattr(self, *, mode=None, uid=None, gid=None, size=None, atime=None, mtime=None):
        if self.fs.readonly:
            raise SyscallError(EROFS)
        if size is not None:
            if self.is_dir:
                raise SyscallError(EISDIR)
            if not self.is_reg:
                raise SyscallError(EINVAL)
            self.truncate(size)
        if mode is not None or uid is not None or gid is not None or atime is not None or mtime is not None:
            self._apply_attrs(mode, uid, gid, atime, mtime)
        if mode is not None and (acl := self.access_acl()) is not None:
            self._xattrs[posix_acl.ACCESS] = posix_acl.chmod(acl, self.mode)   # shmem_setattr's posix_acl_chmod


class TmpfsDir(TmpfsInode):
    def __init__(self, fs, mode, uid=0, gid=0):
        super().__init__(fs, mode, uid=uid, gid=gid)
        self.entries: dict[bytes, Inode] = {}
        self.size = 0

    def blocks(self):
        return 0

    def lookup(self, name):
        inode = self.entries.get(name)
        if inode is None:
            raise SyscallError(ENOENT)
        return inode

    def iterdir(self):
        return [(name, inode.ino, inode.dtype) for name, inode in self.entries.items()]

    def _check_new(self, name):
        if self.nlink == 0:
            raise SyscallError(ENOENT)   # creating in a removed directory
        if name in self.entries:
            raise SyscallError(EEXIST)
        if len(name) > NAME_MAX:
            raise SyscallError(ENAMETOOLONG)

    def _inherit(self, inode):
        """posix_acl_create: with a default ACL here (the VFS left the umask out), the new inode's
        permissions are what both it and the mode allow, its access ACL the rest; a directory
        inherits the default ACL itself too."""
        default = self.default_acl()
        if default is None:
            return inode
        acl, inode.mode = posix_acl.create_masq(default, inode.mode)
        xattrs = inode.__dict__.setdefault("_xattrs", {})
        if acl is not None:
            xattrs[posix_acl.ACCESS] = acl
        if inode.is_dir:
            xattrs[posix_acl.DEFAULT] = default
        return inode

    def _add(self, name, inode):
        if self.iflags:
            inode.iflags = self.iflags & (FS_NODUMP_FL | FS_NOATIME_FL)
        self.entries[name] = inode
        self.touch_mtime()
        return inode

    def create(self, name, mode, creds=None):
        self._check_new(name)
        uid, gid, mode = _owner(self, creds, S_IFREG | (mode & 0o7777))
        return self._add(name, self._inherit(TmpfsFile(self.fs, mode, uid, gid)))

    def tmpfile(self, mode, exclusive, creds=None):
        """open(O_TMPFILE): a file with no name (the VFS sets its ``linkable``)."""
        if self.nlink == 0:
            raise SyscallError(ENOENT)
        uid, gid, mode = _owner(self, creds, S_IFREG | (mode & 0o7777))
        inode = self._inherit(TmpfsFile(self.fs, mode, uid, gid))
        inode.nlink = 0
        return inode

    def mkdir(self, name, mode, creds=None):
        self._check_new(name)
        uid, gid, mode = _owner(self, creds, S_IFDIR | (mode & 0o7777))
        d = self._add(name, self._inherit(TmpfsDir(self.fs, mode, uid, gid)))
        self.nlink += 1
        return d

    def mknod(self, name, mode, rdev, creds=None):
        self._check_new(name)
        kind = mode & S_IFMT
        if kind in (0, S_IFREG):
            return self.create(name, mode, creds)
        if kind == S_IFDIR:
            raise SyscallError(EPERM)
        if kind not in (S_IFCHR, S_IFBLK, S_IFIFO, S_IFSOCK):
            raise SyscallError(EINVAL)
        uid, gid, mode = _owner(self, creds, mode)
        node = TmpfsSpecial(self.fs, mode, uid, gid, rdev if kind in (S_IFCHR, S_IFBLK) else 0)
        return self._add(name, self._inherit(node))

    def symlink(self, name, target, creds=None):
        self._check_new(name)
        uid, gid, _ = _owner(self, creds, S_IFLNK)
        return self._add(name, TmpfsSymlink(self.fs, target, uid, gid))

    def link(self, name, inode):
        if inode.fs is not self.fs:
            raise SyscallError(EXDEV)
        self._check_new(name)
        inode.nlink += 1
        inode.touch_ctime()
        self._add(name, inode)

    def _drop(self, inode):
        """One name of ``inode`` is gone."""
        inode.nlink = 0 if inode.is_dir else inode.nlink - 1
        inode.touch_ctime()
        if inode.nlink <= 0 and inode.refs <= 0:
            inode.evict()

    def unlink(self, name):
        inode = self.lookup(name)
        if inode.is_dir:
            raise SyscallError(EISDIR)
        del self.entries[name]
        self.touch_mtime()
        self._drop(inode)

    def rmdir(self, name):
        inode = self.lookup(name)
        if not inode.is_dir:
            raise SyscallError(ENOTDIR)
        if inode.entries:
            raise SyscallError(ENOTEMPTY)
        del self.entries[name]
        self.nlink -= 1
        self.touch_mtime()
        self._drop(inode)

    def rename(self, oldname, newdir, newname, flags=0, creds=None):
        if not isinstance(newdir, TmpfsDir) or newdir.fs is not self.fs:
            raise SyscallError(EXDEV)
        src = self.lookup(oldname)
        if newdir.nlink == 0:
            raise SyscallError(ENOENT)
        dst = newdir.entries.get(newname)
        if flags & RENAME_EXCHANGE:
            if dst is None:
                raise SyscallError(ENOENT)
            self.entries[oldname], newdir.entries[newname] = dst, src
            if self is not newdir:
                moved = (1 if src.is_dir else 0) - (1 if dst.is_dir else 0)
                self.nlink -= moved
                newdir.nlink += moved
            src.touch_ctime()
            dst.touch_ctime()
            self.touch_mtime()
            newdir.touch_mtime()
            return
        if dst is src:
            return
        if dst is not None:
            if flags & RENAME_NOREPLACE:
                raise SyscallError(EEXIST)
            if src.is_dir:
                if not dst.is_dir:
                    raise SyscallError(ENOTDIR)
                if dst.entries:
                    raise SyscallError(ENOTEMPTY)
            elif dst.is_dir:
                raise SyscallError(EISDIR)
        del self.entries[oldname]
        if dst is not None:
            del newdir.entries[newname]
            if dst.is_dir:
                newdir.nlink -= 1
            self._drop(dst)
        newdir.entries[newname] = src
        if src.is_dir and self is not newdir:
            self.nlink -= 1
            newdir.nlink += 1
        if flags & RENAME_WHITEOUT:    # as shmem_whiteout: char 0:0, mode 0, the caller's
            uid, gid, mode = _owner(self, creds, S_IFCHR)
            self.entries[oldname] = TmpfsSpecial(self.fs, mode, uid, gid, WHITEOUT_DEV)
        src.touch_ctime()
        self.touch_mtime()
        newdir.touch_mtime()


class TmpfsFile(TmpfsInode):
    direct_io = True   # shmem_file_open: O_DIRECT is taken (and ignored)

    def __init__(self, fs, mode, uid=0, gid=0):
        super().__init__(fs, mode, uid=uid, gid=gid)
        self.cache = PageCache(fs.memory_file)
        self.charged = ChargedPages()   # what the size limit counts (tmpfs_pages.py)
        self.mapped = False             # a mapping has touched its pages (they may be uncharged)
        # Pages charged by fallocate or a fault may still be holes of the MemoryFile; until one is,
        # every charged page holds what a write put there, and a read may touch it (read_data).
        self.charged_holes = False
        self.seals = F_SEAL_SEAL   # F_ADD_SEALS: only a memfd made with MFD_ALLOW_SEALING starts open

    def blocks(self):
        # shmem's i_blocks: the pages writes and fallocate allocated (charged), 8 each. A mapping's
        # touches charge only under a size limit: once mapped, the cached chunks count too (capped
        # by the size: a chunk is reserved space, not all of it used).
        pages = self.charged.count()
        if self.mapped:
            pages = max(pages, min(len(self.cache.chunks) * CHUNK_SIZE, (self.size + PAGE - 1) & -PAGE) // PAGE)
        return pages * (PAGE // 512)

    def open(self, task, flags):
        return TmpfsFileImpl(self)

    def read_data(self, offset: int, n: int) -> bytes:
        """Bytes at offset (short at EOF); holes read as zeros without allocating."""
        end = min(offset + n, self.size)
        if offset >= end:
            return b""
        idx, within = divmod(offset, CHUNK_SIZE)
        base = self.cache.chunks.get(idx)
        if base is not None and within + end - offset <= CHUNK_SIZE:   # within one chunk (most reads): no join
            if not self.charged_holes and self.charged.covers(offset // PAGE, pages_up(end)):
                return self.cache.mf.read(base + within, end - offset)   # written pages: a slice, no host call
            return self.cache.mf.pread(base + within, end - offset)   # a hole stays one
        mf = self.cache.mf
        return b"".join(bytes(m) if at is None else mf.pread(at, m) for at, m in self.cache.extents(offset, end - offset))

    def _grow(self, new_size: int) -> None:
        if new_size > MAX_LFS_FILESIZE:
            raise SyscallError(EFBIG)
        if new_size > self.size:
            if self.seals & F_SEAL_GROW:
                raise SyscallError(EPERM)
            self.size = new_size   # (a hole: no page is charged for it)

    def write_data(self, offset: int, data) -> int:
        n = len(data)
        if n == 0:
            return 0
        if self.seals & (F_SEAL_WRITE | F_SEAL_FUTURE_WRITE):
            raise SyscallError(EPERM)
        first, end = page_span(offset, n)
        room = self.fs.room()
        if room is not None and self.charged.missing(first, end) > room:
            # shmem_write_begin allocates page by page: the write stops at the first page the
            # limit refuses (ENOSPC if that is its first)
            end = self.charged.fit(first, end, room)
            if end == first:
                raise SyscallError(ENOSPC)
            n = min(n, end * PAGE - offset)
            data = data[:n]
        old = self.size
        self._grow(offset + n)
        try:
            self.cache.write(offset, data)
        except SyscallError as e:
            self.size = old
            raise SyscallError(ENOSPC if e.errno == ENOMEM else e.errno)
        self.fs.used += self.charged.add(first, end) * PAGE
        self.touch_mtime()
        return n

    def charge_range(self, offset: int, length: int) -> None:
        """fallocate: charge the pages of [offset, offset+length), all or none (ENOSPC)."""
        first, end = page_span(offset, length)
        self.fs.charge(self.charged.missing(first, end))
        self.charged.add(first, end)
        self.charged_holes = True

    def holes_charged_on_fault(self, offset: int, length: int) -> bool:
        """Does a mapping of [offset, offset+length) hold pages of the file that are not charged
        yet, under a size limit? Their first touch must then charge them (charge_fault)."""
        if not self.fs.size_limit:
            return False
        first, end = page_span(offset, length)
        end = min(end, pages_up(self.size))
        return end > first and self.charged.missing(first, end) > 0

    def charge_fault(self, lo: int, hi: int, at: int) -> tuple[int, int]:
        """A touch at ``at`` of mapped pages [lo, hi) (page-aligned file offsets): charge its page
        and up to FILL_AHEAD after it, or its page alone if those do not fit, as a shmem fault
        allocates (gVisor's tmpfs fills ahead so); BusError if even that page does not fit
        (shmem_fault's VM_FAULT_SIGBUS). Returns the charged run around ``at`` within [lo, hi):
        what may be mapped."""
        first, end, page = lo // PAGE, min(hi // PAGE, pages_up(self.size)), at // PAGE
        room = self.fs.room()
        if room is None:
            return lo, hi
        fill_end = max(page + 1, min(end, page + FILL_AHEAD))
        if self.charged.missing(page, fill_end) > room:
            fill_end = page + 1
            if self.charged.missing(page, fill_end) > room:
                raise BusError()
        self.fs.used += self.charged.add(page, fill_end) * PAGE
        self.charged_holes = True   # (the pages filled ahead are not touched yet)
        start, stop = self.charged.run_at(page)
        return max(start, first) * PAGE, min(stop, end) * PAGE

    def truncate(self, size: int) -> None:
        if size > MAX_LFS_FILESIZE:
            raise SyscallError(EFBIG)
        if size < self.size:
            if self.seals & F_SEAL_SHRINK:
                raise SyscallError(EPERM)
            self.cache.truncate(size)
            self.fs.used -= self.charged.cut(pages_up(size)) * PAGE   # (the last partial page stays)
            self.size = size
        elif size > self.size:
            self._grow(size)
        self.touch_mtime()

    def punch_hole(self, offset: int, length: int) -> None:
        """Zero [offset, offset+length) within the file (only chunks that exist)."""
        self.cache.zero(offset, min(offset + length, self.size))
        self.fs.used -= self.charged.cut(pages_up(offset), (offset + length) // PAGE) * PAGE   # whole pages only
        self.touch_mtime()

    def evict(self):
        self.cache.release()
        self.fs.used -= self.charged.cut(0) * PAGE
        self.size = 0


class TmpfsSymlink(TmpfsInode):
    def __init__(self, fs, target: bytes, uid=0, gid=0):
        super().__init__(fs, S_IFLNK | 0o777, uid=uid, gid=gid)
        self.target = bytes(target)
        self.size = len(self.target)
        # shmem_symlink: a target longer than SHORT_SYMLINK_LEN (128 with its NUL) takes a page
        self.page = len(self.target) + 1 > 128 and getattr(fs, "charge", None) is not None
        if self.page:
            fs.charge(1)

    def evict(self):
        if self.page:
            self.page = False
            self.fs.used -= PAGE

    def blocks(self):
        return 0

    def readlink(self, task):
        self.touch_atime()
        return self.target


class TmpfsSpecial(TmpfsInode):
    """Device, FIFO and socket nodes: only a name and attributes here."""

    def __init__(self, fs, mode, uid=0, gid=0, rdev=0):
        super().__init__(fs, mode, uid=uid, gid=gid, rdev=rdev)

    def blocks(self):
        return 0

    def open(self, task, flags):
        kind = self.mode & S_IFMT
        if kind in (S_IFCHR, S_IFBLK):
            return open_device(task, kind, dev_major(self.rdev), dev_minor(self.rdev), self, flags)
        if kind == S_IFIFO:
            return open_fifo(self, flags)
        raise SyscallError(ENXIO)


class TmpfsMappable(Mappable):
    """What mm maps for a tmpfs file: the file's PageCache pages, written in place."""

    def __init__(self, inode: TmpfsFile):
        self.inode = inode

    @property
    def size(self) -> int:
        return self.inode.size

    @property
    def cache(self):
        return self.inode.cache

    @property
    def write_sealed(self) -> bool:
        """F_SEAL_WRITE or F_SEAL_FUTURE_WRITE: no new shared mapping may write."""
        return bool(self.inode.seals & (F_SEAL_WRITE | F_SEAL_FUTURE_WRITE))

    def translate(self, offset: int, length: int) -> list[tuple[int, int]]:
        self.inode.mapped = True
        return self.inode.cache.translate(offset, length)

    def charges_on_fault(self, offset: int, length: int) -> bool:
        return self.inode.holes_charged_on_fault(offset, length)

    def fault_range(self, lo: int, hi: int, at: int) -> tuple[int, int]:
        return self.inode.charge_fault(lo, hi, at)

    def inc_ref(self):
        self.inode.inc_ref()
        return self

    def dec_ref(self):
        self.inode.dec_ref()


class TmpfsFileImpl(FileDescriptionImpl):
    seekable = True

    def read(self, task, n, offset):
        data = self.inode.read_data(offset, n)
        self._accessed()
        return data

    def _accessed(self):
        d = self.description
        if d is not None:
            d.accessed()   # noatime, O_NOATIME
        else:
            self.inode.touch_atime()

    def write(self, task, data, offset):
        return self.inode.write_data(offset, data)

    writes_from_views = True   # write's data may be a memoryview of application memory

    def fsync(self):
        pass   # nothing to write back: the data lives in memory

    def copy_read(self, task, buf, n, offset):
        """read into application memory [buf, buf+n) (mapped writable: the caller bounded ``n``)
        straight from the file's pages: one copy per contiguous run, no bytes object between."""
        inode = self.inode
        n = max(0, min(n, inode.size - offset))
        if n:
            dst = task.mm.io_views(buf, n, write=True)   # first: it may allocate (copy-on-write)
            inode.cache.mf.copy_to_views(dst, inode.cache.extents(offset, n))
        self._accessed()
        return n

    def mappable(self):
        return TmpfsMappable(self.inode)

    def fcntl(self, task, cmd, arg):
        inode = self.inode
        if cmd == F_GET_SEALS:
            return inode.seals
        if cmd == F_ADD_SEALS:
            arg &= 0xFFFFFFFF
            if arg & ~(F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_FUTURE_WRITE | F_SEAL_EXEC):
                raise SyscallError(EINVAL)
            if not self.description.writable:
                raise SyscallError(EPERM)
            if inode.seals & F_SEAL_SEAL:
                raise SyscallError(EPERM)
            if arg & F_SEAL_WRITE and not inode.seals & F_SEAL_WRITE and any(
                    mm.maps_shared_writable(inode.cache) for mm in list(inode.cache.mappers)):
                raise SyscallError(EBUSY)   # a shared mapping could still write (Linux: mapping_deny_writable)
            inode.seals |= arg
            return 0
        return super().fcntl(task, cmd, arg)

    def allocate(self, mode, offset, length):
        inode = self.inode
        if mode not in (0, FALLOC_FL_KEEP_SIZE, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE):
            raise SyscallError(EOPNOTSUPP)
        if mode & FALLOC_FL_PUNCH_HOLE:
            if inode.seals & (F_SEAL_WRITE | F_SEAL_FUTURE_WRITE):
                raise SyscallError(EPERM)   # a hole changes the data
            inode.punch_hole(offset, length)
            return
        if inode.seals & F_SEAL_GROW and offset + length > inode.size:
            raise SyscallError(EPERM)   # shmem_fallocate: allocating past the end, even with KEEP_SIZE
        inode.charge_range(offset, length)
        if mode == 0 and offset + length > inode.size:
            inode.truncate(offset + length)

    def seek_data_hole(self, offset, whence):
        # Page-granular, as shmem's: data is what the file's pages hold (pagecache.next_data);
        # a 64 KiB chunk is only where they live, so a page written in one leaves the rest holes.
        size = self.inode.size
        if offset >= size:
            raise SyscallError(ENXIO)
        if whence == SEEK_DATA:
            pos = self.inode.cache.next_data(offset, size)
            if pos is None:
                raise SyscallError(ENXIO)
            return pos
        return min(self.inode.cache.data_end(offset), size)
