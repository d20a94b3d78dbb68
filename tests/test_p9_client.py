"""The 9P client's table of requests in flight, against a fake server the test drives by hand:
replies out of order, replies to other tags arriving during a synchronous call (a donated
descriptor staying with its reply), a connection closed with requests in flight, more requests
than MAX_IN_FLIGHT, replies nobody waits for any more."""
import array
import os
import socket
import threading

import pytest

from harness import errno_of

from snakevisor.abi.errno import EIO, EMFILE, ENFILE, ENOENT
from snakevisor.p9 import constants as C
from snakevisor.p9 import messages as M
from snakevisor.p9.client import MAX_IN_FLIGHT, Client, Fid
from snakevisor.p9.codec import REQUESTS, Decoder
from snakevisor.p9.messages import encode


class FakeServer:
    """The server's end of a socketpair: the test reads requests and writes replies itself."""

    def __init__(self, version=C.VERSION_9P2000L, msize=C.DEFAULT_MSIZE):
        self.sock, client_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        self.decoder = Decoder(C.DEFAULT_MSIZE, expect=REQUESTS)
        # Rversion is written before the client asks: it reads it after sending Tversion.
        self.reply(M.Rversion(tag=C.NOTAG, msize=msize, version=version))
        self.client = Client(client_end)
        assert type(self.requests()[0]) is M.Tversion

    def requests(self, block=False):
        """The requests the client has sent so far (at least one if ``block``)."""
        got = []
        while True:
            msg = self.decoder.next_message()
            if msg is not None:
                got.append(msg)
                continue
            if got and not block:
                return got
            try:
                data = self.sock.recv(1 << 20, 0 if block and not got else socket.MSG_DONTWAIT)
            except BlockingIOError:
                return got
            if not data:
                return got
            self.decoder.feed(data)

    def reply(self, msg, fd=None):
        anc = [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", [fd]))] if fd is not None else []
        self.sock.sendmsg([encode(msg)], anc)

    def close(self):
        self.sock.close()
        self.client.close()


class Queue:
    """Stands for the kernel's WaitQueue: counts notifications."""

    def __init__(self):
        self.notified = 0

    def notify(self, events):
        self.notified += 1


class FakeLoop:
    """Stands for the Sentry's Loop: which descriptors it watches, with what callback."""

    def __init__(self):
        self.watched = {}

    def watch_fd(self, fd, callback):
        assert fd not in self.watched
        self.watched[fd] = callback

    def unwatch_fd(self, fd):
        del self.watched[fd]


@pytest.fixture
def fake():
    f = FakeServer()
    f.client.use_loop(FakeLoop())
    yield f
    f.close()


def tread(fid, offset=0, count=10):
    return M.Tread(fid=fid, offset=offset, count=count)


def test_replies_out_of_order_reach_their_requests(fake):
    c = fake.client
    pending = [c.submit(tread(i), M.Rread) for i in range(5)]
    reqs = fake.requests()
    assert len({r.tag for r in reqs}) == 5
    for r in reversed(reqs):
        fake.reply(M.Rread(tag=r.tag, data=b"fid%d" % r.fid))
    c._on_readable()    # what the loop calls when the socket is readable
    assert [p.result().data for p in pending] == [b"fid%d" % i for i in range(5)]


def test_on_readable_with_nothing_there_returns(fake):
    c = fake.client
    p = c.submit(tread(1), M.Rread)
    c._on_readable()
    assert not p.done and not c._broken


def test_sync_call_hands_other_replies_to_their_waiters(fake, tmp_path):
    c = fake.client
    q = Queue()
    opened = c.submit(M.Tlopen(fid=1, flags=0), M.Rlopen)
    c.wait_in_loop(opened, q)
    read = c.submit(tread(2), M.Rread)
    (lopen, rd) = fake.requests()
    donated = os.open(tmp_path, os.O_RDONLY)

    def serve():
        (getattr_req,) = fake.requests(block=True)
        # The other replies come first, the donated descriptor with its own.
        fake.reply(M.Rread(tag=rd.tag, data=b"late"))
        fake.reply(M.Rlopen(tag=lopen.tag, qid=M.Qid(0, 0, 1), iounit=0), fd=donated)
        fake.reply(M.Rlerror(tag=getattr_req.tag, ecode=ENOENT))
    t = threading.Thread(target=serve)
    t.start()
    assert errno_of(c._rpc, M.Tgetattr(fid=3, request_mask=C.GETATTR_BASIC), M.Rgetattr) == ENOENT
    t.join()
    os.close(donated)
    assert read.result().data == b"late"
    fd = opened.result().fd
    assert fd is not None and os.path.samestat(os.fstat(fd), os.stat(tmp_path))
    os.close(fd)
    assert q.notified == 1


def test_connection_closed_with_requests_in_flight_is_eio_for_all(fake):
    c = fake.client
    queues = []
    pending = [c.submit(tread(i), M.Rread) for i in range(3)]
    for p in pending:
        queues.append(Queue())
        c.wait_in_loop(p, queues[-1])
    fake.requests()
    fake.sock.shutdown(socket.SHUT_WR)
    c._on_readable()
    assert [errno_of(p.result) for p in pending] == [EIO] * 3
    assert [q.notified for q in queues] == [1, 1, 1]
    # Broken for good: new requests fail at once.
    assert errno_of(c._rpc, M.Tgetattr(fid=0, request_mask=1), M.Rgetattr) == EIO
    assert c.submit(tread(9), M.Rread).done


def test_reply_of_the_wrong_type_breaks_the_client(fake):
    c = fake.client
    a = c.submit(tread(1), M.Rread)
    b = c.submit(tread(2), M.Rread)
    ra, _ = fake.requests()
    fake.reply(M.Rclunk(tag=ra.tag))
    c._on_readable()
    assert errno_of(a.result) == EIO and errno_of(b.result) == EIO
    assert c._broken


def test_reply_to_no_request_breaks_the_client(fake):
    c = fake.client
    a = c.submit(tread(1), M.Rread)
    (ra,) = fake.requests()
    fake.reply(M.Rread(tag=(ra.tag + 7) % C.NOTAG, data=b""))
    c._on_readable()
    assert errno_of(a.result) == EIO


def test_server_out_of_descriptors_is_enfile(fake):
    c = fake.client
    a = c.submit(M.Tlopen(fid=1, flags=0), M.Rlopen)
    (ra,) = fake.requests()
    fake.reply(M.Rlerror(tag=ra.tag, ecode=EMFILE))
    c._on_readable()
    assert errno_of(a.result) == ENFILE


def test_more_requests_than_the_cap_wait_their_turn(fake):
    c = fake.client
    extra = 10
    pending = [c.submit(tread(i), M.Rread) for i in range(MAX_IN_FLIGHT + extra)]
    sent = fake.requests()
    assert len(sent) == MAX_IN_FLIGHT
    # Each reply lets one more go out; tags in flight are never reused.
    answered = 0
    while sent:
        in_flight = {r.tag for r in sent}
        assert len(in_flight) == len(sent)
        for r in sent:
            fake.reply(M.Rread(tag=r.tag, data=b"%d" % r.fid))
            answered += 1
        c._on_readable()
        sent = fake.requests()
    assert answered == MAX_IN_FLIGHT + extra
    assert [p.result().data for p in pending] == [b"%d" % i for i in range(MAX_IN_FLIGHT + extra)]


def test_sync_call_beyond_the_cap_waits_for_room(fake):
    c = fake.client
    pending = [c.submit(tread(i), M.Rread) for i in range(MAX_IN_FLIGHT)]
    first = fake.requests()

    def serve():
        for r in first:
            fake.reply(M.Rread(tag=r.tag, data=b"x"))
        (req,) = fake.requests(block=True)
        fake.reply(M.Rclunk(tag=req.tag))
    t = threading.Thread(target=serve)
    t.start()
    c._rpc(M.Tclunk(fid=5), M.Rclunk)
    t.join()
    assert all(p.result().data == b"x" for p in pending)


def test_cancelled_request_reply_is_dropped_with_its_descriptor(fake, tmp_path):
    c = fake.client
    p = c.submit(M.Tlopen(fid=1, flags=0), M.Rlopen)
    (req,) = fake.requests()
    c.cancel(p)
    donated = os.open(tmp_path, os.O_RDONLY)
    before = set(os.listdir("/proc/self/fd"))
    fake.reply(M.Rlopen(tag=req.tag, qid=M.Qid(0, 0, 1), iounit=0), fd=donated)
    os.close(donated)
    c._on_readable()
    assert not c._broken and not c._in_flight
    # (Each listing holds one descriptor of its own.)
    assert len(os.listdir("/proc/self/fd")) == len(before) - 1


def test_cancelled_request_still_queued_is_never_sent(fake):
    c = fake.client
    pending = [c.submit(tread(i), M.Rread) for i in range(MAX_IN_FLIGHT + 1)]
    c.cancel(pending[-1])
    sent = fake.requests()
    for r in sent:
        fake.reply(M.Rread(tag=r.tag, data=b""))
    c._on_readable()
    assert fake.requests() == []
    assert errno_of(pending[-1].result) == EIO


def test_closed_steps_drop_their_reply(fake):
    """A Task killed while waiting: its steps generator is closed; the reply comes later."""
    c = fake.client
    fid = Fid(c, 4, M.Qid(0, 0, 1))   # by hand: no Tattach needed
    steps = fid.read_steps(0, 3)
    p = steps.send(None)
    assert not p.done
    steps.close()
    assert p.abandoned
    (req,) = fake.requests()
    fake.reply(M.Rread(tag=req.tag, data=b"abc"))
    c._on_readable()
    assert not c._broken and not c._in_flight


def _run_read(fake, steps, answer):
    """Drive ``steps``; ``answer(requests)`` replies to what is in flight each time it waits."""
    c = fake.client
    try:
        p = steps.send(None)
        while True:
            if not p.done:
                answer(fake.requests())
                c.wait(p)
            p = steps.send(None)
    except StopIteration as stop:
        return stop.value


def test_large_read_has_its_chunks_in_flight_together():
    fake = FakeServer(msize=C.MIN_MSIZE)    # replies fit in the socket's buffer
    c = fake.client
    io = c.max_io
    seen = []

    def answer(reqs):
        seen.append(len(reqs))
        for r in reversed(reqs):    # out of order
            fake.reply(M.Rread(tag=r.tag, data=bytes([r.offset // io]) * r.count))
    got = _run_read(fake, Fid(c, 4, M.Qid(0, 0, 1)).read_steps(0, 2 * io + 5), answer)
    assert got == b"\0" * io + b"\1" * io + b"\2" * 5
    assert seen[0] == 3
    fake.close()


def test_large_read_short_chunk_cancels_the_rest():
    fake = FakeServer(msize=C.MIN_MSIZE)
    c = fake.client
    io = c.max_io
    held = []

    def answer(reqs):
        first, *rest = sorted(reqs, key=lambda r: r.offset)
        fake.reply(M.Rread(tag=first.tag, data=b"x" * 10))   # the end of the file
        held.extend(rest)
    got = _run_read(fake, Fid(c, 4, M.Qid(0, 0, 1)).read_steps(0, 3 * io), answer)
    assert got == b"x" * 10 and len(held) == 2
    for r in held:    # their replies come later: dropped
        fake.reply(M.Rread(tag=r.tag, data=b""))
    c._on_readable()
    assert not c._broken and not c._in_flight
    fake.close()


def test_closed_large_read_cancels_every_chunk():
    fake = FakeServer(msize=C.MIN_MSIZE)
    c = fake.client
    steps = Fid(c, 4, M.Qid(0, 0, 1)).read_steps(0, 3 * c.max_io)
    steps.send(None)
    steps.close()    # its Task killed while it waited for the first
    reqs = fake.requests()
    assert len(reqs) == 3 and all(p.abandoned for p in c._in_flight.values())
    for r in reqs:
        fake.reply(M.Rread(tag=r.tag, data=b""))
    c._on_readable()
    assert not c._broken and not c._in_flight
    fake.close()


def test_the_loop_watches_only_while_a_task_waits(fake):
    c = fake.client
    loop = c.loop
    fd = c.sock.fileno()
    a = c.submit(tread(1), M.Rread)
    b = c.submit(tread(2), M.Rread)
    assert loop.watched == {}            # synchronous callers read their own replies
    c.wait_in_loop(a, Queue())
    c.wait_in_loop(b, Queue())
    ra, rb = fake.requests()
    fake.reply(M.Rread(tag=ra.tag, data=b"a"))
    loop.watched[fd]()
    assert a.result().data == b"a" and fd in loop.watched   # b is still awaited
    c.cancel(b)                          # its Task was killed: nobody waits
    assert loop.watched == {}
    fake.reply(M.Rread(tag=rb.tag, data=b"b"))
    p = c.submit(tread(3), M.Rread)
    c.wait_in_loop(p, Queue())
    fake.sock.close()                    # EOF: readable for ever, so no more watching
    loop.watched[fd]()
    assert errno_of(p.result) == EIO and loop.watched == {}


def test_wait_briefly_reads_a_quick_reply_and_gives_up_on_a_slow_one(fake):
    c = fake.client
    slow = c.submit(tread(1), M.Rread)
    assert not c.wait_briefly(slow, 0.001)     # no reply yet: the caller will yield
    quick = c.submit(tread(2), M.Rread)
    rs, rq = fake.requests()
    fake.reply(M.Rread(tag=rq.tag, data=b"q"))
    assert c.wait_briefly(quick, 5.0) and quick.result().data == b"q"
    assert not slow.done
    fake.reply(M.Rread(tag=rs.tag, data=b"s"))
    assert c.wait_briefly(slow, 5.0) and slow.result().data == b"s"
