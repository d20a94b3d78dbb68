"""Netlink and network-device ABI: nlmsghdr, sockaddr_nl, rtnetlink message types, SIOC*IF* ioctls, ifreq.

Values are Linux's (include/uapi/linux/{netlink,rtnetlink,sockios,if}.h).
"""
import struct

# socket(AF_NETLINK, ..., protocol)
NETLINK_ROUTE = 0
SOL_NETLINK = 270
# SOL_NETLINK options
NETLINK_ADD_MEMBERSHIP = 1
NETLINK_DROP_MEMBERSHIP = 2
NETLINK_PKTINFO = 3
NETLINK_BROADCAST_ERROR = 4
NETLINK_NO_ENOBUFS = 5
NETLINK_LISTEN_ALL_NSID = 8
NETLINK_LIST_MEMBERSHIPS = 9
NETLINK_CAP_ACK = 10
NETLINK_EXT_ACK = 11
NETLINK_GET_STRICT_CHK = 12

# struct nlmsghdr { u32 len; u16 type; u16 flags; u32 seq; u32 pid; }
NLMSGHDR = struct.Struct("<IHHII")
# struct sockaddr_nl { sa_family_t family; u16 pad; u32 pid; u32 groups; }
SOCKADDR_NL = struct.Struct("<HHII")
# struct nlmsgerr { int error; struct nlmsghdr msg; }
NLMSGERR_ERROR = struct.Struct("<i")

NLMSG_NOOP = 1
NLMSG_ERROR = 2
NLMSG_DONE = 3
NLMSG_OVERRUN = 4
NLMSG_MIN_TYPE = 0x10

NLM_F_REQUEST = 0x01
NLM_F_MULTI = 0x02
NLM_F_ACK = 0x04
NLM_F_ECHO = 0x08
NLM_F_ROOT = 0x100
NLM_F_MATCH = 0x200
NLM_F_DUMP = NLM_F_ROOT | NLM_F_MATCH
NLM_F_CAPPED = 0x100   # in an NLMSG_ERROR: only the request's header is echoed

# rtnetlink message types (the read-only ones are the GETs: type % 4 == 2)
RTM_NEWLINK, RTM_DELLINK, RTM_GETLINK, RTM_SETLINK = 16, 17, 18, 19
RTM_NEWADDR, RTM_DELADDR, RTM_GETADDR = 20, 21, 22
RTM_NEWROUTE, RTM_DELROUTE, RTM_GETROUTE = 24, 25, 26
RTM_NEWNEIGH, RTM_DELNEIGH, RTM_GETNEIGH = 28, 29, 30
RTM_NEWRULE, RTM_DELRULE, RTM_GETRULE = 32, 33, 34
RTM_GETQDISC = 38
RTM_GETNEIGHTBL = 66
RTM_GETNETCONF = 82
RTM_GETSTATS = 94
RTM_GETLINKPROP = 110
# What a sandboxed program may ask of the namespace's routing netlink: reads only.
RTM_READ_ONLY = frozenset((RTM_GETLINK, RTM_GETADDR, RTM_GETROUTE, RTM_GETNEIGH, RTM_GETRULE, RTM_GETQDISC,
                           RTM_GETNEIGHTBL, RTM_GETNETCONF, RTM_GETSTATS))


# Bodies of the rtnetlink messages /proc/net reads, and the attributes it uses.
# struct ifinfomsg { u8 family; u8 pad; u16 type; int index; u32 flags; u32 change; }
IFINFOMSG = struct.Struct("<BxHiII")
IFLA_ADDRESS, IFLA_BROADCAST, IFLA_IFNAME, IFLA_MTU, IFLA_STATS, IFLA_STATS64 = 1, 2, 3, 4, 7, 23
IFLA_TXQLEN, IFLA_OPERSTATE = 13, 16
# struct ifaddrmsg { u8 family; u8 prefixlen; u8 flags; u8 scope; u32 index; }
IFADDRMSG = struct.Struct("<BBBBI")
IFA_ADDRESS, IFA_FLAGS = 1, 8
# struct rtmsg { u8 family, dst_len, src_len, tos, table, protocol, scope, type; u32 flags; }
RTMSG = struct.Struct("<BBBBBBBBI")
RTA_DST, RTA_OIF, RTA_GATEWAY, RTA_PRIORITY, RTA_METRICS, RTA_MULTIPATH, RTA_TABLE = 1, 4, 5, 6, 8, 9, 15
RTAX_WINDOW, RTAX_RTT, RTAX_ADVMSS = 3, 4, 8
RT_TABLE_MAIN = 254
RT_SCOPE_UNIVERSE, RT_SCOPE_SITE, RT_SCOPE_LINK, RT_SCOPE_HOST = 0, 200, 253, 254
RTN_BROADCAST, RTN_MULTICAST, RTN_UNREACHABLE, RTN_PROHIBIT = 3, 5, 7, 8
RTATTR = struct.Struct("<HH")

