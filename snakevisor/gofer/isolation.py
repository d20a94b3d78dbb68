"""Locking the Gofer down before it serves (DESIGN.md, "The Gofer and 9P"; gVisor's
"Gofer - Filesystem Isolation").

``isolate(mounts, overlay=..., upper=...)`` runs in the Gofer process before any
request is read:

1. ``unshare(CLONE_NEWNS | CLONE_NEWNET)`` (with CLONE_NEWUSER first when not
   root): its own mount namespace, and a network namespace with nothing in it;
   every mount becomes private so nothing propagates back to the host;
2. every served directory (and the overlay's upper directory) is opened by
   descriptor while the host's tree is still visible there, and each volume's
   mount tree is copied detached (open_tree), so the staging tmpfs of step 3,
   mounted over /tmp, is not part of a volume of /tmp or of /;
3. a small tmpfs becomes the Gofer's new root, holding
   ``/root``   the container root: an overlayfs (lower: the image, upper: a
               scratch tmpfs discarded at exit, or the user's directory),
   ``/vol/N``  each volume (a directory or a single file), bind-mounted (read-only bind when asked),
   ``/proc``   so ``/proc/self/fd/N`` reopens keep working;
   ``pivot_root`` into it, the old root detached, the descriptors of step 2
   closed: nothing of the host's tree stays reachable;
4. capabilities are cut to the few file-serving ones, no_new_privs is set, and
   the seccomp whitelist is installed.

It returns the directory each mount is now served from. Nothing here is
reversible; ``isolate`` is all-or-nothing (an error stops the Gofer).
"""
from __future__ import annotations

import errno as E
import os
import stat

from snakevisor.abi.capability import (CAP_CHOWN, CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER, CAP_FSETID)
from snakevisor.abi.fs import MS_BIND, MS_NODEV, MS_NOEXEC, MS_NOSUID, MS_PRIVATE, MS_RDONLY, MS_REC, MS_REMOUNT
from snakevisor.abi.sched import CLONE_NEWNET, CLONE_NEWNS
from snakevisor.hostos import (HostSetupError, attach_tree, become_root_in_user_namespace, check, clone_tree,
                               drop_capabilities, libc, mount, pivot_root)
from snakevisor.seccomp import ArgRule, build_whitelist, load

from . import log
from .hostfs import fstatfs


# What serving files needs: own any file, read/search any directory, keep set-ID
# bits on chmod, set times and modes on others' files.
GOFER_CAPS = (CAP_CHOWN, CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER, CAP_FSETID)

