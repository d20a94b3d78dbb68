"""Kernel: the Sentry's global state — tasks, thread groups, PIDs, the loop, the VFS — and the
lifecycle of processes: creating the init process, exits, zombies and reaping, killing groups.

Cloning lives in kernel/clone.py and execve in kernel/exec.py.
"""
import inspect
import os
import sys
import time
import traceback
import weakref
from contextlib import contextmanager

from snakevisor.abi import signal as S
from snakevisor.abi.poll import POLLHUP, POLLIN, POLLRDNORM
from snakevisor.abi.syscall_numbers import SYSCALL_NAMES
from snakevisor.abi.utsname import random_uuid
from snakevisor.sentry.kernel import cputime, ptrace, seccomp, timers
from snakevisor.sentry.kernel.creds import Credentials
from snakevisor.sentry.kernel.futex import FutexManager
from snakevisor.sentry.kernel.ipc import IPCNamespace
from snakevisor.sentry.kernel.loop import Loop
from snakevisor.sentry.kernel.namespaces import NamespaceSet, UTSNamespace, set_namespaces
from snakevisor.sentry.kernel.signals import Signals, make_siginfo
from snakevisor.sentry.kernel.task import Task, TaskExit
from snakevisor.sentry.kernel.pidns import PIDNamespace, seen_from
from snakevisor.sentry.kernel.threadgroup import ThreadGroup
from snakevisor.sentry.loader import loader
from snakevisor.sentry.mm.manager import MemoryManager
from snakevisor.sentry.platform.interface import EXIT, StubGone
from snakevisor.sentry.vfs.resolve import display_path, mangle


def _running(task) -> bool:
    """Is ``task``'s coroutine the one executing now (the caller, somewhere up the stack)?"""
    return inspect.getgeneratorstate(task.coro) == inspect.GEN_RUNNING


