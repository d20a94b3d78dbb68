"""Programs that use the sandbox network: bulk TCP with checksums, UDP across processes, python3
http.server (client inside the sandbox, and on the host with --network=host), asyncio echo across two
processes, nginx serving static files to curl, redis-server with redis-cli and redis-benchmark. Namespaces and netlink are in test_network.py."""
import hashlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import time
import urllib.request

import pytest

from harness import BUILD_DIR, REPO, compile_c, run_sandboxed, sandbox_cmd, sandbox_env


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def out(r):
    assert r.returncode == 0, f"exit {r.returncode}\nstdout:\n{r.stdout.decode()}\nstderr:\n{r.stderr.decode()[-3000:]}"
    return r.stdout.decode()


def www_dir(name, files):
    """A directory outside /tmp (the sandbox's /tmp is its own) with ``files`` {name: bytes}."""
    d = os.path.join(BUILD_DIR, name)
    os.makedirs(d, exist_ok=True)
    for fname, data in files.items():
        with open(os.path.join(d, fname), "wb") as f:
            f.write(data)
    return d


def test_tcp_bulk_64mb_checksums_differential(differential):
    native, boxed = differential([compile_c("net_tcp_bulk"), "64"])
    lines = boxed.stdout.decode().splitlines()
    assert lines[0].startswith("server got 67108864 checksum") and lines[0].endswith("peek ok")
    assert lines[0].split()[4] == lines[1].split()[4].rstrip(",")        # server's checksum == client's
    assert "got back 1048576" in lines[1] and lines[2] == "client exit 0"


def test_udp_across_processes_differential(differential):
    native, boxed = differential([compile_c("net_udp")])
    text = boxed.stdout.decode()
    assert "MISMATCH" not in text and "peek 10 flags trunc=1" in text and "client exit 0" in text


def test_udp_ancillary_data_differential(differential):
    """IP/IPv6 control messages pass both ways through host sockets, cut to the buffer as put_cmsg does."""
    native, boxed = differential([compile_c("net_udp_cmsg")])
    assert "type=2 len=20 value=7" in boxed.stdout.decode()


def test_http_server_and_client_inside_the_sandbox():
    d = www_dir("www-inside", {"hello.txt": b"hello from the sandbox\n"})
    client = textwrap.dedent("""
        import time, urllib.request
        for _ in range(150):
            try:
                print(urllib.request.urlopen("http://localhost:8080/hello.txt", timeout=10).read().decode(), end="")
                break
            except OSError:
                time.sleep(0.2)
    """)
    script = (f"{sys.executable} -m http.server 8080 --bind 127.0.0.1 --directory {d} >/dev/null 2>&1 & "
              f"{sys.executable} -c '{client}'; kill $!")
    assert out(run_sandboxed(["/bin/sh", "-c", script], timeout=120)) == "hello from the sandbox\n"


