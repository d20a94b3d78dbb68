"""clone: new processes (a forked address space: a new stub process) and new threads (a new
stub thread in the same stub, made by injecting clone through the gadget)."""
import struct

from snakevisor.abi import sched as C
from snakevisor.abi.capability import CAP_CHECKPOINT_RESTORE, CAP_SYS_ADMIN, CAP_SYS_RESOURCE
from snakevisor.abi.errno import EAGAIN, EINVAL, EPERM, ERESTARTSYS, SyscallError
from snakevisor.abi.mm import TASK_SIZE_MAX
from snakevisor.abi.resource import RLIM_INFINITY, RLIMIT_NPROC
from snakevisor.sentry.kernel import ptrace, seccomp
from snakevisor.sentry.kernel.namespaces import new_ns_inode, set_namespaces
from snakevisor.sentry.kernel.task import Task
from snakevisor.sentry.kernel.userns import new_user_ns, ns_capable
from snakevisor.sentry.kernel.threadgroup import ThreadGroup

SUPPORTED = (C.CSIGNAL | C.CLONE_VM | C.CLONE_FS | C.CLONE_FILES | C.CLONE_SIGHAND | C.CLONE_VFORK
             | C.CLONE_PARENT | C.CLONE_THREAD | C.CLONE_SYSVSEM | C.CLONE_SETTLS | C.CLONE_PARENT_SETTID
             | C.CLONE_CHILD_CLEARTID | C.CLONE_DETACHED | C.CLONE_UNTRACED | C.CLONE_CHILD_SETTID | C.CLONE_IO
             | C.CLONE_PTRACE | C.CLONE_CLEAR_SIGHAND | C.CLONE_PIDFD | C.CLONE_NEWUTS | C.CLONE_NEWIPC
             | C.CLONE_NEWNS | C.CLONE_NEWNET)


# The namespaces clone makes besides UTS, IPC and mount: kernel/pidns.py, userns.py, namespaces.py.
SUPPORTED |= C.CLONE_NEWPID | C.CLONE_NEWUSER | C.CLONE_NEWCGROUP


def check_flags(flags):
    if flags & C.CLONE_THREAD and not flags & C.CLONE_SIGHAND:
        raise SyscallError(EINVAL)
    if flags & C.CLONE_SIGHAND and not flags & C.CLONE_VM:
        raise SyscallError(EINVAL)
    if flags & C.CLONE_CLEAR_SIGHAND and flags & C.CLONE_SIGHAND:
        raise SyscallError(EINVAL)
    if flags & C.CLONE_PIDFD and flags & C.CLONE_DETACHED:   # (with CLONE_THREAD since Linux 6.9)
        raise SyscallError(EINVAL)
    if flags & C.CLONE_NEWNS and flags & C.CLONE_FS:
        raise SyscallError(EINVAL)   # a new mount namespace needs a root and cwd of its own
    if flags & C.CLONE_NEWUSER and flags & (C.CLONE_THREAD | C.CLONE_FS):
        raise SyscallError(EINVAL)   # a new user namespace needs a process and fs context of its own
    if flags & C.CLONE_NEWIPC and flags & C.CLONE_SYSVSEM:
        raise SyscallError(EINVAL)   # a new IPC namespace cannot share the parent's undo list
    if flags & ~SUPPORTED:
        raise SyscallError(EINVAL)   # other CLONE_NEW*: the sandbox has one of those (syscalls/namespace.py)


def _inherit_sched(task, child):
    """The creating thread's nice and policy (sched_fork); with reset-on-fork a real-time or
    deadline policy becomes SCHED_OTHER at nice 0, and a negative nice 0."""
    policy, _, reset, _ = task.sched
    child.nice, child.sched = task.nice, task.sched
    if reset:
        rt = policy not in C.FAIR_POLICIES
        child.sched = (0, 0, False, None) if rt else (policy, 0, False, None)
        if rt or task.nice < 0:
            child.nice = 0


