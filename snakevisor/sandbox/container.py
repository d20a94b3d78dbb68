"""The container lifecycle as the OCI verbs drive it, on the host side (runc's model).

``create`` validates the bundle, records the state, spawns the sandbox process
(sandbox/boot.py) as pid 1 of a new PID namespace and waits until it has booted the
Sentry and loaded init; ``start`` tells it to run init; ``kill``, ``exec`` and ``ps``
talk to it over its control socket; ``delete`` kills it if needed and removes every
trace. The sandbox process's exit status is the container's exit code.
"""
from __future__ import annotations

import fcntl
import os
import signal
import struct
import sys
import termios
import time

# The config model, lockdown, hostos and logging are imported where used: a start, state, kill,
# delete or list (a fresh interpreter each, several per container: cli/light.py) needs none of them;
# the control socket's module (and socket) only start, kill, ps and exec.
from snakevisor.sandbox.hooks import CREATE_HOOKS, START_HOOKS, run_hooks
from snakevisor.sandbox.state import CONTROL_SOCKET, ContainerState, StateError, now_rfc3339, process_start_time
from snakevisor.sentry import platform as platform_names

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BOOT_TIMEOUT = 120.0
NO_SANDBOX_PROCESS = "cannot start the sandbox process (new PID namespace refused?)"


def parse_signal(text):
    """"TERM", "SIGTERM", "15" -> 15."""
    text = str(text).strip()
    if text.isdigit():
        n = int(text)
        if 1 <= n <= 64:
            return n
        raise StateError(f"invalid signal {text!r}")
    name = text.upper()
    if not name.startswith("SIG"):
        name = "SIG" + name
    try:
        return int(signal.Signals[name])
    except KeyError:
        raise StateError(f"invalid signal {text!r}") from None


def write_pid_file(path, pid):
    path = os.path.abspath(path)
    tmp = os.path.join(os.path.dirname(path), f".{os.path.basename(path)}.{os.getpid()}")
    try:
        with open(tmp, "w") as f:
            f.write(str(pid))
        os.rename(tmp, path)
    except OSError as e:
        raise StateError(f"--pid-file {path}: {e.strerror}") from None


def send_console(socket_path, master_fd):
    """Hand a pty master to whoever listens on ``socket_path``, as runc does (name + SCM_RIGHTS)."""
    import socket
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
    try:
        s.connect(socket_path)
        socket.send_fds(s, [b"/dev/ptmx"], [master_fd])
    except OSError as e:
        raise StateError(f"--console-socket {socket_path}: {e.strerror or e}") from None
    finally:
        s.close()


def check_terminal(terminal, detach, console_socket):
    """runc's rules: a detached process's terminal goes to --console-socket, which is for nothing else."""
    if terminal and detach and not console_socket:
        raise StateError("process.terminal is true: a detached container's terminal needs --console-socket")
    if console_socket and not (terminal and detach):
        raise StateError("--console-socket: only for a detached process with a terminal (process.terminal, -t)")


def open_console(console_socket, size=None):
    """A pty pair: the master goes over ``console_socket``; returns the replica's fd."""
    master, replica = os.openpty()
    try:
        if size:
            fcntl.ioctl(replica, termios.TIOCSWINSZ, struct.pack("HHHH", size[0], size[1], 0, 0))
        send_console(console_socket, master)
    finally:
        os.close(master)
    return replica


# -- spawning the sandbox ----------------------------------------------------------------
def _boot_argv(opts, cid, bundle, state_dir, ready_fd):
    argv = [sys.executable, "-m", "snakevisor", "--root", opts.root]
    if opts.log:
        argv += ["--log", opts.log, "--log-format", opts.log_format]
    if opts.debug:
        argv.append("--debug")
    if opts.strace:
        argv.append("--strace")
    if getattr(opts, "platform", platform_names.DEFAULT) != platform_names.DEFAULT:
        argv += ["--platform", opts.platform]
    if getattr(opts, "overlay2", None) is not None:
        argv += ["--overlay2", str(opts.overlay2)]
    argv += ["sandbox-boot", "--id", cid, "--bundle", bundle, "--state-dir", state_dir,
             "--ready-fd", str(ready_fd)]
    if opts.network:
        argv += ["--network", opts.network]
    if getattr(opts, "no_seccomp", False):
        argv.append("--no-seccomp")
    if getattr(opts, "net_raw", False):
        argv.append("--net-raw")
    if getattr(opts, "directfs", False):
        argv.append("--directfs")
    return argv


