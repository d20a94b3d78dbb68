"""remap_file_pages(2): nonlinear file mappings, which Linux (since 3.16) emulates by mapping the
VMA's file again at the new offset over the range (mm/mmap.c). The range must lie in one shared
mapping, or in adjacent ones of the same file with the same permissions; prot must be 0."""
from snakevisor.abi import mm as M
from snakevisor.abi.errno import EINVAL, SyscallError
from snakevisor.sentry.mm.memoryfile import PAGE_SIZE
from snakevisor.sentry.mm.vma import FILE, HOST, SHARED

PAGE_MASK = ~(PAGE_SIZE - 1)


def _same_mapping(a, b):
    """Does VMA ``b`` continue the mapping ``a`` belongs to (same file, same flags)?"""
    return (a.kind == b.kind and a.file is b.file and a.prot == b.prot and a.shared == b.shared
            and (a.kind != SHARED or a.owner is b.owner))


def _covering(mm, start, end):
    """The VMA at ``start`` if [start, end) lies in it and its continuations; EINVAL otherwise."""
    first = mm.vmas.find(start)
    if first is None or not first.shared or first.kind not in (FILE, HOST, SHARED):
        raise SyscallError(EINVAL)
    prev = first
    while prev.end < end:
        nxt = mm.vmas.find(prev.end)
        if nxt is None or nxt.start != prev.end or not _same_mapping(first, nxt):
            raise SyscallError(EINVAL)
        prev = nxt
    return first


def remap_file_pages(t, start, size, prot, pgoff, flags):
    if prot:
        raise SyscallError(EINVAL)
    start, size = start & PAGE_MASK, size & PAGE_MASK
    if start + size <= start or start + size >= 1 << 64:
        raise SyscallError(EINVAL)
    if pgoff + (size >> 12) >= 1 << 64:
        raise SyscallError(EINVAL)       # the offset wraps
    mm = t.mm
    vma = _covering(mm, start, start + size)
    if vma.kind == SHARED:
        return _remap_shared_anon(mm, vma, start, size, pgoff)
    mm.mmap(start, size, vma.prot, M.MAP_SHARED | M.MAP_FIXED, vma.file, pgoff * PAGE_SIZE, name=vma.name,
            maywrite=vma.maywrite, mayexec=vma.mayexec)
    return 0


def _remap_shared_anon(mm, vma, start, size, pgoff):
    """A shared anonymous mapping's pages are its Region's: map the Region at ``pgoff``."""
    if (pgoff + (size >> 12)) * PAGE_SIZE > vma.owner.length:
        raise SyscallError(EINVAL)       # past the object's end (Linux maps pages that SIGBUS there)
    mm.map_region_at(start, start + size, vma.prot, vma.owner, pgoff * PAGE_SIZE, vma.name)
    return 0
