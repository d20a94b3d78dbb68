"""PostgreSQL 15 in the sandbox (issue "Kernel features I"): initdb needs System V shared memory,
the server POSIX semaphores, signalfd latches and a clean fast shutdown; pgbench drives it."""
import os
import re

import pytest

from harness import program_copy, run_sandboxed

PG_BIN = "/usr/lib/postgresql/15/bin"


def test_postgres_initdb_pgbench_and_shutdown():
    if not os.path.exists(os.path.join(PG_BIN, "initdb")):
        pytest.skip("PostgreSQL 15 is not installed: sh tools/setup.sh --test installs postgresql-15")
    boxed = run_sandboxed(["/bin/sh", program_copy("postgres.sh")], timeout=600)
    out = boxed.stdout.decode()
    assert boxed.returncode == 0, out[-3000:] + boxed.stderr.decode()[-3000:]
    for step in ("initdb: ok", "start: ok", "pgbench -i: ok", "accounts: 100000", "stop: ok"):
        assert step in out, out
    done = int(re.search(r"number of transactions actually processed: (\d+)", out).group(1))
    failed = int(re.search(r"number of failed transactions: (\d+)", out).group(1))
    assert done > 0 and failed == 0, out
