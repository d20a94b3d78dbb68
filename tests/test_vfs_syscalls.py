"""The fs/file syscall handlers over a real tmpfs/devfs tree with a fake Task."""
import os
import struct

import pytest

from test_vfs_fixtures import FDCWD, WouldBlock, call, err, openf, write

from snakevisor.abi import fs as abi
from snakevisor.abi.errno import EAGAIN, EINVAL, EMFILE, ENOTTY, ESPIPE
from snakevisor.sentry.syscalls import fcntl as sfc
from snakevisor.sentry.syscalls import file as sf
from snakevisor.sentry.syscalls import fs as sp
from snakevisor.sentry.vfs.waiter import HostFdWaitable

U64 = 2**64 - 1


def test_emfile(world):
    w = world
    t = w.t
    t.fdtable.set_limit(3)
    for _ in range(3):
        openf(w, b"/dev/null")
    assert err(sp.openat, t, FDCWD, t.mm.cstr(b"/dev/null"), 0, 0) == EMFILE
    assert err(sf.dup, t, 0) == EMFILE
    assert t.fdtable.get(0).refs == 1          # the failed dup gave its reference back
    assert err(sfc.fcntl, t, 0, abi.F_DUPFD, 3) == EINVAL


def test_readonly_mount(world):
    w = world
    from snakevisor.sentry.fsimpl.tmpfs import TmpfsFilesystem
    from snakevisor.sentry.vfs.pathops import mkdir_path, open_path
    from snakevisor.abi.errno import EROFS
    mkdir_path(w.ctx, w.vfs.root, b"/ro", 0o755)
    fs = TmpfsFilesystem(w.mf)
    open_path(w.ctx, w.vfs.root, b"/ro", 0).dec_ref()
    fs.root.inode.create(b"file", 0o644)
    w.vfs.mount(fs, w.lookup(b"/ro"), flags=abi.MS_RDONLY)
    t = w.t
    m = t.mm.cstr
    assert err(sp.openat, t, FDCWD, m(b"/ro/file"), abi.O_WRONLY, 0) == EROFS
    assert err(sp.openat, t, FDCWD, m(b"/ro/new"), abi.O_CREAT | abi.O_WRONLY, 0) == EROFS
    assert err(sp.mkdir, t, m(b"/ro/d"), 0o755) == EROFS
    assert err(sp.unlink, t, m(b"/ro/file")) == EROFS
    assert err(sp.access, t, m(b"/ro/file"), abi.W_OK) == EROFS
    assert openf(w, b"/ro/file") >= 0
    sb = t.mm.alloc(120)
    call(sp.statfs, t, m(b"/ro"), sb)
    assert struct.unpack_from("<q", t.mm.copy_in(sb, 120), 80)[0] & abi.ST_RDONLY


# --- host descriptors and blocking -------------------------------------------------------------


def test_host_pipe_blocks_then_reads(world):
    from snakevisor.sentry.fsimpl.host import new_host_file
    w = world
    t = w.t
    r, wr = os.pipe()
    try:
        rfd = t.fdtable.install(new_host_file(r, owns_fd=False))
        wfd = t.fdtable.install(new_host_file(wr, owns_fd=False))
        buf = t.mm.alloc(16)
        with pytest.raises(WouldBlock) as wb:
            call(sf.read, t, rfd, buf, 16)
        assert wb.value.waitable == HostFdWaitable(r) and wb.value.events & abi.POLLIN
        assert t.fdtable.get(rfd).readiness(None, abi.POLLIN) == 0
        assert write(w, wfd, b"ping") == 4
        assert t.fdtable.get(rfd).readiness(None, abi.POLLIN) & abi.POLLIN
        assert call(sf.read, t, rfd, buf, 16) == 4 and t.mm.copy_in(buf, 4) == b"ping"
        call(sfc.fcntl, t, rfd, abi.F_SETFL, abi.O_NONBLOCK)
        assert err(sf.read, t, rfd, buf, 16) == EAGAIN
        assert err(sf.lseek, t, rfd, 0, 0) == ESPIPE
        assert err(sf.pread64, t, rfd, buf, 1, 0) == ESPIPE
        assert err(sf.ioctl, t, rfd, abi.TCGETS, buf) == ENOTTY
        st = t.mm.alloc(144)
        call(sf.fstat, t, rfd, st)
        assert struct.unpack_from("<I", t.mm.copy_in(st, 144), 24)[0] & abi.S_IFMT == abi.S_IFIFO
        # A big write to a full pipe waits for room (in the loop, never blocking the Sentry).
        with pytest.raises(WouldBlock) as wb:
            call(sf.write, t, wfd, t.mm.put(b"x" * 200000), 200000)
        assert wb.value.waitable == HostFdWaitable(wr) and wb.value.events & abi.POLLOUT
        assert t.fdtable.get(rfd).readiness(None, abi.POLLIN) & abi.POLLIN
    finally:
        os.close(r)
        os.close(wr)


def test_host_regular_file_is_seekable(world, tmp_path):
    from snakevisor.sentry.fsimpl.host import new_host_file
    w = world
    t = w.t
    p = tmp_path / "hostfile"
    p.write_bytes(b"host data")
    hfd = os.open(p, os.O_RDWR)
    fd = t.fdtable.install(new_host_file(hfd))
    buf = t.mm.alloc(16)
    assert call(sf.pread64, t, fd, buf, 4, 5) == 4 and t.mm.copy_in(buf, 4) == b"data"
    assert call(sf.lseek, t, fd, 0, abi.SEEK_END) == 9
    assert write(w, fd, b"!") == 1
    assert p.read_bytes() == b"host data!"
    call(sf.close, t, fd)
    with pytest.raises(OSError):
        os.fstat(hfd)            # the description owned it: closed on last close
