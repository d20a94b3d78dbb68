"""The writable gofer filesystem, end to end in one process: the Sentry-side GoferFilesystem
over our 9P client, talking to a real Gofer server (thread) on a host temp directory.

The VFS conformance suite (tests/test_vfs_conformance.py) runs on this filesystem with and
without host-fd donation (and as an exclusive root or a shared, revalidating volume); the tests
here check what only a host-backed filesystem has: external changes are seen, mappings are
written back, host descriptors stay bounded.
"""
import importlib
import os
import socket
import subprocess
import threading

import pytest

from harness import errno_of
from test_vfs_fixtures import World, op

from snakevisor.abi import fs as abi
from snakevisor.abi.errno import EEXIST, ENODATA, ENOENT, EOPNOTSUPP, EROFS, SyscallError
from snakevisor.gofer import serve
from snakevisor.p9.client import Client
from snakevisor.sentry.fsimpl.gofer.filesystem import GoferFilesystem


class GoferServer:
    """A Gofer serving ``root`` on a socketpair from a thread; ``client()`` is our end."""

    def __init__(self, root, readonly=False, extensions=True, directfs=True):
        self.ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        self.thread = threading.Thread(target=serve, args=(str(root), theirs, readonly, extensions, directfs),
                                       daemon=True)
        self.thread.start()

    def client(self, extensions=True):
        return Client(self.ours, extensions=extensions)

    def stop(self):
        try:
            self.ours.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.ours.close()
        self.thread.join(5)
        assert not self.thread.is_alive()


class ServerProcess:
    """A 9P server in a process of its own (its descriptors are not ours) on a socketpair:
    ``argv(fd)`` is its command line given its end; ``client()`` is ours."""

    def __init__(self, argv, **popen):
        self.ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        self.proc = subprocess.Popen(argv(theirs.fileno()), pass_fds=[theirs.fileno()], **popen)
        theirs.close()

    def client(self, extensions=True):
        return Client(self.ours, extensions=extensions)

    def stop(self):
        self.ours.close()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


class GoferWorld(World):
    """World with a gofer filesystem mounted over /tmp (serving ``host``)."""

    def __init__(self, host, donation=True, exclusive=True, readonly=False, server=None, aname=b"", directfs=False):
        super().__init__()
        self.host = host
        self.server = server or GoferServer(host, readonly=readonly, extensions=donation)
        self.gofer = GoferFilesystem(self.server.client(donation), self.mf, readonly=readonly,
                                     exclusive=exclusive, aname=aname, directfs=directfs)
        self.vfs.mount(self.gofer, self.lookup(b"/tmp"), source=b"gofer")

    def close(self):
        if self.gofer.notifier is not None:   # the inotify descriptor of a shared directfs mount
            self.gofer.kill()
        self.server.stop()
        self.mf.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


MODES = {"donated": dict(donation=True), "9p-only": dict(donation=False),
         "shared": dict(donation=True, exclusive=False),
         # directfs (fsimpl/gofer/directfs.py): the Sentry's own host calls on donated O_PATH descriptors
         "directfs": dict(donation=True, directfs=True),
         "shared-directfs": dict(donation=True, exclusive=False, directfs=True)}


@pytest.fixture(params=list(MODES))
def world(request, tmp_path):
    host = tmp_path / "host"
    host.mkdir()
    w = GoferWorld(host, **MODES[request.param])
    yield w
    w.close()


# --- host-backed behaviour ---------------------------------------------------------------
def test_mknod_fifo_opens_as_a_pipe(world):
    w = world
    importlib.import_module("snakevisor.sentry.fsimpl.pipefs")   # registers the FIFO opener
    from snakevisor.sentry.vfs.pathops import mknod_path
    mknod_path(w.ctx, w.vfs.root, b"/tmp/fifo", abi.S_IFIFO | 0o600, 0)
    import stat
    assert stat.S_ISFIFO(os.lstat(w.host / "fifo").st_mode)
    wr = op(w, b"/tmp/fifo", abi.O_RDWR)
    wr.write(None, b"ping")
    assert wr.read(None, 4) == b"ping"
    wr.dec_ref()


def test_xattrs(world):
    w = world
    op(w, b"/tmp/x", abi.O_CREAT | abi.O_WRONLY).dec_ref()
    inode = w.lookup(b"/tmp/x").dentry.inode
    try:
        inode.setxattr(b"user.k", b"v1", 0)
    except SyscallError as e:      # the host fs may not store user xattrs
        assert e.errno == EOPNOTSUPP
        pytest.skip("host directory has no user xattrs")
    assert os.getxattr(w.host / "x", "user.k") == b"v1"
    assert inode.getxattr(b"user.k") == b"v1"
    assert b"user.k" in inode.listxattr()
    assert errno_of(inode.setxattr, b"user.k", b"v2", os.XATTR_CREATE) == EEXIST
    inode.removexattr(b"user.k")
    assert errno_of(inode.getxattr, b"user.k") == ENODATA


