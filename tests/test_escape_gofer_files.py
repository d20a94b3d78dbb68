"""Gofer-backed files that must not betray the host's data (issue 11 "Trust", items 12, 14, 15).

- Host descriptors: an application may open as many volume files as its own RLIMIT_NOFILE
  allows, however few descriptors the Sentry may hold on the host (a bounded LRU of donated
  descriptors, reopened on use); a donated descriptor the Sentry has no room for falls back to
  9P instead of breaking the connection.
- Large files: a mapping of a file larger than 2 GiB reads the data past 0x7ffff000 (one
  ``pread`` moves at most that much) and writes nothing back over it.
- Write-back: only pages of writable shared mappings are written back; a file only mapped
  read-only never reverts what a host process wrote meanwhile.
"""
import os
import resource
import subprocess
import sys

import pytest

from harness import REPO, compile_c, exit_code, run, run_native, run_sandboxed, sandbox_cmd, sandbox_env
from test_gofer_fs import GoferWorld, ServerProcess
from test_vfs_fixtures import op

from snakevisor.abi import fs as abi
from snakevisor.sentry.fsimpl.gofer.handles import OPEN_HANDLES
from snakevisor.sentry.vfs.pathops import rename_path, unlink_path

GIB = 1 << 30


@pytest.fixture(scope="module")
def prog():
    return compile_c("gofer_files")


def _hex(data):
    return data.hex()


# -- item 14: files larger than 2 GiB -------------------------------------------------------

@pytest.mark.parametrize("mode", ["rw", "rw-ro"])
def test_mapping_a_file_past_2gib_reads_its_data_and_writes_no_zeros_back(prog, tmp_path, mode):
    """A sparse 3 GiB file with markers around 2 GiB and at its end: the mapping shows them
    (as natively), and after munmap the host file still has them and is still sparse."""
    vol = tmp_path / "vol"
    vol.mkdir()
    big = vol / "big"
    size = 3 * GIB
    markers = {0x7ffff000 - 8: b"before2G", 2 * GIB: b"at-2GiB!", 2 * GIB + 5000: b"past-2G+", size - 8: b"LASTBYTE"}
    with open(big, "wb") as f:
        f.truncate(size)
        for off, data in markers.items():
            f.seek(off)
            f.write(data)
    offsets = [str(off) for off in markers]
    native = run_native([prog, "map", str(big), mode, *offsets])
    assert native.returncode == 0, native.stdout
    boxed = run_sandboxed([prog, "map", "/vol/big", mode, *offsets], flags=("--volume", f"{vol}:/vol"), timeout=300)
    expect = "".join(f"{off}:{_hex(data)}\n" for off, data in markers.items()) + "done\n"
    assert native.stdout.decode() == expect
    assert boxed.stdout.decode() == expect, boxed.stderr.decode(errors="replace")[-2000:]
    assert boxed.returncode == 0
    with open(big, "rb") as f:
        for off, data in markers.items():
            f.seek(off)
            assert f.read(len(data)) == data, f"host marker at {off:#x} overwritten"
    st = os.stat(big)
    assert st.st_size == size
    assert st.st_blocks * 512 < 64 << 20, "the sandbox wrote the file's holes back as data"


# -- item 15: only dirty pages are written back --------------------------------------------

@pytest.mark.parametrize("mode", ["r", "rw-ro"])
@pytest.mark.parametrize("where", ["native", "sandbox"])
def test_read_only_shared_mapping_does_not_revert_host_changes(prog, tmp_path, mode, where):
    """The program maps the file PROT_READ/MAP_SHARED and waits; the host rewrites the file;
    the program munmaps and closes: the host's new data stays."""
    vol = tmp_path / "vol"
    vol.mkdir()
    path = vol / "data"
    old, new = b"A" * 3 * 4096 + b"a" * 100, b"B" * 3 * 4096 + b"b" * 100
    path.write_bytes(old)
    if where == "native":
        cmd = [prog, "map", str(path), mode, "wait"]
    else:
        cmd = sandbox_cmd([prog, "map", "/vol/data", mode, "wait"], ("--volume", f"{vol}:/vol"))
    env = sandbox_env()
    p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         env=env, cwd="/")
    try:
        assert p.stdout.readline() == b"ready\n"
        with open(path, "r+b") as f:    # in place: the same host inode
            f.write(new)
        out, err = p.communicate(b"go\n", timeout=120)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert out == b"done\n", err.decode(errors="replace")[-2000:]
    assert p.returncode == 0
    assert path.read_bytes() == new


