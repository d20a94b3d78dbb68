"""sock_diag for AF_INET/AF_INET6 TCP and UDP (net/ipv4/inet_diag.c, tcp_diag.c, udp_diag.c): a
dump of the namespace's sockets by family, state, ports and bytecode filter (net/inet_diag_bc.py),
or one socket by its addresses, each as an inet_diag_msg and the attributes Linux adds (always:
shutdown state, IPV6_V6ONLY of an unconnected IPv6 socket, the mark for CAP_NET_ADMIN, socket
options; on request by idiag_ext: TOS/TCLASS and class id, memory, struct tcp_info, the congestion
control's name and its own information from TCP_CC_INFO). The sockets are the sandbox's own
(net/inet_view.py), their numbers their host sockets'.

Not listed: TCP sockets the application no longer holds (TIME_WAIT, orphans: the host keeps them,
and they cannot be told from the host's own) and connections not yet accepted (SYN_RECV); UDP-Lite,
raw, SCTP and MPTCP have no handler (ENOENT), as a kernel without those modules. No
INET_DIAG_CGROUP_ID: the sandbox mounts no cgroup2 file system (ss would print a failure to
resolve it), as a kernel without CONFIG_SOCK_CGROUP_DATA."""
import socket as _socket
import struct

from snakevisor.abi import sock_diag as D
from snakevisor.abi import socket as S
from snakevisor.abi.errno import EINVAL, ENOENT, ESTALE, SyscallError
from snakevisor.sentry.kernel.userns import id_in
from snakevisor.sentry.net.inet_diag_bc import bc_audit, bc_run
from snakevisor.sentry.net.inet_view import inet_sockets, meminfo, names, queues, tcp_info, tcp_info_raw, tcp_timer

PROTOCOLS = {_socket.IPPROTO_TCP: _socket.SOCK_STREAM, _socket.IPPROTO_UDP: _socket.SOCK_DGRAM}
FAMILIES = (_socket.AF_INET, _socket.AF_INET6)
ZERO_ADDR = bytes(16)
ROOT_CGROUP_ID = 1   # the bytecode's cgroup test: every socket is in the sandbox's one cgroup, its root
# sk_shutdown bits a TCP state implies: the peer's FIN received (1), ours sent (2)
STATE_SHUTDOWN = {D.TCP_CLOSE_WAIT: 1, D.TCP_FIN_WAIT1: 2, D.TCP_FIN_WAIT2: 2, D.TCP_CLOSING: 3,
                  D.TCP_LAST_ACK: 3, D.TCP_TIME_WAIT: 3}
# inet_diag_sockopt's bits from the host socket's IPv4-level options (IPPROTO_IP)
SOCKOPT_BITS = ((S.IP_RECVERR, D.SOCKOPT_RECVERR), (S.IP_FREEBIND, D.SOCKOPT_FREEBIND),
                (S.IP_MULTICAST_LOOP, D.SOCKOPT_MC_LOOP), (S.IP_TRANSPARENT, D.SOCKOPT_TRANSPARENT),
                (S.IP_MULTICAST_ALL, D.SOCKOPT_MC_ALL), (22, D.SOCKOPT_NODEFRAG),
                (S.IP_BIND_ADDRESS_NO_PORT, D.SOCKOPT_BIND_ADDRESS_NO_PORT), (26, D.SOCKOPT_RECVERR_RFC4884))


class Request:
    """An inet_diag_req_v2 (or the old inet_diag_req, as v2), and its bytecode filter."""
    __slots__ = ("family", "protocol", "ext", "states", "sport", "dport", "src", "dst", "ifindex", "cookie", "bc")

    def __init__(self, family, protocol, ext, states, sockid, bc=None):
        self.family, self.protocol, self.ext, self.states, self.bc = family, protocol, ext, states, bc
        self.sport, self.dport, self.src, self.dst, self.ifindex, c0, c1 = D.INET_DIAG_SOCKID.unpack(sockid)
        self.cookie = (c0, c1)


