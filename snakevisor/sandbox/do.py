"""``snakevisor do``: run one host command in a fresh sandbox whose root is the host's / (or ``rootfs``).

The root is writable: the Gofer serves an overlay of it (changes go to a
scratch tmpfs, or to ``overlay_upper``), so the host's files are untouched;
with --overlay2=none (and --rootfs) the root directory is written through.
``volumes`` [(host_dir, sandbox_path, readonly)] are bind mounts served as
separate 9P connections: writes there land on the host.

This process forks the sandbox process into a new PID namespace (its init: when it dies,
every stub and the Gofer die with it) and waits for it, relaying the signals sent to this
process alone and returning its exit status (128+N for death by signal N). The sandbox
process is locked down as an OCI container's is (sandbox/lockdown.py): own mount, IPC, UTS
(and, by default, network) namespaces; it starts the Gofer and boots the Sentry with the host's
tree still visible, then pivots to an empty root, cuts its capabilities, sets no_new_privs and
installs its seccomp whitelist; only then does it take its command (PreparedDo.start: a warm
server's spare waits there, booted and locked down) and load it, through the Gofer.
The fork is of this already-initialised interpreter: nothing is imported again. The Sentry's
modules are imported by the sandbox process once it has forked the Gofer (sentry_boot, last in
``_boot_and_run``), so that the Gofer's start-up runs beside them, on the other CPU, instead of
after them, and the Gofer does not carry them.

Default limits (README, "Running a command"): ``DEFAULT_PIDS_LIMIT`` tasks, and half the host's
RAM of memory (the MemoryFile: application memory and tmpfs data, so /tmp and /dev/shm are
bounded by it too, as Linux bounds a tmpfs at half of RAM; ``--tmpfs-size`` caps them further).
"""
import gc
import os
import re
import signal
import socket
import sys
import termios
import traceback

from snakevisor.abi.errno import ERRNO_NAMES, SyscallError
from snakevisor.abi.prctl import PR_SET_NAME
from snakevisor.abi.resource import inherited_limits
from snakevisor.abi.signal import SI_KERNEL
from snakevisor.hostos import HostSetupError, die_with_parent
from snakevisor.hostos.libc import kill_and_reap, prctl, readable
from snakevisor.abi.mount_options import memparse
from snakevisor.sandbox import coldgc, environ, gofer_zygote, lockdown
from snakevisor.sandbox.messages import ProtocolError, recv_message, send_message
from snakevisor.sandbox.gofer_process import GoferMount, GoferProcess
from snakevisor.sandbox.network import NetworkSetupError
from snakevisor.sentry import platform as platform_names

# Tasks (threads included) a sandbox may have at once. Each is a host stub thread driven by one
# single-threaded Sentry, so far fewer are useful than a host allows; CRI-O's default is 1024,
# podman's 2048. Enough for make -j and shell pipelines; a fork bomb stops there.
DEFAULT_PIDS_LIMIT = 1024
# Signals this process relays to the sandbox (its Sentry forwards them to the sandbox's init or
# foreground group, sentry/kernel/kernel.py forward_host_signals; SIGWINCH resizes the -t pty).
RELAYED = (signal.SIGINT, signal.SIGQUIT, signal.SIGTERM, signal.SIGHUP, signal.SIGWINCH)


def wait_status_to_exit_code(status):
    """A wait status as a shell's exit code: 128+N for death by signal N (None: lost, SIGKILL)."""
    if status is None:
        return 128 + 9
    if status & 0x7F:
        return 128 + (status & 0x7F)
    return (status >> 8) & 0xFF


def parse_volume(spec):
    """HOST:SANDBOX[:ro|rw] -> (absolute host dir, sandbox path, readonly)."""
    parts = spec.split(":")
    readonly = False
    if len(parts) == 3 and parts[2] in ("ro", "rw"):
        readonly = parts.pop() == "ro"
    if len(parts) != 2 or not parts[0] or not parts[1].startswith("/"):
        raise ValueError(f"bad volume {spec!r} (want HOST:/SANDBOX[:ro])")
    if os.path.normpath(parts[1]).strip("/") == "":
        raise ValueError(f"volume {spec!r}: cannot mount over the root (see --rootfs)")
    host = os.path.abspath(parts[0])
    if not os.path.isdir(host):
        raise ValueError(f"volume {host}: not a directory")
    return host, os.path.normpath(parts[1]), readonly


