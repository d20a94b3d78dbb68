"""Memory sealing (mseal(2), Linux 6.10): a sealed VMA can no longer be unmapped, moved,
resized, re-protected, mapped over, or have its read-only anonymous pages discarded by
madvise; each of those calls is EPERM for the whole range and changes nothing. Seals are kept
by fork and dropped by exec (a new address space).

MemoryManager.has_seals stays False until the first mseal, so processes that never seal pay
one attribute test per mapping change."""

from snakevisor.abi import mm as M
from snakevisor.abi.errno import EINVAL, ENOMEM, EPERM, SyscallError
from snakevisor.sentry.mm.memoryfile import PAGE_SIZE, page_round_up
from snakevisor.sentry.mm.vma import ANON, COW


def mseal(mm, start: int, length: int, flags: int) -> int:
    if flags:
        raise SyscallError(EINVAL)
    if start & (PAGE_SIZE - 1):
        raise SyscallError(EINVAL)
    end = start + page_round_up(length)
    if page_round_up(length) < length:
        raise SyscallError(ENOMEM)
    if end >= 1 << 64:
        raise SyscallError(EINVAL)
    if end == start:
        return 0
    if not mm.vmas.covered(start, end):
        raise SyscallError(ENOMEM)
    mm.has_seals = True
    for v in mm.vmas.carve(start, end):
        v.sealed = True
    return 0


def check_unsealed(mm, start: int, end: int) -> None:
    """EPERM if any VMA in [start, end) is sealed (munmap, mprotect, mremap, MAP_FIXED)."""
    if mm.has_seals and any(v.sealed for v in mm.vmas.overlapping(start, end)):
        raise SyscallError(EPERM)


def check_madvise(mm, start: int, end: int, advice: int) -> None:
    """Discarding advice on sealed read-only private anonymous memory is EPERM."""
    if not mm.has_seals or advice not in M.MADV_DISCARDING:
        return
    for v in mm.vmas.overlapping(start, end):
        if v.sealed and v.kind in (ANON, COW) and v.file is None and not v.shared and not v.prot & M.PROT_WRITE:
            raise SyscallError(EPERM)
