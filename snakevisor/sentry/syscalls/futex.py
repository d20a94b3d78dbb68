"""futex(2): WAIT, WAKE, the bitset variants, REQUEUE and CMP_REQUEUE, WAKE_OP; futex_waitv(2)."""
import struct

from snakevisor.abi.errno import EINVAL, ENOSYS, SyscallError
from snakevisor.abi.futex import (FUTEX2_PRIVATE, FUTEX2_SIZE_MASK, FUTEX2_SIZE_U32, FUTEX_BITSET_MATCH_ANY as BITSET_ALL,
                                  FUTEX_CLOCK_REALTIME, FUTEX_CMP_REQUEUE, FUTEX_PRIVATE_FLAG, FUTEX_REQUEUE, FUTEX_WAIT,
                                  FUTEX_WAIT_BITSET, FUTEX_WAITV_MAX, FUTEX_WAITV_SIZE, FUTEX_WAKE, FUTEX_WAKE_BITSET,
                                  FUTEX_WAKE_OP)
from snakevisor.abi.time import CLOCK_MONOTONIC, CLOCK_REALTIME
from snakevisor.sentry.syscalls.time import NSEC, clock_ns, read_timespec


def futex(t, addr, op, val, timeout_ptr, addr2, val3):
    private = bool(op & FUTEX_PRIVATE_FLAG)
    cmd = op & 0x7F
    fm = t.kernel.futexes
    if cmd in (FUTEX_WAIT, FUTEX_WAIT_BITSET):
        bitset = BITSET_ALL if cmd == FUTEX_WAIT else val3
        timeout = None
        if timeout_ptr:
            ns = read_timespec(t, timeout_ptr)
            if cmd == FUTEX_WAIT_BITSET:  # absolute
                clock = CLOCK_REALTIME if op & FUTEX_CLOCK_REALTIME else CLOCK_MONOTONIC
                ns = ns - clock_ns(t, clock)
            timeout = max(ns, 0) / NSEC
        return (yield from fm.wait(t, addr, val, bitset, timeout, private))
    if cmd in (FUTEX_WAKE, FUTEX_WAKE_BITSET):
        return fm.wake(t, addr, val & 0x7FFFFFFF, BITSET_ALL if cmd == FUTEX_WAKE else val3, private)
    if cmd in (FUTEX_REQUEUE, FUTEX_CMP_REQUEUE):
        count2 = timeout_ptr & 0x7FFFFFFF
        return fm.requeue(t, addr, val & 0x7FFFFFFF, addr2, count2, private,
                          val3 if cmd == FUTEX_CMP_REQUEUE else None)
    if cmd == FUTEX_WAKE_OP:
        return _wake_op(t, fm, addr, val, timeout_ptr & 0x7FFFFFFF, addr2, val3, private)
    raise SyscallError(ENOSYS)  # PI futexes, FUTEX_FD, and unknown operations


def futex_waitv(t, waiters, nr_futexes, flags, timeout_ptr, clockid):
    """Wait on up to 128 futexes at once; the index of the one woken (Linux's checks, in order)."""
    if flags or not waiters or not 0 < nr_futexes <= FUTEX_WAITV_MAX:
        raise SyscallError(EINVAL)
    timeout = None
    if timeout_ptr:
        if clockid not in (CLOCK_MONOTONIC, CLOCK_REALTIME):
            raise SyscallError(EINVAL)
        timeout = max(read_timespec(t, timeout_ptr) - clock_ns(t, clockid), 0) / NSEC   # absolute
    raw = t.mm.copy_in(waiters, nr_futexes * FUTEX_WAITV_SIZE)
    futexes = []
    for val, uaddr, wflags, reserved in struct.iter_unpack("<QQII", raw):
        if wflags & ~(FUTEX2_SIZE_MASK | FUTEX2_PRIVATE) or reserved or wflags & FUTEX2_SIZE_MASK != FUTEX2_SIZE_U32 \
                or val >> 32:
            raise SyscallError(EINVAL)
        futexes.append((uaddr, val, bool(wflags & FUTEX2_PRIVATE)))
    return (yield from t.kernel.futexes.wait_any(t, futexes, timeout))


def _wake_op(t, fm, addr, count, count2, addr2, encoded, private):
    op, cmp = (encoded >> 28) & 0xF, (encoded >> 24) & 0xF
    oparg, cmparg = (encoded >> 12) & 0xFFF, encoded & 0xFFF
    if op & 8:
        oparg = 1 << (oparg & 31)
        op &= 7
    old = struct.unpack("<I", t.mm.copy_in(addr2, 4))[0]
    ops = {0: lambda o: oparg, 1: lambda o: o + oparg, 2: lambda o: o | oparg, 3: lambda o: o & ~oparg,
           4: lambda o: o ^ oparg}
    if op not in ops:
        raise SyscallError(ENOSYS)
    t.mm.copy_out(addr2, struct.pack("<I", ops[op](old) & 0xFFFFFFFF))
    woken = fm.wake(t, addr, count, BITSET_ALL, private)
    signed_old = old - (1 << 32) if old >= 1 << 31 else old
    cmps = {0: signed_old == cmparg, 1: signed_old != cmparg, 2: signed_old < cmparg, 3: signed_old <= cmparg,
            4: signed_old > cmparg, 5: signed_old >= cmparg}
    if cmp not in cmps:
        raise SyscallError(ENOSYS)
    if cmps[cmp]:
        woken += fm.wake(t, addr2, count2, BITSET_ALL, private)
    return woken