@pytest.mark.parametrize("where", ["native", "sandbox"])
def test_shared_mapping_made_writable_by_mprotect_is_written_back(prog, tmp_path, where):
    vol = tmp_path / "vol"
    vol.mkdir()
    (vol / "data").write_bytes(b"a" * 5000)
    if where == "native":
        r = run_native([prog, "mprotect", str(vol / "data")])
    else:
        r = run_sandboxed([prog, "mprotect", "/vol/data"], flags=("--volume", f"{vol}:/vol"))
    assert r.stdout == b"done\n", r.stderr.decode(errors="replace")[-2000:]
    assert (vol / "data").read_bytes() == b"X" + b"a" * 4999


def test_writable_mapping_gone_leaves_later_host_changes_alone(tmp_path):
    """Pages of a writable shared mapping are dirty until its last VMA goes (then written
    back, and clean): a later read-only mapping of the same file writes nothing back."""
    host = tmp_path / "vol"
    host.mkdir()
    (host / "f").write_bytes(b"a" * 8192)
    with GoferWorld(host, exclusive=False) as w:
        f = op(w, b"/tmp/f", abi.O_RDWR)
        mappable = f.mappable()
        (off, _), = mappable.translate(0, 8192)
        holder = mappable.writable_mapping(0, 4096)     # mmap(PROT_WRITE, MAP_SHARED) of page 0
        holder.inc_ref()
        w.mf.write(off, b"W")                            # the application writes through it
        holder.dec_ref()                                 # munmap: written back, clean again
        assert (host / "f").read_bytes() == b"W" + b"a" * 8191
        (host / "f").write_bytes(b"h" * 8192)            # a host process rewrites the file
        mappable.translate(0, 8192)                      # a read-only mapping of it ...
        mappable.inc_ref()
        mappable.dec_ref()                               # ... goes away
        f.dec_ref()                                      # and the file is closed
        assert (host / "f").read_bytes() == b"h" * 8192


# -- item 12: host descriptors --------------------------------------------------------------

def _gofer_process(root, directfs=False):
    """A Gofer in its own process: the descriptors it holds are not counted as ours."""
    return ServerProcess(lambda fd: [sys.executable, "-m", "snakevisor.gofer", "--root", str(root),
                                     "--sock-fd", str(fd), *(["--directfs"] if directfs else [])],
                         env=dict(os.environ, PYTHONPATH=REPO))


def test_more_open_volume_files_than_the_sentry_may_hold_on_the_host(prog, tmp_path):
    """10,000 volume files open at once (the application's RLIMIT_NOFILE allows it) while the
    Sentry's host limit is 4,096: each is written and then read back through its descriptor."""
    vol = tmp_path / "vol"
    vol.mkdir()
    n = 10000

    def low_limit():
        resource.setrlimit(resource.RLIMIT_NOFILE, (4096, 4096))

    r = run(sandbox_cmd([prog, "many", "/vol", str(n)], ("--volume", f"{vol}:/vol")), timeout=900,
            preexec_fn=low_limit, env=sandbox_env())
    assert r.stdout.decode() == f"opened {n}\nread back {n}\n", r.stderr.decode(errors="replace")[-2000:]
    assert exit_code(r.returncode) == 0
    assert (vol / "f9999").read_bytes() == b"9999"


def test_open_handles_are_bounded_and_reopen_on_use(tmp_path, monkeypatch):
    """The Sentry keeps at most OPEN_HANDLES.limit host descriptors (or opened fids) for open
    Gofer files; an evicted one reopens on its next read or write."""
    host = tmp_path / "vol"
    host.mkdir()
    w = GoferWorld(host, exclusive=False, server=_gofer_process(host))
    monkeypatch.setattr(OPEN_HANDLES, "limit", 8)
    try:
        before = len(os.listdir("/proc/self/fd"))
        files = []
        for i in range(40):
            f = op(w, b"/tmp/f%d" % i, abi.O_CREAT | abi.O_RDWR)
            f.write(None, b"%d" % i)
            files.append(f)
        held = [h for h in OPEN_HANDLES.lru if h.inode.fs is w.gofer]
        assert len(held) <= 8
        assert len(os.listdir("/proc/self/fd")) <= before + 8
        for i, f in enumerate(files):
            assert f.read(None, 10, offset=0) == b"%d" % i
            f.write(None, b"!", offset=5)
        assert (host / "f0").read_bytes() == b"0\0\0\0\0!"
        for f in files:
            f.dec_ref()
    finally:
        w.close()


