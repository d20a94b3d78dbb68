"""VFS core: path resolution, mounts, FDTable, and the ABI struct layouts."""
import os
import struct

import pytest

from harness import errno_of
from test_vfs_fixtures import World

from snakevisor.abi import fs as abi
from snakevisor.abi.errno import EBADF, ELOOP, EMFILE, ENAMETOOLONG, ENOENT, ENOTDIR
from snakevisor.sentry.vfs.fdtable import FDTable
from snakevisor.sentry.vfs.file import FileDescriptionImpl
from snakevisor.sentry.vfs.pathops import mkdir_path, open_path, symlink_path
from snakevisor.sentry.vfs.resolve import ResolveContext, path_of, resolve, resolve_parent


def mk(w, path):
    mkdir_path(w.ctx, w.vfs.root, path, 0o755)


def touch(w, path, data=b""):
    f = open_path(w.ctx, w.vfs.root, path, abi.O_CREAT | abi.O_WRONLY, 0o644)
    f.write(None, data)
    f.dec_ref()


# --- resolution ---------------------------------------------------------------------------


def test_absolute_relative_dots_and_slashes(world):
    w = world
    mk(w, b"/a")
    mk(w, b"/a/b")
    touch(w, b"/a/b/f", b"x")
    f = w.lookup(b"/a/b/f")
    assert f.dentry.name == b"f"
    assert w.lookup(b"//a///b/./f").dentry is f.dentry
    assert w.lookup(b"/a/b/../b/f").dentry is f.dentry
    ab = w.lookup(b"/a/b")
    assert resolve(w.ctx, ab, b"f").dentry is f.dentry
    assert resolve(w.ctx, ab, b"../../../../a/b/f").dentry is f.dentry   # .. clamps at /
    assert w.lookup(b"/..").dentry is w.vfs.root.dentry
    assert errno_of(w.lookup, b"") == ENOENT
    assert errno_of(w.lookup, b"/a/nope") == ENOENT
    assert errno_of(w.lookup, b"/a/b/f/x") == ENOTDIR
    assert errno_of(w.lookup, b"/a/b/f/") == ENOTDIR
    assert errno_of(w.lookup, b"/a/b/f/.") == ENOTDIR
    assert w.lookup(b"/a/b/").dentry is ab.dentry


def test_name_too_long(world):
    w = world
    assert errno_of(w.lookup, b"/" + b"x" * 256) == ENAMETOOLONG
    assert errno_of(w.lookup, b"/" + b"x" * 255) == ENOENT
    assert errno_of(w.lookup, b"/" * 4096) == ENAMETOOLONG
    assert w.lookup(b"/" * 4095).dentry is w.vfs.root.dentry


def test_symlinks_middle_final_and_nofollow(world):
    w = world
    mk(w, b"/d")
    touch(w, b"/d/f", b"data")
    symlink_path(w.ctx, w.vfs.root, b"/ld", b"d")          # relative target
    symlink_path(w.ctx, w.vfs.root, b"/d/lf", b"/d/f")     # absolute target
    symlink_path(w.ctx, w.vfs.root, b"/dangling", b"/nowhere")
    f = w.lookup(b"/d/f").dentry
    assert w.lookup(b"/ld/f").dentry is f
    assert w.lookup(b"/ld/lf").dentry is f
    assert w.lookup(b"/ld/lf", follow=False).dentry.inode.is_symlink
    assert w.lookup(b"/ld/", follow=False).dentry.inode.is_dir   # trailing slash follows
    assert errno_of(w.lookup, b"/dangling") == ENOENT
    assert w.lookup(b"/dangling", follow=False).dentry.inode.readlink(None) == b"/nowhere"
    assert errno_of(w.lookup, b"/ld/lf/") == ENOTDIR


