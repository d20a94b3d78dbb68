"""The Sentry's 9P2000.L client: synchronous, one request in flight at a time.

``Client(sock)`` negotiates the version (offering host-fd donation when
``extensions`` is set), ``attach`` gives the root ``Fid``; each Fid method is
one round trip (``read``/``write`` split large counts over msize).  Rlerror
becomes ``SyscallError(ecode)``; a closed or broken connection, or a reply
that makes no sense, becomes ``SyscallError(EIO)`` and the client stays
broken afterwards. A donated descriptor the Sentry has no room for is dropped
(the reply arrives without it), and a server out of descriptors (EMFILE) is
ENFILE to the caller: neither is the application's own descriptor table.
"""
from __future__ import annotations

import array
import os
import socket
from dataclasses import dataclass

from snakevisor.abi.errno import EBADF, EINVAL, EIO, EMFILE, ENFILE, ENOENT, SyscallError

from . import constants as C
from . import messages as M
from .codec import REPLIES, Decoder
from .messages import DirEntry, ProtocolError, Qid, decode_dirents, encode

_MAX_RECV_FDS = 4
_ANCBUF = socket.CMSG_SPACE(_MAX_RECV_FDS * 4)
_RECV_FLAGS = getattr(socket, "MSG_CMSG_CLOEXEC", 0)
_U64 = (1 << 64) - 1
_MAX_DEFERRED = 64


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


class Client:
    """A 9P2000.L connection over a connected SOCK_STREAM Unix socket."""

    def __init__(self, sock: socket.socket, msize: int = C.DEFAULT_MSIZE, extensions: bool = True):
        self.sock = sock
        self.donation = False
        self._broken = False
        self._tag = 0
        self._deferred: set[int] = set()   # tags of sent requests whose replies nobody waits for
        self._next_fid = 0
        self._free_fids: list[int] = []
        self._decoder = Decoder(max(msize, C.MIN_MSIZE), expect=REPLIES)
        self._rbuf = bytearray(1 << 16)
        self._rview = memoryview(self._rbuf)
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

    # ---------------------------------------------------------- transport
    def _fail(self):
        self._broken = True
        raise SyscallError(EIO)

    def _rpc(self, msg, expect):
        """Send ``msg``, wait for its reply; return it if of type ``expect``."""
        if self._broken:
            raise SyscallError(EIO)
        if msg.tag != C.NOTAG:
            msg.tag = self._next_tag()
        try:
            self.sock.sendall(encode(msg))
            reply = self._receive()
            while self._deferred and reply.tag in self._deferred:
                # The answer to an earlier fire-and-forget request (a deferred clunk).
                self._deferred.discard(reply.tag)
                self._drop_fd(reply)
                reply = self._receive()
        except (OSError, ProtocolError, ValueError):
            self._broken = True
            raise SyscallError(EIO) from None
        if reply.tag != msg.tag:
            self._drop_fd(reply)
            self._fail()
        if type(reply) is expect:
            return reply
        if type(reply) is M.Rlerror:
            # The server out of descriptors is not the application's own table being full.
            raise SyscallError(ENFILE if reply.ecode == EMFILE else reply.ecode or EIO)
        self._drop_fd(reply)
        self._fail()

    def _next_tag(self) -> int:
        tag = (self._tag + 1) % C.NOTAG
        while tag in self._deferred:
            tag = (tag + 1) % C.NOTAG
        self._tag = tag
        return tag

    def _send_deferred(self, msg):
        """Send ``msg`` without waiting: its reply is skipped by a later _rpc.
        Only for requests whose failure does not matter (Tclunk)."""
        if self._broken:
            return
        if len(self._deferred) >= _MAX_DEFERRED:
            self._rpc(msg, M.Rclunk)   # bound what is in flight: wait for this one
            return
        msg.tag = self._next_tag()
        try:
            self.sock.sendall(encode(msg))
        except OSError:
            self._broken = True
            return
        self._deferred.add(msg.tag)

    @staticmethod
    def _drop_fd(reply):
        fd = getattr(reply, "fd", None)
        if fd is not None:
            os.close(fd)

    def _receive(self):
        dec = self._decoder
        while True:
            reply = dec.next_message()
            if reply is not None:
                return reply
            n, anc, flags, _ = self.sock.recvmsg_into([self._rview], _ANCBUF, _RECV_FLAGS)
            fds = []
            for level, kind, data in anc:
                if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                    a = array.array("i")
                    a.frombytes(data[:len(data) - len(data) % 4])
                    fds += a
            if flags & socket.MSG_CTRUNC:
                # A donated descriptor we had no room for (EMFILE here) was dropped by the
                # kernel: the reply stands without it and the caller does 9P I/O instead.
                for fd in fds:
                    os.close(fd)
                fds = []
            if n == 0:
                for fd in fds:
                    os.close(fd)
                raise ProtocolError("connection closed")
            dec.feed(self._rview[:n], fds)

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
        self._broken = True
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

    def read(self, offset: int, count: int) -> bytes:
        c = self.client
        chunk = c.max_io
        if count <= chunk:
            return c._rpc(M.Tread(fid=self._id(), offset=offset, count=count), M.Rread).data
        parts = []
        while count > 0:
            n = min(count, chunk)
            data = c._rpc(M.Tread(fid=self._id(), offset=offset, count=n), M.Rread).data
            if len(data) > n:
                c._fail()
            parts.append(data)
            if len(data) < n:
                break
            offset += n
            count -= n
        return b"".join(parts)

    def write(self, offset: int, data) -> int:
        c = self.client
        chunk = c.max_io
        view = memoryview(data)
        done = 0
        while done < len(view) or not view:
            piece = bytes(view[done:done + chunk])
            n = c._rpc(M.Twrite(fid=self._id(), offset=offset + done, data=piece), M.Rwrite).count
            if n > len(piece):
                c._fail()
            done += n
            if n < len(piece) or not view:
                break
        return done

    def readdir(self, offset: int, count: int) -> list[DirEntry]:
        c = self.client
        count = max(0, min(count, c.msize - C.READ_REPLY_OVERHEAD))
        r = c._rpc(M.Treaddir(fid=self._id(), offset=offset, count=count), M.Rreaddir)
        try:
            return decode_dirents(r.data)
        except ProtocolError:
            c._fail()

    def fsync(self, datasync: bool = False) -> None:
        self.client._rpc(M.Tfsync(fid=self._id(), datasync=int(datasync)), M.Rfsync)

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
