"""Socket ABI: address families, types, levels, options, message flags, and struct layouts.

sockaddr_un/in/in6 encoding, struct msghdr/mmsghdr/cmsghdr/ucred/linger (and msghdr/iovec as
ctypes structures, for host sendmsg/recvmsg), and the helpers that pack and walk control messages.
"""
import ctypes
import struct

AF_UNSPEC = 0
AF_UNIX = AF_LOCAL = 1
AF_INET = 2
AF_INET6 = 10
AF_NETLINK = 16
AF_PACKET = 17

SOCK_STREAM = 1
SOCK_DGRAM = 2
SOCK_RAW = 3
SOCK_RDM = 4
SOCK_SEQPACKET = 5
SOCK_PACKET = 10
SOCK_TYPE_MASK = 0xF
SOCK_NONBLOCK = 0o4000
SOCK_CLOEXEC = 0o2000000

IPPROTO_IP = 0
IPPROTO_ICMP = 1
IPPROTO_TCP = 6
IPPROTO_UDP = 17
IPPROTO_IPV6 = 41
IPPROTO_ICMPV6 = 58
IPPROTO_RAW = 255
IPPROTO_MAX = 263   # protocols of INET sockets are below it (inet_create: EINVAL otherwise)

SOL_SOCKET = 1
SOL_IP = 0
SOL_TCP = 6
SOL_UDP = 17
SOL_IPV6 = 41

SO_DEBUG = 1
SO_REUSEADDR = 2
SO_TYPE = 3
SO_ERROR = 4
SO_DONTROUTE = 5
SO_BROADCAST = 6
SO_SNDBUF = 7
SO_RCVBUF = 8
SO_KEEPALIVE = 9
SO_OOBINLINE = 10
SO_NO_CHECK = 11
SO_PRIORITY = 12
SO_LINGER = 13
SO_BSDCOMPAT = 14
SO_REUSEPORT = 15
SO_PASSCRED = 16
SO_PEERCRED = 17
SO_RCVLOWAT = 18
SO_SNDLOWAT = 19
SO_RCVTIMEO = 20
SO_SNDTIMEO = 21
SO_BINDTODEVICE = 25
SO_ACCEPTCONN = 30
SO_PEERSEC = 31
SO_SNDBUFFORCE = 32
SO_RCVBUFFORCE = 33
SO_MARK = 36
SO_PASSSEC = 34
SO_TIMESTAMP = 29
SO_PROTOCOL = 38
SO_DOMAIN = 39
SO_PEEK_OFF = 42
SO_BUSY_POLL = 46
SO_INCOMING_CPU = 49
SO_COOKIE = 57
SO_PEERGROUPS = 59
SO_ZEROCOPY = 60

TCP_NODELAY = 1
TCP_MAXSEG = 2
TCP_CORK = 3
TCP_KEEPIDLE = 4
TCP_KEEPINTVL = 5
TCP_KEEPCNT = 6
TCP_SYNCNT = 7
TCP_LINGER2 = 8
TCP_DEFER_ACCEPT = 9
TCP_WINDOW_CLAMP = 10
TCP_INFO = 11
TCP_QUICKACK = 12
TCP_CONGESTION = 13
TCP_USER_TIMEOUT = 18
TCP_FASTOPEN = 23
TCP_NOTSENT_LOWAT = 25

