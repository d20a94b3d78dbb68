"""The io_uring instance ("anon_inode:[io_uring]"): its rings in MemoryFile pages shared with the
application, submission-queue consumption, completion posting, and requests in flight.

The rings and the SQE array are one MemoryFile range (a Region) that the application maps at
IORING_OFF_SQ_RING / IORING_OFF_CQ_RING (the same pages: IORING_FEAT_SINGLE_MMAP) and
IORING_OFF_SQES; the Sentry reads and writes them through its own view of the MemoryFile.
Everything the application can write there is untrusted: the SQ tail and the CQ head are read
once per use and only differences bounded by the ring sizes are acted on; an SQ index out of
range is dropped (sq_dropped); every SQE is copied before it is decoded (SUBMIT_STABLE).

What a request does comes from ``ops`` (syscalls/io_uring_ops.py): its ``prep`` checks the SQE
at submission (a refusal fails the request's chain and, for the chain's last request, stops the
submission, as Linux's io_submit_fail_init), and ``issue`` returns the result, or PENDING after
arming a wake-up (a WaitQueue callback, a host epoll, the ring's timer) that later calls
``complete``. Nothing here blocks the Sentry: a read of an empty pipe completes when a writer
notifies the pipe's queue. Links (IOSQE_IO_LINK/HARDLINK) run a chain in order; IOSQE_IO_DRAIN
holds a chain until every request before it has completed. CQEs that find the CQ ring full wait
in a bounded overflow list (IORING_FEAT_NODROP); past its bound they are counted in cq_overflow.
"""
import heapq
import itertools
import os
import select
import struct
import time
import weakref
from collections import deque

from snakevisor.abi.errno import EAGAIN, ECANCELED, EINVAL, ENXIO, ETIME, SyscallError
from snakevisor.abi.io_uring import (CQE, IORING_CQ_EVENTFD_DISABLED, IORING_OFF_CQ_RING, IORING_OFF_MMAP_MASK,
                                     IORING_OFF_SQES, IORING_OFF_SQ_RING, IORING_OP_TIMEOUT, IORING_SETUP_R_DISABLED,
                                     IORING_SETUP_SQPOLL, IORING_SETUP_SUBMIT_ALL, IORING_SQ_CQ_OVERFLOW,
                                     IORING_SQ_NEED_WAKEUP, IOSQE_CQE_SKIP_SUCCESS, IOSQE_IO_DRAIN,
                                     IOSQE_IO_HARDLINK, IOSQE_IO_LINK, SQE)
from snakevisor.abi.poll import POLLERR, POLLHUP, POLLIN, POLLOUT, POLLRDNORM, POLLWRNORM
from snakevisor.sentry.fsimpl.anon import anon_inode_file
from snakevisor.sentry.kernel.timers import HostTimer
from snakevisor.sentry.mm.mappable import Mappable
from snakevisor.sentry.mm.memoryfile import page_round_up
from snakevisor.sentry.mm.vma import Region
from snakevisor.sentry.vfs.file import FileDescriptionImpl
from snakevisor.sentry.vfs.waiter import HostFdWaitable, WaitQueue

U32 = struct.Struct("<I")
PENDING = object()            # an op's answer: it completes later, through IoUring.complete
MAX_OVERFLOW = 65536          # CQEs kept for a full CQ ring before they are only counted
MAX_IN_FLIGHT = 65536         # requests waiting (armed or held by a drain) per ring: past it, -EAGAIN
MAX_HOST_DUPS = 4096          # host descriptors all rings of the Sentry hold for waiting requests
_host_dups = [0]

# Where things live in the rings' pages (reported to the application in sq_off/cq_off).
SQ_HEAD, SQ_TAIL, SQ_MASK, SQ_ENTRIES, SQ_FLAGS, SQ_DROPPED = 0, 4, 8, 12, 16, 20
CQ_HEAD, CQ_TAIL, CQ_MASK, CQ_ENTRIES, CQ_OVERFLOW, CQ_FLAGS = 64, 68, 72, 76, 80, 84
CQES = 128


def rings_size(sq_entries, cq_entries):
    return CQES + CQE.size * cq_entries + 4 * sq_entries


