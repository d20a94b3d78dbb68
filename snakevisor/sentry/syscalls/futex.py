"""futex(2): WAIT, WAKE, the bitset variants, REQUEUE and CMP_REQUEUE, WAKE_OP, the PI operations
(kernel/futex_pi.py); the futex2 calls futex_waitv(2), futex_wake(2), futex_wait(2) and futex_requeue(2)."""
import struct

from snakevisor.abi.errno import EINVAL, ENOSYS, SyscallError
from snakevisor.abi.futex import (FUTEX2_PRIVATE, FUTEX2_SIZE_MASK, FUTEX2_SIZE_U32, FUTEX_BITSET_MATCH_ANY as BITSET_ALL,
                                  FUTEX_CLOCK_REALTIME, FUTEX_CMD_MASK, FUTEX_CMP_REQUEUE, FUTEX_CMP_REQUEUE_PI,
                                  FUTEX_LOCK_PI, FUTEX_LOCK_PI2, FUTEX_PRIVATE_FLAG, FUTEX_REQUEUE, FUTEX_TRYLOCK_PI,
                                  FUTEX_UNLOCK_PI, FUTEX_WAIT, FUTEX_WAIT_BITSET, FUTEX_WAIT_REQUEUE_PI, FUTEX_WAITV_MAX,
                                  FUTEX_WAITV_SIZE, FUTEX_WAKE, FUTEX_WAKE_BITSET, FUTEX_WAKE_OP)
from snakevisor.abi.fs import to_s32
from snakevisor.abi.time import CLOCK_MONOTONIC, CLOCK_REALTIME
from snakevisor.sentry.syscalls.time import NSEC, clock_ns, read_timespec


def futex(t, addr, op, val, timeout_ptr, addr2, val3):
    private = bool(op & FUTEX_PRIVATE_FLAG)
    cmd = op & FUTEX_CMD_MASK
    if op & FUTEX_CLOCK_REALTIME and cmd not in (FUTEX_WAIT_BITSET, FUTEX_WAIT_REQUEUE_PI, FUTEX_LOCK_PI2):
        if timeout_ptr and cmd in (FUTEX_WAIT, FUTEX_LOCK_PI):
            read_timespec(t, timeout_ptr)   # sys_futex reads (and checks) a timeout before do_futex
        raise SyscallError(ENOSYS)   # the flag is for the calls that take an absolute time
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
    # The counts are ints: a negative one wakes one (futex_wake counts after waking) but is
    # EINVAL to futex_requeue; the second count comes in the timeout argument (val2).
    if cmd in (FUTEX_WAKE, FUTEX_WAKE_BITSET):
        n = val & 0xFFFFFFFF   # (to_s32 and "at least one", inlined: the hottest futex call)
        return fm.wake(t, addr, n if 0 < n < 0x80000000 else 1, BITSET_ALL if cmd == FUTEX_WAKE else val3, private)
    if cmd in (FUTEX_REQUEUE, FUTEX_CMP_REQUEUE):
        count, count2 = to_s32(val), to_s32(timeout_ptr)
        if count < 0 or count2 < 0:
            raise SyscallError(EINVAL)
        return fm.requeue(t, addr, count, addr2, count2, private, val3 if cmd == FUTEX_CMP_REQUEUE else None)
    if cmd == FUTEX_WAKE_OP:
        return _wake_op(t, fm, addr, to_s32(val), to_s32(timeout_ptr), addr2, val3, private)
    if cmd in PI_OPS:
        return (yield from _pi(t, fm.pi, cmd, op, addr, val, timeout_ptr, addr2, val3, private))
    raise SyscallError(ENOSYS)  # FUTEX_FD, and unknown operations


PI_OPS = frozenset((FUTEX_LOCK_PI, FUTEX_LOCK_PI2, FUTEX_UNLOCK_PI, FUTEX_TRYLOCK_PI, FUTEX_WAIT_REQUEUE_PI,
                    FUTEX_CMP_REQUEUE_PI))


