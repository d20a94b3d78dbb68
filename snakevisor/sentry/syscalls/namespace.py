"""unshare(2) and setns(2): a task's namespaces (kernel/namespaces.py), fd table and fs context.

Making a namespace takes CAP_SYS_ADMIN in the caller's user namespace (EPERM), except a user
namespace (kernel/userns.py), which anyone may make and in which the others are then made; entering
one takes CAP_SYS_ADMIN over it too. The UTS, IPC, mount, PID (for PID: the children's; the caller
stays in its own), user, cgroup, time (unshare: the children's) and network namespaces are per
task.
"""
import struct

from snakevisor.abi import sched as C
from snakevisor.abi.capability import CAP_SYS_ADMIN
from snakevisor.abi.sched import NS_GET_NSTYPE, NS_GET_OWNER_UID, NS_GET_PARENT, NS_GET_USERNS
from snakevisor.abi.errno import EBADF, EINVAL, ENOTTY, EPERM, ESRCH, EUSERS, SyscallError
from snakevisor.abi.fs import O_RDONLY, to_s32
from snakevisor.sentry.fsimpl.nsfs import ns_of_file, ns_vd
from snakevisor.sentry.fsimpl.pidfd import pidfd_group
from snakevisor.sentry.kernel import timens
from snakevisor.sentry.kernel.creds import may_ptrace
from snakevisor.sentry.kernel.namespaces import PER_TASK, new_ns_inode, set_namespaces
from snakevisor.sentry.kernel.userns import enter as enter_user_ns, id_in, new_user_ns, ns_capable
from snakevisor.sentry.syscalls.newfd import install_new
from snakevisor.sentry.vfs.at import task_ctx
from snakevisor.sentry.vfs.pathops import open_vd

UNSHARE_FLAGS = (C.CLONE_THREAD | C.CLONE_FS | C.CLONE_NEWNS | C.CLONE_SIGHAND | C.CLONE_VM | C.CLONE_FILES
                 | C.CLONE_SYSVSEM | C.CLONE_NEWUTS | C.CLONE_NEWIPC | C.CLONE_NEWNET | C.CLONE_NEWUSER
                 | C.CLONE_NEWPID | C.CLONE_NEWCGROUP | C.CLONE_NEWTIME)
NEW_ALL = C.CLONE_NEW_ANY | C.CLONE_NEWTIME
MADE = (C.CLONE_NEWUTS | C.CLONE_NEWIPC | C.CLONE_NEWNS | C.CLONE_NEWPID | C.CLONE_NEWUSER
        | C.CLONE_NEWCGROUP | C.CLONE_NEWTIME | C.CLONE_NEWNET)   # the namespaces a task can have its own of
NOT_MADE = NEW_ALL & ~MADE
KIND_FLAGS = {"uts": C.CLONE_NEWUTS, "ipc": C.CLONE_NEWIPC, "mnt": C.CLONE_NEWNS, "net": C.CLONE_NEWNET,
              "user": C.CLONE_NEWUSER, "pid": C.CLONE_NEWPID, "cgroup": C.CLONE_NEWCGROUP,
              "time": C.CLONE_NEWTIME}


def unshare(t, flags):
    flags = _implied(flags & 0xFFFFFFFF)
    _check_unshare(t, flags)
    creds = t.creds
    if flags & C.CLONE_NEWUSER:
        creds = creds.copy()
        new_user_ns(creds, new_ns_inode())   # the others are then made in it, with its capabilities
    if flags & NEW_ALL & ~C.CLONE_NEWUSER and not creds.own_cap(CAP_SYS_ADMIN):
        raise SyscallError(EPERM)
    if flags & NOT_MADE:
        raise SyscallError(EINVAL)   # not made yet: see the module docstring
    t.creds = creds
    if flags & C.CLONE_FS:
        t.kernel.unshare_resource(t, "fs")
    if flags & C.CLONE_FILES:
        t.kernel.unshare_resource(t, "fdtable")
    if flags & (C.CLONE_NEWIPC | C.CLONE_SYSVSEM):
        leave_sysvsem(t)
    set_namespaces(t, t.ns.copied(t.kernel, flags, t.fs, owner=creds.user_ns))   # CLONE_NEWNS came with CLONE_FS
    return 0


