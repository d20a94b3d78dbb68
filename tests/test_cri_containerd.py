"""containerd's CRI plugin (what the kubelet talks to) running pods under snakevisor: a runtime handler
`snakevisor` in containerd's config.toml (runtime_type io.containerd.runc.v2, options BinaryName = the
snakevisor wrapper), chosen per pod as a Kubernetes RuntimeClass does, driven over the CRI's gRPC
socket by tests/cri_client.py (crictl is not packaged for Debian 12): RunPodSandbox, CreateContainer,
StartContainer, ExecSync, ContainerStatus, StopContainer, RemoveContainer, StopPodSandbox,
RemovePodSandbox. The pod sandbox's pause image (tests/programs/pause.c, static) and the busybox
image are built here and imported with `ctr -n k8s.io images import` (no registry). The pod's network
namespace is made by the CRI plugin through CNI (a bridge network of the test's own, with Debian's
containernetworking-plugins).

containerd runs with its root, state, socket, configuration, CNI configuration and logs in the
test's directory, in a private mount and network namespace (engine_support.PrivateHost, with an
overlay on /var/lib for libcni's cache), and is stopped at the end with everything it started.
"""
import json
import os
import shutil
import subprocess
import time

import pytest

from engine_images import oci_image, pause_rootfs
from engine_support import PrivateHost, assert_same_as_runc, cleanup, compare_script, runtime_wrapper, stop_daemon
from oci_support import busybox_rootfs

grpc = pytest.importorskip("grpc", reason="grpcio is not installed (tools/setup.sh --test installs it with pip)")
from cri_client import CRIClient, container_config, pod_sandbox_config  # noqa: E402 - needs grpc

CNI_BIN = "/usr/lib/cni"   # Debian's containernetworking-plugins
pytestmark = [pytest.mark.skipif(os.geteuid() != 0, reason="containerd needs root"),
              pytest.mark.skipif(not shutil.which("containerd") or not shutil.which("ctr")
                                 or not shutil.which("containerd-shim-runc-v2"),
                                 reason="containerd, ctr and containerd-shim-runc-v2 are not installed"),
              pytest.mark.skipif(not os.path.exists(os.path.join(CNI_BIN, "loopback")),
                                 reason=f"no CNI plugins in {CNI_BIN} (tools/setup.sh --test installs "
                                        "containernetworking-plugins)")]
IMAGE = "localhost/snakevisor-cri-busybox:latest"
PAUSE_IMAGE = "localhost/snakevisor-pause:latest"
# The CRI plugin's binds: the pod's files and its /dev/shm (the root's filesystem differs too).
CRI_BINDS = {"/", "/etc/hosts", "/etc/hostname", "/etc/resolv.conf", "/dev/shm"}


def _config(d, sock, wrapper):
    """containerd's config.toml: the CRI plugin with the `snakevisor` runtime handler as the README
    gives it beside the default `runc` one (naming any runtime replaces the default table), the
    sandbox (pause) image built here, CNI from the test's directory."""
    cri = 'plugins."io.containerd.grpc.v1.cri"'
    return (f'version = 2\nroot = "{d}/root"\nstate = "{d}/state"\n'
            f'[grpc]\n  address = "{sock}"\n'
            f'[{cri}]\n  sandbox_image = "{PAUSE_IMAGE}"\n'
            # runc (compared with) could not lower the pause container's oom_score_adj to -998 here:
            # the machine withholds CAP_SYS_RESOURCE.
            f'  restrict_oom_score_adj = true\n'
            f'[{cri}.cni]\n  bin_dir = "{CNI_BIN}"\n  conf_dir = "{d}/cni"\n'
            f'[{cri}.containerd.runtimes.runc]\n  runtime_type = "io.containerd.runc.v2"\n'
            f'[{cri}.containerd.runtimes.snakevisor]\n  runtime_type = "io.containerd.runc.v2"\n'
            f'[{cri}.containerd.runtimes.snakevisor.options]\n  BinaryName = "{wrapper}"\n')


def _cni_network(d):
    """The pods' network: a bridge in the private host's network namespace, addresses from a subnet
    of the test's (host-local keeping its leases in the test's directory, not /var/lib/cni)."""
    return {"cniVersion": "0.4.0", "name": "snakevisor-pods", "plugins": [{
        "type": "bridge", "bridge": "svcni0", "isGateway": True, "ipMasq": False,
        "ipam": {"type": "host-local", "subnet": "10.88.77.0/24", "dataDir": f"{d}/cni-ipam"}}]}


def _import_images(ctr, d):
    for rootfs, name, cmd in ((pause_rootfs(), PAUSE_IMAGE, ("/pause",)), (busybox_rootfs(), IMAGE, ("sh",))):
        tar = oci_image(rootfs, str(d / (name.split("/")[1].split(":")[0] + ".tar")), name, cmd=cmd)
        res = ctr("images", "import", tar)
        assert res.returncode == 0, res.stderr