# The Gofer's syscalls: CPython with an epoll loop (and its wake-up pipe) and worker
# threads, plus the file operations of ops.py. No exec, no new sockets but AF_UNIX
# pairs, no mount/ptrace/namespace calls once serving.
GOFER_SYSCALLS = (
    # memory, threads, signals, time
    "brk", "mmap", "munmap", "mremap", "mprotect", "madvise", "futex", "set_robust_list",
    "get_robust_list", "rseq", "clone", "clone3", "exit", "exit_group", "gettid", "getpid", "getppid",
    "tgkill", "rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "sigaltstack", "sched_yield",
    "sched_getaffinity", "clock_gettime", "clock_getres", "clock_nanosleep", "nanosleep", "gettimeofday",
    "getrandom", "prlimit64", "getrlimit", "getuid", "geteuid", "getgid", "getegid", "getresuid",
    "getresgid", "getgroups", "uname", "sysinfo", "restart_syscall",
    # descriptors and event loop
    "read", "write", "readv", "writev", "pread64", "pwrite64", "preadv", "pwritev", "close",
    "close_range", "dup", "dup2", "dup3", "fcntl", "ioctl", "lseek", "epoll_create1", "epoll_ctl",
    "epoll_wait", "epoll_pwait", "poll", "ppoll", "select", "pselect6", "pipe2", "eventfd2",
    "recvfrom", "recvmsg", "sendto", "sendmsg", "shutdown", "getsockopt", "setsockopt", "getsockname",
    "getpeername",
    # files (always relative to a descriptor, or through /proc/self/fd)
    "openat", "open", "fstat", "newfstatat", "stat", "lstat", "statx", "fstatfs", "statfs",
    "getdents64", "readlink", "readlinkat", "mkdirat", "symlinkat", "linkat", "unlinkat",
    "renameat", "renameat2", "fchmod", "fchmodat", "fchown", "fchownat", "utimensat", "ftruncate",
    "truncate", "fallocate", "fsync", "fdatasync", "access", "faccessat", "faccessat2", "getcwd",
    "chdir", "fchdir", "getxattr", "lgetxattr", "fgetxattr", "setxattr", "lsetxattr", "fsetxattr",
    "listxattr", "llistxattr", "flistxattr", "removexattr", "lremovexattr", "fremovexattr",
    "memfd_create", "umask", "chmod", "chown", "lchown", "mkdir", "rmdir", "unlink", "rename", "link",
    "symlink",
    "inotify_init1", "inotify_add_watch",   # shared mounts' watches (watches.py)
)
# socketpair/socket: AF_UNIX (1) only. mknodat/mknod: device number 0 only (FIFOs, sockets, regular
# files and the 0:0 whiteout): whatever the Gofer's capabilities, it never makes a device node.
GOFER_ARG_RULES = (ArgRule("socketpair", 0, 1), ArgRule("socket", 0, 1), ArgRule("mknodat", 3, 0),
                   ArgRule("mknod", 2, 0))


IsolationError = HostSetupError  # what the Gofer's set-up raises
_check, _mount = check, mount


def _fd_path(fd: int) -> str:
    return f"/proc/self/fd/{fd}"


def _enter_namespaces():
    become_root_in_user_namespace()  # overlay and bind mounts are allowed there since Linux 5.11
    _check(libc.unshare(CLONE_NEWNS | CLONE_NEWNET), "unshare(CLONE_NEWNS|CLONE_NEWNET)")
    _mount(None, "/", None, MS_REC | MS_PRIVATE)


def _staging_dir() -> str:
    # Any existing directory will do: the tmpfs goes on it in our namespace only.
    for d in ("/tmp", "/mnt", "/run", "/var/tmp"):
        if os.path.isdir(d) and not os.path.islink(d):
            return d
    raise IsolationError(E.ENOENT, "no directory to stage the Gofer's root on")


def _mount_overlay(target, layers):
    """overlayfs of ``layers`` (lowerdir, upperdir, workdir) on ``target``, with redirect_dir (a
    directory rename in the root works) and xino; without xino where the kernel lacks it (EINVAL),
    and without redirect_dir in a user namespace (rootless engines), where Linux refuses it
    (EPERM): a directory rename in the root is then EXDEV, which mv handles by copying."""
    attempts = (layers + ",redirect_dir=on,xino=auto", layers + ",redirect_dir=on", layers)
    for i, opts in enumerate(attempts):
        try:
            return _mount("overlay", target, "overlay", MS_NOSUID | MS_NODEV, opts)
        except IsolationError as e:
            if e.errno not in (E.EINVAL, E.EPERM) or i == len(attempts) - 1:
                raise


