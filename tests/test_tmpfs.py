"""tmpfs and devfs semantics through the VFS operations (no syscall layer)."""
import time

import pytest

from test_vfs_fixtures import world  # noqa: F401

from snakevisor.abi import fs as abi
from snakevisor.abi.errno import (EBADF, EBUSY, EEXIST, EINVAL, EISDIR, ENOENT, ENOSPC, ENOTDIR,
                                  ENOTEMPTY, ENXIO, EPERM, EXDEV, SyscallError)
from snakevisor.sentry.fsimpl.tmpfs import TmpfsFilesystem
from snakevisor.sentry.mm.pagecache import CHUNK_SIZE
from snakevisor.sentry.vfs.pathops import (link_path, mkdir_path, open_path, rename_path, rmdir_path,
                                           symlink_path, truncate_vd, unlink_path)


def errno_of(fn, *a, **kw):
    with pytest.raises(SyscallError) as ei:
        fn(*a, **kw)
    return ei.value.errno


def op(w, path, flags=abi.O_RDONLY, mode=0o644):
    return open_path(w.ctx, w.vfs.root, path, flags, mode)


def st(w, path, follow=True):
    return w.lookup(path, follow).dentry.inode.stat()


def test_file_read_write_seek_and_sizes(world):
    w = world
    f = op(w, b"/tmp/f", abi.O_CREAT | abi.O_RDWR)
    assert f.write(b"hello world") == 11
    assert f.offset == 11
    assert f.lseek(0, abi.SEEK_SET) == 0
    assert f.read(5) == b"hello"
    assert f.read(100) == b" world"
    assert f.read(100) == b""                          # EOF
    assert f.read(3, offset=6) == b"wor" and f.offset == 11
    assert f.write(b"!", offset=100) == 1               # sparse extension
    assert st(w, b"/tmp/f").size == 101
    assert f.read(200, offset=0)[11:100] == bytes(89)
    assert f.lseek(-1, abi.SEEK_END) == 100
    assert errno_of(f.lseek, -1, abi.SEEK_SET) == EINVAL
    assert errno_of(f.lseek, 0, 99) == EINVAL
    f.dec_ref()


def test_holes_read_without_allocating(world):
    w = world
    f = op(w, b"/tmp/sparse", abi.O_CREAT | abi.O_RDWR)
    f.write(b"end", offset=50 * CHUNK_SIZE)
    before = w.mf.allocated
    assert f.read(CHUNK_SIZE, offset=10 * CHUNK_SIZE) == bytes(CHUNK_SIZE)
    assert w.mf.allocated == before
    assert f.lseek(0, abi.SEEK_DATA) == 50 * CHUNK_SIZE
    assert f.lseek(0, abi.SEEK_HOLE) == 0
    assert errno_of(f.lseek, 51 * CHUNK_SIZE, abi.SEEK_DATA) == ENXIO
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
    f.write(b"x")
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
    f.write(b"shared")
    link_path(w.ctx, w.lookup(b"/tmp/a"), w.vfs.root, b"/tmp/b")
    a, b = w.lookup(b"/tmp/a"), w.lookup(b"/tmp/b")
    assert a.dentry is not b.dentry and a.dentry.inode is b.dentry.inode
    assert st(w, b"/tmp/a").nlink == 2
    assert errno_of(link_path, w.ctx, w.lookup(b"/tmp"), w.vfs.root, b"/tmp/dirlink") == EPERM
    assert errno_of(link_path, w.ctx, a, w.vfs.root, b"/tmp/b") == EEXIST
    assert errno_of(link_path, w.ctx, a, w.vfs.root, b"/dev/shm/x") == EXDEV
    unlink_path(w.ctx, w.vfs.root, b"/tmp/a")
    assert st(w, b"/tmp/b").nlink == 1
    assert op(w, b"/tmp/b").read(100) == b"shared"
    assert errno_of(unlink_path, w.ctx, w.vfs.root, b"/tmp") == EISDIR
    assert errno_of(unlink_path, w.ctx, w.vfs.root, b"/tmp/b/") == ENOTDIR
    assert errno_of(unlink_path, w.ctx, w.vfs.root, b"/tmp/zz") == ENOENT
    f.dec_ref()


