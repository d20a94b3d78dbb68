/* NETLINK_SOCK_DIAG (differential), each case in a network namespace of its own (so only the
 * program's sockets are there), natively and in the sandbox. Sockets are named by labels (their
 * inode numbers differ between runs); the answers are printed in a fixed order.
 *   inet     TCP and UDP over IPv4 and IPv6: listeners, connections (one shut down for writing,
 *            one with 5 bytes unread), sockets bound only or not at all (not listed); dumps by
 *            family, state and port, with the extensions (tcp_info, memory, TOS, congestion
 *            control); the bytecode filter; one socket by its addresses and cookie
 *   unix     AF_UNIX: listeners (path, abstract) with a connection not yet accepted, accepted and
 *            socketpair connections, datagram sockets; names, bound files, peers, pending
 *            connections, queues, shutdown, uid; by state; one socket by inode and cookie
 *   errors   short and unknown requests, families without a handler, ACKs, several requests in
 *            one send, a second dump while one runs, a truncated read
 *   hostile  a bytecode filter of 16,000 ops, each jumping a step ahead when its test fails (Linux
 *            checks it in one pass of ops per jump; a checker walking the program for each jump
 *            takes minutes), four such requests answered within 20 s; requests asking an ACK sent again and again,
 *            never read: the answers past the receive buffer are dropped, the next recv says
 *            ENOBUFS once, the ones kept are read, then EAGAIN (the queue was bounded)
 *   ss       the sockets of inet and unix (no data left in Unix ones), then `ss` (iproute2) lists
 *            them: -tan, -uan, -xa, -lntp;
 *            each socket's inode number and our pid are printed after ("label NAME INODE", "pid
 *            N") for tests/test_kfeatures.py to put names in their place
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <linux/tcp.h>
#include <linux/unix_diag.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

/* --- labels: inode number -> name ------------------------------------------------------------ */
static struct { unsigned long ino; const char *name; } labels[64];
static int nlabels;

static int label(int fd, const char *name) {
    struct stat st;
    fstat(fd, &st);
    labels[nlabels].ino = st.st_ino;
    labels[nlabels++].name = name;
    return fd;
}

static const char *name_of(unsigned long ino) {
    static char buf[32];
    if (ino == 0)
        return "0";
    for (int i = 0; i < nlabels; i++)
        if (labels[i].ino == ino)
            return labels[i].name;
    snprintf(buf, sizeof buf, "unlabelled");
    return buf;
}

/* --- netlink --------------------------------------------------------------------------------- */
static int diag_fd(void) {
    int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
    if (fd < 0) {
        printf("socket(NETLINK_SOCK_DIAG): %s\n", strerrorname_np(errno));
        exit(1);
    }
    return fd;
}

static int send_req(int fd, int type, int flags, const void *req, size_t len, const void *extra, size_t xlen) {
    char buf[512];
    struct nlmsghdr *h = (void *)buf;
    memset(buf, 0, sizeof buf);
    h->nlmsg_len = NLMSG_LENGTH(len + xlen);
    h->nlmsg_type = type;
    h->nlmsg_flags = NLM_F_REQUEST | flags;
    h->nlmsg_seq = 77;
    memcpy(NLMSG_DATA(h), req, len);
    if (extra)
        memcpy((char *)NLMSG_DATA(h) + len, extra, xlen);
    struct sockaddr_nl k = {.nl_family = AF_NETLINK};
    return sendto(fd, buf, h->nlmsg_len, 0, (void *)&k, sizeof k);
}

/* Lines of one answer, sorted before printing (the order of a dump is the tables' order). */
static char *lines[128];
static int nlines;

static void add_line(const char *s) { lines[nlines++] = strdup(s); }

static int by_text(const void *a, const void *b) { return strcmp(*(char **)a, *(char **)b); }

static void flush_lines(void) {
    qsort(lines, nlines, sizeof *lines, by_text);
    for (int i = 0; i < nlines; i++) {
        printf("  %s\n", lines[i]);
        free(lines[i]);
    }
    nlines = 0;
}

typedef void (*show_fn)(struct nlmsghdr *h);