def nlmsg_align(n: int) -> int:
    return (n + 3) & ~3


def iter_nlmsgs(buf):
    """(offset, length, type, flags, seq, pid) of each whole netlink message in ``buf``."""
    pos, end = 0, len(buf)
    while pos + NLMSGHDR.size <= end:
        length, typ, flags, seq, pid = NLMSGHDR.unpack_from(buf, pos)
        if length < NLMSGHDR.size or pos + length > end:
            return
        yield pos, length, typ, flags, seq, pid
        pos += nlmsg_align(length)


def nlmsg_error(errno: int, request_header: bytes, portid: int) -> bytes:
    """An NLMSG_ERROR answering a request (``errno`` 0 is an ACK); echoes only its header (capped)."""
    _, _, _, seq, _ = NLMSGHDR.unpack(request_header[:NLMSGHDR.size])
    body = NLMSGERR_ERROR.pack(-errno) + request_header[:NLMSGHDR.size]
    return NLMSGHDR.pack(NLMSGHDR.size + len(body), NLMSG_ERROR, NLM_F_CAPPED, seq, portid) + body


# Network-device ioctls (include/uapi/linux/sockios.h) and struct ifreq (40 bytes: name, then a union).
SIOCGIFNAME = 0x8910
SIOCGIFCONF = 0x8912
SIOCGIFFLAGS = 0x8913
SIOCSIFFLAGS = 0x8914
SIOCGIFADDR = 0x8915
SIOCGIFBRDADDR = 0x8919
SIOCGIFNETMASK = 0x891B
SIOCGIFMETRIC = 0x891D
SIOCGIFMTU = 0x8921
SIOCGIFHWADDR = 0x8927
SIOCGIFINDEX = 0x8933
SIOCGIFTXQLEN = 0x8942
IFNAMSIZ = 16
IFREQ_SIZE = 40
IFREQ_FLAGS = struct.Struct("<16sH22x")
# Read-only per-interface ioctls on an AF_INET socket that answer from the namespace (struct ifreq in, out).
IFREQ_READ_IOCTLS = frozenset((SIOCGIFNAME, SIOCGIFFLAGS, SIOCGIFADDR, SIOCGIFBRDADDR, SIOCGIFNETMASK,
                               SIOCGIFMETRIC, SIOCGIFMTU, SIOCGIFHWADDR, SIOCGIFINDEX, SIOCGIFTXQLEN))
# Changing interfaces or routes needs CAP_NET_ADMIN in the namespace: the sandbox gets EPERM.
SIOCADDRT, SIOCDELRT = 0x890B, 0x890C
IF_WRITE_IOCTLS = frozenset((SIOCADDRT, SIOCDELRT, SIOCSIFFLAGS, 0x8916, 0x8918, 0x891A, 0x891C, 0x891E,
                             0x8922, 0x8923, 0x8924, 0x8943))
IFF_UP = 0x1
IFF_LOOPBACK = 0x8
IFF_RUNNING = 0x40


def parse_rtattrs(buf, offset: int = 0) -> dict:
    """{type: payload} of the rtattrs (nlattrs) in ``buf`` from ``offset`` (the first of a type wins)."""
    out = {}
    end = len(buf)
    while offset + RTATTR.size <= end:
        length, typ = RTATTR.unpack_from(buf, offset)
        if length < RTATTR.size or offset + length > end:
            break
        out.setdefault(typ & 0x3FFF, bytes(buf[offset + RTATTR.size:offset + length]))   # minus NLA_F_* bits
        offset += nlmsg_align(length)
    return out
