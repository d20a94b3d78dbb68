/* TCP over 127.0.0.1, three modes:
 *   net tcp TARGET_MS SIZE_BYTES        a forked client sends SIZE bytes per
 *                                       connection to a server in this process
 *   net tcp_host TARGET_MS SIZE_BYTES PORT
 *                                       a client of `net serve` on the host: sends
 *                                       SIZE bytes, half-closes, checks the 8-byte
 *                                       count the server replies with
 *   net serve 0 PORT                    that server (run natively by the driver):
 *                                       prints "port=N" (PORT 0: any free port),
 *                                       then per connection reads to EOF, replies
 *                                       with the count (big-endian uint64), closes;
 *                                       runs until killed
 * One operation = connect + transfer of SIZE bytes + close. */
#include "bench.h"
#include <arpa/inet.h>
#include <endian.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>

#define CHUNK (64 * 1024)

static long size;
static int listener;
static struct sockaddr_in addr;
static char *buf;

/* A fresh network namespace (runc) has lo down; raise it when we may. */
static void loopback_up(void)
{
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    if (s < 0)
        return;
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    strcpy(ifr.ifr_name, "lo");
    if (ioctl(s, SIOCGIFFLAGS, &ifr) == 0 && !(ifr.ifr_flags & IFF_UP)) {
        ifr.ifr_flags |= IFF_UP;
        ioctl(s, SIOCSIFFLAGS, &ifr);
    }
    close(s);
}

static void listen_loopback(int port)
{
    listener = socket(AF_INET, SOCK_STREAM, 0);
    bench_check(listener >= 0, "socket");
    int one = 1;
    setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(port);
    bench_check(bind(listener, (struct sockaddr *)&addr, sizeof addr) == 0, "bind");
    bench_check(listen(listener, 64) == 0, "listen");
    socklen_t len = sizeof addr;
    bench_check(getsockname(listener, (struct sockaddr *)&addr, &len) == 0, "getsockname");
}

/* A socket connected to addr. A forked client (may_report 0) only fails: its
 * "unsupported" line would not reach the driver before the parent's. */
static int connect_server(int may_report)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    if (s < 0 || connect(s, (struct sockaddr *)&addr, sizeof addr) != 0) {
        if (may_report)
            bench_check(0, "client connect");
        bench_fail("client connect");
    }
    return s;
}

/* send(2) rather than write(2) on the host-network client: this runsc
 * release's host network stack returns EAGAIN from read/write on a blocking
 * socket (send/recv block as they should). */
static void send_size(int s, int use_send)
{
    for (long left = size; left > 0;) {
        size_t len = left < CHUNK ? left : CHUNK;
        ssize_t w = use_send ? send(s, buf, len, 0) : write(s, buf, len);
        if (w <= 0)
            bench_fail("client write");
        left -= w;
    }
}

/* Reads to EOF; the number of bytes read, or -1 on error. */
static long drain(int c)
{
    long got = 0;
    for (;;) {
        ssize_t r = read(c, buf, CHUNK);
        if (r < 0)
            return -1;
        if (r == 0)
            return got;
        got += r;
    }
}

static void client(long n)
{
    for (long i = 0; i < n; i++) {
        int s = connect_server(0);
        send_size(s, 0);
        close(s);
    }
    _exit(0);
}

static void op_transfer(long n, void *arg)
{
    (void)arg;
    pid_t pid = fork();
    if (pid < 0)
        bench_fail("fork");
    if (pid == 0)
        client(n);
    for (long i = 0; i < n; i++) {
        int c = accept(listener, NULL, NULL);
        if (c < 0)
            bench_fail("accept");
        long got = drain(c);
        if (got < 0)
            bench_fail("server read");
        close(c);
        if (got != size) {
            fprintf(stderr, "short transfer: %ld of %ld bytes\n", got, size);
            exit(1);
        }
    }
    int status;
    if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "client failed (status %d)\n", status);
        exit(1);
    }
}

static void op_transfer_to_host(long n, void *arg)
{
    (void)arg;
    for (long i = 0; i < n; i++) {
        int s = connect_server(1);
        send_size(s, 1);
        if (shutdown(s, SHUT_WR) != 0)
            bench_fail("client shutdown");
        uint64_t count = 0;
        size_t have = 0;
        while (have < sizeof count) {
            ssize_t r = recv(s, (char *)&count + have, sizeof count - have, 0);
            if (r <= 0) {
                fprintf(stderr, "no byte count from the host server (%s)\n", r < 0 ? strerror(errno) : "EOF");
                exit(1);
            }
            have += r;
        }
        close(s);
        if ((long)be64toh(count) != size) {
            fprintf(stderr, "host server counted %ld of %ld bytes\n", (long)be64toh(count), size);
            exit(1);
        }
    }
}

static void serve(void)
{
    signal(SIGPIPE, SIG_IGN); /* a client that dies mid-reply must not kill the server */
    printf("port=%d\n", ntohs(addr.sin_port));
    fflush(stdout);
    for (;;) {
        int c = accept(listener, NULL, NULL);
        if (c < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            bench_fail("accept");
        }
        long got = drain(c);
        if (got >= 0) {
            uint64_t count = htobe64((uint64_t)got);
            if (write(c, &count, sizeof count) != sizeof count)
                fprintf(stderr, "serve: reply: %s\n", strerror(errno));
        }
        close(c);
    }
}

int main(int argc, char **argv)
{
    double target = bench_target_ms(argc, argv, 4);
    buf = calloc(1, CHUNK);
    if (strcmp(argv[1], "serve") == 0) {
        listen_loopback(atoi(argv[3]));
        serve();
    }
    size = atol(argv[3]);
    if (size <= 0)
        bench_unknown_case(argv[3]);
    if (strcmp(argv[1], "tcp") == 0) {
        loopback_up();
        listen_loopback(0);
        bench_run(op_transfer, NULL, target, (double)size);
    } else if (strcmp(argv[1], "tcp_host") == 0 && argc >= 5) {
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        addr.sin_port = htons(atoi(argv[4]));
        bench_run(op_transfer_to_host, NULL, target, (double)size);
    } else {
        bench_unknown_case(argv[1]);
    }
    return 0;
}