def boot_command(opts, cid, bundle, state_dir, ready_fd):
    """(argv, environment) of the sandbox process: ``sandbox-boot`` of this checkout's snakevisor."""
    env = dict(os.environ)
    env["PYTHONPATH"] = REPO_ROOT + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return _boot_argv(opts, cid, bundle, state_dir, ready_fd), env


def exec_sandbox(argv, env, stdio, ready_fd, console=False):
    """In a forked child: become the sandbox process, ``stdio`` its fds 0-2 (never returns). With
    ``console`` (stdio is the console's replica) the replica becomes the controlling terminal of a
    session of its own, as runc makes it the container's: the engine's resizes then reach the
    sandbox as SIGWINCH, which its Console passes on to the Sentry's terminal. In a fork of the
    warm server (``WARM.boot_in_place``) the boot runs here, in this already-initialised interpreter."""
    try:
        for i, fd in enumerate(stdio):
            if fd != i:
                os.dup2(fd, i)
        if console:
            os.setsid()
            fcntl.ioctl(0, termios.TIOCSCTTY, 0)
        os.set_inheritable(ready_fd, True)
        if WARM.boot_in_place:
            _boot_in_place(argv, env)
        os.execve(sys.executable, argv, env)
    finally:
        os._exit(127)


class WarmSettings:
    """What a fork of the warm server (snakevisor/warm/) changes here. ``boot_in_place``: the
    interpreter has every module imported, so the sandbox process is this fork, not a new
    interpreter (a cold ``create`` sets it too: prepare_boot_in_place). ``keeper``: (pid, start time, fd) of a warm ``create`` or ``exec -d``: the
    container's pid (the exec's pid file) is the keeper's, a process of the caller's (its engine
    waits for it), and "sandbox PID" (the exec: "pid PID", once started) is written to the fd for
    the session that serves the keeper."""
    boot_in_place = False
    keeper = None


WARM = WarmSettings()


# What sandbox-boot, its Gofer (a fork of it) and create itself (the state's time and owner) import
# beyond this module. The Gofer's own, imported in its fork, would delay the Sentry's first 9P
# round trip (it waits for the Gofer to serve) by ~5-9 ms; here ~2 ms.
BOOT_MODULES = ("snakevisor.sandbox.boot", "snakevisor.gofer.__main__", "datetime", "getpass")


def prepare_boot_in_place():
    """A cold ``create``, and the warm server before it forks its sessions: import what
    ``sandbox-boot`` and ``create`` import, here, and make the sandbox process a fork of this one
    (boot_in_place), not a second interpreter: its start-up, ``site``, the CLI's imports and
    parser are off the critical path (they would come before the same imports)."""
    if not WARM.boot_in_place:
        import importlib
        for name in BOOT_MODULES:
            importlib.import_module(name)
        WARM.boot_in_place = True


def _boot_in_place(argv, env):
    """What execve(argv, env) would do, minus the new interpreter: the descriptors it would close
    are closed, the signals it would reset are reset (to a fresh interpreter's), and ``sandbox-boot``
    runs with ``env`` as the environment; never returns."""
    import logging
    from snakevisor.cli.main import main   # imported already (the warm server's template)
    log = logging.getLogger("snakevisor")
    for handler in log.handlers:   # its file (--log) closed by its object: no fd closed twice later
        handler.close()
    log.handlers[:] = []
    for fd in _open_fds():
        try:
            if fd > 2 and not os.get_inheritable(fd):
                os.close(fd)
        except OSError:   # the directory listing's own fd, closed since
            pass
    for sig in signal.valid_signals() - {signal.SIGKILL, signal.SIGSTOP}:
        try:
            signal.signal(sig, signal.SIG_DFL)
        except (OSError, ValueError):
            pass
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGPIPE, signal.SIG_IGN)   # as Python sets them at start-up
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    os.environ.clear()
    os.environ.update(env)
    sys.argv[:] = argv[2:]   # [-m snakevisor] dropped: ["snakevisor", "--root", ...] as python -m has it
    sys.argv[0] = "snakevisor"
    code = main(argv[3:], warm=False)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code or 0)