def parse_request(msg_type: int, payload: bytes, dump: bool, net_admin: bool) -> Request:
    """The request of a SOCK_DIAG_BY_FAMILY or TCPDIAG_GETSOCK message; EINVAL if short, a bad
    bytecode filter EINVAL (a mark test EPERM without CAP_NET_ADMIN)."""
    v2 = msg_type == D.SOCK_DIAG_BY_FAMILY
    fmt = D.INET_DIAG_REQ_V2 if v2 else D.INET_DIAG_REQ
    if len(payload) < fmt.size:
        raise SyscallError(EINVAL)
    attrs = _attrs(payload, fmt.size)
    if v2:
        family, protocol, ext, _, states, sockid = fmt.unpack_from(payload)
        if D.INET_DIAG_REQ_PROTOCOL in attrs and len(attrs[D.INET_DIAG_REQ_PROTOCOL]) >= 4:
            protocol = struct.unpack_from("<I", attrs[D.INET_DIAG_REQ_PROTOCOL])[0]
    else:   # the old request: TCP, every family in a dump
        family, _, _, ext, sockid, states, _ = fmt.unpack_from(payload)
        protocol = _socket.IPPROTO_TCP if msg_type == D.TCPDIAG_GETSOCK else 33   # (DCCP)
        family = _socket.AF_UNSPEC if dump else family
    bc = attrs.get(D.INET_DIAG_REQ_BYTECODE)
    if dump and D.INET_DIAG_REQ_BYTECODE in attrs:
        bc_audit(bc, net_admin)
    return Request(family, protocol, ext, states, sockid, bc if dump else None)


def _attrs(payload: bytes, offset: int) -> dict:
    out, end = {}, len(payload)
    while offset + 4 <= end:
        length, typ = struct.unpack_from("<HH", payload, offset)
        if length < 4 or offset + length > end:
            break
        out.setdefault(typ & 0x3FFF, payload[offset + 4:offset + length])
        offset += (length + 3) & ~3
    return out


class View:
    """One socket as inet_diag sees it: family, state, addresses (network order) and ports."""
    __slots__ = ("s", "family", "state", "src", "sport", "dst", "dport", "info", "raw_info")

    def __init__(self, s):
        self.s, self.family = s, s.family
        local, peer = names(s)
        self.src, self.sport = _endpoint(local, s.family)
        self.dst, self.dport = _endpoint(peer, s.family)
        self.raw_info = tcp_info_raw(s) if s.stype == _socket.SOCK_STREAM else None
        self.info = tcp_info(s, self.raw_info) if self.raw_info is not None else None
        if s.stype == _socket.SOCK_STREAM:
            self.state = self.info[0] if self.info is not None else D.TCP_CLOSE
        else:
            self.state = D.TCP_ESTABLISHED if peer is not None else D.TCP_CLOSE


def _endpoint(raw, family) -> tuple[bytes, int]:
    """(16 address bytes, an IPv4 one first and zeros after; port) of a packed sockaddr."""
    if not raw or len(raw) < (24 if family == _socket.AF_INET6 else 8):
        return ZERO_ADDR, 0
    addr = raw[8:24] if family == _socket.AF_INET6 else raw[4:8].ljust(16, b"\0")
    return addr, struct.unpack_from("!H", raw, 2)[0]


def _listed(v, r: Request) -> bool:
    """Is the socket in a table the dump walks, and does it pass the request's filters? A TCP
    socket bound but neither listening nor connected is asked for as TCP_BOUND_INACTIVE, and the
    request's ports do not apply to it (Linux 6.10's walk of the bind table)."""
    if v.sport == 0:
        return False   # not bound: Linux's tables do not hold it
    if r.family != _socket.AF_UNSPEC and v.family != r.family:
        return False
    if v.state == D.TCP_CLOSE and r.protocol == _socket.IPPROTO_TCP:
        return bool(r.states & (1 << D.TCP_BOUND_INACTIVE)) and (r.bc is None or bc_run(r.bc, _bc_entry(v)))
    states = r.states | ((1 << D.TCP_NEW_SYN_RECV) if r.states & (1 << D.TCP_SYN_RECV) else 0)
    if not states & (1 << v.state):
        return False
    if r.protocol == _socket.IPPROTO_TCP:
        if v.state == D.TCP_LISTEN and r.dport != b"\0\0":
            return False   # the listening table is skipped for a request naming a remote port
        sport, dport = struct.pack("!H", v.sport), struct.pack("!H", v.dport)
        if r.sport not in (b"\0\0", sport) or r.dport not in (b"\0\0", dport):
            return False
    else:   # udp_dump compares the request's (network-order) ports with host-order numbers
        if r.sport != b"\0\0" and struct.unpack("<H", r.sport)[0] != v.sport:
            return False
        if r.dport != b"\0\0" and struct.unpack("<H", r.dport)[0] != v.dport:
            return False
    return r.bc is None or bc_run(r.bc, _bc_entry(v))


