"""The benchmark driver runs and reports; it never judges timing (issue 7).

A tiny quick run with the native runner checks the whole path (build, run,
parse, table, JSON, Markdown, plot); fake runners check how failures, timeouts
and missing runners land in their cells, and which command lines host-network
cases get; the host server and served (nginx + wrk) cases are checked for
their lifetimes and for a missing tool landing in a cell.
"""

import json
import os
import re
import shutil
import socket
import struct
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench import benchmarks as catalogue
from bench import cli, driver, report, runners, servers
from bench.build import build_programs

REPO = Path(__file__).resolve().parent.parent

needs_gcc = pytest.mark.skipif(shutil.which("gcc") is None, reason="gcc needed to build the benchmark programs")


@pytest.fixture(scope="module")
def quick_native(tmp_path_factory):
    """One quick run of the syscall benchmark, native only, through the CLI."""
    if shutil.which("gcc") is None:
        pytest.skip("gcc needed")
    out = tmp_path_factory.mktemp("bench")
    paths = {k: str(out / f"out.{k}") for k in ("json", "md", "png")}
    proc = subprocess.run([sys.executable, "-m", "bench", "syscall", "--quick", "--runs", "1", "--runners", "native",
                           "--json", paths["json"], "--markdown", paths["md"], "--plot", paths["png"]],
                          cwd=REPO, capture_output=True, text=True, timeout=300)
    return proc, paths


def test_quick_native_run_prints_a_table_with_a_figure(quick_native):
    proc, _ = quick_native
    assert proc.returncode == 0, proc.stderr
    rows = [line for line in proc.stdout.splitlines() if line.startswith("getpid")]
    assert len(rows) == 1
    fields = rows[0].split()
    assert fields[1] == "native"
    median = float(fields[2].replace(",", ""))
    assert median > 0
    assert fields[5] == "ns/op" and fields[6] == "1.00x"  # native against itself


def test_quick_native_json_structure(quick_native):
    proc, paths = quick_native
    doc = json.loads(Path(paths["json"]).read_text())
    assert doc["schema"] == driver.SCHEMA
    assert doc["runs"] == 1 and doc["quick"] is True
    assert doc["command"].startswith("python3 -m bench syscall --quick")
    assert {"kernel", "cpus", "python"} <= set(doc["machine"])
    assert doc["runners"] == {"native": {"status": "ok", "reason": None, "description": runners.NativeRunner.description,
                                         "version": ""}}
    [bench] = doc["benchmarks"]
    assert bench["name"] == "syscall"
    [case] = bench["cases"]
    assert case["id"] == "syscall.getpid" and case["unit"] == "ns/op" and case["better"] == "lower"
    cell = case["cells"]["native"]
    assert cell["status"] == "ok"
    assert len(cell["samples"]) == 1
    assert cell["min"] == cell["median"] == cell["max"] == cell["samples"][0] > 0
    assert cell["vs_native"] == 1.0 and cell["vs_runc"] is None


def test_quick_native_markdown_and_plot(quick_native):
    _, paths = quick_native
    md = Path(paths["md"]).read_text()
    assert "| case | unit | native |" in md
    assert re.search(r"\| syscall: getpid \| ns/op \| [0-9,.]+ \(1\.00x n\) \|", md)
    assert "python3 -m bench syscall --quick" in md  # the command is stated
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        assert not os.path.exists(paths["png"])
    else:
        assert Path(paths["png"]).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_parse_result():
    assert driver.parse_result("noise\nns_per_op=12.5 ops=100\n") == ("ok", {"ns_per_op": 12.5, "ops": 100.0})
    assert driver.parse_result("ns_per_op=1 ops=2 mb_per_s=3.5\n")[1]["mb_per_s"] == 3.5
    assert driver.parse_result("unsupported socket: Function not implemented\n") == (
        "unsupported", "socket: Function not implemented")
    assert driver.parse_result("hello\n") == (None, None)
    assert driver.parse_result("") == (None, None)


def test_slowdown_is_uniform_for_both_directions():
    lower = catalogue.Case("x.a", "a", "p")
    higher = catalogue.Case("x.b", "b", "p", metric="mb_per_s", better="higher")
    assert driver.slowdown(lower, 300.0, 100.0) == 3.0
    assert driver.slowdown(higher, 100.0, 300.0) == 3.0
    assert driver.slowdown(lower, 1.0, None) is None


