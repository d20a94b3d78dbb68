"""The cases every Docker-like engine (Podman, Docker) must pass with snakevisor as its runtime, as
a class the engines' test modules subclass (test_podman.py, test_docker.py); each module gives an
``engine`` fixture (engine_support.Engine) that has IMAGE imported.

Covered: run (output, exit codes), run -d + exec + logs + stop + rm, run -it, -v volumes, --read-only,
--memory and --pids-limit enforced by the Sentry, `ps`, /proc/self/mounts and /etc/resolv.conf as
under runc, and -p port mapping to busybox httpd, fetched from the host (skipped, with the reason,
where the engine's network cannot be set up), -p to nginx (the host's, imported as an image), and a
server on the host reached from the container through the engine's bridge.
"""
import shutil
import subprocess
import sys

import pytest

from engine_images import NGINX, NGINX_PAGE, nginx_rootfs
from engine_support import TERMINAL_SCRIPT, assert_same_as_runc, compare_script, image_tar, run_in_terminal

IMAGE = "localhost/snakevisor-test-busybox:latest"
NGINX_IMAGE = "localhost/snakevisor-test-nginx:latest"
# The engines' single-file binds and /dev/shm (a directory of their own), and the tests' volume.
BINDS = {"/", "/etc/hosts", "/etc/hostname", "/etc/resolv.conf", "/run/.containerenv", "/dev/shm", "/data"}
# What the memory test runs: the limit the Sentry's cgroup view shows, then a 128 MiB string.
GROW = 'cat /sys/fs/cgroup/memory.max; awk "BEGIN{s=\\"x\\"; for (i = 0; i < 27; i++) s = s s; print length(s)}"'


def _runc_or_skip():
    """Called after a case's own checks under snakevisor, before those under runc."""
    if not shutil.which("runc"):
        pytest.skip("runc is not installed: nothing to compare with (tools/setup.sh --test installs it)")


def _fetch(engine, url):
    """curl ``url`` on the engine's (private) host; curl retries until the server listens, within its
    bounded time (every error: Docker's userland proxy accepts, then resets the connection while
    nothing listens in the container)."""
    return engine.host.run(["curl", "-sS", "--max-time", "20", "--retry", "100", "--retry-delay", "0",
                            "--retry-all-errors", "--retry-max-time", "20", url], timeout=30)


