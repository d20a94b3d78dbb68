"""The VFS conformance suite: one set of tests of file and directory semantics, run on every
filesystem backend the Sentry has for a writable tree, each mounted on /tmp of a test World:

* ``tmpfs``: the Sentry's own memory filesystem;
* ``gofer-donated``, ``gofer-9p-only``, ``gofer-shared``: the gofer filesystem over our 9P client
  and a Gofer (thread) on a host directory, with host-fd donation, without it, and as a shared
  (revalidating) volume instead of an exclusive root; ``gofer-directfs`` and
  ``gofer-shared-directfs``: the donated and shared ones with directfs on (the Sentry's own host
  calls on donated O_PATH descriptors);
* ``diod``: the gofer filesystem with Debian's diod behind it (plain 9P2000.L, no donation; skips,
  saying why, when diod is not installed).

A test that cannot hold on a backend says so with ``not_on(backend..., why=...)``: it is skipped
there with that reason, never silently left out. Behaviour only one backend has is tested in its
own module (test_tmpfs.py, test_gofer_fs.py).
"""
import os
import shutil
import struct
import subprocess
import time

import pytest

from test_gofer_fs import GoferWorld, MODES, ServerProcess
from harness import errno_of
from test_vfs_fixtures import Creds, FDCWD, World, call, err, neg, op, openf, read_all, st, stat_of, write

from snakevisor.abi import fs as abi
from snakevisor.abi.errno import (EACCES, EBADF, EBUSY, EEXIST, EFAULT, EINVAL, EISDIR, ELOOP, ENAMETOOLONG, ENOENT,
                                  ENOTDIR, ENOTEMPTY, ENOTTY, EPERM, ERANGE, EXDEV)
from snakevisor.sentry.syscalls import fcntl as sfc
from snakevisor.sentry.syscalls import file as sf
from snakevisor.sentry.syscalls import fs as sp
from snakevisor.sentry.syscalls import xattr as sx
from snakevisor.sentry.vfs.pathops import (link_path, mkdir_path, open_path, rename_path, rmdir_path, symlink_path,
                                           truncate_vd, unlink_path)

GOFER = tuple("gofer-" + m for m in MODES)
NINEP = GOFER + ("diod",)          # everything behind 9P2000.L
PLAIN_9P = ("gofer-9p-only", "diod")    # 9P2000.L without the snakevisor dialect
DIALECT = tuple(b for b in GOFER if b not in PLAIN_9P)   # our Gofer's dialect
BACKENDS = ("tmpfs",) + NINEP


def not_on(*backends, why):
    """Skip the test on ``backends`` (names of BACKENDS), saying ``why``."""
    def mark(test):
        test.not_on = {**getattr(test, "not_on", {}), **{b: why for b in backends}}
        return test
    return mark


def diod_server(export):
    """diod serving ``export`` on one connected socket (--rfdno/--wfdno)."""
    return ServerProcess(
        lambda fd: ["diod", "-f", "-n", "-N", "-e", str(export), "--rfdno", str(fd), "--wfdno", str(fd),
                    "-L", "/dev/null"],
        # diod raises its own core limit: keep any core there
        stdin=subprocess.DEVNULL, cwd=os.path.dirname(str(export)))


def make_world(backend, tmp_path):
    if backend == "tmpfs":
        w = World()
        w.close = w.mf.close
        w.fs_magic = abi.TMPFS_MAGIC
        return w
    host = tmp_path / "host"
    host.mkdir()
    if backend == "diod":
        if not shutil.which("diod"):
            pytest.skip("diod is not installed (tools/setup.sh --test installs it)")
        w = GoferWorld(host, donation=True, server=diod_server(host), aname=str(host).encode())
        assert not w.gofer.client.donation      # diod speaks plain 9P2000.L
    else:
        w = GoferWorld(host, **MODES[backend[len("gofer-"):]])
    w.fs_magic = abi.V9FS_MAGIC
    return w


@pytest.fixture(params=BACKENDS)
def world(request, tmp_path):
    why = getattr(request.function, "not_on", {}).get(request.param)
    if why:
        pytest.skip(f"not on {request.param}: {why}")
    w = make_world(request.param, tmp_path)
    yield w
    w.close()


# --- through the syscall handlers ------------------------------------------------------------

def test_open_read_write_lseek_close(world):
    w = world
    fd = openf(w, b"/tmp/f", abi.O_CREAT | abi.O_RDWR)
    assert fd == 0
    assert write(w, fd, b"hello") == 5
    assert call(sf.lseek, w.t, fd, 0, abi.SEEK_SET) == 0
    assert read_all(w, fd) == b"hello"
    assert call(sf.lseek, w.t, fd, neg(-2), abi.SEEK_END) == 3
    assert err(sf.lseek, w.t, fd, neg(-10), abi.SEEK_CUR) == EINVAL
    assert call(sf.close, w.t, fd) == 0
    assert err(sf.close, w.t, fd) == EBADF
    assert err(sf.read, w.t, 99, w.t.mm.alloc(1), 1) == EBADF
    # Reading into a bad pointer faults.
    fd = openf(w, b"/tmp/f")
    assert err(sf.read, w.t, fd, 0x10, 5) == EFAULT
    assert err(sf.write, w.t, fd, w.t.mm.put(b"x"), 1) == EBADF    # O_RDONLY


def test_open_errors(world):
    w = world
    t = w.t
    assert err(sp.openat, t, FDCWD, 0x10, 0, 0) == EFAULT
    assert err(sp.openat, t, FDCWD, t.mm.cstr(b""), 0, 0) == ENOENT
    assert err(sp.openat, t, FDCWD, t.mm.cstr(b"/nope"), 0, 0) == ENOENT
    assert err(sp.openat, t, FDCWD, t.mm.cstr(b"/" + b"a" * 4095), 0, 0) == ENAMETOOLONG
    openf(w, b"/tmp/f", abi.O_CREAT | abi.O_WRONLY)
    assert err(sp.openat, t, FDCWD, t.mm.cstr(b"/tmp/f"), abi.O_CREAT | abi.O_EXCL, 0) == EEXIST
    assert err(sp.openat, t, FDCWD, t.mm.cstr(b"/tmp/f"), abi.O_DIRECTORY, 0) == ENOTDIR
    assert err(sp.openat, t, FDCWD, t.mm.cstr(b"/tmp"), abi.O_RDWR, 0) == EISDIR
    call(sp.symlink, t, t.mm.cstr(b"f"), t.mm.cstr(b"/tmp/l"))
    assert err(sp.openat, t, FDCWD, t.mm.cstr(b"/tmp/l"), abi.O_NOFOLLOW, 0) == ELOOP
    assert err(sp.openat, t, neg(77), t.mm.cstr(b"rel"), 0, 0) == EBADF
    fd = openf(w, b"/tmp/f")
    assert err(sp.openat, t, fd, t.mm.cstr(b"rel"), 0, 0) == ENOTDIR
    # An absolute path ignores even a bad dirfd.
    assert openf(w, b"/tmp/f", dirfd=neg(77)) >= 0


