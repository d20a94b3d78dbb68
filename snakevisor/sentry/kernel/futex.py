"""Futexes: wait queues keyed by (address space, address) for private, MemoryFile offset for shared,
the host file and its offset for a host file's pages (mm/hostmap.py: two processes mapping a volume's
file share them, as Linux keys a shared file page by its inode and offset);
the PI futexes are kernel/futex_pi.py's, robust lists are walked here as a thread exits."""
import struct

from snakevisor.abi.errno import EAGAIN, EFAULT, EINVAL, ETIMEDOUT, SyscallError
from snakevisor.abi.futex import (FUTEX_BITSET_MATCH_ANY as BITSET_ALL, FUTEX_OWNER_DIED, FUTEX_TID_MASK,
                                  FUTEX_WAITERS, ROBUST_LIST_LIMIT)
from snakevisor.abi.mm import PROT_EXEC, PROT_READ, PROT_WRITE
from snakevisor.sentry.kernel.futex_pi import CAS_TRIES, PiFutexes
from snakevisor.sentry.mm.vma import ANON, COW, HOST
from snakevisor.sentry.vfs.waiter import WaitQueue


def _check_value(t, addr, expected):
    """EAGAIN unless the futex word at ``addr`` holds ``expected`` (as a u32)."""
    if struct.unpack("<I", t.mm.copy_in(addr, 4))[0] != expected & 0xFFFFFFFF:
        raise SyscallError(EAGAIN)


