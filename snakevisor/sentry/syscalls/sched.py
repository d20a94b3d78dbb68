"""Scheduling answers: affinity, yield, getcpu, priorities, scheduler policy."""
import struct

from snakevisor.abi.capability import CAP_SYS_ADMIN, CAP_SYS_NICE
from snakevisor.abi.errno import E2BIG, EACCES, EINVAL, EPERM, ESRCH, SyscallError
from snakevisor.abi.resource import RLIMIT_NICE, RLIMIT_RTPRIO
from snakevisor.abi.fs import to_s32
from snakevisor.abi.time import NSEC
from snakevisor.abi.sched import (IOPRIO_CLASS_IDLE, IOPRIO_CLASS_NONE, IOPRIO_CLASS_RT, IOPRIO_CLASS_SHIFT,
                                  IOPRIO_WHO_PGRP, IOPRIO_WHO_PROCESS, IOPRIO_WHO_USER, SCHED_ATTR,
                                  SCHED_ATTR_SIZE_VER0, SCHED_BATCH, SCHED_FIFO, SCHED_FLAG_ALL, SCHED_FLAG_KEEP_PARAMS,
                                  SCHED_FLAG_KEEP_POLICY, SCHED_IDLE, SCHED_OTHER, SCHED_RR, SCHED_DEADLINE,
                                  SCHED_RESET_ON_FORK, SCHED_FLAG_RESET_ON_FORK, DL_PERIOD_MIN_NS,
                                  DL_PERIOD_MAX_NS, FAIR_POLICIES)
from snakevisor.sentry.kernel.cputime import NCPUS


def _task(t, tid, negative=EINVAL):
    tid = to_s32(tid)
    if tid < 0:
        raise SyscallError(negative)
    if tid == 0:
        return t
    other = t.tg.pidns.task_of(tid)
    if other is None or tid < 0:
        raise SyscallError(ESRCH)
    return other


def _check_same_owner(t, task):
    """check_same_owner (kernel/sched/syscalls.c): changing another task's scheduling needs the
    caller's euid to be its real or effective uid, or CAP_SYS_NICE."""
    c, target = t.creds, task.creds
    if c.euid not in (target.uid, target.euid) and not c.has_cap(CAP_SYS_NICE):
        raise SyscallError(EPERM)


def sched_getaffinity(t, tid, size, addr):
    task = _task(t, tid, ESRCH)
    if size < 8 or size % 8:
        raise SyscallError(EINVAL)
    mask = task.cpu_mask or (1 << NCPUS) - 1
    n = min(size, 128)
    t.mm.copy_out(addr, mask.to_bytes(n, "little"))
    return n


def sched_setaffinity(t, tid, size, addr):
    task = _task(t, tid, ESRCH)
    n = min(size, 128)
    mask = int.from_bytes(t.mm.copy_in(addr, n), "little") & ((1 << NCPUS) - 1)
    if mask == 0:
        raise SyscallError(EINVAL)
    _check_same_owner(t, task)
    task.cpu_mask = mask
    return 0


def sched_yield(t):
    return 0


def getcpu(t, cpu, node, cache):
    if cpu:
        t.mm.copy_out(cpu, struct.pack("<I", 0))
    if node:
        t.mm.copy_out(node, struct.pack("<I", 0))
    return 0


def getpriority(t, which, who):
    """The highest priority (lowest nice) among the threads named."""
    return max(20 - task.nice for task in _priority_targets(t, which, who))


def _priority_targets(t, which, who):
    """The threads PRIO_PROCESS (one thread: nice is a thread's on Linux), PRIO_PGRP (every
    thread of the group's processes) or PRIO_USER (of the processes of that real uid) name; who
    0 means the caller's. ESRCH when none."""
    which, who = to_s32(which), to_s32(who)
    if which not in (0, 1, 2):
        raise SyscallError(EINVAL)
    pidns = t.tg.pidns
    if which == 0:
        task = t if who == 0 else pidns.task_of(who)
        if task is None and (tg := pidns.group_of(who)) is not None:
            task = tg.leader   # a zombie's, until it is reaped
        found = [task] if task is not None else []
    elif which == 1:
        groups = pidns.process_group(who) if who else t.kernel.pidns.process_group(t.tg.pgid)
        found = [task for tg in groups for task in tg.live_tasks]
    else:
        uid = who or t.creds.uid
        found = [task for _, tg in pidns.groups() if tg.exit_status is None
                 for task in tg.live_tasks if task.creds.uid == uid]
    if not found:
        raise SyscallError(ESRCH)
    return found


