"""Mappings of gofer files: the page cache, writable shared mappings, and write-back.

The page cache (MemoryFile chunks) serves file mappings. Our writes go to the
host at once and update any cached chunk, so cache and host agree. Only a
writable MAP_SHARED mapping may change the cache: the file ranges it maps are
*dirty* (PageCache.dirty), and only those are written back to the host, on
fsync, msync, munmap (``dec_ref``), close, truncation and at sandbox exit
(``GoferFilesystem.sync_all``); when the last writable mapping goes they are
clean again. A file only ever mapped read-only is never written back, so newer
data a host process wrote meanwhile is not reverted.

A MAP_SHARED mapping of a file of a shared mount (a volume) that the Sentry holds a host
descriptor of maps the host file itself on a platform that can (mm/hostmap.py): ``HostPages``
is what its VMAs hold. Then no page cache is involved, and nothing is written back.
"""
import os

from snakevisor.abi.errno import EIO, SyscallError
from snakevisor.hostio import pread_full, pwrite_full
from snakevisor.sentry.fsimpl.gofer.handles import host_call
from snakevisor.sentry.mm.mappable import Mappable
from snakevisor.sentry.mm.pagecache import CHUNK_SIZE, PageCache


class FileMapping(Mappable):
    """What mm maps for one regular gofer file (its ``mappable``): the file's PageCache,
    made on first use. It is in the filesystem's ``mapped`` set while a writable shared
    mapping may have changed the cache. Hold it with inc_ref/dec_ref (the inode's)."""

    def __init__(self, inode):
        self.inode = inode
        self.cache = None
        self._wmap = None            # _WritableMapping: what writable shared VMAs hold
        self._host = None            # HostPages: what HOST VMAs hold (made on first use)

    @property
    def size(self):
        return self.inode.size

    @property
    def dirty(self):
        """May a writable shared mapping have changed the cache (it is newer than the host)?"""
        return self in self.inode.fs.mapped

    def inc_ref(self):
        self.inode.inc_ref()

    def dec_ref(self):
        self.inode.dec_ref()

    def ensure_cache(self):
        if self.cache is None:
            self.cache = PageCache(self.inode.fs.memory_file, fill_into=self._fill_into)
        return self

    def _fill_into(self, offset, view):
        n = min(len(view), max(self.inode.size - offset, 0))
        if n > 0:
            self.inode.host.for_reading().pread_into(view[:n], offset)

    def translate(self, offset, length):
        return self.cache.translate(offset, length)

    def update(self, offset, data):
        """Copy written bytes into the chunks already cached (others fill from the host later)."""
        if self.cache is None:
            return
        chunks, mf = self.cache.chunks, self.cache.mf
        pos, end = 0, len(data)
        while pos < end:
            idx, within = divmod(offset + pos, CHUNK_SIZE)
            m = min(CHUNK_SIZE - within, end - pos)
            base = chunks.get(idx)
            if base is not None:
                mf.write(base + within, data[pos:pos + m])
            pos += m

    def reload_from(self, offset):
        """The host file's bytes from ``offset`` on moved (fallocate COLLAPSE/INSERT_RANGE):
        the chunks cached there are read again (zeros past the end)."""
        if self.cache is None:
            return
        chunks, view = self.cache.chunks, memoryview(self.cache.mf.view)
        for idx, base in chunks.items():
            if (idx + 1) * CHUNK_SIZE > offset:
                chunk = view[base:base + CHUNK_SIZE]
                chunk[:] = bytes(CHUNK_SIZE)
                self._fill_into(idx * CHUNK_SIZE, chunk)

    def truncate(self, size):
        if self.cache is not None:
            self.cache.truncate(size)

    def writable_mapping(self, offset, length):
        """A MAP_SHARED mapping of [offset, offset+length) is (or becomes) writable: its pages
        are dirty from now on. Returns what its VMAs hold instead of this mappable."""
        self.ensure_cache()
        self.cache.mark_dirty(offset, length)
        self.inode.fs.mapped.add(self)
        if self._wmap is None:
            self._wmap = _WritableMapping(self)
        return self._wmap

    def unmapped_writable(self):
        """The last writable mapping is gone: write its pages back; nothing is dirty any more."""
        try:
            self.writeback()
        except SyscallError:
            pass
        if self.cache is not None:
            self.cache.dirty = []
        self.inode.fs.mapped.discard(self)

    def sync(self):
        """Write back what writable shared mappings changed, if any may have."""
        if self.dirty:
            self.writeback()

    def writeback(self):
        """Write the dirty cached bytes (within the file's size) to the host; pages of them the
        application never touched and that were holes of the host file stay unwritten."""
        inode = self.inode
        if self.cache is None or inode.fs.readonly or not self.cache.dirty:
            return
        writer = inode.host.for_writing()
        view = memoryview(self.cache.mf.view)   # slices of it are not copies
        for start, end in self.cache.dirty:
            end = min(end, inode.size)
            if end <= start:
                continue
            for foff, mf_off, n in self.cache.data_ranges(start, end - start):
                writer.pwrite(view[mf_off:mf_off + n], foff)
        inode._blocks_stale = True   # the host allocated what it took: st_blocks is asked again
        if inode.mode & 0o6000:
            inode.keep_setid()   # a write through a mapping clears no set-id bit on Linux

    def host_pages(self, writable):
        """HostPages for a MAP_SHARED mapping (``writable``: it may be made writable), if this is a
        file of a shared mount whose I/O is on a donated host descriptor (directfs); else None."""
        fs = self.inode.fs
        if fs.exclusive or not fs.directfs:
            return None
        host = self.inode.host
        try:
            fd = (host.for_writing() if writable else host.for_reading()).host_fd()
        except SyscallError:
            return None
        if fd is None:
            return None
        if self._host is None:
            st = host_call(os.fstat, fd)
            self._host = HostPages(self.inode, (st.st_dev, st.st_ino))
        return self._host

    def release(self):
        """The inode is evicted: free the cached pages."""
        self.inode.fs.mapped.discard(self)
        if self.cache is not None:
            self.cache.release()
            self.cache = None


