"""directfs (``--directfs=true``, sentry/fsimpl/gofer/directfs.py): the Sentry's own host calls on
O_PATH descriptors the Gofer donates (Twalkfd), and the walls around them.

- coherence: a shared mount sees host-side changes within the same syscall, and a stat of a
  cached path sends no 9P message at all; an evicted descriptor is fetched again; a server
  without the dialect keeps 9P;
- the Sentry's seccomp filter allows openat only relative to a descriptor (never AT_FDCWD,
  whatever the register's upper half), read-only, with O_NOFOLLOW, creating nothing; and not at
  all without directfs;
- isolation with directfs on, in the sandbox: planted symlinks, ``..`` walks, /proc/self/fd
  tricks, and a host thread swapping a directory for a symlink to a secret directory while the
  sandbox reads and writes through it: nothing outside the volume is read or written (canaries).

The VFS conformance suite runs with directfs too (test_vfs_conformance.py's gofer-directfs and
gofer-shared-directfs backends).
"""
import ctypes
import os
import threading

import pytest

from harness import errno_of, under_seccomp
from test_gofer_fs import GoferServer, GoferWorld
import test_isolation
from test_isolation import SECRET, _plant, do
from test_vfs_fixtures import Creds, op, stat_of

from snakevisor.abi import fs as abi
from snakevisor.abi.errno import EACCES, ENOENT
from snakevisor.abi.syscall_numbers import SYSCALL_NUMBERS
from snakevisor.sandbox import lockdown
from snakevisor.sentry.fsimpl.gofer.handles import OPEN_HANDLES

busybox_rootfs, secret = test_isolation.busybox_rootfs, test_isolation.secret   # the fixtures, shared
root_only = pytest.mark.skipif(os.geteuid() != 0, reason="sandbox isolation tests need root (namespaces)")


# -- coherence and fallbacks ----------------------------------------------------------------------

class _Counting:
    """Counts the 9P requests a client sends."""

    def __init__(self, client):
        self.n = 0
        real = client._rpc

        def rpc(*a, **kw):
            self.n += 1
            return real(*a, **kw)
        client._rpc = rpc


@pytest.fixture
def shared(tmp_path):
    host = tmp_path / "host"
    host.mkdir()
    w = GoferWorld(host, exclusive=False, directfs=True)
    yield w
    w.close()


def test_shared_mount_sees_host_changes_in_the_same_call_without_9p(shared):
    w, host = shared, shared.host
    (host / "d").mkdir()
    (host / "d" / "f").write_bytes(b"abc")
    assert w.gofer.directfs and not w.gofer.revalidates
    assert stat_of(w, b"/tmp/d/f")[8] == 3   # looked up: Twalkfd
    sent = _Counting(w.gofer.client)
    (host / "d" / "f").write_bytes(b"abcdef")
    assert stat_of(w, b"/tmp/d/f")[8] == 6
    os.chmod(host / "d" / "f", 0o600)
    assert stat_of(w, b"/tmp/d/f")[3] & 0o777 == 0o600
    assert sent.n == 0, "a stat of a cached path on a directfs mount asked the Gofer"
    os.unlink(host / "d" / "f")
    assert errno_of(stat_of, w, b"/tmp/d/f") == ENOENT   # a negative lookup: an fstatat, no 9P
    assert sent.n == 0
    (host / "d" / "f").mkdir()                            # the name is now a directory
    assert stat_of(w, b"/tmp/d/f")[3] & abi.S_IFMT == abi.S_IFDIR
    os.rmdir(host / "d" / "f")
    os.symlink("elsewhere", host / "d" / "f")             # and now a symlink
    assert w.lookup(b"/tmp/d/f", follow=False).dentry.inode.readlink(None) == b"elsewhere"