def parse_size(text):
    """BYTES with an optional k, m, g or t suffix (powers of 1024): ``512m`` -> 536870912."""
    m = re.fullmatch(r"0*(\d+[kmgt]?)b?", text.strip().lower())   # decimal: no octal or hex
    if m is None:
        raise ValueError(f"bad size {text!r} (want BYTES[k|m|g|t])")
    return memparse(m.group(1))


def resolve_limits(pids_limit=None, memory=None, tmpfs_size=None):
    """(max tasks, memory limit, tmpfs size) from the flags: None takes the default, 0 means none.
    The tmpfs has no cap of its own by default: its data is memory, under the memory limit.
    A negative one is a ValueError (the CLI says so earlier, the Python API here)."""
    for name, value in (("pids limit", pids_limit), ("memory", memory), ("tmpfs size", tmpfs_size)):
        if value is not None and value < 0:
            raise ValueError(f"{name}: {value} is negative (0 means no limit)")
    pids = DEFAULT_PIDS_LIMIT if pids_limit is None else (pids_limit or None)
    mem = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") // 2 if memory is None else (memory or None)
    return pids, mem, tmpfs_size or None


# run_do's arguments that shape the sandbox as it boots; the others (the command, its cwd, -t) are
# what a booted sandbox is handed (PreparedDo.start): a warm server boots a spare before it knows them.
BOOT_SETTINGS = ("strace", "cpu", "hostname", "volumes", "rootfs", "overlay_upper", "network", "net_raw",
                 "pids_limit", "memory", "tmpfs_size", "profile", "platform", "directfs", "root_overlay")


def run_do(cmd, cwd="/", tty=False, cwd_missing="fallback", **boot):
    """Run ``cmd`` in a sandbox process of its own; returns its exit code. ``boot``: the
    BOOT_SETTINGS of prepare_do. Once per process: its children go to the sandbox's PID namespace
    from then on."""
    prepared = prepare_do(**boot)
    if isinstance(prepared, int):
        return prepared
    prepared.start(cmd, cwd=cwd, tty=tty, cwd_missing=cwd_missing)
    return prepared.wait()


def prepare_do(strace=False, cpu=None, hostname="snakevisor", volumes=(), rootfs=None, overlay_upper=None,
               network="none", net_raw=False, pids_limit=None, memory=None, tmpfs_size=None, profile=None,
               platform=platform_names.DEFAULT, directfs=False, root_overlay=True):
    """Fork the sandbox process (it boots its Gofer and Sentry, then waits for its command):
    a PreparedDo, or an exit code if it could not be forked. ``profile``: a file for a cProfile
    of the Sentry (``SNAKEVISOR_PROFILE``). ``root_overlay`` False: the root (``rootfs``) is
    written through, not overlaid (--overlay2=none)."""
    max_tasks, memory_limit, tmp_size = resolve_limits(pids_limit, memory, tmpfs_size)
    mounts = [GoferMount("root", os.path.abspath(rootfs) if rootfs else "/", readonly=False)]
    mounts += [GoferMount(f"vol{i}", host, ro) for i, (host, _, ro) in enumerate(volumes)]
    settings = dict(argv=[], env={}, strace=strace, cpu=cpu,   # SentryConfig's; argv, env, cwd: start()'s
                    hostname=hostname, network=network, net_raw=net_raw, max_tasks=max_tasks,
                    platform=platform, directfs=directfs, memory_limit=memory_limit, tmpfs_size=tmp_size,
                    extra_mounts=[(path, ro) for _, path, ro in volumes])
    try:
        lockdown.new_pid_namespace()
    except HostSetupError as e:
        print(f"snakevisor do: cannot make the sandbox's PID namespace: {e}", file=sys.stderr)
        return 125
    sys.stdout.flush()
    sys.stderr.flush()
    watched = set(RELAYED) | {signal.SIGCHLD, signal.SIGTSTP}
    # Blocked before the fork: a signal arriving meanwhile waits for the relay loop.
    old_mask = signal.pthread_sigmask(signal.SIG_BLOCK, watched)
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
    gc.freeze()   # the heap the fork shares: neither process's collector walks (and copies) it
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            ours.close()
            signal.pthread_sigmask(signal.SIG_SETMASK, old_mask)
            code = _sandbox_process(settings, mounts, (root_overlay, overlay_upper), profile, theirs)
        except KeyboardInterrupt:
            code = 128 + signal.SIGINT
        except BaseException:   # a Sentry bug: say where before the sandbox ends
            traceback.print_exc()
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)
    theirs.close()
    gofer_zygote.forget()   # the sandbox process asks it for its Gofer; we never do
    coldgc.resume()
    return PreparedDo(pid, ours, watched)


