"""OCI bundle start-up benchmark: `python3 -m bench.oci_startup [--runs N]`.

For runc, runsc and snakevisor on the same busybox bundle: the time of `run` of
/bin/true (create + start + wait + delete, what `docker run --rm` costs), the teardown
alone (`delete --force` of a running container), ratios against runc from this one
run, and the memory footprint of an idle snakevisor sandbox (Sentry + Gofer + stubs RSS).
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
    out = {"snakevisor": ([sys.executable, "-m", "snakevisor"], env)}
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


def rss_kib(pid):
    """RSS of ``pid`` and every process under it."""
    from oci_support import descendants
    total = 0
    for p in [pid] + descendants(pid):
        try:
            with open(f"/proc/{p}/status") as f:
                total += int([line for line in f if line.startswith("VmRSS:")][0].split()[1])
        except (OSError, IndexError):
            pass
    return total


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
        # Idle footprint of one snakevisor sandbox.
        cmd, env = runtimes()["snakevisor"]
        root = os.path.join(work, "root-snakevisor")
        with open(os.path.join(work, "out"), "w") as f:
            subprocess.run([*cmd, "--root", root, "run", "-d", "--bundle", sleep_bundle, "idle"], env=env,
                           stdout=f, stderr=f, stdin=subprocess.DEVNULL, timeout=120)
        st = json.loads(subprocess.run([*cmd, "--root", root, "state", "idle"], env=env, capture_output=True).stdout)
        time.sleep(0.5)
        idle = rss_kib(st["pid"])
        subprocess.run([*cmd, "--root", root, "delete", "--force", "idle"], env=env, capture_output=True)
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
    print(f"idle snakevisor sandbox (Sentry + Gofer + stubs) RSS: {idle / 1024:.1f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