def do_clone(task, flags, stack, parent_tid, child_tid, tls, exit_signal=None, set_tid=()):
    """Create a child Task as clone(2) asks; returns it (already running). ``set_tid``: clone3's
    ids for the child in its PID namespace and the ones above (innermost first)."""
    exit_signal = _check_clone(task, flags, tls, exit_signal)
    kernel = task.kernel
    pidns = task.ns.pid.new_child(new_ns_inode()) if flags & C.CLONE_NEWPID else task.ns.pid
    tid = pidns.allocate(set_tid, _may_choose(task, flags, pidns))
    ctx, mm = _child_address_space(task, flags)
    tg = task.tg if flags & C.CLONE_THREAD else _child_thread_group(task, flags, tid, exit_signal, pidns)
    if tg is not task.tg:   # copy_io: CLONE_IO shares the context; else a new one if the parent has one
        tg.io_context = task.tg.io_context if flags & C.CLONE_IO or task.tg.io_context is None else object()
    fdtable = task.fdtable if flags & C.CLONE_FILES else task.fdtable.fork()
    fs = task.fs if flags & C.CLONE_FS else task.fs.fork()
    child = Task(kernel, tg, tid, ctx, mm, fdtable, fs, task.creds.copy(thread=bool(flags & C.CLONE_THREAD)))
    if flags & C.CLONE_NEWUSER:
        new_user_ns(child.creds, new_ns_inode())
    set_namespaces(child, task.ns.copied(kernel, flags, fs, pidns, child.creds.user_ns).for_child())   # or new ones
    child.sigmask = task.sigmask
    child.name = task.name
    child.tsc_mode, child.timer_slack_ns = task.tsc_mode, task.timer_slack_ns
    child.loginuid, child.sessionid = task.loginuid, task.sessionid   # (copy_process copies the audit ids)
    child.cpu_mask = task.cpu_mask   # sched_setaffinity's mask is inherited (a fork's and a thread's)
    _inherit_sched(task, child)
    child.default_timer_slack_ns = task.timer_slack_ns   # PR_SET_TIMERSLACK's 0 in the child: the parent's
    seccomp.inherit(task, child)
    if task.debugregs is not None:
        child.debugregs = task.debugregs.forked()   # DR6 and DR7's value, no breakpoint
    if not flags & C.CLONE_VM or flags & C.CLONE_VFORK:
        child.altstack = task.altstack
    _set_child_registers(task, ctx, flags, stack, tls)
    if flags & C.CLONE_PARENT_SETTID:
        _put_tid(task.mm, parent_tid, task.tg.pidns.id_of(tid))
    if flags & C.CLONE_CHILD_SETTID:
        _put_tid(mm, child_tid, pidns.id_of(tid))
    if flags & C.CLONE_CHILD_CLEARTID:
        child.clear_child_tid = child_tid
    if task.ptrace is not None:
        ptrace.on_clone(task, child, flags, exit_signal)   # traced too: it starts stopped
    kernel.register_task(child)
    kernel.start_task(child)
    return child


def _may_choose(task, flags, pidns):
    """alloc_pid's checkpoint_restore_ns_capable: may ``task`` choose a child's id in a PID
    namespace (CAP_SYS_ADMIN or CAP_CHECKPOINT_RESTORE over its user namespace: for one this clone
    makes, the child's, where a new user namespace's creator has every capability)."""
    creds = task.creds

    def may(ns):
        if ns is pidns and flags & C.CLONE_NEWPID:
            if flags & C.CLONE_NEWUSER:
                return True
            owner = creds.user_ns
        else:
            owner = getattr(ns, "user_ns", None)
        return ns_capable(creds, owner, CAP_SYS_ADMIN) or ns_capable(creds, owner, CAP_CHECKPOINT_RESTORE)
    return may


def _check_clone(task, flags, tls, exit_signal):
    """Refuse a clone that fails before anything is made; returns the child's exit signal."""
    check_flags(flags)
    kernel = task.kernel
    if kernel.max_tasks is not None and len(kernel.pidns.tasks) >= kernel.max_tasks:
        kernel.log_rate_limited("clone", f"pids limit ({kernel.max_tasks} tasks) reached: clone fails with EAGAIN")
        raise SyscallError(EAGAIN)
    _check_nproc(task)
    if flags & C.CLONE_NEW_ANY and not flags & C.CLONE_NEWUSER and not task.creds.own_cap(CAP_SYS_ADMIN):
        raise SyscallError(EPERM)   # (with CLONE_NEWUSER the others are made in it, where the child is root)
    if flags & C.CLONE_THREAD and (flags & C.CLONE_NEWPID or task.ns.pid is not task.tg.pidns):
        raise SyscallError(EINVAL)   # a thread lives in its process's PID namespace
    if flags & C.CLONE_PARENT and task.tg.pidns.parent is not None and task.tg is task.tg.pidns.init:
        raise SyscallError(EINVAL)   # the init of a namespace made inside has no sibling to make
    if exit_signal is None:
        exit_signal = flags & C.CSIGNAL
    if exit_signal > 64:
        raise SyscallError(EINVAL)
    if flags & C.CLONE_SETTLS and tls >= TASK_SIZE_MAX:
        raise SyscallError(EPERM)   # Linux's arch_prctl(ARCH_SET_FS) check; PTRACE_SETREGS would fail
    if not flags & C.CLONE_FILES:
        task.fdtable.check_copy()   # copy_files' EMFILE, before anything is made
    return exit_signal


