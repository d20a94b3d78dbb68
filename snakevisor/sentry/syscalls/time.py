"""Clocks and sleeping: clock_gettime/getres, gettimeofday, time, nanosleep, clock_nanosleep."""
import struct
import time as host_time

from snakevisor.abi.errno import EFAULT, EINVAL, EOPNOTSUPP, EPERM, SyscallError
from snakevisor.abi.fs import to_s32
from snakevisor.sentry.syscalls.table import syscall

CLOCK_REALTIME = 0
CLOCK_MONOTONIC = 1
CLOCK_PROCESS_CPUTIME_ID = 2
CLOCK_THREAD_CPUTIME_ID = 3
CLOCK_MONOTONIC_RAW = 4
CLOCK_REALTIME_COARSE = 5
CLOCK_MONOTONIC_COARSE = 6
CLOCK_BOOTTIME = 7
CLOCK_REALTIME_ALARM = 8
CLOCK_BOOTTIME_ALARM = 9
CLOCK_TAI = 11
TIMER_ABSTIME = 1
TIMESPEC = struct.Struct("<qq")
NSEC = 1_000_000_000

_HOST_CLOCK = {
    CLOCK_REALTIME: host_time.CLOCK_REALTIME, CLOCK_MONOTONIC: host_time.CLOCK_MONOTONIC,
    CLOCK_PROCESS_CPUTIME_ID: host_time.CLOCK_MONOTONIC, CLOCK_THREAD_CPUTIME_ID: host_time.CLOCK_MONOTONIC,
    CLOCK_MONOTONIC_RAW: host_time.CLOCK_MONOTONIC_RAW, CLOCK_REALTIME_COARSE: host_time.CLOCK_REALTIME,
    CLOCK_MONOTONIC_COARSE: host_time.CLOCK_MONOTONIC, CLOCK_BOOTTIME: host_time.CLOCK_BOOTTIME,
    CLOCK_REALTIME_ALARM: host_time.CLOCK_REALTIME, CLOCK_BOOTTIME_ALARM: host_time.CLOCK_BOOTTIME,
    CLOCK_TAI: host_time.CLOCK_TAI,
}


def clock_ns(t, clockid):
    clockid = to_s32(clockid)
    if clockid in (CLOCK_PROCESS_CPUTIME_ID, CLOCK_THREAD_CPUTIME_ID) or clockid < 0:
        # CPU-time clocks (and the negative per-process ids): the sandbox's elapsed time stands in.
        return host_time.monotonic_ns() - int(t.kernel.boot_time * NSEC)
    host = _HOST_CLOCK.get(clockid)
    if host is None:
        raise SyscallError(EINVAL)
    return host_time.clock_gettime_ns(host)


def read_timespec(t, addr):
    sec, nsec = TIMESPEC.unpack(t.mm.copy_in(addr, 16))
    if sec < 0 or not 0 <= nsec < NSEC:
        raise SyscallError(EINVAL)
    return sec * NSEC + nsec


def write_timespec(t, addr, ns):
    t.mm.copy_out(addr, TIMESPEC.pack(ns // NSEC, ns % NSEC))


@syscall("clock_gettime", ("clockid", "ptr"))
def clock_gettime(t, clockid, addr):
    write_timespec(t, addr, clock_ns(t, clockid))
    return 0


@syscall("clock_getres", ("clockid", "ptr"))
def clock_getres(t, clockid, addr):
    clockid = to_s32(clockid)
    if clockid not in _HOST_CLOCK:
        raise SyscallError(EINVAL)
    if addr:
        res = 4_000_000 if clockid in (CLOCK_REALTIME_COARSE, CLOCK_MONOTONIC_COARSE) else 1
        write_timespec(t, addr, res)
    return 0


@syscall("clock_settime", ("clockid", "ptr"))
def clock_settime(t, clockid, addr):
    clockid = to_s32(clockid)
    read_timespec(t, addr)
    # Only the realtime clock is settable at all; the sandbox may not set the host's.
    raise SyscallError(EPERM if clockid == CLOCK_REALTIME else EINVAL)


@syscall("gettimeofday", ("ptr", "ptr"))
def gettimeofday(t, tv, tz):
    ns = host_time.time_ns()
    if tv:
        t.mm.copy_out(tv, struct.pack("<qq", ns // NSEC, ns % NSEC // 1000))
    if tz:
        t.mm.copy_out(tz, struct.pack("<ii", 0, 0))
    return 0


@syscall("time", ("ptr",))
def time(t, addr):
    now = host_time.time_ns() // NSEC
    if addr:
        t.mm.copy_out(addr, struct.pack("<q", now))
    return now


@syscall("nanosleep", ("ptr", "ptr"))
def nanosleep(t, req, rem):
    ns = read_timespec(t, req)
    deadline = host_time.monotonic() + ns / NSEC
    yield from _sleep(t, deadline, rem)
    return 0


@syscall("clock_nanosleep", ("clockid", "int", "ptr", "ptr"))
def clock_nanosleep(t, clockid, flags, req, rem):
    clockid = to_s32(clockid)
    if clockid == CLOCK_THREAD_CPUTIME_ID:
        raise SyscallError(EOPNOTSUPP)
    if clockid not in _HOST_CLOCK:
        raise SyscallError(EINVAL)
    ns = read_timespec(t, req)
    if flags & TIMER_ABSTIME:
        delta = ns - clock_ns(t, clockid)
        rem = 0
    else:
        delta = ns
    deadline = host_time.monotonic() + max(delta, 0) / NSEC
    yield from _sleep(t, deadline, rem)
    return 0


def _sleep(t, deadline, rem):
    try:
        yield from t.sleep_until(deadline)
    except SyscallError:
        if rem:
            left = max(0, int((deadline - host_time.monotonic()) * NSEC))
            try:
                write_timespec(t, rem, left)
            except SyscallError:
                raise SyscallError(EFAULT)
        raise
