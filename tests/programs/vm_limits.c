/* RLIMIT_AS and RLIMIT_DATA on mmap, brk and mremap, and personality(READ_IMPLIES_EXEC) on mmap's
 * protection; each case in a child of its own, so a limit set for one does not reach the next. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/personality.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#define MB (1UL << 20)

static void try_map(const char *what, size_t len, int prot, int flags) {
    void *p = mmap(NULL, len, prot, flags | MAP_ANONYMOUS, -1, 0);
    printf("  %s: %s\n", what, p == MAP_FAILED ? strerrorname_np(errno) : "ok");
    if (p != MAP_FAILED) munmap(p, len);
}

static void try_brk(const char *what, size_t len) {
    void *old = sbrk(0), *p = sbrk(len);
    printf("  %s: %s\n", what, p == (void *)-1 ? strerrorname_np(errno) : "ok");
    if (p != (void *)-1) brk(old);
}

static void with_limit(int resource, rlim_t limit) {
    struct rlimit rl = {limit, limit};
    if (setrlimit(resource, &rl) < 0) printf("  setrlimit: %s\n", strerrorname_np(errno));
}

static void as_limit(void) {
    with_limit(RLIMIT_AS, 1024 * MB);   /* more than the program maps already, far less than asked */
    try_map("private 2G", 2048 * MB, PROT_READ, MAP_PRIVATE);
    try_map("shared 2G", 2048 * MB, PROT_READ | PROT_WRITE, MAP_SHARED);
    try_map("noreserve 2G", 2048 * MB, PROT_NONE, MAP_PRIVATE | MAP_NORESERVE);
    try_map("private 64M", 64 * MB, PROT_READ | PROT_WRITE, MAP_PRIVATE);
    try_brk("brk 2G", 2048 * MB);
    try_brk("brk 16M", 16 * MB);
    char *p = mmap(NULL, 64 * MB, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    void *q = mremap(p, 64 * MB, 2048 * MB, MREMAP_MAYMOVE);
    printf("  mremap to 2G: %s\n", q == MAP_FAILED ? strerrorname_np(errno) : "ok");
    q = mremap(p, 64 * MB, 128 * MB, MREMAP_MAYMOVE);
    printf("  mremap to 128M: %s\n", q == MAP_FAILED ? strerrorname_np(errno) : "ok");
    /* MAP_FIXED over a mapping replaces it: only the growth counts */
    q = mmap(q == MAP_FAILED ? p : q, 128 * MB, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    printf("  fixed over itself: %s\n", q == MAP_FAILED ? strerrorname_np(errno) : "ok");
}

static void data_limit(void) {
    with_limit(RLIMIT_DATA, 64 * MB);
    try_map("private writable 128M", 128 * MB, PROT_READ | PROT_WRITE, MAP_PRIVATE);
    try_map("private read-only 128M", 128 * MB, PROT_READ, MAP_PRIVATE);
    try_map("shared writable 128M", 128 * MB, PROT_READ | PROT_WRITE, MAP_SHARED);
    try_map("stack-like growsdown 128M", 128 * MB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_GROWSDOWN);
    try_map("private writable 16M", 16 * MB, PROT_READ | PROT_WRITE, MAP_PRIVATE);
    try_brk("brk 128M", 128 * MB);
    try_brk("brk 1M", 1 * MB);
}

static void read_implies_exec(void) {
    personality(READ_IMPLIES_EXEC);
    char *p = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    char *w = mmap(NULL, 4096, PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    char *m = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    mprotect(m, 4096, PROT_READ | PROT_WRITE);
    char line[512];
    FILE *f = fopen("/proc/self/maps", "r");
    while (fgets(line, sizeof line, f)) {
        unsigned long start = strtoul(line, NULL, 16);
        if (start == (unsigned long)p || start == (unsigned long)w || start == (unsigned long)m)
            printf("  %s: %.4s\n", start == (unsigned long)p ? "PROT_READ" : start == (unsigned long)w ? "PROT_WRITE"
                   : "mprotect PROT_READ|PROT_WRITE", strchr(line, ' ') + 1);
    }
    fclose(f);
}

static void run(const char *name, void (*fn)(void)) {
    printf("%s\n", name);
    fflush(stdout);
    pid_t c = fork();
    if (c == 0) {
        fn();
        fflush(stdout);
        _exit(0);
    }
    int st;
    waitpid(c, &st, 0);
    if (!WIFEXITED(st) || WEXITSTATUS(st)) printf("  child status %#x\n", st);
}

int main(void) {
    run("RLIMIT_AS", as_limit);
    run("RLIMIT_DATA", data_limit);
    run("READ_IMPLIES_EXEC", read_implies_exec);
    return 0;
}
