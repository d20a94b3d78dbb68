"""ThreadGroup (a process: gVisor's TaskSet member group).

A ThreadGroup owns what its threads share: signal handlers (a SignalHandlers
object, itself shared by CLONE_SIGHAND), shared pending signals, rlimits,
the process group and session (and through it the controlling terminal), its children, and its exit state as a parent
sees it through wait4/waitid.
"""
import time

from snakevisor.abi.resource import default_limits
from snakevisor.sentry.kernel import cputime
from snakevisor.sentry.mm import procmaps
from snakevisor.sentry.vfs.waiter import WaitQueue


class SignalHandlers:
    """sigaction table: signo -> (handler, flags, restorer, mask); shared under CLONE_SIGHAND."""

    def __init__(self, actions=None):
        self.actions = dict(actions or {})

    def copy(self):
        return SignalHandlers(self.actions)

    def get(self, sig):
        return self.actions.get(sig, (0, 0, 0, 0))


class ThreadGroup:
    def __init__(self, kernel, tgid, parent=None, handlers=None):
        self.kernel = kernel
        self.tgid = tgid
        self.parent = parent
        self.pidns = kernel.pidns if kernel is not None else None   # its PID namespace (kernel/pidns.py)
        self.tasks = []
        self.children = []
        self.parent_task = None           # the thread of ``parent`` that made it (Linux's real_parent)
        self.limits = default_limits() if parent is None else dict(parent.limits)
        self.handlers = handlers or SignalHandlers()
        self.shared_pending = {}          # signo -> list of siginfo bytes
        self.unkillable_lost = False      # a forced fault signal ended a namespace init's protection (pidns.protected_init)
        self.pgid = tgid if parent is None else parent.pgid
        self.sid = tgid if parent is None else parent.sid
        self.exit_status = None           # wait status word once every thread has exited
        self.exiting = False              # exit_group or a fatal signal is under way
        self.group_exit_status = None
        self.reaped = False
        self.exit_signal = 17             # what the parent gets when we die (SIGCHLD by default)
        self.exit_tracer = None           # the parent's group, if it traced our leader as it exited
        self.stopped = False              # in a group stop (SIGSTOP and friends)
        self.stop_signal = 0              # the signal that began it
        self.stop_report = None           # wait status to report for WUNTRACED, once
        self.continue_report = False      # report WCONTINUED once
        self.child_events = WaitQueue()   # a child exited, stopped or continued
        self.continued = WaitQueue()      # SIGCONT ends a group stop
        self.vfork_done = WaitQueue()     # a vfork parent waits here
        self.signal_arrivals = WaitQueue()  # a signal was queued to the group or one of its threads
        self.pidfd_waiters = WaitQueue()  # pidfds polling for our exit (and reaping)
        self.subreaper = False
        self.start_time = time.monotonic()
        self.cpu_final = None             # (user, system) seconds, sampled at exit (kernel/cputime.py)
        self.cpu_before_exec = (0.0, 0.0)   # (user, system) seconds run in stubs left by execve
        self.cpu_prev = cputime.PrevCputime()   # the split last given out of its stub's times
        self.children_cpu = (0.0, 0.0)    # of reaped children and their reaped descendants
        self.maxrss = 0                   # bytes: the largest RSS of the address spaces it left (exit, execve)
        self.children_maxrss = 0          # bytes: the largest of reaped children and their reaped descendants
        self.nvcsw = 0                    # voluntary context switches of all its threads, gone ones too
        self.children_nvcsw = 0           # of reaped children and their reaped descendants
        self.ioac = [0, 0, 0, 0]          # I/O of exited threads and reaped children (Linux's signal->ioac)
        self.itimers = {}
        self.cpu_limit = None             # RLIMIT_CPU's watch (kernel/timers.py), once finite
        self.ioprio = 0 if parent is None else parent.ioprio          # ioprio_set's value (inherited)
        self.io_context = None   # Linux's io_context, made by ioprio_set, shared by CLONE_IO (kcmp's KCMP_IO)
        self.personality = 0 if parent is None else parent.personality  # personality(2) (inherited)
        self.mempolicy = (0, 0) if parent is None else parent.mempolicy  # set_mempolicy: (mode, nodes)
        self.oom_score_adj = 0 if parent is None else parent.oom_score_adj   # /proc/PID/oom_score_adj
        self.coredump_filter = 0x33 if parent is None else parent.coredump_filter   # /proc/PID/coredump_filter
        self.dumpable = 1
        self.thp_disabled = 0   # PR_SET_THP_DISABLE's (an mm flag on Linux, kept by fork and exec)
        self.did_exec = False             # setpgid from the parent then fails (EACCES)
        self.posix_timers = {}            # timer_create id -> SignalTimer
        self.on_exit = None               # callback(status) when the group has exited (exec'd processes)
        self.notty_sid = None             # TIOCNOTTY by a non-leader: no ctty while in this session

    @property
    def tty(self):
        """The controlling terminal of our session (a kernel/tty.py Terminal), or None."""
        term = self.kernel.pidns.session_ttys.get(self.sid) if self.kernel is not None else None
        if term is None or self.notty_sid == self.sid:
            return None
        if not term.session_alive() or term.session.sid != self.sid:
            return None   # the session leader has exited: the session lost its terminal
        return term

    @property
    def sigactions(self):
        return self.handlers.actions

    @property
    def leader(self):
        return self.tasks[0] if self.tasks else None

    @property
    def live_tasks(self):
        return [t for t in self.tasks if not t.exited]

    @property
    def is_zombie(self):
        return self.exit_status is not None and not self.reaped

    def leaving_mm(self, mm) -> None:
        """The process leaves ``mm`` (exit, execve): its RSS now may be its high-water mark (Linux
        keeps hiwater_rss in the mm and folds it into the process's at the same points)."""
        if getattr(mm, "task_users", 1) <= 1:   # not a vfork parent's, still in use
            self.maxrss = max(self.maxrss, procmaps.rss_peak(mm, force=True))

    def maxrss_now(self, mm) -> int:
        """getrusage's ru_maxrss of the process, in bytes: the larger of its RSS now and before."""
        return max(self.maxrss, procmaps.rss_peak(mm) if mm is not None else 0)

    def add_io(self, counts) -> None:
        """A thread's, or a reaped child's, I/O accounting joins the process's."""
        self.ioac = [a + b for a, b in zip(self.ioac, counts)]

    def io_totals(self) -> list:
        """/proc/PID/io's rchar, wchar, syscr, syscw: the process's live threads' and the rest."""
        total = list(self.ioac)
        for t in self.tasks:
            if not t.exited:
                total = [a + b for a, b in zip(total, t.ioac)]
        return total
