"""Per-task namespaces: the Sentry's struct nsproxy (Linux's kernel/nsproxy.c, gVisor's per-task
UTS/IPC/mount namespace references).

Every Task holds a ``NamespaceSet`` (``task.ns``): its UTS namespace, its IPC namespace (System V
objects and the POSIX message queue filesystem) and its mount namespace. clone/fork share the
parent's set; clone with CLONE_NEWUTS/CLONE_NEWIPC/CLONE_NEWNS, unshare(2) and setns(2) give the
task a new set naming new (or another task's) namespaces. A new mount namespace is a copy of
the mount tree (vfs/vfs.py ``copy``); the task's root and cwd move to the copies, open files keep
the mounts they were opened through. The kernel's own ``kernel.uts``/``kernel.ipc``/
``kernel.vfs`` are the initial namespaces, those of init and of every process started from
outside. The set's PID namespace is the one for the task's children (kernel/pidns.py); its
cgroup namespace roots /proc/PID/cgroup; it has a time namespace and one for the children
(kernel/timens.py); its network namespace (kernel/netns.py) decides in which host namespace the
task's sockets are made.

Namespace identities (/proc/PID/ns/* inode numbers) are allocated here as Linux's proc_alloc_inum
does: the initial ones have fixed numbers (abi/fs.py PROC_NS_INODES), new ones count up from
after the initial net and mnt namespaces' numbers.
"""
import itertools

from snakevisor.abi import sched as C
from snakevisor.abi.fs import PROC_NS_INODES
from snakevisor.abi.poll import POLLERR, POLLIN, POLLPRI, POLLRDNORM
from snakevisor.sentry.kernel import timens
from snakevisor.sentry.kernel.ipc import IPCNamespace
from snakevisor.sentry.kernel.netns import ROOT as ROOT_NET, NetNamespace
from snakevisor.sentry.kernel.timens import TimeNamespace
from snakevisor.sentry.vfs.waiter import WaitQueue

_inodes = itertools.count(max(PROC_NS_INODES.values()) + 1)

# CLONE_NEW* flag <-> /proc/PID/ns name, for the namespaces a task may have its own of.
PER_TASK = {C.CLONE_NEWUTS: "uts", C.CLONE_NEWIPC: "ipc", C.CLONE_NEWNS: "mnt", C.CLONE_NEWPID: "pid",
            C.CLONE_NEWCGROUP: "cgroup", C.CLONE_NEWTIME: "time", C.CLONE_NEWNET: "net"}
# (the user namespace is per task too, but in its credentials: kernel/userns.py)


def new_ns_inode() -> int:
    return next(_inodes)


class UTSNamespace:
    """uname(2)'s names; only the host and domain names can change (sethostname, setdomainname)."""
    kind = "uts"

    def __init__(self, hostname=b"snakevisor", domainname=b"(none)", ino=PROC_NS_INODES["uts"]):
        self.sysname = b"Linux"
        self.nodename = hostname
        self.release = b"6.1.0-snakevisor"
        self.version = b"#1 SMP snakevisor"
        self.machine = b"x86_64"
        self.domainname = domainname
        self.ino = ino
        # /proc/sys/kernel/{hostname,domainname} poll for changes (uts_kern_table's poll events)
        self.events = {"nodename": 0, "domainname": 0}
        self.changed = WaitQueue()

    def copy(self):
        """CLONE_NEWUTS: a new namespace starting with this one's names (copy_utsname)."""
        return UTSNamespace(self.nodename, self.domainname, new_ns_inode())

    def set(self, field, value):
        """sethostname, setdomainname, or a write to their sysctl: a watcher's poll sees it."""
        setattr(self, field, value)
        self.events[field] += 1
        self.changed.notify(POLLIN | POLLRDNORM | POLLERR | POLLPRI)


class CgroupNamespace:
    """A cgroup namespace: /proc/PID/cgroup paths are shown relative to its root, the cgroup of
    the task that made it. The sandbox has one cgroup (its own root), so every root is "/"."""
    kind = "cgroup"

    def __init__(self, ino=PROC_NS_INODES["cgroup"], root=b"/"):
        self.ino = ino
        self.root = root

    def copy(self):
        """CLONE_NEWCGROUP: a namespace rooted at the caller's cgroup (copy_cgroup_ns)."""
        return CgroupNamespace(new_ns_inode(), self.root)


