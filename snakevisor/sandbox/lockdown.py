"""Putting the Sentry behind its walls (DESIGN.md, "Security model").

The sandbox process goes through these in order:

1. ``new_pid_namespace()`` — by the spawner, before it forks the sandbox, so that the
   sandbox process is pid 1 of a fresh PID namespace (killing it kills every stub and
   the Gofer with it); with a user namespace first when we are not root;
2. ``enter_namespaces(netns_path)`` — its own mount (all private), IPC, UTS namespaces, and
   the network namespace at a path when the config names one (``--network none`` is the
   Sentry's own business: sandbox/network.py);
3. (the Gofer is started and the Sentry boots: the host's tree is still visible)
4. ``pivot_to_empty_root()`` — a small read-only tmpfs holding only ``/proc`` becomes the
   root; the host's tree is detached;
5. ``seccomp_filter()`` (built before step 4, libseccomp needs the host's tree) and
   ``seccomp.load`` — the Sentry's whitelist: no open/openat/execve/fork, ptrace but
   not PTRACE_ATTACH/SEIZE/TRACEME, sockets only AF_INET/AF_INET6 (confined to the
   sandbox's network namespace).
"""
from __future__ import annotations

import ctypes
import errno as E
import os
import socket

from snakevisor.hostos import HostSetupError, become_root_in_user_namespace, check, mount, pivot_root
from snakevisor.seccomp import ArgRule, build_whitelist

_libc = ctypes.CDLL(None, use_errno=True)

CLONE_NEWNS = 0x00020000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
CLONE_THREAD = 0x00010000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 32, 4096, 16384, 1 << 18
MNT_DETACH = 2
SYS_PIVOT_ROOT = 155


LockdownError = HostSetupError  # what the Sentry's lock-down raises
_check, _mount = check, mount


def new_pid_namespace():
    """Children forked from now on start a new PID namespace (the first one is its init)."""
    become_root_in_user_namespace()
    _check(_libc.unshare(CLONE_NEWPID), "unshare(CLONE_NEWPID)")


def enter_namespaces(netns_path=None):
    """Own mount (every mount private), IPC and UTS namespaces; join the network namespace at
    ``netns_path`` if given. (A new network namespace for ``--network none`` is made by the
    Sentry itself: sandbox/network.py.)"""
    if netns_path:
        fd = os.open(netns_path, os.O_RDONLY | os.O_CLOEXEC)
        try:
            _check(_libc.setns(fd, CLONE_NEWNET), f"setns({netns_path})")
        finally:
            os.close(fd)
    _check(_libc.unshare(CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS), "unshare")
    _mount(None, "/", None, MS_REC | MS_PRIVATE)


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
    "brk", "mmap", "munmap", "mremap", "mprotect", "madvise", "futex", "set_robust_list", "get_robust_list",
    "rseq", "exit", "exit_group", "gettid", "getpid", "getppid", "getpgrp", "getpgid", "getsid", "tgkill",
    "kill", "rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "rt_sigtimedwait", "sigaltstack", "sched_yield",
    "sched_getaffinity", "sched_setaffinity", "clock_gettime", "clock_getres", "clock_nanosleep", "nanosleep",
    "gettimeofday", "time", "getrandom", "prlimit64", "getrlimit", "getrusage", "times", "getuid", "geteuid",
    "getgid", "getegid", "getresuid", "getresgid", "getgroups", "uname", "sysinfo", "restart_syscall",
    "arch_prctl", "set_tid_address", "prctl", "getcpu", "sched_getparam", "sched_getscheduler",
    # processes: the stubs
    "ptrace", "wait4", "waitid", "pidfd_open",   # pidfd_open: systrap watches its (detached) stubs
    # descriptors and the event loop
    "read", "write", "readv", "writev", "pread64", "pwrite64", "preadv", "pwritev", "preadv2", "pwritev2",
    "close", "close_range", "dup", "dup2", "dup3", "fcntl", "ioctl", "lseek", "fstat", "newfstatat", "statx",
    "fstatfs", "ftruncate", "fallocate", "fsync", "fdatasync", "sendfile", "splice", "tee", "copy_file_range",
    "epoll_create1", "epoll_ctl", "epoll_wait", "epoll_pwait", "poll", "ppoll", "select", "pselect6",
    "pipe2", "eventfd2", "signalfd4", "timerfd_create", "timerfd_settime", "timerfd_gettime", "memfd_create",
    "getdents64", "flock", "readlinkat",
    "kcmp",   # whether stdio descriptors handed to exec share one open file (fsimpl/host.py)
    # sockets (host sockets of the sandbox's network namespace, the control socket)
    "accept", "accept4", "bind", "listen", "connect", "recvfrom", "recvmsg", "recvmmsg", "sendto", "sendmsg",
    "sendmmsg", "shutdown", "getsockopt", "setsockopt", "getsockname", "getpeername",
)
PTRACE_ALLOWED = (2, 3, 5, 6, 7, 8, 12, 13, 14, 15, 17, 24, 31, 0x4200, 0x4201, 0x4202, 0x4203, 0x4204,
                  0x4205, 0x4207)   # everything the platform uses; not TRACEME, ATTACH or SEIZE
SENTRY_ARG_RULES = (
    ArgRule("socket", 0, socket.AF_INET), ArgRule("socket", 0, socket.AF_INET6),
    ArgRule("socketpair", 0, socket.AF_UNIX),
    ArgRule("clone", 0, CLONE_THREAD, CLONE_THREAD),     # threads, never a new process
    *(ArgRule("ptrace", 0, req) for req in PTRACE_ALLOWED),
)


def seccomp_filter(network="none"):
    """The Sentry's BPF program; forbidden syscalls fail with EPERM."""
    allowed = [n for n in SENTRY_SYSCALLS if n != "ptrace"]
    return build_whitelist(allowed, SENTRY_ARG_RULES, default=E.EPERM)
