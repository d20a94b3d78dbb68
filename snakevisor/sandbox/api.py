"""The embeddable Python API: ``snakevisor.Sandbox``, for programs that run untrusted code.

A Sandbox is an OCI container of our own runtime (sandbox/boot.py) in a private
temporary directory: its bundle (a config.json built from the arguments), its state
(the control socket) and its log. Its init is an idle shell loop; each ``run`` or
``popen`` is an ``exec`` over the control socket with our pipes as the process's
stdio, so runs share the sandbox's state (its overlay root, /tmp, processes).

Tied to the caller: a watcher process (forked by us, in its own session) starts the
sandbox as pid 1 of a new PID namespace with PR_SET_PDEATHSIG tied to the watcher,
and waits on a pidfd of the caller: when the caller dies however it dies (even
SIGKILL), the watcher SIGKILLs the sandbox (the kernel then kills everything in
its namespace) and removes the directory. A pidfd, not PDEATHSIG on the watcher:
PDEATHSIG fires when the creating *thread* exits, which would kill a sandbox made
in a worker thread.

Files: ``put_file``/``get_file`` exec ``cat`` in the sandbox with the data on its
stdin/stdout, so they reach any path the sandbox sees (its overlay root, its tmpfs
/tmp, volumes) with the sandbox's own permission checks and memory limit; a
private volume would reach only one host directory, and would let the host read
what the untrusted code left there (symlinks included) outside the sandbox.
"""
from __future__ import annotations

import dataclasses
import errno
import json
import os
import selectors
import shutil
import signal
import subprocess
import tempfile
import time
import types

from snakevisor.sandbox import control

PIPE, STDOUT, DEVNULL = subprocess.PIPE, subprocess.STDOUT, subprocess.DEVNULL
CID = "sandbox"
IDLE_INIT = ["/bin/sh", "-c", "while :; do sleep 3600; done"]
KILL_GRACE = 10.0      # after a timeout's SIGKILL: how long output may still drain
CLOSE_TIMEOUT = 30.0   # close(): how long the sandbox may take to stop before SIGKILL


class SandboxError(Exception):
    """The sandbox could not be started, or stopped answering."""


@dataclasses.dataclass
class Result:
    """What a run gave: ``stdout``/``stderr`` bytes as subprocess gives them; ``exit_code`` as
    subprocess's returncode (-N after death by signal N, then ``signal`` is N); ``timed_out``
    when the run was killed at its timeout; CPU seconds of the process and the children it
    waited for. ``max_rss`` is None: the Sentry keeps no per-process peak."""
    argv: list
    stdout: bytes
    stderr: bytes
    exit_code: int
    signal: int | None = None
    timed_out: bool = False
    user_time: float = 0.0
    system_time: float = 0.0
    max_rss: int | None = None

    def check(self):
        """Raise subprocess.CalledProcessError unless the run exited with 0."""
        if self.exit_code != 0 or self.timed_out:
            raise subprocess.CalledProcessError(self.exit_code, self.argv, self.stdout, self.stderr)
        return self


def _status_fields(status):
    """A wait status -> (returncode as subprocess's, signal or None)."""
    if status & 0x7F == 0:
        return (status >> 8) & 0xFF, None
    return -(status & 0x7F), status & 0x7F


