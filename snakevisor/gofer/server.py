"""The Gofer's 9P2000.L server: one event loop thread (selectors) for every connection.

Requests are read and decoded in order; a cheap request is answered inline,
a blocking one (large read/write, fsync, a directory snapshot) runs in a
worker thread, whose reply goes out, with its own tag, once the loop hears it
is done (a wake-up pipe): replies go out in any order.  Tflush is answered at
once; a flushed request still in a worker gets no reply.  Hostile bytes never
take the server down: a malformed but well-framed message gets Rlerror(EINVAL)
on its tag; an unframeable stream closes the connection.

Not asyncio: importing it (and the concurrent.futures pool) was most of the
Gofer's start-up CPU, paid at every sandbox start, for the few calls used here.
"""
from __future__ import annotations

import os
import queue
import selectors
import socket
import threading
from collections import deque

from snakevisor.abi.errno import EINVAL, EIO, EPROTO
from snakevisor.p9 import constants as C
from snakevisor.p9 import messages as M
from snakevisor.p9.codec import REQUESTS, Decoder
from snakevisor.p9.messages import ProtocolError, encode

from . import log, ops
from .hostfs import errno_of


MAX_MSIZE = 1 << 20            # largest msize we agree to
BLOCKING_THRESHOLD = 64 << 10  # reads/writes above this go to the worker threads
WORKERS = 8                    # most worker threads
_RECV_SIZE = 1 << 16


class _Loop:
    """A minimal event loop: readiness callbacks per descriptor (asyncio's add_reader/add_writer
    names), and callbacks queued from other threads (``call_soon_threadsafe``)."""

    def __init__(self):
        self.selector = selectors.DefaultSelector()
        self.handlers: dict[int, list] = {}     # fd -> [on readable, on writable]
        self.ready: deque = deque()             # (callback, args) from worker threads
        self._wake_r, self._wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        self.add_reader(self._wake_r, self._woken)

    def _watch(self, fd, index, callback):
        entry = self.handlers.get(fd)
        if entry is None:
            if callback is None:
                return
            entry = self.handlers[fd] = [None, None]
            entry[index] = callback
            self.selector.register(fd, self._mask(entry))
            return
        entry[index] = callback
        if entry == [None, None]:
            del self.handlers[fd]
            self.selector.unregister(fd)
        else:
            self.selector.modify(fd, self._mask(entry))

    @staticmethod
    def _mask(entry):
        return (selectors.EVENT_READ if entry[0] else 0) | (selectors.EVENT_WRITE if entry[1] else 0)

    def add_reader(self, fd, callback):
        self._watch(fd, 0, callback)

    def remove_reader(self, fd):
        self._watch(fd, 0, None)

    def add_writer(self, fd, callback):
        self._watch(fd, 1, callback)

    def remove_writer(self, fd):
        self._watch(fd, 1, None)

    def call_soon_threadsafe(self, callback, *args):
        self.ready.append((callback, args))
        try:
            os.write(self._wake_w, b"\0")
        except BlockingIOError:
            pass   # the pipe is full: the loop is woken already

    def _woken(self):
        try:
            while os.read(self._wake_r, 4096):
                pass
        except BlockingIOError:
            pass
        self.run_ready()

    def run_ready(self):
        while self.ready:
            callback, args = self.ready.popleft()
            self._call(callback, *args)

    @staticmethod
    def _call(callback, *args):
        try:
            callback(*args)
        except Exception:   # noqa: BLE001 - one bad callback must not stop every mount
            log.exception("callback %r failed", callback)

    def run(self, alive):
        """Dispatch events until ``alive()`` is false."""
        while alive():
            for key, events in self.selector.select():
                entry = self.handlers.get(key.fd)
                if entry is None:
                    continue    # unregistered by an earlier callback of this round
                if events & selectors.EVENT_READ and entry[0] is not None:
                    self._call(entry[0])
                if events & selectors.EVENT_WRITE and entry[1] is not None:
                    self._call(entry[1])

    def close(self):
        self.selector.close()
        os.close(self._wake_r)
        os.close(self._wake_w)


