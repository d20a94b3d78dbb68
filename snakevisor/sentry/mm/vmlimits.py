"""RLIMIT_AS and RLIMIT_DATA: how much address space a process may map, as Linux's
may_expand_vm (mm/mmap.c) and check_data_rlimit (brk) judge it.

RLIMIT_AS bounds every mapping (total_vm); RLIMIT_DATA the private writable ones that are not
the stack (data_vm) and the heap. A mapping, brk or mremap growth past either is ENOMEM (brk:
the break stays). Both limits are nearly always infinite: that is tested first, and only a
process that set one pays for counting its mappings.
"""
from snakevisor.abi import mm as M
from snakevisor.abi.errno import ENOMEM, SyscallError
from snakevisor.abi.resource import RLIM_INFINITY, RLIMIT_AS, RLIMIT_DATA


def _pages(n):
    return (n + M.PAGE_SIZE - 1) & ~(M.PAGE_SIZE - 1)


def _limits(t):
    limits = t.tg.limits
    return limits[RLIMIT_AS][0], limits[RLIMIT_DATA][0]


def is_data(prot, shared, name="") -> bool:
    """is_data_mapping: private, writable, not the stack."""
    return bool(prot & M.PROT_WRITE) and not shared and name != "[stack]"


def _in_use(mm, start, end):
    """(total, data) bytes mapped outside [start, end) (the part a MAP_FIXED mapping replaces)."""
    total = data = 0
    for v in mm.vmas:
        size = (v.end - v.start) - max(0, min(v.end, end) - max(v.start, start))
        total += size
        if is_data(v.prot, v.shared, v.name):
            data += size
    return total, data


def may_expand(t, length, data, start=0, end=0) -> bool:
    """Would ``length`` more bytes (``data``: of a data mapping), replacing [start, end), fit?"""
    as_limit, data_limit = _limits(t)
    if as_limit >= RLIM_INFINITY and (data_limit >= RLIM_INFINITY or not data):
        return True
    total, in_data = _in_use(t.mm, start, end)
    if total + length > as_limit:
        return False
    return not data or in_data + length <= data_limit


def check_mmap(t, addr, length, prot, flags) -> None:
    """mmap_region's may_expand_vm: ENOMEM past either limit (MAP_FIXED replaces what it covers)."""
    length = _pages(length)
    fixed = flags & M.MAP_FIXED
    shared = flags & M.MAP_TYPE != M.MAP_PRIVATE
    data = is_data(prot, shared) and not flags & M.MAP_GROWSDOWN   # VM_STACK is not data
    if not may_expand(t, length, data, addr if fixed else 0, addr + length if fixed else 0):
        raise SyscallError(ENOMEM)


def brk_allowed(t, new_brk) -> bool:
    """brk: the heap within RLIMIT_DATA (check_data_rlimit) and the growth within both limits."""
    mm = t.mm
    as_limit, data_limit = _limits(t)
    if as_limit >= RLIM_INFINITY and data_limit >= RLIM_INFINITY:
        return True
    if new_brk <= mm.brk_end:
        return True
    if new_brk - mm.brk_start > data_limit:
        return False
    grow = _pages(new_brk) - _pages(mm.brk_end)
    return may_expand(t, grow, True)
