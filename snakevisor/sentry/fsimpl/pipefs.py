"""pipefs: pipes and FIFOs — the Pipe buffer, its read/write ends, and named-pipe opening.

A ``Pipe`` is a bounded byte queue (64 KiB by default, F_SETPIPE_SZ changes it)
with reader and writer counts and one WaitQueue that is notified on every
state change (data in: POLLIN, space freed: POLLOUT, last writer gone: POLLHUP,
last reader gone: POLLERR). ``PipeImpl`` is one open end; reads and writes raise
EAGAIN when they would block, so the syscall layer waits on ``waitable()``.
Packet mode (O_DIRECT) keeps each write of up to PIPE_BUF bytes a message.
Named pipes on tmpfs/gofer open through ``register_fifo_opener``: all opens of
one FIFO inode share one Pipe while any end is open.
"""
import struct
from collections import deque

from snakevisor.abi.capability import CAP_SYS_RESOURCE
from snakevisor.abi.errno import EAGAIN, EBUSY, EINVAL, ENOTTY, ENXIO, EPERM, EPIPE, SyscallError
from snakevisor.abi.fs import (F_GETPIPE_SZ, F_SETPIPE_SZ, FIONREAD, O_ACCMODE, O_DIRECT, O_NONBLOCK, O_RDONLY,
                               O_RDWR, O_WRONLY, PIPEFS_MAGIC, S_IFIFO)
from snakevisor.abi.mm import PAGE_SIZE as PAGE
from snakevisor.abi.poll import (PIPE_DEF_SIZE, PIPE_MAX_SIZE, PIPE_MIN_SIZE, POLLERR, POLLHUP, POLLIN,
                                 POLLOUT, POLLRDNORM, POLLWRNORM)
from snakevisor.sentry.fsimpl.anon import new_anon_file, shared_anon_filesystem
from snakevisor.sentry.vfs.device import register_fifo_opener
from snakevisor.sentry.vfs.file import FileDescriptionImpl
from snakevisor.sentry.vfs.inode import Inode
from snakevisor.sentry.vfs.waiter import WaitQueue

# /proc/sys/fs/pipe-max-size (enforced), pipe-user-pages-soft and -hard (kept only)
LIMITS = {"max_size": PIPE_MAX_SIZE, "user_pages_soft": 16384, "user_pages_hard": 0}
PRIVILEGED_MAX = 1 << 28   # the Sentry's own ceiling for CAP_SYS_RESOURCE (pipe data is Sentry memory)


def round_pipe_size(n: int) -> int:
    """F_SETPIPE_SZ's rounding: a power of two number of pages, at least one page."""
    if n <= PIPE_MIN_SIZE:
        return PIPE_MIN_SIZE
    return 1 << (n - 1).bit_length()


