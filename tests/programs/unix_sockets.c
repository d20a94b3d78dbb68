/* AF_UNIX in one process: socketpair stream/dgram/seqpacket, SCM_RIGHTS, credentials, bind/connect/accept. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define SHOW(label, expr) do { long _r = (long)(expr); int _e = errno; printf("%s: %ld errno=%d\n", label, _r, _r < 0 ? _e : 0); } while (0)

static int send_fd(int s, int fd) {
    char c = 'F';
    struct iovec iov = {&c, 1};
    union { struct cmsghdr h; char buf[CMSG_SPACE(sizeof(int))]; } u;
    struct msghdr m = {0};
    m.msg_iov = &iov; m.msg_iovlen = 1;
    m.msg_control = u.buf; m.msg_controllen = sizeof u.buf;
    struct cmsghdr *c0 = CMSG_FIRSTHDR(&m);
    c0->cmsg_level = SOL_SOCKET; c0->cmsg_type = SCM_RIGHTS; c0->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c0), &fd, sizeof fd);
    return sendmsg(s, &m, 0);
}

static int recv_fd(int s, size_t ctl, int *flags) {
    char c;
    struct iovec iov = {&c, 1};
    char buf[256];
    struct msghdr m = {0};
    m.msg_iov = &iov; m.msg_iovlen = 1;
    m.msg_control = buf; m.msg_controllen = ctl;
    int n = recvmsg(s, &m, MSG_CMSG_CLOEXEC);
    *flags = m.msg_flags;
    if (n <= 0) return -100;
    struct cmsghdr *c0 = CMSG_FIRSTHDR(&m);
    if (!c0 || c0->cmsg_type != SCM_RIGHTS) return -1;
    int fd;
    memcpy(&fd, CMSG_DATA(c0), sizeof fd);
    return fd;
}

int main(void) {
    int sv[2];
    char buf[256];
    SHOW("socketpair stream", socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
    SHOW("send", send(sv[0], "hello", 5, 0));
    SHOW("send2", write(sv[0], " world", 6));
    SHOW("peek", recv(sv[1], buf, 3, MSG_PEEK));
    SHOW("recv", recv(sv[1], buf, sizeof buf, 0));
    printf("data '%.11s'\n", buf);
    SHOW("recv empty nb", recv(sv[1], buf, sizeof buf, MSG_DONTWAIT));
    int type = 0; socklen_t tl = sizeof type;
    getsockopt(sv[0], SOL_SOCKET, SO_TYPE, &type, &tl);
    printf("SO_TYPE %d len %d\n", type, tl);
    struct ucred cr; socklen_t cl = sizeof cr;
    SHOW("peercred", getsockopt(sv[0], SOL_SOCKET, SO_PEERCRED, &cr, &cl));
    printf("cred pid ok %d uid %d\n", cr.pid == getpid(), cr.uid == geteuid());
    struct sockaddr_un sa; socklen_t sl = sizeof sa;
    SHOW("getsockname", getsockname(sv[0], (struct sockaddr *)&sa, &sl));
    printf("len %d family %d\n", sl, sa.sun_family);
    /* fd passing */
    int p[2];
    pipe(p);
    SHOW("send_fd", send_fd(sv[0], p[1]));
    int fl;
    int got = recv_fd(sv[1], 256, &fl);
    printf("got fd ok %d cloexec %d flags %#x\n", got >= 0, fcntl(got, F_GETFD), fl);
    write(got, "via", 3);
    read(p[0], buf, 3);
    printf("through passed fd: %.3s\n", buf);
    send_fd(sv[0], p[1]);
    got = recv_fd(sv[1], 8, &fl);
    printf("ctrunc: ret %d flags %#x\n", got, fl);
    /* shutdown */
    SHOW("shutdown wr", shutdown(sv[0], SHUT_WR));
    SHOW("recv eof", recv(sv[1], buf, 10, 0));
    SHOW("send after shut", send(sv[0], "x", 1, MSG_NOSIGNAL));
    struct pollfd pf = {sv[1], POLLIN | POLLOUT | POLLRDHUP, 0};
    poll(&pf, 1, 0);
    printf("poll after peer shut %#x\n", pf.revents);
    close(sv[0]);
    pf.revents = 0;
    poll(&pf, 1, 0);
    printf("poll after peer close %#x\n", pf.revents);
    close(sv[1]);

    /* dgram and seqpacket */
    SHOW("socketpair dgram", socketpair(AF_UNIX, SOCK_DGRAM, 0, sv));
    send(sv[0], "one", 3, 0);
    send(sv[0], "twothree", 8, 0);
    SHOW("dgram recv trunc", recv(sv[1], buf, 2, 0));
    SHOW("dgram recv MSG_TRUNC", recv(sv[1], buf, 2, MSG_TRUNC));
    close(sv[0]); close(sv[1]);
    SHOW("socketpair seqpacket", socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv));
    send(sv[0], "abc", 3, 0);
    send(sv[0], "defg", 4, 0);
    SHOW("seq 1", recv(sv[1], buf, 100, 0));
    SHOW("seq 2", recv(sv[1], buf, 100, 0));
    close(sv[0]);
    SHOW("seq eof", recv(sv[1], buf, 100, 0));
    close(sv[1]);

    /* bind/listen/connect/accept on a path */
    unlink("/tmp/sv.sock");
    int l = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    strcpy(sa.sun_path, "/tmp/sv.sock");
    SHOW("listen unbound", listen(socket(AF_UNIX, SOCK_STREAM, 0), 5));
    SHOW("bind", bind(l, (struct sockaddr *)&sa, sizeof sa));
    SHOW("bind again", bind(socket(AF_UNIX, SOCK_STREAM, 0), (struct sockaddr *)&sa, sizeof sa));
    struct stat st;
    stat("/tmp/sv.sock", &st);
    printf("is socket %d\n", S_ISSOCK(st.st_mode));
    SHOW("listen", listen(l, 5));
    SHOW("accept empty", accept(l, NULL, NULL));
    int c = socket(AF_UNIX, SOCK_STREAM, 0);
    SHOW("connect", connect(c, (struct sockaddr *)&sa, sizeof sa));
    pf.fd = l; pf.events = POLLIN; pf.revents = 0;
    poll(&pf, 1, 0);
    printf("listener readable %#x\n", pf.revents);
    struct sockaddr_un peer; socklen_t pl = sizeof peer;
    int a = accept4(l, (struct sockaddr *)&peer, &pl, SOCK_CLOEXEC);
    printf("accepted %d peerlen %d\n", a >= 0, pl);
    sl = sizeof sa;
    getpeername(c, (struct sockaddr *)&sa, &sl);
    printf("client's peer: %s\n", sa.sun_path);
    send(c, "ping", 4, 0);
    SHOW("server recv", recv(a, buf, 10, 0));
    close(a); close(c); close(l);
    unlink("/tmp/sv.sock");
    strcpy(sa.sun_path, "/tmp/nonexistent.sock");
    c = socket(AF_UNIX, SOCK_STREAM, 0);
    SHOW("connect missing", connect(c, (struct sockaddr *)&sa, sizeof sa));
    /* abstract name */
    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    memcpy(sa.sun_path, "\0svabstract", 11);
    socklen_t alen = offsetof(struct sockaddr_un, sun_path) + 11;
    l = socket(AF_UNIX, SOCK_SEQPACKET, 0);
    SHOW("bind abstract", bind(l, (struct sockaddr *)&sa, alen));
    listen(l, 1);
    c = socket(AF_UNIX, SOCK_SEQPACKET, 0);
    SHOW("connect abstract", connect(c, (struct sockaddr *)&sa, alen));
    a = accept(l, NULL, NULL);
    sl = sizeof sa;
    getsockname(a, (struct sockaddr *)&sa, &sl);
    printf("accepted name len %d first %d '%.10s'\n", sl, sa.sun_path[0], sa.sun_path + 1);
    /* autobind */
    int d = socket(AF_UNIX, SOCK_DGRAM, 0);
    SHOW("autobind", bind(d, (struct sockaddr *)&sa, sizeof(sa_family_t)));
    sl = sizeof sa;
    getsockname(d, (struct sockaddr *)&sa, &sl);
    printf("autobind len %d\n", sl);
    SHOW("bad family", socket(12345, SOCK_STREAM, 0));
    SHOW("bad type", socket(AF_UNIX, 9, 0));
    SHOW("bad proto", socket(AF_UNIX, SOCK_STREAM, 7));
    SHOW("bad flags", socket(AF_UNIX, SOCK_STREAM | 0x100000, 0));
    SHOW("notsock", listen(0, 1));
    return 0;
}
