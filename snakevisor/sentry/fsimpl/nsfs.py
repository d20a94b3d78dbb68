"""nsfs: the files behind /proc/PID/ns/* (magic links whose readlink is "uts:[4026531838]").

Each namespace is one inode, its number the namespace's identity (kernel/namespaces.py hands
them out): two tasks in the same UTS namespace see the same uts inode, a task that unshared one
a new number. An open nsfs file holds its namespace (setns(2) takes it: syscalls/namespace.py).
The network namespace is the sandbox's single one: one inode.
/proc/PID/ns/pid is the task's own PID namespace, pid_for_children its children's.
Opening follows ptrace's PTRACE_MODE_READ rule, as Linux's proc_ns_get_link does.
"""
from snakevisor.abi.errno import ENOENT, ESRCH, SyscallError
from snakevisor.abi.fs import NSFS_MAGIC, PROC_NS_INODES, S_IFREG
from snakevisor.sentry.fsimpl.anon import AnonFilesystem
from snakevisor.sentry.fsimpl.procfs_pid import check_access
from snakevisor.sentry.vfs.dentry import Dentry
from snakevisor.sentry.vfs.file import FileDescriptionImpl
from snakevisor.sentry.vfs.inode import Inode
from snakevisor.sentry.vfs.mount import VirtualDentry

_fs = None


class NsInode(Inode):
    """One namespace: ``ns`` the object (a UTSNamespace, IPCNamespace...; None for a sandbox-wide
    one), ``kind`` its /proc/PID/ns name without "_for_children"."""

    def __init__(self, fs, ino, kind, ns):
        super().__init__(fs, S_IFREG | 0o444, ino=ino)
        self.kind = kind
        self.ns = ns

    def open(self, task, flags):
        return FileDescriptionImpl(self)


def _nsfs():
    global _fs
    if _fs is None:   # one nsfs per Sentry process, as one per Linux kernel
        _fs = AnonFilesystem("nsfs", NSFS_MAGIC)
    return _fs


def _make_vd(kind, ino, ns):
    fs = _nsfs()
    dentry = Dentry(NsInode(fs, ino, kind, ns), f"{kind}:[{ino}]".encode())
    dentry.inc_ref()   # lives as long as the namespace object (or the Sentry)
    return VirtualDentry(fs.mount, dentry)


_shared = {}   # kind -> VirtualDentry of the sandbox-wide namespaces


def ns_vd(kind, namespaces, own=None):
    """The nsfs file of ``namespaces``' (a NamespaceSet's) namespace of ``kind``; ``own`` holds
    those a task keeps elsewhere: "pid" (its own PID namespace: the set holds pid_for_children)
    and "user" (in its credentials; None: the initial one)."""
    name = kind.removesuffix("_for_children")
    ns = own[kind] if own and own.get(kind) is not None else namespaces.get(kind)
    if ns is None:
        if name not in _shared:
            _shared[name] = _make_vd(name, PROC_NS_INODES[name], None)
        return _shared[name]
    vd = getattr(ns, "nsfs_vd", None)
    if vd is None:
        vd = ns.nsfs_vd = _make_vd(name, ns.ino, ns)
    return vd


def ns_of_file(f):
    """The NsInode behind open file ``f``, or None for any other file."""
    inode = f.inode
    return inode if isinstance(inode, NsInode) else None


def ns_entries(fs, task, magic_link):
    """{name: factory} of /proc/PID/ns: magic links to the task's namespaces as they are when read."""
    def target(kind, cur):
        if task.exited:   # no namespaces left: ENOENT for a zombie, ESRCH once it is reaped
            raise SyscallError(ESRCH if task.tg.reaped else ENOENT)
        check_access(cur, task)
        return ns_vd(kind, task.ns, {"pid": task.tg.pidns, "user": task.creds.user_ns})
    return {kind.encode(): (lambda kind=kind: magic_link(fs, lambda cur: target(kind, cur))) for kind in PROC_NS_INODES}
