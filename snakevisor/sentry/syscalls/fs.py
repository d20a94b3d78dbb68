"""Path-based filesystem syscalls: open, stat, access, readlink, cwd/root, mkdir, unlink, rename, link, ...

Each handler reads its path arguments (EFAULT, ENAMETOOLONG), validates flags
in the order Linux does, resolves against the dirfd or cwd (vfs/at.py), and
calls the VFS operation (vfs/pathops.py) that applies the generic rules.
"""
import struct

from snakevisor.abi.capability import CAP_MKNOD, CAP_SYS_CHROOT
from snakevisor.abi.errno import E2BIG, EAGAIN, EFAULT, EINVAL, ENOENT, ENOTDIR, EOPNOTSUPP, EPERM, ERANGE, SyscallError
from snakevisor.abi.fs import (AT_EACCESS, AT_EMPTY_PATH, AT_FDCWD, AT_NO_AUTOMOUNT, AT_REMOVEDIR,
                               AT_STATX_SYNC_TYPE, AT_SYMLINK_FOLLOW, AT_SYMLINK_NOFOLLOW, O_CLOEXEC, O_CREAT,
                               O_TRUNC, O_WRONLY, RENAME_EXCHANGE, RENAME_NOREPLACE, RENAME_WHITEOUT,
                               S_IFBLK, S_IFCHR, S_IFDIR, S_IFIFO, S_IFMT, S_IFREG, S_IFSOCK, STATX__RESERVED,
                               STATX_BASIC_STATS, STATX_MNT_ID, TIMESPEC, TIMEVAL, UTIMBUF, UTIME_NOW, UTIME_OMIT,
                               WHITEOUT_DEV, makedev, pack_stat, pack_statx, to_s32, to_s64, to_u32)
from snakevisor.abi.fs import (O_PATH, O_PATH_KEEP, OPEN_HOW_SIZE_VER0, RESOLVE_ALL, RESOLVE_BENEATH, RESOLVE_CACHED,
                               RESOLVE_IN_ROOT, VALID_OPEN_FLAGS, __O_TMPFILE)
from snakevisor.sentry.syscalls.file import id_arg, statfs_of
from snakevisor.sentry.syscalls.fsize import check_new_size
from snakevisor.sentry.vfs.at import at_start, read_path, resolve_at, task_ctx
from snakevisor.sentry.vfs.inode import now_ns
from snakevisor.sentry.vfs.pathops import (access_vd, check_writable_mount, chmod_vd, chown_vd, link_path,
                                           mkdir_path, mknod_path, open_path, rename_path, rmdir_path, symlink_path, truncate_vd,
                                           unlink_path, utimes_vd)
from snakevisor.sentry.vfs.permissions import MAY_EXEC, capable, check_permission
from snakevisor.sentry.vfs.resolve import ResolveContext, is_reachable, path_of
from snakevisor.sentry.kernel.userns import stat_view
from snakevisor.sentry.syscalls.newfd import install_new
from snakevisor.sentry.vfs.leases import retrying

FDCWD = AT_FDCWD & 0xFFFFFFFFFFFFFFFF


# --- open ---------------------------------------------------------------------------------------


def do_open(t, dirfd, path: bytes, flags: int, mode: int, ctx=None, start=None, may_wait=True):
    """The new descriptor; or, for an open that must wait (a FIFO's, unless not ``may_wait``:
    io_uring, which never waits, leaves the wait to the first read or write), a generator."""
    if not path:
        raise SyscallError(ENOENT)
    if start is None:   # an absolute path (most) starts at the root: at_start's answer without the call
        start = t.fs.root if path[:1] == b"/" else at_start(t, dirfd, path)
    f = open_path(ctx or task_ctx(t), start, path, flags, mode & 0o7777, t.fs.umask)
    if f.impl.open_waiting is not None and may_wait:
        return _install_after(t, f, flags)
    return install_new(t, f, bool(flags & O_CLOEXEC))


def _install_after(t, f, flags):
    """A blocking open that must wait (a FIFO for its partner): the descriptor once it has;
    interrupted, the open file is dropped."""
    try:
        yield from f.impl.open_waiting(t)
    except BaseException:
        f.dec_ref()
        raise
    return install_new(t, f, bool(flags & O_CLOEXEC))


def openat(t, dirfd, path, flags, mode):
    # to_u32 inline: openat is among the commonest syscalls. A lease break returns a generator that waits.
    return retrying(t, do_open, t, dirfd, read_path(t, path), flags & 0xFFFFFFFF, mode & 0xFFFFFFFF)


