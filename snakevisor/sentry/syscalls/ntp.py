"""adjtimex(2) and clock_adjtime(2): the kernel's NTP clock discipline, read-only.

The sandbox's clock is the host's and no NTP daemon disciplines it from inside, so these report
what Linux reports for an undisciplined clock (unsynchronised: TIME_ERROR, STA_UNSYNC, the phase
limit as errors) with the current time. Adjusting the clock needs CAP_SYS_TIME over the host's
clock, which no container has: EPERM, after Linux's own argument checks.
"""
import struct
import time

from snakevisor.abi import timex as X
from snakevisor.abi.errno import EINVAL, EOPNOTSUPP, EPERM, SyscallError
from snakevisor.abi.fs import to_s32
from snakevisor.abi.time import CLOCK_REALTIME, CLOCK_TAI

# clock ids below 16 that Linux knows (10 was CLOCK_SGI_CYCLE, gone); only CLOCK_REALTIME adjusts.
KNOWN_CLOCKS = set(range(CLOCK_TAI + 1)) - {10}
CLOCKFD = 3


def _validate(modes):
    """timekeeping_validate_timex, for a caller without CAP_SYS_TIME over the clock."""
    if modes & X.ADJ_ADJTIME:
        if not modes & X.ADJ_OFFSET_SINGLESHOT:
            raise SyscallError(EINVAL)
        if not modes & X.ADJ_OFFSET_READONLY:
            raise SyscallError(EPERM)
    elif modes:
        raise SyscallError(EPERM)


def _fill(buf):
    """__do_adjtimex's report into ``buf`` (the caller's struct, padding and modes kept)."""
    now = time.time_ns()
    struct.pack_into("<qqqq", buf, X.TIMEX_LONGS_1, 0, 0, X.NTP_PHASE_LIMIT, X.NTP_PHASE_LIMIT)
    struct.pack_into("<i", buf, X.TIMEX_STATUS, X.STA_UNSYNC)
    struct.pack_into("<qqqqqqqq", buf, X.TIMEX_LONGS_2, X.NTP_TIME_CONSTANT, X.NTP_PRECISION, X.NTP_TOLERANCE,
                     now // 1_000_000_000, now % 1_000_000_000 // 1000, X.TICK_USEC, 0, 0)
    struct.pack_into("<i", buf, X.TIMEX_SHIFT, 0)
    struct.pack_into("<qqqqq", buf, X.TIMEX_LONGS_3, 0, 0, 0, 0, 0)
    struct.pack_into("<i", buf, X.TIMEX_TAI, 0)
    return X.TIME_ERROR       # an unsynchronised clock's state


def _adjtimex(t, addr):
    buf = bytearray(t.mm.copy_in(addr, X.TIMEX_SIZE))
    modes = struct.unpack_from("<I", buf, X.TIMEX_MODES)[0]
    _validate(modes)
    result = _fill(buf)
    t.mm.copy_out(addr, bytes(buf))
    return result


adjtimex = _adjtimex


def clock_adjtime(t, clockid, addr):
    clockid = to_s32(clockid)
    t.mm.copy_in(addr, X.TIMEX_SIZE)       # Linux copies the struct in before looking at the clock
    if clockid == CLOCK_REALTIME:
        return _adjtimex(t, addr)
    if clockid in KNOWN_CLOCKS:
        raise SyscallError(EOPNOTSUPP)     # no other clock has an adjustment
    if clockid < 0 and clockid & 7 != CLOCKFD:
        raise SyscallError(EOPNOTSUPP)     # a CPU-time clock: Linux has no adjustment for one
    raise SyscallError(EINVAL)             # unknown, or a clock device (there are none here)