def _open_fds():
    try:
        return [int(name) for name in os.listdir("/proc/self/fd")]
    except OSError:
        return list(range(3, 1024))


def read_sandbox_pid(pid_r, ready_r):
    """The host pid of the sandbox process, as its forker writes it to ``pid_r`` (both fds are
    closed then); None when there is none (``ready_r`` is closed too)."""
    data = read_to_eof(pid_r)
    if not data:
        os.close(ready_r)
        return None
    return int(data)


def spawn_sandbox(opts, cid, bundle, state_dir, stdio, detach, console=False):
    """Fork, (setsid,) new PID namespace, fork again: the grandchild execs the sandbox as pid 1 of
    the namespace; the middle process exits at once. Returns (host pid, ready fd)."""
    ready_r, ready_w = os.pipe()
    pid_r, pid_w = os.pipe()
    argv, env = boot_command(opts, cid, bundle, state_dir, ready_w)
    middle = os.fork()
    if middle == 0:
        code = 1
        try:
            os.close(ready_r)
            os.close(pid_r)
            if detach:
                os.setsid()
            from snakevisor.sandbox.lockdown import new_pid_namespace
            new_pid_namespace()
            child = os.fork()
            if child == 0:
                exec_sandbox(argv, env, stdio, ready_w, console)
            os.write(pid_w, str(child).encode())
            code = 0
        finally:
            os._exit(code)
    os.close(ready_w)
    os.close(pid_w)
    pid = read_sandbox_pid(pid_r, ready_r)
    os.waitpid(middle, 0)
    if pid is None:
        raise StateError(NO_SANDBOX_PROCESS)
    return pid, ready_r


def read_to_eof(fd):
    """All that is written to pipe ``fd`` until its writers close it; ``fd`` is closed."""
    data = b""
    try:
        while chunk := os.read(fd, 4096):
            data += chunk
    finally:
        os.close(fd)
    return data


def wait_ready(ready_fd, timeout=BOOT_TIMEOUT):
    """The sandbox's one line: "ok" or "error: ..."."""
    from snakevisor.hostos import readable   # only create waits here (the light verbs skip hostos)
    deadline = time.monotonic() + timeout
    data = b""
    try:
        while not data.endswith(b"\n"):
            left = deadline - time.monotonic()
            if left <= 0 or not readable(ready_fd, left):
                raise StateError("the sandbox did not boot in time")
            chunk = os.read(ready_fd, 4096)
            if not chunk:
                break
            data += chunk
    finally:
        os.close(ready_fd)
    line = data.decode(errors="replace").strip()
    if line != "ok":
        raise StateError(line[len("error: "):] if line.startswith("error: ") else
                         "the sandbox process died while booting")


def kill_sandbox(state, timeout=10.0, keeper=True):
    """SIGKILL the sandbox process (pid 1 of its namespace: everything in it dies too), and the
    keeper of a warm one (unless not ``keeper``: a failed create's, which tells its caller), and
    wait until they are gone (their pidfds readable: no polling)."""
    procs = []
    pids = [(state.pid, state.pid_start)] if keeper or not state.sandbox_pid else []
    try:
        for pid, start in pids + [(state.sandbox_pid, state.sandbox_start)]:
            pidfd = _pidfd_if_ours(pid, start)
            if pidfd is None:
                continue
            procs.append((pid, pidfd))
            try:
                signal.pidfd_send_signal(pidfd, signal.SIGKILL)
            except ProcessLookupError:
                pass
        _wait_gone(procs, timeout)
    finally:
        for _, pidfd in procs:
            os.close(pidfd)


def _pidfd_if_ours(pid, start):
    """A pidfd of live process ``pid`` if it is the one that started at ``start`` (clock ticks; 0:
    any), else None. Opened first, then checked: the pidfd cannot name a process that reuses the pid."""
    if not pid:
        return None
    try:
        pidfd = os.pidfd_open(pid)
    except ProcessLookupError:
        return None
    now = process_start_time(pid)
    if now is None or (start and now != start):   # gone (a zombie), or the pid was reused: not ours
        os.close(pidfd)
        return None
    return pidfd


