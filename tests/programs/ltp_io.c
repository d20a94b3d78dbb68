/* Regressions found by running LTP's syscall tests (pipe, poll, epoll, fcntl, sockets, ...)
   natively and in the sandbox. One case per argv[1]; each prints only facts Linux makes
   deterministic, so native and sandbox output must be identical. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define CHECK(expr) do { errno = 0; long _r = (long)(expr); \
    printf("%-60s = %ld %s\n", #expr, _r, _r < 0 ? strerrorname_np(errno) : ""); } while (0)

struct cap_hdr { uint32_t version; int pid; };
struct cap_data { uint32_t effective, permitted, inheritable; };

static int caps(void)
{
    struct cap_hdr h = {0x12345678, 0};
    struct cap_data d[2];
    CHECK(syscall(SYS_capget, &h, d));
    printf("preferred version %#x\n", h.version);
    h.version = 0x12345678;
    CHECK(syscall(SYS_capget, &h, NULL));
    printf("preferred version %#x\n", h.version);
    h = (struct cap_hdr){0x20080522, -1};
    CHECK(syscall(SYS_capget, &h, d));
    h = (struct cap_hdr){0x20080522, 0};
    CHECK(syscall(SYS_capget, &h, d));
    printf("CAP_NET_RAW effective: %d\n", !!(d[0].effective & (1u << 13)));
    /* Drop CAP_NET_RAW from effective only: permitted keeps it. */
    d[0].effective &= ~(1u << 13);
    CHECK(syscall(SYS_capset, &h, d));
    CHECK(syscall(SYS_capget, &h, d));
    printf("effective: %d permitted: %d\n", !!(d[0].effective & (1u << 13)), !!(d[0].permitted & (1u << 13)));
    /* Effective beyond permitted: EPERM. */
    d[0].permitted &= ~(1u << 13);
    d[0].effective |= 1u << 13;
    CHECK(syscall(SYS_capset, &h, d));
    d[0].effective &= ~(1u << 13);
    CHECK(syscall(SYS_capset, &h, d));
    /* A dropped permitted capability cannot come back. */
    d[0].permitted |= 1u << 13;
    CHECK(syscall(SYS_capset, &h, d));
    CHECK(syscall(SYS_capget, &h, d));
    printf("effective: %d permitted: %d\n", !!(d[0].effective & (1u << 13)), !!(d[0].permitted & (1u << 13)));
    h.pid = getpid() + 1000000;
    CHECK(syscall(SYS_capset, &h, d));
    return 0;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    if (argc < 2)
        return 2;
    if (!strcmp(argv[1], "caps"))
        return caps();
    printf("unknown case %s\n", argv[1]);
    return 2;
}
