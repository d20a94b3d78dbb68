"""seccomp for the application: its modes and filters, run by the Sentry at every syscall entry.

The application's filters are never installed on the host: as gVisor's kernel/seccomp.go, the
Sentry runs them itself (kernel/bpf.py) over the registers the platform reports, before the
syscall's handler, and answers as Linux's ``__secure_computing`` does. ``task.seccomp`` is None
(no seccomp: the Task's dispatch then costs one attribute test), ``STRICT``, or the newest
``Filter`` of the task's stack; a stack is never changed once built, so fork, clone and
TSYNC share it and execve keeps it.

- Strict mode allows read, write, exit and rt_sigreturn; any other call ends the thread (SIGKILL).
- Filter mode runs every filter, newest first; the action of lowest signed value wins
  (KILL_PROCESS > KILL_THREAD > TRAP > ERRNO > USER_NOTIF > TRACE > LOG > ALLOW), an earlier
  (newer) filter on a tie. An unknown action kills the process, as Linux's default case.
- As Linux's seccomp cache, a syscall number for which every filter allows whatever its
  arguments (the program reads only nr and arch on the way to ALLOW) is remembered per stack.
- USER_NOTIF: the syscall waits for the filter's listener (kernel/seccomp_notify.py) to answer;
  with no listener (or a closed one) it fails with ENOSYS, as on Linux.
  With SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV, only a fatal signal ends the wait once the
  supervisor has received the notification.
- TRACE: a tracer that set PTRACE_O_TRACESECCOMP gets a PTRACE_EVENT_SECCOMP stop (the filter's
  data as the event message); the syscall its registers then name runs after the filters are
  run again (TRACE then allows, as Linux's recheck_after_trace), or none if it set -1. With no
  such tracer the syscall fails with ENOSYS. (``nth_filter`` gives PTRACE_SECCOMP_GET_FILTER its
  program as installed; a tracer's PTRACE_O_SUSPEND_SECCOMP would skip ``syscall_entry``.)
- LOG runs the syscall; the audit log line Linux writes is not emulated.
"""
import weakref
from dataclasses import replace

from snakevisor.abi import ptrace as P
from snakevisor.abi import seccomp as SC
from snakevisor.abi import signal as S
from snakevisor.abi.capability import CAP_SYS_ADMIN
from snakevisor.abi.errno import (EACCES, EBUSY, EINVAL, ENOMEM, ENOSYS, EOPNOTSUPP, ERESTART_RESTARTBLOCK,
                                  ERESTARTSYS, ESRCH, SyscallError)
from snakevisor.abi.syscall_numbers import SYSCALL_NAMES
from snakevisor.sentry.kernel import bpf, ptrace
from snakevisor.sentry.kernel.seccomp_notify import Notifier
from snakevisor.sentry.kernel.syscall_table import TABLE, SyscallEntry

_MASK32 = 0xFFFFFFFF
_MASK64 = (1 << 64) - 1
_CACHED_NRS = 1024           # numbers above are evaluated every time (a hostile one would fill the cache)
# What the Sentry holds per instruction and per filter (a decoded tuple and the raw 8 bytes; the
# object), charged to the sandbox's memory limit as Linux charges a filter to the memory cgroup.
_INSN_BYTES, _FILTER_BYTES = 136, 512


class _Strict:
    mode = SC.SECCOMP_MODE_STRICT
    count = 0


STRICT = _Strict()


class Filter:
    """One installed program and, through ``prev``, the stack installed before it (never changed)."""
    mode = SC.SECCOMP_MODE_FILTER
    __slots__ = ("raw", "prog", "prev", "log", "notifier", "count", "path_insns", "allowed", "__weakref__")

    def __init__(self, raw, prog, prev, log, notifier=None):
        self.raw = raw               # the sock_filter array as installed (PTRACE_SECCOMP_GET_FILTER's)
        self.prog = prog
        self.prev = prev
        self.log = log
        self.notifier = notifier     # a seccomp_notify.Notifier when installed with a listener
        self.count = 1 + (prev.count if prev else 0)
        # Linux's MAX_INSNS_PER_PATH accounting: each filter counts 4 instructions more
        self.path_insns = bpf.linux_length(prog) + SC.FILTER_PENALTY_INSNS + (prev.path_insns if prev else 0)
        self.allowed = {}    # nr -> True when every filter of the stack allows it whatever the arguments

    def stack(self):
        f = self
        while f is not None:
            yield f
            f = f.prev


def mode(task):
    """0 (disabled), 1 (strict) or 2 (filter): PR_GET_SECCOMP and /proc/PID/status's Seccomp."""
    return task.seccomp.mode if task.seccomp is not None else SC.SECCOMP_MODE_DISABLED