def _pi(t, pi, cmd, op, addr, val, timeout_ptr, addr2, val3, private):
    """The PI futex operations (generator). Their timeouts are absolute: LOCK_PI's on
    CLOCK_REALTIME, LOCK_PI2's and WAIT_REQUEUE_PI's on CLOCK_MONOTONIC unless FUTEX_CLOCK_REALTIME."""
    deadline = None
    if timeout_ptr and cmd in (FUTEX_LOCK_PI, FUTEX_LOCK_PI2, FUTEX_WAIT_REQUEUE_PI):
        ns = read_timespec(t, timeout_ptr)
        clock = CLOCK_REALTIME if cmd == FUTEX_LOCK_PI or op & FUTEX_CLOCK_REALTIME else CLOCK_MONOTONIC
        deadline = t.kernel.monotonic() + max(ns - clock_ns(t, clock), 0) / NSEC
    if cmd == FUTEX_UNLOCK_PI:
        return (yield from pi.unlock(t, addr, private))
    if cmd == FUTEX_CMP_REQUEUE_PI:
        count, count2 = to_s32(val), to_s32(timeout_ptr)
        if count < 0 or count2 < 0 or count != 1:
            raise SyscallError(EINVAL)   # one waiter woken, and only if it takes the lock
        return (yield from pi.cmp_requeue(t, addr, count2, addr2, val3, private))
    if cmd == FUTEX_WAIT_REQUEUE_PI:
        return (yield from pi.wait_requeue(t, addr, val, deadline, addr2, private))
    return (yield from pi.lock(t, addr, deadline, private, trylock=cmd == FUTEX_TRYLOCK_PI))


def _futex2_flags(flags, *values):
    """futex2's flags check: 32-bit futexes only (FUTEX2_NUMA and FUTEX2_MPOL as a kernel
    without CONFIG_FUTEX_NUMA), values that fit the size. Returns whether it is private."""
    if flags & ~(FUTEX2_SIZE_MASK | FUTEX2_PRIVATE) or flags & FUTEX2_SIZE_MASK != FUTEX2_SIZE_U32 \
            or any(v >> 32 for v in values):
        raise SyscallError(EINVAL)
    return bool(flags & FUTEX2_PRIVATE)


def _absolute_timeout(t, timeout_ptr, clockid):
    """futex2's timeouts: absolute, on CLOCK_MONOTONIC or CLOCK_REALTIME; seconds from now."""
    if clockid not in (CLOCK_MONOTONIC, CLOCK_REALTIME):
        raise SyscallError(EINVAL)
    return max(read_timespec(t, timeout_ptr) - clock_ns(t, clockid), 0) / NSEC


def _parse_waitv(t, addr, count):
    """[(uaddr, val, private)] of ``count`` struct futex_waitv (futex_parse_waitv's checks)."""
    futexes = []
    for val, uaddr, wflags, reserved in struct.iter_unpack("<QQII", t.mm.copy_in(addr, count * FUTEX_WAITV_SIZE)):
        if reserved:
            raise SyscallError(EINVAL)
        futexes.append((uaddr, val, _futex2_flags(wflags, val)))
    return futexes


def futex_waitv(t, waiters, nr_futexes, flags, timeout_ptr, clockid):
    """Wait on up to 128 futexes at once; the index of the one woken (Linux's checks, in order)."""
    if flags or not waiters or not 0 < nr_futexes <= FUTEX_WAITV_MAX:
        raise SyscallError(EINVAL)
    timeout = _absolute_timeout(t, timeout_ptr, clockid) if timeout_ptr else None
    futexes = _parse_waitv(t, waiters, nr_futexes)
    return (yield from t.kernel.futexes.wait_any(t, futexes, timeout))


def futex_wake(t, addr, mask, count, flags):
    """futex_wake(2): FUTEX_WAKE_BITSET with futex2 flags; waking 0 waiters wakes none."""
    private = _futex2_flags(flags, mask)
    if mask == 0:
        raise SyscallError(EINVAL)
    key = t.kernel.futexes.key(t, addr, private)
    count = to_s32(count)
    if count <= 0:
        return 0
    return t.kernel.futexes.wake_key(key, count, mask)


def futex_wait(t, addr, val, mask, flags, timeout_ptr, clockid):
    """futex_wait(2): FUTEX_WAIT_BITSET with futex2 flags and an absolute timeout on ``clockid``."""
    private = _futex2_flags(flags, val, mask)
    timeout = _absolute_timeout(t, timeout_ptr, clockid) if timeout_ptr else None
    return (yield from t.kernel.futexes.wait(t, addr, val, mask, timeout, private))


def futex_requeue(t, waiters, flags, nr_wake, nr_requeue):
    """futex_requeue(2): FUTEX_CMP_REQUEUE from waiters[0] (its value compared) to waiters[1]."""
    if flags or not waiters:
        raise SyscallError(EINVAL)
    (addr, val, private), (addr2, _, private2) = _parse_waitv(t, waiters, 2)
    nr_wake, nr_requeue = to_s32(nr_wake), to_s32(nr_requeue)
    if nr_wake < 0 or nr_requeue < 0:
        raise SyscallError(EINVAL)
    return t.kernel.futexes.requeue(t, addr, nr_wake, addr2, nr_requeue, private, val, private2)


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


