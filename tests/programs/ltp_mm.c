/* Regressions found by running LTP's memory and futex syscall tests (futex, mmap, mprotect,
   madvise, msync) natively and in the sandbox. One case per argv[1]; each prints only facts
   Linux makes deterministic (return values, errno names, bytes seen), so native and sandbox
   output must be identical. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define CHECK(expr) do { errno = 0; long _r = (long)(expr); \
    printf("%-70s = %ld %s\n", #expr, _r, _r < 0 ? strerrorname_np(errno) : ""); } while (0)
#define CHECKP(expr) do { errno = 0; void *_p = (expr); \
    printf("%-70s = %s %s\n", #expr, _p == MAP_FAILED ? "MAP_FAILED" : "ok", \
           _p == MAP_FAILED ? strerrorname_np(errno) : ""); } while (0)

static long fx(void *a, int op, int v, long v2, void *a2, int v3)
{
    return syscall(SYS_futex, a, op, v, v2, a2, v3);
}

static int temp_file(const char *tag, long size)
{
    char path[64];
    snprintf(path, sizeof(path), "/tmp/ltp_mm_%s.%d", tag, getpid());
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    unlink(path);
    if (fd < 0 || ftruncate(fd, size) < 0)
        exit(1);
    return fd;
}

/* Shared futexes need a page to key: none on PROT_NONE, unmapped memory, or a shared file
   mapping past the file's end (futex_wake05, futex_cmp_requeue03). Private ones are keyed
   by address alone, but CMP_REQUEUE reads the first word. */
static int futex_efault(void)
{
    int w = 0;
    char *pn = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(fx(pn, FUTEX_WAKE, 1, 0, 0, 0));
    CHECK(fx(pn, FUTEX_WAKE_PRIVATE, 1, 0, 0, 0));
    CHECK(fx(pn, FUTEX_CMP_REQUEUE, 1, 1, &w, 0));
    CHECK(fx(&w, FUTEX_CMP_REQUEUE, 1, 1, pn, 0));
    CHECK(fx(pn, FUTEX_CMP_REQUEUE_PRIVATE, 1, 1, &w, 0));
    CHECK(fx(&w, FUTEX_CMP_REQUEUE_PRIVATE, 1, 1, pn, 0));
    CHECK(fx(pn, FUTEX_REQUEUE, 1, 1, &w, 0));
    munmap(pn, 4096);
    CHECK(fx(pn, FUTEX_WAKE, 1, 0, 0, 0));
    CHECK(fx(pn, FUTEX_WAKE_PRIVATE, 1, 0, 0, 0));
    CHECK(fx(pn, FUTEX_CMP_REQUEUE_PRIVATE, 1, 1, &w, 0));
    int fd = temp_file("futex", 8192);
    char *sh = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    sh[0] = 1;
    CHECK(fx(sh, FUTEX_WAKE, 1, 0, 0, 0));
    CHECK(fx(sh + 4096, FUTEX_WAKE, 1, 0, 0, 0));
    CHECK(ftruncate(fd, 0));
    CHECK(fx(sh, FUTEX_WAKE, 1, 0, 0, 0));
    CHECK(fx(sh, FUTEX_WAKE_PRIVATE, 1, 0, 0, 0));
    CHECK(fx(sh, FUTEX_CMP_REQUEUE, 1, 1, &w, 0));
    CHECK(fx(&w, FUTEX_CMP_REQUEUE, 1, 1, sh, 0));
    return 0;
}

static int word, word2;
static atomic_int ready;

static void *waiter(void *arg)
{
    atomic_fetch_add(&ready, 1);
    fx(&word, FUTEX_WAIT_PRIVATE, 0, 0, 0, 0);
    return arg;
}

/* n threads blocked on word (the pause lets the last one reach its futex call). */
static void start_waiters(int n)
{
    pthread_t t;
    ready = 0;
    for (int i = 0; i < n; i++)
        pthread_create(&t, NULL, waiter, NULL);
    while (ready < n)
        usleep(1000);
    usleep(200000);
}

