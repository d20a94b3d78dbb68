"""pipe(2) and pipe2(2): a new pipefs pipe installed as two descriptors.

Reads and writes go through the generic file syscalls (syscalls/file.py);
pipefs supplies the semantics. ``send_sigpipe`` is the one place that raises
SIGPIPE for an EPIPE (used by the socket, splice and sendfile paths too).
"""
import struct

from snakevisor.abi.errno import EINVAL, SyscallError
from snakevisor.abi.fs import O_CLOEXEC, O_DIRECT, O_NONBLOCK, to_s32
from snakevisor.abi.poll import O_NOTIFICATION_PIPE
from snakevisor.abi.signal import SIGPIPE
from snakevisor.sentry.fsimpl.pipefs import new_pipe


def send_sigpipe(t) -> None:
    """Linux sends SIGPIPE to the writer along with EPIPE."""
    t.kernel.signals.send_to_task(t, SIGPIPE)


def install_pair(t, a, b, cloexec: bool, out_addr: int, fmt: str = "<ii") -> None:
    """Install two fresh descriptions (taking their references) and write the fd pair to ``out_addr``.

    On any failure nothing stays installed (a fault on ``out_addr`` closes both, as Linux)."""
    try:
        fa = t.fdtable.install(a, cloexec)
    except SyscallError:
        a.dec_ref()
        b.dec_ref()
        raise
    try:
        fb = t.fdtable.install(b, cloexec)
    except SyscallError:
        t.fdtable.remove(fa).dec_ref()
        b.dec_ref()
        raise
    try:
        t.mm.copy_out(out_addr, struct.pack(fmt, fa, fb))
    except SyscallError:
        t.fdtable.remove(fa).dec_ref()
        t.fdtable.remove(fb).dec_ref()
        raise


def _pipe2(t, fds, flags):
    flags = to_s32(flags)
    if flags & ~(O_CLOEXEC | O_NONBLOCK | O_DIRECT | O_NOTIFICATION_PIPE):
        raise SyscallError(EINVAL)
    if flags & O_NOTIFICATION_PIPE:
        raise SyscallError(EINVAL)   # watch_queue is not built (Linux without CONFIG_WATCH_QUEUE)
    r, w = new_pipe(flags)
    install_pair(t, r, w, bool(flags & O_CLOEXEC), fds)
    return 0


def pipe(t, fds):
    return _pipe2(t, fds, 0)


def pipe2(t, fds, flags):
    return _pipe2(t, fds, flags)
