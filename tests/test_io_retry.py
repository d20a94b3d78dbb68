"""The blocking paths of read(2) and write(2) (syscalls/file.py): a read of an empty pipe and a
write to a full one wait on the pipe and, once woken, go on where they stopped, returning the
whole count as Linux's pipe_write does; a non-blocking description gets EAGAIN instead. The
handlers run in-process on the VFS fixtures, their generators driven by hand: the Task's
block_on is replaced by one that suspends until the test resumes it.
"""
import struct

from test_vfs_fixtures import call, err

from snakevisor.abi.errno import EAGAIN
from snakevisor.abi.fs import O_NONBLOCK, POLLIN, POLLOUT
from snakevisor.sentry.syscalls import file as sf
from snakevisor.sentry.syscalls import pipe as sp

CAPACITY = 65536   # a pipe's default size


def _pipe(w, flags=0):
    fds = w.t.mm.alloc(8)
    call(sp.pipe2, w.t, fds, flags)
    return struct.unpack("<ii", w.t.mm.copy_in(fds, 8))


def _suspending_block_on(t):
    def block_on(waitable, events, timeout=None, interruptible=True):
        t.blocked.append((waitable, events))
        yield "blocked"
        return events
    t.block_on = block_on


def test_a_blocking_write_to_a_full_pipe_waits_and_writes_the_rest(world):
    w, t = world, world.t
    _suspending_block_on(t)
    rfd, wfd = _pipe(w)
    data = bytes(range(256)) * 300   # 76800 bytes: more than the pipe holds
    gen = sf.write(t, wfd, t.mm.put(data), len(data))
    assert next(gen) == "blocked" and t.blocked[-1][1] == POLLOUT
    rbuf = t.mm.alloc(len(data))
    assert call(sf.read, t, rfd, rbuf, 16384) == 16384
    try:
        gen.send(POLLOUT)
        raise AssertionError("the write did not finish after room was made")
    except StopIteration as done:
        assert done.value == len(data)
    assert call(sf.read, t, rfd, rbuf + 16384, len(data)) == len(data) - 16384
    assert t.mm.copy_in(rbuf, len(data)) == data


def test_a_blocking_read_of_an_empty_pipe_waits_for_data(world):
    w, t = world, world.t
    _suspending_block_on(t)
    rfd, wfd = _pipe(w)
    rbuf = t.mm.alloc(100)
    gen = sf.read(t, rfd, rbuf, 100)
    assert next(gen) == "blocked" and t.blocked[-1][1] == POLLIN
    assert call(sf.write, t, wfd, t.mm.put(b"hello"), 5) == 5
    try:
        gen.send(POLLIN)
        raise AssertionError("the read did not finish after data came")
    except StopIteration as done:
        assert done.value == 5
    assert t.mm.copy_in(rbuf, 5) == b"hello"


def test_a_non_blocking_pipe_answers_eagain_without_waiting(world):
    w, t = world, world.t
    _suspending_block_on(t)
    rfd, wfd = _pipe(w, O_NONBLOCK)
    rbuf = t.mm.alloc(CAPACITY + 1)
    assert err(sf.read, t, rfd, rbuf, 10) == EAGAIN
    assert call(sf.write, t, wfd, rbuf, CAPACITY + 1) == CAPACITY   # a short write, not a wait
    assert err(sf.write, t, wfd, rbuf, 1) == EAGAIN
    assert t.blocked == []
