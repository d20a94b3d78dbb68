"""Priority-inheritance futexes: FUTEX_LOCK_PI(2), TRYLOCK_PI, UNLOCK_PI, WAIT_REQUEUE_PI and
CMP_REQUEUE_PI, the protocol of Linux's kernel/futex/pi.c and requeue.c as the application sees it.

The futex word holds the owner's TID (as the caller's PID namespace names it) with FUTEX_WAITERS
and FUTEX_OWNER_DIED. A lock that is contended has a PiState (Linux's futex_pi_state): its owner
Task and its waiters, in arrival order; it lives as long as someone waits on it. Unlocking hands
the lock to the first waiter (the word becomes its TID | FUTEX_WAITERS); a dying owner's lock
goes to the first waiter, which marks the word FUTEX_OWNER_DIED when it wakes (the fix-up Linux's
waiter does). Priority inheritance itself, the boost of the owner's scheduling priority, is not
modelled (the host schedules the stub threads): waiters are served first come, first served,
where Linux orders them by priority.

The word is application memory that other threads change with atomic instructions while the
Sentry works on it: every update is a compare-and-swap, and a swap that keeps failing because the
application keeps changing the word gives the loop back (the Task waits for its next turn and
tries again, interruptible) instead of spinning in the Sentry.
"""
import struct

from snakevisor.abi.errno import (EAGAIN, EDEADLK, EINVAL, EPERM, ERESTARTNOINTR, ERESTARTSYS, ESRCH, ETIMEDOUT,
                                  SyscallError)
from snakevisor.abi.futex import FUTEX_OWNER_DIED, FUTEX_TID_MASK, FUTEX_WAITERS
from snakevisor.sentry.vfs.waiter import WaitQueue

CAS_TRIES = 32   # compare-and-swaps lost to the application before the Task yields its turn


class _Changed(Exception):
    """The word changed under a compare-and-swap: read it again and retry (Linux's -EAGAIN)."""


class PiState:
    """The kernel side of a contended PI futex (Linux's futex_pi_state)."""
    __slots__ = ("owner", "waiters")

    def __init__(self, owner):
        self.owner = owner   # the Task holding it; None while a dead owner's lock passes to waiters[0]
        self.waiters = []    # PiWaiters blocked on it, first come first served


class PiWaiter:
    """A Task blocked in LOCK_PI, or in WAIT_REQUEUE_PI (first on its non-PI futex ``key``, then,
    requeued, on the PI futex ``key2`` as a LOCK_PI waiter)."""
    __slots__ = ("task", "addr", "key2", "queue", "state", "granted", "owner_died")

    def __init__(self, task, addr, key2=None):
        self.task = task
        self.addr = addr        # the PI futex word in the task's own address space
        self.key2 = key2        # WAIT_REQUEUE_PI: the PI futex it may be requeued to
        self.queue = WaitQueue()
        self.state = None       # the PiState it waits on (None: still on its non-PI futex)
        self.granted = False    # it owns the lock now
        self.owner_died = False  # ... handed over by a dying owner: the word is for it to fix


def _load(mm, addr):
    return struct.unpack("<I", mm.copy_in(addr, 4))[0]


def _swap(mm, addr, old, new):
    """Make the word ``new`` if it still holds ``old``; _Changed if it did not."""
    if mm.compare_and_swap(addr, old, new) != old:
        raise _Changed


def vtid(t, task):
    """``task``'s TID as ``t``'s PID namespace names it (0 if it cannot see it)."""
    return t.tg.pidns.id_of(task.tid)


