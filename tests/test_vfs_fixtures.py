"""Shared fixtures for the VFS/tmpfs tests: a real tmpfs+devfs tree and a fake Task, and the
helpers the tests use on them (open, read, write, stat through the syscall handlers or the VFS
operations; the errno a call fails with).

The fake Task has exactly what the syscall handlers may use (mm, fdtable, fs,
kernel.vfs, kernel.memory_file, creds, limits, block_on); its memory is a
bytearray at a fixed address so bad pointers really fault.
"""
import inspect
import struct
import types

import pytest

from snakevisor.abi import fs as abi
from snakevisor.abi.capability import ALL_CAPS
from snakevisor.abi.errno import EFAULT, EINVAL, ENAMETOOLONG, SyscallError
from snakevisor.abi.resource import default_limits
from snakevisor.sentry.fsimpl.devfs import DevFilesystem
from snakevisor.sentry.fsimpl.tmpfs import TmpfsFilesystem
from snakevisor.sentry.kernel.pidns import PIDNamespace
from snakevisor.sentry.mm.memoryfile import MemoryFile
from snakevisor.sentry.vfs.context import FSContext
from snakevisor.sentry.syscalls import file as sf
from snakevisor.sentry.syscalls import fs as sp
from snakevisor.sentry.vfs.fdtable import FDTable
from snakevisor.sentry.vfs.pathops import mkdir_path, open_path
from snakevisor.sentry.vfs.resolve import ResolveContext, resolve
from snakevisor.sentry.vfs.vfs import VirtualFilesystem

U64 = 2**64 - 1
FDCWD = abi.AT_FDCWD & U64


class FakeMM:
    BASE = 0x100000
    SIZE = 1 << 20

    def __init__(self):
        self.mem = bytearray(self.SIZE)
        self.brk = self.BASE

    def _off(self, addr, n):
        if addr < self.BASE or addr + n > self.BASE + self.SIZE or n < 0:
            raise SyscallError(EFAULT)
        return addr - self.BASE

    def copy_in(self, addr, n):
        o = self._off(addr, n)
        return bytes(self.mem[o:o + n])

    def copy_out(self, addr, data):
        o = self._off(addr, len(data))
        self.mem[o:o + len(data)] = data

    def io_views(self, addr, n, write=False):
        o = self._off(addr, n)
        return [memoryview(self.mem)[o:o + n]]

    def read_cstring(self, addr, maxlen):
        o = self._off(addr, 1)
        end = self.mem.find(b"\0", o, min(o + maxlen, self.SIZE))
        if end < 0:
            if o + maxlen > self.SIZE:
                raise SyscallError(EFAULT)
            raise SyscallError(ENAMETOOLONG)
        return bytes(self.mem[o:end])

    def accessible_span(self, addr, n, write=False):
        lo, hi = self.BASE, self.BASE + self.SIZE
        if addr < lo or addr >= hi:
            return 0
        return min(n, hi - addr)

    def read_iovecs(self, addr, count):
        if count > 1024:
            raise SyscallError(EINVAL)
        raw = self.copy_in(addr, 16 * count)
        return [struct.unpack_from("<QQ", raw, 16 * i) for i in range(count)]

    # test helpers
    def alloc(self, n):
        addr = self.brk
        self.brk += (n + 15) & ~15
        assert self.brk <= self.BASE + self.SIZE
        return addr

    def put(self, data):
        addr = self.alloc(len(data))
        self.copy_out(addr, data)
        return addr

    def cstr(self, s):
        return self.put(s + b"\0")

    def iovecs(self, pairs):
        return self.put(b"".join(struct.pack("<QQ", a, n) for a, n in pairs))


class Creds:
    """A process's credentials as Linux gives them: root has every capability, anyone else none."""

    landlock = None   # no Landlock domain (kernel/creds.py's Credentials.landlock)

    def __init__(self, uid=0, gid=0, groups=()):
        self.uid = self.euid = self.fsuid = self.suid = uid
        self.gid = self.egid = self.fsgid = self.sgid = gid
        self.groups = tuple(groups)
        self.cap_effective = self.cap_permitted = ALL_CAPS if uid == 0 else 0

    def has_cap(self, cap):
        return bool(self.cap_effective >> cap & 1)


class Signals:
    """Records what the kernel would send (SIGPIPE for EPIPE, SIGXFSZ past RLIMIT_FSIZE)."""

    def __init__(self):
        self.sent = []

    def send_to_task(self, task, sig):
        self.sent.append(sig)