def test_dirfd_relative_cloexec_append_trunc_umask(world):
    w = world
    t = w.t
    dfd = openf(w, b"/tmp", abi.O_RDONLY | abi.O_DIRECTORY)
    fd = openf(w, b"x", abi.O_CREAT | abi.O_WRONLY | abi.O_CLOEXEC, 0o666, dirfd=dfd)
    assert t.fdtable.get_cloexec(fd)
    assert stat_of(w, b"/tmp/x")[3] == abi.S_IFREG | 0o644        # umask 022 applied
    write(w, fd, b"abc")
    afd = openf(w, b"/tmp/x", abi.O_WRONLY | abi.O_APPEND)
    write(w, afd, b"def")
    assert stat_of(w, b"/tmp/x")[8] == 6
    assert call(sfc.fcntl, t, afd, abi.F_GETFL, 0) & abi.O_APPEND
    call(sp.umask, t, 0o077)
    assert call(sp.umask, t, 0o022) == 0o077
    openf(w, b"/tmp/x", abi.O_WRONLY | abi.O_TRUNC)
    assert stat_of(w, b"/tmp/x")[8] == 0
    fd = call(sp.creat, t, t.mm.cstr(b"/tmp/c"), 0o600)
    assert call(sfc.fcntl, t, fd, abi.F_GETFL, 0) & abi.O_ACCMODE == abi.O_WRONLY


def test_o_path_descriptor(world):
    w = world
    t = w.t
    openf(w, b"/tmp/f", abi.O_CREAT | abi.O_WRONLY)
    fd = openf(w, b"/tmp/f", abi.O_PATH)
    assert err(sf.read, t, fd, t.mm.alloc(4), 4) == EBADF
    assert err(sf.write, t, fd, t.mm.put(b"x"), 1) == EBADF
    assert err(sf.ioctl, t, fd, abi.FIOCLEX, 0) == EBADF
    buf = t.mm.alloc(144)
    assert call(sf.fstat, t, fd, buf) == 0
    # AT_EMPTY_PATH stats the descriptor itself.
    assert stat_of(w, b"", abi.AT_EMPTY_PATH, dirfd=fd)[3] == abi.S_IFREG | 0o644
    assert err(sp.newfstatat, t, fd, t.mm.cstr(b""), buf, 0) == ENOENT


def test_vectored_and_positional_io(world):
    w = world
    t = w.t
    fd = openf(w, b"/tmp/v", abi.O_CREAT | abi.O_RDWR)
    iov = t.mm.iovecs([(t.mm.put(b"abc"), 3), (t.mm.put(b"defg"), 4)])
    assert call(sf.writev, t, fd, iov, 2) == 7
    assert call(sf.pwrite64, t, fd, t.mm.put(b"XY"), 2, 1) == 2
    b1, b2 = t.mm.alloc(2), t.mm.alloc(10)
    iov = t.mm.iovecs([(b1, 2), (b2, 10)])
    assert call(sf.preadv, t, fd, iov, 2, 0, 0) == 7
    assert t.mm.copy_in(b1, 2) + t.mm.copy_in(b2, 5) == b"aXYdefg"
    buf = t.mm.alloc(3)
    assert call(sf.pread64, t, fd, buf, 3, 4) == 3 and t.mm.copy_in(buf, 3) == b"efg"
    assert err(sf.pread64, t, fd, buf, 3, neg(-1)) == EINVAL
    # preadv2 with offset -1 uses (and advances) the file offset.
    call(sf.lseek, t, fd, 5, abi.SEEK_SET)
    iov = t.mm.iovecs([(buf, 3)])
    assert call(sf.preadv2, t, fd, iov, 1, neg(-1), 0, 0) == 2
    assert call(sf.lseek, t, fd, 0, abi.SEEK_CUR) == 7
    assert err(sf.preadv2, t, fd, iov, 1, 0, 0, 0x100) == 95       # EOPNOTSUPP
    assert err(sf.readv, t, fd, iov, 1025) == EINVAL
    assert err(sf.readv, t, fd, iov, neg(-1)) == EINVAL
    assert call(sf.readv, t, fd, iov, 0) == 0


def test_stat_lstat_statx_fstat(world):
    w = world
    t = w.t
    fd = openf(w, b"/tmp/s", abi.O_CREAT | abi.O_RDWR)
    write(w, fd, b"12345")
    call(sp.symlink, t, t.mm.cstr(b"/tmp/s"), t.mm.cstr(b"/tmp/ls"))
    buf = t.mm.alloc(144)
    call(sp.stat, t, t.mm.cstr(b"/tmp/ls"), buf)
    dev, ino, nlink, mode, uid, gid, _, rdev, size, blksize, blocks = struct.unpack_from(
        "<QQQIIIiQqqq", t.mm.copy_in(buf, 144))
    assert (mode, nlink, size) == (abi.S_IFREG | 0o644, 1, 5)
    call(sp.lstat, t, t.mm.cstr(b"/tmp/ls"), buf)
    lmode, lsize = struct.unpack_from("<I", t.mm.copy_in(buf, 144), 24)[0], struct.unpack_from(
        "<q", t.mm.copy_in(buf, 144), 48)[0]
    assert lmode == abi.S_IFLNK | 0o777 and lsize == 6
    call(sf.fstat, t, fd, buf)
    assert struct.unpack_from("<Q", t.mm.copy_in(buf, 16), 8)[0] == ino
    assert stat_of(w, b"/tmp/ls", abi.AT_SYMLINK_NOFOLLOW)[3] == abi.S_IFLNK | 0o777
    assert err(sp.newfstatat, t, FDCWD, t.mm.cstr(b"/tmp/s"), buf, 0x1) == EINVAL
    sx = t.mm.alloc(256)
    call(sp.statx, t, FDCWD, t.mm.cstr(b"/tmp/s"), 0, abi.STATX_BASIC_STATS, sx)
    raw = t.mm.copy_in(sx, 256)
    assert struct.unpack_from("<I", raw, 0)[0] & abi.STATX_BASIC_STATS == abi.STATX_BASIC_STATS
    assert struct.unpack_from("<H", raw, 28)[0] == abi.S_IFREG | 0o644
    assert struct.unpack_from("<QQ", raw, 32) == (ino, 5)
    call(sp.statx, t, fd, 0, abi.AT_EMPTY_PATH, abi.STATX_BASIC_STATS, sx)
    assert struct.unpack_from("<Q", t.mm.copy_in(sx, 256), 32)[0] == ino
    assert err(sp.statx, t, FDCWD, t.mm.cstr(b"/tmp/s"), 0, abi.STATX__RESERVED, sx) == EINVAL
    assert err(sp.stat, t, t.mm.cstr(b"/tmp/s"), 0x10) == EFAULT


