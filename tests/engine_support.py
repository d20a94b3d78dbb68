"""Helpers for the container engine tests (Podman, containerd): the runtime wrapper an engine is
given as its runc, a private "host" (mount and network namespaces) the engine runs in, and the busybox
image as a tarball.

An engine writes state outside the directories it is told about (Podman's netavark keeps its IPAM
database in /run/containers/networks and its bridge, iptables chains and ip_forward in the host's
network namespace; runtimes and shims keep theirs under /run). So the engine runs in a namespace of
the test's own: /run is a directory of the test's there, the network namespace is new (with its
loopback up), and both vanish when the test ends: nothing is left on the host.
"""
import fcntl
import os
import resource
import shlex
import signal
import struct
import subprocess
import sys
import tarfile
import termios
import time

from harness import REPO
from snakevisor.hostos import readable

# Run on a 24x80 terminal: it names itself, waits for its size (an engine sets it once the process
# runs, Docker and ctr only after it started, under runc too), reads a line and exits 5.
TERMINAL_SCRIPT = ('tty; while [ "$(stty size 2>/dev/null)" != "24 80" ]; do sleep 0.05; done; '
                   'stty size; read x; echo got $x; exit 5')
# What an engine whose networking cannot be set up here prints (netavark, CNI, iptables).
NETWORK_ERRORS = ("netavark", "iptables", "cni", "network", "slirp4netns")


def runtime_wrapper(directory):
    """An executable that runs `python3 -S -m snakevisor ARGS` from this checkout: what an engine is
    told is its OCI runtime (the README's launcher; `snakevisor`, installed by pip, is the same)."""
    path = os.path.join(directory, "snakevisor")
    # The warm path's settings reach the runtime whatever environment the engine gives it, so
    # that SNAKEVISOR_WARM=1 pytest ... runs the engines' containers through the warm server.
    warm = "".join(f"{k}={shlex.quote(v)} " for k, v in sorted(os.environ.items()) if k.startswith("SNAKEVISOR_WARM"))
    with open(path, "w") as f:
        f.write(f"#!/bin/sh\n{warm}PYTHONPATH={shlex.quote(REPO)} exec {shlex.quote(sys.executable)} -S -m snakevisor \"$@\"\n")
    os.chmod(path, 0o755)
    return path


def image_tar(rootfs, out):
    """A tarball of ``rootfs`` (its hidden files left out), as `podman import` and `docker import` take."""
    with tarfile.open(out, "w") as tar:
        for name in sorted(os.listdir(rootfs)):
            if not name.startswith("."):
                tar.add(os.path.join(rootfs, name), arcname=name)
    return out


