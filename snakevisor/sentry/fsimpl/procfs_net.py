"""/proc/net (= /proc/self/net): the sandbox's sockets and network namespace, in Linux's formats.

Socket tables (tcp, tcp6, udp, udp6, unix) list only the sandbox's own
sockets, from the Sentry's registry (net/registry.py) — so with
``--network=host`` no host socket shows. Numbers come from each InetSocket's
host socket (net/inet_view.py: names, TCP_INFO, SIOCINQ/SIOCOUTQ, SO_MEMINFO);
the inode and uid are the sandbox's (the sockfs inode). dev, if_inet6 and
route describe the namespace, asked by the Sentry over rtnetlink; snmp and netstat
and snmp6 are the host kernel's counters of it, from files opened at boot (net/mib.py). Nothing
here opens a host path. Formats follow net/ipv4/tcp_ipv4.c, udp.c, net/ipv6/*,
net/unix/af_unix.c, net/core/net-procfs.c, net/ipv4/fib_trie.c, addrconf.c.

sockstat and sockstat6 count the same sockets (ss -s).

Left out: sockets the application no longer holds (TIME_WAIT, orphaned
FIN_WAIT: the host keeps them, we cannot tell them from the host's), raw, icmp,
udplite and netlink tables, and the hash-bucket "sl" of udp (a row number here).
"""
import socket as _socket
import struct
from collections import Counter, namedtuple

from snakevisor.abi import netlink as NL
from snakevisor.abi.socket import (SK_MEMINFO_DROPS, SK_MEMINFO_RMEM_ALLOC, SK_MEMINFO_WMEM_ALLOC, SO_ACCEPTCON,
                                   SS_CONNECTED, SS_CONNECTING, SS_UNCONNECTED, TCP_CLOSE, TCP_ESTABLISHED,
                                   TCP_INFINITE_SSTHRESH, TCP_LISTEN)
from snakevisor.abi.time import CLK_TCK
from snakevisor.sentry.kernel.netns import ROOT
from snakevisor.sentry.net import mib
from snakevisor.sentry.net.inet_view import inet_sockets, meminfo, names, queues, tcp_info, tcp_timer
from snakevisor.sentry.net.registry import live_sockets
from snakevisor.sentry.net.unix_diag import peer_counts, sk_state, unix_sockets

TCP_HEADER = ("  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout "
              "inode")
UDP_HEADER = ("   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout "
              "inode ref pointer drops")
V6_HEADER = ("  sl  local_address                         remote_address                        "
             "st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode")
TCP6_HEADER = V6_HEADER + "\n"
UDP6_HEADER = V6_HEADER + " ref pointer drops\n"
UNIX_HEADER = b"Num       RefCount Protocol Flags    Type St Inode Path\n"
DEV_HEADER = ("Inter-|   Receive                                                |  Transmit\n"
              " face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs "
              "drop fifo colls carrier compressed\n")
ROUTE_HEADER = "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT"
_SALT = "snakevisor-kptr"


def _padded(line: str, width: int) -> str:
    """seq_setwidth + seq_pad: a row filled with spaces to ``width`` columns, then the newline."""
    return line.ljust(width) + "\n"


def _kptr(obj) -> str:
    """%pK as Linux prints it (a hashed pointer), stable for an object's lifetime."""
    return f"{hash((_SALT, id(obj))) & 0xFFFFFFFF:016x}"


def _hex_addr(raw: bytes) -> str:
    """An address as /proc/net prints it: each 32-bit word of the network-order bytes in host order, %08X."""
    return "".join(f"{w:08X}" for w in struct.unpack(f"<{len(raw) // 4}I", raw))


def _endpoint(raw: bytes | None, v6: bool) -> tuple[str, int]:
    """(hex address, port) of a packed sockaddr_in/sockaddr_in6 (all zeros if absent)."""
    size = 16 if v6 else 4
    if not raw or len(raw) < (24 if v6 else 8):
        return _hex_addr(bytes(size)), 0
    port = struct.unpack_from("!H", raw, 2)[0]
    return _hex_addr(raw[8:24] if v6 else raw[4:8]), port