def status_rows(task):
    """/proc/PID/status's seccomp lines, as Linux's task_seccomp()."""
    state = task.seccomp
    return [("Seccomp", mode(task)), ("Seccomp_filters", state.count if state is not None else 0)]


# -- installing ----------------------------------------------------------------------------
def set_mode_strict(task):
    if task.seccomp is not None and task.seccomp is not STRICT:
        raise SyscallError(EINVAL)     # a task in filter mode cannot go strict
    task.seccomp = STRICT
    return 0


def set_mode_filter(task, flags, fprog_addr, open_listener=None):
    """SECCOMP_SET_MODE_FILTER: 0; with NEW_LISTENER the descriptor ``open_listener(notifier)``
    installs for the caller; with TSYNC the tid of a thread that cannot take the filter."""
    if flags & ~SC.SECCOMP_FILTER_FLAG_MASK:
        raise SyscallError(EINVAL)
    tsync, listener = flags & SC.SECCOMP_FILTER_FLAG_TSYNC, flags & SC.SECCOMP_FILTER_FLAG_NEW_LISTENER
    killable = flags & SC.SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV
    if tsync and listener and not flags & SC.SECCOMP_FILTER_FLAG_TSYNC_ESRCH or killable and not listener:
        raise SyscallError(EINVAL)     # (a tid and a descriptor could not be told apart)
    raw, prog = _copy_in_program(task, fprog_addr)
    state = task.seccomp
    if state is STRICT:
        raise SyscallError(EINVAL)
    if listener and state is not None and any(f.notifier and not f.notifier.detached for f in state.stack()):
        raise SyscallError(EBUSY)      # one live listener per stack
    if bpf.linux_length(prog) + (state.path_insns if state else 0) > SC.MAX_INSNS_PER_PATH:
        raise SyscallError(ENOMEM)
    if tsync:
        failed = _unsyncable_thread(task)
        if failed is not None:
            if flags & SC.SECCOMP_FILTER_FLAG_TSYNC_ESRCH:
                raise SyscallError(ESRCH)
            return failed.tid
    new = Filter(raw, prog, state, bool(flags & SC.SECCOMP_FILTER_FLAG_LOG),
                 Notifier(bool(killable)) if listener else None)
    _charge(task.kernel, new)
    ret = open_listener(new.notifier) if listener else 0
    _switch(task, new)
    if tsync:
        for t in _other_threads(task):
            _switch(t, new)
            t.creds.no_new_privs |= task.creds.no_new_privs
    return ret


def _switch(task, new):
    """``task`` takes the stack ``new``, which its own stack is part of: the listeners of the
    filters it did not have count one user more."""
    old = task.seccomp
    for f in new.stack():
        if f is old:
            break
        if f.notifier is not None:
            f.notifier.hold(1)
    task.seccomp = new


def inherit(parent, child):
    """fork/clone: the child shares the parent's mode and filters."""
    child.seccomp = parent.seccomp
    if parent.seccomp is not None and parent.seccomp is not STRICT:
        _hold_all(parent.seccomp, 1)


def release(task):
    """``task`` is gone: its filters' listeners count one user less (hanging up at none)."""
    if task.seccomp is not None and task.seccomp is not STRICT:
        _hold_all(task.seccomp, -1)


def _hold_all(state, delta):
    for f in state.stack():
        if f.notifier is not None:
            f.notifier.hold(delta)


def _copy_in_program(task, addr):
    """struct sock_fprog at ``addr``, checked in Linux's order: length, privilege, pointer, program.
    Returns the program as given and as decoded."""
    length, insns_addr = SC.SOCK_FPROG.unpack(task.mm.copy_in(addr, SC.SOCK_FPROG.size))
    if not 0 < length <= SC.BPF_MAXINSNS:
        raise SyscallError(EINVAL)
    if not task.creds.no_new_privs and not task.creds.has_cap(CAP_SYS_ADMIN):
        raise SyscallError(EACCES)
    if insns_addr == 0:
        raise SyscallError(EINVAL)
    raw = task.mm.copy_in(insns_addr, length * SC.SOCK_FILTER.size)
    return raw, bpf.check(raw)


def _charge(kernel, new):
    size = _FILTER_BYTES + _INSN_BYTES * len(new.prog)
    kernel.memory_file.charge(size)
    weakref.finalize(new, kernel.memory_file.uncharge, size)


def _other_threads(task):
    return [t for t in task.tg.tasks if t is not task and not t.exited]


def _unsyncable_thread(task):
    """The first other thread whose filters are not an ancestor of the caller's (or strict)."""
    mine = task.seccomp
    for t in _other_threads(task):
        theirs = t.seccomp
        if theirs is None or (theirs is not STRICT and mine is not None and any(f is theirs for f in mine.stack())):
            continue
        return t
    return None