class _Job:
    """A blocking request run by a worker thread; ``flushed``: its reply is not sent."""
    __slots__ = ("conn", "handler", "msg", "states", "reply", "flushed")

    def __init__(self, conn, handler, msg, states):
        self.conn, self.handler, self.msg, self.states = conn, handler, msg, states
        self.reply = None
        self.flushed = False

    def run(self):
        """In a worker thread: the handler's reply, or Rlerror; then back to the loop."""
        try:
            self.reply = self.handler(self.conn.sess, self.msg, *self.states)
        except Exception as e:  # noqa: BLE001 - becomes Rlerror
            if not isinstance(e, OSError) and errno_of(e) == EIO:
                log.error("handler failed", exc_info=e)
            self.reply = M.Rlerror(tag=self.msg.tag, ecode=errno_of(e))
        self.conn.loop.call_soon_threadsafe(self.conn.job_done, self)


class _Workers:
    """Up to ``WORKERS`` threads, started as jobs need them, running _Job.run."""

    def __init__(self, size=WORKERS):
        self.size = size
        self.jobs = queue.SimpleQueue()
        self.threads: list[threading.Thread] = []
        self.idle = threading.Semaphore(0)

    def submit(self, job):
        self.jobs.put(job)
        if self.idle.acquire(blocking=False) or len(self.threads) >= self.size:
            return
        t = threading.Thread(target=self._work, name=f"gofer-io_{len(self.threads)}", daemon=True)
        t.start()
        self.threads.append(t)

    def _work(self):
        while (job := self.jobs.get()) is not None:
            job.run()
            self.idle.release()

    def shutdown(self):
        """Cancel the jobs not started (their fids released, no reply); wait for the running ones."""
        while True:
            try:
                job = self.jobs.get_nowait()
            except queue.Empty:
                break
            if job is not None:
                job.flushed = True
                job.conn.loop.call_soon_threadsafe(job.conn.job_done, job)
        for _ in self.threads:
            self.jobs.put(None)
        for t in self.threads:
            t.join()


class _Writer:
    """Ordered, non-blocking reply sender that can attach one descriptor to a reply."""

    def __init__(self, loop: _Loop, sock: socket.socket):
        self.loop, self.sock = loop, sock
        self.queue: deque = deque()   # [bytearray/memoryview data, dup'd fd or None]
        self.closed = False
        self.on_idle = None           # called once the queue is empty or the writer closed

    def send(self, data: bytes, fd: int | None = None):
        if self.closed:
            return
        if not self.queue:
            try:
                n = self._sendmsg(data, fd)
            except (BlockingIOError, InterruptedError):
                n = 0
            except OSError:
                self.close()
                return
            if n == len(data):
                return
            if n:
                fd = None       # the descriptor went with the first bytes
            data = memoryview(data)[n:]
            if not self.queue:
                self.loop.add_writer(self.sock.fileno(), self._flush)
        # The fid may be clunked before this reply leaves: keep our own copy (none if there is
        # no room for one: the reply goes without it and the client does 9P I/O on the fid).
        try:
            kept = os.dup(fd) if fd is not None else None
        except OSError:
            kept = None
        self.queue.append([data, kept])

    def _sendmsg(self, data, fd):
        if fd is None:
            return self.sock.send(data)
        return self.sock.sendmsg([data], [(socket.SOL_SOCKET, socket.SCM_RIGHTS,
                                           fd.to_bytes(4, "little", signed=True))])

    def _flush(self):
        while self.queue:
            item = self.queue[0]
            try:
                n = self._sendmsg(item[0], item[1])
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                self.close()
                return
            if item[1] is not None and n:
                os.close(item[1])
                item[1] = None
            if n < len(item[0]):
                item[0] = memoryview(item[0])[n:]
                return
            self.queue.popleft()
        self.loop.remove_writer(self.sock.fileno())
        if self.on_idle is not None:
            self.on_idle()

    def close(self):
        if self.closed:
            return
        self.closed = True
        try:
            self.loop.remove_writer(self.sock.fileno())
        except (ValueError, OSError):
            pass
        for _, fd in self.queue:
            if fd is not None:
                os.close(fd)
        self.queue.clear()
        if self.on_idle is not None:
            self.on_idle()