def _remove_leftovers(ctr):
    """What a failed test may leave in containerd's k8s.io namespace: tasks (killed) and containers."""
    for task in ctr("task", "ls", "-q").stdout.split():
        ctr("task", "kill", "-s", "KILL", task)
        ctr("task", "delete", "-f", task)
    for c in ctr("container", "ls", "-q").stdout.split():
        ctr("container", "delete", c)


@pytest.fixture(scope="module")
def cri(tmp_path_factory):
    """A CRIClient of a containerd of the test's own with its CRI plugin (skipped with the reason if
    the plugin cannot start here); ``cri.log_dir`` is where pods' logs go."""
    d = tmp_path_factory.mktemp("cri")
    sock = str(d / "containerd.sock")
    (d / "cni").mkdir()
    (d / "cni" / "10-pods.conflist").write_text(json.dumps(_cni_network(d)))
    (d / "config.toml").write_text(_config(d, sock, runtime_wrapper(str(d))))
    try:
        host = PrivateHost(str(d / "run"), overlaid=["/var/lib"])   # libcni caches results in /var/lib/cni
    except OSError as e:
        pytest.skip(str(e))
    log = open(d / "containerd.log", "w")
    daemon = subprocess.Popen(host.prefix + ["containerd", "--config", str(d / "config.toml")], stdout=log, stderr=log)

    def ctr(*args):
        return host.run(["ctr", "--address", sock, "--connect-timeout", "20s", "-n", "k8s.io", *args])
    client = CRIClient(sock)
    try:
        ready = ctr("version")
        if ready.returncode != 0:
            pytest.skip(f"containerd cannot start here: {ready.stderr.strip()} (log: {(d / 'containerd.log').read_text()[-500:]})")
        try:
            client.version()
        except grpc.RpcError as e:
            why = [line for line in (d / "containerd.log").read_text().splitlines() if "grpc.v1.cri" in line]
            assert "invalid plugin config" not in "".join(why), why   # ours: a test's mistake, not the machine's
            pytest.skip(f"containerd's CRI plugin cannot run here: {e.details()} (log: {why[-1:]})")
        _import_images(ctr, d)
        client.log_dir, client.host = d / "logs", host
        client.daemon_log = d / "containerd.log"
        yield client
    finally:
        cleanup(client.close, lambda: _remove_leftovers(ctr), lambda: stop_daemon(daemon), log.close, host.close,
                lambda: shutil.rmtree(d, ignore_errors=True))


def _wait_state(cri, container_id, want, timeout=30):
    """ContainerStatus once it is ``want`` (polled, bounded), or the last one seen."""
    deadline = time.monotonic() + timeout
    status = cri.container_status(container_id)
    while status[0] != want and time.monotonic() < deadline:
        time.sleep(0.1)
        status = cri.container_status(container_id)
    return status


def _log_text(path, stream="stdout"):
    """What the container wrote to ``stream``, from its CRI log file (lines "TIME STREAM TAG TEXT",
    the tag P for a partial line, F for one that ended)."""
    out = []
    for line in path.read_text().splitlines():
        _time, where, tag, text = (line.split(" ", 3) + [""])[:4]
        if where == stream:
            out.append(text + ("\n" if tag == "F" else ""))
    return "".join(out)


def _run_to_exit(cri, handler, name, script):
    """A pod under ``handler`` whose one container runs ``script`` to its end: (exit code, what it
    wrote to stdout); the container and the pod removed."""
    logs = cri.log_dir / f"{name}-{handler}"
    sandbox_config = pod_sandbox_config(name, f"uid-{name}-{handler}", log_directory=str(logs), hostname=name)
    pod = cri.run_pod_sandbox(sandbox_config, handler)
    try:
        cid = cri.create_container(pod, container_config("main", IMAGE, ["sh", "-c", script], log_path="main.log"),
                                   sandbox_config)
        cri.start_container(cid)
        state, code, _reason = _wait_state(cri, cid, "EXITED")
        assert state == "EXITED", (handler, state)
        cri.remove_container(cid)
    finally:
        cri.stop_pod_sandbox(pod)
        cri.remove_pod_sandbox(pod)
    return code, _log_text(logs / "main.log")


def test_version_and_images(cri):
    name, version, api = cri.version()
    assert (name, api) == ("containerd", "v1"), (name, version, api)
    assert cri.image_status(IMAGE) == [IMAGE]
    assert cri.image_status("localhost/no-such-image:latest") is None


