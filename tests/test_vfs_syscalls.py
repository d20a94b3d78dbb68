"""The fs/file syscall handlers over a real tmpfs/devfs tree with a fake Task."""
import os
import struct

import pytest

from test_vfs_fixtures import FDCWD, Creds, WouldBlock, call, err, world  # noqa: F401

from snakevisor.abi import fs as abi
from snakevisor.abi.errno import (EACCES, EAGAIN, EBADF, EEXIST, EFAULT, EINVAL, EISDIR, ELOOP,
                                  EMFILE, ENAMETOOLONG, ENOENT, ENOTDIR, ENOTEMPTY, ENOTTY, EPERM,
                                  ERANGE, ESPIPE, EXDEV)
from snakevisor.sentry.syscalls import file as sf
from snakevisor.sentry.syscalls import fs as sp
from snakevisor.sentry.vfs.waiter import HostFdWaitable

U64 = 2**64 - 1


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
    assert call(sf.fcntl, t, afd, abi.F_GETFL, 0) & abi.O_APPEND
    call(sp.umask, t, 0o077)
    assert call(sp.umask, t, 0o022) == 0o077
    openf(w, b"/tmp/x", abi.O_WRONLY | abi.O_TRUNC)
    assert stat_of(w, b"/tmp/x")[8] == 0
    fd = call(sp.creat, t, t.mm.cstr(b"/tmp/c"), 0o600)
    assert call(sf.fcntl, t, fd, abi.F_GETFL, 0) & abi.O_ACCMODE == abi.O_WRONLY


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
    assert call(sf.fcntl, t, fd, abi.F_DUPFD, 10) == 10
    assert call(sf.fcntl, t, fd, abi.F_DUPFD_CLOEXEC, 0) == 2
    assert call(sf.fcntl, t, 2, abi.F_GETFD, 0) == abi.FD_CLOEXEC
    call(sf.fcntl, t, 2, abi.F_SETFD, 0)
    assert call(sf.fcntl, t, 2, abi.F_GETFD, 0) == 0
    assert call(sf.dup2, t, fd, fd) == fd
    assert err(sf.dup2, t, 55, 56) == EBADF
    assert err(sf.dup3, t, fd, fd, 0) == EINVAL
    assert err(sf.dup3, t, fd, 7, 1) == EINVAL
    assert call(sf.dup3, t, fd, 7, abi.O_CLOEXEC) == 7 and t.fdtable.get_cloexec(7)
    assert err(sf.dup2, t, fd, 5000) == EBADF
    # Descriptions are shared: the offset moves for all.
    write(w, 7, b"abc")
    assert call(sf.lseek, t, fd, 0, abi.SEEK_CUR) == 3
    fl = call(sf.fcntl, t, fd, abi.F_GETFL, 0)
    assert fl & abi.O_ACCMODE == abi.O_RDWR
    call(sf.fcntl, t, fd, abi.F_SETFL, abi.O_NONBLOCK | abi.O_APPEND | abi.O_WRONLY)
    fl2 = call(sf.fcntl, t, 1, abi.F_GETFL, 0)
    assert fl2 & abi.O_NONBLOCK and fl2 & abi.O_APPEND and fl2 & abi.O_ACCMODE == abi.O_RDWR
    lk = t.mm.put(abi.FLOCK.pack(abi.F_WRLCK, 0, 0, 0, 0))
    assert call(sf.fcntl, t, fd, abi.F_GETLK, lk) == 0
    assert abi.FLOCK.unpack(t.mm.copy_in(lk, 32))[0] == abi.F_UNLCK
    assert call(sf.fcntl, t, fd, abi.F_SETLK, t.mm.put(abi.FLOCK.pack(abi.F_RDLCK, 0, 0, 0, 0))) == 0
    assert err(sf.fcntl, t, fd, abi.F_SETLK, t.mm.put(abi.FLOCK.pack(9, 0, 0, 0, 0))) == EINVAL
    ro = openf(w, b"/tmp/f")
    assert err(sf.fcntl, t, ro, abi.F_SETLK, t.mm.put(abi.FLOCK.pack(abi.F_WRLCK, 0, 0, 0, 0))) == EBADF
    assert err(sf.fcntl, t, fd, 9999, 0) == EINVAL
    assert err(sf.fcntl, t, 99, abi.F_GETFD, 0) == EBADF
    # ioctl FIOCLEX / FIONCLEX / FIONBIO / FIONREAD
    call(sf.ioctl, t, 1, abi.FIOCLEX, 0)
    assert t.fdtable.get_cloexec(1)
    call(sf.ioctl, t, 1, abi.FIONCLEX, 0)
    assert not t.fdtable.get_cloexec(1)
    call(sf.ioctl, t, ro, abi.FIONBIO, t.mm.put(struct.pack("<i", 1)))
    assert call(sf.fcntl, t, ro, abi.F_GETFL, 0) & abi.O_NONBLOCK
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


