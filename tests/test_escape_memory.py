"""Memory isolation: what one sandboxed process must never see of another's memory, and what a
mapping must never be allowed to write (issue 11: truncation of mapped files, VM_MAYWRITE and memfd
seals, and a MemoryFile allocator that reuses any freed space)."""
import random

import pytest

from conftest import compile_c, run_native, run_sandboxed
from snakevisor.sentry.mm.memoryfile import PAGE_SIZE, FreeExtents


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
    prog = compile_c("mem_truncate")
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
