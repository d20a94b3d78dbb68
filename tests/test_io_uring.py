"""io_uring (issue "Kernel features I", item 4): tests/programs/iouring_raw.c (raw syscalls: the
arguments' checks, the rings as the application sees them, a hostile program scribbling them)
and tests/programs/iouring.c (liburing: every supported opcode, links, drain, eventfd, poll,
timeouts, the probe, registered files and buffers) natively and in the sandbox, and fio's
io_uring engine on a file of the sandbox's tmpfs."""
import shutil
import subprocess

import pytest

from harness import compile_c, run_sandboxed


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


def test_fio_io_uring():
    if shutil.which("fio") is None:
        pytest.skip("fio is not installed: sh tools/setup.sh --test installs it")
    boxed = run_sandboxed(["fio", "--name=t", "--ioengine=io_uring", "--rw=randrw", "--size=4m", "--bs=4k",
                           "--iodepth=8", "--filename=/tmp/fio.dat", "--minimal"], timeout=300)
    assert boxed.returncode == 0, boxed.stderr.decode()[-2000:]
    fields = boxed.stdout.decode().strip().split(";")
    assert fields[4] == "0", fields[:5]                      # the job's error code
    read_kib, write_kib = int(fields[5]), int(fields[46])    # terse v3: read and write io (KiB)
    assert read_kib + write_kib == 4096, (read_kib, write_kib)
