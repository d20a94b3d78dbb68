"""mremap(2) on a MemoryManager: shrink in place, grow in place when the range after is free,
move (MREMAP_MAYMOVE, MREMAP_FIXED), and the old_len 0 duplicate of a shared mapping. A grown
mapping continues its VMA: the same file, the same shared object (past whose end an access is
SIGBUS, as Linux's shmem file of the mapping's first size), or new private memory."""
from snakevisor.abi import mm as M
from snakevisor.abi.errno import EFAULT, EINVAL, ENOMEM, SyscallError
from snakevisor.sentry.mm import mseal
from snakevisor.sentry.mm.memoryfile import PAGE_SIZE, page_round_up
from snakevisor.sentry.mm.vma import ANON, COW, FILE, HOST, SHARED, VMA
from snakevisor.sentry.platform.layout import MMAP_MIN_ADDR, MMAP_TOP, TASK_SIZE

PAGE_MASK = PAGE_SIZE - 1


def mremap(mm, old, old_len, new_len, flags, new_addr):
    if old & PAGE_MASK or flags & ~(M.MREMAP_MAYMOVE | M.MREMAP_FIXED | M.MREMAP_DONTUNMAP):
        raise SyscallError(EINVAL)
    if flags & M.MREMAP_FIXED and not flags & M.MREMAP_MAYMOVE:
        raise SyscallError(EINVAL)
    old_len, new_len = page_round_up(old_len), page_round_up(new_len)
    if new_len == 0 or new_len > TASK_SIZE:
        raise SyscallError(EINVAL)
    if old + old_len > TASK_SIZE:
        raise SyscallError(EFAULT)
    if old_len == 0:
        return _duplicate(mm, old, new_len, flags, new_addr)
    if not mm.vmas.covered(old, old + old_len):
        raise SyscallError(EFAULT)
    mseal.check_unsealed(mm, old, old + old_len)
    if flags & M.MREMAP_FIXED:
        dest = _fixed_destination(mm, old, old_len, new_len, new_addr)
    else:
        if new_len <= old_len:
            if new_len < old_len:
                mm.munmap(old + new_len, old_len - new_len)
            return old
        if old + new_len <= MMAP_TOP and mm.vmas.is_free(old + old_len, old + new_len):
            _grow(mm, mm.vmas.find(old + old_len - 1), old + old_len, old + new_len)
            return old
        if not flags & M.MREMAP_MAYMOVE:
            raise SyscallError(ENOMEM)
        dest = mm._choose_address(0, new_len, 0)
    keep = min(old_len, new_len)
    moved = [v for v in mm.vmas.carve(old, old + keep)]
    mm.vmas.remove(moved)
    mm._unmap_from_stub(old, old + old_len)
    if new_len < old_len:
        mm._drop_range(old + keep, old + old_len)
    for v in moved:
        v.start, v.end = v.start - old + dest, v.end - old + dest
        mm.vmas.insert(v)
        mm._map_into_stub(v)
    if new_len > keep:
        _grow(mm, moved[-1], dest + keep, dest + new_len)
    return dest


def _fixed_destination(mm, old, old_len, new_len, dest):
    """MREMAP_FIXED's target, checked and emptied."""
    mseal.check_unsealed(mm, dest, dest + new_len)
    if dest & PAGE_MASK or dest + new_len > TASK_SIZE or dest < MMAP_MIN_ADDR:
        raise SyscallError(EINVAL)
    if dest < old + old_len and old < dest + new_len:
        raise SyscallError(EINVAL)
    mm.munmap(dest, new_len)
    return dest


def _duplicate(mm, old, new_len, flags, new_addr):
    """old_len 0: a second mapping of the same shared pages (the old one stays). Linux refuses it
    for a private mapping, whose copy would be unrelated memory (vma_to_resize)."""
    v = mm.vmas.find(old)
    if v is None:
        raise SyscallError(EFAULT)
    if not v.shared:
        raise SyscallError(EINVAL)
    if flags & M.MREMAP_FIXED:
        dest = _fixed_destination(mm, old, 0, new_len, new_addr)
    elif flags & M.MREMAP_MAYMOVE:
        dest = mm._choose_address(0, new_len, 0)
    else:
        raise SyscallError(ENOMEM)   # it cannot grow where it is: it "ends" at old
    _install(mm, v, _continuation(mm, v, old - v.start, dest, dest + new_len))
    return dest


def _grow(mm, tail, start, end):
    """Map [start, end) as the continuation of VMA ``tail``."""
    _install(mm, tail, _continuation(mm, tail, start - tail.start, start, end))


def _continuation(mm, v, rel, start, end):
    """VMAs at [start, end) mapping what ``v`` maps from ``rel`` bytes after its start on."""
    if v.kind in (FILE, HOST) or (v.kind in (ANON, COW) and v.file is not None):
        return mm._build_vmas(start, end, v.prot, v.shared, v.file, v.file_off + rel, v.name, v.maywrite,
                             v.mayexec)
    if v.kind == SHARED:
        return _shared_object(v, v.object_offset() + rel, start, end)
    return [mm._new_anon(start, end, v.prot, v.name)]


def _shared_object(v, rel, start, end):
    """Shared anonymous memory from offset ``rel`` of ``v``'s object: its pages (a mapping shrunk
    and grown again finds them as it left them), then, past the object's end, pages that are
    SIGBUS on access, as Linux's shmem file keeps the size of the first mmap."""
    region = v.owner
    mid = min(end, start + max(region.length - rel, 0))
    new = []
    if mid > start:
        new.append(VMA(start, mid, v.prot, SHARED, region.offset + rel, shared=True, owner=region, name=v.name))
    if end > mid:
        new.append(VMA(mid, end, v.prot, SHARED, 0, shared=True, owner=region, name=v.name, past_eof=True,
                       file_off=max(rel, region.length)))
    for n in new:
        region.inc_ref()
    return new


def _install(mm, like, new):
    for v in new:
        # the same mapping, continued: the same attributes
        v.wipeonfork, v.dontfork, v.growsdown = like.wipeonfork, like.dontfork, like.growsdown
        mm.vmas.insert(v)
        mm._map_into_stub(v)