class Connection:
    """Serves one 9P connection (one mount) rooted at ``root_fd``, on ``loop``."""

    def __init__(self, loop: _Loop, sock: socket.socket, root_fd: int, readonly: bool, workers: _Workers,
                 extensions: bool = True, directfs: bool = True):
        self.loop = loop
        self.sock = sock
        self.extensions = extensions   # False: behave as a plain 9P2000.L server
        self.sess = ops.Session(root_fd, readonly)
        self.sess.directfs = directfs  # Twalkfd answered (the dialect's, when negotiated)
        self.workers = workers
        self.decoder = Decoder(MAX_MSIZE, expect=REQUESTS)
        self.pending: dict[int, _Job] = {}   # tag -> request running in a worker thread
        self.negotiated = False
        self.writer: _Writer | None = None   # from start()
        self.closing = False    # no more requests are read
        self.open = True        # until every resource is released

    def start(self):
        self.sock.setblocking(False)
        self.writer = _Writer(self.loop, self.sock)
        # A reader callback registered once: requests are decoded and cheap ones answered
        # straight from the epoll wake-up.
        self.loop.add_reader(self.sock.fileno(), self._on_readable)

    def _on_readable(self):
        while not self.closing:
            try:
                data = self.sock.recv(_RECV_SIZE)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                data = b""
            if data:
                self.decoder.feed(data)
            if not data or not self._process() or self.writer.closed:
                self._end()
                return
            if len(data) < _RECV_SIZE:
                return      # drained; epoll says when there is more

    def _end(self):
        """Read no more; close once the queued replies have left (or cannot)."""
        self.closing = True
        self.loop.remove_reader(self.sock.fileno())
        self._abandon_pending()
        if self.writer.queue and not self.writer.closed:
            self.writer.on_idle = self._close
        else:
            self._close()

    def _close(self):
        if not self.open:
            return
        self.open = False
        self.loop.remove_reader(self.sock.fileno())
        self._abandon_pending()
        self.sess.fids.clear()
        if self.sess.watches is not None:
            self.sess.watches.close()
            self.sess.watches = None
        self.decoder.close()
        if self.writer is not None:
            self.writer.on_idle = None
            self.writer.close()
        self.sock.close()

    def _process(self) -> bool:
        """Handle every complete request buffered; False to close the connection."""
        while True:
            try:
                msg = self.decoder.next_message()
            except ProtocolError as e:
                if e.fatal or e.tag is None or e.tag in self.pending:
                    log.info("closing connection: %s", e)
                    return False
                self._reply(M.Rlerror(tag=e.tag, ecode=EINVAL))
                continue
            if msg is None:
                return True
            if msg.tag in self.pending:
                log.info("closing connection: tag %d reused while in flight", msg.tag)
                return False
            self._dispatch(msg)

    def _reply(self, reply):
        try:
            data = encode(reply)
        except (ValueError, OverflowError, AttributeError, TypeError):
            log.exception("unencodable reply %r", reply)
            data = encode(M.Rlerror(tag=reply.tag, ecode=EIO))
        self.writer.send(data, getattr(reply, "fd", None))

    def _dispatch(self, msg):
        t = type(msg)
        if t is M.Tversion:
            self._version(msg)
            return
        if t is M.Tflush:
            job = self.pending.pop(msg.oldtag, None)
            if job is not None:
                job.flushed = True   # the worker finishes; its reply is dropped
            self._reply(M.Rflush(tag=msg.tag))
            return
        entry = ops.HANDLERS.get(t) if self.negotiated else None
        if entry is None:
            self._reply(M.Rlerror(tag=msg.tag, ecode=EINVAL if self.negotiated else EPROTO))
            return
        handler, fid_fields, may_block = entry
        states = []
        try:
            for name in fid_fields:
                states.append(self.sess.fids.acquire(getattr(msg, name)))
            if may_block and self._is_blocking(msg):
                job = _Job(self, handler, msg, states)
                states = []     # released when the worker thread is done with them (job_done)
                self.pending[msg.tag] = job
                self.workers.submit(job)
                return
            reply = handler(self.sess, msg, *states)
        except Exception as e:   # noqa: BLE001 - any failure is an Rlerror, never a crash
            if not isinstance(e, OSError) and errno_of(e) == EIO:
                log.exception("handler %s failed", t.__name__)
            reply = M.Rlerror(tag=msg.tag, ecode=errno_of(e))
        finally:
            for st in states:
                st.release()
        self._reply(reply)

    @staticmethod
    def _is_blocking(msg) -> bool:
        t = type(msg)
        if t is M.Tread:
            return msg.count > BLOCKING_THRESHOLD
        if t is M.Twrite:
            return len(msg.data) > BLOCKING_THRESHOLD
        if t is M.Treaddir:
            return msg.offset == 0
        return True

    def job_done(self, job: _Job):
        """On the loop: a worker finished ``job`` (or it was cancelled): its fids may be released
        now (the thread used their descriptors), and its reply sent unless it was flushed."""
        for st in job.states:
            st.release()
        if job.flushed:
            return
        del self.pending[job.msg.tag]
        self._reply(job.reply)

    def _abandon_pending(self):
        for job in self.pending.values():
            job.flushed = True
        self.pending.clear()

    def _version(self, msg: M.Tversion):
        # Tversion resets the session: outstanding work is abandoned, fids dropped.
        self._abandon_pending()
        self.sess.fids.clear()
        msize = min(msg.msize, MAX_MSIZE)
        v = msg.version
        if v == C.VERSION_SNAKEVISOR and self.extensions:
            version, donation = C.VERSION_SNAKEVISOR, True
        elif v == C.VERSION_9P2000L or v.startswith(C.VERSION_9P2000L + b"."):
            # Includes gVisor's "9P2000.L.Google.N": plain 9P2000.L semantics.
            version, donation = C.VERSION_9P2000L, False
        else:
            version, donation = C.VERSION_UNKNOWN, False
        if msize < C.MIN_MSIZE:
            version = C.VERSION_UNKNOWN
        self.negotiated = version != C.VERSION_UNKNOWN
        self.sess.donation = donation and self.negotiated
        if self.negotiated:
            self.sess.msize = msize
            self.decoder.msize = msize
        self._reply(M.Rversion(tag=msg.tag, msize=msize, version=version))


