"""Kernel: the Sentry's global state — tasks, thread groups, PIDs, the loop, the VFS.

Issue 2 scope: one init process (possibly loading several ELF images); the
task model (fork, threads, signals) extends ThreadGroup and Task.
"""
import os
import signal as host_signal
import sys
import time
import uuid

from snakevisor.abi.errno import ENOENT, SyscallError
from snakevisor.abi.syscall_numbers import SYSCALL_NAMES, SYSCALL_NUMBERS
from snakevisor.sentry.platform.ptrace import StubGone
from snakevisor.abi.resource import default_limits
from snakevisor.sentry.kernel.creds import Credentials
from snakevisor.sentry.kernel.futex import FutexManager
from snakevisor.sentry.kernel.loop import Loop
from snakevisor.sentry.kernel.task import Task, TaskExit
from snakevisor.sentry.loader import loader
from snakevisor.sentry.mm.manager import MemoryManager
from snakevisor.sentry.vfs.resolve import path_of


class UTSNamespace:
    def __init__(self, hostname=b"snakevisor", domainname=b"(none)"):
        self.sysname = b"Linux"
        self.nodename = hostname
        self.release = b"6.1.0-snakevisor"
        self.version = b"#1 SMP snakevisor"
        self.machine = b"x86_64"
        self.domainname = domainname


class ThreadGroup:
    """A process: the TaskSet of its threads, and what they share."""

    def __init__(self, kernel, tgid, parent=None):
        self.kernel = kernel
        self.tgid = tgid
        self.parent = parent
        self.tasks = []
        self.limits = default_limits() if parent is None else dict(parent.limits)
        self.sigactions = {}
        self.pgid = tgid if parent is None else parent.pgid
        self.sid = tgid if parent is None else parent.sid
        self.exit_status = None     # wait status word once the group has exited
        self.exiting = False
        self.start_time = time.monotonic()

    @property
    def leader(self):
        return self.tasks[0] if self.tasks else None


class PIDNamespace:
    def __init__(self):
        self.next_id = 1
        self.tasks = {}          # tid -> Task
        self.thread_groups = {}  # tgid -> ThreadGroup

    def allocate(self):
        tid = self.next_id
        while tid in self.tasks or tid in self.thread_groups:
            tid += 1
        self.next_id = tid + 1
        return tid


