"""Process file descriptors: pidfd_open, pidfd_send_signal, pidfd_getfd, and a pidfd's ioctls
(PIDFD_GET_INFO, PIDFD_GET_*_NAMESPACE) (fsimpl/pidfd.py holds the file; CLONE_PIDFD is in
clone.py, waitid's P_PIDFD in wait.py)."""
from snakevisor.abi import pidfd as P
from snakevisor.abi import signal as S
from snakevisor.abi.errno import EBADF, EINVAL, ENOENT, ENOTTY, EPERM, ESRCH, SyscallError
from snakevisor.abi.fs import O_EXCL, O_NONBLOCK, to_s32, to_u32
from snakevisor.sentry.fsimpl.nsfs import ns_vd
from snakevisor.sentry.fsimpl.procfs_pid import check_access
from snakevisor.abi.signal import PIDFD_SIGNAL_PROCESS_GROUP, PIDFD_SIGNAL_THREAD, PIDFD_SIGNAL_THREAD_GROUP
from snakevisor.sentry.fsimpl.pidfd import new_pidfd, pidfd_group, pidfd_thread
from snakevisor.sentry.kernel.creds import may_ptrace
from snakevisor.sentry.kernel.pidns import init_ignores, seen_from
from snakevisor.sentry.kernel.signals import make_siginfo
from snakevisor.sentry.kernel.userns import id_in
from snakevisor.sentry.syscalls.signal import _check_sig, _may_signal, _user_siginfo
from snakevisor.sentry.syscalls.namespace import install_ns_file
from snakevisor.sentry.syscalls.newfd import install_new

PIDFD_NONBLOCK = O_NONBLOCK
PIDFD_THREAD = O_EXCL


def install_pidfd(t, tg, nonblock=False, thread=None) -> int:
    f = new_pidfd(tg, nonblock, thread)
    return install_new(t, f, True)   # pidfds are always close-on-exec


def group_of_fd(t, fd, allow_proc=False):
    """The ThreadGroup behind pidfd ``fd`` (or, for pidfd_send_signal, an open /proc/PID); else EBADF."""
    f = t.fdtable.get(to_s32(fd))
    tg = pidfd_group(f)
    if tg is None and allow_proc and f.inode is not None:
        inode = f.inode
        tg = getattr(inode, "tg", None)
        if tg is None or getattr(inode, "task", None) is not tg.leader:
            tg = None
    if tg is None:
        raise SyscallError(EBADF)
    return tg


def pidfd_open(t, pid, flags):
    pid, flags = to_s32(pid), to_u32(flags)
    if flags & ~(PIDFD_NONBLOCK | PIDFD_THREAD) or pid <= 0:
        raise SyscallError(EINVAL)
    ns = t.tg.pidns
    if flags & PIDFD_THREAD:   # any thread (Linux 6.9)
        task = ns.task_of(pid)
        if task is None or task.tg.reaped:
            raise SyscallError(ESRCH)
        return install_pidfd(t, task.tg, bool(flags & PIDFD_NONBLOCK), task)
    tg = ns.group_of(pid)
    if tg is None or tg.reaped:
        if ns.task_of(pid) is not None:
            raise SyscallError(ENOENT)   # a thread that leads no process (Linux 6.18; EINVAL before)
        raise SyscallError(ESRCH)
    return install_pidfd(t, tg, bool(flags & PIDFD_NONBLOCK))


def pidfd_send_signal(t, pidfd, sig, info_ptr, flags):
    flags = to_u32(flags)
    scope = flags & (PIDFD_SIGNAL_THREAD | PIDFD_SIGNAL_THREAD_GROUP | PIDFD_SIGNAL_PROCESS_GROUP)
    if flags != scope or scope & (scope - 1):
        raise SyscallError(EINVAL)
    tg = group_of_fd(t, pidfd, allow_proc=True)
    thread = pidfd_thread(t.fdtable.get(to_s32(pidfd)))   # PIDFD_THREAD: by default, to that thread
    scope = scope or (PIDFD_SIGNAL_THREAD if thread is not None else 0)
    ident = thread.tid if thread is not None else tg.tgid   # the pid the pidfd names
    sig = to_s32(sig)
    if info_ptr:
        info = _user_siginfo(t, sig, info_ptr, True)
        code = int.from_bytes(info[8:12], "little", signed=True)
        if int.from_bytes(t.mm.copy_in(info_ptr, 4), "little", signed=True) != sig:
            raise SyscallError(EINVAL)
        if (t.tid != ident or scope == PIDFD_SIGNAL_PROCESS_GROUP) and (code >= 0 or code == S.SI_TKILL):
            raise SyscallError(EPERM)   # only to oneself may any code be forged
    else:
        code = S.SI_TKILL if scope == PIDFD_SIGNAL_THREAD else S.SI_USER
        info = make_siginfo(sig, code, seen_from(tg, t.tg.tgid), t.creds.uid) if sig else None
    signals = t.kernel.signals
    if scope == PIDFD_SIGNAL_PROCESS_GROUP:
        groups = t.kernel.pidns.process_group(ident)
    else:
        gone = tg.reaped or thread is not None and thread.exited and thread is not tg.leader
        groups = [] if gone else [tg]
    if not groups:
        raise SyscallError(ESRCH)
    sig = _check_sig(sig, allow_zero=True)
    sent = 0
    for g in groups:
        if not _may_signal(t, g, sig):
            continue
        sent += 1
        if init_ignores(t.tg, g, sig):
            continue
        if scope == PIDFD_SIGNAL_THREAD:
            target = thread or g.leader
            if target is None or target.exited:
                raise SyscallError(ESRCH)
            signals.send_to_task(target, sig, info)
        else:
            signals.send_to_group(g, sig, info)
    if not sent:
        raise SyscallError(EPERM)
    return 0