def test_getdents64_and_getdents(world):
    w = world
    t = w.t
    for n in (b"a", b"bb", b"ccc"):
        openf(w, b"/tmp/" + n, abi.O_CREAT | abi.O_WRONLY)
    call(sp.mkdir, t, t.mm.cstr(b"/tmp/sub"), 0o755)
    fd = openf(w, b"/tmp", abi.O_RDONLY | abi.O_DIRECTORY)
    buf = t.mm.alloc(4096)
    n = call(sf.getdents64, t, fd, buf, 4096)
    raw = t.mm.copy_in(buf, n)
    ents, pos = {}, 0
    while pos < n:
        ino, off, reclen, dtype = struct.unpack_from("<QqHB", raw, pos)
        ents[raw[pos + 19:pos + reclen].split(b"\0")[0]] = dtype
        pos += reclen
    assert ents == {b".": abi.DT_DIR, b"..": abi.DT_DIR, b"a": abi.DT_REG, b"bb": abi.DT_REG,
                    b"ccc": abi.DT_REG, b"sub": abi.DT_DIR}
    assert call(sf.getdents64, t, fd, buf, 4096) == 0
    call(sf.lseek, t, fd, 0, abi.SEEK_SET)
    assert err(sf.getdents64, t, fd, buf, 8) == EINVAL
    # A small buffer returns a prefix; the next call continues.
    first = call(sf.getdents64, t, fd, buf, 48)
    assert first == 48
    rest = call(sf.getdents64, t, fd, buf, 4096)
    assert first + rest == n
    call(sf.lseek, t, fd, 0, abi.SEEK_SET)
    n_old = call(sf.getdents, t, fd, buf, 4096)
    raw = t.mm.copy_in(buf, n_old)
    ino, off, reclen = struct.unpack_from("<QQH", raw, 0)
    assert raw[18:20] == b".\0" and raw[reclen - 1] == abi.DT_DIR
    ffd = openf(w, b"/tmp/a")
    assert err(sf.getdents64, t, ffd, buf, 4096) == ENOTDIR


def test_access_with_non_root_creds(world):
    w = world
    t = w.t
    openf(w, b"/tmp/ro", abi.O_CREAT | abi.O_WRONLY, 0o640)
    assert call(sp.access, t, t.mm.cstr(b"/tmp/ro"), abi.R_OK | abi.W_OK) == 0
    assert err(sp.access, t, t.mm.cstr(b"/tmp/ro"), abi.X_OK) == EACCES     # root, but no x bit
    assert err(sp.access, t, t.mm.cstr(b"/tmp/ro"), 8) == EINVAL
    assert err(sp.faccessat2, t, FDCWD, t.mm.cstr(b"/tmp/ro"), 0, 0x1) == EINVAL
    t.creds = Creds(uid=1000, gid=0)          # group member: r-- only
    assert call(sp.faccessat, t, FDCWD, t.mm.cstr(b"/tmp/ro"), abi.R_OK) == 0
    assert err(sp.faccessat, t, FDCWD, t.mm.cstr(b"/tmp/ro"), abi.W_OK) == EACCES
    assert err(sp.openat, t, FDCWD, t.mm.cstr(b"/tmp/ro"), abi.O_WRONLY, 0) == EACCES
    t.creds = Creds(uid=1000, gid=1000)
    assert err(sp.access, t, t.mm.cstr(b"/tmp/ro"), abi.R_OK) == EACCES
    assert call(sp.access, t, t.mm.cstr(b"/tmp/ro"), abi.F_OK) == 0
    assert err(sp.chmod, t, t.mm.cstr(b"/tmp/ro"), 0o777) == EPERM
    assert err(sp.chown, t, t.mm.cstr(b"/tmp/ro"), 1000, 1000) == EPERM
    assert err(sp.chroot, t, t.mm.cstr(b"/tmp")) == EPERM


def test_readlink_getcwd_chdir(world):
    w = world
    t = w.t
    call(sp.symlink, t, t.mm.cstr(b"/some/where"), t.mm.cstr(b"/tmp/l"))
    buf = t.mm.alloc(64)
    assert call(sp.readlink, t, t.mm.cstr(b"/tmp/l"), buf, 64) == 11
    assert t.mm.copy_in(buf, 11) == b"/some/where"
    assert call(sp.readlink, t, t.mm.cstr(b"/tmp/l"), buf, 4) == 4
    assert err(sp.readlink, t, t.mm.cstr(b"/tmp"), buf, 64) == EINVAL
    assert err(sp.readlink, t, t.mm.cstr(b"/tmp/l"), buf, 0) == EINVAL
    lfd = openf(w, b"/tmp/l", abi.O_PATH | abi.O_NOFOLLOW)
    assert call(sp.readlinkat, t, lfd, t.mm.cstr(b""), buf, 64) == 11
    call(sp.mkdir, t, t.mm.cstr(b"/tmp/dir"), 0o755)
    assert call(sp.chdir, t, t.mm.cstr(b"/tmp/dir")) == 0
    assert call(sp.getcwd, t, buf, 64) == 9 and t.mm.copy_in(buf, 9) == b"/tmp/dir\0"
    assert err(sp.getcwd, t, buf, 8) == ERANGE
    assert openf(w, b"rel", abi.O_CREAT | abi.O_WRONLY) >= 0
    assert stat_of(w, b"/tmp/dir/rel")[3] & abi.S_IFMT == abi.S_IFREG
    assert err(sp.chdir, t, t.mm.cstr(b"/tmp/dir/rel")) == ENOTDIR
    dfd = openf(w, b"/dev", abi.O_RDONLY | abi.O_DIRECTORY)
    call(sp.fchdir, t, dfd)
    assert call(sp.getcwd, t, buf, 64) == 5
    call(sp.chdir, t, t.mm.cstr(b"/tmp/dir"))
    call(sp.unlink, t, t.mm.cstr(b"rel"))
    call(sp.rmdir, t, t.mm.cstr(b"/tmp/dir"))
    assert err(sp.getcwd, t, buf, 64) == ENOENT
    assert err(sp.openat, t, FDCWD, t.mm.cstr(b"new"), abi.O_CREAT | abi.O_WRONLY, 0) == ENOENT