def _bc_entry(v) -> dict:
    s = v.s
    n = 16 if v.family == _socket.AF_INET6 else 4
    mark = _opt(s, _socket.SOL_SOCKET, S.SO_MARK)
    return {"family": v.family, "saddr": v.src[:n], "daddr": v.dst[:n], "sport": v.sport, "dport": v.dport,
            "ifindex": _opt(s, _socket.SOL_SOCKET, 62), "auto": not s.port_locked, "mark": mark,
            "cgroup": ROOT_CGROUP_ID}


def _opt(s, level, name) -> int:
    try:
        return s.sock.getsockopt(level, name)
    except OSError:
        return 0


def dump(ns, r: Request, creds, net_admin, cookie_of) -> list:
    """The answers (body, attributes) of a dump: TCP's listeners first, then the sockets only bound,
    as Linux walks its tables; ENOENT for a protocol with no handler."""
    if r.protocol not in PROTOCOLS:
        raise SyscallError(ENOENT)
    views = [View(s) for f in FAMILIES for s in inet_sockets(ns, f, PROTOCOLS[r.protocol], r.protocol)]
    views = [v for v in views if _listed(v, r)]
    views.sort(key=lambda v: (v.state != D.TCP_LISTEN, v.state != D.TCP_CLOSE))
    return [message(v, r, creds, net_admin, cookie_of) for v in views]


def dump_one(ns, r: Request, creds, net_admin, cookie_of) -> list:
    """The one socket a request's addresses name: TCP's lookup of a packet from dst:dport to
    src:sport (a connection, else a listener on src:sport), UDP's of the socket bound to dst:dport
    (connected to src:sport or not) as udp_dump_one; ENOENT, or ESTALE (ENOENT for TCP) for a
    cookie that is not the socket's."""
    if r.protocol not in PROTOCOLS:
        raise SyscallError(ENOENT)
    if r.family not in FAMILIES:
        raise SyscallError(EINVAL)
    tcp = r.protocol == _socket.IPPROTO_TCP
    local, remote = ((r.src, r.sport), (r.dst, r.dport)) if tcp else ((r.dst, r.dport), (r.src, r.sport))
    n = 16 if r.family == _socket.AF_INET6 else 4
    local, remote = (local[0][:n], struct.unpack("!H", local[1])[0]), (remote[0][:n], struct.unpack("!H", remote[1])[0])
    best, score = None, 0
    for s in inet_sockets(ns, r.family, PROTOCOLS[r.protocol], r.protocol):
        v = View(s)
        if v.sport != local[1] or v.src[:n] not in (local[0], bytes(n)):
            continue
        connected = v.dport != 0
        if connected and (v.dst[:n], v.dport) != remote:
            continue
        if tcp and not connected and v.state != D.TCP_LISTEN:
            continue
        if 1 + connected + (v.src[:n] == local[0]) > score:
            best, score = v, 1 + connected + (v.src[:n] == local[0])
    if best is None:
        raise SyscallError(ENOENT)
    if r.cookie != (D.INET_DIAG_NOCOOKIE, D.INET_DIAG_NOCOOKIE) and r.cookie != cookie_of(best.s):
        raise SyscallError(ENOENT if tcp else ESTALE)
    return [message(best, r, creds, net_admin, cookie_of)]


def message(v, r: Request, creds, net_admin, cookie_of) -> tuple[bytes, list]:
    s, f = v.s, v.info
    timer = retrans = expires = 0
    if s.stype == _socket.SOCK_STREAM:
        if v.state == D.TCP_LISTEN:
            rq, wq = f[12], f[13]   # tcp_info of a listener: unacked = accept queue, sacked = its limit
        elif v.state == D.TCP_CLOSE:
            rq = wq = 0
        else:
            rq, wq = queues(s)
            timer, expires = tcp_timer(s, f)
            retrans = f[2] if timer == 1 else f[3] if timer == 2 else 0
    else:
        mem = meminfo(s)
        rq, wq = mem[S.SK_MEMINFO_RMEM_ALLOC], mem[S.SK_MEMINFO_WMEM_ALLOC]
    sockid = D.INET_DIAG_SOCKID.pack(struct.pack("!H", v.sport), struct.pack("!H", v.dport), v.src, v.dst,
                                     _opt(s, _socket.SOL_SOCKET, 62), *cookie_of(s))
    body = D.INET_DIAG_MSG.pack(v.family, v.state, timer, retrans, sockid, expires, rq, wq,
                                id_in(creds, s.inode.uid), s.inode.ino)
    return body, _common_attrs(v, r.ext, net_admin) + _proto_attrs(v, r.ext)