def _implied(flags):
    """ksys_unshare's implications: a new user namespace unshares the thread and fs, CLONE_VM the
    handlers, the handlers the thread group, a new mount namespace the fs context."""
    if flags & C.CLONE_NEWUSER:
        flags |= C.CLONE_THREAD | C.CLONE_FS
    if flags & C.CLONE_VM:
        flags |= C.CLONE_SIGHAND
    if flags & C.CLONE_SIGHAND:
        flags |= C.CLONE_THREAD
    if flags & C.CLONE_NEWNS:
        flags |= C.CLONE_FS
    return flags


def _check_unshare(t, flags):
    """check_unshare_flags: unknown flags, and the thread group, handlers or address space, which
    can only be "unshared" when not shared, are EINVAL."""
    if flags & ~UNSHARE_FLAGS:
        raise SyscallError(EINVAL)
    if flags & (C.CLONE_THREAD | C.CLONE_SIGHAND | C.CLONE_VM) and len(t.tg.live_tasks) > 1:
        raise SyscallError(EINVAL)
    if flags & C.CLONE_VM and getattr(t.mm, "task_users", 1) > 1:
        raise SyscallError(EINVAL)   # a vfork child still sharing its parent's memory


def leave_sysvsem(t):
    """exit_sem at unshare(CLONE_SYSVSEM/CLONE_NEWIPC) and setns(ipc): the process's SEM_UNDO
    adjustments apply now. Undo lists are per process here, so a thread of a multi-threaded
    process keeps sharing its process's (Linux would give it a new one)."""
    if len(t.tg.live_tasks) > 1:
        return
    for ipc in list(t.kernel.ipc_namespaces):
        ipc.process_exited(t.tg.tgid)


def setns(t, fd, nstype):
    nstype = to_s32(nstype) & 0xFFFFFFFF
    try:
        f = t.fdtable.get(to_s32(fd))
    except SyscallError:
        raise SyscallError(EBADF) from None
    inode = ns_of_file(f)
    if inode is not None:
        flag = KIND_FLAGS[inode.kind]
        if nstype and nstype != flag:
            raise SyscallError(EINVAL)
        _enter(t, {inode.kind: inode.ns})
        return 0
    tg = pidfd_group(f)
    if tg is None:
        raise SyscallError(EINVAL)
    if not nstype or nstype & ~NEW_ALL:
        raise SyscallError(EINVAL)
    target = tg.leader
    if target is None or target.exited:
        raise SyscallError(ESRCH)   # exited, or a zombie: no namespaces left to join
    if not may_ptrace(t, target):
        raise SyscallError(EPERM)   # validate_nsset: PTRACE_MODE_READ_REALCREDS
    wanted = {kind: target.ns.get(kind) for kind, flag in KIND_FLAGS.items() if nstype & flag}
    if "pid" in wanted:
        wanted["pid"] = target.tg.pidns   # its own, not its children's
    if "user" in wanted:
        wanted["user"] = target.creds.user_ns
    _enter(t, wanted)
    return 0


def _enter(t, wanted):
    """Join the namespaces ``wanted`` names ({kind: namespace, None for a sandbox-wide one})."""
    creds = t.creds
    if "user" in wanted:
        creds = _enter_user(t, wanted["user"])
    for ns in (ns for kind, ns in wanted.items() if kind != "user"):   # CAP_SYS_ADMIN over it and at home
        if not (creds.own_cap(CAP_SYS_ADMIN) and ns_capable(creds, getattr(ns, "user_ns", None), CAP_SYS_ADMIN)):
            raise SyscallError(EPERM)
    t.creds = creds
    own = {kind: ns for kind, ns in wanted.items() if kind in PER_TASK.values()}
    if "pid" in own and not own["pid"].within(t.tg.pidns):
        raise SyscallError(EINVAL)   # pidns_install: only the caller's own namespace or one below it
    if "time" in own:
        if len(t.tg.live_tasks) > 1:
            raise SyscallError(EUSERS)   # timens_install: a single-threaded caller
        own["time_children"] = timens.entered(own["time"])
    if "mnt" in own and (getattr(t.fs, "task_users", 1) > 1 or own["mnt"].root_mount is None):
        raise SyscallError(EINVAL)   # mntns_install: the fs context the caller's alone; a namespace left
    if "ipc" in own and own["ipc"] is not t.ns.ipc:
        leave_sysvsem(t)
    if own:
        set_namespaces(t, t.ns.replaced(**own))
    if "mnt" in own:
        root = own["mnt"].follow_mounts(own["mnt"].root)   # the namespace's root, as chroot("/") there
        t.fs.set_root(root)
        t.fs.set_cwd(root)


