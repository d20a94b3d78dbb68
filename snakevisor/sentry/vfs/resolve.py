"""Path resolution: from a starting VirtualDentry and a path to a VirtualDentry.

Handles absolute and relative paths, repeated slashes, ".", ".." (clamped at
the context root, and leaving a mount's root for its mountpoint), mount
crossings, symlinks in the middle and (optionally) at the end, magic links
(procfs), a limit of 40 symlinks per resolution (ELOOP), ENAMETOOLONG,
ENOTDIR and trailing-slash rules, and search (x) permission on each directory
walked through. ``path_of`` goes the other way, for getcwd and /proc links; ``display_path`` and
``mangle`` are how /proc prints such a path.
"""
import itertools

from snakevisor.abi.errno import ELOOP, ENAMETOOLONG, ENOENT, ENOTDIR, EXDEV, SyscallError
from snakevisor.abi.fs import (NAME_MAX, PATH_MAX, RESOLVE_BENEATH, RESOLVE_IN_ROOT, RESOLVE_NO_MAGICLINKS,
                               RESOLVE_NO_SYMLINKS, RESOLVE_NO_XDEV, S_IFDIR, S_IFLNK, S_IFMT, SYMLOOP_MAX)
from snakevisor.sentry.vfs.mount import VirtualDentry
from snakevisor.sentry.vfs.permissions import MAY_EXEC, check_permission


_EPOCHS = itertools.count(1)
# Path resolutions begun (resolve, resolve_parent): a filesystem told of host changes asynchronously
# takes them in once per walk (fsimpl/gofer/notify.py).
walks = 0
MAX_BATCH = 16   # names per batched revalidation (9P's MAXWELEM)


class ResolveContext:
    """What resolution needs from the caller: the root ("/" and the ".." clamp), the Task the walk
    is done for (procfs's /proc/self and magic links see it; None: the Sentry itself) and
    credentials (None: the kernel itself, i.e. root).
    ``rflags`` are openat2's RESOLVE_* restrictions, relative to ``start`` (the dirfd): for
    RESOLVE_IN_ROOT the caller makes ``start`` the root as well."""

    __slots__ = ("root", "task", "creds", "rflags", "start")

    def __init__(self, root: VirtualDentry, task=None, creds=None, rflags=0, start=None):
        self.root = root
        self.task = task
        self.creds = creds
        self.rflags = rflags
        self.start = start

    @classmethod
    def for_task(cls, t) -> "ResolveContext":
        return cls(t.fs.root, t, getattr(t, "creds", None))


def check_path(path: bytes) -> None:
    if not path:
        raise SyscallError(ENOENT)
    if len(path) >= PATH_MAX:
        raise SyscallError(ENAMETOOLONG)


def lookup_child(ctx, parent: VirtualDentry, name: bytes, follow_mounts: bool = True,
                 epoch: int = 0) -> VirtualDentry:
    """One normal component (not "." or "..") below a directory, crossing into mounts. ``epoch``:
    the resolution whose batched revalidation may already have vouched for the cached child."""
    if len(name) > NAME_MAX:
        raise SyscallError(ENAMETOOLONG)
    child = parent.dentry.child(name, epoch)
    vd = VirtualDentry(parent.mount, child)
    if follow_mounts and child.mount_count and parent.mount.vfs is not None:
        vd = parent.mount.vfs.follow_mounts(vd)
    return vd


def lookup_child_or_none(ctx, parent: VirtualDentry, name: bytes, follow_mounts: bool = True):
    try:
        return lookup_child(ctx, parent, name, follow_mounts)
    except SyscallError as e:
        if e.errno == ENOENT:
            return None
        raise


def dotdot(ctx, vd: VirtualDentry) -> VirtualDentry:
    """The parent of ``vd``: stays at the context root, leaves mount roots through their mountpoint."""
    while True:
        if vd == ctx.root:
            return vd
        if vd.dentry is vd.mount.root:
            if vd.mount.parent is None:
                return vd
            vd = VirtualDentry(vd.mount.parent, vd.mount.mountpoint)
            continue
        break
    parent = vd.dentry.parent
    if parent is None:
        return vd
    return VirtualDentry(vd.mount, parent)