def pidfd_getfd(t, pidfd, targetfd, flags):
    if to_u32(flags):
        raise SyscallError(EINVAL)
    tg = group_of_fd(t, pidfd)
    live = [task for task in tg.tasks if not task.exited]
    if not live or tg.exit_status is not None:
        raise SyscallError(ESRCH)
    if not may_ptrace(t, live[0]):   # PTRACE_MODE_ATTACH_REALCREDS
        raise SyscallError(EPERM)
    f = live[0].fdtable.get(to_s32(targetfd))
    f.inc_ref()
    return install_new(t, f, True)


# --- ioctls -------------------------------------------------------------------------------------------

def pidfd_ioctl(t, tg, thread, cmd, arg):
    """fs/pidfs.c pidfd_ioctl on a pidfd of ``tg`` (of its ``thread``, PIDFD_THREAD): PIDFD_GET_INFO
    (_IOWR of any size from PIDFD_INFO_SIZE_VER0 on), or an O_CLOEXEC nsfs descriptor of one of
    the task's namespaces; ENOTTY for the rest."""
    if cmd & 0xFFFF == P.PIDFS_IOCTL_MAGIC << 8 | P.PIDFD_GET_INFO_NR and cmd >> 30 == 3 and \
            cmd >> 16 & 0x3FFF >= P.PIDFD_INFO_SIZE_VER0:
        return _info(t, tg, thread, cmd >> 16 & 0x3FFF, arg)
    kind = P.PIDFD_GET_NAMESPACE.get(cmd)
    if kind is None:
        raise SyscallError(ENOTTY)
    task = thread or tg.leader
    if tg.reaped or task is None or task.exited and task is not tg.leader:
        raise SyscallError(ESRCH)
    if arg:
        raise SyscallError(EINVAL)
    if task.exited:   # its namespaces went with it
        raise SyscallError(ESRCH)
    check_access(t, task)   # as opening /proc/PID/ns/* (EACCES)
    return install_ns_file(t, ns_vd(kind, task.ns, {"pid": tg.pidns, "user": task.creds.user_ns}))


def _info(t, tg, thread, usize, arg):
    """PIDFD_GET_INFO: ids as the caller's namespaces name them and credentials always (none once
    reaped: then ESRCH unless PIDFD_INFO_EXIT was asked for, which a reaped process's exit code
    answers); the dumpable state on PIDFD_INFO_COREDUMP. A size beyond ours is zero-filled, a
    smaller one cut (copy_struct_to_user; the mask still has the bits of fields cut off)."""
    if not arg:
        raise SyscallError(EINVAL)
    want = int.from_bytes(t.mm.copy_in(arg, 8), "little")
    ns = t.tg.pidns
    task = thread or tg.leader
    gone = tg.reaped or task.exited and task is not tg.leader   # a thread is reaped as it exits
    if not gone and not ns.id_of(task.tid):
        raise SyscallError(ESRCH)   # outside the caller's PID namespace
    mask, cgroupid, exit_code, ids, core = 0, 0, 0, [0] * 11, 0
    if want & P.PIDFD_INFO_EXIT and gone:
        mask |= P.PIDFD_INFO_EXIT | P.PIDFD_INFO_CGROUPID
        cgroupid, exit_code = P.ROOT_CGROUP_ID, tg.exit_status if tg.reaped else 0
    if gone:
        if not want & P.PIDFD_INFO_EXIT:
            raise SyscallError(ESRCH)
    else:
        c, mine = task.creds, t.creds
        ids[3:] = [id_in(mine, c.uid), id_in(mine, c.gid, "gid"), id_in(mine, c.euid), id_in(mine, c.egid, "gid"),
                   id_in(mine, c.suid), id_in(mine, c.sgid, "gid"), id_in(mine, c.fsuid), id_in(mine, c.fsgid, "gid")]
        cgroupid = P.ROOT_CGROUP_ID
        pid = ns.id_of(task.tid)
        ids[:3] = [pid, ns.id_of(tg.tgid), ns.id_of(tg.parent.tgid) if tg.parent is not None else 0]
        mask |= P.PIDFD_INFO_PID | P.PIDFD_INFO_CREDS | P.PIDFD_INFO_CGROUPID
        if ids[2] == 0 and pid != 1:
            raise SyscallError(ESRCH)
    if want & P.PIDFD_INFO_COREDUMP:
        mask |= P.PIDFD_INFO_COREDUMP
        if tg.exit_status is None:   # the mm's dumpable state (none once it has exited)
            core = {1: P.PIDFD_COREDUMP_USER, 2: P.PIDFD_COREDUMP_ROOT}.get(tg.dumpable, P.PIDFD_COREDUMP_SKIP)
    data = P.PIDFD_INFO.pack(mask, cgroupid, *ids, exit_code, core, 0)
    t.mm.copy_out(arg, data[:usize].ljust(usize, b"\0"))
    return 0
