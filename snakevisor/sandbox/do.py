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
(and, by default, network) namespaces; it starts the Gofer, boots the Sentry and loads the
command with the host's tree still visible, then pivots to an empty root, cuts its
capabilities, sets no_new_privs and installs its seccomp whitelist before the command runs.
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
import sys
import termios
import traceback

from snakevisor.abi.errno import ERRNO_NAMES, SyscallError
from snakevisor.abi.signal import SI_KERNEL
from snakevisor.hostos import HostSetupError, die_with_parent
from snakevisor.abi.mount_options import memparse
from snakevisor.sandbox import coldgc, lockdown
from snakevisor.sandbox.environ import caller_environment
from snakevisor.sandbox.gofer_process import GoferMount, GoferProcess
from snakevisor.sandbox.network import NetworkSetupError

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


def run_do(cmd, strace=False, cwd="/", cpu=None, hostname="snakevisor", volumes=(), rootfs=None,
           overlay_upper=None, network="none", tty=False, net_raw=False, pids_limit=None, memory=None, tmpfs_size=None,
           profile=None, cwd_missing="fallback", platform="ptrace", directfs=False, root_overlay=True):
    """Run ``cmd`` in a sandbox process of its own; returns its exit code. ``profile``: a file
    for a cProfile of the Sentry (``SNAKEVISOR_PROFILE``). Once per process: its children go to
    the sandbox's PID namespace from then on. ``root_overlay`` False: the root (``rootfs``) is
    written through, not overlaid (--overlay2=none)."""
    max_tasks, memory_limit, tmp_size = resolve_limits(pids_limit, memory, tmpfs_size)
    mounts = [GoferMount("root", os.path.abspath(rootfs) if rootfs else "/", readonly=False)]
    mounts += [GoferMount(f"vol{i}", host, ro) for i, (host, _, ro) in enumerate(volumes)]
    settings = dict(argv=list(cmd), env=caller_environment(), cwd=cwd, strace=strace, cpu=cpu,   # SentryConfig's
                    hostname=hostname, network=network, tty=tty, net_raw=net_raw, max_tasks=max_tasks,
                    cwd_missing=cwd_missing, platform=platform, directfs=directfs,
                    memory_limit=memory_limit, tmpfs_size=tmp_size,
                    extra_mounts=[(path, ro) for _, path, ro in volumes])
    saved_tty = None
    if tty and os.isatty(0):
        try:
            saved_tty = termios.tcgetattr(0)
        except termios.error:
            pass
    try:
        lockdown.new_pid_namespace()
    except HostSetupError as e:
        print(f"snakevisor do: cannot make the sandbox's PID namespace: {e}", file=sys.stderr)
        return 125
    sys.stdout.flush()
    sys.stderr.flush()
    watched = set(RELAYED) | {signal.SIGCHLD, signal.SIGTSTP}
    # Blocked before the fork: a signal arriving meanwhile waits for the relay loop below.
    old_mask = signal.pthread_sigmask(signal.SIG_BLOCK, watched)
    gc.freeze()   # the heap the fork shares: neither process's collector walks (and copies) it
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            signal.pthread_sigmask(signal.SIG_SETMASK, old_mask)
            code = _sandbox_process(settings, mounts, (root_overlay, overlay_upper), profile)
        except KeyboardInterrupt:
            code = 128 + signal.SIGINT
        except BaseException:   # a Sentry bug: say where before the sandbox ends
            traceback.print_exc()
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)
    coldgc.resume()
    status = _relay_until_exit(pid, watched)
    if os.WIFSIGNALED(status) and saved_tty is not None:
        try:   # the Sentry died before giving the terminal its settings back
            termios.tcsetattr(0, termios.TCSADRAIN, saved_tty)
        except termios.error:
            pass
    return wait_status_to_exit_code(status)


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


def _sandbox_process(settings, mounts, overlay, profile):
    """The forked sandbox process (pid 1 of its PID namespace): its exit code."""
    die_with_parent()   # `do` killed: the sandbox too
    # Until the Sentry forwards them, SIGTERM and SIGHUP end the boot (as init, their default
    # action would be to ignore them).
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, lambda signum, _frame: os._exit(128 + signum))
    if not profile:
        return _boot_and_run(settings, mounts, overlay)
    import cProfile
    import marshal
    with open(profile, "wb") as out:   # opened now: the locked-down Sentry cannot open files
        profiler = cProfile.Profile()
        try:
            return profiler.runcall(_boot_and_run, settings, mounts, overlay)
        finally:
            profiler.create_stats()
            marshal.dump(profiler.stats, out)   # what Profile.dump_stats writes


def _boot_and_run(settings, mounts, overlay):
    """``settings``: SentryConfig's arguments (the class is the Sentry's, imported only here);
    ``overlay``: (whether the root is an overlay, the directory of its upper layer or None)."""
    cmd0 = settings["argv"][0]
    try:
        lockdown.enter_namespaces()
    except HostSetupError as e:
        print(f"snakevisor do: cannot give the sandbox its namespaces: {e}", file=sys.stderr)
        return 125
    gofer = GoferProcess(mounts, isolate=True, overlay=overlay[0], overlay_upper=overlay[1],
                         directfs=settings["directfs"])
    try:
        from snakevisor.sandbox.sentry_boot import BootError, GoferGone, Sentry, SentryConfig   # while the Gofer starts
        try:
            sentry = Sentry(SentryConfig(**settings), gofer.sockets)
            gofer.pin_to(os.sched_getaffinity(0))   # the CPU the Sentry pinned itself to
            sentry.load_init()
            lockdown.preload_modules(settings["platform"])
            coldgc.resume()   # booted: what the Sentry made until now lives as long as it
            lockdown.lock_down(lockdown.seccomp_filter(settings["network"], settings["directfs"]))
            status = sentry.run()
        except SyscallError as e:
            print(f"snakevisor do: {cmd0}: {os.strerror(e.errno)} ({ERRNO_NAMES.get(e.errno, e.errno)})",
                  file=sys.stderr)
            return 127 if e.errno == 2 else 126
        except NetworkSetupError as e:
            print(f"snakevisor do: {e}", file=sys.stderr)
            return 125
        except HostSetupError as e:
            print(f"snakevisor do: cannot lock the Sentry down: {e}", file=sys.stderr)
            return 125
        except GoferGone as e:
            print(f"snakevisor do: {e}", file=sys.stderr)
            return 125
        except BootError as e:   # the settings the Sentry checks are do's flags: --cwd
            print(f"snakevisor do: --{e}", file=sys.stderr)
            return 125
        return wait_status_to_exit_code(status)
    finally:
        gofer.stop()