def sq_offsets(sq_entries, cq_entries):
    """struct io_sqring_offsets' fields, in order."""
    return (SQ_HEAD, SQ_TAIL, SQ_MASK, SQ_ENTRIES, SQ_FLAGS, SQ_DROPPED, CQES + CQE.size * cq_entries, 0, 0)


def cq_offsets():
    return (CQ_HEAD, CQ_TAIL, CQ_MASK, CQ_ENTRIES, CQ_OVERFLOW, CQES, CQ_FLAGS, 0, 0)


class Request:
    """One SQE being served: its copied fields, the file it holds, and how to disarm it."""

    __slots__ = ("opcode", "flags", "ioprio", "fd", "off", "addr", "len", "op_flags", "user_data",
                 "buf_index", "personality", "file_index", "addr3", "pad", "file", "cancel", "rest",
                 "task", "expected", "error", "prepared")

    def __init__(self, raw: bytes):
        (self.opcode, self.flags, self.ioprio, self.fd, self.off, self.addr, self.len, self.op_flags,
         self.user_data, self.buf_index, self.personality, self.file_index, self.addr3, self.pad) = SQE.unpack(raw)
        self.file = None       # a FileDescription reference, dropped at completion
        self.cancel = None     # disarms a pending request (unregister, stop a timer)
        self.rest = []         # the chain after this request (IOSQE_IO_LINK)
        self.task = None
        self.expected = None   # read/write: the length whose shortfall breaks a link
        self.error = None      # -errno of a request refused before it ran (prep)
        self.prepared = None   # what prep read from the application (iovecs, a path, a time)


class Registered:
    """A registered table (IORING_REGISTER_FILES: FileDescriptions; _BUFFERS: (address, length)):
    its slots (None: empty) and their tags. A slot's non-zero tag is posted as a CQE's user_data
    once its resource leaves the table (IORING_FEAT_RSRC_TAGS)."""

    def __init__(self, ring, entries, tags, drop):
        self.ring, self.entries, self.tags, self.drop = ring, entries, tags, drop

    def get(self, index):
        return self.entries[index] if 0 <= index < len(self.entries) else None

    def replace(self, index, entry, tag):
        old, old_tag = self.entries[index], self.tags[index]
        self.entries[index], self.tags[index] = entry, tag
        if old is not None:
            self.drop(old)
            if old_tag:
                self.ring.post_tag(old_tag)


class RingMappable(Mappable):
    """The ring pages as mmap sees them: the rings at IORING_OFF_SQ_RING and IORING_OFF_CQ_RING,
    the SQE array at IORING_OFF_SQES; any other offset, or a length past the object, is EINVAL."""

    size = 1 << 62      # no end of file: pages are never SIGBUS

    def __init__(self, ring):
        self.ring = ring
        self.region = ring.region
        self.cache = ring   # mm records its mappers (truncation never happens)

    def translate(self, offset, length):
        r = self.ring
        which, within = offset & IORING_OFF_MMAP_MASK, offset & ~IORING_OFF_MMAP_MASK
        if which in (IORING_OFF_SQ_RING, IORING_OFF_CQ_RING):
            base, size = 0, r.rings_bytes
        elif which == IORING_OFF_SQES:
            base, size = r.sqes_base, r.sqes_bytes
        else:
            raise SyscallError(EINVAL)
        if within + length > size:
            raise SyscallError(EINVAL)
        return [(self.region.offset + base + within, length)]

    def inc_ref(self):
        self.region.inc_ref()
        return self

    def dec_ref(self):
        self.region.dec_ref()


