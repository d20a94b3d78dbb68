"""Runners: the ways a benchmark program is started (natively, in snakevisor,
in gVisor's runsc with the ptrace platform pinned and not, in runc, and under
the bare Python ptrace loop), each with a probe that says why it is missing.

A runner runs a program to completion (run) or starts a server in the
background and stops it later (start, stop); either way with the sandbox's
own network or, for cases that talk to the host (host_network), the host's.

Every invocation runs in its own session; on a timeout or a stop the whole
process group is killed, and every process found under it, so a hung runner
cannot hang the suite and no server or sandbox outlives its case.
"""

import copy
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from snakevisor.hostos.libc import readable
from snakevisor.warm.protocol import answers, server_pid

REPO_ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Completed:
    returncode: int | None  # None: timed out
    stdout: str
    stderr: str
    wall_s: float

    @property
    def timed_out(self):
        return self.returncode is None


STOP_GRACE_S = 5.0  # a stopped server gets this long after SIGTERM before SIGKILL


def _start_time(pid):
    """The start time of pid (field 22 of /proc/PID/stat), or None if it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def descendants(pid):
    """[(pid, start time)] of every process under pid, from /proc."""
    children = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        children.setdefault(int(fields[1]), []).append((int(entry), fields[19]))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child[0])
    return found


def _signal_group(pgid, sig):
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def end_process(proc, grace_s=0.0):
    """Ends proc, started in a session of its own, and everything under it:
    SIGTERM to its process group and grace_s to exit (when grace_s > 0), then
    SIGKILL to the group and to each process seen under proc that is still the
    same process (a sandbox may put its parts in sessions of their own, and
    orphans are no longer under proc). Returns proc's exit status."""
    tree = descendants(proc.pid)
    if grace_s > 0:
        _signal_group(proc.pid, signal.SIGTERM)
        try:
            proc.wait(grace_s)
        except subprocess.TimeoutExpired:
            tree += descendants(proc.pid)
    _signal_group(proc.pid, signal.SIGKILL)
    for pid, started in tree:
        if _start_time(pid) == started:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    return proc.wait()


def run_command(cmd, timeout, cwd=None, env=None):
    """Runs cmd in a new session; on timeout kills it and everything under it."""
    return run_commands([cmd], timeout, cwd, env)


def run_commands(cmds, timeout, cwd=None, env=None):
    """Runs every command of cmds at once, each in a new session, until all have exited; on
    timeout kills them and everything under them. One Completed: the first failure's status
    and output (else the last's), the wall time of the whole batch."""
    t0 = time.perf_counter()
    procs = []
    try:
        for cmd in cmds:
            procs.append(subprocess.Popen(cmd, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                          stderr=subprocess.PIPE, text=True, errors="replace",
                                          start_new_session=True))
    except OSError as e:
        for p in procs:
            end_process(p)
            p.communicate()
        return Completed(127, "", f"{cmds[0][0]}: {e.strerror}", 0.0)
    results, deadline = [], t0 + timeout
    for p in procs:
        try:
            out, err = p.communicate(timeout=max(0.0, deadline - time.perf_counter()))
            results.append((p.returncode, out, err))
        except subprocess.TimeoutExpired:
            end_process(p)
            out, err = p.communicate()
            results.append((None, out, err))
    wall = time.perf_counter() - t0
    status, out, err = next((r for r in results if r[0] != 0), results[-1])
    return Completed(status, out, err, wall)


def start_command(cmd, output, cwd=None, env=None):
    """Starts cmd in a new session, stdout and stderr to the open file output;
    the caller ends it with end_process."""
    return subprocess.Popen(cmd, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=output, stderr=output,
                            start_new_session=True)


def failure_message(result):
    """One line on why a Completed run failed."""
    if result.timed_out:
        return f"timeout after {result.wall_s:.0f}s"
    line = first_line(result.stderr)
    if line:
        return line[:200]
    return f"exit status {result.returncode}, no result line"


def first_line(text):
    for line in text.splitlines():
        if line.strip():
            return line.strip()
    return ""


