"""The Sentry's event loop: Tasks are coroutines; stub stops, host fds and timers wake them.

Not asyncio (DESIGN.md): a Task's coroutine yields what it waits for, the loop
resumes it with the result. The hot path is a stub stopping at a syscall:
``waitpid`` gives (tid, status) and the Task waiting for that tid is resumed
at once. When nothing else is being waited for, the loop blocks in
``waitpid`` itself; otherwise it drains ``waitpid(WNOHANG)`` and sleeps in
epoll on a SIGCHLD signalfd, the host descriptors Tasks wait on, and timers.
"""
import ctypes
import heapq
import itertools
import os
import select
import signal
import struct
import time
from collections import deque

from snakevisor.abi.fs import F_OWNER_TID, F_SETOWN_EX
from snakevisor.abi.sched import WALL
from snakevisor.hostos.libc import get_errno, libc, readable

_SFD_NONBLOCK = os.O_NONBLOCK
_SFD_CLOEXEC = os.O_CLOEXEC
# The longest single epoll wait: epoll takes an int of milliseconds, and an application may sleep
# for centuries; the loop just wakes up and finds no timer due yet.
MAX_POLL_WAIT = 3600.0
WAKER_CHECK = 32   # stub statuses between two looks at the waker by name (see _fair_to_waker)
# The longest the loop goes without looking at its descriptors and timers while stub stops keep
# it busy (see _poll_if_starved).
STARVED_POLL = 0.01


class WaitStop:
    """Wait for the Task's stub thread to stop (the result is the waitpid status)."""
    __slots__ = ()


WAIT_STOP = WaitStop()


class WaitFd:
    """Wait until host fd ``fd`` has one of ``events`` (result: the events, or 0 on timeout)."""
    __slots__ = ("fd", "events", "deadline")

    def __init__(self, fd, events, deadline=None):
        self.fd, self.events, self.deadline = fd, events, deadline


class WaitQueueReq:
    """Wait until ``queue`` is notified with one of ``events`` (result: the events, or 0 on timeout)."""
    __slots__ = ("queue", "events", "deadline")

    def __init__(self, queue, events, deadline=None):
        self.queue, self.events, self.deadline = queue, events, deadline


class WaitMany:
    """Wait for the first of several: ``items`` are (is_host_fd, fd or WaitQueue, events).

    The result is the events of the one that fired (0 on timeout); poll, select and
    epoll then look at every file's readiness again."""
    __slots__ = ("items", "deadline")

    def __init__(self, items, deadline=None):
        self.items, self.deadline = items, deadline


class Sleep:
    """Wait until monotonic time ``deadline`` (result: 0)."""
    __slots__ = ("deadline",)

    def __init__(self, deadline):
        self.deadline = deadline


class Interrupted:
    """Sent into a waiting coroutine when its wait is cut short (a signal arrived)."""
    __slots__ = ()


INTERRUPTED = Interrupted()


def _enable_sigio(fd, tid):
    """Have SIGIO sent to host thread ``tid`` when ``fd`` becomes readable; False if it cannot
    (timerfd, signalfd...)."""
    import fcntl
    try:
        fcntl.fcntl(fd, F_SETOWN_EX, struct.pack("<ii", F_OWNER_TID, tid))
        fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) | os.O_ASYNC)
    except OSError:
        return False
    return bool(fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_ASYNC)


def _disable_sigio(fd):
    import fcntl
    try:
        fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) & ~os.O_ASYNC)
    except OSError:
        pass   # already closed


def signalfd(*signums):
    """A non-blocking signalfd for ``signums`` (the caller blocks them)."""
    mask = (ctypes.c_ulong * 16)()
    for signum in signums:
        mask[0] |= 1 << (signum - 1)
    fd = libc.signalfd(-1, ctypes.byref(mask), _SFD_NONBLOCK | _SFD_CLOEXEC)
    if fd < 0:
        raise OSError(get_errno(), "signalfd")
    return fd


