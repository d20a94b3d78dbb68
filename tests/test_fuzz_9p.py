"""The 9P fuzzer (issue 11, "Trust") against the Gofer as the sandbox starts it (tests/fuzz9p.py):
a short run here; the long one is ``python3 tests/fuzz.py 9p --count 1000000``.

Also the Gofer's FIFO hang (item 10): Tlcreate naming an existing FIFO opened it blocking
in the Gofer's event loop, which then served no connection at all.
"""
import errno
import os
import random

import pytest

import fuzz
import fuzz9p
from snakevisor.p9 import constants as C
from snakevisor.p9 import messages as M


@pytest.mark.parametrize("seed", [1, 2])
def test_short_fuzz_run(seed):
    result = fuzz9p.fuzz_9p(count=6000, seed=seed)
    assert result.ok, result.report()
    assert result.calls >= 6000


@pytest.fixture
def gofer(tmp_path_factory):
    base = tmp_path_factory.mktemp("gofer9p", numbered=True)
    canary = fuzz.make_canary(str(base))
    g = fuzz9p.GoferUnderTest(str(base), 0, canary)
    yield g
    assert not g.stop()


def _session(sock):
    peer = fuzz9p.Peer(sock, random.Random(0))
    sock.settimeout(20)   # the Gofer answers these at once; the old one never did
    peer.exchange([M.Tversion(msize=1 << 16, version=C.VERSION_9P2000L)])
    peer.exchange([M.Tattach(tag=1, fid=0, uname=b"root")])
    return peer


@pytest.mark.parametrize("connection", [0, 1], ids=["overlay-root", "volume"])
@pytest.mark.parametrize("name", [b"fifo", b"sock", b"null"])
def test_lcreate_of_an_existing_special_file_does_not_block(gofer, connection, name):
    """9P2000.L's Tlcreate creates (the Sentry sends it for a new name only): an existing name
    is EEXIST, as O_CREAT|O_EXCL, never an open of what is there (a FIFO's open waits for a
    writer). Another connection is answered meanwhile."""
    peer = _session(gofer.fuzz[connection])
    peer.exchange([M.Twalk(tag=2, fid=0, newfid=1)])
    for flags in (os.O_RDONLY, os.O_WRONLY, os.O_RDWR | os.O_TRUNC):
        r = peer.exchange([M.Tlcreate(tag=3, fid=1, name=name, flags=flags, mode=0o644)])[0]
        assert isinstance(r, M.Rlerror) and r.ecode == errno.EEXIST, r
    assert gofer.check_health() is None


@pytest.mark.parametrize("name", [b"fifo", b"sock", b"null"])
def test_lopen_of_a_special_file_is_refused_at_once(gofer, name):
    peer = _session(gofer.fuzz[1])
    for flags in (os.O_RDONLY, os.O_WRONLY, os.O_RDWR, os.O_RDONLY | os.O_NONBLOCK):
        r = peer.exchange([M.Twalk(tag=2, fid=0, newfid=1, wnames=(name,)), M.Tlopen(tag=3, fid=1, flags=flags),
                           M.Tclunk(tag=4, fid=1)])
        assert isinstance(r[1], M.Rlerror), r
    assert gofer.check_health() is None


def test_lcreate_still_creates_and_opens(gofer):
    peer = _session(gofer.fuzz[1])
    r = peer.exchange([M.Twalk(tag=2, fid=0, newfid=1),
                       M.Tlcreate(tag=3, fid=1, name=b"new", flags=os.O_RDWR, mode=0o600),
                       M.Twrite(tag=4, fid=1, offset=0, data=b"hello"),
                       M.Tread(tag=5, fid=1, offset=0, count=10)])
    assert isinstance(r[1], M.Rlcreate) and r[3].data == b"hello", r
    with open(os.path.join(gofer.root, "new"), "rb") as f:
        assert f.read() == b"hello"


def test_client_closing_with_replies_queued_leaves_the_gofer_up(gofer):
    """A client that closes its end while the Gofer still has replies to write ends its own
    connection; the Gofer died of SIGPIPE (the sandbox's fork resets it to the default), taking
    every mount with it."""
    peer = _session(gofer.fuzz[1])
    peer.exchange([M.Twalk(tag=2, fid=0, newfid=1, wnames=(b"big",)), M.Tlopen(tag=3, fid=1, flags=os.O_RDONLY)])
    # 64 KiB replies (answered inline), far more than the socket holds.
    peer.sock.sendall(b"".join(fuzz9p.encode(M.Tread(tag=10 + i, fid=1, offset=0, count=60000))
                               for i in range(300)))
    peer.recv_one()   # the Gofer is writing replies now
    peer.sock.close()
    assert gofer.check_health() is None
