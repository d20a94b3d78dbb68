/* MAP_SHARED mappings of a volume's file are the host file's pages (tests/test_volume_mmap.py):
 * one case per argv[1], the file argv[2] (made 8 KiB, zeroed). A line "HOST <what> <args>" on
 * stdout asks the test, outside the sandbox, to act on the file as a host process; its answer
 * comes as one line on stdin. Each case prints what it observes, natively and in the sandbox.
 *   host_write   the host writes the file (pwrite) after the mapping was read: the mapping shows it
 *   host_read    a store into the mapping, no msync: the host reads it from the file
 *   truncate     the host truncates the file: write(2) from the mapping is EFAULT, a load SIGBUS
 *   fork         a forked child's store into the mapping is the parent's and the host's
 *   futex        a child's futex wait in its own mapping of the file is woken by its parent's
 *                wake in another (a shared futex is the file's page and offset)
 *   mutex        a process-shared pthread mutex in the mapping serialises parent and child
 *   mprotect     a mapping of a file open read-only cannot be made writable (EACCES); msync
 *                and mremap (moved, grown) keep it the file's
 *   kernel_io    the kernel's accesses to the mapping (read(2) into it, write(2) from it,
 *                /proc/self/mem, process_vm_writev/readv) reach the file; mincore, mlock,
 *                MADV_DONTNEED (the file's pages stay), its /proc/self/maps line, remap_file_pages
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define SIZE 8192
static char answer[256];

static const char *host(const char *request) {
    printf("HOST %s\n", request);
    fflush(stdout);
    if (!fgets(answer, sizeof answer, stdin))
        exit(3);
    answer[strcspn(answer, "\n")] = 0;
    return answer;
}

static char *map(const char *path, int flags, int prot, int *fdp) {
    int fd = open(path, flags);
    if (fd < 0) { perror("open"); exit(2); }
    char *p = mmap(NULL, SIZE, prot, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) { perror("mmap"); exit(2); }
    if (fdp) *fdp = fd;
    return p;
}

static long futex(uint32_t *word, int op, uint32_t val, const struct timespec *ts) {
    return syscall(SYS_futex, word, op, val, ts, NULL, 0);
}

static void host_write(const char *path) {
    char *p = map(path, O_RDWR, PROT_READ | PROT_WRITE, NULL);
    printf("before: [%.9s]\n", p[16] ? p + 16 : "");
    host("write 16 from-host");
    printf("after: [%.9s]\n", p + 16);
}

static void host_read(const char *path) {
    char *p = map(path, O_RDWR, PROT_READ | PROT_WRITE, NULL);
    memcpy(p + 32, "from-sandbox", 12);
    printf("host sees: %s\n", host("read 32 12"));
}

static void truncate_case(const char *path) {
    char *p = map(path, O_RDWR, PROT_READ | PROT_WRITE, NULL);
    p[5000] = 'x';
    printf("touched: %c\n", p[5000]);
    host("truncate 0");
    int pipefd[2];
    if (pipe(pipefd)) return;
    ssize_t n = write(pipefd[1], p + 4096, 16);
    printf("write from the mapping: %zd %s\n", n, n < 0 ? strerrorname_np(errno) : "");
    fflush(stdout);
    volatile char c = p[4096];   /* SIGBUS: the process dies of it */
    printf("read past the end: %d\n", c);
}

static void fork_case(const char *path) {
    char *p = map(path, O_RDWR, PROT_READ | PROT_WRITE, NULL);
    pid_t pid = fork();
    if (pid == 0) {
        memcpy(p + 64, "child", 5);
        _exit(0);
    }
    int status;
    waitpid(pid, &status, 0);
    printf("parent sees: %.5s\n", p + 64);
    printf("host sees: %s\n", host("read 64 5"));
}

static void futex_case(const char *path) {
    int fd;
    char *p = map(path, O_RDWR, PROT_READ | PROT_WRITE, &fd);
    uint32_t *word = (uint32_t *)(p + 4096 + 128);
    pid_t pid = fork();
    if (pid == 0) {   /* its own mapping of the file's second page: the same futex, by file offset */
        char *q = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 4096);
        struct timespec ts = {20, 0};
        long r = q == MAP_FAILED ? -1 : futex((uint32_t *)(q + 128), FUTEX_WAIT, 0, &ts);
        printf("child: wait %ld %s\n", r, r ? strerrorname_np(errno) : "");
        _exit(0);
    }
    long woken = 0;
    for (time_t end = time(NULL) + 20; !woken && time(NULL) < end; )
        if ((woken = futex(word, FUTEX_WAKE, 1, NULL)) == 0)
            sched_yield();   /* until the child waits (a wake with no waiter wakes nobody) */
    int status;
    waitpid(pid, &status, 0);
    printf("parent: woke %ld\n", woken);
}

