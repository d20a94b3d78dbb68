"""`snakevisor do` cold start and idle footprint: `python3 -m bench.do_startup [--runs N]`.

Prints the medians of N runs of `do -- /bin/true`: wall time, and CPU time (user + system) of the
whole process tree (the CLI, the sandbox process that becomes the Sentry, the Gofer, the stubs:
each waits for its children, so the CLI's rusage covers them all); then the resident memory
(VmRSS) of each process of an idle sandbox (`do -- /bin/sh -c 'echo ready; read x'`, measured
once the shell runs). Whether the checkout's bytecode is precompiled matters most (tools/setup.sh
does it): with PYTHONDONTWRITEBYTECODE and no .pyc every start compiles every module again, so
that is printed too. Then the same through the warm path (`do --warm`, a `snakevisor server` of
its own): wall time, the client's CPU, and the server side's (session, do process, sandbox) from the
server's reaped children. Not a test: it prints figures.
"""
import argparse
import contextlib
import importlib.util
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "tests"))

from snakevisor.warm.protocol import server_pid  # noqa: E402


def _command(*argv, flags=()):
    from bench.runners import SNAKEVISOR_CLI   # python3 -S, as the README's launcher
    return [*SNAKEVISOR_CLI, "do", *flags, "--", *argv]


def time_true(runs, flags=(), env=None):
    """[(wall ms, CPU ms)] of ``runs`` runs of `do FLAGS -- /bin/true` (CPU: of the process tree)."""
    out = []
    env = dict(env or dict(os.environ, SNAKEVISOR_WARM="0"), PYTHONPATH=REPO)   # default: cold, no server started
    for _ in range(runs):
        t0 = time.perf_counter()
        pid = os.fork()
        if pid == 0:
            try:
                null = os.open(os.devnull, os.O_RDWR)
                os.dup2(null, 0)
                os.dup2(null, 1)
                os.execve(sys.executable, _command("/bin/true", flags=flags), env)
            finally:
                os._exit(127)
        _, status, usage = os.wait4(pid, 0)
        if status != 0:
            raise SystemExit(f"do -- /bin/true failed: wait status {status:#x}")
        out.append(((time.perf_counter() - t0) * 1000, (usage.ru_utime + usage.ru_stime) * 1000))
    return out