def test_unlink_while_open_keeps_data_until_last_close(world):
    w = world
    base = w.mf.allocated
    f = op(w, b"/tmp/victim", abi.O_CREAT | abi.O_RDWR)
    f.write(b"z" * 100000)
    assert w.mf.allocated > base
    g = f.inc_ref()
    unlink_path(w.ctx, w.vfs.root, b"/tmp/victim")
    assert errno_of(w.lookup, b"/tmp/victim") == ENOENT
    assert f.read(5, offset=0) == b"zzzzz"
    assert f.stat().nlink == 0
    f.dec_ref()
    assert w.mf.allocated > base     # still referenced
    g.dec_ref()
    assert w.mf.allocated == base    # last close frees the data


def test_mapping_reference_keeps_data(world):
    w = world
    base = w.mf.allocated
    f = op(w, b"/tmp/m", abi.O_CREAT | abi.O_RDWR)
    f.write(b"A" * 8192)
    m = f.mappable().inc_ref()
    assert m.size == 8192
    ranges = m.translate(0, 8192)
    assert sum(n for _, n in ranges) == 8192
    off, _ = ranges[0]
    assert w.mf.read(off, 4) == b"AAAA"
    f.dec_ref()
    unlink_path(w.ctx, w.vfs.root, b"/tmp/m")
    assert w.mf.allocated > base
    m.dec_ref()
    assert w.mf.allocated == base


def test_rename_variants(world):
    w = world
    for p in (b"/tmp/a", b"/tmp/b"):
        op(w, p, abi.O_CREAT | abi.O_WRONLY).dec_ref()
    ia = w.lookup(b"/tmp/a").dentry.inode
    ib = w.lookup(b"/tmp/b").dentry.inode
    assert errno_of(rename_path, w.ctx, w.vfs.root, b"/tmp/a", w.vfs.root, b"/tmp/b",
                    abi.RENAME_NOREPLACE) == EEXIST
    rename_path(w.ctx, w.vfs.root, b"/tmp/a", w.vfs.root, b"/tmp/b", abi.RENAME_EXCHANGE)
    assert w.lookup(b"/tmp/a").dentry.inode is ib and w.lookup(b"/tmp/b").dentry.inode is ia
    rename_path(w.ctx, w.vfs.root, b"/tmp/a", w.vfs.root, b"/tmp/b")         # replaces
    assert w.lookup(b"/tmp/b").dentry.inode is ib and ia.nlink == 0
    assert errno_of(w.lookup, b"/tmp/a") == ENOENT
    assert errno_of(rename_path, w.ctx, w.vfs.root, b"/tmp/a", w.vfs.root, b"/tmp/c", 0) == ENOENT
    assert errno_of(rename_path, w.ctx, w.vfs.root, b"/tmp/b", w.vfs.root, b"/tmp/c",
                    abi.RENAME_EXCHANGE) == ENOENT
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
    # Hard links to one inode: rename is a no-op.
    link_path(w.ctx, w.lookup(b"/tmp/b"), w.vfs.root, b"/tmp/b2")
    rename_path(w.ctx, w.vfs.root, b"/tmp/b", w.vfs.root, b"/tmp/b2")
    assert w.lookup(b"/tmp/b").dentry.inode is w.lookup(b"/tmp/b2").dentry.inode


def test_truncate_and_setattr(world):
    w = world
    f = op(w, b"/tmp/t", abi.O_CREAT | abi.O_RDWR)
    f.write(b"0123456789" * 10000)
    vd = w.lookup(b"/tmp/t")
    truncate_vd(w.ctx, vd, 5)
    assert f.read(100, offset=0) == b"01234"
    truncate_vd(w.ctx, vd, 20)
    assert f.read(100, offset=0) == b"01234" + bytes(15)
    assert errno_of(truncate_vd, w.ctx, w.lookup(b"/tmp"), 0) == EISDIR
    assert errno_of(truncate_vd, w.ctx, vd, -1) == EINVAL
    vd.dentry.inode.setattr(mode=0o4711, uid=7, gid=8)
    s = vd.dentry.inode.stat()
    assert s.mode == abi.S_IFREG | 0o4711 and (s.uid, s.gid) == (7, 8)
    # O_TRUNC on open.
    op(w, b"/tmp/t", abi.O_WRONLY | abi.O_TRUNC).dec_ref()
    assert st(w, b"/tmp/t").size == 0
    f.dec_ref()