/* The first nonzero answer of a wake or requeue on word: how many it woke and moved. */
static long until_some(int op, int n, long n2)
{
    long r;
    while ((r = fx(&word, op, n, n2, &word2, 0)) == 0)
        usleep(1000);
    return r;
}

/* Counts are ints: negative ones are EINVAL to (CMP_)REQUEUE, before anything else
   (futex_cmp_requeue02); FUTEX_WAKE wakes at least one whatever its count. */
static int futex_counts(void)
{
    CHECK(fx(&word, FUTEX_CMP_REQUEUE, -1, 1, &word2, 0));
    CHECK(fx(&word, FUTEX_CMP_REQUEUE, 1, -1, &word2, 0));
    CHECK(fx(&word, FUTEX_CMP_REQUEUE, 1, 0x80000001L, &word2, 0));
    CHECK(fx(&word, FUTEX_CMP_REQUEUE, 1, 0x100000001L, &word2, 0));
    CHECK(fx(&word, FUTEX_CMP_REQUEUE, 1, 1, &word2, 1));
    CHECK(fx(&word, FUTEX_CMP_REQUEUE, -1, 1, &word2, 1));
    CHECK(fx((char *)&word + 1, FUTEX_CMP_REQUEUE, -1, 1, &word2, 0));
    CHECK(fx(&word, FUTEX_REQUEUE, -1, 1, &word2, 0));
    CHECK(fx(&word, FUTEX_REQUEUE, 1, -1, &word2, 0));
    CHECK(fx(&word, FUTEX_WAKE, -1, 0, 0, 0));
    start_waiters(4);
    printf("wake -1 woke %ld\n", until_some(FUTEX_WAKE_PRIVATE, -1, 0));
    printf("wake 0 woke %ld\n", until_some(FUTEX_WAKE_PRIVATE, 0, 0));
    printf("requeue 0, 1 moved %ld\n", until_some(FUTEX_REQUEUE_PRIVATE, 0, 1));
    printf("word2 woken %ld\n", fx(&word2, FUTEX_WAKE_PRIVATE, 10, 0, 0, 0));
    printf("requeue onto itself %ld\n", fx(&word, FUTEX_REQUEUE_PRIVATE, 0, 0x7fffffff, &word, 0));
    printf("wake 10 woke %ld\n", until_some(FUTEX_WAKE_PRIVATE, 10, 0));
    return 0;
}

/* A shared mapping of /dev/zero opened read-only may never be written (VM_MAYWRITE), like any
   file's (mprotect01); a private one may. */
static int devzero_rdonly(void)
{
    int z = open("/dev/zero", O_RDONLY);
    CHECKP(mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, z, 0));
    CHECKP(mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE, z, 0));
    void *p = mmap(NULL, 4096, PROT_READ, MAP_SHARED, z, 0);
    CHECK(mprotect(p, 4096, PROT_READ | PROT_WRITE));
    CHECK(mprotect(p, 4096, PROT_READ | PROT_EXEC));
    p = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, z, 0);
    CHECK(mprotect(p, 4096, PROT_READ | PROT_WRITE));
    return 0;
}

/* mmap's checks in Linux's order: the offset's alignment, then the descriptor (EBADF even
   for length 0: mmap08), the length, then the map type (EINVAL for MAP_FILE alone, before
   the access checks: mmap06), then the file's access mode. */
