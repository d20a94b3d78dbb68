"""Fuzzers as tests (issue 11, "Trust"): random syscalls inside the sandbox, random 9P at the Gofer.

    python3 tests/fuzz.py syscalls --count 1000000 [--seed S] [--batch 1000]
    python3 tests/fuzz.py 9p --count 1000000 [--seed S]

Each prints what it did (calls or messages, seconds) and exits 0 only with no crash, no hang
and no escape; a failure prints its seed and how to replay it. tests/test_fuzz_syscalls.py
and tests/test_fuzz_9p.py run short versions of both.

The syscall side runs tests/programs/fuzz_syscalls.c under ``snakevisor do`` (memory-limited)
and fails on: the program's own FAIL lines (insane child status, failed health check, an errno
no call may return), a traceback or "internal error" in the Sentry's log, no progress for
``stall`` seconds (a hang), a change to a canary file on the host (visible, writable through
the overlay, attacked by name), the fuzz binary seen running as a host process, or a host
process left in the sandbox's session afterwards. The 9P side is tests/fuzz9p.py.
"""
from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path[:0] = [HERE, REPO]

# Outside /tmp: the sandbox mounts its own tmpfs there, and the canary must be the host's file.
FUZZ_DIR = "/var/tmp"
SANDBOX_MEMORY = 1 << 30
SHMEM_GROWTH_LIMIT = 4 << 30   # the overlay's upper tmpfs is host memory: stop well before trouble


class Result:
    def __init__(self, what):
        self.what = what
        self.failures: list[str] = []
        self.calls = 0
        self.seconds = 0.0
        self.details = ""

    @property
    def ok(self):
        return not self.failures

    def report(self):
        head = f"{self.what}: {self.calls} in {self.seconds:.0f} s, {len(self.failures)} failure(s)"
        return "\n".join([head, *self.failures, self.details]).rstrip()


def snapshot(path: str):
    """What must not change about a canary file or directory (content, metadata, entries)."""
    st = os.lstat(path)
    out = [st.st_mode, st.st_uid, st.st_gid, st.st_size, st.st_ino, st.st_nlink, st.st_mtime_ns, st.st_ctime_ns]
    try:
        out.append(sorted(os.listxattr(path, follow_symlinks=False)))
    except OSError:
        pass
    if os.path.isdir(path):
        out.append({n: snapshot(os.path.join(path, n)) for n in sorted(os.listdir(path))})
    else:
        with open(path, "rb") as f:
            out.append(hashlib.sha256(f.read()).hexdigest())
    return out


def make_canary(base: str) -> str:
    d = os.path.join(base, "canary")
    os.makedirs(d, exist_ok=True)
    path = os.path.join(d, "canary")
    with open(path, "w") as f:
        f.write("the sandbox must never change this file\n")
    os.chmod(path, 0o644)
    return path


def _host_processes(test) -> list[int]:
    """Host pids for which ``test(pid)`` holds (processes that vanish meanwhile are skipped)."""
    found = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                if test(name):
                    found.append(int(name))
            except (OSError, IndexError, ValueError):
                continue
    return found


def session_processes(sid: int) -> list[int]:
    """Host processes still in session ``sid`` (everything a `do` started, whatever it did)."""
    def in_session(pid):
        with open(f"/proc/{pid}/stat", "rb") as f:
            return int(f.read().rsplit(b")", 1)[1].split()[3]) == sid
    return _host_processes(in_session)


def processes_running(binary: str) -> list[int]:
    """Host processes whose executable is ``binary``: the fuzz program must only ever run in the Sentry."""
    real = os.path.realpath(binary)
    return _host_processes(lambda pid: os.readlink(f"/proc/{pid}/exe") == real)


def _shmem() -> int:
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("Shmem:"):
                return int(line.split()[1]) * 1024
    return 0


class _Watcher:
    """A thread watching a running fuzz once a second: the fuzz binary seen as a host process,
    host shared memory growing too much, or no new output for ``stall`` seconds (a hang) kill
    it and are told in ``escapes``; ``log`` gets the last output line as it grows."""

    def __init__(self, proc, binary: str, out_path: str, stall: float, shmem0: int, log):
        self.proc, self.binary, self.out_path, self.stall, self.shmem0, self.log = \
            proc, binary, out_path, stall, shmem0, log
        self.escapes: list[str] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._watch, daemon=True)
        self.thread.start()

    def _kill(self, why: str):
        self.escapes.append(why)
        os.killpg(self.proc.pid, signal.SIGKILL)

    def _watch(self):
        last_size, last_change = -1, time.monotonic()
        while not self.stop.wait(1.0):
            running = processes_running(self.binary)
            if running:
                return self._kill(f"ESCAPE: the fuzz program runs as host process(es) {running}")
            if _shmem() - self.shmem0 > SHMEM_GROWTH_LIMIT:
                return self._kill("RESOURCE: host shared memory grew by more than 4 GiB (overlay upper tmpfs?)")
            size = os.path.getsize(self.out_path)
            if size != last_size:
                last_size, last_change = size, time.monotonic()
                self._log_tail(size)
            elif time.monotonic() - last_change > self.stall:
                return self._kill(f"HANG: no progress for {self.stall:.0f} s")

    def _log_tail(self, size: int):
        if self.log:
            with open(self.out_path, "rb") as f:
                f.seek(max(0, size - 200))
                tail = f.read().decode(errors="replace").strip().splitlines()
            if tail:
                self.log(tail[-1])

    def finish(self) -> list[str]:
        self.stop.set()
        self.thread.join()
        return self.escapes


