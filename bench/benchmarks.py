"""The catalogue of benchmarks: which program runs with which arguments, and
which figure of its result line is reported.

A Benchmark (syscall, startup, mmap, fs, net, pipe, process, nginx, redis) is a group
of Cases; a Case is one row of the table. Arguments may name the placeholders
{tmp} (the sandbox's own /tmp), {host} (a host directory the driver prepares,
holding a pre-written data file, that each runner exposes as it can) and
{port} (the port of the case's host server).

Most cases run a program in the sandbox and read its result line. A case with
host_network talks to the host: the runner gives the sandbox the host's
network. Its host_server is a program the driver runs natively for the
case's duration (bench/servers.py), and a served case runs a server in the
sandbox and measures it with a native load generator instead.
"""

from dataclasses import dataclass, field

TMP_PLACEHOLDER = "{tmp}"
HOST_PLACEHOLDER = "{host}"
PORT_PLACEHOLDER = "{port}"

KIB = 1024
MIB = 1024 * 1024


@dataclass(frozen=True)
class Case:
    id: str  # "<benchmark>.<case>", unique
    label: str
    program: str | None  # bench/programs/<program>.c; None: startup (wall time of the argv) or served
    args: tuple = ()
    metric: str = "ns_per_op"  # key of the result line; "wall_ms" is measured by the driver
    unit: str = "ns/op"
    better: str = "lower"  # or "higher"
    quick: bool = True  # part of --quick
    timeout_s: float = 120.0
    host_network: bool = False  # the sandbox gets the host's network (to reach a host server, or be reached)
    host_server: tuple = ()  # (program, args...) run natively while the case runs; prints port=N for {port}
    served: str | None = None  # a server run in the sandbox and loaded from the host ("nginx": bench.servers)
    parallel: int = 1  # wall_ms cases: this many runs started at once, the wall time of them all
    oci_cycle: bool = False  # wall_ms: an engine's create+start+wait+delete of a bundle (bench/oci_cycle.py)

    @property
    def benchmark(self):
        return self.id.split(".", 1)[0]


@dataclass(frozen=True)
class Benchmark:
    name: str
    description: str
    cases: tuple = field(default_factory=tuple)


def _fs_cases():
    cases = []
    for where, label in ((TMP_PLACEHOLDER, "sandbox /tmp"), (HOST_PLACEHOLDER, "host dir")):
        tag = "tmp" if where == TMP_PLACEHOLDER else "host"
        cases += [
            Case(f"fs.open_close_{tag}", f"open+close ({label})", "fs", ("open_close", where)),
            Case(f"fs.stat_{tag}", f"stat ({label})", "fs", ("stat", where)),
        ]
        for op in ("read", "write"):
            for size, name in ((4 * KIB, "4k"), (MIB, "1m")):
                cases.append(Case(f"fs.{op}_{name}_{tag}", f"{op} {name.upper()}iB blocks ({label})", "fs",
                                  (op, where, str(size)), metric="mb_per_s", unit="MB/s", better="higher"))
    return tuple(cases)


def _net_cases():
    sizes = ((MIB, "1MB", True, 120.0), (64 * MIB, "64MB", True, 120.0), (1024 * MIB, "1GB", False, 600.0))
    throughput = dict(metric="mb_per_s", unit="MB/s", better="higher")
    inside = tuple(Case(f"net.tcp_{name}", f"TCP loopback transfer of {name}", "net", ("tcp", str(size)),
                        quick=quick, timeout_s=timeout, **throughput)
                   for size, name, quick, timeout in sizes)
    to_host = tuple(Case(f"net.tcp_host_{name}", f"TCP to a host server, {name}", "net",
                         ("tcp_host", str(size), PORT_PLACEHOLDER), quick=quick, timeout_s=timeout,
                         host_network=True, host_server=("net", "serve", "0", "0"), **throughput)
                    for size, name, quick, timeout in sizes)
    return inside + to_host