class Kernel:
    def __init__(self, platform, memory_file, vfs, strace=None, hostname=b"snakevisor", log=None):
        self.platform = platform
        self.net_raw = False   # --net-raw: raw and packet sockets for tasks with CAP_NET_RAW (net/inet.py)
        # kernel.sched_rr_timeslice_ms (sched_rr_get_interval's slice), sched_rt_period_us and
        # sched_rt_runtime_us: kept and checked as Linux's, the host schedules the stubs
        self.sched_rt = {"sched_rr_timeslice_ms": 100, "sched_rt_period_us": 1000000, "sched_rt_runtime_us": 950000}
        self.memory_file = memory_file
        self.vfs = vfs
        self.strace = strace
        self.uts = UTSNamespace(hostname)
        self.pidns = PIDNamespace()
        self.loop = Loop(self._stray_status, self._task_crashed)
        platform.attach(self.loop)
        self.boot_time = time.monotonic()
        self.cpu_of_exited = (0.0, 0.0)   # (user, system) seconds of exited processes (kernel/cputime.py)
        self.context_switches = 0         # every Task's waits: /proc/stat's ctxt (Task._resumed)
        self.init = None
        self.log = log or (lambda msg: print(f"snakevisor: {msg}", file=sys.stderr))
        self._warned = set()
        self._rate_limited = {}      # key -> [time of the last line, lines held back since]
        self.signals = Signals(self)
        self.host_tids = {}          # host tid -> Task
        self.doomed = {}             # host tid -> stub Context to end at its next stop
        self.futexes = FutexManager()
        self.ipc_namespaces = weakref.WeakSet()   # every live IPC namespace: exits apply SEM_UNDO in each
        self.ipc = IPCNamespace(self)   # System V IPC objects (the sandbox's initial IPC namespace)
        self.init_ns = NamespaceSet(self.uts, self.ipc, vfs, self.pidns)   # the initial namespaces (kernel/namespaces.py)
        self.procfs = self.devpts = None   # the sandbox's single ones, for mount(2) (set by the boot code)
        self.boot_id = random_uuid()
        self.open_exec = None        # set by the boot code: (task, path) -> FileDescription
        self.max_tasks = None        # pids limit (None: unlimited)
        self.foreground_pgid = None  # the terminal's foreground group (None: init's)

    @staticmethod
    def monotonic():
        return time.monotonic()

    # -- start-up -----------------------------------------------------------
    def create_init(self, path, argv, envp, fdtable, fs, creds=None, open_exec=None):
        """The sandbox's first process (pid 1): when it exits, the sandbox ends."""
        if open_exec is not None:
            self.open_exec = open_exec
        task = self.create_process(path, argv, envp, fdtable, fs, creds)
        self.init = self.pidns.init = task.tg
        return task

    def create_process(self, path, argv, envp, fdtable, fs, creds=None, parent=None, on_exit=None):
        """A new process running ``path`` (loaded, registers set, not yet started: see start_task).

        ``parent`` None makes it a child of nobody inside the sandbox (an exec'd process, like
        `runsc exec`); ``on_exit(status)`` is called when it has exited."""
        creds = creds or Credentials()
        tgid = self.pidns.allocate()
        tg = ThreadGroup(self, tgid, parent)
        if parent is not None:
            parent.children.append(tg)
        tg.on_exit = on_exit
        aspace, ctx = self.platform.new_address_space()
        mm = MemoryManager(self.memory_file, aspace, self)
        mm.active_context = ctx
        task = Task(self, tg, tgid, ctx, mm, fdtable, fs, creds)
        try:
            image = loader.load(mm, lambda p: self.open_exec(task, p), path, argv, envp, creds, self.vdso_base(),
                                name_of=lambda f: self.path_for_maps(task, f))
        except BaseException:
            mm.release_all()
            aspace.kill()
            if parent is not None:
                parent.children.remove(tg)
            raise
        task.name = os.path.basename(image.path)[:15]
        self.start_registers(ctx, image.entry, image.sp)
        self.register_task(task)
        return task

    def vdso_base(self):
        vdso = self.platform.vdso_range()
        return vdso[0] if vdso else 0

    @staticmethod
    def start_registers(ctx, entry, sp):
        regs = ctx.regs
        keep = {name: getattr(regs, name) for name in ("cs", "ss", "ds", "es", "fs", "gs")}
        for name, _ in regs._fields_:
            setattr(regs, name, 0)
        for name, value in keep.items():
            setattr(regs, name, value)
        regs.eflags = 0x202
        regs.rip, regs.rsp = entry, sp
        regs.orig_rax = (1 << 64) - 1
        ctx.set_regs()

    @staticmethod
    def acquire_resources(task):
        """Count the Task as a user of what it may share with others (CLONE_FILES, CLONE_FS, CLONE_VM)."""
        for res in (task.fdtable, task.fs, task.mm):
            res.task_users = getattr(res, "task_users", 0) + 1

    def unshare_resource(self, task, attr):
        """CLONE_FS/CLONE_FILES of unshare (and close_range's CLOSE_RANGE_UNSHARE): a private copy
        of the task's fs context or fd table, if others share it."""
        res = getattr(task, attr)
        if getattr(res, "task_users", 1) <= 1:
            return
        copy = res.fork()
        copy.task_users = 1
        setattr(task, attr, copy)
        self.release_resource(res)

    def release_resources(self, task):
        """The last Task using an fd table closes its files; the last using an mm frees its memory."""
        if task.mm is not None:
            task.tg.leaving_mm(task.mm)
        task.tg.add_io(task.ioac)
        task.ioac = [0, 0, 0, 0]   # counted once (a task's resources may be released again)
        for res in (task.fdtable, task.fs, task.mm):
            if res is not None:
                self.release_resource(res)
        set_namespaces(task, None)

    @staticmethod
    def release_resource(res):
        """One Task fewer uses ``res`` (an FDTable, FSContext or MemoryManager); free it with the last."""
        res.task_users = getattr(res, "task_users", 1) - 1
        if res.task_users == 0:
            for free in ("close_all", "release", "release_all"):
                if hasattr(res, free):
                    getattr(res, free)()
                    break

    def register_task(self, task):
        self.acquire_resources(task)
        tg = task.tg
        if task not in tg.tasks:
            tg.tasks.append(task)
        self.pidns.tasks[task.tid] = task
        self.pidns.thread_groups[tg.tgid] = tg
        self.host_tids[task.ctx.tid] = task

    def start_task(self, task):
        """Let a new Task's stub thread run (its registers are already set); a traced one first
        stops (its coroutine resumes it)."""
        if task.tid == task.tg.tgid:   # a new process: its RLIMIT_CPU counts from now
            timers.cpu_limit_changed(self, task.tg)
        if task.ptrace is None:
            task.ctx.resume()
        self.loop.step(task, None)  # primes the coroutine: it now waits for the first stop

    def forward_host_signals(self, foreground=None):
        """SIGINT/SIGQUIT from the user's terminal go to the sandbox's foreground process group,
        SIGTERM/SIGHUP to its init, as a container runtime does; the Sentry itself ignores them.

        ``foreground()`` names that group when the sandbox has its own terminal (``do -t``): the
        user's ^C then arrives as a byte the pty's line discipline turns into SIGINT, and only a
        signal sent to snakevisor itself comes this way."""
        forwarded = (S.SIGINT, S.SIGQUIT, S.SIGTERM, S.SIGHUP)

        def on_signal(sig):
            init = self.init
            if init is None or init.exit_status is not None:
                return
            fg = foreground() if foreground is not None else self.foreground_pgid
            groups = self.pidns.process_group(fg or init.pgid) if sig in (S.SIGINT, S.SIGQUIT) else [init]
            for tg in groups or [init]:
                self.signals.send_to_group(tg, sig, make_siginfo(sig, S.SI_KERNEL))
        self.loop.on_host_signals(forwarded, on_signal)

    def run(self):
        """Run until the init process has exited; return its wait status word."""
        self.start_task(self.init.leader)
        try:
            self.loop.run()
        finally:
            self.shutdown()
        return self.init.exit_status

    def shutdown(self):
        self.platform.close()
        self.loop.close()

    # -- exits ----------------------------------------------------------------
    def kill_group(self, tg, sig, status=None):
        """End every thread of ``tg`` because of signal ``sig`` (or exit_group): the wait status is
        ``status`` (default: killed by ``sig``). Raises TaskExit when called from one of its Tasks."""
        self.exit_group(tg, sig if status is None else status)

    def exit_group(self, tg, status):
        """End every Task of ``tg`` with wait status ``status`` (code << 8, or a signal number).
        Called from one of ``tg``'s own coroutines (its exit_group, a fatal signal it takes), it
        ends that coroutine too by raising TaskExit."""
        from_inside = any(_running(t) for t in tg.tasks)
        if not tg.exiting:
            tg.exiting = True
            tg.group_exit_status = status
            contexts = []
            for t in list(tg.tasks):
                if self._torn_down(t):
                    continue
                if t.ctx is not None:
                    contexts.append(t.ctx)
                self._end_task(t, status, from_group=True)
            for ctx in contexts:
                self.retire_stub_thread(ctx)
        if from_inside:
            raise TaskExit()

    def exit_thread(self, task, status):
        """exit(2) of one thread while others keep running: its stub thread exits on the host too."""
        self._end_task(task, status, from_group=False)
        self.retire_stub_thread(task.ctx)
        raise TaskExit()

    @contextmanager
    def stopped_context(self, mm):
        """A stopped stub thread of ``mm``'s address space to inject through, for a change another
        process makes to it (a truncation unmapping file pages). If all its threads run application
        code, one is stopped with a kick and waited for here; its Task gets that stop afterwards,
        through the loop, as if nothing had happened. None if ``mm`` has no live thread."""
        ctx, status = self._stop_one(mm)
        try:
            yield ctx
        except StubGone:
            pass   # that stub died meanwhile: its mappings went with it
        finally:
            if status is not None:
                self.loop.hand_back(ctx.tid, status)

    def _stop_one(self, mm):
        """(a stopped Context of ``mm``, the stop status the loop is owed for it or None)."""
        tasks = [t for t in self.host_tids.values() if t.mm is mm and t.ctx is not None and not t.exited]
        for t in tasks:
            if not self.loop.on_stub(t):
                return t.ctx, None
        for t in tasks:
            ctx, status = self._stop_task(t)
            if ctx is not None:
                return ctx, status
        return None, None

    def _stop_task(self, t):
        """(``t``'s Context stopped, the stop status the loop is owed for it or None); (None, None)
        if its stub thread is gone. Kicked if it runs application code."""
        ctx = t.ctx
        if ctx is None or t.exited:
            return None, None
        if not self.loop.on_stub(t):
            return ctx, None
        try:
            return ctx, ctx.stop_now()   # its registers read: injection restores these
        except StubGone as gone:
            if gone.status is not None:
                self.loop.hand_back(ctx.tid, gone.status)
        except OSError:
            pass
        return None, None

    @contextmanager
    def stopped_task(self, task):
        """``task``'s stub thread, stopped (None if it is gone): as it is if it waits here already,
        else kicked, its stop handed back to the loop afterwards as if nothing had happened."""
        ctx, status = self._stop_task(task)
        try:
            yield ctx
        finally:
            if status is not None:
                self.loop.hand_back(ctx.tid, status)

    def retire_stub_thread(self, ctx):
        """A Task is done with its stub thread. If no other Task runs in that stub (address space),
        the whole stub process is killed; otherwise (threads, a vfork child sharing its parent's
        memory) only this thread exits — at once if it is stopped, else at its next stop."""
        aspace = ctx.address_space
        if not any(t.ctx is not None and t.ctx.address_space is aspace for t in self.host_tids.values()):
            aspace.kill()
            return
        try:
            ctx.inject_exit()
        except (StubGone, OSError):
            # Running application code: stop it with a kick, and finish it when it stops.
            self.doomed[ctx.tid] = ctx
            ctx.interrupt()

    def _torn_down(self, task):
        """Has _end_task run for ``task``? Not the same as ``exited``, which only says its
        coroutine is over: one that crashed (an internal error) is still to be torn down."""
        return self.pidns.tasks.get(task.tid) is not task

    def _end_task(self, task, status, from_group):
        """Tear one Task down; the last one out turns its thread group into a zombie."""
        if self._torn_down(task):
            return
        task.exited = True
        loop = self.loop
        if task.ctx is not None:
            self.host_tids.pop(task.ctx.tid, None)
            loop.by_tid.pop(task.ctx.tid, None)
        if task.cancel_wait is not None:
            try:
                task.cancel_wait()
            except Exception:  # a wait source that already went away
                pass
            task.cancel_wait = None
        task.wait_token += 1
        if not _running(task):
            # (A running coroutine is the caller itself, e.g. a Task reporting its own stub's
            # death: it ends by raising TaskExit.)
            try:
                task.coro.close()
            except (RuntimeError, TaskExit):
                pass
        self._release_robust_and_tid(task, from_group)
        if all(t.exited for t in task.tg.tasks):
            cputime.group_exiting(task.tg)   # its times, read from its stub, which the last mm release kills
        self.release_resources(task)
        seccomp.release(task)   # its filters' listeners may hang up
        self.pidns.tasks.pop(task.tid, None)
        tg = task.tg
        if not from_group:
            self._children_lose_their_parent_thread(task)
        if task is not tg.leader and task in tg.tasks:
            # Linux's release_task: a thread leaves its group as it exits (the leader stays, a zombie,
            # until the group is reaped). Kept, every thread ever made stayed in the list each
            # clone, exit and signal scans: thread create+join slowed with the process's age.
            tg.tasks.remove(task)
            tg.pidfd_waiters.notify(POLLIN | POLLRDNORM | POLLHUP)   # its PIDFD_THREAD pidfds
        if task.ptrace is not None or task.ptraced:
            ptrace.task_exited(task, status)
        if task.vfork_parent is not None:
            task.tg.vfork_done.notify(1)
            task.vfork_parent = None
        if all(t.exited for t in tg.tasks):
            self._thread_group_exited(tg, tg.group_exit_status if tg.group_exit_status is not None else status)

    def _children_lose_their_parent_thread(self, task):
        """A thread that made processes exits while its process lives on: they go to another of its
        threads, and PR_SET_PDEATHSIG fires for them, as it does on Linux (it is the parent thread's
        death that it reports). The whole process's exit is _reparent_children's."""
        heir = next((t for t in task.tg.tasks if not t.exited), None)
        if heir is None:
            return
        for child in task.tg.children:
            if child.parent_task is task:
                child.parent_task = heir
                self._send_pdeath_signals(child)

    def _send_pdeath_signals(self, child):
        for t in child.tasks:
            if t.pdeath_signal and not t.exited:
                self.signals.send_to_task(t, t.pdeath_signal)

    def _release_robust_and_tid(self, task, from_group):
        """As a thread leaves: its robust futexes are marked OWNER_DIED (waking a waiter) and its
        contended PI locks go to their waiters, then CLONE_CHILD_CLEARTID clears its tid word and
        wakes a joiner."""
        mm = task.mm
        try:
            self.futexes.thread_exited(task)
        except Exception:  # a corrupt list in application memory is the application's problem
            pass
        if mm is None or from_group or not task.clear_child_tid:
            return  # the whole address space dies: nobody is left to join
        try:
            mm.copy_out(task.clear_child_tid, bytes(4))
            self.futexes.wake_key(self.futexes.key(task, task.clear_child_tid, True), 1)
            self.futexes.wake_key(self.futexes.key(task, task.clear_child_tid, False), 1)
        except Exception:  # the application may have unmapped it
            pass

    def _thread_group_exited(self, tg, status):
        cputime.group_exiting(tg)
        tg.exit_status = status
        tg.pidfd_waiters.notify(POLLIN | POLLRDNORM)
        for timer in list(tg.itimers.values()) + list(tg.posix_timers.values()):
            timer.close()
        tg.itimers.clear()
        if tg.cpu_limit is not None:
            tg.cpu_limit.close()
            tg.cpu_limit = None
        for ipc in list(self.ipc_namespaces):
            ipc.process_exited(tg.tgid)
        self._reparent_children(tg)
        if tg.on_exit is not None:
            tg.on_exit(status)
        if tg is self.init:
            self._init_exited()
            return
        if tg is tg.pidns.init:
            self._namespace_init_exited(tg.pidns)
        parent = tg.parent
        if parent is None:
            tg.reaped = True
            self.pidns.thread_groups.pop(tg.tgid, None)
            return
        if ptrace.exit_held(tg):
            return   # its tracer collects the exit first, then the parent hears of it
        self.notify_parent_exit(tg)

    def notify_parent_exit(self, tg):
        """The parent learns of the exit of ``tg``: SIGCHLD (its exit signal) and a zombie to
        collect, or none if it asked for no zombies."""
        parent, status = tg.parent, tg.exit_status
        handler, flags, _, _ = parent.handlers.get(S.SIGCHLD)
        no_zombie = tg.exit_signal == S.SIGCHLD and (handler == S.SIG_IGN or flags & S.SA_NOCLDWAIT)
        if no_zombie:
            self.reap(tg)  # the parent asked not to have zombies
        if tg.exit_signal and handler != S.SIG_IGN:  # SA_NOCLDWAIT with a handler: still signalled
            code, st = (S.CLD_EXITED, status >> 8 & 0xFF) if status & 0x7F == 0 else \
                       ((S.CLD_DUMPED if status & 0x80 else S.CLD_KILLED), status & 0x7F)
            self.signals.send_to_group(parent, tg.exit_signal,
                                       make_siginfo(tg.exit_signal, code, seen_from(parent, tg.tgid), 0, status=st))
        parent.child_events.notify(1)

    def _reparent_children(self, tg):
        """Orphans go to the nearest subreaper of the PID namespace, else to its init (which
        reaps them); those of an init that dies are reaped by nobody (find_new_reaper)."""
        ns = tg.pidns
        new_parent = tg.parent
        while new_parent is not None and not new_parent.subreaper and new_parent is not ns.init:
            new_parent = new_parent.parent
        if new_parent is None or new_parent.exit_status is not None or not new_parent.pidns.within(ns):
            new_parent = ns.init if ns.init is not tg else None
        for child in list(tg.children):
            self._send_pdeath_signals(child)
            child.parent = new_parent
            child.parent_task = new_parent.leader if new_parent is not None else None
            if new_parent is not None:
                new_parent.children.append(child)
                if child.is_zombie:
                    new_parent.child_events.notify(1)
        tg.children.clear()

    def reap(self, tg):
        """A zombie's status has been collected: it is gone."""
        tg.reaped = True
        tg.pidfd_waiters.notify(POLLIN | POLLRDNORM | POLLHUP)
        self.pidns.thread_groups.pop(tg.tgid, None)
        if tg.parent is not None and tg in tg.parent.children:
            tg.parent.children.remove(tg)

    def _init_exited(self):
        """When init dies the whole sandbox goes (the PID namespace's rule)."""
        for other in list(self.pidns.thread_groups.values()):
            if other is not self.init and other.exit_status is None:
                try:
                    self.exit_group(other, S.SIGKILL)
                except TaskExit:
                    pass
        self.loop.running = False

    def _namespace_init_exited(self, ns):
        """zap_pid_ns_processes: the init of a PID namespace the application made has exited;
        every process in the namespace (and its descendants) is killed, nothing more is made there."""
        ns.dead = True
        for other in list(self.pidns.thread_groups.values()):
            if other.exit_status is None and other.pidns.within(ns):
                try:
                    self.exit_group(other, S.SIGKILL)
                except TaskExit:
                    pass

    def stub_died(self, task, status):
        """A stub thread vanished under us (killed from outside): the process dies with that signal."""
        sig = S.SIGKILL
        if status is not None and os.WIFSIGNALED(status):
            sig = os.WTERMSIG(status)
        try:
            self.exit_group(task.tg, sig)
        except TaskExit:
            pass

    def _stray_status(self, pid, report):
        kind, value = self.platform.event(report)
        stopped = kind != EXIT
        doomed = self.doomed.pop(pid, None)
        if doomed is not None and stopped:
            try:
                doomed.get_regs()
                doomed.inject_exit()
            except (StubGone, OSError):
                pass
            return
        if not stopped:
            self.platform.reaped(pid)
        task = self.host_tids.get(pid)
        if task is not None and not stopped:
            self.stub_died(task, value)

    # -- helpers --------------------------------------------------------------
    def path_for_maps(self, task, file):
        """The name /proc/PID/maps shows for a mapping of ``file``, as ``task`` reads it (the path
        from its root, as the file is named now; a newline in it escaped: seq_file_path)."""
        try:
            return mangle(display_path(file.vd, task.fs.root), b"\n")
        except Exception:  # anonymous files (memfd, pipes) have no path
            return ""

    def _task_crashed(self, task):
        """An exception escaped a Task's coroutine: report it and kill that process only."""
        self.log(f"internal error in pid {task.tid}; the process is killed:\n" + traceback.format_exc())
        try:
            self.exit_group(task.tg, S.SIGKILL)
        except TaskExit:
            pass

    def internal_error(self, task, entry):
        """A handler raised something other than SyscallError: a bug in the Sentry, never the app's fault."""
        self.log(f"internal error in {entry.name} (pid {task.tid}); the syscall returns EIO:\n"
                 + traceback.format_exc())

    def log_rate_limited(self, key, msg, interval=1.0):
        """``msg`` at most once per ``interval`` seconds for ``key``: a fork bomb is refused
        thousands of times a second, and one line says it."""
        now = time.monotonic()
        entry = self._rate_limited.setdefault(key, [None, 0])
        if entry[0] is not None and now - entry[0] < interval:
            entry[1] += 1
            return
        held = f" ({entry[1]} more since the last report)" if entry[1] else ""
        entry[0], entry[1] = now, 0
        self.log(msg + held)

    def unimplemented(self, nr):
        if nr not in self._warned:
            self._warned.add(nr)
            if self.strace or os.environ.get("SNAKEVISOR_DEBUG"):
                self.log(f"unimplemented syscall {SYSCALL_NAMES.get(nr, nr)} ({nr}): ENOSYS")