/* Read answers until NLMSG_DONE, an error or (for one socket) the first answer; print each. */
static void read_answers(int fd, show_fn show, int dump) {
    static char buf[32768];
    for (;;) {
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, 20000) != 1) {
            printf("  no answer\n");
            return;
        }
        int n = recv(fd, buf, sizeof buf, 0);
        for (struct nlmsghdr *h = (void *)buf; NLMSG_OK(h, n); h = NLMSG_NEXT(h, n)) {
            if (h->nlmsg_type == NLMSG_DONE) {
                int err = *(int *)NLMSG_DATA(h);
                flush_lines();
                printf("  done (flags %#x, %s)\n", h->nlmsg_flags, err ? strerrorname_np(-err) : "0");
                return;
            }
            if (h->nlmsg_type == NLMSG_ERROR) {
                struct nlmsgerr *e = NLMSG_DATA(h);
                flush_lines();
                printf("  error %s\n", e->error ? strerrorname_np(-e->error) : "0 (ack)");
                return;
            }
            if (h->nlmsg_seq != 77)
                printf("  wrong seq %u\n", h->nlmsg_seq);
            show(h);
            if (!dump) {
                flush_lines();
                printf("  one (flags %#x)\n", h->nlmsg_flags);
                return;
            }
        }
    }
}

/* --- inet ------------------------------------------------------------------------------------ */
static __u32 last_cookie[2];

static void show_inet(struct nlmsghdr *h) {
    struct inet_diag_msg *m = NLMSG_DATA(h);
    char src[64], dst[64], line[512], attrs[256] = "";
    inet_ntop(m->idiag_family, m->id.idiag_src, src, sizeof src);
    inet_ntop(m->idiag_family, m->id.idiag_dst, dst, sizeof dst);
    memcpy(last_cookie, m->id.idiag_cookie, sizeof last_cookie);
    int len = h->nlmsg_len - NLMSG_LENGTH(sizeof *m);
    for (struct rtattr *a = (void *)(m + 1); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
        unsigned char *d = RTA_DATA(a);
        char one[64] = "";
        switch (a->rta_type) {
        case INET_DIAG_SHUTDOWN: snprintf(one, sizeof one, " shutdown=%d", d[0]); break;
        case INET_DIAG_TOS: snprintf(one, sizeof one, " tos=%d", d[0]); break;
        case INET_DIAG_TCLASS: snprintf(one, sizeof one, " tclass=%d", d[0]); break;
        case INET_DIAG_SKV6ONLY: snprintf(one, sizeof one, " v6only=%d", d[0]); break;
        case INET_DIAG_MARK: snprintf(one, sizeof one, " mark=%u", *(__u32 *)d); break;
        case INET_DIAG_CLASS_ID: snprintf(one, sizeof one, " class=%u", *(__u32 *)d); break;
        case INET_DIAG_SOCKOPT: snprintf(one, sizeof one, " sockopt=%#x", *(__u16 *)d); break;
        case INET_DIAG_MEMINFO: snprintf(one, sizeof one, " meminfo"); break;
        case INET_DIAG_SKMEMINFO: snprintf(one, sizeof one, " skmem(rb=%u)", ((__u32 *)d)[1]); break;
        case INET_DIAG_INFO: snprintf(one, sizeof one, " info(state=%d)", ((struct tcp_info *)d)->tcpi_state); break;
        case INET_DIAG_CONG: snprintf(one, sizeof one, " cong=%s", (char *)d); break;
        case INET_DIAG_CGROUP_ID: break;   /* the sandbox mounts no cgroup2: none */
        default: snprintf(one, sizeof one, " attr%d", a->rta_type);
        }
        strcat(attrs, one);
    }
    snprintf(line, sizeof line, "%s state %d %s:%d -> %s:%d timer %d rq %u wq %u uid %u %s%s",
             m->idiag_family == AF_INET ? "v4" : "v6", m->idiag_state, src, ntohs(m->id.idiag_sport), dst,
             ntohs(m->id.idiag_dport), m->idiag_timer, m->idiag_rqueue, m->idiag_wqueue, m->idiag_uid,
             name_of(m->idiag_inode), attrs);
    add_line(line);
}

static void inet_dump(int fd, const char *what, int family, int protocol, __u32 states, int ext, __u16 sport,
                      const void *bc, size_t bclen) {
    struct inet_diag_req_v2 r = {.sdiag_family = family, .sdiag_protocol = protocol, .idiag_ext = ext,
                                 .idiag_states = states};
    r.id.idiag_sport = htons(sport);
    char attr[256];
    struct rtattr *a = (void *)attr;
    a->rta_type = INET_DIAG_REQ_BYTECODE;
    a->rta_len = RTA_LENGTH(bclen);
    if (bc)   /* (memcpy from NULL would let the compiler take bc for non-NULL) */
        memcpy(RTA_DATA(a), bc, bclen);
    printf("%s:\n", what);
    if (send_req(fd, SOCK_DIAG_BY_FAMILY, NLM_F_DUMP, &r, sizeof r, bc ? attr : NULL, bc ? RTA_ALIGN(a->rta_len) : 0) < 0)
        printf("  send: %s\n", strerrorname_np(errno));
    read_answers(fd, show_inet, 1);
}

