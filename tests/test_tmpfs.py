"""tmpfs and devfs semantics through the VFS operations (no syscall layer)."""


from harness import errno_of
from test_vfs_fixtures import op, st

from snakevisor.abi import fs as abi
from snakevisor.abi.errno import ENOENT, ENOSPC, ENXIO, EPERM
from snakevisor.sentry.fsimpl.tmpfs import TmpfsFilesystem
from snakevisor.sentry.mm.pagecache import CHUNK_SIZE
from snakevisor.sentry.vfs.pathops import mkdir_path, unlink_path


def test_holes_read_without_allocating(world):
    w = world
    f = op(w, b"/tmp/sparse", abi.O_CREAT | abi.O_RDWR)
    f.write(None, b"end", offset=50 * CHUNK_SIZE)
    before = w.mf.allocated
    assert f.read(None, CHUNK_SIZE, offset=10 * CHUNK_SIZE) == bytes(CHUNK_SIZE)
    assert w.mf.allocated == before
    assert f.lseek(0, abi.SEEK_DATA) == 50 * CHUNK_SIZE
    assert f.lseek(0, abi.SEEK_HOLE) == 0
    assert errno_of(f.lseek, 51 * CHUNK_SIZE, abi.SEEK_DATA) == ENXIO
    f.dec_ref()


def test_reads_within_and_across_chunks(world):
    """A read inside one chunk, one that runs into a hole, and one across two chunks written
    out of order (their MemoryFile pages are not adjacent) each give the file's bytes."""
    w = world
    f = op(w, b"/tmp/chunks", abi.O_CREAT | abi.O_RDWR)
    f.write(None, b"b" * CHUNK_SIZE, offset=3 * CHUNK_SIZE)
    f.write(None, b"a" * 2 * CHUNK_SIZE, offset=0)
    f.write(None, b"c" * 10, offset=5 * CHUNK_SIZE)
    assert f.read(None, 100, offset=10) == b"a" * 100
    assert f.read(None, 20, offset=2 * CHUNK_SIZE - 10) == b"a" * 10 + bytes(10)
    assert f.read(None, 20, offset=4 * CHUNK_SIZE - 10) == b"b" * 10 + bytes(10)
    assert f.read(None, 20, offset=CHUNK_SIZE - 10) == b"a" * 20
    assert f.read(None, 100, offset=5 * CHUNK_SIZE + 5) == b"c" * 5   # short at the end of the file
    f.dec_ref()


def test_unlink_while_open_keeps_data_until_last_close(world):
    w = world
    base = w.mf.allocated
    f = op(w, b"/tmp/victim", abi.O_CREAT | abi.O_RDWR)
    f.write(None, b"z" * 100000)
    assert w.mf.allocated > base
    g = f.inc_ref()
    unlink_path(w.ctx, w.vfs.root, b"/tmp/victim")
    assert errno_of(w.lookup, b"/tmp/victim") == ENOENT
    assert f.read(None, 5, offset=0) == b"zzzzz"
    assert f.stat().nlink == 0
    f.dec_ref()
    assert w.mf.allocated > base     # still referenced
    g.dec_ref()
    assert w.mf.allocated == base    # last close frees the data


def test_mapping_reference_keeps_data(world):
    w = world
    base = w.mf.allocated
    f = op(w, b"/tmp/m", abi.O_CREAT | abi.O_RDWR)
    f.write(None, b"A" * 8192)
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


def test_size_limit_gives_enospc(world):
    w = world
    small = TmpfsFilesystem(w.mf, size_limit=4096)
    mkdir_path(w.ctx, w.vfs.root, b"/small", 0o755)
    w.vfs.mount(small, w.lookup(b"/small"))
    f = op(w, b"/small/f", abi.O_CREAT | abi.O_RDWR)
    assert f.write(None, b"x" * 4096) == 4096
    assert errno_of(f.write, None, b"y") == ENOSPC
    assert small.statfs().bfree == 0
    f.dec_ref()


# --- devfs -------------------------------------------------------------------------------------


def test_devfs_devices(world):
    w = world
    null = op(w, b"/dev/null", abi.O_RDWR)
    assert null.read(None, 10) == b"" and null.write(None, b"abc") == 3
    zero = op(w, b"/dev/zero", abi.O_RDWR)
    assert zero.read(None, 7) == bytes(7)
    full = op(w, b"/dev/full", abi.O_RDWR)
    assert full.read(None, 3) == bytes(3)
    assert errno_of(full.write, None, b"x") == ENOSPC
    ur = op(w, b"/dev/urandom")
    a, b = ur.read(None, 32), ur.read(None, 32)
    assert len(a) == 32 and a != b
    assert errno_of(op, w, b"/dev/tty", abi.O_RDWR) == ENXIO
    s = st(w, b"/dev/null")
    assert s.mode == abi.S_IFCHR | 0o666 and s.rdev == abi.makedev(1, 3)
    assert w.lookup(b"/dev/stdout", follow=False).dentry.inode.readlink(None) == b"/proc/self/fd/1"
    assert w.lookup(b"/dev/fd", follow=False).dentry.inode.readlink(None) == b"/proc/self/fd"
    assert st(w, b"/dev/pts").mode == abi.S_IFDIR | 0o755
    for f in (null, zero, full, ur):
        f.dec_ref()


def test_mknod_char_device_on_tmpfs_opens_registered_device(world):
    w = world
    from snakevisor.sentry.vfs.pathops import mknod_path
    mknod_path(w.ctx, w.vfs.root, b"/tmp/mynull", abi.S_IFCHR | 0o600, abi.makedev(1, 3))
    f = op(w, b"/tmp/mynull", abi.O_WRONLY)
    assert f.write(None, b"gone") == 4
    mknod_path(w.ctx, w.vfs.root, b"/tmp/fifo", abi.S_IFIFO | 0o600, 0)
    assert st(w, b"/tmp/fifo").mode & abi.S_IFMT == abi.S_IFIFO
    assert errno_of(mknod_path, w.ctx, w.vfs.root, b"/tmp/dir", abi.S_IFDIR | 0o600, 0) == EPERM
    f.dec_ref()