@pytest.mark.parametrize("directfs", [False, True])
def test_donated_descriptor_without_room_falls_back_to_9p(tmp_path, directfs):
    """When the Sentry is out of descriptors the kernel drops the donated one (MSG_CTRUNC): the
    file is still looked up, read and written, over 9P, and the connection stays usable (with
    directfs too, whose O_PATH descriptors come the same way)."""
    host = tmp_path / "vol"
    host.mkdir()
    (host / "f").write_bytes(b"hello")
    w = GoferWorld(host, exclusive=False, server=_gofer_process(host, directfs), directfs=directfs)
    assert w.gofer.directfs == directfs
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    lowest_free = os.dup(0)     # descriptors are allocated lowest first
    os.close(lowest_free)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (lowest_free, hard))   # no new descriptor fits
        f = op(w, b"/tmp/f", abi.O_RDWR)
        assert f.read(None, 10, offset=0) == b"hello"
        f.write(None, b"J", offset=0)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
        assert f.read(None, 10, offset=0) == b"Jello"
        assert op(w, b"/tmp/f").read(None, 10, offset=0) == b"Jello"
        f.dec_ref()
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
        w.close()
    assert (host / "f").read_bytes() == b"Jello"


def test_a_rename_under_one_attach_root_leaves_another_roots_fids_alone(tmp_path):
    """Two connections of one Gofer (the root and a volume, say) each hold a fid named x, its path
    descriptor closed while idle. Renaming x under one root renames that root's fid only: the
    other's, found by the same names under its own root, reopened ESTALE before."""
    from snakevisor.gofer import ops
    from snakevisor.p9 import messages as M
    sessions = []
    for name in ("a", "b"):
        d = tmp_path / name
        d.mkdir()
        (d / "x").write_text(name)
        sess = ops.Session(os.open(d, os.O_PATH | os.O_CLOEXEC), False)
        ops.attach(sess, M.Tattach(fid=0))
        root = sess.fids.acquire(0)
        ops.walk(sess, M.Twalk(fid=0, newfid=1, wnames=(b"x",)), root)
        root.release()
        sessions.append(sess)
    a, b = sessions
    try:
        st = b.fids.acquire(1)
        st.release()
        assert st.close_path() and st.path_fd is None        # idle: found again by its names
        root = a.fids.acquire(0)
        ops.renameat(a, M.Trenameat(olddirfid=0, oldname=b"x", newdirfid=0, newname=b"y"), root, root)
        root.release()
        assert a.fids.acquire(1).names == (b"y",)
        st = b.fids.acquire(1)
        assert st.names == (b"x",)
        fd = os.open(f"/proc/self/fd/{st.path_fd}", os.O_RDONLY)
        try:
            assert os.read(fd, 9) == b"b"
        finally:
            os.close(fd)
        st.release()
    finally:
        for sess in sessions:
            for fid in (1, 0):
                sess.fids.remove(fid)
            os.close(sess.root_fd)


def test_gofer_closes_idle_fid_descriptors_and_reopens_them_by_name(tmp_path, monkeypatch):
    """The Gofer holds at most IDLE_PATHS.limit descriptors of idle fids; a closed one reopens
    by its names on use, also after the Sentry renamed its directory or unlinked it while open."""
    from snakevisor.gofer import fids as fids_mod
    host = tmp_path / "vol"
    (host / "d").mkdir(parents=True)
    w = GoferWorld(host, exclusive=False)
    monkeypatch.setattr(fids_mod.IDLE_PATHS, "limit", 4)
    monkeypatch.setattr(OPEN_HANDLES, "limit", 4)
    try:
        for i in range(30):
            f = op(w, b"/tmp/d/f%d" % i, abi.O_CREAT | abi.O_RDWR)
            f.write(None, b"data%d" % i)
            f.dec_ref()
        held = op(w, b"/tmp/d/f7", abi.O_RDWR)             # stays open across what follows
        closed = [st for group in fids_mod.IDLE_PATHS.by_names.values() for st in group if st.path_fd is None]
        assert len(closed) >= 20
        assert len(fids_mod.IDLE_PATHS.lru) <= 4 + 2        # the root and the walking directory
        for i in range(30):
            assert op(w, b"/tmp/d/f%d" % i).read(None, 10, offset=0) == b"data%d" % i
        rename_path(w.ctx, w.vfs.root, b"/tmp/d", w.vfs.root, b"/tmp/e")
        unlink_path(w.ctx, w.vfs.root, b"/tmp/e/f7")
        for i in range(30):
            if i != 7:
                assert op(w, b"/tmp/e/f%d" % i).read(None, 10, offset=0) == b"data%d" % i   # f7's handle goes
        assert held.read(None, 10, offset=0) == b"data7"             # reopened by the Gofer before the unlink
        held.write(None, b"!", offset=0)
        assert op(w, b"/tmp/e/f3").read(None, 10, offset=0) == b"data3"
        assert (host / "e" / "f29").read_bytes() == b"data29"
        held.dec_ref()
    finally:
        w.close()