class Process:
    """A process running in the sandbox (``Sandbox.popen``): ``stdin``/``stdout``/``stderr``
    are binary file objects (those asked for with PIPE), ``pid`` its pid inside the sandbox.
    Iterating it yields stdout's lines. Leaving a ``with`` block kills it if it still runs."""

    def __init__(self, sandbox, argv, conn, pid, stdin, stdout, stderr):
        self.sandbox, self.args, self._conn, self.pid = sandbox, argv, conn, pid
        self.stdin, self.stdout, self.stderr = stdin, stdout, stderr
        self.returncode = None
        self.signal = None
        self.user_time = self.system_time = 0.0
        self.timed_out = False

    def __iter__(self):
        return iter(self.stdout)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        for f in (self.stdin, self.stdout, self.stderr):
            if f is not None:
                f.close()
        if self.poll() is None:
            self.kill()
        try:
            self.wait(KILL_GRACE)
        except subprocess.TimeoutExpired:
            pass
        return False

    def _on_exit(self, reply):
        self.returncode, self.signal = _status_fields(reply["status"])
        self.user_time, self.system_time = reply.get("user", 0.0), reply.get("system", 0.0)
        self._conn.close()

    def poll(self):
        """The returncode if the process has exited, else None."""
        if self.returncode is None and self._conn.fileno() != -1:
            self._conn.settimeout(0)
            try:
                self._on_exit(control.receive(self._conn))
            except control.ControlTimeout:
                pass
            except control.ControlError as e:
                raise SandboxError(str(e)) from None
            except BlockingIOError:
                pass
            finally:
                if self._conn.fileno() != -1:
                    self._conn.settimeout(None)
        return self.returncode

    def wait(self, timeout=None):
        """Wait for the process to exit (subprocess.TimeoutExpired after ``timeout`` seconds)."""
        if self.returncode is None:
            self._conn.settimeout(timeout)
            try:
                self._on_exit(control.receive(self._conn))
            except control.ControlTimeout:
                raise subprocess.TimeoutExpired(self.args, timeout) from None
            except control.ControlError as e:
                raise SandboxError(str(e)) from None
            finally:
                if self._conn.fileno() != -1:
                    self._conn.settimeout(None)
        return self.returncode

    def send_signal(self, sig, group=True):
        """Signal the process (``group``: its whole process group, the children it started too)."""
        if self.returncode is not None:
            return
        try:
            control.call(self.sandbox._socket, {"op": "kill", "signal": int(sig), "pid": self.pid,
                                                "group": group})
        except control.ControlError as e:
            if e.errno != errno.ESRCH:   # gone already: nothing to signal, as Popen.send_signal
                raise SandboxError(str(e)) from None

    def kill(self):
        """SIGKILL the process and its process group."""
        self.send_signal(signal.SIGKILL)

    def terminate(self):
        self.send_signal(signal.SIGTERM)


