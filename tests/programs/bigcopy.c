/* Large reads and writes (issue 13): runs of pages copied at once must keep every semantic of
 * page-by-page copies. Buffers across page, 64 KiB and VMA boundaries, an unmapped page in the
 * middle (a short count), an unmapped start (EFAULT), EOF, holes, a buffer that is the file's
 * own shared mapping, a private copy-on-write mapping of the same file, O_APPEND, RLIMIT_FSIZE
 * and mtime. Prints counts and checksums only: the same output natively and sandboxed.
 *   bigcopy [DIR]   (default /tmp) */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#define PG 4096L
#define MB (1L << 20)

static uint64_t sum(const void *p, size_t n)
{
    const unsigned char *c = p;
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++)
        h = (h ^ c[i]) * 1099511628211ULL;
    return h;
}

static unsigned char pat(long i) { return (unsigned char)(i * 7 + i / 4093); }

static void say(const char *what, long r, const void *buf, size_t n)
{
    if (r < 0)
        printf("%s: -1 %s\n", what, strerror(errno));
    else
        printf("%s: %ld %016llx\n", what, r, (unsigned long long)sum(buf, n));
}

static char *map(long len, int prot)
{
    char *p = mmap(NULL, len, prot, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
        perror("mmap");
        exit(1);
    }
    return p;
}

static uint64_t file_sum(int fd, long size)
{
    char *b = malloc(size);
    long r = pread(fd, b, size, 0);
    uint64_t h = sum(b, r > 0 ? r : 0);
    free(b);
    return h ^ (uint64_t)r;
}

static void buffers(int fd, long size)
{
    /* Three VMAs side by side (the middle one executable too), the read unaligned in both. */
    char *b = map(40 * PG, PROT_READ | PROT_WRITE);
    mprotect(b + 13 * PG, 9 * PG, PROT_READ | PROT_WRITE | PROT_EXEC);
    say("read across VMAs", pread(fd, b + 100, 39 * PG, 65536 - 333), b, 40 * PG);
    say("read at EOF", pread(fd, b, 39 * PG, size - 5000), b, 40 * PG);
    say("read past EOF", pread(fd, b, 39 * PG, size + 5), b, 40 * PG);
    munmap(b + 20 * PG, PG);   /* a hole in the middle: a short count, what came before copied */
    memset(b, 0x55, 20 * PG);
    say("read to unmapped page", pread(fd, b + 10, 39 * PG, 1000), b, 20 * PG);
    say("write from unmapped page", pwrite(fd, b + 10, 39 * PG, 3 * MB), b, 20 * PG);
    say("read from unmapped start", pread(fd, b + 20 * PG, 8 * PG, 0), b, 20 * PG);
    say("write from unmapped start", pwrite(fd, b + 20 * PG, 8 * PG, 0), b, 20 * PG);
    memset(b + 21 * PG, 0x66, 19 * PG);
    say("read-only buffer", (mprotect(b + 30 * PG, PG, PROT_READ), pread(fd, b + 21 * PG, 19 * PG, 7)),
        b + 21 * PG, 19 * PG);
    printf("file %016llx\n", (unsigned long long)file_sum(fd, size + 100 * PG));
}

static void holes(int fd, long size)
{
    char *b = map(2 * MB, PROT_READ | PROT_WRITE);
    memset(b, 0xAA, 2 * MB);
    ftruncate(fd, size + 3 * MB);   /* a hole after the data, read in the same call as data */
    say("read data and hole", pread(fd, b + 1, 2 * MB - 1, size - 300000), b, 2 * MB);
    pwrite(fd, "z", 1, size + 2 * MB);   /* data after the hole */
    say("read hole and data", pread(fd, b, 2 * MB, size + MB + 17), b, 2 * MB);
    ftruncate(fd, size);
    munmap(b, 2 * MB);
}

static void own_mapping(int fd)
{
    char *m = mmap(NULL, 2 * MB, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    say("read onto itself", pread(fd, m, 2 * MB, 0), m, 2 * MB);
    say("write from itself", pwrite(fd, m + 12345, MB, 12345), m, 2 * MB);
    say("read below itself", pread(fd, m + 5, MB, MB + 5), m, 2 * MB);
    say("write below itself", pwrite(fd, m + MB + 3 * PG, MB - 3 * PG, 100), m, 2 * MB);
    munmap(m, 2 * MB);
    /* A private writable mapping of the same file: reading into it changes its copy only. */
    char *p = mmap(NULL, 2 * MB, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    p[5] = 'Q';
    say("read into private", pread(fd, p + PG, MB, 777), p, 2 * MB);
    char *r = mmap(NULL, 2 * MB, PROT_READ, MAP_PRIVATE, fd, 0);
    mprotect(r, 2 * MB, PROT_READ | PROT_WRITE);
    say("read into private made writable", pread(fd, r + 3, 2 * MB - 3, 70000), r, 2 * MB);
    say("write from private", pwrite(fd, p, MB, 4 * PG), p, MB);   /* pages it wrote: the others follow the file */
    printf("file %016llx\n", (unsigned long long)file_sum(fd, 4 * MB));
    munmap(p, 2 * MB);
    munmap(r, 2 * MB);
}

static void limits(const char *path, long size)
{
    int fd = open(path, O_WRONLY | O_APPEND);
    char *b = map(MB + PG, PROT_READ | PROT_WRITE);
    memset(b, 'a', MB + PG);
    struct timespec ts[2] = {{0, 0}, {0, 0}};
    futimens(fd, ts);
    say("append", write(fd, b, MB + 3), b, 16);
    struct stat st;
    fstat(fd, &st);
    printf("size %ld mtime moved %d\n", (long)st.st_size, st.st_mtime != 0);
    signal(SIGXFSZ, SIG_IGN);
    struct rlimit rl = {st.st_size + 1000, RLIM_INFINITY};
    setrlimit(RLIMIT_FSIZE, &rl);
    say("append past the limit", write(fd, b, MB), b, 16);
    say("append at the limit", write(fd, b, MB), b, 16);
    rl.rlim_cur = RLIM_INFINITY;
    setrlimit(RLIMIT_FSIZE, &rl);
    close(fd);
    (void)size;
}

int main(int argc, char **argv)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/bigcopy-%d", argc > 1 ? argv[1] : "/tmp", (int)getpid());
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    if (fd < 0) {
        perror("open");
        return 1;
    }
    long size = 3 * MB + 123;
    char *src = malloc(size);
    for (long i = 0; i < size; i++)
        src[i] = pat(i);
    for (long off = 0; off < size;) {   /* writes of odd sizes, across chunk boundaries */
        long n = off + 200003 > size ? size - off : 200003;
        if (write(fd, src + off, n) != n)
            return 2;
        off += n;
    }
    printf("file %016llx\n", (unsigned long long)file_sum(fd, size));
    buffers(fd, size);
    holes(fd, size);
    own_mapping(fd);
    limits(path, size);
    close(fd);
    unlink(path);
    return 0;
}
