"""The driver: runs every selected case under every selected runner N times,
parses each program's result line, and turns the samples into a results
document (median, min, max, slowdown against native and against runc from the
same run). The document is what the JSON output holds and what the report
module prints, tables and plot alike.

A cell never aborts the suite: a runner that cannot start is "missing", a
program that fails is "failed: <first line of stderr>", a feature the runner
lacks is "unsupported: <reason>", a runner that does not apply is "n/a", a
tool a case needs that is not installed (wrk, nginx) is "missing" too.

A case with a host server has it running (bench.servers.host_server) while
all its runs take place; a served case is measured by bench.servers.
"""

import datetime
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass

from bench import benchmarks as catalogue
from bench import servers
from bench.build import build_programs
from bench.runners import failure_message, first_line

SCHEMA = 1
FULL_TARGET_MS = 300
QUICK_TARGET_MS = 50
PROBE_TIMEOUT_S = 60
QUICK_TIMEOUT_S = 20  # per run in --quick: a healthy quick run takes seconds
FULL_LOAD_S = 10  # how long a load generator (wrk) runs against a served case
QUICK_LOAD_S = 3
MAX_TIMEOUTS = 2  # a runner that hangs this often is not given more cases
DATA_FILE = "svbench-data"  # the read benchmarks' file, as bench/programs/fs.c names it
DATA_LEN = 16 << 20
SANDBOX_TMP = "/tmp"

_PAIR = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)=([-+0-9.eE]+|nan|inf)")


@dataclass
class Context:
    programs: dict  # program name -> path
    work_dir: str  # private scratch (runc bundle, ...)
    host_dir: str  # the host directory of the fs benchmark
    target_ms: float
    max_timeout_s: float | None = None
    load_s: float = FULL_LOAD_S


def parse_result(stdout):
    """("ok", {key: float}) or ("unsupported", reason) or (None, None) from a
    program's stdout; the last line that looks like a result wins."""
    for line in reversed(stdout.splitlines()):
        line = line.strip()
        if line.startswith("unsupported"):
            return "unsupported", line[len("unsupported"):].strip() or "unsupported"
        pairs = dict(_PAIR.findall(line))
        if pairs and ("ns_per_op" in pairs or "mb_per_s" in pairs):
            return "ok", {k: float(v) for k, v in pairs.items()}
    return None, None


def measure(runner, case, ctx, port=None):
    """One run of one case: ("ok", value) | ("unsupported", why) | ("failed", why)
    | ("missing", why); port: that of the case's host server."""
    if case.served:
        return servers.measure_served(runner, case, ctx)
    argv = catalogue.program_argv(case, ctx.programs, ctx.target_ms, SANDBOX_TMP, ctx.host_dir, port)
    timeout = min(case.timeout_s, ctx.max_timeout_s) if ctx.max_timeout_s else case.timeout_s
    if case.oci_cycle:
        result = runner.run_cycle(argv, timeout, ctx)
    elif case.parallel > 1:
        result = runner.run_many(argv, case.parallel, timeout)
    else:
        result = runner.run(argv, timeout, host_network=case.host_network)
    if result.timed_out:
        return "failed", failure_message(result)
    if case.metric == "wall_ms":
        if result.returncode != 0:
            return "failed", failure_message(result)
        return "ok", result.wall_s * 1000.0
    kind, payload = parse_result(result.stdout)
    if kind == "unsupported":
        return "unsupported", payload
    if result.returncode != 0 or kind is None:
        return "failed", failure_message(result)
    if case.metric not in payload:
        return "failed", f"result line lacks {case.metric}"
    return "ok", payload[case.metric]


def probe(runner, ctx):
    """None if the runner starts a program here, else why it is missing."""
    why = runner.why_missing()
    if why:
        return why
    try:
        runner.setup(ctx)
    except Exception as e:  # any set-up failure makes the runner missing, not the suite
        return f"set-up failed: {e}"
    argv = [ctx.programs["syscall"], "getpid", "1"]
    result = runner.run(argv, PROBE_TIMEOUT_S)
    kind, _ = parse_result(result.stdout)
    if result.returncode == 0 and kind == "ok":
        return None
    return f"fails to start: {failure_message(result)}"


def slowdown(case, value, reference):
    """How many times slower than the reference (>1: slower), for either direction."""
    if not reference or not value:
        return None
    return value / reference if case.better == "lower" else reference / value


def summarize(case, outcomes):
    """One cell from the outcomes of its runs."""
    values = [v for kind, v in outcomes if kind == "ok"]
    if not values:
        kind, message = outcomes[-1]
        return {"status": kind, "message": message}
    cell = {"status": "ok", "samples": values, "median": statistics.median(values),
            "min": min(values), "max": max(values)}
    failures = [m for kind, m in outcomes if kind != "ok"]
    if failures:
        cell["failures"] = failures
    return cell


def add_ratios(case, cells):
    native = cells.get("native", {})
    runc = cells.get("runc", {})
    for cell in cells.values():
        if cell.get("status") != "ok":
            continue
        cell["vs_native"] = slowdown(case, cell["median"], native.get("median")) if native.get("status") == "ok" else None
        cell["vs_runc"] = slowdown(case, cell["median"], runc.get("median")) if runc.get("status") == "ok" else None


def _tool_version(cmd):
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return first_line(out) or None


