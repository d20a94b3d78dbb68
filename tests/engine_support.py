"""Helpers for the container engine tests (Podman, containerd): the runtime wrapper an engine is
given as its runc, a private "host" (mount and network namespaces) the engine runs in, and the busybox
image as a tarball.

An engine writes state outside the directories it is told about (Podman's netavark keeps its IPAM
database in /run/containers/networks and its bridge, iptables chains and ip_forward in the host's
network namespace; runtimes and shims keep theirs under /run). So the engine runs in a namespace of
the test's own: /run is a directory of the test's there, the network namespace is new (with its
loopback up), and both vanish when the test ends: nothing is left on the host.
"""
import os
import shlex
import subprocess
import sys
import tarfile

from harness import REPO

# What an engine whose networking cannot be set up here prints (netavark, CNI, iptables).
NETWORK_ERRORS = ("netavark", "iptables", "cni", "network", "slirp4netns")


def runtime_wrapper(directory):
    """An executable that runs `python3 -m snakevisor ARGS` from this checkout: what an engine is
    told is its OCI runtime (as `snakevisor`, installed by pip, would be)."""
    path = os.path.join(directory, "snakevisor")
    with open(path, "w") as f:
        f.write(f"#!/bin/sh\nPYTHONPATH={shlex.quote(REPO)} exec {shlex.quote(sys.executable)} -m snakevisor \"$@\"\n")
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

    def __init__(self, run_dir):
        os.makedirs(run_dir, exist_ok=True)
        script = f"mount --bind {shlex.quote(run_dir)} /run && ip link set lo up && echo ready && exec cat"
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

