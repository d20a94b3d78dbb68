"""Revalidation by inotify on shared directfs mounts (sentry/fsimpl/gofer/notify.py, gofer/watches.py).

The Gofer watches each directory it donates; the Sentry trusts a cached name of a watched
directory until an event names it, drained at the start of each walk. Checked here:

- a stat of a cached deep path makes no host fstatat once its directories are watched;
- a host-side rename, unlink, chmod, symlink swap or directory replacement deep in a cached path
  is seen by the very next call (these fail when events are not applied: see ``_ignore_events``);
- an overflowed event queue (more host changes than fs.inotify.max_queued_events) is handled:
  every name is checked again;
- directories past the watch limit (SNAKEVISOR_GOFER_MAX_WATCHES, as ENOSPC would) are checked
  per name, as without inotify;
- the same in the sandbox (``do -v``): a host change between two reads of a deep path.
"""
import os
import shutil
import subprocess

import pytest

from harness import PLATFORM_FLAGS, REPO, errno_of, sandbox_env, snakevisor_cmd
from test_gofer_fs import GoferWorld
from test_vfs_fixtures import Creds, stat_of

from snakevisor.abi.errno import EACCES, ENOENT
from snakevisor.sentry.fsimpl.gofer import directfs, notify

DEEP = "a/b/c/d/f"
PATH = b"/tmp/" + DEEP.encode()


def _tree(host):
    (host / "a" / "b" / "c" / "d").mkdir(parents=True)
    (host / DEEP).write_bytes(b"old")
    (host / "alt" / "c" / "d").mkdir(parents=True)   # a symlink swap's target, inside the volume
    (host / "alt" / "c" / "d" / "f").write_bytes(b"alternative")


@pytest.fixture
def shared(tmp_path, request):
    host = tmp_path / "host"
    host.mkdir()
    _tree(host)
    w = GoferWorld(host, exclusive=False, directfs=True)
    yield w
    w.close()


class _Fstatats:
    """Counts directfs's host fstatat calls (os.stat with a dir_fd)."""

    def __init__(self, monkeypatch):
        self.n = 0
        real = os.stat

        def counting(path, *a, dir_fd=None, **kw):
            if dir_fd is not None:
                self.n += 1
            return real(path, *a, dir_fd=dir_fd, **kw)
        monkeypatch.setattr(directfs.os, "stat", counting)


def _host_view(host):
    """(size, mode) of the deep path on the host, or ENOENT."""
    try:
        st = os.stat(host / DEEP)
    except FileNotFoundError:
        return ENOENT
    return st.st_size, st.st_mode


def _sandbox_view(w):
    try:
        st = stat_of(w, PATH)
    except Exception:   # noqa: BLE001 - the errno is the answer
        return errno_of(stat_of, w, PATH)
    return st[8], st[3]


def _rename(host):
    os.rename(host / "a" / "b", host / "a" / "b.old")
    (host / "a" / "b" / "c" / "d").mkdir(parents=True)
    (host / DEEP).write_bytes(b"renamed!")


def _symlink_swap(host):
    os.rename(host / "a" / "b" / "c", host / "c.old")
    os.symlink("../../alt/c", host / "a" / "b" / "c")


def _replace_dir(host):
    shutil.rmtree(host / "a" / "b" / "c" / "d")
    (host / "a" / "b" / "c" / "d").mkdir()
    (host / DEEP).write_bytes(b"another one")


CHANGES = {
    "rename": _rename,
    "unlink": lambda host: os.unlink(host / DEEP),
    "chmod": lambda host: os.chmod(host / DEEP, 0o600),
    "write": lambda host: (host / DEEP).write_bytes(b"longer now"),
    "symlink swap": _symlink_swap,
    "directory replacement": _replace_dir,
}


def test_a_cached_deep_path_needs_no_host_fstatat(shared, monkeypatch):
    w = shared
    stat_of(w, PATH)
    assert w.gofer.notifier is not None and len(w.gofer.notifier.dirs) == 5   # the root, a, b, c, d
    counted = _Fstatats(monkeypatch)
    for _ in range(3):
        assert stat_of(w, PATH)[8] == 3
    assert counted.n == 0


@pytest.mark.parametrize("change", list(CHANGES))
def test_a_host_change_deep_in_a_cached_path_is_seen_by_the_next_call(shared, change):
    w, host = shared, shared.host
    assert _sandbox_view(w) == _host_view(host)
    CHANGES[change](host)
    assert _sandbox_view(w) == _host_view(host)