class IoUring(FileDescriptionImpl):
    seekable = False

    def __init__(self, kernel, memory_file, sq_entries, cq_entries, flags, ops):
        super().__init__()
        self.kernel, self.setup_flags = kernel, flags
        self.disabled = bool(flags & IORING_SETUP_R_DISABLED)   # until IORING_REGISTER_ENABLE_RINGS
        # SQPOLL without a thread: the SQ is consumed at every io_uring_enter, which the application
        # is told to make by IORING_SQ_NEED_WAKEUP, always set
        self.sq_flags = IORING_SQ_NEED_WAKEUP if flags & IORING_SETUP_SQPOLL else 0
        self.prep, self.issue = ops.prep, ops.issue
        self.worker_ops = ops.WORKER_OPS     # what Linux runs in io-wq: after the submission; EVENTFD_ASYNC's
        self.sq_entries, self.cq_entries = sq_entries, cq_entries
        self.rings_bytes = page_round_up(rings_size(sq_entries, cq_entries))
        self.sqes_base, self.sqes_bytes = self.rings_bytes, page_round_up(SQE.size * sq_entries)
        self.region = Region(memory_file, self.rings_bytes + self.sqes_bytes)
        self.region.inc_ref()
        self.mem, self.base = memory_file.view, self.region.offset   # offsets below are from base
        self.array = sq_offsets(sq_entries, cq_entries)[6]
        self.mappers = weakref.WeakSet()
        self.sq_head = self.cq_tail = 0      # the kernel's own copies; the shared ones are only written
        self.cq_free = 0                     # CQE slots known free without reading the head again
        self.overflow = deque()
        self.cancelled = []                  # requests an ASYNC_CANCEL or *_REMOVE being issued hit
        self.drain_disabled = False          # IOSQE_CQE_SKIP_SUCCESS was used: IO_DRAIN is EOPNOTSUPP
        self.submitting = False              # inside submit: wake-ups wait in ``woken`` until its end
        self.woken = []                      # (request, its callback, events)
        self.punted = []                     # (task, chain) for after the submission (io-wq's)
        self.host_ep = None                  # select.epoll of dups of host descriptors requests wait on
        self.host_waiters = {}               # dup -> its callback
        self.pending = {}                    # id(request) -> Request armed for later
        self.deferred = deque()              # (task, chain) held by IOSQE_IO_DRAIN
        self.counted = []                    # [target CQE count, request]: TIMEOUT with a count
        self.posted = 0                      # CQEs posted, timeouts' own excluded
        self.files = None                    # Registered FileDescriptions (IORING_REGISTER_FILES)
        self.buffers = None                  # Registered (address, length) (IORING_REGISTER_BUFFERS)
        self.eventfd, self.eventfd_async = None, False
        self.queue = WaitQueue()             # io_uring_enter's waiters, poll and epoll
        self.timer = None                    # one host timer for every TIMEOUT, at the earliest deadline
        self.deadlines = []                  # heap of (monotonic ns, seq, request)
        self.seq = itertools.count()
        for off, value in ((SQ_MASK, sq_entries - 1), (SQ_ENTRIES, sq_entries), (SQ_FLAGS, self.sq_flags),
                           (CQ_MASK, cq_entries - 1), (CQ_ENTRIES, cq_entries)):
            self._put(off, value)

    # --- shared memory ---------------------------------------------------------------------
    def _get(self, off):
        return U32.unpack_from(self.mem, self.base + off)[0]

    def _put(self, off, value):
        U32.pack_into(self.mem, self.base + off, value & 0xFFFFFFFF)

    def mappable(self):
        return RingMappable(self)

    # --- submission ------------------------------------------------------------------------
    def submit(self, t, to_submit: int) -> int:
        """Consume up to ``to_submit`` SQEs (never more than the ring holds); returns how many.
        Requests Linux always gives to an io-wq worker (fsync, statx, the path calls) run after
        the submission, and a waiting request that one of them wakes (a send to a socket a RECV
        waits on) completes then, as Linux runs it from task work: their CQEs come later."""
        self.submitting = True
        try:
            return self._submit(t, to_submit)
        finally:
            self.submitting = False
            while self.punted:
                self._run_chain(*self.punted.pop(0))
            while self.woken:
                req, on_event, happened = self.woken.pop(0)
                if id(req) in self.pending:
                    on_event(happened)
            self._run_deferred()

    def _submit(self, t, to_submit):
        avail = (self._get(SQ_TAIL) - self.sq_head) & 0xFFFFFFFF
        n = min(to_submit, avail, self.sq_entries)
        submitted, chain, failed = 0, [], False
        for _ in range(n):
            idx = self._get(self.array + 4 * (self.sq_head & (self.sq_entries - 1)))
            self.sq_head = (self.sq_head + 1) & 0xFFFFFFFF
            if idx >= self.sq_entries:
                self._put(SQ_DROPPED, self._get(SQ_DROPPED) + 1)   # Linux drops it and stops
                break
            start = self.base + self.sqes_base + SQE.size * idx
            req = Request(self.mem[start:start + SQE.size])
            req.task = t
            submitted += 1
            try:
                self.prep(self, t, req)
            except SyscallError as e:
                req.error, failed = -e.errno, True
            chain.append(req)
            if req.flags & (IOSQE_IO_LINK | IOSQE_IO_HARDLINK):
                continue
            self._end_chain(t, chain, failed)
            chain, failed = [], False
            if req.error is not None and not self.setup_flags & IORING_SETUP_SUBMIT_ALL:
                break
        self._put(SQ_HEAD, self.sq_head)   # once, as Linux's io_commit_sqring
        if chain:
            self._end_chain(t, chain, failed)   # a link still open at the end runs as it is
        return submitted

    def _end_chain(self, t, chain, failed):
        if not failed:
            self._queue_chain(t, chain)
            return
        for req in chain:   # a chain with a refused request: none of it runs
            self._post(req, req.error if req.error is not None else -ECANCELED)

    def _queue_chain(self, t, chain):
        if len(self.pending) + len(self.deferred) + len(self.punted) >= MAX_IN_FLIGHT:
            for req in chain:   # the Sentry's memory is bounded: Linux's would fail the allocation
                self._post(req, -EAGAIN)
            return
        if self.deferred or chain[0].flags & IOSQE_IO_DRAIN and (self.pending or self.punted):
            self.deferred.append((t, chain))
            return
        self._run_chain(t, chain)

    def _run_chain(self, t, chain):
        while chain:
            if self.submitting and chain[0].opcode in self.worker_ops:
                self.punted.append((t, chain))   # the worker runs it, and its chain, after the submission
                return
            req = chain.pop(0)
            try:
                res = self.issue(self, t, req)
            except SyscallError as e:
                res = -e.errno
            if res is PENDING:
                req.rest = chain
                self.pending[id(req)] = req
                return
            chain = self._finish(req, res, chain)
            while self.cancelled:   # after the canceller's own CQE, as Linux posts them
                self.complete(self.cancelled.pop(0), -ECANCELED)

    def _finish(self, req, res, rest):
        """Post ``req``'s CQE; what of its chain still runs (a failed link cancels the rest)."""
        self._post(req, res)
        broken = res < 0 or req.expected is not None and res != req.expected
        if rest and broken and not req.flags & IOSQE_IO_HARDLINK:
            for other in rest:
                self._post(other, -ECANCELED)
            return []
        return rest

    def complete(self, req, res, flags=0, more=False):
        """A pending request is done (``more``: a multishot one that stays armed)."""
        if more:
            self._post(req, res, flags)
            return
        if self.pending.pop(id(req), None) is None:
            return
        cancel, req.cancel = req.cancel, None
        if cancel is not None:
            cancel()
        rest = self._finish(req, res, req.rest)
        if rest:
            self._run_chain(req.task, rest)
        self._run_deferred()

    def _run_deferred(self):
        """Chains held by IOSQE_IO_DRAIN run once what came before them is done."""
        while self.deferred and not ((self.pending or self.punted) and self.deferred[0][1][0].flags & IOSQE_IO_DRAIN):
            t, chain = self.deferred.popleft()
            self._run_chain(t, chain)

    def cancel(self, user_data, kinds=None) -> bool:
        """Cancel the pending request with ``user_data`` (of one of ``kinds``): its -ECANCELED CQE
        follows the canceller's. False if there is none."""
        for req in self.pending.values():
            if req.user_data == user_data and (kinds is None or req.opcode in kinds) and req not in self.cancelled:
                self.cancelled.append(req)
                return True
        return False

    def park(self, t, req, file, events, attempt):
        """Retry ``attempt`` (a call that raises EAGAIN until it can complete) each time ``file``
        may have ``events``; PENDING."""
        def on_event(happened):
            if id(req) not in self.pending:
                return False
            try:
                res = attempt()
            except SyscallError as e:
                if e.errno == EAGAIN:
                    return False
                res = -e.errno
            self.complete(req, res)
            return True
        self.arm(t, req, file, events, on_event)
        return PENDING

    def arm(self, t, req, file, events, on_event):
        """Call ``on_event(happened)`` when ``file`` may have ``events``, until ``req.cancel()``.
        Files of the Sentry register on their WaitQueue; a file backed by a host descriptor (an
        INET socket, host stdio) goes, as a dup of its descriptor, into the ring's own host epoll
        (edge-triggered), which the loop watches."""
        w = file.waitable(t)
        if isinstance(w, WaitQueue):
            handle = w.register(lambda happened: self._wake(req, on_event, happened), events | POLLERR | POLLHUP)
            req.cancel = lambda: w.unregister(handle)
            return
        if not isinstance(w, HostFdWaitable) or _host_dups[0] >= MAX_HOST_DUPS:
            raise SyscallError(EAGAIN)   # the Sentry's own descriptors are not the application's to use up
        try:
            dup = os.dup(w.fd)   # its own epoll entry, whoever else waits on the descriptor
        except OSError:
            raise SyscallError(EAGAIN) from None
        _host_dups[0] += 1
        ep = self._host_epoll()
        ep.register(dup, events | select.EPOLLET)   # poll(2)'s bits are epoll's
        self.host_waiters[dup] = on_event

        def cancel():
            del self.host_waiters[dup]
            ep.unregister(dup)
            os.close(dup)
            _host_dups[0] -= 1
        req.cancel = cancel

    def _host_epoll(self):
        if self.host_ep is None:
            self.host_ep = select.epoll()
            # edge: an epoll descriptor takes O_ASYNC but never sends SIGIO, so no SIGIO path
            self.kernel.loop.watch_fd(self.host_ep.fileno(), self._host_events, edge=True)
        return self.host_ep

    def _host_events(self):
        for _ in range(64):   # each edge is reported once: this ends when they are taken
            events = self.host_ep.poll(0)
            if not events:
                return
            for fd, happened in events:
                on_event = self.host_waiters.get(fd)
                if on_event is not None:
                    on_event(happened)

    def _wake(self, req, on_event, happened):
        if not self.submitting:
            return on_event(happened)
        if all(r is not req for r, _, _ in self.woken):
            self.woken.append((req, on_event, happened))
        return False

    def arm_timeout(self, req, deadline_ns):
        """Complete ``req`` with -ETIME at CLOCK_MONOTONIC ``deadline_ns``; PENDING."""
        if self.timer is None:
            self.timer = HostTimer(time.CLOCK_MONOTONIC)
            self.kernel.loop.watch_fd(self.timer.fd, self._timer_fired)
        heapq.heappush(self.deadlines, (deadline_ns, next(self.seq), req))
        if self.deadlines[0][2] is req:
            self.timer.settime(max(deadline_ns, 1), 0, absolute=True)
        req.cancel = lambda: self._uncount(req)
        return PENDING

    def _uncount(self, req):
        self.counted[:] = [e for e in self.counted if e[1] is not req]

    def _timer_fired(self):
        self.timer.expirations()
        now = time.monotonic_ns()
        while self.deadlines and (self.deadlines[0][0] <= now or id(self.deadlines[0][2]) not in self.pending):
            _, _, req = heapq.heappop(self.deadlines)
            self.complete(req, -ETIME)      # a no-op for one already completed or cancelled
        if self.deadlines and self.timer is not None:
            self.timer.settime(self.deadlines[0][0], 0, absolute=True)

    # --- completion ------------------------------------------------------------------------
    def _post(self, req, res, flags=0):
        if req.file is not None and flags == 0:
            if req.file.impl is not self:
                req.file.dec_ref()
            req.file = None
        if req.flags & IOSQE_CQE_SKIP_SUCCESS and res >= 0:
            return
        self._push(CQE.pack(req.user_data, res, flags))
        if req.opcode != IORING_OP_TIMEOUT:   # timeouts count the other completions
            self.posted += 1
        if self.counted:
            for entry in [e for e in self.counted if e[0] <= self.posted]:
                self.counted.remove(entry)
                self.complete(entry[1], 0)
        self._notify(not self.eventfd_async or req.opcode in self.worker_ops)

    def post_tag(self, tag):
        """The CQE telling that a registered resource tagged ``tag`` is gone (IORING_FEAT_RSRC_TAGS)."""
        self._push(CQE.pack(tag, 0, 0))
        self._notify(not self.eventfd_async)

    def _notify(self, eventfd):
        self.queue.notify(POLLIN | POLLRDNORM)
        if eventfd and self.eventfd is not None and not self._get(CQ_FLAGS) & IORING_CQ_EVENTFD_DISABLED:
            self.eventfd.signal(1)   # (IORING_CQ_EVENTFD_DISABLED: the application's switch)

    def _push(self, cqe):
        self.flush_overflow()
        if self.overflow or not self._cq_room():
            if len(self.overflow) < MAX_OVERFLOW:
                self.overflow.append(cqe)
                self._put(SQ_FLAGS, self.sq_flags | IORING_SQ_CQ_OVERFLOW)
            else:
                self._put(CQ_OVERFLOW, self._get(CQ_OVERFLOW) + 1)
            return
        self._write_cqe(cqe)

    def _cq_room(self):
        """Is there a free CQE slot? As Linux's io_cqe_cache_refill, the head is read only when the
        slots found free last time (up to the ring's end) are used up; a head the application
        moved past the tail counts as a full ring."""
        if self.cq_free:
            return True
        used = min((self.cq_tail - self._get(CQ_HEAD)) & 0xFFFFFFFF, self.cq_entries)
        self.cq_free = min(self.cq_entries - used, self.cq_entries - (self.cq_tail & (self.cq_entries - 1)))
        return self.cq_free > 0

    def _write_cqe(self, cqe):
        at = self.base + CQES + CQE.size * (self.cq_tail & (self.cq_entries - 1))
        self.mem[at:at + CQE.size] = cqe
        self.cq_tail = (self.cq_tail + 1) & 0xFFFFFFFF
        self.cq_free -= 1
        self._put(CQ_TAIL, self.cq_tail)

    def flush_overflow(self):
        if not self.overflow:
            return
        while self.overflow and self._cq_room():
            self._write_cqe(self.overflow.popleft())
        if not self.overflow:
            self._put(SQ_FLAGS, self.sq_flags)   # IORING_SQ_CQ_OVERFLOW off

    def ready_cqes(self) -> int:
        self.flush_overflow()
        return min((self.cq_tail - self._get(CQ_HEAD)) & 0xFFFFFFFF, self.cq_entries) + len(self.overflow)

    # --- the file --------------------------------------------------------------------------
    def readiness(self, task, mask):
        ev = 0
        if self.ready_cqes():
            ev |= POLLIN | POLLRDNORM
        if (self._get(SQ_TAIL) - self.sq_head) & 0xFFFFFFFF < self.sq_entries:
            ev |= POLLOUT | POLLWRNORM
        return ev & mask

    def waitable(self, task):
        return self.queue

    def unregister(self, kind):
        """IORING_UNREGISTER_FILES / _BUFFERS (``kind``: "files" or "buffers"); ENXIO if none."""
        table = getattr(self, kind)
        if table is None:
            raise SyscallError(ENXIO)
        setattr(self, kind, None)
        for i in range(len(table.entries)):
            table.replace(i, None, 0)

    def release(self):
        for req in list(self.pending.values()):
            if req.cancel is not None:
                req.cancel()
            if req.file is not None and req.file.impl is not self:
                req.file.dec_ref()
        self.pending.clear()
        self.cancelled.clear()
        self.woken.clear()
        self.punted.clear()
        self.deferred.clear()
        self.counted.clear()
        self.eventfd = None
        for kind in ("files", "buffers"):
            if getattr(self, kind) is not None:
                self.unregister(kind)
        self.deadlines.clear()
        if self.host_ep is not None:
            self.kernel.loop.unwatch_fd(self.host_ep.fileno())
            self.host_ep.close()
            self.host_ep = None
        if self.timer is not None:
            self.kernel.loop.unwatch_fd(self.timer.fd)
            self.timer.close()
            self.timer = None
        self.region.dec_ref()


def new_io_uring(kernel, memory_file, sq_entries, cq_entries, flags, ops):
    return anon_inode_file("io_uring", IoUring(kernel, memory_file, sq_entries, cq_entries, flags, ops))
