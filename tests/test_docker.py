"""Docker as a real client: a dockerd of the test's own started with `--add-runtime snakevisor=WRAPPER`,
then `docker run --runtime snakevisor ...` of a busybox image imported here (no registry), WRAPPER
running snakevisor from this checkout; the cases are engine_cli_cases'. dockerd's data, exec root,
socket, config and key live in the test's directory, and it runs (with the containerd it starts)
in a private mount and network namespace (engine_support.PrivateHost): its bridge and iptables
rules and everything under /run stay off the host. Stopped and removed at the end.
"""
import json
import os
import shutil
import subprocess
import time

import pytest

from engine_cli_cases import IMAGE, EngineCases
from engine_support import Engine, PrivateHost, cleanup, image_tar, low_rlimits, runtime_wrapper, stop_daemon
from do_support import descendants_of
from oci_support import busybox_rootfs

DOCKER = "/usr/bin/docker"   # Debian's docker.io client (another may come first in PATH)
pytestmark = [pytest.mark.skipif(os.geteuid() != 0, reason="dockerd needs root"),
              pytest.mark.skipif(not shutil.which("dockerd") or not os.path.exists(DOCKER),
                                 reason="dockerd and docker are not installed (tools/setup.sh --test)")]


def _start_dockerd(d, host, wrapper):
    """dockerd in ``host`` with everything under ``d``; the Engine, or a skip with dockerd's reason."""
    sock = f"unix://{d}/docker.sock"
    (d / "daemon.json").write_text(json.dumps({
        "deprecated-key-path": str(d / "key.json"),   # else /etc/docker/key.json
        "default-ulimits": {k: {"Name": k, "Soft": v, "Hard": v} for k, v in low_rlimits().items()}}))
    log = open(d / "dockerd.log", "w")
    daemon = subprocess.Popen(host.prefix + [
        "dockerd", "--config-file", str(d / "daemon.json"), "--data-root", str(d / "data"),
        "--exec-root", str(d / "exec"), "--pidfile", str(d / "docker.pid"), "-H", sock,
        "--add-runtime", f"snakevisor={wrapper}"], stdout=log, stderr=log)
    log.close()
    docker = Engine(DOCKER, host, {**os.environ, "DOCKER_HOST": sock}, global_flags=lambda runtime: [],
                    run_flags=lambda runtime: ["--runtime", runtime or "snakevisor"])
    docker.daemon = daemon
    # `docker version` fails until the daemon answers: poll it (bounded) rather than sleep.
    deadline = time.monotonic() + 60
    while daemon.poll() is None and time.monotonic() < deadline:
        if docker.cli("version", timeout=10).returncode == 0:
            return docker
    if daemon.poll() is None:
        daemon.kill()
    daemon.wait()
    pytest.skip(f"dockerd cannot start here: {(d / 'dockerd.log').read_text()[-800:]}")


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    """Docker in a private host, IMAGE imported; containers, images and the daemon gone at the end."""
    d = tmp_path_factory.mktemp("docker")
    wrapper = runtime_wrapper(str(d))
    try:
        host = PrivateHost(str(d / "run"))
    except OSError as e:
        pytest.skip(str(e))
    docker = None
    try:
        docker = _start_dockerd(d, host, wrapper)
        res = docker.cli("import", image_tar(busybox_rootfs(), str(d / "busybox.tar")), IMAGE)
        assert res.returncode == 0, res.stderr
        docker.probe_network(IMAGE)
        yield docker
    finally:
        steps = []
        if docker is not None:
            steps = [lambda: docker.cli("rm", "-f", *docker.cli("ps", "-aq").stdout.split(), timeout=60),
                     lambda: docker.cli("rmi", "-f", IMAGE), lambda: stop_daemon(docker.daemon)]
        cleanup(*steps, host.close, lambda: shutil.rmtree(d, ignore_errors=True))


class TestDocker(EngineCases):
    def test_top_lists_the_sandboxes_host_processes(self, engine):
        """docker top asks the runtime (`ps --format json`) for the container's host pids and looks
        them up in the host's /proc: it lists the sandbox process and those below it (the Gofer, the
        stubs holding the application's threads), never another host process (it showed the host's
        pid 1 when the runtime gave the sandbox's own pids)."""
        assert engine.run("-d", "--name", "t1", IMAGE, "sleep", "1000").returncode == 0
        try:
            sandbox = int(engine.cli("inspect", "--format", "{{.State.Pid}}", "t1").stdout)
            res = engine.cli("top", "t1", "-o", "pid")
            assert res.returncode == 0, res.stderr
            pids = {int(p) for p in res.stdout.split()[1:]}
            assert sandbox in pids and pids <= {sandbox, *descendants_of(sandbox)}, (sandbox, res.stdout)
        finally:
            engine.cli("rm", "-f", "t1")
