"""sysfs: a minimal, read-only /sys built from the Sentry's own state (never the host's /sys but
for cpu0's cache geometry, read once at boot as /proc/cpuinfo is: what CPUID tells the
application anyway).

What runtimes read to size themselves: the CPUs (devices/system/cpu: online, possible,
present, cpuN/topology) and NUMA nodes (devices/system/node), the sandbox's limits as a
cgroup v2 view (fs/cgroup: memory.max from the MemoryFile limit, pids.max from the pids
limit, the current use from the Sentry's accounting), transparent huge pages
(kernel/mm/transparent_hugepage) and the network namespace's interfaces (class/net, asked
over rtnetlink as /proc/net is). Files are snapshots taken at open, as procfs's are; the
directory and file classes are procfs's. ``Cgroup2Filesystem`` is the same cgroup view mounted
on its own (config.json's cgroup and cgroup2 mounts).
"""
import os

from snakevisor.abi import netlink as NL
from snakevisor.abi.fs import CGROUP2_SUPER_MAGIC, SYSFS_MAGIC
from snakevisor.abi.mm import PAGE_SIZE
from snakevisor.sentry.fsimpl import procfs_net, procfs_sysinfo
from snakevisor.sentry.fsimpl.procfs_inodes import Directory, GeneratedFile, Symlink
from snakevisor.sentry.kernel import cputime
from snakevisor.sentry.vfs.dentry import Dentry
from snakevisor.sentry.vfs.filesystem import Filesystem

KERNEL_MAX = 8191            # NR_CPUS - 1 of Debian's kernel
THP_ENABLED = "always [madvise] never\n"   # Debian's default
THP_DEFRAG = "always defer defer+madvise [madvise] never\n"
HPAGE_PMD_SIZE = 2 << 20
CPU_PERIOD_US = 100000


def ncpus() -> int:
    return cputime.NCPUS


def cpu_list(n: int) -> str:
    return "0\n" if n == 1 else f"0-{n - 1}\n"


def cpu_mask(cpus, nbits: int) -> str:
    """A cpumask as sysfs prints it (%*pb): 32-bit hex groups, high first, separated by commas."""
    mask = sum(1 << c for c in cpus)
    groups = [(mask >> shift) & 0xFFFFFFFF for shift in range(0, max(nbits, 1), 32)][::-1]
    first_bits = nbits % 32 or 32
    out = [f"{groups[0]:0{(first_bits + 3) // 4}x}"] + [f"{g:08x}" for g in groups[1:]]
    return ",".join(out) + "\n"


# What each cache's directory (devices/system/cpu/cpuN/cache/indexM) says of it, as the host's.
_CACHE_FILES = ("level", "type", "size", "coherency_line_size", "ways_of_associativity", "number_of_sets",
                "physical_line_partition")


_host_caches = None


def host_caches():
    """[(b"indexM", {file: text})] for the host's cpu0, [] if it tells nothing: read once, at boot
    (sentry_boot, before the lock-down empties the Sentry's root), for every sysfs instance,
    one the application mounts later too."""
    global _host_caches
    if _host_caches is None:
        _host_caches = _read_host_caches()
    return _host_caches


def _read_host_caches():
    base = "/sys/devices/system/cpu/cpu0/cache"
    try:
        names = sorted(n for n in os.listdir(base) if n.startswith("index"))
    except OSError:
        return []
    caches = []
    for name in names:
        entry = {}
        for f in _CACHE_FILES:
            try:
                with open(f"{base}/{name}/{f}") as fh:
                    entry[f] = fh.read()
            except OSError:
                pass
        if entry.get("level", "").strip().isdigit():
            caches.append((name.encode(), entry))
    return caches


class Attribute(GeneratedFile):
    """A sysfs attribute file: kernfs gives it a page's size, which lseek seeks from."""

    def seek_end(self):
        return PAGE_SIZE


