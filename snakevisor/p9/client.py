"""The Sentry's 9P2000.L client: many requests in flight, each waited for by its tag.

``Client(sock)`` negotiates the version (offering host-fd donation when
``extensions`` is set), ``attach`` gives the root ``Fid``. Every request is a
``Pending`` in a table by tag (at most ``MAX_IN_FLIGHT`` out; more wait their
turn in order). A synchronous call (``_rpc``: walks, getattr, lopen, mkdir...)
sends and then reads the socket until its own reply arrives, handing replies
to other tags to their Pendings (a donated descriptor stays with its reply).
Data operations (``Fid.read_steps``, ``write_steps``, ``fsync_steps``,
``readdir_steps``) are
*steps*: generators that yield a Pending until it is done, so a Task can wait
for it while others run (sentry/fsimpl/gofer/wait.py); ``Fid.read`` and the
like run the same steps synchronously. Once ``use_loop`` is called the Sentry's
loop reads replies whenever they come. A reply nobody waits for any more (its
Task was killed, a clunk sent without waiting) is dropped, descriptor closed.

Rlerror becomes ``SyscallError(ecode)``; a closed or broken connection, or a
reply that makes no sense (wrong type, unknown tag), is ``SyscallError(EIO)``
for every request waiting, and the client stays broken. A donated descriptor the
Sentry has no room for is dropped (the reply arrives without it), and a server
out of descriptors (EMFILE) is ENFILE to the caller: neither is the
application's own descriptor table.
"""
from __future__ import annotations

import array
import os
import select
import socket
import time
from collections import deque
from dataclasses import dataclass

from snakevisor.abi.errno import EBADF, EINVAL, EIO, EMFILE, ENFILE, ENOENT, SyscallError

from . import constants as C
from . import messages as M
from .codec import REPLIES, Decoder
from .messages import DirEntry, ProtocolError, Qid, decode_dirents, encode

_MAX_RECV_FDS = 4
_ANCBUF = socket.CMSG_SPACE(_MAX_RECV_FDS * 4)
# Plain ints: socket's flags are enums, whose operators cost microseconds on this path.
_RECV_FLAGS = int(getattr(socket, "MSG_CMSG_CLOEXEC", 0))
_DONTWAIT = int(socket.MSG_DONTWAIT)
_CTRUNC = int(socket.MSG_CTRUNC)
_U64 = (1 << 64) - 1
MAX_IN_FLIGHT = 64   # requests out at once; more wait in order (tags are 16-bit)
READ_AHEAD = 4       # Treads of one large read in flight at once


@dataclass(slots=True)
class Attr:
    """Rgetattr, with times in nanoseconds."""
    valid: int
    qid: Qid
    mode: int
    uid: int
    gid: int
    nlink: int
    rdev: int
    size: int
    blksize: int
    blocks: int
    atime_ns: int
    mtime_ns: int
    ctime_ns: int
    btime_ns: int | None = None   # when the server knows it (GETATTR_BTIME in valid)


@dataclass(slots=True)
class OpenResult:
    qid: Qid
    iounit: int
    host_fd: int | None   # donated host descriptor (owned by the caller), or None


@dataclass(slots=True)
class Statfs:
    type: int
    bsize: int
    blocks: int
    bfree: int
    bavail: int
    files: int
    ffree: int
    fsid: int
    namelen: int


def _ns(sec: int, nsec: int) -> int:
    """Wire seconds are u64 two's complement (times before 1970 are negative)."""
    if sec >= 1 << 63:
        sec -= 1 << 64
    return sec * 1_000_000_000 + nsec