def test_size_limit_gives_enospc(world):
    w = world
    small = TmpfsFilesystem(w.mf, size_limit=4096)
    mkdir_path(w.ctx, w.vfs.root, b"/small", 0o755)
    w.vfs.mount(small, w.lookup(b"/small"))
    f = op(w, b"/small/f", abi.O_CREAT | abi.O_RDWR)
    assert f.write(b"x" * 4096) == 4096
    assert errno_of(f.write, b"y") == ENOSPC
    assert small.statfs().bfree == 0
    f.dec_ref()


def test_statfs_and_dir_listing(world):
    w = world
    s = w.lookup(b"/tmp").dentry.inode.statfs()
    assert s.type == abi.TMPFS_MAGIC
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
    assert errno_of(d.read, 10) == EISDIR
    d.dec_ref()


def test_o_path_refuses_io(world):
    w = world
    op(w, b"/tmp/p", abi.O_CREAT | abi.O_WRONLY).dec_ref()
    f = op(w, b"/tmp/p", abi.O_PATH | abi.O_RDWR)
    assert errno_of(f.read, 1) == EBADF
    assert errno_of(f.write, b"x") == EBADF
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
    f.write(b"via link")
    assert w.lookup(b"/tmp/real").dentry.inode.size == 8
    assert errno_of(op, w, b"/tmp/link", abi.O_CREAT | abi.O_EXCL | abi.O_WRONLY) == EEXIST
    f.dec_ref()


# --- devfs -------------------------------------------------------------------------------------


def test_devfs_devices(world):
    w = world
    null = op(w, b"/dev/null", abi.O_RDWR)
    assert null.read(10) == b"" and null.write(b"abc") == 3
    zero = op(w, b"/dev/zero", abi.O_RDWR)
    assert zero.read(7) == bytes(7)
    full = op(w, b"/dev/full", abi.O_RDWR)
    assert full.read(3) == bytes(3)
    assert errno_of(full.write, b"x") == ENOSPC
    ur = op(w, b"/dev/urandom")
    a, b = ur.read(32), ur.read(32)
    assert len(a) == 32 and a != b
    assert errno_of(op, w, b"/dev/tty", abi.O_RDWR) == ENXIO
    s = st(w, b"/dev/null")
    assert s.mode == abi.S_IFCHR | 0o666 and s.rdev == abi.makedev(1, 3)
    assert w.lookup(b"/dev/stdout", follow=False).dentry.inode.readlink() == b"/proc/self/fd/1"
    assert w.lookup(b"/dev/fd", follow=False).dentry.inode.readlink() == b"/proc/self/fd"
    assert st(w, b"/dev/pts").mode == abi.S_IFDIR | 0o755
    for f in (null, zero, full, ur):
        f.dec_ref()


def test_mknod_char_device_on_tmpfs_opens_registered_device(world):
    w = world
    from snakevisor.sentry.vfs.pathops import mknod_path
    mknod_path(w.ctx, w.vfs.root, b"/tmp/mynull", abi.S_IFCHR | 0o600, abi.makedev(1, 3))
    f = op(w, b"/tmp/mynull", abi.O_WRONLY)
    assert f.write(b"gone") == 4
    mknod_path(w.ctx, w.vfs.root, b"/tmp/fifo", abi.S_IFIFO | 0o600, 0)
    assert st(w, b"/tmp/fifo").mode & abi.S_IFMT == abi.S_IFIFO
    assert errno_of(mknod_path, w.ctx, w.vfs.root, b"/tmp/dir", abi.S_IFDIR | 0o600, 0) == EPERM
    f.dec_ref()
