"""The sans-I/O 9P2000.L codec: layouts, round trips, incremental decoding, hostile bytes."""
import os
import struct

import pytest
from hypothesis import given, settings, strategies as st

from snakevisor.p9 import constants as C
from snakevisor.p9 import messages as M
from snakevisor.p9.codec import REPLIES, REQUESTS, Decoder
from snakevisor.p9.messages import DirEntry, ProtocolError, Qid, decode_dirents, encode, encode_dirents

ALL = sorted(M.MESSAGE_TYPES.values(), key=lambda c: c.TYPE)

_ints = {"B": 8, "H": 16, "I": 32, "Q": 64}
qids = st.builds(Qid, st.integers(0, 255), st.integers(0, 2**32 - 1), st.integers(0, 2**64 - 1))
names = st.binary(max_size=40)


def strategy_for(cls):
    kw = {"tag": st.integers(0, 0xFFFF)}
    for name, kind in cls.FIELDS:
        kind = kind.rstrip("?")
        if kind in _ints:
            kw[name] = st.integers(0, 2 ** _ints[kind] - 1)
        elif kind == "qid":
            kw[name] = qids
        elif kind == "s":
            kw[name] = names
        elif kind == "data":
            kw[name] = st.binary(max_size=300)
        elif kind == "s*":
            kw[name] = st.lists(names, max_size=16).map(tuple)
        elif kind == "qid*":
            kw[name] = st.lists(qids, max_size=16).map(tuple)
        else:
            raise AssertionError(kind)
    return st.builds(cls, **kw)


def test_every_linux_message_is_defined():
    expected = {"Tversion", "Rversion", "Rlerror", "Tstatfs", "Rstatfs", "Tlopen", "Rlopen", "Tlcreate",
                "Rlcreate", "Tsymlink", "Rsymlink", "Tmknod", "Rmknod", "Trename", "Rrename", "Treadlink",
                "Rreadlink", "Tgetattr", "Rgetattr", "Tsetattr", "Rsetattr", "Txattrwalk", "Rxattrwalk",
                "Txattrcreate", "Rxattrcreate", "Treaddir", "Rreaddir", "Tfsync", "Rfsync", "Tlock", "Rlock",
                "Tgetlock", "Rgetlock", "Tlink", "Rlink", "Tmkdir", "Rmkdir", "Trenameat", "Rrenameat",
                "Tunlinkat", "Runlinkat", "Tauth", "Rauth", "Tattach", "Rattach", "Tflush", "Rflush",
                "Twalk", "Rwalk", "Tread", "Rread", "Twrite", "Rwrite", "Tclunk", "Rclunk", "Tremove",
                "Rremove"}
    assert expected <= {c.__name__ for c in ALL}
    for c in ALL:
        if c.__name__.startswith("R"):
            assert c.TYPE % 2 == 1 and M.MESSAGE_TYPES[c.TYPE - 1].__name__[1:] == c.__name__[1:]


@pytest.mark.parametrize("cls", ALL, ids=lambda c: c.__name__)
def test_round_trip(cls):
    @settings(max_examples=40, deadline=None)
    @given(strategy_for(cls))
    def check(msg):
        data = encode(msg)
        assert struct.unpack_from("<IBH", data) == (len(data), cls.TYPE, msg.tag)
        d = Decoder(msize=1 << 20)
        d.feed(data)
        assert d.next_message() == msg
        assert d.next_message() is None
    check()


# Exact layouts checked by hand against include/net/9p/9p.h and net/9p/client.c.
def test_known_layouts():
    assert encode(M.Tversion(tag=C.NOTAG, msize=8192, version=b"9P2000.L")) == (
        b"\x15\x00\x00\x00\x64\xff\xff\x00\x20\x00\x00\x08\x009P2000.L")
    assert encode(M.Twalk(tag=1, fid=2, newfid=3, wnames=(b"ab",))) == (
        b"\x15\x00\x00\x00\x6e\x01\x00\x02\x00\x00\x00\x03\x00\x00\x00\x01\x00\x02\x00ab")
    assert encode(M.Rattach(tag=5, qid=Qid(0x80, 7, 9))) == (
        b"\x14\x00\x00\x00\x69\x05\x00\x80\x07\x00\x00\x00\x09\x00\x00\x00\x00\x00\x00\x00")
    assert len(encode(M.Rgetattr())) == 7 + 8 + 13 + 3 * 4 + 15 * 8
    assert len(encode(M.Tsetattr())) == 7 + 5 * 4 + 5 * 8
    assert len(encode(M.Rstatfs())) == 7 + 4 + 4 + 6 * 8 + 4
    assert len(encode(M.Tlock(client_id=b"x"))) == 7 + 4 + 1 + 4 + 8 + 8 + 4 + 2 + 1
    assert encode(M.Tread(tag=1, fid=2, offset=3, count=4)) == struct.pack("<IBHIQI", 23, 116, 1, 2, 3, 4)
    assert encode(M.Rread(tag=1, data=b"xyz")) == struct.pack("<IBHI", 14, 117, 1, 3) + b"xyz"


def test_tfsync_without_datasync_is_accepted():
    body = struct.pack("<I", 9)
    d = Decoder()
    d.feed(struct.pack("<IBH", 7 + len(body), C.TFSYNC, 4) + body)
    assert d.next_message() == M.Tfsync(tag=4, fid=9, datasync=0)


