"""Mappable: what a file gives mm to map (Linux's vm_operations for a file, gVisor's
memmap.Mappable), and what every FILE VMA holds as its ``owner``.

A file's FileDescriptionImpl.mappable() returns one (or raises ENODEV). mm calls, on the
Sentry's loop and never blocking on the application:
- ``translate(offset, length)``: the MemoryFile ranges that back the file range now (the
  file's PageCache fills them on first use);
- ``size``: the file's current size (pages wholly past it are SIGBUS, as on Linux);
- ``cache``: that PageCache, which records the address spaces mapping it so a truncation
  can unmap its pages from all of them;
- ``inc_ref``/``dec_ref``: one reference a VMA piece, so the pages outlive an unlink;
- ``writable_mapping(offset, length)``: a MAP_SHARED mapping of the range is or becomes
  writable; returns what its VMAs hold instead (a file that writes back its dirty pages
  counts them; the default is the mappable itself: the pages are the file);
- ``writeback()``: msync, fsync: what writable mappings changed reaches the file's store;
- ``write_sealed``: F_SEAL_WRITE / F_SEAL_FUTURE_WRITE, refusing new writable shared mappings;
- ``host_pages(writable)``: for a file whose pages are a host file's (a volume's, on a donated
  descriptor), what a MAP_SHARED mapping maps instead of the page cache on a platform that maps
  host files (mm/hostmap.py: a HOST VMA); None for the rest.
"""


class Mappable:
    """Base of every mappable: the defaults suit a file whose page cache is the file (tmpfs)."""

    size: int        # the file's size now (an attribute or a property of the implementation)
    cache = None
    write_sealed = False

    def translate(self, offset: int, length: int) -> list[tuple[int, int]]:
        raise NotImplementedError

    def inc_ref(self):
        raise NotImplementedError

    def dec_ref(self):
        raise NotImplementedError

    def writable_mapping(self, offset: int, length: int) -> "Mappable":
        return self

    def writeback(self) -> None:
        pass

    def host_pages(self, writable: bool):
        return None
