"""MAP_GROWSDOWN (VM_GROWSDOWN): a fault on an unmapped page just below such a private anonymous
mapping extends it down to that page, as Linux's expand_downwards: within RLIMIT_STACK for the
whole grown mapping, RLIMIT_AS and RLIMIT_MEMLOCK, and never within the stack guard gap above
another mapping. Each growth is a VMA of its own (a VMA maps one MemoryFile range), marked
growsdown too, so the run of them is the mapping that grows."""
from bisect import bisect_right
from dataclasses import replace

from snakevisor.abi import mm as M
from snakevisor.abi.resource import RLIMIT_STACK
from snakevisor.abi.signal import SEGV_MAPERR
from snakevisor.sentry.mm import mlock, vmlimits
from snakevisor.sentry.mm.manager import MAX_MAP_COUNT, MMAP_MIN_ADDR
from snakevisor.sentry.mm.memoryfile import PAGE_SIZE, page_round_down
from snakevisor.sentry.mm.vma import ANON, COW

STACK_GUARD_GAP = 256 * PAGE_SIZE   # Linux's stack_guard_gap (the stack_guard_gap= boot default)


def grow(t, addr, code) -> bool:
    """A fault at ``addr`` (SEGV_MAPERR ``code``) that extends a grows-down mapping: True when the
    page is mapped now and the access is retried; False leaves the SIGSEGV to the application."""
    mm = t.mm
    addr = page_round_down(addr)
    if code != SEGV_MAPERR or addr < MMAP_MIN_ADDR or len(mm.vmas) >= MAX_MAP_COUNT:
        return False
    vmas = mm.vmas.vmas
    i = bisect_right(mm.vmas.starts, addr)   # the first VMA above addr
    if i == len(vmas) or (i and vmas[i - 1].end > addr):
        return False
    above = vmas[i]
    if not above.growsdown or above.kind not in (ANON, COW) or above.file is not None or above.shared:
        return False
    below = vmas[i - 1] if i else None
    if below is not None and not below.growsdown and below.prot & (M.PROT_READ | M.PROT_WRITE | M.PROT_EXEC) \
            and addr - below.end < STACK_GUARD_GAP:
        return False
    top = above.end   # the grown mapping's size counts against RLIMIT_STACK: the whole run
    for v in vmas[i + 1:]:
        if v.start != top or not v.growsdown:
            break
        top = v.end
    grow_by = above.start - addr
    if top - addr > t.tg.limits[RLIMIT_STACK][0] or not vmlimits.may_expand(t, grow_by, False) \
            or not mlock.future_ok(t, grow_by, above.locked):
        return False
    new = replace(above, start=addr, end=above.start, kind=ANON, mf_off=mm.mf.allocate(grow_by), owner=None,
                  lazy=False, uncharged=False)
    mm.vmas.insert(new)
    mm._map_into_stub(new)
    return True
