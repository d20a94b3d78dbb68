"""The SNMP counters of /proc/net/snmp, /proc/net/netstat and /proc/net/snmp6 (Ip, Icmp, IcmpMsg,
Tcp, Udp, UdpLite; TcpExt, IpExt, MPTcpExt; one "name value" line per IPv6 counter): the sandbox's sockets are host sockets of its network namespace, so the
host kernel counts them there, in Linux's format, as gVisor's hostinet stack reads its host's.
The files are opened at boot (nothing is opened after the lock-down) and read again from offset 0
for each open in the sandbox: a seq_file made anew. A namespace made inside the sandbox (its
sockets the broker's) shows the same lines with its counters at 0, as a new namespace's are.
"""
import os

FILES = ("snmp", "netstat", "snmp6")
_fds: dict[str, int] = {}
# Settings, not counters: what a new namespace shows too (Forwarding: 1 yes, 2 no; RFC 1213).
_SETTINGS = {("Ip", "Forwarding"), ("Ip", "DefaultTTL"), ("Tcp", "RtoAlgorithm"), ("Tcp", "RtoMin"),
             ("Tcp", "RtoMax"), ("Tcp", "MaxConn")}


def load(directory="/proc/self/net") -> None:
    """Open the namespace's files, at boot, in the namespace the sandbox's sockets are made in."""
    for name in FILES:
        try:
            _fds[name] = os.open(os.path.join(directory, name), os.O_RDONLY | os.O_CLOEXEC)
        except OSError:
            pass   # the file stays empty


def read(name: str) -> str:
    """The text of the namespace's file ``name`` now ("" if it could not be opened)."""
    fd = _fds.get(name)
    if fd is None:
        return ""
    chunks, pos = [], 0
    while chunk := os.pread(fd, 1 << 16, pos):
        chunks.append(chunk)
        pos += len(chunk)
    return b"".join(chunks).decode(errors="replace")


def fresh(text: str) -> str:
    """``text`` as a namespace that has counted nothing shows it: every counter 0 but the
    settings, and no IcmpMsg lines (icmpmsg_put prints only the message types seen)."""
    lines, out = text.splitlines(), []
    for header, values in zip(lines[0::2], lines[1::2]):
        prefix, _, names = header.partition(":")
        if prefix == "IcmpMsg":
            continue
        pairs = zip(names.split(), values.partition(":")[2].split())
        out += [header, prefix + ":" + "".join(" " + (v if (prefix, n) in _SETTINGS else "0") for n, v in pairs)]
    return "".join(line + "\n" for line in out)


def fresh6(text: str) -> str:
    """snmp6's ``text`` as a namespace that has counted nothing shows it: every counter 0, no
    Icmp6InTypeN/Icmp6OutTypeN lines (snmp6_seq_show_icmpv6msg prints only the types seen)."""
    out = []
    for line in text.splitlines():
        name, _, value = line.partition("\t")
        if name.startswith(("Icmp6InType", "Icmp6OutType")):
            continue
        out.append(f"{name}\t0\n")
    return "".join(out)