OPEN_HOW = struct.Struct("<QQQ")


def openat2(t, dirfd, path_addr, how_addr, size):
    """openat with struct open_how: strict flags and mode, and RESOLVE_* scoping of the walk."""
    if size < OPEN_HOW_SIZE_VER0:
        raise SyscallError(EINVAL)
    if size > 4096:
        raise SyscallError(E2BIG)
    raw = t.mm.copy_in(how_addr, size)
    if any(raw[OPEN_HOW_SIZE_VER0:]):
        raise SyscallError(E2BIG)
    flags, mode, resolve = OPEN_HOW.unpack_from(raw)
    if flags & ~VALID_OPEN_FLAGS or resolve & ~RESOLVE_ALL:
        raise SyscallError(EINVAL)
    if resolve & RESOLVE_BENEATH and resolve & RESOLVE_IN_ROOT:
        raise SyscallError(EINVAL)
    creates = flags & O_CREAT or flags & __O_TMPFILE
    if (mode & ~0o7777) if creates else mode:
        raise SyscallError(EINVAL)
    if flags & O_PATH and flags & ~O_PATH_KEEP:
        raise SyscallError(EINVAL)
    if resolve & RESOLVE_CACHED and flags & (O_TRUNC | O_CREAT | __O_TMPFILE):
        raise SyscallError(EAGAIN)
    path = read_path(t, path_addr)
    fd = to_s32(dirfd)
    base = t.fs.cwd if fd == AT_FDCWD else at_start(t, dirfd, b".")
    ctx = ResolveContext(base if resolve & RESOLVE_IN_ROOT else t.fs.root, t, t.creds, resolve, base)
    return retrying(t, do_open, t, dirfd, path, flags, mode, ctx, base)


def open_(t, path, flags, mode):
    return retrying(t, do_open, t, FDCWD, read_path(t, path), to_u32(flags), to_u32(mode))


def creat(t, path, mode):
    return retrying(t, do_open, t, FDCWD, read_path(t, path), O_CREAT | O_WRONLY | O_TRUNC, to_u32(mode))


# --- stat -----------------------------------------------------------------------------------------


def _stat_vd(t, vd):
    st = vd.dentry.inode.stat()
    st.mnt_id = vd.mount.id
    return stat_view(t.creds, st)


def stat(t, path, statbuf):
    vd = resolve_at(t, FDCWD, read_path(t, path))
    t.mm.copy_out(statbuf, pack_stat(_stat_vd(t, vd)))
    return 0


def lstat(t, path, statbuf):
    vd = resolve_at(t, FDCWD, read_path(t, path), follow=False)
    t.mm.copy_out(statbuf, pack_stat(_stat_vd(t, vd)))
    return 0


def newfstatat(t, dirfd, path, statbuf, flags):
    flags = to_s32(flags)
    if flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH | AT_NO_AUTOMOUNT):
        raise SyscallError(EINVAL)
    vd = resolve_at(t, dirfd, read_path(t, path), flags, follow=not flags & AT_SYMLINK_NOFOLLOW)
    t.mm.copy_out(statbuf, pack_stat(_stat_vd(t, vd)))
    return 0


def statx(t, dirfd, path, flags, mask, buf):
    flags, mask = to_s32(flags), to_u32(mask)
    if flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH | AT_NO_AUTOMOUNT | AT_STATX_SYNC_TYPE):
        raise SyscallError(EINVAL)
    if flags & AT_STATX_SYNC_TYPE == AT_STATX_SYNC_TYPE or mask & STATX__RESERVED:
        raise SyscallError(EINVAL)
    if path == 0 and flags & AT_EMPTY_PATH:
        p = b""
    else:
        p = read_path(t, path)
    vd = resolve_at(t, dirfd, p, flags, follow=not flags & AT_SYMLINK_NOFOLLOW)
    t.mm.copy_out(buf, pack_statx(_stat_vd(t, vd), STATX_BASIC_STATS | STATX_MNT_ID))
    return 0


def statfs(t, path, buf):
    vd = resolve_at(t, FDCWD, read_path(t, path))
    t.mm.copy_out(buf, statfs_of(vd))
    return 0


# --- access -------------------------------------------------------------------------------------------