static void mutex_case(const char *path) {
    char *p = map(path, O_RDWR, PROT_READ | PROT_WRITE, NULL);
    pthread_mutex_t *m = (pthread_mutex_t *)(p + 256);
    long *count = (long *)(p + 1024);
    pthread_mutexattr_t a;
    pthread_mutexattr_init(&a);
    pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
    pthread_mutex_init(m, &a);
    pid_t pid = fork();
    int failed = 0;
    for (int i = 0; i < 20000; i++) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += 20;
        if (pthread_mutex_timedlock(m, &ts)) { failed = 1; break; }
        long v = *count;
        if (i % 64 == 0) sched_yield();   /* the other side contends for the lock meanwhile */
        *count = v + 1;
        pthread_mutex_unlock(m);
    }
    if (pid == 0) _exit(failed);
    int status;
    waitpid(pid, &status, 0);
    printf("count %ld, failed %d %d\n", *count, failed, WEXITSTATUS(status));
}

static void mprotect_case(const char *path) {
    int fd;
    char *p = map(path, O_RDONLY, PROT_READ, &fd);
    printf("mprotect write: %s\n", mprotect(p, SIZE, PROT_READ | PROT_WRITE) ? strerrorname_np(errno) : "ok");
    char *q = map(path, O_RDWR, PROT_READ | PROT_WRITE, NULL);
    q[200] = 'q';
    printf("msync: %d\n", msync(q, SIZE, MS_SYNC));
    char *r = mremap(q, SIZE, 2 * SIZE, MREMAP_MAYMOVE);
    printf("moved: %s, reads %c, read-only view %c\n", r == MAP_FAILED ? "failed" : "ok", r[200], p[200]);
    host("write 300 z");
    printf("moved sees host: %c\n", r[300]);
    printf("munmap: %d\n", munmap(r, 2 * SIZE));
}

static void maps_line(const char *path) {
    FILE *f = fopen("/proc/self/maps", "r");
    char line[512], perms[8], name[256];
    unsigned long lo, hi, off;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "%lx-%lx %7s %lx %*s %*s %255s", &lo, &hi, perms, &off, name) == 5 && !strcmp(name, path))
            printf("maps: %lu kB %s %lx %s\n", (hi - lo) >> 10, perms, off, strrchr(name, '/'));
    if (f) fclose(f);
}

static void kernel_io(const char *path) {
    char *p = map(path, O_RDWR, PROT_READ | PROT_WRITE, NULL);
    char buf[16] = {0};
    int mem = open("/proc/self/mem", O_RDWR), pfd[2];
    printf("mem write: %zd\n", pwrite(mem, "via-mem", 7, (off_t)(uintptr_t)(p + 400)));
    printf("mem read: %zd %.7s\n", pread(mem, buf, 7, (off_t)(uintptr_t)(p + 400)), buf);
    printf("host sees: %s\n", host("read 400 7"));
    if (pipe(pfd)) return;
    write(pfd[1], "via-read", 8);
    printf("read into: %zd\n", read(pfd[0], p + 500, 8));
    printf("host sees: %s\n", host("read 500 8"));
    printf("write from: %zd\n", write(pfd[1], p + 400, 7));
    memset(buf, 0, sizeof buf);
    printf("piped: %zd %.7s\n", read(pfd[0], buf, 7), buf);
    struct iovec local = {"via-pvm", 7}, remote = {p + 600, 7};
    printf("process_vm_writev: %zd\n", process_vm_writev(getpid(), &local, 1, &remote, 1, 0));
    printf("host sees: %s\n", host("read 600 7"));
    host("write 700 from-host");
    local.iov_base = buf; remote.iov_base = p + 700; remote.iov_len = local.iov_len = 9;
    printf("process_vm_readv: %zd %.9s\n", process_vm_readv(getpid(), &local, 1, &remote, 1, 0), buf);
    unsigned char vec[2];
    printf("mincore: %d\n", mincore(p, SIZE, vec));
    printf("mlock: %d\n", mlock(p, SIZE));
    printf("munlock: %d\n", munlock(p, SIZE));
    printf("dontneed: %d, keeps %.7s\n", madvise(p, SIZE, MADV_DONTNEED), p + 400);
    maps_line(path);
    host("write 4096 page-one");
    printf("remap_file_pages: %d, reads %.8s\n", remap_file_pages(p, 4096, 0, 1, 0), p);
}

int main(int argc, char **argv) {
    if (argc < 3) return 2;
    setvbuf(stdout, NULL, _IOLBF, 0);   /* a line at a time: the test answers HOST lines; forks copy nothing */
    int fd = open(argv[2], O_RDWR | O_CREAT | O_TRUNC, 0644);
    if (fd < 0 || ftruncate(fd, SIZE)) { perror("create"); return 2; }
    close(fd);
    const char *c = argv[1];
    if (!strcmp(c, "host_write")) host_write(argv[2]);
    else if (!strcmp(c, "host_read")) host_read(argv[2]);
    else if (!strcmp(c, "truncate")) truncate_case(argv[2]);
    else if (!strcmp(c, "fork")) fork_case(argv[2]);
    else if (!strcmp(c, "futex")) futex_case(argv[2]);
    else if (!strcmp(c, "mutex")) mutex_case(argv[2]);
    else if (!strcmp(c, "mprotect")) mprotect_case(argv[2]);
    else if (!strcmp(c, "kernel_io")) kernel_io(argv[2]);
    else return 2;
    return 0;
}
