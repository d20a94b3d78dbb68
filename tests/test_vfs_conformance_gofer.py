"""The VFS conformance suite, continued (test_vfs_conformance.py holds the backends and the
``world`` fixture): renameat2's flags, mknod, O_TMPFILE, SEEK_DATA/SEEK_HOLE and copies, where
our Gofer's dialect lets a Gofer mount do what Linux does and plain 9P2000.L (``gofer-9p-only``,
``diod``) cannot.
"""
import os
import stat
import struct

import pytest

from harness import errno_of
import test_vfs_conformance as conformance
from test_vfs_conformance import DIALECT, PLAIN_9P, not_on, two_files
from test_vfs_fixtures import FDCWD, Creds, call, err, op, openf, read_all, st, stat_of, write

from snakevisor.abi import fs as abi
from snakevisor.abi.errno import SyscallError
from snakevisor.abi.fs import FALLOC_FL_COLLAPSE_RANGE, FALLOC_FL_INSERT_RANGE
from snakevisor.abi.errno import EBADF, EEXIST, EINVAL, ENOENT, ENOTDIR, ENXIO, EOPNOTSUPP, EPERM
from snakevisor.sentry.syscalls import file as sf
from snakevisor.sentry.syscalls import fs as sp
from snakevisor.sentry.syscalls import splice as ssp
from snakevisor.sentry.vfs.pathops import mkdir_path, rename_path

world = conformance.world    # the fixture: every backend


@not_on(*PLAIN_9P, why="9P2000.L has no exchange: EINVAL (test_exchange_on_plain_9p)")
def test_rename_exchange(world):
    w = world
    ia, ib = two_files(w)
    rename_path(w.ctx, w.vfs.root, b"/tmp/a", w.vfs.root, b"/tmp/b", abi.RENAME_EXCHANGE)
    assert w.lookup(b"/tmp/a").dentry.inode is ib and w.lookup(b"/tmp/b").dentry.inode is ia
    assert errno_of(rename_path, w.ctx, w.vfs.root, b"/tmp/b", w.vfs.root, b"/tmp/c",
                    abi.RENAME_EXCHANGE) == ENOENT


@not_on(*PLAIN_9P, why="9P2000.L has no exchange: EINVAL (test_exchange_on_plain_9p)")
def test_rename_exchange_directory_and_file_across_parents(world):
    """A directory and a file swap parents: both parents' link counts follow the directory,
    names below the directory still resolve (in the Sentry and, for the Gofer, by its fids'
    names), and an open file below it keeps working."""
    w = world
    for d in (b"/tmp/d1", b"/tmp/d1/sub", b"/tmp/d2"):
        mkdir_path(w.ctx, w.vfs.root, d, 0o755)
    inner = op(w, b"/tmp/d1/sub/inner", abi.O_CREAT | abi.O_RDWR)
    inner.write(None, b"inner")
    op(w, b"/tmp/d2/f", abi.O_CREAT | abi.O_WRONLY).dec_ref()
    sub, f = w.lookup(b"/tmp/d1/sub").dentry, w.lookup(b"/tmp/d2/f").dentry
    rename_path(w.ctx, w.vfs.root, b"/tmp/d1/sub", w.vfs.root, b"/tmp/d2/f", abi.RENAME_EXCHANGE)
    assert w.lookup(b"/tmp/d2/f").dentry is sub and w.lookup(b"/tmp/d1/sub").dentry is f
    assert (st(w, b"/tmp/d1").nlink, st(w, b"/tmp/d2").nlink) == (2, 3)
    assert stat_of(w, b"/tmp/d1/sub")[3] & abi.S_IFMT == abi.S_IFREG
    inner.write(None, b"!")
    g = op(w, b"/tmp/d2/f/inner", abi.O_RDONLY)
    assert g.read(None, 10, offset=0) == b"inner!"
    g.dec_ref()
    inner.dec_ref()
    rename_path(w.ctx, w.vfs.root, b"/tmp/d2/f", w.vfs.root, b"/tmp/d1/sub", abi.RENAME_EXCHANGE)
    assert w.lookup(b"/tmp/d1/sub/inner").dentry.inode.size == 6
    assert (st(w, b"/tmp/d1").nlink, st(w, b"/tmp/d2").nlink) == (3, 2)
    if hasattr(w, "host"):
        assert (w.host / "d1" / "sub" / "inner").read_bytes() == b"inner!"
        assert (w.host / "d2" / "f").is_file()