def _names(s, v6: bool):
    local, peer = names(s)
    return _endpoint(local, v6), _endpoint(peer, v6), peer is not None


def _tcp_row(s, i: int, v6: bool) -> str | None:
    f = tcp_info(s)
    if f is None or f[0] == TCP_CLOSE:
        return None   # neither listening nor connected: Linux hashes it nowhere, lists it nowhere
    state, retransmits, probes = f[0], f[2], f[3]
    rto, ato, unacked, ssthresh, cwnd = f[8], f[9], f[12], f[25], f[26]
    (laddr, lport), (raddr, rport), _ = _names(s, v6)
    if state == TCP_LISTEN:
        # tcp_info of a listener: unacked = children ready for accept(), sacked = backlog.
        tx, rx, refs, rto_t, ato_t, cwnd, last = 0, unacked, 1, CLK_TCK, 0, 10, 0
    else:
        (rx, tx), refs = queues(s), 2
        rto_t, ato_t = rto * CLK_TCK // 1_000_000, ato * CLK_TCK // 1_000_000
        last = -1 if ssthresh >= TCP_INFINITE_SSTHRESH else ssthresh
    timer, when = tcp_timer(s, f)
    when = when * CLK_TCK // 1000
    uid, ino = s.inode.uid, s.inode.ino
    row = (f"{i:4d}: {laddr}:{lport:04X} {raddr}:{rport:04X} {state:02X} {tx & 0xFFFFFFFF:08X}:{rx:08X} "
           f"{timer:02X}:{when:08X} {retransmits:08X} {uid:5d} {probes:8d} {ino} {refs} {_kptr(s)} "
           f"{rto_t} {ato_t} 0 {cwnd} {last}")
    return row + "\n" if v6 else _padded(row, 149)


def _udp_row(s, i: int, v6: bool) -> str | None:
    (laddr, lport), (raddr, rport), connected = _names(s, v6)
    if lport == 0:
        return None   # never bound (no send, no bind, no connect): not in the UDP table
    mem = meminfo(s)
    state = TCP_ESTABLISHED if connected else TCP_CLOSE
    row = (f"{i:5d}: {laddr}:{lport:04X} {raddr}:{rport:04X} {state:02X} "
           f"{mem[SK_MEMINFO_WMEM_ALLOC]:08X}:{mem[SK_MEMINFO_RMEM_ALLOC]:08X} 00:00000000 00000000 "
           f"{s.inode.uid:5d} {0:8d} {s.inode.ino} 2 {_kptr(s)} {mem[SK_MEMINFO_DROPS]}")
    return row + "\n" if v6 else _padded(row, 127)


def _table(ns, header: str, family: int, stype: int, protocol: int, row_fn) -> str:
    v6 = family == _socket.AF_INET6
    rows = []
    for s in inet_sockets(ns, family, stype, protocol):
        row = row_fn(s, len(rows), v6)
        if row is not None:
            rows.append(row)
    return header + "".join(rows)


def tcp(ns=ROOT):
    return _table(ns, _padded(TCP_HEADER, 149), _socket.AF_INET, _socket.SOCK_STREAM, _socket.IPPROTO_TCP, _tcp_row)


def tcp6(ns=ROOT):
    return _table(ns, TCP6_HEADER, _socket.AF_INET6, _socket.SOCK_STREAM, _socket.IPPROTO_TCP, _tcp_row)


def udp(ns=ROOT):
    return _table(ns, _padded(UDP_HEADER, 127), _socket.AF_INET, _socket.SOCK_DGRAM, _socket.IPPROTO_UDP, _udp_row)


def udp6(ns=ROOT):
    return _table(ns, UDP6_HEADER, _socket.AF_INET6, _socket.SOCK_DGRAM, _socket.IPPROTO_UDP, _udp_row)