def _serve_in_sandbox(argv, flags=("--network=host",)):
    return subprocess.Popen(sandbox_cmd(argv, flags), env=sandbox_env(), cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _get(url, deadline_s=60):
    end = time.monotonic() + deadline_s
    while True:
        try:
            return urllib.request.urlopen(url, timeout=10).read()
        except OSError:
            if time.monotonic() > end:
                raise
            time.sleep(0.2)


def test_http_server_in_sandbox_reached_from_the_host_with_network_host():
    d = www_dir("www-host", {"big.bin": os.urandom(3 << 20)})
    port = free_port()
    proc = _serve_in_sandbox([sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1",
                              "--directory", d])
    try:
        body = _get(f"http://127.0.0.1:{port}/big.bin")
        with open(os.path.join(d, "big.bin"), "rb") as f:
            assert hashlib.sha256(body).digest() == hashlib.sha256(f.read()).digest()
    finally:
        proc.send_signal(signal.SIGTERM)      # forwarded to the sandbox's init
        try:
            proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()


def test_http_server_with_network_none_is_not_reachable_from_the_host():
    port = free_port()
    proc = _serve_in_sandbox([sys.executable, "-c", textwrap.dedent(f"""
        import socket, time
        s = socket.socket(); s.bind(("127.0.0.1", {port})); s.listen()
        print("listening", flush=True); time.sleep(60)
    """)], flags=())
    try:
        assert proc.stdout.readline() == b"listening\n"
        with pytest.raises(ConnectionRefusedError):
            for _ in range(100):
                with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
                    # A self-connect (the host picked the port itself as the source: TCP's
                    # simultaneous open) is no answer from the sandbox; anything else is.
                    assert conn.getsockname() == conn.getpeername(), "the sandbox's server answered"
    finally:
        proc.kill()   # the CLI process is the Sentry: its stubs die with it (PDEATHSIG)
        proc.communicate()


ASYNCIO_SERVER = """
import asyncio, sys
async def echo(reader, writer):
    while data := await reader.read(65536):
        writer.write(data)
        await writer.drain()
    writer.close()
async def main():
    server = await asyncio.start_server(echo, "127.0.0.1", 0)
    print(server.sockets[0].getsockname()[1], flush=True)
    async with server:
        await server.serve_forever()
asyncio.run(main())
"""

ASYNCIO_CLIENT = """
import asyncio, hashlib, subprocess, sys
async def one(port, i):
    reader, writer = await asyncio.open_connection("localhost", port)
    payload = bytes(range(256)) * (1000 * (i + 1))
    async def send():
        writer.write(payload)
        await writer.drain()
        writer.write_eof()
    sender = asyncio.create_task(send())
    got = b""
    while chunk := await reader.read(1 << 16):
        got += chunk
    await sender
    writer.close()
    return hashlib.sha256(got).digest() == hashlib.sha256(payload).digest(), len(got)
async def main():
    server = subprocess.Popen([sys.executable, "-c", sys.argv[1]], stdout=subprocess.PIPE)
    port = int(server.stdout.readline())
    results = await asyncio.gather(*(one(port, i) for i in range(4)))
    print(results)
    server.terminate()
    print("server", server.wait())
asyncio.run(main())
"""


def test_asyncio_echo_server_and_client_in_two_processes():
    r = out(run_sandboxed([sys.executable, "-c", ASYNCIO_CLIENT, ASYNCIO_SERVER], timeout=120))
    assert r.splitlines() == ["[(True, 256000), (True, 512000), (True, 768000), (True, 1024000)]", "server -15"]


NGINX_CONF = """
worker_processes 1;
pid /tmp/nginx.pid;
error_log stderr notice;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path /tmp/nginx-body;
    proxy_temp_path /tmp/nginx-proxy;
    fastcgi_temp_path /tmp/nginx-fastcgi;
    uwsgi_temp_path /tmp/nginx-uwsgi;
    scgi_temp_path /tmp/nginx-scgi;
    sendfile on;
    server {{
        listen 127.0.0.1:{port};
        root {root};
    }}
}}
"""


def test_nginx_serves_static_files_to_curl():
    nginx = shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None)
    if nginx is None or shutil.which("curl") is None:
        pytest.skip("nginx (Debian nginx-light) or curl is not installed: tools/setup.sh --test installs them")
    big = os.urandom(5 << 20)
    d = www_dir("nginx-www", {"index.html": b"<p>hello from nginx</p>\n", "big.bin": big})
    conf = os.path.join(BUILD_DIR, "nginx-test.conf")
    with open(conf, "w") as f:
        f.write(NGINX_CONF.format(port=8081, root=d))
    check = subprocess.run([nginx, "-t", "-e", "stderr", "-c", conf], capture_output=True)
    if check.returncode != 0:
        pytest.skip(f"nginx cannot run here: {check.stderr.decode().strip()[:300]}")
    script = (f"{nginx} -e stderr -c {conf} -g 'daemon off;' & "
              "for i in $(seq 100); do curl -sf http://127.0.0.1:8081/ && break; sleep 0.2; done; "
              "curl -s http://localhost:8081/big.bin | sha256sum; "
              "curl -s -o /dev/null -w '%{http_code}\\n' http://127.0.0.1:8081/nosuch; kill $!; wait")
    r = out(run_sandboxed(["/bin/sh", "-c", script], timeout=120))
    assert r.splitlines() == ["<p>hello from nginx</p>", f"{hashlib.sha256(big).hexdigest()}  -", "404"]


REDIS_SCRIPT = """
redis-server --port {port} --bind 127.0.0.1 --save '' --appendonly no --dir {dir} --daemonize no >/dev/null &
until redis-cli -p {port} ping 2>/dev/null | grep -q PONG; do sleep 0.05; done
redis-cli -p {port} set greeting hello
redis-cli -p {port} get greeting
redis-cli -p {port} incrby counter 41
redis-cli -p {port} incr counter
redis-cli -p {port} rpush list a b c
redis-cli -p {port} lrange list 0 -1
redis-cli -p {port} expire greeting 1000
redis-cli -p {port} ttl greeting
redis-cli -p {port} dbsize
redis-benchmark -p {port} -q -t set,get,lpush,lpop -n 2000 -c 10 | tr '\\r' '\\n' | grep 'requests per second' | cut -d: -f1
redis-cli -p {port} shutdown nosave
wait $!; echo server exit $?
"""


def test_redis_server_cli_and_benchmark_as_natively():
    """Debian's redis-server, redis-cli and redis-benchmark (10 clients, so epoll, many connections
    and pipelining) in the sandbox: the same replies and the same benchmark tests completed as
    natively; the server exits cleanly on SHUTDOWN."""
    if not (shutil.which("redis-server") and shutil.which("redis-cli") and shutil.which("redis-benchmark")):
        pytest.skip("redis-server and redis-tools are not installed: tools/setup.sh --test installs them")
    d = www_dir("redis-dir", {})
    port = free_port()
    script = REDIS_SCRIPT.format(port=port, dir=d)
    try:
        native = subprocess.run(["/bin/sh", "-c", script], capture_output=True, timeout=120)
    finally:   # a script that failed half way leaves its server (redis names itself by its address)
        subprocess.run(["pkill", "-f", f"redis-server 127.0.0.1:{port}"])
    boxed = run_sandboxed(["/bin/sh", "-c", script], timeout=180)
    assert out(boxed) == out(native)
    assert out(native).split() == ["OK", "hello", "41", "42", "3", "a", "b", "c", "1", "1000", "3",
                                   "SET", "GET", "LPUSH", "LPOP", "server", "exit", "0"]