class Runner:
    name = "?"
    description = ""
    only_benchmarks = None  # a set of benchmark names, or None for all

    def applies_to(self, case):
        if case.oci_cycle and self.oci_runtime(".") is None:
            return False
        return self.only_benchmarks is None or case.benchmark in self.only_benchmarks

    def oci_runtime(self, work_dir):
        """The argv of its OCI runtime CLI (global flags, a state root in ``work_dir``), for the
        OCI cycle; None: it has none."""
        return None

    def command(self, argv, host_network=False):
        """The host command that runs argv; host_network: in the host's network."""
        return list(argv)

    def cwd(self):
        return None

    def env(self):
        """The environment of its commands (None: ours)."""
        return None

    def why_missing(self):
        """A reason when the runner cannot be used here, before trying it."""
        return None

    def setup(self, ctx):
        """Prepares per-suite state (ctx: a driver.Context)."""

    def teardown(self):
        pass

    def version(self):
        return ""

    def run(self, argv, timeout, host_network=False):
        return run_command(self.command(argv, host_network), timeout, cwd=self.cwd(), env=self.env())

    def run_cycle(self, argv, timeout, ctx):
        """One OCI cycle (bench/oci_cycle.py) of a container running argv."""
        from bench import oci_cycle
        self.cycles = getattr(self, "cycles", 0) + 1
        cid = f"bench-{os.getpid()}-{self.cycles}"
        cmd = oci_cycle.command(ctx.programs["oci_shim"], self.oci_runtime(ctx.work_dir),
                                oci_cycle.bundle(ctx.work_dir, argv), ctx.work_dir, cid)
        return run_command(cmd, timeout, cwd=self.cwd(), env=self.env())

    def run_many(self, argv, count, timeout):
        """``count`` runs of argv started at once (a Completed for them all: see run_commands)."""
        return run_commands([self.command(argv) for _ in range(count)], timeout, cwd=self.cwd(), env=self.env())

    def start(self, argv, output, host_network=False):
        """Starts argv (a server) in the background, stdout and stderr to the
        open file output; returns the Popen to pass to stop()."""
        return start_command(self.command(argv, host_network), output, cwd=self.cwd(), env=self.env())

    def stop(self, proc):
        end_process(proc, STOP_GRACE_S)


class NativeRunner(Runner):
    name = "native"
    description = "the program run directly on the host"


# How the README's launcher starts the CLI: -S (no site: snakevisor needs nothing from
# site-packages) saves the interpreter ~10-20 ms per command.
SNAKEVISOR_CLI = (sys.executable, "-S", "-m", "snakevisor")


class SnakevisorRunner(Runner):
    """``do`` as a user runs it: the first one finds no server, runs cold and starts one (detached);
    the next ones are served by it. Each runner has a server of its own (a private socket), started
    at set-up by a first ``do`` and waited for, stopped at tear-down."""
    name = "snakevisor"
    description = ("python3 -S -m snakevisor do --volume HOSTDIR:HOSTDIR [--network=host] -- PROG, as a user runs "
                   "it: -S as the launcher in the README starts it; the first do starts a server, which serves the "
                   "next ones (a sandbox forked per do, booted ahead); root: an overlay of the host's / through the "
                   "Gofer; the fs benchmark's host dir a read-write volume; the default platform (systrap); "
                   "pins itself")

    def __init__(self):
        self.host_dir = None
        self.socket = None

    def setup(self, ctx):
        self.host_dir = ctx.host_dir
        if self.socket is None and self.WARM:
            self.socket = os.path.join(ctx.work_dir, f"{self.name}.sock")
            first = run_command(self.command(["/bin/true"]), 120, cwd=self.cwd(), env=self.env())
            deadline = time.monotonic() + 60
            while not answers(self.socket):   # the server that first do started: bound once ready
                if first.returncode != 0 or time.monotonic() > deadline:
                    raise RuntimeError(f"no snakevisor server started on demand: {failure_message(first)}")
                time.sleep(0.02)

    def teardown(self):
        if self.socket is not None:
            _stop_server(self.socket)
            self.socket = None

    PLATFORM = ()
    WARM = True   # a server, started on demand

    def command(self, argv, host_network=False):
        vol = ["--volume", f"{self.host_dir}:{self.host_dir}"] if self.host_dir else []
        net = ["--network=host"] if host_network else []
        return [*SNAKEVISOR_CLI, "do", *self.PLATFORM, *vol, *net, "--", *argv]

    def cwd(self):
        return str(REPO_ROOT)

    def oci_runtime(self, work_dir):
        if self.PLATFORM:   # the OCI cycle: the default and cold only
            return None
        return [*SNAKEVISOR_CLI, "--root", os.path.join(work_dir, f"{self.name}-state")]

    def env(self):
        env = {k: v for k, v in os.environ.items() if not k.startswith("SNAKEVISOR_WARM")}
        if not self.WARM or self.socket is None:
            return dict(env, SNAKEVISOR_WARM="0")   # cold, even if a server answers
        # Its own server, which waits out the other runners' cases: an hour idle.
        return dict(env, SNAKEVISOR_WARM_SOCKET=self.socket, SNAKEVISOR_WARM_IDLE="3600")

    def why_missing(self):
        if not (REPO_ROOT / "snakevisor" / "__main__.py").exists():
            return "snakevisor/__main__.py not found (python3 -m snakevisor not built yet)"
        return None