class _Walker:
    """One resolution: counts symlinks followed across nested link bodies."""

    def __init__(self, ctx):
        self.ctx = ctx
        self.links = 0
        self.epoch = next(_EPOCHS)   # marks the cached dentries a batched revalidation vouched for

    def walk(self, start: VirtualDentry, path: bytes, follow_final: bool, want_dir: bool) -> VirtualDentry:
        rflags = self.ctx.rflags
        if path[:1] == b"/":
            if rflags & RESOLVE_BENEATH:
                raise SyscallError(EXDEV)   # an absolute path (or symlink) leaves the dirfd
            if rflags & RESOLVE_NO_XDEV and self.ctx.root.mount is not start.mount:
                raise SyscallError(EXDEV)
            vd = self.ctx.root
        else:
            vd = start
        comps = [c for c in path.split(b"/") if c]
        trailing = path.endswith(b"/")
        last = len(comps) - 1
        creds = self.ctx.creds
        for i, c in enumerate(comps):
            inode = vd.dentry.inode
            if inode is None or not inode.is_dir:
                raise SyscallError(ENOTDIR)
            check_permission(creds, inode, MAY_EXEC)
            if c == b".":
                continue
            if c == b"..":
                up = dotdot(self.ctx, vd)
                if rflags and (rflags & RESOLVE_BENEATH and vd == self.ctx.start
                               or rflags & RESOLVE_NO_XDEV and up.mount is not vd.mount):
                    raise SyscallError(EXDEV)
                vd = up
                continue
            self._revalidate_ahead(vd.dentry, comps, i)
            nxt = lookup_child(self.ctx, vd, c, epoch=self.epoch)
            if rflags & RESOLVE_NO_XDEV and nxt.mount is not vd.mount:
                raise SyscallError(EXDEV)
            if nxt.dentry.inode.is_symlink and (i != last or follow_final or trailing):
                if rflags & RESOLVE_NO_SYMLINKS:
                    raise SyscallError(ELOOP)
                nxt = self.follow(vd, nxt)
            vd = nxt
        if (want_dir or trailing) and not vd.dentry.inode.is_dir:
            raise SyscallError(ENOTDIR)
        return vd

    def _revalidate_ahead(self, parent, comps, i):
        """Filesystems that revalidate cached names with a round trip each (a shared gofer
        mount) check the run of cached dentries the path goes through next in one batch
        (``Inode.revalidate_chain``): one message for /vol/a/b/c instead of three."""
        if not parent.inode.fs.revalidates:
            return
        batch = parent.inode.revalidate_chain
        epoch = self.epoch
        chain, d = [], parent
        for c in comps[i:i + MAX_BATCH]:
            if c in (b".", b".."):
                break
            d = d.children.get(c)
            if d is None or d.mount_count or d.vouched == epoch:
                break
            chain.append(d)
            if d.inode.is_symlink or not d.inode.is_dir:
                break
        if len(chain) > 1:
            for d in chain[:batch([(d.name, d.inode) for d in chain])]:
                d.vouched = epoch

    def follow(self, parent: VirtualDentry, link: VirtualDentry) -> VirtualDentry:
        self.links += 1
        if self.links > SYMLOOP_MAX:
            raise SyscallError(ELOOP)
        inode = link.dentry.inode
        target = inode.resolve_link(self.ctx.task)
        if target is not None:
            rflags = self.ctx.rflags
            if rflags & (RESOLVE_NO_MAGICLINKS | RESOLVE_NO_SYMLINKS):
                raise SyscallError(ELOOP)
            if rflags & (RESOLVE_BENEATH | RESOLVE_IN_ROOT):
                raise SyscallError(EXDEV)   # a scoped lookup may not jump through a magic link
            return target
        text = inode.readlink(self.ctx.task)
        if not text:
            raise SyscallError(ENOENT)
        check_path(text)
        return self.walk(parent, text, True, False)


_DOTS = frozenset((b".", b".."))
_new_tuple = tuple.__new__


def _fast_walk(ctx, start: VirtualDentry, path: bytes, follow_final: bool, want_dir: bool):
    """The common walk without building a VirtualDentry per step: only cached children of
    directories searchable by everyone (or by ``ctx.creds``), no ".", "..", symlink to follow,
    RESOLVE_* flag or revalidating filesystem. Anything else (errors included) returns None and
    the caller walks again with _Walker, which then gives the same answer and errno: nothing
    here has a side effect."""
    if ctx.rflags:
        return None
    mount, d = ctx.root if path[:1] == b"/" else start
    creds = ctx.creds
    comps = path.split(b"/")
    last = len(comps) - 1
    while last > 0 and not comps[last]:   # a trailing slash: the file must be a directory (not a link)
        last -= 1
        want_dir = True
    for i, c in enumerate(comps):
        if not c:
            continue
        inode = d.inode
        mode = inode.mode
        # (A name past NAME_MAX is never cached: the miss below sends it to _Walker's ENAMETOOLONG.)
        if mode & S_IFMT != S_IFDIR or c in _DOTS or inode.fs.revalidates:
            return None
        # Search permission: granted when every class has x (0755, 1777), else the full check.
        if mode & 0o111 != 0o111 and creds is not None:
            try:
                check_permission(creds, inode, MAY_EXEC)
            except SyscallError:
                return None
        child = d.children.get(c)
        if child is None or not (inode.trusts_cached_children or child.mount_count
                                 or inode.revalidate_child(c, child.inode)):
            return None   # a lookup or a stale entry: Dentry.child does it
        d = child
        if child.mount_count and mount.vfs is not None:
            # VirtualFilesystem.follow_mounts inlined: a plain (mount, dentry) tuple is an equal key.
            covering = mount.vfs.covering
            while d.mount_count:
                m = covering.get((mount, d))
                if m is None:
                    break
                mount, d = m, m.root
        if d.inode.mode & S_IFMT == S_IFLNK and (i < last or follow_final):
            return None
    if want_dir and d.inode.mode & S_IFMT != S_IFDIR:
        return None
    return _new_tuple(VirtualDentry, (mount, d))   # NamedTuple's __new__ without its Python frame


