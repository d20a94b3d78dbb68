"""``snakevisor server``: the warm start server.

The server imports everything a sandbox needs, listens on a Unix socket (0600, its caller's) and,
per connection, forks a session; it never reads a request itself, never runs sandbox code and
holds no sandbox's state: each sandbox is a fork of the clean server, so nothing one sandbox does
to its interpreter (module caches included) reaches the server or the next sandbox.

A session (warm/session.py, a fork of the server killed with it) checks the client, takes on
its fds, working directory, umask, rlimits and environment and runs the cold CLI for it.

One server per socket: it holds an flock on ``PATH.lock`` (holding its pid) for its life, so a
socket file without a live server is stale and is replaced. It stops after ``idle_timeout`` s
without a session, when its socket file is removed or replaced, when its own source changes
(warm/codewatch.py: the clients already queued are refused and go cold), and on SIGTERM/SIGINT/SIGHUP:
it then accepts no more clients and waits for its running sandboxes (a second signal, or SIGKILL,
ends them: each client then says so and exits 125).
"""
import fcntl
import gc
import os
import select
import signal
import socket
import sys
import time

from snakevisor.sandbox import gofer_zygote
from snakevisor.warm.codewatch import CodeWatch
from snakevisor.warm.protocol import answers
from snakevisor.warm.session import run_session, send_refusal, start_session
from snakevisor.warm.spare import SparePool, heard, learning_channel

POLL_S = 0.5            # how often the idle timer and the socket file are looked at
LOCK_WAIT_S = 10.0      # a server that is stopping releases the lock within this

_STOP = []   # SIGTERM, SIGINT or SIGHUP came: the signal numbers, noted by the handler


def preload():
    """Import every module a sandbox (Sentry, Gofer, ``do``'s CLI) imports, once, here."""
    import importlib
    for name in ("snakevisor.cli.main", "snakevisor.gofer.__main__", "snakevisor.sandbox.console",
                 "snakevisor.sandbox.sentry_boot"):
        importlib.import_module(name)
    from snakevisor.sandbox import lockdown
    lockdown.prepare_template()
    from snakevisor.cli.main import cached_parser
    cached_parser()
    from snakevisor.sandbox.container import prepare_boot_in_place
    prepare_boot_in_place()   # an OCI sandbox process is a fork of ours, not a new interpreter


# Copies of at least this many bytes (glibc's memcpy) use non-temporal stores in the server and so
# in every warm sandbox: a 1 MiB write to tmpfs then does not evict the Sentry's own working set
# from the CPU's caches (write 1 MiB blocks to /tmp: 12.8 -> 15.2 GB/s on the 2-CPU test VM).
COPY_TUNABLE = "glibc.cpu.x86_non_temporal_threshold"
NON_TEMPORAL_FROM = 256 << 10


def with_copy_tunable():
    """Exec this command again, with --tuned (once only, even where the loader drops the variable)
    and COPY_TUNABLE in GLIBC_TUNABLES (the dynamic loader reads it at start-up only), unless it
    is there already (or the exec fails: then we go on without it)."""
    current = os.environ.get("GLIBC_TUNABLES", "")
    if COPY_TUNABLE in current:
        return
    setting = f"{COPY_TUNABLE}={NON_TEMPORAL_FROM:#x}"
    env = dict(os.environ, GLIBC_TUNABLES=f"{current}:{setting}" if current else setting)
    try:
        os.execve(sys.executable, [*sys.orig_argv, "--tuned"], env)
    except OSError:
        pass


# --- the server ----------------------------------------------------------------------------------
def serve(path, idle_timeout, ready_fd=None, lock_fd=None):
    """Run the server on ``path`` until idle, removed or signalled; its exit code (0; 1 when
    another server already serves ``path``). ``ready_fd``: written b"ready" once clients may
    connect (b"other": another server serves them), then closed (the client that started us
    waits on it; closed empty, we failed). ``lock_fd``: PATH.lock, locked by the client that
    started us (warm/client.py's start_in_background)."""
    os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
    lock = _take_lock(path) if lock_fd is None else _adopt_lock(lock_fd)
    if lock is None:
        _tell(ready_fd, b"other")
        return 1
    # SIGTERM, SIGINT and SIGHUP stop us from here on, whatever mask or ignored signals we were
    # started with (exec keeps both). The handler only notes it, and the accept loop stops within
    # POLL_S: an exception raised from it is lost where it lands in an at-fork hook (logging's, on
    # each fork of a spare), and the server ran on until its idle timeout.
    del _STOP[:]
    _on_end_signals(_note_stop)
    signal.pthread_sigmask(signal.SIG_SETMASK, set())
    gofer_zygote.start()   # before preload: the Gofers it forks carry none of the Sentry's modules
    watch = CodeWatch()   # before preload: an edit made while it imports counts
    preload()
    # Every object so far is the template's: a collection in a fork would walk them all and
    # copy every page it touches (copy-on-write); frozen, they are never walked.
    gc.collect()
    gc.freeze()
    listener, ino = _listen(path)
    sessions = set()
    learn_r, learn_w = learning_channel()   # sessions tell how the next spare boots
    spares = SparePool(tuple(fd for fd in (lock, listener.fileno(), learn_r, watch.fd) if fd is not None), learn_w)
    stale = False
    try:
        _tell(ready_fd, b"ready")
        stale = _accept_loop(listener, learn_r, ino, path, idle_timeout, sessions, spares, watch)
    finally:
        _on_end_signals(signal.SIG_IGN)   # the hand-over runs to its end
        if _socket_is(path, ino):
            os.unlink(path)
        # clients that connected before the unlink are served (refused when our code is stale)
        _drain(listener, sessions, spares, refuse=stale)
        watch.close()
        spares.close()
        gofer_zygote.stop()   # (a session that still boots a sandbox forks its Gofer itself)
        for fd in (listener.detach(), learn_r, learn_w, lock):   # the lock last: a new server may start now
            os.close(fd)
        _on_end_signals(signal.SIG_DFL)   # a second one ends the running sandboxes too
        _wait_for(sessions)
    return 0