class NamespaceSet:
    """One task's namespaces (nsproxy): shared by the tasks that neither unshared nor setns'd since.
    ``pid`` is pid_for_children (kernel/pidns.py): a task's own PID namespace is its process's
    (``tg.pidns``), fixed at its creation. ``time`` is the task's time namespace and
    ``time_children`` its children's (kernel/timens.py); ``net`` its network namespace."""
    __slots__ = ("uts", "ipc", "mnt", "pid", "cgroup", "time", "time_children", "net")

    def __init__(self, uts, ipc, mnt, pid, cgroup=None, time=None, time_children=None, net=None):
        self.uts, self.ipc, self.mnt, self.pid = uts, ipc, mnt, pid
        self.net = net or ROOT_NET
        self.cgroup = cgroup or CgroupNamespace()
        self.time = time or TimeNamespace()
        self.time_children = time_children or self.time

    def replaced(self, **kinds):
        """A new set with the given namespaces replaced (``uts=``, ``ipc=``, ``mnt=``, ``pid=``)."""
        fields = {name: getattr(self, name) for name in self.__slots__}
        fields.update(kinds)
        return NamespaceSet(**fields)

    def copied(self, kernel, flags, fs=None, pid=None, owner=None):
        """copy_namespaces/unshare_nsproxy_namespaces: new UTS/IPC/mount/PID/cgroup namespaces for the
        CLONE_NEW* in ``flags``; the same set when there are none. A new mount namespace moves
        ``fs`` (the task's own FSContext: CLONE_NEWNS never shares it) to the copied mounts; a
        new PID namespace is ``pid`` if clone made it already. New ones are owned by user
        namespace ``owner`` (the creator's: kernel/userns.py ns_capable checks against it)."""
        new = {}
        if flags & C.CLONE_NEWPID:
            new["pid"] = pid or self.pid.new_child(new_ns_inode())
        if flags & C.CLONE_NEWNS:
            less_privileged = owner is not getattr(self.mnt, "user_ns", None)
            # copy_mnt_ns: CL_SHARED_TO_SLAVE and lock_mnt_tree for another user namespace's
            new["mnt"], copies = self.mnt.copy(new_ns_inode(), shared_to_slave=less_privileged)
            fs.remap(copies)
            if less_privileged:
                for m in new["mnt"].mounts:
                    m.lock(root=m is new["mnt"].root_mount)
        if flags & C.CLONE_NEWUTS:
            new["uts"] = self.uts.copy()
        if flags & C.CLONE_NEWIPC:
            new["ipc"] = IPCNamespace(kernel, new_ns_inode())
        if flags & C.CLONE_NEWNET:
            new["net"] = NetNamespace.new(new_ns_inode())
        if flags & C.CLONE_NEWCGROUP:
            new["cgroup"] = self.cgroup.copy()
        if flags & C.CLONE_NEWTIME:
            new["time_children"] = self.time_children.copy(new_ns_inode())
        for ns in new.values():
            ns.user_ns = owner
        return self.replaced(**new) if new else self

    def for_child(self):
        """The set a forked child starts with: in its parent's time namespace for children."""
        if self.time_children is self.time:
            return self
        return self.replaced(time=timens.entered(self.time_children))

    def get(self, kind):
        """The namespace /proc/PID/ns/``kind`` names, None for the sandbox-wide ones."""
        if kind == "time_for_children":
            return self.time_children
        kind = kind.removesuffix("_for_children")   # pid: the set holds the children's
        return getattr(self, kind) if kind in PER_TASK.values() else None


def set_namespaces(task, new):
    """Give ``task`` the set ``new`` (None: the task exited; a zombie keeps showing its set in
    /proc). An IPC namespace that no task uses any more, and no open nsfs file holds, loses its
    shared memory segments now, as Linux's free_ipc_ns (the IPCNamespace's finalizer is the
    backstop for one an nsfs file held); a mount namespace its mounts (put_mnt_ns: files open
    on them keep theirs), so that a filesystem only it held goes (vfs/mount.py ``leave``)."""
    old = task.ns
    if new is not None:
        _count_user(new.ipc, 1, "ipc")
        _count_user(new.mnt, 1, "mnt")
        task.ns = new
    _count_user(old.ipc, -1, "ipc")
    _count_user(old.mnt, -1, "mnt")


def _count_user(ns, delta, kind):
    if ns.ino == PROC_NS_INODES[kind]:
        return   # the initial namespace lives as long as the sandbox
    ns.task_users = getattr(ns, "task_users", 0) + delta
    vd = getattr(ns, "nsfs_vd", None)
    if ns.task_users == 0 and (vd is None or vd.dentry.refs <= 1):   # 1: nsfs's own reference
        if kind == "ipc":
            ns.shm.destroy_all()
        else:
            ns.dissolve()

