/* /dev/null, zero, full, urandom semantics (differential). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "show.h"

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
    /* /dev/zero mappings are zero-filled and writable: private ones are anonymous memory,
       shared ones shared anonymous memory (seen by a forked child's writes) */
    char *priv = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE, zero, 0);
    char *shr = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, zero, 0);
    printf("zero maps: private %d shared %d\n", priv != MAP_FAILED, shr != MAP_FAILED);
    if (priv != MAP_FAILED && shr != MAP_FAILED) {
        printf("zero-filled: %d %d\n", priv[0] == 0 && priv[8191] == 0, shr[0] == 0 && shr[8191] == 0);
        priv[1] = shr[1] = 1;
        pid_t child = fork();
        if (child == 0) { priv[1] = 2; shr[1] = 2; _exit(0); }
        waitpid(child, NULL, 0);
        printf("after child's writes: private %d shared %d\n", priv[1], shr[1]);
        printf("shared zero map named: %s", mapped_as(shr));
    }
    int ro = open("/dev/zero", O_RDONLY);
    struct { const char *what; int fd, prot, flags; } refused[] = {
        {"shared writable /dev/zero opened read-only", ro, PROT_READ | PROT_WRITE, MAP_SHARED},
        {"/dev/null", null, PROT_READ, MAP_PRIVATE},
        {"/dev/full", full, PROT_READ, MAP_PRIVATE},
    };
    for (int i = 0; i < 3; i++) {
        errno = 0;
        int mapped = mmap(NULL, 4096, refused[i].prot, refused[i].flags, refused[i].fd, 0) != MAP_FAILED;
        printf("mmap of %s: %d %s\n", refused[i].what, mapped, errno ? strerrorname_np(errno) : "");
    }
    return 0;
}