def setpriority(t, which, who, prio):
    nice = max(-20, min(19, to_s32(prio)))
    error = ESRCH
    for task in _priority_targets(t, which, who):
        # set_one_prio: the caller's euid must be the target's uid or euid; lowering nice needs
        # RLIMIT_NICE room or CAP_SYS_NICE; the last refusal is the answer, if any.
        c, owner = t.creds, task.creds
        privileged = c.has_cap(CAP_SYS_NICE)
        if c.euid not in (owner.uid, owner.euid) and not privileged:
            error = EPERM
        elif nice < task.nice and 20 - nice > task.tg.limits[RLIMIT_NICE][0] and not privileged:
            error = EACCES
        else:
            error = 0 if error == ESRCH else error
            task.nice = nice
    if error:
        raise SyscallError(error)
    return 0


_RT = (SCHED_FIFO, SCHED_RR)
_FAIR = FAIR_POLICIES
_POLICIES = (SCHED_OTHER, SCHED_BATCH, SCHED_IDLE, SCHED_FIFO, SCHED_RR, SCHED_DEADLINE)


def _check_deadline(dl) -> None:
    """__checkparam_dl: runtime <= deadline <= period (0: the deadline), within the period bounds."""
    if dl is None:
        raise SyscallError(EINVAL)
    runtime, deadline, period = dl
    period = period or deadline
    if not deadline or runtime < 1024 or (deadline | period) >> 63 or not runtime <= deadline <= period \
            or not DL_PERIOD_MIN_NS <= period <= DL_PERIOD_MAX_NS:
        raise SyscallError(EINVAL)


def _unprivileged_checks(t, task, policy, prio, nice, reset) -> None:
    """__sched_setscheduler's rules for a caller without CAP_SYS_NICE (EPERM)."""
    tg = task.tg
    cur_policy, cur_prio, cur_reset, _ = task.sched
    lowering_nice = nice is not None and nice < task.nice
    if policy in _FAIR and lowering_nice and 20 - nice > tg.limits[RLIMIT_NICE][0]:
        raise SyscallError(EPERM)
    if policy in _RT:
        rtprio = tg.limits[RLIMIT_RTPRIO][0]
        if policy != cur_policy and not rtprio or prio > cur_prio and prio > rtprio:
            raise SyscallError(EPERM)
    if policy == SCHED_DEADLINE or cur_reset and not reset:
        raise SyscallError(EPERM)
    if cur_policy == SCHED_IDLE and policy != SCHED_IDLE and 20 - task.nice > tg.limits[RLIMIT_NICE][0]:
        raise SyscallError(EPERM)
    _check_same_owner(t, task)


def _set_policy(t, task, policy, prio, reset, nice=None, dl=None) -> int:
    """Check and record a policy (it changes no scheduling here: the host schedules the stubs)."""
    if policy not in _POLICIES:
        raise SyscallError(EINVAL)
    lo, hi = (1, 99) if policy in _RT else (0, 0)
    if not lo <= prio <= hi:
        raise SyscallError(EINVAL)
    if policy == SCHED_DEADLINE:
        _check_deadline(dl)
    if not t.creds.has_cap(CAP_SYS_NICE):
        _unprivileged_checks(t, task, policy, prio, nice, reset)
    task.sched = (policy, prio, reset, dl if policy == SCHED_DEADLINE else None)
    if nice is not None and policy in _FAIR:
        task.nice = max(-20, min(19, nice))
    return 0


def sched_getscheduler(t, tid):
    policy, _, reset, _ = _task(t, tid, EINVAL).sched
    return policy | (SCHED_RESET_ON_FORK if reset else 0)


def sched_setscheduler(t, tid, policy, param):
    if not param or to_s32(tid) < 0 or to_s32(policy) < 0:
        raise SyscallError(EINVAL)
    task = _task(t, tid)
    prio = struct.unpack("<i", t.mm.copy_in(param, 4))[0]
    policy = to_s32(policy)
    return _set_policy(t, task, policy & ~SCHED_RESET_ON_FORK, prio, bool(policy & SCHED_RESET_ON_FORK))


def sched_getparam(t, tid, param):
    if not param or to_s32(tid) < 0:
        raise SyscallError(EINVAL)
    t.mm.copy_out(param, struct.pack("<i", _task(t, tid).sched[1]))
    return 0


def sched_setparam(t, tid, param):
    if not param or to_s32(tid) < 0:
        raise SyscallError(EINVAL)
    task = _task(t, tid)
    prio = struct.unpack("<i", t.mm.copy_in(param, 4))[0]
    policy, _, reset, dl = task.sched
    return _set_policy(t, task, policy, prio, reset, dl=dl)


# Each policy's (lowest, highest) static priority; any other policy is EINVAL.
_PRIORITIES = {SCHED_FIFO: (1, 99), SCHED_RR: (1, 99), SCHED_OTHER: (0, 0), SCHED_BATCH: (0, 0), SCHED_IDLE: (0, 0),
               SCHED_DEADLINE: (0, 0)}


