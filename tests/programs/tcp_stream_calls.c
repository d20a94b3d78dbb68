/* read/write/send/recv on a TCP loopback connection, the cases a call that moves its bytes at once
 * and one that must wait or go on tell apart: blocking writes larger than the socket buffers, or
 * into buffers with only some room (the rest queued as the reader drains), a non-blocking one that
 * fills them (a partial count, then EAGAIN), reads with data queued or none (EAGAIN), MSG_PEEK,
 * recvfrom's empty source address, readv/writev, EPIPE with and without SIGPIPE, ECONNRESET after
 * the peer's reset, EFAULT. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#define SHOW(label, expr) do { long _r = (long)(expr); int _e = errno; \
    printf("%s: %ld errno=%d\n", label, _r, _r < 0 ? _e : 0); } while (0)
#define BIG (8 << 20)

static volatile sig_atomic_t sigpipes;
static void on_pipe(int sig) { (void)sig; sigpipes++; }

static int listener, small_listener;   /* small: 64 KiB receive buffers, set before listen */
static struct sockaddr_in addr, small_addr;

static void pair_on(int l, struct sockaddr_in *a, int sndbuf, int *client, int *server)
{
    *client = socket(AF_INET, SOCK_STREAM, 0);
    if (sndbuf)
        setsockopt(*client, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
    if (connect(*client, (struct sockaddr *)a, sizeof *a) != 0) {
        perror("connect");
        exit(1);
    }
    *server = accept(l, NULL, NULL);
}

static void pair(int *client, int *server)
{
    pair_on(listener, &addr, 0, client, server);
}

static int listen_on(struct sockaddr_in *a, int rcvbuf)
{
    int l = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (rcvbuf)
        setsockopt(l, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    a->sin_family = AF_INET;
    a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(l, (struct sockaddr *)a, sizeof *a) != 0 || listen(l, 8) != 0) {
        perror("listen");
        exit(1);
    }
    socklen_t len = sizeof *a;
    getsockname(l, (struct sockaddr *)a, &len);
    return l;
}

/* One blocking write of ``len`` bytes of ``buf`` on ``c`` while a child reads ``s`` to EOF: the
 * write must queue all of them, waiting for room as the child drains; the child checks that it
 * got ``expect`` bytes in all. */
static void write_while_child_drains(int c, int s, char *buf, long len, long expect, const char *label)
{
    pid_t pid = fork();
    if (pid == 0) {
        close(c);
        long got = 0;
        ssize_t r;
        while ((r = read(s, buf, 65536)) > 0)
            got += r;
        _exit(got == expect ? 0 : 1);
    }
    close(s);
    SHOW(label, write(c, buf, len));
    close(c);
    int status;
    waitpid(pid, &status, 0);
    printf("reader got all: %d\n", WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static void big_blocking_write(void)
{
    int c, s;
    pair(&c, &s);
    char *buf = malloc(BIG);
    memset(buf, 'b', BIG);
    write_while_child_drains(c, s, buf, BIG, BIG, "blocking write of 8 MiB");
    free(buf);
}

/* A blocking write of 1 MiB into a connection whose buffers were full and now have some room:
 * the first host send takes part of it, the rest is queued as the child drains. */
static void partial_then_blocking_write(void)
{
    int c, s;
    pair_on(small_listener, &small_addr, 65536, &c, &s);   /* small buffers: 1 MiB cannot fit */
    char *buf = calloc(1, 1 << 20);
    fcntl(c, F_SETFL, O_NONBLOCK);
    long filled = 0;
    ssize_t w;
    while ((w = write(c, buf, 65536)) > 0)
        filled += w;
    fcntl(c, F_SETFL, 0);
    long taken = 0;
    while (taken < 65536 && (w = read(s, buf, 65536)) > 0)
        taken += w;
    write_while_child_drains(c, s, buf, 1 << 20, filled - taken + (1 << 20),
                             "blocking write of 1 MiB after a full buffer");
    free(buf);
}

static void nonblocking_fill(void)
{
    int c, s;
    pair(&c, &s);
    fcntl(c, F_SETFL, O_NONBLOCK);
    fcntl(s, F_SETFL, O_NONBLOCK);
    char buf[64];
    SHOW("read nothing queued", read(s, buf, sizeof buf));
    SHOW("recv nothing queued", recv(s, buf, sizeof buf, 0));
    char *big = calloc(1, BIG);
    ssize_t w = write(c, big, BIG);
    printf("non-blocking write: partial %d\n", w > 0 && w < BIG);
    long more = 0;
    while ((w = send(c, big, 65536, 0)) > 0)
        more += w;
    printf("filled: errno=%d\n", errno);
    SHOW("write when full", write(c, big, 10));
    free(big);
    close(c);
    close(s);
}

static void reads(void)
{
    int c, s;
    pair(&c, &s);
    SHOW("write", write(c, "hello world", 11));
    char buf[64] = {0};
    SHOW("recv peek", recv(s, buf, 5, MSG_PEEK));
    printf("peeked '%.5s'\n", buf);
    struct sockaddr_in from;
    socklen_t fl = sizeof from;
    memset(&from, 0x55, sizeof from);
    SHOW("recvfrom with address", recvfrom(s, buf, 5, 0, (struct sockaddr *)&from, &fl));
    printf("recvfrom '%.5s' addrlen %d\n", buf, (int)fl);
    SHOW("read rest", read(s, buf, sizeof buf));
    printf("rest '%.6s'\n", buf);
    char a[3], b[5];
    struct iovec out[2] = {{"abc", 3}, {"defgh", 5}}, in[2] = {{a, 3}, {b, 5}};
    SHOW("writev", writev(c, out, 2));
    SHOW("send dontwait", send(c, "!", 1, MSG_DONTWAIT));
    SHOW("readv", readv(s, in, 2));
    printf("readv '%.3s' '%.5s'\n", a, b);
    SHOW("recv dontwait", recv(s, buf, sizeof buf, MSG_DONTWAIT));
    SHOW("recv dontwait empty", recv(s, buf, sizeof buf, MSG_DONTWAIT));
    char *volatile bad = (char *)8;
    SHOW("write", write(c, "zz", 2));
    SHOW("read bad buffer", read(s, bad, 10));   /* the bytes stay queued */
    SHOW("write bad buffer", write(c, bad, 10));
    SHOW("send bad buffer", send(c, bad, 10, 0));
    SHOW("recv after the fault", recv(s, buf, sizeof buf, MSG_DONTWAIT));
    close(c);
    SHOW("read at EOF", read(s, buf, sizeof buf));
    SHOW("recv at EOF", recv(s, buf, sizeof buf, 0));
    close(s);
}

static void broken(void)
{
    int c, s;
    pair(&c, &s);
    shutdown(c, SHUT_WR);
    SHOW("write after SHUT_WR", write(c, "x", 1));
    printf("sigpipes %d\n", (int)sigpipes);
    SHOW("send MSG_NOSIGNAL after SHUT_WR", send(c, "x", 1, MSG_NOSIGNAL));
    printf("sigpipes %d\n", (int)sigpipes);
    SHOW("send after SHUT_WR", send(c, "x", 1, 0));
    printf("sigpipes %d\n", (int)sigpipes);
    close(c);
    close(s);
    /* The peer resets the connection (SO_LINGER 0): a read with nothing queued gets ECONNRESET,
     * the next one EOF. */
    pair(&c, &s);
    struct linger lg = {1, 0};
    setsockopt(s, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    close(s);
    char buf[16];
    SHOW("read after reset", read(c, buf, sizeof buf));
    SHOW("read after reset again", read(c, buf, sizeof buf));
    close(c);
}

int main(void)
{
    signal(SIGPIPE, on_pipe);
    listener = listen_on(&addr, 0);
    small_listener = listen_on(&small_addr, 65536);
    reads();
    nonblocking_fill();
    big_blocking_write();
    partial_then_blocking_write();
    broken();
    return 0;
}
