/* Large sparse file mappings, whose pages a sandbox maps only when first touched: a 1 TiB memfd
 * mapped shared (a nested sandbox's MemoryFile is one), touched far apart and read by a forked
 * child; a 1 GiB tmpfs file touched at 100 spots and read back through read(2); a shared page a
 * child writes and its parent reads; untouched pages through write(2), read(2), /proc/self/mem
 * and process_vm_readv; mprotect, munmap and a private read-only mapping of the same file; SIGBUS
 * past the end after a truncation, and the pages back once the file grows again. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/futex.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#define TIB (1ULL << 40)
#define GIB (1ULL << 30)
#define PAGE 4096UL

static sigjmp_buf env;

static void on_bus(int sig) { siglongjmp(env, sig); }

/* The signal a read of *p raises (0: none); the byte read goes to *out. */
static int probe(volatile char *p, char *out) {
    int sig = sigsetjmp(env, 1);
    if (sig == 0) {
        *out = *p;
        return 0;
    }
    return sig;
}

static int child_reads(char *p, const uint64_t *offs, int n, char base) {
    pid_t c = fork();
    if (c == 0) {
        for (int i = 0; i < n; i++)
            if (p[offs[i]] != (char)(base + i))
                _exit(10 + i);
        p[offs[0] + 1] = 'c';      /* the parent sees the child's write */
        _exit(0);
    }
    int st;
    waitpid(c, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static void tib_memfd(void) {
    int fd = memfd_create("lazy", 0);
    if (ftruncate(fd, TIB) != 0) {
        printf("tib ftruncate: errno %d\n", errno);
        return;
    }
    char *p = mmap(NULL, TIB, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) {
        printf("tib mmap: errno %d\n", errno);
        close(fd);
        return;
    }
    uint64_t offs[8];
    for (int i = 0; i < 8; i++) {
        offs[i] = i * (TIB / 8) + (uint64_t)i * 12345 * PAGE + 100;
        p[offs[i]] = 'a' + i;
    }
    int status = child_reads(p, offs, 8, 'a');
    printf("tib child: %d, child's write: %c\n", status, p[offs[0] + 1]);
    char buf[8] = {1};
    pread(fd, buf, 1, offs[3]);
    printf("tib pread: %c, untouched page: %d\n", buf[0], p[TIB - PAGE]);
    printf("tib munmap: %d\n", munmap(p, TIB));
    close(fd);
}

static void untouched_pages(char *p, int fd) {
    int pipefd[2];
    char buf[16];
    pipe(pipefd);
    printf("write from untouched: %zd", write(pipefd[1], p + 300 * PAGE * 16, 16));
    ssize_t n = read(pipefd[0], buf, 16);
    printf(", read back: %zd zeros=%d\n", n, !memcmp(buf, "\0\0\0\0\0\0\0\0", 8));
    write(pipefd[1], "into-lazy", 9);
    printf("read into untouched: %zd", read(pipefd[0], p + 500 * PAGE * 16 + 7, 9));
    pread(fd, buf, 9, 500 * PAGE * 16 + 7);
    printf(", file has: %.9s\n", buf);
    close(pipefd[0]);
    close(pipefd[1]);
    int mem = open("/proc/self/mem", O_RDONLY);
    memset(buf, 1, sizeof buf);
    printf("/proc/self/mem: %zd", pread(mem, buf, 16, (off_t)(uintptr_t)(p + 700 * PAGE * 16)));
    printf(" zeros=%d\n", buf[0] == 0 && buf[15] == 0);
    close(mem);
    struct iovec local = {buf, 16}, remote = {p + 900 * PAGE * 16 + 5, 16};
    p[900 * PAGE * 16 + 5] = 'v';
    n = process_vm_readv(getpid(), &local, 1, &remote, 1, 0);
    printf("process_vm_readv: %zd %c\n", n, buf[0]);
    printf("futex wake on an untouched page: %ld\n", syscall(SYS_futex, p + 1100 * PAGE * 16, FUTEX_WAKE, 1, NULL, NULL, 0));
}

/* How many /proc/self/maps lines cover [p, p+len): Linux shows a mapping touched here and there as one. */
static int maps_lines(char *p, size_t len) {
    FILE *f = fopen("/proc/self/maps", "r");
    unsigned long lo, hi;
    char line[512];
    int n = 0;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "%lx-%lx", &lo, &hi) == 2 && lo < (uintptr_t)p + len && hi > (uintptr_t)p)
            n++;
    fclose(f);
    return n;
}

/* Truncate: pages past the new end raise SIGBUS, touched or not; growing back maps zeros. */
static void truncate_and_grow(char *p, int fd, const uint64_t *offs) {
    struct sigaction sa = {.sa_handler = on_bus};
    sigaction(SIGBUS, &sa, NULL);
    ftruncate(fd, GIB / 2 + 100);
    char out = 0;
    int sig_touched = probe(p + offs[80], &out);
    int sig_untouched = probe(p + GIB - PAGE, &out);
    int sig_in = probe(p + GIB / 2 + 50, &out);
    int sig_boundary = probe(p + GIB / 2 + PAGE, &out);
    printf("after truncate: touched past %d, untouched past %d, inside %d (%d), next page %d\n",
           sig_touched, sig_untouched, sig_in, out, sig_boundary);
    ftruncate(fd, GIB);
    out = 1;
    int sig_grown = probe(p + offs[80], &out);
    printf("grown again: %d, reads %d, earlier data %c\n", sig_grown, out, p[offs[3]]);
}

