"""inotify_init, inotify_init1, inotify_add_watch, inotify_rm_watch (fsimpl/inotify.py holds the instance)."""
from snakevisor.abi import inotify as N
from snakevisor.abi.errno import EINVAL, ENOTDIR, SyscallError
from snakevisor.abi.fs import AT_FDCWD, to_s32
from snakevisor.sentry.fsimpl.inotify import InotifyImpl, new_inotify
from snakevisor.sentry.vfs.at import read_path, resolve_at
from snakevisor.sentry.vfs.permissions import MAY_READ, check_permission
from snakevisor.sentry.syscalls.newfd import install_new


def _init(t, flags):
    if flags & ~(N.IN_CLOEXEC | N.IN_NONBLOCK):
        raise SyscallError(EINVAL)
    f = new_inotify(t.creds.uid, bool(flags & N.IN_NONBLOCK))
    return install_new(t, f, bool(flags & N.IN_CLOEXEC))


def inotify_init(t):
    return _init(t, 0)


def inotify_init1(t, flags):
    return _init(t, to_s32(flags))


def _instance(t, fd):
    impl = t.fdtable.get(to_s32(fd)).impl
    if not isinstance(impl, InotifyImpl):
        raise SyscallError(EINVAL)
    return impl


def inotify_add_watch(t, fd, path, mask):
    mask &= 0xFFFFFFFF
    if not mask & N.ALL_INOTIFY_BITS or mask & ~N.ALL_INOTIFY_BITS:
        raise SyscallError(EINVAL)
    t.fdtable.get(to_s32(fd))    # EBADF before the mask's own rule
    if mask & N.IN_MASK_ADD and mask & N.IN_MASK_CREATE:
        raise SyscallError(EINVAL)
    instance = _instance(t, fd)
    vd = resolve_at(t, AT_FDCWD, read_path(t, path), follow=not mask & N.IN_DONT_FOLLOW,
                    want_dir=bool(mask & N.IN_ONLYDIR))
    inode = vd.dentry.inode
    if mask & N.IN_ONLYDIR and not inode.is_dir:
        raise SyscallError(ENOTDIR)
    check_permission(t.creds, inode, MAY_READ)
    return instance.add_watch(inode, mask)


def inotify_rm_watch(t, fd, wd):
    _instance(t, fd).rm_watch(to_s32(wd))
    return 0
