"""Lazily mapped file pages: a large FILE VMA (shared, or private and read-only) is made ``lazy``,
with no pages behind it and nothing mapped in the stub, so mapping a huge sparse file (a 1 TiB
memfd) costs nothing until it is touched. The first touch, an application fault or the Sentry's
own copy through the VMA, makes the file's PageCache chunks of a window around the address
(allocated under the memory limit as any chunk) and maps them into the stub with the VMA's
protections: the window is carved out of the lazy VMA as ordinary FILE VMAs, then joined to an
ordinary neighbour that continues it in the MemoryFile (the host merges such mappings too), so a
file read through from start to end does not leave one VMA per window.

Reservations (large PROT_NONE or MAP_NORESERVE anonymous mappings, manager.py's LAZY_ANON_MIN) are
lazy ANON VMAs: a touch where they may be accessed makes a window of zeroed memory, joined the
same way to made memory that continues it.
"""
from dataclasses import replace

from snakevisor.abi import mm as M
from snakevisor.abi.errno import EFAULT, ENOMEM, SyscallError
from snakevisor.sentry.mm.pagecache import CHUNK_SIZE, PageCache
from snakevisor.sentry.mm.vma import ANON, FILE

LAZY_MIN = 4 << 20              # file mappings this large or more are mapped on first touch
ANON_WINDOW = 1 << 20           # what a touch of a reservation makes (and charges to the limit)
FAULT_AROUND = 4 * CHUNK_SIZE   # what a touch maps: a stub round trip per 256 KiB, not per page
READ_AROUND_MAX = 4 << 20       # what a touch continuing a forward scan maps at most


class BusError(SyscallError):
    """A touch of file pages that cannot be had (a size-limited tmpfs is full): SIGBUS for an
    application's fault (Linux's VM_FAULT_SIGBUS), EFAULT for the Sentry's own access."""

    def __init__(self):
        super().__init__(EFAULT)


def wanted(mappable, offset, length, populate):
    """Should a file mapping of ``length`` bytes at ``offset`` start lazy? Not when asked to
    populate (MAP_POPULATE), nor for mappables that are not a file's PageCache (io_uring rings
    check their range when translated). Always when its pages are to be charged as they are first
    touched (``charges_on_fault``: a size-limited tmpfs file with holes there)."""
    charges = getattr(mappable, "charges_on_fault", None)
    if charges is not None and charges(offset, length):
        return True
    return length >= LAZY_MIN and not populate and isinstance(mappable.cache, PageCache)


def populate(mm, addr, max_vmas):
    """Make and map the window of lazily mapped pages around ``addr``; returns the VMA there.
    Each VMA is a host mapping in the stub, which the host limits: with no room for the two a
    window may split off (``max_vmas``), the whole lazy VMA is made at once. ENOMEM past that or
    the memory limit: a fault then ends the process, as Linux's OOM killer does."""
    v = mm.vmas.find(addr)
    if v is None or not v.lazy or v.past_eof:
        return v
    if v.kind != FILE:
        return _populate_anon(mm, v, addr, max_vmas)
    base = addr - (v.file_off + addr - v.start) % FAULT_AROUND   # the window is aligned in the file
    lo, hi = max(v.start, base), min(v.end, base + _window(mm, v, base))
    fault_range = getattr(v.owner, "fault_range", None)
    if fault_range is not None:   # pages charged as they are touched: only those may be mapped
        delta = v.file_off - v.start
        lo, hi = (x - delta for x in fault_range(lo + delta, hi + delta, addr + delta))   # BusError
    elif len(mm.vmas) + (lo > v.start) + (hi < v.end) > max_vmas:
        lo, hi = v.start, v.end
    piece, = mm.vmas.carve(lo, hi)
    ranges = piece.owner.translate(piece.file_off, hi - lo)   # the chunks are made here (ENOMEM past the limit)
    if len(mm.vmas) - 1 + len(ranges) > max_vmas:
        raise SyscallError(ENOMEM)
    new, pos = [], lo
    for mf_off, n in ranges:
        piece.owner.inc_ref()
        if piece.file is not None:
            piece.file.inc_ref()   # each VMA holds its file (vm_file); _release drops the piece's
        new.append(replace(piece, start=pos, end=pos + n, mf_off=mf_off, file_off=piece.file_off + pos - lo,
                           lazy=False))
        pos += n
    mm._release([piece])
    for n in new:
        mm.vmas.insert(n)
        mm._map_into_stub(n)
        _merge_left(mm, n)
    return _joined(mm, hi, addr)