static void gib_tmpfs(void) {
    char path[] = "/dev/shm/mmap_lazy.XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0) {
        printf("mkstemp: errno %d\n", errno);
        return;
    }
    unlink(path);
    ftruncate(fd, GIB);
    char *p = mmap(NULL, GIB, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) {
        printf("gib mmap: errno %d\n", errno);
        return;
    }
    uint64_t offs[100];
    for (int i = 0; i < 100; i++) {
        offs[i] = (GIB / 100) * i + i * 7;
        p[offs[i]] = 'A' + i % 50;
    }
    int bad = 0;
    for (int i = 0; i < 100; i++) {
        char c = 0;
        pread(fd, &c, 1, offs[i]);
        bad += c != 'A' + i % 50;
    }
    printf("gib touched 100, mismatches %d, msync %d\n", bad, msync(p, GIB, MS_SYNC));
    printf("maps lines for it: %d\n", maps_lines(p, GIB));
    uint64_t some[4] = {offs[10], offs[20], offs[30], offs[40]};
    char want[4] = {'A' + 10, 'A' + 20, 'A' + 30, 'A' + 40};
    pid_t c = fork();
    if (c == 0) {
        for (int i = 0; i < 4; i++)
            if (p[some[i]] != want[i])
                _exit(1);
        p[offs[99] + GIB / 200] = 'k';   /* a page nobody touched before */
        _exit(0);
    }
    int st;
    waitpid(c, &st, 0);
    printf("gib child status %d, parent reads child's write: %c\n", WEXITSTATUS(st), *(volatile char *)(p + offs[99] + GIB / 200));
    untouched_pages(p, fd);

    /* A private read-only mapping of the same file sees its data; mprotect and munmap of parts. */
    char *q = mmap(NULL, GIB, PROT_READ, MAP_PRIVATE, fd, 0);
    printf("private sees: %c %c\n", q[offs[5]], q[offs[77]]);
    printf("mprotect: %d", mprotect(p + 64 * PAGE * 16, 64 * PAGE * 16, PROT_READ));
    printf(" reads %d", p[64 * PAGE * 16 + 3]);
    printf(", munmap middle: %d\n", munmap(p + 128 * PAGE * 16, 128 * PAGE * 16));
    printf("madvise DONTNEED: %d", madvise(p, 64 * PAGE * 16, MADV_DONTNEED));
    printf(", data stays: %c\n", p[offs[0]]);
    char *r = mremap(q, GIB, GIB / 2, 0);
    printf("mremap shrink: %d, still reads %c\n", r == q, r[offs[5]]);
    munmap(r, GIB / 2);

    truncate_and_grow(p, fd, offs);
    munmap(p, GIB);
    close(fd);
}

/* A host file (through the gofer) mapped shared and written: msync writes back what was written,
 * and not the untouched pages (the file stays sparse). */
static void host_file(const char *dir) {
    char path[4096];
    snprintf(path, sizeof path, "%s/mmap_lazy.data", dir);
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    if (fd < 0) {
        printf("open %s: errno %d\n", path, errno);
        return;
    }
    size_t size = 8 << 20;
    ftruncate(fd, size);
    pwrite(fd, "host", 4, 6 << 20);
    char *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    printf("host file: sees %.4s", p + (6 << 20));
    p[(1 << 20) + 3] = 'W';
    p[(7 << 20)] = 'Z';
    printf(", msync %d", msync(p, size, MS_SYNC));
    printf(", munmap %d", munmap(p, size));
    close(fd);
    fd = open(path, O_RDONLY);
    char a = 0, b = 0, c[4] = {0};
    pread(fd, &a, 1, (1 << 20) + 3);
    pread(fd, &b, 1, 7 << 20);
    pread(fd, c, 4, 6 << 20);
    struct stat st;
    fstat(fd, &st);
    printf(", reads back %c %c %.4s, sparse %d\n", a, b, c, st.st_blocks * 512 < (1 << 20));
    close(fd);
    unlink(path);
}

/* A child touching every page of a 1 GiB memfd, more than the sandbox's memory limit: killed. */
static int fill(void) {
    int fd = memfd_create("fill", 0);
    ftruncate(fd, GIB);
    char *p = mmap(NULL, GIB, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED)
        return 1;
    pid_t c = fork();
    if (c == 0) {
        for (size_t off = 0; off < GIB; off += PAGE)
            p[off] = 1;
        _exit(0);
    }
    int st;
    waitpid(c, &st, 0);
    printf(WIFSIGNALED(st) ? "child killed by signal %d\n" : "child exited %d\n",
           WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
    return 0;
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IONBF, 0);
    if (argc > 1 && !strcmp(argv[1], "fill"))
        return fill();
    tib_memfd();
    gib_tmpfs();
    if (argc > 1)
        host_file(argv[1]);
    return 0;
}