static void inet_one(int fd, const char *what, int family, int protocol, const char *src, int sport,
                     const char *dst, int dport, const __u32 *cookie) {
    struct inet_diag_req_v2 r = {.sdiag_family = family, .sdiag_protocol = protocol, .idiag_states = -1};
    inet_pton(family, src, r.id.idiag_src);
    inet_pton(family, dst, r.id.idiag_dst);
    r.id.idiag_sport = htons(sport);
    r.id.idiag_dport = htons(dport);
    r.id.idiag_cookie[0] = cookie ? cookie[0] : INET_DIAG_NOCOOKIE;
    r.id.idiag_cookie[1] = cookie ? cookie[1] : INET_DIAG_NOCOOKIE;
    printf("%s:\n", what);
    send_req(fd, SOCK_DIAG_BY_FAMILY, 0, &r, sizeof r, NULL, 0);
    read_answers(fd, show_inet, 0);
}

static int lo_up(void) {
    struct ifreq r = {0};
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    strcpy(r.ifr_name, "lo");
    ioctl(s, SIOCGIFFLAGS, &r);
    r.ifr_flags |= IFF_UP;
    int x = ioctl(s, SIOCSIFFLAGS, &r);
    close(s);
    return x;
}

static int own_netns(void) {
    if (unshare(CLONE_NEWNET) || lo_up()) {
        printf("no network namespace of our own: %s\n", strerrorname_np(errno));
        return -1;
    }
    return 0;
}

static int tcp_at(int family, const char *addr, int port) {
    struct sockaddr_in6 a6 = {.sin6_family = AF_INET6, .sin6_port = htons(port)};
    struct sockaddr_in a4 = {.sin_family = AF_INET, .sin_port = htons(port)};
    int s = socket(family, SOCK_STREAM, 0), one = 1;
    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (family == AF_INET6) {
        setsockopt(s, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
        inet_pton(AF_INET6, addr, &a6.sin6_addr);
        bind(s, (void *)&a6, sizeof a6);
    } else {
        inet_pton(AF_INET, addr, &a4.sin_addr);
        bind(s, (void *)&a4, sizeof a4);
    }
    return s;
}

static int dgram_at(int family, const char *addr, int port) {
    struct sockaddr_in6 a6 = {.sin6_family = AF_INET6, .sin6_port = htons(port)};
    struct sockaddr_in a4 = {.sin_family = AF_INET, .sin_port = htons(port)};
    int s = socket(family, SOCK_DGRAM, 0);
    if (family == AF_INET6) {
        inet_pton(AF_INET6, addr, &a6.sin6_addr);
        bind(s, (void *)&a6, sizeof a6);
    } else {
        inet_pton(AF_INET, addr, &a4.sin_addr);
        bind(s, (void *)&a4, sizeof a4);
    }
    return s;
}

static void connect_to(int s, int family, const char *addr, int port) {
    struct sockaddr_in6 a6 = {.sin6_family = AF_INET6, .sin6_port = htons(port)};
    struct sockaddr_in a4 = {.sin_family = AF_INET, .sin_port = htons(port)};
    if (family == AF_INET6) {
        inet_pton(AF_INET6, addr, &a6.sin6_addr);
        connect(s, (void *)&a6, sizeof a6);
    } else {
        inet_pton(AF_INET, addr, &a4.sin_addr);
        connect(s, (void *)&a4, sizeof a4);
    }
}

/* Wait (20 s at most) until ``fd`` has ``n`` bytes to read, or its peer's FIN (n < 0). */
static void await_readable(int fd, int n) {
    for (int i = 0; i < 2000; i++) {
        int q = 0;
        char c;
        ioctl(fd, FIONREAD, &q);
        if (n >= 0 ? q >= n : recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT) == 0)
            return;
        struct pollfd p = {fd, POLLIN | POLLRDHUP, 0};
        poll(&p, 1, 10);
    }
}

/* Wait (20 s at most) until TCP socket ``fd`` is in ``state`` (its peer's ACK of our FIN may lag). */
static void await_state(int fd, int state) {
    for (int i = 0; i < 2000; i++) {
        struct tcp_info ti;
        socklen_t len = sizeof ti;
        if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) == 0 && ti.tcpi_state == state)
            return;
        poll(NULL, 0, 10);
    }
}

