"""Rootless Podman with snakevisor as its runtime: an unprivileged user made here (useradd, with
subordinate uid and gid ranges in /etc/subuid and /etc/subgid) runs `podman --runtime WRAPPER run`
through runuser. Podman then runs the runtime as uid 0 of its user namespace: snakevisor keeps its
state under $XDG_RUNTIME_DIR/snakevisor (as runc does there) and its Gofer mounts the root's overlay
without redirect_dir, which Linux refuses in a user namespace.

The user's storage, runtime directory and configuration are in its home, a directory of the test's;
at the end the user's processes (Podman's pause process holds its user namespace) are killed by pid
and the user, its subordinate ranges and its home are removed.
"""
import os
import pwd
import shutil
import subprocess
import tempfile
import time

import pytest

from engine_support import cleanup, image_tar
from harness import REPO
from oci_support import busybox_rootfs

USER = "snakevisor-rl"
IMAGE = "localhost/snakevisor-rootless-busybox:latest"
pytestmark = [pytest.mark.skipif(os.geteuid() != 0, reason="making a user for rootless Podman needs root"),
              pytest.mark.skipif(not shutil.which("podman"), reason="podman is not installed (tools/setup.sh --test)"),
              pytest.mark.skipif(not all(shutil.which(t) for t in ("useradd", "userdel", "runuser", "newuidmap")),
                                 reason="useradd, userdel, runuser and newuidmap (uidmap) are needed")]


def _user_python(runas):
    """A Python the user can run (this one may live below root's home, /root/.pyenv)."""
    for candidate in (os.path.realpath(shutil.which("python3") or ""), "/usr/bin/python3"):
        if candidate and runas(["test", "-x", candidate]).returncode == 0:
            return candidate
    pytest.skip("no Python the unprivileged user may run")


def _processes_of(uid):
    pids = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if os.stat(f"/proc/{pid}").st_uid == uid:
                pids.append(int(pid))
        except OSError:   # gone meanwhile
            pass
    return pids


def _kill_processes_of(uid, timeout=20):
    """SIGKILL the user's processes, each by its pid (Podman's pause process and anything else
    the test's commands left), and wait until they are gone (userdel refuses a user still running)."""
    deadline = time.monotonic() + timeout
    while _processes_of(uid) and time.monotonic() < deadline:
        for pid in _processes_of(uid):
            try:
                os.kill(pid, 9)
            except OSError:
                pass
        time.sleep(0.05)
    assert not _processes_of(uid), _processes_of(uid)


def _remove_user():
    res = subprocess.run(["userdel", "--remove", USER], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr


@pytest.fixture(scope="module")
def rootless(tmp_path_factory):
    """``rootless(*podman_args)`` runs podman as the unprivileged user with snakevisor as runtime;
    IMAGE is imported in the user's storage. ``rootless.net`` is a reason to run with --network
    none, or None."""
    base = tempfile.mkdtemp(prefix="snakevisor-rootless-", dir="/var/tmp")
    os.chmod(base, 0o755)
    home = os.path.join(base, "home")
    res = subprocess.run(["useradd", "--create-home", "--home-dir", home, "--shell", "/bin/sh", USER],
                         capture_output=True, text=True)
    if res.returncode != 0:
        shutil.rmtree(base)
        pytest.skip(f"cannot make the user {USER}: {res.stderr.strip()}")
    uid = pwd.getpwnam(USER).pw_uid
    try:
        yield _setup(home, uid)
    finally:
        cleanup(lambda: _kill_processes_of(uid), _remove_user, lambda: shutil.rmtree(base, ignore_errors=True))


def _setup(home, uid):
    with open("/etc/subuid") as f:
        if not any(line.startswith(USER + ":") for line in f):   # useradd adds them where login.defs says so
            subprocess.run(["usermod", "--add-subuids", "400000000-400065535", "--add-subgids",
                            "400000000-400065535", USER], check=True)
    xdg = os.path.join(home, "run")
    os.mkdir(xdg, 0o700)
    os.chown(xdg, uid, uid)
    env = {"HOME": home, "USER": USER, "LOGNAME": USER, "PATH": "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin",
           "XDG_RUNTIME_DIR": xdg, "XDG_CONFIG_HOME": f"{home}/.config", "XDG_DATA_HOME": f"{home}/.local/share"}

    def runas(argv, timeout=120):
        return subprocess.run(["runuser", "-u", USER, "--", "env", "-i", *(f"{k}={v}" for k, v in env.items()), *argv],
                              capture_output=True, text=True, timeout=timeout, cwd=home)
    if runas(["test", "-r", os.path.join(REPO, "snakevisor", "__init__.py")]).returncode != 0:
        pytest.skip(f"the checkout ({REPO}) is not readable by an unprivileged user")
    wrapper = os.path.join(home, "snakevisor")
    with open(wrapper, "w") as f:
        # Cold (SNAKEVISOR_WARM=0): a create that finds no server starts one, which would outlive the
        # test as the unprivileged user's.
        f.write(f'#!/bin/sh\nSNAKEVISOR_WARM=0 PYTHONPATH={REPO} exec {_user_python(runas)} -m snakevisor "$@"\n')
    os.chmod(wrapper, 0o755)
    tar = image_tar(busybox_rootfs(), os.path.join(home, "busybox.tar"))
    os.chown(tar, uid, uid)
    res = runas(["podman", "import", tar, IMAGE])
    if res.returncode != 0:
        pytest.skip(f"rootless podman cannot run here: {res.stderr.strip()[-500:]}")

    def podman(*args, timeout=120):
        return runas(["podman", "--runtime", wrapper, *args], timeout=timeout)
    podman.xdg, podman.net = xdg, None
    probe = podman("run", "--rm", IMAGE, "true")
    if probe.returncode != 0 and "slirp4netns" in probe.stderr:
        podman.net = f"rootless networking (slirp4netns) cannot run here: {probe.stderr.strip()[:200]}"
        print(podman.net + " (containers run with --network none)")
    return podman


def _run(podman, *args):
    net = ("--network", "none") if podman.net else ()
    return podman("run", "--rm", *net, *args)


def test_rootless_run_true(rootless):
    """The brief's command: `podman --runtime WRAPPER run --rm IMAGE true` as an unprivileged user."""
    res = _run(rootless, IMAGE, "true")
    assert (res.returncode, res.stderr) == (0, ""), res.stderr


def test_rootless_run_output_exit_code_and_writable_root(rootless):
    res = _run(rootless, IMAGE, "sh", "-c", "uname -r; id -u; echo x > /new && cat /new; "
                                          "mkdir /d && mv /d /e && ls -d /e; exit 4")
    assert (res.returncode, res.stdout) == (4, "6.1.0-snakevisor\n0\nx\n/e\n"), res.stderr


def test_rootless_state_lives_in_the_users_runtime_dir(rootless):
    """Without --root, a rootless runtime keeps its state in $XDG_RUNTIME_DIR/snakevisor (as runc's
    $XDG_RUNTIME_DIR/runc): /run/snakevisor is not the user's to write."""
    net = ("--network", "none") if rootless.net else ()
    res = rootless("run", "-d", "--name", "rl1", *net, IMAGE, "sleep", "1000")
    assert res.returncode == 0, res.stderr
    try:
        cid = res.stdout.strip()
        assert os.path.isdir(os.path.join(rootless.xdg, "snakevisor", cid))
        res = rootless("exec", "rl1", "sh", "-c", "echo exec ok")
        assert (res.returncode, res.stdout) == (0, "exec ok\n"), res.stderr
    finally:
        assert rootless("rm", "-f", "-t", "0", "rl1").returncode == 0