def test_fcntl_dup_family(world):
    w = world
    t = w.t
    fd = openf(w, b"/tmp/f", abi.O_CREAT | abi.O_RDWR)
    assert fd == 0
    assert call(sf.dup, t, fd) == 1
    assert call(sfc.fcntl, t, fd, abi.F_DUPFD, 10) == 10
    assert call(sfc.fcntl, t, fd, abi.F_DUPFD_CLOEXEC, 0) == 2
    assert call(sfc.fcntl, t, 2, abi.F_GETFD, 0) == abi.FD_CLOEXEC
    call(sfc.fcntl, t, 2, abi.F_SETFD, 0)
    assert call(sfc.fcntl, t, 2, abi.F_GETFD, 0) == 0
    assert call(sf.dup2, t, fd, fd) == fd
    assert err(sf.dup2, t, 55, 56) == EBADF
    assert err(sf.dup3, t, fd, fd, 0) == EINVAL
    assert err(sf.dup3, t, fd, 7, 1) == EINVAL
    assert call(sf.dup3, t, fd, 7, abi.O_CLOEXEC) == 7 and t.fdtable.get_cloexec(7)
    assert err(sf.dup2, t, fd, 5000) == EBADF
    # Descriptions are shared: the offset moves for all.
    write(w, 7, b"abc")
    assert call(sf.lseek, t, fd, 0, abi.SEEK_CUR) == 3
    fl = call(sfc.fcntl, t, fd, abi.F_GETFL, 0)
    assert fl & abi.O_ACCMODE == abi.O_RDWR
    call(sfc.fcntl, t, fd, abi.F_SETFL, abi.O_NONBLOCK | abi.O_APPEND | abi.O_WRONLY)
    fl2 = call(sfc.fcntl, t, 1, abi.F_GETFL, 0)
    assert fl2 & abi.O_NONBLOCK and fl2 & abi.O_APPEND and fl2 & abi.O_ACCMODE == abi.O_RDWR
    lk = t.mm.put(abi.FLOCK.pack(abi.F_WRLCK, 0, 0, 0, 0))
    assert call(sfc.fcntl, t, fd, abi.F_GETLK, lk) == 0
    assert abi.FLOCK.unpack(t.mm.copy_in(lk, 32))[0] == abi.F_UNLCK
    assert call(sfc.fcntl, t, fd, abi.F_SETLK, t.mm.put(abi.FLOCK.pack(abi.F_RDLCK, 0, 0, 0, 0))) == 0
    assert err(sfc.fcntl, t, fd, abi.F_SETLK, t.mm.put(abi.FLOCK.pack(9, 0, 0, 0, 0))) == EINVAL
    ro = openf(w, b"/tmp/f")
    assert err(sfc.fcntl, t, ro, abi.F_SETLK, t.mm.put(abi.FLOCK.pack(abi.F_WRLCK, 0, 0, 0, 0))) == EBADF
    assert err(sfc.fcntl, t, fd, 9999, 0) == EINVAL
    assert err(sfc.fcntl, t, 99, abi.F_GETFD, 0) == EBADF
    # ioctl FIOCLEX / FIONCLEX / FIONBIO / FIONREAD
    call(sf.ioctl, t, 1, abi.FIOCLEX, 0)
    assert t.fdtable.get_cloexec(1)
    call(sf.ioctl, t, 1, abi.FIONCLEX, 0)
    assert not t.fdtable.get_cloexec(1)
    call(sf.ioctl, t, ro, abi.FIONBIO, t.mm.put(struct.pack("<i", 1)))
    assert call(sfc.fcntl, t, ro, abi.F_GETFL, 0) & abi.O_NONBLOCK
    n = t.mm.alloc(4)
    call(sf.ioctl, t, ro, abi.FIONREAD, n)
    assert struct.unpack("<i", t.mm.copy_in(n, 4))[0] == 3
    assert err(sf.ioctl, t, ro, abi.TCGETS, n) == ENOTTY
    # close_range
    call(sf.close_range, t, 1, 2, abi.CLOSE_RANGE_CLOEXEC)
    assert t.fdtable.get_cloexec(1) and t.fdtable.get_cloexec(2)
    call(sf.close_range, t, 1, 0xFFFFFFFF, 0)
    assert [fd for fd, _ in t.fdtable] == [0]
    assert err(sf.close_range, t, 5, 1, 0) == EINVAL


def test_namespace_syscalls(world):
    w = world
    t = w.t
    m = t.mm.cstr
    assert call(sp.mkdir, t, m(b"/tmp/d"), 0o777) == 0
    assert stat_of(w, b"/tmp/d")[3] == abi.S_IFDIR | 0o755
    assert err(sp.mkdir, t, m(b"/tmp/d"), 0o777) == EEXIST
    assert call(sp.mkdirat, t, FDCWD, m(b"/tmp/d/e"), 0o700) == 0
    assert err(sp.rmdir, t, m(b"/tmp/d")) == ENOTEMPTY
    openf(w, b"/tmp/d/f", abi.O_CREAT | abi.O_WRONLY)
    assert err(sp.unlinkat, t, FDCWD, m(b"/tmp/d/e"), 0) == EISDIR
    assert err(sp.unlinkat, t, FDCWD, m(b"/tmp/d/f"), abi.AT_REMOVEDIR) == ENOTDIR
    assert err(sp.unlinkat, t, FDCWD, m(b"/tmp/d/f"), 0x1) == EINVAL
    assert call(sp.unlinkat, t, FDCWD, m(b"/tmp/d/e"), abi.AT_REMOVEDIR) == 0
    assert call(sp.link, t, m(b"/tmp/d/f"), m(b"/tmp/d/g")) == 0
    assert stat_of(w, b"/tmp/d/g")[2] == 2
    assert err(sp.link, t, m(b"/tmp/d/f"), m(b"/dev/shm/f")) == EXDEV
    assert call(sp.rename, t, m(b"/tmp/d/g"), m(b"/tmp/h")) == 0
    assert err(sp.rename, t, m(b"/tmp/h"), m(b"/dev/shm/h")) == EXDEV
    assert err(sp.renameat2, t, FDCWD, m(b"/tmp/h"), FDCWD, m(b"/tmp/d/f"), abi.RENAME_NOREPLACE) == EEXIST
    assert err(sp.renameat2, t, FDCWD, m(b"/tmp/h"), FDCWD, m(b"/tmp/x"), 8) == EINVAL
    assert call(sp.symlinkat, t, m(b"d/f"), FDCWD, m(b"/tmp/sl")) == 0
    assert err(sp.symlink, t, m(b""), m(b"/tmp/sl2")) == ENOENT
    assert call(sp.unlink, t, m(b"/tmp/sl")) == 0
    assert call(sp.unlink, t, m(b"/tmp/h")) == 0
    assert err(sp.unlink, t, m(b"/tmp/h")) == ENOENT
    # mknod: a FIFO (device nodes: test_mknod_char_device)
    assert call(sp.mknod, t, m(b"/tmp/p"), abi.S_IFIFO | 0o600, 0) == 0
    assert stat_of(w, b"/tmp/p")[3] == abi.S_IFIFO | 0o600
    assert err(sp.mknod, t, m(b"/tmp/q"), abi.S_IFDIR | 0o600, 0) == EPERM
    assert err(sp.mknod, t, m(b"/tmp/q"), 0o170000, 0) == EINVAL
    assert call(sp.mknod, t, m(b"/tmp/reg"), 0o600, 0) == 0
    assert stat_of(w, b"/tmp/reg")[3] == abi.S_IFREG | 0o600


