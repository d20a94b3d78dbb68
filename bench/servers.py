"""Servers around a case, and their lifetimes.

- host_server(case, ctx): the native server a host-network case's client
  talks to (`net serve`, bench/programs/net.c), started once for the case and
  killed when the case ends, however it ends.
- measure_served(runner, case, ctx): one run of a served case. The runner
  starts the server in the sandbox, in the host's network, with its files in
  a fresh directory under the host directory (the one place every runner can
  write): nginx with a generated nginx.conf, loaded by wrk; or redis-server
  without persistence, loaded by redis-benchmark (the case's command and
  client count). Once it answers, the load generator measures it from the
  host; then the runner stops it, whatever happened.

A tool that is not installed (nginx, wrk, redis-server, redis-benchmark)
makes the cell "missing: <why>", never an error.
"""

import contextlib
import http.client
import os
import re
import select
import shutil
import socket
import subprocess
import tempfile
import time

from bench.runners import end_process, first_line, run_command

HOST_SERVER_START_S = 30  # the host server prints its port within this
SERVE_TIMEOUT_S = 60  # a sandboxed server answers within this
WRK = "wrk"
WRK_ARGS = ("-t1", "-c8")
NGINX = "/usr/sbin/nginx"  # Debian's nginx-light
REDIS_SERVER = "/usr/bin/redis-server"  # Debian's redis-server
REDIS_BENCHMARK = "redis-benchmark"   # Debian's redis-tools
REDIS_REQUESTS_PER_LOAD_S = 3000      # redis-benchmark -n: requests per second of the load time (it has no -d)
FILE_NAME = "file"
FILE_SIZE = 4096

# user root: nginx started as root chowns its temp directories to `user`
# (default nobody), which runc's default capabilities (no CAP_CHOWN) refuse.
NGINX_CONF = """\
daemon off;
master_process off;
user root;
pid {site}/nginx.pid;
error_log stderr;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {site}/body;
    proxy_temp_path {site}/proxy;
    fastcgi_temp_path {site}/fastcgi;
    uwsgi_temp_path {site}/uwsgi;
    scgi_temp_path {site}/scgi;
    server {{
        listen 127.0.0.1:{port};
        root {site}/www;
    }}
}}
"""


class ServerError(Exception):
    pass


def _read_port(proc, log, what):
    """The N of the server's first stdout line, port=N."""
    ready, _, _ = select.select([proc.stdout], [], [], HOST_SERVER_START_S)
    line = proc.stdout.readline().decode(errors="replace") if ready else ""
    m = re.match(r"port=(\d+)$", line.strip())
    if m:
        return int(m.group(1))
    log.seek(0)
    why = (first_line(log.read().decode(errors="replace")) or
           (f"no port=N line (it said {line.strip()!r})" if line else f"no port=N line in {HOST_SERVER_START_S} s"))
    raise ServerError(f"{what}: {why}")


@contextlib.contextmanager
def host_server(case, ctx):
    """Runs the case's host server natively for the duration of the block and
    yields its port (None for a case without one); raises ServerError if it
    does not start."""
    if not case.host_server:
        yield None
        return
    program, *args = case.host_server
    with tempfile.TemporaryFile(dir=ctx.work_dir) as log:
        proc = subprocess.Popen([ctx.programs[program], *args], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=log, start_new_session=True)
        try:
            yield _read_port(proc, log, f"host server {program} {' '.join(args)}")
        finally:
            end_process(proc)
            proc.stdout.close()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def nginx_binary():
    return shutil.which("nginx") or (NGINX if os.access(NGINX, os.X_OK) else None)


def redis_binary():
    return shutil.which("redis-server") or (REDIS_SERVER if os.access(REDIS_SERVER, os.X_OK) else None)


def why_missing(case):
    """Why a served case cannot run here (a tool not installed), or None."""
    if case.served not in SERVED:
        return f"unknown server {case.served!r}"
    tools = {"nginx": ((nginx_binary(), "nginx", "nginx-light"), (shutil.which(WRK), "wrk", "wrk")),
             "redis": ((redis_binary(), "redis-server", "redis-server"),
                       (shutil.which(REDIS_BENCHMARK), "redis-benchmark", "redis-tools"))}[case.served]
    for found, tool, package in tools:
        if found is None:
            return f"{tool} not installed (Debian package {package}: sh tools/setup.sh --bench)"
    return None


def nginx_site(site, port):
    """Writes nginx.conf and www/file into the directory site; the nginx argv."""
    os.makedirs(os.path.join(site, "www"))
    with open(os.path.join(site, "www", FILE_NAME), "wb") as f:
        f.write(b"x" * FILE_SIZE)
    conf = os.path.join(site, "nginx.conf")
    with open(conf, "w") as f:
        f.write(NGINX_CONF.format(site=site, port=port))
    return [nginx_binary(), "-e", "stderr", "-p", site, "-c", conf]


