"""The Sentry's Python work per syscall, without a stub: hot syscalls run in-process.

    python3 -m bench.python_cost [--number N] [--repeat R]
    python3 -m bench.python_cost --compare BASE_TREE [--rounds K]

Each case runs a syscall handler on the VFS test fixtures' tmpfs World (tests/test_vfs_fixtures.py)
through the same dispatch kernel/task.py's ``_run`` does for a syscall event: the table lookup, the
argument tuple, the handler (a generator is driven to its end), SyscallError -> -errno, then
``signals.deliverable``, ``ctx.set_return`` and ``ctx.resume`` (no-ops here: no stub). No ptrace
stop and no host syscall is counted, so the figure is the Python cost alone, deterministic enough
on a loaded machine where wall-clock timings of sandboxed loops are not (best of ``--repeat``).
The ``vol`` cases run on a volume instead (``volume_cases``): their host fstatat calls count.

``--compare`` runs this script against the snakevisor package (and test fixtures) of another
tree as well, the two alternated ``--rounds`` times, and prints both best figures per case.
"""
import argparse
import os
import subprocess
import sys
import tempfile
import timeit
import types
from types import GeneratorType

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class _Regs:
    __slots__ = ("orig_rax", "rdi", "rsi", "rdx", "r10", "r8", "r9")

    def __init__(self, nr, *args):
        args = args + (0,) * (6 - len(args))
        self.orig_rax = nr
        self.rdi, self.rsi, self.rdx, self.r10, self.r8, self.r9 = args


class _Ctx:
    """A stub context that answers nothing: set_return and resume cost one call each."""

    def set_return(self, ret):
        self.ret = ret

    def resume(self):
        pass


def _dispatcher(t):
    """One syscall event as Task._run handles it, minus the stop and the ptrace/seccomp hooks."""
    from snakevisor.abi.errno import SyscallError
    from snakevisor.sentry.kernel.signals import RESTART_CODES, Signals
    from snakevisor.sentry.kernel.syscall_table import TABLE
    from snakevisor.sentry.syscalls import linux64
    linux64.install()
    entries = TABLE.entries
    signals = Signals(t.kernel)
    ctx = _Ctx()

    def dispatch(regs):
        entry = entries.get(regs.orig_rax)
        args = (regs.rdi, regs.rsi, regs.rdx, regs.r10, regs.r8, regs.r9)[:entry.nargs]
        try:
            ret = entry.handler(t, *args)
            if ret.__class__ is GeneratorType:   # a blocking handler (or a plain one that must wait)
                try:
                    while True:
                        next(ret)
                except StopIteration as stop:
                    ret = stop.value
        except SyscallError as e:
            ret = -e.errno
        if ret is None:
            ret = 0
        if ret in RESTART_CODES or signals.deliverable(t):
            raise AssertionError("no signal is pending in this benchmark")
        ctx.set_return(ret)
        ctx.resume()
        return ret
    return dispatch


def _RealMemory(mf):
    """A MemoryManager (no stub behind it) with one anonymous mapping and a bump allocator."""
    from snakevisor.abi import mm as M
    from snakevisor.sentry.mm.manager import MemoryManager

    class RealMemory(MemoryManager):
        def alloc(self, n):
            addr = self.next
            self.next += (n + 15) & ~15
            return addr

        def cstr(self, data):
            addr = self.alloc(len(data) + 1)
            self.copy_out(addr, data + b"\0")
            return addr

    m = RealMemory(mf)
    m.next = m.mmap(0, 4 << 20, M.PROT_READ | M.PROT_WRITE, M.MAP_PRIVATE | M.MAP_ANONYMOUS)
    return m


def _world(make=None):
    from test_vfs_fixtures import World
    from snakevisor.sentry.kernel.futex import FutexManager
    w = make() if make else World()
    t = w.t
    # What the dispatch and the process/futex handlers read from a Task beyond the fixture's.
    t.sigmask, t.pending = 0, {}
    t.tg.shared_pending = {}
    t.tg.parent = types.SimpleNamespace(tgid=1)
    t.kernel.futexes = FutexManager()
    return w


def _open_close(d, openat):
    """open then close of what it returned, through the dispatcher ``d``."""
    close = _Regs(3, 0)

    def open_close():
        close.rdi = d(openat)
        d(close)
    return open_close