BENCHMARKS = (
    Benchmark("syscall", "syscall round trip: getpid loop through syscall(2)", (
        Case("syscall.getpid", "getpid", "syscall", ("getpid",)),
    )),
    Benchmark("startup", "container start to exit of /bin/true (wall time of the whole command)", (
        Case("startup.true", "start+exit /bin/true", None, ("/bin/true",), metric="wall_ms", unit="ms"),
        Case("startup.true_x50", "50 x start+exit /bin/true at once (all)", None, ("/bin/true",), metric="wall_ms",
             unit="ms", parallel=50, timeout_s=300.0),
        Case("startup.python", "start+exit python3 -c pass", None, ("/usr/bin/python3", "-c", "pass"),
             metric="wall_ms", unit="ms"),
        Case("startup.oci_cycle", "OCI create+start+wait+delete of true", None, ("/bin/true",), metric="wall_ms",
             unit="ms", oci_cycle=True),
    )),
    Benchmark("mmap", "memory allocation", (
        Case("mmap.mmap_touch", "mmap+touch+munmap 1 MiB", "mmap", ("mmap_touch",)),
        Case("mmap.malloc_small", "malloc+free 64 B", "mmap", ("malloc_small",)),
        Case("mmap.malloc_large", "malloc+free 4 MiB (mmap)", "mmap", ("malloc_large",)),
    )),
    Benchmark("fs", "file system access in the sandbox's /tmp and in a host directory", _fs_cases()),
    Benchmark("net", "TCP over loopback inside the sandbox (a forked client sends, the server reads), and from "
              "the sandbox to a native server on the host (host network)", _net_cases()),
    Benchmark("pipe", "between two processes: pipe and AF_UNIX socketpair streams (a forked writer, 64 KiB "
              "writes), pipe ping-pong", (
        Case("pipe.pipe_stream", "pipe stream, 64 KiB writes", "pipe", ("pipe",),
             metric="mb_per_s", unit="MB/s", better="higher"),
        Case("pipe.unix_stream", "AF_UNIX stream, 64 KiB writes", "pipe", ("unix",),
             metric="mb_per_s", unit="MB/s", better="higher"),
        Case("pipe.pingpong", "pipe ping-pong round trip (1 byte)", "pipe", ("pingpong",)),
    )),
    Benchmark("process", "processes, threads, futexes and signals", (
        Case("process.fork_exit_wait", "fork+exit+wait", "process", ("fork_exit_wait",)),
        Case("process.fork_exec_true", "fork+exec /bin/true+wait", "process", ("fork_exec_true",)),
        Case("process.thread_create_join", "thread create+join", "process", ("thread_create_join",)),
        Case("process.futex_pingpong", "futex ping-pong round trip (2 threads)", "process", ("futex_pingpong",)),
        Case("process.signal_roundtrip", "signal round trip (kill self, handler)", "process", ("signal_roundtrip",)),
    )),
    Benchmark("nginx", "nginx (Debian nginx-light) in the sandbox serving a 4 KiB static file to wrk on the host "
              "(host network)", (
        Case("nginx.static_4k", "nginx requests/s, wrk -t1 -c8", None, served="nginx", host_network=True,
             metric="req_per_s", unit="req/s", better="higher"),
    )),
    Benchmark("redis", "redis-server (Debian) in the sandbox, no persistence, loaded by redis-benchmark on the "
              "host (host network): SET and GET with 1 and 50 clients", tuple(
        Case(f"redis.{test.lower()}_c{clients}", f"redis {test} requests/s, -c {clients}", None, (test, clients),
             served="redis", host_network=True, metric="req_per_s", unit="req/s", better="higher", timeout_s=300)
        for clients in (1, 50) for test in ("SET", "GET"))),
)

BY_NAME = {b.name: b for b in BENCHMARKS}


def select(names=None):
    """Benchmarks by name, in catalogue order; all when names is empty."""
    if not names:
        return list(BENCHMARKS)
    unknown = [n for n in names if n not in BY_NAME]
    if unknown:
        raise ValueError(f"unknown benchmark(s): {', '.join(unknown)} (known: {', '.join(BY_NAME)})")
    return [b for b in BENCHMARKS if b.name in names]


def program_argv(case, programs, target_ms, tmp_dir, host_dir, port=None):
    """The argv that runs a case: PROG CASE TARGET_MS ARGS..., placeholders filled."""
    if case.program is None:
        return list(case.args)
    first, *rest = case.args
    values = {TMP_PLACEHOLDER: tmp_dir, HOST_PLACEHOLDER: host_dir, PORT_PLACEHOLDER: str(port)}
    filled = []
    for arg in rest:
        for placeholder, value in values.items():
            arg = arg.replace(placeholder, value)
        filled.append(arg)
    return [programs[case.program], first, f"{target_ms:g}", *filled]
