"""fcntl and flock: descriptor flags, duplication, record locks (POSIX and OFD), owners and
signals for SIGIO, leases and directory notifications, whole-file locks."""
from snakevisor.abi import fs as _fs_abi
from snakevisor.abi.errno import EBADF, EINVAL, EOVERFLOW, ESRCH, SyscallError
from snakevisor.abi.fs import (F_DUPFD, F_DUPFD_CLOEXEC, F_GETFD, F_GETFL, F_GETLEASE, F_GETLK, F_GETOWN,
                               F_GETOWN_EX, F_GETSIG, F_NOTIFY, F_OFD_GETLK, F_OFD_SETLK, F_OFD_SETLKW, F_RDLCK,
                               F_SETFD, F_SETFL, F_SETLK, F_SETLKW, F_SETOWN, F_SETOWN_EX, F_SETSIG, F_UNLCK,
                               F_WRLCK, FD_CLOEXEC, FLOCK, LOCK_EX, LOCK_NB, LOCK_SH, LOCK_UN, O_APPEND, O_NOATIME,
                               O_DIRECT, O_SETFL_MASK, S_IFIFO, S_IFMT, to_s32, to_u32)
from snakevisor.sentry.syscalls.file import F_OWNER_EX, _file_not_path, install_dup
from snakevisor.sentry.vfs import dnotify, fasync, inode_flags, leases, locks
from snakevisor.sentry.vfs.file import MAX_LFS_FILESIZE
from snakevisor.sentry.vfs.permissions import check_owner


def _lock(t, f, cmd, arg):
    """F_GETLK/F_SETLK/F_SETLKW and their OFD forms on a struct flock (a generator: SETLKW waits)."""
    ltype, whence, start, length, pid = FLOCK.unpack(t.mm.copy_in(arg, FLOCK.size))
    if whence not in (0, 1, 2):
        raise SyscallError(EINVAL)
    ofd = cmd in (F_OFD_GETLK, F_OFD_SETLK, F_OFD_SETLKW)
    if ofd and pid != 0:
        raise SyscallError(EINVAL)
    getlk = cmd in (F_GETLK, F_OFD_GETLK)
    if getlk:
        if ltype not in (F_RDLCK, F_WRLCK):
            raise SyscallError(EINVAL)
    else:
        if ltype not in (F_RDLCK, F_WRLCK, F_UNLCK):
            raise SyscallError(EINVAL)
        if ltype == F_RDLCK and not f.readable or ltype == F_WRLCK and not f.writable:
            raise SyscallError(EBADF)
    base = 0 if whence == 0 else f.offset if whence == 1 else f.impl.end_offset()
    first = base + start
    if length > 0:
        end = first + length
        if end - 1 > MAX_LFS_FILESIZE:
            raise SyscallError(EOVERFLOW)
    elif length == 0:
        end = locks.INF
    else:
        first, end = first + length, first
    if first < 0:
        raise SyscallError(EINVAL)
    inode = f.inode
    owner = f if ofd else t.fdtable
    if getlk:
        lk = locks.test(inode, owner, ltype, first, end)
        if lk is None:
            t.mm.copy_out(arg, FLOCK.pack(F_UNLCK, whence, start, length, pid))
        else:
            holder = lk[5] if lk[5] <= 0 else t.tg.pidns.id_of(lk[5])   # -1: an OFD lock's; 0: held outside
            t.mm.copy_out(arg, FLOCK.pack(lk[2], 0, lk[3], 0 if lk[4] == locks.INF else lk[4] - lk[3], holder))
        return 0
    wait = cmd in (F_SETLKW, F_OFD_SETLKW)
    return (yield from locks.set_lock(t, inode, owner, ofd, ltype, first, end, wait))


def _setfl(t, f, fdn, arg):
    """F_SETFL (setfl): O_NOATIME only for the owner, an append-only file keeps O_APPEND."""
    if arg & O_NOATIME and not f.flags & O_NOATIME:
        check_owner(t.creds, f.vd.dentry.inode)
    if (arg ^ f.flags) & O_APPEND and f.inode is not None and f.inode.iflags:
        inode_flags.check_append_kept(f.inode)
    if arg & O_DIRECT and not f.direct_io and (f.inode is None or f.inode.mode & S_IFMT != S_IFIFO):
        raise SyscallError(EINVAL)   # only a pipe (packet mode) or a file opened where O_DIRECT is taken
    f.flags = (f.flags & ~O_SETFL_MASK) | (arg & O_SETFL_MASK)
    fasync.update(t, f, fdn)
    return 0


