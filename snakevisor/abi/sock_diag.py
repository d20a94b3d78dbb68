"""NETLINK_SOCK_DIAG ABI: sock_diag, inet_diag and unix_diag requests, answers and attributes.

Values are Linux's (include/uapi/linux/{sock_diag,inet_diag,unix_diag}.h).
"""
import struct

NETLINK_SOCK_DIAG = 4

# nlmsg_type of a request
TCPDIAG_GETSOCK = 18            # the old inet_diag_req, TCP
DCCPDIAG_GETSOCK = 19
INET_DIAG_GETSOCK_MAX = 24
SOCK_DIAG_BY_FAMILY = 20
SOCK_DESTROY = 21

# struct sock_diag_req { u8 family; u8 protocol; }: the start of every BY_FAMILY request
SOCK_DIAG_REQ = struct.Struct("<BB")

# struct inet_diag_sockid { be16 sport, dport; be32 src[4], dst[4]; u32 if; u32 cookie[2]; }
# (ports and addresses kept as raw bytes: they are network order)
INET_DIAG_SOCKID = struct.Struct("<2s2s16s16sIII")
INET_DIAG_NOCOOKIE = 0xFFFFFFFF
# struct inet_diag_req_v2 { u8 family, protocol, ext, pad (raw protocol); u32 states; sockid id; }
INET_DIAG_REQ_V2 = struct.Struct("<BBBBI48s")
# struct inet_diag_req { u8 family, src_len, dst_len, ext; sockid id; u32 states, dbs; }
INET_DIAG_REQ = struct.Struct("<BBBB48sII")
# struct inet_diag_msg { u8 family, state, timer, retrans; sockid id; u32 expires, rqueue, wqueue, uid, inode; }
INET_DIAG_MSG = struct.Struct("<BBBB48sIIIII")

# Request attributes
INET_DIAG_REQ_BYTECODE = 1
INET_DIAG_REQ_PROTOCOL = 3
# Answer attributes (INET_DIAG_MEMINFO..INET_DIAG_SHUTDOWN are asked for by bit (N - 1) of ext)
INET_DIAG_MEMINFO = 1
INET_DIAG_INFO = 2
INET_DIAG_VEGASINFO = 3
INET_DIAG_CONG = 4
INET_DIAG_TOS = 5
INET_DIAG_TCLASS = 6
INET_DIAG_SKMEMINFO = 7
INET_DIAG_SHUTDOWN = 8
INET_DIAG_DCTCPINFO = 9
INET_DIAG_PROTOCOL = 10
INET_DIAG_SKV6ONLY = 11
INET_DIAG_MARK = 15
INET_DIAG_BBRINFO = 16
INET_DIAG_CLASS_ID = 17
INET_DIAG_CGROUP_ID = 21
INET_DIAG_SOCKOPT = 22
# What a congestion control's TCP_CC_INFO answer is reported as (VEGASINFO for the others)
CC_INFO_ATTR = {b"bbr": INET_DIAG_BBRINFO, b"dctcp": INET_DIAG_DCTCPINFO}
TCP_CC_INFO = 26
# struct inet_diag_meminfo { u32 rmem, wmem, fmem, tmem; }
INET_DIAG_MEMINFO_STRUCT = struct.Struct("<4I")
# struct inet_diag_sockopt: two bytes of bit flags
SOCKOPT_RECVERR, SOCKOPT_IS_ICSK, SOCKOPT_FREEBIND, SOCKOPT_HDRINCL = 1, 2, 4, 8
SOCKOPT_MC_LOOP, SOCKOPT_TRANSPARENT, SOCKOPT_MC_ALL, SOCKOPT_NODEFRAG = 16, 32, 64, 128
SOCKOPT_BIND_ADDRESS_NO_PORT, SOCKOPT_RECVERR_RFC4884, SOCKOPT_DEFER_CONNECT = 256, 512, 1024

# Bytecode filter (INET_DIAG_REQ_BYTECODE): struct inet_diag_bc_op { u8 code, yes; u16 no; }
INET_DIAG_BC_OP = struct.Struct("<BBH")
(INET_DIAG_BC_NOP, INET_DIAG_BC_JMP, INET_DIAG_BC_S_GE, INET_DIAG_BC_S_LE, INET_DIAG_BC_D_GE, INET_DIAG_BC_D_LE,
 INET_DIAG_BC_AUTO, INET_DIAG_BC_S_COND, INET_DIAG_BC_D_COND, INET_DIAG_BC_DEV_COND, INET_DIAG_BC_MARK_COND,
 INET_DIAG_BC_S_EQ, INET_DIAG_BC_D_EQ, INET_DIAG_BC_CGROUP_COND) = range(14)
# struct inet_diag_hostcond { u8 family, prefix_len; int port; be32 addr[]; }
INET_DIAG_HOSTCOND = struct.Struct("<BBxxi")
# struct inet_diag_markcond { u32 mark, mask; }
INET_DIAG_MARKCOND = struct.Struct("<II")

# struct unix_diag_req { u8 family, protocol; u16 pad; u32 states, ino, show; u32 cookie[2]; }
UNIX_DIAG_REQ = struct.Struct("<BBHIIIII")
# struct unix_diag_msg { u8 family, type, state, pad; u32 ino; u32 cookie[2]; }
UNIX_DIAG_MSG = struct.Struct("<BBBBIII")
UDIAG_SHOW_NAME, UDIAG_SHOW_VFS, UDIAG_SHOW_PEER, UDIAG_SHOW_ICONS = 0x1, 0x2, 0x4, 0x8
UDIAG_SHOW_RQLEN, UDIAG_SHOW_MEMINFO, UDIAG_SHOW_UID = 0x10, 0x20, 0x40
(UNIX_DIAG_NAME, UNIX_DIAG_VFS, UNIX_DIAG_PEER, UNIX_DIAG_ICONS, UNIX_DIAG_RQLEN, UNIX_DIAG_MEMINFO,
 UNIX_DIAG_SHUTDOWN, UNIX_DIAG_UID) = range(8)
# struct unix_diag_vfs { u32 ino, dev; } and struct unix_diag_rqlen { u32 rqueue, wqueue; }
UNIX_DIAG_PAIR = struct.Struct("<II")

# TCP states as sock_diag reports them (include/net/tcp_states.h)
TCP_ESTABLISHED, TCP_SYN_SENT, TCP_SYN_RECV, TCP_FIN_WAIT1, TCP_FIN_WAIT2, TCP_TIME_WAIT = 1, 2, 3, 4, 5, 6
TCP_CLOSE, TCP_CLOSE_WAIT, TCP_LAST_ACK, TCP_LISTEN, TCP_CLOSING, TCP_NEW_SYN_RECV = 7, 8, 9, 10, 11, 12
TCP_BOUND_INACTIVE = 13   # (a state bit of requests only: a TCP socket bound, neither listening nor connected)

# A dump's datagrams (net/netlink/af_netlink.c): NLMSG_GOODSIZE (a page less skb_shared_info),
# or up to the largest buffer the reader has received with, capped at 32 KiB less the same.
NLMSG_GOODSIZE = 4096 - 320
NLMSG_MAX_DUMP = 32768 - 320