def _unix_row(s, ino: int, refs: int, state: int) -> bytes:
    row = (f"{_kptr(s)}: {refs:08X} {0:08X} {SO_ACCEPTCON if s.listening else 0:08X} {s.stype:04X} "
           f"{state:02X} {ino:5d}").encode()
    if s.name:
        # A path as bound; an abstract name as "@" and its bytes, each NUL shown as "@".
        row += b" " + (b"@" + s.name[1:].replace(b"\0", b"@") if s.name[0] == 0 else s.name)
    return row + b"\n"


def unix(ns=ROOT):
    socks = unix_sockets(ns)
    # Connections queued for accept() have no socket (no inode) yet: Linux lists them as connecting.
    # A peer holds a reference (sk_refcnt: 2, plus one per socket whose peer this is).
    pointed_at = peer_counts(socks)
    out = [UNIX_HEADER]
    for s in socks:
        established = sk_state(s, pointed_at) == TCP_ESTABLISHED
        out.append(_unix_row(s, s.inode.ino, 2 + pointed_at[id(s)], SS_CONNECTED if established else SS_UNCONNECTED))
        for embryo in s.backlog if s.listening else ():
            out.append(_unix_row(embryo, 0, 2 + pointed_at[id(embryo)], SS_CONNECTING))
    return b"".join(out)


# --- the namespace, over rtnetlink ----------------------------------------------------------------

def u32(attrs: dict, key: int, default: int = 0) -> int:
    value = attrs.get(key, b"")
    return struct.unpack("<I", value)[0] if len(value) == 4 else default


def u8(attrs: dict, key: int, default: int = 0) -> int:
    value = attrs.get(key, b"")
    return value[0] if len(value) == 1 else default


Link = namedtuple("Link", "index name type flags attrs")


def _rtnl_dump(get, new, header, request, ns=ROOT):
    """(``header``'s fields, attributes) of each ``new`` message the namespace's rtnetlink dump
    ``get`` of ``request`` answers with."""
    from snakevisor.sentry.net.netlink import rtnl_dump
    for typ, body in rtnl_dump(get, request, ns):
        if typ == new and len(body) >= header.size:
            yield header.unpack_from(body), NL.parse_rtattrs(body, header.size)


def links(ns=ROOT) -> list:
    """[Link] of the namespace's interfaces, in ifindex order (also sysfs's class/net)."""
    out = []
    for (_, itype, index, flags, _), attrs in _rtnl_dump(NL.RTM_GETLINK, NL.RTM_NEWLINK, NL.IFINFOMSG,
                                                          NL.IFINFOMSG.pack(_socket.AF_UNSPEC, 0, 0, 0, 0), ns):
        name = attrs.get(NL.IFLA_IFNAME, b"").split(b"\0")[0].decode(errors="replace")
        out.append(Link(index, name, itype, flags, attrs))
    return sorted(out, key=lambda link: link.index)


def link_names(ns=ROOT) -> dict:
    return {link.index: link.name for link in links(ns)}