class PiFutexes:
    """The PI futexes of a kernel; ``fm`` is its FutexManager (keys and non-PI waiters)."""

    def __init__(self, fm):
        self.fm = fm
        self.states = {}       # futex key -> PiState
        self.requeuers = {}    # non-PI futex key -> [PiWaiter] in WAIT_REQUEUE_PI

    def busy(self, key):
        """Does ``key`` have PI waiters (FUTEX_WAKE and REQUEUE on it are EINVAL, as Linux's)?"""
        return key in self.states or key in self.requeuers

    # -- taking the lock ------------------------------------------------------------------------
    def _retrying(self, t, attempt):
        """Run ``attempt()`` until the word stops changing under it (generator): after CAS_TRIES
        lost swaps the Task gives the loop a turn (a signal restarts the call) and tries again."""
        while True:
            for _ in range(CAS_TRIES):
                try:
                    return attempt()
                except _Changed:
                    pass
            try:
                yield from t.sleep_until(t.kernel.monotonic())
            except SyscallError as e:
                raise SyscallError(ERESTARTNOINTR) if e.errno == ERESTARTSYS else e

    def _lock_atomic(self, t, addr, key, task, set_waiters=False):
        """One try of futex_lock_pi_atomic for ``task`` on the word at ``addr`` of ``t``'s address
        space: True if ``task`` took the lock, else the PiState to wait on (new ones unregistered)."""
        mm, me = t.mm, vtid(t, task)
        uval = _load(mm, addr)
        if uval & FUTEX_TID_MASK == me:
            raise SyscallError(EDEADLK)
        state = self.states.get(key)
        if state is not None:
            return self._attach_to_state(t, uval, state)
        if key in self.fm.queues or key in self.requeuers:
            raise SyscallError(EINVAL)   # a non-PI futex's waiters: PI and non-PI calls mixed
        if not uval & FUTEX_TID_MASK:
            # Free (the owner-died bit kept), yet the caller came to the kernel: take it here.
            _swap(mm, addr, uval, (uval & FUTEX_OWNER_DIED) | me | (FUTEX_WAITERS if set_waiters else 0))
            return True
        if not uval & FUTEX_WAITERS:
            _swap(mm, addr, uval, uval | FUTEX_WAITERS)   # the owner's unlock now comes to us
        owner = t.tg.pidns.task_of(uval & FUTEX_TID_MASK)
        if owner is None or owner.exited:
            if _load(mm, addr) != uval | FUTEX_WAITERS:
                raise _Changed
            raise SyscallError(ESRCH)   # no such owner, and no robust list said it died
        return PiState(owner)

    @staticmethod
    def _attach_to_state(t, uval, state):
        """attach_to_pi_state's checks: the word must agree with the owner the Sentry knows."""
        pid = uval & FUTEX_TID_MASK
        owner = state.owner
        if uval & FUTEX_OWNER_DIED:
            if owner is None:
                if pid:
                    raise SyscallError(EINVAL)
                return state
            if not pid:
                return state
        elif owner is None:
            raise SyscallError(EINVAL)
        if pid != vtid(t, owner):
            raise SyscallError(EINVAL)
        return state

    def lock(self, t, addr, deadline, private, trylock=False):
        """FUTEX_LOCK_PI/LOCK_PI2 (``deadline`` monotonic seconds or None) and TRYLOCK_PI (generator).
        A trylock that finds the lock held has still set FUTEX_WAITERS, as Linux's."""
        key = self.fm.key(t, addr, private)
        got = yield from self._retrying(t, lambda: self._lock_atomic(t, addr, key, t))
        if got is True:
            return 0
        if trylock:
            raise SyscallError(EAGAIN)
        waiter = PiWaiter(t, addr)
        self._enqueue(key, got, waiter)
        return (yield from self._wait(t, key, waiter, deadline))

    def _enqueue(self, key, state, waiter):
        self.states[key] = state
        state.waiters.append(waiter)
        waiter.state = state

    def _wait(self, t, key, waiter, deadline):
        """Block until ``waiter`` is handed the lock (generator). A signal restarts the call, as
        Linux's futex_lock_pi (ERESTARTNOINTR: never EINTR); the deadline passed is ETIMEDOUT."""
        try:
            yield from self._block(t, waiter, deadline)
        except SyscallError as e:
            if waiter.granted:
                return self._take_over(t, key, waiter.state, waiter)
            self._leave(key, waiter)
            raise SyscallError(ERESTARTNOINTR) if e.errno == ERESTARTSYS else e
        except BaseException:   # killed: the lock it was handed goes on
            self._leave(key, waiter)
            raise
        return self._take_over(t, key, waiter.state, waiter)

    @staticmethod
    def _block(t, waiter, deadline):
        """Sleep until ``waiter`` is granted the lock; ETIMEDOUT once ``deadline`` passes."""
        while not waiter.granted:
            timeout = None if deadline is None else max(deadline - t.kernel.monotonic(), 0)
            if not (yield from t.block_on(waiter.queue, 1, timeout)) and not waiter.granted:
                raise SyscallError(ETIMEDOUT)

    def _take_over(self, t, key, state, waiter):
        """``waiter`` (of ``t``) has the lock. After a dying owner it writes the word itself, as
        Linux's fixup_pi_state_owner: its TID, FUTEX_WAITERS and FUTEX_OWNER_DIED."""
        if waiter.owner_died:
            state.owner = t
            me = vtid(t, t) | FUTEX_WAITERS | FUTEX_OWNER_DIED
            try:
                for _ in range(CAS_TRIES):   # a word the application keeps changing is left to it
                    uval = _load(t.mm, waiter.addr)
                    if t.mm.compare_and_swap(waiter.addr, uval, (uval & FUTEX_OWNER_DIED) | me) == uval:
                        break
            finally:
                self._leave(key, waiter)
        else:
            self._leave(key, waiter)
        return 0

    def _leave(self, key, waiter):
        """Take ``waiter`` off its PiState (the PiState goes with its last waiter). A waiter that
        was handed a dead owner's lock and leaves without it passes it to the next."""
        state = waiter.state
        if state is None:
            return
        waiter.state = None
        if waiter in state.waiters:
            state.waiters.remove(waiter)
        if waiter.owner_died and state.owner is None:
            waiter.granted = waiter.owner_died = False
            self._hand_dead_lock(state)
        if not state.waiters and self.states.get(key) is state:
            del self.states[key]

    @staticmethod
    def _hand_dead_lock(state):
        """A PiState whose owner is gone: its first waiter is woken to take the lock over."""
        if state.waiters:
            first = state.waiters[0]
            first.granted = first.owner_died = True
            first.queue.notify(1)

    # -- giving it up -----------------------------------------------------------------------------
    def unlock(self, t, addr, private):
        """FUTEX_UNLOCK_PI: hand the lock to the first waiter, or free the word (generator)."""
        return (yield from self._retrying(t, lambda: self._unlock_once(t, addr, private)))

    def _unlock_once(self, t, addr, private):
        mm = t.mm
        uval = _load(mm, addr)
        me = vtid(t, t)
        if uval & FUTEX_TID_MASK != me:
            raise SyscallError(EPERM)
        key = self.fm.key(t, addr, private)
        state = self.states.get(key)
        if state is not None and state.owner is not t:
            raise SyscallError(EINVAL)   # the word says we own it, the Sentry says otherwise
        if state is None or not state.waiters:
            # No waiter: the word is freed, waiter and owner-died bits with it. A word that
            # changed since is the application's to handle (Linux's EAGAIN, not a retry).
            if mm.compare_and_swap(addr, uval, 0) != uval:
                raise SyscallError(EAGAIN)
            return 0
        first = state.waiters[0]
        cur = mm.compare_and_swap(addr, uval, vtid(t, first.task) | FUTEX_WAITERS)
        if cur != uval:
            if cur & FUTEX_TID_MASK == uval:
                raise _Changed
            raise SyscallError(EINVAL)
        state.owner = first.task
        first.granted = True
        state.waiters.remove(first)
        first.queue.notify(1)
        if not state.waiters:
            del self.states[key]
        return 0

    def owner_exited(self, task):
        """A thread leaves (after its robust list): the contended PI locks it still holds go to
        their first waiters (Linux's exit_pi_state_list)."""
        for state in list(self.states.values()):
            if state.owner is task:
                state.owner = None
                PiFutexes._hand_dead_lock(state)

    # -- condition variables: wait on a non-PI futex, be requeued onto a PI one ---------------------
    def wait_requeue(self, t, addr, expected, deadline, addr2, private):
        """FUTEX_WAIT_REQUEUE_PI: wait on ``addr`` (while it holds ``expected``) until
        CMP_REQUEUE_PI moves us to the PI futex ``addr2`` and we own it (generator). A signal
        before the requeue restarts the call; after it, the call is EAGAIN (Linux's
        EWOULDBLOCK: a restart would find ``addr`` changed)."""
        if addr == addr2:
            raise SyscallError(EINVAL)
        key2 = self.fm.key(t, addr2, private)
        key = self.fm.key(t, addr, private)
        if _load(t.mm, addr) != expected & 0xFFFFFFFF:
            raise SyscallError(EAGAIN)
        if key == key2:
            raise SyscallError(EINVAL)
        waiter = PiWaiter(t, addr2, key2)
        self.requeuers.setdefault(key, []).append(waiter)
        try:
            yield from self._block(t, waiter, deadline)
        except SyscallError as e:
            if waiter.granted:
                return self._take_over(t, key2, waiter.state, waiter)
            requeued = waiter.state is not None
            self._leave_requeue(key, waiter)
            if e.errno != ERESTARTSYS:
                raise
            raise SyscallError(EAGAIN if requeued else ERESTARTNOINTR)
        except BaseException:
            self._leave_requeue(key, waiter)
            raise
        return self._take_over(t, key2, waiter.state, waiter)

    def _leave_requeue(self, key, waiter):
        """Take a WAIT_REQUEUE_PI waiter off its non-PI futex ``key``, or off its PiState."""
        if waiter.state is not None:
            self._leave(waiter.key2, waiter)
            return
        waiters = self.requeuers.get(key)
        if waiters and waiter in waiters:
            waiters.remove(waiter)
            if not waiters:
                del self.requeuers[key]

    def cmp_requeue(self, t, addr, nr_requeue, addr2, expected, private):
        """FUTEX_CMP_REQUEUE_PI (one to wake, checked by the caller): if ``addr`` holds
        ``expected``, the first waiter takes the PI futex ``addr2`` if it is free, and up to
        ``nr_requeue`` others (one more if it was not free) wait on it. Returns how many were
        woken or moved (generator: the word may change under it)."""
        if addr == addr2:
            raise SyscallError(EINVAL)
        key = self.fm.key(t, addr, private)
        key2 = self.fm.key(t, addr2, private)
        if key == key2:
            raise SyscallError(EINVAL)
        return (yield from self._retrying(
            t, lambda: self._requeue_once(t, addr, key, addr2, key2, expected, nr_requeue)))

    def _requeue_once(self, t, addr, key, addr2, key2, expected, nr_requeue):
        if _load(t.mm, addr) != expected & 0xFFFFFFFF:
            raise SyscallError(EAGAIN)
        waiters = self.requeuers.get(key)
        if key in self.fm.queues:
            raise SyscallError(EINVAL)   # a FUTEX_WAIT waiter: requeue-PI pairs only with WAIT_REQUEUE_PI
        if not waiters:
            return 0
        top = waiters[0]
        if top.key2 != key2:
            raise SyscallError(EINVAL)
        # The first waiter takes the lock if it is free; FUTEX_WAITERS is set if others may follow.
        got = self._lock_atomic(t, addr2, key2, top.task, set_waiters=nr_requeue > 0)
        count = 0
        if got is True:
            waiters.pop(0)
            top.granted = True
            top.queue.notify(1)
            count, state = 1, PiState(top.task)
        else:
            state = got
        try:
            while waiters and count - 1 < nr_requeue:
                moving = waiters[0]
                if moving.key2 != key2:
                    raise SyscallError(EINVAL)
                if state.owner is moving.task:
                    raise SyscallError(EDEADLK)   # it would wait for itself
                waiters.pop(0)
                self._enqueue(key2, state, moving)
                count += 1
        finally:
            if not waiters:
                self.requeuers.pop(key, None)
        return count
