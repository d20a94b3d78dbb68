"""membarrier(2): memory barriers across the threads of a process (or every process).

Every command Linux has is accepted, with its registration rules (a PRIVATE_EXPEDITED command
before its REGISTER is EPERM; registrations are per address space, kept by fork and gone after exec).
The barrier itself: when the Sentry and every stub share one host CPU (the ptrace platform pins
them so), the context switch into the Sentry that serves this call already orders every other
thread's memory accesses; otherwise the host's own MEMBARRIER_CMD_GLOBAL is issued.
"""
import os

from snakevisor.abi.errno import EINVAL, EPERM, SyscallError
from snakevisor.abi.sched import (
    MEMBARRIER_CMD_FLAG_CPU as FLAG_CPU, MEMBARRIER_CMD_GET_REGISTRATIONS as GET_REGISTRATIONS,
    MEMBARRIER_CMD_GLOBAL as GLOBAL, MEMBARRIER_CMD_GLOBAL_EXPEDITED as GLOBAL_EXPEDITED,
    MEMBARRIER_CMD_PRIVATE_EXPEDITED as PRIVATE_EXPEDITED,
    MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ as PRIVATE_EXPEDITED_RSEQ,
    MEMBARRIER_CMD_PRIVATE_EXPEDITED_SYNC_CORE as PRIVATE_EXPEDITED_SYNC_CORE, MEMBARRIER_CMD_QUERY as QUERY,
    MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED as REGISTER_GLOBAL_EXPEDITED,
    MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED as REGISTER_PRIVATE_EXPEDITED,
    MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_RSEQ as REGISTER_PRIVATE_EXPEDITED_RSEQ,
    MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_SYNC_CORE as REGISTER_PRIVATE_EXPEDITED_SYNC_CORE)
from snakevisor.abi.syscall_numbers import SYSCALL_NUMBERS
from snakevisor.hostos.libc import syscall as host_syscall

SUPPORTED = 1023            # every command above: what Linux 6.x answers to QUERY
REGISTERS = {PRIVATE_EXPEDITED: REGISTER_PRIVATE_EXPEDITED,
             PRIVATE_EXPEDITED_SYNC_CORE: REGISTER_PRIVATE_EXPEDITED_SYNC_CORE,
             PRIVATE_EXPEDITED_RSEQ: REGISTER_PRIVATE_EXPEDITED_RSEQ}


def _host_barrier():
    if len(os.sched_getaffinity(0)) > 1:
        host_syscall(SYSCALL_NUMBERS["membarrier"], GLOBAL, 0, 0)


def membarrier(t, cmd, flags, cpu_id):
    cmd &= 0xFFFFFFFF
    if flags and not (cmd == PRIVATE_EXPEDITED_RSEQ and flags == FLAG_CPU):
        raise SyscallError(EINVAL)
    if cmd == QUERY:
        return SUPPORTED
    registered = t.mm.membarrier_state
    if cmd == GET_REGISTRATIONS:
        return registered
    if cmd in (REGISTER_GLOBAL_EXPEDITED, REGISTER_PRIVATE_EXPEDITED, REGISTER_PRIVATE_EXPEDITED_SYNC_CORE,
               REGISTER_PRIVATE_EXPEDITED_RSEQ):
        t.mm.membarrier_state = registered | cmd
        return 0
    if cmd in REGISTERS:
        if not registered & REGISTERS[cmd]:
            raise SyscallError(EPERM)
    elif cmd not in (GLOBAL, GLOBAL_EXPEDITED):
        raise SyscallError(EINVAL)
    _host_barrier()
    return 0