def _stop_server(path):
    """SIGTERM to the server on ``path``, and STOP_GRACE_S for it and its sandboxes to end before
    SIGKILL to what is left of its process group."""
    pid = server_pid(path)
    try:
        pidfd = os.pidfd_open(pid) if pid else None
    except OSError:
        pidfd = None
    if pidfd is None:
        return
    try:
        os.kill(pid, signal.SIGTERM)
        if not readable(pidfd, STOP_GRACE_S):
            _signal_group(pid, signal.SIGKILL)
    finally:
        os.close(pidfd)


class SnakevisorColdRunner(SnakevisorRunner):
    name = "snakevisor-cold"
    description = "the same with SNAKEVISOR_WARM=0: every do a cold start (no server); startup benchmark only"
    WARM = False
    only_benchmarks = {"startup"}


class SnakevisorPtraceRunner(SnakevisorRunner):
    name = "snakevisor-ptrace"
    description = "the same with do --platform=ptrace (PTRACE_SYSEMU stops)"
    PLATFORM = ("--platform=ptrace",)


class SnakevisorUnpinnedRunner(SnakevisorRunner):
    """systrap's stubs on any CPU (its futex hand-offs need no shared CPU): faster for a lone
    syscall loop, slower where two parties wait on each other (design.md section 4); the syscall
    benchmark only, where the issue asks for its figure."""
    name = "snakevisor-unpinned"
    description = "the same with do --cpu=-1 (systrap, not pinned); syscall benchmark only"
    PLATFORM = ("--cpu=-1",)
    only_benchmarks = {"syscall"}


class Snakevisor9pRunner(SnakevisorRunner):
    name = "snakevisor-9p"
    description = "the same with do --directfs=false (host files over 9P only; directfs is the default)"
    PLATFORM = ("--directfs=false",)


class RunscRunner(Runner):
    """`runsc do`: host / as the lower layer of an in-memory overlay (so writes
    to a host directory land in the sandbox's memory, not on the host).

    In the host's network only with --rootless=true: as root `runsc do` puts
    any network but none into a fresh namespace behind a veth pair and
    iptables NAT, where 127.0.0.1 is not the host's."""
    FLAGS = ("--rootless=false", "--network=none", "--platform=ptrace")
    HOST_NETWORK_FLAGS = ("--rootless=true", "--network=host", "--platform=ptrace")

    def __init__(self, pinned):
        self.pinned = pinned
        self.name = "runsc-ptrace-cpu0" if pinned else "runsc-ptrace"
        self.description = ("runsc --platform=ptrace do, " +
                            ("pinned to CPU 0 with taskset -c 0" if pinned else "not pinned"))

    def command(self, argv, host_network=False):
        prefix = ["taskset", "-c", "0"] if self.pinned else []
        flags = self.HOST_NETWORK_FLAGS if host_network else self.FLAGS
        return [*prefix, "runsc", *flags, "do", *argv]

    def oci_runtime(self, work_dir):
        if self.pinned:
            return None
        return ["runsc", "--root", os.path.join(work_dir, "runsc-state"), "--network=none", "--platform=ptrace",
                "--ignore-cgroups"]

    def why_missing(self):
        if shutil.which("runsc") is None:
            return "runsc not installed (Debian package runsc)"
        if self.pinned and shutil.which("taskset") is None:
            return "taskset not installed (util-linux)"
        if os.geteuid() != 0:
            return "runsc do with --rootless=false needs root"
        return None

    def version(self):
        return first_line(run_command(["runsc", "--version"], 30).stdout)


