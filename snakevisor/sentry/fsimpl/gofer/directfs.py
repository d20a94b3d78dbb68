"""directfs (runsc's ``--directfs``): the Sentry's own host calls on Gofer files, relative to
O_PATH descriptors the Gofer donates.

With ``GoferFilesystem.directfs`` each inode may hold a ``HostPath``: the O_PATH|O_NOFOLLOW
descriptor of its file in the Gofer's isolated view, donated with a Twalkfd (the snakevisor
dialect). The descriptors are handles of the Sentry-wide LRU (handles.py's OPEN_HANDLES): an
evicted one is fetched again (a Twalkfd of no names from the inode's fid) on its next use, and
any failure to get one falls back to 9P.

What the Sentry does itself, every call relative to a donated descriptor, one component at a
time, never following a symlink, never from its own root (which is empty) nor with "..":

- revalidation of cached names on shared mounts: ``fstatat(dirfd, name, AT_SYMLINK_NOFOLLOW)``
  per component, compared with the cached inode's host identity (device, inode number): a
  host-side change is seen within the same syscall, with no 9P message. Names of a directory
  the Gofer watches are checked only once after an inotify event named them (notify.py);
- attributes: ``fstat`` of the inode's O_PATH descriptor;
- negative lookups: an ``fstatat`` (a positive one still walks a fid with Twalkfd: the inode's
  fid serves everything that stays on 9P);
- readlink: ``readlinkat(fd, "")``;
- the first read-only open of a regular file: ``openat(dirfd, name, O_RDONLY|O_NOFOLLOW)`` from
  the directory it was looked up in, kept only if it is still that file;
- directory listings of shared mounts: ``getdents64`` on ``openat(dirfd, ".",
  O_RDONLY|O_DIRECTORY|O_NOFOLLOW)``.

Creation, removal, renames, setattr and xattrs stay on 9P (the Gofer's), as does opening a
regular file for writing (the Gofer donates that descriptor; an idle file keeps it).
"""
import os
import stat as st_mod

from snakevisor.abi.errno import EIO, ENOENT, ENOTDIR, SyscallError
from snakevisor.abi.fs import S_IFMT
from snakevisor.hostio import birth_time_ns
from snakevisor.p9.client import Attr
from snakevisor.sentry.fsimpl.gofer.handles import OPEN_HANDLES

# Every open the Sentry does here: read-only, O_NOFOLLOW, no O_CREAT (the seccomp filter insists:
# sandbox/lockdown.py's DIRECTFS_ARG_RULES). A file is opened non-blocking: should a host process
# have put a FIFO in its place, the open returns (and the identity check refuses it).
_OPEN_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_OPEN_READ = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK | os.O_NOCTTY


_NOT_PLAIN = frozenset((b"", b".", b".."))


def _component(name):
    """Is ``name`` one plain component (never "." nor "..", no "/")? Others are never asked of
    the host here (the VFS resolves them; this is belt and braces)."""
    return name not in _NOT_PLAIN and b"/" not in name


def _host(fn, *args, **kwargs):
    try:
        return fn(*args, **kwargs)
    except OSError as e:
        raise SyscallError(e.errno or EIO) from None


class HostPath:
    """One inode's donated O_PATH descriptor, a handle of OPEN_HANDLES (closed when evicted,
    fetched again on its next use); ``ident`` is the file's host (device, inode number)."""

    __slots__ = ("inode", "fd", "ident")

    def __init__(self, inode, fd=None, ident=None):
        self.inode, self.fd, self.ident = inode, fd, ident
        if fd is not None:
            OPEN_HANDLES.used(self)

    def get(self):
        """The descriptor (fetched from the Gofer if evicted), or None: use 9P."""
        if self.fd is None:
            try:
                fid, fd, wd = self.inode.fid.walk_fd([])
                fid.clunk(wait=False)
            except SyscallError:
                return None
            if fd is None:
                return None
            try:
                st = os.fstat(fd)
            except OSError:
                os.close(fd)
                return None
            if self.ident is not None and (st.st_dev, st.st_ino) != self.ident:
                os.close(fd)   # cannot be (a fid is its file), but never trust a mix-up
                return None
            self.fd, self.ident = fd, (st.st_dev, st.st_ino)
            watched(self.inode, wd)
        OPEN_HANDLES.used(self)
        return self.fd

    def close_host(self):
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None

    def close(self):
        OPEN_HANDLES.forget(self)
        self.close_host()


def path_fd(inode):
    """``inode``'s donated O_PATH descriptor, or None (directfs off, or not to be had)."""
    hp = inode.hostpath
    if hp is not None and hp.fd is not None:   # the common case, first
        OPEN_HANDLES.used(hp)
        return hp.fd
    if not inode.fs.directfs or inode.fid is None:
        return None
    if hp is None:
        hp = inode.hostpath = HostPath(inode)
    return hp.get()


def probe(root):
    """Does the Gofer donate descriptors (started with --directfs)? The mount's ``root`` then
    holds its own."""
    hp = root.hostpath = HostPath(root)
    return hp.get() is not None


def watched(inode, wd):
    """The Gofer watches ``inode``'s directory as ``wd`` (0: not): its notifier is told."""
    notifier = inode.fs.notifier
    if notifier is not None and inode.is_dir:
        notifier.watched(inode, wd)


def adopt(inode, fd, st, wd=0):
    """``inode`` (just looked up) takes the descriptor ``fd`` of its file, of stat ``st`` (and
    ``wd``, the Gofer's watch on it)."""
    watched(inode, wd)
    hp, ident = inode.hostpath, (st.st_dev, st.st_ino)
    if hp is not None and hp.fd is not None and hp.ident == ident:
        os.close(fd)   # it has one already (another name of a hard-linked file)
        return
    if hp is not None:
        hp.close()     # evicted, or of a file gone whose inode number the host gave this one
    inode.hostpath = HostPath(inode, fd, ident)