class Kernel:
    def __init__(self, platform, memory_file, vfs, strace=None, hostname=b"snakevisor", log=None):
        self.platform = platform
        self.memory_file = memory_file
        self.vfs = vfs
        self.strace = strace
        self.uts = UTSNamespace(hostname)
        self.pidns = PIDNamespace()
        self.loop = Loop(self._stray_status)
        self.boot_time = time.monotonic()
        self.init = None
        self.log = log or (lambda msg: print(f"snakevisor: {msg}", file=sys.stderr))
        self._warned = set()
        self.signals = None          # the signal subsystem (issue: processes and signals)
        self.host_tids = {}          # host tid -> Task
        self.futexes = FutexManager()
        self.current = None          # the Task whose syscall is being served (procfs's "self")
        self.boot_id = str(uuid.uuid4()) + "\n"

    @staticmethod
    def monotonic():
        return time.monotonic()

    # -- start-up -----------------------------------------------------------
    def create_init(self, path, argv, envp, fdtable, fs, creds=None, open_exec=None):
        creds = creds or Credentials()
        tgid = self.pidns.allocate()
        tg = ThreadGroup(self, tgid)
        aspace, ctx = self.platform.new_address_space()
        mm = MemoryManager(self.memory_file, aspace)
        mm.active_context = ctx
        task = Task(self, tg, tgid, ctx, mm, fdtable, fs, creds)
        vdso = self.platform.vdso_range()
        try:
            image = loader.load(mm, lambda p: open_exec(task, p), path, argv, envp, creds,
                                vdso[0] if vdso else 0)
        except BaseException:
            aspace.kill()
            raise
        task.name = os.path.basename(image.path)[:15]
        self._start_registers(ctx, image.entry, image.sp)
        tg.tasks.append(task)
        self.pidns.tasks[tgid] = task
        self.pidns.thread_groups[tgid] = tg
        self.host_tids[ctx.tid] = task
        self.init = tg
        return task

    @staticmethod
    def _start_registers(ctx, entry, sp):
        regs = ctx.regs
        keep = {name: getattr(regs, name) for name in ("cs", "ss", "ds", "es", "fs", "gs", "eflags")}
        for name, _ in regs._fields_:
            setattr(regs, name, 0)
        for name, value in keep.items():
            setattr(regs, name, value)
        regs.eflags = 0x202
        regs.rip, regs.rsp = entry, sp
        regs.orig_rax = (1 << 64) - 1
        ctx.set_regs()

    def run(self):
        """Run until the init process has exited; return its wait status word."""
        task = self.init.leader
        task.ctx.resume()
        self.loop.by_tid[task.ctx.tid] = task
        task.coro.send(None)  # prime: it now waits for its first stop
        try:
            self.loop.run()
        finally:
            self.shutdown()
        return self.init.exit_status

    def shutdown(self):
        self.platform.close()
        self.loop.close()

    # -- exits ----------------------------------------------------------------
    def exit_group(self, tg, status):
        """End every Task of ``tg`` with wait status ``status`` (code << 8, or a signal number)."""
        if tg.exit_status is None:
            tg.exit_status = status
        tg.exiting = True
        for t in tg.tasks:
            self.host_tids.pop(t.ctx.tid, None)
            self.loop.by_tid.pop(t.ctx.tid, None)
        aspace = tg.tasks[0].ctx.address_space if tg.tasks else None
        if aspace is not None:
            aspace.kill()
        if tg.tasks:
            tg.tasks[0].mm.release_all()
        if tg is self.init:
            self.loop.running = False
        raise TaskExit()

    def exit_thread(self, task, status):
        """End one thread of a group that keeps running (its stub thread exits on the host too)."""
        task.exited = True
        self.host_tids.pop(task.ctx.tid, None)
        self.pidns.tasks.pop(task.tid, None)
        if task.clear_child_tid:
            try:
                task.mm.copy_out(task.clear_child_tid, bytes(4))
                self.futexes.wake_key(("p", id(task.mm), task.clear_child_tid), 1)
                self.futexes.wake_key(self.futexes.key(task, task.clear_child_tid, False), 1)
            except Exception:  # the application may have unmapped it
                pass
        try:
            task.ctx.inject(SYSCALL_NUMBERS["exit"], 0)
        except StubGone:
            pass
        raise TaskExit()

    def path_for_maps(self, task, file):
        """The name /proc/PID/maps shows for a mapping of ``file``."""
        try:
            return path_of(file.vd, task.fs.root).decode("utf-8", "replace")
        except Exception:  # anonymous files (memfd, pipes) have no path
            return ""

    def stub_died(self, task, status):
        """A stub thread vanished under us (killed from outside): the process dies with that signal."""
        sig = host_signal.SIGKILL
        if status is not None and os.WIFSIGNALED(status):
            sig = os.WTERMSIG(status)
        try:
            self.exit_group(task.tg, sig)
        except TaskExit:
            pass

    def deliver_host_signal(self, task, sig):
        """A fault or host signal in application code; without handlers its default action kills."""
        if sig in (host_signal.SIGCHLD, host_signal.SIGWINCH, host_signal.SIGURG):
            task.ctx.resume()
            return
        self.exit_group(task.tg, sig)

    def _stray_status(self, pid, status):
        if not os.WIFSTOPPED(status):
            self.platform.reaped(pid)
        task = self.host_tids.get(pid)
        if task is not None and not os.WIFSTOPPED(status):
            self.stub_died(task, status)

    def internal_error(self, task, entry):
        """A handler raised something other than SyscallError: a bug in the Sentry, never the app's fault."""
        import traceback
        self.log(f"internal error in {entry.name} (pid {task.tid}); the syscall returns EIO:\n"
                 + traceback.format_exc())

    def unimplemented(self, nr):
        if nr not in self._warned:
            self._warned.add(nr)
            if self.strace or os.environ.get("SNAKEVISOR_DEBUG"):
                self.log(f"unimplemented syscall {SYSCALL_NAMES.get(nr, nr)} ({nr}): ENOSYS")
