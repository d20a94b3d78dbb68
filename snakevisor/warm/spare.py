"""The warm server's spare: a sandbox booted before anyone asks for it.

A warm ``do`` forks a session, a ``do`` process and the sandbox process, which then starts its
Gofer, boots its Sentry and locks it down: ~35 ms before the command's first instruction. The
server keeps one spare session whose sandbox has done all that already (sandbox/do.py's
prepare_do), booted as the last ``do`` a session told the server of (at first with ``do``'s
defaults), as SCHED_IDLE (it boots beside that ``do``'s command, in idle CPU time only), and
waiting for a command (PreparedDo.start). The next client's connection goes to it (SCM_RIGHTS over
the hand-over socket); its session checks the client as every session does, then gives the spare
the command if a cold ``do`` of that client would have booted the very same sandbox, after putting
every thread of the spare back to the normal policy:

- ``do``'s flags that shape the boot (sandbox/do.py's BOOT_SETTINGS, and --overlay2) are the ones
  the spare was booted with; the command, its cwd, -t and the environment are handed over;
- the client's process state that a ``do`` process would have inherited and the boot depends on
  (rlimits, CPU affinity, niceness, the SNAKEVISOR_* variables but SNAKEVISOR_WARM*) is the
  server's.

Otherwise (or if the spare died booting) the spare is killed and the session forks a fresh ``do``
process, exactly as without a spare. A spare serves one command, once: nothing of one sandbox reaches
another. One older than ``MAX_AGE_S`` (SNAKEVISOR_WARM_SPARE_AGE in the server's environment) is
ended unused and another booted (what it read of the host while booting, such as /etc/resolv.conf,
may have changed since): a ``do`` that comes a minute after the last still finds one.
"""
import marshal
import os
import resource
import signal
import socket
import time

from snakevisor.abi.prctl import PR_SET_NAME
from snakevisor.abi.resource import RLIM_NLIMITS
from snakevisor.hostos.libc import close_fds_except, die_with_parent, kill_and_reap, prctl
from snakevisor.sandbox import environ, gofer_zygote
from snakevisor.sandbox.do import BOOT_SETTINGS, install_stdio, prepare_do
from snakevisor.sandbox.messages import ProtocolError, open_stdio, recv_message, send_message

MAX_AGE_S = 20.0
AGE_ENV = "SNAKEVISOR_WARM_SPARE_AGE"   # seconds: MAX_AGE_S for this server
SPARE_ENV = "SNAKEVISOR_WARM_SPARE"   # "0": the server keeps no spare


SPARE_NAME = b"sv-spare"   # the spare's processes' name (ps, /proc/PID/comm) until a client takes them


def set_name(name):
    """This process's name (/proc/self/comm): SPARE_NAME while it waits, its own again once it serves."""
    prctl(PR_SET_NAME, name, 0, 0, 0)


def enabled():
    return os.environ.get(SPARE_ENV) != "0"


def max_age():
    try:
        return float(os.environ.get(AGE_ENV) or MAX_AGE_S)
    except ValueError:
        return MAX_AGE_S


def process_state():
    """What of this process a ``do`` process inherits and its boot depends on. (Not the umask: the
    Gofer sets its own, and the sandbox's init starts with 022 whatever the caller's.)"""
    return (tuple(resource.getrlimit(r) for r in range(RLIM_NLIMITS)), tuple(sorted(os.sched_getaffinity(0))),
            os.getpriority(os.PRIO_PROCESS, 0), _snakevisor_settings())


def _snakevisor_settings():
    """The SNAKEVISOR_* variables, but the warm client's own (which server to ask)."""
    return tuple(sorted((k, v) for k, v in os.environ.items()
                        if k.startswith("SNAKEVISOR_") and not k.startswith("SNAKEVISOR_WARM")))


def plan(argv):
    """(command, run_do's keyword arguments, boot settings) of ``snakevisor ARGV`` if it is a
    ``do`` that can run, else None; boot settings None: no spare can run it. Quiet: what is wrong
    is the fresh ``do`` process's to say."""
    import contextlib
    import io
    from snakevisor.cli.main import DoUsage, _normalise, cached_parser, do_invocation
    parser = cached_parser()
    try:
        with contextlib.redirect_stderr(io.StringIO()):
            args, unknown = parser.parse_known_args(_normalise(list(argv), parser))
        if args.command != "do" or unknown:
            return None
        cmd, kwargs, overlay = do_invocation(args)
    except (SystemExit, DoUsage):
        return None
    return cmd, kwargs, boot_settings(kwargs, overlay)


