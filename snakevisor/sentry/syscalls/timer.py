"""Signal timers: alarm, setitimer/getitimer, and POSIX timers (timer_create and friends)."""
import struct
import time as host_time

from snakevisor.abi import signal as S
from snakevisor.abi.errno import EAGAIN, EINVAL, EOPNOTSUPP, SyscallError
from snakevisor.abi.fs import to_s32
from snakevisor.abi.signal import SIGEV_NONE, SIGEV_SIGNAL, SIGEV_THREAD, SIGEV_THREAD_ID
from snakevisor.abi.poll import ITIMERSPEC
from snakevisor.abi.time import ITIMER_PROF, ITIMER_REAL, ITIMER_VIRTUAL, NSEC
from snakevisor.sentry.kernel import timens
from snakevisor.sentry.kernel.timers import CpuItimer, SignalTimer
from snakevisor.sentry.syscalls.time import _HOST_CLOCK, READ_ONLY_CLOCKS, cpu_clock_of, cpu_clock_timer, is_cpu_clock

ITIMER_SIGNALS = {ITIMER_REAL: S.SIGALRM, ITIMER_VIRTUAL: S.SIGVTALRM, ITIMER_PROF: S.SIGPROF}
ITIMERVAL = struct.Struct("<qqqq")   # it_interval (sec, usec), it_value (sec, usec)
SIGEVENT = struct.Struct("<Qiii")    # sigev_value, sigev_signo, sigev_notify, sigev_notify_thread_id
MAX_TIMERS = 4096


def _itimer(t, which):
    timers = t.tg.itimers
    timer = timers.get(which)
    if timer is None:
        sig = ITIMER_SIGNALS[which]
        if which == ITIMER_REAL:
            timer = SignalTimer(t.kernel, host_time.CLOCK_MONOTONIC, t.tg, sig)
        else:   # the process's CPU time: user only for ITIMER_VIRTUAL
            timer = CpuItimer(t.kernel, t.tg, sig, user_only=which == ITIMER_VIRTUAL)
        timers[which] = timer
    return timer


def _usec_pair(sec, usec):
    if sec < 0 or not 0 <= usec < 1_000_000:
        raise SyscallError(EINVAL)
    return sec * NSEC + usec * 1000


def _pack_itimerval(value_ns, interval_ns):
    return ITIMERVAL.pack(interval_ns // NSEC, interval_ns % NSEC // 1000, value_ns // NSEC, value_ns % NSEC // 1000)


def setitimer(t, which, new_ptr, old_ptr):
    which = to_s32(which)
    if which not in ITIMER_SIGNALS:
        raise SyscallError(EINVAL)
    if new_ptr:
        isec, iusec, vsec, vusec = ITIMERVAL.unpack(t.mm.copy_in(new_ptr, ITIMERVAL.size))
        interval, value = _usec_pair(isec, iusec), _usec_pair(vsec, vusec)
        old = _itimer(t, which).settime(value, interval if value else 0)
    else:
        old = _itimer(t, which).gettime()
    if old_ptr:
        t.mm.copy_out(old_ptr, _pack_itimerval(*old))
    return 0


def getitimer(t, which, cur_ptr):
    which = to_s32(which)
    if which not in ITIMER_SIGNALS:
        raise SyscallError(EINVAL)
    t.mm.copy_out(cur_ptr, _pack_itimerval(*_itimer(t, which).gettime()))
    return 0


def alarm(t, seconds):
    value, _ = _itimer(t, ITIMER_REAL).settime((seconds & 0xFFFFFFFF) * NSEC, 0)
    if not value:
        return 0
    sec, rest = divmod(value, NSEC)
    return max(1, sec + (1 if rest >= NSEC // 2 else 0))


# -- POSIX timers ---------------------------------------------------------------------------
def _posix_timers(t):
    return t.tg.posix_timers


def timer_create(t, clockid, sevp, timerid_ptr):
    clockid = to_s32(clockid)
    cpu = is_cpu_clock(clockid)
    host_clock = _HOST_CLOCK.get(clockid)
    if host_clock is None and not cpu:
        raise SyscallError(EINVAL)
    if cpu:
        cpu_clock_of(t, clockid)   # EINVAL for a clock it may not have
    if clockid in READ_ONLY_CLOCKS:
        raise SyscallError(EOPNOTSUPP)
    timers = _posix_timers(t)
    if len(timers) >= MAX_TIMERS:
        raise SyscallError(EAGAIN)
    timer_id = next(i for i in range(len(timers) + 1) if i not in timers)
    if sevp:
        value, signo, notify, tid = SIGEVENT.unpack(t.mm.copy_in(sevp, SIGEVENT.size))
    else:
        value, signo, notify, tid = timer_id, S.SIGALRM, SIGEV_SIGNAL, 0
    target = None
    if notify == SIGEV_THREAD_ID:
        target = t.tg.pidns.task_of(tid)
        if target is None or target.tg is not t.tg:
            raise SyscallError(EINVAL)
    elif notify not in (SIGEV_SIGNAL, SIGEV_NONE, SIGEV_THREAD):
        raise SyscallError(EINVAL)
    if notify != SIGEV_NONE and not 1 <= signo <= S.NSIG:
        raise SyscallError(EINVAL)
    t.mm.copy_out(timerid_ptr, struct.pack("<i", timer_id))
    timers[timer_id] = SignalTimer(t.kernel, host_clock if host_clock in (0, 1, 7) else 1, t.tg,
                                   0 if notify == SIGEV_NONE else signo, target, timer_id, value, S.SI_TIMER,
                                   host=cpu_clock_timer(t, clockid) if cpu else None)
    return 0


def _posix_timer(t, timer_id):
    timer = _posix_timers(t).get(to_s32(timer_id))
    if timer is None:
        raise SyscallError(EINVAL)
    return timer


def timer_settime(t, timer_id, flags, new_ptr, old_ptr):
    # Linux's order: no new value (EINVAL), then reading it (EFAULT), its validity, the timer id
    if not new_ptr:
        raise SyscallError(EINVAL)
    isec, insec, vsec, vnsec = ITIMERSPEC.unpack(t.mm.copy_in(new_ptr, ITIMERSPEC.size))
    if isec < 0 or vsec < 0 or not 0 <= insec < NSEC or not 0 <= vnsec < NSEC:
        raise SyscallError(EINVAL)
    timer = _posix_timer(t, timer_id)
    value, interval = vsec * NSEC + vnsec, isec * NSEC + insec
    if flags & 1 and value:   # TIMER_ABSTIME on the namespace's clock; the host timer runs on the host's
        value = max(value - timens.offset(t.ns.time, timer.clockid), 1)
    old = timer.settime(value, interval if value else 0, absolute=bool(flags & 1))
    if old_ptr:
        t.mm.copy_out(old_ptr, ITIMERSPEC.pack(old[1] // NSEC, old[1] % NSEC, old[0] // NSEC, old[0] % NSEC))
    return 0


def timer_gettime(t, timer_id, cur_ptr):
    value, interval = _posix_timer(t, timer_id).gettime()
    t.mm.copy_out(cur_ptr, ITIMERSPEC.pack(interval // NSEC, interval % NSEC, value // NSEC, value % NSEC))
    return 0


def timer_getoverrun(t, timer_id):
    return _posix_timer(t, timer_id).getoverrun()


def timer_delete(t, timer_id):
    timer = _posix_timers(t).pop(to_s32(timer_id), None)
    if timer is None:
        raise SyscallError(EINVAL)
    timer.close()
    return 0