def _access(t, dirfd, path, mode, flags):
    mode = to_s32(mode)
    if mode & ~7:
        raise SyscallError(EINVAL)
    if flags & ~(AT_EACCESS | AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH):
        raise SyscallError(EINVAL)
    vd = resolve_at(t, dirfd, read_path(t, path), flags, follow=not flags & AT_SYMLINK_NOFOLLOW)
    access_vd(task_ctx(t), vd, mode, real=not flags & AT_EACCESS)
    return 0


def access(t, path, mode):
    return _access(t, FDCWD, path, mode, 0)


def faccessat(t, dirfd, path, mode):
    return _access(t, dirfd, path, mode, 0)


def faccessat2(t, dirfd, path, mode, flags):
    return _access(t, dirfd, path, mode, to_s32(flags))


# --- readlink, cwd, root, umask -----------------------------------------------------------------------


def _readlink(t, dirfd, path, buf, bufsiz):
    bufsiz = to_s32(bufsiz)
    if bufsiz <= 0:
        raise SyscallError(EINVAL)
    p = read_path(t, path)
    if not p and to_s32(dirfd) == AT_FDCWD:
        raise SyscallError(ENOENT)
    vd = resolve_at(t, dirfd, p, follow=False, allow_empty=True)
    inode = vd.dentry.inode
    if not inode.is_symlink:
        # An empty path names dirfd itself, which must then be a symlink (opened O_PATH).
        raise SyscallError(ENOENT if not p else EINVAL)
    text = inode.readlink(t)[:bufsiz]
    t.mm.copy_out(buf, text)
    return len(text)


def readlink(t, path, buf, bufsiz):
    return _readlink(t, FDCWD, path, buf, bufsiz)


def readlinkat(t, dirfd, path, buf, bufsiz):
    return _readlink(t, dirfd, path, buf, bufsiz)


def getcwd(t, buf, size):
    cwd = t.fs.cwd
    if cwd.dentry.dead:
        raise SyscallError(ENOENT)
    if is_reachable(cwd, t.fs.root):
        path = path_of(cwd, t.fs.root)
    else:
        path = b"(unreachable)" + path_of(cwd, t.ns.mnt.root)
    out = path + b"\0"
    if len(out) > size:
        raise SyscallError(ERANGE)
    t.mm.copy_out(buf, out)
    return len(out)


def _enter_dir(t, vd):
    inode = vd.dentry.inode
    if not inode.is_dir:
        raise SyscallError(ENOTDIR)
    check_permission(getattr(t, "creds", None), inode, MAY_EXEC)
    return vd


def chdir(t, path):
    t.fs.set_cwd(_enter_dir(t, resolve_at(t, FDCWD, read_path(t, path), want_dir=True)))
    return 0


def fchdir(t, fd):
    t.fs.set_cwd(_enter_dir(t, t.fdtable.get(to_s32(fd)).vd))
    return 0


def chroot(t, path):
    # ksys_chroot: the lookup and the search permission (ENOENT, EACCES...) before CAP_SYS_CHROOT
    vd = _enter_dir(t, resolve_at(t, FDCWD, read_path(t, path), want_dir=True))
    if not capable(t.creds, CAP_SYS_CHROOT):
        raise SyscallError(EPERM)
    t.fs.set_root(vd)
    return 0


def umask(t, mask):
    old = t.fs.umask
    t.fs.umask = to_u32(mask) & 0o777
    return old


# --- creating and removing names ------------------------------------------------------------------------


def _start(t, dirfd, p):
    if not p:
        raise SyscallError(ENOENT)
    return at_start(t, dirfd, p)


def mkdirat(t, dirfd, path, mode):
    p = read_path(t, path)
    mkdir_path(task_ctx(t), _start(t, dirfd, p), p, to_u32(mode) & 0o7777, t.fs.umask)
    return 0


def mkdir(t, path, mode):
    return mkdirat(t, FDCWD, path, mode)


def mknodat(t, dirfd, path, mode, dev):
    mode = to_u32(mode)
    kind = mode & S_IFMT
    if kind == S_IFDIR:
        raise SyscallError(EPERM)
    if kind not in (0, S_IFREG, S_IFCHR, S_IFBLK, S_IFIFO, S_IFSOCK):
        raise SyscallError(EINVAL)
    dev = to_u32(dev)   # the kernel's 32-bit new_encode_dev layout
    whiteout = kind == S_IFCHR and dev == WHITEOUT_DEV     # as Linux's vfs_mknod: anyone may
    if kind in (S_IFCHR, S_IFBLK) and not whiteout and not capable(t.creds, CAP_MKNOD):
        raise SyscallError(EPERM)
    if kind == 0:
        mode |= S_IFREG
    rdev = makedev((dev & 0xFFF00) >> 8, (dev & 0xFF) | ((dev >> 12) & 0xFFF00))
    p = read_path(t, path)
    mknod_path(task_ctx(t), _start(t, dirfd, p), p, mode, rdev, t.fs.umask)
    return 0


