"""Starting the Gofer: a separate process serving the sandbox's files over 9P, one socket per mount.

The first mount is the root. With ``isolate`` the Gofer locks itself down
(own mount and network namespaces, pivot_root, capabilities, seccomp); with
``overlay`` its root is an overlay of the root directory and a scratch tmpfs
(or ``overlay_upper``/upper), so the sandbox may write anywhere and the host
directory stays untouched.
"""
import os
import socket
import subprocess
import sys
from dataclasses import dataclass

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@dataclass
class GoferMount:
    name: str
    host_dir: str
    readonly: bool


class GoferProcess:
    """The Gofer child process and the Sentry's ends of its sockets (one per mount)."""

    def __init__(self, mounts, isolate=False, overlay=False, overlay_upper=None):
        self.mounts = list(mounts)
        self.sockets = []
        child_fds, specs = [], []
        for m in self.mounts:
            ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
            self.sockets.append(ours)
            child_fds.append(theirs)
            specs += ["--mount", f"{m.name}={m.host_dir}:{'ro' if m.readonly else 'rw'},fd={theirs.fileno()}"]
        if isolate:
            specs.append("--isolate")
        if overlay:
            specs.append("--overlay")
        if overlay_upper is not None:
            specs += ["--overlay-upper", os.path.abspath(overlay_upper)]
        env = dict(os.environ)
        env["PYTHONPATH"] = REPO_ROOT + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "snakevisor.gofer", *specs],
            pass_fds=[s.fileno() for s in child_fds], stdin=subprocess.DEVNULL, env=env,
            start_new_session=True)
        for s in child_fds:
            s.close()

    def pin_to(self, cpus):
        """Run the Gofer on the Sentry's CPU(s): a 9P round trip then costs same-CPU
        switches (~40 us) instead of cross-CPU wake-ups (~130 us on a VM)."""
        try:
            for tid in os.listdir(f"/proc/{self.proc.pid}/task"):
                os.sched_setaffinity(int(tid), cpus)
        except OSError:
            pass   # exited or not ours: only a performance hint

    def stop(self):
        for s in self.sockets:
            try:
                s.close()
            except OSError:
                pass
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
