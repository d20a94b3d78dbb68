/* /dev/null, zero, full, urandom semantics (differential). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#define SHOW(expr) do { errno = 0; long r_ = (long)(expr); \
    printf("%s = %ld%s%s\n", #expr, r_, errno ? " " : "", errno ? strerrorname_np(errno) : ""); } while (0)

int main(void) {
    static char buf[65536];
    const char *devs[] = {"/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom"};
    for (int i = 0; i < 5; i++) {
        struct stat st;
        int r = stat(devs[i], &st);
        printf("%s: %d chr=%d rdev=%u,%u mode=%o\n", devs[i], r, S_ISCHR(st.st_mode), major(st.st_rdev),
               minor(st.st_rdev), st.st_mode & 0777);
    }
    int null = open("/dev/null", O_RDWR), zero = open("/dev/zero", O_RDWR), full = open("/dev/full", O_RDWR),
        ur = open("/dev/urandom", O_RDONLY);
    SHOW(read(null, buf, 100));
    SHOW(write(null, buf, 65536));
    memset(buf, 1, sizeof buf);
    SHOW(read(zero, buf, 65536));
    int allzero = 1;
    for (int i = 0; i < 65536; i++) allzero &= buf[i] == 0;
    printf("zero gives zeros: %d\n", allzero);
    SHOW(write(zero, buf, 123));
    SHOW(write(full, buf, 1));
    memset(buf, 1, 16);
    SHOW(read(full, buf, 16));
    printf("full reads zeros: %d\n", buf[0] == 0 && buf[15] == 0);
    SHOW(read(ur, buf, 32));
    int nz = 0;
    for (int i = 0; i < 32; i++) nz |= buf[i];
    printf("urandom not all zero: %d\n", nz != 0);
    char again[32];
    read(ur, again, 32);
    printf("urandom differs between reads: %d\n", memcmp(buf, again, 32) != 0);
    SHOW(lseek(null, 0, SEEK_END));
    SHOW(ftruncate(null, 0));
    SHOW(isatty(null));
    /* /dev/zero mappings are zero-filled and writable */
    return 0;
}