def mknod(t, path, mode, dev):
    return mknodat(t, FDCWD, path, mode, dev)


def symlinkat(t, target, newdirfd, linkpath):
    text = read_path(t, target)
    p = read_path(t, linkpath)
    if not text:
        raise SyscallError(ENOENT)
    symlink_path(task_ctx(t), _start(t, newdirfd, p), p, text)
    return 0


def symlink(t, target, linkpath):
    return symlinkat(t, target, FDCWD, linkpath)


def linkat(t, olddirfd, oldpath, newdirfd, newpath, flags):
    flags = to_s32(flags)
    if flags & ~(AT_SYMLINK_FOLLOW | AT_EMPTY_PATH):
        raise SyscallError(EINVAL)
    old = resolve_at(t, olddirfd, read_path(t, oldpath), flags, follow=bool(flags & AT_SYMLINK_FOLLOW))
    p = read_path(t, newpath)
    link_path(task_ctx(t), old, _start(t, newdirfd, p), p)
    return 0


def link(t, oldpath, newpath):
    return linkat(t, FDCWD, oldpath, FDCWD, newpath, 0)


def unlinkat(t, dirfd, path, flags):
    flags = to_s32(flags)
    if flags & ~AT_REMOVEDIR:
        raise SyscallError(EINVAL)
    p = read_path(t, path)
    start = _start(t, dirfd, p)
    (rmdir_path if flags & AT_REMOVEDIR else unlink_path)(task_ctx(t), start, p)
    return 0


def unlink(t, path):
    return unlinkat(t, FDCWD, path, 0)


def rmdir(t, path):
    return unlinkat(t, FDCWD, path, AT_REMOVEDIR)


def renameat2(t, olddirfd, oldpath, newdirfd, newpath, flags):
    flags = to_u32(flags)
    if flags & ~(RENAME_NOREPLACE | RENAME_EXCHANGE | RENAME_WHITEOUT):
        raise SyscallError(EINVAL)
    if flags & RENAME_EXCHANGE and flags & (RENAME_NOREPLACE | RENAME_WHITEOUT):
        raise SyscallError(EINVAL)
    op = read_path(t, oldpath)
    np = read_path(t, newpath)
    ostart, nstart = _start(t, olddirfd, op), _start(t, newdirfd, np)
    rename_path(task_ctx(t), ostart, op, nstart, np, flags)
    return 0


def renameat(t, olddirfd, oldpath, newdirfd, newpath):
    return renameat2(t, olddirfd, oldpath, newdirfd, newpath, 0)


def rename(t, oldpath, newpath):
    return renameat2(t, FDCWD, oldpath, FDCWD, newpath, 0)


# --- attributes -------------------------------------------------------------------------------------------


def fchmodat(t, dirfd, path, mode):
    vd = resolve_at(t, dirfd, read_path(t, path))
    chmod_vd(task_ctx(t), vd, to_u32(mode))
    return 0


def chmod(t, path, mode):
    return fchmodat(t, FDCWD, path, mode)


def fchmodat2(t, dirfd, path, mode, flags):
    """fchmodat with flags: AT_EMPTY_PATH, and AT_SYMLINK_NOFOLLOW (a symlink's mode cannot
    change: EOPNOTSUPP, after the read-only mount check, as notify_change)."""
    flags = to_u32(flags)
    if flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH):
        raise SyscallError(EINVAL)
    vd = resolve_at(t, dirfd, read_path(t, path), flags, follow=not flags & AT_SYMLINK_NOFOLLOW)
    if vd.dentry.inode.is_symlink:
        check_writable_mount(vd)
        raise SyscallError(EOPNOTSUPP)
    chmod_vd(task_ctx(t), vd, to_u32(mode))
    return 0