def nth_filter(task, index):
    """The ``index``-th filter of ``task``'s stack, 0 the first installed (Linux's get_nth_filter),
    or None (for ptrace's PTRACE_SECCOMP_GET_FILTER and GET_METADATA: ``raw``, ``log``)."""
    state = task.seccomp
    if state is None or state is STRICT:
        return None
    stack = list(state.stack())   # newest first
    return stack[len(stack) - 1 - index] if 0 <= index < len(stack) else None


def get_action_avail(task, addr):
    action = int.from_bytes(task.mm.copy_in(addr, 4), "little")
    if action not in SC.KNOWN_ACTIONS:
        raise SyscallError(EOPNOTSUPP)
    return 0


def get_notif_sizes(task, addr):
    task.mm.copy_out(addr, SC.SECCOMP_NOTIF_SIZES.pack(SC.SECCOMP_NOTIF_SIZE, SC.SECCOMP_NOTIF_RESP_SIZE,
                                                       SC.SECCOMP_DATA_SIZE))
    return 0


# -- at syscall entry ----------------------------------------------------------------------
def syscall_entry(task, regs, entry, recheck=False):
    """What to run for the syscall ``task`` stopped in: ``entry`` itself if seccomp lets it run,
    else an entry (same name and arguments, for strace) whose handler answers as Linux would.
    ``recheck``: the filters run again after a PTRACE_EVENT_SECCOMP stop (TRACE then allows)."""
    state = task.seccomp
    nr = regs.orig_rax & _MASK32
    if state is STRICT:
        return entry if nr in SC.STRICT_MODE_SYSCALLS else _verdict(entry, nr, _strict_violation)
    allowed = state.allowed.get(nr)
    if allowed or allowed is None and _always_allowed(state, nr):
        return entry
    words = SC.SECCOMP_DATA_WORDS.unpack(SC.SECCOMP_DATA.pack(
        nr, SC.AUDIT_ARCH_X86_64, regs.rip, regs.rdi, regs.rsi, regs.rdx, regs.r10, regs.r8, regs.r9))
    ret, match = SC.SECCOMP_RET_ALLOW, None
    for f in state.stack():
        r = bpf.run(f.prog, words)
        if _signed(r & SC.SECCOMP_RET_ACTION_FULL) < _signed(ret & SC.SECCOMP_RET_ACTION_FULL):
            ret, match = r, f
    if ret & SC.SECCOMP_RET_ACTION_FULL == SC.SECCOMP_RET_USER_NOTIF:
        notifier = match.notifier
        if notifier is not None and not notifier.detached:
            return _verdict(entry, nr, _notify(notifier, entry, SC.SECCOMP_DATA_WORDS.pack(*words)))
    return _act(task, regs, entry, nr, ret, recheck)


def _signed(v):
    return v - (1 << 32) if v & 0x80000000 else v


class _OnlyNr:
    """seccomp_data with only nr and arch known: a load of anything else ends the trial run."""
    __slots__ = ("nr",)

    def __init__(self, nr):
        self.nr = nr

    def __getitem__(self, i):
        if i == 0:
            return self.nr
        if i == 1:
            return SC.AUDIT_ARCH_X86_64
        raise LookupError


def _always_allowed(state, nr):
    """Whether every filter of the stack allows ``nr`` whatever the arguments; remembered per
    filter for its stack, so a new filter only runs its own program (Linux's seccomp_cache_prepare)."""
    fresh = []
    answer = True
    for f in state.stack():
        known = f.allowed.get(nr)
        if known is not None:
            answer = known
            break
        fresh.append(f)
    words = _OnlyNr(nr)
    for f in reversed(fresh):     # oldest first: each answer covers the stack below it
        if answer:
            try:
                answer = bpf.run(f.prog, words) & SC.SECCOMP_RET_ACTION_FULL == SC.SECCOMP_RET_ALLOW
            except LookupError:
                answer = False
        if nr < _CACHED_NRS:
            f.allowed[nr] = answer
    return answer


def _act(task, regs, entry, nr, ret, recheck=False):
    action, data = ret & SC.SECCOMP_RET_ACTION_FULL, ret & SC.SECCOMP_RET_DATA
    if action in (SC.SECCOMP_RET_ALLOW, SC.SECCOMP_RET_LOG) or action == SC.SECCOMP_RET_TRACE and recheck:
        return entry
    if action == SC.SECCOMP_RET_ERRNO:
        return _failing(entry, nr, min(data, SC.MAX_ERRNO))
    if action == SC.SECCOMP_RET_TRAP:
        return _verdict(entry, nr, _trap(regs, nr, data))
    if action == SC.SECCOMP_RET_TRACE:
        if tracer_wants_seccomp_event(task):
            return ptrace_event_seccomp(task, entry, data)
        return _failing(entry, nr, ENOSYS)
    if action == SC.SECCOMP_RET_USER_NOTIF:
        return _failing(entry, nr, ENOSYS)   # its filter has no (open) listener
    return _verdict(entry, nr, _kill(nr, data, thread_only=action == SC.SECCOMP_RET_KILL_THREAD))


