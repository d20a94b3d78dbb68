"""The pages of a tmpfs file charged to its filesystem's size limit, as shmem counts blocks: a page
is charged when a write or fallocate first allocates it and uncharged when truncation or a punched
hole frees it; a size grown by ftruncate charges nothing (a sparse file). Kept as sorted, disjoint
runs of page numbers, so a file written in order is one run whatever its size."""
import bisect

from snakevisor.sentry.mm.memoryfile import PAGE_SIZE as PAGE


def pages_up(n: int) -> int:
    """Pages holding bytes [0, n)."""
    return -(-n // PAGE)


def page_span(offset: int, length: int) -> tuple[int, int]:
    """The pages [first, end) holding bytes [offset, offset+length)."""
    return offset // PAGE, pages_up(offset + length)


class ChargedPages:
    __slots__ = ("starts", "ends", "total")

    def __init__(self):
        self.starts: list[int] = []   # runs [starts[i], ends[i]) of page numbers
        self.ends: list[int] = []
        self.total = 0                # pages in all runs: stat asks on every call

    def count(self) -> int:
        """How many pages are charged."""
        return self.total

    def covers(self, first: int, end: int) -> bool:
        """Are all pages of [first, end) charged (one run holds them)?"""
        j = bisect.bisect_right(self.starts, first) - 1
        return j >= 0 and end <= self.ends[j]

    def missing(self, first: int, end: int) -> int:
        """How many pages of [first, end) are not charged yet."""
        have, j = 0, max(0, bisect.bisect_right(self.starts, first) - 1)
        while j < len(self.starts) and self.starts[j] < end:
            have += max(0, min(self.ends[j], end) - max(self.starts[j], first))
            j += 1
        return end - first - have

    def fit(self, first: int, end: int, room: int) -> int:
        """The end of the longest run of pages from ``first`` (up to ``end``) that ``room`` more
        charged pages cover: where a write that allocates page by page stops (shmem_write_begin)."""
        pos, j = first, max(0, bisect.bisect_right(self.starts, first) - 1)
        while pos < end:
            if j < len(self.starts) and self.starts[j] <= pos < self.ends[j]:
                pos = min(self.ends[j], end)
                j += 1
                continue
            if j < len(self.starts) and self.ends[j] <= pos:
                j += 1
                continue
            gap_end = min(self.starts[j], end) if j < len(self.starts) else end
            if gap_end - pos > room:
                return pos + room
            room -= gap_end - pos
            pos = gap_end
        return end

    def add(self, first: int, end: int) -> int:
        """Charge [first, end); returns how many pages were not charged before."""
        if end <= first:
            return 0
        new = self.missing(first, end)
        lo = bisect.bisect_left(self.ends, first)    # the first run ending at or after first
        hi = bisect.bisect_right(self.starts, end)   # past the last run starting at or before end
        if lo < hi:
            first, end = min(first, self.starts[lo]), max(end, self.ends[hi - 1])
        self.starts[lo:hi], self.ends[lo:hi] = [first], [end]
        self.total += new
        return new

    def cut(self, first: int, end: int | None = None) -> int:
        """Uncharge [first, end) (None: every page from ``first``); returns how many were charged."""
        end = max(self.ends, default=first) if end is None else end
        if end <= first:
            return 0
        lo = bisect.bisect_right(self.ends, first)   # the first run ending after first
        hi = bisect.bisect_left(self.starts, end)    # past the last run starting before end
        removed, keep_s, keep_e = 0, [], []
        for s, e in zip(self.starts[lo:hi], self.ends[lo:hi]):
            removed += min(e, end) - max(s, first)
            if s < first:
                keep_s.append(s), keep_e.append(first)
            if e > end:
                keep_s.append(end), keep_e.append(e)
        self.starts[lo:hi], self.ends[lo:hi] = keep_s, keep_e
        self.total -= removed
        return removed

    def run_at(self, page: int) -> tuple[int, int]:
        """The charged run [start, end) holding ``page`` ((page, page) if it is not charged)."""
        j = bisect.bisect_right(self.starts, page) - 1
        if j >= 0 and page < self.ends[j]:
            return self.starts[j], self.ends[j]
        return page, page
