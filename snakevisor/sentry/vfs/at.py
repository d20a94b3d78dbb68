"""The *at(2) conventions for a Task: reading path arguments and resolving against a dirfd.

Shared by the fs and file syscalls and by the kernel's own path-taking
syscalls (execveat, inotify, ...). ``dirfd`` is the raw register value.
"""
from snakevisor.abi.errno import EBADF, ENOENT, ENOTDIR, SyscallError
from snakevisor.abi.fs import AT_EMPTY_PATH, AT_FDCWD, PATH_MAX, to_s32
from snakevisor.sentry.vfs.resolve import ResolveContext, resolve


def task_ctx(t) -> ResolveContext:
    return ResolveContext(t.fs.root, t, getattr(t, "creds", None))   # for_task's, a call less per path


def read_path(t, addr: int) -> bytes:
    """A path argument: EFAULT for a bad pointer, ENAMETOOLONG past PATH_MAX-1 bytes."""
    return t.mm.read_cstring(addr, PATH_MAX - 1)


def at_start(t, dirfd: int, path: bytes):
    """Where a relative ``path`` starts: the cwd for AT_FDCWD, else the directory ``dirfd`` names."""
    if path[:1] == b"/":
        return t.fs.root
    fd = to_s32(dirfd)
    if fd == AT_FDCWD:
        return t.fs.cwd
    if fd < 0:
        raise SyscallError(EBADF)
    f = t.fdtable.get(fd)
    if not path:
        return f.vd
    inode = f.vd.dentry.inode
    if inode is None or not inode.is_dir:
        raise SyscallError(ENOTDIR)
    return f.vd


def resolve_at(t, dirfd: int, path: bytes, flags: int = 0, follow: bool = True, want_dir: bool = False,
               allow_empty: bool = False):
    """Resolve ``path`` for an *at syscall. An empty path with AT_EMPTY_PATH (or ``allow_empty``)
    names ``dirfd`` itself (any file type, O_PATH descriptions included); otherwise ENOENT."""
    if not path:
        if not (flags & AT_EMPTY_PATH or allow_empty):
            raise SyscallError(ENOENT)
        fd = to_s32(dirfd)
        if fd == AT_FDCWD:
            return t.fs.cwd
        return t.fdtable.get(fd).vd
    # An absolute path (most) starts at the root: at_start's answer without the call.
    start = t.fs.root if path[:1] == b"/" else at_start(t, dirfd, path)
    return resolve(task_ctx(t), start, path, follow, want_dir)