def wait_serving(proc, port, path, size, timeout_s):
    """None once GET path on 127.0.0.1:port returns size bytes; else why not."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return f"exited with status {proc.returncode} before serving"
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)  # no proxy, whatever the environment says
        try:
            conn.request("GET", path)
            response = conn.getresponse()
            if response.status == 200 and len(response.read()) == size:
                return None
        except (OSError, http.client.HTTPException):
            pass
        finally:
            conn.close()
        time.sleep(0.1)
    return f"not serving after {timeout_s} s"


def parse_wrk(stdout):
    """("ok", requests/s) or ("failed", why) from wrk's report."""
    m = re.search(r"^Requests/sec:\s*([0-9.]+)", stdout, re.M)
    if not m:
        return "failed", "wrk: no Requests/sec line"
    bad = re.search(r"Non-2xx or 3xx responses:\s*(\d+)", stdout)
    if bad:
        return "failed", f"wrk: {bad.group(1)} responses not 2xx/3xx"
    rps = float(m.group(1))
    return ("ok", rps) if rps > 0 else ("failed", "wrk: no request answered")


def redis_site(site, port):
    """The redis-server argv: no persistence, its directory site."""
    return [redis_binary(), "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
            "--protected-mode", "no", "--daemonize", "no", "--dir", site]


def wait_redis(proc, port, timeout_s):
    """None once PING on 127.0.0.1:port answers +PONG; else why not."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return f"exited with status {proc.returncode} before serving"
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
                conn.sendall(b"PING\r\n")
                if conn.recv(64).startswith(b"+PONG"):
                    return None
        except OSError:
            pass
        time.sleep(0.1)
    return f"not serving after {timeout_s} s"


def parse_redis_benchmark(stdout, test):
    """("ok", requests/s) or ("failed", why) from redis-benchmark -q's line for test (SET, GET)."""
    m = re.search(rf"^{re.escape(test)}: ([0-9.]+) requests per second", stdout.replace("\r", "\n"), re.M)
    if not m:
        return "failed", f"redis-benchmark: no {test} line"
    rps = float(m.group(1))
    return ("ok", rps) if rps > 0 else ("failed", "redis-benchmark: no request answered")


def _load_nginx(case, port, ctx):
    url = f"http://127.0.0.1:{port}/{FILE_NAME}"
    result = run_command([WRK, *WRK_ARGS, f"-d{ctx.load_s:g}s", url], ctx.load_s + 60)
    if result.timed_out or result.returncode != 0:
        return "failed", f"wrk: {first_line(result.stderr) or f'exit status {result.returncode}'}"
    return parse_wrk(result.stdout)


def _load_redis(case, port, ctx):
    test, clients = case.args
    requests = int(REDIS_REQUESTS_PER_LOAD_S * ctx.load_s)
    result = run_command([REDIS_BENCHMARK, "-h", "127.0.0.1", "-p", str(port), "-q", "-t", test.lower(),
                          "-c", str(clients), "-n", str(requests)], case.timeout_s)
    if result.timed_out or result.returncode != 0:
        return "failed", f"redis-benchmark: {first_line(result.stderr) or f'exit status {result.returncode}'}"
    return parse_redis_benchmark(result.stdout, test)


# served kind -> (its argv in a site directory, its readiness check, its load generator)
SERVED = {
    "nginx": (nginx_site, lambda proc, port: wait_serving(proc, port, f"/{FILE_NAME}", FILE_SIZE, SERVE_TIMEOUT_S),
              _load_nginx),
    "redis": (redis_site, lambda proc, port: wait_redis(proc, port, SERVE_TIMEOUT_S),
              _load_redis),
}


def measure_served(runner, case, ctx):
    """One run of a served case: ("ok", req/s) | ("missing", why) | ("failed", why)."""
    why = why_missing(case)
    if why:
        return "missing", why
    make_argv, ready, load = SERVED[case.served]
    port = free_port()
    site = tempfile.mkdtemp(prefix=f"{case.served}-", dir=ctx.host_dir)
    try:
        argv = make_argv(site, port)
        with open(os.path.join(site, "output"), "w+") as log:
            proc = runner.start(argv, log, host_network=case.host_network)
            try:
                why = ready(proc, port)
                if why:
                    log.seek(0)
                    said = first_line(log.read())
                    return "failed", f"{why}: {said}" if said else why
                return load(case, port, ctx)
            finally:
                runner.stop(proc)
    finally:
        shutil.rmtree(site, ignore_errors=True)