static int mmap_order(void)
{
    int fr = temp_file("order", 8192);
    int f = dup(fr);
    close(fr);
    char path[64];
    snprintf(path, sizeof(path), "/proc/self/fd/%d", f);
    int fw = open(path, O_WRONLY);
    CHECKP(mmap(NULL, 4096, PROT_READ, MAP_FILE, fw, 0));
    CHECKP(mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_FILE, f, 0));
    CHECKP(mmap(NULL, 4096, PROT_READ, MAP_FILE, -1, 0));
    CHECKP(mmap(NULL, 0, PROT_READ, MAP_FILE, -1, 0));
    CHECKP(mmap(NULL, 0, PROT_WRITE, MAP_FILE | MAP_SHARED, 1000, 0));
    CHECKP(mmap(NULL, 0, PROT_READ, MAP_SHARED_VALIDATE | MAP_SYNC, -1, 0));
    CHECKP(mmap(NULL, (size_t)-1, PROT_READ, MAP_PRIVATE, -1, 0));
    CHECKP(mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, -1, (off_t)-4096));
    CHECKP(mmap(NULL, 4096, PROT_READ, MAP_SHARED, -1, 1));
    CHECKP(mmap(NULL, 4096, PROT_READ, MAP_SHARED, f, (off_t)-4096));
    CHECKP(mmap(NULL, 0, PROT_READ, MAP_SHARED, fw, 0));
    CHECKP(mmap(NULL, 4096, PROT_READ, MAP_SHARED, fw, 0));
    CHECKP(mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, f, 0));
    CHECKP(mmap(NULL, 4096, PROT_READ, MAP_SHARED | MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    CHECKP(mmap(NULL, 4096, PROT_READ, MAP_ANONYMOUS, -1, 0));
    CHECKP(mmap(NULL, 4096, PROT_READ, MAP_SHARED | MAP_ANONYMOUS | MAP_GROWSDOWN, -1, 0));
    CHECKP(mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_GROWSDOWN, -1, 0));
    /* a file mapping must end within the largest file size (file_mmap_ok): the last page is EOVERFLOW */
    CHECKP(mmap(NULL, 4096, PROT_READ, MAP_SHARED, f, 0x7fffffffffffffffLL & ~4095LL));
    CHECKP(mmap(NULL, 4096, PROT_READ, MAP_SHARED, f, (0x7fffffffffffffffLL & ~4095LL) - 4096));
    return 0;
}

/* madvise's per-mapping checks (madvise02): MADV_REMOVE needs a shared writable file mapping
   (shmem counts), locked memory refuses discarding advice, MADV_FREE and MADV_WIPEONFORK take
   private anonymous memory only. The walk stops at the first refusal; holes are ENOMEM. */