class EngineCases:
    def test_run_prints_and_returns_the_exit_code(self, engine):
        res = engine.run("--rm", IMAGE, "sh", "-c", "echo hello from the engine; uname -r; echo oops >&2; exit 3")
        assert (res.returncode, res.stdout, res.stderr) == (3, "hello from the engine\n6.1.0-snakevisor\n", "oops\n")
        # Death by a signal is 128+N, as under runc.
        assert engine.run("--rm", IMAGE, "sh", "-c", "kill -9 $$").returncode == 137

    def test_detached_exec_logs_stop_rm(self, engine):
        script = 'echo started; trap "echo got TERM; exit 0" TERM; while :; do sleep 0.1; done'
        res = engine.run("-d", "--name", "p1", IMAGE, "sh", "-c", script)
        assert res.returncode == 0, res.stderr
        assert "Up" in engine.cli("ps", "--filter", "name=p1", "--format", "{{.Status}}").stdout
        res = engine.cli("exec", "p1", "sh", "-c", "echo exec ok; ps -o comm; exit 4")
        assert res.returncode == 4, res.stderr
        assert res.stdout.splitlines()[:3] == ["exec ok", "COMMAND", "sh"] and "ps" in res.stdout.split()
        res = engine.cli("exec", "-i", "p1", "cat", input="from stdin\n")
        assert (res.returncode, res.stdout) == (0, "from stdin\n")
        res = engine.cli("stop", "--time", "10", "p1")
        assert res.returncode == 0, res.stderr
        # The TERM reached the container's shell, which said so and exited 0.
        assert engine.cli("logs", "p1").stdout == "started\ngot TERM\n"
        state = engine.cli("inspect", "p1", "--format", "{{.State.Status}} {{.State.ExitCode}}").stdout
        assert state.split() == ["exited", "0"]
        assert engine.cli("rm", "p1").returncode == 0
        assert "p1" not in engine.cli("ps", "-a", "--format", "{{.Names}}").stdout.split()

    def test_volumes_reach_the_host(self, engine, tmp_path):
        data, ro = tmp_path / "data", tmp_path / "ro"
        data.mkdir()
        ro.mkdir()
        (ro / "f").write_text("host file\n")
        res = engine.run("--rm", "-v", f"{data}:/data", "-v", f"{ro}:/ro:ro", IMAGE, "sh", "-c",
                         "echo written inside > /data/new; cat /ro/f; echo x > /ro/f")
        assert res.returncode == 1 and res.stdout == "host file\n", res.stderr
        assert "Read-only file system" in res.stderr
        assert (data / "new").read_text() == "written inside\n"
        assert (ro / "f").read_text() == "host file\n"

    def test_read_only_root(self, engine):
        res = engine.run("--rm", "--read-only", "--tmpfs", "/tmp", IMAGE, "sh", "-c",
                         "touch /x; echo root=$?; touch /tmp/x && echo tmp=$?; "
                         "grep -E ' / | /tmp ' /proc/self/mounts | cut -d' ' -f2-4 | cut -d, -f1")
        assert res.stdout.splitlines() == ["root=1", "tmp=0", "/ 9p ro", "/tmp tmpfs rw"], res.stdout + res.stderr
        assert "touch: /x: Read-only file system" in res.stderr

    def test_memory_limit_is_the_sentrys(self, engine):
        """--memory: the Sentry's limit (its cgroup view shows it); a 128 MiB string does not fit in
        64 MiB (awk fails, the Sentry refusing its mmap) and fits in 512 MiB."""
        res = engine.run("--rm", "--memory", "64m", IMAGE, "sh", "-c", GROW)
        assert res.returncode != 0 and res.stdout == "67108864\n", res.stdout + res.stderr
        assert "out of memory" in res.stderr
        res = engine.run("--rm", "--memory", "512m", IMAGE, "sh", "-c", GROW)
        assert (res.returncode, res.stdout) == (0, "536870912\n134217728\n"), res.stderr

    def test_pids_limit_is_the_sentrys(self, engine):
        """--pids-limit 10: the shell and nine background sleeps; the tenth fork fails with EAGAIN
        (the shell says so and exits: the container ends, and its sleeps with it)."""
        script = "cat /sys/fs/cgroup/pids.max; i=0; while [ $i -lt 20 ]; do sleep 60 & i=$((i+1)); echo $i; done"
        res = engine.run("--rm", "--pids-limit", "10", IMAGE, "sh", "-c", script)
        assert res.stdout.split() == ["10"] + [str(i) for i in range(1, 10)], res.stdout + res.stderr
        assert "can't fork: Resource temporarily unavailable" in res.stderr

    def test_ps_mounts_and_resolv_conf_as_under_runc(self, engine, tmp_path):
        """The same command under runc and under snakevisor: `ps` (its pids aside), what
        /proc/self/mounts lists, /etc/resolv.conf and the rlimits (engine_support.assert_same_as_runc)."""
        if not shutil.which("runc"):
            pytest.skip("runc is not installed: nothing to compare with (tools/setup.sh --test installs it)")
        (tmp_path / "data").mkdir()
        script = compare_script("cat /etc/resolv.conf; ulimit -n")
        out = {}
        for runtime in ("runc", None):
            res = engine.run("--rm", "-v", f"{tmp_path / 'data'}:/data:ro", IMAGE, "sh", "-c", script, runtime=runtime)
            assert res.returncode == 0, res.stderr
            out[runtime or "snakevisor"] = res.stdout
        assert_same_as_runc(out["snakevisor"], out["runc"], BINDS)

    def test_interactive_terminal_as_under_runc(self, engine):
        """run -it from a 24x80 terminal: the container's own terminal (the Sentry's pty bridged to
        the engine's), its size, what is typed echoed and read, the exit code; as under runc."""
        for runtime in (None, "runc"):
            argv = engine.run_argv("--rm", "-it", IMAGE, "sh", "-c", TERMINAL_SCRIPT, runtime=runtime)
            got = run_in_terminal(argv, engine.env, (24, 80), b"24 80", b"hello\r")
            assert got == ("/dev/pts/0\r\n24 80\r\nhello\r\ngot hello\r\n", 5), (runtime, got)
            _runc_or_skip()

    def test_port_mapping_serves_a_file_to_the_host(self, engine, tmp_path):
        """-p 18080:80 to busybox httpd in the container, fetched from the (private) host with curl."""
        if engine.net:
            pytest.skip(engine.net)
        www = tmp_path / "www"
        www.mkdir()
        (www / "index.html").write_text("served from the sandbox\n")
        res = engine.run("-d", "--name", "web", "-p", "18080:80", "-v", f"{www}:/www:ro", IMAGE,
                         "httpd", "-f", "-p", "80", "-h", "/www")
        assert res.returncode == 0, res.stderr
        try:
            got = _fetch(engine, "http://127.0.0.1:18080/index.html")
            assert (got.returncode, got.stdout) == (0, "served from the sandbox\n"), got.stderr
        finally:
            engine.cli("rm", "-f", "web")

    def test_the_container_reaches_the_host_through_the_bridge(self, engine, tmp_path):
        """Outbound: a server on the engine's (private) host, fetched from inside the container
        at its default route's gateway (the engine's bridge): the sandbox's sockets live in the
        network namespace the engine made."""
        if engine.net:
            pytest.skip(engine.net)
        www = tmp_path / "www"
        www.mkdir()
        (www / "f").write_text("from the host\n")
        server = subprocess.Popen(engine.host.prefix + [sys.executable, "-m", "http.server", "18095", "--bind",
                                                        "0.0.0.0", "--directory", str(www)],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        # (busybox 1.35's wget crashes with -T, natively too: the timeout comes from timeout(1))
        script = "timeout 30 wget -q -O- http://$(ip route | awk '/^default/ {print $3}'):18095/f"
        try:
            assert _fetch(engine, "http://127.0.0.1:18095/f").returncode == 0   # the server listens
            res = engine.run("--rm", IMAGE, "sh", "-c", script)
            assert (res.returncode, res.stdout) == (0, "from the host\n"), (res.returncode, res.stderr)
        finally:
            server.kill()
            server.wait()

    def test_nginx_serves_a_page_to_the_host(self, engine, tmp_path):
        """The README's `run --runtime snakevisor -d -p 18090:80 IMAGE nginx -g 'daemon off;'`, IMAGE
        the host's nginx imported (engine_images.nginx_rootfs): its master as root, its worker as
        www-data, the page fetched from the host through the engine's port mapping, the request in
        the container's log (nginx's access_log is /dev/stdout)."""
        if engine.net:
            pytest.skip(engine.net)
        rootfs = nginx_rootfs()
        if rootfs is None:
            pytest.skip(f"{NGINX} is not installed (tools/setup.sh --test installs nginx-light)")
        res = engine.cli("import", image_tar(rootfs, str(tmp_path / "nginx.tar")), NGINX_IMAGE)
        assert res.returncode == 0, res.stderr
        res = engine.run("-d", "--name", "nginx", "-p", "18090:80", NGINX_IMAGE, "nginx", "-g", "daemon off;")
        assert res.returncode == 0, res.stderr
        try:
            got = _fetch(engine, "http://127.0.0.1:18090/index.html")
            assert (got.returncode, got.stdout) == (0, NGINX_PAGE), got.stderr + engine.cli("logs", "nginx").stderr
            res = engine.cli("exec", "nginx", "/usr/sbin/nginx", "-v")
            assert res.returncode == 0 and "nginx version" in res.stderr, res.stderr
            assert '"GET /index.html HTTP/1.1" 200' in engine.cli("logs", "nginx").stdout
        finally:
            engine.cli("rm", "-f", "nginx")
            engine.cli("rmi", "-f", NGINX_IMAGE)
