"""execve: a new address space (a fresh stub), the image loaded into it, then the point of no return:
other threads die, close-on-exec files close, handled signals go back to their defaults."""
import os

from snakevisor.abi import signal as S
from snakevisor.abi.capability import CAP_SYS_PTRACE
from snakevisor.abi.fs import MS_NOSUID
from snakevisor.sentry.kernel import cputime
from snakevisor.sentry.kernel.creds import exec_creds
from snakevisor.sentry.kernel.userns import ns_capable
from snakevisor.sentry.loader import loader
from snakevisor.sentry.mm.manager import MemoryManager


def _creds_for(task, file):
    """The (Credentials, AT_SECURE) of ``task``'s exec of ``file`` (kernel/creds.py exec_creds);
    unsafe (check_unsafe_exec): a tracer without CAP_SYS_PTRACE, or the fs_struct (root, cwd)
    shared with a task of another process, which could then act on the privileged image."""
    st = task.ptrace
    unsafe = st is not None and not ns_capable(st.tracer.creds, task.creds.user_ns, CAP_SYS_PTRACE)
    in_group = sum(1 for t in task.tg.tasks if t.fs is task.fs and not t.exited)
    unsafe = unsafe or getattr(task.fs, "task_users", 1) > in_group
    may_suid = not file.vd.mount.flags & MS_NOSUID
    return exec_creds(task.creds, file.inode, may_suid, unsafe)


def _load(task, path, argv, envp, vd, path_inaccessible=False):
    """The image loaded into a new address space: (image, its MemoryManager, its first context).
    Nothing of the caller changes yet: a failure leaves it as it was, but for one past Linux's
    point of no return, which kills the process."""
    kernel = task.kernel
    # The program first: a shell or a compiler driver tries each directory of PATH, and a
    # program not found (or not to be run) fails before a stub process is made for it.
    first = [kernel.open_exec(task, vd if vd is not None else path)]

    def open_exec(p):
        if p == path and first:
            return first.pop()
        return kernel.open_exec(task, vd if vd is not None and p == path else p)
    # The image is laid out in the MemoryManager alone, then mapped into the new stub in one
    # batch (attach, as a fork's child is): not one mapper round trip per segment.
    mm = MemoryManager(kernel.memory_file, None, kernel)
    aspace = None
    try:
        vdso = 0 if task.ns.time.shifted else kernel.vdso_base()   # host clocks: kernel/timens.py
        image = loader.load(mm, open_exec, path, argv, envp, lambda f: _creds_for(task, f), vdso,
                            path_inaccessible=path_inaccessible,
                            name_of=lambda f: kernel.path_for_maps(task, f))
        aspace, ctx = kernel.platform.new_address_space()
        mm.attach(aspace, ctx)
    except BaseException as e:
        for f in first:
            f.dec_ref()
        mm.address_space = aspace   # a stub made: killed before its pages are freed
        mm.release_all()
        task.mm.active_context = task.ctx
        if isinstance(e, loader.PastNoReturn):
            # Linux has already dropped the caller's image (begin_new_exec): the process dies
            # of SIGSEGV (bprm_execve's force_fatal_sig), its other threads with it.
            kernel.kill_group(task.tg, S.SIGSEGV)
        raise
    return image, mm, ctx


def do_execve(task, path, argv, envp, vd=None, comm=None, path_inaccessible=False):
    """execve of ``path``; ``vd``: the file already resolved (execveat of a descriptor, whose
    ``path`` is then /dev/fd/N as Linux names it); ``comm``: the new comm, if not the path's
    base name; ``path_inaccessible``: /dev/fd/N closes on exec (loader.load)."""
    kernel = task.kernel
    image, mm, ctx = _load(task, path, argv, envp, vd, path_inaccessible)
    # -- the point of no return ----------------------------------------------------------
    tg = task.tg
    for other in list(tg.tasks):
        if other is not task and not other.exited:
            kernel._end_task(other, 0, from_group=True)
    tg.tasks = [task]
    if task.tid != tg.tgid:  # a non-leader thread becomes the leader (it takes the tgid)
        kernel.pidns.tasks.pop(task.tid, None)
        task.tid = tg.tgid
        kernel.pidns.tasks[task.tid] = task
    try:
        # exec_mm_release: the robust futexes of the address space it leaves and its PI locks
        kernel.futexes.thread_exited(task)
    except Exception:  # a corrupt list in application memory is the application's problem
        pass
    old_ctx, old_mm = task.ctx, task.mm
    cputime.exec_leaves(tg, old_ctx, shared=getattr(old_mm, "task_users", 1) > 1)
    kernel.host_tids.pop(old_ctx.tid, None)
    kernel.retire_stub_thread(old_ctx)  # a vfork child leaves its parent's stub running
    tg.leaving_mm(old_mm)
    kernel.release_resource(old_mm)
    task.ctx, task.mm = ctx, mm
    mm.task_users = 1
    kernel.host_tids[ctx.tid] = task
    if task.fdtable.task_users > 1:  # unshare a table shared with another process
        kernel.release_resource(task.fdtable)
        task.fdtable = task.fdtable.fork()
        task.fdtable.task_users = 1
    task.fdtable.close_on_exec()
    handlers = tg.handlers
    if any(t.tg is not tg and t.tg.handlers is handlers for t in kernel.pidns.tasks.values()):
        tg.handlers = handlers = handlers.copy()
    for sig, act in list(handlers.actions.items()):
        if act[0] != S.SIG_IGN:
            handlers.actions[sig] = (S.SIG_DFL, 0, 0, 0)
    for timer in tg.posix_timers.values():  # POSIX timers do not survive exec
        timer.close()
    tg.posix_timers = {}
    task.altstack = (0, S.SS_DISABLE, 0)
    task.debugregs = None   # flush_ptrace_hw_breakpoint
    task.saved_sigmask = None
    task.clear_child_tid = 0
    task.robust_list = (0, 0)
    task.name = (comm or os.path.basename(image.path))[:15]
    tg.did_exec = True  # setpgid on it from the parent now fails with EACCES
    task.creds = c = image.creds   # a fresh image is dumpable again unless its ids differ (begin_new_exec)
    tg.dumpable = 1 if c.uid == c.euid and c.gid == c.egid else 0
    if task.vfork_parent is not None:
        task.vfork_parent = None
        tg.vfork_done.notify(1)
    kernel.start_registers(ctx, image.entry, image.sp)
    return 0