def test_host_changes_deep_in_a_cached_path_are_seen_by_the_next_call(shared):
    """Every component of a cached path is checked against the host at each walk: a directory
    swapped midway, the file truncated, the first file moved back, a search bit removed."""
    w, host = shared, shared.host
    (host / "a" / "b" / "c").mkdir(parents=True)
    (host / "a" / "b" / "c" / "f").write_bytes(b"old")
    f = op(w, b"/tmp/a/b/c/f")   # an open file keeps the inode (and its host descriptor) alive
    assert stat_of(w, b"/tmp/a/b/c/f")[8] == 3
    os.rename(host / "a" / "b", host / "a" / "gone")     # the middle directory moves away...
    (host / "a" / "b" / "c").mkdir(parents=True)          # ...and another takes its name
    (host / "a" / "b" / "c" / "f").write_bytes(b"newer")
    assert stat_of(w, b"/tmp/a/b/c/f")[8] == 5
    os.truncate(host / "a" / "b" / "c" / "f", 0)
    assert stat_of(w, b"/tmp/a/b/c/f")[8] == 0
    os.rename(host / "a" / "gone" / "c" / "f", host / "a" / "b" / "c" / "f")   # the first file comes back
    assert stat_of(w, b"/tmp/a/b/c/f")[8] == 3
    assert f.read(None, 10, offset=0) == b"old"
    f.dec_ref()
    os.chmod(host / "a" / "b", 0o700)   # no search permission for others any more
    w.t.creds = Creds(uid=1000, gid=1000)
    try:
        assert errno_of(stat_of, w, b"/tmp/a/b/c/f") == EACCES
    finally:
        w.t.creds = Creds()


def test_read_only_open_needs_no_9p_and_opens_only_the_file_looked_up(shared):
    from snakevisor.sentry.fsimpl.gofer import directfs
    w, host = shared, shared.host
    (host / "f").write_bytes(b"data")
    inode = w.lookup(b"/tmp/f").dentry.inode
    sent = _Counting(w.gofer.client)
    f = op(w, b"/tmp/f")
    assert f.read(None, 10, offset=0) == b"data"
    f.dec_ref()
    assert sent.n == 0, "a read-only open asked the Gofer"
    os.rename(host / "f", host / "g")
    (host / "f").write_bytes(b"other")
    assert directfs.open_read(inode) is None        # the name is another file now
    os.unlink(host / "f")
    os.mkfifo(host / "f")
    assert directfs.open_read(inode) is None        # nor a FIFO (and the open did not block)
    os.unlink(host / "f")
    os.rename(host / "g", host / "f")
    fd = directfs.open_read(inode)
    assert fd is not None and os.pread(fd, 10, 0) == b"data"
    os.close(fd)


def test_listing_and_evicted_descriptors(shared, monkeypatch):
    w, host = shared, shared.host
    for name in ("a", "b", "c"):
        (host / name).write_bytes(b"x")
    os.mkfifo(host / "p")
    d = w.lookup(b"/tmp").dentry.inode
    got = sorted((name, dtype) for name, _, dtype in d.iterdir())
    assert got == [(b"a", 8), (b"b", 8), (b"c", 8), (b"p", 1)]
    monkeypatch.setattr(OPEN_HANDLES, "limit", 1)   # every other descriptor is closed on the next use
    for name in (b"a", b"b", b"c", b"a"):
        assert stat_of(w, b"/tmp/" + name)[8] == 1
    (host / "a").write_bytes(b"longer")
    assert stat_of(w, b"/tmp/a")[8] == 6


def test_where_the_sentry_may_not_search_or_read_the_gofer_answers(shared, monkeypatch):
    """The Sentry has no capabilities: a host directory it may not search or read (EACCES) is
    revalidated and listed over 9P by the Gofer, which may."""
    from snakevisor.sentry.fsimpl.gofer import directfs, inode as gofer_inode
    w, host = shared, shared.host
    (host / "d").mkdir()
    (host / "d" / "f").write_bytes(b"abc")
    assert stat_of(w, b"/tmp/d/f")[8] == 3
    dentry = w.lookup(b"/tmp/d/f").dentry

    class RefusingOs:   # directfs's os (the Gofer's thread here shares the real one): no name below a dirfd
        def __getattr__(self, name):
            return getattr(os, name)

        def stat(self, path, dir_fd=None, **kw):
            if dir_fd is not None:
                raise PermissionError(13, "no")
            return os.stat(path, **kw)

        def open(self, path, flags, dir_fd=None):
            raise PermissionError(13, "no")
    monkeypatch.setattr(directfs, "os", RefusingOs())
    monkeypatch.setattr(gofer_inode, "FRESH_NS", 0)   # 9P's revalidation trusts attributes a moment old
    sent = _Counting(w.gofer.client)
    (host / "d" / "f").write_bytes(b"abcdef")
    assert stat_of(w, b"/tmp/d/f")[8] == 6
    assert sent.n > 0
    assert [name for name, _, _ in w.lookup(b"/tmp/d").dentry.inode.iterdir()] == [b"f"]
    assert w.lookup(b"/tmp/d/f").dentry is dentry   # still valid: not dropped and looked up anew