def fcntl(t, fd, cmd, arg):
    # A plain handler (kernel/syscall_table.py): only a lock's command returns a generator.
    fdn, cmd = to_s32(fd), to_s32(cmd)
    f = t.fdtable.get(fdn)
    if f.is_path and cmd not in (F_DUPFD, F_DUPFD_CLOEXEC, F_GETFD, F_SETFD, F_GETFL):
        raise SyscallError(EBADF)
    if cmd in (F_DUPFD, F_DUPFD_CLOEXEC):
        if arg >= t.fdtable.limit:
            raise SyscallError(EINVAL)
        return install_dup(t, f, cmd == F_DUPFD_CLOEXEC, arg)
    if cmd == F_GETFD:
        return FD_CLOEXEC if t.fdtable.get_cloexec(fdn) else 0
    if cmd == F_SETFD:
        t.fdtable.set_cloexec(fdn, bool(arg & FD_CLOEXEC))
        return 0
    if cmd == F_GETFL:
        return f.flags
    if cmd == F_SETFL:
        return _setfl(t, f, fdn, to_u32(arg))
    if cmd in (F_GETLK, F_SETLK, F_SETLKW, F_OFD_GETLK, F_OFD_SETLK, F_OFD_SETLKW):
        return _lock(t, f, cmd, arg)   # a generator (F_SETLKW may wait), which the dispatcher runs
    if cmd == F_SETOWN:
        fasync.set_owner(t, f, to_s32(arg))
        return 0
    if cmd == F_GETOWN:
        return fasync.get_owner(t, f)
    if cmd == F_SETOWN_EX:
        return _setown_ex(t, f, arg)
    if cmd == F_GETOWN_EX:
        t.mm.copy_out(arg, F_OWNER_EX.pack(f.owner_type, t.tg.pidns.id_of(f.owner)))
        return 0
    if cmd == F_SETSIG:
        if arg > 64:
            raise SyscallError(EINVAL)
        f.signal = arg
        return 0
    if cmd == F_GETSIG:
        return f.signal
    if cmd in (F_GETLEASE, _fs_abi.F_SETLEASE):
        return leases.getlease(t, f) if cmd == F_GETLEASE else leases.setlease(t, f, fdn, to_s32(arg))
    if cmd == F_NOTIFY:
        return dnotify.fcntl_notify(t, f, to_s32(fd), to_u32(arg))
    return f.impl.fcntl(t, cmd, arg)


def _setown_ex(t, f, arg):
    kind, who = F_OWNER_EX.unpack(t.mm.copy_in(arg, F_OWNER_EX.size))
    if kind not in (_fs_abi.F_OWNER_TID, _fs_abi.F_OWNER_PID, _fs_abi.F_OWNER_PGRP):
        raise SyscallError(EINVAL)
    if who < 0:
        raise SyscallError(ESRCH)   # Linux looks the number up, and no process has it
    if who:
        gid = t.tg.pidns.global_id(who)   # owners are kept as global ids (kernel/pidns.py)
        if gid is None or not fasync.owner_exists(t.kernel, kind, gid):
            raise SyscallError(ESRCH)
        who = gid
    f.owner, f.owner_type = who, kind
    f.owner_landlock = (t.tg, t.creds.landlock)
    return 0


def flock(t, fd, operation):
    f = _file_not_path(t, fd)
    if operation & 32:  # LOCK_MAND: obsolete, Linux accepts and ignores it
        return 0
    op = to_s32(operation) & ~LOCK_NB
    if op not in (LOCK_SH, LOCK_EX, LOCK_UN):
        raise SyscallError(EINVAL)
    ltype = {LOCK_SH: F_RDLCK, LOCK_EX: F_WRLCK, LOCK_UN: F_UNLCK}[op]
    return (yield from locks.flock(t, f.inode, f, ltype, not operation & LOCK_NB))
