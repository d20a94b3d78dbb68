"""Clocks and sleeping: clock_gettime/getres, gettimeofday, time, nanosleep, clock_nanosleep (on
CPU-time clocks too: until the clock reaches the time)."""
import struct
import time as host_time
from select import POLLIN

from snakevisor.abi.errno import EFAULT, EINVAL, EOPNOTSUPP, EPERM, ERESTART_RESTARTBLOCK, SyscallError
from snakevisor.abi.fs import to_s32
from snakevisor.abi.time import (CLOCK_BOOTTIME, CLOCK_BOOTTIME_ALARM, CLOCK_MONOTONIC, CLOCK_MONOTONIC_COARSE,
                                 CLOCK_MONOTONIC_RAW, CLOCK_PROCESS_CPUTIME_ID, CLOCK_REALTIME, CLOCK_REALTIME_ALARM,
                                 CLOCK_REALTIME_COARSE, CLOCK_TAI, CLOCK_THREAD_CPUTIME_ID, NSEC, TIMER_ABSTIME,
                                 TIMESPEC, ktime_add_safe, timespec_to_ktime, timespec_valid)
from snakevisor.sentry.kernel import cputime, timens
from snakevisor.sentry.kernel.timers import CpuClockTimer
from snakevisor.sentry.vfs.waiter import HostFdWaitable


_HOST_CLOCK = {
    CLOCK_REALTIME: host_time.CLOCK_REALTIME, CLOCK_MONOTONIC: host_time.CLOCK_MONOTONIC,
    CLOCK_PROCESS_CPUTIME_ID: host_time.CLOCK_MONOTONIC, CLOCK_THREAD_CPUTIME_ID: host_time.CLOCK_MONOTONIC,
    # the coarse clocks are the host's own (Python has no names for them; Linux's numbers): the
    # vDSO reads those, and a syscall reading the precise ones could be ahead of a later vDSO read
    CLOCK_MONOTONIC_RAW: host_time.CLOCK_MONOTONIC_RAW, CLOCK_REALTIME_COARSE: CLOCK_REALTIME_COARSE,
    CLOCK_MONOTONIC_COARSE: CLOCK_MONOTONIC_COARSE, CLOCK_BOOTTIME: host_time.CLOCK_BOOTTIME,
    CLOCK_REALTIME_ALARM: host_time.CLOCK_REALTIME, CLOCK_BOOTTIME_ALARM: host_time.CLOCK_BOOTTIME,
    CLOCK_TAI: host_time.CLOCK_TAI,
}


# Clocks Linux can only read: no POSIX timer on them, no clock_nanosleep (EOPNOTSUPP)
READ_ONLY_CLOCKS = (CLOCK_MONOTONIC_RAW, CLOCK_REALTIME_COARSE, CLOCK_MONOTONIC_COARSE)
CLOCKFD = 3   # the low 3 bits of a dynamic (PTP clock fd) id: no clock_nanosleep


def is_cpu_clock(clockid):
    return clockid in (CLOCK_PROCESS_CPUTIME_ID, CLOCK_THREAD_CPUTIME_ID) or clockid < 0


def cpu_clock_of(t, clockid):
    """(the Task whose CPU clock ``clockid`` is, a zombie process's leader; PROF, VIRT or SCHED;
    whether it is that thread's own clock rather than its process's). Negative ids are
    clock_getcpuclockid/pthread_getcpuclockid's: ~pid << 3 | per-thread (4) | PROF/VIRT/SCHED; a
    thread's clock only of the caller's own process (EINVAL)."""
    which, task, per_thread = cputime.CPUCLOCK_SCHED, t, clockid == CLOCK_THREAD_CPUTIME_ID
    if clockid < 0:
        which, pid, per_thread = clockid & 3, ~(clockid >> 3), bool(clockid & 4)
        if which == 3:
            raise SyscallError(EINVAL)
        ns = t.tg.pidns
        if per_thread:
            task = ns.task_of(pid) if pid else t
            if task is None or task.tg is not t.tg:
                raise SyscallError(EINVAL)
        elif pid:
            tg = ns.group_of(pid) or (t.tg if ns.task_of(pid) is t else None)
            if tg is None:
                raise SyscallError(EINVAL)
            task = next((x for x in tg.tasks if not x.exited and x.ctx is not None), tg.leader)
    return task, which, per_thread


