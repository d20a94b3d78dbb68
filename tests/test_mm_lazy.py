"""File mappings made lazily (mm/lazy.py: a large FILE VMA's pages are made and mapped into the
stub on first touch): tests/programs/mmap_lazy.c natively and in the sandbox, and the bookkeeping
alone (no stub) on a PageCache-backed file."""
import shutil
import tempfile

import pytest

from harness import compile_c, errno_of, run_sandboxed

from snakevisor.abi import mm as M
from snakevisor.abi.errno import EFAULT, ENOMEM, SyscallError
from snakevisor.sentry.mm import lazy, procmaps
from snakevisor.sentry.mm.manager import MemoryManager
from snakevisor.sentry.mm.mappable import Mappable
from snakevisor.sentry.mm.memoryfile import MemoryFile
from snakevisor.sentry.mm.pagecache import PageCache

RW = M.PROT_READ | M.PROT_WRITE
MIB = 1 << 20


def test_huge_sparse_file_mappings_match_linux(differential):
    # A host directory the sandbox reaches through the gofer (its /tmp is a tmpfs of its own).
    scratch = tempfile.mkdtemp(prefix="mmap_lazy.", dir="/var/tmp")
    try:
        native, _ = differential([compile_c("mmap_lazy"), scratch], native_status=0)
    finally:
        shutil.rmtree(scratch)
    assert b"host file: sees host" in native.stdout


@pytest.mark.parametrize("platform", ["ptrace", "systrap"])
def test_touching_lazy_pages_past_the_memory_limit_kills_the_toucher(platform):
    """The chunks a touch makes count against --memory as any: a child touching all of a 1 GiB
    memfd under 64 MiB is killed (Linux's memory cgroup OOM kill); its parent carries on."""
    res = run_sandboxed([compile_c("mmap_lazy"), "fill"], flags=("--platform", platform, "--memory", "64m"))
    assert res.returncode == 0, res.stdout + res.stderr
    assert res.stdout == b"child killed by signal 9\n", res.stdout
    assert b"out of memory for a copy-on-write page or a file's page" in res.stderr, res.stderr


class _Mappable(Mappable):
    def __init__(self, cache, size):
        self.cache, self.size, self.refs = cache, size, 0

    def translate(self, offset, length):
        return self.cache.translate(offset, length)

    def inc_ref(self):
        self.refs += 1
        return self

    def dec_ref(self):
        self.refs -= 1


class _File:
    """A FileDescription as mm sees it: a mappable, and references its VMAs hold (vm_file)."""

    def __init__(self, mf, size):
        self.m = _Mappable(PageCache(mf), size)
        self.refs = 0

    def mappable(self):
        return self.m

    def inc_ref(self):
        self.refs += 1

    def dec_ref(self):
        self.refs -= 1
        assert self.refs >= 0


@pytest.fixture
def setup():
    mf = MemoryFile(size=1 << 34)
    mm = MemoryManager(mf)
    yield mm, _File(mf, 64 * MIB)
    mm.release_all()
    mf.close()


def _lazy_flags(mm):
    return [v.lazy for v in mm.vmas]


def test_large_mapping_makes_no_pages_until_touched(setup):
    mm, f = setup
    a = mm.mmap(0, 64 * MIB, RW, M.MAP_SHARED, f)
    assert _lazy_flags(mm) == [True] and not f.m.cache.chunks and f.m.refs == 1
    mm.copy_out(a + 10 * MIB + 5, b"hello")                  # the Sentry's own access makes a window
    assert _lazy_flags(mm) == [True, False, True]
    assert len(f.m.cache.chunks) == lazy.FAULT_AROUND // (64 << 10)
    assert mm.copy_in(a + 10 * MIB + 5, 5) == b"hello" and f.m.cache.read(10 * MIB + 5, 5) == b"hello"
    assert mm.handle_fault(a + 10 * MIB + lazy.FAULT_AROUND, 1, 0)   # SEGV_MAPERR there: the next window
    assert _lazy_flags(mm) == [True, False, True]            # joined to the first (contiguous memory)
    assert f.m.refs == f.refs == len(mm.vmas)               # each VMA holds the mapping and the file
    assert mm.copy_in(a + 64 * MIB - 1, 1) == b"\0" and f.m.refs == f.refs == len(mm.vmas)
    mm.munmap(a, 64 * MIB)
    assert f.m.refs == f.refs == 0 and not list(mm.vmas)