def _run_watched(cmd, binary: str, out_path: str, err_path: str, stall: float, log):
    """Run the sandbox to its end under a _Watcher: (exit status, stdout, stderr, escapes)."""
    from harness import sandbox_env
    env = sandbox_env()
    shmem0 = _shmem()
    # stdout through a pipe: the fuzzed children are root in the sandbox and may reach the
    # parent's descriptors (/proc/1/fd/1); a pipe cannot be truncated under the parent's feet.
    with open(err_path, "wb") as err:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=err, env=env,
                                cwd="/", start_new_session=True)

    def copy_out():
        with open(out_path, "wb") as out:
            for line in proc.stdout:
                out.write(line)
                out.flush()

    copier = threading.Thread(target=copy_out, daemon=True)
    copier.start()
    watcher = _Watcher(proc, binary, out_path, stall, shmem0, log)
    try:
        proc.wait()
        copier.join()
    finally:
        escapes = watcher.finish()
    with open(out_path, "rb") as f:
        stdout = f.read().decode(errors="replace")
    with open(err_path, "rb") as f:
        stderr = f.read().decode(errors="replace")
    return proc, stdout, stderr, escapes


def _judge_output(res: Result, returncode: int, stdout: str, stderr: str):
    """The program's summary, FAIL lines and exit, and the Sentry's log, into ``res``."""
    stalls = [line for line in stdout.splitlines() if "no progress" in line]
    for line in stdout.splitlines():
        if line.startswith("summary:"):
            res.calls = int(line.split("calls=")[1].split()[0])
            res.details = "\n".join([line, *stalls[:20]])
        if line.startswith("FAIL") or line.startswith("  replay:"):
            res.failures.append(line)
    if returncode != 0 or not stdout.rstrip().endswith("done"):
        res.failures.append(f"exit status {returncode}; stdout tail:\n{stdout[-1500:]}")
    if "Traceback" in stderr or "internal error" in stderr:
        res.failures.append("the Sentry's log holds a traceback:\n" + _traceback_excerpt(stderr))


def _kill_left_behind(sid: int) -> list[int]:
    """Host processes left in the sandbox's session, killed."""
    left = session_processes(sid)
    for pid in left:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    return left


def fuzz_syscalls(count: int, seed: int, batch: int = 1000, stall: float = 600, log=None) -> Result:
    """Run ``count`` random syscalls in the sandbox; a Result (``ok`` when nothing went wrong)."""
    from harness import compile_c, sandbox_cmd
    binary = compile_c("fuzz_syscalls")
    res = Result("syscalls")
    base = tempfile.mkdtemp(prefix="snakevisor-fuzz-", dir=FUZZ_DIR)
    canary = make_canary(base)
    before = snapshot(os.path.dirname(canary))
    cmd = sandbox_cmd([binary, "run", str(seed), str(count), str(batch), canary],
                      ("--memory", str(SANDBOX_MEMORY), "--cwd", "/tmp"))
    start = time.monotonic()
    proc, stdout, stderr, escapes = _run_watched(cmd, binary, os.path.join(base, "stdout"),
                                                 os.path.join(base, "stderr"), stall, log)
    res.seconds = time.monotonic() - start
    res.failures += escapes
    _judge_output(res, proc.returncode, stdout, stderr)
    left = _kill_left_behind(proc.pid)
    if left:
        res.failures.append(f"host processes left in the sandbox's session: {left}")
    if snapshot(os.path.dirname(canary)) != before:
        res.failures.append(f"ESCAPE: the canary {canary} changed on the host")
    res.details += (f"\nhost processes left in the sandbox's session: {len(left)}; the fuzz program seen running "
                    f"on the host: {'yes' if escapes else 'never'}; canary: {'changed' if res.failures else 'untouched'}")
    if res.failures:
        res.details += f"\nlogs kept in {base}; binary {binary}; seed {seed}"
        res.failures.append(f"repro: cd / && PYTHONPATH={REPO} " + " ".join(cmd))
    else:
        shutil.rmtree(base, ignore_errors=True)
    return res


def _traceback_excerpt(text: str, limit: int = 4000) -> str:
    i = min((text.find(k) for k in ("internal error", "Traceback") if k in text), default=0)
    return text[max(0, i - 200):i + limit]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="tests/fuzz.py", description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="what", required=True)
    s = sub.add_parser("syscalls", help="random syscalls inside the sandbox")
    s.add_argument("--count", type=int, default=100000)
    s.add_argument("--seed", type=lambda v: int(v, 0), default=None)
    s.add_argument("--batch", type=int, default=1000, help="calls per forked child")
    n = sub.add_parser("9p", help="random 9P messages at the Gofer")
    n.add_argument("--count", type=int, default=100000)
    n.add_argument("--seed", type=lambda v: int(v, 0), default=None)
    n.add_argument("--session", type=lambda v: int(v, 0), default=None,
                   help="replay one session by the seed a failure printed")
    n.add_argument("--connection", type=int, default=0, help="the connection that session ran on")
    args = p.parse_args(argv)
    seed = args.seed if args.seed is not None else int.from_bytes(os.urandom(4), "little")
    log = lambda line: print(line, flush=True)   # noqa: E731
    started = time.time()
    print(f"fuzz {args.what}: count {args.count}, seed {seed:#x}", flush=True)
    if args.what == "syscalls":
        res = fuzz_syscalls(args.count, seed, args.batch, log=log)
    else:
        import fuzz9p
        res = fuzz9p.fuzz_9p(args.count, seed, session=args.session, connection=args.connection, log=log)
    print(res.report())
    print(f"wall time {time.time() - started:.0f} s: {'OK' if res.ok else 'FAILED'}")
    return 0 if res.ok else 1


if __name__ == "__main__":
    sys.exit(main())
