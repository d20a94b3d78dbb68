/* UDP across processes: a forked client sends datagrams of many sizes (unconnected sendto,
 * connected send, sendmsg with two iovecs, sendmmsg); the server echoes each one back to
 * its sender with recvfrom/sendto. Checks boundaries, MSG_TRUNC, MSG_PEEK, addresses. */
#define _GNU_SOURCE 1
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

static int sizes[] = {0, 1, 100, 1472, 1500, 8192, 65000, 65507};
#define N (int)(sizeof sizes / sizeof sizes[0])

static void pattern(char *p, int n, int seed)
{
    for (int i = 0; i < n; i++)
        p[i] = (char)(i * 7 + seed);
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    int srv = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof sa;
    if (srv < 0 || bind(srv, (struct sockaddr *)&sa, sizeof sa) || getsockname(srv, (struct sockaddr *)&sa, &len)) {
        perror("server");
        return 1;
    }
    pid_t pid = fork();
    if (pid == 0) {
        int c = socket(AF_INET, SOCK_DGRAM, 0);
        char *out = malloc(65536), *in = malloc(65536);
        int bad = 0;
        for (int i = 0; i < N; i++) {
            pattern(out, sizes[i], i);
            ssize_t w;
            if (i % 3 == 0)
                w = sendto(c, out, sizes[i], 0, (struct sockaddr *)&sa, sizeof sa);
            else if (i % 3 == 1) {
                if (connect(c, (struct sockaddr *)&sa, sizeof sa))
                    perror("connect");
                w = send(c, out, sizes[i], 0);
            } else {
                struct iovec iov[2] = {{out, sizes[i] / 3}, {out + sizes[i] / 3, sizes[i] - sizes[i] / 3}};
                struct msghdr m = {.msg_name = &sa, .msg_namelen = sizeof sa, .msg_iov = iov, .msg_iovlen = 2};
                w = sendmsg(c, &m, 0);
            }
            struct sockaddr_in from;
            socklen_t fl = sizeof from;
            ssize_t r = recvfrom(c, in, 65536, 0, (struct sockaddr *)&from, &fl);
            int same = r == sizes[i] && memcmp(in, out, r) == 0 && from.sin_port == sa.sin_port;
            printf("size %d: sent %zd echoed %zd %s\n", sizes[i], w, r, same ? "ok" : "MISMATCH");
            bad |= !same;
        }
        /* Truncation: a 1000-byte datagram into a 10-byte buffer. */
        pattern(out, 1000, 99);
        send(c, out, 1000, 0);
        struct iovec iov = {in, 10};
        struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};
        ssize_t r = recvmsg(c, &m, MSG_PEEK);
        printf("peek %zd flags trunc=%d\n", r, !!(m.msg_flags & MSG_TRUNC));
        r = recv(c, in, 10, MSG_TRUNC);
        printf("recv MSG_TRUNC %zd\n", r);
        /* sendmmsg: three datagrams in one call, echoed one by one. */
        struct mmsghdr mm[3];
        struct iovec v[3];
        memset(mm, 0, sizeof mm);
        for (int i = 0; i < 3; i++) {
            v[i].iov_base = out;
            v[i].iov_len = 10 * (i + 1);
            mm[i].msg_hdr.msg_iov = &v[i];
            mm[i].msg_hdr.msg_iovlen = 1;
        }
        int k = sendmmsg(c, mm, 3, 0);
        printf("sendmmsg %d:", k);
        for (int i = 0; i < 3; i++)
            printf(" %zd", recv(c, in, 65536, 0));
        printf("\n");
        send(c, "quit", 4, 0);
        exit(bad);
    }
    char *buf = malloc(65536);
    for (;;) {
        struct sockaddr_in from;
        socklen_t fl = sizeof from;
        ssize_t r = recvfrom(srv, buf, 65536, 0, (struct sockaddr *)&from, &fl);
        if (r < 0) {
            perror("recvfrom");
            return 1;
        }
        if (r == 4 && memcmp(buf, "quit", 4) == 0)
            break;
        if (from.sin_addr.s_addr != htonl(INADDR_LOOPBACK) || fl != sizeof from)
            printf("odd sender\n");
        sendto(srv, buf, r, 0, (struct sockaddr *)&from, fl);
    }
    int status;
    waitpid(pid, &status, 0);
    printf("client exit %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    return 0;
}
