"""poll, ppoll, select, pselect6: wait until any of a set of descriptors is ready.

Readiness is asked of each FileDescription (``readiness(task, mask)``), exact at the
moment of asking; between scans the Task waits on every file's waitable at
once (``t.block_on_many``) and scans again when one fires or the timeout
passes. Remaining time is written back for select/pselect6/ppoll, as Linux
does. The temporary signal mask of ppoll/pselect6 is applied by ``sigmask_scope``.
"""
from time import monotonic_ns

from snakevisor.abi.errno import EBADF, EINTR, EINVAL, ERESTARTNOHAND, ERESTARTSYS, SyscallError
from snakevisor.abi.fs import to_s32
from snakevisor.abi.poll import (FD_SETSIZE, POLLERR, POLLFD, POLLHUP, POLLIN, POLLNVAL, POLLOUT, POLLPRI,
                                 POLLRDBAND, POLLRDNORM, POLLWRBAND, POLLWRNORM, PSELECT_SIGARG, SIGSET_SIZE)
from snakevisor.abi.time import (NSEC, TIMESPEC, TIMEVAL, normalise_timeval, timespec_end_ns,
                                 timespec_valid)
from snakevisor.abi.resource import NR_OPEN, RLIMIT_NOFILE
from snakevisor.abi.sched import STICKY_TIMEOUTS

UNBLOCKABLE = (1 << 8) | (1 << 18)   # SIGKILL, SIGSTOP
POLLIN_SET = POLLRDNORM | POLLRDBAND | POLLIN | POLLHUP | POLLERR
POLLOUT_SET = POLLWRBAND | POLLWRNORM | POLLOUT | POLLERR
POLLEX_SET = POLLPRI


# --- shared pieces (epoll uses them too) ------------------------------------------------------------

def read_sigmask(t, ptr: int, size: int):
    """The sigset at ``ptr`` (None if ptr is NULL); EINVAL unless ``size`` is the kernel's 8."""
    if not ptr:
        return None
    if size != SIGSET_SIZE:
        raise SyscallError(EINVAL)
    return int.from_bytes(t.mm.copy_in(ptr, SIGSET_SIZE), "little")


def sigmask_scope(t, mask, body):
    """Run generator ``body`` with the signal mask ``mask`` (None: unchanged), as pselect/ppoll/epoll_pwait.

    On EINTR the original mask is left in ``t.saved_sigmask`` for the signal frame to restore
    (Linux's restore_sigmask), so a signal unblocked only during the wait is delivered."""
    if mask is None:
        return (yield from body)
    old = t.sigmask
    t.sigmask = mask & ~UNBLOCKABLE
    try:
        result = yield from body
    except SyscallError as e:
        if e.errno in (EINTR, ERESTARTSYS, ERESTARTNOHAND):
            # Interrupted: the signal is delivered under the temporary mask, and the frame (or,
            # without a handler, the return path) puts the original one back. Like Linux's
            # select/poll, never restarted after a handler ran.
            t.saved_sigmask = old
            raise SyscallError(ERESTARTNOHAND)
        t.sigmask = old
        raise
    except BaseException:
        t.sigmask = old
        raise
    t.sigmask = old
    return result


def time_left(end_ns):
    """Seconds until monotonic ``end_ns`` (None: no timeout), 0 once it has passed."""
    if end_ns is None:
        return None
    return max(0, end_ns - monotonic_ns()) / NSEC


def wait_files(t, files, end_ns):
    """Block until one of ``files`` [(FileDescription, events)] may have changed, or ``end_ns``.

    Returns False once the end time has passed. Files without a waitable are always ready,
    so they never make us wait."""
    left = time_left(end_ns)
    if left == 0:
        return False
    items = []
    for f, ev in files:
        several = f.impl.wait_items   # an epoll of host and Sentry files waits on both
        if several is not None:
            items.extend(several())
            continue
        w = f.waitable(t)
        if w is not None:
            items.append((w, ev | POLLHUP | POLLERR))
    yield from t.block_on_many(items, left)
    return True


def end_from_timespec(t, ptr: int, select_timeval: bool = False):
    """The monotonic end time (ns) of the relative timespec at ``ptr`` as Linux's
    poll_select_set_timeout makes it (None: no timeout; 0: a zero timeout). With
    ``select_timeval`` it is select's timeval, whose tv_usec Linux normalises."""
    if not ptr:
        return None
    sec, frac = TIMESPEC.unpack(t.mm.copy_in(ptr, TIMESPEC.size))
    if select_timeval:
        sec, frac = normalise_timeval(sec, frac)
    if not timespec_valid(sec, frac):
        raise SyscallError(EINVAL)
    return timespec_end_ns(monotonic_ns(), sec, frac)