def resolve(ctx, start: VirtualDentry, path: bytes, follow_final: bool = True,
            want_dir: bool = False) -> VirtualDentry:
    """The file ``path`` names, relative to ``start`` unless absolute. Empty path: ENOENT."""
    global walks
    walks += 1
    if not path or len(path) >= PATH_MAX:
        check_path(path)   # raises its errno
    # Most paths name cached files through plain directories: no _Walker, no per-step objects.
    return (_fast_walk(ctx, start, path, follow_final, want_dir)
            or _Walker(ctx).walk(start, path, follow_final, want_dir))


def split_last(path: bytes) -> tuple[bytes, bytes, bool]:
    """(directory part, last component, trailing slash). Only slashes: last is b""."""
    stripped = path.rstrip(b"/")
    trailing = len(stripped) != len(path)
    if not stripped:
        return b"/", b"", trailing
    idx = stripped.rfind(b"/")
    if idx < 0:
        return b"", stripped, trailing
    return stripped[:idx + 1], stripped[idx + 1:], trailing


def resolve_parent(ctx, start: VirtualDentry, path: bytes) -> tuple[VirtualDentry, bytes, bool]:
    """For create/unlink/rename/mkdir: (parent directory, last component, trailing slash).

    ``last`` is returned as written: it may be "." or "..", and it is b"" for a path made
    only of slashes (the root); each operation answers those with its own errno.
    The parent has been checked to be a searchable directory.
    """
    global walks
    walks += 1
    check_path(path)
    dirpart, last, trailing = split_last(path)
    if len(last) > NAME_MAX:
        raise SyscallError(ENAMETOOLONG)
    parent = ((_fast_walk(ctx, start, dirpart, True, True) or _Walker(ctx).walk(start, dirpart, True, True))
              if dirpart else start)
    inode = parent.dentry.inode
    if inode is None or not inode.is_dir:
        raise SyscallError(ENOTDIR)
    check_permission(ctx.creds, inode, MAY_EXEC)
    return parent, last, trailing


def path_of(vd: VirtualDentry, root: VirtualDentry) -> bytes:
    """The absolute path of ``vd`` as seen from ``root`` (getcwd, /proc/self/fd/N, /proc/mounts).

    Files of anonymous mounts (pipes, sockets, host files) have no path: their Dentry's name.
    """
    if vd.mount.anonymous:
        return vd.dentry.name
    parts = []
    while vd != root:
        if vd.dentry is vd.mount.root:
            if vd.mount.parent is None:
                break
            vd = VirtualDentry(vd.mount.parent, vd.mount.mountpoint)
            continue
        parts.append(vd.dentry.name)
        if vd.dentry.parent is None:
            break
        vd = VirtualDentry(vd.mount, vd.dentry.parent)
    return b"/" + b"/".join(reversed(parts))


def display_path(vd: VirtualDentry, root: VirtualDentry) -> bytes:
    """``vd``'s path as Linux's d_path gives it to /proc's links and maps: an unlinked file's ends
    in " (deleted)"; a file of an anonymous mount shows its Dentry's name."""
    path = path_of(vd, root)
    if vd.dentry.dead and not vd.mount.anonymous:
        path += b" (deleted)"
    return path


def mangle(path: bytes, special: bytes = b" \t\n\\") -> str:
    """``path`` as /proc prints it (Linux's mangle_path): each byte of ``special`` as a backslash
    and three octal digits, the others as they are. The str keeps bytes that are not UTF-8 as
    surrogates (procfs encodes it back with surrogateescape, so they reach the reader unchanged)."""
    if any(c in special for c in path):
        path = b"".join(b"\\%03o" % c if c in special else bytes((c,)) for c in path)
    return path.decode("utf-8", "surrogateescape")


def is_reachable(vd: VirtualDentry, root: VirtualDentry) -> bool:
    """Is ``vd`` at or below ``root``? (getcwd outside a chroot reports "(unreachable)".)"""
    while vd != root:
        if vd.dentry is vd.mount.root:
            if vd.mount.parent is None:
                return False
            vd = VirtualDentry(vd.mount.parent, vd.mount.mountpoint)
            continue
        if vd.dentry.parent is None:
            return False
        vd = VirtualDentry(vd.mount, vd.dentry.parent)
    return True