static void make_inet_sockets(void) {
    int l4 = label(tcp_at(AF_INET, "127.0.0.1", 5001), "tcp-listen4");
    listen(l4, 7);
    listen(label(tcp_at(AF_INET6, "::1", 5002), "tcp-listen6"), 3);
    int c = label(tcp_at(AF_INET, "127.0.0.1", 5003), "tcp-client");
    connect_to(c, AF_INET, "127.0.0.1", 5001);
    int a = label(accept(l4, NULL, NULL), "tcp-accepted");
    int tos = 0x10;
    setsockopt(c, IPPROTO_IP, IP_TOS, &tos, sizeof tos);
    send(c, "hello", 5, 0);
    await_readable(a, 5);
    int c2 = label(tcp_at(AF_INET, "127.0.0.1", 5007), "tcp-client-shut");
    connect_to(c2, AF_INET, "127.0.0.1", 5001);
    int a2 = label(accept(l4, NULL, NULL), "tcp-accepted-eof");
    shutdown(c2, SHUT_WR);
    await_readable(a2, -1);
    char eof;
    recv(a2, &eof, 1, 0);   /* (the FIN taken: Linux's rqueue counted it while unread) */
    await_state(c2, 5);   /* TCP_FIN_WAIT2 */
    label(tcp_at(AF_INET, "127.0.0.1", 5006), "tcp-bound-only");
    label(socket(AF_INET, SOCK_STREAM, 0), "tcp-unbound");
    int u4 = label(dgram_at(AF_INET, "127.0.0.1", 5004), "udp4");
    int u6 = label(dgram_at(AF_INET6, "::1", 5005), "udp6");
    connect_to(u6, AF_INET6, "::1", 5008);
    label(socket(AF_INET, SOCK_DGRAM, 0), "udp-unbound");
    int u4b = label(dgram_at(AF_INET, "127.0.0.1", 5009), "udp4-sender");
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(5004)};
    inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
    sendto(u4b, "x", 1, 0, (void *)&to, sizeof to);
    await_readable(u4, 1);
}

static int inet(void) {
    if (own_netns())
        return 1;
    make_inet_sockets();
    int fd = diag_fd();
    int all = 1 << (INET_DIAG_INFO - 1) | 1 << (INET_DIAG_MEMINFO - 1) | 1 << (INET_DIAG_SKMEMINFO - 1) |
              1 << (INET_DIAG_TOS - 1) | 1 << (INET_DIAG_TCLASS - 1) | 1 << (INET_DIAG_CONG - 1);
    inet_dump(fd, "tcp v4, every state, extensions", AF_INET, IPPROTO_TCP, -1, all, 0, NULL, 0);
    inet_dump(fd, "tcp v6", AF_INET6, IPPROTO_TCP, -1, all, 0, NULL, 0);
    inet_dump(fd, "tcp v4 as ss asks (0xfff)", AF_INET, IPPROTO_TCP, 0xfff, 0, 0, NULL, 0);
    inet_dump(fd, "tcp v4 bound only (TCP_BOUND_INACTIVE)", AF_INET, IPPROTO_TCP, 1 << 13, 0, 0, NULL, 0);
    inet_dump(fd, "tcp v4 listening", AF_INET, IPPROTO_TCP, 1 << 10, 0, 0, NULL, 0);
    inet_dump(fd, "tcp v4 established", AF_INET, IPPROTO_TCP, 1 << 1, 0, 0, NULL, 0);
    inet_dump(fd, "tcp v4 close-wait and fin-wait-2", AF_INET, IPPROTO_TCP, 1 << 8 | 1 << 5, 0, 0, NULL, 0);
    inet_dump(fd, "tcp v4 from port 5001", AF_INET, IPPROTO_TCP, -1, 0, 5001, NULL, 0);
    inet_dump(fd, "udp v4", AF_INET, IPPROTO_UDP, -1, all, 0, NULL, 0);
    inet_dump(fd, "udp v6", AF_INET6, IPPROTO_UDP, -1, all, 0, NULL, 0);
    inet_dump(fd, "udp v4 established only", AF_INET, IPPROTO_UDP, 1 << 1, 0, 0, NULL, 0);
    /* bytecode: source port >= 5003 (S_GE, the port in a second op), then destination port <= 5001;
       a failed test jumps 4 bytes past the end (rejected) */
    struct inet_diag_bc_op ge[] = {{INET_DIAG_BC_S_GE, 8, 20}, {0, 0, 5003}, {INET_DIAG_BC_D_LE, 8, 12}, {0, 0, 5001}};
    inet_dump(fd, "tcp v4, sport >= 5003 and dport <= 5001", AF_INET, IPPROTO_TCP, -1, 0, 0, ge, sizeof ge);
    struct inet_diag_bc_op bad[] = {{INET_DIAG_BC_S_GE, 8, 6}, {0, 0, 5003}};
    inet_dump(fd, "bad bytecode", AF_INET, IPPROTO_TCP, -1, 0, 0, bad, sizeof bad);
    struct inet_diag_bc_op unknown[] = {{99, 4, 8}};
    inet_dump(fd, "unknown bytecode", AF_INET, IPPROTO_TCP, -1, 0, 0, unknown, sizeof unknown);
    inet_one(fd, "tcp client by addresses", AF_INET, IPPROTO_TCP, "127.0.0.1", 5003, "127.0.0.1", 5001, NULL);
    __u32 cookie[2] = {last_cookie[0], last_cookie[1]};
    inet_one(fd, "same, its cookie", AF_INET, IPPROTO_TCP, "127.0.0.1", 5003, "127.0.0.1", 5001, cookie);
    __u32 wrong[2] = {cookie[0] + 1000, cookie[1]};
    inet_one(fd, "same, another cookie", AF_INET, IPPROTO_TCP, "127.0.0.1", 5003, "127.0.0.1", 5001, wrong);
    inet_one(fd, "tcp listener by its port", AF_INET, IPPROTO_TCP, "127.0.0.1", 5001, "127.0.0.1", 9, NULL);
    inet_one(fd, "tcp nothing there", AF_INET, IPPROTO_TCP, "127.0.0.1", 5999, "127.0.0.1", 9, NULL);
    inet_one(fd, "protocol without a handler", AF_INET, 200, "127.0.0.1", 5003, "127.0.0.1", 5001, NULL);
    inet_one(fd, "udp by addresses (swapped)", AF_INET6, IPPROTO_UDP, "::1", 5008, "::1", 5005, NULL);
    inet_one(fd, "tcp, family AF_UNSPEC", AF_UNSPEC, IPPROTO_TCP, "127.0.0.1", 5003, "127.0.0.1", 5001, NULL);
    return 0;
}