def test_small_and_populated_mappings_are_eager(setup):
    mm, f = setup
    mm.mmap(0, lazy.LAZY_MIN - 4096, M.PROT_READ, M.MAP_PRIVATE, f)
    mm.mmap(0, 4 * MIB, M.PROT_READ, M.MAP_SHARED | M.MAP_POPULATE, f, 8 * MIB)
    assert _lazy_flags(mm) == [False, False]


def test_at_the_vma_limit_the_whole_lazy_mapping_is_made(setup):
    mm, f = setup
    a = mm.mmap(0, 8 * MIB, RW, M.MAP_SHARED, f)
    v = lazy.populate(mm, a + MIB, len(mm.vmas) + 1)       # no room to split: all of it, one VMA
    assert _lazy_flags(mm) == [False] and (v.start, v.end) == (a, a + 8 * MIB)
    b = mm.mmap(0, 8 * MIB, RW, M.MAP_SHARED, f, 32 * MIB)
    f.m.cache.translate(36 * MIB, 4096)                     # its chunks now lie in two places
    assert errno_of(lazy.populate, mm, b, len(mm.vmas)) == ENOMEM


def test_private_lazy_mapping_made_writable_copies_the_file(setup):
    mm, f = setup
    f.m.cache.write(3 * MIB, b"file")
    a = mm.mmap(0, 8 * MIB, M.PROT_READ, M.MAP_PRIVATE, f)
    assert errno_of(mm.copy_out, a, b"x") == EFAULT
    mm.mprotect(a, 8 * MIB, RW)
    mm.copy_out(a + 3 * MIB, b"mine")
    assert mm.copy_in(a + 3 * MIB, 4) == b"mine" and f.m.cache.read(3 * MIB, 4) == b"file"


def test_write_back_allocates_no_chunk(setup):
    mm, f = setup
    cache = f.m.cache
    cache.write(5 * MIB + 10, b"dirty")
    cache.mark_dirty(0, 64 * MIB)
    before = dict(cache.chunks)
    assert [(foff, n) for foff, _, n in cache.data_ranges(0, 64 * MIB)] == [(5 * MIB, 4096)]
    assert cache.chunks == before


def test_maps_shows_a_partly_touched_lazy_mapping_as_one(setup):
    mm, f = setup
    f.stat = lambda: (_ for _ in ()).throw(OSError())    # a maps line never fails for a stale file
    a = mm.mmap(0, 64 * MIB, RW, M.MAP_SHARED, f, 0, name="/big")
    mm.copy_in(a + 5 * MIB, 1)
    mm.copy_in(a + 9 * MIB, 1)
    assert len(mm.vmas) == 5
    assert procmaps.maps_text(mm) == f"{a:08x}-{a + 64 * MIB:08x} rw-s 00000000 00:00 0".ljust(73) + "/big\n"


def test_a_forward_scan_makes_growing_windows(setup):
    mm, f = setup
    a = mm.mmap(0, 64 * MIB, M.PROT_READ, M.MAP_SHARED, f)
    for off in (0, lazy.FAULT_AROUND, 2 * lazy.FAULT_AROUND):   # each touch the first page still lazy
        assert mm.handle_fault(a + off, 1, 0)
    assert len(f.m.cache.chunks) * (64 << 10) == 4 * lazy.FAULT_AROUND   # 1 + 1 + 2 windows
    assert mm.handle_fault(a + 32 * MIB, 1, 0)               # a jump: one window again
    assert len(f.m.cache.chunks) * (64 << 10) == 5 * lazy.FAULT_AROUND
    assert mm.handle_fault(a, 1, 0)                           # made meanwhile (another thread): retried
    assert not mm.handle_fault(mm.mmap(0, 4096, RW, M.MAP_PRIVATE | M.MAP_ANONYMOUS), 1, 0)