def test_symlink_loops_and_depth_limit(world):
    w = world
    symlink_path(w.ctx, w.vfs.root, b"/loop", b"loop")
    symlink_path(w.ctx, w.vfs.root, b"/p", b"q")
    symlink_path(w.ctx, w.vfs.root, b"/q", b"p")
    assert errno_of(w.lookup, b"/loop") == ELOOP
    assert errno_of(w.lookup, b"/p/x") == ELOOP
    mk(w, b"/c")
    touch(w, b"/c/target")
    # A chain of exactly 40 links resolves; 41 is ELOOP.
    symlink_path(w.ctx, w.vfs.root, b"/c/l0", b"target")
    for i in range(1, 41):
        symlink_path(w.ctx, w.vfs.root, b"/c/l%d" % i, b"l%d" % (i - 1))
    assert w.lookup(b"/c/l39").dentry.name == b"target"
    assert errno_of(w.lookup, b"/c/l40") == ELOOP


def test_mount_crossing_and_dotdot_out_of_mount(world):
    w = world
    tmp = w.lookup(b"/tmp")
    assert tmp.mount.fs is w.tmpfs and tmp.dentry is w.tmpfs.root
    assert tmp.dentry.inode.dev != w.vfs.root.dentry.inode.dev
    mkdir_path(w.ctx, w.vfs.root, b"/tmp/sub", 0o700)
    up = w.lookup(b"/tmp/sub/../..")
    assert up == w.vfs.root
    assert w.lookup(b"/tmp/..") == w.vfs.root
    shm = w.lookup(b"/dev/shm")
    assert shm.mount.fs is w.shm
    assert w.lookup(b"/dev/shm/../null").dentry.inode.is_device
    assert path_of(w.lookup(b"/tmp/sub"), w.vfs.root) == b"/tmp/sub"
    assert path_of(shm, w.vfs.root) == b"/dev/shm"
    assert path_of(w.vfs.root, w.vfs.root) == b"/"
    table = [(m.target, m.fstype) for m in w.vfs.mount_table()]
    assert table == [(b"/", "tmpfs"), (b"/tmp", "tmpfs"), (b"/dev", "tmpfs"), (b"/dev/shm", "tmpfs")]


def test_dotdot_clamped_at_context_root(world):
    w = world
    mk(w, b"/jail")
    mk(w, b"/jail/in")
    jail = w.lookup(b"/jail")
    ctx = ResolveContext(jail)
    assert resolve(ctx, jail, b"/in/../../..") == jail
    assert resolve(ctx, jail, b"/in").dentry is w.lookup(b"/jail/in").dentry
    assert path_of(resolve(ctx, jail, b"in"), jail) == b"/in"


def test_resolve_parent(world):
    w = world
    mk(w, b"/a")
    p, last, trailing = resolve_parent(w.ctx, w.vfs.root, b"/a/new/")
    assert p.dentry is w.lookup(b"/a").dentry and last == b"new" and trailing
    p, last, trailing = resolve_parent(w.ctx, w.vfs.root, b"name")
    assert p == w.vfs.root and last == b"name" and not trailing
    assert resolve_parent(w.ctx, w.vfs.root, b"///")[1] == b""
    touch(w, b"/f")
    assert errno_of(resolve_parent, w.ctx, w.vfs.root, b"/f/x") == ENOTDIR
    assert errno_of(resolve_parent, w.ctx, w.vfs.root, b"/nope/x") == ENOENT


def test_magic_link_resolves_to_a_dentry(world):
    w = world
    target = w.lookup(b"/dev/null")
    # Put a magic link inode into /tmp by hand: resolve_link returns a VirtualDentry.
    from snakevisor.sentry.fsimpl.tmpfs import TmpfsSymlink
    link = TmpfsSymlink(w.tmpfs, b"/not/used")
    link.resolve_link = lambda task: target
    w.tmpfs.root.inode.entries[b"magic"] = link
    assert w.lookup(b"/tmp/magic").dentry is target.dentry
    assert w.lookup(b"/tmp/magic", follow=False).dentry.inode is link