def _cpu_clock_ns(t, clockid):
    """CPU-time clocks: the host's CPU clock of the stub process that runs the process's code (so
    sleeping does not count); a thread's own, asked of it (kernel/cputime.py's thread_cpu_ns)."""
    task, which, per_thread = cpu_clock_of(t, clockid)
    if per_thread:
        return cputime.thread_cpu_ns(task, which, t) if task.ctx is not None else 0
    # (its time goes on across execve; a zombie's is what it had used when it exited)
    return cputime.process_cpu_ns(task.tg, which)


def cpu_clock_timer(t, clockid):
    """A CpuClockTimer on CPU clock ``clockid`` (a POSIX timer's, a CPU-clock sleep's): its process's
    or its thread's CPU time."""
    task, which, per_thread = cpu_clock_of(t, clockid)
    if per_thread:
        return CpuClockTimer(lambda: cputime.thread_cpu_ns(task, which, None), 1)
    tg = task.tg
    return CpuClockTimer(lambda: cputime.process_cpu_ns(tg, which), cputime.NCPUS)


def clock_ns(t, clockid):
    clockid = to_s32(clockid)
    if is_cpu_clock(clockid):
        return _cpu_clock_ns(t, clockid)
    host = _HOST_CLOCK.get(clockid)
    if host is None:
        raise SyscallError(EINVAL)
    return host_time.clock_gettime_ns(host) + timens.offset(t.ns.time, clockid)   # (absolute waits compare with this)


def read_timespec(t, addr):
    """A timeout or time as nanoseconds, saturated at KTIME_MAX as Linux's timespec64_to_ktime does."""
    sec, nsec = TIMESPEC.unpack(t.mm.copy_in(addr, TIMESPEC.size))
    if not timespec_valid(sec, nsec):
        raise SyscallError(EINVAL)
    return timespec_to_ktime(sec, nsec)


