"""madvise(2): Linux's checks on each VMA of the range, in address order (a VMA that refuses the
advice stops the walk; those before it have taken it, as madvise_walk_vmas), then ENOMEM if the
range has holes. Discarding advice drops private pages; the fork advice sets VMA attributes
that MemoryManager.fork reads (VM_WIPEONFORK, VM_DONTCOPY)."""
from snakevisor.abi import mm as M
from snakevisor.abi.errno import EACCES, EBADF, EINVAL, ENOMEM, SyscallError
from snakevisor.abi.fs import FALLOC_FL_KEEP_SIZE, FALLOC_FL_PUNCH_HOLE
from snakevisor.sentry.mm import mseal
from snakevisor.sentry.mm.memoryfile import PAGE_SIZE, page_round_up
from snakevisor.sentry.mm.vma import ANON, COW

KNOWN_ADVICE = frozenset((M.MADV_NORMAL, M.MADV_RANDOM, M.MADV_SEQUENTIAL, M.MADV_WILLNEED, M.MADV_DONTNEED,
                          M.MADV_FREE, M.MADV_REMOVE, M.MADV_DONTFORK, M.MADV_DOFORK, M.MADV_MERGEABLE,
                          M.MADV_UNMERGEABLE, M.MADV_HUGEPAGE, M.MADV_NOHUGEPAGE, M.MADV_DONTDUMP, M.MADV_DODUMP,
                          M.MADV_WIPEONFORK, M.MADV_KEEPONFORK, M.MADV_COLD, M.MADV_PAGEOUT,
                          M.MADV_POPULATE_READ, M.MADV_POPULATE_WRITE))
DISCARD = (M.MADV_DONTNEED, M.MADV_FREE, M.MADV_REMOVE)
# The VMA attribute each fork advice sets, and to what.
FORK_ADVICE = {M.MADV_WIPEONFORK: ("wipeonfork", True), M.MADV_KEEPONFORK: ("wipeonfork", False),
               M.MADV_DONTFORK: ("dontfork", True), M.MADV_DOFORK: ("dontfork", False)}


def private_anon(v) -> bool:
    """vma_is_anonymous: private memory with no file behind it (not shmem, not a file's copy)."""
    return v.kind in (ANON, COW) and v.file is None and not v.shared


def refusal(v, advice):
    """The errno with which VMA ``v`` refuses ``advice``, or 0."""
    if advice in (M.MADV_DONTNEED, M.MADV_FREE, M.MADV_REMOVE) and v.locked:
        return EINVAL   # locked pages stay (can_madv_lru_vma, madvise_remove)
    if advice in (M.MADV_FREE, M.MADV_WIPEONFORK) and not private_anon(v):
        return EINVAL
    if advice == M.MADV_REMOVE:
        if private_anon(v):
            return EINVAL   # no file to punch a hole in
        if not (v.shared and v.maywrite):
            return EACCES   # a shared mapping that may be made writable, whatever its protection now
    return 0


def madvise(mm, addr, length, advice):
    if advice not in KNOWN_ADVICE or addr & (PAGE_SIZE - 1):
        raise SyscallError(EINVAL)
    end = addr + page_round_up(length)
    if end >= 1 << 64 or end < addr:
        raise SyscallError(EINVAL)
    if end == addr:
        return 0
    mseal.check_madvise(mm, addr, end, advice)
    vmas = mm.vmas.overlapping(addr, end)
    if not vmas:
        raise SyscallError(ENOMEM)
    stop, error = end, 0
    for v in vmas:
        error = refusal(v, advice)
        if error:
            stop = max(v.start, addr)
            break
    if advice in DISCARD and stop > addr:
        _discard(mm, addr, stop)
        if advice == M.MADV_REMOVE:
            _punch_files(mm, addr, stop)
    elif advice in (M.MADV_POPULATE_READ, M.MADV_POPULATE_WRITE) and stop > addr:
        mm.populate_charged(addr, stop)   # EFAULT where a page cannot be had (VM_FAULT_SIGBUS)
    elif advice in FORK_ADVICE and stop > addr:
        name, value = FORK_ADVICE[advice]
        for v in mm.vmas.carve(addr, stop):
            setattr(v, name, value)
    if error:
        raise SyscallError(error)
    if not mm.vmas.covered(addr, end):
        raise SyscallError(ENOMEM)
    return 0


def _discard(mm, start, end):
    """Private pages in [start, end) go: anonymous memory reads zeros again, a private copy of a
    file its file's bytes; shared pages stay."""
    mm.break_cow(start, end)
    mm.note_leaving(end - start)
    for v in mm.vmas.overlapping(start, end):
        lo, hi = max(v.start, start), min(v.end, end)
        if v.kind == ANON and v.file is None:
            if not v.lazy:   # a reservation has no pages to drop
                mm.mf.decommit(v.mf_off + lo - v.start, hi - lo)
        elif v.kind == ANON:
            mm._copy_file_pages(v.file.mappable(), v.file_off + lo - v.start, v.mf_off + lo - v.start, hi - lo)


def _punch_files(mm, start, end):
    """MADV_REMOVE: the file behind each shared mapping of [start, end) loses those pages (a hole,
    as fallocate(PUNCH_HOLE) makes: they read as zeros through every mapping and read())."""
    for v in mm.vmas.overlapping(start, end):
        if v.shared and v.file is not None:
            lo, hi = max(v.start, start), min(v.end, end)
            v.file.impl.allocate(FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, v.file_off + lo - v.start, hi - lo)


def set_anon_name(mm, addr, length, name):
    """prctl(PR_SET_VMA, PR_SET_VMA_ANON_NAME) (madvise_set_anon_name): ``name`` (None: none) names
    the anonymous memory, private or shared, of [addr, addr+length); a file mapping there is EBADF
    (nothing named), a hole ENOMEM (the mappings there named)."""
    if addr & (PAGE_SIZE - 1):
        raise SyscallError(EINVAL)
    end = addr + page_round_up(length)
    if end < addr or end >= 1 << 64:
        raise SyscallError(EINVAL)
    if end == addr:
        return 0
    if any(v.file is not None for v in mm.vmas.overlapping(addr, end)):
        raise SyscallError(EBADF)
    for v in mm.vmas.carve(addr, end):
        v.anon_name = name
    if not mm.vmas.covered(addr, end):
        raise SyscallError(ENOMEM)
    return 0
