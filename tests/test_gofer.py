"""The Gofer served over a socketpair to the Sentry's 9P client, on a temp directory."""
import os
import socket
import stat
import struct
import subprocess
import sys
import threading

import pytest

from harness import errno_of

from snakevisor.abi.errno import (EBADF, EEXIST, EINVAL, ELOOP, ENOENT, ENOTDIR, EOPNOTSUPP, EROFS,
                                  SyscallError)
from snakevisor.gofer import serve
from snakevisor.p9 import constants as C
from snakevisor.p9 import messages as M
from snakevisor.p9.client import Client
from snakevisor.p9.codec import REPLIES, Decoder
from snakevisor.p9.messages import encode

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture
def tree(tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    (root / "hello.txt").write_bytes(b"hello, world\n")
    (root / "big.bin").write_bytes(bytes(range(256)) * 4096)      # 1 MiB
    (root / "sub").mkdir()
    (root / "sub" / "inner").write_bytes(b"inner")
    os.symlink("/etc/passwd", root / "passwd-link")
    os.symlink("sub", root / "sub-link")
    return root


class Served:
    """A Gofer serving ``root`` in a thread; a Client connected to it."""

    def __init__(self, root, readonly=False, extensions=True, server_extensions=True, msize=1 << 20):
        self.a, b = socket.socketpair()
        self.thread = threading.Thread(target=serve, args=(str(root), b, readonly, server_extensions),
                                       daemon=True)
        self.thread.start()
        self.client = Client(self.a, msize=msize, extensions=extensions)
        self.root = self.client.attach()

    def close(self):
        self.client.close()
        self.thread.join(timeout=10)
        assert not self.thread.is_alive()


@pytest.fixture
def served(tree):
    s = Served(tree)
    yield s
    s.close()


@pytest.fixture
def served_rw(tree):
    s = Served(tree, readonly=False)
    yield s
    s.close()


def test_version_and_attach(served, tree):
    assert served.client.msize == 1 << 20
    assert served.client.donation
    assert served.root.qid.type == C.QTDIR
    assert served.root.qid.path == os.stat(tree).st_ino


def test_walk_getattr_read(served, tree):
    f = served.root.walk([b"hello.txt"])
    st = os.stat(tree / "hello.txt")
    a = f.getattr()
    assert (a.size, a.mode, a.nlink, a.qid.path) == (st.st_size, st.st_mode, 1, st.st_ino)
    assert a.mtime_ns == st.st_mtime_ns
    r = f.lopen(os.O_RDONLY)
    assert f.read(0, 100) == b"hello, world\n"
    assert f.read(7, 5) == b"world"
    assert f.read(100, 10) == b""
    if r.host_fd is not None:
        os.close(r.host_fd)
    f.clunk()


def test_multi_component_walk_and_partial(served):
    f, qids = served.root.walk_qids([b"sub", b"inner"])
    assert f is not None and len(qids) == 2 and qids[0].type == C.QTDIR
    assert f.lopen(0) and f.read(0, 10) == b"inner"
    f.clunk()
    g, qids = served.root.walk_qids([b"sub", b"missing"])
    assert g is None and len(qids) == 1
    assert errno_of(served.root.walk, [b"missing"]) == ENOENT
    assert errno_of(served.root.walk, [b"sub", b"missing"]) == ENOENT


def test_large_read_splits_over_msize(tree):
    s = Served(tree, msize=64 * 1024)
    try:
        f = s.root.walk([b"big.bin"])
        f.lopen(0)
        data = f.read(0, 1 << 20)
        assert data == (tree / "big.bin").read_bytes()
        assert f.read((1 << 20) - 10, 100) == bytes(range(246, 256))
    finally:
        s.close()


def test_readdir_many_entries_across_calls(served, tree):
    (tree / "many").mkdir()
    for i in range(1500):
        (tree / "many" / f"entry-{i:05d}").write_bytes(b"")
    d = served.root.walk([b"many"])
    d.lopen(os.O_RDONLY | os.O_DIRECTORY)
    names, offset, calls = [], 0, 0
    while True:
        entries = d.readdir(offset, 4096)
        if not entries:
            break
        calls += 1
        names += [e.name for e in entries]
        offset = entries[-1].offset
    assert calls > 3
    assert sorted(names) == sorted(os.fsencode(n) for n in os.listdir(tree / "many"))
    # Offsets are stable: resuming from the middle gives the same tail.
    again = d.readdir(100, 4096)
    assert again[0].name == names[100]


def test_readdir_types(served):
    d = served.root.clone()
    d.lopen(0)
    entries = {e.name: e for e in d.readdir(0, 1 << 16)}
    assert entries[b"sub"].dtype == 4 and entries[b"sub"].qid.type == C.QTDIR
    assert entries[b"hello.txt"].dtype == 8
    assert entries[b"passwd-link"].dtype == 10 and entries[b"passwd-link"].qid.type == C.QTSYMLINK
    assert b"." not in entries and b".." not in entries


def test_readlink_and_symlinks_not_followed(served):
    ln = served.root.walk([b"passwd-link"])
    assert ln.qid.type == C.QTSYMLINK
    assert ln.readlink() == b"/etc/passwd"
    a = ln.getattr()
    assert stat.S_ISLNK(a.mode)
    assert errno_of(ln.lopen, os.O_RDONLY) == ELOOP
    # A symlink in the middle of a walk is not followed either.
    assert errno_of(served.root.walk, [b"sub-link", b"inner"]) == ENOENT
    assert errno_of(served.root.walk([b"hello.txt"]).readlink) == EINVAL


def test_dotdot_at_root_stays(served, tree):
    up = served.root.walk([b"..", b"..", b".."])
    assert up.qid == served.root.qid
    # From a subdirectory, .. goes up but no further than the root.
    up2 = served.root.walk([b"sub", b"..", b"..", b"hello.txt"])
    up2.lopen(0)
    assert up2.read(0, 5) == b"hello"


@pytest.mark.parametrize("name", [b"a/b", b"", b".", b"x\0y"])
def test_bad_names(served, name):
    assert errno_of(served.root.walk, [name]) in (EINVAL, ENOENT)


def test_donation(served, tree):
    f = served.root.walk([b"hello.txt"])
    r = f.lopen(os.O_RDONLY)
    assert r.host_fd is not None
    assert os.pread(r.host_fd, 5, 0) == b"hello"
    assert os.get_inheritable(r.host_fd) is False
    assert os.fstat(r.host_fd).st_ino == os.stat(tree / "hello.txt").st_ino
    os.close(r.host_fd)
    d = served.root.walk([b"sub"])
    assert d.lopen(0).host_fd is None      # directories are not donated


@pytest.mark.parametrize("ext", [True, False])
def test_peek_qids_binds_no_fid(tree, ext):
    """Twalkqids (snakevisor dialect; a Twalk + Tclunk without it): a walk's qids, no fid left."""
    s = Served(tree, extensions=ext, server_extensions=ext)
    try:
        f, want = s.root.walk_qids([b"sub", b"inner"])
        f.clunk()
        assert s.root.peek_qids([b"sub", b"inner"]) == want
        assert len(s.root.peek_qids([b"sub", b"missing"])) == 1        # partial, as Rwalk
        assert errno_of(s.root.peek_qids, [b"missing"]) == ENOENT
        assert errno_of(s.root.peek_qids, [b"a/b"]) == EINVAL
        used = s.client._next_fid
        s.root.peek_qids([b"sub"])
        g = s.root.walk([b"sub"])       # the next fid is the same number: none was used up
        assert g._id() <= used
        g.clunk()
    finally:
        s.close()


def test_walkqids_needs_the_snakevisor_dialect(tree):
    s = Served(tree, extensions=False, server_extensions=True)
    try:
        assert errno_of(s.client._rpc, M.Twalkqids(fid=s.root._id(), wnames=(b"sub",)), M.Rwalkqids) == EINVAL
    finally:
        s.close()


def test_dialect_requests_need_the_snakevisor_dialect(tree):
    """Trenameat2 and an unnamed Tlcreate (DOTL_TMPFILE) are the snakevisor dialect's: a plain
    9P2000.L client gets EOPNOTSUPP and a plain Tlcreate's ENOENT for an empty name, and the
    tree is untouched."""
    s = Served(tree, extensions=False, server_extensions=True)
    try:
        assert errno_of(s.client._rpc, M.Trenameat2(olddirfid=s.root._id(), oldname=b"hello.txt",
                                                     newdirfid=s.root._id(), newname=b"sub", flags=2),
                        M.Rrenameat2) == EOPNOTSUPP
        assert errno_of(s.root.clone().lcreate, b"", os.O_RDWR | C.DOTL_TMPFILE, 0o600) == ENOENT
        assert (tree / "hello.txt").is_file() and (tree / "sub").is_dir()
    finally:
        s.close()


@pytest.mark.parametrize("client_ext,server_ext", [(False, True), (True, False)])
def test_no_donation_without_negotiation(tree, client_ext, server_ext):
    s = Served(tree, extensions=client_ext, server_extensions=server_ext)
    try:
        assert not s.client.donation
        f = s.root.walk([b"hello.txt"])
        assert f.lopen(0).host_fd is None
        assert f.read(0, 5) == b"hello"
    finally:
        s.close()


def test_statfs(served, tree):
    sf = served.root.statfs()
    host = os.statvfs(tree)
    assert sf.bsize == host.f_bsize and sf.blocks == host.f_blocks and sf.namelen == host.f_namemax


def test_unknown_fid_is_ebadf(served):
    from snakevisor.p9.client import Fid
    ghost = Fid(served.client, 4242, served.root.qid)
    assert errno_of(ghost.getattr) == EBADF
    f = served.root.walk([b"hello.txt"])
    assert errno_of(f.read, 0, 10) == EBADF          # not opened


def test_readonly_root(tree):
    s = Served(tree, readonly=True)
    try:
        f = s.root.walk([b"hello.txt"])
        assert errno_of(f.lopen, os.O_RDWR) == EROFS
        assert errno_of(s.root.mkdir, b"d", 0o755) == EROFS
        assert errno_of(s.root.clone().lcreate, b"n", os.O_RDWR, 0o644) == EROFS
        assert errno_of(s.root.unlinkat, b"hello.txt") == EROFS
        assert (tree / "hello.txt").exists()
    finally:
        s.close()


def test_write_side(served_rw, tree):
    root = served_rw.root
    d = root.clone()
    r = d.lcreate(b"new.txt", os.O_RDWR, 0o640, os.getegid())
    assert d.write(0, b"abcdef") == 6
    assert d.read(2, 3) == b"cde"
    if r.host_fd is not None:
        assert os.pread(r.host_fd, 6, 0) == b"abcdef"
        os.close(r.host_fd)
    d.fsync()
    assert (tree / "new.txt").read_bytes() == b"abcdef"
    assert stat.S_IMODE(os.stat(tree / "new.txt").st_mode) & ~0o640 == 0
    q = root.mkdir(b"dir", 0o755)
    assert q.type == C.QTDIR and (tree / "dir").is_dir()
    assert errno_of(root.mkdir, b"dir", 0o755) == EEXIST
    root.symlink(b"sl", b"new.txt")
    assert os.readlink(tree / "sl") == "new.txt"
    target = root.walk([b"new.txt"])
    root.link(target, b"hard")
    assert os.stat(tree / "hard").st_ino == os.stat(tree / "new.txt").st_ino
    dirfid = root.walk([b"dir"])
    root.renameat(b"hard", dirfid, b"moved")
    assert (tree / "dir" / "moved").read_bytes() == b"abcdef"
    target.setattr(C.SETATTR_SIZE, size=3)
    assert (tree / "new.txt").read_bytes() == b"abc"
    target.setattr(C.SETATTR_MODE, mode=0o600)
    assert stat.S_IMODE(os.stat(tree / "new.txt").st_mode) == 0o600
    target.setattr(C.SETATTR_MTIME | C.SETATTR_MTIME_SET | C.SETATTR_ATIME | C.SETATTR_ATIME_SET,
                   atime_ns=1_000_000_000 * 1000 + 5, mtime_ns=1_000_000_000 * 2000 + 7)
    st = os.stat(tree / "new.txt", follow_symlinks=False)
    assert (st.st_atime_ns, st.st_mtime_ns) == (1_000_000_000_005, 2_000_000_000_007)
    assert target.getattr().mtime_ns == 2_000_000_000_007
    root.mknod(b"fifo", stat.S_IFIFO | 0o600)
    assert stat.S_ISFIFO(os.stat(tree / "fifo").st_mode)
    dirfid.unlinkat(b"moved")
    assert not (tree / "dir" / "moved").exists()
    assert errno_of(root.unlinkat, b"dir") != 0         # a directory needs AT_REMOVEDIR
    root.unlinkat(b"dir", C.AT_REMOVEDIR)
    assert not (tree / "dir").exists()
    sub = root.walk([b"sub", b"inner"])
    sub.rename(root, b"renamed")
    assert (tree / "renamed").read_bytes() == b"inner"
    gone = root.walk([b"renamed"])
    gone.remove()
    assert not (tree / "renamed").exists()
    assert errno_of(root.walk([b"hello.txt"]).lopen, os.O_RDONLY | os.O_DIRECTORY) == ENOTDIR


def test_lcreate_existing_with_excl(served_rw):
    assert errno_of(served_rw.root.clone().lcreate, b"hello.txt", os.O_RDWR | os.O_EXCL, 0o644) == EEXIST


def test_locks_and_xattrs(served):
    f = served.root.walk([b"hello.txt"])
    c = served.client
    assert c._rpc(M.Tlock(fid=f.fid, type=C.LOCK_TYPE_WRLCK, client_id=b"x"), M.Rlock).status == C.LOCK_SUCCESS
    assert c._rpc(M.Tgetlock(fid=f.fid, type=C.LOCK_TYPE_WRLCK, client_id=b"x"),
                  M.Rgetlock).type == C.LOCK_TYPE_UNLCK
    with pytest.raises(SyscallError):
        c._rpc(M.Txattrwalk(fid=f.fid, newfid=99, name=b"user.x"), M.Rxattrwalk)


# ---------------------------------------------------------------- raw protocol

class Raw:
    """Raw bytes against a served Gofer (no client)."""

    def __init__(self, root):
        self.a, b = socket.socketpair()
        self.a.settimeout(10)
        self.thread = threading.Thread(target=serve, args=(str(root), b, False), daemon=True)
        self.thread.start()
        self.dec = Decoder(expect=REPLIES)

    def send(self, data):
        self.a.sendall(data)

    def recv(self):
        while (m := self.dec.next_message()) is None:
            data = self.a.recv(1 << 16)
            if not data:
                return None
            self.dec.feed(data)
        return m

    def handshake(self):
        self.send(encode(M.Tversion(msize=1 << 16, version=b"9P2000.L")))
        assert self.recv().version == b"9P2000.L"
        self.send(encode(M.Tattach(tag=1, fid=0, uname=b"root")))
        assert isinstance(self.recv(), M.Rattach)

    def open_big(self):
        """Attach, then fid 1: big.bin opened for reading."""
        self.handshake()
        self.send(encode(M.Twalk(tag=2, fid=0, newfid=1, wnames=(b"big.bin",))))
        assert isinstance(self.recv(), M.Rwalk)
        self.send(encode(M.Tlopen(tag=3, fid=1, flags=0)))
        assert isinstance(self.recv(), M.Rlopen)

    def close(self):
        self.a.close()
        self.thread.join(timeout=10)
        assert not self.thread.is_alive()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def test_google_version_is_plain_9p2000l(tree):
    with Raw(tree) as r:
        r.send(encode(M.Tversion(msize=1 << 16, version=b"9P2000.L.Google.12")))
        reply = r.recv()
        assert reply.version == b"9P2000.L" and reply.msize == 1 << 16
        r.send(encode(M.Tversion(msize=1 << 16, version=b"9P2000.u")))
        assert r.recv().version == b"unknown"


def test_malformed_message_gets_einval_and_connection_continues(tree):
    with Raw(tree) as r:
        r.handshake()
        r.send(struct.pack("<IBH", 9, C.TCLUNK, 77) + b"\x01\x02")          # truncated body
        assert r.recv() == M.Rlerror(tag=77, ecode=EINVAL)
        r.send(encode(M.Tgetattr(tag=78, fid=0)))
        assert isinstance(r.recv(), M.Rgetattr)


def test_unframeable_stream_closes_connection(tree):
    with Raw(tree) as r:
        r.handshake()
        r.send(struct.pack("<IBH", 1 << 30, C.TREAD, 5))
        assert r.recv() is None      # closed, server thread ends
        r.thread.join(timeout=10)
        assert not r.thread.is_alive()


def test_flush(tree):
    with Raw(tree) as r:
        r.open_big()
        # A large (thread-pool) read immediately flushed: either its reply
        # comes before Rflush, or it has none.
        r.send(encode(M.Tread(tag=4, fid=1, offset=0, count=60000 * 2)) + encode(M.Tflush(tag=5, oldtag=4)))
        first = r.recv()
        if isinstance(first, M.Rread):
            assert first.tag == 4
            first = r.recv()
        assert first == M.Rflush(tag=5)
        r.send(encode(M.Tflush(tag=6, oldtag=1234)))     # nothing pending
        assert r.recv() == M.Rflush(tag=6)


def test_concurrent_requests_get_their_own_tags(tree):
    with Raw(tree) as r:
        r.open_big()
        reqs = b"".join(encode(M.Tread(tag=10 + i, fid=1, offset=i * 1000, count=50000 if i % 2 else 100))
                        for i in range(20))
        r.send(reqs)
        got = {}
        for _ in range(20):
            m = r.recv()
            got[m.tag] = m.data
        data = (tree / "big.bin").read_bytes()
        for i in range(20):
            n = 50000 if i % 2 else 100
            assert got[10 + i] == data[i * 1000:i * 1000 + n]


def test_fuzz_random_bytes_server_survives(tree):
    import random
    rng = random.Random(1234)
    for round_ in range(30):
        r = Raw(tree)
        try:
            if round_ % 2:
                r.handshake()
            # Random but well-sized frames of every request type, then pure noise.
            for _ in range(20):
                mtype = rng.choice(list(M.MESSAGE_TYPES))
                body = bytes(rng.getrandbits(8) for _ in range(rng.randrange(0, 40)))
                r.send(struct.pack("<IBH", 7 + len(body), mtype, rng.randrange(0, 0xFFFF)) + body)
            r.send(bytes(rng.getrandbits(8) for _ in range(rng.randrange(0, 200))))
            r.a.shutdown(socket.SHUT_WR)
            while r.recv() is not None:
                pass
        except (ConnectionResetError, socket.timeout):
            pass
        finally:
            r.close()
    s = Served(tree)        # and the server still works afterwards
    try:
        assert s.root.walk([b"hello.txt"]).getattr().size == 13
    finally:
        s.close()


def test_gofer_process(tree):
    a, b = socket.socketpair()
    env = dict(os.environ, PYTHONPATH=REPO)
    proc = subprocess.Popen([sys.executable, "-m", "snakevisor.gofer", "--root", str(tree),
                             "--sock-fd", str(b.fileno()), "--readonly"], pass_fds=[b.fileno()], env=env)
    b.close()
    try:
        c = Client(a)
        root = c.attach()
        f = root.walk([b"hello.txt"])
        r = f.lopen(0)
        assert f.read(0, 5) == b"hello"
        assert r.host_fd is not None and os.pread(r.host_fd, 5, 7) == b"world"
        os.close(r.host_fd)
        assert errno_of(root.mkdir, b"x", 0o755) == EROFS
        # Garbage does not kill the process; it just closes this connection.
        c.sock.sendall(b"\xff" * 64)
        c.close()
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_mount_spec_parsing():
    from snakevisor.gofer.__main__ import parse_mount
    assert parse_mount("root=/srv/x:ro,fd=5") == ("root", "/srv/x", True, 5)
    assert parse_mount("data=/a:b:rw,fd=7") == ("data", "/a:b", False, 7)
    import argparse
    with pytest.raises(argparse.ArgumentTypeError):
        parse_mount("root=/x:rx,fd=5")


def test_client_walk_more_than_16_names(tree):
    deep = tree
    for i in range(20):
        deep = deep / f"d{i}"
        deep.mkdir()
    (deep / "leaf").write_bytes(b"leaf")
    s = Served(tree)
    try:
        f = s.root.walk([f"d{i}".encode() for i in range(20)] + [b"leaf"])
        f.lopen(0)
        assert f.read(0, 4) == b"leaf"
    finally:
        s.close()


def test_broken_connection_is_eio(tree):
    from snakevisor.abi.errno import EIO
    s = Served(tree)
    s.client.sock.shutdown(socket.SHUT_RDWR)
    assert errno_of(s.root.getattr) == EIO
    assert errno_of(s.root.getattr) == EIO
    s.close()