def _build_root(stage, opened, overlay, upper_fd):
    """Mount the new root's contents under ``stage``; returns the served paths (inside it).
    ``opened`` holds the root's descriptor first, then each volume's detached mount tree."""
    _mount("snakevisor-gofer", stage, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0700,size=16m")
    os.mkdir(f"{stage}/proc", 0o555)
    os.mkdir(f"{stage}/vol", 0o700)
    served = []
    for i, (name, fd, readonly) in enumerate(opened):
        if i == 0 and overlay:
            target = f"{stage}/root"
            os.mkdir(target, 0o755)
            if upper_fd is None:
                # Scratch upper layer: a tmpfs of its own, gone with the namespace.
                os.mkdir(f"{stage}/scratch", 0o700)
                _mount("snakevisor-upper", f"{stage}/scratch", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0700")
                os.mkdir(f"{stage}/scratch/upper", 0o755)
                os.mkdir(f"{stage}/scratch/work", 0o700)
                upper, work = f"{stage}/scratch/upper", f"{stage}/scratch/work"
            else:
                upper, work = _fd_path(upper_fd) + "/upper", _fd_path(upper_fd) + "/work"
            _mount_overlay(target, f"lowerdir={_fd_path(fd)},upperdir={upper},workdir={work}")
            if readonly:
                _mount(None, target, None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV)
            served.append("/root")
            continue
        target = f"{stage}/vol/m{i}"
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            os.mkdir(target, 0o700)
        elif not stat.S_ISREG(mode):   # replaced since the caller looked: never serve a host device
            raise IsolationError(E.EINVAL, f"volume {name}: not a directory or regular file")
        else:   # a single file (an engine's /etc/hosts): bound on an empty file of ours
            os.close(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600))
        attach_tree(fd, target)
        flags = MS_REMOUNT | MS_BIND | MS_NOSUID | MS_NODEV | (MS_RDONLY if readonly else 0)
        _mount(None, target, None, flags)
        served.append(f"/vol/m{i}")
    try:
        _mount("proc", f"{stage}/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    except IsolationError:
        _mount("/proc", f"{stage}/proc", None, MS_BIND | MS_REC)   # e.g. inside a user namespace
    return served


def _pivot(stage):
    os.mkdir(f"{stage}/.old", 0o700)
    pivot_root(stage)


def isolate(mounts, *, enabled: bool = True, overlay: bool = False, upper: str | None = None,
            seccomp: bool = True) -> list[str]:
    """Confine this process to ``mounts`` [(name, dir, readonly), ...]; the first is the root
    (an overlay when ``overlay``). Returns the directories to serve, in order, and the statfs
    of an overlay root's image (its lower layer, taken now) or None."""
    mounts = list(mounts)
    if not enabled:
        if overlay or upper:
            raise IsolationError(E.EINVAL, "an overlay root needs isolation")
        return [d for _, d, _ in mounts], None
    flags = os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC
    opened, upper_fd, image_usage = [], None, None
    # Built now: libseccomp is not reachable once the host's tree is gone.
    bpf = build_whitelist(GOFER_SYSCALLS, GOFER_ARG_RULES) if seccomp else None
    if upper is not None:
        os.makedirs(os.path.join(upper, "upper"), exist_ok=True)
        os.makedirs(os.path.join(upper, "work"), exist_ok=True)
    _enter_namespaces()
    try:
        # Opened in the new namespace (its copy of the host's mounts): overlayfs and bind
        # mounts only take layers from the caller's own namespace.
        for i, (name, directory, readonly) in enumerate(mounts):
            # A volume may be a regular file; the root is a directory.
            fd = os.open(directory, flags if i == 0 else flags & ~os.O_DIRECTORY)
            if i == 0 and overlay:
                image_usage = fstatfs(fd)
            if i > 0 or not overlay:
                # A copy of the volume's mounts taken now, before the staging tmpfs goes on
                # /tmp: a volume of /tmp or / would show that tmpfs instead of the host's files.
                try:
                    tree = clone_tree(fd)
                finally:
                    os.close(fd)
                fd = tree
            opened.append((name, fd, readonly))
        if upper is not None:
            upper_fd = os.open(upper, flags)
            if image_usage is not None and tuple(fstatfs(upper_fd).f_fsid) == tuple(image_usage.f_fsid):
                image_usage = None   # the upper layer's filesystem counts the image already
        stage = _staging_dir()
        served = _build_root(stage, opened, overlay, upper_fd)
        _pivot(stage)
    finally:
        for _, fd, _ in opened:
            os.close(fd)
        if upper_fd is not None:
            os.close(upper_fd)
    drop_capabilities(GOFER_CAPS)
    if bpf is not None:
        load(bpf)     # also sets no_new_privs
    log.debug("isolated: serving %s", served)
    return served, image_usage
