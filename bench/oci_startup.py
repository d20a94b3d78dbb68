"""OCI bundle start-up benchmark: `python3 -m bench.oci_startup [--runs N]`.

For runc, runsc and snakevisor on the same busybox bundle: the time of `run` of
/bin/true (create + start + wait + delete, what `docker run --rm` costs), the teardown
alone (`delete --force` of a running container), ratios against runc from this one
run, and the memory footprint of an idle snakevisor sandbox, cold and warm (RSS, PSS and USS of
the Sentry, the Gofer and network broker, the stubs, a warm create's keeper).
Not a test: it prints figures.
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "tests"))


def runtimes():
    env = dict(os.environ, PYTHONPATH=REPO)
    # Cold (SNAKEVISOR_WARM=0): with no server, a run would start one on the default socket
    # (python3 -m bench startup measures the warm OCI cycle, with a server of its own).
    out = {"snakevisor": ([sys.executable, "-m", "snakevisor"], dict(env, SNAKEVISOR_WARM="0"))}
    if shutil.which("runc"):
        out["runc"] = (["runc"], env)
    if shutil.which("runsc"):
        out["runsc"] = (["runsc", "--network=none", "--ignore-cgroups"], env)
    return out


def _bundle(path, args):
    from oci_support import make_bundle
    return make_bundle(path, args, linux={"namespaces": [{"type": t} for t in ("pid", "ipc", "uts", "mount",
                                                                               "network")]})


def time_run(cmd, env, root, bundle, cid):
    t0 = time.perf_counter()
    res = subprocess.run([*cmd, "--root", root, "run", "--bundle", bundle, cid], env=env, capture_output=True,
                         stdin=subprocess.DEVNULL, timeout=120)
    dt = time.perf_counter() - t0
    subprocess.run([*cmd, "--root", root, "delete", "--force", cid], env=env, capture_output=True)
    return dt if res.returncode == 0 else None, res


def time_teardown(cmd, env, root, bundle, cid, out):
    with open(out, "w") as f:
        res = subprocess.run([*cmd, "--root", root, "run", "-d", "--bundle", bundle, cid], env=env, stdout=f,
                             stderr=f, stdin=subprocess.DEVNULL, timeout=120)
    if res.returncode != 0:
        return None
    t0 = time.perf_counter()
    subprocess.run([*cmd, "--root", root, "delete", "--force", cid], env=env, capture_output=True, timeout=60)
    return time.perf_counter() - t0


def memory_kib(pid):
    """(RSS, PSS, USS) of ``pid`` in KiB (smaps_rollup): a fork of the warm server shares pages
    with it, so its RSS counts them whole, its PSS by share, its USS not at all."""
    out = {}
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("Rss", "Pss", "Private_Clean", "Private_Dirty"):
                out[key] = int(value.split()[0])
    return out["Rss"], out["Pss"], out["Private_Clean"] + out["Private_Dirty"]


def idle_footprint(cmd, env, root, bundle, cid, out):
    """{kind: [RSS, PSS, USS] KiB} of an idle container (its init sleeping), summed over the
    sandbox process (the Sentry), the Python processes below it (Gofer, network broker), the
    stubs (the application's processes), and a warm create's keeper."""
    from do_support import comm_of, descendants_of
    with open(out, "w") as f:
        subprocess.run([*cmd, "--root", root, "run", "-d", "--bundle", bundle, cid], env=env, stdout=f, stderr=f,
                       stdin=subprocess.DEVNULL, timeout=120, check=True)
    try:
        time.sleep(0.5)   # init is asleep by then
        with open(os.path.join(root, cid, "state.json")) as f:
            st = json.load(f)
        sandbox = st.get("sandbox_pid") or st["pid"]
        kinds = {"sentry": [sandbox], **({"keeper": [st["pid"]]} if st.get("sandbox_pid") else {})}
        for pid in descendants_of(sandbox):
            kinds.setdefault("stubs" if comm_of(pid).startswith("memfd:") else "gofer+broker", []).append(pid)
        return {kind: [sum(memory_kib(p)[i] for p in pids) for i in range(3)] for kind, pids in kinds.items()}
    finally:
        subprocess.run([*cmd, "--root", root, "delete", "--force", cid], env=env, capture_output=True)


def _print_footprint(footprints):
    mib = lambda kib: f"{kib / 1024:.1f}"   # noqa: E731
    print("idle sandbox memory (MiB)     RSS    PSS    USS")
    for mode, kinds in footprints.items():
        for kind, (rss, pss, uss) in kinds.items():
            print(f"  {mode:<5} {kind:<18} {mib(rss):>6} {mib(pss):>6} {mib(uss):>6}")
        core = [kinds["sentry"][i] + kinds.get("gofer+broker", [0, 0, 0])[i] for i in range(3)]
        print(f"  {mode:<5} {'Sentry+Gofer(+b.)':<18} {mib(core[0]):>6} {mib(core[1]):>6} {mib(core[2]):>6}")


def main(argv=None):
    ap = argparse.ArgumentParser(prog="bench.oci_startup")
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args(argv)
    work = tempfile.mkdtemp(prefix="oci-bench-", dir="/var/tmp")
    try:
        true_bundle = _bundle(os.path.join(work, "true"), ["/bin/true"])
        sleep_bundle = _bundle(os.path.join(work, "sleep"), ["sleep", "1000"])
        results = {}
        for name, (cmd, env) in runtimes().items():
            root = os.path.join(work, f"root-{name}")
            runs, err = [], None
            for i in range(args.runs):
                dt, res = time_run(cmd, env, root, true_bundle, f"b{i}")
                if dt is None:
                    err = res.stderr.decode(errors="replace").strip().splitlines()[-1:] or ["failed"]
                    break
                runs.append(dt)
            teardown = [time_teardown(cmd, env, root, sleep_bundle, f"t{i}", os.path.join(work, "out"))
                        for i in range(min(3, args.runs))] if not err else []
            teardown = [t for t in teardown if t is not None]
            results[name] = {"run_ms": statistics.median(runs) * 1000 if runs else None,
                             "teardown_ms": statistics.median(teardown) * 1000 if teardown else None,
                             "error": err[0] if err else None}
        # Idle footprint of one snakevisor sandbox, cold and warm (a server of our own).
        cmd, env = runtimes()["snakevisor"]
        root = os.path.join(work, "root-snakevisor")
        footprints = {"cold": idle_footprint(cmd, dict(env, SNAKEVISOR_WARM="0"), root, sleep_bundle, "idle",
                                             os.path.join(work, "out"))}
        sock = os.path.join(work, "warm.sock")
        server = subprocess.Popen([*cmd, "server", "--socket", sock, "--idle-timeout", "60"], env=env,
                                  stdin=subprocess.DEVNULL, start_new_session=True)
        try:
            warm_env = dict(env, SNAKEVISOR_WARM="1", SNAKEVISOR_WARM_SOCKET=sock)
            footprints["warm"] = idle_footprint(cmd, warm_env, root, sleep_bundle, "idle-warm", os.path.join(work, "out"))
        finally:
            server.terminate()
            server.wait()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    base = results.get("runc", {}).get("run_ms")
    print(f"{'runtime':<12} {'run /bin/true':>14} {'vs runc':>8} {'teardown':>10}")
    for name, r in results.items():
        if r["error"]:
            print(f"{name:<12} failed: {r['error']}")
            continue
        ratio = f"{r['run_ms'] / base:.2f}x" if base else "-"
        td = f"{r['teardown_ms']:.0f} ms" if r["teardown_ms"] else "-"
        print(f"{name:<12} {r['run_ms']:>11.0f} ms {ratio:>8} {td:>10}")
    _print_footprint(footprints)
    return 0


if __name__ == "__main__":
    sys.exit(main())
