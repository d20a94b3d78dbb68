"""MemoryFile: the one memfd that holds all application memory and tmpfs data.

The Sentry maps the whole (sparse) file once, so copying to or from application
memory is a slice of ``view``; stubs map ranges of the same memfd at the
application's addresses. Space is handed out in page-aligned regions by an
extent allocator (best fit; a freed region merges with free neighbours, and
free space at the top gives the bump pointer back), so any mix of sizes reuses
freed space; freed regions go back to the host with ``fallocate(PUNCH_HOLE)``.

A region is freed for reuse only once no stub can write it: a killed stub process keeps running
until SIGKILL takes hold of each of its threads (one on another CPU goes on writing its
mappings after kill() returns), so while a killed stub is not yet dead, frees wait
(``hold_frees``); memory handed to another process meanwhile would take its writes. (The
MemoryManager kills a stub before it frees its memory, and unmaps before it frees.)
"""
import ctypes
import mmap
import os
from bisect import bisect_left, insort
from collections import deque

from snakevisor.abi.errno import ENOMEM, SyscallError
from snakevisor.abi.fs import FALLOC_FL_KEEP_SIZE, FALLOC_FL_PUNCH_HOLE
from snakevisor.abi.mm import MADV_POPULATE_WRITE, PAGE_SIZE
from snakevisor.hostos.atomic import buffer_address, compare_and_swap
from snakevisor.hostos.libc import libc


_FILL_BLOCK = 1 << 20
_MINCORE_CHUNK = 1 << 28   # bytes asked of one mincore (a vector of 64 Ki pages)
_ONE_IF_SET = bytes([0] + [1] * 255)   # mincore's bit 0 is residency (the others are reserved)
_ZEROS = memoryview(bytes(_FILL_BLOCK))


def fill_view(view, start: int, n: int, source=None) -> None:
    """Fill ``view[start:start+n]`` (application memory) with zeros, or with ``source(k)``'s bytes,
    a block at a time: a large read of /dev/zero or /dev/urandom makes no buffer of its size."""
    while n > 0:
        k = min(n, _FILL_BLOCK)
        view[start:start + k] = _ZEROS[:k] if source is None else source(k)
        start, n = start + k, n - k


def page_round_up(n: int) -> int:
    return (n + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1)


def page_round_down(n: int) -> int:
    return n & ~(PAGE_SIZE - 1)


