"""Calls that act on the host's kernel as a whole: swap, process accounting, setting the system
clock. Linux asks for a capability in the initial user namespace (CAP_SYS_ADMIN, CAP_SYS_PACCT,
CAP_SYS_TIME), which no process of a container holds, whatever it holds in its own: each call
makes Linux's argument checks that come before that one, then fails with EPERM.
"""
from snakevisor.abi.errno import EINVAL, EPERM, SyscallError
from snakevisor.abi.mm import SWAP_FLAGS_VALID
from snakevisor.abi.time import TIMEVAL

TIMEZONE_SIZE = 8                  # struct timezone
USEC_PER_SEC = 1_000_000
# The latest time settimeofday accepts (TIME_SETTOD_SEC_ALLOWANCE: KTIME_SEC_MAX less 30 years).
SETTOD_SEC_LIMIT = 9223372036 - 30 * 365 * 86400


def _refused():
    raise SyscallError(EPERM)


def swapon(t, path, flags):
    if flags & 0xFFFFFFFF & ~SWAP_FLAGS_VALID:
        raise SyscallError(EINVAL)
    _refused()


def swapoff(t, path):
    _refused()


def acct(t, path):
    _refused()


def settimeofday(t, tv, tz):
    """The time and timezone are read (EFAULT, EINVAL for microseconds out of range) before the
    capability check."""
    if tv:
        sec, usec = TIMEVAL.unpack(t.mm.copy_in(tv, TIMEVAL.size))
        if not 0 <= sec < SETTOD_SEC_LIMIT or not 0 <= usec < USEC_PER_SEC:
            raise SyscallError(EINVAL)
    if tz:
        t.mm.copy_in(tz, TIMEZONE_SIZE)
    _refused()