def test_emfile(world):
    w = world
    t = w.t
    t.fdtable.set_limit(3)
    for _ in range(3):
        openf(w, b"/dev/null")
    assert err(sp.openat, t, FDCWD, t.mm.cstr(b"/dev/null"), 0, 0) == EMFILE
    assert err(sf.dup, t, 0) == EMFILE
    assert t.fdtable.get(0).refs == 1          # the failed dup gave its reference back
    assert err(sf.fcntl, t, 0, abi.F_DUPFD, 3) == EINVAL


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
    assert call(sp.renameat2, t, FDCWD, m(b"/tmp/h"), FDCWD, m(b"/tmp/d/f"), abi.RENAME_EXCHANGE) == 0
    assert err(sp.renameat2, t, FDCWD, m(b"/tmp/h"), FDCWD, m(b"/tmp/x"), 8) == EINVAL
    assert call(sp.symlinkat, t, m(b"d/f"), FDCWD, m(b"/tmp/sl")) == 0
    assert err(sp.symlink, t, m(b""), m(b"/tmp/sl2")) == ENOENT
    assert call(sp.unlink, t, m(b"/tmp/sl")) == 0
    assert call(sp.unlink, t, m(b"/tmp/h")) == 0
    assert err(sp.unlink, t, m(b"/tmp/h")) == ENOENT
    # mknod: FIFO and a char device
    assert call(sp.mknod, t, m(b"/tmp/p"), abi.S_IFIFO | 0o600, 0) == 0
    assert stat_of(w, b"/tmp/p")[3] == abi.S_IFIFO | 0o600
    assert call(sp.mknodat, t, FDCWD, m(b"/tmp/n"), abi.S_IFCHR | 0o666, (1 << 8) | 3) == 0
    assert stat_of(w, b"/tmp/n")[7] == abi.makedev(1, 3)
    fd = openf(w, b"/tmp/n", abi.O_WRONLY)
    assert write(w, fd, b"discarded") == 9
    assert err(sp.mknod, t, m(b"/tmp/q"), abi.S_IFDIR | 0o600, 0) == EPERM
    assert err(sp.mknod, t, m(b"/tmp/q"), 0o170000, 0) == EINVAL
    assert call(sp.mknod, t, m(b"/tmp/reg"), 0o600, 0) == 0
    assert stat_of(w, b"/tmp/reg")[3] == abi.S_IFREG | 0o600


def test_attribute_syscalls(world):
    w = world
    t = w.t
    m = t.mm.cstr
    fd = openf(w, b"/tmp/f", abi.O_CREAT | abi.O_RDWR)
    write(w, fd, b"0123456789")
    assert call(sp.chmod, t, m(b"/tmp/f"), 0o4755) == 0
    assert stat_of(w, b"/tmp/f")[3] == abi.S_IFREG | 0o4755
    call(sf.fchmod, t, fd, 0o4750)
    call(sp.chown, t, m(b"/tmp/f"), 12, neg(-1))
    st = stat_of(w, b"/tmp/f")
    assert (st[4], st[5]) == (12, 0)
    assert st[3] == abi.S_IFREG | 0o750          # chown cleared set-user-ID
    call(sf.fchown, t, fd, neg(-1), 34)
    assert stat_of(w, b"/tmp/f")[5] == 34
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
    # utimensat: explicit, OMIT, NOW
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
    # statfs / fstatfs
    sb = t.mm.alloc(120)
    call(sp.statfs, t, m(b"/tmp"), sb)
    assert struct.unpack_from("<q", t.mm.copy_in(sb, 8))[0] == abi.TMPFS_MAGIC
    call(sf.fstatfs, t, fd, sb)
    assert struct.unpack_from("<q", t.mm.copy_in(sb, 8))[0] == abi.TMPFS_MAGIC
    # fallocate, fsync, flock, readahead
    assert call(sf.fallocate, t, fd, 0, 0, 5000) == 0
    assert stat_of(w, b"/tmp/f")[8] == 5000
    assert err(sf.fallocate, t, fd, 0, 0, 0) == EINVAL
    assert err(sf.fallocate, t, ro, 0, 0, 10) == EBADF
    assert call(sf.fsync, t, fd) == 0 and call(sf.fdatasync, t, fd) == 0
    assert call(sf.flock, t, fd, abi.LOCK_EX | abi.LOCK_NB) == 0
    assert err(sf.flock, t, fd, 0) == EINVAL
    assert call(sf.readahead, t, ro, 0, 100) == 0
    dfd = openf(w, b"/tmp", abi.O_RDONLY | abi.O_DIRECTORY)
    assert err(sf.readahead, t, dfd, 0, 100) == EINVAL
    assert err(sf.lseek, t, openf(w, b"/tmp"), 0, abi.SEEK_END) == EINVAL


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
        assert t.fdtable.get(rfd).readiness(abi.POLLIN) == 0
        assert write(w, wfd, b"ping") == 4
        assert t.fdtable.get(rfd).readiness(abi.POLLIN) & abi.POLLIN
        assert call(sf.read, t, rfd, buf, 16) == 4 and t.mm.copy_in(buf, 4) == b"ping"
        call(sf.fcntl, t, rfd, abi.F_SETFL, abi.O_NONBLOCK)
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
        assert t.fdtable.get(rfd).readiness(abi.POLLIN) & abi.POLLIN
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