class Pending:
    """One request: waiting for room (``MAX_IN_FLIGHT``), in flight under its tag, or done.

    ``result()`` is the reply or raises its SyscallError. A Task waits for it on a WaitQueue
    (``Client.wait_in_loop``: ``notify(1)`` when done); a synchronous caller uses
    ``Client.wait``. A reply nobody wants any more (``Client.cancel``) is dropped on arrival,
    its donated descriptor closed."""

    __slots__ = ("client", "msg", "expect", "reply", "errno", "queue", "abandoned")

    def __init__(self, client, msg, expect):
        self.client, self.msg, self.expect = client, msg, expect
        self.reply = self.errno = self.queue = None
        self.abandoned = False

    @property
    def done(self) -> bool:
        return self.reply is not None or self.errno is not None

    def result(self):
        if self.errno is not None:
            raise SyscallError(self.errno)
        return self.reply


def run_steps(steps):
    """Run a step generator (see ``Client.call``) to its end, waiting here for each reply."""
    try:
        p = steps.send(None)
        while True:
            p.client.wait(p)
            p = steps.send(None)
    except StopIteration as stop:
        return stop.value


class Client:
    """A 9P2000.L connection over a connected SOCK_STREAM Unix socket."""

    def __init__(self, sock: socket.socket, msize: int = C.DEFAULT_MSIZE, extensions: bool = True):
        self.sock = sock
        self.donation = False
        self.loop = None           # the Sentry's Loop once ``use_loop``: Tasks may then wait
        self._loop_waiters = 0     # Pendings a Task waits for: the loop watches the socket meanwhile
        self._broken = False
        self._tag = 0
        self._in_flight: dict[int, Pending] = {}   # tag -> request sent, reply not yet here
        self._queued: deque[Pending] = deque()      # requests waiting for room to be sent
        self._next_fid = 0
        self._free_fids: list[int] = []
        self._decoder = Decoder(max(msize, C.MIN_MSIZE), expect=REPLIES)
        self._rbuf = bytearray(1 << 16)
        self._rview = memoryview(self._rbuf)
        self._poller = select.poll()
        self._poller.register(sock, select.POLLIN)
        offer = C.VERSION_SNAKEVISOR if extensions else C.VERSION_9P2000L
        try:
            r = self._rpc(M.Tversion(tag=C.NOTAG, msize=msize, version=offer), M.Rversion)
        except SyscallError:
            if not extensions or self._broken:
                raise
            # Some servers (diod) answer an unknown version with Rlerror, not "unknown":
            # ask again for plain 9P2000.L.
            extensions = False
            r = self._rpc(M.Tversion(tag=C.NOTAG, msize=msize, version=C.VERSION_9P2000L), M.Rversion)
        if r.version == C.VERSION_SNAKEVISOR and extensions:
            self.donation = True
        elif r.version != C.VERSION_9P2000L:
            self._fail()
        if r.msize < C.MIN_MSIZE or r.msize > msize:
            self._fail()
        self.msize = r.msize
        self._decoder.msize = r.msize
        if r.msize > len(self._rbuf):
            self._rbuf = bytearray(min(r.msize, 1 << 20))
            self._rview = memoryview(self._rbuf)

    def use_loop(self, loop):
        """Tasks may wait for replies (``Fid.*_steps``) on ``loop`` (the Sentry's) while others run."""
        self.loop = loop

    def wait_in_loop(self, p: Pending, queue) -> None:
        """A Task waits for ``p`` on ``queue`` (notified when it is done). The loop reads the
        socket while any Task waits, and only then: a synchronous call reads its own replies,
        and SIGIO for each of those would stop the loop's waker for nothing."""
        p.queue = queue
        self._loop_waiters += 1
        if self._loop_waiters == 1:
            self.loop.watch_fd(self.sock.fileno(), self._on_readable)

    def _loop_waiter_gone(self):
        self._loop_waiters -= 1
        if self._loop_waiters == 0:
            self.loop.unwatch_fd(self.sock.fileno())

    # ---------------------------------------------------------- transport
    def _fail(self):
        self._break()
        raise SyscallError(EIO)

    def _break(self):
        """The connection is unusable from now on: every request waiting or in flight is EIO."""
        if self._broken:
            return
        self._broken = True
        pending = list(self._in_flight.values()) + list(self._queued)
        self._in_flight.clear()
        self._queued.clear()
        for p in pending:
            self._finish(p, errno=EIO)   # (at EOF the socket is readable for ever: no more watching)

    def submit(self, msg, expect) -> Pending:
        """Send ``msg`` (or queue it until fewer than MAX_IN_FLIGHT are out); its reply should
        be of type ``expect``. The Pending is done at once if the client is broken."""
        p = Pending(self, msg, expect)
        if self._broken:
            p.errno = EIO
        elif len(self._in_flight) < MAX_IN_FLIGHT and not self._queued:
            self._send(p)
        else:
            self._queued.append(p)
        return p

    def _send(self, p):
        msg = p.msg
        if msg.tag != C.NOTAG:
            msg.tag = self._next_tag()
        self._in_flight[msg.tag] = p
        try:
            self.sock.sendall(encode(msg))
        except OSError:
            self._break()

    def _next_tag(self) -> int:
        tag = (self._tag + 1) % C.NOTAG
        while tag in self._in_flight:
            tag = (tag + 1) % C.NOTAG
        self._tag = tag
        return tag

    def wait(self, p: Pending) -> None:
        """Receive (blocking the thread) until ``p`` is done; replies to others go to theirs."""
        while not p.done:
            self._receive(block=True)

    def wait_briefly(self, p: Pending, timeout: float) -> bool:
        """Receive for at most ``timeout`` seconds, until ``p`` is done; is it?"""
        deadline = time.monotonic() + timeout
        poller = self._poller
        while not p.done and not self._broken:
            left = deadline - time.monotonic()
            if left <= 0 or not poller.poll(left * 1000):
                return p.done
            self._receive(block=False)
        return True

    def _rpc(self, msg, expect):
        """Send ``msg``, wait for its reply; return it if of type ``expect``."""
        p = self.submit(msg, expect)
        self.wait(p)
        return p.result()

    def call(self, msg, expect):
        """A step (a generator): yields the Pending until its reply is there, returns the reply.
        If the generator is closed meanwhile (its Task killed), the reply is dropped on arrival."""
        p = self.submit(msg, expect)
        if not p.done:
            try:
                yield p
            except BaseException:
                self.cancel(p)
                raise
        return p.result()

    def _finish(self, p: Pending, reply=None, errno=None):
        p.reply, p.errno = reply, errno
        queue = p.queue
        if queue is not None:
            p.queue = None
            self._loop_waiter_gone()
            queue.notify(1)

    def cancel(self, p: Pending) -> None:
        """Nobody waits for ``p`` any more: not sent if it is still queued; else its reply (and
        any descriptor in it) is dropped when it comes."""
        if p.done:
            self._drop_fd(p.reply)
            return
        p.abandoned = True
        if p.queue is not None:
            p.queue = None
            self._loop_waiter_gone()
        try:
            self._queued.remove(p)
            p.errno = EIO
        except ValueError:
            pass   # in flight

    def _send_deferred(self, msg):
        """Send ``msg`` without waiting: its reply is dropped when it comes.
        Only for requests whose failure does not matter (Tclunk)."""
        while self._queued and not self._broken:
            self._receive(block=True)   # bound what waits to be sent
        self.submit(msg, M.Rclunk).abandoned = True

    @staticmethod
    def _drop_fd(reply):
        fd = getattr(reply, "fd", None)
        if fd is not None:
            reply.fd = None
            os.close(fd)

    def _on_readable(self):
        """The loop saw the socket readable: dispatch every reply that has come."""
        while not self._broken and self._receive(block=False):
            pass

    def _receive(self, block: bool) -> bool:
        """Read once from the socket and dispatch the complete replies; False if nothing was
        there (``block`` False). A broken stream breaks the client."""
        if self._broken:
            return False
        try:
            if not self._recv_into_decoder(_RECV_FLAGS if block else _RECV_FLAGS | _DONTWAIT):
                return False
            while not self._broken:
                reply = self._decoder.next_message()
                if reply is None:
                    break
                self._dispatch(reply)
        except (OSError, ProtocolError, ValueError):
            self._break()
        return True

    def _dispatch(self, reply):
        p = self._in_flight.pop(reply.tag, None)
        if p is None:
            self._drop_fd(reply)   # a reply to no request: the stream makes no sense
            self._break()
            return
        if p.abandoned:
            self._drop_fd(reply)
        elif type(reply) is p.expect:
            self._finish(p, reply=reply)
        elif type(reply) is M.Rlerror:
            # The server out of descriptors is not the application's own table being full.
            self._finish(p, errno=ENFILE if reply.ecode == EMFILE else reply.ecode or EIO)
        else:
            self._drop_fd(reply)
            self._in_flight[reply.tag] = p   # EIO with the rest
            self._break()
            return
        while self._queued and len(self._in_flight) < MAX_IN_FLIGHT and not self._broken:
            self._send(self._queued.popleft())

    def _recv_into_decoder(self, flags) -> bool:
        try:
            n, anc, mflags, _ = self.sock.recvmsg_into([self._rview], _ANCBUF, flags)
        except BlockingIOError:
            return False
        fds = []
        for level, kind, data in anc:
            if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                a = array.array("i")
                a.frombytes(data[:len(data) - len(data) % 4])
                fds += a
        if mflags & _CTRUNC:
            # A donated descriptor we had no room for (EMFILE here) was dropped by the
            # kernel: the reply stands without it and the caller does 9P I/O instead.
            for fd in fds:
                os.close(fd)
            fds = []
        if n == 0:
            for fd in fds:
                os.close(fd)
            raise ProtocolError("connection closed")
        self._decoder.feed(self._rview[:n], fds)
        return True

    def _alloc_fid(self) -> int:
        if self._free_fids:
            return self._free_fids.pop()
        fid = self._next_fid
        if fid >= C.NOFID:
            raise SyscallError(EIO)
        self._next_fid += 1
        return fid

    def rpc_new_fid(self, make, reply_type):
        """(new fid number, reply) of a request that binds a new fid (``make(fid)`` builds it);
        the number is free again if the server refuses."""
        fid = self._alloc_fid()
        try:
            return fid, self._rpc(make(fid), reply_type)
        except SyscallError:
            self._free_fids.append(fid)
            raise

    def close(self):
        self._break()
        self._decoder.close()
        self.sock.close()

    # ---------------------------------------------------------- session
    def attach(self, aname: bytes = b"", uname: bytes = b"root", n_uname: int = 0) -> "Fid":
        fid, r = self.rpc_new_fid(lambda fid: M.Tattach(fid=fid, afid=C.NOFID, uname=uname, aname=aname,
                                                        n_uname=n_uname), M.Rattach)
        return Fid(self, fid, r.qid)

    @property
    def max_io(self) -> int:
        """Largest read/write payload per request."""
        return self.msize - C.IOHDRSZ


