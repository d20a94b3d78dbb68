"""Driving ``snakevisor do -t`` interactively through tmux (shared by the terminal tests).

Each Tmux is a private server: its socket lives under the test's tmp directory
(TMUX_TMPDIR), so tests never see each other's or the user's sessions. The server
reads a config file of its own: no scrollback history (a window that
grows shows blank rows rather than lines pulled back from the scrollback, so a
redraw after a resize is the program's doing, not tmux's), and a pane stays when
its command ends (its last screen, with any error of the sandbox, is still there
to show in a failure). Always end with
``kill()`` (``session()`` does it): that hangs the pane up, which ends the sandbox.

Waits poll the screen until the text shows up or a generous deadline passes: the
tests run on loaded 2-CPU machines, so no fixed sleep is ever an assertion.
"""
import contextlib
import os
import shlex
import shutil
import signal
import subprocess
import time

import pytest

from harness import REPO, sandbox_cmd

needs_tmux = pytest.mark.skipif(shutil.which("tmux") is None,
                                reason="tmux is not installed (tools/setup.sh --test)")

START_TIMEOUT = 30.0    # the sandbox's first prompt (python3 in the sandbox starts slowly under load)
STEP_TIMEOUT = 10.0     # one keystroke's visible effect


class Tmux:
    def __init__(self, tmpdir, session="sv"):
        self.env = dict(os.environ, TMUX_TMPDIR=str(tmpdir), PYTHONPATH=REPO)
        self.env.pop("TMUX", None)
        self.session = session
        self.conf = os.path.join(str(tmpdir), "tmux.conf")
        with open(self.conf, "w") as f:
            f.write("set -g history-limit 0\nset -g remain-on-exit on\n")

    def __call__(self, *args, check=True):
        return subprocess.run(["tmux", "-L", "svtest", "-f", self.conf, *args], env=self.env,
                              capture_output=True, text=True, timeout=20, check=check)

    def start(self, argv, width=80, height=24, flags=(), native=False, before=""):
        """A session whose one pane runs ``snakevisor do -t [flags] -- argv`` at width x height
        (native: argv itself, to compare with); ``before``: shell commands run in the pane first."""
        trace = os.environ.get("SNAKEVISOR_TEST_STRACE")    # a file for the sandbox's --strace
        if trace:
            flags = ("--strace", *flags)
        if native:
            cmd = "exec " + shlex.join(argv)
        else:
            cmd = (f"cd {shlex.quote(REPO)} && exec {shlex.join(sandbox_cmd(argv, ('-t', *flags)))}"
                   + (f" 2>>{shlex.quote(trace)}" if trace else ""))
        if before:
            cmd = f"{before}; {cmd}"
        self("new-session", "-d", "-s", self.session, "-x", str(width), "-y", str(height), cmd)

    def send(self, *keys):
        """tmux key names ("Enter", "C-c", "Up", "BSpace", ...) and plain words."""
        self("send-keys", "-t", self.session, *keys)

    def type(self, text):
        """Literal text, no key-name lookup (so "Enter" or "Up" in it are just letters)."""
        self("send-keys", "-t", self.session, "-l", text)

    def resize(self, width, height):
        self("resize-window", "-t", self.session, "-x", str(width), "-y", str(height))

    def screen(self, joined=False):
        """The visible rows; joined: the rows a long line wrapped into come as one."""
        return self("capture-pane", "-p", *(["-J"] if joined else []), "-t", self.session).stdout

    def rows(self):
        """The visible rows, exactly the pane's height of them (trailing blanks included)."""
        height = int(self("display-message", "-p", "-t", self.session, "#{pane_height}").stdout)
        rows = self.screen().split("\n")[:height]
        return rows + [""] * (height - len(rows))

    def _poll(self, sample, predicate, what, timeout, show):
        end = time.monotonic() + timeout
        while True:
            seen = sample()
            if predicate(seen):
                return seen
            if time.monotonic() > end:
                raise AssertionError(f"{what} not on the screen after {timeout} s:\n{show(seen)}")
            time.sleep(0.1)

    def wait_until(self, predicate, what, timeout=STEP_TIMEOUT):
        """Poll predicate(screen) until it holds; returns the screen that satisfied it."""
        return self._poll(self.screen, predicate, what, timeout, str)

    def wait_for(self, text, timeout=STEP_TIMEOUT, count=1):
        return self.wait_until(lambda s: s.count(text) >= count, repr(text) + (f" x{count}" if count > 1 else ""),
                               timeout)

    def wait_rows(self, predicate, what, timeout=STEP_TIMEOUT):
        """Like wait_until, on the list of rows."""
        return self._poll(self.rows, predicate, what, timeout, "\n".join)

    def alive(self):
        """Whether the pane's command (the sandbox) still runs."""
        r = self("display-message", "-p", "-t", self.session, "#{pane_dead}", check=False)
        return r.returncode == 0 and r.stdout.strip() == "0"

    def wait_gone(self, timeout=STEP_TIMEOUT):
        """Wait for the pane's command (the sandbox) to end; returns whether it did."""
        end = time.monotonic() + timeout
        while self.alive() and time.monotonic() < end:
            time.sleep(0.1)
        return not self.alive()

    def kill(self):
        """End the server, and wait for the pane's command (the sandbox: SIGHUP ends it) to go;
        SIGKILL it if it does not (its stubs die with it)."""
        r = self("list-panes", "-a", "-F", "#{pane_pid}", check=False)
        pids = [int(p) for p in r.stdout.split()] if r.returncode == 0 else []
        self("kill-server", check=False)
        end = time.monotonic() + STEP_TIMEOUT
        for pid in pids:
            while _running(pid) and time.monotonic() < end:
                time.sleep(0.05)
            if _running(pid):
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass


def _running(pid):
    """Whether pid still runs (a zombie does not: the tmux server, its parent, may be gone)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False


@contextlib.contextmanager
def session(tmpdir, argv, width=80, height=24, flags=(), native=False, before=""):
    """A Tmux running the sandboxed argv; the server (and so the sandbox) is killed at the end."""
    tmux = Tmux(tmpdir)
    tmux.start(argv, width, height, flags, native, before)
    try:
        yield tmux
    finally:
        tmux.kill()