/* --- unix ------------------------------------------------------------------------------------ */
static char path[64];

static void show_unix(struct nlmsghdr *h) {
    struct unix_diag_msg *m = NLMSG_DATA(h);
    char line[512], attrs[384] = "";
    memcpy(last_cookie, m->udiag_cookie, sizeof last_cookie);
    int len = h->nlmsg_len - NLMSG_LENGTH(sizeof *m);
    for (struct rtattr *a = (void *)(m + 1); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
        unsigned char *d = RTA_DATA(a);
        int dl = RTA_PAYLOAD(a);
        char one[128] = "";
        struct stat st;
        switch (a->rta_type) {
        case UNIX_DIAG_NAME:
            snprintf(one, sizeof one, " name=%s%.*s(%d)", d[0] ? "" : "@", dl - !d[0], d + !d[0], dl);
            if (d[0]) snprintf(one, sizeof one, " name=path(%d)", dl - (int)strlen(path));
            break;
        case UNIX_DIAG_VFS:
            stat(path, &st);
            snprintf(one, sizeof one, " vfs(ino %d, dev %d)", ((__u32 *)d)[0] == st.st_ino,
                     ((__u32 *)d)[1] == (major(st.st_dev) << 20 | minor(st.st_dev)));
            break;
        case UNIX_DIAG_PEER: snprintf(one, sizeof one, " peer=%s", name_of(*(__u32 *)d)); break;
        case UNIX_DIAG_ICONS:
            strcpy(one, " icons=");
            for (int i = 0; i < dl / 4; i++)
                snprintf(one + strlen(one), sizeof one - strlen(one), "%s,", name_of(((__u32 *)d)[i]));
            break;
        case UNIX_DIAG_RQLEN:
            snprintf(one, sizeof one, " rq=%u", ((__u32 *)d)[0]);
            if (m->udiag_state == 10)
                snprintf(one + strlen(one), sizeof one - strlen(one), " wq=%u", ((__u32 *)d)[1]);
            break;
        case UNIX_DIAG_MEMINFO: snprintf(one, sizeof one, " meminfo(%d)", dl); break;
        case UNIX_DIAG_SHUTDOWN: snprintf(one, sizeof one, " shutdown=%d", d[0]); break;
        case UNIX_DIAG_UID: snprintf(one, sizeof one, " uid=%u", *(__u32 *)d); break;
        default: snprintf(one, sizeof one, " attr%d", a->rta_type);
        }
        strcat(attrs, one);
    }
    snprintf(line, sizeof line, "%s type %d state %d%s", name_of(m->udiag_ino), m->udiag_type, m->udiag_state, attrs);
    add_line(line);
}