def attr_of(st, qid, fd):
    """A 9P Attr from the host's stat ``st`` of descriptor ``fd`` (the birth time from statx)."""
    return Attr(0, qid, st.st_mode, st.st_uid, st.st_gid, st.st_nlink, st.st_rdev, st.st_size, st.st_blksize,
                st.st_blocks, st.st_atime_ns, st.st_mtime_ns, st.st_ctime_ns, birth_time_ns(fd))


def fstat(inode):
    """The host's stat of ``inode``'s file, or None (no descriptor)."""
    fd = path_fd(inode)
    return None if fd is None else _host(os.stat, fd)


def absent(directory, name):
    """Does the host say ``name`` is not in ``directory`` (an fstatat: no 9P message)? False
    when it is there or we cannot tell (EACCES: the Gofer may search where the Sentry may not)."""
    fd = path_fd(directory) if _component(name) else None
    if fd is None:
        return False
    try:
        os.stat(name, dir_fd=fd, follow_symlinks=False)
    except FileNotFoundError:
        return True
    except OSError:
        return False
    return False


def lookup(directory, name):
    """Walk ``name`` with Twalkfd: (fid, descriptor, its stat, watch), or (fid, None, None, 0) if
    the walk donated no descriptor (the caller then has the fid's attributes fetched over 9P)."""
    fid, fd, wd = directory.fid.walk_fd([name])
    if fd is None:
        return fid, None, None, 0
    try:
        st = os.fstat(fd)
    except OSError as e:
        os.close(fd)
        fid.clunk(wait=False)
        raise SyscallError(e.errno or EIO) from None
    return fid, fd, st, wd


def check_child(directory, name, child):
    """Shared mounts: is ``name`` in ``directory`` still ``child``'s file (one host fstatat; its
    attributes are then refreshed)? None: cannot tell here, ask the Gofer. Once per component of
    every walk on a volume, so path_fd's common case is inline."""
    hp = child.hostpath   # only its identity is needed here, which outlives an evicted descriptor
    if hp is None or hp.ident is None:
        if path_fd(child) is None:   # (a file we made over 9P gets its descriptor once)
            return None
        hp = child.hostpath
    if name in _NOT_PLAIN or b"/" in name:
        return None
    dhp = directory.hostpath
    if dhp is not None and dhp.fd is not None:
        fd = dhp.fd
        OPEN_HANDLES.used(dhp)
    else:
        fd = path_fd(directory)
        if fd is None:
            return None
    try:
        st = os.stat(name, dir_fd=fd, follow_symlinks=False)
    except OSError as e:
        # Gone; else (EACCES: the Gofer may search where the Sentry, without capabilities, may not) ask the Gofer.
        return False if e.errno in (ENOENT, ENOTDIR) else None
    if st.st_ino != hp.ident[1] or st.st_dev != hp.ident[0] or (st.st_mode ^ child.mode) & S_IFMT:
        return False
    child.refresh_host(st)
    return True


def open_read(inode):
    """A read-only host descriptor of regular file ``inode``, opened from the directory it was
    looked up in (``inode.origin``), or None (no origin, or the name is now another file)."""
    if inode.origin is None or inode.hostpath is None or inode.hostpath.ident is None:
        return None
    directory, name = inode.origin
    dirfd = path_fd(directory) if _component(name) else None
    if dirfd is None:
        return None
    try:
        # Looked at first: a name a host process made a device node is never opened.
        st = os.stat(name, dir_fd=dirfd, follow_symlinks=False)
        if (st.st_dev, st.st_ino) != inode.hostpath.ident or not st_mod.S_ISREG(st.st_mode):
            return None
        fd = os.open(name, _OPEN_READ, dir_fd=dirfd)
    except OSError:
        return None
    try:
        st = os.fstat(fd)
        if (st.st_dev, st.st_ino) == inode.hostpath.ident:
            return fd
    except OSError:
        pass
    os.close(fd)
    return None


def readlink(inode):
    """The symlink's target by readlinkat(fd, ""), or None (no descriptor)."""
    fd = path_fd(inode)
    return None if fd is None else _host(os.readlink, b"", dir_fd=fd)


def listdir(directory):
    """[(name, inode number, DT_*)] by getdents64 on the directory reopened through ".", or None
    (no descriptor; or an exclusive mount, whose inode numbers are the Gofer's qids: an overlay's
    layers are several devices)."""
    if directory.fs.exclusive:
        return None
    fd = path_fd(directory)
    if fd is None or directory.hostpath.ident[0] != _root_dev(directory.fs):
        return None
    try:
        dfd = os.open(".", _OPEN_DIR, dir_fd=fd)
    except OSError:
        return None   # (EACCES: the Gofer may read it where the Sentry may not) a Treaddir then
    try:
        with os.scandir(dfd) as it:
            return [(os.fsencode(e.name), e.inode(), _dtype(e)) for e in it]
    except OSError as e:
        raise SyscallError(e.errno or EIO) from None
    finally:
        os.close(dfd)


def _root_dev(fs):
    root = fs.root.inode
    return root.hostpath.ident[0] if path_fd(root) is not None else None


def _dtype(entry):
    if entry.is_symlink():
        return 10
    if entry.is_dir(follow_symlinks=False):
        return 4
    if entry.is_file(follow_symlinks=False):
        return 8
    return st_mod.S_IFMT(entry.stat(follow_symlinks=False).st_mode) >> 12   # FIFO, socket, device
