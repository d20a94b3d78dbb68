"""Memory isolation: what one sandboxed process must never see of another's memory, and what a
mapping must never be allowed to write (issue 11: truncation of mapped files, VM_MAYWRITE and memfd
seals, and a MemoryFile allocator that reuses any freed space)."""
import random

import pytest

from harness import compile_c, run_native, run_sandboxed
from mm_support import PageCacheFile
from snakevisor.abi import mm as M
from snakevisor.abi.errno import EACCES, EFAULT, SyscallError
from snakevisor.sentry.mm.manager import MemoryManager
from snakevisor.sentry.mm.memoryfile import PAGE_SIZE, FreeExtents, MemoryFile
from snakevisor.sentry.mm.pagecache import CHUNK_SIZE


# -- the MemoryFile allocator ------------------------------------------------------------------
def _check_extents(ext, live):
    """No free extent overlaps a live one or another free one; free + live covers [0, top) exactly."""
    spans = sorted([(o, n, "free") for o, n in ext.length_of.items()] + [(o, n, "live") for o, n in live.items()])
    pos = 0
    for off, n, _ in spans:
        assert off == pos, f"gap or overlap at {pos:#x} (next span at {off:#x})"
        pos = off + n
    assert pos == ext.top
    assert ext.starts == sorted(ext.length_of)
    assert ext.by_size == sorted((n, o) for o, n in ext.length_of.items())
    for a, b in zip(ext.starts, ext.starts[1:]):
        assert a + ext.length_of[a] < b, "adjacent free extents were not merged"
    if ext.starts:
        last = ext.starts[-1]
        assert last + ext.length_of[last] < ext.top, "a free extent at the top was not given back"


@pytest.mark.parametrize("seed", range(6))
def test_allocator_random_against_model(seed):
    rng = random.Random(seed)
    ext = FreeExtents(1 << 40)
    live = {}
    peak_live = live_bytes = 0
    for step in range(4000):
        if live and (rng.random() < 0.48 or live_bytes > 512 << 20):
            off = rng.choice(list(live))
            ext.give(off, live.pop(off))
            live_bytes = sum(live.values())
        else:
            n = PAGE_SIZE * rng.choice((1, 2, 3, 16, rng.randint(1, 4096), rng.randint(1, 65536)))
            off = ext.take(n)
            assert off is not None and off % PAGE_SIZE == 0
            live[off] = n
            live_bytes += n
            peak_live = max(peak_live, live_bytes)
        if step % 97 == 0:
            _check_extents(ext, live)
        # Bounded growth: fragmentation never makes the used span more than twice the peak.
        assert ext.top <= 2 * peak_live + (256 << 20)
    _check_extents(ext, live)
    for off in list(live):
        ext.give(off, live.pop(off))
    assert ext.top == 0 and not ext.starts and not ext.by_size   # everything merged back


def test_allocator_best_fit_and_reuse_of_other_sizes():
    ext = FreeExtents(1 << 40)
    a, b, c = ext.take(8 * PAGE_SIZE), ext.take(2 * PAGE_SIZE), ext.take(4 * PAGE_SIZE)
    ext.take(PAGE_SIZE)                               # keeps c's space below the top
    ext.give(a, 8 * PAGE_SIZE)
    ext.give(c, 4 * PAGE_SIZE)
    assert ext.take(3 * PAGE_SIZE) == c               # the smallest extent that fits
    assert ext.take(5 * PAGE_SIZE) == a               # a size never allocated before reuses a's space
    ext.give(b, 2 * PAGE_SIZE)                        # merges with the rest of a: one extent
    assert ext.length_of == {a + 5 * PAGE_SIZE: 5 * PAGE_SIZE, c + 3 * PAGE_SIZE: PAGE_SIZE}
    with pytest.raises(ValueError):
        ext.give(b, 2 * PAGE_SIZE)                    # a double free is a bug, never silent


def test_allocator_exhaustion_and_recovery():
    ext = FreeExtents(64 * PAGE_SIZE)
    offs = [ext.take(16 * PAGE_SIZE) for _ in range(4)]
    assert ext.take(PAGE_SIZE) is None
    for off in offs[1:3]:
        ext.give(off, 16 * PAGE_SIZE)
    assert ext.take(32 * PAGE_SIZE) == offs[1]        # two freed neighbours serve a bigger request


def test_mmap_cycles_of_varying_sizes_do_not_exhaust_memory():
    """Each cycle maps a size never mapped before: the old allocator (reuse of the same size only)
    ran out of its 1 TiB after about 1,450 cycles here; every cycle must succeed, as natively."""
    prog = compile_c("mem_cycle")
    native = run_native([prog, "2200"], timeout=300)
    assert native.returncode == 0, native.stdout
    boxed = run_sandboxed([prog, "2200"], timeout=600)
    assert boxed.stdout == native.stdout == b"2200 cycles ok\n", (
        boxed.stdout, boxed.stderr.decode(errors="replace")[-2000:])
    assert boxed.returncode == 0