def _wait_gone(procs, timeout):
    """Wait until each (pid, pidfd) of ``procs`` has exited, ``timeout`` s at most; those that are
    our children (the sandbox ``run`` waits for) are reaped."""
    import select
    poller = select.poll()
    for _, pidfd in procs:
        poller.register(pidfd, select.POLLIN)
    deadline = time.monotonic() + timeout
    left = len(procs)
    while left and (ms := int((deadline - time.monotonic()) * 1000)) > 0:
        for pidfd, _ in poller.poll(ms):
            poller.unregister(pidfd)
            left -= 1
    for pid, _ in procs:
        try:
            os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            pass


# -- the verbs -----------------------------------------------------------------------------
def create(store, opts, cid, bundle, pid_file=None, console_socket=None, detach=True):
    """Create container ``cid``; returns its ContainerState (status created)."""
    store.check_id(cid)
    bundle = os.path.abspath(bundle)
    from snakevisor.oci.config import load_spec
    spec = load_spec(bundle)     # ConfigError: one line naming the field
    check_terminal(spec.process.terminal, detach, console_socket)
    state = ContainerState(id=cid, bundle=bundle, created=now_rfc3339(), annotations=spec.annotations,
                           rootfs=spec.root.path, owner=_owner(), hooks=spec.raw.get("hooks") or {})
    with store.locked():
        store.new(state)
    replica = None
    try:
        stdio = (0, 1, 2)
        if spec.process.terminal and console_socket:
            replica = open_console(console_socket, spec.process.console_size)
            stdio = (replica, replica, replica)
        elif spec.process.terminal and not detach and not os.isatty(0):
            import logging
            logging.getLogger("snakevisor").debug("terminal requested without a console socket or a tty: using the caller's stdio")
        prepare_boot_in_place()
        pid, ready = spawn_sandbox(opts, cid, bundle, store.dir(cid), stdio, detach, console=replica is not None)
        state = store.update(cid, **_container_pids(pid))
        wait_ready(ready)
        state = store.update(cid, status="created")
        run_hooks(spec.hooks, CREATE_HOOKS, state.oci("created"), fatal=True)
        if pid_file:
            write_pid_file(pid_file, state.pid)
    except BaseException:
        kill_sandbox(store.load(cid), keeper=False)
        store.remove(cid)
        raise
    finally:
        if replica is not None:
            os.close(replica)
    return state


def _container_pids(pid):
    """The state's pid fields for sandbox process ``pid``: its own, or under a warm ``create``
    the keeper's (the sandbox's go to the session that reaps it, and to sandbox_pid)."""
    if WARM.keeper is None:
        return {"pid": pid, "pid_start": process_start_time(pid) or 0}
    keeper, keeper_start, report_fd = WARM.keeper
    os.write(report_fd, f"sandbox {pid}\n".encode())
    return {"pid": keeper, "pid_start": keeper_start, "sandbox_pid": pid,
            "sandbox_start": process_start_time(pid) or 0}


def _owner():
    import getpass
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return str(os.getuid())


def _state_hooks(state, kinds, status):
    """Run the recorded hooks of ``kinds`` (validated by ``create`` already), failures logged;
    without any, the config model is not even imported."""
    if not any(state.hooks.get(kind) for kind in kinds):
        return
    from snakevisor.oci.config import parse_hooks
    run_hooks(parse_hooks(state.hooks), kinds, state.oci(status), fatal=False)


def start(store, cid):
    from snakevisor.sandbox import control
    state = store.load(cid)
    status = store.status(state)
    if status != "created":
        raise StateError(f"cannot start container {cid}: it is {status}" if status != "running"
                         else f"cannot start container {cid}: it is already running")
    try:
        control.call(store.path(cid, CONTROL_SOCKET), {"op": "start"})
    except control.ControlError as e:
        raise StateError(f"cannot start container {cid}: {e}") from None
    state = store.update(cid, status="running")
    _state_hooks(state, START_HOOKS, "running")
    return state