def test_address_space_reservations_match_linux(differential):
    """Terabytes of PROT_NONE reserved cost nothing until mprotect makes a part accessible (V8's
    cage, wasm memories): 16 TiB reserved, 8 MiB of it used through fork and madvise, several
    8 GiB reservations; a touch of the reserved part is SIGSEGV with SEGV_ACCERR, as on Linux."""
    native, _ = differential([compile_c("mm_reserve")], native_status=0)
    assert b"reserve 16 TiB: ok" in native.stdout and b"child sees 90 7" in native.stdout


def test_a_reservation_has_memory_only_where_made_accessible(setup):
    mm, _ = setup
    mf = mm.mf
    before = mf.allocated
    a = mm.mmap(0, 1 << 40, M.PROT_NONE, M.MAP_PRIVATE | M.MAP_ANONYMOUS)
    assert _lazy_flags(mm) == [True] and mf.allocated == before
    with pytest.raises(SyscallError) as e:
        mm.copy_in(a + MIB, 1)
    assert e.value.errno == EFAULT
    mm.mprotect(a + 4 * MIB, 2 * MIB, RW)
    assert _lazy_flags(mm) == [True, False, True] and mf.allocated == before + 2 * MIB
    mm.copy_out(a + 5 * MIB, b"kept")
    assert mm.copy_in(a + 5 * MIB, 4) == b"kept"
    mm.munmap(a, 1 << 40)
    assert len(mm.vmas) == 0 and mf.allocated == before


def test_address_sanitizer_runs(differential):
    """A program built with AddressSanitizer starts (its shadow memory is a ~15 TiB MAP_NORESERVE
    reservation, made a window at a time where touched) and reports a heap overflow as natively."""
    binary = compile_c("asan_overflow", extra=("-fsanitize=address",))
    native, boxed = differential([binary], native_status=1)
    for r in (native, boxed):
        assert b"ERROR: AddressSanitizer: heap-buffer-overflow" in r.stderr, r.stderr[-2000:]


def test_a_noreserve_reservation_makes_windows_where_touched(setup):
    mm, _ = setup
    mf = mm.mf
    before = mf.allocated
    a = mm.mmap(0, 1 << 40, RW, M.MAP_PRIVATE | M.MAP_ANONYMOUS | M.MAP_NORESERVE)
    assert _lazy_flags(mm) == [True] and mf.allocated == before
    mm.copy_out(a + lazy.ANON_WINDOW + 5, b"one")           # the Sentry's own access makes a window
    assert _lazy_flags(mm) == [True, False, True] and mf.allocated == before + lazy.ANON_WINDOW
    assert mm.handle_fault(a + 2 * lazy.ANON_WINDOW, 1, 0)   # SEGV_MAPERR there: the next window
    assert _lazy_flags(mm) == [True, False, True]            # joined to the first (contiguous memory)
    assert mm.copy_in(a + lazy.ANON_WINDOW + 5, 3) == b"one" and mm.copy_in(a + 3 * lazy.ANON_WINDOW - 1, 1) == b"\0"
    mm.munmap(a, 1 << 40)
    assert len(mm.vmas) == 0 and mf.allocated == before


def test_small_anonymous_mappings_stay_eager(setup):
    mm, _ = setup
    mm.mmap(0, 64 * MIB, M.PROT_NONE, M.MAP_PRIVATE | M.MAP_ANONYMOUS)   # a malloc arena
    mm.mmap(0, 64 * MIB, RW, M.MAP_PRIVATE | M.MAP_ANONYMOUS | M.MAP_NORESERVE)
    assert _lazy_flags(mm) == [False, False]