class PreparedDo:
    """The sandbox process prepare_do forked (booting, or booted and waiting), from its parent."""

    def __init__(self, pid, channel, watched):
        self.pid, self.channel, self.watched = pid, channel, watched
        self.saved_tty = None

    def start(self, cmd, cwd="/", tty=False, cwd_missing="fallback", env=None, stdio=None, name=None, ignored=None):
        """Hand the sandbox its command: ``env`` (the caller's environment block, NUL-separated;
        None: ours), ``stdio`` (which of our fds 0-2 become the sandbox's, the others closed there;
        None: it keeps its own), ``name``: the sandbox process's name from now on (None: as it is),
        ``ignored``: the signals its init starts with ignored (None: those we ignore); its init
        starts with our resource limits and niceness, as an exec'd program would (a warm session
        has taken on its client's). True once
        the sandbox has it; False if the sandbox ended while booting (wait() then collects its
        exit code)."""
        if tty and os.isatty(0):
            try:
                self.saved_tty = termios.tcgetattr(0)
            except termios.error:
                pass
        request = {"argv": [os.fsencode(a) for a in cmd], "cwd": cwd, "tty": tty, "cwd_missing": cwd_missing,
                   "env": env, "stdio": list(stdio or ()), "name": name,
                   "ignored": environ.ignored_signals() if ignored is None else list(ignored),
                   "rlimits": environ.resource_limits(), "nice": os.getpriority(os.PRIO_PROCESS, 0)}
        try:
            send_message(self.channel, request, fds=request["stdio"])
            recv_message(self.channel)   # the sandbox has its command (EOF: it died booting)
            return True
        except (OSError, ProtocolError):
            return False
        finally:
            self.channel.close()

    def wait(self):
        """Relay signals until the sandbox process exits; its exit code."""
        status = _relay_until_exit(self.pid, self.watched)
        if os.WIFSIGNALED(status) and self.saved_tty is not None:
            try:   # the Sentry died before giving the terminal its settings back
                termios.tcsetattr(0, termios.TCSADRAIN, self.saved_tty)
            except termios.error:
                pass
        return wait_status_to_exit_code(status)

    def abandon(self):
        """End the sandbox unused (SIGKILL: its Gofer and stubs die with it) and reap it."""
        self.channel.close()
        kill_and_reap(self.pid)


def install_stdio(present, fds):
    """Descriptors ``fds`` become this process's fds ``present`` (numbers among 0-2, one each);
    0-2 not in ``present`` are closed; ``fds`` themselves are closed."""
    given = dict(zip(present, fds))
    for fd in (0, 1, 2):
        if fd in given:
            os.dup2(given[fd], fd)
        else:
            try:
                os.close(fd)
            except OSError:
                pass
    for fd in fds:
        if fd not in (0, 1, 2):
            os.close(fd)


def _relay_until_exit(pid, watched):
    """Wait for the sandbox process, passing on signals sent to this process alone; its wait status.

    A signal the terminal sends (^C, ^\\, a resize, a hang-up) goes to the whole foreground process
    group, the sandbox process included: passing it on would deliver it twice. Only when this
    process leads its session is a hang-up its alone."""
    session_leader = os.getsid(0) == os.getpid()
    while True:
        info = signal.sigwaitinfo(watched)
        sig = info.si_signo
        if sig == signal.SIGCHLD:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                return status
            continue
        if sig == signal.SIGTSTP:
            # ^Z: the sandbox process, as init, ignores it; stop it, then ourselves, as the job the
            # shell sees (its SIGCONT at `fg` reaches both: we share a process group).
            os.kill(pid, signal.SIGSTOP)
            os.kill(os.getpid(), signal.SIGTSTP)
            signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTSTP})   # stopped here until SIGCONT
            signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTSTP})
            continue
        if info.si_code == SI_KERNEL and not (sig == signal.SIGHUP and session_leader):
            continue
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass


def _sandbox_process(settings, mounts, overlay, profile, channel):
    """The forked sandbox process (pid 1 of its PID namespace): its exit code."""
    die_with_parent()   # `do` killed: the sandbox too
    # Until the Sentry forwards them, SIGTERM and SIGHUP end the boot (as init, their default
    # action would be to ignore them).
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, lambda signum, _frame: os._exit(128 + signum))
    if not profile:
        return _boot_and_run(settings, mounts, overlay, channel)
    import cProfile
    import marshal
    with open(profile, "wb") as out:   # opened now: the locked-down Sentry cannot open files
        profiler = cProfile.Profile()
        try:
            return profiler.runcall(_boot_and_run, settings, mounts, overlay, channel)
        finally:
            profiler.create_stats()
            marshal.dump(profiler.stats, out)   # what Profile.dump_stats writes


