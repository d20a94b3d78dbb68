"""containerd as a real client: `ctr run --runtime io.containerd.runc.v2 --runc-binary snakevisor` (the
runc shim's BinaryName option) on an image imported from a tarball built here (an OCI image layout of
the busybox root filesystem). A private containerd is started with its own root, state and socket in
a private mount and network namespace (engine_support.PrivateHost), and stopped at the end."""
import os
import shutil
import subprocess
import time

import pytest

from engine_images import oci_image
from engine_support import (TERMINAL_SCRIPT, PrivateHost, assert_same_as_runc, cleanup, compare_script,
                            run_in_terminal, runtime_wrapper, stop_daemon)
from oci_support import busybox_rootfs

pytestmark = [pytest.mark.skipif(os.geteuid() != 0, reason="containerd needs root"),
              pytest.mark.skipif(not shutil.which("containerd") or not shutil.which("ctr")
                                 or not shutil.which("containerd-shim-runc-v2"),
                                 reason="containerd, ctr and containerd-shim-runc-v2 are not installed")]
IMAGE = "localhost/snakevisor-busybox:latest"


@pytest.fixture(scope="module")
def ctr(tmp_path_factory):
    """``ctr(*args)`` against a containerd of the test's own (its root, state, socket and config in
    the test's directory), run in a private mount and network namespace: the shims' sockets and FIFOs
    and the runtimes' state under /run stay off the host. Stopped and removed at the end."""
    d = tmp_path_factory.mktemp("containerd")
    sock = str(d / "containerd.sock")
    (d / "config.toml").write_text(f'version = 2\nroot = "{d}/root"\nstate = "{d}/state"\n'
                                   f'disabled_plugins = ["io.containerd.grpc.v1.cri"]\n'
                                   f'[grpc]\n  address = "{sock}"\n')
    wrapper = runtime_wrapper(str(d))
    try:
        host = PrivateHost(str(d / "run"))
    except OSError as e:
        pytest.skip(str(e))
    log = open(d / "containerd.log", "w")
    daemon = subprocess.Popen(host.prefix + ["containerd", "--config", str(d / "config.toml")], stdout=log, stderr=log)

    def run(*args, timeout=60, input=None):
        return host.run(["ctr", "--address", sock, *args], timeout=timeout, input=input)
    run.runtime = ["--runtime", "io.containerd.runc.v2", "--runc-binary", wrapper]
    run.argv = lambda *args: host.prefix + ["ctr", "--address", sock, *args]
    try:
        # ctr waits for the socket (its dial blocks until containerd listens, or times out).
        ready = run("--connect-timeout", "20s", "version")
        if ready.returncode != 0:
            pytest.skip(f"containerd cannot start here: {ready.stderr.strip()} (log: {(d / 'containerd.log').read_text()[-500:]})")
        image = str(d / "busybox.tar")
        oci_image(busybox_rootfs(), image, IMAGE)
        res = run("image", "import", image)
        assert res.returncode == 0, res.stderr
        yield run
    finally:
        def remove_tasks():
            for task in run("task", "ls", "-q").stdout.split():
                run("task", "kill", "-s", "KILL", task)
                run("task", "delete", "-f", task)
            for c in run("container", "ls", "-q").stdout.split():
                run("container", "delete", c)
        def kill_shims():   # a task whose ctr was killed (a test timed out) keeps its shim
            subprocess.run(["pkill", "-KILL", "-f", f"containerd-shim-runc-v2 .*-address {sock}"])
        cleanup(remove_tasks, lambda: stop_daemon(daemon), kill_shims, log.close, host.close, lambda: shutil.rmtree(d, ignore_errors=True))


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
    # task ps: host pids (the runtime's `ps --format json`), the sandbox process's among them.
    sandbox_pid = next(line.split()[1] for line in tasks.splitlines() if line.startswith("ct2 "))
    assert sandbox_pid in ctr("task", "ps", "ct2").stdout.split()
    assert ctr("task", "kill", "ct2").returncode == 0
    deadline = time.monotonic() + 20
    while "STOPPED" not in ctr("task", "ls").stdout and time.monotonic() < deadline:
        time.sleep(0.1)
    assert "STOPPED" in ctr("task", "ls").stdout
    assert ctr("task", "delete", "ct2").returncode == 0
    assert ctr("container", "delete", "ct2").returncode == 0
    assert "ct2" not in ctr("task", "ls").stdout


def test_ctr_bind_mount_memory_limit_and_mounts_as_under_runc(ctr, tmp_path):
    """The same `ctr run` (a read-only and a read-write bind, a memory limit) under runc and under
    snakevisor: `ps` but for its pids, /proc/self/mounts (engine_support.assert_same_as_runc) and
    what the binds and the cgroup view show; the write through the rw bind reaches the host."""
    if not shutil.which("runc"):
        pytest.skip("runc is not installed: nothing to compare with (tools/setup.sh --test installs it)")
    (tmp_path / "ro").mkdir()
    (tmp_path / "ro" / "f").write_text("host file\n")
    script = compare_script("cat /ro/f; echo x > /ro/f; echo written > /rw/new; ls /rw")
    out = {}
    for name, runtime in (("runc", ["--runtime", "io.containerd.runc.v2"]), ("snakevisor", ctr.runtime)):
        rw = tmp_path / name
        rw.mkdir()
        res = ctr("run", "--rm", *runtime, "--memory-limit", str(64 << 20),
                  "--mount", f"type=bind,src={tmp_path / 'ro'},dst=/ro,options=rbind:ro",
                  "--mount", f"type=bind,src={rw},dst=/rw,options=rbind:rw", IMAGE, "cmp-" + name, "sh", "-c", script)
        assert res.returncode == 0, res.stderr
        assert (rw / "new").read_text() == "written\n"
        out[name] = res.stdout
    assert out["snakevisor"].endswith("tail:\nhost file\nnew\n"), out["snakevisor"]
    assert_same_as_runc(out["snakevisor"], out["runc"], {"/", "/ro", "/rw"})
    res = ctr("run", "--rm", *ctr.runtime, "--memory-limit", str(64 << 20), IMAGE, "mem", "sh", "-c",
              'cat /sys/fs/cgroup/memory.max; awk "BEGIN{s=\\"x\\"; for (i = 0; i < 27; i++) s = s s}"')
    assert res.returncode != 0 and res.stdout == "67108864\n", res.stdout + res.stderr


def test_ctr_run_t_terminal_as_under_runc(ctr):
    """ctr run -t from a 24x80 terminal: the container's own terminal, its size (set once the task
    runs: the script waits for it), typed input echoed and read, the exit code; as under runc."""
    want = ("/dev/pts/0\r\r\n24 80\r\r\nhello\r\r\ngot hello\r\r\n", 5)   # ctr's console adds a \r
    for name, runtime in (("snakevisor", ctr.runtime), ("runc", ["--runtime", "io.containerd.runc.v2"])):
        if name == "runc" and not shutil.which("runc"):
            pytest.skip("runc is not installed: nothing to compare with (tools/setup.sh --test installs it)")
        argv = ctr.argv("run", "--rm", "-t", *runtime, IMAGE, "tty-" + name, "sh", "-c", TERMINAL_SCRIPT)
        assert run_in_terminal(argv, dict(os.environ), (24, 80), b"24 80", b"hello\r") == want, name