def _children_cpu_ms(pid):
    """CPU time (ms) of the children ``pid`` has waited for (/proc/PID/stat cutime + cstime)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[13]) + int(fields[14])) * 1000 / os.sysconf("SC_CLK_TCK")


@contextlib.contextmanager
def warm_server():
    """A `snakevisor server` of its own (a private socket) for the block: (its Popen, the socket)."""
    from harness import snakevisor_cmd   # tests/: the checkout's CLI
    work = tempfile.mkdtemp(prefix="svwarm-", dir="/var/tmp")
    sock = os.path.join(work, "s.sock")
    server = subprocess.Popen(snakevisor_cmd("server", "--socket", sock, "--idle-timeout", "600"),
                              env=dict(os.environ, PYTHONPATH=REPO), stdin=subprocess.DEVNULL, cwd="/")
    try:
        while not os.path.exists(sock):   # bound once every module is imported
            if server.poll() is not None:
                raise SystemExit("snakevisor server failed to start")
            time.sleep(0.01)
        yield server, sock
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=60)
        shutil.rmtree(work, ignore_errors=True)


def time_true_warm(runs):
    """(wall ms median, client CPU ms median, server-side CPU ms mean) of `do --warm -- /bin/true`
    through a server of its own: the sandboxes' CPU is the server's children's, summed when it
    reaps its sessions (every half second)."""
    from do_support import children_of, comm_of
    with warm_server() as (server, sock):
        env = dict(os.environ, PYTHONPATH=REPO, SNAKEVISOR_WARM_SOCKET=sock)
        time_true(1, ("--warm",), env)
        before = _children_cpu_ms(server.pid)
        samples = time_true(runs, ("--warm",), env)
        # Its sessions' times count once it has reaped them; the spare it keeps booted for the
        # next run (named sv-spare) is left: its boot is counted with the run it serves.
        while [c for c in children_of(server.pid) if comm_of(c) != "sv-spare"]:
            time.sleep(0.05)
        server_cpu = (_children_cpu_ms(server.pid) - before) / runs
    return (statistics.median(w for w, _ in samples), statistics.median(c for _, c in samples), server_cpu)


ROLES = {"sv-gofer": "gofer", "sv-netns": "netns broker"}   # by process name; "stubs" for the rest


def idle_footprint(warm_socket=None):
    """{role: [RSS, PSS, USS] KiB} of an idle `do` sandbox (its shell waiting on stdin): the
    Sentry (the sandbox process), the Gofer, the network-namespace broker, the stubs (the
    application's processes); cold, or served by the warm server on ``warm_socket``."""
    from bench.oci_startup import memory_kib
    from do_support import children_of, comm_of, descendants_of, status_of
    env = dict(os.environ, PYTHONPATH=REPO, SNAKEVISOR_WARM="0")
    if warm_socket:
        env.update(SNAKEVISOR_WARM="1", SNAKEVISOR_WARM_SOCKET=warm_socket)
    proc = subprocess.Popen(_command("/bin/sh", "-c", "echo ready; read x"), env=env,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        if proc.stdout.readline() != "ready\n":
            raise SystemExit("do -- sh: no ready line")
        if warm_socket:   # the served sandbox: its PID namespace's init, not the server's spare
            server = server_pid(warm_socket)
            sentry = next(p for p in descendants_of(server) if comm_of(p) != "sv-spare" and
                          status_of(p).get("NSpid", "").split()[-1:] == ["1"])
        else:
            sentry = children_of(proc.pid)[0]
        out = {"sentry": memory_kib(sentry), "gofer": [0, 0, 0], "netns broker": [0, 0, 0], "stubs": [0, 0, 0]}
        for pid in descendants_of(sentry):
            role = ROLES.get(comm_of(pid), "stubs")
            out[role] = [a + b for a, b in zip(out[role], memory_kib(pid))]
        return out
    finally:
        proc.communicate("go\n", timeout=60)


def bytecode_state():
    """(modules with a current .pyc, modules) of the checkout's snakevisor package."""
    fresh = total = 0
    for d, _, files in os.walk(os.path.join(REPO, "snakevisor")):
        for name in files:
            if not name.endswith(".py"):
                continue
            total += 1
            src = os.path.join(d, name)
            pyc = importlib.util.cache_from_source(src)
            try:
                fresh += os.stat(pyc).st_mtime >= os.stat(src).st_mtime
            except OSError:
                pass
    return fresh, total


def main(argv=None):
    ap = argparse.ArgumentParser(prog="bench.do_startup")
    ap.add_argument("--runs", type=int, default=10)
    args = ap.parse_args(argv)
    fresh, total = bytecode_state()
    dont_write = "set" if os.environ.get("PYTHONDONTWRITEBYTECODE") else "unset"
    print(f"bytecode: {fresh} of {total} modules precompiled; PYTHONDONTWRITEBYTECODE {dont_write}")
    time_true(1)   # a first run writes the .pyc files where Python may
    samples = time_true(args.runs)
    wall = statistics.median(w for w, _ in samples)
    cpu = statistics.median(c for _, c in samples)
    print(f"do -- /bin/true: wall {wall:.0f} ms, CPU (user+sys, every process) {cpu:.0f} ms"
          f" (medians of {args.runs})")
    wall, client, server = time_true_warm(args.runs)
    print(f"do --warm -- /bin/true: wall {wall:.0f} ms, CPU client {client:.0f} ms (median of {args.runs})"
          f" + server side {server:.0f} ms (mean)")
    print("idle do sandbox (MiB)    RSS    PSS    USS")
    for mode in ("cold", "warm"):
        if mode == "cold":
            roles = idle_footprint()
        else:
            with warm_server() as (_, sock):
                roles = idle_footprint(sock)
        roles["Sentry + Gofer"] = [a + b for a, b in zip(roles["sentry"], roles["gofer"])]
        for role, kib in roles.items():
            print(f"  {mode} {role:<16} " + " ".join(f"{k / 1024:6.1f}" for k in kib))
    return 0


if __name__ == "__main__":
    sys.exit(main())