def test_summarize_median_min_max():
    case = catalogue.Case("x.a", "a", "p")
    cell = driver.summarize(case, [("ok", 3.0), ("ok", 1.0), ("ok", 2.0)])
    assert (cell["median"], cell["min"], cell["max"]) == (2.0, 1.0, 3.0)
    assert driver.summarize(case, [("failed", "boom")]) == {"status": "failed", "message": "boom"}


class ShellRunner(runners.Runner):
    """Runs a fixed shell script instead of the program (argv ignored)."""

    def __init__(self, name, script):
        self.name = name
        self.script = script

    def command(self, argv, host_network=False):
        return ["sh", "-c", self.script]


def _ctx(tmp_path):
    return driver.Context(programs={"syscall": "/bin/true", "net": "/bin/true"}, work_dir=str(tmp_path),
                          host_dir=str(tmp_path), target_ms=1)


def test_failure_cell_carries_first_line_of_stderr(tmp_path):
    case = catalogue.BY_NAME["syscall"].cases[0]
    runner = ShellRunner("broken", "echo; echo 'boom: it broke' >&2; echo second >&2; exit 3")
    assert driver.measure(runner, case, _ctx(tmp_path)) == ("failed", "boom: it broke")
    silent = ShellRunner("silent", "exit 4")
    assert driver.measure(silent, case, _ctx(tmp_path)) == ("failed", "exit status 4, no result line")


def test_unsupported_is_reported(tmp_path):
    case = catalogue.BY_NAME["net"].cases[0]
    runner = ShellRunner("nonet", "echo 'unsupported socket: Function not implemented'")
    assert driver.measure(runner, case, _ctx(tmp_path)) == ("unsupported", "socket: Function not implemented")


def test_timeout_kills_the_runner(tmp_path):
    case = catalogue.Case("x.slow", "slow", "syscall", ("getpid",), timeout_s=0.5)
    runner = ShellRunner("hung", "sleep 30 & sleep 30")  # a child in the group must die too
    kind, message = driver.measure(runner, case, _ctx(tmp_path))
    assert kind == "failed" and message.startswith("timeout after")


def test_probe_reports_why_a_runner_is_missing(tmp_path):
    ctx = _ctx(tmp_path)
    assert driver.probe(ShellRunner("fine", "echo ns_per_op=1 ops=1"), ctx) is None
    assert driver.probe(ShellRunner("dead", "echo cannot start >&2; exit 1"), ctx) == "fails to start: cannot start"

    class Absent(runners.Runner):
        name = "absent"

        def why_missing(self):
            return "not installed"

    assert driver.probe(Absent(), ctx) == "not installed"


def test_missing_runner_cells_and_table(tmp_path):
    """A missing runner appears in every cell and in the table, never skipped silently."""
    doc = {"date": "2000-01-01T00:00:00+00:00", "runs": 1, "quick": True, "command": "python3 -m bench",
           "machine": {"cpus": 1, "kernel": "k", "python": "3"}, "skipped": [],
           "runners": {"native": {"status": "ok", "reason": None, "description": "d", "version": ""},
                       "runsc-ptrace": {"status": "missing", "reason": "runsc not installed", "description": "d"}},
           "benchmarks": [{"name": "syscall", "description": "d", "cases": [
               {"id": "syscall.getpid", "label": "getpid", "unit": "ns/op", "better": "lower",
                "cells": {"native": {"status": "ok", "samples": [5.0], "median": 5.0, "min": 5.0, "max": 5.0,
                                     "vs_native": 1.0, "vs_runc": None},
                          "runsc-ptrace": {"status": "missing", "message": "runsc not installed"}}}]}]}
    text = report.text_table(doc)
    assert "runsc-ptrace: missing: runsc not installed" in text
    assert re.search(r"runsc-ptrace\s+missing: runsc not installed", text)
    md = report.markdown_table(doc)
    assert "- runsc-ptrace: missing: runsc not installed" in md
    assert md.rstrip().endswith("| missing |")


def test_program_argv_fills_placeholders():
    programs = {"fs": "/p/fs"}
    case = catalogue.BY_NAME["fs"].cases[-1]  # a host-dir case
    argv = catalogue.program_argv(case, programs, 50, "/tmp", "/host")
    assert argv[:3] == ["/p/fs", case.args[0], "50"] and "/host" in argv


