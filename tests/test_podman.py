"""Podman (rootful) as a real client: `podman --runtime snakevisor run ...` of a busybox image imported
here (no registry), snakevisor being a runtime of containers.conf's [engine.runtimes], a wrapper
running snakevisor from this checkout; the cases are engine_cli_cases'.
Podman's storage, state and network configuration live in the test's directory and it runs in a
private mount and network namespace (engine_support.PrivateHost), so nothing of the host's Podman,
/run or network changes.
"""
import os
import shutil

import pytest

from engine_cli_cases import IMAGE, EngineCases
from engine_support import Engine, PrivateHost, cleanup, image_tar, low_rlimits, runtime_wrapper
from oci_support import busybox_rootfs

pytestmark = [pytest.mark.skipif(os.geteuid() != 0, reason="rootful Podman needs root"),
              pytest.mark.skipif(not shutil.which("podman"), reason="podman is not installed (tools/setup.sh --test)")]


def _confs(d, wrapper):
    """containers.conf and storage.conf keeping Podman's state under ``d``, with snakevisor (``wrapper``)
    among its runtimes as the README says; the environment naming them.
    (Podman's database stays in the default place below graphroot: its cleanup process, started by
    conmon when a container exits, is told graphroot but not another static_dir.)"""
    ulimits = ", ".join(f'"{k}={v}:{v}"' for k, v in low_rlimits().items())
    (d / "storage.conf").write_text(f'[storage]\ndriver = "overlay"\ngraphroot = "{d}/root"\nrunroot = "{d}/runroot"\n')
    (d / "containers.conf").write_text(
        f'[containers]\ndefault_ulimits = [{ulimits}]\n'
        f'[engine]\ntmp_dir = "{d}/tmp"\ncgroup_manager = "cgroupfs"\nevents_logger = "file"\n'
        f'[engine.runtimes]\nsnakevisor = ["{wrapper}"]\n'
        f'[network]\nnetwork_config_dir = "{d}/networks"\n')
    return {**os.environ, "CONTAINERS_CONF": str(d / "containers.conf"),
            "CONTAINERS_STORAGE_CONF": str(d / "storage.conf")}


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    """Podman in a private host, IMAGE imported; containers and images removed at the end."""
    d = tmp_path_factory.mktemp("podman")
    env = _confs(d, runtime_wrapper(str(d)))
    try:
        host = PrivateHost(str(d / "run"))
    except OSError as e:
        pytest.skip(str(e))
    podman = Engine("podman", host, env, global_flags=lambda runtime: ["--runtime", runtime or "snakevisor"],
                    run_flags=lambda runtime: [])
    try:
        info = podman.cli("info")
        if info.returncode != 0:
            pytest.skip(f"podman cannot start here: {info.stderr.strip()}")
        res = podman.cli("import", image_tar(busybox_rootfs(), str(d / "busybox.tar")), IMAGE)
        assert res.returncode == 0, res.stderr
        podman.probe_network(IMAGE)
        yield podman
    finally:
        cleanup(lambda: podman.cli("rm", "--all", "--force", "--time", "0"), lambda: podman.cli("rmi", "--all", "--force"),
                host.close, lambda: shutil.rmtree(d, ignore_errors=True))


class TestPodman(EngineCases):
    pass
