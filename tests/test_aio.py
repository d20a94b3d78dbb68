"""Linux AIO (issue "Kernel features I"): tests/programs/aio.c natively and in the sandbox, and
fio's libaio engine on a file of the sandbox's tmpfs."""
import shutil

import pytest

from harness import compile_c, run_sandboxed


def test_aio_semantics_match_linux(differential):
    differential([compile_c("aio", extra=("-pthread",))])


def test_fio_libaio():
    if shutil.which("fio") is None:
        pytest.skip("fio is not installed: sh tools/setup.sh --test installs it")
    boxed = run_sandboxed(["fio", "--name=t", "--ioengine=libaio", "--rw=randrw", "--size=4m", "--bs=4k",
                           "--iodepth=8", "--filename=/tmp/fio.dat", "--minimal"], timeout=300)
    assert boxed.returncode == 0, boxed.stderr.decode()[-2000:]
    fields = boxed.stdout.decode().strip().split(";")
    assert fields[4] == "0", fields[:5]                      # the job's error code
    read_kib, write_kib = int(fields[5]), int(fields[46])    # terse v3: read and write io (KiB)
    assert read_kib + write_kib == 4096, (read_kib, write_kib)