class RuncRunner(Runner):
    """runc with a bundle whose rootfs mirrors the host read-only: each top-level
    directory of / bind-mounted read-only, its symlinks copied, a private tmpfs
    on /tmp, the host directory bound read-write, and CAP_NET_ADMIN so the net
    benchmark can raise lo in the fresh network namespace; a host-network run
    has no network namespace. (A root of "/" itself cannot be pivot_root'ed
    into.)"""
    name = "runc"
    description = "runc run, rootfs = read-only binds of the host's /, tmpfs /tmp, host dir read-write"
    SKIP = {"proc", "sys", "dev", "tmp", "run", "lost+found", "mnt"}

    def __init__(self):
        self.bundle = None
        self.state = None
        self.config = None
        self.counter = 0
        self.cid = None  # the container of the last command()
        self.started = {}  # pid of a started `runc run` -> its container id

    def why_missing(self):
        if shutil.which("runc") is None:
            return "runc not installed (Debian package runc)"
        if os.geteuid() != 0:
            return "runc needs root here (rootless bundles are not set up)"
        return None

    def version(self):
        return first_line(run_command(["runc", "--version"], 30).stdout)

    def setup(self, ctx):
        self.bundle = Path(ctx.work_dir) / "runc-bundle"
        self.state = Path(ctx.work_dir) / "runc-state"
        rootfs = self.bundle / "rootfs"
        rootfs.mkdir(parents=True, exist_ok=True)
        self.state.mkdir(parents=True, exist_ok=True)
        r = run_command(["runc", "spec", "--bundle", str(self.bundle)], 30)
        if r.returncode != 0:
            raise RuntimeError(f"runc spec: {first_line(r.stderr)}")
        config = json.loads((self.bundle / "config.json").read_text())
        config["root"] = {"path": "rootfs", "readonly": True}
        config["process"]["terminal"] = False
        config["process"]["cwd"] = "/"
        caps = config["process"]["capabilities"]
        for kind in ("bounding", "effective", "permitted"):
            caps.setdefault(kind, [])
            if "CAP_NET_ADMIN" not in caps[kind]:
                caps[kind].append("CAP_NET_ADMIN")
        # The cgroup mount fails on this host's cgroup v1 layout and no
        # benchmark needs it.
        mounts = [m for m in config["mounts"] if m["destination"] != "/sys/fs/cgroup"]
        for entry in sorted(os.listdir("/")):
            host = "/" + entry
            inside = rootfs / entry
            if os.path.islink(host):
                if not os.path.lexists(inside):
                    os.symlink(os.readlink(host), inside)
            elif os.path.isdir(host):
                inside.mkdir(exist_ok=True)
                if entry not in self.SKIP:
                    mounts.append({"destination": host, "type": "bind", "source": host, "options": ["rbind", "ro"]})
        mounts.append({"destination": "/tmp", "type": "tmpfs", "source": "tmpfs",
                       "options": ["nosuid", "nodev", "mode=1777"]})
        # After the read-only binds, so it lands on top of them.
        mounts.append({"destination": ctx.host_dir, "type": "bind", "source": ctx.host_dir, "options": ["rbind", "rw"]})
        config["mounts"] = mounts
        self.config = config

    def container_config(self, argv, host_network=False):
        """The bundle's config.json running argv; without a network namespace
        (the host's network) when host_network."""
        config = copy.deepcopy(self.config)
        config["process"]["args"] = list(argv)
        if host_network:
            linux = config["linux"]
            linux["namespaces"] = [ns for ns in linux["namespaces"] if ns["type"] != "network"]
        return config

    def command(self, argv, host_network=False):
        """Writes the bundle's config.json for argv; the `runc run` of a fresh container (self.cid)."""
        (self.bundle / "config.json").write_text(json.dumps(self.container_config(argv, host_network), indent=1))
        self.counter += 1
        self.cid = f"snakevisor-bench-{os.getpid()}-{self.counter}"
        return ["runc", "--root", str(self.state), "run", "--bundle", str(self.bundle), self.cid]

    def _delete(self, cid):
        run_command(["runc", "--root", str(self.state), "delete", "--force", cid], 30)

    def oci_runtime(self, work_dir):
        return ["runc", "--root", os.path.join(work_dir, "runc-cycle-state")]

    def run(self, argv, timeout, host_network=False):
        result = run_command(self.command(argv, host_network), timeout)
        if result.timed_out or result.returncode != 0:
            self._delete(self.cid)
        return result

    def start(self, argv, output, host_network=False):
        proc = start_command(self.command(argv, host_network), output)
        self.started[proc.pid] = self.cid
        return proc

    def stop(self, proc):
        super().stop(proc)
        self._delete(self.started.pop(proc.pid))


class PythonPtraceRunner(Runner):
    name = "python-ptrace"
    description = "bench/ptrace_loop.py: the simplest Python PTRACE_SYSEMU loop, pinned (syscall benchmark only)"
    only_benchmarks = {"syscall"}

    def command(self, argv, host_network=False):
        return [sys.executable, "-m", "bench.ptrace_loop", "--", *argv]

    def cwd(self):
        return str(REPO_ROOT)

    def why_missing(self):
        if sys.platform != "linux" or os.uname().machine != "x86_64":
            return "needs Linux x86_64"
        return None


def all_runners():
    """Every runner, in table column order."""
    return [NativeRunner(), PythonPtraceRunner(), SnakevisorRunner(), SnakevisorPtraceRunner(),
            SnakevisorUnpinnedRunner(), SnakevisorColdRunner(), Snakevisor9pRunner(),
            RunscRunner(pinned=True),
            RunscRunner(pinned=False), RuncRunner()]


def select(names=None):
    runners = all_runners()
    if not names:
        return runners
    known = {r.name: r for r in runners}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise ValueError(f"unknown runner(s): {', '.join(unknown)} (known: {', '.join(known)})")
    return [r for r in runners if r.name in names]
