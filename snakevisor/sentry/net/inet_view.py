"""What /proc/net and sock_diag report of the sandbox's INET sockets: the live ones of a network
namespace (from the Sentry's registry, never the host's tables), and what each one's host socket
says of it: its names, struct tcp_info, queues, SO_MEMINFO and the TCP timer pending."""
import fcntl
import socket as _socket
import struct

from snakevisor.abi import socket as S
from snakevisor.abi.errno import SyscallError
from snakevisor.abi.fs import FIONREAD, TIOCOUTQ
from snakevisor.abi.socket import SO_MEMINFO, TCP_ESTABLISHED, TCP_LISTEN
from snakevisor.sentry.net.registry import live_sockets

# struct tcp_info up to tcpi_snd_cwnd: state, ca_state, retransmits, probes, backoff, options, wscale, flags;
# rto, ato, snd_mss, rcv_mss, unacked, sacked, lost, retrans, fackets, last_data_sent, last_ack_sent,
# last_data_recv, last_ack_recv, pmtu, rcv_ssthresh, rtt, rttvar, snd_ssthresh, snd_cwnd.
TCP_INFO = struct.Struct("<8B19I")
TCP_INFO_MAX = 512   # more than any kernel's struct tcp_info: the host's whole one
SK_MEMINFO = struct.Struct("<9I")


def inet_sockets(ns, family: int, stype: int, protocol: int):
    """The namespace's live sockets of a family, type and protocol (0 counts as the type's own)."""
    from snakevisor.sentry.net.inet import InetSocket
    for s in live_sockets():
        if isinstance(s, InetSocket) and s.netns is ns and s.family == family and s.stype == stype and \
                s.protocol in (0, protocol):
            if s.sock.fileno() >= 0:
                yield s


def names(s):
    """(packed local sockaddr or None, packed peer sockaddr or None)."""
    try:
        local = s.getsockname(None)
    except SyscallError:
        local = None
    try:
        peer = s.getpeername(None)
    except SyscallError:
        peer = None
    return local, peer


def ioctl_int(fd: int, cmd: int) -> int:
    try:
        return struct.unpack("<i", fcntl.ioctl(fd, cmd, bytes(4)))[0]
    except OSError:
        return 0


def queues(s) -> tuple[int, int]:
    """(bytes unread, bytes unsent or unacknowledged) of a connected TCP socket (SIOCINQ, SIOCOUTQ)."""
    return ioctl_int(s.fd, FIONREAD), ioctl_int(s.fd, TIOCOUTQ) & 0xFFFFFFFF


def tcp_info_raw(s) -> bytes | None:
    """The host's whole struct tcp_info of the socket, or None if it has none (closed)."""
    try:
        return s.sock.getsockopt(_socket.SOL_TCP, S.TCP_INFO, TCP_INFO_MAX)
    except OSError:
        return None


def tcp_info(s, raw=None):
    """The socket's struct tcp_info fields up to tcpi_snd_cwnd (TCP_INFO), or None."""
    raw = tcp_info_raw(s) if raw is None else raw
    return None if raw is None else TCP_INFO.unpack(raw[:TCP_INFO.size].ljust(TCP_INFO.size, b"\0"))


def meminfo(s) -> tuple:
    """SO_MEMINFO's nine counters (zeros if the host answers none)."""
    try:
        raw = s.sock.getsockopt(_socket.SOL_SOCKET, SO_MEMINFO, SK_MEMINFO.size)
    except OSError:
        return (0,) * 9
    return SK_MEMINFO.unpack(raw[:SK_MEMINFO.size].ljust(SK_MEMINFO.size, b"\0"))


def tcp_timer(s, f) -> tuple[int, int]:
    """(timer, milliseconds to it) as /proc/net/tcp and inet_diag show the one pending: 1 retransmit
    while data is unacknowledged, 2 keepalive on an idle established socket with SO_KEEPALIVE, 0 none."""
    state, rto, unacked, last_data_recv = f[0], f[8], f[12], f[19]
    if state != TCP_LISTEN and unacked:
        return 1, rto // 1000
    if state == TCP_ESTABLISHED and s.sock.getsockopt(_socket.SOL_SOCKET, _socket.SO_KEEPALIVE):
        idle = s.sock.getsockopt(_socket.SOL_TCP, _socket.TCP_KEEPIDLE)
        return 2, max(idle * 1000 - last_data_recv, 0)
    return 0, 0