def end_from_ms(ms: int):
    """poll/epoll_wait's int milliseconds: negative waits forever."""
    ms = to_s32(ms)
    return None if ms < 0 else timespec_end_ns(monotonic_ns(), ms // 1000, ms % 1000 * 1_000_000)


def write_remaining(t, ptr: int, end_ns, timeval: bool = False) -> None:
    """poll_select_finish: the time left goes back to the caller's timespec/timeval (not after
    a zero timeout, nor under the STICKY_TIMEOUTS personality)."""
    if not ptr or not end_ns or t.tg.personality & STICKY_TIMEOUTS:
        return
    sec, nsec = divmod(max(0, end_ns - monotonic_ns()), NSEC)
    try:
        t.mm.copy_out(ptr, (TIMEVAL.pack(sec, nsec // 1000) if timeval else TIMESPEC.pack(sec, nsec)))
    except SyscallError:
        pass   # Linux ignores a fault here (the result stands)


def nofile_limit(t) -> int:
    lim = t.limits.get(RLIMIT_NOFILE) if isinstance(t.limits, dict) else None
    if isinstance(lim, (tuple, list)):
        lim = lim[0]
    return t.fdtable.limit if lim is None else min(lim, NR_OPEN)


# --- poll -------------------------------------------------------------------------------------------

def _do_poll(t, fds_ptr, nfds, end):
    nfds = nfds & 0xFFFFFFFF
    if nfds > nofile_limit(t):
        raise SyscallError(EINVAL)
    raw = t.mm.copy_in(fds_ptr, nfds * POLLFD.size) if nfds else b""
    entries = [POLLFD.unpack_from(raw, i * POLLFD.size) for i in range(nfds)]
    while True:
        out, count, files = [], 0, []
        for fd, events, _ in entries:
            events &= 0xFFFF
            if fd < 0:
                rev = 0
            else:
                try:
                    f = t.fdtable.get(fd)
                    f.check_not_path()   # an O_PATH descriptor is not pollable: POLLNVAL
                except SyscallError:
                    rev = POLLNVAL
                else:
                    want = events | POLLHUP | POLLERR
                    rev = f.readiness(t, want) & want
                    files.append((f, events))
            out.append(rev)
            if rev:
                count += 1
        if count or not (yield from wait_files(t, files, end)):
            break
    if nfds:
        t.mm.copy_out(fds_ptr, b"".join(POLLFD.pack(fd, ev, rev - 0x10000 if rev & 0x8000 else rev)
                                        for (fd, ev, _), rev in zip(entries, out)))
    return count


def poll(t, fds, nfds, timeout_ms):
    return (yield from _do_poll(t, fds, nfds, end_from_ms(timeout_ms)))


def ppoll(t, fds, nfds, tsp, sigmask, sigsetsize):
    end = end_from_timespec(t, tsp)
    mask = read_sigmask(t, sigmask, sigsetsize)
    try:
        return (yield from sigmask_scope(t, mask, _do_poll(t, fds, nfds, end)))
    finally:
        write_remaining(t, tsp, end)


# --- select ------------------------------------------------------------------------------------------

def _read_set(t, ptr, nbytes):
    if not ptr:
        return 0
    return int.from_bytes(t.mm.copy_in(ptr, nbytes), "little")


def _do_select(t, nfds, rp, wp, ep, end):
    n = to_s32(nfds)
    if n < 0:
        raise SyscallError(EINVAL)
    n = min(n, max(t.fdtable.limit, FD_SETSIZE), NR_OPEN)
    nbytes = (n + 63) // 64 * 8
    sets = [_read_set(t, p, nbytes) for p in (rp, wp, ep)]
    limit = (1 << n) - 1
    sets = [s & limit for s in sets]
    want = {}
    for i, (s, bits) in enumerate(zip(sets, (POLLIN_SET, POLLOUT_SET, POLLEX_SET))):
        while s:
            low = s & -s
            fd = low.bit_length() - 1
            want[fd] = want.get(fd, 0) | bits
            s ^= low
    files = []
    for fd in sorted(want):
        try:
            files.append((fd, t.fdtable.get(fd), want[fd]))
        except SyscallError:
            raise SyscallError(EBADF)
    while True:
        res = [0, 0, 0]
        count = 0
        for fd, f, mask in files:
            ev = f.readiness(t, mask | POLLHUP | POLLERR)
            for i, bits in enumerate((POLLIN_SET, POLLOUT_SET, POLLEX_SET)):
                if mask & bits and ev & bits and sets[i] >> fd & 1:
                    res[i] |= 1 << fd
                    count += 1
        if count or not (yield from wait_files(t, [(f, m & (POLLIN | POLLOUT | POLLPRI))
                                                   for _, f, m in files], end)):
            break
    for p, r in zip((rp, wp, ep), res):
        if p:
            t.mm.copy_out(p, r.to_bytes(nbytes, "little"))
    return count


def select(t, nfds, rp, wp, ep, tvp):
    end = end_from_timespec(t, tvp, select_timeval=True)
    try:
        return (yield from _do_select(t, nfds, rp, wp, ep, end))
    finally:
        write_remaining(t, tvp, end, timeval=True)


def pselect6(t, nfds, rp, wp, ep, tsp, sig):
    end = end_from_timespec(t, tsp)
    mask = None
    if sig:
        ss, ss_len = PSELECT_SIGARG.unpack(t.mm.copy_in(sig, PSELECT_SIGARG.size))
        mask = read_sigmask(t, ss, ss_len)
    try:
        return (yield from sigmask_scope(t, mask, _do_select(t, nfds, rp, wp, ep, end)))
    finally:
        write_remaining(t, tsp, end)
