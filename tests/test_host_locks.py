"""Advisory locks on a volume's files are held on the host too (vfs/hostlocks.py): a host process
and the sandbox see each other's record (fcntl) and flock locks, as processes of one kernel do;
SQLite writers in two sandboxes and on the host lose no row of a shared database (rollback
journal: its locks are fcntl locks)."""
import contextlib
import fcntl
import os
import select
import sqlite3
import struct
import subprocess
import sys

import pytest

from harness import deadline, kill_group, sandbox_cmd, sandbox_env
from snakevisor.sentry.vfs.hostlocks import MAX_MIRRORS

FLOCK = struct.Struct("hh4xqqi4x")

pytestmark = pytest.mark.skipif(os.environ.get("SNAKEVISOR_DIRECTFS") == "false",
                                reason="9P-only mounts keep the sandbox's locks in the sandbox (no host descriptor)")

# Runs in the sandbox: one command a line on stdin, one answer a line on stdout.
AGENT = r"""
import fcntl, struct, sys
FLOCK = struct.Struct("hh4xqqi4x")
f = open(sys.argv[1], "r+")
def lock(cmd, kind, start=0, length=0):
    return fcntl.fcntl(f, cmd, FLOCK.pack(kind, 0, start, length, 0))
for line in sys.stdin:
    word = line.split()
    try:
        if word[0] == "wrlock":
            lock(fcntl.F_SETLK, fcntl.F_WRLCK, int(word[1]), int(word[2]))
        elif word[0] == "wrlockw":
            lock(fcntl.F_SETLKW, fcntl.F_WRLCK, int(word[1]), int(word[2]))
        elif word[0] == "unlock":
            lock(fcntl.F_SETLK, fcntl.F_UNLCK, int(word[1]), int(word[2]))
        elif word[0] == "getlk":
            t, _, s, n, pid = FLOCK.unpack(lock(fcntl.F_GETLK, fcntl.F_WRLCK, int(word[1]), int(word[2])))
            print("getlk", t, s, n, pid)
            sys.stdout.flush()
            continue
        elif word[0] == "flock":
            fcntl.flock(f, {"ex": fcntl.LOCK_EX, "un": fcntl.LOCK_UN}[word[1]] | (fcntl.LOCK_NB if word[2:] else 0))
        print("ok", flush=True)
    except OSError as e:
        print("err", e.errno, flush=True)
"""


class Agent:
    """The AGENT program in a sandbox with ``volume``, asked one line at a time."""

    def __init__(self, volume, path):
        self.proc = subprocess.Popen(sandbox_cmd([sys.executable, "-c", AGENT, path],
                                                 flags=("--volume", f"{volume}:{volume}")),
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=sandbox_env(), text=True,
                                     start_new_session=True)

    def send(self, line):
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def answer(self):
        return self.proc.stdout.readline().strip()

    def ask(self, line):
        self.send(line)
        return self.answer()


@contextlib.contextmanager
def agent(volume, path):
    a = Agent(volume, path)
    try:
        with deadline(120, "the lock agent"):
            yield a
    finally:
        kill_group(a.proc)
        a.proc.wait()


def host_lock(f, kind, start, length):
    """F_SETLK of the host process; the errno, or 0."""
    try:
        fcntl.fcntl(f, fcntl.F_SETLK, FLOCK.pack(kind, 0, start, length, 0))
        return 0
    except OSError as e:
        return e.errno


def test_record_and_flock_locks_are_the_hosts_too(tmp_path):
    path = tmp_path / "locked"
    path.write_bytes(b"x" * 100)
    with agent(str(tmp_path), str(path)) as a, open(path, "r+") as f:
        ask = a.ask
        assert ask("wrlock 0 10") == "ok"
        assert host_lock(f, fcntl.F_WRLCK, 5, 1) == 11          # held in the sandbox: EAGAIN here
        assert host_lock(f, fcntl.F_RDLCK, 10, 5) == 0          # beside it: free
        assert ask("wrlock 10 5") == "err 11"                   # the host's read lock holds it off
        assert ask("getlk 12 1") == f"getlk {fcntl.F_RDLCK} 10 5 0"   # shown, its holder pid 0
        assert host_lock(f, fcntl.F_UNLCK, 10, 5) == 0
        assert ask("wrlock 10 5") == "ok"
        assert ask("unlock 0 15") == "ok"
        assert host_lock(f, fcntl.F_WRLCK, 0, 15) == 0          # given back on the host
        assert host_lock(f, fcntl.F_UNLCK, 0, 15) == 0
        fcntl.flock(f, fcntl.LOCK_EX)
        assert ask("flock ex nb") == "err 11"
        fcntl.flock(f, fcntl.LOCK_UN)
        assert ask("flock ex nb") == "ok"
        with pytest.raises(BlockingIOError):
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        assert ask("flock un") == "ok"
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        fcntl.flock(f, fcntl.LOCK_UN)