IP_TOS = 1
IP_TTL = 2
IP_HDRINCL = 3
IP_OPTIONS = 4
IP_RECVERR = 11
IP_PKTINFO = 8
IP_MTU_DISCOVER = 10
IP_RECVTOS = 13
IP_MULTICAST_IF = 32
IP_MULTICAST_TTL = 33
IP_MULTICAST_LOOP = 34
IP_ADD_MEMBERSHIP = 35
IP_DROP_MEMBERSHIP = 36
IP_FREEBIND = 15
IP_TRANSPARENT = 19
IP_BIND_ADDRESS_NO_PORT = 24
IPV6_UNICAST_HOPS = 16
IPV6_MULTICAST_IF = 17
IPV6_MULTICAST_HOPS = 18
IPV6_MULTICAST_LOOP = 19
IPV6_V6ONLY = 26
IPV6_RECVPKTINFO = 49
IPV6_TCLASS = 67
IP_RECVOPTS, IP_RETOPTS, IP_RECVTTL, IP_MTU, IP_RECVORIGDSTADDR, IP_MULTICAST_ALL = 6, 7, 12, 14, 20, 49
IPV6_ADD_MEMBERSHIP, IPV6_DROP_MEMBERSHIP, IPV6_MTU_DISCOVER, IPV6_MTU, IPV6_RECVERR = 20, 21, 23, 24, 25
IPV6_MULTICAST_ALL, IPV6_PKTINFO, IPV6_RECVHOPLIMIT, IPV6_HOPLIMIT, IPV6_RECVHOPOPTS = 29, 50, 51, 52, 53
IPV6_RECVRTHDR, IPV6_RECVDSTOPTS, IPV6_RECVPATHMTU, IPV6_PATHMTU, IPV6_DONTFRAG = 56, 58, 60, 61, 62
IPV6_RECVTCLASS, IPV6_AUTOFLOWLABEL, IPV6_RECVORIGDSTADDR = 66, 70, 74
IPV6_2292HOPOPTS, IPV6_2292DSTOPTS, IPV6_HOPOPTS, IPV6_RTHDRDSTOPTS, IPV6_DSTOPTS = 3, 4, 54, 55, 59
SO_TIMESTAMPNS, SO_TIMESTAMPING, SO_RXQ_OVFL = 35, 37, 40
# Classic BPF socket filters: the value is a struct sock_fprog {u16 len; struct sock_filter *filter}.
SO_ATTACH_FILTER, SO_DETACH_FILTER, SO_LOCK_FILTER, SO_ATTACH_REUSEPORT_CBPF, SO_DETACH_REUSEPORT_BPF = 26, 27, 44, 51, 68
SOCK_FPROG = struct.Struct("<H6xQ")
SOCK_FILTER_SIZE = 8          # struct sock_filter {u16 code; u8 jt, jf; u32 k}
BPF_MAXINSNS = 4096
TCP_INQ = 36                  # also the cmsg type of TCP_CM_INQ
# Socket ioctls a host socket answers (sock_ioctl, inet_ioctl): SIOCATMARK and SIOCOUTQNSD an int,
# SIOCGSTAMP a struct timeval and SIOCGSTAMPNS a struct timespec (16 bytes each).
SIOCATMARK, SIOCGSTAMP, SIOCGSTAMPNS, SIOCOUTQNSD = 0x8905, 0x8906, 0x8907, 0x894B

MSG_OOB = 0x1
MSG_PEEK = 0x2
MSG_DONTROUTE = 0x4
MSG_CTRUNC = 0x8
MSG_TRUNC = 0x20
MSG_DONTWAIT = 0x40
MSG_EOR = 0x80
MSG_WAITALL = 0x100
MSG_CONFIRM = 0x800
MSG_ERRQUEUE = 0x2000
MSG_NOSIGNAL = 0x4000
MSG_MORE = 0x8000
MSG_WAITFORONE = 0x10000
MSG_BATCH = 0x40000
MSG_ZEROCOPY = 0x4000000
MSG_FASTOPEN = 0x20000000
MSG_CMSG_CLOEXEC = 0x40000000

SCM_RIGHTS = 1
SCM_CREDENTIALS = 2
SCM_MAX_FD = 253

SHUT_RD = 0
SHUT_WR = 1
SHUT_RDWR = 2

SOMAXCONN = 4096
UNIX_PATH_MAX = 108
SOCKADDR_UN_SIZE = 110
SOCKADDR_MAX = 128          # sockaddr_storage
# Linux's default net.core.{w,r}mem_default.
DEFAULT_SNDBUF = 212992
DEFAULT_RCVBUF = 212992
SOCK_MIN_SNDBUF = 4608
SOCK_MIN_RCVBUF = 2304
SOCKBUF_MAX = 212992        # net.core.{w,r}mem_max

