"""CPU time of the sandbox's processes: read from the host CPU clocks of their stubs.

The application's instructions run in its stub process, so the host kernel already
accounts them: a POSIX CPU clock (clock_gettime on ~pid << 3 | which) gives a stub
process's user time (VIRT) and user+system time (PROF), or one stub thread's (with
the per-thread bit). A thread group's figures are sampled as it exits (its stub is
gone after), and added to its parent's children's times when the parent reaps it,
as Linux does for getrusage(RUSAGE_CHILDREN), times() and /proc/PID/stat.
"""
import os
import time as host_time

from snakevisor.abi.time import CPUCLOCK_PERTHREAD, CPUCLOCK_PROF, CPUCLOCK_SCHED, CPUCLOCK_VIRT
from snakevisor.sentry.platform.interface import StubGone

# The CPUs the sandbox sees (sysfs, /proc/stat, sched_getaffinity). Asked once at import: once the
# Sentry's root is empty, glibc finds no /sys or /proc to count them in and says 1.
NCPUS = os.cpu_count() or 1


def host_cpu_ns(host_id: int, which: int, per_thread: bool = False) -> int:
    """A host CPU clock of process (or thread) ``host_id``; 0 if it is gone."""
    try:
        return host_time.clock_gettime_ns(((~host_id) << 3) | (CPUCLOCK_PERTHREAD if per_thread else 0) | which)
    except OSError:
        return 0