def test_byte_by_byte_feeding():
    msgs = [M.Tversion(msize=65536, version=b"9P2000.L"), M.Twalk(tag=1, fid=0, newfid=1, wnames=(b"a", b"b")),
            M.Rread(tag=2, data=b"x" * 1000), M.Rgetattr(tag=3, qid=Qid(1, 2, 3), size=77)]
    stream = b"".join(map(encode, msgs))
    d = Decoder()
    out = []
    for i in range(len(stream)):
        d.feed(stream[i:i + 1])
        m = d.next_message()
        if m is not None:
            out.append(m)
    assert out == msgs
    assert d.buffered == 0


def test_many_messages_in_one_chunk():
    msgs = [M.Tclunk(tag=i, fid=i) for i in range(5000)]
    d = Decoder()
    d.feed(b"".join(map(encode, msgs)))
    out = []
    while (m := d.next_message()) is not None:
        out.append(m)
    assert out == msgs


def test_size_above_msize_is_fatal():
    d = Decoder(msize=8192)
    d.feed(struct.pack("<IBH", 8193, C.TREAD, 1) + b"\0" * 16)
    with pytest.raises(ProtocolError) as e:
        d.next_message()
    assert e.value.fatal and e.value.tag is None
    with pytest.raises(ProtocolError):
        d.next_message()


@pytest.mark.parametrize("size", [0, 3, 6])
def test_size_below_header_is_fatal(size):
    d = Decoder()
    d.feed(struct.pack("<IBH", size, C.TCLUNK, 1))
    with pytest.raises(ProtocolError) as e:
        d.next_message()
    assert e.value.fatal


def frame(mtype, tag, body):
    return struct.pack("<IBH", 7 + len(body), mtype, tag) + body


@pytest.mark.parametrize("data", [
    frame(C.TCLUNK, 9, b"\x01\x00"),                          # truncated fid
    frame(C.TCLUNK, 9, b"\x01\x00\x00\x00\x00"),              # trailing byte
    frame(99, 9, b""),                                         # unknown type
    frame(C.RCLUNK, 9, b""),                                   # reply where requests expected
    frame(C.TWALK, 9, struct.pack("<IIH", 0, 1, 17) + b"\0\0" * 17),  # nwname > 16
    frame(C.TWALK, 9, struct.pack("<IIH", 0, 1, 1) + b"\x05\x00ab"),  # string past end
    frame(C.TWRITE, 9, struct.pack("<IQI", 0, 0, 100) + b"ab"),       # count past end
])
def test_malformed_body_gives_tag_and_decoder_continues(data):
    d = Decoder(expect=REQUESTS)
    d.feed(data + encode(M.Tclunk(tag=3, fid=4)))
    with pytest.raises(ProtocolError) as e:
        d.next_message()
    assert e.value.tag == 9 and not e.value.fatal
    assert d.next_message() == M.Tclunk(tag=3, fid=4)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200), st.sampled_from([None, REQUESTS, REPLIES]))
def test_random_bytes_only_raise_protocol_error(data, expect):
    d = Decoder(msize=4096, expect=expect)
    d.feed(data)
    for _ in range(100):
        try:
            if d.next_message() is None:
                break
        except ProtocolError as e:
            if e.fatal:
                break


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(ALL).flatmap(strategy_for), st.data())
def test_mutated_messages_only_raise_protocol_error(msg, data):
    raw = bytearray(encode(msg))
    for _ in range(data.draw(st.integers(1, 4))):
        i = data.draw(st.integers(0, len(raw) - 1))
        raw[i] = data.draw(st.integers(0, 255))
    d = Decoder(msize=1 << 16)
    d.feed(bytes(raw))
    try:
        d.next_message()
    except ProtocolError:
        pass


@settings(max_examples=100, deadline=None)
@given(st.lists(st.builds(DirEntry, qids, st.integers(0, 2**64 - 1), st.integers(0, 255), names), max_size=20))
def test_dirents_round_trip(entries):
    assert decode_dirents(encode_dirents(entries)) == entries


def test_truncated_dirents():
    data = encode_dirents([DirEntry(Qid(), 1, 8, b"hello")])
    for n in range(1, len(data)):
        with pytest.raises(ProtocolError):
            decode_dirents(data[:n])


def _fd_alive(fd):
    try:
        os.fstat(fd)
        return True
    except OSError:
        return False


def test_descriptor_belongs_to_last_message_starting_in_its_chunk():
    r, w = os.pipe()
    try:
        a = encode(M.Rclunk(tag=1))
        b = encode(M.Rlopen(tag=2, qid=Qid(0, 0, 5), iounit=0))
        c = encode(M.Rclunk(tag=3))
        d = Decoder(expect=REPLIES)
        # Linux ends a recvmsg after the skb carrying descriptors: chunk = a + first half of b.
        d.feed(a + b[:10], [r])
        d.feed(b[10:] + c)
        m1, m2, m3 = d.next_message(), d.next_message(), d.next_message()
        assert m1 == M.Rclunk(tag=1) and m3 == M.Rclunk(tag=3)
        assert m2.fd == r
    finally:
        os.close(r)
        os.close(w)


def test_stray_descriptors_are_closed():
    r, w = os.pipe()
    os.close(w)
    d = Decoder(expect=REPLIES)
    # A descriptor with an Rclunk (not an open reply) is closed, not leaked.
    d.feed(encode(M.Rclunk(tag=1)), [r])
    assert d.next_message() == M.Rclunk(tag=1)
    assert not _fd_alive(r)


def test_descriptor_arriving_mid_message_is_closed():
    r, w = os.pipe()
    os.close(w)
    b = encode(M.Rlopen(tag=2))
    d = Decoder(expect=REPLIES)
    d.feed(b[:5])
    d.feed(b[5:], [r])            # not at a message start: not this reply's
    m = d.next_message()
    assert m.fd is None
    d.feed(encode(M.Rclunk(tag=3)))
    d.next_message()
    assert not _fd_alive(r)