def _enter_user(t, ns):
    """userns_install: a single-threaded caller with its fs context its own, into another user
    namespace it has CAP_SYS_ADMIN in; returns the credentials to commit."""
    if ns is None and t.creds.user_ns is None or len(t.tg.live_tasks) > 1 or getattr(t.fs, "task_users", 1) > 1:
        raise SyscallError(EINVAL)
    if ns is None:
        raise SyscallError(EPERM)   # the initial namespace is no descendant of the caller's
    creds = t.creds.copy()
    enter_user_ns(creds, ns)
    return creds


# -- nsfs ioctls ---------------------------------------------------------------------------------
NSTYPES = {"mnt": C.CLONE_NEWNS, "cgroup": C.CLONE_NEWCGROUP, "uts": C.CLONE_NEWUTS, "ipc": C.CLONE_NEWIPC,
           "user": C.CLONE_NEWUSER, "pid": C.CLONE_NEWPID, "net": C.CLONE_NEWNET, "time": C.CLONE_NEWTIME}
_INITIAL = object()   # an owner outside every namespace: the initial user namespace has none


def ns_ioctl(t, node, cmd, arg):
    """fs/nsfs.c ns_ioctl on an nsfs file: its CLONE_NEW* type; a user namespace's owner uid as the
    caller names it; an O_CLOEXEC descriptor for the owning user namespace (NS_GET_USERNS) or the
    parent (NS_GET_PARENT: PID and user namespaces, EINVAL for others), EPERM unless that one is
    the caller's or below it; ENOTTY for anything else."""
    kind, ns = node.kind, node.ns
    if cmd == NS_GET_NSTYPE:
        return NSTYPES[kind]
    if cmd == NS_GET_OWNER_UID:
        if kind != "user":
            raise SyscallError(EINVAL)
        t.mm.copy_out(arg, struct.pack("<I", id_in(t.creds, ns.owner if ns is not None else 0)))
        return 0
    if cmd == NS_GET_PARENT and kind == "pid":
        parent = ns.parent if ns is not None else None
        _check_at_or_below(parent, t.tg.pidns)   # pidns_get_parent: the caller's active one or below
        return install_ns_file(t, ns_vd("pid", {}, {"pid": parent}))
    if cmd == NS_GET_USERNS or cmd == NS_GET_PARENT and kind == "user":
        owner = (ns.parent if ns is not None else _INITIAL) if kind == "user" else getattr(ns, "user_ns", None)
        _check_at_or_below(owner, t.creds.user_ns)   # ns_get_owner: the caller's user namespace or below
        return install_ns_file(t, ns_vd("user", {}, {"user": owner}))
    if cmd == NS_GET_PARENT:
        raise SyscallError(EINVAL)
    raise SyscallError(ENOTTY)


def _check_at_or_below(ns, mine):
    """EPERM unless namespace ``ns`` is ``mine`` or one of its descendants."""
    while ns is not mine:
        if ns is None or ns is _INITIAL:
            raise SyscallError(EPERM)
        ns = ns.parent


def install_ns_file(t, vd):
    """A new close-on-exec descriptor of nsfs file ``vd`` (the ioctls here, a pidfd's PIDFD_GET_*_NAMESPACE)."""
    return install_new(t, open_vd(task_ctx(t), vd, O_RDONLY), True)
