/* TCP echo over loopback and UDP in one process with non-blocking sockets; sendfile file -> socket. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <unistd.h>

#define SHOW(label, expr) do { long _r = (long)(expr); int _e = errno; printf("%s: %ld errno=%d\n", label, _r, _r < 0 ? _e : 0); } while (0)

static void wait_fd(int fd, short ev) { struct pollfd p = {fd, ev, 0}; poll(&p, 1, 5000); }

int main(void) {
    int l = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    int one = 1;
    SHOW("reuseaddr", setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one));
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    SHOW("bind", bind(l, (struct sockaddr *)&a, sizeof a));
    socklen_t al = sizeof a;
    getsockname(l, (struct sockaddr *)&a, &al);
    printf("port nonzero %d len %d\n", a.sin_port != 0, al);
    SHOW("listen", listen(l, 16));
    SHOW("accept empty", accept(l, NULL, NULL));
    int c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    int r = connect(c, (struct sockaddr *)&a, sizeof a);
    printf("connect: %d %s\n", r, r == 0 || errno == EINPROGRESS ? "ok" : strerror(errno));
    wait_fd(c, POLLOUT);
    int err = -1; socklen_t el = sizeof err;
    getsockopt(c, SOL_SOCKET, SO_ERROR, &err, &el);
    printf("SO_ERROR %d\n", err);
    wait_fd(l, POLLIN);
    struct sockaddr_in peer; socklen_t pl = sizeof peer;
    int s = accept4(l, (struct sockaddr *)&peer, &pl, SOCK_NONBLOCK);
    printf("accepted %d family %d\n", s >= 0, peer.sin_family);
    SHOW("nodelay", setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one));
    int nd = 0; socklen_t nl = sizeof nd;
    getsockopt(c, IPPROTO_TCP, TCP_NODELAY, &nd, &nl);
    printf("nodelay get %d\n", nd != 0);
    /* echo through epoll */
    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN | EPOLLET, .data.fd = s};
    epoll_ctl(ep, EPOLL_CTL_ADD, s, &ev);
    SHOW("send", send(c, "ping over tcp", 13, 0));
    struct epoll_event out[4];
    SHOW("epoll_wait", epoll_wait(ep, out, 4, 5000));
    char buf[200000];
    SHOW("server recv", recv(s, buf, sizeof buf, 0));
    SHOW("epoll ET again", epoll_wait(ep, out, 4, 50));
    send(s, buf, 13, 0);
    wait_fd(c, POLLIN);
    SHOW("client recv", recv(c, buf, sizeof buf, 0));
    printf("echo '%.13s'\n", buf);
    /* a bigger transfer */
    memset(buf, 'z', sizeof buf);
    long sent = 0, got = 0;
    while (got < (long)sizeof buf) {
        if (sent < (long)sizeof buf) { long n = send(c, buf + sent, sizeof buf - sent, 0); if (n > 0) sent += n; }
        char tmp[65536];
        long n = recv(s, tmp, sizeof tmp, 0);
        if (n > 0) got += n; else wait_fd(s, POLLIN);
    }
    printf("bulk %ld %ld\n", sent, got);
    /* sendfile */
    int f = open("/proc/self/exe", O_RDONLY);
    off_t off = 0;
    long sf = sendfile(c, f, &off, 1000);
    printf("sendfile %ld off %ld\n", sf, (long)off);
    long want = sf; got = 0;
    while (got < want) { long n = recv(s, buf, sizeof buf, 0); if (n > 0) got += n; else wait_fd(s, POLLIN); }
    printf("elf magic %d\n", memcmp(buf, "\177ELF", 4) == 0);
    shutdown(c, SHUT_WR);
    wait_fd(s, POLLIN);
    SHOW("eof", recv(s, buf, 10, 0));
    close(s); close(c); close(l);
    c = socket(AF_INET, SOCK_STREAM, 0);
    a.sin_port = htons(1);
    SHOW("connect refused", connect(c, (struct sockaddr *)&a, sizeof a));
    /* UDP */
    int u1 = socket(AF_INET, SOCK_DGRAM, 0), u2 = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    struct sockaddr_in b = {.sin_family = AF_INET, .sin_port = 0, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    bind(u2, (struct sockaddr *)&b, sizeof b);
    al = sizeof b;
    getsockname(u2, (struct sockaddr *)&b, &al);
    SHOW("recv empty udp", recv(u2, buf, 10, 0));
    SHOW("sendto", sendto(u1, "datagram", 8, 0, (struct sockaddr *)&b, sizeof b));
    wait_fd(u2, POLLIN);
    struct sockaddr_in from; socklen_t fl = sizeof from;
    SHOW("recvfrom trunc", recvfrom(u2, buf, 4, MSG_TRUNC, (struct sockaddr *)&from, &fl));
    printf("from loopback %d fl %d\n", from.sin_addr.s_addr == htonl(INADDR_LOOPBACK), fl);
    SHOW("socketpair inet", socketpair(AF_INET, SOCK_STREAM, 0, (int[2]){0}));
    int s6 = socket(AF_INET6, SOCK_STREAM, 0);
    int v6 = 0; socklen_t v6l = sizeof v6;
    SHOW("v6only set", setsockopt(s6, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one));
    getsockopt(s6, IPPROTO_IPV6, IPV6_V6ONLY, &v6, &v6l);
    printf("v6only %d\n", v6);
    return 0;
}
