"""Helpers for the OCI tests: a busybox root filesystem, bundles, the `snakevisor` CLI, and cleanup.

Containers get a state root per test (under pytest's tmp_path); every root used is
remembered so that the session's cleanup can SIGKILL any sandbox a failed test left.
"""
import json
import os
import shutil
import signal
import subprocess
import time

import pytest

from harness import BUILD_DIR, sandbox_env, snakevisor_cmd
BUSYBOX = shutil.which("busybox") or "/bin/busybox"
ROOTS_USED = []


def busybox_rootfs():
    """A root filesystem of Debian's busybox-static: /bin/busybox and its applets as symlinks (cached)."""
    rootfs = os.path.join(BUILD_DIR, "oci-busybox-rootfs")
    if os.path.exists(os.path.join(rootfs, ".done")):
        return rootfs
    tmp = rootfs + f".{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    for d in ("bin", "proc", "dev", "tmp", "etc", "sys", "root", "data"):
        os.makedirs(os.path.join(tmp, d))
    shutil.copy2(BUSYBOX, os.path.join(tmp, "bin", "busybox"))
    applets = subprocess.run([BUSYBOX, "--list"], capture_output=True, text=True, check=True).stdout.split()
    for a in applets:
        if a != "busybox":
            os.symlink("busybox", os.path.join(tmp, "bin", a))
    with open(os.path.join(tmp, "etc", "passwd"), "w") as f:
        f.write("root:x:0:0:root:/root:/bin/sh\n")
    open(os.path.join(tmp, ".done"), "w").close()
    shutil.rmtree(rootfs, ignore_errors=True)
    os.rename(tmp, rootfs)
    return rootfs


def make_bundle(path, args, rootfs=None, terminal=False, **changes):
    """A bundle directory at ``path`` whose config.json is `snakevisor spec`'s default with ``args``;
    ``changes`` are top-level keys to set (or ``process_*`` keys of process)."""
    from snakevisor.oci.spec import default_spec
    os.makedirs(path, exist_ok=True)
    spec = default_spec(args=args, terminal=terminal)
    spec["root"] = {"path": rootfs or busybox_rootfs(), "readonly": True}
    for k, v in changes.items():
        if k.startswith("process_"):
            spec["process"][k[len("process_"):]] = v
        else:
            spec[k] = v
    with open(os.path.join(path, "config.json"), "w") as f:
        json.dump(spec, f)
    return path


def sv(root, *args, timeout=60, stdin=subprocess.DEVNULL, stdout=None, stderr=None, input=None):
    """Run ``snakevisor --root ROOT ARGS``; output captured unless files are given."""
    if root not in ROOTS_USED:
        ROOTS_USED.append(root)
    env = sandbox_env()
    cmd = snakevisor_cmd("--root", root, *args)
    if input is not None:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, input=input, env=env)
    if stdout is None and stderr is None:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, stdin=stdin, env=env)
    return subprocess.run(cmd, stdout=stdout, stderr=stderr, text=True, timeout=timeout, stdin=stdin, env=env)


def create(root, cid, bundle, out_dir, *extra):
    """`create` with the container's stdio in files (a pipe would stay open as long as it runs)."""
    out = open(os.path.join(out_dir, f"{cid}.out"), "w")
    err = open(os.path.join(out_dir, f"{cid}.err"), "w")
    try:
        res = sv(root, "create", "--bundle", bundle, *extra, cid, stdout=out, stderr=err)
    finally:
        out.close()
        err.close()
    with open(os.path.join(out_dir, f"{cid}.err")) as f:
        res.stderr = f.read()
    return res


def read_out(out_dir, cid):
    with open(os.path.join(out_dir, f"{cid}.out")) as f:
        return f.read()


def state(root, cid):
    res = sv(root, "state", cid)
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout)


def wait_status(root, cid, want, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        st = state(root, cid)["status"]
        if st == want:
            return
        time.sleep(0.05)
    raise AssertionError(f"{cid}: status {st}, wanted {want}")


def host_processes(root, cid):
    """The host pids of container ``cid``: its pid and every process below it, and when it was
    created warm (snakevisor/warm/keeper.py: its pid is the keeper's) its sandbox process's too."""
    from do_support import descendants_of
    with open(os.path.join(root, cid, "state.json")) as f:
        st = json.load(f)
    out = set()
    for pid in (st["pid"], st.get("sandbox_pid")):
        if pid:
            out |= {pid, *descendants_of(pid)}
    return out


def alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            data = f.read()
    except OSError:
        return False
    return data[data.rfind(")") + 2] not in "ZX"


def kill_leftovers():
    """SIGKILL the sandbox of every container still recorded under the roots the tests used."""
    killed = []
    for root in ROOTS_USED:
        if not os.path.isdir(root):
            continue
        for cid in os.listdir(root):
            try:
                with open(os.path.join(root, cid, "state.json")) as f:
                    pid = json.load(f).get("pid")
            except (OSError, ValueError):
                continue
            if pid and alive(pid):
                try:
                    os.kill(pid, signal.SIGKILL)
                    killed.append(pid)
                except OSError:
                    pass
        shutil.rmtree(root, ignore_errors=True)
    return killed


# Fixtures of the OCI test modules (imported there: pytest finds them by name).
@pytest.fixture(scope="session", autouse=True)
def no_leftovers():
    """After the module's tests, no container they created may still be running."""
    yield
    killed = kill_leftovers()
    assert not killed, f"sandboxes left running by the tests: {killed}"


@pytest.fixture
def root(tmp_path):
    """A fresh state directory (--root) for the test's containers."""
    return str(tmp_path / "state")
