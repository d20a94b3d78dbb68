"""Kernel timers that send signals: setitimer/alarm and POSIX timers (timer_create).

Each is a host timerfd the Sentry owns (the host keeps time, intervals and
expiration counts exactly); the loop watches it and, when it fires, the
timer's signal is queued for its process or thread.
"""
import ctypes
import os
import struct

from snakevisor.abi import signal as S
from snakevisor.abi.errno import EINVAL, SyscallError
from snakevisor.abi.time import DELAYTIMER_MAX, NSEC

_libc = ctypes.CDLL(None, use_errno=True)
ITIMERSPEC = struct.Struct("<qqqq")  # it_interval (sec, nsec), it_value (sec, nsec)
TFD_TIMER_ABSTIME = 1


def _check(ret):
    if ret < 0:
        raise SyscallError(ctypes.get_errno() or EINVAL)
    return ret


class HostTimer:
    """A non-blocking host timerfd: settime/gettime in nanoseconds, ``expirations()`` drains it."""

    def __init__(self, clockid):
        self.fd = _check(_libc.timerfd_create(clockid, os.O_NONBLOCK | os.O_CLOEXEC))

    def settime(self, value_ns, interval_ns, absolute=False):
        """Arm (value 0 disarms); returns the previous (value_ns, interval_ns)."""
        new = ITIMERSPEC.pack(interval_ns // NSEC, interval_ns % NSEC, value_ns // NSEC, value_ns % NSEC)
        old = ctypes.create_string_buffer(ITIMERSPEC.size)
        _check(_libc.timerfd_settime(self.fd, TFD_TIMER_ABSTIME if absolute else 0, new, old))
        return self._decode(old.raw)

    def gettime(self):
        cur = ctypes.create_string_buffer(ITIMERSPEC.size)
        _check(_libc.timerfd_gettime(self.fd, cur))
        return self._decode(cur.raw)

    @staticmethod
    def _decode(raw):
        isec, insec, vsec, vnsec = ITIMERSPEC.unpack(raw)
        return vsec * NSEC + vnsec, isec * NSEC + insec

    def expirations(self):
        try:
            return struct.unpack("<Q", os.read(self.fd, 8))[0]
        except BlockingIOError:
            return 0

    def close(self):
        os.close(self.fd)


class SignalTimer:
    """A timer whose expiry sends ``sig`` to a thread group (or one thread), with SI_TIMER info."""

    def __init__(self, kernel, clockid, tg, sig, task=None, timer_id=0, value=0, code=S.SI_KERNEL):
        self.kernel, self.tg, self.sig, self.task = kernel, tg, sig, task
        self.timer_id, self.value, self.code = timer_id, value, code
        self.overrun = 0
        self.host = HostTimer(clockid)
        kernel.loop.watch_fd(self.host.fd, self._fired)

    def _fired(self):
        n = self.host.expirations()
        if not n or self.sig == 0 or self.tg.exit_status is not None:
            return
        # A timer set far in the past with a short interval has expired ~10^12 times at once:
        # Linux saturates the count it reports (si_overrun, timer_getoverrun) at DELAYTIMER_MAX.
        self.overrun = min(n - 1, DELAYTIMER_MAX)
        if self.code == S.SI_TIMER:
            info = S.SIGINFO_TIMER.pack(self.sig, 0, S.SI_TIMER, self.timer_id, self.overrun,
                                        self.value).ljust(S.SIGINFO_SIZE, b"\0")
        else:
            info = S.SIGINFO_KILL.pack(self.sig, 0, self.code, 0, 0).ljust(S.SIGINFO_SIZE, b"\0")
        signals = self.kernel.signals
        if self.task is not None and not self.task.exited:
            signals.send_to_task(self.task, self.sig, info)
        else:
            signals.send_to_group(self.tg, self.sig, info)

    def settime(self, value_ns, interval_ns, absolute=False):
        return self.host.settime(value_ns, interval_ns, absolute)

    def gettime(self):
        return self.host.gettime()

    def close(self):
        self.kernel.loop.unwatch_fd(self.host.fd)
        self.host.close()
