"""io_uring (issue "Kernel features I", item 4): tests/programs/iouring_raw.c (raw syscalls: the
arguments' checks, the rings as the application sees them, a hostile program scribbling them)
and tests/programs/iouring.c (liburing: every supported opcode, links, drain, eventfd, poll,
timeouts, the probe, registered files and buffers, sockets) natively and in the sandbox; random
SQEs in the sandbox (tests/programs/iouring_fuzz.c); fio's io_uring engine on a file of the
sandbox's tmpfs."""
import shutil
import subprocess

import pytest

from fio_support import check_fio_engine
from harness import app_env, compile_c, program_copy, run_sandboxed


def _liburing():
    """The compiler flags for liburing, or a skip saying how to get it."""
    try:
        flags = subprocess.run(["pkg-config", "--cflags", "--libs", "liburing"], capture_output=True, text=True)
    except FileNotFoundError:
        pytest.skip("pkg-config is not installed: sh tools/setup.sh --test installs it with liburing-dev")
    if flags.returncode != 0:
        pytest.skip("liburing is not installed: sh tools/setup.sh --test installs liburing-dev")
    return tuple(flags.stdout.split())


def test_io_uring_raw_syscalls_match_linux(differential):
    differential([compile_c("iouring_raw")], native_status=0)


def test_io_uring_liburing_matches_linux(differential):
    differential([compile_c("iouring", extra=_liburing())], native_status=0)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_io_uring_random_sqes_and_scribbles(seed):
    """tests/programs/iouring_fuzz.c: random SQEs, enter flags and ring scribbles; the Sentry answers
    them all (no internal error, no hang) and the program runs to its end."""
    boxed = run_sandboxed([compile_c("iouring_fuzz"), "3000", str(seed)], timeout=300)
    assert boxed.returncode == 0 and boxed.stdout == b"survived\n", boxed.stderr.decode()[-2000:]


def test_fio_io_uring():
    check_fio_engine("io_uring")


def test_node_fs_through_libuv_io_uring(differential):
    """Node's libuv with UV_USE_IO_URING=1 (an SQPOLL ring, EPOLL_CTL, the RSRC_TAGS feature it asks
    for): its file operations go through the ring in the sandbox too, with the same results."""
    if shutil.which("node") is None:
        pytest.skip("node is not installed")
    env = app_env(UV_USE_IO_URING="1")
    script = program_copy("node_fs_iouring.js")
    differential(["node", script], env=env, native_status=0)
    traced = run_sandboxed(["node", script], flags=("--strace",), env=env)
    assert b"io_uring_enter(" in traced.stderr, "libuv did not use io_uring in the sandbox"