class _WritableMapping(Mappable):
    """What the VMAs of writable MAP_SHARED mappings of a gofer file hold instead of its
    FileMapping: a reference on the inode that also counts them, so that when the last one
    goes the dirty pages are written back and become clean. Everything else is the
    FileMapping's."""

    __slots__ = ("mapping", "refs")

    def __init__(self, mapping):
        self.mapping, self.refs = mapping, 0

    @property
    def size(self):
        return self.mapping.size

    @property
    def cache(self):
        return self.mapping.cache

    def translate(self, offset, length):
        return self.mapping.translate(offset, length)

    def writable_mapping(self, offset, length):
        return self.mapping.writable_mapping(offset, length)

    def writeback(self):
        self.mapping.writeback()

    def inc_ref(self):
        self.refs += 1
        self.mapping.inc_ref()

    def dec_ref(self):
        self.refs -= 1
        if self.refs == 0:
            self.mapping.unmapped_writable()
        self.mapping.dec_ref()


class HostPages:
    """What HOST VMAs of a volume's file hold (mm/hostmap.py): the host file itself, through the
    inode's host descriptors (a reference on the inode each VMA piece). ``key`` is the host file's
    identity (device, inode number), which keys futexes in its pages."""

    __slots__ = ("inode", "key", "refs")

    def __init__(self, inode, key):
        self.inode, self.key, self.refs = inode, key, 0

    def inc_ref(self):
        self.refs += 1
        self.inode.inc_ref()

    def dec_ref(self):
        self.refs -= 1
        self.inode.dec_ref()

    def descriptor(self, writable):
        """A host descriptor of the file (one open for writing if ``writable``): to map, read, write."""
        fd = (self.inode.host.for_writing() if writable else self.inode.host.for_reading()).host_fd()
        if fd is None:
            raise SyscallError(EIO)   # (the Gofer no longer donates it: no host pages to reach)
        return fd

    def read(self, offset, n):
        """Up to ``n`` bytes at ``offset``: short where the file ends."""
        return host_call(pread_full, self.descriptor(False), n, offset)

    def current_size(self):
        return host_call(os.fstat, self.descriptor(False)).st_size

    def write(self, offset, data):
        try:
            return pwrite_full(self.descriptor(True), data, offset)
        except OSError as e:
            raise SyscallError(e.errno or EIO)

    def datasync(self):
        host_call(os.fdatasync, self.descriptor(False))
