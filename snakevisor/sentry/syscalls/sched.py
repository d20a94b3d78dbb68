"""Scheduling answers: affinity, yield, getcpu, priorities, scheduler policy."""
import os
import struct

from snakevisor.abi.errno import EINVAL, ESRCH, SyscallError
from snakevisor.abi.fs import to_s32
from snakevisor.sentry.syscalls.table import PARTIAL, syscall

NCPUS = os.cpu_count() or 1
SCHED_OTHER, SCHED_FIFO, SCHED_RR, SCHED_BATCH, SCHED_IDLE = 0, 1, 2, 3, 5


def _task(t, tid, negative=EINVAL):
    tid = to_s32(tid)
    if tid < 0:
        raise SyscallError(negative)
    if tid == 0:
        return t
    other = t.kernel.pidns.tasks.get(tid)
    if other is None or tid < 0:
        raise SyscallError(ESRCH)
    return other


@syscall("sched_getaffinity", ("int", "uint", "ptr"))
def sched_getaffinity(t, tid, size, addr):
    task = _task(t, tid, ESRCH)
    if size < 8 or size % 8:
        raise SyscallError(EINVAL)
    mask = task.cpu_mask or (1 << NCPUS) - 1
    n = min(size, 128)
    t.mm.copy_out(addr, mask.to_bytes(n, "little"))
    return n


@syscall("sched_setaffinity", ("int", "uint", "ptr"), PARTIAL, "recorded; the Sentry places stub threads itself")
def sched_setaffinity(t, tid, size, addr):
    task = _task(t, tid, ESRCH)
    n = min(size, 128)
    mask = int.from_bytes(t.mm.copy_in(addr, n), "little") & ((1 << NCPUS) - 1)
    if mask == 0:
        raise SyscallError(EINVAL)
    task.cpu_mask = mask
    return 0


@syscall("sched_yield")
def sched_yield(t):
    return 0


@syscall("getcpu", ("ptr", "ptr", "ptr"))
def getcpu(t, cpu, node, cache):
    if cpu:
        t.mm.copy_out(cpu, struct.pack("<I", 0))
    if node:
        t.mm.copy_out(node, struct.pack("<I", 0))
    return 0


@syscall("getpriority", ("int", "int"), PARTIAL)
def getpriority(t, which, who):
    return 20 - _priority_target(t, which, who).nice


def _priority_target(t, which, who):
    """PRIO_PROCESS, PRIO_PGRP or PRIO_USER; who 0 means the caller."""
    which, who = to_s32(which), to_s32(who)
    if which not in (0, 1, 2):
        raise SyscallError(EINVAL)
    if which == 0:
        if who == 0:
            return t.tg
        tg = t.kernel.pidns.thread_groups.get(who)
        task = t.kernel.pidns.tasks.get(who)
        if tg is None and task is not None:
            tg = task.tg
        if tg is None:
            raise SyscallError(ESRCH)
        return tg
    if which == 1:
        groups = t.kernel.pidns.process_group(who or t.tg.pgid)
        if not groups:
            raise SyscallError(ESRCH)
        return groups[0]
    if who and who != t.creds.uid:
        raise SyscallError(ESRCH)
    return t.tg


@syscall("setpriority", ("int", "int", "int"), PARTIAL)
def setpriority(t, which, who, prio):
    target = _priority_target(t, which, who)
    target.nice = max(-20, min(19, to_s32(prio)))
    return 0


@syscall("sched_getscheduler", ("int",))
def sched_getscheduler(t, tid):
    _task(t, tid)
    return SCHED_OTHER


@syscall("sched_setscheduler", ("int", "int", "ptr"), PARTIAL)
def sched_setscheduler(t, tid, policy, param):
    if not param or to_s32(tid) < 0:
        raise SyscallError(EINVAL)
    _task(t, tid)
    prio = struct.unpack("<i", t.mm.copy_in(param, 4))[0]
    if policy not in (SCHED_OTHER, SCHED_BATCH, SCHED_IDLE) or prio != 0:
        raise SyscallError(EINVAL)
    return 0


@syscall("sched_getparam", ("int", "ptr"))
def sched_getparam(t, tid, param):
    if not param or to_s32(tid) < 0:
        raise SyscallError(EINVAL)
    _task(t, tid)
    t.mm.copy_out(param, struct.pack("<i", 0))
    return 0


@syscall("sched_setparam", ("int", "ptr"), PARTIAL)
def sched_setparam(t, tid, param):
    if not param or to_s32(tid) < 0:
        raise SyscallError(EINVAL)
    _task(t, tid)
    if struct.unpack("<i", t.mm.copy_in(param, 4))[0] != 0:
        raise SyscallError(EINVAL)
    return 0


@syscall("sched_get_priority_max", ("int",))
def sched_get_priority_max(t, policy):
    if policy in (SCHED_FIFO, SCHED_RR):
        return 99
    if policy in (SCHED_OTHER, SCHED_BATCH, SCHED_IDLE):
        return 0
    raise SyscallError(EINVAL)


@syscall("sched_get_priority_min", ("int",))
def sched_get_priority_min(t, policy):
    if policy in (SCHED_FIFO, SCHED_RR):
        return 1
    if policy in (SCHED_OTHER, SCHED_BATCH, SCHED_IDLE):
        return 0
    raise SyscallError(EINVAL)


