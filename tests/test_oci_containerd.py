"""containerd as a real client: `ctr run --runtime io.containerd.runc.v2 --runc-binary snakevisor` on an
image imported from a tarball built here (an OCI image layout of the busybox root filesystem).
A private containerd is started with its own root, state and socket, and stopped at the end."""
import hashlib
import io
import json
import os
import shlex
import shutil
import subprocess
import tarfile
import time

import pytest

from harness import REPO, snakevisor_cmd
from oci_support import busybox_rootfs

pytestmark = [pytest.mark.skipif(os.geteuid() != 0, reason="containerd needs root"),
              pytest.mark.skipif(not shutil.which("containerd") or not shutil.which("ctr")
                                 or not shutil.which("containerd-shim-runc-v2"),
                                 reason="containerd, ctr and containerd-shim-runc-v2 are not installed")]
IMAGE = "localhost/snakevisor-busybox:latest"


def _blob(tar, data):
    digest = hashlib.sha256(data).hexdigest()
    info = tarfile.TarInfo(f"blobs/sha256/{digest}")
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))
    return {"digest": "sha256:" + digest, "size": len(data)}


def _file(tar, name, data):
    info = tarfile.TarInfo(name)
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))


def build_image(rootfs, out):
    """An OCI image layout tarball with one layer: ``rootfs``."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as layer:
        for name in sorted(os.listdir(rootfs)):
            if not name.startswith("."):
                layer.add(os.path.join(rootfs, name), arcname=name)
    with tarfile.open(out, "w") as tar:
        layer = _blob(tar, buf.getvalue())
        config = _blob(tar, json.dumps({"architecture": "amd64", "os": "linux",
                                        "config": {"Cmd": ["sh"], "Env": ["PATH=/bin"]},
                                        "rootfs": {"type": "layers", "diff_ids": [layer["digest"]]}}).encode())
        manifest = _blob(tar, json.dumps({
            "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", **config},
            "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", **layer}]}).encode())
        _file(tar, "index.json", json.dumps({"schemaVersion": 2, "manifests": [{
            "mediaType": "application/vnd.oci.image.manifest.v1+json", **manifest,
            "annotations": {"org.opencontainers.image.ref.name": IMAGE, "io.containerd.image.name": IMAGE}}]}).encode())
        _file(tar, "oci-layout", b'{"imageLayoutVersion": "1.0.0"}')


@pytest.fixture(scope="module")
def ctr(tmp_path_factory):
    d = tmp_path_factory.mktemp("containerd")
    sock = str(d / "containerd.sock")
    (d / "config.toml").write_text(f'version = 2\nroot = "{d}/root"\nstate = "{d}/state"\n'
                                   f'[grpc]\n  address = "{sock}"\n')
    wrapper = d / "snakevisor"
    wrapper.write_text(f"#!/bin/sh\nPYTHONPATH={REPO} exec {shlex.join(snakevisor_cmd())} \"$@\"\n")
    wrapper.chmod(0o755)
    log = open(d / "containerd.log", "w")
    daemon = subprocess.Popen(["containerd", "--config", str(d / "config.toml")], stdout=log, stderr=log)
    deadline = time.monotonic() + 20
    while not os.path.exists(sock) and time.monotonic() < deadline:
        time.sleep(0.1)

    def run(*args, timeout=60):
        return subprocess.run(["ctr", "--address", sock, *args], capture_output=True, text=True, timeout=timeout)
    run.runtime = ["--runtime", "io.containerd.runc.v2", "--runc-binary", str(wrapper)]
    try:
        image = str(d / "busybox.tar")
        build_image(busybox_rootfs(), image)
        res = run("image", "import", image)
        assert res.returncode == 0, res.stderr
        yield run
    finally:
        for task in run("task", "ls", "-q").stdout.split():
            run("task", "kill", "-s", "KILL", task)
            run("task", "delete", "-f", task)
        for c in run("container", "ls", "-q").stdout.split():
            run("container", "delete", c)
        daemon.terminate()
        daemon.wait(timeout=20)
        log.close()
        subprocess.run(["umount", "-R", str(d / "state")], capture_output=True)
        subprocess.run(["umount", "-R", str(d / "root")], capture_output=True)


def test_ctr_run_output_and_exit_code(ctr):
    res = ctr("run", "--rm", *ctr.runtime, IMAGE, "ct1", "sh", "-c", "echo hello from containerd; uname -r; exit 3")
    assert res.returncode == 3, res.stderr
    assert res.stdout == "hello from containerd\n6.1.0-snakevisor\n"


def test_ctr_detached_exec_ps_kill_delete(ctr):
    assert ctr("run", "-d", *ctr.runtime, IMAGE, "ct2", "sleep", "1000").returncode == 0
    tasks = ctr("task", "ls").stdout
    assert "ct2" in tasks and "RUNNING" in tasks
    res = ctr("task", "exec", "--exec-id", "e1", "ct2", "sh", "-c", "echo exec ok; exit 4")
    assert res.returncode == 4 and res.stdout == "exec ok\n"
    assert "1" in ctr("task", "ps", "ct2").stdout.split()
    assert ctr("task", "kill", "ct2").returncode == 0
    deadline = time.monotonic() + 20
    while "STOPPED" not in ctr("task", "ls").stdout and time.monotonic() < deadline:
        time.sleep(0.1)
    assert "STOPPED" in ctr("task", "ls").stdout
    assert ctr("task", "delete", "ct2").returncode == 0
    assert ctr("container", "delete", "ct2").returncode == 0
    assert "ct2" not in ctr("task", "ls").stdout
