"""PageCache: a file's data held in the MemoryFile, in fixed-size chunks.

tmpfs keeps its files' data here (no backing store), and the gofer filesystem
caches host files here, filled on demand. ``translate`` gives the MemoryFile
ranges that back a file range, which is how file mappings (the Mappable idea)
share the same pages: every private read-only or shared mapping of a file maps
the cache's own pages into the stub. ``mappers`` are the address spaces that
map them: a truncation takes the pages past the new end out of every one of
them before it frees those pages, so no process keeps a window onto memory the
next allocation hands to another.
"""
import weakref

from snakevisor.sentry.mm.memoryfile import MemoryFile, page_round_up

CHUNK_SIZE = 64 * 1024


class PageCache:
    """Chunks of one file. ``fill(offset, length) -> bytes`` reads backing data (None: zeros), or
    ``fill_into(offset, view)`` reads it straight into the (zeroed) MemoryFile pages of ``view``,
    with no copy and leaving the backing file's holes unwritten (unallocated).

    ``dirty``: the file ranges whose cached bytes may be newer than the backing file's (pages
    of writable shared mappings); only those are ever written back."""

    def __init__(self, memory_file: MemoryFile, fill=None, fill_into=None):
        self.mf = memory_file
        self.fill = fill
        self.fill_into = fill_into
        self.chunks: dict[int, int] = {}  # chunk index -> MemoryFile offset
        self.dirty: list[tuple[int, int]] = []   # sorted, disjoint, merged [start, end) file ranges
        self.mappers = weakref.WeakSet()   # MemoryManagers that have mapped these pages

    def _ensure(self, first: int, last: int) -> None:
        """Make chunks first..last (inclusive) present; missing runs get one contiguous region."""
        idx = first
        while idx <= last:
            if idx in self.chunks:
                idx += 1
                continue
            run_end = idx
            while run_end + 1 <= last and run_end + 1 not in self.chunks:
                run_end += 1
            count = run_end - idx + 1
            base = self.mf.allocate(count * CHUNK_SIZE)
            if self.fill_into is not None:
                self.fill_into(idx * CHUNK_SIZE, memoryview(self.mf.view)[base:base + count * CHUNK_SIZE])
            elif self.fill is not None:
                data = self.fill(idx * CHUNK_SIZE, count * CHUNK_SIZE)
                if data:
                    self.mf.write(base, data[:count * CHUNK_SIZE])
            for i in range(count):
                self.chunks[idx + i] = base + i * CHUNK_SIZE
            idx = run_end + 1

    def residency(self, first: int, last: int) -> tuple[int, int]:
        """(cached, dirty) page counts of file pages first..last (inclusive): a page is cached
        when its chunk is present and the MemoryFile holds data there (a hole is not); dirty
        when it lies in ``dirty`` (cachestat(2))."""
        page = 4096
        per_chunk = CHUNK_SIZE // page
        cached = 0
        for idx in sorted(i for i in self.chunks if first // per_chunk <= i <= last // per_chunk):
            lo, hi = max(first, idx * per_chunk), min(last + 1, (idx + 1) * per_chunk)
            base = self.chunks[idx] - idx * CHUNK_SIZE
            for off, length in self.mf.data_extents(base + lo * page, (hi - lo) * page):
                cached += length // page
        dirty = sum(max(0, min(end, (last + 1) * page) - max(start, first * page)) for start, end in self.dirty)
        return cached, page_round_up(dirty) // page

    def next_data(self, offset: int, end: int) -> int | None:
        """The first byte at or after ``offset`` (below ``end``) the MemoryFile holds data for, or
        None. Data is a page written or touched through a mapping; a hole (never written, punched,
        or only fallocated) is not: the host's shmem answers as Linux's does for the file."""
        first = offset // CHUNK_SIZE
        for idx in sorted(i for i in self.chunks if i >= first and i * CHUNK_SIZE < end):
            lo, hi = max(offset, idx * CHUNK_SIZE), min(end, (idx + 1) * CHUNK_SIZE)
            base = self.chunks[idx] - idx * CHUNK_SIZE
            for data, _ in self.mf.data_extents(base + lo, hi - lo):
                return data - base
        return None

    def data_end(self, pos: int) -> int:
        """The end of the run of data starting at ``pos`` (``pos`` itself if it is in a hole)."""
        while True:
            idx, within = divmod(pos, CHUNK_SIZE)
            base = self.chunks.get(idx)
            if base is None:
                return pos
            ext = next(iter(self.mf.data_extents(base + within, CHUNK_SIZE - within)), None)
            if ext is None or ext[0] != base + within:
                return pos
            pos += ext[1]
            if within + ext[1] < CHUNK_SIZE:
                return pos

    def translate(self, offset: int, length: int) -> list[tuple[int, int]]:
        """MemoryFile (offset, length) ranges backing file bytes [offset, offset+length).

        ``offset`` and ``length`` must be page aligned. Adjacent chunks that are
        contiguous in the MemoryFile are merged, so a file cached in one go maps
        with one range.
        """
        if length <= 0:
            return []
        first, last = offset // CHUNK_SIZE, (offset + length - 1) // CHUNK_SIZE
        self._ensure(first, last)
        ranges: list[list[int]] = []
        pos, end = offset, offset + length
        while pos < end:
            idx, within = divmod(pos, CHUNK_SIZE)
            n = min(CHUNK_SIZE - within, end - pos)
            mf_off = self.chunks[idx] + within
            if ranges and ranges[-1][0] + ranges[-1][1] == mf_off:
                ranges[-1][1] += n
            else:
                ranges.append([mf_off, n])
            pos += n
        return [(a, b) for a, b in ranges]

    def extents(self, offset: int, length: int) -> list[tuple]:
        """(MemoryFile offset, or None for a hole, length) of file bytes [offset, offset+length),
        runs contiguous in the MemoryFile joined; nothing is allocated (a hole reads as zeros)."""
        out, pos, end, chunks = [], offset, offset + length, self.chunks
        while pos < end:
            idx, within = divmod(pos, CHUNK_SIZE)
            m = min(CHUNK_SIZE - within, end - pos)
            base = chunks.get(idx)
            at = None if base is None else base + within
            if at is not None and out and out[-1][0] is not None and out[-1][0] + out[-1][1] == at:
                out[-1] = (out[-1][0], out[-1][1] + m)
            else:
                out.append((at, m))
            pos += m
        return out

    def read(self, offset: int, length: int) -> bytes:
        if length <= 0:
            return b""
        return b"".join(self.mf.read(a, n) for a, n in self.translate_unaligned(offset, length))

    def write(self, offset: int, data) -> None:
        pos = 0
        mv = memoryview(data)
        for a, n in self.translate_unaligned(offset, len(data)):
            self.mf.write(a, mv[pos:pos + n])
            pos += n

    def translate_unaligned(self, offset: int, length: int) -> list[tuple[int, int]]:
        """Like translate, for any byte range."""
        start = offset - offset % CHUNK_SIZE
        ranges = self.translate(start, (offset + length) - start)
        skip = offset - start
        out = []
        for a, n in ranges:
            if skip >= n:
                skip -= n
                continue
            a, n = a + skip, n - skip
            skip = 0
            out.append((a, n))
        # Trim the tail to exactly ``length`` bytes.
        total, trimmed = 0, []
        for a, n in out:
            if total + n > length:
                n = length - total
            if n > 0:
                trimmed.append((a, n))
            total += n
        return trimmed

    def truncate(self, size: int) -> None:
        """Drop data at and beyond ``size``: whole chunks are freed, a partial one zeroed. Pages
        past the new end are unmapped from every address space first (Linux's
        unmap_mapping_range), so none can reach the freed memory once it is reused."""
        keep = (size + CHUNK_SIZE - 1) // CHUNK_SIZE
        dropped = [self.chunks.pop(idx) for idx in [i for i in self.chunks if i >= keep]]
        for mm in list(self.mappers):
            mm.file_truncated(self, page_round_up(size))
        for off in dropped:
            self.mf.free(off, CHUNK_SIZE)
        if size % CHUNK_SIZE:
            self.zero(size, (size // CHUNK_SIZE + 1) * CHUNK_SIZE)

    def zero(self, start: int, end: int) -> None:
        """Make file bytes [start, end) of the present chunks zero: partial pages written, whole
        pages given back to the host (a hole, as Linux frees truncated or punched pages)."""
        page = 4096
        pos = start
        while pos < end:
            idx, within = divmod(pos, CHUNK_SIZE)
            stop = min(end, (idx + 1) * CHUNK_SIZE)
            base = self.chunks.get(idx)
            if base is not None:
                lo, hi = page_round_up(pos), stop - stop % page
                if lo >= hi:
                    self.mf.write(base + within, bytes(stop - pos))
                else:
                    if lo > pos:
                        self.mf.write(base + within, bytes(lo - pos))
                    self.mf.decommit(base + lo - idx * CHUNK_SIZE, hi - lo)
                    if stop > hi:
                        self.mf.write(base + hi - idx * CHUNK_SIZE, bytes(stop - hi))
            pos = stop

    def release(self) -> None:
        for off in self.chunks.values():
            self.mf.free(off, CHUNK_SIZE)
        self.chunks.clear()

    def mark_dirty(self, offset: int, length: int) -> None:
        """File bytes [offset, offset+length) may be changed in the cache (a writable shared mapping)."""
        start, end = offset, offset + length
        if end <= start:
            return
        keep = []
        for a, b in self.dirty:
            if b < start or a > end:
                keep.append((a, b))
            else:           # overlapping or adjacent: merge
                start, end = min(a, start), max(b, end)
        keep.append((start, end))
        keep.sort()
        self.dirty = keep

    def data_ranges(self, offset: int, length: int):
        """(file offset, MemoryFile offset, length) of the cached bytes in [offset, offset+length)
        that hold data: chunks never made (a lazily mapped file's untouched pages), pages never
        filled with data nor written since (holes of the MemoryFile) are left out: they read as
        zeros, or as the backing file, and were never changed. Nothing is allocated here."""
        end = offset + length
        run = None   # the extent being gathered: runs contiguous in file and MemoryFile join
        for idx in sorted(i for i in self.chunks if i * CHUNK_SIZE < end and (i + 1) * CHUNK_SIZE > offset):
            lo, hi = max(offset, idx * CHUNK_SIZE), min(end, (idx + 1) * CHUNK_SIZE)
            base = self.chunks[idx] - idx * CHUNK_SIZE
            for data, m in self.mf.data_extents(base + lo, hi - lo):
                if run is not None and run[0] + run[2] == data - base and run[1] + run[2] == data:
                    run[2] += m
                    continue
                if run is not None:
                    yield tuple(run)
                run = [data - base, data, m]
        if run is not None:
            yield tuple(run)
