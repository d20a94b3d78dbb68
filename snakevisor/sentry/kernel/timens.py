"""Time namespaces, as Linux's (kernel/time/namespace.c): per-namespace offsets of CLOCK_MONOTONIC
and CLOCK_BOOTTIME (their _RAW, _COARSE and _ALARM variants too).

A task's NamespaceSet holds its time namespace (``time``) and the one its children get
(``time_children``): unshare(CLONE_NEWTIME) makes a new one for the children, with the caller's
offsets; a child of a fork enters it; setns(2) enters one itself. /proc/PID/timens_offsets sets
the offsets of the children's namespace until a task has entered it (EACCES after). Offsets are
added where a clock is read (``clock_ns``: clock_gettime, absolute sleeps and futex waits, which
compare against it) and taken off an absolute timerfd expiry; /proc/uptime adds the boot-time
offset, and so does sysinfo. The host's vDSO reads host clocks without asking the Sentry, so a process loaded while in
a namespace with offsets gets no vDSO (its C library then makes the system calls); one already
running when it enters keeps reading host clocks through its vDSO until it execs.
"""
import time

from snakevisor.abi.capability import CAP_SYS_TIME
from snakevisor.abi.errno import EACCES, EINVAL, EPERM, ERANGE, SyscallError
from snakevisor.abi.fs import PROC_NS_INODES
from snakevisor.abi.time import (CLOCK_BOOTTIME, CLOCK_BOOTTIME_ALARM, CLOCK_MONOTONIC, CLOCK_MONOTONIC_COARSE,
                                 CLOCK_MONOTONIC_RAW, NSEC)

CLOCKS = {"monotonic": CLOCK_MONOTONIC, "boottime": CLOCK_BOOTTIME}
_CLASS = {CLOCK_MONOTONIC: "monotonic", CLOCK_MONOTONIC_RAW: "monotonic", CLOCK_MONOTONIC_COARSE: "monotonic",
          CLOCK_BOOTTIME: "boottime", CLOCK_BOOTTIME_ALARM: "boottime"}
MAX_OFFSET_SEC = (1 << 63) // NSEC // 2   # Linux's KTIME_SEC_MAX / 2


class TimeNamespace:
    kind = "time"

    def __init__(self, ino=PROC_NS_INODES["time"], offsets=None):
        self.ino = ino
        self.offsets = dict(offsets or {"monotonic": 0, "boottime": 0})   # nanoseconds
        self.frozen = False   # a task has entered it: the offsets are for good

    def copy(self, ino):
        """CLONE_NEWTIME: a namespace for the caller's children, starting with its offsets."""
        return TimeNamespace(ino, self.offsets)

    @property
    def shifted(self):
        return any(self.offsets.values())


def offset(ns, clockid):
    """What namespace ``ns`` adds to clock ``clockid`` (nanoseconds)."""
    kind = _CLASS.get(clockid)
    return ns.offsets[kind] if kind is not None else 0


def uptime_ns(kernel, ns):
    """The time since the sandbox booted as seen in time namespace ``ns`` (None: the initial
    one), for /proc/uptime and sysinfo."""
    return int((time.monotonic() - kernel.boot_time) * NSEC) + (ns.offsets["boottime"] if ns else 0)


def entered(ns):
    """A task enters ``ns`` (a fork's child, setns): its offsets can no longer change."""
    ns.frozen = True
    return ns


def show_offsets(ns):
    return "".join(f"{name:<10} {ns.offsets[name] // NSEC:>10} {ns.offsets[name] % NSEC:>9}\n"
                   for name in CLOCKS)


def write_offsets(ns, writer, data, capable):
    """A write to /proc/PID/timens_offsets: lines "<clock> <sec> <nsec>", the clock by name or
    number; all or nothing. ``capable(creds, cap)`` says whether the writer has a capability over
    the namespace (CAP_SYS_TIME)."""
    if writer is not None and not capable(writer.creds, CAP_SYS_TIME):
        raise SyscallError(EPERM)
    new = {}
    for line in data.decode(errors="replace").strip().split("\n"):
        parts = line.split()
        if len(parts) != 3:
            raise SyscallError(EINVAL)
        name = parts[0] if parts[0] in CLOCKS else {str(v): k for k, v in CLOCKS.items()}.get(parts[0])
        try:
            sec, nsec = int(parts[1]), int(parts[2])
        except ValueError:
            raise SyscallError(EINVAL) from None
        if name is None or not 0 <= nsec < NSEC:
            raise SyscallError(EINVAL)
        new[name] = sec * NSEC + nsec
    for name, off in new.items():
        _check_range(name, off, writer.kernel if writer is not None else None)
    if ns.frozen:
        raise SyscallError(EACCES)
    ns.offsets.update(new)


def _check_range(name, off, kernel):
    """proc_timens_set_offset: ERANGE for an offset that would make the clock, read now, negative
    or past KTIME_SEC_MAX / 2. The boot-time clock is read both as clock_gettime gives it (the
    host's) and as /proc/uptime and sysinfo count it (since the sandbox booted): neither may go
    below 0."""
    if abs(off) // NSEC > 2 * MAX_OFFSET_SEC:
        raise SyscallError(ERANGE)
    host = time.clock_gettime_ns(time.CLOCK_BOOTTIME if name == "boottime" else time.CLOCK_MONOTONIC)
    low = min(host, uptime_ns(kernel, None)) if name == "boottime" and kernel is not None else host
    if low + off < 0 or (host + off) // NSEC > MAX_OFFSET_SEC:
        raise SyscallError(ERANGE)
