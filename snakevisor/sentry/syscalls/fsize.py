"""RLIMIT_FSIZE: how far a task may grow a regular file, and EFBIG with SIGXFSZ past it.

Linux checks it where a file grows: generic_write_check_limits for writes (a write that
starts below the limit is cut short at it, one at or past it fails) and inode_newsize_ok
for truncate and fallocate. Either failure also sends SIGXFSZ to the writer.
"""
from snakevisor.abi.errno import EFBIG, SyscallError
from snakevisor.abi.resource import RLIM_INFINITY, RLIMIT_FSIZE
from snakevisor.abi.signal import SI_USER, SIGXFSZ
from snakevisor.sentry.kernel.signals import make_siginfo
from snakevisor.sentry.kernel.userns import id_in
from snakevisor.sentry.vfs.file import FileSizeLimitExceeded


def _soft_limit(t) -> int | None:
    soft = t.tg.limits[RLIMIT_FSIZE][0]
    return None if soft >= RLIM_INFINITY else soft


def fsize_limit(t, f) -> int | None:
    """The task's soft RLIMIT_FSIZE for growing the file of description ``f`` (None: unlimited, or
    not a regular file). Every write asks, and the limit is nearly always infinite: that comes first
    (read here rather than through _soft_limit: a call less on every write)."""
    limit = t.tg.limits[RLIMIT_FSIZE][0]
    if limit >= RLIM_INFINITY:
        return None
    inode = f.inode
    return limit if inode is not None and inode.is_reg else None


def send_sigxfsz(t) -> None:
    """send_sig(SIGXFSZ, current, 0): a user signal from the writer to itself (si_pid its own)."""
    t.kernel.signals.send_to_task(t, SIGXFSZ, make_siginfo(SIGXFSZ, SI_USER, t.tg.pidns.id_of(t.tg.tgid),
                                                            id_in(t.creds, t.creds.uid)))


def file_too_big(t) -> SyscallError:
    """EFBIG for a file grown past the limit; the writer gets SIGXFSZ with it."""
    send_sigxfsz(t)
    return SyscallError(EFBIG)


def check_new_size(t, inode, size: int) -> None:
    """inode_newsize_ok: growing ``inode`` to ``size`` must stay within the limit."""
    limit = _soft_limit(t)
    if limit is not None and inode is not None and inode.is_reg and size > limit and size > inode.size:
        raise file_too_big(t)


def signal_if_limit(t, err: SyscallError) -> None:
    """A write refused by the limit (FileDescription.write) also sends SIGXFSZ."""
    if isinstance(err, FileSizeLimitExceeded):
        send_sigxfsz(t)