def _ext(ext: int, attr: int) -> bool:
    return bool(ext & (1 << (attr - 1)))


def _common_attrs(v, ext: int, net_admin: bool) -> list:
    """inet_diag_msg_attrs_fill's attributes, in its order."""
    s = v.s
    out = [(D.INET_DIAG_SHUTDOWN, bytes([s.shut | STATE_SHUTDOWN.get(v.state, 0)]))]
    if _ext(ext, D.INET_DIAG_TOS):
        out.append((D.INET_DIAG_TOS, bytes([_opt(s, _socket.IPPROTO_IP, S.IP_TOS) & 0xFF])))
    if v.family == _socket.AF_INET6:
        if _ext(ext, D.INET_DIAG_TCLASS):
            out.append((D.INET_DIAG_TCLASS, bytes([_opt(s, _socket.IPPROTO_IPV6, S.IPV6_TCLASS) & 0xFF])))
        if v.state in (D.TCP_LISTEN, D.TCP_CLOSE):
            out.append((D.INET_DIAG_SKV6ONLY, bytes([_opt(s, _socket.IPPROTO_IPV6, S.IPV6_V6ONLY)])))
    if net_admin:
        out.append((D.INET_DIAG_MARK, struct.pack("<I", _opt(s, _socket.SOL_SOCKET, S.SO_MARK) & 0xFFFFFFFF)))
    if _ext(ext, D.INET_DIAG_TCLASS):   # no net_cls class: the priority stands for it
        out.append((D.INET_DIAG_CLASS_ID, struct.pack("<I", _opt(s, _socket.SOL_SOCKET, S.SO_PRIORITY))))
    flags = D.SOCKOPT_IS_ICSK if s.stype == _socket.SOCK_STREAM else 0
    for name, bit in SOCKOPT_BITS:
        if _opt(s, _socket.IPPROTO_IP, name):
            flags |= bit
    out.append((D.INET_DIAG_SOCKOPT, struct.pack("<H", flags)))
    if _ext(ext, D.INET_DIAG_MEMINFO):
        mem = meminfo(s)
        out.append((D.INET_DIAG_MEMINFO, D.INET_DIAG_MEMINFO_STRUCT.pack(mem[0], mem[5], mem[4], mem[2])))
    if _ext(ext, D.INET_DIAG_SKMEMINFO):
        out.append((D.INET_DIAG_SKMEMINFO, struct.pack("<9I", *meminfo(s))))
    return out


def _proto_attrs(v, ext: int) -> list:
    """TCP's: struct tcp_info (the host's whole one) and the congestion control's name (none for a
    socket only bound: Linux reports it without its connection's state)."""
    if v.s.stype != _socket.SOCK_STREAM or v.state == D.TCP_CLOSE:
        return []
    out = []
    if _ext(ext, D.INET_DIAG_INFO) and v.raw_info is not None:
        out.append((D.INET_DIAG_INFO, v.raw_info))
    try:
        name = v.s.sock.getsockopt(_socket.SOL_TCP, S.TCP_CONGESTION, 16).split(b"\0")[0]
    except OSError:
        name = b""
    if _ext(ext, D.INET_DIAG_CONG) and name:
        out.append((D.INET_DIAG_CONG, name + b"\0"))
    if v.state < D.TCP_TIME_WAIT:   # the congestion control's own (get_info), asked for as VEGASINFO
        info = b""
        if _ext(ext, D.INET_DIAG_VEGASINFO) or (name == b"dctcp" and _ext(ext, D.INET_DIAG_INFO)):
            try:
                info = v.s.sock.getsockopt(_socket.SOL_TCP, D.TCP_CC_INFO, 64)
            except OSError:
                pass
        if info:
            out.append((D.CC_INFO_ATTR.get(name, D.INET_DIAG_VEGASINFO), info))
    return out