def _take_command(config, channel):
    """Wait for PreparedDo.start's request and make it the Sentry's ``config``'s: the command, its
    cwd, -t, the caller's environment and standard fds; then tell the parent."""
    request, fds = recv_message(channel, max_fds=3)
    if request["stdio"] or fds:
        install_stdio(request["stdio"], fds)
    if request["env"] is not None:   # else config.env is ours, as our caller set it
        # The init's environment only: the Sentry's own settings (SNAKEVISOR_*) are the ones it
        # booted with, and os.environ stays as it is (rewriting it costs ~1 ms of copy-on-write
        # faults in a warm spare).
        config.env = environ.parse(request["env"])
    config.argv = [os.fsdecode(a) for a in request["argv"]]
    config.cwd, config.tty, config.cwd_missing = request["cwd"], request["tty"], request["cwd_missing"]
    config.ignored_signals = request["ignored"]
    config.rlimits = {**inherited_limits(request["rlimits"]), **config.rlimits}
    config.nice = request.get("nice", 0)   # exec keeps the caller's niceness too
    if request["name"]:
        prctl(PR_SET_NAME, request["name"], 0, 0, 0)
    send_message(channel, {"ok": True})
    channel.close()


def _boot_and_run(settings, mounts, overlay, channel):
    """``settings``: SentryConfig's arguments (the class is the Sentry's, imported only here);
    ``overlay``: (whether the root is an overlay, the directory of its upper layer or None).
    The command arrives on ``channel`` once the Sentry has booted (_take_command)."""
    try:
        lockdown.enter_namespaces()
    except HostSetupError as e:
        print(f"snakevisor do: cannot give the sandbox its namespaces: {e}", file=sys.stderr)
        return 125
    try:
        gofer = GoferProcess(mounts, isolate=True, overlay=overlay[0], overlay_upper=overlay[1],
                             directfs=settings["directfs"])
    except HostSetupError as e:   # the warm server's Gofer zygote failed us (gofer_zygote.ZygoteError)
        print(f"snakevisor do: cannot start the Gofer: {e}", file=sys.stderr)
        return 125
    try:
        from snakevisor.sandbox.sentry_boot import (BootError, GoferGone, HostLimitError, Sentry,   # while the Gofer starts
                                                    SentryConfig)
        config = SentryConfig(**settings)
        try:
            sentry = Sentry(config, gofer.sockets)
            gofer.pin_to(os.sched_getaffinity(0))   # the CPU the Sentry pinned itself to
            lockdown.preload_modules(settings["platform"])
            # Locked down before the command comes: a warm server's spare waits so, and the
            # command's start no longer pays for it. Loading the init needs no host path and no
            # capability: its files come through the Gofer.
            config.env = environ.caller_environment()   # (/proc/self/environ: read before the pivot)
            lockdown.lock_down(lockdown.seccomp_filter(settings["network"], settings["directfs"]))
            if not readable(channel.fileno()):   # booted before the command came (a spare): use the wait
                sentry.prefetch_common_paths()
            try:
                _take_command(config, channel)
            except (OSError, ProtocolError):   # the do process is gone: nothing to run
                return 1
            sentry.load_init()
            coldgc.resume()   # booted: what the Sentry made until now lives as long as it
            status = sentry.run()
        except SyscallError as e:
            print(f"snakevisor do: {(config.argv or ['?'])[0]}: {os.strerror(e.errno)} "
                  f"({ERRNO_NAMES.get(e.errno, e.errno)})", file=sys.stderr)
            return 127 if e.errno == 2 else 126
        except NetworkSetupError as e:
            print(f"snakevisor do: {e}", file=sys.stderr)
            return 125
        except HostSetupError as e:
            print(f"snakevisor do: cannot lock the Sentry down: {e}", file=sys.stderr)
            return 125
        except (GoferGone, HostLimitError) as e:
            print(f"snakevisor do: {e}", file=sys.stderr)
            return 125
        except BootError as e:   # the settings the Sentry checks are do's flags: --cwd
            print(f"snakevisor do: --{e}", file=sys.stderr)
            return 125
        return wait_status_to_exit_code(status)
    finally:
        gofer.stop()