@not_on("tmpfs", *DIALECT, why="our Gofer exchanges (test_rename_exchange)")
def test_exchange_on_plain_9p(world):
    w = world
    two_files(w)
    assert errno_of(rename_path, w.ctx, w.vfs.root, b"/tmp/a", w.vfs.root, b"/tmp/b", abi.RENAME_EXCHANGE) == EINVAL
    assert w.host.joinpath("a").exists() and w.host.joinpath("b").exists()


@not_on("tmpfs", why="a name made on the host behind the Sentry's back")
def test_rename_noreplace_is_atomic_on_the_host(world):
    """RENAME_NOREPLACE reaches our Gofer as one host renameat2: a target a host process made
    after the VFS looked (here: behind its back) is not replaced. A plain 9P server has only
    check-then-rename, so there the host's file is lost: the race it cannot close."""
    w = world
    op(w, b"/tmp/a", abi.O_CREAT | abi.O_WRONLY).dec_ref()
    tmp = w.lookup(b"/tmp").dentry.inode
    (w.host / "b").write_bytes(b"host")
    if w.gofer.client.donation:
        assert errno_of(tmp.rename, b"a", tmp, b"b", abi.RENAME_NOREPLACE) == EEXIST
        assert (w.host / "b").read_bytes() == b"host" and (w.host / "a").exists()
    else:
        tmp.rename(b"a", tmp, b"b", abi.RENAME_NOREPLACE)
        assert (w.host / "b").read_bytes() == b"" and not (w.host / "a").exists()
    tmp.rename(b"a" if w.gofer.client.donation else b"b", tmp, b"c", abi.RENAME_NOREPLACE)
    assert (w.host / "c").exists()


def test_mknod_whiteout_needs_no_capability(world):
    """A character device 0:0 is an overlay whiteout: Linux (>= 5.8) lets anyone make one, on
    any filesystem, so the Gofer makes it on the host too; FIFOs and sockets go through as well."""
    w = world
    t = w.t
    m = t.mm.cstr
    call(sp.chmod, t, m(b"/tmp"), 0o777)
    t.creds = Creds(uid=1000, gid=1000)      # no CAP_MKNOD
    assert call(sp.mknod, t, m(b"/tmp/wh"), abi.S_IFCHR | 0o600, 0) == 0
    s = stat_of(w, b"/tmp/wh")
    assert (s[3], s[7], s[4]) == (abi.S_IFCHR | 0o600, 0, 1000)
    assert err(sp.mknod, t, m(b"/tmp/null"), abi.S_IFCHR | 0o600, (1 << 8) | 3) == EPERM
    assert err(sp.mknod, t, m(b"/tmp/blk"), abi.S_IFBLK | 0o600, 0) == EPERM
    for name, kind in ((b"/tmp/fifo", abi.S_IFIFO), (b"/tmp/sock", abi.S_IFSOCK)):
        assert call(sp.mknod, t, m(name), kind | 0o600, 0) == 0
        assert stat_of(w, name)[3] == kind | 0o600
    if hasattr(w, "host"):
        h = os.lstat(w.host / "wh")
        assert stat.S_ISCHR(h.st_mode) and h.st_rdev == 0
        assert stat.S_ISFIFO(os.lstat(w.host / "fifo").st_mode)
        assert stat.S_ISSOCK(os.lstat(w.host / "sock").st_mode)