def tracer_wants_seccomp_event(task):
    """Did a tracer set PTRACE_O_TRACESECCOMP on ``task``?"""
    st = task.ptrace
    return st is not None and bool(st.options & P.PTRACE_O_TRACESECCOMP)


def ptrace_event_seccomp(task, entry, data):
    """The entry for a TRACE verdict a tracer wants to see: stop in PTRACE_EVENT_SECCOMP with
    ``data`` as the event message, then run what the registers name after the filters run again
    (Linux's recheck_after_trace), or skip the call when the tracer set its number to -1 (the
    result is then whatever it left in rax)."""
    nr = task.ctx.regs.orig_rax & _MASK32

    def traced(task, *args):
        yield from ptrace.event_stop(task, P.PTRACE_EVENT_SECCOMP, data)
        regs = task.ctx.regs
        if regs.orig_rax >= 1 << 63:
            return ptrace.skipped_return(regs)
        chosen = syscall_entry(task, regs, TABLE.entries.get(regs.orig_rax), recheck=True)
        if chosen is None:
            raise SyscallError(ENOSYS)
        return (yield from chosen.run(task, (regs.rdi, regs.rsi, regs.rdx, regs.r10, regs.r8, regs.r9)[:chosen.nargs]))
    return _verdict(entry, nr, traced)


def _verdict(entry, nr, handler):
    if entry is None:
        entry = SyscallEntry(nr, SYSCALL_NAMES.get(nr, f"syscall_{nr}"), None)
    return replace(entry, handler=handler)


verdict = _verdict   # (syscall user dispatch's too: kernel/user_dispatch.py)


_failing_entries = {}      # (nr, errno) -> (entry, verdict): denials repeat, and building one costs 2 us


def _failing(entry, nr, err):
    """The verdict entry failing ``nr`` with ``err`` (kept for reuse while few)."""
    hit = _failing_entries.get((nr, err))
    if hit is not None and hit[0] is entry:
        return hit[1]
    verdict = _verdict(entry, nr, _fail_with(err))
    if len(_failing_entries) < 4096:
        _failing_entries[nr, err] = (entry, verdict)
    return verdict


def _fail_with(err):
    if err == 0 or ERESTARTSYS <= err <= ERESTART_RESTARTBLOCK:
        return lambda task, *args: _as_is(-err)

    def fail(task, *args):
        raise SyscallError(err)
    return fail


def _as_is(value):
    """A result the application sees unchanged: a kernel-internal restart code given by a filter
    or a supervisor is returned in its unsigned form, which the dispatcher does not take for a
    request to restart."""
    return value & _MASK64 if -ERESTART_RESTARTBLOCK <= value <= -ERESTARTSYS else value


def _notify(notifier, entry, data):
    """USER_NOTIF: wait for the supervisor's answer; CONTINUE runs the syscall after all."""
    def wait_for_supervisor(task, *args):
        n = yield from notifier.wait_reply(task, data)
        if not n.flags & SC.SECCOMP_USER_NOTIF_FLAG_CONTINUE:
            return _as_is(n.error or n.val)
        if entry is None:
            raise SyscallError(ENOSYS)
        return (yield from entry.run(task, args))
    return wait_for_supervisor


def _trap(regs, nr, data):
    """SIGSYS forced on the thread (SYS_SECCOMP, the data in si_errno); the syscall does not run
    and rax keeps its number, as Linux's syscall_rollback leaves it."""
    info = SC.SIGINFO_SYS.pack(S.SIGSYS, data, SC.SYS_SECCOMP, regs.rip, _signed(nr),
                               SC.AUDIT_ARCH_X86_64).ljust(S.SIGINFO_SIZE, b"\0")
    orig_rax = regs.orig_rax

    def trap(task, *args):
        task.kernel.signals.force_fault(task, S.SIGSYS, info)
        return orig_rax
    return trap


def _kill(nr, data, thread_only):
    """KILL_THREAD while other threads live: this thread exits (status SIGSYS). Otherwise the
    process dies of SIGSYS, dumping core as a default SIGSYS does."""
    def kill(task, *args):
        kernel = task.kernel
        if thread_only and len(task.tg.live_tasks) > 1:
            kernel.exit_thread(task, S.SIGSYS)
        kernel.kill_group(task.tg, S.SIGSYS, kernel.signals.death_status(task.tg, S.SIGSYS))
    return kill


def _strict_violation(task, *args):
    """Strict mode's do_exit(SIGKILL): this thread only."""
    kernel = task.kernel
    if len(task.tg.live_tasks) > 1:
        kernel.exit_thread(task, S.SIGKILL)
    kernel.kill_group(task.tg, S.SIGKILL)
