"""Memory is handed out again only once no stub can write it: a killed stub's threads run on until
SIGKILL takes hold of each (one on another CPU writes its mappings after kill() returns), and a
live stub's other threads may write a range until its host mapping is gone. Freed too early, that
memory went to another process with their writes in it: parallel Go builds crashed with
corrupted runtime counters ("sysMemStat overflow", "runtime·unlock: lock count").

MemoryFile's hold_frees, and the order in which the MemoryManager tells its stub and frees."""
import os
import signal
import subprocess

import pytest

from harness import compile_c, sandbox_cmd, sandbox_env
from do_support import sentry_of
from mm_support import PageCacheFile
from snakevisor.abi import mm as M
from snakevisor.abi.mm import PAGE_SIZE
from snakevisor.sentry.mm.manager import COW_CHUNK, MemoryManager
from snakevisor.sentry.mm.memoryfile import MemoryFile

MB = 1 << 20
RW = M.PROT_READ | M.PROT_WRITE
ANON = M.MAP_PRIVATE | M.MAP_ANONYMOUS


class LoggedMemoryFile(MemoryFile):
    def __init__(self, log):
        super().__init__(size=1 << 32)
        self.log = log

    def free(self, offset, length, charged=True):
        self.log.append(("free", offset))
        super().free(offset, length, charged)


class LoggedStub:
    """An address space that records what the MemoryManager asks of it."""

    def __init__(self, log):
        self.log = log

    def map_file_range(self, ctx, addr, length, prot, mf_offset):
        self.log.append(("map", addr))

    def map_ranges(self, ctx, ranges):
        for addr, length, prot, mf_offset in ranges:
            self.map_file_range(ctx, addr, length, prot, mf_offset)

    def unmap(self, ctx, addr, length):
        self.log.append(("unmap", addr))

    def protect(self, ctx, addr, length, prot):
        self.log.append(("protect", addr))

    def kill(self):
        self.log.append(("kill",))


def overlaps(a, b, length):
    return a < b + length and b < a + length


@pytest.fixture
def mf():
    f = MemoryFile(size=1 << 32)
    yield f
    f.close()


def test_memory_freed_while_a_stub_dies_is_reused_only_after_its_death(mf):
    a = mf.allocate(MB)
    token = mf.hold_frees()          # its stub was killed
    mf.free(a, MB)
    mf.write(a + 100, b"late")       # one of its threads still runs and writes
    b = mf.allocate(MB)
    assert not overlaps(a, b, MB)    # another process does not get it meanwhile
    mf.end_hold(token)               # the stub is dead
    c = mf.allocate(MB)
    assert c == a                    # now it is reused, and reads as zeros
    assert mf.read(c, 4096) == bytes(4096)
    for offset in (b, c):
        mf.free(offset, MB)
    assert mf.allocated == 0


def test_a_free_waits_for_every_stub_dying_when_it_was_made(mf):
    a, b = mf.allocate(MB), mf.allocate(MB)
    first = mf.hold_frees()
    mf.free(a, MB)                   # while the first dies
    second = mf.hold_frees()
    mf.free(b, MB)                   # while both die
    mf.end_hold(second)
    fresh = [mf.allocate(MB) for _ in range(2)]
    assert not any(overlaps(x, f, MB) for x in (a, b) for f in fresh)   # the first still runs
    mf.end_hold(first)
    again = {mf.allocate(MB), mf.allocate(MB)}
    assert again == {a, b}
    for offset in fresh + sorted(again):
        mf.free(offset, MB)


def test_no_stub_dying_frees_at_once(mf):
    a = mf.allocate(MB)
    mf.write(a, b"x" * 10)
    mf.free(a, MB)
    assert mf.allocate(MB) == a
    assert mf.read(a, 10) == bytes(10)
    mf.free(a, MB)


@pytest.fixture
def logged():
    log = []
    memory_file = LoggedMemoryFile(log)
    mm = MemoryManager(memory_file, LoggedStub(log))
    yield mm, log
    memory_file.close()


def test_the_stub_is_killed_before_its_memory_is_freed(logged):
    mm, log = logged
    mm.mmap(0, MB, RW, ANON)
    log.clear()
    mm.release_all()
    assert [e[0] for e in log] == ["kill", "free"]


def test_munmap_unmaps_in_the_stub_before_freeing(logged):
    mm, log = logged
    a = mm.mmap(0, MB, RW, ANON)
    log.clear()
    mm.munmap(a, MB)
    assert [e[0] for e in log] == ["unmap", "free"]


