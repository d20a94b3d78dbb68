"""Process creation and replacement: clone, clone3, fork, vfork, execve, execveat."""
import struct

from snakevisor.abi import sched as C
from snakevisor.abi.errno import E2BIG, EFAULT, EINVAL, ELOOP, ENOENT, SyscallError
from snakevisor.abi.fs import AT_EMPTY_PATH, AT_FDCWD, AT_SYMLINK_NOFOLLOW, to_s32
from snakevisor.abi.signal import SIGCHLD
from snakevisor.sentry.kernel import ptrace
from snakevisor.sentry.kernel.clone import do_clone, wait_for_vfork
from snakevisor.sentry.kernel.exec import do_execve
from snakevisor.sentry.kernel.pidns import MAX_LEVEL
from snakevisor.sentry.loader.loader import MAX_ARG_BYTES
from snakevisor.sentry.syscalls.pidfd import install_pidfd
from snakevisor.sentry.vfs.at import read_path, resolve_at

MAX_ARG_STRINGS = 1 << 17


def _clone(t, flags, stack, ptid, ctid, tls, exit_signal=None, pidfd_ptr=None, set_tid=()):
    if flags & C.CLONE_PIDFD and flags & C.CLONE_PARENT_SETTID and (pidfd_ptr is None or pidfd_ptr == ptid):
        raise SyscallError(EINVAL)   # clone(2) returns the pidfd where the parent's tid would go
    if flags & C.CLONE_PIDFD:   # copy_process writes it before the child runs: a bad address makes none
        where = ptid if pidfd_ptr is None else pidfd_ptr
        if t.mm.accessible_span(where, 4, write=True) < 4:
            raise SyscallError(EFAULT)
    child = do_clone(t, flags, stack, ptid, ctid, tls, exit_signal, set_tid)
    if flags & C.CLONE_PIDFD:   # a thread's is a PIDFD_THREAD one (Linux 6.9)
        fd = install_pidfd(t, child.tg, thread=child if flags & C.CLONE_THREAD else None)
        try:
            t.mm.copy_out(ptid if pidfd_ptr is None else pidfd_ptr, struct.pack("<i", fd))
        except SyscallError:
            pass
    if t.ptrace is not None:   # the tracer's PTRACE_EVENT_FORK/VFORK/CLONE stop, before a vfork waits
        yield from ptrace.clone_event(t, child.tid)
    if flags & C.CLONE_VFORK:
        yield from wait_for_vfork(t, child)
        if t.ptrace is not None:
            yield from ptrace.vfork_done(t, child.tid)
    return t.tg.pidns.id_of(child.tid)


def clone(t, flags, stack, ptid, ctid, tls):
    return (yield from _clone(t, flags & 0xFFFFFFFF, stack, ptid, ctid, tls))


def clone3(t, args_ptr, size):
    if size < C.CLONE_ARGS_SIZE_VER0 or size > 4096:
        raise SyscallError(EINVAL)
    raw = t.mm.copy_in(args_ptr, size)
    if any(raw[C.CLONE_ARGS.size:]):
        raise SyscallError(E2BIG)
    (flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid, set_tid_size,
     cgroup) = C.CLONE_ARGS.unpack(raw[:C.CLONE_ARGS.size].ljust(C.CLONE_ARGS.size, b"\0"))
    # copy_clone_args_from_user: set_tid is an array of set_tid_size ids, at most one per level
    if set_tid_size > MAX_LEVEL or bool(set_tid) != bool(set_tid_size) or exit_signal > 64:
        raise SyscallError(EINVAL)
    ids = struct.unpack(f"<{set_tid_size}i", t.mm.copy_in(set_tid, 4 * set_tid_size)) if set_tid_size else ()
    if flags & C.CSIGNAL or (stack == 0) != (stack_size == 0):
        raise SyscallError(EINVAL)
    if flags & (C.CLONE_THREAD | C.CLONE_PARENT) and exit_signal:
        raise SyscallError(EINVAL)   # a thread or a sibling signals no one of its own (clone3_args_valid)
    top = stack + stack_size if stack else 0
    return (yield from _clone(t, flags, top, parent_tid, child_tid, tls, exit_signal, pidfd, ids))


def fork(t):
    return (yield from _clone(t, SIGCHLD, 0, 0, 0, 0))


def vfork(t):
    return (yield from _clone(t, C.CLONE_VM | C.CLONE_VFORK | SIGCHLD, 0, 0, 0, 0))


def _string_array(t, addr):
    """argv/envp: NULL-terminated pointer arrays, bounded like Linux (E2BIG)."""
    if addr == 0:
        return []
    out, total = [], 0
    for p in t.mm.read_pointer_array(addr, MAX_ARG_STRINGS):
        s = t.mm.read_cstring(p, MAX_ARG_BYTES)
        total += len(s) + 1
        if total > MAX_ARG_BYTES:
            raise SyscallError(E2BIG)
        out.append(s)
    return out


def _args(t, argv):
    """argv; none at all (NULL or an empty array) is one empty argument, as Linux >= 5.18
    gives it (argv[0] is never NULL for the new program)."""
    return _string_array(t, argv) or [b""]


def execve(t, path, argv, envp):
    filename = read_path(t, path)
    if not filename:
        raise SyscallError(ENOENT)
    return do_execve(t, filename, _args(t, argv), _string_array(t, envp))


def execveat(t, dirfd, path, argv, envp, flags):
    if flags & ~(AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW):
        raise SyscallError(EINVAL)
    filename = read_path(t, path)
    args, env = _args(t, argv), _string_array(t, envp)
    nofollow = bool(flags & AT_SYMLINK_NOFOLLOW)
    if filename.startswith(b"/") and not nofollow:
        return do_execve(t, filename, args, env)
    vd = resolve_at(t, dirfd, filename, flags, follow=not nofollow, allow_empty=bool(flags & AT_EMPTY_PATH))
    if nofollow and vd.dentry.inode.is_symlink:
        raise SyscallError(ELOOP)   # open_exec's O_NOFOLLOW
    if filename.startswith(b"/") or to_s32(dirfd) == AT_FDCWD and filename:
        return do_execve(t, filename, args, env)
    # Linux names the program /dev/fd/N (/dev/fd/N/NAME relative to a directory descriptor): the
    # file itself may have no path (a memfd) or one outside the caller's root.
    name = b"/dev/fd/%d" % to_s32(dirfd) + (b"/" + filename if filename else b"")
    # comm: the file's own name for a descriptor alone (Linux 6.x: a memfd's "memfd:NAME")
    comm = None if filename else vd.dentry.name.lstrip(b"/").removesuffix(b" (deleted)")
    # A close-on-exec descriptor's /dev/fd/N is gone once the image runs: a script's interpreter
    # could not open it (BINPRM_FLAGS_PATH_INACCESSIBLE).
    hidden = t.fdtable.get_cloexec(to_s32(dirfd))
    return do_execve(t, name, args, env, vd=vd, comm=comm, path_inaccessible=hidden)