class PrevCputime:
    """Linux's prev_cputime: the (user, system) nanoseconds last given out for one source of
    clocks (``key``: a stub process, or a stub thread), so that neither ever goes backwards."""
    __slots__ = ("key", "utime", "stime")

    def __init__(self):
        self.key, self.utime, self.stime = None, 0, 0

    def adjust(self, key, rtime: int, utime: int, stime: int) -> tuple[float, float]:
        """(user, system) seconds: the precise runtime ``rtime`` (SCHED) split in the proportion of
        the tick-sampled ``utime`` and ``stime``, as Linux's cputime_adjust does for getrusage,
        times() and /proc/PID/stat: the proportion moves as ticks land, and a part that would
        shrink keeps its last value, the other taking the rest."""
        if key != self.key:
            self.key, self.utime, self.stime = key, 0, 0
        if self.utime + self.stime < rtime:   # else: the runtime has not grown (a filter, as Linux's)
            if stime == 0:
                utime = rtime
            elif utime == 0:
                stime = rtime
            else:
                stime = min(stime * rtime // (stime + utime), rtime)
            stime = max(stime, self.stime)
            utime = rtime - stime
            if utime < self.utime:
                utime = self.utime
                stime = rtime - utime
            self.utime, self.stime = utime, stime
        return self.utime / 1e9, self.stime / 1e9


def _user_system(host_id: int, prev: PrevCputime) -> tuple[float, float]:
    """A stub process's (user, system) seconds, adjusted against ``prev``."""
    total = host_cpu_ns(host_id, CPUCLOCK_SCHED)
    user = host_cpu_ns(host_id, CPUCLOCK_VIRT)
    prof = host_cpu_ns(host_id, CPUCLOCK_PROF)
    return prev.adjust(host_id, total, user, max(prof - user, 0))


def _live_ctx(tg, exited_too=False):
    return next((t.ctx for t in tg.tasks if (exited_too or not t.exited) and t.ctx is not None), None)


def group_times(tg) -> tuple[float, float]:
    """(user, system) seconds of thread group ``tg``: final once it has exited. Its stub's, and
    those of the stubs it ran in before an execve (``cpu_before_exec``)."""
    if tg.cpu_final is not None:
        return tg.cpu_final
    return _with_exec(tg, _stub_times(tg, _live_ctx(tg)))


def _stub_times(tg, ctx):
    return _user_system(ctx.address_space.pid, tg.cpu_prev) if ctx is not None else (0.0, 0.0)


def _with_exec(tg, times):
    before = tg.cpu_before_exec
    return times[0] + before[0], times[1] + before[1]


def exec_leaves(tg, ctx, shared) -> None:
    """``tg`` leaves the stub of ``ctx`` for a new one (execve): what it ran there stays its own
    (Linux keeps a process's times across exec), unless the stub is another process's too
    (a vfork child's is its parent's)."""
    if not shared:
        tg.cpu_before_exec = _with_exec(tg, _stub_times(tg, ctx))


def process_cpu_ns(tg, which=CPUCLOCK_SCHED) -> int:
    """A process's CPU clock in nanoseconds (``which``: VIRT, user time; PROF or SCHED, user and
    system time): its stub's host clock and the time of the stubs it left by execve; final once
    it has exited. CPU-time clocks, RLIMIT_CPU and the CPU-time interval timers read this."""
    user_only = which == CPUCLOCK_VIRT
    if tg.cpu_final is not None:
        user, system = tg.cpu_final
        return int((user if user_only else user + system) * 1e9)
    ctx = _live_ctx(tg)
    user, system = tg.cpu_before_exec
    before = int((user if user_only else user + system) * 1e9)
    return before + (host_cpu_ns(ctx.address_space.pid, which) if ctx is not None else 0)


def thread_cpu_ns(task, which, caller) -> int:
    """One Task's CPU clock (``which``) as CLOCK_THREAD_CPUTIME_ID reads it (thread_clocks)."""
    return thread_clocks(task, (which,), caller)[0]


def thread_clocks(task, whiches, caller) -> list:
    """One Task's CPU clocks ``whiches`` (CPUCLOCK_PROF, VIRT, SCHED) in nanoseconds. The host lets
    no process read another's per-thread CPU clocks, so the stub thread itself is asked
    (Context.thread_cpu_ns): the ``caller``'s is stopped in this syscall; another is asked where
    it waits, or stopped once for all the questions if it runs application code (a JVM's
    ThreadMXBean reads its threads' clocks so). Where the platform cannot ask, its process's:
    exact for a process of one thread, more otherwise."""
    ctx = task.ctx
    if ctx is None:
        return [0] * len(whiches)
    if task is caller:
        own = [ctx.thread_cpu_ns(w) for w in whiches]
    else:
        try:
            with task.kernel.stopped_task(task) as stopped:
                own = [stopped.thread_cpu_ns(w) if stopped is not None else None for w in whiches]
        except StubGone:
            own = [None] * len(whiches)
    return [n if n is not None else host_cpu_ns(ctx.address_space.pid, w) for n, w in zip(own, whiches)]


def thread_times(task, caller=None) -> tuple[float, float]:
    """(user, system) seconds of one Task (getrusage's RUSAGE_THREAD, /proc/PID/task/TID/stat):
    its own for the ``caller`` where the platform can ask, else its process's (thread_clocks)."""
    if task.ctx is None:
        return 0.0, 0.0
    total, user, prof = thread_clocks(task, (CPUCLOCK_SCHED, CPUCLOCK_VIRT, CPUCLOCK_PROF), caller)
    return task.cpu_prev.adjust(task.ctx, total, user, max(prof - user, 0))


def group_exiting(tg) -> None:
    """Sample ``tg``'s times while its stub still exists (it is about to go)."""
    if tg.cpu_final is None:
        tg.cpu_final = _with_exec(tg, _stub_times(tg, _live_ctx(tg, exited_too=True)))
        k = tg.kernel
        k.cpu_of_exited = (k.cpu_of_exited[0] + tg.cpu_final[0], k.cpu_of_exited[1] + tg.cpu_final[1])


def sandbox_times(kernel) -> tuple[float, float]:
    """(user, system) seconds of every process the sandbox has run: the exited ones' figures
    (kept by group_exiting) and the live ones' now."""
    user, system = kernel.cpu_of_exited
    for tg in kernel.pidns.thread_groups.values():
        if tg.cpu_final is None:
            u, s = group_times(tg)
            user, system = user + u, system + s
    return user, system


def child_reaped(parent, child) -> None:
    """A waited-for child's times, and its own children's, count as the parent's children's; so
    do its context switches, the largest of their RSS high-water marks (ru_maxrss), and their I/O
    accounting."""
    parent.children_maxrss = max(parent.children_maxrss, child.maxrss, child.children_maxrss)
    parent.children_nvcsw += child.nvcsw + child.children_nvcsw
    parent.add_io(child.io_totals())   # (wait_task_zombie adds the child's ioac to the parent's)
    user, system = group_times(child)
    cu, cs = child.children_cpu
    pu, ps = parent.children_cpu
    parent.children_cpu = (pu + user + cu, ps + system + cs)