@pytest.mark.parametrize("server", ["plain 9P2000.L", "our Gofer without --directfs"])
def test_without_the_dialect_or_the_gofers_consent_directfs_stays_off(tmp_path, server):
    host = tmp_path / "host"
    host.mkdir()
    (host / "f").write_bytes(b"x")
    plain = server == "plain 9P2000.L"
    w = GoferWorld(host, donation=not plain, exclusive=False, directfs=True,
                   server=GoferServer(host, extensions=not plain, directfs=False))
    try:
        assert not w.gofer.directfs and w.gofer.revalidates
        assert stat_of(w, b"/tmp/f")[8] == 1
    finally:
        w.close()


@pytest.mark.parametrize("directfs", [False, True])
def test_the_gofer_donates_path_descriptors_only_with_directfs(tmp_path, directfs):
    from snakevisor.p9.client import Client
    from snakevisor.sandbox.gofer_process import GoferMount, GoferProcess
    (tmp_path / "f").write_bytes(b"x")
    g = GoferProcess([GoferMount("root", str(tmp_path), False)], directfs=directfs)
    try:
        root = Client(g.sockets[0]).attach()
        if directfs:
            fid, fd, _ = root.walk_fd([b"f"])
            assert fd is not None and os.fstat(fd).st_ino == os.stat(tmp_path / "f").st_ino
            os.close(fd)
            fid.clunk()
        else:
            assert errno_of(root.walk_fd, [b"f"]) is not None
            root.walk([b"f"]).clunk()   # plain walks still work
    finally:
        g.stop()


def test_twalkfd_is_refused_outside_the_dialect(tmp_path):
    from snakevisor.p9 import messages as M
    srv = GoferServer(tmp_path, extensions=False)
    try:
        c = srv.client(extensions=False)
        root = c.attach()
        assert errno_of(c._rpc, M.Twalkfd(fid=root.fid, newfid=99, wnames=()), M.Rwalkfd) is not None
    finally:
        srv.stop()


# -- the Sentry's seccomp filter ------------------------------------------------------------------

_NR_OPENAT = SYSCALL_NUMBERS["openat"]