def boot_settings(kwargs, overlay):
    """What of a ``do``'s settings its sandbox's boot depends on, as a plain value (prepare_do's
    arguments); None if a spare cannot boot it (--overlay2=root:DIR, --overlay-upper: an upper layer is
    one sandbox's alone, never mounted by a spare while another sandbox may still use it)."""
    if overlay.directory is not None or kwargs["overlay_upper"] is not None:   # an upper layer is one sandbox's
        return None
    return {k: [list(v) for v in kwargs[k]] if k == "volumes" else kwargs[k] for k in BOOT_SETTINGS}


# --- what the server learns from its sessions: the boot settings of the last ``do`` -------------
def learning_channel():
    """(the server's end, the sessions' end) of a non-blocking datagram socketpair: one datagram
    per ``do``, so no framing, and a full queue only drops what the next ``do`` will tell again."""
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC | socket.SOCK_NONBLOCK)
    return ours.detach(), theirs.detach()


def tell(fd, boot):
    """A session tells the server (on ``fd``, learning_channel's) the boot settings its client
    asked for: the next spare boots them."""
    try:
        os.write(fd, marshal.dumps(boot))
    except OSError:   # queue full (the server is busy): the next one will do
        pass


def heard(fd):
    """The last boot settings the sessions told on ``fd`` (learning_channel's), or None."""
    last = None
    while True:
        try:
            last = os.read(fd, 1 << 16)
        except BlockingIOError:
            break
    try:
        boot = marshal.loads(last) if last else None
    except (EOFError, ValueError, TypeError):
        return None
    return boot if isinstance(boot, dict) and set(boot) == set(BOOT_SETTINGS) else None


class Spare:
    """The server's handle on its spare session (a child of the server), booted with ``boot``."""

    def __init__(self, server_fds, learn_fd, boot):
        self.key = boot
        self.born = time.monotonic()
        self.handoff, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
        self.pid = os.fork()
        if self.pid == 0:
            code = 1
            try:
                self.handoff.close()
                for fd in server_fds:   # the server's lock, listening socket, learning channel's end
                    os.close(fd)
                code = _spare_session(theirs, boot, learn_fd)
            except BaseException:   # a bug: say where, on the server's stderr
                import traceback
                traceback.print_exc()
            finally:
                os._exit(code)
        theirs.close()
        self.dead = False

    def fresh(self):
        return not self.dead and time.monotonic() - self.born < max_age()

    def hand(self, conn):
        """Give the spare the connection ``conn``; False if it is gone."""
        try:
            socket.send_fds(self.handoff, [b"c"], [conn.fileno()])
            return True
        except OSError:
            return False
        finally:
            self.handoff.close()

    def discard(self):
        """End it unused (its sandbox dies with it); the server's reaping collects it."""
        self.handoff.close()
        if not self.dead:
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


class SparePool:
    """The server's spare (at most one), booted as the last ``do`` a session told of (at first:
    ``do``'s defaults), made again when a session tells of a ``do``."""

    def __init__(self, server_fds, learn_fd):
        # server_fds: what every child of the server closes (the lock, the listening socket, the
        # learning channel's server end); learn_fd: the end its sessions tell on.
        self.server_fds, self.learn_fd, self.spare = server_fds, learn_fd, None
        found = plan(["do", "--", "/bin/true"])
        self.boot = found[2] if found else None

    def take(self):
        """A fresh spare to hand a connection to (no longer the pool's), or None."""
        spare, self.spare = self.spare, None
        if spare is not None and not spare.fresh():
            spare.discard()
            return None
        return spare

    def refill(self):
        if self.spare is None and self.boot is not None and enabled():
            self.spare = Spare(self.server_fds, self.learn_fd, self.boot)

    def renew(self):
        """A spare past its age is ended and another booted (in idle CPU time): one stays ready."""
        if self.spare is not None and not self.spare.fresh():
            self.close()
            self.refill()

    def learn(self, boot):
        """A session's client asked for a ``do`` booted as ``boot``: a spare is booted so (now:
        beside that client's sandbox, on the other CPU), unless one is ready already. Only a ``do``
        makes a spare: the OCI verbs (state, start, delete, ...) do not waste one each."""
        if boot is None:
            return
        if boot != self.boot:
            self.boot = boot
            self.close()
        self.refill()

    def reaped(self, pid):
        """The server reaped child ``pid``: if it was the spare, there is none now."""
        if self.spare is not None and self.spare.pid == pid:
            self.spare.dead = True
            self.spare = None

    def close(self):
        spare = self.take()
        if spare is not None:
            spare.discard()


