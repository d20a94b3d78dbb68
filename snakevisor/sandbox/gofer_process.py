"""Starting the Gofer: a separate process serving the sandbox's files over 9P, one socket per mount.

The first mount is the root. With ``isolate`` the Gofer locks itself down
(own mount and network namespaces, pivot_root, capabilities, seccomp); with
``overlay`` its root is an overlay of the root directory and a scratch tmpfs
(or ``overlay_upper``/upper), so the sandbox may write anywhere and the host
directory stays untouched.
"""
import os
import signal
import socket
import sys
import time
import traceback
from dataclasses import dataclass

from snakevisor.abi.prctl import PR_SET_NAME
from snakevisor.hostos.libc import close_fds_except, die_with_parent, kill_and_reap, prctl, readable
from snakevisor.sandbox import coldgc, gofer_zygote

STOP_GRACE_S = 2


@dataclass
class GoferMount:
    name: str
    host_dir: str
    readonly: bool


class GoferProcess:
    """The Gofer child process and the Sentry's ends of its sockets (one per mount)."""

    def __init__(self, mounts, isolate=False, overlay=False, overlay_upper=None, directfs=False):
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
        if directfs:
            specs.append("--directfs")   # O_PATH descriptors for the Sentry (fsimpl/gofer/directfs.py)
        keep = [s.fileno() for s in child_fds]
        # A fork, not a fresh interpreter: the Gofer is serving while the Sentry still boots
        # (a new python3 would put its start-up, ~100-200 ms, on the sandbox's critical path).
        parent = os.getpid()
        sys.stdout.flush()   # or the child would write our buffered output a second time
        sys.stderr.flush()
        pid = gofer_zygote.fork_gofer(specs, keep)   # a warm server's: smaller than a fork of us
        if pid is None:
            pid = os.fork()
            if pid == 0:
                gofer_child(specs, keep, parent)   # never returns
        gofer_zygote.forget()   # (before the Sentry locks down: it never asks again)
        self.pid = pid
        self.status = None
        for s in child_fds:
            s.close()

    def pin_to(self, cpus):
        """Run the Gofer on the Sentry's CPU(s): a 9P round trip then costs same-CPU
        switches (~40 us) instead of cross-CPU wake-ups (~130 us on a VM)."""
        try:
            for tid in os.listdir(f"/proc/{self.pid}/task"):
                os.sched_setaffinity(int(tid), cpus)
        except OSError:
            pass   # exited or not ours: only a performance hint

    def poll(self):
        """The Gofer's wait status once it has exited (reaping it), else None."""
        if self.status is None:
            try:
                pid, status = os.waitpid(self.pid, os.WNOHANG)
            except ChildProcessError:
                pid, status = self.pid, 0
            if pid:
                self.status = status
        return self.status

    def stop(self):
        """Close the connections and end the Gofer: it ends by itself once they are closed;
        SIGKILL if it has not within STOP_GRACE_S."""
        for s in self.sockets:
            try:
                s.close()
            except OSError:
                pass
        if not self._exits_within(STOP_GRACE_S):
            kill_and_reap(self.pid)
            self.status = -signal.SIGKILL

    def _exits_within(self, timeout):
        """Whether the Gofer has exited (and is reaped) within ``timeout`` seconds: a wait on its
        pidfd, woken the moment it exits (a 2 ms sleep loop before: ~1 ms more per start)."""
        deadline = time.monotonic() + timeout
        try:
            pidfd = os.pidfd_open(self.pid)
        except ProcessLookupError:   # reaped already
            return self.poll() is not None
        try:
            while self.poll() is None:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                readable(pidfd, left)
            return True
        finally:
            os.close(pidfd)


def gofer_child(specs, keep_fds, parent):
    """The forked child: its own session, only its sockets and stdio open, then the Gofer's main.
    ``parent``: our parent's pid, whose death kills us; None (the zygote forked us): the end of our
    PID namespace does (its init, the Sentry, is our parent once the zygote's helper exits).

    It shares the Sentry's command line, so ``pkill -f`` aimed at the Sentry reaches it too:
    SIGTERM/SIGINT/SIGHUP are ignored (the Gofer ends when the Sentry's connections close,
    so files the sandbox still writes while shutting down are served), and the Sentry's death
    kills it (PDEATHSIG)."""
    code = 1
    try:
        os.setsid()
        if parent is not None:
            die_with_parent()
            if os.getppid() != parent:
                os._exit(1)   # the Sentry died before PDEATHSIG was armed
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, signal.SIG_IGN)
        for sig in (signal.SIGCHLD, signal.SIGPIPE, signal.SIGIO, signal.SIGWINCH):
            signal.signal(sig, signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_SETMASK, set())
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        close_fds_except(keep_fds, lowest=3)
        prctl(PR_SET_NAME, b"sv-gofer", 0, 0, 0)
        from snakevisor.gofer.__main__ import main
        coldgc.resume()   # paused by a cold start: its imports done, the Gofer collects from now on
        code = main(specs)
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else 1
    except BaseException:
        traceback.print_exc()
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)