def fchownat(t, dirfd, path, uid, gid, flags):
    flags = to_s32(flags)
    if flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH):
        raise SyscallError(EINVAL)
    vd = resolve_at(t, dirfd, read_path(t, path), flags, follow=not flags & AT_SYMLINK_NOFOLLOW)
    chown_vd(task_ctx(t), vd, id_arg(uid, t.creds), id_arg(gid, t.creds, "gid"))
    return 0


def chown(t, path, uid, gid):
    return fchownat(t, FDCWD, path, uid, gid, 0)


def lchown(t, path, uid, gid):
    return fchownat(t, FDCWD, path, uid, gid, AT_SYMLINK_NOFOLLOW)


def truncate(t, path, length):
    length = to_s64(length)
    vd = resolve_at(t, FDCWD, read_path(t, path))
    # 0 (truncate_vd gives None), or the generator that waits out a lease break (the dispatcher's None is 0)
    return retrying(t, truncate_vd, task_ctx(t), vd, length, True, lambda inode: check_new_size(t, inode, length)) or 0


def _set_times(t, vd, atime, mtime):
    """atime/mtime: ns, UTIME_NOW or UTIME_OMIT markers already resolved by the caller."""
    explicit = any(x not in (None, "now") for x in (atime, mtime))
    now = now_ns()
    a = now if atime == "now" else atime
    m = now if mtime == "now" else mtime
    if a is None and m is None:
        return 0
    utimes_vd(task_ctx(t), vd, a, m, explicit)
    return 0


def _timespec(sec, nsec):
    if nsec == UTIME_NOW:
        return "now"
    if nsec == UTIME_OMIT:
        return None
    if not 0 <= nsec < 1_000_000_000:
        raise SyscallError(EINVAL)
    return sec * 1_000_000_000 + nsec


def _times_target(t, dirfd, path, flags):
    """Linux's do_utimes: a NULL path with a descriptor names its file (no flags; an O_PATH
    descriptor cannot be: EBADF), else the path is looked up (EFAULT for a NULL one)."""
    dirfd = to_s32(dirfd)
    if path == 0 and dirfd != AT_FDCWD:
        if flags:
            raise SyscallError(EINVAL)
        f = t.fdtable.get(dirfd)
        f.check_not_path()
        return f.vd
    if flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH):
        raise SyscallError(EINVAL)
    if path == 0:
        raise SyscallError(EFAULT)
    return resolve_at(t, dirfd, read_path(t, path), flags, follow=not flags & AT_SYMLINK_NOFOLLOW)


def utimensat(t, dirfd, path, times, flags):
    flags = to_s32(flags)
    if times:
        raw = t.mm.copy_in(times, 2 * TIMESPEC.size)
        (a_sec, a_nsec), (m_sec, m_nsec) = TIMESPEC.unpack_from(raw, 0), TIMESPEC.unpack_from(raw, TIMESPEC.size)
        if a_nsec == UTIME_OMIT and m_nsec == UTIME_OMIT:
            return 0   # nothing to do: Linux checks neither the flags nor the path
    vd = _times_target(t, dirfd, path, flags)
    if times:   # after the lookup, as Linux's vfs_utimes
        atime, mtime = _timespec(a_sec, a_nsec), _timespec(m_sec, m_nsec)
    else:
        atime = mtime = "now"
    return _set_times(t, vd, atime, mtime)


def _timevals(t, tv):
    if not tv:
        return "now", "now"
    raw = t.mm.copy_in(tv, 2 * TIMEVAL.size)
    out = []
    for i in range(2):
        sec, usec = TIMEVAL.unpack_from(raw, i * TIMEVAL.size)
        if not 0 <= usec < 1_000_000:
            raise SyscallError(EINVAL)
        out.append(sec * 1_000_000_000 + usec * 1000)
    return out[0], out[1]


def futimesat(t, dirfd, path, tv):
    atime, mtime = _timevals(t, tv)
    return _set_times(t, _times_target(t, dirfd, path, 0), atime, mtime)


def utimes(t, path, tv):
    if path == 0:
        raise SyscallError(EFAULT)  # only futimesat lets a NULL path name the dirfd
    return futimesat(t, FDCWD, path, tv)


def utime(t, path, times):
    if times:
        a, m = UTIMBUF.unpack(t.mm.copy_in(times, UTIMBUF.size))
        atime, mtime = a * 1_000_000_000, m * 1_000_000_000
    else:
        atime = mtime = "now"
    vd = resolve_at(t, FDCWD, read_path(t, path))
    return _set_times(t, vd, atime, mtime)


def sync(t):
    return 0