def test_a_search_bit_removed_deep_is_seen_by_the_next_call(shared):
    w, host = shared, shared.host
    w.t.creds = Creds(uid=1000, gid=1000)
    try:
        assert stat_of(w, PATH)[8] == 3
        os.chmod(host / "a" / "b", 0o700)
        assert errno_of(stat_of, w, PATH) == EACCES
    finally:
        w.t.creds = Creds()


def _max_queued_events():
    with open("/proc/sys/fs/inotify/max_queued_events") as f:
        return int(f.read())


def test_an_overflowed_event_queue_makes_every_name_checked_again(shared, monkeypatch):
    w, host = shared, shared.host
    limit = _max_queued_events()
    if limit > 200_000:
        pytest.skip(f"fs.inotify.max_queued_events is {limit}: too many host changes to overflow it here")
    assert stat_of(w, PATH)[8] == 3
    overflows = []
    real = notify.Notifier.overflow
    monkeypatch.setattr(notify.Notifier, "overflow", lambda self: (overflows.append(1), real(self)))
    (host / "x").write_bytes(b"")
    (host / "y").write_bytes(b"")
    for i in range(limit // 2 + 8):   # two names in turn: inotify merges only a repeat of the last event
        os.chmod(host / "x", 0o600 | (i & 1) << 2)
        os.chmod(host / "y", 0o600 | (i & 1) << 2)
    os.unlink(host / DEEP)            # its event is lost: only the overflow tells
    assert errno_of(stat_of, w, PATH) == ENOENT
    assert overflows, "the queue did not overflow"


def test_directories_past_the_watch_limit_are_checked_per_name(tmp_path, monkeypatch):
    host = tmp_path / "host"
    host.mkdir()
    _tree(host)
    monkeypatch.setenv("SNAKEVISOR_GOFER_MAX_WATCHES", "2")   # the root and one more, as ENOSPC would
    w = GoferWorld(host, exclusive=False, directfs=True)
    try:
        assert stat_of(w, PATH)[8] == 3
        d = w.lookup(b"/tmp/a/b/c/d").dentry.inode
        assert len(w.gofer.notifier.dirs) == 2 and d.wd == 0
        counted = _Fstatats(monkeypatch)
        assert stat_of(w, PATH)[8] == 3
        assert counted.n >= 3   # b, c, d and f are checked with the host
        for change in ("write", "symlink swap", "unlink"):
            CHANGES[change](host)
            assert _sandbox_view(w) == _host_view(host), change
    finally:
        w.close()


def test_a_killed_mount_closes_its_inotify_descriptor_and_checks_per_name(shared, monkeypatch):
    w, host = shared, shared.host
    assert stat_of(w, PATH)[8] == 3
    fd = w.gofer.notifier.fd
    dirs = list(w.gofer.notifier.dirs.values())
    w.gofer.kill()   # (the VFS's kill_sb: the last mount gone)
    assert w.gofer.notifier is None
    with pytest.raises(OSError):
        os.fstat(fd)
    assert all(d.wd == 0 and not d.trusted for d in dirs)
    CHANGES["write"](host)
    assert _sandbox_view(w) == _host_view(host)


# -- in the sandbox -------------------------------------------------------------------------------

@pytest.mark.skipif(os.geteuid() != 0, reason="sandbox tests need root (namespaces)")
@pytest.mark.parametrize("change,max_watches", [("symlink swap", ""), ("rename", ""), ("directory replacement", "2")])
def test_in_the_sandbox_a_host_change_is_seen_by_the_next_read(tmp_path, change, max_watches):
    """cat of a deep path, then (after the host's change, told by a line on stdin) cat again."""
    if shutil.which("busybox") is None:
        pytest.skip("busybox (busybox-static) is not installed")
    host = tmp_path / "vol"
    host.mkdir()
    _tree(host)
    shutil.copy(shutil.which("busybox"), host / "busybox")
    script = f"/x/busybox cat /x/{DEEP}; echo; echo ready; read line; /x/busybox cat /x/{DEEP}; echo"
    env = sandbox_env(SNAKEVISOR_GOFER_MAX_WATCHES=max_watches)
    p = subprocess.Popen(snakevisor_cmd("do", *PLATFORM_FLAGS, "-v", f"{host}:/x", "--", "/x/busybox", "sh", "-c",
                                        script), cwd=REPO, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    try:
        first = p.stdout.readline()
        assert p.stdout.readline() == b"ready\n", p.stderr.read()[-2000:]
        CHANGES[change](host)
        out, err = p.communicate(b"go\n", timeout=60)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert first == b"old\n"
    assert out == (host / DEEP).read_bytes() + b"\n", err[-2000:]