static int madvise_checks(void)
{
    int fd = temp_file("madvise", 8192);
    char *fp = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    char *fs = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    char *fr = mmap(NULL, 8192, PROT_READ, MAP_SHARED, fd, 0);
    char path[64];
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    char *fo = mmap(NULL, 8192, PROT_READ, MAP_SHARED, open(path, O_RDONLY), 0);
    char *ap = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    char *as = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    char *lk = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_LOCKED, -1, 0);
    char *ml = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    char *ro = mmap(NULL, 8192, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(mlock(ml, 8192));
    CHECK(madvise(fp, 8192, MADV_REMOVE));
    CHECK(madvise(fr, 8192, MADV_REMOVE));
    CHECK(madvise(fo, 8192, MADV_REMOVE));
    CHECK(madvise(ap, 8192, MADV_REMOVE));
    CHECK(madvise(as, 8192, MADV_REMOVE));
    CHECK(madvise(lk, 8192, MADV_REMOVE));
    CHECK(madvise(lk, 8192, MADV_DONTNEED));
    CHECK(madvise(ml, 8192, MADV_DONTNEED));
    CHECK(madvise(ml, 4096, MADV_FREE));
    CHECK(madvise(ml, 8192, MADV_WIPEONFORK));
    CHECK(madvise(fp, 8192, MADV_FREE));
    CHECK(madvise(fs, 8192, MADV_FREE));
    CHECK(madvise(as, 8192, MADV_FREE));
    CHECK(madvise(ap, 8192, MADV_FREE));
    CHECK(madvise(ro, 8192, MADV_FREE));
    CHECK(madvise(fp, 8192, MADV_WIPEONFORK));
    CHECK(madvise(fs, 8192, MADV_WIPEONFORK));
    CHECK(madvise(as, 8192, MADV_WIPEONFORK));
    CHECK(madvise(ap, 8192, MADV_WIPEONFORK));
    CHECK(madvise(fs, 8192, MADV_KEEPONFORK));
    CHECK(madvise(fs, 8192, MADV_DONTFORK));
    CHECK(madvise(fs, 8192, MADV_DOFORK));
    CHECK(madvise(fp, 8192, MADV_DONTNEED));
    CHECK(madvise(fs, 8192, MADV_DONTNEED));
    CHECK(mlock2(ap, 8192, MLOCK_ONFAULT));
    CHECK(madvise(ap, 8192, MADV_DONTNEED));
    CHECK(munlock(ap, 8192));
    char *mix = mmap(NULL, 12288, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    mix[0] = 1;
    mix[4096] = 2;
    CHECK(mlock(mix + 4096, 4096));
    CHECK(madvise(mix, 8192, MADV_DONTNEED));
    printf("before the locked page: %d, locked: %d\n", mix[0], mix[4096]);
    CHECK(munmap(mix + 4096, 4096));
    mix[0] = 1;
    CHECK(madvise(mix, 12288, MADV_DONTNEED));
    printf("around a hole: %d\n", mix[0]);
    CHECK(madvise(mix + 4096, 4096, MADV_NORMAL));
    return 0;
}

/* What a child of fork sees of a range: its bytes, or "unmapped" (it dies of SIGSEGV). */
static void child_view(const char *what, volatile char *p)
{
    pid_t pid = fork();
    if (pid == 0) {
        printf("%s: child sees %d %d\n", what, p[0], p[4096]);
        _exit(0);
    }
    int status;
    waitpid(pid, &status, 0);
    if (WIFSIGNALED(status))
        printf("%s: child killed by %s\n", what, sigabbrev_np(WTERMSIG(status)));
    printf("%s: parent sees %d %d\n", what, p[0], p[4096]);
}

/* MADV_WIPEONFORK: the child reads zeros (the parent keeps its bytes), and keeps the setting
   for its own children; MADV_KEEPONFORK undoes it. MADV_DONTFORK: nothing is mapped there in
   the child; MADV_DOFORK undoes it. Both hold for the part of a mapping they were given. */
static int fork_advice(void)
{
    char *p = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    memset(p, 7, 8192);
    CHECK(madvise(p, 8192, MADV_WIPEONFORK));
    child_view("wipeonfork", p);
    pid_t pid = fork();
    if (pid == 0) {
        p[0] = 9;
        child_view("grandchild", p);
        _exit(0);
    }
    waitpid(pid, NULL, 0);
    CHECK(madvise(p, 8192, MADV_KEEPONFORK));
    child_view("keeponfork", p);
    CHECK(madvise(p + 4096, 4096, MADV_WIPEONFORK));
    child_view("second page wiped", p);
    CHECK(madvise(p, 8192, MADV_KEEPONFORK));
    CHECK(madvise(p, 8192, MADV_DONTFORK));
    child_view("dontfork", p);
    CHECK(madvise(p, 8192, MADV_DOFORK));
    child_view("dofork", p);
    CHECK(madvise(p + 4096, 4096, MADV_DONTFORK));
    child_view("second page not forked", p + 4096 - 4096);
    pid = fork();
    if (pid == 0) {
        printf("first page in the child: %d\n", p[0]);
        _exit(0);
    }
    waitpid(pid, NULL, 0);
    return 0;
}

/* msync(MS_INVALIDATE) cannot drop locked pages: EBUSY for a range reaching a locked mapping
   (mlock, MAP_LOCKED, mlockall, lock on fault), before the ENOMEM of a hole (msync03). */
static int msync_locked(void)
{
    int fd = temp_file("msync", 8192);
    char *lk = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_LOCKED, -1, 0);
    char *fl = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_LOCKED, fd, 0);
    char *p = mmap(NULL, 12288, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(msync(lk, 8192, MS_INVALIDATE));
    CHECK(msync(lk, 8192, MS_ASYNC | MS_INVALIDATE));
    CHECK(msync(lk, 8192, MS_SYNC));
    CHECK(msync(fl, 8192, MS_INVALIDATE));
    CHECK(msync(p, 8192, MS_INVALIDATE));
    CHECK(mlock(p + 4096, 4096));
    CHECK(msync(p, 4096, MS_INVALIDATE));
    CHECK(msync(p, 8192, MS_INVALIDATE));
    CHECK(munmap(p + 8192, 4096));
    CHECK(msync(p, 12288, MS_INVALIDATE));
    CHECK(msync(p, 12288, MS_ASYNC));
    CHECK(munlock(p, 8192));
    CHECK(mlock2(p, 4096, MLOCK_ONFAULT));
    CHECK(msync(p, 4096, MS_INVALIDATE));
    CHECK(munlock(p, 8192));
    CHECK(mlockall(MCL_CURRENT));
    CHECK(msync(p, 4096, MS_INVALIDATE));
    CHECK(munlockall());
    CHECK(msync(p, 4096, MS_INVALIDATE));
    return 0;
}

