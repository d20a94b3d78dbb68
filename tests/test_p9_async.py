"""A Task waiting for the Gofer does not stall the others: a read, write, fsync or getdents over
9P (no donated descriptor) while the Gofer is slow to answer, and a getpid loop in another
process that must keep going meanwhile. The slowness is the test's own: tests/slow_gofer.py
puts a proxy on the volume's connection that holds the operation's requests until the test
opens its gate, which it does only after seeing the other process progress (no fixed sleeps)."""
import os
import selectors
import subprocess
import sys
import time

import pytest

from harness import NEUTRAL_CWD, PLATFORM_FLAGS, check_no_sentry_bug, compile_c, kill_group, sandbox_env

SLOW_GOFER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "slow_gofer.py")
TICKS_WHILE_HELD = 5
DEADLINE = 90


class Watch:
    """The sandbox's stdout lines and the proxy's status lines, as they come."""

    def __init__(self, proc, status_fd):
        self.proc, self.status_fd = proc, status_fd
        self.sel = selectors.DefaultSelector()
        self.sel.register(proc.stdout, selectors.EVENT_READ, "out")
        self.sel.register(status_fd, selectors.EVENT_READ, "status")
        self.out, self.status = [], []
        self.ticks_at_held = {}     # "held N" -> ticks seen before it
        self.times = []             # when each tick arrived
        self._partial = {"out": b"", "status": b""}

    def pump(self, until, what):
        deadline = time.monotonic() + DEADLINE
        while not until():
            left = deadline - time.monotonic()
            assert left > 0, f"never {what}: out={self.out[-8:]} status={self.status}"
            for key, _ in self.sel.select(min(left, 1.0)):
                fd = key.fileobj if isinstance(key.fileobj, int) else key.fileobj.fileno()
                try:
                    data = os.read(fd, 65536)
                except BlockingIOError:
                    continue
                if not data and key.data == "out":
                    self.sel.unregister(key.fileobj)
                    continue
                self._lines(key.data, data)

    def _lines(self, kind, data):
        buf = self._partial[kind] + data
        *lines, self._partial[kind] = buf.split(b"\n")
        for line in lines:
            line = line.decode()
            if kind == "status":
                self.status.append(line)
                self.ticks_at_held[line] = self.ticks
            else:
                self.out.append(line)
                if line == "tick":
                    self.times.append(time.monotonic())

    @property
    def ticks(self):
        return len(self.times)


# operation -> (the 9P requests the proxy holds, the path it works on, the line it ends with)
OPS = {
    "read": ("Tread", "/vol/data", "read 11: hello world, handler ran: 1"),
    "write": ("Twrite", "/vol/out", "write 11: , handler ran: 1"),
    "fsync": ("Tfsync", "/vol/out", "fsync 0: , handler ran: 1"),
    "getdents": ("Treaddir", "/vol", None),
}


@pytest.mark.parametrize("op", list(OPS))
def test_getpid_loop_keeps_going_while_io_waits_for_a_slow_gofer(tmp_path, op):
    hold, path, last = OPS[op]
    prog = compile_c("slow_gofer_io")
    vol = tmp_path / "vol"
    vol.mkdir()
    (vol / "data").write_bytes(b"hello world")
    gate, status = str(tmp_path / "gate"), str(tmp_path / "status")
    os.mkfifo(gate)
    os.mkfifo(status)
    gate_fd = os.open(gate, os.O_RDWR)   # the proxy's read end opens at once; read(1) waits
    status_fd = os.open(status, os.O_RDONLY | os.O_NONBLOCK)
    keep = os.open(status, os.O_WRONLY | os.O_NONBLOCK)   # no EOF between the proxy's lines
    cmd = [sys.executable, SLOW_GOFER, gate, status, hold, "--", "do", *PLATFORM_FLAGS,
           "--volume", f"{vol}:/vol", "--", prog, op, path]
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=sandbox_env(), cwd=NEUTRAL_CWD, start_new_session=True)
    w = Watch(proc, status_fd)
    try:
        # The victim's request is held: it is SIGKILLed meanwhile, then the parent's own waits
        # for the Gofer while a signal comes; the ticker must tick all along.
        w.pump(lambda: "held 1" in w.status, "a request held")
        w.pump(lambda: "victim killed: 9" in w.out, "the blocked victim killed")
        w.pump(lambda: "held 2" in w.status and "signalled" in w.out, "the parent's request held and signalled")
        held_at = w.ticks_at_held["held 2"]
        w.pump(lambda: w.ticks >= held_at + TICKS_WHILE_HELD, "ticks while the parent waits")
        assert not any(line.startswith(op + " ") for line in w.out)   # still waiting
        os.write(gate_fd, b"x")
        out, err = proc.communicate(timeout=DEADLINE)
    finally:
        kill_group(proc)
        os.close(gate_fd)
        os.close(keep)
        os.close(status_fd)
    check_no_sentry_bug(err)
    w._lines("out", out)
    assert proc.returncode == 0, err.decode(errors="replace")[-2000:]
    done = [line for line in w.out if line.startswith(op + " ")]
    assert done == [last] if last else len(done) == 1 and done[0].endswith("handler ran: 1"), w.out[-5:]
    assert "victim never blocked" not in w.out and "parent never blocked" not in w.out
    if op == "getdents":
        assert int(done[0].split()[1].rstrip(":")) > 0
    elif op != "read":
        assert (vol / "out").read_bytes() == (b"hello world" if op == "write" else b"synced")
    print(f"getpid calls/s while the {op} waits: {_rate(w.times[held_at:held_at + TICKS_WHILE_HELD])}")


def _rate(times):
    """getpid calls per second over ``times`` (ticks come every 2000 calls)."""
    if len(times) < 2:
        return None
    return int(2000 * (len(times) - 1) / (times[-1] - times[0]))