END_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)


def _on_end_signals(action):
    for sig in END_SIGNALS:
        signal.signal(sig, action)


def _note_stop(signum, _frame):
    _STOP.append(signum)


def _wait_for(sessions):
    """The sessions die with this process: let them finish (our other children are gone)."""
    while sessions:
        try:
            pid, _ = os.waitpid(-1, 0)
        except ChildProcessError:
            return
        sessions.discard(pid)


def _tell(fd, word):
    if fd is not None:
        try:
            os.write(fd, word)
        finally:
            os.close(fd)


def _accept_loop(listener, learn_r, ino, path, idle_timeout, sessions, spares, watch):
    """``learn_r``: the server's end of the learning channel (warm/spare.py). True when it stops
    because the code changed (before accepting anything that came with the change)."""
    last_busy = time.monotonic()
    spares.refill()
    waited = [listener, learn_r] + ([watch.fd] if watch.fd is not None else [])
    while not _STOP:
        readable, _, _ = select.select(waited, [], [], POLL_S)
        if _STOP:
            return False
        if watch.fd in readable and watch.changed():
            return True
        if learn_r in readable:
            spares.learn(heard(learn_r))
        if listener in readable:
            _accept(listener, sessions, spares)
        _reap(sessions, spares)
        spares.renew()
        now = time.monotonic()
        if sessions or readable:
            last_busy = now
        if not _socket_is(path, ino) or (now - last_busy >= idle_timeout and not sessions):
            return False
    return False


def _accept(listener, sessions, spares):
    """Serve one connection (a spare's session, or a fork of ours); False if none was waiting."""
    try:
        conn, _ = listener.accept()
    except (BlockingIOError, InterruptedError, ConnectionAbortedError):
        return False
    spare = spares.take() if not _closed(conn) else None
    if spare is not None and spare.hand(conn):   # its session serves conn
        conn.close()
        sessions.add(spare.pid)
        return True
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            for fd in spares.server_fds:   # the lock, the listening socket, the learning channel's end
                os.close(fd)
            start_session()
            code = run_session(conn, spares.learn_fd)
        except BaseException:   # a bug: say where, on the server's stderr (or the client's)
            import traceback
            traceback.print_exc()
        finally:
            os._exit(code)
    conn.close()
    sessions.add(pid)
    return True


def _closed(conn):
    """Has the peer closed without a word (a probe: protocol.answers)? Such a one gets no spare."""
    try:
        return conn.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
    except (BlockingIOError, InterruptedError):
        return False
    except OSError:
        return True


def _drain(listener, sessions, spares, refuse=False):
    listener.setblocking(False)
    while _refuse(listener) if refuse else _accept(listener, sessions, spares):
        pass


def _refuse(listener):
    """Answer one waiting client that this server's code is not the checkout's any more (it goes
    cold); False if none was waiting."""
    try:
        conn, _ = listener.accept()
    except (BlockingIOError, InterruptedError, ConnectionAbortedError):
        return False
    with conn:
        send_refusal(conn, "the server's code has changed since it started")
    return True


def _reap(sessions, spares):
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            sessions.clear()
            return
        if pid == 0:
            return
        sessions.discard(pid)
        spares.reaped(pid)
        gofer_zygote.reaped(pid)


def _take_lock(path):
    """The open lock file, locked and holding our pid; None if a live server holds it (one that
    is stopping is waited for)."""
    fd = os.open(path + ".lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    give_up = time.monotonic() + LOCK_WAIT_S
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except BlockingIOError:
            if answers(path) or time.monotonic() > give_up:
                os.close(fd)
                return None
            time.sleep(0.02)
    return _held(fd)


def _adopt_lock(fd):
    """The lock file ``fd`` our starter locked for us, now ours (holding our pid); None if it is not
    locked by us after all."""
    os.set_inheritable(fd, False)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)   # ours already: the same open file
    except OSError:
        os.close(fd)
        return None
    return _held(fd)


def _held(fd):
    """The lock file ``fd``, locked by us, now naming us (protocol.server_pid reads it)."""
    os.ftruncate(fd, 0)
    os.write(fd, f"{os.getpid()}\n".encode())
    return fd


def _listen(path):
    """The listening socket at ``path`` (a stale one there is replaced: we hold the lock), 0600."""
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
    old = os.umask(0o177)
    try:
        listener.bind(path)
    finally:
        os.umask(old)
    os.chmod(path, 0o600)
    listener.listen(128)
    return listener, os.stat(path).st_ino


def _socket_is(path, ino):
    try:
        return os.stat(path).st_ino == ino
    except OSError:
        return False