class Pipe:
    """The shared buffer of a pipe or FIFO."""

    def __init__(self):
        self.chunks: deque = deque()   # views of written bytes and bytearrays (see "data" below)
        self.size = 0                  # bytes queued
        self.pages = 0                 # page slots in use
        self.capacity = PIPE_DEF_SIZE
        self.readers = 0
        self.writers = 0
        # Open counters (Linux's r_counter/w_counter): a FIFO reader opened before any
        # writer does not see HUP, and a blocking open waits for the counter to move.
        self.r_counter = 0
        self.w_counter = 0
        self.queue = WaitQueue()
        self.last_mergeable = True
        self.head_off = 0             # bytes already read from chunks[0]

    # --- data ---------------------------------------------------------------------
    # Linux's layout, kept because it is observable (when a pipe is "full", POLLOUT):
    # the buffer is capacity/PAGE slots; a slot holds one page-sized buffer, a small
    # write merges into the last buffer if it fits there, otherwise takes a new slot.
    # The queue does not hold one object per slot, though (a 64 KiB write cost a Python
    # iteration and a copy per page): a run of whole pages a write brings is one chunk, a
    # read-only view of the written bytes, and only a write's partial last page is a
    # bytearray of its own, which later small writes merge into. ``pages`` counts the
    # slots in use: a chunk takes ceil(len/PAGE) of them, less the whole pages read of it.
    # Packet mode (O_DIRECT) keeps one chunk per packet.
    def slots(self) -> int:
        return self.capacity // PAGE

    def full(self) -> bool:
        return self.pages >= self.capacity // PAGE

    def free_slots(self) -> int:
        return max(self.capacity // PAGE - self.pages, 0)

    def read(self, n: int, packet: bool, peek: bool = False) -> bytes:
        """Up to ``n`` queued bytes (packet mode: one packet, the rest of it dropped). b"" if empty."""
        if not self.size or n <= 0:
            return b""
        chunks = self.chunks
        if packet:   # one page buffer is one packet: a run of pages written before O_DIRECT is several
            head = self.head_off
            end = min(len(chunks[0]), (head // PAGE + 1) * PAGE)
            data = bytes(chunks[0][head:min(head + n, end)])
            if not peek:
                self._consume(end - head)
            return data
        out, got, off = [], 0, self.head_off
        for chunk in chunks:
            take = chunk[off:off + n - got]
            off = 0
            out.append(take)
            got += len(take)
            if got >= n:
                break
        if not peek:
            self._consume(got)
        return b"".join(out)

    def _consume(self, n: int) -> None:
        """Drop ``n`` bytes from the head (whole chunks, or part of the first), freeing the slots of
        the pages wholly read."""
        chunks, head = self.chunks, self.head_off
        self.size -= n
        while n:
            first = len(chunks[0])
            if first - head <= n:
                chunks.popleft()
                self.pages -= -(-first // PAGE) - head // PAGE
                n -= first - head
                head = 0
            else:
                self.pages -= (head + n) // PAGE - head // PAGE
                head += n
                n = 0
        self.head_off = head

    def write(self, data, packet: bool) -> int:
        """Queue what fits, as pipe_write does; EAGAIN if nothing may be written now.

        Writes of at most PIPE_BUF bytes are atomic: they merge into the last page or
        need one free slot, else nothing is written."""
        n = len(data)
        mv = memoryview(data)
        done = 0
        chunks = self.chunks
        rem = n & (PAGE - 1)
        if rem and chunks and not packet and self.last_mergeable:
            last = chunks[-1]
            # Only a bytearray (a partial page) can take more; len(last) counts a read head too.
            if len(last) + rem <= PAGE:
                last += mv[:rem]
                done = rem
        free = self.capacity // PAGE - self.pages
        if packet:
            while done < n and free > 0:
                take = min(PAGE, n - done)
                chunks.append(bytearray(mv[done:done + take]))
                done += take
                free -= 1
                self.pages += 1
        elif done < n and free > 0:
            whole = min((n - done) // PAGE, free)
            if whole:
                if not isinstance(mv.obj, bytes):   # the queue keeps views: never of a buffer that changes
                    mv = memoryview(bytes(mv))
                chunks.append(mv[done:done + whole * PAGE])
                done += whole * PAGE
                self.pages += whole
            if 0 < n - done < PAGE and whole < free:
                chunks.append(bytearray(mv[done:]))
                done = n
                self.pages += 1
        if done == 0 and n:
            raise SyscallError(EAGAIN)
        self.last_mergeable = not packet
        self.size += done
        return done

    def set_capacity(self, n: int, privileged: bool = False) -> int:
        size = round_pipe_size(n)
        # Growing past /proc/sys/fs/pipe-max-size needs CAP_SYS_RESOURCE (pipe_set_size).
        if size > self.capacity and size > LIMITS["max_size"] and (not privileged or size > PRIVILEGED_MAX):
            raise SyscallError(EPERM)
        if size // PAGE < self.pages:
            raise SyscallError(EBUSY)
        self.capacity = size
        self.queue.notify(POLLOUT | POLLWRNORM)
        return size

    # --- ends -----------------------------------------------------------------------
    def open_end(self, readable: bool, writable: bool) -> None:
        if readable:
            self.readers += 1
            self.r_counter += 1
        if writable:
            self.writers += 1
            self.w_counter += 1
        # Wakes opens (and first reads/writes) waiting for the other side.
        self.queue.notify(POLLIN | POLLOUT | POLLRDNORM | POLLWRNORM)

    def close_end(self, readable: bool, writable: bool) -> None:
        if readable:
            self.readers -= 1
            if self.readers == 0:
                self.queue.notify(POLLERR | POLLOUT | POLLWRNORM)
        if writable:
            self.writers -= 1
            if self.writers == 0:
                self.queue.notify(POLLHUP | POLLIN | POLLRDNORM)


class PipeImpl(FileDescriptionImpl):
    """One open end of a Pipe (pipe(2) gives two; an O_RDWR FIFO open is both)."""

    seekable = False
    # For the generic write path: a blocking write returns only once all is written,
    # and EPIPE comes with SIGPIPE (Linux's pipe_write).
    blocking_write_all = True
    sigpipe_on_epipe = True

    def __init__(self, pipe: Pipe, inode, readable: bool, writable: bool):
        super().__init__(inode)
        self.pipe = pipe
        self.readable = readable
        self.writable = writable
        # FIFO open semantics (see fifo_open): the writer count seen by a reader opened
        # with no writer (Linux's f_version), and the blocking-open emulation flags.
        self.r_counter_at_open = pipe.r_counter
        self.w_counter_at_open = None
        self.wait_for_writer = False
        self.wait_for_reader = False
        self.released = False
        pipe.open_end(readable, writable)

    @property
    def packet(self) -> bool:
        d = self.description
        return bool(d is not None and d.flags & O_DIRECT)

    def read(self, task, n, offset):
        if n == 0:
            return b""   # a null read succeeds at once, data or not (pipe_read)
        p = self.pipe
        if p.size:
            data = p.read(n, self.packet)
            if data:
                p.queue.notify(POLLOUT | POLLWRNORM)
            return data
        if p.writers == 0 and not (self.wait_for_writer and p.w_counter == self.w_counter_at_open):
            return b""  # EOF (a blocking FIFO reader first waits for a writer to come)
        raise SyscallError(EAGAIN)

    def wait_for_partner(self, task):
        """A blocking FIFO open's wait (fifo_open's wait_for_partner): a reader's until a writer
        opens, a writer's until a reader does, counted by the open counters."""
        p = self.pipe
        counter, seen = ("w_counter", self.w_counter_at_open) if self.wait_for_writer else (
            "r_counter", self.r_counter_at_open)
        while getattr(p, counter) == seen:
            yield from task.block_on(p.queue, POLLIN | POLLOUT | POLLRDNORM | POLLWRNORM)

    def peek(self, n: int) -> bytes:
        return self.pipe.read(n, self.packet, peek=True)

    def write(self, task, data, offset):
        p = self.pipe
        if p.readers == 0:
            if self.wait_for_reader and p.r_counter == self.r_counter_at_open:
                raise SyscallError(EAGAIN)
            raise SyscallError(EPIPE)
        if not len(data):
            return 0
        n = p.write(data, self.packet)
        p.queue.notify(POLLIN | POLLRDNORM)
        return n

    def readiness(self, task, mask):
        p = self.pipe
        ev = 0
        if self.readable:
            if p.size:
                ev |= POLLIN | POLLRDNORM
            if p.writers == 0 and p.w_counter != self.w_counter_at_open:
                ev |= POLLHUP
        if self.writable:
            # Linux reports writable while a page slot is free.
            if not p.full():
                ev |= POLLOUT | POLLWRNORM
            if p.readers == 0:
                ev |= POLLERR
        return ev & (mask | POLLHUP | POLLERR)

    def waitable(self, task):
        return self.pipe.queue

    def ioctl(self, task, cmd, arg):
        if cmd == FIONREAD:
            task.mm.copy_out(arg, struct.pack("<i", self.pipe.size))
            return 0
        raise SyscallError(ENOTTY)

    def fcntl(self, task, cmd, arg):
        if cmd == F_GETPIPE_SZ:
            return self.pipe.capacity
        if cmd == F_SETPIPE_SZ:
            n = arg & 0xFFFFFFFF
            if n > 0x7FFFFFFF:
                raise SyscallError(EINVAL)
            return self.pipe.set_capacity(n, task.creds.has_cap(CAP_SYS_RESOURCE))
        raise SyscallError(EINVAL)

    def stat(self):
        st = self.inode.stat()
        st.size = 0   # Linux reports 0 for pipes (FIONREAD gives the queued count)
        return st

    def release(self):
        if not self.released:
            self.released = True
            self.pipe.close_end(self.readable, self.writable)
            fifo_released(self.inode, self.pipe)


# --- anonymous pipes ------------------------------------------------------------------------------

class PipeInode(Inode):
    def open(self, task, flags):
        """Reopening a pipe (open of /proc/self/fd/N, /dev/fd/N) opens it like a FIFO."""
        return fifo_open(self, flags, is_pipe=True)


pipefs = shared_anon_filesystem("pipefs", PIPEFS_MAGIC)


def new_pipe(flags: int = 0):
    """pipe2(2) below the syscall layer: (read end, write end) FileDescriptions, refs=1 each.

    ``flags`` may hold O_NONBLOCK and O_DIRECT (both ends get them)."""
    fs = pipefs()
    inode = PipeInode(fs, S_IFIFO | 0o600)
    pipe = Pipe()
    name = f"pipe:[{inode.ino}]".encode()
    keep = flags & (O_NONBLOCK | O_DIRECT)
    _fifos[inode] = pipe  # so that a reopen finds it, until the last end closes
    r = new_anon_file(fs, inode, name, PipeImpl(pipe, inode, True, False), O_RDONLY | keep)
    try:
        w = new_anon_file(fs, inode, name, PipeImpl(pipe, inode, False, True), O_WRONLY | keep)
    except BaseException:
        r.dec_ref()
        raise
    return r, w


# --- named pipes (FIFOs) ----------------------------------------------------------------------------

_fifos: dict = {}   # FIFO Inode -> its Pipe while any end is open


def fifo_released(inode, pipe) -> None:
    if pipe.readers == 0 and pipe.writers == 0 and _fifos.get(inode) is pipe:
        del _fifos[inode]   # Linux frees the buffer (and any data) with the last end


def fifo_open(inode, flags: int, is_pipe: bool = False) -> PipeImpl:
    """open(2) of a FIFO node (registered as the VFS's FIFO opener).

    A blocking O_RDONLY open waits until a writer arrives, O_WRONLY until a reader does
    (the description's ``open_waiting``, which open(2) runs before it installs the
    descriptor; a signal interrupts it); O_WRONLY|O_NONBLOCK without a reader fails with
    ENXIO, as in Linux. The first read (or write) also waits until the other side has
    opened once (for an open that did not wait itself: a reopened /proc/PID/fd link)."""
    acc = flags & O_ACCMODE
    pipe = _fifos.get(inode)
    if pipe is None:
        pipe = _fifos[inode] = Pipe()
    if acc == O_WRONLY and flags & O_NONBLOCK and pipe.readers == 0 and not is_pipe:
        if pipe.writers == 0 and pipe.readers == 0:
            _fifos.pop(inode, None)
        raise SyscallError(ENXIO)
    if acc not in (O_RDONLY, O_WRONLY, O_RDWR):
        raise SyscallError(EINVAL)
    readable = acc in (O_RDONLY, O_RDWR)
    writable = acc in (O_WRONLY, O_RDWR)
    impl = PipeImpl(pipe, inode, readable, writable)
    if is_pipe:
        return impl  # a reopened pipe never waits for a partner (Linux's fifo_open, is_pipe)
    if acc == O_RDONLY and pipe.writers == 0:
        # No HUP until a writer has come and gone; a blocking open would still be waiting.
        impl.w_counter_at_open = pipe.w_counter
        impl.wait_for_writer = not flags & O_NONBLOCK
    if acc == O_WRONLY and pipe.readers == 0:
        impl.wait_for_reader = True
    if impl.wait_for_writer or impl.wait_for_reader:
        impl.open_waiting = impl.wait_for_partner
    return impl


register_fifo_opener(fifo_open)


def is_pipe(f) -> bool:
    return isinstance(f.impl, PipeImpl)