def dev(ns=ROOT):
    rows = [DEV_HEADER]
    for link in links(ns):
        name, attrs = link.name, link.attrs
        raw = attrs.get(NL.IFLA_STATS64)
        if raw is not None:
            st = struct.unpack(f"<{len(raw) // 8}Q", raw[:len(raw) // 8 * 8])
        else:
            raw = attrs.get(NL.IFLA_STATS, b"")
            st = struct.unpack(f"<{len(raw) // 4}I", raw[:len(raw) // 4 * 4])
        st = tuple(st) + (0,) * max(0, 23 - len(st))
        # struct rtnl_link_stats64: rx/tx packets, rx/tx bytes, rx/tx errors, rx/tx dropped, multicast,
        # collisions, rx length/over/crc/frame/fifo/missed errors, tx aborted/carrier/fifo/heartbeat/window
        # errors, rx/tx compressed.
        (rx_p, tx_p, rx_b, tx_b, rx_e, tx_e, rx_d, tx_d, mcast, colls, rx_len, rx_over, rx_crc, rx_frame,
         rx_fifo, rx_missed, tx_abort, tx_carrier, tx_fifo, tx_hb, tx_window, rx_comp, tx_comp) = st[:23]
        rows.append(f"{name:>6}: {rx_b:7d} {rx_p:7d} {rx_e:4d} {rx_d + rx_missed:4d} {rx_fifo:4d} "
                    f"{rx_len + rx_over + rx_crc + rx_frame:5d} {rx_comp:10d} {mcast:9d} "
                    f"{tx_b:8d} {tx_p:7d} {tx_e:4d} {tx_d:4d} {tx_fifo:4d} {colls:5d} "
                    f"{tx_carrier + tx_abort + tx_window + tx_hb:7d} {tx_comp:10d}\n")
    return "".join(rows)


def if_inet6(ns=ROOT):
    names = link_names(ns)
    # ifaddrmsg's scope is the RT_SCOPE_* one; the file shows the IPV6_ADDR_* scope bits it came from.
    scopes = {NL.RT_SCOPE_HOST: 0x10, NL.RT_SCOPE_LINK: 0x20, NL.RT_SCOPE_SITE: 0x40}
    rows = []
    for (family, plen, flags, scope, index), attrs in _rtnl_dump(NL.RTM_GETADDR, NL.RTM_NEWADDR, NL.IFADDRMSG,
                                                                  NL.IFADDRMSG.pack(_socket.AF_INET6, 0, 0, 0, 0), ns):
        addr = attrs.get(NL.IFA_ADDRESS)
        if family != _socket.AF_INET6 or addr is None or len(addr) != 16:
            continue
        flags = u32(attrs, NL.IFA_FLAGS, flags) & 0xFF   # the file shows the low byte
        rows.append(f"{addr.hex()} {index:02x} {plen:02x} {scopes.get(scope, 0):02x} {flags:02x} "
                    f"{names.get(index, ''):>8}\n")
    return "".join(rows)


def route(ns=ROOT):
    """The IPv4 main table (unicast and reject routes), as fib_route_seq_show."""
    names = link_names(ns)
    rows = [_padded(ROUTE_HEADER, 127)]
    request = NL.RTMSG.pack(_socket.AF_INET, 0, 0, 0, 0, 0, 0, 0, 0)
    for (family, dst_len, _, _, table, _, _, rtype, _), attrs in _rtnl_dump(NL.RTM_GETROUTE, NL.RTM_NEWROUTE,
                                                                             NL.RTMSG, request, ns):
        table = u32(attrs, NL.RTA_TABLE, table)
        if family != _socket.AF_INET or table != NL.RT_TABLE_MAIN or rtype in (NL.RTN_BROADCAST, NL.RTN_MULTICAST):
            continue
        oif, gw = attrs.get(NL.RTA_OIF), attrs.get(NL.RTA_GATEWAY, bytes(4))
        hop = attrs.get(NL.RTA_MULTIPATH)
        if hop is not None and len(hop) >= 8:   # the first nexthop: struct rtnexthop {u16 len; u8; u8; int ifindex}
            oif = hop[4:8]
            gw = NL.parse_rtattrs(hop[:struct.unpack_from("<H", hop)[0]], 8).get(NL.RTA_GATEWAY, gw)
        metrics = NL.parse_rtattrs(attrs.get(NL.RTA_METRICS, b""))
        mask = (0xFFFFFFFF << (32 - dst_len)) & 0xFFFFFFFF if dst_len else 0
        flags = 0x0001 | (0x0002 if any(gw) else 0) | (0x0004 if dst_len == 32 else 0) | \
            (0x0200 if rtype in (NL.RTN_UNREACHABLE, NL.RTN_PROHIBIT) else 0)   # RTF_UP, GATEWAY, HOST, REJECT
        iface = names.get(struct.unpack("<i", oif)[0], "*") if oif and len(oif) == 4 else "*"
        advmss = u32(metrics, NL.RTAX_ADVMSS)
        dst = _hex_addr(attrs.get(NL.RTA_DST, bytes(4))[:4])
        row = (f"{iface}\t{dst}\t{_hex_addr(gw[:4])}\t{flags:04X}\t0\t0\t{u32(attrs, NL.RTA_PRIORITY)}\t"
               f"{_hex_addr(struct.pack('!I', mask))}\t{advmss + 40 if advmss else 0}\t"
               f"{u32(metrics, NL.RTAX_WINDOW)}\t{u32(metrics, NL.RTAX_RTT) >> 3}")
        rows.append(_padded(row, 127))
    return "".join(rows)


def snmp(ns=ROOT):
    """The namespace's SNMP counters, the host kernel's (net/mib.py)."""
    return mib.read("snmp") if ns is ROOT else mib.fresh(mib.read("snmp"))


def netstat(ns=ROOT):
    return mib.read("netstat") if ns is ROOT else mib.fresh(mib.read("netstat"))


def snmp6(ns=ROOT):
    return mib.read("snmp6") if ns is ROOT else mib.fresh6(mib.read("snmp6"))


def _hashed(ns, family: int, stype: int, protocol: int) -> int:
    """How many sockets of a kind are in the protocol's tables (sock_prot_inuse): TCP's listening
    or connected (the rows of /proc/net/tcp), UDP's bound, every raw one."""
    if stype == _socket.SOCK_STREAM:
        return sum(1 for s in inet_sockets(ns, family, stype, protocol)
                   if (f := tcp_info(s)) is not None and f[0] != TCP_CLOSE)
    v6 = family == _socket.AF_INET6
    return sum(1 for s in inet_sockets(ns, family, stype, protocol) if stype == _socket.SOCK_RAW or _names(s, v6)[0][1])


def sockstat(ns=ROOT):
    """Socket counts of the namespace (net/ipv4/proc.c): every socket the sandbox holds there, the
    IPv4 ones in their protocol's tables; TCP's alloc counts IPv6 too (one counter). Orphans,
    TIME_WAIT and memory are the host's, which it keeps for sockets no longer held: 0 here."""
    from snakevisor.sentry.net.inet import InetSocket
    live = [s for s in live_sockets() if getattr(s, "netns", None) is ns and not getattr(s, "closed", False)]
    tcp_alloc = sum(1 for s in live if isinstance(s, InetSocket) and s.stype == _socket.SOCK_STREAM
                    and s.family in (_socket.AF_INET, _socket.AF_INET6) and s.protocol in (0, _socket.IPPROTO_TCP))
    v4 = _socket.AF_INET
    return (f"sockets: used {len(live)}\n"
            f"TCP: inuse {_hashed(ns, v4, _socket.SOCK_STREAM, _socket.IPPROTO_TCP)} orphan 0 tw 0 alloc {tcp_alloc} mem 0\n"
            f"UDP: inuse {_hashed(ns, v4, _socket.SOCK_DGRAM, _socket.IPPROTO_UDP)} mem 0\nUDPLITE: inuse 0\n"
            f"RAW: inuse {_hashed(ns, v4, _socket.SOCK_RAW, 0)}\nFRAG: inuse 0 memory 0\n")


def sockstat6(ns=ROOT):
    v6 = _socket.AF_INET6
    return (f"TCP6: inuse {_hashed(ns, v6, _socket.SOCK_STREAM, _socket.IPPROTO_TCP)}\n"
            f"UDP6: inuse {_hashed(ns, v6, _socket.SOCK_DGRAM, _socket.IPPROTO_UDP)}\nUDPLITE6: inuse 0\n"
            f"RAW6: inuse {_hashed(ns, v6, _socket.SOCK_RAW, 0)}\nFRAG6: inuse 0 memory 0\n")


# name -> content generator (str or bytes) of a network namespace, the files of /proc/PID/net.
FILES = {b"tcp": tcp, b"tcp6": tcp6, b"udp": udp, b"udp6": udp6, b"unix": unix, b"dev": dev,
         b"if_inet6": if_inet6, b"route": route, b"snmp": snmp, b"netstat": netstat,
         b"snmp6": snmp6, b"sockstat": sockstat, b"sockstat6": sockstat6}
