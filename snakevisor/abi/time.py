"""Time values of the ABI and Linux's arithmetic on them: ktime_t saturation, poll/select end times.

An application may pass any timespec Linux accepts (tv_sec up to 2^63-1); Linux clamps
such times instead of overflowing (timespec64_to_ktime, ktime_add_safe,
timespec64_add_safe), so a sleep of 2^63-1 seconds is valid and reports a remaining
time measured from KTIME_MAX. These helpers do the same on Python ints, so nothing
derived from them overflows a 64-bit field when it is written back.
"""
import ctypes
import struct

NSEC = 1_000_000_000
USEC = 1_000_000
S64_MAX = (1 << 63) - 1
INT_MAX = (1 << 31) - 1
KTIME_MAX = S64_MAX                  # ktime_t: signed 64-bit nanoseconds
KTIME_SEC_MAX = KTIME_MAX // NSEC
TIME64_MAX = S64_MAX                 # time64_t: signed 64-bit seconds
DELAYTIMER_MAX = INT_MAX             # the largest POSIX timer overrun count reported
CLK_TCK = 100                        # USER_HZ: the tick of times(2) and /proc's clock_t fields

# Clock ids (<linux/time.h>); clock_nanosleep/timer_settime's flag.
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
# CPU-time clock ids of a process or thread: ~pid << 3 | CPUCLOCK_PERTHREAD? | which.
CPUCLOCK_PROF, CPUCLOCK_VIRT, CPUCLOCK_SCHED = 0, 1, 2
CPUCLOCK_PERTHREAD = 4
# A thread's own CPU clock (pid 0, per thread) of each ``which``, as a 32-bit clockid_t zero-extended
# to the 64-bit register a host syscall takes.
OWN_THREAD_CPUCLOCK = {which: ((~0 << 3) | CPUCLOCK_PERTHREAD | which) & 0xFFFFFFFF
                       for which in (CPUCLOCK_PROF, CPUCLOCK_VIRT, CPUCLOCK_SCHED)}
ITIMER_REAL, ITIMER_VIRTUAL, ITIMER_PROF = 0, 1, 2   # setitimer(2)'s timers

TIMESPEC = struct.Struct("<qq")      # tv_sec, tv_nsec
TIMEVAL = struct.Struct("<qq")       # tv_sec, tv_usec


class Timespec(ctypes.Structure):    # struct timespec, for host calls
    _fields_ = [("tv_sec", ctypes.c_long), ("tv_nsec", ctypes.c_long)]


def timespec_valid(sec: int, nsec: int) -> bool:
    """timespec64_valid: what every syscall taking a timeout accepts."""
    return sec >= 0 and 0 <= nsec < NSEC


def timespec_to_ktime(sec: int, nsec: int) -> int:
    """timespec64_to_ktime: nanoseconds, KTIME_MAX for anything longer (a valid timespec)."""
    if sec >= KTIME_SEC_MAX:
        return KTIME_MAX
    return sec * NSEC + nsec


def ktime_add_safe(a: int, b: int) -> int:
    """ktime_add_safe: a + b, saturated at KTIME_MAX."""
    return min(a + b, KTIME_MAX)


def timespec_end_ns(now_ns: int, sec: int, nsec: int) -> int:
    """poll_select_set_timeout's end time (now + timeout, timespec64_add_safe) in nanoseconds;
    0 (Linux's {0, 0}) for a zero timeout, which poll/select never write back."""
    if sec == 0 and nsec == 0:
        return 0
    end = now_ns + sec * NSEC + nsec
    if end // NSEC > TIME64_MAX:
        end = TIME64_MAX * NSEC
    return end


def normalise_timeval(sec: int, usec: int) -> tuple[int, int]:
    """select(2)'s timeval as the (sec, nsec) Linux validates: tv_usec is normalised first, with C's
    truncating division and the 64-bit wrap-around of the sum."""
    q = abs(usec) // USEC * (1 if usec >= 0 else -1)
    total = (sec + q + (1 << 63)) % (1 << 64) - (1 << 63)
    return total, (usec - q * USEC) * 1000