def test_shared_mapping_is_written_back_and_reads_stay_coherent(world):
    w = world
    f = op(w, b"/tmp/m", abi.O_CREAT | abi.O_RDWR)
    f.write(None, b"a" * 10000)
    mappable = f.mappable()
    (off, n), = mappable.translate(0, 4096)[:1]
    holder = mappable.writable_mapping(0, 4096)    # what a VMA of mmap(PROT_WRITE, MAP_SHARED) holds
    holder.inc_ref()
    assert w.mf.read(off, 4) == b"aaaa"
    f.write(None, b"BB", offset=0)                       # write() updates the cached page
    assert w.mf.read(off, 2) == b"BB"
    w.mf.write(off + 2, b"CC")                     # the application writes through the mapping
    assert f.read(None, 4, offset=0) == b"BBCC"          # read() sees it
    assert (w.host / "m").read_bytes()[:4] == b"BBaa"
    holder.dec_ref()                               # munmap writes it back
    assert (w.host / "m").read_bytes()[:4] == b"BBCC"
    assert len((w.host / "m").read_bytes()) == 10000
    f.dec_ref()


def test_fallocate_and_statfs(world):
    w = world
    f = op(w, b"/tmp/fa", abi.O_CREAT | abi.O_RDWR)
    f.write(None, b"x" * 100)
    try:
        f.impl.allocate(0, 0, 8192)
    except SyscallError as e:
        assert e.errno == EOPNOTSUPP
    else:
        assert os.path.getsize(w.host / "fa") == 8192 and f.inode.size == 8192
    s = w.gofer.statfs()
    assert s.type == abi.V9FS_MAGIC and s.bsize > 0
    f.dec_ref()


def test_external_changes_on_a_shared_mount(tmp_path):
    host = tmp_path / "vol"
    host.mkdir()
    (host / "f").write_bytes(b"one")
    with GoferWorld(host, exclusive=False) as w:
        f = op(w, b"/tmp/f", abi.O_RDWR | abi.O_APPEND)
        (host / "f").write_bytes(b"one two")      # a host process changes the file
        f.write(None, b"!")
        assert (host / "f").read_bytes() == b"one two!"
        assert w.lookup(b"/tmp/f").dentry.inode.stat().size == 8
        os.unlink(host / "f")
        (host / "f").write_bytes(b"new")           # replaced on the host: a new inode
        g = op(w, b"/tmp/f")
        assert g.read(None, 10) == b"new"
        assert g.inode is not f.inode
        assert errno_of(op, w, b"/tmp/absent") == ENOENT
        (host / "absent").write_bytes(b"here")      # no negative caching on shared mounts
        assert op(w, b"/tmp/absent").read(None, 10) == b"here"
        f.dec_ref()
        g.dec_ref()


def test_external_changes_deep_in_a_shared_mount(tmp_path):
    """Cached dentries along a path are revalidated in one batch; a host change anywhere in the
    chain (a directory renamed away and replaced, a file replaced) is still seen."""
    host = tmp_path / "vol"
    (host / "a" / "b" / "c").mkdir(parents=True)
    (host / "a" / "b" / "c" / "f").write_bytes(b"old")
    with GoferWorld(host, exclusive=False) as w:
        assert op(w, b"/tmp/a/b/c/f").read(None, 10) == b"old"
        first = w.lookup(b"/tmp/a/b/c/f").dentry.inode
        assert w.lookup(b"/tmp/a/b/c/f").dentry.inode is first   # unchanged: the cache answers
        os.rename(host / "a" / "b", host / "b-moved")            # a middle directory goes away
        (host / "a" / "b" / "c").mkdir(parents=True)
        (host / "a" / "b" / "c" / "f").write_bytes(b"new")
        assert op(w, b"/tmp/a/b/c/f").read(None, 10) == b"new"
        assert w.lookup(b"/tmp/a/b/c/f").dentry.inode is not first
        os.unlink(host / "a" / "b" / "c" / "f")
        assert errno_of(w.lookup, b"/tmp/a/b/c/f") == ENOENT


def test_readonly_mount_gives_erofs(tmp_path):
    host = tmp_path / "ro"
    host.mkdir()
    (host / "f").write_bytes(b"x")
    with GoferWorld(host, readonly=True) as w:
        for flags in (abi.O_WRONLY, abi.O_RDWR | abi.O_TRUNC):
            assert errno_of(op, w, b"/tmp/f", flags) == EROFS
        assert errno_of(op, w, b"/tmp/g", abi.O_CREAT | abi.O_WRONLY) == EROFS
        assert op(w, b"/tmp/f").read(None, 5) == b"x"


def test_closed_files_keep_a_bounded_number_of_host_descriptors(world, monkeypatch):
    w = world
    monkeypatch.setattr(w.gofer.idle, "limit", 4)
    inodes = []
    for i in range(10):
        f = op(w, b"/tmp/f%d" % i, abi.O_CREAT | abi.O_RDWR)
        f.write(None, b"%d" % i)
        inodes.append(f.inode)
        f.dec_ref()
    held = [i for i in inodes if i.host.held]
    assert held == inodes[-4:]                  # the most recently closed ones
    assert op(w, b"/tmp/f0").read(None, 5) == b"0"     # a closed handle reopens on demand
