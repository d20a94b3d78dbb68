"""Putting the Sentry behind its walls (DESIGN.md, "Security model"), in every mode: the OCI
sandbox process (sandbox/boot.py) and ``snakevisor do`` (sandbox/do.py) go through the same steps:

1. ``new_pid_namespace()`` — by the spawner, before it forks the sandbox, so that the
   sandbox process is pid 1 of a fresh PID namespace (killing it kills every stub and
   the Gofer with it); with a user namespace first when we are not root;
2. ``enter_namespaces(netns_path, ...)`` — its own mount (all private), IPC, UTS namespaces, a
   /proc of the new PID namespace, and the network namespace at a path when the config
   names one (``--network none`` is the Sentry's own business: sandbox/network.py);
3. (the Gofer is started and the Sentry boots and loads its init: the host's tree is still
   visible; ``preload_modules()`` imports what the Sentry may import later)
4. ``lock_down(bpf)``:
   ``pivot_to_empty_root()`` — a small read-only tmpfs holding only ``/proc`` becomes the
   root; the host's tree is detached;
   ``drop_capabilities(SENTRY_CAPS)`` — bounding, permitted, effective, inheritable and
   ambient sets cut to what the Sentry still does with host privilege (low ports, raw sockets);
   ``seccomp.load`` of ``seccomp_filter()`` (built before the pivot: libseccomp needs the
   host's tree) — sets no_new_privs, then the Sentry's whitelist: no open/openat/execve/fork,
   ptrace but not PTRACE_ATTACH/SEIZE/TRACEME, sockets only AF_INET/AF_INET6 (confined to the
   sandbox's network namespace) and AF_NETLINK (read-only without CAP_NET_ADMIN). With
   directfs (``--directfs=true``) it also allows ``openat`` as DIRECTFS_ARG_RULES restrict it.
"""
from __future__ import annotations

import errno as E
import functools
import importlib
import os
import socket

from snakevisor.abi.capability import CAP_NET_BIND_SERVICE, CAP_NET_RAW
from snakevisor.abi.fs import (MS_BIND, MS_NODEV, MS_NOEXEC, MS_NOSUID, MS_PRIVATE, MS_RDONLY, MS_REC, MS_REMOUNT,
                               O_ACCMODE, O_CREAT, O_DIRECTORY, O_NOFOLLOW, O_TMPFILE, O_TRUNC)
from snakevisor.abi.sched import CLONE_NEWIPC, CLONE_NEWNET, CLONE_NEWNS, CLONE_NEWPID, CLONE_NEWUTS, CLONE_THREAD
from snakevisor.hostos import (HostSetupError, become_root_in_user_namespace, check, drop_capabilities, libc,
                               mount, pivot_root)
from snakevisor.seccomp import ArgRule, build_whitelist, load as load_seccomp
from snakevisor.sandbox import netns_broker
from snakevisor.sentry import platform as platform_names
from snakevisor.sentry.kernel import netns


LockdownError = HostSetupError  # what the Sentry's lock-down raises
_check, _mount = check, mount


def new_pid_namespace():
    """Children forked from now on start a new PID namespace (the first one is its init)."""
    become_root_in_user_namespace()
    _check(libc.unshare(CLONE_NEWPID), "unshare(CLONE_NEWPID)")


def enter_namespaces(netns_path=None, utsns_path=None, hostname=None):
    """Own mount (every mount private), IPC and UTS namespaces; join the network namespace at
    ``netns_path`` if given. (A new network namespace for ``--network none`` is made by the
    Sentry itself: sandbox/network.py.) Our UTS namespace is a copy of the one at ``utsns_path``
    if given (its hostname is then ours), else has ``hostname`` set in it: the Sentry's own, so
    that a container joining ours by path (a pod's containers join their pause container's)
    learns it as it would under runc."""
    for path, kind in ((netns_path, CLONE_NEWNET), (utsns_path, CLONE_NEWUTS)):
        if path:
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
            try:
                _check(libc.setns(fd, kind), f"setns({path})")
            finally:
                os.close(fd)
    _check(libc.unshare(CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS), "unshare")
    if hostname and not utsns_path:
        socket.sethostname(hostname)
    _mount(None, "/", None, MS_REC | MS_PRIVATE)
    if os.getpid() == 1:
        # The host's /proc shows the host's PIDs; ours are the new namespace's (the Gofer's
        # pid, its threads): a /proc of our own, in our mount namespace only.
        try:
            _mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
        except LockdownError:
            pass


def _staging_dir():
    for d in ("/run", "/tmp", "/mnt", "/var/tmp"):
        if os.path.isdir(d) and not os.path.islink(d):
            return d
    raise LockdownError(E.ENOENT, "no directory to stage the Sentry's root on")