@pytest.fixture
def mf():
    f = MemoryFile(size=1 << 34)
    yield f
    f.close()


def test_truncate_bookkeeping_every_mapper(mf):
    """Every MemoryManager that maps the file loses the pages past the new end (EFAULT for the
    Sentry's own copies) before the PageCache frees them; growing again maps fresh pages."""
    file = PageCacheFile(mf, 4 * CHUNK_SIZE)
    file.cache.write(0, b"F" * 4 * CHUNK_SIZE)
    a, b = MemoryManager(mf), MemoryManager(mf)
    pa = a.mmap(0, 4 * CHUNK_SIZE, M.PROT_READ | M.PROT_WRITE, M.MAP_SHARED, file)
    pb = b.mmap(0, 4 * CHUNK_SIZE, M.PROT_READ, M.MAP_PRIVATE, file)
    old = a.vmas.find(pa + 2 * CHUNK_SIZE).mf_off
    file.size = 5000
    file.cache.truncate(5000)
    for mm, base in ((a, pa), (b, pb)):
        assert mm.copy_in(base, 1) == b"F"
        with pytest.raises(SyscallError) as e:
            mm.copy_in(base + 2 * PAGE_SIZE, 1)
        assert e.value.errno == EFAULT
        assert mm.accessible_span(base, 4 * CHUNK_SIZE) == 2 * PAGE_SIZE
    secret = mf.allocate(2 * CHUNK_SIZE)         # the freed chunks are someone else's now
    mf.write(secret, b"S" * 2 * CHUNK_SIZE)
    file.size = 4 * CHUNK_SIZE
    assert a.fault_past_eof(pa + 2 * CHUNK_SIZE) is None   # grown: mapped again, to new pages
    v = a.vmas.find(pa + 2 * CHUNK_SIZE)
    assert not v.past_eof and v.mf_off != old
    assert a.copy_in(pa + 2 * CHUNK_SIZE, 4) == b"\0\0\0\0"
    a.release_all()
    b.release_all()


def test_may_write_and_may_exec_bound_mprotect(mf):
    file = PageCacheFile(mf, CHUNK_SIZE)
    mm = MemoryManager(mf)
    p = mm.mmap(0, 2 * PAGE_SIZE, M.PROT_READ, M.MAP_SHARED, file, maywrite=False, mayexec=False)
    for prot in (M.PROT_READ | M.PROT_WRITE, M.PROT_WRITE, M.PROT_READ | M.PROT_EXEC):
        with pytest.raises(SyscallError) as e:
            mm.mprotect(p, 2 * PAGE_SIZE, prot)
        assert e.value.errno == EACCES
    assert [v.prot for v in mm.vmas] == [M.PROT_READ]          # nothing changed on failure
    assert mm.mprotect(p + PAGE_SIZE, PAGE_SIZE, M.PROT_NONE) == 0
    with pytest.raises(SyscallError):                          # the split halves keep the limits
        mm.mprotect(p, PAGE_SIZE, M.PROT_READ | M.PROT_WRITE)
    assert not mm.maps_shared_writable(file.cache)
    mm.mmap(0, PAGE_SIZE, M.PROT_READ, M.MAP_SHARED, file)
    assert mm.maps_shared_writable(file.cache)                 # could be mprotected writable: seals wait
    mm.release_all()


def test_private_mapping_past_eof_made_writable_never_writes_the_file(mf):
    """mprotect(PROT_WRITE) of a private mapping whose pages lie past the end of its file: nothing
    of the file becomes a writer's (it took the shared-writer path, marking the file's pages dirty,
    so a write-back could put stale bytes over the file); when the file grows back, the mapping's
    writes stay private."""
    class Recording(PageCacheFile):
        writers = []

        def writable_mapping(self, offset, length):
            self.writers.append((offset, length))
            return self

    file = Recording(mf, 2 * PAGE_SIZE)
    file.cache.write(0, b"F" * 2 * PAGE_SIZE)
    mm = MemoryManager(mf)
    p = mm.mmap(0, 2 * PAGE_SIZE, M.PROT_READ, M.MAP_PRIVATE, file)
    file.size = PAGE_SIZE
    file.cache.truncate(PAGE_SIZE)
    mm.file_truncated(file.cache, PAGE_SIZE)
    assert mm.mprotect(p, 2 * PAGE_SIZE, M.PROT_READ | M.PROT_WRITE) == 0
    assert file.writers == []
    file.size = 2 * PAGE_SIZE
    file.cache.write(PAGE_SIZE, b"G" * PAGE_SIZE)
    assert mm.fault_past_eof(p + PAGE_SIZE) is None            # grown back: mapped again
    mm.copy_out(p, b"private")
    mm.copy_out(p + PAGE_SIZE, b"private")
    assert file.cache.read(0, 7) == b"FFFFFFF" and file.cache.read(PAGE_SIZE, 7) == b"GGGGGGG"
    assert file.writers == []
    mm.release_all()