class Sandbox:
    """A sandbox for untrusted code: runs share its state until ``close()`` (or the end of a
    ``with`` block) removes it and everything it ran. See the module docstring and README.md.

    ``rootfs``: the root directory (default the host's /), seen through an overlay whose
    changes stay in the sandbox; ``volumes``: host directories as "HOST:/PATH[:ro]" strings or
    (host, path[, "ro"]) tuples; ``network``: "none" (own namespace, loopback only) or "host";
    ``memory`` (bytes or "512m"), ``pids`` (tasks): limits as `snakevisor do` has them (None:
    its defaults, 0: none); ``cpu_time``: RLIMIT_CPU seconds of each run; ``timeout``: default
    wall-clock seconds of each run."""

    def __init__(self, rootfs=None, volumes=(), network="none", memory=None, pids=None, cpu_time=None,
                 timeout=None):
        if network not in ("none", "host"):
            raise ValueError(f"network must be 'none' or 'host', not {network!r}")
        self.timeout, self.cpu_time = timeout, cpu_time
        self.pid = None            # the sandbox process (host pid)
        self.watcher_pid = None
        self._closed = False
        self.dir = tempfile.mkdtemp(prefix="snakevisor-sandbox-")
        try:
            bundle = os.path.join(self.dir, "bundle")
            self.state_dir = os.path.join(self.dir, "state")
            os.makedirs(bundle)
            os.makedirs(self.state_dir)
            self._socket = os.path.join(self.state_dir, "control.sock")
            with open(os.path.join(bundle, "config.json"), "w") as f:
                json.dump(_config(rootfs, volumes, memory, pids), f)
            self._start(bundle, network)
        except BaseException:
            self.close()
            raise

    # -- lifecycle -------------------------------------------------------------------
    def _start(self, bundle, network):
        from snakevisor.sandbox.container import NO_SANDBOX_PROCESS, boot_command, read_sandbox_pid, wait_ready

        opts = types.SimpleNamespace(root=self.dir, log=None, log_format="text", debug=False, strace=False,
                                     no_seccomp=False, network=network)
        ready_r, ready_w = os.pipe()
        pid_r, pid_w = os.pipe()
        argv, env = boot_command(opts, CID, bundle, self.state_dir, ready_w)
        log_fd = os.open(os.path.join(self.dir, "sandbox.log"), os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0o600)
        caller = os.getpid()
        watcher = os.fork()
        if watcher == 0:
            try:
                os.close(ready_r)
                os.close(pid_r)
                _watch(caller, argv, env, (ready_w, pid_w, log_fd), self.dir)
            finally:
                os._exit(1)
        self.watcher_pid = watcher
        os.close(ready_w)
        os.close(pid_w)
        os.close(log_fd)
        self.pid = read_sandbox_pid(pid_r, ready_r)
        if self.pid is None:
            raise SandboxError(NO_SANDBOX_PROCESS + self._log_tail())
        try:
            wait_ready(ready_r)
            control.call(self._socket, {"op": "start"})   # init (the idle loop) runs
        except Exception as e:
            raise SandboxError(f"{e}{self._log_tail()}") from None

    def _log_tail(self):
        try:
            with open(os.path.join(self.dir, "sandbox.log"), "rb") as f:
                tail = f.read()[-2000:].decode(errors="replace").strip()
        except OSError:
            return ""
        return f"\n{tail}" if tail else ""

    def close(self):
        """Stop the sandbox: every process in it dies, its directory is removed. Idempotent."""
        if self._closed:
            return
        self._closed = True
        if self.pid is not None:
            try:   # init's death ends the sandbox after it has written volumes' cached data back
                control.call(self._socket, {"op": "kill", "signal": signal.SIGKILL}, timeout=5)
            except control.ControlError:
                pass
        if self.watcher_pid is not None:   # it exits once the sandbox has
            with selectors.DefaultSelector() as sel:
                sel.register(os.pidfd_open(self.watcher_pid), selectors.EVENT_READ)
                if not sel.select(CLOSE_TIMEOUT) and self.pid is not None:
                    _kill(self.pid)   # it does not stop: its PID namespace dies with its pid 1
                os.close(next(iter(sel.get_map())))
            os.waitpid(self.watcher_pid, 0)
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def __del__(self):
        if not getattr(self, "_closed", True):
            self.close()

    # -- processes -------------------------------------------------------------------
    def popen(self, argv, stdin=None, stdout=PIPE, stderr=PIPE, env=None, cwd=None):
        """Start ``argv`` in the sandbox and return a Process at once. ``stdin``: None (/dev/null)
        or PIPE; ``stdout``/``stderr``: PIPE, DEVNULL, or STDOUT for stderr (merged)."""
        if self._closed:
            raise SandboxError("the sandbox is closed")
        if isinstance(argv, (str, bytes, os.PathLike)):
            argv = [argv]    # a program with no arguments, as subprocess takes it without a shell
        argv = [os.fsdecode(a) for a in argv]
        if not argv:
            raise ValueError("argv: empty (no program to run)")
        process = {"args": argv, "cwd": cwd or "/", "env": [f"{k}={v}" for k, v in (env or {}).items()]}
        if self.cpu_time is not None:
            n = int(self.cpu_time)
            process["rlimits"] = [{"type": "RLIMIT_CPU", "soft": n, "hard": n}]
        ours, theirs = [None, None, None], []
        try:
            with open(os.devnull, "rb+") as null:
                for i, want in enumerate((stdin, stdout, stderr)):
                    if want == PIPE:
                        r, w = os.pipe2(os.O_CLOEXEC)
                        ours[i], child = (w, r) if i == 0 else (r, w)
                        theirs.append(child)
                    elif i == 2 and want == STDOUT:
                        theirs.append(os.dup(theirs[1]))
                    elif want in (None, DEVNULL):
                        theirs.append(os.dup(null.fileno()))
                    else:
                        raise ValueError(f"stdio {i}: PIPE, DEVNULL or (stderr) STDOUT, not {want!r}")
            try:
                conn, pid = control.start_exec(self._socket, process, theirs)
            except control.ControlError as e:
                if e.errno and e.subject in ("program", "cwd"):   # as subprocess raises them: OSError's
                    # subclass for the errno (FileNotFoundError, PermissionError, NotADirectoryError)
                    raise OSError(e.errno, str(e), argv[0] if e.subject == "program" else cwd) from None
                raise SandboxError(str(e)) from None
        except BaseException:
            for fd in ours:
                if fd is not None:
                    os.close(fd)
            raise
        finally:
            for fd in theirs:
                os.close(fd)
        files = [None if fd is None else os.fdopen(fd, "wb" if i == 0 else "rb")
                 for i, fd in enumerate(ours)]
        return Process(self, argv, conn, pid, *files)

    def run(self, argv, input=None, env=None, cwd=None, timeout=None):
        """Run ``argv`` to completion and return a Result. ``input``: bytes for its stdin (else
        /dev/null); ``env``: its environment (PATH defaults to the usual one); ``cwd``: its
        directory (default /); ``timeout``: seconds (default the sandbox's), after which its
        whole process group is SIGKILLed and the Result says ``timed_out``."""
        timeout = self.timeout if timeout is None else timeout
        proc = self.popen(argv, stdin=PIPE if input is not None else None, env=env, cwd=cwd)
        out, err, timed_out = _communicate(proc, input, timeout)
        return Result(argv=proc.args, stdout=out, stderr=err, exit_code=proc.returncode, signal=proc.signal,
                      timed_out=timed_out, user_time=proc.user_time, system_time=proc.system_time)

    def ps(self):
        """The sandbox's processes as its kernel sees them: dicts with pid, ppid, cmd, state."""
        try:
            procs = control.list_processes(self._socket)
        except control.ControlError as e:
            raise SandboxError(str(e)) from None
        return [{k: p[k] for k in ("pid", "ppid", "cmd", "state")} for p in procs]

    # -- files -----------------------------------------------------------------------
    def put_file(self, path, data, mode=None):
        """Write ``data`` (bytes or str) to ``path`` in the sandbox (created or truncated)."""
        if isinstance(data, str):
            data = data.encode()
        script = 'cat > "$1"' + (f' && chmod {int(mode):o} "$1"' if mode is not None else "")
        res = self.run(["/bin/sh", "-c", script, "sh", path], input=bytes(data))
        if res.exit_code != 0:
            raise OSError(f"put_file {path}: {res.stderr.decode(errors='replace').strip()}")

    def get_file(self, path):
        """The contents of ``path`` in the sandbox (FileNotFoundError if it is not there)."""
        res = self.run(["/bin/sh", "-c", 'test -e "$1" || exit 2; exec cat -- "$1"', "sh", path])
        if res.exit_code == 2 and not res.stderr:
            raise FileNotFoundError(errno.ENOENT, "no such file in the sandbox", path)
        if res.exit_code != 0:
            raise OSError(f"get_file {path}: {res.stderr.decode(errors='replace').strip()}")
        return res.stdout