def test_pod_lifecycle_under_the_snakevisor_handler(cri):
    """The kubelet's sequence for a pod whose RuntimeClass handler is `snakevisor`: the pause
    container and the pod's container each run in a sandbox; ExecSync shows the Sentry's view (its
    kernel release, no seccomp filter of the host's in the process's status); the container's
    output reaches its CRI log file; StopContainer's SIGTERM reaches it; everything is removed."""
    logs = cri.log_dir / "sv-pod"
    sandbox_config = pod_sandbox_config("sv-pod", "uid-sv-pod-1", log_directory=str(logs), hostname="sv-pod")
    pod = cri.run_pod_sandbox(sandbox_config, "snakevisor")
    try:
        script = 'echo hello from the pod; trap "echo got TERM; exit 0" TERM; while :; do sleep 0.1; done'
        cid = cri.create_container(pod, container_config("main", IMAGE, ["sh", "-c", script], log_path="main.log"),
                                   sandbox_config)
        assert cri.container_status(cid)[0] == "CREATED"
        cri.start_container(cid)
        assert _wait_state(cri, cid, "RUNNING")[0] == "RUNNING"
        code, out, err = cri.exec_sync(cid, ["sh", "-c", "uname -r; hostname; grep -i seccomp /proc/self/status; exit 3"])
        assert (code, err) == (3, b""), err
        lines = out.decode().splitlines()
        assert lines[:2] == ["6.1.0-snakevisor", "sv-pod"], out
        assert lines[2:] == ["Seccomp:\t0", "Seccomp_filters:\t0"] or lines[2:] == ["Seccomp:\t0"], out
        cri.stop_container(cid, timeout=10)
        assert _wait_state(cri, cid, "EXITED")[:2] == ("EXITED", 0)
        assert _log_text(logs / "main.log") == "hello from the pod\ngot TERM\n"
        cri.remove_container(cid)
    finally:
        cri.stop_pod_sandbox(pod)
        cri.remove_pod_sandbox(pod)
    with pytest.raises(grpc.RpcError) as e:
        cri.container_status(cid)
    assert e.value.code() == grpc.StatusCode.NOT_FOUND


def test_ps_mounts_resolv_conf_and_hostname_as_under_runc(cri):
    """The same pod under the `runc` handler and the `snakevisor` one: `ps` (its pids aside), the
    mounts (engine_support.assert_same_as_runc: the CRI's binds of /etc/hosts, /etc/hostname,
    /etc/resolv.conf and the pod's /dev/shm compared by target and flags), resolv.conf, hostname."""
    if not shutil.which("runc"):
        pytest.skip("runc is not installed: nothing to compare with (tools/setup.sh --test installs it)")
    script = compare_script("cat /etc/resolv.conf; hostname")
    out = {handler: _run_to_exit(cri, handler, "cmp", script) for handler in ("runc", "snakevisor")}
    assert out["snakevisor"][0] == out["runc"][0] == 0, out
    assert out["snakevisor"][1].endswith("\ncmp\n"), out["snakevisor"][1]
    assert_same_as_runc(out["snakevisor"][1], out["runc"][1], CRI_BINDS)


def test_pod_network_shared_by_its_containers_and_reached_from_the_node(cri):
    """Two containers of one pod, each a sandbox of its own, share the pod's network namespace (the
    CNI bridge's address): a client container fetches from the web container over 127.0.0.1, and
    the node (the private host) fetches from the pod's IP, as a Kubernetes Service would route."""
    logs = cri.log_dir / "net-pod"
    sandbox_config = pod_sandbox_config("net-pod", "uid-net-pod", log_directory=str(logs), hostname="net-pod")
    pod = cri.run_pod_sandbox(sandbox_config, "snakevisor")
    try:
        web = "mkdir -p /www && echo served in the pod > /www/index.html && exec httpd -f -p 80 -h /www"
        ids = [cri.create_container(pod, container_config(name, IMAGE, ["sh", "-c", script], log_path=f"{name}.log"),
                                    sandbox_config)
               for name, script in (("web", web), ("client", "while :; do sleep 1; done"))]
        for cid in ids:
            cri.start_container(cid)
        # wget retries until httpd listens (bounded: 100 tries of 0.1 s).
        fetch = "for i in $(seq 100); do wget -qO- http://127.0.0.1/index.html && exit; sleep 0.1; done; exit 1"
        assert cri.exec_sync(ids[1], ["sh", "-c", fetch]) == (0, b"served in the pod\n", b"")
        ip = cri.pod_ip(pod)
        assert ip.startswith("10.88.77."), ip
        got = cri.host.run(["curl", "-sS", "--max-time", "10", f"http://{ip}/index.html"], timeout=20)
        assert (got.returncode, got.stdout) == (0, "served in the pod\n"), got.stderr
        for cid in ids:
            cri.stop_container(cid, timeout=0)
            cri.remove_container(cid)
    finally:
        cri.stop_pod_sandbox(pod)
        cri.remove_pod_sandbox(pod)