def test_a_blocking_lock_waits_for_the_hosts(tmp_path):
    """F_SETLKW in the sandbox behind a host lock: granted once the host process lets go."""
    path = tmp_path / "locked"
    path.write_bytes(b"x")
    with open(path, "r+") as f:
        assert host_lock(f, fcntl.F_WRLCK, 0, 0) == 0
        with agent(str(tmp_path), str(path)) as a:
            assert a.ask("getlk 0 1") == f"getlk {fcntl.F_WRLCK} 0 0 0"   # (the agent is up)
            a.send("wrlockw 0 1")
            ready, _, _ = select.select([a.proc.stdout], [], [], 0.3)
            assert not ready, a.answer()   # still waiting (an answer now is one too early)
            assert host_lock(f, fcntl.F_UNLCK, 0, 0) == 0
            assert a.answer() == "ok"
            assert host_lock(f, fcntl.F_RDLCK, 0, 1) == 11


WRITER = r"""
import sqlite3, sys
db = sqlite3.connect(sys.argv[1], timeout=60, isolation_level=None)
for i in range(int(sys.argv[3])):
    db.execute("insert into t values (?, ?)", (sys.argv[2], i))
"""


def test_sqlite_writers_in_two_sandboxes_and_on_the_host_lose_no_row(tmp_path):
    db_path = str(tmp_path / "shared.db")
    db = sqlite3.connect(db_path)
    db.execute("create table t (who text, n int)")
    db.commit()
    db.close()
    rows = 400
    procs = [subprocess.Popen(sandbox_cmd([sys.executable, "-c", WRITER, db_path, who, str(rows)],
                                          flags=("--volume", f"{tmp_path}:{tmp_path}")),
                              env=sandbox_env(), stderr=subprocess.PIPE, start_new_session=True)
             for who in ("A", "B")]
    try:
        subprocess.run([sys.executable, "-c", WRITER, db_path, "H", str(rows)], check=True, timeout=300)
        errors = [p.communicate(timeout=300)[1] for p in procs]
    finally:
        for p in procs:
            kill_group(p)
    assert [p.returncode for p in procs] == [0, 0], errors
    db = sqlite3.connect(db_path)
    counts = dict(db.execute("select who, count(*) from t group by who").fetchall())
    assert counts == {"A": rows, "B": rows, "H": rows}
    assert db.execute("pragma integrity_check").fetchall() == [("ok",)]


MANY = r"""
import fcntl, os, resource, sys
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 4096), hard))
files = []
for i in range(1200):
    f = open(os.path.join(sys.argv[1], "f%d" % i), "w")
    fcntl.lockf(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
    files.append(f)
print("locked", len(files), flush=True)
sys.stdin.readline()
"""


def test_locks_past_the_bound_of_host_descriptors_stay_the_sandboxs(tmp_path):
    """Each file whose locks the host holds costs the Sentry a host descriptor: past
    hostlocks.MAX_MIRRORS files at once, further locks are the sandbox's only, and every lock
    is still granted (the Sentry does not run out of descriptors)."""
    proc = subprocess.Popen(sandbox_cmd([sys.executable, "-c", MANY, str(tmp_path)],
                                        flags=("--volume", f"{tmp_path}:{tmp_path}")),
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=sandbox_env(), text=True,
                            start_new_session=True)
    try:
        with deadline(180, "the locker"):
            assert proc.stdout.readline().strip() == "locked 1200"
            with open(tmp_path / "f0", "r+") as f:
                assert host_lock(f, fcntl.F_WRLCK, 0, 0) == 11   # the first files' are the host's too
            dev = os.stat(tmp_path).st_dev
            ours = {f"{os.major(dev):02x}:{os.minor(dev):02x}:{os.stat(tmp_path / f'f{i}').st_ino}" for i in range(1200)}
            with open("/proc/locks") as locks:   # (a waiter's line has "->" before its kind)
                held = sum(1 for line in locks if "->" not in line and line.split()[5] in ours)
            assert held == MAX_MIRRORS   # one host description (and lock) per file, up to the bound
            proc.stdin.write("\n")
            proc.stdin.flush()
            assert proc.wait() == 0
    finally:
        kill_group(proc)
        proc.wait()