class FutexManager:
    def __init__(self):
        self.queues = {}  # key -> list of [bitset, waiter-state]
        self.pi = PiFutexes(self)

    @staticmethod
    def key(t, addr, private):
        if addr & 3:
            raise SyscallError(EINVAL)
        if private:
            return ("p", id(t.mm), addr)
        v = t.mm.vmas.find(addr)
        if v is None or not v.prot & (PROT_READ | PROT_WRITE | PROT_EXEC) or v.past_eof:
            # get_futex_key pins the page: none to pin where an access would fault (SIGSEGV or SIGBUS)
            raise SyscallError(EFAULT)
        if v.kind in (ANON, COW):
            # Private anonymous memory is keyed by (mm, address) as Linux does: its MemoryFile
            # offset changes when a fork's copy-on-write is broken, under a waiter.
            return ("a", id(t.mm), addr)
        if v.kind == HOST:
            return ("h", v.owner.key, v.file_off + addr - v.start)
        if v.lazy:
            v = t.mm.find_populated(addr)   # a lazily mapped file page gets its MemoryFile offset
            if v.lazy:
                raise SyscallError(EFAULT)  # past the end of the file: no page to key
        return ("s", v.mf_off + addr - v.start)

    def wait(self, t, addr, expected, bitset, timeout, private):
        """Block while *addr == expected (generator); returns 0 once woken. (wait_any for one
        futex, without its lists: FUTEX_WAIT is the commonest blocking call of threaded programs.)"""
        if bitset == 0:
            raise SyscallError(EINVAL)
        key = self.key(t, addr, private)
        _check_value(t, addr, expected)
        entry = [bitset, WaitQueue(), False]
        waiters = self.queues.get(key)
        if waiters is None:
            self.queues[key] = [entry]
        else:
            waiters.append(entry)
        try:
            events = yield from t.block_on(entry[1], 1, timeout)
        finally:
            self._unqueue(key, entry)
        if not entry[2] and not events:
            raise SyscallError(ETIMEDOUT)
        return 0

    def wait_any(self, t, futexes, timeout, bitset=BITSET_ALL):
        """Block while each of ``futexes`` [(addr, expected, private)] holds its expected value
        (generator); returns the index of the one woken (futex_waitv). EAGAIN if a value differs
        already, ETIMEDOUT when ``timeout`` (seconds) passes."""
        keys = [self.key(t, addr, private) for addr, _, private in futexes]
        for addr, expected, _ in futexes:
            _check_value(t, addr, expected)
        queue = WaitQueue()
        entries = [[bitset, queue, False] for _ in keys]
        for key, entry in zip(keys, entries):
            self.queues.setdefault(key, []).append(entry)
        try:
            events = yield from t.block_on(queue, 1, timeout)
        finally:
            for key, entry in zip(keys, entries):
                self._unqueue(key, entry)
        for i, entry in enumerate(entries):
            if entry[2]:
                return i
        if not events:
            raise SyscallError(ETIMEDOUT)
        return 0

    def _unqueue(self, key, entry):
        """Take ``entry`` (by identity: a vector's entries are alike) off ``key``'s waiters."""
        waiters = self.queues.get(key)
        if waiters:
            for i, e in enumerate(waiters):
                if e is entry:
                    del waiters[i]
                    break
            if not waiters:
                del self.queues[key]

    def wake(self, t, addr, count, bitset, private):
        if bitset == 0:
            raise SyscallError(EINVAL)
        key = self.key(t, addr, private)
        if (self.pi.states or self.pi.requeuers) and self.pi.busy(key):
            raise SyscallError(EINVAL)   # PI waiters are woken by UNLOCK_PI and CMP_REQUEUE_PI only
        return self.wake_key(key, count, bitset)

    def wake_key(self, key, count, bitset=BITSET_ALL):
        """Wake up to ``count`` waiters of ``key`` whose bitset meets ``bitset``; at least one, as
        Linux's futex_wake (it counts after waking), so a count of 0 or less wakes one."""
        waiters = self.queues.get(key)
        woken = 0
        count = max(count, 1)
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

    def requeue(self, t, addr, count, addr2, count2, private, expected=None, private2=None):
        key1 = self.key(t, addr, private)
        key2 = self.key(t, addr2, private if private2 is None else private2)
        if expected is not None:
            value = struct.unpack("<I", t.mm.copy_in(addr, 4))[0]
            if value != expected & 0xFFFFFFFF:
                raise SyscallError(EAGAIN)
        if self.pi.busy(key1) and count + count2 > 0:
            raise SyscallError(EINVAL)   # WAIT_REQUEUE_PI waiters move with CMP_REQUEUE_PI only
        woken = self.wake_key(key1, count) if count > 0 else 0
        waiters = self.queues.get(key1, [])
        if key1 == key2:   # onto itself: the waiters stay where they are, counted as moved
            return woken + min(len(waiters), count2)
        moved = 0
        while waiters and moved < count2:
            self.queues.setdefault(key2, []).append(waiters.pop(0))
            moved += 1
        if not waiters:
            self.queues.pop(key1, None)
        return woken + moved

    # -- a thread's exit: robust futex lists (set_robust_list), PI locks ---------------------------
    def thread_exited(self, task):
        """The futexes a dying thread holds: those on its robust list get FUTEX_OWNER_DIED (a
        waiter woken), then its contended PI locks go to their waiters (Linux's futex_cleanup)."""
        try:
            if task.mm is not None:
                self.release_robust_list(task)
        finally:
            if self.pi.states:
                self.pi.owner_exited(task)

    def release_robust_list(self, task):
        """Walk the dying thread's robust list (Linux's exit_robust_list): an entry's low bit
        marks a PI futex; the pending entry (list_op_pending) is handled last."""
        head, length = task.robust_list
        if not head or length != 24:
            return
        mm = task.mm
        first, offset, pending = struct.unpack("<QqQ", mm.copy_in(head, 24))
        entry, pi = first & ~1, first & 1
        seen = 0
        while entry != head and seen < ROBUST_LIST_LIMIT:
            next_entry = struct.unpack("<Q", mm.copy_in(entry, 8))[0]
            if entry != pending & ~1:
                self._owner_died(task, (entry + offset) & 0xFFFFFFFFFFFFFFFF, pi, False)
            entry, pi = next_entry & ~1, next_entry & 1
            seen += 1
        if pending & ~1:
            self._owner_died(task, (pending & ~1) + offset & 0xFFFFFFFFFFFFFFFF, pending & 1, True)

    def _owner_died(self, task, addr, pi, pending):
        """handle_futex_death: a word the dying thread owns gets FUTEX_OWNER_DIED (its waiters bit
        kept, its TID cleared) atomically; a non-PI one wakes a waiter (a PI one's waiters get the
        lock from thread_exited). A pending non-PI word of 0 was being unlocked: wake one."""
        if addr & 3:
            return
        mm = task.mm
        for _ in range(CAS_TRIES):   # bounded: the application may keep changing the word
            value = struct.unpack("<I", mm.copy_in(addr, 4))[0]
            if pending and not pi and not value:
                self._wake_robust(task, addr)
                return
            if value & FUTEX_TID_MASK != task.tg.pidns.id_of(task.tid):
                return
            if mm.compare_and_swap(addr, value, (value & FUTEX_WAITERS) | FUTEX_OWNER_DIED) == value:
                if not pi and value & FUTEX_WAITERS:
                    self._wake_robust(task, addr)
                return

    def _wake_robust(self, task, addr):
        """Linux wakes the shared key; a private-anonymous word's is (mm, address), as a private one."""
        for private in (True, False):
            self.wake_key(self.key(task, addr, private), 1)