def _check_nproc(task):
    """RLIMIT_NPROC (copy_process): EAGAIN once the caller's real uid has as many tasks, threads and
    unreaped zombies included, as the caller's soft limit, unless that uid is the initial root or the
    caller has CAP_SYS_RESOURCE or CAP_SYS_ADMIN."""
    creds = task.creds
    soft = task.tg.limits[RLIMIT_NPROC][0]
    if soft == RLIM_INFINITY or creds.uid == 0 or creds.has_cap(CAP_SYS_RESOURCE) or creds.has_cap(CAP_SYS_ADMIN):
        return
    if sum(1 for t in task.kernel.pidns.tasks.values() if t.creds.uid == creds.uid) >= soft:
        raise SyscallError(EAGAIN)


def _child_address_space(task, flags):
    """The child's platform context and memory: shared (CLONE_VM) or a copy in a new stub."""
    kernel = task.kernel
    try:
        if flags & C.CLONE_VM:
            # Same address space: a new stub thread in the same stub (a thread, or a vfork child).
            return task.ctx.address_space.new_thread(task.ctx), task.mm
        aspace, ctx = kernel.platform.new_address_space()
    except OSError as e:
        # The host refused the stub's clone (its pids limit, memory): fork(2)'s EAGAIN.
        kernel.log_rate_limited("clone", f"the host refused a stub for a new task ({e.strerror or e}): "
                                         "clone fails with EAGAIN")
        raise SyscallError(EAGAIN) from None
    try:
        mm = task.mm.fork(aspace, ctx)
    except BaseException:
        aspace.kill()   # the new stub process serves nothing
        raise
    task.mm.active_context = task.ctx
    return ctx, mm


def _child_thread_group(task, flags, tid, exit_signal, pidns):
    """The new process's ThreadGroup, a child of the caller's (or of its parent: CLONE_PARENT),
    in PID namespace ``pidns`` (whose init it is if it is the first there)."""
    parent = task.tg
    real_parent = parent.parent if flags & C.CLONE_PARENT and parent.parent is not None else parent
    if flags & C.CLONE_SIGHAND:
        handlers = parent.handlers
    else:
        handlers = parent.handlers.copy()
        if flags & C.CLONE_CLEAR_SIGHAND:
            handlers.actions = {s: a for s, a in handlers.actions.items() if a[0] == 1}  # keep SIG_IGN
    tg = ThreadGroup(task.kernel, tid, real_parent, handlers)
    tg.pidns = pidns
    if pidns.init is None and pidns.id_of(tid) == 1:
        pidns.init = tg
    tg.pgid, tg.sid, tg.limits = parent.pgid, parent.sid, dict(parent.limits)
    tg.exit_signal = exit_signal
    tg.dumpable = parent.dumpable   # an mm flag on Linux: the copy keeps it
    tg.thp_disabled = parent.thp_disabled   # likewise
    # Linux's real_parent is a thread: the caller, or its own parent thread with CLONE_PARENT
    tg.parent_task = parent.parent_task if real_parent is not parent else task
    real_parent.children.append(tg)
    return tg


def _set_child_registers(task, ctx, flags, stack, tls):
    """The child resumes where the caller does, with clone returning 0, on its own stack and TLS."""
    regs = ctx.regs
    regs.copy_from(task.ctx.regs)
    regs.rax = 0
    regs.orig_rax = (1 << 64) - 1
    if stack:
        regs.rsp = stack
    if flags & C.CLONE_SETTLS:
        regs.fs_base = tls
    ctx.set_regs()
    ctx.set_xstate(task.ctx.get_xstate())


def _put_tid(mm, addr, tid):
    try:
        mm.copy_out(addr, struct.pack("<i", tid))
    except SyscallError:
        pass  # Linux ignores a bad pointer here


def wait_for_vfork(task, child):
    """The parent of CLONE_VFORK sleeps until the child execs or exits (signals do not end it)."""
    child.vfork_parent = task
    while child.vfork_parent is not None and not child.exited:
        try:
            yield from task.block_on(child.tg.vfork_done, 1, interruptible=False)
        except SyscallError as e:
            if e.errno != ERESTARTSYS:
                raise