class Loop:
    def __init__(self, stray_status, task_crashed=None):
        self.by_tid = {}              # host tid -> Task whose stub is running
        self.ready = deque()          # (Task, value) to resume
        self.timers = []              # heap of (deadline, seq, task, token)
        self.fd_waiters = {}          # host fd -> {task: (token, events)} (tokens count per task: not a key)
        self.watchers = {}            # host fd -> callback() run whenever it is readable (kernel timers)
        self.async_watchers = {}      # host fd -> callback(), woken through SIGIO and the waker
        self.waker = None             # platform Waker: lets signal handlers end a blocking waitpid
        self._until_waker_check = WAKER_CHECK   # stub statuses until _fair_to_waker
        self.stops_by_waitpid = True  # False: stubs report through deliver(); waitpid only on SIGCHLD
        self.spin = None              # platform's spin(): before sleeping, look for stops a while
        self.sleep_cap = None         # platform's: the longest sleep now (None: unbounded), a backstop
        self._wakeup_pipe = None      # (read, write): signal.set_wakeup_fd's, read end SIGIO to the waker
        self.pending_host_signals = []
        self.host_signal_callback = None
        self._seq = itertools.count()
        self.stray_status = stray_status  # called for a waitpid status nobody waits for
        self.task_crashed = task_crashed  # called when an exception escapes a Task (a Sentry bug)
        self.epoll = select.epoll()
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGCHLD})
        self.sigchld_fd = signalfd(signal.SIGCHLD)
        self.epoll.register(self.sigchld_fd, select.EPOLLIN)
        self._polled_at = self._swept_at = time.monotonic()
        self.running = True

    def close(self):
        self.epoll.close()
        os.close(self.sigchld_fd)
        if self._wakeup_pipe is not None:
            signal.set_wakeup_fd(-1)
            for fd in self._wakeup_pipe:
                os.close(fd)
            self._wakeup_pipe = None

    # -- running coroutines --------------------------------------------------
    def start(self, task):
        self.ready.append((task, None))

    def step(self, task, value):
        try:
            req = task.coro.send(value)
        except StopIteration:
            return
        except Exception:  # a Sentry bug outside any syscall handler: that process dies, not the Sentry
            if self.task_crashed is None:
                raise
            self.task_crashed(task)
            return
        self._register(task, req)

    def _register(self, task, req):
        if req is WAIT_STOP:
            self.by_tid[task.ctx.tid] = task
            return
        token = task.wait_token = task.wait_token + 1
        if isinstance(req, WaitFd):
            task.cancel_wait = self._add_fd_waiter(task, token, req.fd, req.events)
        elif isinstance(req, WaitQueueReq):
            task.cancel_wait = self._add_queue_waiter(task, token, req.queue, req.events)
        elif isinstance(req, WaitMany):
            cancels = [self._add_fd_waiter(task, token, obj, ev) if is_fd else
                       self._add_queue_waiter(task, token, obj, ev) for is_fd, obj, ev in req.items]
            task.cancel_wait = lambda: [cancel() for cancel in cancels]
        elif isinstance(req, Sleep):
            task.cancel_wait = None
        else:
            raise TypeError(f"task yielded {req!r}")
        if req.deadline is not None:
            heapq.heappush(self.timers, (req.deadline, next(self._seq), task, token))

    def _add_fd_waiter(self, task, token, fd, events):
        waiters = self.fd_waiters.get(fd)
        if waiters is None:
            waiters = self.fd_waiters[fd] = {}
        prev = waiters.get(task)   # the same fd twice in one wait (poll's [{fd, POLLIN}, {fd, 0}]): both masks
        waiters[task] = (token, events | (prev[1] if prev is not None and prev[0] == token else 0))
        self._update_fd(fd)
        return lambda: self._drop_fd_waiter(fd, task, token)

    def _add_queue_waiter(self, task, token, queue, events):
        def wake(happened):
            if task.wait_token == token:
                self._finish_wait(task, happened)
        handle = queue.register(wake, events)
        return lambda: queue.unregister(handle)

    def _finish_wait(self, task, value):
        """End the current wait of ``task`` and queue it to resume with ``value``."""
        cancel = task.cancel_wait
        task.cancel_wait = None
        task.wait_token += 1  # stale timers and callbacks are ignored from now on
        if cancel is not None:
            cancel()
        self.ready.append((task, value))

    def on_stub(self, task):
        """Is ``task`` out on its stub (running application code, or on its way to its next stop)
        rather than stopped here in a syscall or a wait?"""
        return task.ctx is not None and self.by_tid.get(task.ctx.tid) is task

    def interrupt(self, task):
        """Cut the current (non-stop) wait of ``task`` short; it resumes with INTERRUPTED."""
        if self.on_stub(task):
            return False
        if task.wait_token and (task.cancel_wait is not None or self._has_timer(task)):
            self._finish_wait(task, INTERRUPTED)
            return True
        return False

    def _has_timer(self, task):
        return any(t is task and tok == task.wait_token for _, _, t, tok in self.timers)

    def _drop_fd_waiter(self, fd, task, token):
        waiters = self.fd_waiters.get(fd)
        if waiters is not None and waiters.get(task, (None,))[0] == token:
            del waiters[task]
            self._update_fd(fd)

    def _update_fd(self, fd):
        waiters = self.fd_waiters.get(fd)
        mask = 0
        if waiters:
            for _, ev in waiters.values():
                mask |= ev
        try:
            if not mask:
                self.fd_waiters.pop(fd, None)
                self.epoll.unregister(fd)
            else:
                try:
                    self.epoll.modify(fd, mask)
                except FileNotFoundError:
                    self.epoll.register(fd, mask)
        except PermissionError:
            # Not pollable (a regular file, /dev/null): always ready for I/O, so only a poll-like
            # wait for what it will never report waits on it, and that wait never ends through it
            # (as on Linux). Waking it at once spun that task forever and starved every other.
            self.fd_waiters.pop(fd, None)
        except OSError:
            # Already closed: wake the waiters, their next attempt reports it.
            for task, (token, ev) in list((waiters or {}).items()):
                if task.wait_token == token:
                    self._finish_wait(task, ev)

    def watch_fd(self, fd, callback, edge=False):
        """Call ``callback()`` each time host fd ``fd`` becomes readable, until ``unwatch_fd``
        (``edge``: each time it is signalled, without being read: a platform's eventfd).

        Descriptors that can raise SIGIO (sockets, pipes, ttys) are watched through it and the
        waker, so the loop keeps its cheap blocking waitpid; others (timerfds) make the loop poll."""
        if not edge and self.waker is not None and _enable_sigio(fd, self.waker.tid):
            self.async_watchers[fd] = callback
            if readable(fd):
                self.waker.wake()  # SIGIO only tells of data that arrives later
            return
        self.watchers[fd] = callback
        self.epoll.register(fd, select.EPOLLIN | (select.EPOLLET if edge else 0))

    def unwatch_fd(self, fd):
        if self.async_watchers.pop(fd, None) is not None:
            _disable_sigio(fd)   # or each arrival would still stop the waker, for nothing
        if self.watchers.pop(fd, None) is not None:
            try:
                self.epoll.unregister(fd)
            except OSError:
                pass

    def use_waker(self, waker):
        """SIGIO goes to the waker stub itself (F_SETOWN_EX), so its stop ends the blocking waitpid
        with no Python signal handler in between: a handler only runs between bytecodes, so a
        signal landing just before waitpid blocks would wait for the next stub event. Signals
        the Sentry handles in Python get the same path: their C handler writes the wakeup pipe
        (signal.set_wakeup_fd), whose SIGIO stops the waker."""
        self.waker = waker
        self.stops_by_waitpid = waker is not None
        r, w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        self._wakeup_pipe = (r, w)
        if waker is None:  # a platform whose stops come through a descriptor: the loop polls
            self.watchers[r] = self._host_signals_arrived
            self.epoll.register(r, select.EPOLLIN)
        else:
            _enable_sigio(r, waker.tid)
            signal.signal(signal.SIGIO, lambda signum, frame: waker.wake())   # SIGIO for us: not expected
        signal.set_wakeup_fd(w, warn_on_full_buffer=False)

    def on_host_signals(self, signums, callback):
        """Host signals to the Sentry become ``callback(signum)`` calls on the loop."""
        self.host_signal_callback = callback

        def handler(signum, frame):
            self.pending_host_signals.append(signum)
            if self.waker is not None:
                self.waker.wake()
        for signum in signums:
            signal.signal(signum, handler)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, set(signums))

    def _woken(self):
        """The waker stopped: run what woke it (host signals, SIGIO descriptors)."""
        self.waker.on_stop()
        self._host_signals_arrived()

    def _host_signals_arrived(self):
        try:
            while os.read(self._wakeup_pipe[0], 4096):
                pass
        except OSError:
            pass   # drained (EAGAIN)
        pending, self.pending_host_signals = self.pending_host_signals, []
        for signum in pending:
            if self.host_signal_callback is not None:
                self.host_signal_callback(signum)
        if self.async_watchers:
            poller = select.poll()
            for fd in self.async_watchers:
                poller.register(fd, select.POLLIN)
            for fd, _ in poller.poll(0):
                callback = self.async_watchers.get(fd)
                if callback is not None:
                    callback()
            # SIGIO is edge-triggered: whatever a callback left unread gets another turn.
            if any(readable(fd) for fd in self.async_watchers):
                self.waker.wake()

    # -- the loop ------------------------------------------------------------
    def run(self):
        ready = self.ready
        by_tid = self.by_tid
        while self.running:
            while ready:
                task, value = ready.popleft()
                self.step(task, value)
                if not self.running:
                    return
            if not self.fd_waiters and not self.timers and not self.watchers:
                if not by_tid and self.waker is None:
                    self._poll(None)
                    continue
                try:
                    pid, status = os.waitpid(-1, WALL)
                except ChildProcessError:
                    return
                self._on_status(pid, status)
                continue
            if self.stops_by_waitpid and self._drain_waitpid() or self.spin is not None and self.spin():
                self._poll_if_starved()
                continue
            timeout = None
            if self.timers:
                timeout = max(0.0, self.timers[0][0] - time.monotonic())
            if self.sleep_cap is not None:
                cap = self.sleep_cap()
                if cap is not None and (timeout is None or cap < timeout):
                    timeout = cap
            self._poll(timeout)

    def _on_status(self, pid, status):
        self._until_waker_check -= 1
        if not self._until_waker_check:
            self._fair_to_waker()
        task = self.by_tid.pop(pid, None)
        if task is None and self.waker is not None and pid == self.waker.tid and os.WIFSTOPPED(status):
            self._woken()
            return
        if task is None:
            self.stray_status(pid, status)
        else:
            self.step(task, status)

    def hand_back(self, pid, status):
        """A state change of a running stub the Sentry waited for itself (to inject through it):
        its Task sees it at the loop's next turn, as if waitpid had returned it."""
        task = self.by_tid.pop(pid, None)
        if task is None:
            self.stray_status(pid, status)
        else:
            self.ready.append((task, status))

    def deliver(self, tid, report):
        """A platform's stop report for host thread ``tid`` (as waitpid's are)."""
        self._on_status(tid, report)

    def _drain_waitpid(self):
        """Collect the stub stops there are; stops that keep coming end it once the loop is due to
        poll (_poll_if_starved), or it would never return."""
        got = False
        while True:
            try:
                pid, status = os.waitpid(-1, WALL | os.WNOHANG)
            except ChildProcessError:
                return got
            if pid == 0:
                return got
            got = True
            self._on_status(pid, status)
            if time.monotonic() - self._polled_at > STARVED_POLL:
                return got

    def _fair_to_waker(self):
        """waitpid(-1) reports the newest tracees first, so under a flood of stub stops (a fork
        bomb) the waker, the oldest, went unseen for tens of seconds, and with it every SIGIO
        descriptor (the OCI control socket) and host signal. Ask for it by name now and then,
        and for every running stub at most each STARVED_POLL (_fair_to_all)."""
        self._until_waker_check = WAKER_CHECK
        now = time.monotonic()
        if now - self._swept_at > STARVED_POLL:
            self._swept_at = now
            self._fair_to_all()
        if self.waker is None:
            return
        try:
            pid, status = os.waitpid(self.waker.tid, WALL | os.WNOHANG)
        except ChildProcessError:
            return
        if pid:
            self._on_status(pid, status)

    def _fair_to_all(self):
        """Under a flood of stops from younger processes an older one that stopped went unseen
        for good (a parent of busy forking children never had its next syscall answered)."""
        if not self.stops_by_waitpid:
            return   # stops come through deliver() (systrap), not in waitpid's order
        for tid in list(self.by_tid):
            if tid not in self.by_tid:
                continue   # its stop came in the meantime (a stopped stub is not asked twice)
            try:
                pid, status = os.waitpid(tid, WALL | os.WNOHANG)
            except ChildProcessError:
                continue
            if pid:
                self._on_status(pid, status)

    def _poll_if_starved(self):
        """Stub stops that keep coming (many busy processes) send the loop round without its
        poll: timers (alarm, itimers, sleeps), descriptors and dead stubs' pidfds went unseen for
        as long as they came (stress-ng's resources stressor never got its SIGALRM). Look now
        and then without waiting."""
        if time.monotonic() - self._polled_at > STARVED_POLL:
            self._poll(0)

    def _poll(self, timeout):
        events = self.epoll.poll(-1 if timeout is None else min(timeout, MAX_POLL_WAIT))
        self._polled_at = time.monotonic()
        child = self.stops_by_waitpid
        for fd, ev in events:
            if fd == self.sigchld_fd:
                child = True
                try:
                    os.read(self.sigchld_fd, 128 * 16)
                except BlockingIOError:
                    pass
                continue
            watcher = self.watchers.get(fd)
            if watcher is not None:
                watcher()
                continue
            for task, (token, want) in list(self.fd_waiters.get(fd, {}).items()):
                if ev & (want | select.EPOLLERR | select.EPOLLHUP) and task.wait_token == token:
                    self._finish_wait(task, ev)
        self._fire_timers()
        if child:
            self._drain_waitpid()

    def _fire_timers(self):
        now = time.monotonic()
        while self.timers and self.timers[0][0] <= now:
            _, _, task, token = heapq.heappop(self.timers)
            if task.wait_token == token:
                self._finish_wait(task, 0)
