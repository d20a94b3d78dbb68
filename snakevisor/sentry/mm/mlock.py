"""Memory locking (mlock, mlock2, munlock, mlockall, munlockall, MAP_LOCKED): which VMAs are
locked, what they add up to (VmLck), and RLIMIT_MEMLOCK as Linux's mm/mlock.c charges it.

The Sentry never swaps application memory, so a lock changes no paging; it is bookkeeping that
programs observe: the limit (ENOMEM, EAGAIN, EPERM), /proc/PID/status VmLck, and fork and
exec dropping locks."""

from snakevisor.abi.capability import CAP_IPC_LOCK
from snakevisor.abi.errno import EAGAIN, EINVAL, ENOMEM, EPERM, SyscallError
from snakevisor.abi.mm import MCL_CURRENT, MCL_FUTURE, MCL_ONFAULT, MLOCK_ONFAULT, PROT_EXEC, PROT_READ, PROT_WRITE
from snakevisor.abi.resource import RLIMIT_MEMLOCK
from snakevisor.sentry.mm.manager import MAX_MAP_COUNT
from snakevisor.sentry.mm.memoryfile import PAGE_SIZE, page_round_up

LOCKED = 1            # VM_LOCKED
LOCKONFAULT = 2       # VM_LOCKONFAULT: pages locked as they are touched


def locked_bytes(mm) -> int:
    """mm->locked_vm, in bytes."""
    return sum(v.end - v.start for v in mm.vmas if v.locked)


def _limit(t) -> int:
    return t.tg.limits[RLIMIT_MEMLOCK][0]


def _exempt(t) -> bool:
    return t.creds.has_cap(CAP_IPC_LOCK)


def _can_do_mlock(t) -> None:
    if _limit(t) == 0 and not _exempt(t):
        raise SyscallError(EPERM)


def future_ok(t, length: int, lock: int) -> bool:
    """mlock_future_ok: may ``length`` more bytes be locked (for a mapping made locked)?"""
    return not lock or _exempt(t) or locked_bytes(t.mm) + page_round_up(length) <= _limit(t)


def check_new_mapping(t, length: int, map_locked: bool, secret: bool = False) -> int:
    """The lock flags a new mapping gets (MAP_LOCKED, mlockall's MCL_FUTURE, or secret memory's
    own lock), after Linux's checks: EPERM for MAP_LOCKED without any allowance, EAGAIN past the limit."""
    lock = LOCKED if map_locked or secret else t.mm.def_locked
    if map_locked:
        _can_do_mlock(t)
    if not future_ok(t, length, lock):
        raise SyscallError(EAGAIN)
    return lock


def _apply(mm, start: int, end: int, lock: int) -> None:
    """apply_vma_lock_flags: the range must be mapped without holes (ENOMEM)."""
    if end < start:
        raise SyscallError(EINVAL)
    if end == start:
        return
    if not mm.vmas.covered(start, end):
        raise SyscallError(ENOMEM)
    if mm.vmas.splits(start, end) and len(mm.vmas) + mm.vmas.splits(start, end) > MAX_MAP_COUNT:
        raise SyscallError(ENOMEM)
    for v in mm.vmas.carve(start, end):
        v.locked = lock


def _range(addr: int, length: int) -> tuple[int, int]:
    start = addr & ~(PAGE_SIZE - 1)
    return start, start + page_round_up(length + (addr - start))


def mlock(t, addr: int, length: int, flags: int) -> int:
    if flags & ~MLOCK_ONFAULT:
        raise SyscallError(EINVAL)
    _can_do_mlock(t)
    start, end = _range(addr, length)
    mm = t.mm
    if not _exempt(t):
        already = sum(min(v.end, end) - max(v.start, start) for v in mm.vmas.overlapping(start, end) if v.locked)
        if locked_bytes(mm) + (end - start) - already > _limit(t):
            raise SyscallError(ENOMEM)
    _apply(mm, start, end, LOCKED | (LOCKONFAULT if flags & MLOCK_ONFAULT else 0))
    if not flags & MLOCK_ONFAULT and any(not v.prot & (PROT_READ | PROT_WRITE | PROT_EXEC)
                                         for v in mm.vmas.overlapping(start, end)):
        raise SyscallError(ENOMEM)   # locked, but PROT_NONE pages cannot be made present (__mm_populate)
    if not flags & MLOCK_ONFAULT:
        try:
            mm.populate_charged(start, end)
        except SyscallError:
            raise SyscallError(ENOMEM) from None   # __mlock_posix_error_return: a page that cannot be had
    return 0


def munlock(t, addr: int, length: int) -> int:
    start, end = _range(addr, length)
    _apply(t.mm, start, end, 0)
    return 0


def mlockall(t, flags: int) -> int:
    if not flags or flags & ~(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT) or flags == MCL_ONFAULT:
        raise SyscallError(EINVAL)
    _can_do_mlock(t)
    mm = t.mm
    if flags & MCL_CURRENT and not _exempt(t) and sum(v.end - v.start for v in mm.vmas) > _limit(t):
        raise SyscallError(ENOMEM)
    onfault = LOCKONFAULT if flags & MCL_ONFAULT else 0
    mm.def_locked = LOCKED | onfault if flags & MCL_FUTURE else 0
    if flags & MCL_CURRENT:
        for v in mm.vmas:
            v.locked = LOCKED | onfault
        if not onfault:   # mm_populate, its errors ignored
            for start, end in [(v.start, v.end) for v in mm.vmas]:
                try:
                    mm.populate_charged(start, end)
                except SyscallError:
                    pass
    return 0


def munlockall(t) -> int:
    t.mm.def_locked = 0
    for v in t.mm.vmas:
        v.locked = 0
    return 0
