"""Podman (rootful) as a real client: `podman --runtime WRAPPER run ...` of a busybox image imported
here (no registry), WRAPPER running snakevisor from this checkout. Podman's storage, state and
network configuration live in the test's directory and it runs in a private mount and network
namespace (engine_support.PrivateHost), so nothing of the host's Podman, /run or network changes.

Covered: run (output, exit code), run -d + exec + logs + stop + rm, -v volumes, --read-only,
--memory and --pids-limit enforced by the Sentry, `ps` and /proc/self/mounts as under runc, and
-p port mapping to busybox httpd (skipped, with the reason, where Podman's network cannot be set up).
"""
import os
import resource
import shutil

import pytest

from engine_support import NETWORK_ERRORS, PrivateHost, assert_same_as_runc, compare_script, image_tar, runtime_wrapper
from oci_support import busybox_rootfs

pytestmark = [pytest.mark.skipif(os.geteuid() != 0, reason="rootful Podman needs root"),
              pytest.mark.skipif(not shutil.which("podman"), reason="podman is not installed (tools/setup.sh --test)")]
IMAGE = "localhost/snakevisor-test-busybox:latest"


def _confs(d):
    """containers.conf and storage.conf keeping Podman's state under ``d``. The rlimits are set
    below the host's hard limits: Podman's defaults for root are higher, and runc (compared with
    below) cannot raise them where the machine withholds CAP_SYS_RESOURCE, as this one does."""
    nofile = min(1024, resource.getrlimit(resource.RLIMIT_NOFILE)[1])
    nproc = min(4096, resource.getrlimit(resource.RLIMIT_NPROC)[1])
    (d / "storage.conf").write_text(f'[storage]\ndriver = "overlay"\ngraphroot = "{d}/root"\nrunroot = "{d}/runroot"\n')
    (d / "containers.conf").write_text(
        f'[containers]\ndefault_ulimits = ["nofile={nofile}:{nofile}", "nproc={nproc}:{nproc}"]\n'
        f'[engine]\ntmp_dir = "{d}/tmp"\ncgroup_manager = "cgroupfs"\nevents_logger = "file"\n'
        f'[network]\nnetwork_config_dir = "{d}/networks"\n')
    return {**os.environ, "CONTAINERS_CONF": str(d / "containers.conf"),
            "CONTAINERS_STORAGE_CONF": str(d / "storage.conf")}


@pytest.fixture(scope="module")
def podman(tmp_path_factory):
    """``podman(*args, runtime=WRAPPER)``: a podman command in the private host; ``podman.net`` is
    why Podman's network cannot be used here (None if it can: then containers get its bridge)."""
    d = tmp_path_factory.mktemp("podman")
    env = _confs(d)
    wrapper = runtime_wrapper(str(d))
    try:
        host = PrivateHost(str(d / "run"))
    except OSError as e:
        pytest.skip(str(e))

    def podman(*args, runtime=wrapper, timeout=120, input=None):
        return host.run(["podman", "--runtime", runtime, *args], timeout=timeout, env=env, input=input)
    podman.net = None
    podman.host = host
    try:
        info = podman("info")
        if info.returncode != 0:
            pytest.skip(f"podman cannot start here: {info.stderr.strip()}")
        res = host.run(["podman", "import", image_tar(busybox_rootfs(), str(d / "busybox.tar")), IMAGE], env=env)
        assert res.returncode == 0, res.stderr
        probe = podman("run", "--rm", IMAGE, "true")
        if probe.returncode != 0 and any(w in probe.stderr.lower() for w in NETWORK_ERRORS):
            podman.net = f"Podman's network cannot be set up here: {probe.stderr.strip()}"
            print(podman.net + " (containers run with --network none)")
        yield podman
    finally:
        podman("rm", "--all", "--force", "--time", "0")
        host.run(["podman", "rmi", "--all", "--force"], env=env)
        host.close()
        shutil.rmtree(d, ignore_errors=True)


def run(podman, *args, **kwargs):
    """`podman run` with the module's network (none if Podman's cannot be set up here)."""
    net = ("--network", "none") if podman.net else ()
    return podman("run", *net, *args, **kwargs)


def test_run_prints_and_returns_the_exit_code(podman):
    res = run(podman, "--rm", IMAGE, "sh", "-c", "echo hello from podman; uname -r; echo oops >&2; exit 3")
    assert (res.returncode, res.stdout, res.stderr) == (3, "hello from podman\n6.1.0-snakevisor\n", "oops\n")
    # Death by a signal is 128+N, as under runc.
    assert run(podman, "--rm", IMAGE, "sh", "-c", "kill -9 $$").returncode == 137


def test_detached_exec_logs_stop_rm(podman):
    script = 'echo started; trap "echo got TERM; exit 0" TERM; while :; do sleep 0.1; done'
    res = run(podman, "-d", "--name", "p1", IMAGE, "sh", "-c", script)
    assert res.returncode == 0, res.stderr
    assert "Up" in podman("ps", "--filter", "name=p1", "--format", "{{.Status}}").stdout
    res = podman("exec", "p1", "sh", "-c", "echo exec ok; ps -o comm; exit 4")
    assert res.returncode == 4, res.stderr
    assert res.stdout.splitlines()[:3] == ["exec ok", "COMMAND", "sh"] and "ps" in res.stdout.split()
    res = podman("exec", "-i", "p1", "cat", input="from stdin\n")
    assert (res.returncode, res.stdout) == (0, "from stdin\n")
    res = podman("stop", "--time", "10", "p1")
    assert res.returncode == 0, res.stderr
    # The TERM reached the container's shell, which said so and exited 0.
    assert podman("logs", "p1").stdout == "started\ngot TERM\n"
    assert podman("inspect", "p1", "--format", "{{.State.Status}} {{.State.ExitCode}}").stdout.split() == ["exited", "0"]
    assert podman("rm", "p1").returncode == 0
    assert "p1" not in podman("ps", "-a", "--format", "{{.Names}}").stdout.split()


