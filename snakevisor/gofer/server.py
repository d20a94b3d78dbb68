"""The Gofer's 9P2000.L server: asyncio, one coroutine per connection.

Requests are read and decoded in order; a cheap request is answered inline,
a blocking one (large read/write, fsync, a directory snapshot) becomes a task
whose host work runs in a thread pool, so replies go out in any order with
their own tags.  Tflush cancels a pending task and answers after it.
Hostile bytes never take the server down: a malformed but well-framed message
gets Rlerror(EINVAL) on its tag; an unframeable stream closes the connection.
"""
from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections import deque
from concurrent.futures import ThreadPoolExecutor

from snakevisor.abi.errno import EINVAL, EIO, EPROTO
from snakevisor.p9 import constants as C
from snakevisor.p9 import messages as M
from snakevisor.p9.codec import REQUESTS, Decoder
from snakevisor.p9.messages import ProtocolError, encode

from . import ops
from .hostfs import errno_of

log = logging.getLogger("snakevisor.gofer")

MAX_MSIZE = 1 << 20            # largest msize we agree to
BLOCKING_THRESHOLD = 64 << 10  # reads/writes above this go to the worker pool
_RECV_SIZE = 1 << 16


class _Writer:
    """Ordered, non-blocking reply sender that can attach one descriptor to a reply."""

    def __init__(self, loop: asyncio.AbstractEventLoop, sock: socket.socket):
        self.loop, self.sock = loop, sock
        self.queue: deque = deque()   # [bytearray/memoryview data, dup'd fd or None]
        self.closed = False

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

    async def drain(self):
        while self.queue and not self.closed:
            await asyncio.sleep(0.001)

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


class Connection:
    """Serves one 9P connection (one mount) rooted at ``root_fd``."""

    def __init__(self, sock: socket.socket, root_fd: int, readonly: bool, pool: ThreadPoolExecutor,
                 extensions: bool = True):
        self.sock = sock
        self.extensions = extensions   # False: behave as a plain 9P2000.L server
        self.sess = ops.Session(root_fd, readonly)
        self.pool = pool
        self.decoder = Decoder(MAX_MSIZE, expect=REQUESTS)
        self.pending: dict[int, asyncio.Task] = {}
        self.negotiated = False

    async def run(self):
        loop = asyncio.get_running_loop()
        self.sock.setblocking(False)
        self.writer = _Writer(loop, self.sock)
        # A reader callback registered once (not a sock_recv per message): requests are
        # decoded and cheap ones answered straight from the epoll wake-up.
        self._done = loop.create_future()
        fd = self.sock.fileno()
        loop.add_reader(fd, self._on_readable)
        try:
            await self._done
            await self.writer.drain()
        finally:
            loop.remove_reader(fd)
            await self._abort_pending()
            self.sess.fids.clear()
            self.decoder.close()
            self.writer.close()
            self.sock.close()

    def _on_readable(self):
        while not self._done.done():
            try:
                data = self.sock.recv(_RECV_SIZE)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                data = b""
            if data:
                self.decoder.feed(data)
            if not data or not self._process() or self.writer.closed:
                self._done.set_result(None)
                return
            if len(data) < _RECV_SIZE:
                return      # drained; epoll says when there is more

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
            task = self.pending.get(msg.oldtag)
            if task is None:
                self._reply(M.Rflush(tag=msg.tag))
            else:
                self._track(msg.tag, self._flush(msg, task))
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
                self._start_blocking(handler, msg, states)
                states = []     # released when the worker thread is done with them
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

    def _track(self, tag: int, coro):
        task = asyncio.get_running_loop().create_task(coro)
        self.pending[tag] = task
        task.add_done_callback(lambda _t: self.pending.pop(tag, None))

    def _start_blocking(self, handler, msg, states):
        loop = asyncio.get_running_loop()
        fut = loop.run_in_executor(self.pool, handler, self.sess, msg, *states)

        def thread_done(f, states=states):
            # Only now may the fids' descriptors be closed (the thread used them).
            if not f.cancelled():
                f.exception()   # retrieved here; reported by _await_reply
            for st in states:
                st.release()
        fut.add_done_callback(thread_done)
        self._track(msg.tag, self._await_reply(msg.tag, fut))

    async def _await_reply(self, tag, fut):
        try:
            reply = await asyncio.shield(fut)
        except asyncio.CancelledError:
            raise               # flushed: no reply
        except Exception as e:  # noqa: BLE001 - becomes Rlerror
            if not isinstance(e, OSError) and errno_of(e) == EIO:
                log.error("handler failed", exc_info=e)
            reply = M.Rlerror(tag=tag, ecode=errno_of(e))
        self._reply(reply)

    async def _flush(self, msg, task):
        task.cancel()
        try:
            await task
        except BaseException:  # noqa: BLE001 - cancelled or failed, either way done
            pass
        self._reply(M.Rflush(tag=msg.tag))

    async def _abort_pending(self):
        tasks = list(self.pending.values())
        for t in tasks:
            t.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)

    def _version(self, msg: M.Tversion):
        # Tversion resets the session: outstanding work is abandoned, fids dropped.
        for t in list(self.pending.values()):
            t.cancel()
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


async def serve_async(mounts, pool: ThreadPoolExecutor | None = None, extensions: bool = True):
    """Serve every (root_dir, sock, readonly) mount until all connections close."""
    own_pool = pool is None
    pool = pool or ThreadPoolExecutor(max_workers=8, thread_name_prefix="gofer-io")
    roots = []
    try:
        conns = []
        for root_dir, sock, readonly in mounts:
            fd = _open_root(root_dir)
            roots.append(fd)
            conns.append(Connection(sock, fd, readonly, pool, extensions).run())
        await asyncio.gather(*conns)
    finally:
        for fd in roots:
            os.close(fd)
        if own_pool:
            pool.shutdown(wait=True, cancel_futures=True)


def serve(root_dir, sock: socket.socket, readonly: bool = False, extensions: bool = True):
    """Serve one directory tree on one connected socket until the peer closes it."""
    asyncio.run(serve_async([(root_dir, sock, readonly)], extensions=extensions))


def serve_many(mounts):
    asyncio.run(serve_async(mounts))