class Fid:
    """A client-side fid: a server capability for one file."""

    __slots__ = ("client", "fid", "qid", "_open")

    def __init__(self, client: Client, fid: int, qid: Qid):
        self.client = client
        self.fid = fid
        self.qid = qid
        self._open = False

    def __repr__(self):
        return f"Fid({self.fid}, {self.qid})"

    def _id(self) -> int:
        if self.fid is None:
            raise SyscallError(EBADF)
        return self.fid

    # ---------------------------------------------------------- walking
    def walk_qids(self, names) -> tuple["Fid | None", list[Qid]]:
        """Walk up to 16 names; returns (new Fid or None if not fully walked, qids walked)."""
        names = tuple(names)
        if len(names) > C.MAXWELEM:
            raise SyscallError(EINVAL)   # callers batch through walk()
        c = self.client
        newfid, r = c.rpc_new_fid(lambda newfid: M.Twalk(fid=self._id(), newfid=newfid, wnames=names), M.Rwalk)
        qids = list(r.qids)
        if len(qids) != len(names):
            c._free_fids.append(newfid)
            if len(qids) > len(names):
                c._fail()
            return None, qids
        return Fid(c, newfid, qids[-1] if qids else self.qid), qids

    def walk_fd(self, names) -> tuple["Fid", int | None, int]:
        """directfs (the snakevisor dialect only: callers check ``client.donation``): walk up to
        16 names to a new Fid, with the O_PATH descriptor of the file reached that the Gofer
        donates (owned by the caller; None if it could not come) and the watch on it of the
        mount's inotify instance (0: none; see notify_fd). ENOENT if not fully walked."""
        names = tuple(names)
        if len(names) > C.MAXWELEM:
            raise SyscallError(EINVAL)
        c = self.client
        newfid, r = c.rpc_new_fid(lambda newfid: M.Twalkfd(fid=self._id(), newfid=newfid, wnames=names), M.Rwalkfd)
        if len(r.qids) != len(names):
            c._free_fids.append(newfid)
            if r.fd is not None:
                os.close(r.fd)
            if len(r.qids) > len(names):
                c._fail()
            raise SyscallError(ENOENT)
        return Fid(c, newfid, r.qids[-1] if r.qids else self.qid), r.fd, r.wd

    def notify_fd(self) -> int | None:
        """directfs on a shared mount: the mount's inotify descriptor the Gofer donates (owned by
        the caller; None if it did not come), whose watch descriptors walk_fd reports."""
        return self.client._rpc(M.Tnotifyfd(fid=self._id()), M.Rnotifyfd).fd

    def peek_qids(self, names) -> list[Qid]:
        """The qids of up to 16 names walked from here, binding no fid (Twalkqids in the snakevisor
        dialect; else a Twalk whose fid is clunked without waiting)."""
        names = tuple(names)
        if len(names) > C.MAXWELEM:
            raise SyscallError(EINVAL)
        c = self.client
        if not c.donation:
            fid, qids = self.walk_qids(names)
            if fid is not None:
                fid.clunk(wait=False)
            return qids
        qids = list(c._rpc(M.Twalkqids(fid=self._id(), wnames=names), M.Rwalkqids).qids)
        if len(qids) > len(names):
            c._fail()
        return qids

    def walk(self, names) -> "Fid":
        """Walk any number of names (batches of 16); SyscallError(ENOENT) if not fully walked."""
        names = list(names)
        cur, first = self, True
        while first or names:
            batch, names = names[:C.MAXWELEM], names[C.MAXWELEM:]
            try:
                nxt, _ = cur.walk_qids(batch)
            finally:
                if not first:
                    cur.clunk()
            if nxt is None:
                raise SyscallError(ENOENT)
            cur, first = nxt, False
        return cur

    def clone(self) -> "Fid":
        return self.walk([])

    # ---------------------------------------------------------- attributes
    def getattr(self, mask: int = C.GETATTR_BASIC) -> Attr:
        r = self.client._rpc(M.Tgetattr(fid=self._id(), request_mask=mask), M.Rgetattr)
        return Attr(r.valid, r.qid, r.mode, r.uid, r.gid, r.nlink, r.rdev, r.size, r.blksize,
                    r.blocks, _ns(r.atime_sec, r.atime_nsec), _ns(r.mtime_sec, r.mtime_nsec),
                    _ns(r.ctime_sec, r.ctime_nsec),
                    _ns(r.btime_sec, r.btime_nsec) if r.valid & C.GETATTR_BTIME else None)

    def setattr(self, valid: int, mode: int = 0, uid: int = 0, gid: int = 0, size: int = 0,
                atime_ns: int = 0, mtime_ns: int = 0) -> None:
        self.client._rpc(M.Tsetattr(fid=self._id(), valid=valid, mode=mode, uid=uid, gid=gid,
                                    size=size, atime_sec=(atime_ns // 1_000_000_000) & _U64,
                                    atime_nsec=atime_ns % 1_000_000_000,
                                    mtime_sec=(mtime_ns // 1_000_000_000) & _U64,
                                    mtime_nsec=mtime_ns % 1_000_000_000), M.Rsetattr)

    def statfs(self) -> Statfs:
        r = self.client._rpc(M.Tstatfs(fid=self._id()), M.Rstatfs)
        return Statfs(r.type, r.bsize, r.blocks, r.bfree, r.bavail, r.files, r.ffree, r.fsid,
                      r.namelen)

    def readlink(self) -> bytes:
        return self.client._rpc(M.Treadlink(fid=self._id()), M.Rreadlink).target

    # ---------------------------------------------------------- open files
    def lopen(self, flags: int) -> OpenResult:
        r = self.client._rpc(M.Tlopen(fid=self._id(), flags=flags), M.Rlopen)
        self._open = True
        self.qid = r.qid
        return OpenResult(r.qid, r.iounit, r.fd)

    def lcreate(self, name: bytes, flags: int, mode: int, gid: int = 0) -> OpenResult:
        """Create ``name`` in this directory; this fid becomes the opened new file."""
        r = self.client._rpc(M.Tlcreate(fid=self._id(), name=name, flags=flags, mode=mode, gid=gid),
                             M.Rlcreate)
        self._open = True
        self.qid = r.qid
        return OpenResult(r.qid, r.iounit, r.fd)

    # Data operations are steps (generators, see Client.call): a Task waits for their replies
    # through fsimpl/gofer/wait.py while others run; the plain methods wait here.
    def read_steps(self, offset: int, count: int):
        """Read ``count`` bytes (fewer at the end of the file). A count over msize is split into
        Treads of which up to READ_AHEAD are in flight at once (the server may serve them in
        parallel); after a short one the rest are cancelled."""
        c = self.client
        chunk = c.max_io
        if count <= chunk:
            data = (yield from c.call(M.Tread(fid=self._id(), offset=offset, count=count), M.Rread)).data
            if len(data) > count:
                c._fail()
            return data
        parts, out = [], deque()   # out: (count, Pending) in offset order
        try:
            while count or out:
                while count and len(out) < READ_AHEAD:
                    n = min(count, chunk)
                    out.append((n, c.submit(M.Tread(fid=self._id(), offset=offset, count=n), M.Rread)))
                    offset += n
                    count -= n
                n, p = out[0]
                if not p.done:
                    yield p
                out.popleft()
                data = p.result().data
                if len(data) > n:
                    c._fail()
                parts.append(data)
                if len(data) < n:
                    break
        finally:
            for _, p in out:
                c.cancel(p)   # past the end of the file, or nobody waits any more
        return b"".join(parts)

    def read(self, offset: int, count: int) -> bytes:
        return run_steps(self.read_steps(offset, count))

    def write_steps(self, offset: int, data):
        c = self.client
        chunk = c.max_io
        view = memoryview(data)
        done = 0
        while done < len(view) or not view:
            piece = bytes(view[done:done + chunk])
            n = (yield from c.call(M.Twrite(fid=self._id(), offset=offset + done, data=piece), M.Rwrite)).count
            if n > len(piece):
                c._fail()
            done += n
            if n < len(piece) or not view:
                break
        return done

    def write(self, offset: int, data) -> int:
        return run_steps(self.write_steps(offset, data))

    def readdir_steps(self, offset: int, count: int):
        c = self.client
        count = max(0, min(count, c.msize - C.READ_REPLY_OVERHEAD))
        r = yield from c.call(M.Treaddir(fid=self._id(), offset=offset, count=count), M.Rreaddir)
        try:
            return decode_dirents(r.data)
        except ProtocolError:
            c._fail()

    def readdir(self, offset: int, count: int) -> list[DirEntry]:
        return run_steps(self.readdir_steps(offset, count))

    def fsync_steps(self, datasync: bool = False):
        yield from self.client.call(M.Tfsync(fid=self._id(), datasync=int(datasync)), M.Rfsync)

    def fsync(self, datasync: bool = False) -> None:
        run_steps(self.fsync_steps(datasync))

    # ---------------------------------------------------------- directory ops
    def mkdir(self, name: bytes, mode: int, gid: int = 0) -> Qid:
        return self.client._rpc(M.Tmkdir(dfid=self._id(), name=name, mode=mode, gid=gid), M.Rmkdir).qid

    def symlink(self, name: bytes, target: bytes, gid: int = 0) -> Qid:
        return self.client._rpc(M.Tsymlink(fid=self._id(), name=name, symtgt=target, gid=gid),
                                M.Rsymlink).qid

    def mknod(self, name: bytes, mode: int, major: int = 0, minor: int = 0, gid: int = 0) -> Qid:
        return self.client._rpc(M.Tmknod(dfid=self._id(), name=name, mode=mode, major=major,
                                         minor=minor, gid=gid), M.Rmknod).qid

    def link(self, target: "Fid", name: bytes) -> None:
        """Make ``name`` in this directory a hard link to ``target``."""
        self.client._rpc(M.Tlink(dfid=self._id(), fid=target._id(), name=name), M.Rlink)

    def renameat(self, oldname: bytes, newdir: "Fid", newname: bytes) -> None:
        self.client._rpc(M.Trenameat(olddirfid=self._id(), oldname=oldname,
                                     newdirfid=newdir._id(), newname=newname), M.Rrenameat)

    def renameat2(self, oldname: bytes, newdir: "Fid", newname: bytes, flags: int) -> None:
        """renameat2(2)'s flags in one request: the snakevisor dialect only (callers check
        ``client.donation``)."""
        self.client._rpc(M.Trenameat2(olddirfid=self._id(), oldname=oldname, newdirfid=newdir._id(),
                                      newname=newname, flags=flags), M.Rrenameat2)

    def rename(self, newdir: "Fid", name: bytes) -> None:
        self.client._rpc(M.Trename(fid=self._id(), dfid=newdir._id(), name=name), M.Rrename)

    def unlinkat(self, name: bytes, flags: int = 0) -> None:
        self.client._rpc(M.Tunlinkat(dirfid=self._id(), name=name, flags=flags), M.Runlinkat)

    # ---------------------------------------------------------- xattrs
    def xattrwalk(self, name: bytes) -> tuple["Fid", int]:
        """A new fid reading attribute ``name`` (b"": the list of names) and its size."""
        c = self.client
        newfid, r = c.rpc_new_fid(lambda newfid: M.Txattrwalk(fid=self._id(), newfid=newfid, name=name),
                                  M.Rxattrwalk)
        return Fid(c, newfid, self.qid), r.size

    def xattrcreate(self, name: bytes, size: int, flags: int) -> None:
        """This fid becomes the writer of attribute ``name``: Twrite the value, Tclunk commits
        (size 0 removes the attribute)."""
        self.client._rpc(M.Txattrcreate(fid=self._id(), name=name, attr_size=size, flags=flags),
                         M.Rxattrcreate)

    # ---------------------------------------------------------- release
    def clunk(self, wait: bool = True) -> None:
        """Release the fid (idempotent); the fid number is reused. ``wait=False`` sends
        Tclunk without waiting for Rclunk (saves a round trip; its failure is ignored)."""
        if self.fid is None:
            return
        fid, self.fid = self.fid, None
        try:
            if wait:
                self.client._rpc(M.Tclunk(fid=fid), M.Rclunk)
            else:
                self.client._send_deferred(M.Tclunk(fid=fid))
        finally:
            # 9P: the fid is released even when Tclunk fails.
            self.client._free_fids.append(fid)

    def remove(self) -> None:
        """Remove the file and release the fid (even on error, as 9P says)."""
        if self.fid is None:
            raise SyscallError(EBADF)
        fid, self.fid = self.fid, None
        try:
            self.client._rpc(M.Tremove(fid=fid), M.Rremove)
        finally:
            self.client._free_fids.append(fid)