def state_of(store, cid):
    state = store.load(cid)
    return state.oci(store.status(state))


def list_states(store):
    out = []
    for cid in store.ids():
        try:
            out.append(state_of(store, cid))
        except StateError:
            continue
    return out


def kill(store, cid, sig, everything=False):
    """Signal the container's init (``everything``: all its processes), as runc 1.1 does: `kill
    --all` of a stopped container succeeds (nothing is left: its processes die with the sandbox),
    `kill` of one fails with runc's words "container not running", which the containerd shim
    takes for "already finished" (the CRI plugin's task delete after an exit sends a SIGKILL)."""
    from snakevisor.sandbox import control
    state = store.load(cid)
    status = store.status(state)
    if status not in ("created", "running"):
        if everything and status == "stopped":
            return
        raise StateError(f"cannot signal {cid}: container not running ({status})")
    try:
        control.call(store.path(cid, CONTROL_SOCKET), {"op": "kill", "signal": sig, "all": everything})
    except control.ControlError as e:
        if sig == signal.SIGKILL:
            kill_sandbox(state)   # the sandbox does not answer: SIGKILL it from outside
            return
        raise StateError(f"cannot signal container {cid}: {e}") from None


def delete(store, cid, force=False):
    state = store.load(cid)
    status = store.status(state)
    if status == "running" and not force:
        raise StateError(f"cannot delete container {cid} that is not stopped: running")
    kill_sandbox(state)
    try:
        _state_hooks(state, ("poststop",), "stopped")
    finally:
        with store.locked():
            store.remove(cid)


def ps(store, cid):
    from snakevisor.sandbox import control
    state = store.load(cid)
    status = store.status(state)
    if status not in ("created", "running"):
        raise StateError(f"container {cid} is not running ({status})")
    try:
        return control.list_processes(store.path(cid, CONTROL_SOCKET))
    except control.ControlError as e:
        raise StateError(f"cannot list processes of {cid}: {e}") from None


def host_pids(store, cid):
    """The host pids of the container's processes, as runc's `ps --format json` gives them and
    engines read them (docker top looks them up in the host's /proc): the sandbox process and
    every host process below it (the Gofer, the stubs that hold the application's threads). The
    application's own pids are the sandbox's, not the host's: they are what ``ps`` lists."""
    state = store.load(cid)
    if store.status(state) not in ("created", "running"):
        raise StateError(f"container {cid} is not running ({store.status(state)})")
    out, todo = [], [state.pid] + ([state.sandbox_pid] if state.sandbox_pid else [])
    while todo:
        pid = todo.pop()
        out.append(pid)
        try:
            tids = os.listdir(f"/proc/{pid}/task")
        except OSError:   # gone meanwhile
            continue
        for tid in tids:
            try:
                with open(f"/proc/{pid}/task/{tid}/children") as f:
                    todo += [int(child) for child in f.read().split()]
            except OSError:
                continue
    return sorted(out)


def stats(store, cid):
    from snakevisor.sandbox import control
    return control.call(store.path(cid, CONTROL_SOCKET), {"op": "stats"})


def debug_open(store, cid, path):
    """The errno an open(2) by the Sentry process itself gets now (lockdown tests)."""
    from snakevisor.sandbox import control
    return control.call(store.path(cid, CONTROL_SOCKET), {"op": "debug-open", "path": path})["errno"]


def wait_sandbox(pid):
    """Wait for our (subreaped) sandbox child; returns its exit code."""
    while True:
        try:
            _, status = os.waitpid(pid, 0)
            break
        except InterruptedError:
            continue
        except ChildProcessError:
            return None
    from snakevisor.sandbox.do import wait_status_to_exit_code   # lazily: do imports the Sentry
    return wait_status_to_exit_code(status)