class MemoryFile:
    """A sparse memfd of ``size`` bytes, mapped read-write into the Sentry."""

    def __init__(self, size: int = 1 << 40, limit: int | None = None):
        self.size = size
        # Bytes the sandbox may have allocated at once (None: unlimited), in whole pages as a memory
        # cgroup counts them: /proc/meminfo's MemTotal and tmpfs's size="N%" are of it.
        self.limit = None if limit is None else max(limit // PAGE_SIZE, 1) * PAGE_SIZE
        self.fd = os.memfd_create("snakevisor-memory", os.MFD_CLOEXEC)
        os.ftruncate(self.fd, size)
        self.view = mmap.mmap(self.fd, size, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
        self.extents = FreeExtents(size)
        self.allocated = 0
        self._address = None   # the view's host address, for compare_and_swap
        self._holds: set[int] = set()   # hold_frees tokens not yet ended
        self._hold_seq = 0              # the newest token
        self._deferred = deque()        # (newest token when freed, offset, length), oldest first

    def allocate(self, length: int, charged: bool = True) -> int:
        """Reserve ``length`` bytes (rounded up to pages) of zeroed memory; return its offset.
        Not ``charged``: counted against the limit only when ``charge`` is called for it (memory
        nothing may touch yet: a PROT_NONE reservation's)."""
        length = page_round_up(max(length, 1))
        if charged:
            self.charge(length)
        offset = self.extents.take(length)
        if offset is None:
            if charged:
                self.uncharge(length)
            raise SyscallError(ENOMEM)
        return offset

    def charge(self, length: int) -> None:
        """Count ``length`` bytes against the limit (ENOMEM past it): allocations, and memory the
        Sentry holds for the sandbox outside this file (its seccomp filters, as Linux charges them
        to the memory cgroup)."""
        if self.limit is not None and self.allocated + length > self.limit:
            raise SyscallError(ENOMEM)
        self.allocated += length

    def uncharge(self, length: int) -> None:
        self.allocated -= length

    def free(self, offset: int, length: int, charged: bool = True) -> None:
        """Return a region from ``allocate`` (no longer mapped by any live stub): its pages go
        back to the host and it may be handed out again, now or, while a stub is dying, when
        the stubs dying now are dead. ``charged``: whether it counts against the limit."""
        length = page_round_up(max(length, 1))
        if charged:
            self.uncharge(length)
        if self._holds:
            self._deferred.append((self._hold_seq, offset, length))
            return
        self._give_back(offset, length)

    def _give_back(self, offset, length):
        self.decommit(offset, length)   # zeros for the next owner, whatever a dying stub wrote
        self.extents.give(offset, length)

    def hold_frees(self) -> int:
        """A stub process was killed and may still write through its mappings: regions freed
        from now on stay out of reuse until ``end_hold`` of the token returned (its death)."""
        self._hold_seq += 1
        self._holds.add(self._hold_seq)
        return self._hold_seq

    def end_hold(self, token: int) -> None:
        """The stub of ``token`` is dead: regions freed while no older stub is dying are reused."""
        self._holds.discard(token)
        oldest = min(self._holds, default=None)
        deferred = self._deferred
        while deferred and (oldest is None or deferred[0][0] < oldest):
            _, offset, length = deferred.popleft()
            self._give_back(offset, length)

    def decommit(self, offset: int, length: int) -> None:
        """Drop the pages of a range (they read as zeros again), keeping it allocated."""
        if libc.fallocate(self.fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, offset, length) != 0:
            # Punching can only fail on a broken host; zero the range so semantics hold.
            self.view[offset:offset + length] = bytes(length)

    def commit(self, offset: int, length: int) -> None:
        """Make a range's (zero) pages present, as writing them in does (MAP_POPULATE of writable
        memory): they count as resident. A zero byte written to each page: fallocate's pages
        would still read as holes to SEEK_DATA, by which residence is counted."""
        end = offset + page_round_up(length)
        self.view[offset:end:PAGE_SIZE] = bytes((end - offset) // PAGE_SIZE)

    def populate(self, offset: int, length: int) -> None:
        """Make a range's pages present without changing them (mlock, MADV_POPULATE_*: Linux
        faults them in): MADV_POPULATE_WRITE on the Sentry's view, else a read of each page (a
        read of a shmem hole through a shared mapping fills it too)."""
        end = offset + page_round_up(length)
        try:
            self.view.madvise(MADV_POPULATE_WRITE, offset, end - offset)
        except (OSError, ValueError):
            bytes(self.view[offset:end:PAGE_SIZE])

    def copy(self, src: int, dst: int, length: int) -> None:
        """Copy a range into a freshly allocated (all-zero) one, skipping the source's holes:
        fork copies only the pages a process has touched."""
        view = self.view
        for data, n in self.data_extents(src, length):
            view[dst + data - src:dst + data - src + n] = view[data:data + n]

    def held_bytes(self) -> int:
        """The bytes of memory the file holds now: pages touched and not given back (punched),
        of every region (the host's count of the memfd's blocks)."""
        return os.fstat(self.fd).st_blocks * 512

    def resident_bytes(self, offset: int, length: int) -> int:
        """The bytes of the page-aligned range [offset, offset+length) that hold pages (an RSS)."""
        return sum(len(vec) - vec.count(0) for vec in self._resident_chunks(offset, length)) * PAGE_SIZE

    def resident_vector(self, offset: int, length: int) -> bytes:
        """mincore's vector of the page-aligned range: 1 for each page held, else 0."""
        return b"".join(self._resident_chunks(offset, length)).translate(_ONE_IF_SET)

    def _resident_chunks(self, offset: int, length: int):
        """A page's byte each, non-zero if held, asked of mincore on the Sentry's mapping, whose
        cost follows the range (SEEK_HOLE walks the whole run of pages it starts in, far past a
        small range inside a large run); from the holes if mincore fails."""
        if self._address is None:
            self._address = buffer_address(self.view)
        while length > 0:
            n = min(length, _MINCORE_CHUNK)
            pages = n // PAGE_SIZE
            vec = ctypes.create_string_buffer(pages)
            if libc.mincore(self._address + offset, n, vec) == 0:
                yield vec.raw[:pages]
            else:
                held = bytearray(pages)
                for data, m in self.data_extents(offset, n):
                    lo, hi = (data - offset) // PAGE_SIZE, (data + m - offset + PAGE_SIZE - 1) // PAGE_SIZE
                    held[lo:hi] = b"\1" * (hi - lo)
                yield bytes(held)
            offset, length = offset + n, length - n

    def data_extents(self, offset: int, length: int):
        """(offset, length) of the parts of [offset, offset+length) that are not holes."""
        end, pos = offset + length, offset
        while pos < end:
            try:
                data = os.lseek(self.fd, pos, os.SEEK_DATA)
            except OSError:  # ENXIO: no data after pos
                return
            if data >= end:
                return
            hole = min(os.lseek(self.fd, data, os.SEEK_HOLE), end)
            yield data, hole - data
            pos = hole

    def read(self, offset: int, length: int) -> bytes:
        return self.view[offset:offset + length]

    def pread(self, offset: int, length: int) -> bytes:
        """``read`` for a file's read(2): a hole reads as zeros and stays a hole (the host's
        shmem reads one through its zero page; a touch of the view would allocate a page there,
        which SEEK_DATA and the memory charge would then count, as Linux's read does not)."""
        data = os.pread(self.fd, length, offset)
        return data if len(data) == length else data + bytes(length - len(data))

    def write(self, offset: int, data) -> None:
        if data.__class__ is memoryview and data.format == "B":
            # Maybe application memory, i.e. this very file: memmove, right even if they overlap.
            with memoryview(self.view) as mv:
                mv[offset:offset + len(data)] = data
            return
        self.view[offset:offset + len(data)] = data

    def copy_to_views(self, dst, src) -> None:
        """Copy the ranges ``src`` [(offset, or None for zeros, length)] into the memoryviews
        ``dst`` (application memory, mm.io_views) of the same total length, one memmove per pair
        of runs: a large read costs a copy per contiguous run, not one per page, and no bytes
        object in between."""
        with memoryview(self.view) as mv:
            di = si = dpos = spos = 0
            while di < len(dst) and si < len(src):
                d, (s, sn) = dst[di], src[si]
                m = min(len(d) - dpos, sn - spos)
                if s is None:
                    fill_view(d, dpos, m)   # a hole
                else:
                    d[dpos:dpos + m] = mv[s + spos:s + spos + m]
                dpos, spos = dpos + m, spos + m
                if dpos == len(d):
                    di, dpos = di + 1, 0
                if spos == sn:
                    si, spos = si + 1, 0

    def compare_and_swap(self, offset: int, expected: int, new: int) -> int:
        """Atomically make the u32 at ``offset`` (4-aligned) ``new`` if it holds ``expected``;
        returns the value it held. Application threads may be changing it at the same time."""
        if self._address is None:
            self._address = buffer_address(self.view)
        return compare_and_swap(self._address + offset, expected, new)

    def close(self) -> None:
        self.view.close()
        os.close(self.fd)


class FreeExtents:
    """The free space of ``[0, size)``: extents below a bump pointer ``top`` (everything from
    ``top`` up is free), kept sorted by offset and by (length, offset). ``take`` is best fit
    (the smallest extent that fits, lowest offset among equals); ``give`` merges with the free
    neighbours, and an extent reaching ``top`` lowers it. Searches bisect: O(log n) plus the
    list shifts."""

    def __init__(self, size: int = 1 << 40):
        self.size = size
        self.top = 0
        self.starts: list[int] = []                  # free extent offsets, sorted
        self.length_of: dict[int, int] = {}         # offset -> length
        self.by_size: list[tuple[int, int]] = []    # (length, offset), sorted

    def _add(self, offset, length):
        insort(self.starts, offset)
        self.length_of[offset] = length
        insort(self.by_size, (length, offset))

    def _remove(self, offset):
        length = self.length_of.pop(offset)
        del self.starts[bisect_left(self.starts, offset)]
        del self.by_size[bisect_left(self.by_size, (length, offset))]
        return length

    def take(self, length: int):
        """Offset of ``length`` free bytes, now in use; None if no room."""
        i = bisect_left(self.by_size, (length, 0))
        if i < len(self.by_size):
            ext_len, offset = self.by_size[i]
            self._remove(offset)
            if ext_len > length:
                self._add(offset + length, ext_len - length)
            return offset
        if self.top + length > self.size:
            return None
        offset = self.top
        self.top += length
        return offset

    def give(self, offset: int, length: int) -> None:
        """Free ``[offset, offset+length)`` (taken earlier, not free now)."""
        i = bisect_left(self.starts, offset)
        if i < len(self.starts):
            nxt = self.starts[i]
            if nxt < offset + length:
                raise ValueError(f"double free of {offset:#x}+{length:#x}")
            if nxt == offset + length:
                length += self._remove(nxt)
        if i > 0:
            prev = self.starts[i - 1]
            prev_len = self.length_of[prev]
            if prev + prev_len > offset:
                raise ValueError(f"double free of {offset:#x}+{length:#x}")
            if prev + prev_len == offset:
                self._remove(prev)
                offset, length = prev, length + prev_len
        if offset + length == self.top:
            self.top = offset
        else:
            self._add(offset, length)