@not_on(*NINEP, why="the Gofer makes no device nodes on the host: EPERM")
def test_mknod_char_device(world):
    w = world
    t = w.t
    assert call(sp.mknodat, t, FDCWD, t.mm.cstr(b"/tmp/n"), abi.S_IFCHR | 0o666, (1 << 8) | 3) == 0
    assert stat_of(w, b"/tmp/n")[7] == abi.makedev(1, 3)
    fd = openf(w, b"/tmp/n", abi.O_WRONLY)
    assert write(w, fd, b"discarded") == 9


def _ten_byte_file(w):
    """/tmp/f holding ten bytes, open read-write: its descriptor."""
    fd = openf(w, b"/tmp/f", abi.O_CREAT | abi.O_RDWR)
    write(w, fd, b"0123456789")
    return fd


def test_chmod_chown_truncate(world):
    w = world
    t = w.t
    m = t.mm.cstr
    fd = _ten_byte_file(w)
    assert call(sp.chmod, t, m(b"/tmp/f"), 0o4755) == 0
    assert stat_of(w, b"/tmp/f")[3] == abi.S_IFREG | 0o4755
    call(sf.fchmod, t, fd, 0o4750)
    call(sp.chown, t, m(b"/tmp/f"), 12, neg(-1))
    st = stat_of(w, b"/tmp/f")
    assert (st[4], st[5]) == (12, 0)
    assert st[3] == abi.S_IFREG | 0o750          # chown cleared set-user-ID
    call(sf.fchown, t, fd, neg(-1), 34)
    assert stat_of(w, b"/tmp/f")[5] == 34
    call(sp.chown, t, m(b"/tmp/f"), neg(-1), neg(-1))   # nothing but the change time (Tsetattr of CTIME alone)
    assert stat_of(w, b"/tmp/f")[3:6] == (abi.S_IFREG | 0o750, 12, 34)
    call(sp.symlink, t, m(b"f"), m(b"/tmp/l"))
    call(sp.lchown, t, m(b"/tmp/l"), 56, 56)
    assert stat_of(w, b"/tmp/l", abi.AT_SYMLINK_NOFOLLOW)[4] == 56
    assert stat_of(w, b"/tmp/f")[4] == 12
    assert call(sp.truncate, t, m(b"/tmp/f"), 4) == 0
    assert stat_of(w, b"/tmp/f")[8] == 4
    assert err(sp.truncate, t, m(b"/tmp"), 4) == EISDIR
    assert err(sp.truncate, t, m(b"/tmp/f"), neg(-1)) == EINVAL
    call(sf.ftruncate, t, fd, 100)
    assert stat_of(w, b"/tmp/f")[8] == 100
    ro = openf(w, b"/tmp/f")
    assert err(sf.ftruncate, t, ro, 1) == EINVAL


def test_utimensat_utimes_utime(world):
    """utimensat: explicit, OMIT, NOW; utimes and utime."""
    w = world
    t = w.t
    m = t.mm.cstr
    fd = _ten_byte_file(w)
    ts = t.mm.put(abi.TIMESPEC.pack(1000, 5) + abi.TIMESPEC.pack(2000, abi.UTIME_OMIT))
    # stat() first: on a shared (volume) filesystem it takes the host's own mtime, which a locally
    # cached value after our write may differ from by microseconds.
    old_mtime = w.lookup(b"/tmp/f").dentry.inode.stat().mtime_ns
    call(sp.utimensat, t, FDCWD, m(b"/tmp/f"), ts, 0)
    ino = w.lookup(b"/tmp/f").dentry.inode
    assert ino.atime == 1000 * 10**9 + 5 and ino.mtime == old_mtime
    bad = t.mm.put(abi.TIMESPEC.pack(1, 10**9) + abi.TIMESPEC.pack(1, 0))
    assert err(sp.utimensat, t, FDCWD, m(b"/tmp/f"), bad, 0) == EINVAL
    call(sp.utimensat, t, fd, 0, 0, 0)            # futimens(fd, NULL): now
    assert ino.atime > 1000 * 10**9 + 5
    assert err(sp.utimensat, t, FDCWD, m(b"/tmp/f"), 0, 0x1) == EINVAL
    tv = t.mm.put(abi.TIMEVAL.pack(7, 1) + abi.TIMEVAL.pack(8, 2))
    call(sp.utimes, t, m(b"/tmp/f"), tv)
    assert (ino.atime, ino.mtime) == (7 * 10**9 + 1000, 8 * 10**9 + 2000)
    ub = t.mm.put(abi.UTIMBUF.pack(3, 4))
    call(sp.utime, t, m(b"/tmp/f"), ub)
    assert (ino.atime, ino.mtime) == (3 * 10**9, 4 * 10**9)
    assert err(sp.utimes, t, m(b"/tmp/f"), t.mm.put(abi.TIMEVAL.pack(1, 10**6) * 2)) == EINVAL


def _mtim(w, path, flags=0):
    """(st_mtim.tv_sec, tv_nsec) of ``path``."""
    buf = w.t.mm.alloc(144)
    call(sp.newfstatat, w.t, FDCWD, w.t.mm.cstr(path), buf, flags)
    return struct.unpack_from("<qq", w.t.mm.copy_in(buf, 144), 88)


def test_utimensat_nofollow_sets_a_symlinks_own_times(world):
    """utimensat(AT_SYMLINK_NOFOLLOW) on a symlink changes the link's times, not its target's
    (cp -a, rsync -a and shutil.copytree(symlinks=True) do it; the Gofer said EOPNOTSUPP)."""
    w = world
    t = w.t
    _ten_byte_file(w)
    symlink_path(w.ctx, w.vfs.root, b"/tmp/l", b"f")
    target = _mtim(w, b"/tmp/f")
    call(sp.utimensat, t, FDCWD, t.mm.cstr(b"/tmp/l"), t.mm.put(abi.TIMESPEC.pack(5, 6) * 2),
         abi.AT_SYMLINK_NOFOLLOW)
    assert _mtim(w, b"/tmp/l", abi.AT_SYMLINK_NOFOLLOW) == (5, 6)
    assert _mtim(w, b"/tmp/f") == target


@not_on("gofer-9p-only", "diod", why="plain 9P2000.L takes an empty xattrcreate as a removal")
def test_setxattr_with_an_empty_value(world):
    """An attribute may hold an empty value (it is listed and reads back as 0 bytes)."""
    w = world
    t = w.t
    m = t.mm.cstr
    _ten_byte_file(w)
    call(sx.setxattr, t, m(b"/tmp/f"), m(b"user.empty"), m(b""), 0, 0)
    assert call(sx.getxattr, t, m(b"/tmp/f"), m(b"user.empty"), t.mm.alloc(16), 16) == 0
    names = t.mm.alloc(64)
    n = call(sx.listxattr, t, m(b"/tmp/f"), names, 64)
    assert b"user.empty\0" in t.mm.copy_in(names, n)
    call(sx.removexattr, t, m(b"/tmp/f"), m(b"user.empty"))
    assert call(sx.listxattr, t, m(b"/tmp/f"), names, 64) == 0