# -- 1. truncating a mapped file -----------------------------------------------------------------
TRUNCATE_CASES = {
    # kind: (native arguments, sandbox arguments); {tmp} is a host directory, /vol the same one in the sandbox
    "memfd": (["memfd"], ["memfd"]),
    "tmpfs": (["tmpfs", "/dev/shm/snakevisor-mmt-{pid}"], ["tmpfs", "/tmp/f"]),
    "volume": (["file", "{tmp}/f"], ["file", "/vol/f"]),
    "overlay": (["file", "{tmp}/g"], ["file", "/var/tmp/snakevisor-mmt"]),
}


@pytest.mark.parametrize("kind", sorted(TRUNCATE_CASES))
def test_truncated_mapping_faults_and_never_shows_another_process_memory(kind, tmp_path):
    """A maps a file and shrinks it, B then fills fresh memory with a secret: A gets SIGBUS past the
    new end (the old code left the freed pages mapped; B's next allocation got them and A read all
    64 of B's secret pages), EFAULT from syscalls, zeros when the file grows again; a truncation by
    B reaches A blocked in a syscall and A running application code alike."""
    import os
    prog = compile_c("mem_truncate", extra=("-pthread",))
    native_args, boxed_args = TRUNCATE_CASES[kind]
    fill = {"tmp": str(tmp_path), "pid": os.getpid()}
    native_args = [a.format(**fill) for a in native_args]
    try:
        native = run_native([prog, *native_args], timeout=60)
    finally:
        if kind == "tmpfs" and os.path.exists(native_args[1]):
            os.unlink(native_args[1])
    assert native.returncode == 0 and b"shared page 2 read: SIGBUS" in native.stdout, native.stdout
    boxed = run_sandboxed([prog, *boxed_args], flags=("--volume", f"{tmp_path}:/vol"), timeout=180)
    assert boxed.stdout == native.stdout, (boxed.stdout.decode(errors="replace"),
                                           boxed.stderr.decode(errors="replace")[-2000:])
    assert boxed.returncode == 0


# -- 2. writing what you may only read -----------------------------------------------------------
@pytest.fixture
def root_owned_dir():
    """A host directory nobody may enter, holding a root-owned 0644 file (not under /tmp/pytest-of-root,
    which is 0700: uid 65534 could not reach it natively)."""
    import os
    import shutil
    import tempfile
    d = tempfile.mkdtemp(prefix="snakevisor-mm-", dir="/var/tmp")
    os.chmod(d, 0o755)
    victim = os.path.join(d, "victim")
    with open(victim, "w") as f:
        f.write("root-owned original\n")
    os.chmod(victim, 0o644)
    yield d
    shutil.rmtree(d)


def test_readonly_fd_shared_mapping_cannot_become_writable_on_a_volume(root_owned_dir):
    """uid 65534 maps a root-owned 0644 host file (opened O_RDONLY) MAP_SHARED PROT_READ through a
    read-write volume: mprotect(PROT_WRITE) is EACCES as natively (the old code said 0, and the
    write reached the host file through the Gofer)."""
    import os
    if os.geteuid() != 0:
        pytest.skip("needs root to drop to uid 65534 natively")
    prog = compile_c("mem_rdonly")
    victim = os.path.join(root_owned_dir, "victim")
    native = run_native([prog, victim, "nobody"])
    assert b"mprotect shared read-only mapping RW: -1 EACCES" in native.stdout, native.stdout
    boxed = run_sandboxed([prog, "/vol/victim", "nobody"], flags=("--volume", f"{root_owned_dir}:/vol"))
    with open(victim) as f:
        assert f.read() == "root-owned original\n"
    assert boxed.stdout == native.stdout, boxed.stderr.decode(errors="replace")[-2000:]
    assert boxed.returncode == native.returncode == 0


def test_readonly_fd_shared_mapping_cannot_rewrite_etc_passwd_in_the_overlay():
    """The same through the overlay root: /etc/passwd stays as it was (the old code let nobody
    write OWNED over its first bytes)."""
    import os
    if os.geteuid() != 0:
        pytest.skip("needs root to drop to uid 65534 natively")
    prog = compile_c("mem_rdonly")
    native = run_native([prog, "/etc/passwd", "nobody"])
    assert b"mprotect shared read-only mapping RW: -1 EACCES" in native.stdout, native.stdout
    with open("/etc/passwd", "rb") as f:
        head = f.read(16)
    boxed = run_sandboxed(["/bin/sh", "-c", f"{prog} /etc/passwd nobody && head -c 16 /etc/passwd"])
    assert boxed.stdout == native.stdout + head, boxed.stderr.decode(errors="replace")[-2000:]
    assert boxed.returncode == 0


def test_memfd_write_seals_bind_mappings(differential):
    """F_SEAL_WRITE: EBUSY while a shared mapping may write, then no writable shared mapping, new or
    mprotected (the old code sealed regardless and let both through); F_SEAL_FUTURE_WRITE likewise
    for new mappings."""
    differential([compile_c("mem_seals")])