def _open_root(root_dir) -> int:
    # A directory tree, or a single file (a file bind mount): walks from a file fail with ENOTDIR.
    return os.open(root_dir, os.O_PATH | os.O_CLOEXEC)


def serve_many(mounts, extensions: bool = True, directfs: bool = True, image_usage=None):
    """Serve every (root_dir, sock, readonly) mount until all connections close; ``directfs``:
    donate O_PATH descriptors with Twalkfd (the sandbox's --directfs); ``image_usage``: the
    statfs of the first mount's image when it is an overlay (ops.statfs)."""
    loop, workers = _Loop(), _Workers()
    roots, conns = [], []
    try:
        for root_dir, sock, readonly in mounts:
            fd = _open_root(root_dir)
            roots.append(fd)
            conns.append(Connection(loop, sock, fd, readonly, workers, extensions, directfs))
        if conns:
            conns[0].sess.image_usage = image_usage
        for c in conns:
            c.start()
        loop.run(lambda: any(c.open for c in conns))
    finally:
        workers.shutdown()
        loop.run_ready()   # the jobs that ended meanwhile: release their fids
        for c in conns:
            c._close()
        loop.close()
        for fd in roots:
            os.close(fd)


def serve(root_dir, sock: socket.socket, readonly: bool = False, extensions: bool = True, directfs: bool = True):
    """Serve one directory tree on one connected socket until the peer closes it."""
    serve_many([(root_dir, sock, readonly)], extensions=extensions, directfs=directfs)