def cases(w):
    """{name: zero-argument callable doing one syscall (or two: open+close, pipe write+read)} on
    the World ``w`` (see _world)."""
    from test_vfs_fixtures import FDCWD, openf, write
    from snakevisor.abi import fs as abi
    t = w.t
    d = _dispatcher(t)
    fd = openf(w, b"/tmp/x", abi.O_RDWR | abi.O_CREAT, 0o644)
    write(w, fd, b"y" * 8192)
    mm = t.mm = _RealMemory(w.mf)   # the Sentry's own copy-in/out and read_cstring from here on
    path, statbuf, buf = mm.cstr(b"/tmp/x"), mm.alloc(144), mm.alloc(4096)
    relpath = mm.cstr(b"x")
    w.t.fs.cwd = w.lookup(b"/tmp")
    pipefds = mm.alloc(8)
    assert d(_Regs(22, pipefds)) == 0
    rfd, wfd = int.from_bytes(mm.copy_in(pipefds, 4), "little"), int.from_bytes(mm.copy_in(pipefds + 4, 4), "little")
    futex_word = mm.alloc(4)
    big, bigbuf = openf(w, b"/tmp/big", abi.O_RDWR | abi.O_CREAT, 0o644), mm.alloc(MIB)
    regs = {
        "pwrite64 1M": _Regs(18, big, bigbuf, MIB, 0),   # (first: it makes the file pread reads)
        "pread64 1M": _Regs(17, big, bigbuf, MIB, 0),
        "getppid": _Regs(110),
        "newfstatat": _Regs(262, FDCWD, path, statbuf, 0),
        "newfstatat rel": _Regs(262, FDCWD, relpath, statbuf, 0),
        "openat": _Regs(257, FDCWD, path, abi.O_RDONLY, 0),
        "pread64 4K": _Regs(17, fd, buf, 4096, 0),
        "pipe write 4K": _Regs(1, wfd, buf, 4096),
        "pipe read 4K": _Regs(0, rfd, buf, 4096),
        "futex wake": _Regs(202, futex_word, 1 | 128, 1),   # FUTEX_WAKE_PRIVATE, no waiter
    }
    open_close = _open_close(d, regs["openat"])

    def pipe_rw():
        d(regs["pipe write 4K"])
        d(regs["pipe read 4K"])

    out = {name: (lambda r=regs[name]: d(r))
           for name in ("getppid", "newfstatat", "newfstatat rel", "pread64 4K", "futex wake",
                        "pwrite64 1M", "pread64 1M")}
    out["openat+close"] = open_close
    out["pipe write+read 4K"] = pipe_rw
    out["pipe write+read 64K"] = _pipe_64k(d, mm, rfd, wfd)
    out["signal frame+sigreturn"] = _signal_round_trip(t, mm)
    for name, fn in out.items():   # each must succeed: a failing call would time an error path
        fn()
    assert d(regs["newfstatat"]) == 0 and d(regs["pread64 4K"]) == 4096 and d(regs["futex wake"]) == 0
    assert d(regs["pread64 1M"]) == MIB
    return out


def _pipe_64k(d, mm, rfd, wfd):
    """A 64 KiB write and the read that empties the pipe again (the stream benchmark's operation)."""
    buf = mm.alloc(65536)
    write, read = _Regs(1, wfd, buf, 65536), _Regs(0, rfd, buf, 65536)

    def rw():
        assert d(write) == 65536 and d(read) == 65536
    return rw


class _SignalCtx:
    """The platform side of a delivery, answering at once: registers, and an XSAVE image of an AVX-512
    and AMX machine's size (11008 bytes) whose writes go nowhere."""

    def __init__(self):
        from snakevisor.abi.ptrace import UserRegs
        self.regs = UserRegs()
        self.image = bytes(11008)

    def get_xstate(self):
        return self.image

    def set_xstate(self, data):
        pass

    def xstate_size(self):
        return len(self.image)

    def set_regs(self):
        pass


def _signal_round_trip(t, mm):
    """A SIGUSR1 with a handler, pending as a syscall returns: its frame built on the stack
    (Signals.deliver), then the handler's rt_sigreturn (Signals.sigreturn) restoring the registers."""
    from snakevisor.abi import signal as S
    from snakevisor.abi.ptrace import USER_CS, USER_DS
    from snakevisor.sentry.kernel.signals import Signals, make_siginfo
    from snakevisor.sentry.kernel.task import Task
    from snakevisor.sentry.kernel.threadgroup import SignalHandlers
    signals = Signals(t.kernel)
    t.ptrace, t.saved_sigmask, t.altstack = None, None, (0, S.SS_DISABLE, 0)
    t.on_altstack = types.MethodType(Task.on_altstack, t)
    t.tg.handlers = SignalHandlers({S.SIGUSR1: (0x401000, S.SA_RESTORER, 0x402000, 0)})
    ctx = t.ctx = _SignalCtx()
    regs = ctx.regs
    top = mm.alloc(65536) + 65536
    info = make_siginfo(S.SIGUSR1, S.SI_USER, 1, 0)

    def round_trip():
        regs.rsp, regs.rip, regs.cs, regs.ss, regs.orig_rax = top, 0x400000, USER_CS, USER_DS, 62
        t.pending[S.SIGUSR1] = [info]
        gen = signals.deliver(t, 0, 62)
        try:
            while True:
                next(gen)
        except StopIteration:
            pass
        regs.rsp += 8   # the handler's ret popped the return address (the restorer)
        assert signals.sigreturn(t) == 0 and regs.rsp == top and regs.rip == 0x400000 and not t.sigmask
    return round_trip


