"""Fuzzing the Gofer: structurally valid but random requests each get exactly one
reply with their tag, descriptors are not leaked, and the server stays up."""
import os
import socket
import threading

from hypothesis import HealthCheck, given, settings, strategies as st

from snakevisor.gofer import serve
from snakevisor.p9 import messages as M
from snakevisor.p9.codec import REPLIES, Decoder
from snakevisor.p9.messages import encode
from snakevisor.p9.client import Client

from test_p9_codec import strategy_for

REQUEST_TYPES = [c for c in M.MESSAGE_TYPES.values()
                 if c.TYPE % 2 == 0 and c not in (M.Tversion, M.Tflush)]

# Small fids and familiar names so random requests often hit real objects.
_small = st.integers(0, 6)
_name = st.sampled_from([b"a", b"b", b"sub", b"f", b"..", b".", b"", b"x/y", b"link"])


def request():
    def tweak(msg):
        for f in ("fid", "newfid", "dfid", "dirfid", "olddirfid", "newdirfid"):
            if hasattr(msg, f):
                setattr(msg, f, getattr(msg, f) % 7)
        return msg
    base = st.sampled_from(REQUEST_TYPES).flatmap(strategy_for).map(tweak)
    walks = st.builds(M.Twalk, fid=_small, newfid=_small, wnames=st.lists(_name, max_size=4).map(tuple))
    names = st.one_of(
        st.builds(M.Tlcreate, fid=_small, name=_name, flags=st.integers(0, 0o4000003), mode=st.integers(0, 0o777)),
        st.builds(M.Tmkdir, dfid=_small, name=_name, mode=st.integers(0, 0o777)),
        st.builds(M.Tunlinkat, dirfid=_small, name=_name, flags=st.sampled_from([0, 0x200, 1])),
        st.builds(M.Tlopen, fid=_small, flags=st.integers(0, 0o4000003)),
        st.builds(M.Tread, fid=_small, offset=st.integers(0, 100), count=st.integers(0, 1 << 20)),
        st.builds(M.Treaddir, fid=_small, offset=st.integers(0, 5), count=st.integers(0, 1 << 17)),
    )
    return st.one_of(base, walks, names)


def _fd_count():
    return len(os.listdir("/proc/self/fd"))


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(request(), min_size=1, max_size=30))
def test_random_requests_each_get_one_reply(tmp_path_factory, reqs):
    root = tmp_path_factory.mktemp("fuzz")
    (root / "f").write_bytes(b"data")
    (root / "sub").mkdir()
    os.symlink("/etc/passwd", root / "link")
    before = _fd_count()
    a, b = socket.socketpair()
    a.settimeout(20)
    th = threading.Thread(target=serve, args=(str(root), b, False), daemon=True)
    th.start()
    try:
        dec = Decoder(expect=REPLIES)
        a.sendall(encode(M.Tversion(msize=1 << 16, version=b"9P2000.L.snakevisor"))
                  + encode(M.Tattach(tag=0, fid=0, uname=b"root")))
        for i, m in enumerate(reqs):
            m.tag = i + 1
        a.sendall(b"".join(encode(m) for m in reqs))
        tags = []
        while len(tags) < len(reqs) + 2:
            m = dec.next_message()
            if m is None:
                data = a.recv(1 << 17)
                assert data, "server closed the connection"
                dec.feed(data)
                continue
            if getattr(m, "fd", None) is not None:
                os.close(m.fd)
            tags.append(m.tag)
        assert sorted(tags[2:]) == list(range(1, len(reqs) + 1))
    finally:
        a.close()
        th.join(timeout=20)
        assert not th.is_alive()
    assert _fd_count() == before


def test_session_does_not_leak_descriptors(tmp_path):
    (tmp_path / "f").write_bytes(b"x" * 100000)
    before = _fd_count()
    a, b = socket.socketpair()
    th = threading.Thread(target=serve, args=(str(tmp_path), b, False), daemon=True)
    th.start()
    c = Client(a)
    root = c.attach()
    for _ in range(50):
        f = root.walk([b"f"])
        r = f.lopen(os.O_RDONLY)
        f.read(0, 100000)
        os.close(r.host_fd)
        f.clunk()
    d = root.clone()
    d.lopen(0)
    d.readdir(0, 4096)
    c.close()
    th.join(timeout=10)
    assert not th.is_alive()
    assert _fd_count() == before
