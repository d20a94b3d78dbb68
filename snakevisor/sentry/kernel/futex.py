"""Futexes: wait queues keyed by (address space, address) for private, MemoryFile offset for shared."""
import struct

from snakevisor.abi.errno import EAGAIN, EFAULT, EINVAL, ETIMEDOUT, SyscallError
from snakevisor.sentry.vfs.waiter import WaitQueue

BITSET_ALL = 0xFFFFFFFF


class FutexManager:
    def __init__(self):
        self.queues = {}  # key -> list of [bitset, waiter-state]

    @staticmethod
    def key(t, addr, private):
        if addr & 3:
            raise SyscallError(EINVAL)
        if private:
            return ("p", id(t.mm), addr)
        v = t.mm.vmas.find(addr)
        if v is None:
            raise SyscallError(EFAULT)
        return ("s", v.mf_off + addr - v.start)

    def wait(self, t, addr, expected, bitset, timeout, private):
        """Block while *addr == expected (generator); returns 0 once woken."""
        if bitset == 0:
            raise SyscallError(EINVAL)
        key = self.key(t, addr, private)
        value = struct.unpack("<I", t.mm.copy_in(addr, 4))[0]
        if value != expected & 0xFFFFFFFF:
            raise SyscallError(EAGAIN)
        queue = WaitQueue()
        entry = [bitset, queue, False]
        self.queues.setdefault(key, []).append(entry)
        try:
            events = yield from t.block_on(queue, 1, timeout)
        finally:
            waiters = self.queues.get(key)
            if waiters and entry in waiters:
                waiters.remove(entry)
                if not waiters:
                    del self.queues[key]
        if not entry[2] and not events:
            raise SyscallError(ETIMEDOUT)
        return 0

    def wake(self, t, addr, count, bitset, private):
        if bitset == 0:
            raise SyscallError(EINVAL)
        return self.wake_key(self.key(t, addr, private), count, bitset)

    def wake_key(self, key, count, bitset=BITSET_ALL):
        waiters = self.queues.get(key)
        woken = 0
        while waiters and woken < count:
            for entry in waiters:
                if entry[0] & bitset:
                    waiters.remove(entry)
                    entry[2] = True
                    entry[1].notify(1)
                    woken += 1
                    break
            else:
                break
        if waiters is not None and not waiters:
            self.queues.pop(key, None)
        return woken

    def requeue(self, t, addr, count, addr2, count2, private, expected=None):
        key1, key2 = self.key(t, addr, private), self.key(t, addr2, private)
        if expected is not None:
            value = struct.unpack("<I", t.mm.copy_in(addr, 4))[0]
            if value != expected & 0xFFFFFFFF:
                raise SyscallError(EAGAIN)
        woken = self.wake_key(key1, count)
        moved = 0
        waiters = self.queues.get(key1, [])
        while waiters and moved < count2:
            self.queues.setdefault(key2, []).append(waiters.pop(0))
            moved += 1
        if not waiters:
            self.queues.pop(key1, None)
        return woken + moved