def test_statfs_fallocate_fsync_flock_readahead(world):
    w = world
    t = w.t
    m = t.mm.cstr
    fd = _ten_byte_file(w)
    ro = openf(w, b"/tmp/f")
    # statfs / fstatfs
    sb = t.mm.alloc(120)
    call(sp.statfs, t, m(b"/tmp"), sb)
    assert struct.unpack_from("<q", t.mm.copy_in(sb, 8))[0] == w.fs_magic
    call(sf.fstatfs, t, fd, sb)
    assert struct.unpack_from("<q", t.mm.copy_in(sb, 8))[0] == w.fs_magic
    # fallocate, fsync, flock, readahead
    assert call(sf.fallocate, t, fd, 0, 0, 5000) == 0
    assert stat_of(w, b"/tmp/f")[8] == 5000
    assert err(sf.fallocate, t, fd, 0, 0, 0) == EINVAL
    assert err(sf.fallocate, t, ro, 0, 0, 10) == EBADF
    assert call(sf.fsync, t, fd) == 0 and call(sf.fdatasync, t, fd) == 0
    assert call(sfc.flock, t, fd, abi.LOCK_EX | abi.LOCK_NB) == 0
    assert err(sfc.flock, t, fd, 0) == EINVAL
    assert call(sf.readahead, t, ro, 0, 100) == 0
    dfd = openf(w, b"/tmp", abi.O_RDONLY | abi.O_DIRECTORY)
    assert err(sf.readahead, t, dfd, 0, 100) == EINVAL
    assert err(sf.lseek, t, openf(w, b"/tmp"), 0, abi.SEEK_END) == EINVAL


# --- through the VFS operations ---------------------------------------------------------------

def test_file_read_write_seek_and_sizes(world):
    w = world
    f = op(w, b"/tmp/f", abi.O_CREAT | abi.O_RDWR)
    assert f.write(None, b"hello world") == 11
    assert f.offset == 11
    assert f.lseek(0, abi.SEEK_SET) == 0
    assert f.read(None, 5) == b"hello"
    assert f.read(None, 100) == b" world"
    assert f.read(None, 100) == b""                          # EOF
    assert f.read(None, 3, offset=6) == b"wor" and f.offset == 11
    assert f.write(None, b"!", offset=100) == 1               # sparse extension
    assert st(w, b"/tmp/f").size == 101
    assert f.read(None, 200, offset=0)[11:100] == bytes(89)
    assert f.lseek(-1, abi.SEEK_END) == 100
    assert errno_of(f.lseek, -1, abi.SEEK_SET) == EINVAL
    assert errno_of(f.lseek, 0, 99) == EINVAL
    f.dec_ref()


def test_timestamps_move_on_write_and_dir_change(world):
    w = world
    mkdir_path(w.ctx, w.vfs.root, b"/tmp/d", 0o755)
    d0 = st(w, b"/tmp/d")
    time.sleep(0.002)
    f = op(w, b"/tmp/d/f", abi.O_CREAT | abi.O_WRONLY)
    d1 = st(w, b"/tmp/d")
    assert d1.mtime_ns > d0.mtime_ns and d1.ctime_ns > d0.ctime_ns
    s0 = st(w, b"/tmp/d/f")
    time.sleep(0.002)
    f.write(None, b"x")
    s1 = st(w, b"/tmp/d/f")
    assert s1.mtime_ns > s0.mtime_ns and s1.ctime_ns > s0.ctime_ns and s1.size == 1
    f.dec_ref()


def test_directory_nlink_and_rmdir(world):
    w = world
    root_nlink = st(w, b"/tmp").nlink
    mkdir_path(w.ctx, w.vfs.root, b"/tmp/a", 0o755)
    mkdir_path(w.ctx, w.vfs.root, b"/tmp/a/b", 0o755)
    assert st(w, b"/tmp").nlink == root_nlink + 1
    assert st(w, b"/tmp/a").nlink == 3
    assert st(w, b"/tmp/a/b").nlink == 2
    assert errno_of(rmdir_path, w.ctx, w.vfs.root, b"/tmp/a") == ENOTEMPTY
    assert errno_of(rmdir_path, w.ctx, w.vfs.root, b"/tmp/a/.") == EINVAL
    assert errno_of(rmdir_path, w.ctx, w.vfs.root, b"/tmp/a/..") == ENOTEMPTY
    assert errno_of(rmdir_path, w.ctx, w.vfs.root, b"/dev/shm") == EBUSY     # a mount point
    rmdir_path(w.ctx, w.vfs.root, b"/tmp/a/b")
    assert st(w, b"/tmp/a").nlink == 2
    rmdir_path(w.ctx, w.vfs.root, b"/tmp/a/")
    assert st(w, b"/tmp").nlink == root_nlink
    assert errno_of(w.lookup, b"/tmp/a") == ENOENT


def test_mkdir_and_create_errors(world):
    w = world
    mkdir_path(w.ctx, w.vfs.root, b"/tmp/d", 0o755)
    assert errno_of(mkdir_path, w.ctx, w.vfs.root, b"/tmp/d", 0o755) == EEXIST
    assert errno_of(mkdir_path, w.ctx, w.vfs.root, b"/tmp/d/.", 0o755) == EEXIST
    assert errno_of(mkdir_path, w.ctx, w.vfs.root, b"/", 0o755) == EEXIST
    assert errno_of(mkdir_path, w.ctx, w.vfs.root, b"/tmp/x/y", 0o755) == ENOENT
    assert errno_of(op, w, b"/tmp/d", abi.O_CREAT | abi.O_EXCL | abi.O_RDWR) == EEXIST
    assert errno_of(op, w, b"/tmp/d", abi.O_WRONLY) == EISDIR
    assert errno_of(op, w, b"/tmp/new/", abi.O_CREAT | abi.O_RDWR) == EISDIR
    assert errno_of(symlink_path, w.ctx, w.vfs.root, b"/tmp/nf/", b"x") == ENOENT
    # Creating in a removed directory (kept open as a cwd would be) fails with ENOENT.
    d = w.lookup(b"/tmp/d")
    d.dentry.inc_ref()    # held, as a cwd is
    rmdir_path(w.ctx, w.vfs.root, b"/tmp/d")
    assert errno_of(open_path, w.ctx, d, b"f", abi.O_CREAT | abi.O_RDWR) == ENOENT


