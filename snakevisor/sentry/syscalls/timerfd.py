"""timerfd_create, timerfd_settime, timerfd_gettime (fsimpl/timerfd.py: host timerfds)."""
from snakevisor.abi.errno import EINVAL, SyscallError
from snakevisor.abi.fs import to_s32
from snakevisor.abi.poll import ITIMERSPEC, TFD_CLOEXEC, TFD_TIMER_ABSTIME, TFD_TIMER_CANCEL_ON_SET
from snakevisor.abi.time import (CLOCK_BOOTTIME, CLOCK_BOOTTIME_ALARM, CLOCK_MONOTONIC, CLOCK_REALTIME,
                                 CLOCK_REALTIME_ALARM, NSEC)
from snakevisor.sentry.fsimpl.timerfd import TimerFDImpl, new_timerfd
from snakevisor.sentry.kernel import timens
from snakevisor.sentry.syscalls.newfd import install_new

CLOCKS = (CLOCK_REALTIME, CLOCK_MONOTONIC, CLOCK_BOOTTIME, CLOCK_REALTIME_ALARM, CLOCK_BOOTTIME_ALARM)


def timerfd_create(t, clockid, flags):
    clockid, flags = to_s32(clockid), to_s32(flags)
    if clockid not in CLOCKS:
        raise SyscallError(EINVAL)
    f = new_timerfd(clockid, flags)
    return install_new(t, f, bool(flags & TFD_CLOEXEC))


def _timer(t, fd) -> TimerFDImpl:
    f = t.fdtable.get(to_s32(fd))
    f.check_not_path()
    impl = f.impl
    if not isinstance(impl, TimerFDImpl):
        raise SyscallError(EINVAL)
    return impl


def timerfd_settime(t, fd, flags, new, old):
    flags = to_s32(flags)
    if flags & ~(TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET):
        raise SyscallError(EINVAL)
    raw = t.mm.copy_in(new, ITIMERSPEC.size)
    impl = _timer(t, fd)
    shift = timens.offset(t.ns.time, impl.clockid) if flags & TFD_TIMER_ABSTIME else 0
    if shift:   # an expiry on the namespace's clock: the host timer runs on the host's
        isec, insec, vsec, vnsec = ITIMERSPEC.unpack(raw)
        value = max(vsec * NSEC + vnsec - shift, 1) if vsec or vnsec else 0
        raw = ITIMERSPEC.pack(isec, insec, value // NSEC, value % NSEC)
    before = impl.settime(flags, raw)
    if old:
        t.mm.copy_out(old, before)
    return 0


def timerfd_gettime(t, fd, cur):
    t.mm.copy_out(cur, _timer(t, fd).gettime())
    return 0