def test_cli_rejects_unknown_names(capsys):
    assert cli.main(["nosuchbench", "--runners", "native"]) == 2
    assert cli.main(["syscall", "--runners", "nosuchrunner"]) == 2


@needs_gcc
def test_programs_report_unsupported_writes():
    """fs write on a directory the program may not write reports unsupported."""
    programs = build_programs()
    # sysfs refuses new files even to root: EACCES, as a read-only mount refuses with EROFS.
    r = subprocess.run([programs["fs"], "write", "1", "/sys", "4096"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and r.stdout.startswith("unsupported open for writing")


@needs_gcc
def test_bare_python_ptrace_loop_services_getpid():
    programs = build_programs()
    r = subprocess.run([sys.executable, "-m", "bench.ptrace_loop", "--", programs["syscall"], "getpid", "1"],
                       cwd=REPO, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert driver.parse_result(r.stdout)[0] == "ok"
    # Everything else passes through, exit status included.
    r = subprocess.run([sys.executable, "-m", "bench.ptrace_loop", "--", "/bin/sh", "-c", "exit 7"],
                       cwd=REPO, capture_output=True, timeout=120)
    assert r.returncode == 7


class HangingRunner(runners.Runner):
    """Starts (answers the probe) but hangs on every real case."""
    name = "hanging"

    def command(self, argv, host_network=False):
        if argv[1:3] == ["getpid", "1"]:  # the probe
            return ["sh", "-c", "echo ns_per_op=1 ops=1"]
        return ["sleep", "60"]


@needs_gcc
def test_a_hanging_runner_is_cut_off(monkeypatch):
    monkeypatch.setattr(driver, "QUICK_TIMEOUT_S", 0.3)
    doc = driver.run_suite(["syscall", "mmap"], [HangingRunner()], runs=2, quick=True, progress=None)
    assert doc["runners"]["hanging"]["status"] == "ok"
    cells = [c["cells"]["hanging"] for b in doc["benchmarks"] for c in b["cases"]]
    assert [c["status"] for c in cells] == ["failed"] * 4
    assert cells[0]["message"].startswith("timeout after") and cells[1]["message"].startswith("timeout after")
    assert cells[2]["message"] == cells[3]["message"] == f"not run: timed out {driver.MAX_TIMEOUTS} times before"


def _case(case_id):
    return next(c for b in catalogue.BENCHMARKS for c in b.cases if c.id == case_id)


def test_catalogue_lists_the_new_cases(capsys):
    cli.list_catalogue()
    out = capsys.readouterr().out
    for case_id in ("pipe.pipe_stream", "pipe.unix_stream", "pipe.pingpong", "net.tcp_host_1MB", "net.tcp_host_64MB",
                    "nginx.static_4k", "redis.set_c1", "redis.get_c1", "redis.set_c50", "redis.get_c50"):
        assert re.search(rf"^  {re.escape(case_id)} ", out, re.M), case_id
    assert re.search(r"^  net\.tcp_host_1GB .*\(not in --quick\) \(host network\)$", out, re.M)
    assert re.search(r"^  net\.tcp_1MB .*\[MB/s\]$", out, re.M)  # the in-sandbox cases stay, own network
    host = _case("net.tcp_host_64MB")
    assert host.host_network and host.host_server[0] == "net" and catalogue.PORT_PLACEHOLDER in host.args
    assert not _case("net.tcp_64MB").host_network and not _case("net.tcp_64MB").host_server
    nginx = _case("nginx.static_4k")
    assert (nginx.served, nginx.host_network, nginx.unit, nginx.better) == ("nginx", True, "req/s", "higher")
    assert _case("pipe.pipe_stream").metric == "mb_per_s" and _case("pipe.pingpong").metric == "ns_per_op"
    redis = _case("redis.get_c50")
    assert (redis.served, redis.host_network, redis.args, redis.unit) == ("redis", True, ("GET", 50), "req/s")


def test_program_argv_fills_the_port():
    argv = catalogue.program_argv(_case("net.tcp_host_1MB"), {"net": "/p/net"}, 50, "/tmp", "/host", 4321)
    assert argv == ["/p/net", "tcp_host", "50", str(1 << 20), "4321"]


def test_host_network_command_lines():
    sv = runners.SnakevisorRunner()
    sv.host_dir = "/h"
    cmd = sv.command(["/p", "x"], host_network=True)
    sep = cmd.index("--")
    assert cmd[sep + 1:] == ["/p", "x"] and "--network=host" in cmd[:sep]
    assert not any(a.startswith("--network") for a in sv.command(["/p", "x"]))
    for pinned in (True, False):
        runsc = runners.RunscRunner(pinned)
        host = runsc.command(["/p"], host_network=True)
        assert "--network=host" in host and "--rootless=true" in host and "--network=none" not in host
        assert host[host.index("do") + 1:] == ["/p"] and (host[:3] == ["taskset", "-c", "0"]) == pinned
        own = runsc.command(["/p"])
        assert "--network=none" in own and "--network=host" not in own and "--rootless=false" in own
    assert runners.NativeRunner().command(["/p", "a"], host_network=True) == ["/p", "a"]


def test_runc_host_network_has_no_network_namespace(tmp_path):
    runc = runners.RuncRunner()
    runc.bundle, runc.state = tmp_path, tmp_path
    runc.config = {"process": {"args": []},
                   "linux": {"namespaces": [{"type": t} for t in ("pid", "network", "ipc", "uts", "mount")]}}
    cmd = runc.command(["/p", "a"], host_network=True)
    assert cmd[-1] == runc.cid and cmd[:3] == ["runc", "--root", str(tmp_path)]
    written = json.loads((tmp_path / "config.json").read_text())
    assert written["process"]["args"] == ["/p", "a"]
    assert [ns["type"] for ns in written["linux"]["namespaces"]] == ["pid", "ipc", "uts", "mount"]
    own = runc.container_config(["/p"])
    assert "network" in [ns["type"] for ns in own["linux"]["namespaces"]]
    assert len(runc.config["linux"]["namespaces"]) == 5 and runc.config["process"]["args"] == []  # base untouched


class RecordingRunner(runners.Runner):
    """Records each run and whether the port in its argv was listening then."""
    name = "recording"

    def __init__(self):
        self.calls = []

    def run(self, argv, timeout, host_network=False):
        listening = None
        if argv[1] == "tcp_host":
            try:
                socket.create_connection(("127.0.0.1", int(argv[4])), timeout=5).close()
                listening = True
            except OSError:
                listening = False
        self.calls.append((list(argv), host_network, listening))
        return runners.Completed(0, "ns_per_op=1 ops=1 mb_per_s=1\n", "", 0.0)


def _refused(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=5).close()
    except ConnectionRefusedError:
        return True
    return False


@needs_gcc
def test_host_network_cases_reach_the_runner_with_a_live_host_server():
    runner = RecordingRunner()
    doc = driver.run_suite(["net"], [runner], runs=1, quick=True, progress=None)
    probe, *runs = runner.calls
    calls = {argv[1] + "_" + argv[3]: (argv, host, listening) for argv, host, listening in runs}
    assert sorted(calls) == sorted(f"{mode}_{size}" for mode in ("tcp", "tcp_host") for size in (1 << 20, 64 << 20))
    for key, (argv, host, listening) in calls.items():
        if key.startswith("tcp_host"):
            assert host is True and listening is True and argv[4].isdigit()
            assert _refused(int(argv[4]))  # the case is over: its server is gone
        else:
            assert host is False and len(argv) == 4
    assert {c["id"]: c["cells"]["recording"]["status"] for c in doc["benchmarks"][0]["cases"]} == {
        "net.tcp_1MB": "ok", "net.tcp_64MB": "ok", "net.tcp_host_1MB": "ok", "net.tcp_host_64MB": "ok"}


@needs_gcc
def test_host_server_counts_bytes_and_dies_with_its_case(tmp_path):
    ctx = driver.Context(programs=build_programs(), work_dir=str(tmp_path), host_dir=str(tmp_path), target_ms=1)
    case = _case("net.tcp_host_1MB")
    with servers.host_server(case, ctx) as port:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            s.sendall(b"x" * 100_000)
            s.shutdown(socket.SHUT_WR)
            reply = b""
            while len(reply) < 8:
                chunk = s.recv(8 - len(reply))
                assert chunk
                reply += chunk
        assert struct.unpack(">Q", reply)[0] == 100_000
        # The real client, natively: it checks the server's count itself.
        argv = catalogue.program_argv(case, ctx.programs, 1, "/tmp", str(tmp_path), port)
        r = subprocess.run(argv, capture_output=True, text=True, timeout=60)
        assert r.returncode == 0 and driver.parse_result(r.stdout)[0] == "ok", r.stderr
    assert _refused(port)
    with pytest.raises(RuntimeError):
        with servers.host_server(case, ctx) as port:
            raise RuntimeError("a case blew up")
    assert _refused(port)


@needs_gcc
def test_a_host_server_that_does_not_start_fails_the_case(tmp_path):
    ctx = driver.Context(programs=build_programs(), work_dir=str(tmp_path), host_dir=str(tmp_path), target_ms=1)
    case = catalogue.Case("x.host", "x", "net", ("tcp_host", "1", "{port}"), host_network=True,
                          host_server=("syscall", "getpid", "1"))  # prints a result line, not port=N
    runner = RecordingRunner()
    outcomes = driver.run_case(case, [runner], ctx, 2, {}, lambda msg: None)
    [(kind, why)] = outcomes["recording"]
    assert kind == "failed" and why.startswith("host server syscall getpid 1: no port=N line (it said 'ns_per_op=")
    assert runner.calls == []


def test_end_process_kills_what_left_the_group(tmp_path):
    pidfile = tmp_path / "pid"
    proc = runners.start_command(["sh", "-c", f"setsid sleep 60 & echo $! > {pidfile}; wait"], subprocess.DEVNULL)
    for _ in range(100):
        if pidfile.exists() and pidfile.read_text().strip():
            break
        time.sleep(0.05)
    escaped = int(pidfile.read_text())
    for _ in range(100):   # $! is known before setsid(1) has run in it
        if os.getsid(escaped) != proc.pid:
            break
        time.sleep(0.05)
    assert os.getsid(escaped) != proc.pid  # out of reach of killpg
    runners.end_process(proc, grace_s=0.2)
    for _ in range(100):
        if runners._start_time(escaped) is None or open(f"/proc/{escaped}/stat").read().split(") ")[1][0] == "Z":
            break
        time.sleep(0.05)
    else:
        os.kill(escaped, 9)
        pytest.fail("a process that left the group outlived end_process")


WRK_OUTPUT = """Running 3s test @ http://127.0.0.1:18089/file
  1 threads and 8 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     5.58ms    1.56ms  21.00ms   89.39%
    Req/Sec     1.45k   191.35     1.71k    60.00%
  4330 requests in 3.00s, 17.91MB read
Requests/sec:   1442.88
Transfer/sec:      5.97MB
"""


def test_parse_wrk():
    assert servers.parse_wrk(WRK_OUTPUT) == ("ok", 1442.88)
    bad = WRK_OUTPUT.replace("Requests/sec", "  Non-2xx or 3xx responses: 12\nRequests/sec")
    assert servers.parse_wrk(bad) == ("failed", "wrk: 12 responses not 2xx/3xx")
    assert servers.parse_wrk("unable to connect to 127.0.0.1:1 Connection refused\n")[0] == "failed"


def test_missing_wrk_is_a_missing_cell_not_a_crash(monkeypatch, tmp_path):
    monkeypatch.setattr(servers, "WRK", "snakevisor-bench-no-such-wrk")
    case = _case("nginx.static_4k")
    kind, why = driver.measure(runners.NativeRunner(), case, _ctx(tmp_path))
    assert kind == "missing" and "not installed" in why and "sh tools/setup.sh --" in why
    assert os.listdir(tmp_path) == []  # nothing started, nothing left
    if servers.nginx_binary() is None:
        return
    assert why == "wrk not installed (Debian package wrk: sh tools/setup.sh --bench)"
    cell = driver.summarize(case, [(kind, why)])
    doc = {"date": "2000-01-01T00:00:00+00:00", "runs": 1, "quick": True, "command": "python3 -m bench nginx",
           "machine": {"cpus": 1, "kernel": "k", "python": "3"}, "skipped": [],
           "runners": {"native": {"status": "ok", "reason": None, "description": "d", "version": ""}},
           "benchmarks": [{"name": "nginx", "description": "d", "cases": [
               {"id": case.id, "label": case.label, "unit": case.unit, "better": case.better,
                "cells": {"native": cell}}]}]}
    assert re.search(r"native\s+missing: wrk not installed \(Debian package wrk", report.text_table(doc))
    assert "| missing: wrk not installed (Debian package wrk" in report.markdown_table(doc)


def test_a_served_server_that_dies_fails_with_its_first_line(monkeypatch, tmp_path):
    monkeypatch.setattr(servers, "why_missing", lambda case: None)
    monkeypatch.setattr(servers, "nginx_binary", lambda: "/usr/sbin/nginx")
    runner = ShellRunner("dies", "echo 'nginx: [emerg] no way' >&2; exit 1")
    kind, why = driver.measure(runner, _case("nginx.static_4k"), _ctx(tmp_path))
    assert (kind, why) == ("failed", "exited with status 1 before serving: nginx: [emerg] no way")
    assert os.listdir(tmp_path) == []  # the site directory is removed


REDIS_BENCHMARK_OUTPUT = ("SET: rps=0.0 (overall: nan) avg_msec=nan (overall: nan)\r"
                          "SET: 98039.22 requests per second, p50=0.255 msec\n"
                          "GET: rps=41232.0 (overall: 41232.0) avg_msec=0.3\r"
                          "GET: 102040.82 requests per second, p50=0.247 msec\n")


def test_parse_redis_benchmark():
    assert servers.parse_redis_benchmark(REDIS_BENCHMARK_OUTPUT, "GET") == ("ok", 102040.82)
    assert servers.parse_redis_benchmark(REDIS_BENCHMARK_OUTPUT, "SET") == ("ok", 98039.22)
    assert servers.parse_redis_benchmark(REDIS_BENCHMARK_OUTPUT, "LPUSH") == ("failed", "redis-benchmark: no LPUSH line")
    assert servers.parse_redis_benchmark("Could not connect to Redis at 127.0.0.1:1\n", "GET")[0] == "failed"


def test_missing_redis_benchmark_is_a_missing_cell(monkeypatch, tmp_path):
    monkeypatch.setattr(servers, "REDIS_BENCHMARK", "snakevisor-bench-no-such-redis-benchmark")
    monkeypatch.setattr(servers, "redis_binary", lambda: "/usr/bin/redis-server")
    kind, why = driver.measure(runners.NativeRunner(), _case("redis.set_c1"), _ctx(tmp_path))
    assert (kind, why) == ("missing", "redis-benchmark not installed (Debian package redis-tools: sh tools/setup.sh --bench)")
    assert os.listdir(tmp_path) == []


@pytest.mark.skipif(servers.redis_binary() is None or shutil.which("redis-benchmark") is None,
                    reason="redis-server and redis-benchmark needed: sh tools/setup.sh --bench")
def test_native_redis_under_redis_benchmark(tmp_path):
    def servers_running():   # redis-server renames itself "redis-server ADDRESS:PORT"
        return set(subprocess.run(["pgrep", "-f", "^redis-server "], capture_output=True, text=True).stdout.split())
    before = servers_running()
    ctx = driver.Context(programs={}, work_dir=str(tmp_path), host_dir=str(tmp_path), target_ms=1, load_s=0.5)
    kind, rps = driver.measure(runners.NativeRunner(), _case("redis.get_c50"), ctx)
    assert kind == "ok" and rps > 0, rps
    assert os.listdir(tmp_path) == []
    assert servers_running() <= before   # the one started was stopped


@pytest.mark.skipif(servers.nginx_binary() is None or shutil.which("wrk") is None,
                    reason="nginx (nginx-light) and wrk needed: sh tools/setup.sh --bench")
def test_native_nginx_under_wrk(tmp_path):
    ctx = driver.Context(programs={}, work_dir=str(tmp_path), host_dir=str(tmp_path), target_ms=1, load_s=1)
    kind, rps = driver.measure(runners.NativeRunner(), _case("nginx.static_4k"), ctx)
    assert kind == "ok" and rps > 0, rps
    assert os.listdir(tmp_path) == []
    left = subprocess.run(["pgrep", "-f", str(tmp_path)], capture_output=True, text=True).stdout
    assert left == "", left  # nginx was stopped


def test_python_cost_has_volume_cases():
    """bench/python_cost.py's volume cases (issue 14: a Gofer thread serves a host directory) run."""
    from bench import python_cost
    assert {"newfstatat vol deep", "openat+close vol deep", "pread64 4K vol"} <= set(python_cost.measure(3, 1))


def test_python_cost_measures_every_case():
    """bench/python_cost.py: every case runs (each asserts its syscalls succeed) and gets a time."""
    from bench import python_cost
    got = python_cost.measure(number=3, repeat=1)
    assert set(got) >= {"getppid", "newfstatat", "openat+close", "pread64 4K", "pipe write+read 4K", "futex wake",
                        "pipe write+read 64K", "signal frame+sigreturn"}
    assert all(us > 0 for us in got.values())