@pytest.mark.parametrize("donation", [True, False], ids=["donated", "9p-only"])
def test_short_host_reads_and_writes_are_retried(tmp_path, monkeypatch, donation):
    """Host pread/pwrite may move fewer bytes than asked (at most 0x7ffff000 always): the
    Sentry (donated descriptor) and the Gofer (Tread/Twrite) go on until all is moved."""
    host = tmp_path / "vol"
    host.mkdir()
    data = bytes(range(256)) * 400
    (host / "f").write_bytes(data)
    w = GoferWorld(host, exclusive=False, donation=donation)
    real_pread, real_pwrite = os.pread, os.pwrite
    monkeypatch.setattr(os, "pread", lambda fd, n, off: real_pread(fd, min(n, 1000), off))
    monkeypatch.setattr(os, "pwrite", lambda fd, b, off: real_pwrite(fd, memoryview(b)[:1000], off))
    try:
        f = op(w, b"/tmp/f", abi.O_RDWR)
        assert f.read(None, len(data), offset=0) == data
        assert f.write(None, data[::-1], offset=0) == len(data)
        f.dec_ref()
    finally:
        monkeypatch.undo()
        w.close()
    assert (host / "f").read_bytes() == data[::-1]


def test_exchange_keeps_idle_fids_on_their_files(tmp_path):
    """Trenameat2 RENAME_EXCHANGE of a directory and a file: the closed (idle) fids of each, and
    of a file below the directory, are found again by their new names, never by the other's."""
    import stat
    from harness import errno_of
    from snakevisor.abi.errno import EINVAL
    from snakevisor.abi.fs import RENAME_EXCHANGE
    from snakevisor.gofer import ops
    from snakevisor.p9 import messages as M
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "inner").write_text("inner")
    (tmp_path / "f").write_text("file")
    sess = ops.Session(os.open(tmp_path, os.O_PATH | os.O_CLOEXEC), False)
    sess.donation = True
    ops.attach(sess, M.Tattach(fid=0))
    root = sess.fids.acquire(0)
    for fid, names in ((1, (b"d",)), (2, (b"d", b"inner")), (3, (b"f",))):
        ops.walk(sess, M.Twalk(fid=0, newfid=fid, wnames=names), root)
    try:
        for fid in (1, 2, 3):
            st = sess.fids.acquire(fid)
            st.release()
            assert st.close_path()
        ops.renameat2(sess, M.Trenameat2(olddirfid=0, oldname=b"d", newdirfid=0, newname=b"f",
                                         flags=RENAME_EXCHANGE), root, root)
        expect = {1: ((b"f",), "directory"), 2: ((b"f", b"inner"), "inner"), 3: ((b"d",), "file")}
        for fid, (names, content) in expect.items():
            st = sess.fids.acquire(fid)
            assert st.names == names
            if content == "directory":
                assert stat.S_ISDIR(os.fstat(st.path_fd).st_mode)
            else:
                with open(f"/proc/self/fd/{st.path_fd}") as f:
                    assert f.read() == content
            st.release()
        assert errno_of(
            ops.renameat2, sess, M.Trenameat2(olddirfid=0, oldname=b"d", newdirfid=0, newname=b"g",
                                              flags=RENAME_EXCHANGE | 1), root, root) == EINVAL
    finally:
        root.release()
        for fid in (3, 2, 1, 0):
            sess.fids.remove(fid)
        os.close(sess.root_fd)
