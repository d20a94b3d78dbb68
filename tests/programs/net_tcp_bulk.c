/* TCP bulk transfer over loopback between a forked client and server, checked by checksum.
 *   net_tcp_bulk [MBYTES]      (default 64)
 * The client sends a deterministic byte stream with write, writev and send in odd-sized
 * pieces; the server reads it back with read, readv, recv(MSG_WAITALL) and recv(MSG_PEEK)
 * and both print the length and an FNV-1a checksum. Then the server echoes 1 MB back
 * (a transfer in the other direction, through shutdown(SHUT_WR)). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

static uint64_t fnv(uint64_t h, const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 0x100000001b3ULL;
    return h;
}

static void fill(unsigned char *p, size_t n, uint64_t off)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (unsigned char)((off + i) * 2654435761u >> 13);
}

static void die(const char *what)
{
    printf("FAIL %s: %s\n", what, strerror(errno));
    fflush(stdout);
    exit(1);
}

#define BUF (1 << 20)

static void client(struct sockaddr_in *addr, long total)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    if (s < 0 || connect(s, (struct sockaddr *)addr, sizeof *addr) != 0)
        die("connect");
    unsigned char *buf = malloc(BUF);
    uint64_t h = 0xcbf29ce484222325ULL;
    long sent = 0;
    int k = 0;
    size_t sizes[] = {65536, 1, 4095, 300000, 1 << 20, 7, 131072};
    while (sent < total) {
        size_t n = sizes[k % 7];
        if (n > (size_t)(total - sent))
            n = total - sent;
        fill(buf, n, sent);
        h = fnv(h, buf, n);
        size_t done = 0;
        while (done < n) {
            ssize_t w;
            if (k % 3 == 0)
                w = write(s, buf + done, n - done);
            else if (k % 3 == 1) {
                size_t half = (n - done) / 2;
                struct iovec iov[2] = {{buf + done, half}, {buf + done + half, n - done - half}};
                w = writev(s, iov, 2);
            } else
                w = send(s, buf + done, n - done, MSG_NOSIGNAL);
            if (w <= 0)
                die("client write");
            done += w;
        }
        sent += n;
        k++;
    }
    shutdown(s, SHUT_WR);
    /* The echo back: 1 MB from the server. */
    long back = 0;
    uint64_t hb = 0xcbf29ce484222325ULL;
    for (;;) {
        ssize_t r = read(s, buf, BUF);
        if (r < 0)
            die("client read");
        if (r == 0)
            break;
        hb = fnv(hb, buf, r);
        back += r;
    }
    printf("client sent %ld checksum %016llx, got back %ld checksum %016llx\n", sent, (unsigned long long)h,
           back, (unsigned long long)hb);
    fflush(stdout);
    exit(0);
}

int main(int argc, char **argv)
{
    long total = (argc > 1 ? atol(argv[1]) : 64) << 20;
    setvbuf(stdout, NULL, _IOLBF, 0);
    int l = socket(AF_INET, SOCK_STREAM, 0);
    if (l < 0)
        die("socket");
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof addr;
    if (bind(l, (struct sockaddr *)&addr, sizeof addr) || listen(l, 4) ||
        getsockname(l, (struct sockaddr *)&addr, &len))
        die("listen");
    pid_t pid = fork();
    if (pid == 0)
        client(&addr, total);
    int c = accept(l, NULL, NULL);
    if (c < 0)
        die("accept");
    int one = 1;
    setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    unsigned char *buf = malloc(BUF);
    uint64_t h = 0xcbf29ce484222325ULL;
    long got = 0;
    int k = 0, peeks_ok = 1;
    for (;;) {
        ssize_t r;
        if (k % 4 == 0)
            r = read(c, buf, 65536);
        else if (k % 4 == 1) {
            struct iovec iov[3] = {{buf, 10}, {buf + 10, 5000}, {buf + 5010, 200000}};
            r = readv(c, iov, 3);
        } else if (k % 4 == 2)
            r = recv(c, buf, 100000, MSG_WAITALL);
        else {
            unsigned char peek[16];
            ssize_t p = recv(c, peek, sizeof peek, MSG_PEEK);
            r = recv(c, buf, BUF, 0);
            if (p > 0 && r > 0 && memcmp(peek, buf, p < r ? p : r) != 0)
                peeks_ok = 0;
        }
        if (r < 0)
            die("server read");
        if (r == 0)
            break;
        if (k % 4 == 2 && r != 100000 && got + r != total) {
            printf("FAIL MSG_WAITALL returned %zd\n", r);
            return 1;
        }
        h = fnv(h, buf, r);
        got += r;
        k++;
    }
    printf("server got %ld checksum %016llx peek %s\n", got, (unsigned long long)h, peeks_ok ? "ok" : "BAD");
    long back = 1 << 20;
    fill(buf, back, 12345);
    for (long done = 0; done < back;) {
        ssize_t w = write(c, buf + done, back - done);
        if (w <= 0)
            die("server write");
        done += w;
    }
    close(c);
    int status;
    waitpid(pid, &status, 0);
    printf("client exit %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    return 0;
}