class SysFilesystem(Filesystem):
    name = "sysfs"
    dir_fsync = False
    dir_seek_end = True
    magic = SYSFS_MAGIC

    def __init__(self, kernel):
        super().__init__(readonly=True)
        self.kernel = kernel
        self.caches = host_caches()
        self.root = Dentry(Directory(self, self._root))
        self.root.inc_ref()


    # -- helpers -----------------------------------------------------------------
    def _file(self, text_fn, mode=0o444):
        return lambda: Attribute(self, text_fn, mode)

    def _const(self, text, mode=0o444):
        return self._file(lambda: text, mode)

    def _dir(self, entries_fn):
        return lambda: Directory(self, entries_fn, 0o755)

    def _link(self, target):
        return lambda: Symlink(self, lambda task: target)

    # -- the tree -----------------------------------------------------------------
    def _root(self):
        empty = self._dir(dict)
        return {b"block": empty, b"bus": empty, b"class": self._dir(self._class), b"dev": self._dir(lambda: {b"block": empty, b"char": empty}),   # (no block devices: lsblk lists none)
                b"devices": self._dir(self._devices), b"firmware": empty, b"fs": self._dir(self._fs),
                b"kernel": self._dir(self._kernel), b"module": empty, b"power": empty}

    def _devices(self):
        return {b"system": self._dir(lambda: {b"cpu": self._dir(self._cpu), b"node": self._dir(self._node)}),
                b"virtual": self._dir(lambda: {b"net": self._dir(self._net_devices)})}

    def _cpu(self):
        n = ncpus()
        out = {b"online": self._const(cpu_list(n)), b"possible": self._const(cpu_list(n)),
               b"present": self._const(cpu_list(n)), b"offline": self._const("\n"),
               b"kernel_max": self._const(f"{KERNEL_MAX}\n")}
        for i in range(n):
            out[b"cpu%d" % i] = self._dir(lambda i=i: self._one_cpu(i, n))
        return out

    def _one_cpu(self, i, n):
        """One core per CPU, all in package 0 (what the Sentry can honestly say)."""
        everyone = range(n)
        topology = {b"core_id": self._const(f"{i}\n"), b"physical_package_id": self._const("0\n"),
                    b"die_id": self._const("0\n"), b"cluster_id": self._const("0\n"),
                    b"thread_siblings": self._const(cpu_mask([i], n)),
                    b"thread_siblings_list": self._const(f"{i}\n"),
                    b"core_cpus": self._const(cpu_mask([i], n)), b"core_cpus_list": self._const(f"{i}\n"),
                    b"core_siblings": self._const(cpu_mask(everyone, n)),
                    b"core_siblings_list": self._const(cpu_list(n)),
                    b"package_cpus": self._const(cpu_mask(everyone, n)),
                    b"package_cpus_list": self._const(cpu_list(n))}
        out = {b"topology": self._dir(lambda: topology), b"node0": self._link(b"../../node/node0")}
        if self.caches:
            out[b"cache"] = self._dir(lambda: self._cache(i, n))
        if i:   # the boot CPU cannot be taken offline: it has no online file
            out[b"online"] = self._const("1\n", 0o644)
        return out

    def _cache(self, i, n):
        """Each CPU its own L1 and L2, the L3 shared by all: the topology above (one core per CPU,
        one package)."""
        out = {}
        for name, entry in self.caches:
            files = {f.encode(): self._const(text) for f, text in entry.items()}
            shared = [i] if int(entry["level"]) < 3 else range(n)
            files[b"id"] = self._const(f"{shared[0]}\n")
            files[b"shared_cpu_map"] = self._const(cpu_mask(shared, n))
            files[b"shared_cpu_list"] = self._const(f"{i}\n" if len(shared) == 1 else cpu_list(n))
            out[name] = self._dir(lambda files=files: files)
        return out

    def _node(self):
        n = ncpus()
        node0 = {b"cpulist": self._const(cpu_list(n)), b"cpumap": self._const(cpu_mask(range(n), n)),
                 b"distance": self._const("10\n"), b"meminfo": self._file(self._node_meminfo)}
        return {b"online": self._const("0\n"), b"possible": self._const("0\n"),
                b"has_cpu": self._const("0\n"), b"has_memory": self._const("0\n"),
                b"has_normal_memory": self._const("0\n"), b"node0": self._dir(lambda: node0)}

    def _node_meminfo(self):
        total, used = procfs_sysinfo.memory_kb(self.kernel)
        rows = [("MemTotal", total), ("MemFree", max(total - used, 0)), ("MemUsed", used)]
        return "".join(f"Node 0 {name + ':':<15} {val:>8} kB\n" for name, val in rows)

    def _kernel(self):
        thp = {b"enabled": self._const(THP_ENABLED, 0o644), b"defrag": self._const(THP_DEFRAG, 0o644),
               b"hpage_pmd_size": self._const(f"{HPAGE_PMD_SIZE}\n"),
               b"use_zero_page": self._const("1\n", 0o644)}
        mm = {b"transparent_hugepage": self._dir(lambda: thp)}
        return {b"mm": self._dir(lambda: mm), b"security": self._dir(dict), b"debug": self._dir(dict)}

    # -- the sandbox's limits as a cgroup v2 view -------------------------------------
    def _fs(self):
        return {b"cgroup": self._dir(self._cgroup)}

    def _cgroup(self):
        k = self.kernel
        mf = k.memory_file

        def limit(value):
            return f"{value}\n" if value else "max\n"

        def cpu_stat():
            user, system = cputime.sandbox_times(k)
            u, s = int(user * 1e6), int(system * 1e6)
            return (f"usage_usec {u + s}\nuser_usec {u}\nsystem_usec {s}\n"
                    "nr_periods 0\nnr_throttled 0\nthrottled_usec 0\n")

        def procs():
            return "".join(f"{tgid}\n" for tgid, tg in sorted(k.pidns.thread_groups.items()) if not tg.reaped)

        return {
            b"cgroup.controllers": self._const("cpu memory pids\n"),
            b"cgroup.subtree_control": self._const("\n", 0o644),
            b"cgroup.type": self._const("domain\n", 0o644),
            b"cgroup.max.depth": self._const("max\n", 0o644),
            b"cgroup.max.descendants": self._const("max\n", 0o644),
            b"cgroup.procs": self._file(procs, 0o644),
            b"cgroup.events": self._const("populated 1\nfrozen 0\n"),
            b"cpu.max": self._const(f"max {CPU_PERIOD_US}\n", 0o644),
            b"cpu.weight": self._const("100\n", 0o644),
            b"cpu.stat": self._file(cpu_stat),
            b"memory.max": self._file(lambda: limit(mf.limit), 0o644),
            b"memory.high": self._const("max\n", 0o644),
            b"memory.low": self._const("0\n", 0o644),
            b"memory.min": self._const("0\n", 0o644),
            b"memory.current": self._file(lambda: f"{mf.allocated}\n"),
            b"memory.peak": self._file(lambda: f"{mf.allocated}\n"),
            b"memory.swap.max": self._const("0\n", 0o644),
            b"memory.swap.current": self._const("0\n"),
            b"memory.events": self._const("low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\n"),
            b"pids.max": self._file(lambda: limit(k.max_tasks), 0o644),
            b"pids.current": self._file(lambda: f"{len(k.pidns.tasks)}\n"),
        }

    # -- network interfaces ---------------------------------------------------------
    def _class(self):
        net = lambda: {name.encode(): self._link(b"../../devices/virtual/net/" + name.encode())  # noqa: E731
                       for name in procfs_net.link_names().values()}
        return {b"net": self._dir(net)}

    def _net_devices(self):
        return {link.name.encode(): self._dir(lambda link=link: self._net_device(link))
                for link in procfs_net.links()}

    def _net_device(self, link):
        attrs = link.attrs
        mac = attrs.get(NL.IFLA_ADDRESS, b"")
        up = bool(link.flags & NL.IFF_UP)
        # IF_OPER_* as sysfs spells them (net/core/net-sysfs.c)
        oper = ["unknown", "notpresent", "down", "lowerlayerdown", "testing", "dormant", "up"]
        state = procfs_net.u8(attrs, NL.IFLA_OPERSTATE)
        return {b"ifindex": self._const(f"{link.index}\n"), b"iflink": self._const(f"{link.index}\n"),
                b"type": self._const(f"{link.type}\n"), b"mtu": self._const(f"{procfs_net.u32(attrs, NL.IFLA_MTU)}\n"),
                b"address": self._const(":".join(f"{b:02x}" for b in mac) + "\n"),
                b"broadcast": self._const(":".join(f"{b:02x}" for b in attrs.get(NL.IFLA_BROADCAST, b"")) + "\n"),
                b"addr_len": self._const(f"{len(mac)}\n"),
                b"flags": self._const(f"{link.flags:#x}\n"),
                b"operstate": self._const(f"{oper[state] if state < len(oper) else 'unknown'}\n"),
                b"carrier": self._const("1\n" if up else ""),
                b"tx_queue_len": self._const(f"{procfs_net.u32(attrs, NL.IFLA_TXQLEN)}\n")}


class Cgroup2Filesystem(SysFilesystem):
    """The cgroup v2 view of sysfs's fs/cgroup as a filesystem of its own, read-only: what a
    container's cgroup namespace shows at its root (the sandbox's limits and use)."""
    name = "cgroup2"
    magic = CGROUP2_SUPER_MAGIC

    def _root(self):
        return self._cgroup()