def test_search_permission_for_non_root(world):
    w = world
    mkdir_path(w.ctx, w.vfs.root, b"/private", 0o700)
    touch(w, b"/private/f")
    ctx = ResolveContext(w.vfs.root, creds=w.t.creds.__class__(uid=1000, gid=1000))
    from snakevisor.abi.errno import EACCES
    assert errno_of(resolve, ctx, w.vfs.root, b"/private/f") == EACCES


# --- FDTable ---------------------------------------------------------------------------------


class FakeFile:
    inode = None
    impl = FileDescriptionImpl(None)   # no on_close hook

    def __init__(self):
        self.refs = 1
        self.released = False

    def inc_ref(self):
        self.refs += 1
        return self

    def dec_ref(self):
        self.refs -= 1
        if self.refs == 0:
            self.released = True


def test_fdtable_lowest_free_minfd_and_emfile():
    t = FDTable(limit=5)
    files = [FakeFile() for _ in range(5)]
    assert [t.install(f) for f in files[:3]] == [0, 1, 2]
    t.remove(1).dec_ref()
    assert files[1].released
    assert t.install(FakeFile()) == 1
    assert t.install(FakeFile(), minfd=3) == 3
    assert t.install(FakeFile()) == 4
    assert errno_of(t.install, FakeFile()) == EMFILE
    assert errno_of(t.install, FakeFile(), minfd=5) == EMFILE
    assert errno_of(t.get, 7) == EBADF
    assert errno_of(t.remove, 7) == EBADF
    assert [fd for fd, _ in t] == [0, 1, 2, 3, 4]


def test_fdtable_lowest_free_is_fast_and_exact_in_a_dense_table():
    """Allocation searches, it does not walk: 60,000 fds in a row (a walk would take minutes), and
    the lowest hole is found after each of a few closes, also from a minfd inside a run."""
    import time
    t = FDTable(limit=1 << 20)
    start = time.monotonic()
    for want in range(60000):
        assert t.install(FakeFile()) == want
    assert time.monotonic() - start < 10
    for hole in (59999, 30000, 17, 0):
        t.remove(hole).dec_ref()
    assert t.install(FakeFile(), minfd=18) == 30000
    assert t.install(FakeFile(), minfd=5) == 17
    assert [t.install(FakeFile()) for _ in range(3)] == [0, 59999, 60000]


def test_fdtable_install_at_cloexec_fork():
    t = FDTable(limit=64)
    a, b = FakeFile(), FakeFile()
    assert t.install(a, cloexec=True) == 0
    assert t.get_cloexec(0)
    t.install_at(5, b)
    assert t.get(5) is b and not t.get_cloexec(5)
    # Replacing closes the old description.
    c = FakeFile()
    t.install_at(5, c)
    assert b.released and t.get(5) is c
    assert errno_of(t.install_at, 64, FakeFile()) == EBADF
    child = t.fork()
    assert a.refs == 2 and child.get(0) is a
    t.close_on_exec()
    assert 0 not in t and 5 in t
    assert a.refs == 1 and not a.released
    t.set_cloexec(5, True)
    assert t.get_cloexec(5)
    assert errno_of(t.set_cloexec, 9, True) == EBADF


# --- ABI layouts --------------------------------------------------------------------------------


def test_stat_layout_matches_asm_stat_h():
    st = abi.StatResult(dev=0x11, ino=0x22, nlink=0x33, mode=0o100644, uid=1000, gid=1001, rdev=0x44,
                        size=0x55, blksize=4096, blocks=8, atime_ns=1_000_000_007, mtime_ns=2_000_000_008,
                        ctime_ns=3_000_000_009)
    b = abi.pack_stat(st)
    assert len(b) == 144
    q = lambda off: struct.unpack_from("<Q", b, off)[0]  # noqa: E731
    i = lambda off: struct.unpack_from("<I", b, off)[0]  # noqa: E731
    assert (q(0), q(8), q(16)) == (0x11, 0x22, 0x33)
    assert (i(24), i(28), i(32)) == (0o100644, 1000, 1001)
    assert (q(40), q(48), q(56), q(64)) == (0x44, 0x55, 4096, 8)
    assert (q(72), q(80), q(88), q(96), q(104), q(112)) == (1, 7, 2, 8, 3, 9)
    assert b[120:] == bytes(24)