@not_on("tmpfs", why="the Sentry's own tmpfs holds device nodes (test_mknod_char_device)")
def test_mknod_device_is_eperm_even_for_root_on_gofer_mounts(world):
    """As for a user namespace's root on Linux: no real device node on the host, whoever asks."""
    w = world
    t = w.t
    for kind, dev in ((abi.S_IFCHR, (1 << 8) | 3), (abi.S_IFBLK, (7 << 8) | 0), (abi.S_IFBLK, 0)):
        assert err(sp.mknodat, t, FDCWD, t.mm.cstr(b"/tmp/n"), kind | 0o666, dev) == EPERM
    assert not os.path.lexists(w.host / "n")


def _plain_9p(w):
    """Is ``w`` a gofer filesystem speaking plain 9P2000.L (no snakevisor dialect)?"""
    return hasattr(w, "gofer") and not w.gofer.client.donation


def _host_names(w):
    """The names in the host directory behind /tmp (None on tmpfs, which has none)."""
    return sorted(os.listdir(w.host)) if hasattr(w, "host") else None


@not_on(*PLAIN_9P, why="9P2000.L has no unnamed files: EOPNOTSUPP (test_o_tmpfile_on_plain_9p)")
def test_o_tmpfile_then_linkat(world):
    """open(dir, O_TMPFILE|O_RDWR): a file with no name (on the host too), which
    linkat(fd, "", AT_EMPTY_PATH) names once; O_EXCL makes it unlinkable."""
    w = world
    t = w.t
    m = t.mm.cstr
    fd = openf(w, b"/tmp", abi.O_TMPFILE | abi.O_RDWR, 0o666)
    assert write(w, fd, b"data") == 4
    s = stat_of(w, b"", abi.AT_EMPTY_PATH, dirfd=fd)
    assert (s[2], s[3], s[8]) == (0, abi.S_IFREG | 0o644, 4)        # umask 022
    assert _host_names(w) in ([], None)
    assert call(sp.linkat, t, fd, m(b""), FDCWD, m(b"/tmp/named"), abi.AT_EMPTY_PATH) == 0
    assert stat_of(w, b"/tmp/named")[2] == 1 and stat_of(w, b"", abi.AT_EMPTY_PATH, dirfd=fd)[2] == 1
    assert _host_names(w) in (["named"], None)
    assert read_all(w, openf(w, b"/tmp/named")) == b"data"
    call(sp.unlink, t, m(b"/tmp/named"))
    assert err(sp.linkat, t, fd, m(b""), FDCWD, m(b"/tmp/again"), abi.AT_EMPTY_PATH) == ENOENT   # named once
    assert write(w, fd, b"!") == 1       # still open, still writable
    xfd = openf(w, b"/tmp", abi.O_TMPFILE | abi.O_WRONLY | abi.O_EXCL, 0o600)
    assert err(sp.linkat, t, xfd, m(b""), FDCWD, m(b"/tmp/x"), abi.AT_EMPTY_PATH) == ENOENT
    for f in (fd, xfd):
        call(sf.close, t, f)
    assert _host_names(w) in ([], None)


def test_o_tmpfile_errors(world):
    w = world
    t = w.t
    op(w, b"/tmp/f", abi.O_CREAT | abi.O_WRONLY).dec_ref()
    assert err(sp.openat, t, FDCWD, t.mm.cstr(b"/tmp"), abi.O_TMPFILE | abi.O_RDONLY, 0o600) == EINVAL
    assert err(sp.openat, t, FDCWD, t.mm.cstr(b"/tmp/f"), abi.O_RDWR | abi.__O_TMPFILE, 0o600) == EINVAL
    assert err(sp.openat, t, FDCWD, t.mm.cstr(b"/tmp/f"), abi.O_TMPFILE | abi.O_RDWR, 0o600) == ENOTDIR
    assert err(sp.openat, t, FDCWD, t.mm.cstr(b"/tmp/none"), abi.O_TMPFILE | abi.O_RDWR, 0o600) == ENOENT
    # The flags are checked before the path (as measured natively on 6.18); O_PATH drops O_TMPFILE.
    assert err(sp.openat, t, FDCWD, t.mm.cstr(b"/tmp/none"), abi.O_TMPFILE | abi.O_RDONLY, 0o600) == EINVAL
    assert err(sp.openat, t, FDCWD, t.mm.cstr(b"/tmp"), abi.O_TMPFILE | abi.O_RDWR | abi.O_CREAT, 0o600) == EINVAL
    call(sf.close, t, openf(w, b"/tmp", abi.O_TMPFILE | abi.O_RDWR | abi.O_PATH))


