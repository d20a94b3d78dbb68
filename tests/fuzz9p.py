"""The 9P fuzzer (issue 11, "Trust"): random 9P2000.L at the Gofer, started as the sandbox starts it.

``GoferUnderTest`` forks a Gofer with ``GoferProcess`` (isolated: own namespaces, pivot_root,
capabilities, seccomp; the first mount an overlay) over a fresh temporary tree holding a FIFO,
a socket, a device node, symlinks pointing out and a large file; a canary directory lies beside
the served trees, watched with inotify. Several mounts of that tree are fuzz connections; one
more is only ever used with valid requests, to check the Gofer still serves others.

A session on one connection sends windows of requests: structurally valid ones with hostile
fields (bad and reused fids, ``..``, ``/``, empty, NUL and very long names, huge counts and
offsets), valid ones with mutated bytes (the frame size kept right), unknown types, Tflush
races, oversized messages, then sometimes framing breakers (bad sizes, truncated frames,
random bytes). Every well-framed request must get exactly one reply with its tag, an Rlerror
or its own R-type (a flushed one may get none, but never after its Rflush; a Tversion ends
what was in flight), or the connection closes where a close is allowed (bad framing, size
above msize, a tag reused in flight). No reply within ``REPLY_TIMEOUT`` is a hang. Failures
print the session's seed: ``python3 tests/fuzz.py 9p --session SEED`` replays that session.
"""
from __future__ import annotations

import array
import ctypes
import os
import random
import select
import shutil
import socket
import stat
import struct
import tempfile
import time

from snakevisor.p9 import constants as C
from snakevisor.p9 import messages as M
from snakevisor.p9.codec import REPLIES, Decoder
from snakevisor.p9.messages import ProtocolError, encode  # noqa: F401 - encode is used by tests too
from snakevisor.sandbox.gofer_process import GoferMount, GoferProcess

from fuzz import FUZZ_DIR, Result, make_canary, snapshot

TRACE = bool(os.environ.get("FUZZ9P_TRACE"))   # print every frame sent and reply received
REPLY_TIMEOUT = 60.0          # seconds without the replies a window waits for: a hang
FUZZ_CONNECTIONS = 4          # per Gofer: root (overlay), two rw volumes, one ro volume
SESSION_MESSAGES = (100, 3000)
REQUEST_TYPES = [cls for t, cls in sorted(M.MESSAGE_TYPES.items()) if M.is_request(t) and cls is not M.Tlerror]

_libc = ctypes.CDLL(None, use_errno=True)
IN_ALL_EVENTS, IN_NONBLOCK = 0xFFF, os.O_NONBLOCK


class Inotify:
    """Every event on the canary directory and its entries (reads included)."""

    def __init__(self, paths):
        self.fd = _libc.inotify_init1(IN_NONBLOCK | os.O_CLOEXEC)
        if self.fd < 0:
            raise OSError(ctypes.get_errno(), "inotify_init1")
        for p in paths:
            if _libc.inotify_add_watch(self.fd, os.fsencode(p), IN_ALL_EVENTS) < 0:
                raise OSError(ctypes.get_errno(), f"inotify_add_watch {p}")

    def events(self) -> list[str]:
        out = []
        while True:
            try:
                data = os.read(self.fd, 65536)
            except BlockingIOError:
                return out
            pos = 0
            while pos + 16 <= len(data):
                _wd, mask, _cookie, n = struct.unpack_from("<iIII", data, pos)
                name = data[pos + 16:pos + 16 + n].rstrip(b"\0").decode(errors="replace")
                out.append(f"mask {mask:#x} on {name or 'the canary directory'}")
                pos += 16 + n

    def close(self):
        os.close(self.fd)