def _communicate(proc, input, timeout):
    """Feed ``input``, collect stdout and stderr until EOF and the exit status; SIGKILL the
    process group at ``timeout``. Returns (stdout, stderr, timed_out)."""
    sel = selectors.DefaultSelector()
    chunks = {proc.stdout: [], proc.stderr: []}
    view = memoryview(input or b"")
    for f in chunks:
        os.set_blocking(f.fileno(), False)
        sel.register(f, selectors.EVENT_READ)
    if proc.stdin is not None:
        if view:
            os.set_blocking(proc.stdin.fileno(), False)
            sel.register(proc.stdin, selectors.EVENT_WRITE)
        else:
            proc.stdin.close()
    sel.register(proc._conn, selectors.EVENT_READ)
    deadline = None if timeout is None else time.monotonic() + timeout
    timed_out = False
    try:
        while sel.get_map():
            wait = None if deadline is None else max(0.0, deadline - time.monotonic())
            events = sel.select(wait)
            if not events and deadline is not None and time.monotonic() >= deadline:
                if timed_out or proc.returncode is not None:
                    break   # killed (or exited) and the output still not closed: a process outside its group holds it
                timed_out = True
                proc.kill()
                deadline = time.monotonic() + KILL_GRACE
                continue
            for key, _ in events:
                view = _pump(sel, proc, key.fileobj, view, chunks)
        if proc.returncode is None:
            proc.wait(KILL_GRACE)
    finally:
        sel.close()
        for f in (proc.stdin, proc.stdout, proc.stderr):
            if f is not None and not f.closed:
                f.close()
    return b"".join(chunks[proc.stdout]), b"".join(chunks[proc.stderr]), timed_out