#define PG 4096L

/* In a child: write one byte at each of ``offsets`` pages from ``base`` (negative: below it),
   print each write; its death by SIGSEGV is printed by the parent. */
static void touch_in_child(const char *what, char *base, const long *offsets, int n, long stack_pages)
{
    pid_t pid = fork();
    if (pid == 0) {
        if (stack_pages) {
            struct rlimit rl = {stack_pages * PG, RLIM_INFINITY};
            setrlimit(RLIMIT_STACK, &rl);
        }
        for (int i = 0; i < n; i++) {
            base[offsets[i] * PG] = 5;
            printf("%s: page %ld written, reads %d\n", what, offsets[i], base[offsets[i] * PG]);
        }
        _exit(0);
    }
    int status;
    waitpid(pid, &status, 0);
    printf("%s: %s\n", what, WIFSIGNALED(status) ? sigabbrev_np(WTERMSIG(status)) : "exited");
}

/* MAP_GROWSDOWN (mmap18): a fault on an unmapped page below the mapping grows it down to that
   page, but never within the stack guard gap (256 pages) above another mapping, nor past
   RLIMIT_STACK for the whole mapping. */
static int growsdown(void)
{
    long reserve = 1024;
    char *area = mmap(NULL, reserve * PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    munmap(area, reserve * PG);
    /* a floor page at the bottom of the reserved area, the grows-down mapping 4 pages at its top */
    char *floor = mmap(area, PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    char *top = area + (reserve - 4) * PG;
    CHECKP(mmap(top, 4 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_GROWSDOWN, -1, 0));
    top[0] = 1;
    long step[] = {-1, -2, -3};
    touch_in_child("page by page", top, step, 3, 0);
    long jump[] = {-100, -1};
    touch_in_child("a jump down", top, jump, 2, 0);
    long gap_ok[] = {-(reserve - 4 - 1 - 256)};
    touch_in_child("at the guard gap", top, gap_ok, 1, 0);
    long gap_bad[] = {-(reserve - 4 - 1 - 255)};
    touch_in_child("inside the guard gap", top, gap_bad, 1, 0);
    long limit_ok[] = {-60};
    touch_in_child("within RLIMIT_STACK", top, limit_ok, 1, 64);
    long limit_bad[] = {-61};
    touch_in_child("past RLIMIT_STACK", top, limit_bad, 1, 64);
    munmap(floor, PG);
    char *plain = mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    long below_plain[] = {-1};
    touch_in_child("below a plain mapping", plain, below_plain, 1, 0);
    return 0;
}

/* MADV_REMOVE on a shared mapping of a memfd: the file loses those pages (a hole), which read as
 * zeros through the mapping and read() alike; the pages around them stay. */
static int madv_remove(void)
{
    int fd = memfd_create("remove", 0);
    ftruncate(fd, 3 * 4096);
    char *m = mmap(NULL, 3 * 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    memset(m, 'x', 3 * 4096);
    CHECK(madvise(m + 4096, 4096, MADV_REMOVE));
    char b[3];
    pread(fd, b, 1, 0);
    pread(fd, b + 1, 1, 4096);
    pread(fd, b + 2, 1, 8192);
    printf("file: %d %d %d; mapping: %d %d %d\n", b[0], b[1], b[2], m[0], m[4096], m[8192]);
    return 0;
}

static void show_resident(const char *what, void *addr, int pages)
{
    unsigned char vec[16];
    char text[17];
    if (mincore(addr, pages * 4096, vec)) {
        printf("%-44s mincore: %s\n", what, strerrorname_np(errno));
        return;
    }
    for (int i = 0; i < pages; i++)
        text[i] = '0' + (vec[i] & 1);
    text[pages] = 0;
    printf("%-44s %s\n", what, text);
}

/* mincore reports the pages present: none of fresh anonymous memory, those touched, all once
   mlock (not MLOCK_ONFAULT) or MADV_POPULATE_WRITE made them, none after MADV_DONTNEED; a shared
   mapping's pages its object holds (LTP mincore03, mlock201 saw every page resident). */
static int mincore_residency(void)
{
    char *p = mmap(NULL, 4 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    show_resident("private, fresh", p, 4);
    p[4096] = 1;
    show_resident("private, page 1 written", p, 4);
    mlock(p, 4 * 4096);
    show_resident("private, mlocked", p, 4);
    munlock(p, 4 * 4096);
    madvise(p, 4 * 4096, MADV_DONTNEED);
    show_resident("private, MADV_DONTNEED", p, 4);
    madvise(p, 2 * 4096, MADV_POPULATE_WRITE);
    show_resident("private, MADV_POPULATE_WRITE of 2", p, 4);
    printf("page 1 still zero after populate: %d\n", p[4096] == 0);
    munmap(p, 4 * 4096);
    char *s = mmap(NULL, 4 * 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    s[2 * 4096] = 7;
    show_resident("shared, page 2 written", s, 4);
    syscall(SYS_mlock2, s, 4 * 4096, 1 /* MLOCK_ONFAULT */);
    show_resident("shared, MLOCK_ONFAULT", s, 4);
    munlock(s, 4 * 4096);
    mlock(s + 4096, 4096);
    show_resident("shared, page 1 mlocked", s, 4);
    printf("page 2 kept: %d\n", s[2 * 4096]);
    munmap(s, 4 * 4096);
    return 0;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    if (argc < 2)
        return 2;
    if (!strcmp(argv[1], "futex_efault"))
        return futex_efault();
    if (!strcmp(argv[1], "futex_counts"))
        return futex_counts();
    if (!strcmp(argv[1], "devzero_rdonly"))
        return devzero_rdonly();
    if (!strcmp(argv[1], "mmap_order"))
        return mmap_order();
    if (!strcmp(argv[1], "madvise_checks"))
        return madvise_checks();
    if (!strcmp(argv[1], "fork_advice"))
        return fork_advice();
    if (!strcmp(argv[1], "msync_locked"))
        return msync_locked();
    if (!strcmp(argv[1], "growsdown"))
        return growsdown();
    if (!strcmp(argv[1], "madv_remove"))
        return madv_remove();
    if (!strcmp(argv[1], "mincore_residency"))
        return mincore_residency();
    printf("unknown case %s\n", argv[1]);
    return 2;
}