static void unix_req(int fd, const char *what, int flags, __u32 states, __u32 ino, __u32 show, const __u32 *cookie) {
    struct unix_diag_req r = {.sdiag_family = AF_UNIX, .udiag_states = states, .udiag_ino = ino, .udiag_show = show};
    r.udiag_cookie[0] = cookie ? cookie[0] : INET_DIAG_NOCOOKIE;
    r.udiag_cookie[1] = cookie ? cookie[1] : INET_DIAG_NOCOOKIE;
    printf("%s:\n", what);
    send_req(fd, SOCK_DIAG_BY_FAMILY, flags, &r, sizeof r, NULL, 0);
    read_answers(fd, show_unix, flags & NLM_F_DUMP);
}

static int bound_unix(int type, const char *name, int abstract) {
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    int s = socket(AF_UNIX, type, 0);
    strcpy(a.sun_path + abstract, name);
    bind(s, (void *)&a, offsetof(struct sockaddr_un, sun_path) + abstract + strlen(name) + !abstract);
    return s;
}

static void connect_unix(int s, const char *name, int abstract) {
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    strcpy(a.sun_path + abstract, name);
    connect(s, (void *)&a, offsetof(struct sockaddr_un, sun_path) + abstract + strlen(name) + !abstract);
}

/* ``with_data``: leave bytes queued (ss's Send-Q of a Unix socket is Linux's sk_wmem_alloc, the
   buffers' true size, which the Sentry's queues do not have: the ss case leaves none). */
static void make_unix_sockets(int with_data) {
    snprintf(path, sizeof path, "/tmp/sock_diag.%d", (int)getpid());
    unlink(path);
    int lp = label(bound_unix(SOCK_STREAM, path, 0), "listen-path");
    listen(lp, 4);
    int la = label(bound_unix(SOCK_STREAM, "sock_diag-abstract", 1), "listen-abstract");
    listen(la, 2);
    int pending = label(socket(AF_UNIX, SOCK_STREAM, 0), "client-pending");
    connect_unix(pending, "sock_diag-abstract", 1);
    int c = label(socket(AF_UNIX, SOCK_STREAM, 0), "client");
    connect_unix(c, path, 0);
    label(accept(lp, NULL, NULL), "accepted");
    int sp[2];
    socketpair(AF_UNIX, SOCK_STREAM, 0, sp);
    label(sp[0], "pair-a");
    label(sp[1], "pair-b");
    if (with_data)
        write(sp[0], "abc", 3);
    shutdown(sp[1], SHUT_WR);
    int d = label(bound_unix(SOCK_DGRAM, "sock_diag-dgram", 1), "dgram-bound");
    int dc = label(socket(AF_UNIX, SOCK_DGRAM, 0), "dgram-client");
    connect_unix(dc, "sock_diag-dgram", 1);
    if (with_data)
        send(dc, "12345678", 8, 0);
    label(socket(AF_UNIX, SOCK_DGRAM, 0), "dgram-alone");
    socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sp);
    label(sp[0], "seq-a");
    label(sp[1], "seq-b");
    (void)d;
}

static int unix_case(void) {
    if (own_netns())
        return 1;
    make_unix_sockets(1);
    int fd = diag_fd();
    __u32 show = UDIAG_SHOW_NAME | UDIAG_SHOW_VFS | UDIAG_SHOW_PEER | UDIAG_SHOW_ICONS | UDIAG_SHOW_RQLEN |
                 UDIAG_SHOW_UID | UDIAG_SHOW_MEMINFO;
    unix_req(fd, "every socket, everything", NLM_F_DUMP, -1, 0, show, NULL);
    unix_req(fd, "listening, nothing shown", NLM_F_DUMP, 1 << 10, 0, 0, NULL);
    unix_req(fd, "unconnected", NLM_F_DUMP, 1 << 7, 0, UDIAG_SHOW_PEER, NULL);
    unsigned long ino = 0;
    for (int i = 0; i < nlabels; i++)
        if (!strcmp(labels[i].name, "listen-path"))
            ino = labels[i].ino;
    unix_req(fd, "the path listener by inode", 0, -1, ino, UDIAG_SHOW_NAME | UDIAG_SHOW_ICONS, NULL);
    __u32 cookie[2] = {last_cookie[0], last_cookie[1]};
    unix_req(fd, "same, its cookie", 0, -1, ino, 0, cookie);
    __u32 wrong[2] = {cookie[0] + 1000, cookie[1]};
    unix_req(fd, "same, another cookie", 0, -1, ino, 0, wrong);
    unix_req(fd, "inode 0", 0, -1, 0, 0, NULL);
    unix_req(fd, "no such inode", 0, -1, 0x7ffffff0, 0, NULL);
    unlink(path);
    return 0;
}

