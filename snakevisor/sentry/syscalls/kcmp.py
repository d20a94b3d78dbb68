"""kcmp(2): whether two processes share a kernel object (a file, the address space, the fd table...).

The answer is 0 for the same object and 1 or 2 otherwise, ordered by an obfuscated identity as
Linux orders pointers, so that sorting by it works but reveals nothing. The caller needs the
access ptrace's PTRACE_MODE_READ_REALCREDS check gives to both processes.
"""
import os
import struct

from snakevisor.abi.errno import EINVAL, ENOENT, SyscallError
from snakevisor.abi.fs import to_s32
from snakevisor.abi.sched import (KCMP_EPOLL_TFD, KCMP_FILE, KCMP_FILES, KCMP_FS, KCMP_IO, KCMP_SIGHAND, KCMP_SYSVSEM,
                                  KCMP_VM)
from snakevisor.sentry.fsimpl.epollfs import EpollImpl
from snakevisor.sentry.kernel.creds import ptrace_target

_COOKIES = []


def _new_cookies():
    """Each process its own cookies, drawn again in every fork: the sandboxes a warm server
    forks (snakevisor/warm/) share what was drawn at import."""
    _COOKIES[:] = [int.from_bytes(os.urandom(8), "little") for _ in range(KCMP_EPOLL_TFD + 1)]


_new_cookies()
os.register_at_fork(after_in_child=_new_cookies)


def _file(task, fd):
    return task.fdtable.get(to_s32(fd))


def _epoll_target(t, task, slot_addr):
    """The file registered as ``tfd`` (the ``toff``-th such entry) in epoll ``efd`` of ``task``."""
    efd, tfd, toff = struct.unpack("<III", t.mm.copy_in(slot_addr, 12))
    impl = _file(task, efd).impl
    if not isinstance(impl, EpollImpl):
        raise SyscallError(EINVAL)
    for entry in impl.interest.values():
        if entry.fd == tfd:
            if toff == 0:
                return entry.file
            toff -= 1
    raise SyscallError(ENOENT)


def _undo_list(task):
    """The process's SysV undo list (one per process here), or None before its first SEM_UNDO
    operation, as Linux's NULL sysvsem.undo_list: two processes without one compare equal."""
    tgid = task.tg.tgid
    return task.tg if any(ipc.sem.has_undo_list(tgid) for ipc in task.kernel.ipc_namespaces) else None


def kcmp(t, pid1, pid2, kind, idx1, idx2):
    a, b = ptrace_target(t, to_s32(pid1)), ptrace_target(t, to_s32(pid2))
    if kind == KCMP_FILE:
        x, y = _file(a, idx1), _file(b, idx2)
    elif kind == KCMP_EPOLL_TFD:
        x, y = _file(a, idx1), _epoll_target(t, b, idx2)
    elif kind == KCMP_VM:
        x, y = a.mm, b.mm
    elif kind == KCMP_FILES:
        x, y = a.fdtable, b.fdtable
    elif kind == KCMP_FS:
        x, y = a.fs, b.fs
    elif kind == KCMP_SIGHAND:
        x, y = a.tg.handlers, b.tg.handlers
    elif kind == KCMP_IO:
        x, y = a.tg.io_context, b.tg.io_context   # None before ioprio_set, as Linux's NULL io_context
    elif kind == KCMP_SYSVSEM:
        x, y = _undo_list(a), _undo_list(b)
    else:
        raise SyscallError(EINVAL)
    if x is y:
        return 0
    vx, vy = id(x) ^ _COOKIES[kind], id(y) ^ _COOKIES[kind]
    return 1 if vx < vy else 2