def write_timespec(t, addr, ns):
    t.mm.copy_out(addr, TIMESPEC.pack(ns // NSEC, ns % NSEC))


def clock_gettime(t, clockid, addr):
    write_timespec(t, addr, clock_ns(t, clockid))
    return 0


def clock_getres(t, clockid, addr):
    clockid = to_s32(clockid)
    if clockid < 0:
        _cpu_clock_ns(t, clockid)   # EINVAL unless it names a process or a thread of ours
    elif clockid not in _HOST_CLOCK:
        raise SyscallError(EINVAL)
    if addr:
        coarse = clockid in (CLOCK_REALTIME_COARSE, CLOCK_MONOTONIC_COARSE)
        write_timespec(t, addr, round(host_time.clock_getres(_HOST_CLOCK[clockid]) * NSEC) if coarse else 1)
    return 0


def clock_settime(t, clockid, addr):
    clockid = to_s32(clockid)
    read_timespec(t, addr)
    # Only the realtime clock is settable at all; the sandbox may not set the host's.
    raise SyscallError(EPERM if clockid == CLOCK_REALTIME else EINVAL)


def gettimeofday(t, tv, tz):
    ns = host_time.time_ns()
    if tv:
        t.mm.copy_out(tv, struct.pack("<qq", ns // NSEC, ns % NSEC // 1000))
    if tz:
        t.mm.copy_out(tz, struct.pack("<ii", 0, 0))
    return 0


def time(t, addr):
    now = host_time.time_ns() // NSEC
    if addr:
        t.mm.copy_out(addr, struct.pack("<q", now))
    return now


def nanosleep(t, req, rem):
    ns = read_timespec(t, req)
    yield from _sleep(t, ktime_add_safe(host_time.monotonic_ns(), ns), rem, relative=True)
    return 0


def clock_nanosleep(t, clockid, flags, req, rem):
    clockid = to_s32(clockid)
    # Linux: CLOCK_THREAD_CPUTIME_ID has no nsleep (glibc answers EINVAL for it before the call)
    if clockid == CLOCK_THREAD_CPUTIME_ID or clockid in READ_ONLY_CLOCKS or (clockid < 0 and clockid & 7 == CLOCKFD):
        raise SyscallError(EOPNOTSUPP)
    if clockid not in _HOST_CLOCK and clockid >= 0:
        raise SyscallError(EINVAL)
    ns = read_timespec(t, req)
    if is_cpu_clock(clockid):
        return (yield from _cpu_nanosleep(t, clockid, flags, ns, rem))
    now = host_time.monotonic_ns()
    if flags & TIMER_ABSTIME:
        end = now + max(ns - clock_ns(t, clockid), 0)
        rem = 0
    else:
        end = ktime_add_safe(now, ns)
    yield from _sleep(t, end, rem, relative=not flags & TIMER_ABSTIME)
    return 0


def _sleep(t, end_ns, rem, relative=False):
    """Sleep until monotonic ``end_ns``; on a signal, the time left goes to ``rem`` (exact: integers).
    A relative sleep a signal without a handler interrupts (a stop) goes on to the same deadline
    (ERESTART_RESTARTBLOCK: restart_syscall continues it), not for its whole length again."""
    try:
        yield from t.sleep_until(end_ns / NSEC)
    except SyscallError:
        if rem:
            left = max(0, end_ns - host_time.monotonic_ns())
            try:
                write_timespec(t, rem, left)
            except SyscallError:
                raise SyscallError(EFAULT)
        if relative:
            t.restart_block = lambda: _sleep_on(t, end_ns, rem)
            raise SyscallError(ERESTART_RESTARTBLOCK)
        raise


def _sleep_on(t, end_ns, rem):
    yield from _sleep(t, end_ns, rem, relative=True)
    return 0


def _cpu_nanosleep(t, clockid, flags, ns, rem):
    """Sleep until CPU clock ``clockid`` reaches ``ns`` (TIMER_ABSTIME) or goes ``ns`` further, as
    Linux's posix_cpu_nsleep; a thread's own clock cannot get there while it sleeps (EINVAL)."""
    task, _, per_thread = cpu_clock_of(t, clockid)
    if per_thread and task is t:
        raise SyscallError(EINVAL)
    timer = cpu_clock_timer(t, clockid)
    if flags & TIMER_ABSTIME:
        return (yield from _cpu_sleep(t, timer, clockid, ns, 0, False))
    return (yield from _cpu_sleep(t, timer, clockid, ktime_add_safe(timer.clock(), ns), rem, True))


def _cpu_sleep(t, timer, clockid, target, rem, relative):
    """Wait on ``timer`` until its clock reaches ``target`` (and close it). A signal: the CPU time
    left goes to ``rem``; a relative sleep goes on to the same target after a stop
    (ERESTART_RESTARTBLOCK), an absolute one is restarted as it was (no handler) or EINTR."""
    try:
        if target <= timer.clock():
            return 0
        timer.settime(target, 0, absolute=True)
        while not timer.expirations():
            try:
                yield from t.block_on(HostFdWaitable(timer.fd), POLLIN)
            except SyscallError:
                if timer.expirations():
                    return 0   # it got there meanwhile: the sleep is over
                if not relative:
                    raise
                if rem:
                    try:
                        write_timespec(t, rem, timer.gettime()[0])
                    except SyscallError:
                        raise SyscallError(EFAULT)
                t.restart_block = lambda: _cpu_sleep(t, cpu_clock_timer(t, clockid), clockid, target, rem, True)
                raise SyscallError(ERESTART_RESTARTBLOCK)
        return 0
    finally:
        timer.close()