def populate_charged(mm, start, end, max_vmas):
    """Make the pages of [start, end) present where a lazy VMA's file charges them as they are
    first touched (a size-limited tmpfs: ``fault_range``), as faulting each in would
    (MADV_POPULATE_*, mlock); BusError at the first that cannot be had, those before it made."""
    pos = start
    while pos < end:
        v = mm.vmas.find(pos)
        if v is None:
            return
        if v.lazy and not v.past_eof and getattr(v.owner, "fault_range", None) is not None:
            v = populate(mm, pos, max_vmas)
        pos = v.end


def _populate_anon(mm, v, addr, max_vmas):
    """A touch of a reservation (manager.py, LAZY_ANON_MIN) that may be accessed: zeroed memory for
    the ANON_WINDOW around ``addr``, joined to the made pages before and after it where the
    memory continues; a PROT_NONE one is left as it is (the access is the application's fault)."""
    if not v.prot & (M.PROT_READ | M.PROT_WRITE | M.PROT_EXEC):
        return v
    base = addr - addr % ANON_WINDOW
    lo, hi = max(v.start, base), min(v.end, base + ANON_WINDOW)
    if len(mm.vmas) + (lo > v.start) + (hi < v.end) > max_vmas:
        lo, hi = v.start, v.end
    piece, = mm.vmas.carve(lo, hi)
    piece.mf_off, piece.lazy = mm.mf.allocate(hi - lo), False   # ENOMEM past the limit
    mm._map_into_stub(piece)
    _merge_left(mm, piece)
    return _joined(mm, hi, addr)


def _joined(mm, hi, addr):
    """A window made up to ``hi`` is joined to the made VMA after it too; the VMA at ``addr`` now."""
    after = mm.vmas.find(hi)
    if after is not None:
        _merge_left(mm, after)
    return mm.vmas.find(addr)


def _window(mm, v, base):
    """How much a touch at window ``base`` makes: FAULT_AROUND, or as much as the run of made
    pages just before it (up to READ_AROUND_MAX) when the touches go forward through the file,
    so a sequential scan costs a logarithmic number of round trips, not one per window."""
    p = mm.vmas.find(v.start - 1)   # a forward scan touches the first window of what is still lazy
    if (base > v.start or p is None or p.end != v.start or p.kind != FILE or p.lazy or p.file is not v.file
            or p.file_off + p.end - p.start != v.file_off):
        return FAULT_AROUND
    run = min(p.end - p.start, READ_AROUND_MAX)
    return max(FAULT_AROUND, run - run % FAULT_AROUND)


def _merge_left(mm, v):
    """Join ``v`` to the VMA just before it if that one continues into it in every respect."""
    p = mm.vmas.find(v.start - 1)
    if p is None or p.kind != v.kind or v.kind not in (FILE, ANON) or p.lazy or v.lazy or p.past_eof or v.past_eof:
        return
    n = p.end - p.start
    if p.mf_off + n != v.mf_off or replace(p, start=v.start, end=v.end, mf_off=v.mf_off,
                                           file_off=p.file_off + n) != v:
        return
    mm.vmas.remove([p, v])
    mm.vmas.insert(replace(p, end=v.end))
    if v.owner is not None:
        v.owner.dec_ref()   # two VMAs held a reference each; the joined one holds one
    if v.file is not None:
        v.file.dec_ref()
