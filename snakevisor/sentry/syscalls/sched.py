"""Scheduling answers: affinity, yield, getcpu, priorities, scheduler policy."""
import os
import struct

from snakevisor.abi.errno import EINVAL, ESRCH, SyscallError
from snakevisor.abi.fs import to_s32
from snakevisor.sentry.syscalls.table import PARTIAL, syscall

NCPUS = os.cpu_count() or 1
SCHED_OTHER, SCHED_FIFO, SCHED_RR, SCHED_BATCH, SCHED_IDLE = 0, 1, 2, 3, 5


def _task(t, tid):
    tid = to_s32(tid)
    if tid == 0:
        return t
    other = t.kernel.pidns.tasks.get(tid)
    if other is None or tid < 0:
        raise SyscallError(ESRCH)
    return other


@syscall("sched_getaffinity", ("int", "uint", "ptr"))
def sched_getaffinity(t, tid, size, addr):
    task = _task(t, tid)
    if size < 8 or size % 8:
        raise SyscallError(EINVAL)
    mask = getattr(task, "cpu_mask", (1 << NCPUS) - 1)
    n = min(size, 128)
    t.mm.copy_out(addr, mask.to_bytes(n, "little"))
    return n


@syscall("sched_setaffinity", ("int", "uint", "ptr"), PARTIAL, "recorded; the Sentry places stub threads itself")
def sched_setaffinity(t, tid, size, addr):
    task = _task(t, tid)
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
    if which > 2:
        raise SyscallError(EINVAL)
    return 20 - getattr(t.tg, "nice", 0)


@syscall("setpriority", ("int", "int", "int"), PARTIAL)
def setpriority(t, which, who, prio):
    if which > 2:
        raise SyscallError(EINVAL)
    t.tg.nice = max(-20, min(19, to_s32(prio)))
    return 0


@syscall("sched_getscheduler", ("int",))
def sched_getscheduler(t, tid):
    _task(t, tid)
    return SCHED_OTHER


@syscall("sched_setscheduler", ("int", "int", "ptr"), PARTIAL)
def sched_setscheduler(t, tid, policy, param):
    _task(t, tid)
    prio = struct.unpack("<i", t.mm.copy_in(param, 4))[0]
    if policy not in (SCHED_OTHER, SCHED_BATCH, SCHED_IDLE) or prio != 0:
        raise SyscallError(EINVAL)
    return 0


@syscall("sched_getparam", ("int", "ptr"))
def sched_getparam(t, tid, param):
    _task(t, tid)
    t.mm.copy_out(param, struct.pack("<i", 0))
    return 0


@syscall("sched_setparam", ("int", "ptr"), PARTIAL)
def sched_setparam(t, tid, param):
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