AF_MAX = 46
SOCK_MAX = 11                 # SOCK_PACKET + 1: socket types are below it
IPV6_ADDRFORM = 1

# What /proc/net shows: TCP states, socket states, the listening flag, SO_MEMINFO's fields.
TCP_CLOSE, TCP_ESTABLISHED, TCP_LISTEN = 7, 1, 10
TCP_INFINITE_SSTHRESH = 0x7FFFFFFF
SS_UNCONNECTED, SS_CONNECTING, SS_CONNECTED = 1, 2, 3
SO_ACCEPTCON = 1 << 16        # __SO_ACCEPTCON: /proc/net/unix's flag of a listening socket
SO_MEMINFO = 55
SK_MEMINFO_RMEM_ALLOC, SK_MEMINFO_WMEM_ALLOC, SK_MEMINFO_DROPS = 0, 2, 8

# struct msghdr { void *name; socklen_t namelen; (pad) iovec *iov; size_t iovlen;
#                 void *control; size_t controllen; int flags; (pad) }
MSGHDR = struct.Struct("<QI4xQQQQi4x")
MSG_FLAGS_OFFSET = 48
MSG_CONTROLLEN_OFFSET = 40
MSG_NAMELEN_OFFSET = 8
# struct mmsghdr { struct msghdr msg_hdr; unsigned msg_len; (pad) }
MMSGHDR_SIZE = 64
MMSG_LEN_OFFSET = 56


class IOVec(ctypes.Structure):    # struct iovec, for host calls
    _fields_ = [("base", ctypes.c_void_p), ("len", ctypes.c_size_t)]


class MsgHdr(ctypes.Structure):   # struct msghdr, for host calls
    _fields_ = [("name", ctypes.c_void_p), ("namelen", ctypes.c_uint), ("iov", ctypes.POINTER(IOVec)),
                ("iovlen", ctypes.c_size_t), ("control", ctypes.c_void_p), ("controllen", ctypes.c_size_t),
                ("flags", ctypes.c_int)]


# struct cmsghdr { size_t cmsg_len; int cmsg_level; int cmsg_type; }
CMSGHDR = struct.Struct("<Qii")
# struct ucred { pid_t pid; uid_t uid; gid_t gid; }
UCRED = struct.Struct("<iII")
# struct linger { int l_onoff; int l_linger; }
LINGER = struct.Struct("<ii")
TIMEVAL = struct.Struct("<qq")
UIO_MAXIOV = 1024


def cmsg_align(n: int) -> int:
    return (n + 7) & ~7


def cmsg_space(datalen: int) -> int:
    return CMSGHDR.size + cmsg_align(datalen)


def cmsg_len(datalen: int) -> int:
    return CMSGHDR.size + datalen


def parse_cmsgs(buf: bytes):
    """(level, type, data) of each control message; EINVAL on a malformed header (as Linux)."""
    from snakevisor.abi.errno import EINVAL, SyscallError
    out, pos = [], 0
    while pos + CMSGHDR.size <= len(buf):
        length, level, typ = CMSGHDR.unpack_from(buf, pos)
        if length < CMSGHDR.size or pos + length > len(buf):
            raise SyscallError(EINVAL)
        out.append((level, typ, bytes(buf[pos + CMSGHDR.size:pos + length])))
        pos += cmsg_align(length)
    return out


def pack_cmsg(level: int, typ: int, data: bytes, last: bool = False) -> bytes:
    """One control message, padded to CMSG_SPACE unless it is the last (Linux does not pad the last)."""
    msg = CMSGHDR.pack(cmsg_len(len(data)), level, typ) + data
    return msg if last else msg + bytes(cmsg_space(len(data)) - len(msg))


def pack_sockaddr_un(name: bytes | None) -> bytes:
    """sockaddr_un for a bound name: a path gets its NUL, an abstract name (leading NUL) none."""
    if not name:
        return struct.pack("<H", AF_UNIX)
    if name[0] == 0:
        return struct.pack("<H", AF_UNIX) + name
    return struct.pack("<H", AF_UNIX) + name + b"\0"