@not_on("tmpfs", *DIALECT, why="they make unnamed files (test_o_tmpfile_then_linkat)")
def test_o_tmpfile_on_plain_9p(world):
    w = world
    assert err(sp.openat, w.t, FDCWD, w.t.mm.cstr(b"/tmp"), abi.O_TMPFILE | abi.O_RDWR, 0o600) == EOPNOTSUPP
    assert os.listdir(w.host) == []


def test_seek_data_and_hole(world):
    """A file with 4 KiB of data at 0 and at 1 MiB: SEEK_DATA/SEEK_HOLE find the hole between
    where the filesystem knows holes (tmpfs by its pages; a donated descriptor asks
    the host); plain 9P knows none, so the whole file is data there (Linux's default)."""
    w = world
    f = op(w, b"/tmp/s", abi.O_CREAT | abi.O_RDWR)
    f.write(None, b"x" * 4096, offset=0)
    f.write(None, b"y" * 4096, offset=1 << 20)
    size = (1 << 20) + 4096
    assert f.lseek(0, abi.SEEK_DATA) == 0
    assert f.lseek(1 << 20, abi.SEEK_HOLE) == size
    assert errno_of(f.lseek, size, abi.SEEK_DATA) == ENXIO
    assert errno_of(f.lseek, size + 10, abi.SEEK_HOLE) == ENXIO
    if _plain_9p(w):
        assert (f.lseek(0, abi.SEEK_HOLE), f.lseek(128 << 10, abi.SEEK_DATA)) == (size, 128 << 10)
    else:
        assert 4096 <= f.lseek(0, abi.SEEK_HOLE) <= 64 << 10
        assert f.lseek(128 << 10, abi.SEEK_DATA) == 1 << 20
    f.dec_ref()


def test_copy_file_range_and_ficlone(world):
    """copy_file_range copies through reads and writes on every backend (the host file gets
    the bytes); FICLONE is EOPNOTSUPP after Linux's checks (no reflinks here: the Sentry has
    no host reflink pass-through, and ext4/tmpfs hosts have none either)."""
    w = world
    t = w.t
    src = openf(w, b"/tmp/src", abi.O_CREAT | abi.O_RDWR)
    write(w, src, b"0123456789" * 1000)
    dst = openf(w, b"/tmp/dst", abi.O_CREAT | abi.O_RDWR)
    offs = t.mm.put(struct.pack("<qq", 5, 0))
    assert call(ssp.copy_file_range, t, src, offs, dst, offs + 8, 9000, 0) == 9000
    assert struct.unpack("<qq", t.mm.copy_in(offs, 16)) == (9005, 9000)
    expect = (b"0123456789" * 1000)[5:9005]
    assert stat_of(w, b"/tmp/dst")[8] == 9000
    if hasattr(w, "host"):
        assert (w.host / "dst").read_bytes() == expect
    call(sf.lseek, t, dst, 0, abi.SEEK_SET)
    assert read_all(w, dst, 10000) == expect
    assert err(sf.ioctl, t, dst, abi.FICLONE, src) == EOPNOTSUPP
    ro = openf(w, b"/tmp/src")
    assert err(sf.ioctl, t, ro, abi.FICLONE, src) == EBADF     # the destination must be writable