def test_a_fixed_mapping_frees_what_it_replaces_once_the_stub_maps_the_new(logged):
    mm, log = logged
    a = mm.mmap(0, MB, RW, ANON)
    log.clear()
    mm.mmap(a, MB, RW, ANON | M.MAP_FIXED)
    assert [e[0] for e in log] == ["map", "free"]


def test_brk_shrinking_unmaps_before_freeing(logged):
    mm, log = logged
    mm.brk_start = mm.brk_end = 0x10000000
    mm.brk(mm.brk_end + MB)
    log.clear()
    mm.brk(mm.brk_start)
    assert [e[0] for e in log] == ["unmap", "free"]


def _memory_file_bytes(sentry):
    """Bytes the Sentry's MemoryFile holds on the host (its memfd's allocated blocks)."""
    for fd in os.listdir(f"/proc/{sentry}/fd"):
        try:
            if os.readlink(f"/proc/{sentry}/fd/{fd}").startswith("/memfd:snakevisor-memory"):
                return os.stat(f"/proc/{sentry}/fd/{fd}").st_blocks * 512
        except FileNotFoundError:
            continue
    raise AssertionError("the Sentry has no MemoryFile")


@pytest.mark.skipif(os.geteuid() != 0, reason="the sandbox's namespaces need root")
@pytest.mark.parametrize("platform", ["ptrace", "systrap"])
def test_memory_of_exited_processes_goes_back_to_the_host(platform):
    """Each stub's death ends its hold (systrap: its pidfd; ptrace: its leader reaped): the
    memory of 12 processes that dirtied 32 MiB each, one after another, is not kept."""
    prog = compile_c("touch_memory")
    script = f"for i in $(seq 12); do {prog} 32 || exit 1; done; echo done; read x"
    proc = subprocess.Popen(sandbox_cmd(["/bin/sh", "-c", script], ("--platform", platform)), env=sandbox_env(),
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True)
    try:
        assert proc.stdout.readline() == b"done\n", proc.stderr.read() if proc.poll() is not None else ""
        held = _memory_file_bytes(sentry_of(proc.pid))
        out, err = proc.communicate(b"\n", timeout=60)
        assert proc.returncode == 0, err
        assert held < 96 * MB, f"{held >> 20} MiB still held after 12 x 32 MiB"
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def test_a_copy_on_write_break_maps_the_copy_before_the_shared_pages_go(logged):
    """The last piece of a copy-on-write region to be copied frees the region: only once the
    copy is mapped in the stub (another thread may still be reading the old pages)."""
    mm, log = logged
    a = mm.mmap(0, 2 * COW_CHUNK, RW, ANON)
    mm.copy_out(a, b"parent")
    mm.fork(LoggedStub([]), None).release_all()   # a child that exits: the region is ours alone
    mm.mprotect(a, COW_CHUNK, RW)                 # in two VMAs, so no longer one to take back whole
    mm.break_cow(a, a + 1)
    log.clear()
    mm.break_cow(a + COW_CHUNK, a + COW_CHUNK + 1)
    assert [e[0] for e in log if e[0] in ("map", "free")] == ["map", "free"]
    assert mm.copy_in(a, 6) == b"parent"


def test_a_truncation_frees_private_copies_once_the_stub_unmapped_them(logged):
    """A private copy of file pages that a truncation drops (SIGBUS from then on, as Linux) is
    freed after the stub's mapping of it is gone: the process's other threads may write it."""
    mm, log = logged
    file = PageCacheFile(mm.mf, 2 * PAGE_SIZE)
    p = mm.mmap(0, 2 * PAGE_SIZE, RW, M.MAP_PRIVATE, file)   # written pages are private copies
    file.size = PAGE_SIZE
    log.clear()
    file.cache.truncate(PAGE_SIZE)   # tells its mappers (mm.file_truncated), then frees its pages
    assert [e[0] for e in log if e[0] in ("unmap", "free")] == ["unmap", "free"]
    assert mm.fault_past_eof(p + PAGE_SIZE) is not None   # past the end now: SIGBUS


def test_a_ptrace_stub_reaped_already_takes_no_hold(mf):
    """A stub whose exit was collected elsewhere (a wait for an injected call) gets no reaped()
    from the loop: killing it must not hold frees for ever."""
    from types import SimpleNamespace
    from snakevisor.sentry.platform.ptrace import AddressSpace
    gone = subprocess.Popen(["true"])
    gone.wait()   # a pid no process has (now)
    platform = SimpleNamespace(memory_file=mf, parked=set(), address_spaces={})
    aspace = AddressSpace(platform, gone.pid)
    platform.address_spaces[gone.pid] = aspace
    aspace.kill()
    a = mf.allocate(MB)
    mf.free(a, MB)
    assert aspace.hold is None and mf.allocate(MB) == a   # frees are not held
    mf.free(a, MB)
