"""fio as a real program in the sandbox: one random read/write job on a tmpfs file, through an
asynchronous I/O engine (libaio, io_uring), checked from fio's terse output."""
import shutil

import pytest

from harness import run_sandboxed


def check_fio_engine(engine):
    """Run a 4 MiB randrw job with ``engine`` at iodepth 8 in the sandbox: no error, all of it done."""
    if shutil.which("fio") is None:
        pytest.skip("fio is not installed: sh tools/setup.sh --test installs it")
    boxed = run_sandboxed(["fio", "--name=t", f"--ioengine={engine}", "--rw=randrw", "--size=4m", "--bs=4k",
                           "--iodepth=8", "--filename=/tmp/fio.dat", "--minimal"], timeout=300)
    assert boxed.returncode == 0, boxed.stderr.decode()[-2000:]
    fields = boxed.stdout.decode().strip().split(";")
    assert fields[4] == "0", fields[:5]                      # the job's error code
    read_kib, write_kib = int(fields[5]), int(fields[46])    # terse v3: read and write io (KiB)
    assert read_kib + write_kib == 4096, (read_kib, write_kib)