def _spare_session(handoff, boot, learn_fd):
    """The spare session: fork the spare ``do`` process, wait for a connection, serve it."""
    from snakevisor.warm.session import run_session, start_session
    start_session()
    state = process_state()
    # It boots beside the command a client just gave (whose session told us of it): in idle CPU time
    # only, or it would take from that command's CPU. Its processes inherit the policy, until taken.
    os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
    with open("/proc/self/comm", "rb") as f:
        name = f.read().rstrip(b"\n")
    set_name(SPARE_NAME)   # the do process and the sandbox process inherit it
    channel, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
    pid = os.fork()
    if pid == 0:
        channel.close()
        handoff.close()
        _spare_do_process(theirs, boot, name)   # never returns
    theirs.close()
    try:
        _, fds, _, _ = socket.recv_fds(handoff, 1, 1)
    except OSError:
        fds = []
    handoff.close()
    if not fds:   # discarded by the server
        _end_spare(pid, channel)
        return 0
    conn = socket.socket(fileno=fds[0])
    set_name(name)
    os.sched_setscheduler(0, os.SCHED_OTHER, os.sched_param(0))
    return run_session(conn, learn_fd, spare=SpareDo(pid, channel, boot, state))


class SpareDo:
    """The spare ``do`` process, from its session (its parent)."""

    def __init__(self, pid, channel, key, state):
        self.pid, self.channel, self.key, self.state = pid, channel, key, state

    def take(self, found, ignored=()):
        """Hand it the command of ``found`` (plan()'s; our standard fds are the client's by now)
        if it fits; its pid once it runs the command, else None (it is then ended, and a fresh
        ``do`` process is the session's to fork)."""
        if found is None or found[2] != self.key or process_state() != self.state or not _scheduled_normally(self.pid):
            _end_spare(self.pid, self.channel)
            return None
        cmd, kwargs, _ = found
        request = {"argv": [os.fsencode(a) for a in cmd], "cwd": kwargs["cwd"], "tty": kwargs["tty"],
                   "cwd_missing": kwargs["cwd_missing"], "env": environ.raw_environment(), "ignored": list(ignored),
                   "stdio": open_stdio()}
        try:
            send_message(self.channel, request, fds=request["stdio"])
            reply, _ = recv_message(self.channel)
            started = reply.get("started")
        except (OSError, ProtocolError):
            started = False
        if not started:
            _end_spare(self.pid, self.channel)
            return None
        self.channel.close()
        return self.pid


def _scheduled_normally(pid):
    """Every thread of process ``pid`` and below back to the normal policy (they booted as
    SCHED_IDLE); False if one cannot be (unprivileged, without RLIMIT_NICE room). Walked again
    until a walk changes nothing: a spare still booting makes threads and processes meanwhile,
    and one made by a thread not yet changed is SCHED_IDLE too."""
    for _ in range(100):
        changed = _normal_pass(pid)
        if not changed:
            return changed is not None
    return False


def _normal_pass(pid):
    """One walk of _scheduled_normally: how many threads it changed; None if one cannot be."""
    todo, changed = [pid], 0
    while todo:
        p = todo.pop()
        try:
            tids = os.listdir(f"/proc/{p}/task")
        except OSError:
            continue
        for tid in tids:
            try:
                if os.sched_getscheduler(int(tid)) != os.SCHED_OTHER:
                    os.sched_setscheduler(int(tid), os.SCHED_OTHER, os.sched_param(0))
                    changed += 1
                with open(f"/proc/{p}/task/{tid}/children") as f:
                    todo += [int(c) for c in f.read().split()]
            except (ProcessLookupError, FileNotFoundError):
                pass   # the thread ended meanwhile
            except OSError:
                return None
    return changed


def _end_spare(pid, channel):
    channel.close()
    kill_and_reap(pid)


def _spare_do_process(channel, boot, name):
    """The spare ``do`` process: boot the sandbox, wait for the command, run it as the cold ``do``
    process does; never returns."""
    code = 1
    try:
        die_with_parent()
        close_fds_except({channel.fileno(), gofer_zygote.held_fd()} - {None}, lowest=3)
        prepared = prepare_do(**boot)
        if isinstance(prepared, int):
            os._exit(prepared)
        try:
            request, fds = recv_message(channel, max_fds=3)
        except (OSError, ProtocolError):
            prepared.abandon()
            os._exit(0)
        set_name(name)
        install_stdio(request["stdio"], fds)   # (its environment goes to the sandbox: none here needs it)
        started = prepared.start([os.fsdecode(a) for a in request["argv"]], cwd=request["cwd"], tty=request["tty"],
                                 cwd_missing=request["cwd_missing"], env=request["env"], stdio=request["stdio"],
                                 name=name, ignored=request["ignored"])
        send_message(channel, {"started": started})
        channel.close()
        code = prepared.wait() if started else (prepared.abandon() or 1)
    except KeyboardInterrupt:
        code = 128 + signal.SIGINT
    finally:
        from snakevisor.cli.ending import exit_now
        exit_now(code)