def measure(number, repeat):
    """Microseconds per call of each case, the best of ``repeat`` timings of ``number`` calls."""
    sys.path.insert(0, os.path.join(HERE, "tests"))

    def best(fns):
        return {name: min(timeit.repeat(fn, number=number, repeat=repeat)) / number * 1e6
                for name, fn in fns.items()}
    w = _world()
    try:
        out = best(cases(w))
    finally:
        w.mf.close()
    with tempfile.TemporaryDirectory() as tmp:
        w = _volume_world(tmp)
        try:
            out.update(best(volume_cases(w)))
        finally:
            w.close()
    return out


MIB = 1 << 20
VOLUME_FILE = b"a/b/c/d/f"   # issue 14: open+close on deep volume paths


def volume_cases(w):
    """Cases on a shared (volume) gofer mount with directfs, as ``do -v`` makes, over /tmp of the
    GoferWorld ``w`` (a Gofer thread serves a host directory): a path five components deep whose
    cached names are revalidated against the host at each call (host fstatat calls included)."""
    from test_vfs_fixtures import FDCWD
    from snakevisor.abi import fs as abi
    t = w.t
    d = _dispatcher(t)
    mm = t.mm = _RealMemory(w.mf)
    path, statbuf, buf = mm.cstr(b"/tmp/" + VOLUME_FILE), mm.alloc(144), mm.alloc(4096)
    stat, openat = _Regs(262, FDCWD, path, statbuf, 0), _Regs(257, FDCWD, path, abi.O_RDONLY, 0)
    pread = _Regs(17, d(openat), buf, 4096, 0)
    big = _Regs(257, FDCWD, mm.cstr(b"/tmp/big"), abi.O_RDWR | abi.O_CREAT, 0o644)
    bigfd, bigbuf = d(big), mm.alloc(MIB)
    big_write, big_read = _Regs(18, bigfd, bigbuf, MIB, 0), _Regs(17, bigfd, bigbuf, MIB, 0)
    # 32K: the smallest write from views of application memory, whose host call costs little
    mid_write = _Regs(18, bigfd, bigbuf, 32 * 1024, 0)
    out = {"newfstatat vol deep": lambda: d(stat), "openat+close vol deep": _open_close(d, openat),
           "pread64 4K vol": lambda: d(pread), "pwrite64 32K vol": lambda: d(mid_write),
           "pwrite64 1M vol": lambda: d(big_write),
           "pread64 1M vol": lambda: d(big_read)}
    for fn in out.values():
        fn()
    assert d(stat) == 0 and d(pread) == 4096
    return out


def _volume_world(tmp):
    from test_gofer_fs import GoferWorld
    host = os.path.join(tmp, "host")
    os.makedirs(os.path.join(host, os.fsdecode(os.path.dirname(VOLUME_FILE))))
    with open(os.path.join(host, os.fsdecode(VOLUME_FILE)), "wb") as f:
        f.write(b"y" * 8192)
    return _world(lambda: GoferWorld(host, exclusive=False, directfs=True))


def compare(base, rounds, number, repeat):
    """Best figures of this tree and ``base``, alternated ``rounds`` times in fresh interpreters."""
    best = {}
    for _ in range(rounds):
        for tree in (base, HERE):
            out = subprocess.run([sys.executable, os.path.abspath(__file__), "--tree", tree, "--raw",
                                  "--number", str(number), "--repeat", str(repeat)],
                                 check=True, capture_output=True, text=True, cwd=tree).stdout
            for line in out.splitlines():
                name, us = line.rsplit("\t", 1)
                key = (tree, name)
                best[key] = min(best.get(key, float("inf")), float(us))
    names = [n for (tr, n) in best if tr == HERE]
    print(f"{'case':22} {'before us':>10} {'after us':>10} {'after/before':>13}")
    for n in names:
        b, a = best[(base, n)], best[(HERE, n)]
        print(f"{n:22} {b:10.2f} {a:10.2f} {a / b:13.2f}")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--number", type=int, default=2000, help="calls per timing")
    p.add_argument("--repeat", type=int, default=7, help="timings; the best is reported")
    p.add_argument("--compare", metavar="BASE_TREE", help="another checkout (e.g. a git worktree of main)")
    p.add_argument("--rounds", type=int, default=3, help="alternations with --compare")
    p.add_argument("--tree", help=argparse.SUPPRESS)   # whose snakevisor to import (for --compare)
    p.add_argument("--raw", action="store_true", help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    if a.compare:
        return compare(os.path.abspath(a.compare), a.rounds, a.number, a.repeat)
    global HERE
    if a.tree:
        HERE = a.tree
    sys.path.insert(0, HERE)
    for name, us in measure(a.number, a.repeat).items():
        print(f"{name}\t{us:.3f}" if a.raw else f"{name:22} {us:8.2f} us")


if __name__ == "__main__":
    main()