def _pump(sel, proc, f, view, chunks):
    """Serve one ready file of ``_communicate``: the exit report, stdin (``view``: what is left
    to write) or an output pipe (into ``chunks``); a file done with is unregistered and closed.
    Returns what is left of ``view``."""
    if f is proc._conn:
        sel.unregister(f)
        proc.wait()
        return view
    if f is proc.stdin:
        try:
            n = os.write(f.fileno(), view[:65536])
        except (BrokenPipeError, BlockingIOError) as e:
            n = 0 if isinstance(e, BlockingIOError) else len(view)
        view = view[n:]
        if not view:
            sel.unregister(f)
            f.close()
        return view
    try:
        data = os.read(f.fileno(), 65536)
    except BlockingIOError:
        return view
    if data:
        chunks[f].append(data)
    else:
        sel.unregister(f)
        f.close()
    return view


def _config(rootfs, volumes, memory, pids):
    """The sandbox's config.json: `snakevisor spec`'s default with our root, idle init, a
    writable overlay root, a tmpfs /tmp, the volumes as bind mounts and the limits."""
    from snakevisor.oci.spec import default_spec
    from snakevisor.sandbox.do import parse_size, parse_volume, resolve_limits
    spec = default_spec(args=IDLE_INIT, terminal=False)
    spec["root"] = {"path": os.path.abspath(rootfs) if rootfs else "/", "readonly": False}
    spec["process"]["env"] = []
    spec["mounts"].append({"destination": "/tmp", "type": "tmpfs", "source": "tmpfs",
                           "options": ["nosuid", "nodev", "mode=1777"]})
    for v in volumes:
        if not isinstance(v, str):
            v = ":".join(v)
        host, path, ro = parse_volume(v)
        spec["mounts"].append({"destination": path, "type": "bind", "source": host,
                               "options": ["rbind", "ro" if ro else "rw"]})
    if isinstance(memory, str):
        memory = parse_size(memory)
    max_tasks, memory_limit, _ = resolve_limits(pids, memory)
    resources = spec["linux"]["resources"]
    if memory_limit:
        resources["memory"] = {"limit": memory_limit}
    if max_tasks:
        resources["pids"] = {"limit": max_tasks}
    return spec


def _kill(pid):
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _watch(caller, argv, env, keep_fds, tmpdir):
    """The watcher (a forked child; never returns): starts the sandbox as pid 1 of a new PID
    namespace, sends its pid, then waits for it or for the caller's death."""
    from snakevisor.hostos import die_with_parent, readable
    from snakevisor.sandbox.container import exec_sandbox
    from snakevisor.sandbox.lockdown import new_pid_namespace
    ready_w, pid_w, log_fd = keep_fds
    os.setsid()   # the caller's terminal signals (^C) are not the sandbox's
    caller_fd = os.pidfd_open(caller)
    if os.getppid() != caller:
        os._exit(1)   # the caller died before we could watch it
    null = os.open(os.devnull, os.O_RDWR)
    keep = {ready_w, pid_w, log_fd, caller_fd, null}
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    for fd in map(int, os.listdir("/proc/self/fd")):   # the caller's pipes must see EOF without us
        if fd not in keep and fd > 2:
            try:
                os.close(fd)
            except OSError:
                pass
    new_pid_namespace()
    me = os.pidfd_open(os.getpid())   # in the new namespace getppid() says 0: ask a pidfd instead
    child = os.fork()
    if child == 0:
        try:
            die_with_parent()
            if readable(me):
                os._exit(1)   # the watcher died before PDEATHSIG was set
            os.close(me)
        except BaseException:
            os._exit(127)
        exec_sandbox(argv, env, (null, null, log_fd), ready_w)
    os.close(me)
    os.close(ready_w)
    os.write(pid_w, str(child).encode())
    os.close(pid_w)
    child_fd = os.pidfd_open(child)
    sel = selectors.DefaultSelector()
    sel.register(caller_fd, selectors.EVENT_READ)
    sel.register(child_fd, selectors.EVENT_READ)
    ready = {key.fd for key, _ in sel.select()}
    orphaned = caller_fd in ready
    if orphaned:
        _kill(child)
    os.waitpid(child, 0)
    if orphaned:
        shutil.rmtree(tmpdir, ignore_errors=True)
    os._exit(0)