def run(store, opts, cid, bundle, pid_file=None, console_socket=None, detach=False):
    """create + start; attached: wait for the container and return its exit code, then delete it."""
    if detach:
        create(store, opts, cid, bundle, pid_file, console_socket, detach=True)
        start(store, cid)
        return 0
    from snakevisor.hostos import become_subreaper
    become_subreaper()   # the sandbox (a grandchild) is reparented to us: we wait for it
    state = create(store, opts, cid, bundle, pid_file, console_socket, detach=False)

    def forward(signum, _frame):
        try:
            os.kill(state.pid, signum)
        except ProcessLookupError:
            pass
    for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGUSR1, signal.SIGUSR2):
        signal.signal(sig, forward)
    signal.signal(signal.SIGINT, signal.SIG_IGN)   # the terminal sends it to the sandbox too
    try:
        start(store, cid)
        code = wait_sandbox(state.pid)
        if code is None:
            code = store.read_exit(cid) or 0
    finally:
        try:
            delete(store, cid, force=True)
        except StateError:
            pass
    return code


# -- exec ----------------------------------------------------------------------------------
def exec_process(store, cid, process, detach=False, pid_file=None, console_socket=None):
    """Run ``process`` (a config.json process object, already checked by parse_process) in the
    running sandbox with our stdio (or a pty sent to ``console_socket``); returns its exit code.
    Detached: a waiter child does it, its host pid goes to ``pid_file``, we return 0 at once."""
    check_terminal(bool(process.get("terminal")), detach, console_socket)
    state = store.load(cid)
    status = store.status(state)
    if status not in ("created", "running"):
        raise StateError(f"cannot exec in container {cid}: it is {status}")
    sock_path = store.path(cid, CONTROL_SOCKET)
    if detach and WARM.keeper is not None:   # warm: the keeper is the waiter (warm/keeper.py)
        keeper, _, report_fd = WARM.keeper
        return _exec_and_wait(sock_path, process, console_socket, ready_fd=report_fd, pid_file=pid_file,
                              waiter=keeper)
    if detach:
        r, w = os.pipe()
        waiter = os.fork()
        if waiter == 0:
            os.close(r)
            code = 255
            try:
                os.setsid()
                code = _exec_and_wait(sock_path, process, console_socket, ready_fd=w)
            except BaseException as e:   # noqa: BLE001 (reported through the pipe)
                try:
                    os.write(w, f"error: {e}\n".encode())
                except OSError:
                    pass
            finally:
                os._exit(code)
        os.close(w)
        line = b""
        while chunk := os.read(r, 4096):
            line += chunk
            if line.endswith(b"\n"):
                break
        os.close(r)
        text = line.decode(errors="replace").strip()
        if not text.startswith("pid "):
            raise StateError(text[len("error: "):] if text.startswith("error: ") else "exec failed")
        if pid_file:
            write_pid_file(pid_file, waiter)
        return 0
    return _exec_and_wait(sock_path, process, console_socket, pid_file=pid_file)


def _exec_and_wait(sock_path, process, console_socket, ready_fd=None, pid_file=None, waiter=None):
    """Start ``process`` and wait for it; its exit code. ``ready_fd``: "pid N" goes there once it
    has started; ``pid_file``: ``waiter``'s pid (default ours), written before that."""
    from snakevisor.sandbox import control
    replica = None
    stdio = [0, 1, 2]
    if process.get("terminal") and console_socket:
        size = process.get("consoleSize")
        replica = open_console(console_socket, (size["height"], size["width"]) if size else None)
        stdio = [replica] * 3
    try:
        conn, pid = control.start_exec(sock_path, process, stdio)
    except control.ControlError as e:
        raise StateError(str(e)) from None
    finally:
        if replica is not None:
            os.close(replica)
    if pid_file:
        write_pid_file(pid_file, waiter or os.getpid())
    if ready_fd is not None:
        os.write(ready_fd, f"pid {pid}\n".encode())
        os.close(ready_fd)

    def forward(signum, _frame):
        try:
            control.call(sock_path, {"op": "kill", "signal": signum, "pid": pid}, timeout=5)
        except control.ControlError:
            pass
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1, signal.SIGUSR2):
        signal.signal(sig, forward)
    try:
        while True:
            try:
                status = control.receive(conn)["status"]
                break
            except InterruptedError:
                continue
            except control.ControlError:
                return 255   # the sandbox went away
    finally:
        conn.close()
    from snakevisor.sandbox.do import wait_status_to_exit_code
    return wait_status_to_exit_code(status)