def _priorities(policy):
    bounds = _PRIORITIES.get(policy)
    if bounds is None:
        raise SyscallError(EINVAL)
    return bounds


def sched_get_priority_max(t, policy):
    return _priorities(policy)[1]


def sched_get_priority_min(t, policy):
    return _priorities(policy)[0]


def sched_rr_get_interval(t, tid, addr):
    """SCHED_RR's time slice (RR_TIMESLICE); 0 for the others (Linux gives a fair task its current
    slice, which depends on the host: not imitated)."""
    rr = _task(t, tid).sched[0] == SCHED_RR
    slice_ns = t.kernel.sched_rt["sched_rr_timeslice_ms"] * 1_000_000   # kernel.sched_rr_timeslice_ms
    t.mm.copy_out(addr, struct.pack("<qq", *divmod(slice_ns, NSEC)) if rr else bytes(16))
    return 0


def sched_getattr(t, tid, addr, size, flags):
    if not addr or to_s32(tid) < 0 or size > 4096 or size < SCHED_ATTR_SIZE_VER0 or flags:
        raise SyscallError(EINVAL)
    task = _task(t, tid)
    n = min(size, SCHED_ATTR.size)
    policy, prio, reset, dl = task.sched
    nice = task.nice if policy in _FAIR else 0
    data = SCHED_ATTR.pack(n, policy, SCHED_FLAG_RESET_ON_FORK if reset else 0, nice, prio, *(dl or (0, 0, 0)), 0, 1024)
    t.mm.copy_out(addr, data[:n])
    return 0


def sched_setattr(t, tid, addr, flags):
    if not addr or to_s32(tid) < 0 or flags:
        raise SyscallError(EINVAL)
    size = struct.unpack("<I", t.mm.copy_in(addr, 4))[0] or SCHED_ATTR_SIZE_VER0
    if size < SCHED_ATTR_SIZE_VER0 or size > 4096:
        t.mm.copy_out(addr, struct.pack("<I", SCHED_ATTR.size))
        raise SyscallError(E2BIG)
    raw = t.mm.copy_in(addr, size)
    if size > SCHED_ATTR.size and any(raw[SCHED_ATTR.size:]):
        t.mm.copy_out(addr, struct.pack("<I", SCHED_ATTR.size))
        raise SyscallError(E2BIG)
    _size, policy, sflags, nice, prio, *dl = SCHED_ATTR.unpack(raw.ljust(SCHED_ATTR.size, b"\0")[:SCHED_ATTR.size])[:8]
    task = _task(t, tid)
    if to_s32(policy) < 0 or sflags & ~SCHED_FLAG_ALL:
        raise SyscallError(EINVAL)
    cur_policy, cur_prio, _, cur_dl = task.sched
    if sflags & SCHED_FLAG_KEEP_POLICY:
        policy = cur_policy
    if sflags & SCHED_FLAG_KEEP_PARAMS:
        prio, nice, dl = cur_prio, None, cur_dl
    return _set_policy(t, task, policy, prio, bool(sflags & SCHED_FLAG_RESET_ON_FORK), nice, tuple(dl) if dl else None)


def _io_targets(t, which, who):
    """The processes ioprio_get/set name (ESRCH when none)."""
    which, who = to_s32(which), to_s32(who)
    if which not in (IOPRIO_WHO_PROCESS, IOPRIO_WHO_PGRP, IOPRIO_WHO_USER):
        raise SyscallError(EINVAL)
    pidns = t.kernel.pidns
    if which == IOPRIO_WHO_PROCESS:
        return [_task(t, who, ESRCH).tg]
    if which == IOPRIO_WHO_PGRP:
        found = t.tg.pidns.process_group(who) if who else pidns.process_group(t.tg.pgid)
    else:
        uid = who or t.creds.uid
        found = [tg for tg in pidns.thread_groups.values()
                 if tg.exit_status is None and tg.tasks and tg.tasks[0].creds.uid == uid]
    if not found:
        raise SyscallError(ESRCH)
    return found


def ioprio_get(t, which, who):
    return max(tg.ioprio for tg in _io_targets(t, which, who))


def ioprio_set(t, which, who, ioprio):
    ioprio = to_s32(ioprio)
    cls, level = ioprio >> IOPRIO_CLASS_SHIFT & 7, ioprio & 7
    if cls == IOPRIO_CLASS_RT and not (t.creds.has_cap(CAP_SYS_NICE) or t.creds.has_cap(CAP_SYS_ADMIN)):
        raise SyscallError(EPERM)
    if cls > IOPRIO_CLASS_IDLE or cls == IOPRIO_CLASS_NONE and level:
        raise SyscallError(EINVAL)
    for tg in _io_targets(t, which, who):
        tg.ioprio = ioprio
        if tg.io_context is None:
            tg.io_context = object()   # set_task_ioprio makes the task's io_context
    return 0