def test_statx_layout():
    st = abi.StatResult(dev=abi.makedev(8, 1), ino=99, nlink=2, mode=0o040755, uid=5, gid=6,
                        rdev=abi.makedev(1, 3), size=4096, blksize=512, blocks=8,
                        atime_ns=10_000_000_001, mtime_ns=20_000_000_002, ctime_ns=30_000_000_003, mnt_id=7)
    b = abi.pack_statx(st, 0x17FF)
    assert len(b) == 256
    assert struct.unpack_from("<IIQIIIH", b, 0) == (0x17FF, 512, 0, 2, 5, 6, 0o040755)
    assert struct.unpack_from("<QQQ", b, 32) == (99, 4096, 8)
    assert struct.unpack_from("<qI", b, 64) == (10, 1)     # atime
    assert struct.unpack_from("<qI", b, 96) == (30, 3)     # ctime
    assert struct.unpack_from("<qI", b, 112) == (20, 2)    # mtime
    assert struct.unpack_from("<IIIIQ", b, 128) == (1, 3, 8, 1, 7)


def test_dirent_layouts():
    rec = abi.pack_dirent64(42, 3, abi.DT_REG, b"hello")
    # struct linux_dirent64 { u64 d_ino; s64 d_off; u16 d_reclen; u8 d_type; char d_name[]; }
    # 19 header bytes + 5 + NUL = 25, padded to 32.
    assert len(rec) == 32
    assert struct.unpack_from("<QqHB", rec) == (42, 3, 32, abi.DT_REG)
    assert rec[19:25] == b"hello\0"
    assert len(abi.pack_dirent64(1, 1, 0, b"ab")) == 24
    old = abi.pack_dirent(42, 3, abi.DT_DIR, b"ab")
    # struct linux_dirent { ulong d_ino; ulong d_off; u16 d_reclen; char d_name[]; ...; char d_type (last byte) }
    assert struct.unpack_from("<QQH", old) == (42, 3, len(old))
    assert old[18:21] == b"ab\0" and old[-1] == abi.DT_DIR and len(old) % 8 == 0


def test_statfs_and_helpers():
    assert len(abi.pack_statfs(abi.StatfsResult())) == 120
    assert abi.to_s32(0xFFFFFFFFFFFFFF9C) == abi.AT_FDCWD
    assert abi.to_s64(2**64 - 1) == -1
    assert abi.dev_major(abi.makedev(259, 70000)) == 259
    assert abi.dev_minor(abi.makedev(259, 70000)) == 70000
    assert abi.makedev(1, 3) == os.makedev(1, 3)


def test_world_isolated_instances():
    # Two worlds do not share state (inode numbers are per filesystem).
    a, b = World(), World()
    assert a.vfs.root.dentry is not b.vfs.root.dentry
    a.mf.close()
    b.mf.close()


def test_reference_count_underflow_raises(world):
    """A reference dropped twice is a Sentry bug: it raises where it happens (it used to be reset to 0)."""
    from snakevisor.sentry.vfs.dentry import RefCountError
    w = world
    touch(w, b"/refs")
    vd = resolve(w.ctx, w.vfs.root, b"/refs")
    inode = vd.dentry.inode
    held = inode.refs
    inode.inc_ref()
    inode.dec_ref()
    assert inode.refs == held
    dentry = vd.dentry
    for _ in range(dentry.refs):
        dentry.dec_ref()
    with pytest.raises(RefCountError):
        dentry.dec_ref()
    for _ in range(inode.refs):
        inode.dec_ref()
    with pytest.raises(RefCountError):
        inode.dec_ref()