def test_hard_links_and_unlink(world):
    w = world
    f = op(w, b"/tmp/a", abi.O_CREAT | abi.O_RDWR)
    f.write(None, b"shared")
    link_path(w.ctx, w.lookup(b"/tmp/a"), w.vfs.root, b"/tmp/b")
    a, b = w.lookup(b"/tmp/a"), w.lookup(b"/tmp/b")
    assert a.dentry is not b.dentry and a.dentry.inode is b.dentry.inode
    assert st(w, b"/tmp/a").nlink == 2
    assert errno_of(link_path, w.ctx, w.lookup(b"/tmp"), w.vfs.root, b"/tmp/dirlink") == EPERM
    assert errno_of(link_path, w.ctx, a, w.vfs.root, b"/tmp/b") == EEXIST
    assert errno_of(link_path, w.ctx, a, w.vfs.root, b"/dev/shm/x") == EXDEV
    unlink_path(w.ctx, w.vfs.root, b"/tmp/a")
    assert st(w, b"/tmp/b").nlink == 1
    assert op(w, b"/tmp/b").read(None, 100) == b"shared"
    assert errno_of(unlink_path, w.ctx, w.vfs.root, b"/tmp") == EISDIR
    assert errno_of(unlink_path, w.ctx, w.vfs.root, b"/tmp/b/") == ENOTDIR
    assert errno_of(unlink_path, w.ctx, w.vfs.root, b"/tmp/zz") == ENOENT
    f.dec_ref()


def two_files(w):
    """The inodes of two new empty files, /tmp/a and /tmp/b."""
    for p in (b"/tmp/a", b"/tmp/b"):
        op(w, p, abi.O_CREAT | abi.O_WRONLY).dec_ref()
    return w.lookup(b"/tmp/a").dentry.inode, w.lookup(b"/tmp/b").dentry.inode


def test_rename_variants(world):
    w = world
    ia, ib = two_files(w)
    assert errno_of(rename_path, w.ctx, w.vfs.root, b"/tmp/a", w.vfs.root, b"/tmp/b",
                    abi.RENAME_NOREPLACE) == EEXIST
    rename_path(w.ctx, w.vfs.root, b"/tmp/a", w.vfs.root, b"/tmp/b")         # replaces
    assert w.lookup(b"/tmp/b").dentry.inode is ia and ib.nlink == 0
    assert errno_of(w.lookup, b"/tmp/a") == ENOENT
    assert errno_of(rename_path, w.ctx, w.vfs.root, b"/tmp/a", w.vfs.root, b"/tmp/c", 0) == ENOENT
    assert errno_of(rename_path, w.ctx, w.vfs.root, b"/tmp/b", w.vfs.root, b"/tmp/c",
                    abi.RENAME_EXCHANGE | abi.RENAME_NOREPLACE) == EINVAL
    mkdir_path(w.ctx, w.vfs.root, b"/tmp/d", 0o755)
    mkdir_path(w.ctx, w.vfs.root, b"/tmp/d/sub", 0o755)
    mkdir_path(w.ctx, w.vfs.root, b"/tmp/e", 0o755)
    op(w, b"/tmp/e/x", abi.O_CREAT | abi.O_WRONLY).dec_ref()
    assert errno_of(rename_path, w.ctx, w.vfs.root, b"/tmp/d", w.vfs.root, b"/tmp/d/sub/in") == EINVAL
    assert errno_of(rename_path, w.ctx, w.vfs.root, b"/tmp/d", w.vfs.root, b"/tmp/e") == ENOTEMPTY
    assert errno_of(rename_path, w.ctx, w.vfs.root, b"/tmp/d", w.vfs.root, b"/tmp/b") == ENOTDIR
    assert errno_of(rename_path, w.ctx, w.vfs.root, b"/tmp/b", w.vfs.root, b"/tmp/d") == EISDIR
    assert errno_of(rename_path, w.ctx, w.vfs.root, b"/tmp/b/", w.vfs.root, b"/tmp/z") == ENOTDIR
    assert errno_of(rename_path, w.ctx, w.vfs.root, b"/tmp/b", w.vfs.root, b"/dev/shm/b") == EXDEV
    assert errno_of(rename_path, w.ctx, w.vfs.root, b"/tmp/d/.", w.vfs.root, b"/tmp/q") == EBUSY
    # Moving a directory between parents fixes both parents' nlink; cached dentries follow.
    sub = w.lookup(b"/tmp/d/sub").dentry
    rename_path(w.ctx, w.vfs.root, b"/tmp/d/sub", w.vfs.root, b"/tmp/e/sub2")
    assert st(w, b"/tmp/d").nlink == 2 and st(w, b"/tmp/e").nlink == 3
    assert w.lookup(b"/tmp/e/sub2").dentry is sub and sub.name == b"sub2"


@not_on("diod", why="diod answers ENOENT to a rename onto another hard link of the same file")
def test_rename_onto_own_hard_link_is_a_no_op(world):
    w = world
    op(w, b"/tmp/b", abi.O_CREAT | abi.O_WRONLY).dec_ref()
    link_path(w.ctx, w.lookup(b"/tmp/b"), w.vfs.root, b"/tmp/b2")
    rename_path(w.ctx, w.vfs.root, b"/tmp/b", w.vfs.root, b"/tmp/b2")
    assert w.lookup(b"/tmp/b").dentry.inode is w.lookup(b"/tmp/b2").dentry.inode


def test_truncate_and_setattr(world):
    w = world
    f = op(w, b"/tmp/t", abi.O_CREAT | abi.O_RDWR)
    f.write(None, b"0123456789" * 10000)
    vd = w.lookup(b"/tmp/t")
    truncate_vd(w.ctx, vd, 5)
    assert f.read(None, 100, offset=0) == b"01234"
    truncate_vd(w.ctx, vd, 20)
    assert f.read(None, 100, offset=0) == b"01234" + bytes(15)
    assert errno_of(truncate_vd, w.ctx, w.lookup(b"/tmp"), 0) == EISDIR
    assert errno_of(truncate_vd, w.ctx, vd, -1) == EINVAL
    vd.dentry.inode.setattr(mode=0o4711, uid=7, gid=8)
    s = vd.dentry.inode.stat()
    assert s.mode == abi.S_IFREG | 0o4711 and (s.uid, s.gid) == (7, 8)
    # O_TRUNC on open.
    op(w, b"/tmp/t", abi.O_WRONLY | abi.O_TRUNC).dec_ref()
    assert st(w, b"/tmp/t").size == 0
    f.dec_ref()


