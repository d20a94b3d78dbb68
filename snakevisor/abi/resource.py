"""Resource limits (RLIMIT_*), rusage and sysinfo layouts."""
import struct

RLIMIT_CPU = 0
RLIMIT_FSIZE = 1
RLIMIT_DATA = 2
RLIMIT_STACK = 3
RLIMIT_CORE = 4
RLIMIT_RSS = 5
RLIMIT_NPROC = 6
RLIMIT_NOFILE = 7
RLIMIT_MEMLOCK = 8
RLIMIT_AS = 9
RLIMIT_LOCKS = 10
RLIMIT_SIGPENDING = 11
RLIMIT_MSGQUEUE = 12
RLIMIT_NICE = 13
RLIMIT_RTPRIO = 14
RLIMIT_RTTIME = 15
RLIM_NLIMITS = 16
NR_OPEN = 1 << 20   # Linux's hard ceiling on RLIMIT_NOFILE (fs.nr_open's default)
RLIM_INFINITY = (1 << 64) - 1

RLIMIT_NAMES = ["cpu", "fsize", "data", "stack", "core", "rss", "nproc", "nofile", "memlock", "as", "locks",
                "sigpending", "msgqueue", "nice", "rtprio", "rttime"]

RLIMIT = struct.Struct("<QQ")
TIMEVAL = struct.Struct("<qq")
TIMESPEC = struct.Struct("<qq")
# struct rusage: two timevals then 14 longs.
RUSAGE = struct.Struct("<qqqq14q")


def pack_rusage(user: float, system: float, maxrss_kb: int = 0, nvcsw: int = 0) -> bytes:
    """struct rusage with ru_utime, ru_stime (timevals), ru_maxrss and ru_nvcsw; the rest 0."""
    us, ss = int(user * 1e6), int(system * 1e6)
    return RUSAGE.pack(us // 1_000_000, us % 1_000_000, ss // 1_000_000, ss % 1_000_000, maxrss_kb, *[0] * 11,
                       nvcsw, 0)
# struct sysinfo (x86_64): uptime, loads[3], totalram, freeram, sharedram, bufferram, totalswap, freeswap,
# procs (u16) + pad, totalhigh, freehigh, mem_unit (u32), padding to 112 bytes.
SYSINFO = struct.Struct("<q3QQQQQQQH6xQQI4x")

RUSAGE_SELF = 0
RUSAGE_CHILDREN = -1
RUSAGE_THREAD = 1


def default_limits():
    """The limits a fresh sandbox starts with (Linux's defaults for a root login)."""
    inf = RLIM_INFINITY
    lim = {r: (inf, inf) for r in range(RLIM_NLIMITS)}
    lim[RLIMIT_STACK] = (8 << 20, inf)
    lim[RLIMIT_CORE] = (0, inf)
    lim[RLIMIT_NOFILE] = (1024, 1 << 20)
    lim[RLIMIT_NPROC] = (63432, 63432)
    lim[RLIMIT_MEMLOCK] = (8 << 20, 8 << 20)
    lim[RLIMIT_SIGPENDING] = (63432, 63432)
    lim[RLIMIT_MSGQUEUE] = (819200, 819200)
    lim[RLIMIT_NICE] = (0, 0)
    lim[RLIMIT_RTPRIO] = (0, 0)
    return lim


def inherited_limits(triples):
    """{resource: (soft, hard)} of a caller's limits ``triples`` [(resource, soft, hard)], as a
    sandbox's init starts with them: only known resources, the soft limit at most the hard one,
    RLIMIT_NOFILE at most NR_OPEN (what setrlimit would refuse is not taken either)."""
    out = {}
    for res, soft, hard in triples:
        if 0 <= res < RLIM_NLIMITS and 0 <= soft <= RLIM_INFINITY and 0 <= hard <= RLIM_INFINITY:
            if res == RLIMIT_NOFILE:
                soft, hard = min(soft, NR_OPEN), min(hard, NR_OPEN)
            out[res] = (min(soft, hard), hard)
    return out
