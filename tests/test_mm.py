"""MemoryManager and VMA arithmetic, without a stub (address_space=None: bookkeeping only)."""
import random

import pytest

from harness import errno_of

from snakevisor.abi import mm as M
from snakevisor.abi.errno import EFAULT, EINVAL, ENOMEM
from snakevisor.sentry.mm.manager import MMAP_TOP, MemoryManager
from snakevisor.sentry.mm.memoryfile import MemoryFile
from snakevisor.sentry.mm.pagecache import CHUNK_SIZE, PageCache
from snakevisor.sentry.mm import vma as vm
from snakevisor.sentry.mm.vma import VMASet

RW = M.PROT_READ | M.PROT_WRITE
ANON = M.MAP_PRIVATE | M.MAP_ANONYMOUS


@pytest.fixture(scope="module")
def mf():
    f = MemoryFile(size=1 << 34)
    yield f
    f.close()


@pytest.fixture
def mm(mf):
    m = MemoryManager(mf)
    yield m
    m.release_all()


def test_mmap_top_down_and_copy(mm):
    a = mm.mmap(0, 8192, RW, ANON)
    b = mm.mmap(0, 4096, RW, ANON)
    assert a + 8192 <= MMAP_TOP and b + 4096 <= a
    mm.copy_out(a + 4090, b"hello world")       # crosses a page, within one VMA
    assert mm.copy_in(a + 4090, 11) == b"hello world"
    assert mm.copy_in(a, 4) == b"\0\0\0\0"      # fresh anonymous memory is zero


def test_fixed_mapping_replaces_and_splits(mm):
    a = mm.mmap(0, 3 * 4096, RW, ANON)
    mm.copy_out(a, b"A" * 3 * 4096)
    mm.mmap(a + 4096, 4096, M.PROT_READ, ANON | M.MAP_FIXED)
    assert [(v.start - a, v.end - a, v.prot) for v in mm.vmas] == [(0, 4096, RW), (4096, 8192, M.PROT_READ),
                                                                  (8192, 12288, RW)]
    assert mm.copy_in(a + 4096, 2) == b"\0\0"
    assert mm.copy_in(a + 8192, 2) == b"AA"


def test_copy_faults(mm):
    a = mm.mmap(0, 4096, M.PROT_READ, ANON)
    assert errno_of(mm.copy_out, a, b"x") == EFAULT           # read-only
    assert errno_of(mm.copy_in, a + 4000, 200) == EFAULT      # runs off the end
    assert errno_of(mm.copy_in, 0x1000, 1) == EFAULT          # unmapped
    mm.copy_out(a + 4095, b"x", force=True)                   # the loader's way into read-only pages
    assert errno_of(mm.read_cstring, a + 4095, 10) == EFAULT  # no NUL before the end


def test_munmap_middle_and_errors(mm):
    a = mm.mmap(0, 3 * 4096, RW, ANON)
    mm.munmap(a + 4096, 4096)
    assert mm.vmas.find(a + 4096) is None and mm.vmas.find(a) and mm.vmas.find(a + 8192)
    assert errno_of(mm.munmap, a + 1, 4096) == EINVAL
    assert errno_of(mm.munmap, a, 0) == EINVAL
    assert mm.munmap(a + 4096, 4096) == 0                     # unmapping a hole is fine


def test_mprotect_requires_mapping(mm):
    a = mm.mmap(0, 2 * 4096, RW, ANON)
    mm.munmap(a + 4096, 4096)
    assert errno_of(mm.mprotect, a, 2 * 4096, M.PROT_READ) == ENOMEM
    assert mm.mprotect(a, 4096, M.PROT_READ) == 0
    assert mm.vmas.find(a).prot == M.PROT_READ


