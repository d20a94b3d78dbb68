/* Truncating a mapped file (differential): process A maps a file MAP_SHARED (and MAP_PRIVATE) and
 * shrinks it; process B then allocates and fills memory with a secret. A's pages past the new end
 * must raise SIGBUS (never show B's secret), a syscall given them must fail with EFAULT, the file
 * grown again must read as zeros; a truncation by B while A is blocked, and while A is running
 * application code (three threads of it), must take the pages away too.
 * Usage: mem_truncate tmpfs|file PATH, or mem_truncate memfd */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#define LEN (1 << 20)
#define PG 4096
static const char SECRET[] = "B's-SECRET-0123456789";
static sigjmp_buf jb;
static volatile int stop_spinning;

static void *spin(void *arg) { while (!stop_spinning) ; return arg; }

static void on_fault(int sig) { siglongjmp(jb, sig); }

/* Read (or write) one byte; returns 0 or the signal it raised. */
static int probe(volatile char *p, int write, char *out) {
    int sig = sigsetjmp(jb, 1);
    if (sig)
        return sig;
    if (write)
        *p = 'W';
    else
        *out = *p;
    return 0;
}

static const char *outcome(int sig) {
    return sig == 0 ? "ok" : sig == SIGBUS ? "SIGBUS" : sig == SIGSEGV ? "SIGSEGV" : "other";
}

static int leaks(char *m, size_t from, size_t to) {
    char c;
    int found = 0;
    for (size_t off = from; off < to; off += PG) {
        if (probe(m + off, 0, &c) == 0 && memmem(m + off, PG, SECRET, sizeof SECRET - 1))
            found++;
    }
    return found;
}

static void say(int fd, char c) { if (write(fd, &c, 1) != 1) _exit(9); }
static char hear(int fd) { char c = 0; if (read(fd, &c, 1) != 1) _exit(9); return c; }

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IONBF, 0);
    int fd;
    if (argc > 1 && !strcmp(argv[1], "memfd"))
        fd = memfd_create("victim", 0);
    else if (argc > 2)
        fd = open(argv[2], O_RDWR | O_CREAT | O_TRUNC, 0600);
    else
        return 2;
    if (fd < 0) { perror("open"); return 2; }
    static char buf[LEN];
    memset(buf, 'F', LEN);
    if (write(fd, buf, LEN) != LEN) { perror("write"); return 2; }
    char *m = mmap(NULL, LEN, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    char *pm = mmap(NULL, LEN, PROT_READ, MAP_PRIVATE, fd, 0);
    volatile int *flag = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED || pm == MAP_FAILED || flag == MAP_FAILED) { perror("mmap"); return 2; }
    m[0] = 'F';  /* both mappings in use before the truncation */
    char c = pm[LEN - 1];
    struct sigaction sa = {0};
    sa.sa_handler = on_fault;
    sigaction(SIGBUS, &sa, NULL);
    sigaction(SIGSEGV, &sa, NULL);

    int a2b[2], b2a[2];
    if (pipe(a2b) || pipe(b2a)) return 2;
    pid_t pid = fork();
    if (pid == 0) {  /* B */
        close(a2b[1]);
        close(b2a[0]);
        for (;;) {
            char cmd = hear(a2b[0]);
            if (cmd == 's') {  /* fill fresh memory of many sizes with the secret */
                for (int i = 0; i < 64; i++) {
                    size_t n = (size_t)(i % 16 + 1) * 64 * 1024;
                    char *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
                    if (p == MAP_FAILED) _exit(3);
                    for (size_t off = 0; off < n; off += 512)
                        memcpy(p + off, SECRET, sizeof SECRET - 1);
                }
            } else if (cmd == 't') {  /* truncate while A is blocked reading the pipe */
                if (ftruncate(fd, 0)) _exit(4);
            } else if (cmd == 'r') {  /* truncate while A runs application code */
                while (*flag != 1)
                    ;
                if (ftruncate(fd, 0)) _exit(4);
                *flag = 2;
            } else if (cmd == 'q') {
                _exit(0);
            }
            say(b2a[1], 'k');
        }
    }
    close(a2b[0]);
    close(b2a[1]);

    /* 1. A shrinks the file to 5000 bytes: pages 0 and 1 stay, the rest is gone. */
    if (ftruncate(fd, 5000)) { perror("ftruncate"); return 2; }
    say(a2b[1], 's');
    hear(b2a[0]);
    printf("page 0: %s %c\n", outcome(probe(m, 0, &c)), c);
    printf("rest of page 1: %s\n", outcome(probe(m + 5000, 0, &c)));
    printf("shared page 2 read: %s\n", outcome(probe(m + 2 * PG, 0, &c)));
    printf("shared page 2 write: %s\n", outcome(probe(m + 2 * PG, 1, &c)));
    printf("shared last page: %s\n", outcome(probe(m + LEN - 1, 0, &c)));
    printf("private page 2: %s\n", outcome(probe(pm + 2 * PG, 0, &c)));
    printf("private last page: %s\n", outcome(probe(pm + LEN - 1, 0, &c)));
    printf("B's secret seen through the shared mapping: %d pages\n", leaks(m, 2 * PG, LEN));
    printf("B's secret seen through the private mapping: %d pages\n", leaks(pm, 2 * PG, LEN));
    int p[2];
    if (pipe(p)) return 2;
    errno = 0;
    long r = write(p[1], m + 2 * PG, 16);
    printf("write() from past EOF: %ld %s\n", r, r < 0 ? strerrorname_np(errno) : "-");
    errno = 0;
    r = read(open("/dev/zero", O_RDONLY), m + 3 * PG, 16);
    printf("read() into past EOF: %ld %s\n", r, r < 0 ? strerrorname_np(errno) : "-");

    /* 2. Grown again: zeros, never the old bytes nor anybody's. */
    if (ftruncate(fd, LEN)) return 2;
    static const char zero[PG];
    int zeros = 1, sig = 0;
    for (size_t off = 2 * PG; off < LEN && !sig; off += PG) {
        sig = probe(m + off, 0, &c);
        if (!sig && memcmp(m + off, zero, PG))
            zeros = 0;
    }
    printf("grown again: %s, zeros %d\n", outcome(sig), zeros);
    sig = probe(pm + LEN - 1, 0, &c);
    printf("private grown again: %s %d\n", outcome(sig), sig ? -1 : c);
    m[LEN - 1] = 'G';
    pread(fd, &c, 1, LEN - 1);
    printf("write through the mapping reaches the file: %c\n", c);

    /* 3. B truncates while A is blocked in read(). */
    say(a2b[1], 't');
    hear(b2a[0]);
    printf("after B's truncation, page 0: %s\n", outcome(probe(m, 0, &c)));

    /* 4. B truncates while A spins in application code, in three threads. */
    pthread_t spinners[2];
    for (int i = 0; i < 2; i++)
        pthread_create(&spinners[i], NULL, spin, NULL);
    if (ftruncate(fd, LEN)) return 2;
    m[0] = 'H';
    say(a2b[1], 'r');
    *flag = 1;
    while (*flag != 2)   /* no syscall, no access to m (it would fault once B has truncated) */
        ;
    printf("after B's truncation while A ran, page 0: %s\n", outcome(probe(m, 0, &c)));
    hear(b2a[0]);
    stop_spinning = 1;
    for (int i = 0; i < 2; i++)
        pthread_join(spinners[i], NULL);

    say(a2b[1], 'q');
    int status;
    waitpid(pid, &status, 0);
    printf("B exited %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    return 0;
}
