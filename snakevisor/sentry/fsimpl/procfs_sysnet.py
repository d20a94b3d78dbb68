"""/proc/sys/net: the network sysctls programs read (Go's listen backlog from core/somaxconn,
ip_local_port_range, the TCP keepalive and buffer defaults, ipv6's bindv6only...).

They show the opener's network namespace, which keeps its own values (Linux's defaults until
written; a write needs CAP_NET_ADMIN, as the namespace's root owns them). They are reported,
not applied: the host's stack, which carries the sandbox's sockets, is not the Sentry's to tune.
"""
from snakevisor.abi.capability import CAP_NET_ADMIN
from snakevisor.abi.errno import EINVAL, EPERM, SyscallError
from snakevisor.sentry.fsimpl.procfs_inodes import Directory, WritableFile
from snakevisor.sentry.kernel import netns

# directory -> {name: (Linux's default, how many integers it holds)}
SYSCTLS = {
    "core": {"somaxconn": ("4096", 1), "rmem_default": ("212992", 1), "rmem_max": ("212992", 1),
             "wmem_default": ("212992", 1), "wmem_max": ("212992", 1), "optmem_max": ("131072", 1)},
    "ipv4": {"ip_forward": ("0", 1), "ip_local_port_range": ("32768\t60999", 2), "ip_default_ttl": ("64", 1),
             "ip_nonlocal_bind": ("0", 1), "ip_unprivileged_port_start": ("1024", 1),
             "ping_group_range": ("1\t0", 2), "tcp_sack": ("1", 1), "tcp_recovery": ("1", 1),
             "tcp_timestamps": ("1", 1), "tcp_window_scaling": ("1", 1), "tcp_syncookies": ("1", 1),
             "tcp_keepalive_time": ("7200", 1), "tcp_keepalive_intvl": ("75", 1),
             "tcp_keepalive_probes": ("9", 1), "tcp_fin_timeout": ("60", 1), "tcp_max_syn_backlog": ("4096", 1),
             "tcp_tw_reuse": ("2", 1), "tcp_mtu_probing": ("0", 1), "tcp_rmem": ("4096\t131072\t6291456", 3),
             "tcp_wmem": ("4096\t16384\t4194304", 3), "tcp_fastopen": ("1", 1)},
    "ipv6": {"auto_flowlabels": ("1", 1), "bindv6only": ("0", 1), "ip6frag_time": ("60", 1),
             "ip_nonlocal_bind": ("0", 1)},
}


def _value(task, key):
    sysctls = netns.of_task(task).sysctls
    return sysctls.get(key, SYSCTLS[key[0]][key[1]][0]) + "\n"


def _writer(key, count):
    def write(task, data):
        if task is not None and not task.creds.has_cap(CAP_NET_ADMIN):
            raise SyscallError(EPERM)
        words = data.split(b"\0")[0].split()
        try:
            values = [int(w, 0) for w in words[:count]]
        except ValueError:
            raise SyscallError(EINVAL) from None
        if len(values) != count or key[1] == "ip_local_port_range" and not 0 < values[0] <= values[1] <= 65535:
            raise SyscallError(EINVAL)
        netns.of_task(task).sysctls[key] = "\t".join(str(v) for v in values)
    return write


def sys_net(fs):
    """The entries of /proc/sys/net."""
    def directory(name):
        table = SYSCTLS[name]
        return lambda: Directory(fs, lambda: {
            f.encode(): (lambda f=f: WritableFile(fs, lambda t, f=f: _value(t, (name, f)),
                                                  _writer((name, f), table[f][1]), per_task=True))
            for f in table}, sysctl=True)
    return {name.encode(): directory(name) for name in SYSCTLS}
