"""VMAs: the sorted map from application address ranges to MemoryFile ranges.

Each VMA maps ``[start, end)`` to one contiguous MemoryFile range starting at
``mf_off``. What backs that range says who frees it:
  * ``ANON``: private memory owned by this VMA alone (freed on unmap);
  * ``SHARED``: a Region (MAP_SHARED|MAP_ANONYMOUS), refcounted across forks;
  * ``FILE``: pages of a file's PageCache (owned by the file); a private file
    VMA that becomes writable is first copied into ANON memory (eager COW).
    A large one starts ``lazy``: no pages yet (``mf_off`` means nothing), left
    unmapped in the stub until a touch maps a window of them (manager.py);
  * ``COW``: private memory shared with a forked parent or child, mapped
    read-only in the stubs until a write fault copies it (a Region, refcounted
    by the VMAs that still point at it);
  * ``HOST``: a MAP_SHARED mapping of a volume's file whose stub maps the host
    file itself (mm/hostmap.py): no MemoryFile range (``mf_off`` means nothing),
    ``owner`` the file's HostPages, the file's offset ``file_off``.
This module is pure bookkeeping (no host calls), so it is unit-tested alone.
"""
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, replace

from snakevisor.abi.mm import PROT_EXEC, PROT_READ, PROT_WRITE

ANON, SHARED, FILE, COW, HOST = "anon", "shared", "file", "cow", "host"


class Region:
    """A MemoryFile range that several VMAs (possibly in several address spaces) point at;
    freed with the last of them. SHARED memory allocates one; fork turns private memory
    into a COW region, adopting the range the VMA already had."""

    def __init__(self, mf, length, offset=None):
        self.mf = mf
        self.length = length
        self.offset = mf.allocate(length) if offset is None else offset
        self.refs = 0

    def inc_ref(self):
        self.refs += 1

    def dec_ref(self):
        self.refs -= 1
        if self.refs == 0:
            self.mf.free(self.offset, self.length)

    @property
    def size(self):
        """As a mappable's: shared anonymous memory is a file of its first mmap's length (mremap
        past it is SIGBUS)."""
        return self.length

    def covers_exactly(self, vma):
        return vma.mf_off == self.offset and vma.end - vma.start == self.length


@dataclass
class VMA:
    start: int
    end: int
    prot: int
    kind: str
    mf_off: int
    shared: bool = False          # MAP_SHARED semantics (writes visible to others)
    owner: object = None          # Region (SHARED, COW), the file's mappable (FILE) or its HostPages (HOST)
    file: object = None           # FileDescription (vm_file): a reference held while the VMA lives
    file_off: int = 0
    name: str = ""                # "[heap]", "[stack]", or a path
    past_eof: bool = False        # file pages wholly beyond the end of the file: SIGBUS on access
    maywrite: bool = True         # VM_MAYWRITE: False for a shared mapping of a file not open for writing
    mayexec: bool = True          # VM_MAYEXEC: False for a file on a noexec mount
    locked: int = 0               # VM_LOCKED/VM_LOCKONFAULT bits (mm/mlock.py)
    sealed: bool = False          # VM_SEALED (mm/mseal.py)
    lazy: bool = False            # FILE pages not made nor mapped yet: the first touch does (no mf_off)
    wipeonfork: bool = False      # VM_WIPEONFORK (MADV_WIPEONFORK): a fork's child gets zeros here
    dontfork: bool = False        # VM_DONTCOPY (MADV_DONTFORK): a fork's child has nothing here
    growsdown: bool = False       # VM_GROWSDOWN (MAP_GROWSDOWN): a fault just below extends it (mm/growsdown.py)
    copy_of: object = None        # ANON/COW: the mappable whose pages these privately copy (a truncation drops them)
    anon_name: str | None = None  # PR_SET_VMA_ANON_NAME's (mm/madvise.py): maps shows [anon:NAME]
    uncharged: bool = False       # ANON pages not counted against the memory limit: PROT_NONE since
                                  # mapped, never accessible (Linux does not account such a mapping
                                  # until mprotect makes it writable); charged when it first is

    def maps_cache(self, cache):
        """Does this VMA map pages of the PageCache ``cache`` directly?"""
        return self.kind == FILE and self.owner.cache is cache

    def object_offset(self):
        """SHARED: where in its shared object (the Region) this VMA starts (past the object's end,
        where no memory backs it, file_off keeps it)."""
        return self.file_off if self.past_eof else self.mf_off - self.owner.offset

    def copies_cache(self, cache):
        """Does this VMA hold private copies of the PageCache ``cache``'s pages (a private file mapping
        that was written, or is writable)?"""
        return self.copy_of is not None and self.copy_of.cache is cache

    def accessible(self, need):
        """May the Sentry copy to or from it on the application's behalf (``need``: a PROT bit)?"""
        return bool(self.prot & need) and not self.past_eof

    def split_at(self, addr):
        """Split into [start, addr) and [addr, end); both keep consistent offsets."""
        delta = addr - self.start
        left = replace(self, end=addr)
        right = replace(self, start=addr, mf_off=self.mf_off + delta, file_off=self.file_off + delta)
        if self.owner is not None:
            self.owner.inc_ref()  # one more VMA now refers to the region
        if self.file is not None:
            self.file.inc_ref()   # and to the file (vm_file)
        return left, right

    @property
    def stub_prot(self):
        """What the stub maps: copy-on-write memory stays read-only until it is written."""
        return self.prot & ~PROT_WRITE if self.kind == COW else self.prot

    def perms(self):
        return "".join((("r" if self.prot & PROT_READ else "-"), ("w" if self.prot & PROT_WRITE else "-"),
                        ("x" if self.prot & PROT_EXEC else "-"), ("s" if self.shared else "p")))