def test_volumes_reach_the_host(podman, tmp_path):
    data, ro = tmp_path / "data", tmp_path / "ro"
    data.mkdir()
    ro.mkdir()
    (ro / "f").write_text("host file\n")
    res = run(podman, "--rm", "-v", f"{data}:/data", "-v", f"{ro}:/ro:ro", IMAGE, "sh", "-c",
              "echo written inside > /data/new; cat /ro/f; echo x > /ro/f")
    assert res.returncode == 1 and res.stdout == "host file\n", res.stderr
    assert "Read-only file system" in res.stderr
    assert (data / "new").read_text() == "written inside\n"
    assert (ro / "f").read_text() == "host file\n"


def test_read_only_root(podman):
    res = run(podman, "--rm", "--read-only", IMAGE, "sh", "-c",
              "touch /x; echo root=$?; touch /tmp/x && echo tmp=$?; grep -E ' / | /tmp ' /proc/self/mounts | cut -d' ' -f2-4 | cut -d, -f1")
    # Podman gives a read-only container a tmpfs at /tmp (as at /var/tmp and /run).
    assert res.stdout.splitlines() == ["root=1", "tmp=0", "/ 9p ro", "/tmp tmpfs rw"], res.stdout + res.stderr
    assert "touch: /x: Read-only file system" in res.stderr


def test_memory_limit_is_the_sentrys(podman):
    """--memory: the Sentry's limit (its cgroup view shows it); a 128 MiB string does not fit in
    64 MiB (awk fails, the Sentry refusing its mmap) and fits in 512 MiB."""
    grow = 'cat /sys/fs/cgroup/memory.max; awk "BEGIN{s=\\"x\\"; for (i = 0; i < 27; i++) s = s s; print length(s)}"'
    res = run(podman, "--rm", "--memory", "64m", IMAGE, "sh", "-c", grow)
    assert res.returncode != 0 and res.stdout == "67108864\n", res.stdout + res.stderr
    assert "out of memory" in res.stderr
    res = run(podman, "--rm", "--memory", "512m", IMAGE, "sh", "-c", grow)
    assert (res.returncode, res.stdout) == (0, "536870912\n134217728\n"), res.stderr


def test_pids_limit_is_the_sentrys(podman):
    """--pids-limit 10: the shell and nine background sleeps; the tenth fork fails with EAGAIN
    (the shell says so and exits: the container ends, and its sleeps with it)."""
    script = "cat /sys/fs/cgroup/pids.max; i=0; while [ $i -lt 20 ]; do sleep 60 & i=$((i+1)); echo $i; done"
    res = run(podman, "--rm", "--pids-limit", "10", IMAGE, "sh", "-c", script)
    assert res.stdout.split() == ["10"] + [str(i) for i in range(1, 10)], res.stdout + res.stderr
    assert "can't fork: Resource temporarily unavailable" in res.stderr


# The engine's single-file binds and /dev/shm (a directory of its own), and the test's volume.
BINDS = {"/", "/etc/hosts", "/etc/hostname", "/etc/resolv.conf", "/run/.containerenv", "/dev/shm", "/data"}


def test_ps_mounts_and_resolv_conf_as_under_runc(podman, tmp_path):
    """The same podman command under runc and under snakevisor: `ps` (its pids aside), what
    /proc/self/mounts lists, /etc/resolv.conf and the rlimits (engine_support.assert_same_as_runc)."""
    if not shutil.which("runc"):
        pytest.skip("runc is not installed: nothing to compare with (tools/setup.sh --test installs it)")
    (tmp_path / "data").mkdir()
    script = compare_script("cat /etc/resolv.conf; ulimit -n")
    out = {}
    for runtime in ("runc", None):
        extra = {"runtime": runtime} if runtime else {}
        res = run(podman, "--rm", "-v", f"{tmp_path / 'data'}:/data:ro", IMAGE, "sh", "-c", script, **extra)
        assert res.returncode == 0, res.stderr
        out[runtime or "snakevisor"] = res.stdout
    assert_same_as_runc(out["snakevisor"], out["runc"], BINDS)


def test_port_mapping_serves_a_file_to_the_host(podman, tmp_path):
    """-p 18080:80 to busybox httpd in the container, fetched from the (private) host with curl."""
    if podman.net:
        pytest.skip(podman.net)
    www = tmp_path / "www"
    www.mkdir()
    (www / "index.html").write_text("served from the sandbox\n")
    res = run(podman, "-d", "--name", "web", "-p", "18080:80", "-v", f"{www}:/www:ro", IMAGE,
              "httpd", "-f", "-p", "80", "-h", "/www")
    assert res.returncode == 0, res.stderr
    try:
        # curl retries refused connections until httpd listens, within its bounded time.
        got = podman.host.run(["curl", "-sS", "--max-time", "20", "--retry", "40", "--retry-delay", "0",
                               "--retry-connrefused", "--retry-max-time", "20", "http://127.0.0.1:18080/index.html"],
                              timeout=30)
        assert (got.returncode, got.stdout) == (0, "served from the sandbox\n"), got.stderr
    finally:
        podman("rm", "--force", "--time", "0", "web")
