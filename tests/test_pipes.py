"""Pipes and FIFOs: the Pipe buffer's rules (unit) and a differential C program (native vs sandbox)."""

import pytest

from harness import compile_c

from snakevisor.abi.errno import EAGAIN, EBUSY, EPERM, SyscallError
from snakevisor.abi.fs import O_DIRECT, O_NONBLOCK
from snakevisor.sentry.fsimpl.pipefs import Pipe, new_pipe, round_pipe_size


def test_pipe_capacity_and_atomicity():
    p = Pipe()
    # 1-byte writes merge into pages: 64 KiB fit, then EAGAIN.
    for _ in range(65536):
        assert p.write(b"x", False) == 1
    with pytest.raises(SyscallError) as e:
        p.write(b"y", False)
    assert e.value.errno == EAGAIN
    # Reading part of a page frees no slot: a PIPE_BUF-sized write still fails as a whole.
    assert p.read(100, False) == b"x" * 100
    with pytest.raises(SyscallError):
        p.write(b"z" * 50, False)
    assert p.read(65536, False) == b"x" * (65536 - 100)
    assert p.size == 0


def test_pipe_partial_big_write_and_packets():
    p = Pipe()
    assert p.write(b"a" * 100000, False) == 65536
    p = Pipe()
    assert p.write(b"abc", True) == 3 and p.write(b"defgh", True) == 5
    assert p.read(2, True) == b"ab"          # rest of the packet is dropped
    assert p.read(100, True) == b"defgh"


class _PagePipe:
    """Linux's pipe buffer as it is, one page buffer per slot (the reference for Pipe, which keeps
    runs of whole pages as one chunk)."""

    def __init__(self, slots=16):
        self.bufs, self.head, self.slots = [], 0, slots

    def write(self, data):
        n, done = len(data), 0
        rem = n % 4096
        if rem and self.bufs and len(self.bufs[-1]) + rem <= 4096:
            self.bufs[-1] += data[:rem]
            done = rem
        while done < n and len(self.bufs) < self.slots:
            self.bufs.append(bytearray(data[done:done + 4096]))
            done += len(self.bufs[-1])
        return done

    def read_packet(self, n):
        """A read in packet mode (O_DIRECT): at most one page buffer, all of it consumed."""
        if not self.bufs:
            return b""
        data = bytes(self.bufs.pop(0)[self.head:self.head + n])
        self.head = 0
        return data

    def read(self, n):
        out = bytearray()
        while self.bufs and len(out) < n:
            take = self.bufs[0][self.head:self.head + n - len(out)]
            out += take
            self.head += len(take)
            if self.head == len(self.bufs[0]):
                self.bufs.pop(0)
                self.head = 0
        return bytes(out)


def test_pipe_matches_one_page_per_slot():
    """Data, partial writes and fullness (POLLOUT) follow the page-per-slot reference over a random
    mix of write and read sizes, whole pages and partial ones, merging and not, and now and then
    a packet-mode read (one page buffer)."""
    import random
    rng = random.Random(13)
    for _ in range(60):
        p, ref = Pipe(), _PagePipe()
        for step in range(150):
            if rng.random() < 0.5:
                n = rng.choice([1, 7, 100, 4095, 4096, 4097, 8192, 9000, 65536, 70000])
                data = rng.randbytes(n)
                want = ref.write(data)
                given = memoryview(data) if step % 3 else bytearray(data)
                try:
                    got = p.write(given, False)
                except SyscallError as e:
                    assert e.errno == EAGAIN
                    got = 0
                assert got == want
                if isinstance(given, bytearray):
                    given[:] = bytes(n)   # the writer's buffer changes after the write: the pipe's must not
            else:
                n = rng.choice([1, 10, 4096, 5000, 65536, 100000])
                packet = rng.random() < 0.1   # O_DIRECT set on a pipe that holds ordinary writes
                peeked = p.read(n, packet, peek=True) if rng.random() < 0.2 else None
                data = p.read(n, packet)
                assert data == (ref.read_packet(n) if packet else ref.read(n)) and peeked in (None, data)
            assert p.size == sum(map(len, ref.bufs)) - ref.head
            assert p.full() == (len(ref.bufs) >= ref.slots) and p.free_slots() == ref.slots - len(ref.bufs)


def test_set_capacity_rules():
    assert round_pipe_size(5000) == 8192 and round_pipe_size(0) == 4096
    p = Pipe()
    p.write(b"q" * 20000, False)
    with pytest.raises(SyscallError) as e:
        p.set_capacity(4096)
    assert e.value.errno == EBUSY
    with pytest.raises(SyscallError) as e:
        p.set_capacity(64 << 20)
    assert e.value.errno == EPERM


def test_pipe_ends_notify_and_eof():
    r, w = new_pipe(O_NONBLOCK)
    seen = []
    r.waitable(None).register(seen.append, 0xFFFF)
    assert w.write(None, b"hi") == 2
    assert seen and seen[-1] & 0x1
    assert r.read(None, 10) == b"hi"
    with pytest.raises(SyscallError):
        r.read(None, 10)
    w.dec_ref()
    assert r.readiness(None, 0x1) & 0x10          # POLLHUP once the writer is gone
    assert r.read(None, 10) == b""                # EOF
    r.dec_ref()


def test_packet_flag_from_pipe2():
    r, w = new_pipe(O_DIRECT)
    assert r.flags & O_DIRECT and w.flags & O_DIRECT
    w.write(None, b"12345")
    w.write(None, b"678")
    assert r.read(None, 3) == b"123"
    assert r.read(None, 10) == b"678"


def test_pipe_semantics_differential(differential):
    differential([compile_c("pipe_semantics")])