class VMASet:
    """VMAs sorted by start address, with bisect lookup."""

    def __init__(self):
        self.vmas: list[VMA] = []
        self.starts: list[int] = []
        # (top, bottom, addr, length) from find_gap's last answer: [addr, top) holds no free gap
        # of ``length`` bytes or more and a VMA starts at addr. Inserting and splitting VMAs only
        # shrink gaps, so it stays true until something is removed.
        self._packed = None

    def __iter__(self):
        return iter(self.vmas)

    def __len__(self):
        return len(self.vmas)

    def find(self, addr):
        """The VMA containing ``addr``, or None."""
        i = bisect_right(self.starts, addr) - 1
        if i >= 0 and addr < self.vmas[i].end:
            return self.vmas[i]
        return None

    def overlapping(self, start, end):
        """VMAs intersecting [start, end), in order."""
        i = max(bisect_right(self.starts, start) - 1, 0)
        out = []
        while i < len(self.vmas) and self.vmas[i].start < end:
            if self.vmas[i].end > start:
                out.append(self.vmas[i])
            i += 1
        return out

    def is_free(self, start, end):
        return not self.overlapping(start, end)

    def covered(self, start, end):
        """True if every byte of [start, end) is mapped."""
        pos = start
        for v in self.overlapping(start, end):
            if v.start > pos:
                return False
            pos = v.end
        return pos >= end

    def insert(self, vma):
        i = bisect_right(self.starts, vma.start)
        self.vmas.insert(i, vma)
        self.starts.insert(i, vma.start)

    def _index(self, vma):
        """The position of ``vma`` (which is in the set): by its start, not by a scan."""
        i = bisect_left(self.starts, vma.start)
        if i < len(self.vmas) and self.vmas[i] is vma:
            return i
        return self.vmas.index(vma)   # not reached while starts are unique; kept correct regardless

    def splits(self, start, end):
        """How many more VMAs carving [start, end) would make (0, 1 or 2)."""
        n = 0
        for addr in (start, end):
            v = self.find(addr)
            n += v is not None and v.start < addr
        return n

    def carve(self, start, end):
        """Split VMAs at ``start`` and ``end``; return those now wholly inside [start, end).
        Each split is a slice assignment at the VMA's index (a memmove, not a rebuild of the index:
        tens of thousands of mprotects that each split a mapping took minutes)."""
        for addr in (start, end):
            v = self.find(addr)
            if v is not None and v.start < addr:
                i = self._index(v)
                left, right = v.split_at(addr)
                self.vmas[i:i + 1] = [left, right]
                self.starts[i:i + 1] = [left.start, right.start]
        return self.overlapping(start, end)

    def remove(self, vmas):
        """Forget ``vmas``: each run of neighbours goes in one slice deletion, last run first."""
        indices = sorted(self._index(v) for v in vmas)
        while indices:
            hi = lo = indices.pop()
            while indices and indices[-1] == lo - 1:
                lo = indices.pop()
            del self.vmas[lo:hi + 1]
            del self.starts[lo:hi + 1]
        self._packed = None

    def find_gap(self, length, top, bottom):
        """Highest free range of ``length`` bytes within [bottom, top), or None (top-down like Linux).

        The search resumes below the last answer when that is known to leave nothing big enough
        above it (``_packed``): mappings made one after another stack downwards, and scanning all
        of them from the top each time made N mmaps cost O(N^2) (65,000 took minutes)."""
        hi = top
        packed = self._packed
        if packed is not None and packed[:2] == (top, bottom) and length >= packed[3]:
            hi = packed[2]
        vmas = self.vmas
        i = bisect_left(self.starts, hi) - 1   # the highest VMA starting below hi
        while i >= 0:
            v = vmas[i]
            lo = max(v.end, bottom)
            if hi - lo >= length:
                self._packed = (top, bottom, hi, length)
                return hi - length
            hi = v.start
            if hi - bottom < length:
                return None
            i -= 1
        if hi - bottom >= length:
            self._packed = (top, bottom, hi, length)
            return hi - length
        return None