def build_tree(root: str, canary: str):
    """The served tree: files, a directory, special files and symlinks that lead out."""
    os.makedirs(os.path.join(root, "sub"))
    with open(os.path.join(root, "f"), "wb") as f:
        f.write(b"data\n")
    with open(os.path.join(root, "sub", "g"), "wb") as f:
        f.write(b"g" * 100)
    with open(os.path.join(root, "big"), "wb") as f:
        f.write(os.urandom(256 << 10))   # reads above 64 KiB go to the worker pool: Tflush races
    os.mkfifo(os.path.join(root, "fifo"))
    s = socket.socket(socket.AF_UNIX)
    s.bind(os.path.join(root, "sock"))
    s.close()
    os.mknod(os.path.join(root, "null"), 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    os.symlink(canary, os.path.join(root, "link_abs"))
    os.symlink(os.path.relpath(canary, root), os.path.join(root, "link_out"))
    os.symlink("..", os.path.join(root, "link_up"))
    os.symlink("link_loop", os.path.join(root, "link_loop"))


class GoferUnderTest:
    """A Gofer over a fresh tree: ``fuzz`` sockets, one ``health`` socket, stderr in ``log``."""

    def __init__(self, base: str, index: int, canary: str):
        self.root = os.path.join(base, f"served-{index}")
        build_tree(self.root, canary)
        # The health connection serves a tree of its own: fuzzed rw volumes may rename or
        # remove anything in theirs.
        self.health_root = os.path.join(base, f"health-{index}")
        os.makedirs(self.health_root)
        with open(os.path.join(self.health_root, "f"), "wb") as f:
            f.write(b"data\n")
        mounts = [GoferMount("root", self.root, False)]
        mounts += [GoferMount(f"vol{i}", self.root, ro) for i, ro in enumerate((False, False, True))]
        mounts.append(GoferMount("health", self.health_root, False))
        self.log = os.path.join(base, f"gofer-{index}.log")
        saved = os.dup(2)
        logfd = os.open(self.log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.dup2(logfd, 2)   # the forked Gofer keeps this as its stderr
            self.proc = GoferProcess(mounts, isolate=True, overlay=True)
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            os.close(logfd)
        self.fuzz = self.proc.sockets[:FUZZ_CONNECTIONS]
        self.health = self.proc.sockets[FUZZ_CONNECTIONS]
        self.health_session = None

    def check_health(self) -> str | None:
        """None if the health connection still gets the file's data; else what went wrong."""
        try:
            if self.health_session is None:
                self.health_session = Peer(self.health, random.Random(0))
                self.health_session.exchange([M.Tversion(msize=1 << 16, version=C.VERSION_9P2000L)])
                self.health_session.exchange([M.Tattach(tag=1, fid=0, uname=b"root")])
            p = self.health_session
            replies = p.exchange([M.Twalk(tag=2, fid=0, newfid=1, wnames=(b"f",))])
            replies += p.exchange([M.Tlopen(tag=3, fid=1, flags=os.O_RDONLY)])
            replies += p.exchange([M.Tread(tag=4, fid=1, offset=0, count=100)])
            replies += p.exchange([M.Tclunk(tag=5, fid=1)])
            if not isinstance(replies[2], M.Rread) or replies[2].data != b"data\n":
                return f"health check: unexpected replies {replies}"
        except Closed:
            return "health check: the Gofer closed the connection"
        except (Failure, OSError) as e:
            return f"health check failed: {e}"
        return None

    def stop(self) -> list[str]:
        """Close every connection; the Gofer must end by itself, cleanly, with a clean log."""
        problems = []
        for s in self.proc.sockets:
            s.close()
        deadline = time.monotonic() + REPLY_TIMEOUT
        while self.proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        status = self.proc.poll()
        if status is None:
            problems.append("the Gofer did not end once its connections closed")
            self.proc.stop()
        elif status != 0:
            problems.append(f"the Gofer ended with wait status {status:#x}")
        with open(self.log, errors="replace") as f:
            text = f.read()
        if "Traceback" in text or "failed" in text or "unencodable" in text:
            problems.append("the Gofer's log holds an error:\n" + text[:4000])
        shutil.rmtree(self.root, ignore_errors=True)
        shutil.rmtree(self.health_root, ignore_errors=True)
        return problems


class Failure(Exception):
    pass


class Closed(Exception):
    pass


class Peer:
    """A client end that sends raw frames and collects replies (and donated descriptors)."""

    def __init__(self, sock: socket.socket, rng: random.Random, check_fd=None):
        self.sock = sock
        self.rng = rng
        self.check_fd = check_fd
        self.decoder = Decoder(C.DEFAULT_MSIZE * 64, expect=REPLIES)
        sock.settimeout(REPLY_TIMEOUT)
        self.closed = False
        self.eof = False   # the server closed its end (replies before it may still be buffered)

    def send(self, data: bytes):
        if TRACE:
            pos = 0
            while pos + 7 <= len(data):
                size, t, tag = struct.unpack_from("<IBH", data, pos)
                print(f"> type {t} tag {tag} size {size} {bytes(data[pos + 7:pos + min(size, 40)]).hex()}")
                pos += max(size, 7)
        pieces = [data]
        if self.rng.random() < 0.1 and len(data) > 1:   # in two writes: partial frames on the server
            cut = self.rng.randrange(1, len(data))
            pieces = [data[:cut], data[cut:]]
        for piece in pieces:
            self._send_reading(memoryview(piece))

    def _send_reading(self, view):
        """Send all of ``view``, taking in replies meanwhile: a server blocked writing to us may
        stop reading, as a real client's would not."""
        while view:
            # poll, not select: select() refuses descriptors past 1023 (a long test run)
            poller = select.poll()
            poller.register(self.sock, select.POLLOUT | (0 if self.eof else select.POLLIN))
            events = dict(poller.poll(REPLY_TIMEOUT * 1000)).get(self.sock.fileno(), 0)
            r = not self.eof and events & (select.POLLIN | select.POLLHUP | select.POLLERR)
            w = events & (select.POLLOUT | select.POLLERR)
            if not r and not w:
                raise Failure(f"the Gofer read nothing for {REPLY_TIMEOUT:.0f} s (a hang)")
            if r:
                self._take_in(socket.MSG_DONTWAIT)
            if w:
                try:
                    n = self.sock.send(view, socket.MSG_DONTWAIT)
                except (BlockingIOError, InterruptedError):
                    continue
                except (BrokenPipeError, ConnectionResetError):
                    self.closed = True
                    raise Closed()
                view = view[n:]

    def _take_in(self, flags=0):
        """One recvmsg into the decoder (with descriptors); sets ``eof`` when the server closed."""
        try:
            data, anc, _flags, _addr = self.sock.recvmsg(1 << 17, socket.CMSG_SPACE(16 * 4), flags)
        except (BlockingIOError, InterruptedError):
            return
        except ConnectionResetError:
            data, anc = b"", []
        fds = []
        for level, kind, payload in anc:
            if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                a = array.array("i")
                a.frombytes(payload[:len(payload) - len(payload) % 4])
                fds += list(a)
        if not data:
            for fd in fds:
                os.close(fd)
            self.eof = True
            return
        self.decoder.feed(data, fds)

    def recv_one(self):
        """The next reply; Closed when the server closed; Failure on a timeout or bad bytes."""
        while True:
            try:
                m = self.decoder.next_message()
            except ProtocolError as e:
                raise Failure(f"the Gofer sent malformed bytes: {e}")
            if m is not None:
                if TRACE:
                    print(f"< {m!r}"[:200])
                fd = getattr(m, "fd", None)
                if fd is not None:
                    try:
                        if self.check_fd:
                            self.check_fd(fd)
                    finally:
                        os.close(fd)
                return m
            if self.eof:
                self.closed = True
                raise Closed()
            try:
                self._take_in()
            except socket.timeout:
                raise Failure(f"no reply within {REPLY_TIMEOUT:.0f} s (a hang)")

    def exchange(self, msgs):
        """Send valid requests, return their replies in tag order (a helper for fixed sequences)."""
        self.send(b"".join(encode(m) for m in msgs))
        got = {}
        while len(got) < len(msgs):
            r = self.recv_one()
            got[r.tag] = r
        return [got[m.tag] for m in msgs]


# ------------------------------------------------------------------ generating requests

_HUGE = [0, 1, 2, 7, 4095, 4096, 65536, (64 << 10) + 1, 1 << 20, (1 << 31) - 1, 1 << 31, (1 << 32) - 1,
         1 << 63, (1 << 64) - 1]
NAMES = [b"f", b"sub", b"g", b"big", b"fifo", b"sock", b"null", b"link_abs", b"link_out", b"link_up",
         b"link_loop", b"new", b"new2", b"newdir", b"..", b".", b"", b"/", b"sub/g", b"../canary", b"\0",
         b"f\0x", b"x" * 255, b"x" * 256, b"y" * 4096, b"canary", b"user.x", b"trusted.x",
         b"security.capability"]
TARGETS = [b"/etc/passwd", b"..", b"../canary/canary", b"f", b"", b"/", b"x" * 4095]


class Generator:
    """Random requests from one rng: field values by name and width."""

    def __init__(self, rng: random.Random, canary: str):
        self.rng = rng
        self.names = NAMES + [os.fsencode(canary), os.fsencode(os.path.dirname(canary))]
        self.fields = {cls: list(cls.FIELDS) for cls in REQUEST_TYPES}

    def name(self):
        r = self.rng
        if r.random() < 0.05:
            return r.randbytes(r.randrange(1, 40))
        return r.choice(self.names)

    def fid(self):
        r = self.rng.random()
        if r < 0.85:
            return self.rng.randrange(12)
        return self.rng.choice([C.NOFID, 1 << 31, self.rng.randrange(1 << 32), 65535])

    def number(self, width):
        r = self.rng
        top = (1 << (8 * width)) - 1
        if r.random() < 0.5:
            return r.choice(_HUGE) & top
        if r.random() < 0.5:
            return r.randrange(min(top, 1 << 16) + 1)
        return r.randrange(top + 1)

    def value(self, cls, name, kind):
        r = self.rng
        if name in ("fid", "newfid", "dfid", "dirfid", "olddirfid", "newdirfid", "afid"):
            return self.fid()
        if kind == "s":
            if name in ("symtgt",):
                return r.choice(TARGETS + [self.name()])
            if name == "version":
                return r.choice([C.VERSION_9P2000L, C.VERSION_SNAKEVISOR, b"9P2000", b"9P2000.L.Google.1", b""])
            if name in ("uname", "aname"):
                return r.choice([b"root", b"", b"nobody", b"/etc", b".."])
            return self.name()
        if kind == "s*":
            return tuple(self.name() for _ in range(r.choice([0, 1, 1, 2, 3, 16, 17, 40])))
        if kind == "data":
            n = r.choice([0, 1, 100, 4096, 9000, r.randrange(70000)])
            return self.rng.randbytes(n)
        if kind == "qid":
            return M.Qid(r.randrange(256), r.randrange(1 << 32), r.randrange(1 << 64))
        if name == "flags" and cls in (M.Tlopen, M.Tlcreate) and r.random() < 0.7:
            return (r.choice([os.O_RDONLY, os.O_WRONLY, os.O_RDWR, 3]) |
                    r.choice([0, 0, os.O_TRUNC, os.O_APPEND, os.O_DIRECTORY, os.O_NONBLOCK, os.O_EXCL, os.O_CREAT]))
        if name == "mode" and r.random() < 0.5:
            return r.choice([stat.S_IFIFO, stat.S_IFSOCK, stat.S_IFCHR, stat.S_IFBLK, stat.S_IFDIR, stat.S_IFREG, 0,
                             stat.S_IFLNK]) | r.randrange(0o10000)
        width = {"B": 1, "H": 2, "I": 4, "Q": 8, "I?": 4}[kind]
        return self.number(width)

    def request(self, tag):
        cls = self.rng.choice(REQUEST_TYPES)
        if cls is M.Tversion and self.rng.random() < 0.8:
            cls = M.Twalk     # a Tversion resets the session: keep them rarer
        msg = cls(**{n: self.value(cls, n, k) for n, k in self.fields[cls]})
        msg.tag = tag
        return msg


def frame(mtype: int, tag: int, body: bytes) -> bytes:
    return struct.pack("<IBH", 7 + len(body), mtype, tag) + body


def mutate(rng: random.Random, data: bytes) -> bytes:
    """The body of an encoded message changed, its frame size made right again."""
    mtype, tag = data[4], struct.unpack_from("<H", data, 5)[0]
    body = bytearray(data[7:])
    for _ in range(rng.randrange(1, 4)):
        op = rng.randrange(5)
        if op == 0 and body:
            body[rng.randrange(len(body))] = rng.randrange(256)
        elif op == 1:
            del body[rng.randrange(len(body) + 1):]
        elif op == 2:
            body += rng.randbytes(rng.randrange(1, 64))
        elif op == 3 and len(body) >= 2:   # a length field pointing past the end
            i = rng.randrange(len(body) - 1)
            body[i:i + 2] = struct.pack("<H", rng.choice([0xFFFF, len(body), len(body) + 1]))
        elif op == 4 and len(body) >= 4:
            i = rng.randrange(len(body) - 3)
            body[i:i + 4] = struct.pack("<I", rng.choice([0xFFFFFFFF, 0x7FFFFFFF, len(body) + 1]))
    return frame(mtype, tag, bytes(body))


# ------------------------------------------------------------------ one session

class Expect:
    """What one sent frame may get back."""
    __slots__ = ("allowed", "required", "closed", "left")

    def __init__(self, allowed, required=True):
        # closed: an Rflush for it came; no reply may follow
        self.allowed, self.required, self.closed, self.left = allowed, required, False, 1


ENCODE_ERRORS = (ValueError, OverflowError, struct.error)   # random fields no frame can carry
# What a frame of a window is, by where rng.random() falls: (upper bound, Session method).
FRAME_KINDS = ((0.55, "valid"), (0.8, "mutated"), (0.86, "unknown_type"), (0.99, "flush_race"),
               (0.995, "oversized"), (1.0, "reused_tag"))


class Session:
    """Fuzz one connection with ``budget`` frames from ``seed``; ``run`` gives (frames sent, failures).

    Every random choice comes from one rng, in a fixed order: a seed replays its session."""

    def __init__(self, sock: socket.socket, seed: int, budget: int, canary: str, check_fd):
        self.sock = sock
        self.rng = random.Random(seed)
        self.gen = Generator(self.rng, canary)
        self.peer = Peer(sock, self.rng, check_fd)
        self.budget = budget
        self.outstanding: dict[int, Expect] = {}   # tag -> expectation (optional ones linger across windows)
        self.flushes: dict[int, list] = {}         # Tflush tag -> the (tag, Expect) it may have flushed
        self.msize = 1 << 20                       # the server's frame limit until a version is negotiated
        self.sent = 0
        self.tags = iter(range(1 << 30))
        self.close_ok = False    # sticky: a frame that may close the connection went out
        self.data = bytearray()  # the window being built
        self.may_close = False   # ... holds a frame that may close the connection

    def run(self) -> tuple[int, list[str]]:
        try:
            if self.rng.random() < 0.95:
                self.negotiate()
            while self.sent < self.budget:
                self.window()
            self.end()
        except Closed:
            # A close is the answer to bad framing, a frame above msize, a reused tag or a reset only.
            if not self.close_ok:
                return self.sent, ["the Gofer closed the connection after well-framed requests"]
        except Failure as f:
            return self.sent, [str(f)]
        return self.sent, []

    def negotiate(self):
        rng, peer = self.rng, self.peer
        v = rng.choice([C.VERSION_9P2000L, C.VERSION_SNAKEVISOR, C.VERSION_SNAKEVISOR, b"9P2000.L.Google.3"])
        r = peer.exchange([M.Tversion(msize=rng.choice([4096, 8192, 1 << 16, 1 << 20, 1 << 24]), version=v)])[0]
        if r.version != C.VERSION_UNKNOWN:
            self.msize = r.msize
        peer.exchange([M.Tattach(tag=1, fid=0, uname=b"root")])
        # Open fids the Tflush races use: 9 on the big file, 10 on the root directory.
        peer.exchange([M.Twalk(tag=2, fid=0, newfid=9, wnames=(b"big",)), M.Twalk(tag=3, fid=0, newfid=10)])
        peer.exchange([M.Tlopen(tag=4, fid=9, flags=os.O_RDONLY), M.Tlopen(tag=5, fid=10, flags=os.O_RDONLY)])
        self.sent += 7

    def new_tag(self) -> int:
        while True:
            t = next(self.tags) % 0xFFFF
            if t not in self.outstanding:
                return t

    # ---- one window: up to 32 frames in one send, then the replies they must get

    def window(self):
        self.data, self.may_close = bytearray(), False
        for _ in range(self.rng.randrange(1, 33)):
            tag = self.new_tag()
            p = self.rng.random()
            getattr(self, next(kind for limit, kind in FRAME_KINDS if p < limit))(tag)
        # Sticky: a frame that may close the connection (a reused tag) may still be queued
        # at the server when the next window goes out.
        self.close_ok = self.close_ok or self.may_close
        self.peer.send(bytes(self.data))
        while any(e.required for e in self.outstanding.values()):
            self.on_reply(self.peer.recv_one())
        if self.may_close:
            self.drain()

    def drain(self):
        """Take the replies already there (the connection may be closing): none more is awaited."""
        self.sock.settimeout(0.001)
        try:
            while True:
                self.on_reply(self.peer.recv_one())
        except Failure as f:
            if "no reply within" not in str(f):
                raise
        finally:
            self.sock.settimeout(REPLY_TIMEOUT)

    def add(self, tag: int, raw: bytes):
        """A frame of the window that gets one reply of its own type or Rlerror (or a close)."""
        mtype = raw[4]
        if len(raw) > self.msize:
            self.may_close = True
        if mtype == C.TVERSION:   # resets the session: what is in flight may never be answered
            self.abandon_all()
            self.may_close = True
        if mtype == C.TFLUSH:
            old = struct.unpack_from("<H", raw, 7)[0] if len(raw) >= 9 else None
            if old in self.outstanding:
                self.flushes[tag] = [(old, self.outstanding[old])]
        self.outstanding[tag] = Expect({C.RLERROR, mtype + 1})
        self.data += raw
        self.sent += 1

    def valid(self, tag: int):
        try:
            raw = encode(self.gen.request(tag))
        except ENCODE_ERRORS:
            return
        self.add(tag, raw)

    def mutated(self, tag: int):
        try:
            raw = mutate(self.rng, encode(self.gen.request(tag)))
        except ENCODE_ERRORS:
            return
        self.add(tag, raw)

    def unknown_type(self, tag: int):
        rng = self.rng
        self.add(tag, frame(rng.randrange(256), tag, rng.randbytes(rng.randrange(64))))

    def flush_race(self, tag: int):
        """A Tflush racing a request the worker pool runs."""
        rng = self.rng
        slow = rng.choice([M.Tread(tag=tag, fid=9, offset=0, count=rng.choice([1 << 17, 1 << 20])),
                           M.Treaddir(tag=tag, fid=10, offset=0, count=1 << 16),
                           M.Tfsync(tag=tag, fid=9)])
        raw = encode(slow)
        self.outstanding[tag] = Expect({C.RLERROR, type(slow).TYPE + 1})
        ftag = self.new_tag()
        raw += encode(M.Tflush(tag=ftag, oldtag=tag))
        self.outstanding[ftag] = Expect({C.RFLUSH, C.RLERROR})
        self.flushes[ftag] = [(tag, self.outstanding[tag])]
        self.data += raw
        self.sent += 2

    def oversized(self, tag: int):
        """Above msize: the server must close."""
        self.add(tag, encode(M.Twrite(tag=tag, fid=9, offset=0, data=bytes(min(self.msize, 1 << 24) + 1))))

    def reused_tag(self, _tag: int):
        """A tag reused while (maybe) in flight: a reply each, or a close."""
        flushed = {id(e) for targets in self.flushes.values() for _, e in targets}
        reusable = [t for t, e in self.outstanding.items() if id(e) not in flushed and not e.closed]
        if not reusable:
            return
        tag = self.rng.choice(reusable)
        raw = frame(self.rng.choice([C.TGETATTR, C.TREAD, C.TCLUNK]), tag, self.rng.randbytes(12))
        e = self.outstanding[tag]
        e.allowed = e.allowed | {C.RLERROR, C.RGETATTR, C.RREAD, C.RCLUNK}
        e.required = False
        e.left += 1
        self.may_close = True
        self.data += raw
        self.sent += 1

    # ---- replies

    def on_reply(self, r):
        e = self.outstanding.get(r.tag)
        if e is None:
            raise Failure(f"a reply nobody asked for: {r!r}"[:300])
        if e.closed:
            raise Failure(f"a reply after the Rflush that flushed it: {r!r}"[:300])
        if type(r).TYPE not in e.allowed:
            raise Failure(f"reply type {type(r).__name__} to a frame that allows {sorted(e.allowed)}: {r!r}"[:300])
        e.left -= 1
        if not e.left:
            del self.outstanding[r.tag]
        if isinstance(r, M.Rversion) and r.version != C.VERSION_UNKNOWN:
            self.msize = r.msize
        # Rflush: the flushed request is answered or never will be; a flushed Tflush takes
        # what it flushed along (neither gets a reply after this Rflush).
        chain = list(self.flushes.pop(r.tag, ()))
        if not isinstance(r, M.Rflush):   # a Tflush refused as malformed flushed nothing
            chain = []
        while chain:   # (tag, Expect): the tag may carry a newer request by now
            old, e = chain.pop()
            if self.outstanding.get(old) is e:
                e.required, e.closed = False, True
                chain += self.flushes.pop(old, ())

    def abandon_all(self):
        for e in self.outstanding.values():
            e.required = False

    def end(self):
        """The end of a session: sometimes bytes no frame can make sense of."""
        rng, peer = self.rng, self.peer
        self.close_ok = True
        end = rng.randrange(6)
        if end == 0:
            peer.send(struct.pack("<IBH", rng.choice([0, 3, 6]), C.TREAD, 1))
        elif end == 1:
            peer.send(struct.pack("<IBH", rng.choice([self.msize + 1, 0xFFFFFFFF]), C.TWRITE, 1) + bytes(100))
        elif end == 2:
            peer.send(struct.pack("<IBH", 100, C.TWALK, 1) + bytes(20))   # truncated: the server waits
        elif end == 3:
            peer.send(rng.randbytes(rng.randrange(1, 4096)))
        self.sent += 1
        if end in (0, 1):   # an unframeable stream: the server must close it
            self.abandon_all()
            while True:
                try:
                    self.on_reply(peer.recv_one())
                except Closed:
                    break


# ------------------------------------------------------------------ the run

class Canary:
    """The canary beside the served trees: what it was, an inotify watch on it, and a check
    that a descriptor the Gofer donates is not it."""

    def __init__(self, base: str):
        self.path = make_canary(base)
        self.dir = os.path.dirname(self.path)
        self.before = snapshot(self.dir)
        self.stat = os.stat(self.path)
        self.watch = Inotify([self.dir, self.path])

    def check_fd(self, fd: int):
        st = os.fstat(fd)
        if (st.st_dev, st.st_ino) == (self.stat.st_dev, self.stat.st_ino):
            raise Failure("the Gofer donated a descriptor of the canary")

    def close(self) -> list[str]:
        """What happened to the canary: failures."""
        touched = self.watch.events()
        self.watch.close()
        failures = []
        if touched:
            failures.append(f"ESCAPE: the canary was touched: {touched[:5]}")
        if snapshot(self.dir) != self.before:
            failures.append(f"ESCAPE: the canary directory {self.dir} changed")
        return failures


class Run:
    """Sessions on the fuzz connections of one Gofer after another until ``count`` frames or a
    failure; with ``session``, only that session on connection ``connection``."""

    def __init__(self, count: int, seed: int, session: int | None, connection: int, log):
        self.res = Result("9p frames")
        self.rng = random.Random(seed)
        self.count, self.seed, self.session, self.connection, self.log = count, seed, session, connection, log
        self.base = tempfile.mkdtemp(prefix="snakevisor-fuzz9p-", dir=FUZZ_DIR)
        self.canary = Canary(self.base)

    def run(self) -> Result:
        res = self.res
        start = time.monotonic()
        index = 0
        try:
            while not res.failures and (res.calls < self.count if self.session is None else index == 0):
                self.gofer(index)
                index += 1
                if self.log:
                    self.log(f"progress: {res.calls} frames, {index} Gofers, {time.monotonic() - start:.0f} s")
        finally:
            canary_failures = self.canary.close()
        res.seconds = time.monotonic() - start
        res.failures += canary_failures
        res.details = f"{index} Gofer(s), seed {self.seed:#x}"
        if res.failures:
            res.details += f"; logs kept in {self.base}"
        else:
            shutil.rmtree(self.base, ignore_errors=True)
        return res

    def gofer(self, index: int):
        g = GoferUnderTest(self.base, index, self.canary.path)
        try:
            for k, sock in enumerate(g.fuzz):
                if self.session is not None and k != self.connection:
                    continue
                if not self.one_session(g, index, k, sock):
                    break
        finally:
            self.res.failures += [f"Gofer {index}: {p}" for p in g.stop()]

    def one_session(self, g: GoferUnderTest, index: int, k: int, sock) -> bool:
        """A session on connection ``k``, then the Gofer's health and the canary: False on a failure."""
        res = self.res
        sseed = self.session if self.session is not None else self.rng.getrandbits(63)
        budget = self.rng.randint(*SESSION_MESSAGES) if self.session is None else self.count
        sent, fails = Session(sock, sseed, budget, self.canary.path, self.canary.check_fd).run()
        res.calls += sent
        sock.close()
        where = f"session {sseed:#x} on connection {k} of Gofer {index}"
        res.failures += [f"{where}: {f}" for f in fails]
        problem = g.check_health()
        if problem:
            res.failures.append(f"after {where}: {problem}")
        touched = self.canary.watch.events()
        if touched:
            res.failures.append(f"after {where}: ESCAPE: the canary was touched: {touched[:5]}")
        if res.failures:
            res.failures.append(f"replay: python3 tests/fuzz.py 9p --session {sseed:#x} "
                                f"--connection {k} --count {budget}")
            return False
        return True


def fuzz_9p(count: int, seed: int, session: int | None = None, connection: int = 0, log=None) -> Result:
    """Send about ``count`` frames to Gofers in sessions of a few thousand; a Result."""
    return Run(count, seed, session, connection, log).run()
