"""The warm server in tests (snakevisor/warm/): a `snakevisor server` on a private socket that a
test stops, checking that nothing of its tree outlives it (test_warmstart.py, test_oci_warm.py)."""
import contextlib
import os
import signal
import subprocess
import tempfile
import time

from do_support import comm_of, descendants_of, stat_of, wait_gone
from harness import sandbox_env, snakevisor_cmd

from snakevisor.warm.protocol import answers

START_TIMEOUT = 60   # a server imports every module first: slow on a loaded machine


def wait_for(what, predicate, timeout=START_TIMEOUT):
    end = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > end:
            raise AssertionError(f"still waiting after {timeout}s for {what}")
        time.sleep(0.02)


def process_tree(pid, spares=True):
    """{pid: start time} of ``pid`` and every process below it (``spares`` false: but the warm
    server's spares, the processes named sv-spare and theirs, and its Gofer zygote)."""
    out = {}
    skip = set() if spares else {p for p in descendants_of(pid) if comm_of(p) in ("sv-spare", "sv-zygote")}
    for p in skip.copy():
        skip.update(descendants_of(p))
    for p in [pid] + descendants_of(pid):
        st = stat_of(p)
        if st is not None and p not in skip:
            out[p] = st[2]
    return out


class Server:
    """`snakevisor server` on a private socket, in a session of its own."""

    def __init__(self, idle_timeout=300, spare=True, env=None):
        self.dir = tempfile.mkdtemp(prefix="svwarm-", dir="/var/tmp")   # short: sun_path is 108 bytes
        self.path = os.path.join(self.dir, "s.sock")
        self.proc = subprocess.Popen(
            snakevisor_cmd("server", "--socket", self.path, "--idle-timeout", str(idle_timeout)),
            env=sandbox_env(**({} if spare else {"SNAKEVISOR_WARM_SPARE": "0"}), **(env or {})), cwd="/",
            start_new_session=True,
            stdin=subprocess.DEVNULL)
        self.seen = {}
        wait_for("the server's socket", lambda: answers(self.path) or self.proc.poll() is not None)
        assert self.proc.poll() is None, f"the server exited: {self.proc.returncode}"

    def env(self, **extra):
        """Ours, with this server's socket, and without the suite's SNAKEVISOR_WARM=0 (conftest.py):
        a ``do`` uses this server as a user's would (unless ``extra`` says otherwise)."""
        env = sandbox_env(SNAKEVISOR_WARM_SOCKET=self.path, **extra)
        if "SNAKEVISOR_WARM" not in extra:
            env.pop("SNAKEVISOR_WARM", None)
        return env

    def watch(self):
        """Record the server's tree now (its sandboxes), so that stop() can check they are gone;
        returns the part of it that serves clients (its spares left out)."""
        self.seen.update(process_tree(self.proc.pid))
        return process_tree(self.proc.pid, spares=False)

    def stop(self):
        self.watch()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=30)
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            left = wait_gone(self.seen)
            for name in os.listdir(self.dir):
                os.unlink(os.path.join(self.dir, name))
            os.rmdir(self.dir)
        assert not left, f"processes of the server's tree left behind: {left}"


def running_server():
    """A fixture's body: a Server, stopped (and checked) after the test. Its spare lives an hour: a
    test that found it is served by it however slow the machine (test_a_spare_past_its_age_is_replaced
    tests the age)."""
    srv = Server(env={"SNAKEVISOR_WARM_SPARE_AGE": "3600"})
    try:
        yield srv
    finally:
        srv.stop()


def servers_of(path):
    """Pids of the `snakevisor server` processes for the socket ``path`` (not their forks: sessions,
    spares)."""
    out = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/cmdline", "rb") as f:
                    argv = f.read().split(b"\0")
            except OSError:
                continue
            if b"server" in argv and path.encode() in argv:
                out.append(int(name))
    return [p for p in out if (stat_of(p) or ("", 0, 0))[1] not in out]   # a fork's parent is a server


@contextlib.contextmanager
def on_demand_socket():
    """A private socket path for servers started on demand; whatever server holds its lock at the
    end is stopped, and nothing of its tree may be left."""
    sock_dir = tempfile.mkdtemp(prefix="svwarm-", dir="/var/tmp")
    path = os.path.join(sock_dir, "s.sock")
    try:
        yield path
    finally:
        seen = {}
        for pid in servers_of(path):
            seen.update(process_tree(pid))
            os.kill(pid, signal.SIGTERM)
        left = wait_gone(seen)
        assert not left, f"a server started on demand is still running: {[(p, comm_of(p)) for p in left]}"
        for name in os.listdir(sock_dir):
            os.unlink(os.path.join(sock_dir, name))
        os.rmdir(sock_dir)
