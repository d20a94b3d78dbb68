"""Host-side set-up calls shared by the Gofer's isolation and the sandbox's lock-down:
mount, pivot_root, capabilities, the descriptor limit, and one error type that names the failing step."""
import ctypes
import errno as E
import os
import resource

from snakevisor.abi.capability import CAP_LAST_CAP, LINUX_CAPABILITY_VERSION_3, CapUserData, CapUserHeader
from snakevisor.abi.fs import AT_EMPTY_PATH, AT_FDCWD, AT_RECURSIVE, MNT_DETACH, MOVE_MOUNT_F_EMPTY_PATH, OPEN_TREE_CLONE
from snakevisor.abi.prctl import PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, PR_CAPBSET_DROP
from snakevisor.abi.sched import CLONE_NEWUSER
from snakevisor.abi.syscall_numbers import SYSCALL_NUMBERS
from snakevisor.hostos.libc import libc, prctl, syscall

_NR_PIVOT_ROOT = SYSCALL_NUMBERS["pivot_root"]
_NR_OPEN_TREE = SYSCALL_NUMBERS["open_tree"]
_NR_MOVE_MOUNT = SYSCALL_NUMBERS["move_mount"]


class HostSetupError(OSError):
    """A host call made while setting a sandbox process up failed."""


def check(rc, what):
    if rc != 0:
        e = ctypes.get_errno()
        raise HostSetupError(e, f"{what}: {os.strerror(e)}")


def mount(source, target, fstype, flags, data=None):
    enc = (lambda s: s.encode() if isinstance(s, str) else s)
    check(libc.mount(enc(source), enc(target), enc(fstype), ctypes.c_ulong(flags),
                     enc(data) if data is not None else None), f"mount {target}")


def clone_tree(fd):
    """A detached copy of the mount tree at descriptor ``fd`` (open_tree OPEN_TREE_CLONE,
    recursive): what is mounted later over a part of it does not appear in the copy."""
    tree = syscall(_NR_OPEN_TREE, fd, b"", OPEN_TREE_CLONE | os.O_CLOEXEC | AT_EMPTY_PATH | AT_RECURSIVE)
    if tree < 0:
        e = ctypes.get_errno()
        raise HostSetupError(e, f"open_tree: {os.strerror(e)}")
    return tree


def attach_tree(tree, target):
    """Mount the detached tree ``tree`` (clone_tree's) at ``target``."""
    check(syscall(_NR_MOVE_MOUNT, tree, b"", AT_FDCWD, target.encode(), MOVE_MOUNT_F_EMPTY_PATH),
          f"move_mount {target}")


def pivot_root(new_root):
    """Make ``new_root`` the root and detach the old one (put at new_root/.old first)."""
    check(syscall(_NR_PIVOT_ROOT, new_root.encode(), f"{new_root}/.old".encode()), "pivot_root")
    os.chdir("/")
    check(libc.umount2(b"/.old", MNT_DETACH), "umount /.old")
    os.rmdir("/.old")


def become_root_in_user_namespace():
    """Unprivileged callers: a user namespace where we are root (overlay, bind mounts and new
    namespaces are allowed there). A no-op when already root."""
    if os.geteuid() == 0:
        return
    uid, gid = os.geteuid(), os.getegid()
    check(libc.unshare(CLONE_NEWUSER), "unshare(CLONE_NEWUSER)")
    for path, text in (("/proc/self/setgroups", "deny"), ("/proc/self/uid_map", f"0 {uid} 1"),
                       ("/proc/self/gid_map", f"0 {gid} 1")):
        with open(path, "w") as f:
            f.write(text)


def drop_capabilities(keep):
    """Bounding and ambient sets emptied but for ``keep``; effective and permitted cut to
    ``keep``, inheritable emptied. Irreversible."""
    for cap in range(CAP_LAST_CAP + 1):
        if cap not in keep:
            if prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 and ctypes.get_errno() != E.EINVAL:
                check(-1, f"PR_CAPBSET_DROP {cap}")
    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)
    mask = sum(1 << c for c in keep)
    data = (CapUserData * 2)(CapUserData(mask & 0xFFFFFFFF, mask & 0xFFFFFFFF, 0),
                             CapUserData(mask >> 32, mask >> 32, 0))
    check(libc.capset(ctypes.byref(CapUserHeader(LINUX_CAPABILITY_VERSION_3, 0)), data), "capset")


def raise_nofile_limit(beyond_hard=False):
    """Raise this process's RLIMIT_NOFILE soft limit to its hard limit; with ``beyond_hard``
    (a file server holding a descriptor per file, as virtiofsd does) both to the kernel's
    ceiling (fs.nr_open) when privileged enough. Returns the soft limit now in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if beyond_hard:
        try:
            with open("/proc/sys/fs/nr_open") as f:
                ceiling = int(f.read())
            if hard != resource.RLIM_INFINITY and ceiling > hard:
                resource.setrlimit(resource.RLIMIT_NOFILE, (ceiling, ceiling))
                return ceiling
        except (OSError, ValueError):
            pass   # not privileged (or no /proc): the hard limit it is
    if soft != hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
            soft = hard
        except (OSError, ValueError):
            pass
    return soft


def lift_address_space_limit() -> None:
    """Take RLIMIT_AS (ulimit -v) off this process when privileged enough: the Sentry maps its whole
    MemoryFile (1 TiB of address space) and its stubs reserve theirs. The caller's limit is the
    sandbox's processes' (the Sentry enforces it on them, as every limit), not the Sentry's own."""
    try:
        resource.setrlimit(resource.RLIMIT_AS, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
    except (OSError, ValueError):
        pass   # unprivileged: the MemoryFile's map says so if it does not fit