def test_mremap_grow_in_place_and_move(mm):
    a = mm.mmap(0, 4096, RW, ANON)
    mm.copy_out(a, b"keep")
    # Something right after it forces a move.
    mm.mmap(a + 4096, 4096, RW, ANON | M.MAP_FIXED)
    assert errno_of(mm.mremap, a, 4096, 8192, 0) == ENOMEM
    b = mm.mremap(a, 4096, 8192, M.MREMAP_MAYMOVE)
    assert b != a and mm.copy_in(b, 4) == b"keep" and mm.vmas.find(a) is None
    assert mm.copy_in(b + 4096, 4) == b"\0\0\0\0"
    assert mm.mremap(b, 8192, 4096, 0) == b and mm.vmas.find(b + 4096) is None


def test_brk_grows_and_shrinks(mm):
    mm.brk_start = mm.brk_end = 0x600000
    assert mm.brk(0) == 0x600000
    assert mm.brk(0x600000 + 10000) == 0x600000 + 10000
    mm.copy_out(0x600000 + 9000, b"x")
    assert mm.brk(0x600000 + 100) == 0x600000 + 100
    assert mm.vmas.find(0x600000 + 9000) is None
    assert mm.brk(0x100) == 0x600000 + 100                   # below the start: unchanged


def test_madvise_dontneed_zeroes_private_anon(mm):
    a = mm.mmap(0, 4096, RW, ANON)
    mm.copy_out(a, b"data")
    assert mm.madvise(a, 4096, M.MADV_DONTNEED) == 0
    assert mm.copy_in(a, 4) == b"\0\0\0\0"
    assert errno_of(mm.madvise, a, 4096, 12345) == EINVAL


def test_vmaset_find_gap():
    s = VMASet()
    from snakevisor.sentry.mm.vma import VMA
    s.insert(VMA(0x10000, 0x20000, 0, "anon", 0))
    s.insert(VMA(0x30000, 0x40000, 0, "anon", 0))
    assert s.find_gap(0x10000, 0x40000, 0x10000) == 0x20000
    assert s.find_gap(0x20000, 0x40000, 0x10000) is None
    assert s.find_gap(0x10000, 0x50000, 0x10000) == 0x40000


def test_pagecache_translate_merges_and_fills(mf):
    calls = []

    def fill(off, n):
        calls.append((off, n))
        return b"Z" * n
    c = PageCache(mf, fill)
    ranges = c.translate(0, 3 * CHUNK_SIZE)
    assert len(ranges) == 1 and ranges[0][1] == 3 * CHUNK_SIZE and calls == [(0, 3 * CHUNK_SIZE)]
    assert c.read(CHUNK_SIZE - 1, 2) == b"ZZ"
    c.truncate(10)
    assert c.read(0, 12) == b"Z" * 10 + b"\0\0"
    c.release()


def _linear_find_gap(vmas, length, top, bottom):
    """The highest free range by scanning every VMA from the top: what find_gap must answer."""
    hi = top
    for v in reversed(vmas):
        if v.start >= hi:
            continue
        if hi - max(v.end, bottom) >= length:
            return hi - length
        hi = v.start
        if hi - bottom < length:
            return None
    return hi - length if hi - bottom >= length else None


def test_find_gap_resuming_below_its_last_answer_agrees_with_a_full_scan():
    """find_gap skips what its last answer left packed; across random mmaps, munmaps and fixed
    mappings its answers are the full scan's."""
    rng = random.Random(7)
    page, top, bottom = 4096, 1000 * 4096, 10 * 4096
    for _ in range(100):
        s = VMASet()
        for _ in range(200):
            op = rng.random()
            if op < 0.6:
                length = rng.choice([1, 1, 2, 3, 8]) * page
                got = s.find_gap(length, top, bottom)
                assert got == _linear_find_gap(s.vmas, length, top, bottom)
                if got is not None and rng.random() < 0.9:
                    s.insert(vm.VMA(got, got + length, 3, vm.ANON, 0))
            elif op < 0.8 and s.vmas:
                s.remove([rng.choice(s.vmas)])
            else:
                addr = rng.randrange(bottom, top - 4 * page, page)
                if s.is_free(addr, addr + page):
                    s.insert(vm.VMA(addr, addr + page, 3, vm.ANON, 0))