/* --- errors ---------------------------------------------------------------------------------- */
static void show_none(struct nlmsghdr *h) { add_line(h->nlmsg_type == SOCK_DIAG_BY_FAMILY ? "answer" : "other"); }

static void request(int fd, const char *what, int type, int flags, const void *req, size_t len) {
    printf("%s:\n", what);
    send_req(fd, type, flags, req, len, NULL, 0);
    read_answers(fd, show_none, 1);
}

static int errors(void) {
    if (own_netns())
        return 1;
    int fd = diag_fd();
    struct inet_diag_req_v2 r = {.sdiag_family = AF_INET, .sdiag_protocol = IPPROTO_TCP, .idiag_states = -1};
    request(fd, "short inet request", SOCK_DIAG_BY_FAMILY, NLM_F_DUMP, &r, 20);
    request(fd, "two bytes of request, unix", SOCK_DIAG_BY_FAMILY, NLM_F_DUMP, "\x01\x00", 2);
    request(fd, "one byte", SOCK_DIAG_BY_FAMILY, NLM_F_DUMP, "\x02", 1);
    r.sdiag_family = 46;
    request(fd, "family AF_MAX", SOCK_DIAG_BY_FAMILY, NLM_F_DUMP, &r, sizeof r);
    r.sdiag_family = 5;
    request(fd, "family without a handler", SOCK_DIAG_BY_FAMILY, NLM_F_DUMP, &r, sizeof r);
    r.sdiag_family = AF_INET;
    r.sdiag_protocol = 200;
    request(fd, "protocol without a handler", SOCK_DIAG_BY_FAMILY, NLM_F_DUMP, &r, sizeof r);
    r.sdiag_protocol = IPPROTO_TCP;
    request(fd, "unknown message type", 30, NLM_F_DUMP, &r, sizeof r);
    request(fd, "empty dump with NLM_F_ACK", SOCK_DIAG_BY_FAMILY, NLM_F_DUMP | NLM_F_ACK, &r, sizeof r);
    printf("a control message with NLM_F_ACK:\n");
    send_req(fd, NLMSG_NOOP, NLM_F_ACK, &r, 4, NULL, 0);
    read_answers(fd, show_none, 1);
    /* several requests in one send: two dumps, the second refused while the first runs */
    char buf[256];
    struct nlmsghdr *h = (void *)buf;
    memset(buf, 0, sizeof buf);
    for (int i = 0; i < 2; i++) {
        struct nlmsghdr *m = (void *)(buf + i * NLMSG_SPACE(sizeof r));
        m->nlmsg_len = NLMSG_LENGTH(sizeof r);
        m->nlmsg_type = SOCK_DIAG_BY_FAMILY;
        m->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
        m->nlmsg_seq = 77;
        memcpy(NLMSG_DATA(m), &r, sizeof r);
    }
    printf("two dumps in one send:\n");
    printf("  sent %zd\n", send(fd, buf, 2 * NLMSG_SPACE(sizeof r), 0));
    read_answers(fd, show_none, 1);
    read_answers(fd, show_none, 1);
    (void)h;
    /* a read too short for the answer: MSG_TRUNC, the datagram gone */
    send_req(fd, SOCK_DIAG_BY_FAMILY, NLM_F_DUMP, &r, sizeof r, NULL, 0);
    char tiny[8];
    struct iovec iov = {tiny, sizeof tiny};
    struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
    ssize_t n = recvmsg(fd, &mh, MSG_TRUNC);
    printf("truncated read: %zd, MSG_TRUNC %d\n", n, !!(mh.msg_flags & MSG_TRUNC));
    printf("then: %zd\n", recv(fd, tiny, sizeof tiny, MSG_DONTWAIT));
    struct sockaddr_nl me;
    socklen_t sl = sizeof me;
    getsockname(fd, (void *)&me, &sl);
    printf("port is our pid: %d\n", me.nl_pid == (unsigned)getpid());
    return 0;
}

