/* UDP ancillary data (differential): IP_PKTINFO, IP_RECVTTL, IP_RECVTOS, SO_TIMESTAMP and
 * IPV6_RECVHOPLIMIT/IPV6_RECVTCLASS on receive; IP_TTL, IP_TOS, IPV6_HOPLIMIT, IPV6_TCLASS
 * as control messages on send; a control buffer too small for everything (MSG_CTRUNC, a cut
 * cmsg_len) and none at all. Prints levels, types, lengths and the deterministic values. */
#define _GNU_SOURCE 1
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static void show(const char *what, struct msghdr *m, ssize_t r)
{
    printf("%s: r=%zd controllen=%zu ctrunc=%d\n", what, r, (size_t)m->msg_controllen,
           !!(m->msg_flags & MSG_CTRUNC));
    if (r < 0)
        return;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(m); c; c = CMSG_NXTHDR(m, c)) {
        printf("  cmsg level=%d type=%d len=%zu", c->cmsg_level, c->cmsg_type, (size_t)c->cmsg_len);
        int v;
        if (c->cmsg_len >= CMSG_LEN(sizeof v) &&
            ((c->cmsg_level == IPPROTO_IP && (c->cmsg_type == IP_TTL)) ||
             (c->cmsg_level == IPPROTO_IPV6 && (c->cmsg_type == IPV6_HOPLIMIT || c->cmsg_type == IPV6_TCLASS)))) {
            memcpy(&v, CMSG_DATA(c), sizeof v);
            printf(" value=%d", v);
        }
        if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_TOS && c->cmsg_len >= CMSG_LEN(1))
            printf(" tos=%#x", *(unsigned char *)CMSG_DATA(c));
        if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO && c->cmsg_len >= CMSG_LEN(sizeof(struct in_pktinfo))) {
            struct in_pktinfo pi;
            memcpy(&pi, CMSG_DATA(c), sizeof pi);
            printf(" ifindex>0=%d addr=%s", pi.ipi_ifindex > 0, inet_ntoa(pi.ipi_addr));
        }
        printf("\n");
    }
}

static ssize_t recv_with(int s, char *ctl, size_t ctllen, struct msghdr *m)
{
    static char data[64];
    static struct iovec iov;
    iov.iov_base = data;
    iov.iov_len = sizeof data;
    memset(m, 0, sizeof *m);
    m->msg_iov = &iov;
    m->msg_iovlen = 1;
    m->msg_control = ctl;
    m->msg_controllen = ctllen;
    return recvmsg(s, m, 0);
}

static void send_with(int s, struct sockaddr *to, socklen_t tolen, int level, int t1, int v1, int t2, int v2)
{
    union { char buf[2 * CMSG_SPACE(sizeof(int))]; struct cmsghdr align; } u;
    memset(&u, 0, sizeof u);
    struct iovec iov = {"ping", 4};
    struct msghdr m = {.msg_name = to, .msg_namelen = tolen, .msg_iov = &iov, .msg_iovlen = 1,
                       .msg_control = u.buf, .msg_controllen = sizeof u.buf};
    struct cmsghdr *c = CMSG_FIRSTHDR(&m);
    c->cmsg_level = level, c->cmsg_type = t1, c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &v1, sizeof v1);
    c = CMSG_NXTHDR(&m, c);
    c->cmsg_level = level, c->cmsg_type = t2, c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &v2, sizeof v2);
    printf("sendmsg with cmsgs: %zd\n", sendmsg(s, &m, 0));
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    int one = 1;
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof sa;
    bind(s, (struct sockaddr *)&sa, len);
    getsockname(s, (struct sockaddr *)&sa, &len);
    printf("IP_PKTINFO: %d\n", setsockopt(s, IPPROTO_IP, IP_PKTINFO, &one, sizeof one));
    printf("IP_RECVTTL: %d\n", setsockopt(s, IPPROTO_IP, IP_RECVTTL, &one, sizeof one));
    printf("IP_RECVTOS: %d\n", setsockopt(s, IPPROTO_IP, IP_RECVTOS, &one, sizeof one));
    int v = 0;
    socklen_t vl = sizeof v;
    printf("getsockopt IP_RECVTTL: %d value=%d\n", getsockopt(s, IPPROTO_IP, IP_RECVTTL, &v, &vl), v);

    union { char buf[512]; struct cmsghdr align; } ctl;
    struct msghdr m;
    send_with(s, (struct sockaddr *)&sa, len, IPPROTO_IP, IP_TTL, 7, IP_TOS, 0x10);
    show("recvmsg, room for all", &m, recv_with(s, ctl.buf, sizeof ctl.buf, &m));
    sendto(s, "x", 1, 0, (struct sockaddr *)&sa, len);
    show("recvmsg, room for one", &m, recv_with(s, ctl.buf, CMSG_SPACE(sizeof(struct in_pktinfo)), &m));
    sendto(s, "x", 1, 0, (struct sockaddr *)&sa, len);
    show("recvmsg, room for a header and 2 bytes", &m, recv_with(s, ctl.buf, sizeof(struct cmsghdr) + 2, &m));
    sendto(s, "x", 1, 0, (struct sockaddr *)&sa, len);
    show("recvmsg, no control buffer", &m, recv_with(s, NULL, 0, &m));
    printf("SO_TIMESTAMP: %d\n", setsockopt(s, SOL_SOCKET, SO_TIMESTAMP, &one, sizeof one));
    sendto(s, "x", 1, 0, (struct sockaddr *)&sa, len);
    show("recvmsg with SO_TIMESTAMP", &m, recv_with(s, ctl.buf, sizeof ctl.buf, &m));
    close(s);

    int s6 = socket(AF_INET6, SOCK_DGRAM, 0);
    struct sockaddr_in6 sa6 = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT};
    len = sizeof sa6;
    if (bind(s6, (struct sockaddr *)&sa6, len) < 0) {
        printf("no IPv6 loopback\n");
        return 0;
    }
    getsockname(s6, (struct sockaddr *)&sa6, &len);
    printf("IPV6_RECVHOPLIMIT: %d\n", setsockopt(s6, IPPROTO_IPV6, IPV6_RECVHOPLIMIT, &one, sizeof one));
    printf("IPV6_RECVTCLASS: %d\n", setsockopt(s6, IPPROTO_IPV6, IPV6_RECVTCLASS, &one, sizeof one));
    sendto(s6, "x", 1, 0, (struct sockaddr *)&sa6, len);
    show("recvmsg v6", &m, recv_with(s6, ctl.buf, sizeof ctl.buf, &m));
    send_with(s6, (struct sockaddr *)&sa6, len, IPPROTO_IPV6, IPV6_HOPLIMIT, 5, IPV6_TCLASS, 0x20);
    show("recvmsg v6 after sending with cmsgs", &m, recv_with(s6, ctl.buf, sizeof ctl.buf, &m));
    return 0;
}