def _openat_results(bpf, dirpath):
    """In a child under ``bpf``: the errno (0: allowed) of each openat attempt."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    dirfd = os.open(dirpath, os.O_PATH | os.O_DIRECTORY)
    dot = ctypes.c_char_p(b".")
    etc = ctypes.c_char_p(b"/etc/passwd")
    ro_dir = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW
    attempts = [
        (dirfd, dot, ro_dir),                                        # what directfs does
        (dirfd, dot, os.O_PATH | os.O_NOFOLLOW),
        (abi.AT_FDCWD, etc, os.O_RDONLY | os.O_NOFOLLOW),             # AT_FDCWD, sign-extended
        (0xFFFFFF9C, etc, os.O_RDONLY | os.O_NOFOLLOW),               # AT_FDCWD in the low half only
        ((1 << 32) | dirfd, dot, ro_dir),                             # upper half set
        (dirfd, dot, os.O_RDONLY | os.O_DIRECTORY),                  # no O_NOFOLLOW
        (dirfd, ctypes.c_char_p(b"new"), os.O_RDONLY | os.O_NOFOLLOW | os.O_CREAT | os.O_EXCL),
        (dirfd, ctypes.c_char_p(b"tmp"), os.O_RDWR | os.O_NOFOLLOW | os.O_TMPFILE),
        (dirfd, ctypes.c_char_p(b"f"), os.O_RDWR | os.O_NOFOLLOW),  # write access
        (dirfd, ctypes.c_char_p(b"f"), os.O_RDONLY | os.O_NOFOLLOW | os.O_TRUNC),
    ]

    def attempt(fd, path, flags):
        rc = libc.syscall(ctypes.c_long(_NR_OPENAT), ctypes.c_long(fd), path, ctypes.c_long(flags), ctypes.c_long(0o600))
        return 0 if rc >= 0 else ctypes.get_errno()
    try:
        return under_seccomp(bpf, [lambda a=a: attempt(*a) for a in attempts])
    finally:
        os.close(dirfd)


def test_sentry_filter_allows_only_descriptor_relative_nofollow_read_only_openat(tmp_path):
    (tmp_path / "f").write_bytes(b"x")
    on = _openat_results(lockdown.seccomp_filter(directfs=True), tmp_path)
    assert on[:2] == ["0", "0"]
    assert on[2:] == ["1"] * 8, on                   # EPERM
    assert sorted(os.listdir(tmp_path)) == ["f"] and (tmp_path / "f").read_bytes() == b"x"
    off = _openat_results(lockdown.seccomp_filter(directfs=False), tmp_path)
    assert off == ["1"] * 10, off


# -- isolation in the sandbox ---------------------------------------------------------------------

@root_only
def test_planted_symlinks_dotdot_and_proc_fd_never_leave_the_volume(busybox_rootfs, secret, tmp_path):
    vol = tmp_path / "vol"
    vol.mkdir()
    (vol / "sub").mkdir()
    _plant(vol, secret)
    before = sorted(os.listdir(secret / "secretdir"))
    script = ("cat /data/evil_abs /data/evil_rel /data/evil_dir/f /data/../../../../secret /data/sub/../../secret;"
              "ls /data/evil_dir/ /data/sub/../..; readlink /data/evil_abs;"
              "echo pwn > /data/evil_dir/new; mkdir /data/evil_dir/newdir; ln -s x /data/evil_dir/lnk;"
              "exec 3</data/sub; cat /proc/self/fd/3/../evil_dir/f /proc/self/fd/3/../../secret;"
              "ls /proc/self/fd/3/../../; grep ' /data ' /proc/mounts; echo done")
    rc, out, err = do("--directfs=true", "--rootfs", str(busybox_rootfs), "--volume", f"{vol}:/data", "--",
                      "/bin/sh", "-c", script)
    assert "done" in out, err[-2000:]
    assert "directfs" in out, "the volume is not directfs"   # (its mount options say so)
    assert SECRET.decode() not in out + err
    assert sorted(os.listdir(secret / "secretdir")) == before, "a write through a planted link reached the host"
    assert (secret / "secret").read_bytes() == SECRET


@root_only
def test_host_swapping_a_directory_for_a_symlink_never_leaks(busybox_rootfs, secret, tmp_path):
    """A host thread swaps vol/d between a directory and a symlink to the secret directory while
    the sandbox reads vol/d/f, lists vol/d and writes vol/d/w in a loop: the secret is never read
    and nothing is written into the secret directory."""
    vol = tmp_path / "vol"
    vol.mkdir()
    (vol / "d").mkdir()
    (vol / "d" / "f").write_bytes(b"harmless")
    before = sorted(os.listdir(secret / "secretdir"))
    stop = threading.Event()
    swaps = []

    def swapper():
        # Each state is held a moment (pacing, not synchronisation): the sandbox meets both.
        while not stop.is_set():
            try:
                os.rename(vol / "d", vol / "d.real")
                os.symlink(secret / "secretdir", vol / "d")
                stop.wait(0.0005)
                os.unlink(vol / "d")
                os.rename(vol / "d.real", vol / "d")
                swaps.append(1)
                stop.wait(0.0005)
            except OSError:
                pass
    t = threading.Thread(target=swapper, daemon=True)
    t.start()
    try:
        rc, out, err = do("--directfs=true", "--rootfs", str(busybox_rootfs), "--volume", f"{vol}:/data", "--",
                          "/bin/sh", "-c", "i=0; while [ $i -lt 400 ]; do cat /data/d/f; ls /data/d;"
                          " echo w > /data/d/w; i=$((i+1)); done 2>/dev/null; echo done", timeout=240)
    finally:
        stop.set()
        t.join()
    assert "done" in out, err[-2000:]
    assert out.count("harmless") > 20 and len(swaps) > 100, "the race did not run"
    assert SECRET.decode() not in out + err
    assert sorted(os.listdir(secret / "secretdir")) == before


# -- the flag -------------------------------------------------------------------------------------

def test_directfs_flag_on_do_and_for_oci_containers():
    from snakevisor.cli.main import build_parser
    from snakevisor.cli.oci_verbs import _Opts
    from snakevisor.sandbox.container import _boot_argv
    p = build_parser()
    assert p.parse_args(["do", "--directfs=true", "--", "true"]).directfs is True
    assert p.parse_args(["do", "--directfs", "false", "--", "true"]).directfs is False
    assert p.parse_args(["do", "--", "true"]).directfs is None   # the global flag's
    with pytest.raises(SystemExit):
        p.parse_args(["do", "--directfs=maybe", "--", "true"])
    on = p.parse_args(["--root", "/run/x", "--directfs=true", "state", "c"])
    assert "--directfs" in _boot_argv(_Opts(on), "c", "/b", "/s", 3)
    off = p.parse_args(["--root", "/run/x", "--directfs=false", "state", "c"])
    assert "--directfs" not in _boot_argv(_Opts(off), "c", "/b", "/s", 3)
    boot = p.parse_args(["sandbox-boot", "--id", "c", "--bundle", "/b", "--state-dir", "/s", "--ready-fd", "3",
                         "--directfs"])
    assert boot.directfs is True


def test_directfs_is_the_default_unless_switched_off(monkeypatch):
    """On by default, as runsc's; SNAKEVISOR_DIRECTFS=false (the suite's 9P-only pass) or the flag turns it off."""
    from snakevisor.cli.main import build_parser, directfs_setting
    parser = build_parser()   # built once: the environment counts when a command runs
    monkeypatch.delenv("SNAKEVISOR_DIRECTFS", raising=False)
    assert directfs_setting(parser.parse_args(["--root", "/run/x", "state", "c"])) is True
    assert directfs_setting(parser.parse_args(["--directfs=false", "do", "--", "true"])) is False
    assert directfs_setting(parser.parse_args(["--directfs=false", "do", "--directfs=true", "--", "true"])) is True
    monkeypatch.setenv("SNAKEVISOR_DIRECTFS", "false")
    assert directfs_setting(parser.parse_args(["do", "--", "true"])) is False


@root_only
@pytest.mark.parametrize("flag", ["", "--directfs=true", "--directfs=false"])
def test_a_volume_works_with_directfs_on_and_off(busybox_rootfs, tmp_path, flag):
    """The same reads, writes, renames and listings on a volume, directfs or 9P only (its mount
    options say which); the host sees the result."""
    vol = tmp_path / "vol"
    (vol / "d").mkdir(parents=True)
    (vol / "d" / "f").write_bytes(b"hello\n")
    script = ("cat /data/d/f; echo more >> /data/d/f; mkdir /data/e; mv /data/d/f /data/e/g; ln -s g /data/e/l;"
              "cat /data/e/l; ls /data/d /data/e; rmdir /data/d; grep ' /data ' /proc/mounts")
    env_flags = (flag,) if flag else ()
    rc, out, err = do(*env_flags, "--rootfs", str(busybox_rootfs), "--volume", f"{vol}:/data", "--",
                      "/bin/sh", "-c", script)
    assert rc == 0, err[-2000:]
    lines = out.splitlines()
    assert lines[:-1] == ["hello", "hello", "more", "/data/d:", "", "/data/e:", "g", "l"], out
    default = os.environ.get("SNAKEVISOR_DIRECTFS", "true").lower() in ("true", "1")   # (harness's flag)
    assert ("directfs" in lines[-1]) == (flag.endswith("true") if flag else default), lines[-1]
    assert sorted(os.listdir(vol)) == ["e"] and (vol / "e" / "g").read_bytes() == b"hello\nmore\n"
