"""``snakevisor do``: run one host command in a fresh sandbox whose root is the host's / (or ``rootfs``).

The root is writable: the Gofer serves an overlay of it (changes go to a
scratch tmpfs, or to ``overlay_upper``), so the host's files are untouched.
``volumes`` [(host_dir, sandbox_path, readonly)] are bind mounts served as
separate 9P connections: writes there land on the host.

This process becomes the Sentry; the Gofer is a separate process. The exit
status of the sandboxed command is returned (128+N for death by signal N).
"""
import os
import sys

from snakevisor.abi.errno import ERRNO_NAMES, SyscallError
from snakevisor.sandbox.environ import caller_environment
from snakevisor.sandbox.gofer_process import GoferMount, GoferProcess
from snakevisor.sandbox.network import NetworkSetupError
from snakevisor.sandbox.sentry_boot import Sentry, SentryConfig


def wait_status_to_exit_code(status):
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
    host = os.path.abspath(parts[0])
    if not os.path.isdir(host):
        raise ValueError(f"volume {host}: not a directory")
    return host, os.path.normpath(parts[1]), readonly


def run_do(cmd, strace=False, cwd="/", cpu=None, hostname="snakevisor", volumes=(), rootfs=None,
           overlay_upper=None, network="none", tty=False, memory_limit=None):
    mounts = [GoferMount("root", os.path.abspath(rootfs) if rootfs else "/", readonly=False)]
    mounts += [GoferMount(f"vol{i}", host, ro) for i, (host, _, ro) in enumerate(volumes)]
    gofer = GoferProcess(mounts, isolate=True, overlay=True, overlay_upper=overlay_upper)
    try:
        config = SentryConfig(argv=list(cmd), env=caller_environment(), cwd=cwd, strace=strace, cpu=cpu,
                              hostname=hostname, network=network, tty=tty, memory_limit=memory_limit,
                              extra_mounts=[(path, ro) for _, path, ro in volumes])
        try:
            sentry = Sentry(config, gofer.sockets)
            gofer.pin_to(os.sched_getaffinity(0))   # the CPU the Sentry pinned itself to
            status = sentry.run()
        except SyscallError as e:
            print(f"snakevisor do: {cmd[0]}: {os.strerror(e.errno)} ({ERRNO_NAMES.get(e.errno, e.errno)})",
                  file=sys.stderr)
            return 127 if e.errno == 2 else 126
        except NetworkSetupError as e:
            print(f"snakevisor do: {e}", file=sys.stderr)
            return 125
        return wait_status_to_exit_code(status)
    finally:
        gofer.stop()
