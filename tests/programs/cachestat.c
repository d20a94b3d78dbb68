/* cachestat (differential) on tmpfs files: populated pages counted (holes not, never dirty),
   ranges, a pipe (nothing), bad arguments, and EPERM for a reader who could not write. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

struct range { uint64_t off, len; };
struct stats { uint64_t cache, dirty, writeback, evicted, recently_evicted; };

static void show(const char *what, int fd, uint64_t off, uint64_t len) {
    struct range r = {off, len};
    struct stats s;
    memset(&s, 0xff, sizeof s);
    errno = 0;
    long ret = syscall(451, fd, &r, &s, 0);
    if (ret < 0)
        printf("%s: %s\n", what, strerrorname_np(errno));
    else
        printf("%s: cache %lu dirty %lu writeback %lu evicted %lu recent %lu\n", what, s.cache, s.dirty,
               s.writeback, s.evicted, s.recently_evicted);
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    char path[64];
    snprintf(path, sizeof path, "/dev/shm/cachestat.%d", getpid());
    int fd = open(path, O_CREAT | O_RDWR | O_TRUNC, 0644);
    if (fd < 0) { perror(path); return 1; }
    errno = 0;
    struct range r0 = {0, 0};
    struct stats s0;
    if (syscall(451, fd, &r0, &s0, 0) < 0 && errno == ENOSYS) { printf("host lacks cachestat\n"); unlink(path); return 0; }
    char page[4096];
    memset(page, 7, sizeof page);
    for (int i = 0; i < 3; i++) write(fd, page, sizeof page);
    show("three pages", fd, 0, 0);
    pwrite(fd, page, 10, 40 * 4096);
    show("and one far out", fd, 0, 0);
    show("the second page", fd, 4096, 4096);
    show("a range in the hole", fd, 5 * 4096, 20 * 4096);
    show("past the end", fd, 100 * 4096, 0);
    ftruncate(fd, 2 * 4096);
    show("truncated to two", fd, 0, 0);
    int mfd = memfd_create("cs", 0);
    ftruncate(mfd, 16 * 4096);
    char *m = mmap(NULL, 16 * 4096, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
    m[0] = 1;
    m[5 * 4096] = 1;
    show("memfd with two touched pages", mfd, 0, 0);
    int p[2];
    pipe(p);
    show("pipe", p[0], 0, 0);
    struct range r = {0, 0};
    struct stats s;
    printf("flags: %ld %s\n", syscall(451, fd, &r, &s, 1), strerrorname_np(errno));
    printf("bad range pointer: %ld %s\n", syscall(451, fd, (void *)8, &s, 0), strerrorname_np(errno));
    printf("bad stats pointer: %ld %s\n", syscall(451, fd, &r, (void *)8, 0), strerrorname_np(errno));
    int opath = open(path, O_PATH);
    printf("O_PATH: %ld %s\n", syscall(451, opath, &r, &s, 0), strerrorname_np(errno));
    printf("closed fd: %ld %s\n", syscall(451, 999, &r, &s, 0), strerrorname_np(errno));
    pid_t child = fork();
    if (child == 0) {
        int ro = open(path, O_RDONLY);
        setresuid(4242, 4242, 4242);
        show("read-only, another user's file", ro, 0, 0);
        _exit(0);
    }
    waitpid(child, NULL, 0);
    unlink(path);
    return 0;
}
