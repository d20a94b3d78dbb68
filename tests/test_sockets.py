"""Sockets: AF_UNIX in the Sentry and AF_INET over host sockets, differential C programs and python3 snippets."""
import os
import shutil
import textwrap

import pytest

from harness import BUILD_DIR, compile_c, run_sandboxed

from snakevisor.abi.errno import EAGAIN, ECONNREFUSED, EPIPE, SyscallError
from snakevisor.abi.socket import MSG_PEEK, SOCK_DGRAM, SOCK_SEQPACKET, SOCK_STREAM
from snakevisor.sentry.net.unix import socketpair


def test_unix_stream_pair_unit():
    a, b = socketpair(SOCK_STREAM, (1, 0, 0))
    assert a.sendmsg(None, b"abc", 0, None, [], None) == 3
    assert b.recvmsg(None, 2, MSG_PEEK, False).data == b"ab"
    assert b.recvmsg(None, 10, 0, False).data == b"abc"
    with pytest.raises(SyscallError) as e:
        b.recvmsg(None, 10, 0, False)
    assert e.value.errno == EAGAIN
    a.release()
    assert b.recvmsg(None, 10, 0, False).data == b""
    with pytest.raises(SyscallError) as e:
        b.sendmsg(None, b"x", 0, None, [], None)
    assert e.value.errno == EPIPE


def test_unix_message_boundaries_unit():
    for kind in (SOCK_DGRAM, SOCK_SEQPACKET):
        a, b = socketpair(kind, None)
        a.sendmsg(None, b"one", 0, None, [], None)
        a.sendmsg(None, b"twothree", 0, None, [], None)
        assert b.recvmsg(None, 100, 0, False).data == b"one"
        r = b.recvmsg(None, 3, 0, False)
        assert r.data == b"two" and r.full_len == 8


def test_unix_dgram_to_closed_peer_unit():
    a, b = socketpair(SOCK_DGRAM, None)
    b.release()
    with pytest.raises(SyscallError) as e:
        a.sendmsg(None, b"x", 0, None, [], None)
    assert e.value.errno == ECONNREFUSED


def test_unix_sockets_differential(differential):
    differential([compile_c("unix_sockets")])


def test_unix_stream_waitall_keeps_passed_descriptors(differential):
    """A MSG_WAITALL read whose second half carries SCM_RIGHTS gets the descriptor with the
    bytes (the Sentry closed it: the read's later steps dropped their descriptors)."""
    differential([compile_c("unix_waitall_rights")])


def test_tcp_udp_differential(differential):
    differential([compile_c("tcp_udp")])


def test_tcp_stream_calls_differential(differential):
    """read/write/send/recv on TCP that move their bytes at once, and those that wait or go on."""
    differential([compile_c("tcp_stream_calls")])


@pytest.mark.skipif(shutil.which("python3") is None, reason="python3 needed")
def test_python_socketpair_selectors_asyncio():
    script = os.path.join(BUILD_DIR, "sockets_asyncio.py")
    os.makedirs(BUILD_DIR, exist_ok=True)
    with open(script, "w") as f:
        f.write(textwrap.dedent("""\
            import asyncio, selectors, socket
            a, b = socket.socketpair()
            a.sendall(b"pair")
            print(b.recv(10))
            sel = selectors.DefaultSelector()
            sel.register(b, selectors.EVENT_READ)
            print(len(sel.select(0)))
            a.send(b"x")
            print([k.fileobj is b for k, _ in sel.select(1)])
            async def handle(r, w):
                w.write((await r.read(100)).upper())
                await w.drain()
                w.close()
            async def main():
                srv = await asyncio.start_server(handle, "127.0.0.1", 0)
                r, w = await asyncio.open_connection("127.0.0.1", srv.sockets[0].getsockname()[1])
                w.write(b"hello asyncio")
                await w.drain()
                print(await r.read(100))
                w.close()
                srv.close()
                await srv.wait_closed()
            asyncio.run(main())
            """))
    res = run_sandboxed([shutil.which("python3"), script], timeout=60)
    assert res.returncode == 0, res.stderr.decode()[-2000:]
    assert res.stdout == b"b'pair'\n0\n[True]\nb'HELLO ASYNCIO'\n"