def machine_info():
    info = {"kernel": platform.release(), "arch": platform.machine(), "cpus": os.cpu_count(),
            "python": platform.python_version()}
    try:
        with open("/proc/cpuinfo") as f:
            cpuinfo = f.read()
        m = re.search(r"^model name\s*:\s*(.+)$", cpuinfo, re.M)
        info["cpu"] = m.group(1).strip() if m else None
        info["virtualized"] = bool(re.search(r"^flags\s*:.*\bhypervisor\b", cpuinfo, re.M))
    except OSError:
        pass
    try:
        with open("/proc/meminfo") as f:
            m = re.search(r"MemTotal:\s*(\d+) kB", f.read())
        info["memory_gib"] = round(int(m.group(1)) / 1024 / 1024, 1) if m else None
    except OSError:
        pass
    try:
        with open("/etc/os-release") as f:
            m = re.search(r'^PRETTY_NAME="?([^"\n]+)', f.read(), re.M)
        info["os"] = m.group(1) if m else None
    except OSError:
        pass
    info["gcc"] = _tool_version(["gcc", "--version"])
    return info


def _prepare_host_dir(path):
    """Makes path/svbench-data for the read benchmarks; returns whether it was made."""
    data = os.path.join(path, DATA_FILE)
    if os.path.exists(data) and os.path.getsize(data) >= DATA_LEN:
        return False
    with open(data, "wb") as f:
        chunk = b"x" * (1 << 20)
        for _ in range(DATA_LEN // len(chunk)):
            f.write(chunk)
    return True


def run_case(case, available, ctx, runs, timeouts, say):
    """{runner name: [outcome of each run]} of one case; timeouts counts each
    runner's timeouts across the suite."""
    outcomes = {r.name: [] for r in available}
    try:
        with servers.host_server(case, ctx) as port:
            # Runs interleave the runners, so drift on the machine touches them all alike.
            for i in range(runs):
                for runner in available:
                    if not runner.applies_to(case):
                        continue
                    done = outcomes[runner.name]
                    if done and done[-1][0] != "ok":
                        continue  # failed, unsupported or missing once: no point repeating
                    if timeouts.get(runner.name, 0) >= MAX_TIMEOUTS:
                        done.append(("failed", f"not run: timed out {MAX_TIMEOUTS} times before"))
                        continue
                    done.append(measure(runner, case, ctx, port))
                    if done[-1][0] == "failed" and done[-1][1].startswith("timeout"):
                        timeouts[runner.name] = timeouts.get(runner.name, 0) + 1
                    say(f"  {case.id:28} {runner.name:18} run {i + 1}/{runs}: {done[-1][0]} {done[-1][1]}")
    except servers.ServerError as e:
        say(f"  {case.id:28} {e}")
        for runner in available:
            outcomes[runner.name] = [("failed", str(e))]
    return outcomes


def _probe_runners(runner_list, ctx, doc, say):
    """Probe every runner into ``doc["runners"]``; the runners available."""
    available = []
    for runner in runner_list:
        why = probe(runner, ctx)
        doc["runners"][runner.name] = {"status": "missing" if why else "ok", "reason": why,
                                       "description": runner.description,
                                       "version": runner.version() if not why else None}
        say(f"runner {runner.name}: " + (f"missing: {why}" if why else "ok"))
        if not why:
            available.append(runner)
    return available


def _case_cells(case, runner_list, runners_doc, outcomes):
    """One case's cell per runner (missing, n/a or its summary), with the ratios."""
    cells = {}
    for runner in runner_list:
        info = runners_doc[runner.name]
        if info["status"] == "missing":
            cells[runner.name] = {"status": "missing", "message": info["reason"]}
        elif not runner.applies_to(case):
            cells[runner.name] = {"status": "n/a", "message": "this runner does not run this case"}
        else:
            cells[runner.name] = summarize(case, outcomes[runner.name])
    add_ratios(case, cells)
    return cells


def run_suite(benchmark_names=(), runner_list=(), runs=3, quick=False, host_dir=None,
              command="python3 -m bench", progress=sys.stderr):
    """Runs the suite; returns the results document (see README of bench/)."""
    selected = catalogue.select(list(benchmark_names))
    runs = max(1, int(runs))

    def say(msg):
        if progress:
            print(msg, file=progress, flush=True)

    work_dir = tempfile.mkdtemp(prefix="snakevisor-bench-work-", dir="/var/tmp")
    own_host_dir = host_dir is None
    host_dir = os.path.abspath(host_dir or os.path.join(work_dir, "host"))
    os.makedirs(host_dir, exist_ok=True)
    made_data = _prepare_host_dir(host_dir)
    doc = {
        "schema": SCHEMA,
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "command": command,
        "machine": machine_info(),
        "runs": runs,
        "quick": quick,
        "target_ms": QUICK_TARGET_MS if quick else FULL_TARGET_MS,
        "host_dir": host_dir,
        "runners": {},
        "benchmarks": [],
        "skipped": [],
    }
    try:
        ctx = Context(programs=build_programs(), work_dir=work_dir, host_dir=host_dir,
                      target_ms=doc["target_ms"], max_timeout_s=QUICK_TIMEOUT_S if quick else None,
                      load_s=QUICK_LOAD_S if quick else FULL_LOAD_S)
        available = _probe_runners(runner_list, ctx, doc, say)
        timeouts = {}
        for bench in selected:
            bdoc = {"name": bench.name, "description": bench.description, "cases": []}
            for case in bench.cases:
                if quick and not case.quick:
                    doc["skipped"].append(case.id)
                    continue
                outcomes = run_case(case, available, ctx, runs, timeouts, say)
                cells = _case_cells(case, runner_list, doc["runners"], outcomes)
                bdoc["cases"].append({"id": case.id, "label": case.label, "unit": case.unit,
                                      "better": case.better, "cells": cells})
            doc["benchmarks"].append(bdoc)
    finally:
        for runner in runner_list:
            runner.teardown()
        if made_data and not own_host_dir:
            os.unlink(os.path.join(host_dir, DATA_FILE))
        shutil.rmtree(work_dir, ignore_errors=True)
    return doc
