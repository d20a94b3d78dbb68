"""The process's one handle on the C library, with every ctypes prototype set on it.

ctypes keeps a function looked up by attribute on the handle it came from, so a prototype
(argtypes/restype) set anywhere applies to every caller of that handle: they are all set
here, once, so no two modules can disagree. Callers use ``libc.name(...)`` or bind a
function to a module-level name on hot paths (``_ptrace = ptrace_raw``): an attribute
chain per call costs time there. Thin wrappers shared by several modules live here too.
"""
import ctypes
import os
import resource
import select

from snakevisor.abi.errno import EINVAL, SyscallError
from snakevisor.abi.prctl import PR_SET_CHILD_SUBREAPER, PR_SET_PDEATHSIG
from snakevisor.abi.signal import SIGKILL
from snakevisor.abi.socket import MsgHdr

libc = ctypes.CDLL(None, use_errno=True)
get_errno = ctypes.get_errno

_int, _uint, _long, _size_t, _ssize_t = ctypes.c_int, ctypes.c_uint, ctypes.c_long, ctypes.c_size_t, ctypes.c_ssize_t
_char_p, _void_p, _uint_p = ctypes.c_char_p, ctypes.c_void_p, ctypes.POINTER(ctypes.c_uint)

# syscall(2) returns a long. Arguments go unconverted (callers pass ints, None or ctypes objects).
syscall = libc.syscall
syscall.restype = _long

# prctl(2) is variadic (its arguments are whatever the option takes: ints, a name, a pointer): no argtypes.
prctl = libc.prctl

# ptrace(2): ``ptrace`` converts every argument; ``ptrace_raw`` (a second function object on the
# same handle: indexing does not cache) skips the conversion (~0.4 us a call) for the hot path,
# whose arguments are ints that fit in a C int, None, or prebuilt ctypes objects.
ptrace = libc.ptrace
ptrace.restype = _long
ptrace.argtypes = [_long, _long, _void_p, _void_p]
ptrace_raw = libc["ptrace"]
ptrace_raw.restype = _long

# renameat2(2) (glibc 2.28): names as bytes.
libc.renameat2.argtypes = [_int, _char_p, _int, _char_p, _uint]

# inotify(7): the Gofer's watches on shared mounts (gofer/watches.py); paths as bytes.
libc.inotify_init1.argtypes = [_int]
libc.inotify_add_watch.argtypes = [_int, _char_p, ctypes.c_uint32]

# mprotect(2): hostos/atomic.py makes its code page executable.
libc.mprotect.argtypes = [_void_p, _size_t, _int]

# fallocate(2) takes 64-bit offsets.
libc.fallocate.argtypes = [_int, _int, _long, _long]
libc.getauxval.argtypes = [ctypes.c_ulong]
libc.getauxval.restype = ctypes.c_ulong

# mincore(2): the MemoryFile's resident pages, through the Sentry's own mapping of it.
libc.mincore.argtypes = [_void_p, _size_t, _char_p]

# timerfd_*(2): itimerspec buffers as bytes or string buffers.
libc.timerfd_create.argtypes = [_int, _int]
libc.timerfd_settime.argtypes = [_int, _int, _char_p, _char_p]
libc.timerfd_gettime.argtypes = [_int, _char_p]

# Sockets: addresses are raw sockaddr bytes, lengths socklen_t.
for _name in ("bind", "connect"):
    getattr(libc, _name).argtypes = [_int, _char_p, _uint]
for _name in ("getsockname", "getpeername"):
    getattr(libc, _name).argtypes = [_int, _char_p, _uint_p]
libc.accept4.argtypes = [_int, _char_p, _uint_p, _int]
libc.sendto.argtypes = [_int, _char_p, _size_t, _int, _char_p, _uint]
libc.sendto.restype = _ssize_t
libc.recvfrom.argtypes = [_int, _void_p, _size_t, _int, _char_p, _uint_p]
libc.recvfrom.restype = _ssize_t
libc.getsockopt.argtypes = [_int, _int, _int, _char_p, _uint_p]
libc.setsockopt.argtypes = [_int, _int, _int, _char_p, _uint]
for _name in ("recvmsg", "sendmsg"):
    getattr(libc, _name).argtypes = [_int, ctypes.POINTER(MsgHdr), _int]
    getattr(libc, _name).restype = _ssize_t


def errno_error():
    """The SyscallError for the errno the last libc call left (EINVAL if it left none)."""
    return SyscallError(get_errno() or EINVAL)


def checked(ret):
    """``ret``, the result of a libc call that returns -1 on failure; its errno raised as a SyscallError."""
    if ret < 0:
        raise errno_error()
    return ret


def die_with_parent():
    """PR_SET_PDEATHSIG: SIGKILL this process when the thread that forked it dies."""
    prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0)


def kill_and_reap(pid):
    """SIGKILL child ``pid`` and reap it; nothing if it is reaped already. (A child not yet
    reaped keeps its pid, so the signal cannot reach another process.)"""
    try:
        os.kill(pid, SIGKILL)
        os.waitpid(pid, 0)
    except (ProcessLookupError, ChildProcessError):
        pass


def close_fds_except(keep=(), lowest=0):
    """Close every descriptor from ``lowest`` up but those in ``keep``, in close_range calls
    (one per gap: cheap whatever the limit), up to the NOFILE hard limit, above which none can be."""
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    top = hard if 0 < hard < 1 << 30 else 1 << 20
    lo = lowest
    for fd in sorted({k for k in keep if k >= lowest}):
        os.closerange(lo, fd)
        lo = fd + 1
    os.closerange(lo, top)


def become_subreaper():
    """PR_SET_CHILD_SUBREAPER: orphaned descendants are re-parented to this process."""
    prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)


def readable(fd, timeout=0.0) -> bool:
    """Is host descriptor ``fd`` readable (a pidfd: has its process exited), now or within
    ``timeout`` seconds? poll, not select: select() refuses descriptors past FD_SETSIZE (1023),
    which a Sentry with many open files (or one nested in a sandbox) hands out."""
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    return bool(poller.poll(max(0.0, timeout) * 1000))