@not_on(*PLAIN_9P, why="9P2000.L has no whiteouts: EINVAL (test_rename_whiteout_on_plain_9p)")
def test_rename_whiteout(world):
    """renameat2(RENAME_WHITEOUT) moves the file and leaves a whiteout (char 0:0, mode 0, the
    caller's) at the old name; Linux (>= 5.8) asks no capability for it."""
    w = world
    t = w.t
    m = t.mm.cstr
    call(sp.chmod, t, m(b"/tmp"), 0o777)
    t.creds = Creds(uid=1000, gid=1000)
    op(w, b"/tmp/a", abi.O_CREAT | abi.O_WRONLY).dec_ref()
    assert call(sp.renameat2, t, FDCWD, m(b"/tmp/a"), FDCWD, m(b"/tmp/b"), abi.RENAME_WHITEOUT) == 0
    s = stat_of(w, b"/tmp/a")
    assert (s[3], s[4], s[5], s[7]) == (abi.S_IFCHR, 1000, 1000, 0)
    assert stat_of(w, b"/tmp/b")[3] & abi.S_IFMT == abi.S_IFREG
    assert err(sp.renameat2, t, FDCWD, m(b"/tmp/b"), FDCWD, m(b"/tmp/a"),
               abi.RENAME_WHITEOUT | abi.RENAME_NOREPLACE) == EEXIST
    assert err(sp.renameat2, t, FDCWD, m(b"/tmp/b"), FDCWD, m(b"/tmp/a"),
               abi.RENAME_WHITEOUT | abi.RENAME_EXCHANGE) == EINVAL
    assert call(sp.renameat2, t, FDCWD, m(b"/tmp/b"), FDCWD, m(b"/tmp/a"), abi.RENAME_WHITEOUT) == 0   # replaces
    assert stat_of(w, b"/tmp/a")[3] & abi.S_IFMT == abi.S_IFREG and stat_of(w, b"/tmp/b")[3] == abi.S_IFCHR
    if hasattr(w, "host"):
        h = os.lstat(w.host / "b")
        assert stat.S_ISCHR(h.st_mode) and h.st_rdev == 0 and h.st_uid == 1000 and os.path.isfile(w.host / "a")


@not_on("tmpfs", *DIALECT, why="they make whiteouts (test_rename_whiteout)")
def test_rename_whiteout_on_plain_9p(world):
    w = world
    t = w.t
    op(w, b"/tmp/a", abi.O_CREAT | abi.O_WRONLY).dec_ref()
    assert err(sp.renameat2, t, FDCWD, t.mm.cstr(b"/tmp/a"), FDCWD, t.mm.cstr(b"/tmp/b"), abi.RENAME_WHITEOUT) == EINVAL
    assert os.listdir(w.host) == ["a"]


@not_on("tmpfs", why="tmpfs has no COLLAPSE/INSERT_RANGE, as Linux's (EOPNOTSUPP)")
@not_on(*PLAIN_9P, why="9P2000.L has no fallocate modes: EOPNOTSUPP")
def test_fallocate_collapse_and_insert_range_on_the_host(world):
    """fallocate(COLLAPSE_RANGE/INSERT_RANGE) moves the host file's data (ext4, xfs): the size
    the Sentry caches, what reads give and the page cache of a mapping follow it."""
    w = world
    f = op(w, b"/tmp/fa", abi.O_CREAT | abi.O_RDWR)
    for i in range(3):
        f.write(None, bytes([97 + i]) * 4096)
    cache = f.inode.mappable().cache       # as for a mapping: the file cached in the Sentry
    assert cache.read(4096, 1) == b"b"
    try:
        f.impl.allocate(FALLOC_FL_COLLAPSE_RANGE, 4096, 4096)
    except SyscallError as e:
        if e.errno == EOPNOTSUPP:
            pytest.skip(f"the host filesystem under {w.host} cannot collapse a range")
        raise
    assert (f.stat().size, f.read(None, 1, offset=4096), cache.read(4096, 1)) == (8192, b"c", b"c")
    f.impl.allocate(FALLOC_FL_INSERT_RANGE, 0, 4096)
    assert (f.stat().size, f.read(None, 2, offset=4095), cache.read(4096, 1)) == (12288, b"\0a", b"a")
    assert (w.host / "fa").read_bytes() == bytes(4096) + b"a" * 4096 + b"c" * 4096
    f.dec_ref()