def pivot_to_empty_root():
    """Make a small read-only tmpfs (with only /proc in it) this process's root."""
    stage = _staging_dir()
    _mount("snakevisor-sentry", stage, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0555,size=64k")
    os.mkdir(f"{stage}/proc", 0o555)
    os.mkdir(f"{stage}/.old", 0o700)
    try:
        # Our PID namespace's proc: only the sandbox's own processes are in it.
        _mount("proc", f"{stage}/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    except LockdownError:
        pass
    pivot_root(stage)
    _mount(None, "/", None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC)


# What the Sentry does after boot: CPython, the event loop (epoll, signalfd, timerfd, waitpid),
# ptrace of its stubs, the MemoryFile (fallocate, lseek), host descriptors (stdio, donated
# Gofer files, sockets in the sandbox's network namespace), the control socket.
SENTRY_SYSCALLS = (
    # memory, threads, signals, time, identity
    "brk", "mmap", "munmap", "mremap", "mprotect", "madvise", "mincore", "futex", "set_robust_list", "get_robust_list",
    "rseq", "exit", "exit_group", "gettid", "getpid", "getppid", "getpgrp", "getpgid", "getsid", "tgkill",
    "kill", "rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "rt_sigtimedwait", "sigaltstack", "sched_yield",
    "sched_getaffinity", "sched_setaffinity", "clock_gettime", "clock_getres", "clock_nanosleep", "nanosleep",
    "gettimeofday", "time", "getrandom", "prlimit64", "getrlimit", "getrusage", "times", "getuid", "geteuid",
    "getgid", "getegid", "getresuid", "getresgid", "getgroups", "uname", "sysinfo", "restart_syscall",
    "arch_prctl", "set_tid_address", "prctl", "getcpu", "sched_getparam", "sched_getscheduler",
    # processes: the stubs
    "ptrace", "wait4", "waitid", "pidfd_open",   # pidfd_open: systrap watches its (detached) stubs
    "pidfd_getfd",   # systrap takes its end of a stub mapper's socket (made in the stub)
    # descriptors and the event loop
    "read", "write", "readv", "writev", "pread64", "pwrite64", "preadv", "pwritev", "preadv2", "pwritev2",
    "close", "close_range", "dup", "dup2", "dup3", "fcntl", "ioctl", "lseek", "fstat", "newfstatat", "statx",
    "fstatfs", "ftruncate", "fallocate", "fsync", "fdatasync", "sendfile", "splice", "tee", "copy_file_range",
    "epoll_create1", "epoll_ctl", "epoll_wait", "epoll_pwait", "poll", "ppoll", "select", "pselect6",
    "pipe2", "eventfd2", "signalfd4", "timerfd_create", "timerfd_settime", "timerfd_gettime", "memfd_create",
    "getdents64", "flock", "readlinkat",
    "membarrier",   # membarrier(2) for applications whose threads run on several CPUs (syscalls/membarrier.py)
    "kcmp",   # whether stdio descriptors handed to exec share one open file (fsimpl/host.py)
    # sockets (host sockets of the sandbox's network namespace, the control socket)
    "accept", "accept4", "bind", "listen", "connect", "recvfrom", "recvmsg", "recvmmsg", "sendto", "sendmsg",
    "sendmmsg", "shutdown", "getsockopt", "setsockopt", "getsockname", "getpeername",
)
PTRACE_ALLOWED = (2, 3, 5, 6, 7, 8, 12, 13, 14, 15, 17, 24, 31, 0x4200, 0x4201, 0x4202, 0x4203, 0x4204,
                  0x4205, 0x4207)   # everything the platform uses; not TRACEME, ATTACH or SEIZE
SENTRY_ARG_RULES = (
    ArgRule("socket", 0, socket.AF_INET), ArgRule("socket", 0, socket.AF_INET6),
    ArgRule("socket", 0, socket.AF_NETLINK),    # /proc/net's rtnetlink dumps (sentry/net/netlink.py)
    ArgRule("socketpair", 0, socket.AF_UNIX),
    ArgRule("clone", 0, CLONE_THREAD, CLONE_THREAD),     # threads, never a new process
    *(ArgRule("ptrace", 0, req) for req in PTRACE_ALLOWED),
)


# directfs (sentry/fsimpl/gofer/directfs.py) opens, relative to descriptors the Gofer donated, a
# directory for listing (openat(dirfd, ".", O_RDONLY|O_DIRECTORY|O_NOFOLLOW)) and regular files for
# reading (openat(dirfd, name, O_RDONLY|O_NOFOLLOW|O_NONBLOCK)). Allowed only with
# dirfd a descriptor number (below 2^20 as an unsigned 64-bit value: never AT_FDCWD, whatever the
# upper half of the register), read-only, O_NOFOLLOW set, and no O_CREAT, O_TMPFILE nor O_TRUNC.
# The path is a pointer BPF cannot read: an absolute one resolves in the Sentry's empty root, and
# ".." is the residual risk (docs/design.md, "Security model"). fstatat and readlinkat were
# already allowed.
DIRFD_BOUND = 1 << 20
_OPENAT_CHECKED = O_ACCMODE | O_NOFOLLOW | O_CREAT | (O_TMPFILE & ~O_DIRECTORY) | O_TRUNC
DIRECTFS_ARG_RULES = (
    ArgRule("openat", 0, DIRFD_BOUND, below=True, also=(ArgRule("openat", 2, O_NOFOLLOW, mask=_OPENAT_CHECKED),)),
)


@functools.lru_cache(maxsize=None)
def seccomp_filter(network="none", directfs=False):
    """The Sentry's BPF program (bytes); forbidden syscalls fail with EPERM. Built once per
    setting in a process: the warm server's sandboxes (forks of it) find it built."""
    allowed = [n for n in SENTRY_SYSCALLS if n != "ptrace"]
    rules = SENTRY_ARG_RULES + (DIRECTFS_ARG_RULES if directfs else ())
    return build_whitelist(allowed, rules, default=E.EPERM)


def prepare_template():
    """The warm server, before it forks its sandboxes: the modules preloaded and the BPF programs
    of both networks and directfs settings built (~1 ms each), once for all of them."""
    preload_modules()
    for network in ("none", "host"):
        for directfs in (False, True):
            seccomp_filter(network, directfs)


# Host privilege the Sentry still uses once locked down, on the sandbox's host sockets: binding
# a port below 1024, and raw sockets and IPv6 hop-by-hop/destination options (CAP_NET_RAW), in
# the sandbox's network namespace. Everything else it does is to its own children (ptrace, kill,
# affinity of the stubs) or through descriptors it holds, which needs none.
SENTRY_CAPS = (CAP_NET_BIND_SERVICE, CAP_NET_RAW)


# What the Sentry imports only when an application asks for it (inside functions), beyond what
# sentry_boot pulls in: imported by preload_modules() before the pivot. An explicit list, not a
# walk of the packages per start (~2 ms, and pkgutil's typing on the CLI's path);
# tests/test_coldstart.py fails if any module of the Sentry's packages is left out.
LATE_MODULES = (
    "snakevisor.sentry.fsimpl.memfd", "snakevisor.sentry.kernel.ipc.msg", "snakevisor.sentry.kernel.ipc.sem",
    "snakevisor.sentry.kernel.ipc.shm", "snakevisor.sentry.platform.systrap",
    "snakevisor.sentry.platform.systrap.stub",
    "snakevisor.sandbox.console",   # load_init's, for -t (`do` loads the init once locked down)
    # the standard library's, for tracebacks, IDNA host names, arrays (json, for the OCI control
    # socket, is imported with sandbox/control.py before the lock-down; `do` has no use for it)
    "traceback", "encodings.idna", "encodings.ascii", "encodings.latin_1", "array", "linecache",
    "tokenize",
)


def preload_modules(platform=None):
    """Everything the Sentry may import later is imported now: after the pivot nothing can be opened.
    ``platform``: the one the Sentry booted with, which never changes (the other's modules are
    skipped: ~1 ms); None, every module (the warm server's template serves both)."""
    skipped = tuple(f"snakevisor.sentry.platform.{other}" for other in platform_names.NAMES
                    if platform is not None and other != platform)
    for name in ("snakevisor.sandbox.sentry_boot",) + LATE_MODULES:
        if skipped and name.startswith(skipped):
            continue
        try:
            importlib.import_module(name)
        except ImportError:   # an optional module with a missing dependency: not needed then
            pass


def _start_broker(bpf):
    """The network-namespace broker (sandbox/netns_broker.py) under ``bpf``; None if it cannot start."""
    try:
        return netns_broker.start(bpf)
    except (OSError, HostSetupError):
        return None


def lock_down(bpf, pivot=True, caps=SENTRY_CAPS):
    """Step 4 of the module's list: empty root (unless ``pivot`` is off: a debugging aid), capabilities
    cut to ``caps``, no_new_privs and the seccomp filter ``bpf`` (None: none). Irreversible."""
    try:
        broker_bpf = netns_broker.seccomp_filter()   # while libseccomp can still be opened
    except OSError:
        broker_bpf = None
    if pivot:
        pivot_to_empty_root()
    # The broker shares the empty root and keeps what it needs of the capabilities.
    netns.set_broker(_start_broker(broker_bpf) if broker_bpf is not None else None)
    drop_capabilities(caps)
    if bpf is not None:
        load_seccomp(bpf)