class PrivateHost:
    """A process holding new mount and network namespaces in which /run is ``run_dir``; commands
    run there through ``prefix`` (nsenter). ``close`` ends it; the namespaces go when the last
    process in them does. Raises OSError with the reason if the namespaces cannot be made."""

    def __init__(self, run_dir, overlaid=()):
        """``overlaid``: host directories the engine may write (say /var/lib, where CNI keeps its
        cache): an overlay in the private namespace sends their changes to a directory beside
        ``run_dir``."""
        os.makedirs(run_dir, exist_ok=True)
        steps = [f"mount --bind {shlex.quote(run_dir)} /run"]
        for i, target in enumerate(overlaid):
            upper, work = f"{run_dir}-overlay{i}/upper", f"{run_dir}-overlay{i}/work"
            os.makedirs(upper)
            os.makedirs(work)
            steps.append(f"mount -t overlay overlay -o lowerdir={target},upperdir={upper},workdir={work} {target}")
        script = " && ".join(steps + ["ip link set lo up", "echo ready", "exec cat"])
        self.proc = subprocess.Popen(["unshare", "--mount", "--net", "--propagation", "private", "sh", "-c", script],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        if self.proc.stdout.readline().strip() != "ready":   # the shell has set up (or failed) by then
            err = self.proc.stderr.read().strip()
            self.proc.wait()
            raise OSError(f"cannot make a private mount and network namespace: {err}")
        self.prefix = ["nsenter", "-t", str(self.proc.pid), "-m", "-n"]

    def run(self, argv, timeout=60, **kwargs):
        return subprocess.run(self.prefix + list(argv), capture_output=True, text=True, timeout=timeout, **kwargs)

    def close(self):
        if self.proc.poll() is None:
            self.proc.stdin.close()
            self.proc.wait(timeout=10)



def comparable_mounts(lines, binds):
    """/proc/self/mounts as comparable (target, type, options): sorted (an engine's mounts may come
    in map order, a new one each run), those below /proc apart. ``binds`` (and the root) show the
    host's filesystem under runc and 9p here: only their targets and access flags compare. Below
    /sys they are left out: a cgroup v1 host gets runc's tmpfs of hierarchies at /sys/fs/cgroup, the
    Sentry's view is cgroup2."""
    top, proc = [], []
    for line in lines:
        _source, target, fstype, opts = line.split()[:4]
        opts = [o for o in opts.split(",") if o not in ("inode64", "inode32", "noswap")]
        if target in binds:
            entry = (target, "bind", [o for o in opts if o in ("ro", "rw", "nosuid", "nodev", "noexec")])
        else:
            entry = (target, fstype, opts)
        if target.startswith("/proc/"):
            proc.append(entry)
        elif not target.startswith("/sys/"):
            top.append(entry)
    return sorted(top), proc


def compare_script(tail):
    """A shell script printing `ps`, /proc/self/mounts and then what ``tail`` (commands) prints."""
    return f"ps; echo mounts:; cat /proc/self/mounts; echo tail:; {tail}"


def assert_same_as_runc(ours, theirs, binds):
    """The outputs of compare_script under snakevisor and under runc agree: `ps` but for its pids,
    the mounts (comparable_mounts; the Sentry's procfs has fewer of the files runc masks or makes
    read-only below /proc: the ones it has are mounted as runc's), and the tail's output."""
    ps, _, rest = ours.partition("mounts:\n")
    rps, _, rrest = theirs.partition("mounts:\n")
    assert [line.split()[1:] for line in ps.splitlines()] == [line.split()[1:] for line in rps.splitlines()]
    assert [line.split()[2] for line in ps.splitlines()] == ["COMMAND", "sh", "{ps}"], ps
    mounts, _, tail = rest.partition("tail:\n")
    rmounts, _, rtail = rrest.partition("tail:\n")
    assert tail == rtail
    top, proc = comparable_mounts(mounts.splitlines(), binds)
    rtop, rproc = comparable_mounts(rmounts.splitlines(), binds)
    assert top == rtop, "\n".join(["snakevisor:", mounts, "runc:", rmounts])
    assert proc and all(entry in rproc for entry in proc), (proc, rproc)


class Engine:
    """A Docker-like CLI (podman, docker) run in a PrivateHost. ``cli(*args)`` runs any command;
    ``run(*args)`` a container under snakevisor (``runtime="runc"``: under runc), with the network
    switched off where the engine's cannot be set up here (``net`` then says why).
    ``global_flags(runtime)`` and ``run_flags(runtime)`` are where the engine takes the runtime."""

    def __init__(self, argv0, host, env, global_flags, run_flags):
        self.argv0, self.host, self.env = argv0, host, env
        self.global_flags, self.run_flags = global_flags, run_flags
        self.net = None

    def cli(self, *args, runtime=None, timeout=120, input=None):
        return self.host.run([self.argv0, *self.global_flags(runtime), *args], timeout=timeout, env=self.env,
                             input=input)

    def run(self, *args, runtime=None, timeout=120, input=None):
        return self.cli(*self.run_args(args, runtime), runtime=runtime, timeout=timeout, input=input)

    def run_args(self, args, runtime):
        net = ("--network", "none") if self.net else ()
        return ["run", *self.run_flags(runtime), *net, *args]

    def argv(self, *args, runtime=None):
        """The whole command line of ``cli(*args)`` (for run_in_terminal)."""
        return self.host.prefix + [self.argv0, *self.global_flags(runtime), *args]

    def run_argv(self, *args, runtime=None):
        """The whole command line of ``run(*args)``."""
        return self.argv(*self.run_args(args, runtime), runtime=runtime)

    def probe_network(self, image):
        """Run a container on the engine's network; if that fails for the network's sake, keep why."""
        res = self.run("--rm", image, "true")
        if res.returncode != 0 and any(w in res.stderr.lower() for w in NETWORK_ERRORS):
            self.net = f"{self.argv0}'s network cannot be set up here: {res.stderr.strip()}"
            print(self.net + " (containers run with --network none)")


def low_rlimits():
    """nofile and nproc limits (soft = hard) at or below this process's hard ones, for an engine's
    containers: Podman's and Docker's defaults for root are higher, and runc (compared with) cannot
    raise them where the machine withholds CAP_SYS_RESOURCE, as this one does."""
    return {"nofile": min(1024, resource.getrlimit(resource.RLIMIT_NOFILE)[1]),
            "nproc": min(4096, resource.getrlimit(resource.RLIMIT_NPROC)[1])}


def run_in_terminal(argv, env, size, answer_after, answer, timeout=60):
    """Run ``argv`` on a new pseudo-terminal of ``size`` (rows, cols), as from a user's terminal;
    once its output holds ``answer_after``, type ``answer``. Returns (output, exit code); the
    output is cut short if ``timeout`` seconds pass (the process is then killed)."""
    # The size is set before the child exists: set after, it races with the program reading it
    # (a SIGWINCH that comes before the program's handler is ignored, and the size never arrives).
    fd, replica = os.openpty()
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", size[0], size[1], 0, 0))
    pid = os.fork()
    if pid == 0:   # the child: exec at once (nothing else is safe after fork in a threaded parent)
        try:
            os.close(fd)
            os.login_tty(replica)
            os.execvpe(argv[0], argv, env)
        finally:
            os._exit(127)
    os.close(replica)
    out, answered = b"", False
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            if not readable(fd, deadline - time.monotonic()):
                break
            try:
                data = os.read(fd, 4096)
            except OSError:   # EIO: the terminal's last user has gone
                break
            if not data:
                break
            out += data
            if not answered and answer_after in out:
                os.write(fd, answer)
                answered = True
    except BaseException:   # interrupted (conftest's limit): no more waiting for it
        deadline = time.monotonic()
        raise
    finally:
        status = _reap_by(pid, deadline)
        os.close(fd)
    return out.decode(errors="replace"), os.waitstatus_to_exitcode(status)


def _reap_by(pid, deadline):
    """The wait status of ``pid``, SIGKILLed if it has not exited by ``deadline`` (its terminal may
    have closed while it lives on: waiting without a bound would hang the suite)."""
    pidfd = os.pidfd_open(pid)
    try:
        if not readable(pidfd, deadline - time.monotonic()):
            os.kill(pid, signal.SIGKILL)
    finally:
        os.close(pidfd)
    return os.waitpid(pid, 0)[1]


def cleanup(*steps):
    """Run each of ``steps`` (callables) even where one before it failed (a command that timed out
    must not leave the engine's daemon or namespaces behind); then raise the first failure."""
    failure = None
    for step in steps:
        try:
            step()
        except Exception as e:   # noqa: BLE001 - kept for after the other steps
            failure = failure or e
    if failure is not None:
        raise failure


def stop_daemon(proc, timeout=30):
    """SIGTERM an engine's daemon and reap it; SIGKILL if it takes longer than ``timeout`` seconds."""
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