static int ss(void) {
    if (own_netns())
        return 1;
    make_inet_sockets();
    make_unix_sockets(0);
    const char *cmds[] = {"ss -tan", "ss -uan", "ss -xa", "ss -lntp"};
    for (int i = 0; i < 4; i++) {
        printf("$ %s\n", cmds[i]);
        fflush(stdout);
        if (system(cmds[i]) != 0)
            printf("failed\n");
    }
    for (int i = 0; i < nlabels; i++)
        printf("label %s %lu\n", labels[i].name, labels[i].ino);
    printf("pid %d\n", (int)getpid());
    unlink(path);
    return 0;
}

static int hostile(void) {
    if (own_netns())
        return 1;
    int fd = diag_fd();
    /* inet_diag_req_v2 + an INET_DIAG_REQ_BYTECODE attribute of 16,000 JMP ops */
    enum { OPS = 16000 };
    size_t bclen = OPS * sizeof(struct inet_diag_bc_op);
    size_t len = NLMSG_LENGTH(sizeof(struct inet_diag_req_v2) + NLA_HDRLEN + bclen);
    char *buf = calloc(1, len);
    struct nlmsghdr *h = (void *)buf;
    h->nlmsg_len = len;
    h->nlmsg_type = SOCK_DIAG_BY_FAMILY;
    h->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
    h->nlmsg_seq = 77;
    struct inet_diag_req_v2 *r = NLMSG_DATA(h);
    r->sdiag_family = AF_INET;
    r->sdiag_protocol = IPPROTO_TCP;
    r->idiag_states = -1;
    struct nlattr *a = (void *)(r + 1);
    a->nla_len = NLA_HDRLEN + bclen;
    a->nla_type = INET_DIAG_REQ_BYTECODE;
    struct inet_diag_bc_op *op = (void *)((char *)a + NLA_HDRLEN);
    for (int i = 0; i < OPS; i++) {
        op[i].code = INET_DIAG_BC_JMP;
        op[i].yes = 4;
        op[i].no = i < OPS - 1 ? 8 : 4;   /* a jump two ops ahead (the last one's: to the end) */
    }
    struct sockaddr_nl k = {.nl_family = AF_NETLINK};
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int i = 0; i < 4; i++) {
        printf("bytecode request: %s\n", sendto(fd, buf, len, 0, (void *)&k, sizeof k) == (ssize_t)len ? "sent" : strerrorname_np(errno));
        read_answers(fd, NULL, 1);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    printf("four answered within 20 s: %s\n", t1.tv_sec - t0.tv_sec < 20 ? "yes" : "no");
    free(buf);
    close(fd);

    /* ACK requests, 8 KiB of them per send, 64 sends, none read */
    fd = diag_fd();
    char msgs[8192];
    memset(msgs, 0, sizeof msgs);
    for (size_t off = 0; off < sizeof msgs; off += NLMSG_HDRLEN) {
        struct nlmsghdr *m = (void *)(msgs + off);
        m->nlmsg_len = NLMSG_HDRLEN;
        m->nlmsg_type = NLMSG_NOOP;
        m->nlmsg_flags = NLM_F_ACK;
    }
    int sent = 0;
    for (int i = 0; i < 64; i++)
        sent += sendto(fd, msgs, sizeof msgs, 0, (void *)&k, sizeof k) == sizeof msgs;
    printf("sends %d\n", sent);
    int first = recv(fd, msgs, sizeof msgs, MSG_DONTWAIT);
    printf("first recv: %s\n", first < 0 ? strerrorname_np(errno) : "an answer");
    long acks = 0;
    int n;
    while ((n = recv(fd, msgs, sizeof msgs, MSG_DONTWAIT)) > 0)
        acks++;
    printf("then acks read: %s, fewer than sent: %s, then %s\n", acks > 0 ? "yes" : "no",
           acks < 64L * (sizeof msgs / NLMSG_HDRLEN) ? "yes" : "no", strerrorname_np(errno));
    return 0;
}

int main(int argc, char **argv) {
    const char *c = argc > 1 ? argv[1] : "";
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (!strcmp(c, "inet")) return inet();
    if (!strcmp(c, "unix")) return unix_case();
    if (!strcmp(c, "errors")) return errors();
    if (!strcmp(c, "ss")) return ss();
    if (!strcmp(c, "hostile")) return hostile();
    fprintf(stderr, "unknown case %s\n", c);
    return 2;
}
