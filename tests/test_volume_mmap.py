"""MAP_SHARED mappings of a volume's files are the host file's own pages (mm/hostmap.py) on
systrap: coherent with host processes and other sandboxes without msync, SIGBUS past a host
truncation, shared by forked children and futexes; SQLite in WAL mode (its index is such a
mapping) loses no row between two sandboxes and the host. On ptrace and on 9P-only mounts they
stay the page cache's (written back), so the host-coherence cases are skipped there."""
import os
import sqlite3
import subprocess
import sys

import pytest

from harness import (PLATFORM, check_no_sentry_bug, compile_c, deadline, exit_code, kill_group, sandbox_cmd,
                     sandbox_env)

HOST_PAGES = PLATFORM == "systrap" and os.environ.get("SNAKEVISOR_DIRECTFS") != "false"
needs_host_pages = pytest.mark.skipif(not HOST_PAGES, reason="the platform or mount maps the page cache, not the host file")


def _host_answer(path, words):
    """Act on the file as a host process, as a HOST line of tests/programs/volmap.c asks."""
    what, args = words[0], words[1:]
    with open(path, "r+b") as f:
        if what == "write":
            os.pwrite(f.fileno(), args[1].encode(), int(args[0]))
            return "done"
        if what == "read":
            return os.pread(f.fileno(), int(args[1]), int(args[0])).decode(errors="replace").replace("\0", ".")
        if what == "truncate":
            os.ftruncate(f.fileno(), int(args[0]))
            return "done"
    raise AssertionError(f"unknown host request {words}")


def drive(argv, path, sandboxed):
    """Run ``argv`` (natively, or sandboxed with path's directory as a volume), answering its HOST
    lines: (its other output, its exit status as `do` reports one)."""
    volume = os.path.dirname(path)
    cmd = sandbox_cmd(argv, flags=("--volume", f"{volume}:{volume}")) if sandboxed else argv
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=sandbox_env(), text=True, start_new_session=True)
    out = []
    try:
        with deadline(90, " ".join(argv)):
            for line in proc.stdout:
                if line.startswith("HOST "):
                    proc.stdin.write(_host_answer(path, line.split()[1:]) + "\n")
                    proc.stdin.flush()
                else:
                    out.append(line)
            stderr = proc.stderr.read()
            proc.wait()
    finally:
        kill_group(proc)
        proc.wait()
    check_no_sentry_bug(stderr.encode())
    return "".join(out), exit_code(proc.returncode), stderr


def compare_volmap(case, tmp_path):
    prog = compile_c("volmap")
    path = str(tmp_path / "mapped")
    native = drive([prog, case, path], path, sandboxed=False)
    boxed = drive([prog, case, path], path, sandboxed=True)
    assert boxed[:2] == native[:2], f"native {native[:2]}\nsandbox {boxed}"
    return native


@needs_host_pages
@pytest.mark.parametrize("case", ["host_write", "host_read", "truncate", "fork", "mprotect", "kernel_io"])
def test_mapping_is_the_host_files(case, tmp_path):
    compare_volmap(case, tmp_path)


@pytest.mark.parametrize("case", ["futex", "mutex"])
def test_futexes_in_a_mapped_volume_file(case, tmp_path):
    """Between two processes of a sandbox, on every platform (two sandboxes share no futex)."""
    out, status, _ = compare_volmap(case, tmp_path)
    assert status == 0 and ("count 40000, failed 0 0" in out or "woke 1" in out), out


WRITER = r"""
import sqlite3, sys
db = sqlite3.connect(sys.argv[1], timeout=60, isolation_level=None)
for i in range(int(sys.argv[3])):
    db.execute("insert into t values (?, ?)", (sys.argv[2], i))
"""


@needs_host_pages
def test_sqlite_wal_writers_in_two_sandboxes_and_on_the_host_lose_no_row(tmp_path):
    """WAL mode coordinates through the -shm file's MAP_SHARED pages (and fcntl locks, the
    host's: vfs/hostlocks.py); with the page cache's pages, rows were lost (1,874 of 6,000)."""
    db_path = str(tmp_path / "shared.db")
    db = sqlite3.connect(db_path)
    assert db.execute("pragma journal_mode=wal").fetchall() == [("wal",)]
    db.execute("create table t (who text, n int)")
    db.commit()
    db.close()
    rows = 2000
    procs = [subprocess.Popen(sandbox_cmd([sys.executable, "-c", WRITER, db_path, who, str(rows)],
                                          flags=("--volume", f"{tmp_path}:{tmp_path}")),
                              env=sandbox_env(), stderr=subprocess.PIPE, start_new_session=True)
             for who in ("A", "B")]
    try:
        with deadline(300, "the WAL writers"):
            subprocess.run([sys.executable, "-c", WRITER, db_path, "H", str(rows)], check=True, timeout=300)
            errors = [p.communicate(timeout=300)[1] for p in procs]
    finally:
        for p in procs:
            kill_group(p)
            p.wait()
    assert [p.returncode for p in procs] == [0, 0], errors
    db = sqlite3.connect(db_path)
    counts = dict(db.execute("select who, count(*) from t group by who").fetchall())
    assert counts == {"A": rows, "B": rows, "H": rows}
    assert db.execute("pragma integrity_check").fetchall() == [("ok",)]


@needs_host_pages
@pytest.mark.parametrize("scribble", ["everything", "control length"])
def test_a_scribbled_receipt_costs_only_the_scribbler(scribble, tmp_path):
    """The mapper's recvmsg of a volume file's descriptor reads a msghdr the application can write
    (platform/systrap/mapper.py): scribbled, the recvmsg fails (the stub is killed: its socket
    may be out of step, SIGSYS) or receives no descriptor (that mmap fails); no other file or
    memory is ever mapped, the Sentry logs no internal error and the parent goes on."""
    path = tmp_path / "f"
    path.write_bytes(b"host-data".ljust(4096, b"\0"))
    prog = compile_c("volmap_scribble", extra=("-pthread",))
    argv = [prog, str(path)] + (["controllen"] if scribble == "control length" else [])
    out, status, _ = drive(argv, str(path), sandboxed=True)
    assert status == 0 and out.endswith("parent: host-data\n"), out
    assert "foreign mappings 0" in out or "child: killed by signal 31" in out, out
