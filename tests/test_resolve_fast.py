"""Path resolution's fast path (vfs/resolve.py _fast_walk) against the full walk (_Walker): for
every path of a tree with mounts, symlinks, dot-dots, trailing slashes, a directory others may
not search, an overlong name and procfs-like entries that are never trusted, ``resolve`` (fast
path first) gives the same file or the same errno as _Walker alone, for root and for a user, with
and without following a final symlink, and the fast path answers only what it may (it declines
everything else, which the full walk then does).
"""
import itertools

import pytest

from test_vfs_fixtures import Creds, World

from snakevisor.abi.errno import SyscallError
from snakevisor.sentry.vfs.inode import Inode
from snakevisor.sentry.vfs.pathops import mkdir_path, open_path, symlink_path
from snakevisor.sentry.vfs.resolve import ResolveContext, _fast_walk, _Walker, resolve, resolve_parent

PATHS = [b"/", b"//", b"/tmp", b"/tmp/", b"/tmp/f", b"/tmp/f/", b"/tmp//d///g", b"tmp/f", b"f", b"d/g",
         b"/tmp/ld", b"/tmp/ld/", b"/tmp/ld/g", b"/tmp/lf", b"/tmp/lf/", b"/tmp/dangling", b"/tmp/loop",
         b"/tmp/./f", b"/tmp/d/../f", b"/..", b"/tmp/private", b"/tmp/private/h", b"/tmp/open/h",
         b"/tmp/missing", b"/tmp/missing/x", b"/tmp/" + b"n" * 256, b"/dev/shm", b"/dev/shm/s",
         b"/tmp/f/x", b"/tmp/d/g/"]


class Untrusting(Inode):
    """A class that keeps its own revalidate_child (procfs, devpts and gofer do)."""

    def revalidate_child(self, name, child):
        return False


@pytest.fixture
def tree():
    w = World()
    ctx = w.ctx
    for d in (b"/tmp/d", b"/tmp/private", b"/tmp/open"):
        mkdir_path(ctx, w.vfs.root, d, 0o755)
    for f in (b"/tmp/f", b"/tmp/d/g", b"/tmp/private/h", b"/tmp/open/h", b"/dev/shm/s"):
        open_path(ctx, w.vfs.root, f, 0o100, 0o644).dec_ref()   # O_CREAT
    w.lookup(b"/tmp/private").dentry.inode.mode = 0o40700   # not searchable by others
    w.lookup(b"/tmp/open").dentry.inode.mode = 0o40711      # searchable, but not by every class alike
    w.lookup(b"/tmp/open").dentry.inode.uid = 1000
    for link, target in ((b"/tmp/ld", b"d"), (b"/tmp/lf", b"/tmp/f"), (b"/tmp/dangling", b"nowhere"),
                         (b"/tmp/loop", b"loop")):
        symlink_path(ctx, w.vfs.root, link, target)
    for p in PATHS:   # fill the dentry cache as far as each path goes
        try:
            w.lookup(p)
        except SyscallError:
            pass
    yield w
    w.mf.close()


def _outcome(fn, *args):
    try:
        vd = fn(*args)
    except SyscallError as e:
        return ("errno", e.errno)
    return ("file", vd.mount, vd.dentry)


@pytest.mark.parametrize("uid", [0, 1000, 2000])
def test_fast_path_agrees_with_the_full_walk(tree, uid):
    w = tree
    cwd = w.lookup(b"/tmp")
    ctx = ResolveContext(w.vfs.root, creds=Creds(uid=uid, gid=uid))
    answered = 0
    for path, follow, want_dir in itertools.product(PATHS, (True, False), (True, False)):
        full = _outcome(lambda: _Walker(ctx).walk(cwd, path, follow, want_dir))
        assert _outcome(resolve, ctx, cwd, path, follow, want_dir) == full, path
        fast = _fast_walk(ctx, cwd, path, follow, want_dir)
        if fast is not None:
            answered += 1
            assert ("file", fast.mount, fast.dentry) == full, path
    assert answered > 20   # the fast path is taken for the plain paths


def test_fast_path_declines_what_it_may_not_answer(tree):
    w = tree
    root = ResolveContext(w.vfs.root)
    other = ResolveContext(w.vfs.root, creds=Creds(uid=2000, gid=2000))
    cwd = w.lookup(b"/tmp")
    for path in (b"/tmp/ld/g", b"/tmp/d/../f", b"/tmp/./f", b"/tmp/missing", b"/tmp/" + b"n" * 256, b"/tmp/lf/"):
        assert _fast_walk(root, cwd, path, False, False) is None, path
    assert _fast_walk(other, cwd, b"/tmp/private/h", True, False) is None
    assert _fast_walk(root, cwd, b"/tmp/lf", False, False).dentry is w.lookup(b"/tmp/lf", False).dentry
    assert _fast_walk(root, cwd, b"/dev/shm/s", True, False).mount is w.lookup(b"/dev/shm").mount
    parent, last, _ = resolve_parent(root, cwd, b"/tmp/d/new")
    assert (parent.dentry, last) == (w.lookup(b"/tmp/d").dentry, b"new")


def test_untrusting_directories_are_asked_each_time(tree):
    assert Inode.trusts_cached_children and not Untrusting.trusts_cached_children
    d = tree.lookup(b"/tmp/d").dentry
    ctx = ResolveContext(tree.vfs.root)
    assert _fast_walk(ctx, tree.vfs.root, b"/tmp/d/g", True, False) is not None
    tmpfs_dir = type(d.inode)
    d.inode.__class__ = type("UntrustingDir", (Untrusting, tmpfs_dir), {})
    try:
        assert _fast_walk(ctx, tree.vfs.root, b"/tmp/d/g", True, False) is None
    finally:
        d.inode.__class__ = tmpfs_dir
