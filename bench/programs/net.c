/* TCP loopback transfer: a forked client sends SIZE bytes per connection to a
 * server in this process on 127.0.0.1.   net tcp TARGET_MS SIZE_BYTES
 * One operation = connect + transfer of SIZE bytes + close. */
#include "bench.h"
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
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

static void client(long n)
{
    for (long i = 0; i < n; i++) {
        int s = socket(AF_INET, SOCK_STREAM, 0);
        if (s < 0 || connect(s, (struct sockaddr *)&addr, sizeof addr) != 0)
            bench_fail("client connect");
        for (long left = size; left > 0;) {
            ssize_t w = write(s, buf, left < CHUNK ? left : CHUNK);
            if (w <= 0)
                bench_fail("client write");
            left -= w;
        }
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
        long got = 0;
        for (;;) {
            ssize_t r = read(c, buf, CHUNK);
            if (r < 0)
                bench_fail("server read");
            if (r == 0)
                break;
            got += r;
        }
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

int main(int argc, char **argv)
{
    double target = bench_target_ms(argc, argv, 4);
    if (strcmp(argv[1], "tcp") != 0)
        bench_unknown_case(argv[1]);
    size = atol(argv[3]);
    if (size <= 0)
        bench_unknown_case(argv[3]);
    buf = calloc(1, CHUNK);
    loopback_up();
    listener = socket(AF_INET, SOCK_STREAM, 0);
    bench_check(listener >= 0, "socket");
    int one = 1;
    setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    bench_check(bind(listener, (struct sockaddr *)&addr, sizeof addr) == 0, "bind");
    bench_check(listen(listener, 64) == 0, "listen");
    socklen_t len = sizeof addr;
    bench_check(getsockname(listener, (struct sockaddr *)&addr, &len) == 0, "getsockname");
    bench_run(op_transfer, NULL, target, (double)size);
    return 0;
}