def test_statfs_and_dir_listing(world):
    w = world
    s = w.lookup(b"/tmp").dentry.inode.statfs()
    assert s.type == w.fs_magic
    for n in (b"x", b"y"):
        op(w, b"/tmp/" + n, abi.O_CREAT | abi.O_WRONLY).dec_ref()
    d = op(w, b"/tmp", abi.O_RDONLY | abi.O_DIRECTORY)
    buf = d.getdents64(4096)
    names = []
    pos = 0
    import struct
    while pos < len(buf):
        ino, off, reclen, dtype = struct.unpack_from("<QqHB", buf, pos)
        names.append((buf[pos + 19:pos + reclen].split(b"\0")[0], dtype, off))
        pos += reclen
    assert [n for n, _, _ in names] == [b".", b"..", b"x", b"y"]
    assert [o for _, _, o in names] == [1, 2, 3, 4]
    assert names[2][1] == abi.DT_REG
    assert d.getdents64(4096) == b""
    d.lseek(0, abi.SEEK_SET)
    assert len(d.getdents64(4096)) == len(buf)
    d.lseek(0, abi.SEEK_SET)
    assert errno_of(d.getdents64, 10) == EINVAL
    assert errno_of(d.read, None, 10) == EISDIR
    d.dec_ref()


def test_o_path_refuses_io(world):
    w = world
    op(w, b"/tmp/p", abi.O_CREAT | abi.O_WRONLY).dec_ref()
    f = op(w, b"/tmp/p", abi.O_PATH | abi.O_RDWR)
    assert errno_of(f.read, None, 1) == EBADF
    assert errno_of(f.write, None, b"x") == EBADF
    assert f.stat().size == 0
    symlink_path(w.ctx, w.vfs.root, b"/tmp/sl", b"p")
    g = op(w, b"/tmp/sl", abi.O_PATH | abi.O_NOFOLLOW)
    assert g.inode.is_symlink
    assert errno_of(op, w, b"/tmp/sl", abi.O_RDONLY | abi.O_NOFOLLOW) == 40   # ELOOP
    assert errno_of(op, w, b"/tmp/p", abi.O_RDONLY | abi.O_DIRECTORY) == ENOTDIR


def test_o_creat_through_dangling_symlink_creates_target(world):
    w = world
    symlink_path(w.ctx, w.vfs.root, b"/tmp/link", b"real")
    f = op(w, b"/tmp/link", abi.O_CREAT | abi.O_WRONLY)
    f.write(None, b"via link")
    assert w.lookup(b"/tmp/real").dentry.inode.size == 8
    assert errno_of(op, w, b"/tmp/link", abi.O_CREAT | abi.O_EXCL | abi.O_WRONLY) == EEXIST
    f.dec_ref()


# --- what reaches the host directory behind the filesystem ------------------------------------

@not_on("tmpfs", why="checks the host directory behind the filesystem")
def test_writes_reach_the_host(world):
    w = world
    f = op(w, b"/tmp/new", abi.O_CREAT | abi.O_WRONLY | abi.O_EXCL)
    assert f.write(None, b"hello ") == 6
    assert f.write(None, b"world") == 5
    assert (w.host / "new").read_bytes() == b"hello world"
    f.write(None, b"W", offset=6)
    assert (w.host / "new").read_bytes() == b"hello World"
    f.impl.truncate(5)
    assert (w.host / "new").read_bytes() == b"hello"
    f.fsync()
    f.dec_ref()
    assert errno_of(op, w, b"/tmp/new", abi.O_CREAT | abi.O_EXCL | abi.O_WRONLY) == EEXIST
    a = op(w, b"/tmp/new", abi.O_WRONLY | abi.O_APPEND)
    a.write(None, b"!")
    assert (w.host / "new").read_bytes() == b"hello!"
    op(w, b"/tmp/new", abi.O_WRONLY | abi.O_TRUNC).dec_ref()
    assert (w.host / "new").read_bytes() == b""
    assert os.stat(w.host / "new").st_mode & 0o777 == 0o644


@not_on("tmpfs", why="checks the host directory behind the filesystem")
def test_directory_changes_reach_the_host(world):
    w = world
    from snakevisor.sentry.vfs.pathops import link_path, mkdir_path, rmdir_path, symlink_path
    mkdir_path(w.ctx, w.vfs.root, b"/tmp/d", 0o750)
    assert os.stat(w.host / "d").st_mode & 0o777 == 0o750
    op(w, b"/tmp/d/f", abi.O_CREAT | abi.O_WRONLY).dec_ref()
    symlink_path(w.ctx, w.vfs.root, b"/tmp/d/l", b"f")
    assert os.readlink(w.host / "d" / "l") == "f"
    link_path(w.ctx, w.lookup(b"/tmp/d/f"), w.vfs.root, b"/tmp/d/g")
    assert os.stat(w.host / "d" / "g").st_nlink == 2
    assert w.lookup(b"/tmp/d/f").dentry.inode.nlink == 2
    rename_path(w.ctx, w.vfs.root, b"/tmp/d/g", w.vfs.root, b"/tmp/h")
    assert (w.host / "h").exists() and not (w.host / "d" / "g").exists()
    assert errno_of(rename_path, w.ctx, w.vfs.root, b"/tmp/h", w.vfs.root, b"/tmp/d/f", abi.RENAME_NOREPLACE) == EEXIST
    if w.gofer.client.donation:    # our Gofer exchanges; plain 9P2000.L cannot (test_exchange_on_plain_9p)
        rename_path(w.ctx, w.vfs.root, b"/tmp/d/l", w.vfs.root, b"/tmp/d/f", abi.RENAME_EXCHANGE)
        assert os.readlink(w.host / "d" / "f") == "f" and (w.host / "d" / "l").is_file()
        rename_path(w.ctx, w.vfs.root, b"/tmp/d/l", w.vfs.root, b"/tmp/d/f", abi.RENAME_EXCHANGE)
        assert os.readlink(w.host / "d" / "l") == "f"
    unlink_path(w.ctx, w.vfs.root, b"/tmp/h")
    assert w.lookup(b"/tmp/d/f").dentry.inode.nlink == 1
    for n in (b"f", b"l"):
        unlink_path(w.ctx, w.vfs.root, b"/tmp/d/" + n)
    rmdir_path(w.ctx, w.vfs.root, b"/tmp/d")
    assert os.listdir(w.host) == []


@not_on("tmpfs", why="checks the host directory behind the filesystem")
def test_unlinked_open_file_still_works_and_new_file_is_new(world):
    w = world
    f = op(w, b"/tmp/u", abi.O_CREAT | abi.O_RDWR)
    f.write(None, b"data")
    ino = f.inode.ino
    unlink_path(w.ctx, w.vfs.root, b"/tmp/u")
    assert not (w.host / "u").exists()
    assert f.read(None, 10, offset=0) == b"data"
    g = op(w, b"/tmp/u", abi.O_CREAT | abi.O_RDWR)
    assert g.read(None, 10, offset=0) == b""
    assert g.inode is not f.inode
    f.dec_ref()
    g.dec_ref()
    assert ino not in w.gofer.inodes or w.gofer.inodes[ino] is not f.inode