class Kernel:
    def __init__(self, vfs, mf):
        self.vfs = vfs
        self.memory_file = mf
        self.signals = Signals()


class WouldBlock(Exception):
    def __init__(self, waitable, events):
        self.waitable, self.events = waitable, events


class FakeTask:
    def __init__(self, vfs, mf):
        self.mm = FakeMM()
        self.kernel = Kernel(vfs, mf)
        self.fs = FSContext(vfs.root, vfs.root, 0o022)
        self.fdtable = FDTable(1024)
        # The thread group: record locks record its pid; the resource limits live there (as Task's).
        self.tg = types.SimpleNamespace(tgid=1, limits=default_limits(), pidns=PIDNamespace(), parent=None)
        self.creds = Creds()
        self.limits = self.tg.limits
        self.ioac = [0, 0, 0, 0]   # rchar, wchar, syscr, syscw, as Task's (read and write count there)
        self.stop_pending = False   # as Task's: no group stop to join (signals.deliverable asks)
        self.blocked = []

    def block_on(self, waitable, events):
        self.blocked.append((waitable, events))
        # The test decides: by default a block ends the call (see call()).
        raise WouldBlock(waitable, events)
        yield  # noqa: unreachable, makes this a generator


def call(fn, t, *args):
    """Run a handler (plain or generator) to completion; WouldBlock if it had to wait."""
    r = fn(t, *args)
    if inspect.isgenerator(r):
        try:
            while True:
                next(r)
        except StopIteration as stop:
            return stop.value
    return r


def err(fn, t, *args):
    """The errno a handler fails with (the test fails if it succeeds)."""
    try:
        r = call(fn, t, *args)
    except SyscallError as e:
        return e.errno
    raise AssertionError(f"{fn.__name__} succeeded with {r!r}")


def neg(x):
    return x & U64


def openf(w, path, flags=abi.O_RDONLY, mode=0o644, dirfd=FDCWD):
    return call(sp.openat, w.t, dirfd, w.t.mm.cstr(path), flags, mode)


def read_all(w, fd, n=4096):
    buf = w.t.mm.alloc(n)
    got = call(sf.read, w.t, fd, buf, n)
    return w.t.mm.copy_in(buf, got)


def write(w, fd, data):
    return call(sf.write, w.t, fd, w.t.mm.put(data), len(data))


def stat_of(w, path, flags=0, dirfd=FDCWD):
    buf = w.t.mm.alloc(144)
    call(sp.newfstatat, w.t, dirfd, w.t.mm.cstr(path), buf, flags)
    return struct.unpack_from("<QQQIIIiQqqq", w.t.mm.copy_in(buf, 144))


def op(w, path, flags=abi.O_RDONLY, mode=0o644):
    return open_path(w.ctx, w.vfs.root, path, flags, mode)


def st(w, path, follow=True):
    return w.lookup(path, follow).dentry.inode.stat()


class World:
    """A booted tree: / (tmpfs 0755), /tmp (tmpfs 1777), /dev (devfs), /dev/shm (tmpfs)."""

    def __init__(self):
        self.mf = MemoryFile(size=1 << 32)
        self.vfs = VirtualFilesystem()
        self.rootfs = TmpfsFilesystem(self.mf, mode=0o755)
        self.vfs.mount(self.rootfs, source=b"root")
        ctx = self.ctx = ResolveContext(self.vfs.root)
        for d in (b"/tmp", b"/dev", b"/proc"):
            mkdir_path(ctx, self.vfs.root, d, 0o755)
        self.tmpfs = TmpfsFilesystem(self.mf)
        self.vfs.mount(self.tmpfs, self.lookup(b"/tmp"), source=b"tmpfs")
        self.devfs = DevFilesystem(self.mf)
        self.vfs.mount(self.devfs, self.lookup(b"/dev"), source=b"dev")
        self.shm = TmpfsFilesystem(self.mf)
        self.vfs.mount(self.shm, self.lookup(b"/dev/shm"), source=b"shm")
        self.t = FakeTask(self.vfs, self.mf)

    def lookup(self, path, follow=True):
        return resolve(self.ctx, self.vfs.root, path, follow_final=follow)


@pytest.fixture
def world():
    w = World()
    yield w
    w.mf.close()
