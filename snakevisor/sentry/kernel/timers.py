"""Kernel timers that send signals: setitimer/alarm, POSIX timers (timer_create) and RLIMIT_CPU.

Each is a host timerfd the Sentry owns (the host keeps time, intervals and
expiration counts exactly); the loop watches it and, when it fires, the
timer's signal is queued for its process or thread. A timer on a CPU-time clock
(ITIMER_VIRTUAL/PROF, a POSIX timer on a process's or a thread's CPU clock) is a
CpuClockTimer: the host arms no timer on another process's clock, so a wall-clock
timerfd wakes it when the clock could have got there, and it reads the clock then.
"""
import ctypes
import os
import struct

from snakevisor.abi import signal as S
from snakevisor.abi.poll import ITIMERSPEC, TFD_TIMER_ABSTIME
from snakevisor.abi.resource import RLIM_INFINITY, RLIMIT_CPU
from snakevisor.abi.time import CLOCK_MONOTONIC, DELAYTIMER_MAX, NSEC
from snakevisor.hostos.libc import checked, libc
from snakevisor.sentry.kernel import cputime


class HostTimer:
    """A non-blocking host timerfd: settime/gettime in nanoseconds, ``expirations()`` drains it."""

    def __init__(self, clockid):
        self.fd = checked(libc.timerfd_create(clockid, os.O_NONBLOCK | os.O_CLOEXEC))

    def settime(self, value_ns, interval_ns, absolute=False):
        """Arm (value 0 disarms); returns the previous (value_ns, interval_ns)."""
        new = ITIMERSPEC.pack(interval_ns // NSEC, interval_ns % NSEC, value_ns // NSEC, value_ns % NSEC)
        old = ctypes.create_string_buffer(ITIMERSPEC.size)
        checked(libc.timerfd_settime(self.fd, TFD_TIMER_ABSTIME if absolute else 0, new, old))
        return self._decode(old.raw)

    def gettime(self):
        cur = ctypes.create_string_buffer(ITIMERSPEC.size)
        checked(libc.timerfd_gettime(self.fd, cur))
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


class CpuClockTimer:
    """A HostTimer's interface (fd, settime, gettime, expirations, close) over a CPU clock
    (``clock()``: its nanoseconds now). ``rate``: how much faster than wall time the clock can run
    (the CPU count for a process, 1 for a thread): the wall-clock timerfd wakes when the target
    could be reached at the earliest, and expirations() counts by the clock itself."""

    GRAIN = 1_000_000   # ns: the earliest look again, whatever is left

    def __init__(self, clock, rate):
        self.clock, self.rate = clock, rate
        self.target, self.interval = None, 0   # the clock's value at the next expiry (None: disarmed)
        self.wake = HostTimer(CLOCK_MONOTONIC)
        self.fd = self.wake.fd

    def _arm(self, used):
        self.wake.settime(max((self.target - used) // self.rate, self.GRAIN), 0)

    def settime(self, value_ns, interval_ns, absolute=False):
        old = self.gettime()
        self.interval = interval_ns
        if not value_ns:
            self.target = None
            self.wake.settime(0, 0)
            return old
        used = self.clock()
        self.target = value_ns if absolute else used + value_ns
        self._arm(used)
        return old

    def gettime(self):
        if self.target is None:
            return 0, self.interval
        return max(self.target - self.clock(), 1), self.interval   # (an expiry due shows 1 ns, as Linux)

    def expirations(self):
        self.wake.expirations()
        if self.target is None:
            return 0
        used = self.clock()
        if used < self.target:
            self._arm(used)
            return 0
        if not self.interval:
            self.target = None
            return 1
        n = 1 + (used - self.target) // self.interval
        self.target += n * self.interval
        self._arm(used)
        return n

    def close(self):
        self.wake.close()


class SignalTimer:
    """A timer whose expiry sends ``sig`` to a thread group (or one thread), with SI_TIMER info;
    on a host clock (``clockid``), or on a CPU clock (``host``: a CpuClockTimer)."""

    def __init__(self, kernel, clockid, tg, sig, task=None, timer_id=0, value=0, code=S.SI_KERNEL, host=None):
        self.kernel, self.tg, self.sig, self.task = kernel, tg, sig, task
        self.timer_id, self.value, self.code = timer_id, value, code
        self.overrun = self.overrun_last = 0
        self._queued = None   # (pending dict, siginfo) of the signal queued last
        self.host = host or HostTimer(clockid)
        self.clockid = clockid   # a time namespace shifts its absolute expiries (syscalls/timer.py)
        kernel.loop.watch_fd(self.host.fd, self._fired)

    def _fired(self):
        n = self.host.expirations()
        if not n or self.sig == 0 or self.tg.exit_status is not None:
            return
        if self.code == S.SI_TIMER and self._requeue(n):
            return
        # A timer set far in the past with a short interval has expired ~10^12 times at once:
        # Linux saturates the count it reports (si_overrun, timer_getoverrun) at DELAYTIMER_MAX.
        self.overrun = min(n - 1, DELAYTIMER_MAX)
        info = self._siginfo()
        signals = self.kernel.signals
        if self.task is not None and not self.task.exited:
            signals.send_to_task(self.task, self.sig, info)
            pending = self.task.pending
        else:
            signals.send_to_group(self.tg, self.sig, info)
            pending = self.tg.shared_pending
        if self.code == S.SI_TIMER:   # setitimer's signals are plain ones
            self._queued = (pending, info)

    def _siginfo(self):
        if self.code == S.SI_TIMER:
            return S.SIGINFO_TIMER.pack(self.sig, 0, S.SI_TIMER, self.timer_id, self.overrun,
                                        self.value).ljust(S.SIGINFO_SIZE, b"\0")
        return S.SIGINFO_KILL.pack(self.sig, 0, self.code, 0, 0).ljust(S.SIGINFO_SIZE, b"\0")

    def _queued_index(self):
        """Where the signal this timer queued last still waits in its pending list (None: taken)."""
        if self._queued is None:
            return None
        pending, info = self._queued
        for i, queued in enumerate(pending.get(self.sig, ())):
            if queued is info:
                return i
        self._queued = None
        self.overrun_last = self.overrun   # it was delivered with that count
        return None

    def _requeue(self, n):
        """A POSIX timer's signal is queued once: expirations while it is still pending are
        overruns of that signal (its si_overrun grows), as on Linux. True if it was pending."""
        i = self._queued_index()
        if i is None:
            return False
        pending = self._queued[0]
        self.overrun = min(self.overrun + n, DELAYTIMER_MAX)
        info = pending[self.sig][i] = self._siginfo()
        self._queued = (pending, info)
        return True

    def _drop_queued(self):
        """Re-arming or deleting a POSIX timer drops its pending signal (Linux 6.13's it_signal_seq)."""
        i = self._queued_index()
        if i is not None:
            pending = self._queued[0]
            del pending[self.sig][i]
            if not pending[self.sig]:
                del pending[self.sig]
            self._queued = None

    def getoverrun(self):
        """timer_getoverrun: the overrun count of the signal delivered last."""
        self._queued_index()
        return self.overrun_last

    def settime(self, value_ns, interval_ns, absolute=False):
        self._drop_queued()
        return self.host.settime(value_ns, interval_ns, absolute)

    def gettime(self):
        return self.host.gettime()

    def close(self):
        self._drop_queued()
        self.kernel.loop.unwatch_fd(self.host.fd)
        self.host.close()


TICK_NS = NSEC // 250   # a scheduler tick (CONFIG_HZ=250), where Linux checks CPU-time limits


class CpuLimit:
    """RLIMIT_CPU of a thread group, as Linux's check_process_timers: SIGXCPU once its CPU time
    reaches the soft limit, which then moves a second up (so SIGXCPU comes again each second),
    and SIGKILL at the hard limit."""

    def __init__(self, kernel, tg):
        self.kernel, self.tg = kernel, tg
        self.host = CpuClockTimer(lambda: cputime.process_cpu_ns(tg), cputime.NCPUS)
        kernel.loop.watch_fd(self.host.fd, self._fired)

    def update(self):
        """(Re)arm for the group's limits now; disarmed while the soft limit is infinite."""
        soft, hard = self.tg.limits[RLIMIT_CPU]
        if soft >= RLIM_INFINITY or self.tg.exit_status is not None:
            self.host.settime(0, 0)
            return
        deadline = soft * NSEC
        if hard < RLIM_INFINITY:
            deadline = min(deadline, hard * NSEC)
        # Linux notices a limit passed already at a tick of a running thread (check_process_timers):
        # its signal comes once the group has run a little more, never while it sleeps.
        now = cputime.process_cpu_ns(self.tg)
        self.host.settime(max(deadline, now + TICK_NS), 0, absolute=True)

    def _fired(self):
        if not self.host.expirations() or self.tg.exit_status is not None or self.tg.exiting:
            return
        soft, hard = self.tg.limits[RLIMIT_CPU]
        used = cputime.process_cpu_ns(self.tg)
        signals = self.kernel.signals
        if hard < RLIM_INFINITY and used >= hard * NSEC:
            signals.send_to_group(self.tg, S.SIGKILL)
            return
        if soft < RLIM_INFINITY and used >= soft * NSEC:
            signals.send_to_group(self.tg, S.SIGXCPU)
            if soft < hard:
                self.tg.limits[RLIMIT_CPU] = (soft + 1, hard)
        self.update()

    def close(self):
        self.kernel.loop.unwatch_fd(self.host.fd)
        self.host.close()


class CpuItimer:
    """setitimer's ITIMER_VIRTUAL (the process's user time) and ITIMER_PROF (user and system time):
    ``sig`` when that much CPU time has run, then each ``interval`` of it; sleeping counts nothing."""

    def __init__(self, kernel, tg, sig, user_only):
        self.kernel, self.tg, self.sig, self.user_only = kernel, tg, sig, user_only
        self.host = CpuClockTimer(self._used, cputime.NCPUS)
        kernel.loop.watch_fd(self.host.fd, self._fired)
        self.turn = 0   # (_running's rotation)

    def _used(self):
        # group_times: the precise runtime split as user and system, not the host's tick-sampled
        # VIRT clock, which under ptrace lags the CPU time the application measures by far
        user, system = cputime.group_times(self.tg)
        return int((user if self.user_only else user + system) * NSEC)

    def gettime(self):
        return self.host.gettime()

    def settime(self, value_ns, interval_ns):
        return self.host.settime(value_ns, interval_ns)

    def _fired(self):
        if self.host.expirations() and self.tg.exit_status is None and not self.tg.exiting:
            self.kernel.signals.send_to_group(self.tg, self.sig, prefer=self._running())

    def close(self):
        self.kernel.loop.unwatch_fd(self.host.fd)
        self.host.close()

    def _running(self):
        """A thread running application code now, in turn among several: Linux's tick finds one
        running and signals the process through it (complete_signal prefers the current thread),
        so a profiler's SIGPROF samples the threads that use the CPU, not the first one, asleep."""
        on_stub = self.kernel.loop.on_stub
        running = [t for t in self.tg.tasks if not t.exited and on_stub(t)]
        if not running:
            return None
        self.turn += 1
        return running[self.turn % len(running)]


def cpu_limit_changed(kernel, tg):
    """The group's RLIMIT_CPU was set, or a process with a finite one starts: watch it."""
    if tg.cpu_limit is None:
        if tg.limits[RLIMIT_CPU][0] >= RLIM_INFINITY:
            return
        tg.cpu_limit = CpuLimit(kernel, tg)
    tg.cpu_limit.update()
