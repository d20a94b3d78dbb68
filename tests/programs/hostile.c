/* Hostile arguments for every implemented syscall (issue 2, "Tests").
 *
 * Phase "table" (default): each call goes through syscall(2) with bad pointers
 * (NULL, 1, unmapped, kernel half), huge lengths, bad fds and invalid flags,
 * and prints one line `name(args) = ret` or `name(args) = -1 errno=NAME`.
 * Only results Linux defines deterministically are printed (no addresses,
 * pids or times), so the output natively and in the sandbox must match.
 * tests/test_hostile.py extracts the T(...) descriptions from this file to
 * make one test per line.
 *
 * Phase "random": a fixed-seed PRNG throws thousands of random argument
 * vectors at the syscall table (minus calls that would kill, block or blind
 * the process). Run only in the sandbox: the assertion is that the Sentry
 * stays up and the program reaches its final "done" line.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define NUL 0L
#define ONE 1L
#define UNMAP 0xdead0000000L
#define KADDR ((long)0xffff800000000000UL)
#define HUGE ((long)SIZE_MAX)
#define BIG (1L << 40)
#define FDBIG (1L << 20)
#define FDMAX 0x7fffffffL
#define ALLF (-1L)
#define P(x) ((long)(x))

static const char *ename(int e) {
    const char *n = strerrorname_np(e);
    return n ? n : "?";
}

static void report(const char *name, const char *desc, long r, int e, int okonly) {
    if (r == -1)
        printf("%s(%s) = -1 errno=%s\n", name, desc, ename(e));
    else if (okonly)
        printf("%s(%s) = ok\n", name, desc);
    else
        printf("%s(%s) = %ld\n", name, desc, r);
    fflush(stdout);
}

/* T prints the exact result; TOK prints "ok" for any success (fds, addresses). */
/* Every argument goes through a long[] so that int arguments are sign-extended
 * into full registers (a variadic int would leave the upper half undefined). */
static long sc(long nr, const long *a) { return syscall(nr, a[0], a[1], a[2], a[3], a[4], a[5]); }
#define CALL(okonly, name, desc, ...) do { errno = 0; \
    long r_ = sc(SYS_##name, (const long[]){__VA_ARGS__, 0, 0, 0, 0, 0, 0}); \
    report(#name, desc, r_, errno, okonly); } while (0)
#define T(name, desc, ...) CALL(0, name, desc, __VA_ARGS__)
#define TOK(name, desc, ...) CALL(1, name, desc, __VA_ARGS__)
/* A check computed in C (e.g. "brk returned the old break") printed as a line. */
#define CHECK(name, desc, cond) printf("%s(%s) = %s\n", #name, desc, (cond) ? "true" : "false")

static char buf[65536];
static char longpath[PATH_MAX + 16];
static char longname[300];

static int fd_file, fd_dir, fd_null, fd_zero, fd_full, fd_urandom, fd_rdonly, fd_wronly;
static char *page;      /* one mapped RW anonymous page */
static char *edge;      /* last 10 bytes before an unmapped page */
static char *unterminated; /* a path with no NUL before an unmapped page */

static void setup(void) {
    char tmpl[] = "/dev/shm/hostile-XXXXXX";
    /* Run natively as root, a "NULL" that were readable would make calls like
     * sethostname(NULL, 5) succeed on the host: refuse to run if page 0 is mapped. */
    if (msync(NULL, 4096, MS_ASYNC) == 0 || errno != ENOMEM) {
        fprintf(stderr, "page 0 is mapped: refusing to pass NULL pointers\n");
        exit(2);
    }
    umask(022);
    if (!mkdtemp(tmpl) || chdir(tmpl)) { perror("setup dir"); exit(2); }
    fd_file = open("f", O_RDWR | O_CREAT | O_TRUNC, 0644);
    memset(buf, 'x', 100);
    if (write(fd_file, buf, 100) != 100 || lseek(fd_file, 0, SEEK_SET)) { perror("setup f"); exit(2); }
    fd_dir = open(".", O_RDONLY | O_DIRECTORY);
    fd_null = open("/dev/null", O_RDWR);
    fd_zero = open("/dev/zero", O_RDWR);
    fd_full = open("/dev/full", O_RDWR);
    fd_urandom = open("/dev/urandom", O_RDONLY);
    fd_rdonly = open("f", O_RDONLY);
    fd_wronly = open("f", O_WRONLY);
    if (fd_file < 0 || fd_dir < 0 || fd_null < 0 || fd_zero < 0 || fd_full < 0 || fd_urandom < 0 ||
        fd_rdonly < 0 || fd_wronly < 0) { perror("setup fds"); exit(2); }
    if (mkdir("d", 0755) || mkdir("full", 0755) || close(open("full/x", O_CREAT | O_WRONLY, 0644)) ||
        symlink("f", "link") || symlink("loop2", "loop1") || symlink("loop1", "loop2") ||
        symlink("nowhere", "dangling")) { perror("setup tree"); exit(2); }
    /* Fixed addresses far from everything else, each followed by a hole: a failing
     * mprotect/mremap over a huge length must stop at the hole, not at ld.so. */
    page = mmap((void *)0x300000000000, 4096, PROT_READ | PROT_WRITE,
                MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    char *two = mmap((void *)0x300000100000, 4096, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    if (two == MAP_FAILED || page == MAP_FAILED) { perror("setup mmap"); exit(2); }
    edge = two + 4096 - 10;
    unterminated = two + 4096 - 8;
    memset(unterminated, 'a', 8);
    memset(longpath, 'a', sizeof longpath - 1);
    memset(longname, 'b', sizeof longname - 1);
}

static void rewind_file(void) { lseek(fd_file, 0, SEEK_SET); }
static void rewind_dir(void) { lseek(fd_dir, 0, SEEK_SET); }
/* A failed call may still have written part of its output over the edge page. */
static char *unterm(void) { memset(unterminated, 'a', 8); return unterminated; }

static void phase_table(void) {
    struct iovec iov[2] = {{buf, 10}, {buf + 10, 10}};
    struct iovec iov_null[1] = {{NULL, 10}};
    struct iovec iov_huge[1] = {{buf, SIZE_MAX}};
    struct iovec iov_over[2] = {{buf, 1UL << 62}, {buf, 1UL << 62}};
    struct timespec ts_neg = {-1, 0}, ts_nsec = {0, 1000000000}, ts_nsneg = {0, -1}, ts_zero = {0, 0}, ts_1ns = {0, 1};

    /* ---- read / write / pread / pwrite ---- */
    T(read, "-1, buf, 10", -1, P(buf), 10);
    T(read, "1<<20, buf, 10", FDBIG, P(buf), 10);
    T(read, "0x7fffffff, buf, 10", FDMAX, P(buf), 10);
    T(read, "file, NULL, 10", fd_file, NUL, 10);
    T(read, "file, 1, 10", fd_file, ONE, 10);
    T(read, "file, unmapped, 10", fd_file, UNMAP, 10);
    T(read, "file, kernel, 10", fd_file, KADDR, 10);
    T(lseek, "file, 0, SEEK_CUR after failed reads", fd_file, 0L, SEEK_CUR);
    T(read, "file, buf, SIZE_MAX", fd_file, P(buf), HUGE); rewind_file();
    T(read, "file, NULL, 0", fd_file, NUL, 0);
    T(read, "file, buf, 1<<40", fd_file, P(buf), BIG); rewind_file();
    T(read, "file, edge-of-mapping, 100", fd_file, P(edge), 100); rewind_file();
    T(read, "dir, buf, 10", fd_dir, P(buf), 10);
    T(read, "wronly, buf, 10", fd_wronly, P(buf), 10);
    T(read, "null, NULL, 10", fd_null, NUL, 10);
    T(read, "zero, NULL, 10", fd_zero, NUL, 10);
    T(read, "zero, kernel, 10", fd_zero, KADDR, 10);
    T(read, "zero, edge-of-mapping, 100", fd_zero, P(edge), 100);
    T(read, "full, buf, 10", fd_full, P(buf), 10);
    T(read, "urandom, NULL, 10", fd_urandom, NUL, 10);
    T(read, "urandom, buf, 0", fd_urandom, P(buf), 0);

    T(write, "-1, buf, 10", -1, P(buf), 10);
    T(write, "0x7fffffff, buf, 10", FDMAX, P(buf), 10);
    T(write, "file, NULL, 10", fd_file, NUL, 10);
    T(write, "file, kernel, 10", fd_file, KADDR, 10);
    T(write, "file, unmapped, 10", fd_file, UNMAP, 10);
    T(write, "file, buf, SIZE_MAX", fd_file, P(buf), HUGE);
    T(lseek, "file, 0, SEEK_CUR after failed writes", fd_file, 0L, SEEK_CUR);
    T(write, "file, NULL, 0", fd_file, NUL, 0);
    T(write, "rdonly, buf, 10", fd_rdonly, P(buf), 10);
    T(write, "dir, buf, 10", fd_dir, P(buf), 10);
    T(write, "null, NULL, 10", fd_null, NUL, 10);
    T(write, "null, kernel, 10", fd_null, KADDR, 10);
    T(write, "null, buf, 1<<40", fd_null, P(buf), BIG);
    T(write, "zero, buf, 10", fd_zero, P(buf), 10);
    T(write, "full, buf, 10", fd_full, P(buf), 10);
    T(write, "full, NULL, 10", fd_full, NUL, 10);
    T(write, "urandom-rdonly, buf, 10", fd_urandom, P(buf), 10);

    T(pread64, "file, buf, 10, -1", fd_file, P(buf), 10, -1L);
    T(pread64, "file, NULL, 10, 0", fd_file, NUL, 10, 0L);
    T(pread64, "file, kernel, 10, 0", fd_file, KADDR, 10, 0L);
    T(pread64, "file, buf, 10, 1<<40", fd_file, P(buf), 10, BIG);
    T(pread64, "file, buf, 10, LLONG_MAX", fd_file, P(buf), 10, LLONG_MAX);
    T(pread64, "file, buf, SIZE_MAX, 0", fd_file, P(buf), HUGE, 0L);
    T(pread64, "file, buf, 1<<40, 90", fd_file, P(buf), BIG, 90L);
    T(pread64, "file, edge-of-mapping, 100, 0", fd_file, P(edge), 100, 0L);
    T(pread64, "dir, buf, 10, 0", fd_dir, P(buf), 10, 0L);
    T(pread64, "null, buf, 10, 0", fd_null, P(buf), 10, 0L);
    T(pread64, "-1, buf, 10, 0", -1, P(buf), 10, 0L);
    T(pread64, "wronly, buf, 10, 0", fd_wronly, P(buf), 10, 0L);

    T(pwrite64, "file, buf, 10, -1", fd_file, P(buf), 10, -1L);
    T(pwrite64, "file, NULL, 10, 0", fd_file, NUL, 10, 0L);
    T(pwrite64, "file, kernel, 10, 0", fd_file, KADDR, 10, 0L);
    T(pwrite64, "file, buf, 10, LLONG_MAX", fd_file, P(buf), 10, LLONG_MAX);
    T(pwrite64, "file, buf, 0, LLONG_MAX", fd_file, P(buf), 0, LLONG_MAX);
    T(pwrite64, "rdonly, buf, 10, 0", fd_rdonly, P(buf), 10, 0L);
    T(pwrite64, "-1, buf, 10, 0", -1, P(buf), 10, 0L);
    T(pwrite64, "full, buf, 10, 0", fd_full, P(buf), 10, 0L);

    /* ---- vectored I/O ---- */
    T(readv, "-1, iov, 1", -1, P(iov), 1);
    T(readv, "file, NULL, 1", fd_file, NUL, 1);
    T(readv, "file, kernel, 1", fd_file, KADDR, 1);
    T(readv, "file, iov, -1", fd_file, P(iov), -1);
    T(readv, "file, iov, 1025", fd_file, P(iov), 1025);
    T(readv, "file, iov, 0", fd_file, P(iov), 0);
    T(readv, "file, {NULL,10}, 1", fd_file, P(iov_null), 1);
    T(readv, "file, {buf,SIZE_MAX}, 1", fd_file, P(iov_huge), 1);
    T(readv, "file, {buf,1<<62}x2, 2", fd_file, P(iov_over), 2);
    T(readv, "file, iov, 2", fd_file, P(iov), 2); rewind_file();
    T(readv, "dir, iov, 1", fd_dir, P(iov), 1);
    T(writev, "-1, iov, 1", -1, P(iov), 1);
    T(writev, "file, NULL, 1", fd_file, NUL, 1);
    T(writev, "file, iov, -1", fd_file, P(iov), -1);
    T(writev, "file, iov, 1025", fd_file, P(iov), 1025);
    T(writev, "file, {NULL,10}, 1", fd_file, P(iov_null), 1);
    T(writev, "file, {buf,SIZE_MAX}, 1", fd_file, P(iov_huge), 1);
    T(writev, "null, {buf,1<<62}x2, 2", fd_null, P(iov_over), 2);
    T(writev, "null, iov, 2", fd_null, P(iov), 2);
    T(writev, "rdonly, iov, 1", fd_rdonly, P(iov), 1);
    T(preadv, "file, iov, 1, -1", fd_file, P(iov), 1, -1L, 0L);
    T(preadv, "file, NULL, 1, 0", fd_file, NUL, 1, 0L, 0L);
    T(preadv, "file, iov, 2, 95", fd_file, P(iov), 2, 95L, 0L);
    T(preadv, "file, iov, 1025, 0", fd_file, P(iov), 1025, 0L, 0L);
    T(pwritev, "file, iov, 1, -1", fd_file, P(iov), 1, -1L, 0L);
    T(pwritev, "file, NULL, 1, 0", fd_file, NUL, 1, 0L, 0L);
    T(pwritev, "rdonly, iov, 1, 0", fd_rdonly, P(iov), 1, 0L, 0L);
    T(preadv2, "file, iov, 1, 0, flags=~0", fd_file, P(iov), 1, 0L, 0L, ALLF);
    T(preadv2, "file, NULL, 1, 0, 0", fd_file, NUL, 1, 0L, 0L, 0L);
    T(preadv2, "file, iov, 1, -2, 0", fd_file, P(iov), 1, -2L, 0L, 0L);
    T(pwritev2, "file, iov, 1, 0, flags=~0", fd_file, P(iov), 1, 0L, 0L, ALLF);
    T(pwritev2, "file, {NULL,10}, 1, 0, 0", fd_file, P(iov_null), 1, 0L, 0L, 0L);

    /* ---- open / close ---- */
    T(open, "NULL, O_RDONLY", NUL, O_RDONLY);
    T(open, "1, O_RDONLY", ONE, O_RDONLY);
    T(open, "unmapped, O_RDONLY", UNMAP, O_RDONLY);
    T(open, "kernel, O_RDONLY", KADDR, O_RDONLY);
    T(open, "unterminated-at-edge, O_RDONLY", P(unterm()), O_RDONLY);
    T(open, "\"f\", flags=~0", P("f"), ALLF);
    T(open, "\"nonexistent\", O_RDONLY", P("nonexistent"), O_RDONLY);
    T(open, "\"\", O_RDONLY", P(""), O_RDONLY);
    T(open, "PATH_MAX+15 chars, O_RDONLY", P(longpath), O_RDONLY);
    T(open, "299-char name, O_RDONLY", P(longname), O_RDONLY);
    T(open, "\"f/x\", O_RDONLY", P("f/x"), O_RDONLY);
    T(open, "\"f\", O_DIRECTORY", P("f"), O_RDONLY | O_DIRECTORY);
    T(open, "\".\", O_WRONLY", P("."), O_WRONLY);
    T(open, "\"f\", O_CREAT|O_EXCL", P("f"), O_CREAT | O_EXCL | O_RDWR, 0644);
    T(open, "\"loop1\", O_RDONLY", P("loop1"), O_RDONLY);
    T(open, "\"link\", O_NOFOLLOW", P("link"), O_RDONLY | O_NOFOLLOW);
    T(open, "\"dangling\", O_RDONLY", P("dangling"), O_RDONLY);
    T(open, "\"full/x/y\", O_RDONLY", P("full/x/y"), O_RDONLY);
    T(open, "\"/proc/self/nonexistent\", O_RDONLY", P("/proc/self/nonexistent"), O_RDONLY);
    T(open, "\"/\", O_RDWR", P("/"), O_RDWR);
    T(openat, "-1, \"f\", O_RDONLY", -1, P("f"), O_RDONLY);
    T(openat, "1<<20, \"f\", O_RDONLY", FDBIG, P("f"), O_RDONLY);
    T(openat, "file, \"x\", O_RDONLY", fd_file, P("x"), O_RDONLY);
    T(openat, "AT_FDCWD, NULL, O_RDONLY", AT_FDCWD, NUL, O_RDONLY);
    T(openat, "AT_FDCWD, kernel, O_RDONLY", AT_FDCWD, KADDR, O_RDONLY);
    T(openat, "dir, \"nonexistent\", O_RDONLY", fd_dir, P("nonexistent"), O_RDONLY);
    T(openat, "AT_FDCWD, \"f\", O_TMPFILE without O_DIRECTORY bits", AT_FDCWD, P("f"), O_RDWR | __O_TMPFILE);
    T(creat, "NULL, 0644", NUL, 0644);
    T(creat, "\".\", 0644", P("."), 0644);
    T(creat, "\"nonexistent/x\", 0644", P("nonexistent/x"), 0644);
    T(creat, "kernel, 0644", KADDR, 0644);
    T(close, "-1", -1);
    T(close, "1<<20", FDBIG);
    T(close, "0x7fffffff", FDMAX);
    T(close_range, "10, 5, 0", 10, 5, 0);
    T(close_range, "3, 3, flags=~0", 3, 3, ALLF);
    T(close_range, "1<<20, ~0U, 0", FDBIG, 0xffffffffL, 0);

    /* ---- stat family ---- */
    T(stat, "NULL, buf", NUL, P(buf));
    T(stat, "\"f\", NULL", P("f"), NUL);
    T(stat, "\"f\", kernel", P("f"), KADDR);
    T(stat, "\"f\", edge-of-mapping", P("f"), P(edge));
    T(stat, "\"nonexistent\", buf", P("nonexistent"), P(buf));
    T(stat, "\"\", buf", P(""), P(buf));
    T(stat, "\"loop1\", buf", P("loop1"), P(buf));
    T(stat, "unterminated-at-edge, buf", P(unterm()), P(buf));
    T(lstat, "NULL, buf", NUL, P(buf));
    T(lstat, "\"loop1\", buf", P("loop1"), P(buf));
    T(lstat, "\"link\", kernel", P("link"), KADDR);
    T(fstat, "-1, buf", -1, P(buf));
    T(fstat, "1<<20, buf", FDBIG, P(buf));
    T(fstat, "file, NULL", fd_file, NUL);
    T(fstat, "file, kernel", fd_file, KADDR);
    T(newfstatat, "AT_FDCWD, \"f\", buf, flags=~0", AT_FDCWD, P("f"), P(buf), ALLF);
    T(newfstatat, "AT_FDCWD, \"\", buf, 0", AT_FDCWD, P(""), P(buf), 0);
    T(newfstatat, "file, \"\", buf, AT_EMPTY_PATH", fd_file, P(""), P(buf), AT_EMPTY_PATH);
    T(newfstatat, "-1, \"\", buf, AT_EMPTY_PATH", -1, P(""), P(buf), AT_EMPTY_PATH);
    T(newfstatat, "-1, \"f\", buf, 0", -1, P("f"), P(buf), 0);
    T(newfstatat, "-1, \"/\", buf, 0", -1, P("/"), P(buf), 0);
    T(newfstatat, "file, \"x\", buf, 0", fd_file, P("x"), P(buf), 0);
    T(newfstatat, "AT_FDCWD, NULL, buf, 0", AT_FDCWD, NUL, P(buf), 0);
    T(newfstatat, "AT_FDCWD, \"f\", kernel, 0", AT_FDCWD, P("f"), KADDR, 0);
    T(statx, "AT_FDCWD, NULL, 0, BASIC, buf", AT_FDCWD, NUL, 0, 0x7ff, P(buf));
    T(statx, "AT_FDCWD, \"f\", flags=~0, BASIC, buf", AT_FDCWD, P("f"), ALLF, 0x7ff, P(buf));
    T(statx, "AT_FDCWD, \"f\", 0, mask=~0, buf", AT_FDCWD, P("f"), 0, 0xffffffffL, P(buf));
    T(statx, "AT_FDCWD, \"f\", 0, BASIC, NULL", AT_FDCWD, P("f"), 0, 0x7ff, NUL);
    T(statx, "AT_FDCWD, \"f\", 0, BASIC, kernel", AT_FDCWD, P("f"), 0, 0x7ff, KADDR);
    T(statx, "-1, \"f\", 0, BASIC, buf", -1, P("f"), 0, 0x7ff, P(buf));
    T(statx, "AT_FDCWD, \"\", 0, BASIC, buf", AT_FDCWD, P(""), 0, 0x7ff, P(buf));
    T(statx, "file, \"\", AT_EMPTY_PATH, BASIC, buf", fd_file, P(""), AT_EMPTY_PATH, 0x7ff, P(buf));
    T(statx, "AT_FDCWD, \"f\", SYNC_FORCE|DONT_SYNC, BASIC, buf", AT_FDCWD, P("f"), 0x6000, 0x7ff, P(buf));
    T(statfs, "NULL, buf", NUL, P(buf));
    T(statfs, "\"f\", NULL", P("f"), NUL);
    T(statfs, "\"nonexistent\", buf", P("nonexistent"), P(buf));
    T(fstatfs, "-1, buf", -1, P(buf));
    T(fstatfs, "file, NULL", fd_file, NUL);
    T(fstatfs, "file, kernel", fd_file, KADDR);

    /* ---- lseek ---- */
    T(lseek, "-1, 0, SEEK_SET", -1, 0L, SEEK_SET);
    T(lseek, "file, 0, whence=99", fd_file, 0L, 99);
    T(lseek, "file, -1, SEEK_SET", fd_file, -1L, SEEK_SET);
    T(lseek, "file, -200, SEEK_END", fd_file, -200L, SEEK_END);
    T(lseek, "file, 1<<40, SEEK_SET", fd_file, BIG, SEEK_SET);
    T(lseek, "file, LLONG_MAX, SEEK_SET", fd_file, LLONG_MAX, SEEK_SET);
    T(lseek, "file, 1, SEEK_CUR after LLONG_MAX", fd_file, 1L, SEEK_CUR);
    T(lseek, "file, LLONG_MAX, SEEK_END", fd_file, LLONG_MAX, SEEK_END);
    T(lseek, "file, 1, SEEK_END", fd_file, 1L, SEEK_END);
    T(lseek, "file, 0, SEEK_DATA", fd_file, 0L, SEEK_DATA);
    T(lseek, "file, 1000, SEEK_DATA", fd_file, 1000L, SEEK_DATA);
    T(lseek, "file, 0, SEEK_HOLE", fd_file, 0L, SEEK_HOLE);
    T(lseek, "file, -1, SEEK_HOLE", fd_file, -1L, SEEK_HOLE);
    rewind_file();
    T(lseek, "null, 123, SEEK_SET", fd_null, 123L, SEEK_SET);
    T(lseek, "zero, 123, SEEK_SET", fd_zero, 123L, SEEK_SET);

    /* ---- memory ---- */
    T(mmap, "NULL, 0, RW, PRIVATE|ANON, -1, 0", NUL, 0, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    T(mmap, "NULL, SIZE_MAX, RW, PRIVATE|ANON, -1, 0", NUL, HUGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    T(mmap, "NULL, 1<<62, RW, PRIVATE|ANON, -1, 0", NUL, 1L << 62, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    T(mmap, "kernel, 4096, RW, PRIVATE|ANON|FIXED, -1, 0", KADDR, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    T(mmap, "1, 4096, RW, PRIVATE|ANON|FIXED, -1, 0", ONE, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    T(mmap, "NULL, 4096, RW, ANON (no type), -1, 0", NUL, 4096, PROT_READ | PROT_WRITE, MAP_ANONYMOUS, -1, 0);
    T(mmap, "NULL, 4096, RW, flags=~0, -1, 0", NUL, 4096, PROT_READ | PROT_WRITE, ALLF, -1, 0);
    TOK(mmap, "NULL, 4096, prot=~0, PRIVATE|ANON, -1, 0", NUL, 4096, ALLF, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    T(mmap, "NULL, 4096, R, PRIVATE, -1, 0", NUL, 4096, PROT_READ, MAP_PRIVATE, -1, 0);
    T(mmap, "NULL, 4096, R, PRIVATE, 1<<20, 0", NUL, 4096, PROT_READ, MAP_PRIVATE, FDBIG, 0);
    T(mmap, "NULL, 4096, R, PRIVATE, dir, 0", NUL, 4096, PROT_READ, MAP_PRIVATE, fd_dir, 0);
    T(mmap, "NULL, 4096, R, PRIVATE, file, 1", NUL, 4096, PROT_READ, MAP_PRIVATE, fd_file, 1);
    T(mmap, "NULL, 4096, R, PRIVATE, file, -4096", NUL, 4096, PROT_READ, MAP_PRIVATE, fd_file, -4096L);
    T(mmap, "NULL, 4096, RW, SHARED, rdonly, 0", NUL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd_rdonly, 0);
    T(mmap, "NULL, 4096, R, PRIVATE, wronly, 0", NUL, 4096, PROT_READ, MAP_PRIVATE, fd_wronly, 0);
    T(mmap, "NULL, 4096, R, PRIVATE, null, 0", NUL, 4096, PROT_READ, MAP_PRIVATE, fd_null, 0);
    T(mmap, "NULL, 4096, R, SHARED_VALIDATE|0x800000, file, 0", NUL, 4096, PROT_READ, 0x03 | 0x800000, fd_file, 0);
    T(mmap, "NULL, 4096, R, PRIVATE|ANON|GROWSDOWN|FIXED_NOREPLACE at page, -1, 0", P(page), 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);

    T(mprotect, "1, 4096, R", ONE, 4096, PROT_READ);
    T(mprotect, "NULL, 4096, R", NUL, 4096, PROT_READ);
    T(mprotect, "unmapped, 4096, R", UNMAP, 4096, PROT_READ);
    T(mprotect, "kernel, 4096, R", KADDR, 4096, PROT_READ);
    T(mprotect, "page, SIZE_MAX, R", P(page), HUGE, PROT_READ);
    T(mprotect, "page, 1<<40, R", P(page), BIG, PROT_READ);
    T(mprotect, "page, 4096, prot=~0", P(page), 4096, ALLF);
    T(mprotect, "page, 4096, GROWSDOWN|GROWSUP", P(page), 4096, PROT_GROWSDOWN | PROT_GROWSUP | PROT_READ);
    T(mprotect, "page, 0, R", P(page), 0, PROT_READ);
    T(mprotect, "page, 4096, RW", P(page), 4096, PROT_READ | PROT_WRITE);

    T(munmap, "1, 4096", ONE, 4096);
    T(munmap, "NULL, 0", NUL, 0);
    T(munmap, "page, 0", P(page), 0);
    T(munmap, "kernel, 4096", KADDR, 4096);
    T(munmap, "unmapped, 4096", UNMAP, 4096);
    T(munmap, "NULL, SIZE_MAX", NUL, HUGE);
    T(munmap, "unmapped, 1<<40", UNMAP, BIG);

    T(mremap, "1, 4096, 4096, 0", ONE, 4096, 4096, 0);
    T(mremap, "page, 4096, 8192, flags=~0", P(page), 4096, 8192, ALLF);
    T(mremap, "unmapped, 4096, 8192, 0", UNMAP, 4096, 8192, 0);
    T(mremap, "kernel, 4096, 8192, 0", KADDR, 4096, 8192, 0);
    T(mremap, "page, 0, 4096, MAYMOVE", P(page), 0, 4096, MREMAP_MAYMOVE);
    T(mremap, "page, 4096, 0, MAYMOVE", P(page), 4096, 0, MREMAP_MAYMOVE);
    T(mremap, "page, 4096, SIZE_MAX, MAYMOVE", P(page), 4096, HUGE, MREMAP_MAYMOVE);
    T(mremap, "page, 4096, 8192, FIXED", P(page), 4096, 8192, MREMAP_FIXED, UNMAP);
    T(mremap, "page, 4096, 4096, MAYMOVE|FIXED, new=page", P(page), 4096, 4096, MREMAP_MAYMOVE | MREMAP_FIXED, P(page));
    T(mremap, "page, 4096, 4096, MAYMOVE|FIXED, new=kernel", P(page), 4096, 4096, MREMAP_MAYMOVE | MREMAP_FIXED, KADDR);
    T(mremap, "page, 4096, 4096, MAYMOVE|FIXED, new=1", P(page), 4096, 4096, MREMAP_MAYMOVE | MREMAP_FIXED, ONE);

    T(madvise, "1, 4096, DONTNEED", ONE, 4096, MADV_DONTNEED);
    T(madvise, "page, 4096, advice=9999", P(page), 4096, 9999);
    T(madvise, "page, 4096, advice=-1", P(page), 4096, -1);
    T(madvise, "unmapped, 4096, DONTNEED", UNMAP, 4096, MADV_DONTNEED);
    T(madvise, "unmapped, 4096, NORMAL", UNMAP, 4096, MADV_NORMAL);
    T(madvise, "page, SIZE_MAX, DONTNEED", P(page), HUGE, MADV_DONTNEED);
    T(madvise, "kernel, 4096, DONTNEED", KADDR, 4096, MADV_DONTNEED);
    T(madvise, "page, 0, DONTNEED", P(page), 0, MADV_DONTNEED);
    T(madvise, "page, 4096, DONTNEED", P(page), 4096, MADV_DONTNEED);

    T(msync, "1, 4096, MS_SYNC", ONE, 4096, MS_SYNC);
    T(msync, "page, 4096, flags=~0", P(page), 4096, ALLF);
    T(msync, "page, 4096, MS_SYNC|MS_ASYNC", P(page), 4096, MS_SYNC | MS_ASYNC);
    T(msync, "unmapped, 4096, MS_SYNC", UNMAP, 4096, MS_SYNC);
    T(msync, "page, 4096, MS_SYNC", P(page), 4096, MS_SYNC);
    T(mincore, "1, 4096, buf", ONE, 4096, P(buf));
    T(mincore, "page, 4096, NULL", P(page), 4096, NUL);
    T(mincore, "page, 4096, kernel", P(page), 4096, KADDR);
    T(mincore, "unmapped, 4096, buf", UNMAP, 4096, P(buf));
    T(mincore, "kernel, 4096, buf", KADDR, 4096, P(buf));
    T(mlock, "unmapped, 4096", UNMAP, 4096);
    T(mlock, "kernel, 4096", KADDR, 4096);
    T(munlock, "unmapped, 4096", UNMAP, 4096);
    T(mlockall, "0", 0);
    T(mlockall, "flags=~0", ALLF);
    T(munlockall, "", 0);

    {
        long b0 = syscall(SYS_brk, 0L);
        long b1 = syscall(SYS_brk, KADDR);
        CHECK(brk, "kernel -> old break", b1 == b0);
        b1 = syscall(SYS_brk, ONE);
        CHECK(brk, "1 -> old break", b1 == b0);
        b1 = syscall(SYS_brk, HUGE);
        CHECK(brk, "SIZE_MAX -> old break", b1 == b0);
        b1 = syscall(SYS_brk, P(page));
        CHECK(brk, "onto an existing mapping -> old break", b1 == b0);
    }

    /* ---- ioctl / fcntl / dup / flock ---- */
    T(ioctl, "-1, TCGETS, buf", -1, 0x5401, P(buf));
    T(ioctl, "file, TCGETS, buf", fd_file, 0x5401, P(buf));
    T(ioctl, "null, TCGETS, buf", fd_null, 0x5401, P(buf));
    T(ioctl, "file, TIOCGWINSZ, NULL", fd_file, 0x5413, NUL);
    T(ioctl, "file, 0xdeadbeef, 0", fd_file, 0xdeadbeefL, 0);
    T(ioctl, "file, FIONREAD, NULL", fd_file, 0x541B, NUL);
    T(ioctl, "file, FIONREAD, buf", fd_file, 0x541B, P(buf));
    T(ioctl, "-1, FIOCLEX", -1, 0x5451, 0);
    T(ioctl, "file, FIONBIO, NULL", fd_file, 0x5421, NUL);

    T(fcntl, "-1, F_GETFD", -1, F_GETFD);
    T(fcntl, "1<<20, F_GETFL", FDBIG, F_GETFL);
    T(fcntl, "file, cmd=9999", fd_file, 9999);
    T(fcntl, "file, cmd=-1", fd_file, -1);
    T(fcntl, "file, F_DUPFD, -1", fd_file, F_DUPFD, -1);
    T(fcntl, "file, F_DUPFD, 1<<20", fd_file, F_DUPFD, FDBIG);
    T(fcntl, "file, F_DUPFD_CLOEXEC, 0x7fffffff", fd_file, F_DUPFD_CLOEXEC, FDMAX);
    T(fcntl, "file, F_GETFL", fd_file, F_GETFL);
    T(fcntl, "rdonly, F_GETFL", fd_rdonly, F_GETFL);
    T(fcntl, "dir, F_GETFL", fd_dir, F_GETFL);
    T(fcntl, "file, F_SETFD, ~0", fd_file, F_SETFD, ALLF);
    T(fcntl, "file, F_GETFD after ~0", fd_file, F_GETFD);
    T(fcntl, "file, F_SETFD, 0", fd_file, F_SETFD, 0);
    T(fcntl, "file, F_SETLK, NULL", fd_file, F_SETLK, NUL);
    T(fcntl, "file, F_GETLK, kernel", fd_file, F_GETLK, KADDR);
    {
        struct flock fl = {.l_type = 99, .l_whence = SEEK_SET};
        T(fcntl, "file, F_SETLK, {type=99}", fd_file, F_SETLK, P(&fl));
        fl.l_type = F_RDLCK; fl.l_whence = 99;
        T(fcntl, "file, F_SETLK, {RDLCK, whence=99}", fd_file, F_SETLK, P(&fl));
        fl.l_type = F_WRLCK; fl.l_whence = SEEK_SET;
        T(fcntl, "rdonly, F_SETLK, {WRLCK}", fd_rdonly, F_SETLK, P(&fl));
        fl.l_type = F_RDLCK;
        T(fcntl, "wronly, F_SETLK, {RDLCK}", fd_wronly, F_SETLK, P(&fl));
        fl.l_type = F_RDLCK; fl.l_start = -10;
        T(fcntl, "file, F_SETLK, {RDLCK, start=-10}", fd_file, F_SETLK, P(&fl));
    }
    T(fcntl, "file, F_SETPIPE_SZ, 4096", fd_file, F_SETPIPE_SZ, 4096);
    T(fcntl, "file, F_GETPIPE_SZ", fd_file, F_GETPIPE_SZ);

    T(dup, "-1", -1);
    T(dup, "1<<20", FDBIG);
    T(dup, "0x7fffffff", FDMAX);
    T(dup2, "-1, 100", -1, 100);
    T(dup2, "file, -1", fd_file, -1);
    T(dup2, "file, 1<<20", fd_file, FDBIG);
    T(dup2, "file, 0x7fffffff", fd_file, FDMAX);
    T(dup2, "file, file", fd_file, fd_file);
    T(dup2, "1<<20, 1<<20", FDBIG, FDBIG);
    T(dup3, "file, file, 0", fd_file, fd_file, 0);
    T(dup3, "file, 100, flags=~0", fd_file, 100, ALLF);
    T(dup3, "file, -1, 0", fd_file, -1, 0);
    T(dup3, "-1, 100, 0", -1, 100, 0);
    T(dup3, "file, 100, O_CLOEXEC", fd_file, 100, O_CLOEXEC);
    T(fcntl, "100, F_GETFD", 100, F_GETFD);
    T(close, "100", 100);

    T(flock, "-1, LOCK_SH", -1, LOCK_SH);
    T(flock, "file, 0", fd_file, 0);
    T(flock, "file, ~0", fd_file, ALLF);
    T(flock, "file, LOCK_EX|LOCK_NB", fd_file, LOCK_EX | LOCK_NB);
    T(flock, "file, LOCK_UN", fd_file, LOCK_UN);

    /* ---- paths and directories ---- */
    T(access, "NULL, F_OK", NUL, F_OK);
    T(access, "kernel, F_OK", KADDR, F_OK);
    T(access, "\"f\", mode=~0", P("f"), ALLF);
    T(access, "\"nonexistent\", F_OK", P("nonexistent"), F_OK);
    T(access, "\"f\", X_OK (mode 0644)", P("f"), X_OK);
    T(access, "\"f/\", F_OK", P("f/"), F_OK);
    T(access, "\"dangling\", F_OK", P("dangling"), F_OK);
    T(faccessat, "-1, \"f\", F_OK", -1, P("f"), F_OK);
    T(faccessat, "-1, \"/\", F_OK", -1, P("/"), F_OK);
    T(faccessat, "file, \"x\", F_OK", fd_file, P("x"), F_OK);
    T(faccessat2, "AT_FDCWD, \"f\", F_OK, flags=~0", AT_FDCWD, P("f"), F_OK, ALLF);
    T(faccessat2, "AT_FDCWD, \"\", F_OK, AT_EMPTY_PATH", AT_FDCWD, P(""), F_OK, AT_EMPTY_PATH);
    T(faccessat2, "AT_FDCWD, \"\", F_OK, 0", AT_FDCWD, P(""), F_OK, 0);
    T(faccessat2, "AT_FDCWD, \"dangling\", F_OK, AT_SYMLINK_NOFOLLOW", AT_FDCWD, P("dangling"), F_OK, AT_SYMLINK_NOFOLLOW);

    T(getdents64, "-1, buf, 4096", -1, P(buf), 4096);
    T(getdents64, "file, buf, 4096", fd_file, P(buf), 4096);
    T(getdents64, "dir, NULL, 4096", fd_dir, NUL, 4096); rewind_dir();
    T(getdents64, "dir, kernel, 4096", fd_dir, KADDR, 4096); rewind_dir();
    T(getdents64, "dir, buf, 0", fd_dir, P(buf), 0); rewind_dir();
    T(getdents64, "dir, buf, 1", fd_dir, P(buf), 1); rewind_dir();
    T(getdents64, "dir, buf, 4096 (whole directory)", fd_dir, P(buf), 4096);
    T(getdents64, "dir, buf, 4096 (at end)", fd_dir, P(buf), 4096); rewind_dir();
    T(getdents, "-1, buf, 4096", -1, P(buf), 4096);
    T(getdents, "file, buf, 4096", fd_file, P(buf), 4096);
    T(getdents, "dir, buf, 1", fd_dir, P(buf), 1); rewind_dir();
    T(getdents, "dir, kernel, 4096", fd_dir, KADDR, 4096); rewind_dir();

    T(getcwd, "buf, 0", P(buf), 0);
    T(getcwd, "buf, 1", P(buf), 1);
    T(getcwd, "NULL, 4096", NUL, 4096);
    T(getcwd, "kernel, 4096", KADDR, 4096);
    T(getcwd, "buf, SIZE_MAX", P(buf), HUGE);
    T(chdir, "NULL", NUL);
    T(chdir, "kernel", KADDR);
    T(chdir, "\"f\"", P("f"));
    T(chdir, "\"nonexistent\"", P("nonexistent"));
    T(chdir, "\"\"", P(""));
    T(chdir, "\"loop1\"", P("loop1"));
    T(fchdir, "-1", -1);
    T(fchdir, "1<<20", FDBIG);
    T(fchdir, "file", fd_file);
    T(fchdir, "dir", fd_dir);
    T(chroot, "NULL", NUL);
    T(chroot, "\"nonexistent\"", P("nonexistent"));
    T(chroot, "\"f\"", P("f"));

    T(mkdir, "NULL, 0755", NUL, 0755);
    T(mkdir, "\"f\", 0755", P("f"), 0755);
    T(mkdir, "\"nonexistent/x\", 0755", P("nonexistent/x"), 0755);
    T(mkdir, "\"f/x\", 0755", P("f/x"), 0755);
    T(mkdir, "\"\", 0755", P(""), 0755);
    T(mkdir, "\"dangling\", 0755", P("dangling"), 0755);
    T(mkdirat, "-1, \"x\", 0755", -1, P("x"), 0755);
    T(mkdirat, "file, \"x\", 0755", fd_file, P("x"), 0755);
    T(rmdir, "NULL", NUL);
    T(rmdir, "\".\"", P("."));
    T(rmdir, "\"f\"", P("f"));
    T(rmdir, "\"nonexistent\"", P("nonexistent"));
    T(rmdir, "\"full\"", P("full"));
    T(rmdir, "\"link\"", P("link"));
    T(unlink, "NULL", NUL);
    T(unlink, "\"d\"", P("d"));
    T(unlink, "\"nonexistent\"", P("nonexistent"));
    T(unlink, "\"f/\"", P("f/"));
    T(unlinkat, "AT_FDCWD, \"f\", flags=~0", AT_FDCWD, P("f"), ALLF);
    T(unlinkat, "AT_FDCWD, \"f\", AT_REMOVEDIR", AT_FDCWD, P("f"), AT_REMOVEDIR);
    T(unlinkat, "-1, \"f\", 0", -1, P("f"), 0);
    T(unlinkat, "AT_FDCWD, \"full\", AT_REMOVEDIR", AT_FDCWD, P("full"), AT_REMOVEDIR);
    T(rename, "NULL, \"x\"", NUL, P("x"));
    T(rename, "\"f\", NULL", P("f"), NUL);
    T(rename, "\"nonexistent\", \"x\"", P("nonexistent"), P("x"));
    T(rename, "\"f\", \"f/x\"", P("f"), P("f/x"));
    T(rename, "\"d\", \"d/sub\"", P("d"), P("d/sub"));
    T(rename, "\"f\", \"d\"", P("f"), P("d"));
    T(rename, "\"d\", \"f\"", P("d"), P("f"));
    T(rename, "\"d\", \"full\"", P("d"), P("full"));
    T(rename, "\"f\", \"f\"", P("f"), P("f"));
    T(rename, "\".\", \"x\"", P("."), P("x"));
    T(renameat, "-1, \"f\", AT_FDCWD, \"x\"", -1, P("f"), AT_FDCWD, P("x"));
    T(renameat2, "AT_FDCWD, \"f\", AT_FDCWD, \"x\", flags=~0", AT_FDCWD, P("f"), AT_FDCWD, P("x"), ALLF);
    T(renameat2, "AT_FDCWD, \"f\", AT_FDCWD, \"d\", NOREPLACE|EXCHANGE", AT_FDCWD, P("f"), AT_FDCWD, P("d"), 3);
    T(renameat2, "AT_FDCWD, \"f\", AT_FDCWD, \"d\", NOREPLACE", AT_FDCWD, P("f"), AT_FDCWD, P("d"), 1);
    T(renameat2, "AT_FDCWD, \"f\", AT_FDCWD, \"nonexistent\", EXCHANGE", AT_FDCWD, P("f"), AT_FDCWD, P("nonexistent"), 2);
    T(link, "NULL, \"x\"", NUL, P("x"));
    T(link, "\"f\", \"f\"", P("f"), P("f"));
    T(link, "\"d\", \"d2\"", P("d"), P("d2"));
    T(link, "\"nonexistent\", \"x\"", P("nonexistent"), P("x"));
    T(link, "\"f\", \"nonexistent/x\"", P("f"), P("nonexistent/x"));
    T(linkat, "AT_FDCWD, \"f\", AT_FDCWD, \"x\", flags=~0", AT_FDCWD, P("f"), AT_FDCWD, P("x"), ALLF);
    T(linkat, "-1, \"f\", AT_FDCWD, \"x\", 0", -1, P("f"), AT_FDCWD, P("x"), 0);
    T(symlink, "NULL, \"x\"", NUL, P("x"));
    T(symlink, "\"x\", NULL", P("x"), NUL);
    T(symlink, "\"t\", \"f\"", P("t"), P("f"));
    T(symlink, "\"\", \"x\"", P(""), P("x"));
    T(symlink, "\"t\", \"nonexistent/x\"", P("t"), P("nonexistent/x"));
    T(symlinkat, "\"t\", -1, \"x\"", P("t"), -1, P("x"));
    T(symlinkat, "\"t\", file, \"x\"", P("t"), fd_file, P("x"));
    T(readlink, "NULL, buf, 10", NUL, P(buf), 10);
    T(readlink, "\"f\", buf, 10", P("f"), P(buf), 10);
    T(readlink, "\"link\", buf, 0", P("link"), P(buf), 0);
    T(readlink, "\"link\", buf, -1", P("link"), P(buf), -1);
    T(readlink, "\"link\", NULL, 10", P("link"), NUL, 10);
    T(readlink, "\"link\", kernel, 10", P("link"), KADDR, 10);
    T(readlink, "\"link\", buf, 1", P("link"), P(buf), 1);
    T(readlink, "\"link\", buf, 4096", P("link"), P(buf), 4096);
    T(readlink, "\"nonexistent\", buf, 10", P("nonexistent"), P(buf), 10);
    T(readlink, "\"link/\", buf, 10", P("link/"), P(buf), 10);
    T(readlinkat, "-1, \"link\", buf, 10", -1, P("link"), P(buf), 10);
    T(readlinkat, "file, \"\", buf, 10", fd_file, P(""), P(buf), 10);
    T(readlinkat, "AT_FDCWD, \"\", buf, 10", AT_FDCWD, P(""), P(buf), 10);
    T(mknod, "NULL, S_IFREG|0644, 0", NUL, S_IFREG | 0644, 0);
    T(mknod, "\"f\", S_IFREG|0644, 0", P("f"), S_IFREG | 0644, 0);
    T(mknod, "\"x\", 0170644 (bad type), 0", P("x"), 0170644, 0);
    T(mknod, "\"nonexistent/x\", S_IFIFO, 0", P("nonexistent/x"), S_IFIFO | 0644, 0);
    T(mknodat, "-1, \"x\", S_IFREG, 0", -1, P("x"), S_IFREG | 0644, 0);

    T(chmod, "NULL, 0644", NUL, 0644);
    T(chmod, "\"nonexistent\", 0644", P("nonexistent"), 0644);
    T(chmod, "\"f\", ~0", P("f"), ALLF);
    T(chmod, "\"f\", 0644", P("f"), 0644);
    T(fchmod, "-1, 0644", -1, 0644);
    T(fchmod, "file, 0644", fd_file, 0644);
    T(fchmodat, "-1, \"f\", 0644", -1, P("f"), 0644);
    T(fchmodat, "AT_FDCWD, NULL, 0644", AT_FDCWD, NUL, 0644);
    T(chown, "NULL, 0, 0", NUL, 0, 0);
    T(chown, "\"nonexistent\", 0, 0", P("nonexistent"), 0, 0);
    T(chown, "\"f\", -1, -1", P("f"), -1, -1);
    T(lchown, "kernel, 0, 0", KADDR, 0, 0);
    T(lchown, "\"dangling\", -1, -1", P("dangling"), -1, -1);
    T(fchown, "-1, 0, 0", -1, 0, 0);
    T(fchown, "file, -1, -1", fd_file, -1, -1);
    T(fchownat, "AT_FDCWD, \"f\", -1, -1, flags=~0", AT_FDCWD, P("f"), -1, -1, ALLF);
    T(fchownat, "-1, \"f\", -1, -1, 0", -1, P("f"), -1, -1, 0);
    T(truncate, "NULL, 0", NUL, 0);
    T(truncate, "\"f\", -1", P("f"), -1);
    T(truncate, "\"nonexistent\", 0", P("nonexistent"), 0);
    T(truncate, "\".\", 0", P("."), 0);
    T(truncate, "\"f\", LLONG_MAX", P("f"), LLONG_MAX);
    T(truncate, "\"f\", 100", P("f"), 100);
    T(ftruncate, "-1, 0", -1, 0);
    T(ftruncate, "file, -1", fd_file, -1);
    T(ftruncate, "rdonly, 0", fd_rdonly, 0);
    T(ftruncate, "dir, 0", fd_dir, 0);
    T(ftruncate, "null, 0", fd_null, 0);
    T(ftruncate, "file, 100", fd_file, 100);
    T(fallocate, "-1, 0, 0, 10", -1, 0, 0, 10);
    T(fallocate, "file, 0, -1, 10", fd_file, 0, -1, 10);
    T(fallocate, "file, 0, 0, 0", fd_file, 0, 0, 0);
    T(fallocate, "file, 0, 0, -1", fd_file, 0, 0, -1);
    T(fallocate, "file, mode=~0, 0, 10", fd_file, ALLF, 0, 10);
    T(fallocate, "file, PUNCH_HOLE (no KEEP_SIZE), 0, 10", fd_file, FALLOC_FL_PUNCH_HOLE, 0, 10);
    T(fallocate, "rdonly, 0, 0, 10", fd_rdonly, 0, 0, 10);
    T(fallocate, "dir, 0, 0, 10", fd_dir, 0, 0, 10);
    T(fallocate, "null, 0, 0, 10", fd_null, 0, 0, 10);
    T(fallocate, "file, 0, LLONG_MAX, 10", fd_file, 0, LLONG_MAX, 10);
    T(fallocate, "file, KEEP_SIZE, 0, 10", fd_file, FALLOC_FL_KEEP_SIZE, 0, 10);
    T(utime, "NULL, NULL", NUL, NUL);
    T(utime, "\"nonexistent\", NULL", P("nonexistent"), NUL);
    T(utime, "\"f\", kernel", P("f"), KADDR);
    T(utimes, "NULL, NULL", NUL, NUL);
    T(utimes, "\"f\", kernel", P("f"), KADDR);
    {
        struct timeval tv[2] = {{0, -1}, {0, 0}};
        T(utimes, "\"f\", {usec=-1}", P("f"), P(tv));
        T(futimesat, "-1, \"f\", NULL", -1, P("f"), NUL);
        T(futimesat, "AT_FDCWD, \"f\", {usec=-1}", AT_FDCWD, P("f"), P(tv));
    }
    {
        struct timespec t2[2] = {{0, -5}, {0, 0}};
        T(utimensat, "AT_FDCWD, \"f\", {nsec=-5}, 0", AT_FDCWD, P("f"), P(t2), 0);
        T(utimensat, "AT_FDCWD, \"f\", NULL, flags=~0", AT_FDCWD, P("f"), NUL, ALLF);
        T(utimensat, "-1, \"f\", NULL, 0", -1, P("f"), NUL, 0);
        T(utimensat, "AT_FDCWD, NULL, NULL, 0", AT_FDCWD, NUL, NUL, 0);
        T(utimensat, "AT_FDCWD, \"f\", kernel, 0", AT_FDCWD, P("f"), KADDR, 0);
        T(utimensat, "file, NULL, NULL, 0", fd_file, NUL, NUL, 0);
    }
    T(fsync, "-1", -1);
    T(fsync, "file", fd_file);
    T(fsync, "dir", fd_dir);
    T(fdatasync, "1<<20", FDBIG);
    T(fdatasync, "file", fd_file);
    T(syncfs, "-1", -1);
    T(syncfs, "file", fd_file);
    T(readahead, "-1, 0, 10", -1, 0, 10);
    T(readahead, "file, 0, 10", fd_file, 0, 10);
    T(readahead, "null, 0, 10", fd_null, 0, 10);
    T(readahead, "dir, 0, 10", fd_dir, 0, 10);
    T(readahead, "wronly, 0, 10", fd_wronly, 0, 10);

    /* ---- identity, limits, info ---- */
    T(umask, "~0 (previous was 022)", ALLF);
    T(umask, "022 (previous was ~0)", 022);
    T(uname, "NULL", NUL);
    T(uname, "kernel", KADDR);
    T(uname, "edge-of-mapping", P(edge));
    T(sysinfo, "NULL", NUL);
    T(sysinfo, "kernel", KADDR);
    T(getrlimit, "99, buf", 99, P(buf));
    T(getrlimit, "-1, buf", -1, P(buf));
    T(getrlimit, "NOFILE, NULL", RLIMIT_NOFILE, NUL);
    T(getrlimit, "NOFILE, kernel", RLIMIT_NOFILE, KADDR);
    T(setrlimit, "99, buf", 99, P(buf));
    T(setrlimit, "NOFILE, NULL", RLIMIT_NOFILE, NUL);
    {
        struct rlimit rl = {100, 10};
        T(setrlimit, "NOFILE, {cur 100 > max 10}", RLIMIT_NOFILE, P(&rl));
        T(prlimit64, "0, NOFILE, {cur 100 > max 10}, NULL", 0, RLIMIT_NOFILE, P(&rl), NUL);
    }
    T(prlimit64, "0, 99, NULL, buf", 0, 99, NUL, P(buf));
    T(prlimit64, "0x7fffffff, NOFILE, NULL, buf", FDMAX, RLIMIT_NOFILE, NUL, P(buf));
    T(prlimit64, "-1, NOFILE, NULL, buf", -1, RLIMIT_NOFILE, NUL, P(buf));
    T(prlimit64, "0, NOFILE, NULL, kernel", 0, RLIMIT_NOFILE, NUL, KADDR);
    T(prlimit64, "0, NOFILE, kernel, NULL", 0, RLIMIT_NOFILE, KADDR, NUL);
    T(prlimit64, "0, NOFILE, NULL, NULL", 0, RLIMIT_NOFILE, NUL, NUL);
    T(getrusage, "99, buf", 99, P(buf));
    T(getrusage, "SELF, NULL", RUSAGE_SELF, NUL);
    T(getrusage, "SELF, kernel", RUSAGE_SELF, KADDR);
    T(times, "kernel", KADDR);
    T(setuid, "-1", -1);
    T(setgid, "-1", -1);
    T(setreuid, "-1, -1", -1, -1);
    T(setregid, "-1, -1", -1, -1);
    T(setresuid, "-1, -1, -1", -1, -1, -1);
    T(setresgid, "-1, -1, -1", -1, -1, -1);
    T(getresuid, "NULL, NULL, NULL", NUL, NUL, NUL);
    T(getresuid, "kernel, buf, buf", KADDR, P(buf), P(buf));
    T(getresgid, "buf, buf, NULL", P(buf), P(buf), NUL);
    T(getgroups, "-1, NULL", -1, NUL);
    T(getgroups, "0x7fffffff, kernel", FDMAX, KADDR);
    T(setgroups, "-1, NULL", -1, NUL);
    T(setgroups, "1, NULL", 1, NUL);
    T(setgroups, "1, kernel", 1, KADDR);
    T(setgroups, "65537, buf", 65537, P(buf));
    T(setfsuid, "-1 (returns current fsuid)", -1);
    T(setfsgid, "-1 (returns current fsgid)", -1);
    T(getpgid, "-1", -1);
    T(getpgid, "0x7fffffff", FDMAX);
    T(getsid, "-1", -1);
    T(getsid, "0x7fffffff", FDMAX);
    T(sethostname, "NULL, 5", NUL, 5);
    T(sethostname, "buf, -1", P(buf), -1);
    T(sethostname, "buf, 65", P(buf), 65);
    T(sethostname, "kernel, 5", KADDR, 5);
    T(setdomainname, "NULL, 5", NUL, 5);
    T(setdomainname, "buf, 65", P(buf), 65);
    T(setdomainname, "buf, -1", P(buf), -1);
    T(syslog, "action=99, NULL, 0", 99, NUL, 0);
    T(syslog, "READ_ALL, NULL, 10", 3, NUL, 10);
    T(syslog, "READ_ALL, buf, -1", 3, P(buf), -1);
    T(syslog, "action=-1, buf, 10", -1, P(buf), 10);

    /* ---- scheduling ---- */
    T(sched_getparam, "-1, buf", -1, P(buf));
    T(sched_getparam, "0, NULL", 0, NUL);
    T(sched_getparam, "0x7fffffff, buf", FDMAX, P(buf));
    T(sched_getparam, "0, buf", 0, P(buf));
    T(sched_setparam, "-1, buf", -1, P(buf));
    T(sched_setparam, "0, NULL", 0, NUL);
    T(sched_setparam, "0x7fffffff, buf", FDMAX, P(buf));
    T(sched_getscheduler, "-1", -1);
    T(sched_getscheduler, "0x7fffffff", FDMAX);
    T(sched_getscheduler, "0", 0);
    T(sched_setscheduler, "0, policy=99, buf", 0, 99, P(buf));
    T(sched_setscheduler, "-1, OTHER, buf", -1, SCHED_OTHER, P(buf));
    T(sched_setscheduler, "0, OTHER, NULL", 0, SCHED_OTHER, NUL);
    T(sched_setscheduler, "0x7fffffff, OTHER, buf", FDMAX, SCHED_OTHER, P(buf));
    T(sched_get_priority_max, "-1", -1);
    T(sched_get_priority_max, "99", 99);
    T(sched_get_priority_max, "SCHED_FIFO", SCHED_FIFO);
    T(sched_get_priority_max, "SCHED_OTHER", SCHED_OTHER);
    T(sched_get_priority_min, "SCHED_RR", SCHED_RR);
    T(sched_get_priority_min, "-1", -1);
    T(sched_getaffinity, "0, 0, buf", 0, 0, P(buf));
    T(sched_getaffinity, "0, 7, buf", 0, 7, P(buf));
    T(sched_getaffinity, "0, 128, NULL", 0, 128, NUL);
    T(sched_getaffinity, "0, 128, kernel", 0, 128, KADDR);
    T(sched_getaffinity, "-1, 128, buf", -1, 128, P(buf));
    T(sched_getaffinity, "0x7fffffff, 128, buf", FDMAX, 128, P(buf));
    memset(buf, 0, 128);
    T(sched_setaffinity, "0, 0, buf", 0, 0, P(buf));
    T(sched_setaffinity, "0, 8, NULL", 0, 8, NUL);
    T(sched_setaffinity, "0, 8, empty mask", 0, 8, P(buf));
    T(sched_setaffinity, "0x7fffffff, 8, buf", FDMAX, 8, P(buf));
    T(getpriority, "99, 0", 99, 0);
    T(getpriority, "PRIO_PROCESS, 0x7fffffff", PRIO_PROCESS, FDMAX);
    T(setpriority, "99, 0, 0", 99, 0, 0);
    T(setpriority, "PRIO_PROCESS, 0x7fffffff, 0", PRIO_PROCESS, FDMAX, 0);
    T(getcpu, "NULL, NULL, NULL", NUL, NUL, NUL);
    T(getcpu, "kernel, NULL, NULL", KADDR, NUL, NUL);
    T(getcpu, "NULL, kernel, NULL", NUL, KADDR, NUL);

    /* ---- time ---- */
    T(nanosleep, "NULL, NULL", NUL, NUL);
    T(nanosleep, "kernel, NULL", KADDR, NUL);
    T(nanosleep, "{-1,0}, NULL", P(&ts_neg), NUL);
    T(nanosleep, "{0,1e9}, NULL", P(&ts_nsec), NUL);
    T(nanosleep, "{0,-1}, NULL", P(&ts_nsneg), NUL);
    T(nanosleep, "{0,1}, kernel", P(&ts_1ns), KADDR);
    T(clock_nanosleep, "clock=99, 0, {0,0}, NULL", 99, 0, P(&ts_zero), NUL);
    T(clock_nanosleep, "MONOTONIC, 0, NULL, NULL", CLOCK_MONOTONIC, 0, NUL, NUL);
    T(clock_nanosleep, "MONOTONIC, 0, {0,-1}, NULL", CLOCK_MONOTONIC, 0, P(&ts_nsneg), NUL);
    T(clock_nanosleep, "MONOTONIC, ABSTIME, {0,0}, NULL", CLOCK_MONOTONIC, TIMER_ABSTIME, P(&ts_zero), NUL);
    T(clock_nanosleep, "MONOTONIC, flags=~0, {0,0}, NULL", CLOCK_MONOTONIC, ALLF, P(&ts_zero), NUL);
    T(clock_nanosleep, "THREAD_CPUTIME, 0, {0,0}, NULL", CLOCK_THREAD_CPUTIME_ID, 0, P(&ts_zero), NUL);
    T(clock_nanosleep, "REALTIME, 0, kernel, NULL", CLOCK_REALTIME, 0, KADDR, NUL);
    T(clock_gettime, "99, buf", 99, P(buf));
    T(clock_gettime, "MONOTONIC, NULL", CLOCK_MONOTONIC, NUL);
    T(clock_gettime, "MONOTONIC, kernel", CLOCK_MONOTONIC, KADDR);
    T(clock_gettime, "REALTIME, unmapped", CLOCK_REALTIME, UNMAP);
    T(clock_gettime, "0x7fffffff, buf", FDMAX, P(buf));
    T(clock_getres, "MONOTONIC, NULL", CLOCK_MONOTONIC, NUL);
    T(clock_getres, "99, buf", 99, P(buf));
    T(clock_getres, "REALTIME, kernel", CLOCK_REALTIME, KADDR);
    T(clock_settime, "REALTIME, NULL", CLOCK_REALTIME, NUL);
    T(clock_settime, "99, {0,0}", 99, P(&ts_zero));
    T(clock_settime, "MONOTONIC, {0,0}", CLOCK_MONOTONIC, P(&ts_zero));
    T(clock_settime, "REALTIME, {0,1e9}", CLOCK_REALTIME, P(&ts_nsec));
    T(gettimeofday, "kernel, NULL", KADDR, NUL);
    T(gettimeofday, "NULL, NULL", NUL, NUL);
    T(gettimeofday, "NULL, kernel", NUL, KADDR);
    T(time, "kernel", KADDR);
    T(time, "unmapped", UNMAP);

    /* ---- signals ---- */
    T(rt_sigaction, "0, NULL, NULL, 8", 0, NUL, NUL, 8);
    T(rt_sigaction, "65, NULL, NULL, 8", 65, NUL, NUL, 8);
    T(rt_sigaction, "-1, NULL, NULL, 8", -1, NUL, NUL, 8);
    T(rt_sigaction, "SIGUSR1, NULL, NULL, 7", SIGUSR1, NUL, NUL, 7);
    T(rt_sigaction, "SIGUSR1, kernel, NULL, 8", SIGUSR1, KADDR, NUL, 8);
    T(rt_sigaction, "SIGUSR1, NULL, kernel, 8", SIGUSR1, NUL, KADDR, 8);
    T(rt_sigaction, "SIGUSR1, NULL, buf, 8", SIGUSR1, NUL, P(buf), 8);
    memset(buf, 0, 64);
    T(rt_sigaction, "SIGKILL, {SIG_DFL}, NULL, 8", SIGKILL, P(buf), NUL, 8);
    T(rt_sigaction, "SIGSTOP, {SIG_DFL}, NULL, 8", SIGSTOP, P(buf), NUL, 8);
    T(rt_sigaction, "SIGKILL, NULL, buf, 8", SIGKILL, NUL, P(buf), 8);
    T(rt_sigprocmask, "how=99, buf, NULL, 8", 99, P(buf), NUL, 8);
    T(rt_sigprocmask, "how=~0, NULL, NULL, 8", ALLF, NUL, NUL, 8);
    T(rt_sigprocmask, "BLOCK, buf, NULL, 7", SIG_BLOCK, P(buf), NUL, 7);
    T(rt_sigprocmask, "BLOCK, kernel, NULL, 8", SIG_BLOCK, KADDR, NUL, 8);
    T(rt_sigprocmask, "BLOCK, NULL, kernel, 8", SIG_BLOCK, NUL, KADDR, 8);
    T(rt_sigprocmask, "BLOCK, NULL, NULL, 8", SIG_BLOCK, NUL, NUL, 8);
    T(rt_sigpending, "NULL, 8", NUL, 8);
    T(rt_sigpending, "buf, 9", P(buf), 9);
    T(rt_sigpending, "kernel, 8", KADDR, 8);
    T(sigaltstack, "NULL, NULL", NUL, NUL);
    T(sigaltstack, "kernel, NULL", KADDR, NUL);
    T(sigaltstack, "NULL, kernel", NUL, KADDR);
    {
        stack_t ss = {.ss_sp = buf, .ss_flags = 0x7fff0000, .ss_size = 65536};
        T(sigaltstack, "{flags=0x7fff0000}, NULL", P(&ss), NUL);
        ss.ss_flags = 0; ss.ss_size = 1;
        T(sigaltstack, "{size=1}, NULL", P(&ss), NUL);
    }

    /* ---- futex ---- */
    {
        static int word = 5;
        T(futex, "NULL, WAKE, 1", NUL, FUTEX_WAKE, 1, NUL, NUL, 0);
        T(futex, "kernel, WAKE, 1", KADDR, FUTEX_WAKE, 1, NUL, NUL, 0);
        T(futex, "unaligned, WAIT, 5, NULL", P((char *)&word + 1), FUTEX_WAIT, 5, NUL, NUL, 0);
        T(futex, "word=5, WAIT, 6, NULL", P(&word), FUTEX_WAIT, 6, NUL, NUL, 0);
        T(futex, "word=5, WAIT, 5, {-1,0}", P(&word), FUTEX_WAIT, 5, P(&ts_neg), NUL, 0);
        T(futex, "word=5, WAIT, 5, {0,0}", P(&word), FUTEX_WAIT, 5, P(&ts_zero), NUL, 0);
        T(futex, "word=5, WAIT, 5, kernel", P(&word), FUTEX_WAIT, 5, KADDR, NUL, 0);
        T(futex, "word=5, op=99, 0", P(&word), 99, 0, NUL, NUL, 0);
        T(futex, "word=5, WAKE, 1", P(&word), FUTEX_WAKE, 1, NUL, NUL, 0);
        T(futex, "word=5, WAKE|PRIVATE, -1", P(&word), FUTEX_WAKE | FUTEX_PRIVATE_FLAG, -1, NUL, NUL, 0);
        T(futex, "word=5, WAIT_BITSET, 5, {0,0}, bitset=0", P(&word), FUTEX_WAIT_BITSET, 5, P(&ts_zero), NUL, 0);
        T(futex, "NULL, WAIT, 0, {0,0}", NUL, FUTEX_WAIT, 0, P(&ts_zero), NUL, 0);
    }

    /* ---- process/thread misc ---- */
    T(arch_prctl, "SET_GS, kernel", 0x1001, KADDR);
    T(arch_prctl, "code=0x9999, 0", 0x9999, 0);
    T(arch_prctl, "GET_FS, NULL", 0x1003, NUL);
    T(arch_prctl, "GET_FS, kernel", 0x1003, KADDR);
    T(set_robust_list, "NULL, 0", NUL, 0);
    T(set_robust_list, "buf, 25", P(buf), 25);
    T(get_robust_list, "0, NULL, NULL", 0, NUL, NUL);
    T(get_robust_list, "0x7fffffff, buf, buf", FDMAX, P(buf), P(buf + 8));
    T(get_robust_list, "0, kernel, buf", 0, KADDR, P(buf));
    T(prctl, "option=9999", 9999, 0, 0, 0, 0);
    T(prctl, "PR_SET_NAME, NULL", PR_SET_NAME, NUL, 0, 0, 0);
    T(prctl, "PR_GET_NAME, kernel", PR_GET_NAME, KADDR, 0, 0, 0);
    T(prctl, "PR_SET_PDEATHSIG, 99", PR_SET_PDEATHSIG, 99, 0, 0, 0);
    T(prctl, "PR_GET_PDEATHSIG, NULL", PR_GET_PDEATHSIG, NUL, 0, 0, 0);
    T(prctl, "PR_SET_DUMPABLE, 5", PR_SET_DUMPABLE, 5, 0, 0, 0);
    T(prctl, "PR_SET_NO_NEW_PRIVS, 2", PR_SET_NO_NEW_PRIVS, 2, 0, 0, 0);
    T(prctl, "PR_GET_NO_NEW_PRIVS", PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0);
    T(prctl, "PR_GET_SECCOMP", PR_GET_SECCOMP, 0, 0, 0, 0);
    T(getrandom, "NULL, 10, 0", NUL, 10, 0);
    T(getrandom, "buf, 10, flags=~0", P(buf), 10, ALLF);
    T(getrandom, "kernel, 10, 0", KADDR, 10, 0);
    T(getrandom, "unmapped, 10, 0", UNMAP, 10, 0);
    T(getrandom, "buf, 0, 0", P(buf), 0, 0);
    T(getrandom, "buf, 16, NONBLOCK|RANDOM", P(buf), 16, 3);
    T(getrandom, "buf, 16, INSECURE|RANDOM", P(buf), 16, 6);
    T(getrandom, "edge-of-mapping, 100, 0", P(edge), 100, 0);
    /* System V IPC: nothing here creates an object (so the host's namespace is untouched);
     * 0x7fffffff is an identifier no namespace has. */
    T(shmget, "PRIVATE, 0, 0", 0, 0, 0);
    T(shmget, "PRIVATE, huge, 0", 0, HUGE, 0);
    T(shmget, "absent key, 4096, 0", 0x7fee0001, 4096, 0);
    T(shmat, "-1, NULL, 0", ALLF, NUL, 0);
    T(shmat, "0x7fffffff, NULL, 0", FDMAX, NUL, 0);
    T(shmdt, "1", 1);
    T(shmdt, "kernel", KADDR);
    T(shmdt, "unmapped", UNMAP);
    T(shmctl, "0, IPC_INFO, kernel", 0, 3, KADDR);
    T(shmctl, "0, SHM_INFO, NULL", 0, 14, NUL);
    T(shmctl, "-1, IPC_STAT, buf", ALLF, 2, P(buf));
    T(shmctl, "0x7fffffff, IPC_STAT, buf", FDMAX, 2, P(buf));
    T(shmctl, "0x7fffffff, cmd=9999, buf", FDMAX, 9999, P(buf));
    T(shmctl, "0, cmd=-1, buf", 0, ALLF, P(buf));
    T(semget, "PRIVATE, -1, 0", 0, ALLF, 0);
    T(semget, "PRIVATE, 0, 0", 0, 0, 0);
    T(semop, "-1, buf, 1", ALLF, P(buf), 1);
    T(semop, "0, NULL, 1", 0, NUL, 1);
    T(semop, "0, buf, 0", 0, P(buf), 0);
    T(semop, "0, buf, 100000", 0, P(buf), 100000);
    T(semop, "0, kernel, 2", 0, KADDR, 2);
    T(semtimedop, "0, buf, 1, kernel", 0, P(buf), 1, KADDR);
    T(semctl, "-1, 0, IPC_STAT, buf", ALLF, 0, 2, P(buf));
    T(semctl, "0x7fffffff, 0, cmd=9999, 0", FDMAX, 0, 9999, 0);
    T(semctl, "0, 0, IPC_INFO, kernel", 0, 0, 3, KADDR);
    T(semctl, "0, 0, SEM_INFO, NULL", 0, 0, 19, NUL);
    T(msgget, "absent key, 0", 0x7fee0002, 0);
    T(msgsnd, "0, NULL, 1, 0", 0, NUL, 1, 0);
    T(msgsnd, "-1, buf, 1, 0", ALLF, P(buf), 1, 0);
    T(msgsnd, "0, buf, huge, 0", 0, P(buf), HUGE, 0);
    T(msgrcv, "-1, buf, 10, 0, 0", ALLF, P(buf), 10, 0, 0);
    T(msgrcv, "0, buf, huge, 0, 0", 0, P(buf), HUGE, 0, 0);
    T(msgrcv, "0, buf, 10, 0, MSG_COPY", 0, P(buf), 10, 0, 040000);
    T(msgctl, "0, IPC_INFO, kernel", 0, 3, KADDR);
    T(msgctl, "-1, IPC_STAT, buf", ALLF, 2, P(buf));
    T(msgctl, "0x7fffffff, cmd=-1, buf", FDMAX, ALLF, P(buf));
    T(sched_rr_get_interval, "0, kernel", 0, KADDR);
    T(sched_getattr, "0, kernel, 56, 0", 0, KADDR, 56, 0);
    T(sched_getattr, "0, buf, 1<<20, 0", 0, P(buf), 1L << 20, 0);
    T(sched_setattr, "0, kernel, 0", 0, KADDR, 0);
    T(sched_setattr, "0, unmapped, 0", 0, UNMAP, 0);
    T(get_mempolicy, "kernel, NULL, 0, 0, 0", KADDR, NUL, 0, 0, 0);
    T(get_mempolicy, "buf, kernel, 64, 0, 0", P(buf), KADDR, 64, 0, 0);
    T(set_mempolicy, "BIND, kernel, 64", 2, KADDR, 64);
    T(set_mempolicy, "BIND, buf, huge", 2, P(buf), HUGE);
    T(mbind, "buf-page, 4096, BIND, kernel, 64, 0", P(buf) & ~4095L, 4096, 2, KADDR, 64, 0);
    T(move_pages, "0, 1, kernel, NULL, buf, 0", 0, 1, KADDR, NUL, P(buf), 0);
    T(membarrier, "cmd=-1, 0, 0", ALLF, 0, 0);
    T(membarrier, "QUERY, flags=~0, 0", 0, ALLF, 0);
    T(fadvise64, "-1, 0, 0, 0", ALLF, 0, 0, 0);
    T(fadvise64, "file, 0, 0, advice=~0", fd_file, 0, 0, ALLF);
    T(sync_file_range, "file, 0, 0, flags=~0", fd_file, 0, 0, ALLF);
    T(ioprio_get, "which=0, 0", 0, 0);
    T(ioprio_set, "PROCESS, 0, ~0", 1, 0, ALLF);
    T(pkey_mprotect, "unmapped, 4096, READ, -1", UNMAP, 4096, PROT_READ, ALLF);
    T(kcmp, "0, 0, FILE, 0, 0", 0, 0, 0, 0, 0);
    T(ptrace, "PEEKDATA, -1, 0, 0", PTRACE_PEEKDATA, ALLF, 0, 0);
    T(ptrace, "~0, self, 0, 0", ALLF, getpid(), 0, 0);
    T(ptrace, "ATTACH, 0, 0, 0", PTRACE_ATTACH, 0, 0, 0);
    T(ptrace, "ATTACH, self, 0, 0", PTRACE_ATTACH, getpid(), 0, 0);
    T(ptrace, "SEIZE, self, 0, ~0", PTRACE_SEIZE, getpid(), 0, ALLF);
    T(ptrace, "GETREGS, self, 0, kernel", PTRACE_GETREGS, getpid(), 0, KADDR);
    {
        struct iovec local = {buf, 16}, remote_bad = {(void *)KADDR, 16}, remote_ok = {buf + 64, 16};
        T(process_vm_readv, "self, NULL, 1, ok, 1, 0", getpid(), NUL, 1, P(&remote_ok), 1, 0);
        T(process_vm_readv, "self, buf, 1, kernel base, 1, 0", getpid(), P(&local), 1, P(&remote_bad), 1, 0);
        T(process_vm_readv, "self, buf, 1, ok, 1, flags=~0", getpid(), P(&local), 1, P(&remote_ok), 1, ALLF);
        T(process_vm_readv, "self, buf, huge, ok, 1, 0", getpid(), P(&local), HUGE, P(&remote_ok), 1, 0);
        T(process_vm_writev, "-1, buf, 1, ok, 1, 0", ALLF, P(&local), 1, P(&remote_ok), 1, 0);
        T(process_vm_writev, "self, kernel base, 1, ok, 1, 0", getpid(), P(&remote_bad), 1, P(&remote_ok), 1, 0);
        T(process_vm_readv, "self, buf, 1, ok, 1, 0", getpid(), P(&local), 1, P(&remote_ok), 1, 0);
    }
    T(personality, "0xffffffff", 0xffffffffL);
    T(mq_open, "kernel, O_RDWR, 0, NULL", KADDR, O_RDWR, 0, NUL);
    T(mq_open, "absent, O_RDWR, 0, NULL", P("sv-absent-queue"), O_RDWR, 0, NUL);
    T(mq_open, "name, O_CREAT, 0600, kernel attr", P("sv-q"), O_CREAT | O_RDWR, 0600, KADDR);
    T(mq_unlink, "NULL", NUL);
    T(mq_unlink, "absent", P("sv-absent-queue"));
    T(mq_timedsend, "-1, buf, 1, 0, NULL", ALLF, P(buf), 1, 0, NUL);
    T(mq_timedsend, "-1, buf, 1, 0, kernel", ALLF, P(buf), 1, 0, KADDR);
    T(mq_timedsend, "file, buf, 1, prio=~0, NULL", fd_file, P(buf), 1, ALLF, NUL);
    T(mq_timedreceive, "file, buf, 10, NULL, NULL", fd_file, P(buf), 10, NUL, NUL);
    T(mq_notify, "-1, NULL", ALLF, NUL);
    T(mq_notify, "file, kernel", fd_file, KADDR);
    T(mq_getsetattr, "file, NULL, NULL", fd_file, NUL, NUL);
    T(mq_getsetattr, "-1, kernel, NULL", ALLF, KADDR, NUL);
    T(rseq, "NULL, 32, 0, 0", NUL, 32, 0, 0);
}

/* ------------------------------------------------------------------------ */
/* Phase "random": fixed-seed fuzzing, run only in the sandbox.              */

static uint64_t rng = 0x5eed5eed12345678ULL;
static uint64_t next(void) { rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17; return rng; }

#define SCRATCH_PAGES 16
#define SCRATCH_ADDR 0x300000200000UL
#define SAVED_STDOUT 1000
static char *scratch;       /* the only memory random calls may point at */
static long fds[12];
static int nfds;

static const char *const paths[] = {
    "/dev/shm/fz0", "/dev/shm/fz1", "/dev/shm/fzdir", "/dev/shm", "/tmp/fz2", "/tmp",
    "/nonexistent/x", "", "/proc/self/maps", "/proc/self/status", "/dev/null", "/dev/zero",
    ".", "..", "fzrel", "/dev/shm/fzdir/../fz0",
};
#define NPATHS (sizeof paths / sizeof paths[0])

/* Map (or re-map) the scratch area and fill it with plausible values: paths in the
 * last page, pointer-ish words elsewhere (so iovecs and structs point somewhere). */
static void refresh_scratch(void) {
    /* At a fixed address far from everything, with nothing mapped after it: a call that
     * writes past the end of the scratch area (getgroups after a random setgroups of 2003
     * groups, say) gets EFAULT instead of overwriting our own memory. */
    void *p = mmap((void *)SCRATCH_ADDR, SCRATCH_PAGES * 4096, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    if (p == MAP_FAILED) { dprintf(SAVED_STDOUT, "scratch mmap failed: %s\n", ename(errno)); exit(3); }
    scratch = p;
    char *pp = scratch + (SCRATCH_PAGES - 1) * 4096;
    for (unsigned i = 0; i < NPATHS; i++) strcpy(pp + i * 64, paths[i]);
    long *w = (long *)scratch;
    for (int i = 0; i < (SCRATCH_PAGES - 1) * 4096 / 8; i++) {
        uint64_t r = next();
        switch (r % 8) {
        case 0: w[i] = (long)(scratch + (r >> 8) % ((SCRATCH_PAGES - 1) * 4096)); break;
        case 1: w[i] = (r >> 8) % 64; break;
        case 2: w[i] = (r >> 8) % 8192; break;
        case 3: w[i] = -1; break;
        default: w[i] = (long)(r >> (r % 64)); break;
        }
    }
}

static long rand_arg(void) {
    uint64_t r = next();
    switch (r % 24) {
    case 0: return 0;
    case 1: return 1;
    case 2: return -1;
    case 3: return (r >> 8) % 17;
    case 4: case 5: return fds[(r >> 8) % nfds];
    case 6: case 7: return (long)(scratch + ((r >> 8) % 4) * ((r >> 16) % 2 ? 4096 : 8) );
    case 8: case 9: return (long)(scratch + (SCRATCH_PAGES - 1) * 4096 + ((r >> 8) % NPATHS) * 64);
    case 10: return UNMAP;
    case 11: return KADDR;
    case 12: return HUGE;
    case 13: return BIG;
    case 14: return FDMAX;
    case 15: return FDBIG;
    case 16: return 4096;
    case 17: return 8192 * ((r >> 8) % 4);
    case 18: return (long)(uint32_t)(r >> 16);
    case 19: return (long)next();
    case 20: return 1L << ((r >> 8) % 64);
    case 21: return AT_FDCWD;
    case 22: return (long)(scratch + (r >> 8) % (SCRATCH_PAGES * 4096));
    default: return (r >> 8) % 4096;
    }
}

/* Syscalls the random phase may call: the implemented table minus those that
 * end, fork, block or sleep the caller, or that it cannot survive (set FS base,
 * signal-raising rlimits, seccomp). */
static const int targets[] = {
    SYS_read, SYS_write, SYS_open, SYS_close, SYS_stat, SYS_fstat, SYS_lstat, SYS_lseek,
    SYS_mmap, SYS_mprotect, SYS_munmap, SYS_brk, SYS_rt_sigaction, SYS_rt_sigprocmask, SYS_ioctl,
    SYS_pread64, SYS_pwrite64, SYS_readv, SYS_writev, SYS_access, SYS_sched_yield, SYS_mremap,
    SYS_msync, SYS_mincore, SYS_madvise, SYS_dup, SYS_dup2, SYS_getpid, SYS_uname, SYS_fcntl,
    SYS_flock, SYS_fsync, SYS_fdatasync, SYS_truncate, SYS_ftruncate, SYS_getdents, SYS_getcwd,
    SYS_chdir, SYS_fchdir, SYS_rename, SYS_mkdir, SYS_rmdir, SYS_creat, SYS_link, SYS_unlink,
    SYS_symlink, SYS_readlink, SYS_chmod, SYS_fchmod, SYS_chown, SYS_fchown, SYS_lchown, SYS_umask,
    SYS_gettimeofday, SYS_getrlimit, SYS_getrusage, SYS_sysinfo, SYS_times, SYS_getuid,
    SYS_getgid, SYS_setuid, SYS_setgid, SYS_geteuid, SYS_getegid, SYS_getppid, SYS_getpgrp,
    SYS_setreuid, SYS_setregid, SYS_getgroups, SYS_setgroups, SYS_setresuid, SYS_getresuid,
    SYS_setresgid, SYS_getresgid, SYS_getpgid, SYS_setfsuid, SYS_setfsgid, SYS_getsid,
    SYS_rt_sigpending, SYS_sigaltstack, SYS_utime, SYS_mknod, SYS_statfs, SYS_fstatfs,
    SYS_getpriority, SYS_setpriority, SYS_sched_setparam, SYS_sched_getparam,
    SYS_sched_setscheduler, SYS_sched_getscheduler, SYS_sched_get_priority_max,
    SYS_sched_get_priority_min, SYS_mlock, SYS_munlock, SYS_mlockall, SYS_munlockall, SYS_prctl,
    SYS_chroot, SYS_sync, SYS_sethostname, SYS_setdomainname, SYS_gettid, SYS_readahead, SYS_time,
    SYS_sched_setaffinity, SYS_sched_getaffinity, SYS_getdents64, SYS_set_tid_address,
    SYS_clock_getres, SYS_clock_gettime, SYS_utimes, SYS_openat, SYS_mkdirat, SYS_mknodat,
    SYS_fchownat, SYS_futimesat, SYS_newfstatat, SYS_unlinkat, SYS_renameat, SYS_linkat,
    SYS_symlinkat, SYS_readlinkat, SYS_fchmodat, SYS_faccessat, SYS_set_robust_list,
    SYS_get_robust_list, SYS_utimensat, SYS_fallocate, SYS_dup3, SYS_preadv, SYS_pwritev,
    SYS_prlimit64, SYS_syncfs, SYS_getcpu, SYS_renameat2, SYS_getrandom, SYS_preadv2,
    SYS_pwritev2, SYS_statx, SYS_close_range, SYS_faccessat2, SYS_rseq, SYS_syslog,
};

/* May a memory-management call touch [a, a+len)? Only if the range lies wholly in
 * our scratch area, the first 64 KiB, the empty zone at UNMAP, or the kernel half:
 * never our code, stack or heap (a huge length from scratch would reach them). */
static int in_zone(unsigned long a, unsigned long len) {
    unsigned long end = len > ULONG_MAX - 4095 ? ULONG_MAX : a + ((len + 4095) & ~4095UL);
    if (end < a) end = ULONG_MAX;
    if (a >= (unsigned long)KADDR) return 1;
    const unsigned long zones[3][2] = {
        {(unsigned long)scratch, (unsigned long)scratch + SCRATCH_PAGES * 4096},
        {0, 0x10000},
        {(unsigned long)UNMAP, (unsigned long)UNMAP + (1UL << 42)},
    };
    for (int i = 0; i < 3; i++)
        if (a >= zones[i][0] && end <= zones[i][1]) return 1;
    return 0;
}

static int covers_saved(long lo, long hi) { return lo <= SAVED_STDOUT && SAVED_STDOUT <= hi; }

/* Tame the few argument combinations the process itself could not survive. */
static int sanitize(int nr, long *a) {
    switch (nr) {
    case SYS_close: case SYS_dup: return a[0] != SAVED_STDOUT;
    case SYS_dup2: case SYS_dup3: return a[1] != SAVED_STDOUT && (int)a[1] != SAVED_STDOUT;
    case SYS_close_range: return !covers_saved((unsigned)a[0], (unsigned)a[1]);
    case SYS_fcntl: /* never a lock that could wait */
        return (int)a[1] != F_SETLKW && (int)a[1] != 38 /* F_OFD_SETLKW */;
    case SYS_flock: a[1] |= LOCK_NB; return 1;
    case SYS_prlimit64: a[2] = 0; return 1;  /* read-only: a low RLIMIT_CPU/FSIZE would kill us */
    case SYS_prctl: { int o = (int)a[0]; return o != PR_SET_SECCOMP && o != PR_SET_TSC && o != PR_SET_MM; }
    case SYS_syslog: { int t = (int)a[0]; return t != 2; } /* SYSLOG_ACTION_READ waits for messages */
    case SYS_read: case SYS_readv: case SYS_pread64: case SYS_preadv: case SYS_preadv2:
        return (int)a[0] != SAVED_STDOUT;
    case SYS_mmap:
        if (!(a[3] & (MAP_FIXED | MAP_FIXED_NOREPLACE))) return 1;  /* a hint only */
        return in_zone(a[0], a[1]);
    case SYS_munmap: case SYS_mprotect: case SYS_madvise:
        return in_zone(a[0], a[1]) || (a[0] & 4095);
    case SYS_mremap:
        if ((a[3] & MREMAP_FIXED) && !in_zone(a[4], a[2])) return 0;
        return in_zone(a[0], a[1]) || (a[0] & 4095);
    case SYS_brk: return a[0] == 0 || (unsigned long)a[0] >= (unsigned long)KADDR;  /* never shrink our heap */
    }
    return 1;
}

static int phase_random(long iterations, int verbose) {
    /* Random chmod/rename/sethostname/... as root must never reach a real host:
     * inside snakevisor the program is PID 1 of its own namespace. */
    if (getpid() != 1 && !getenv("HOSTILE_RANDOM_ANYWHERE")) {
        fprintf(stderr, "random phase runs only inside the sandbox (pid 1)\n");
        return 2;
    }
    fflush(stdout);
    if (dup2(1, SAVED_STDOUT) != SAVED_STDOUT) { perror("dup2"); return 2; }
    int devnull = open("/dev/null", O_RDWR);
    dup2(devnull, 0); dup2(devnull, 1); dup2(devnull, 2); close(devnull);
    mkdir("/dev/shm/fzdir", 0755);
    close(open("/dev/shm/fz0", O_CREAT | O_RDWR, 0644));
    nfds = 0;
    fds[nfds++] = 0; fds[nfds++] = 1; fds[nfds++] = -1; fds[nfds++] = FDBIG; fds[nfds++] = FDMAX;
    fds[nfds++] = open("/dev/shm/fz0", O_RDWR);
    fds[nfds++] = open("/dev/shm/fzdir", O_RDONLY | O_DIRECTORY);
    fds[nfds++] = open("/dev/zero", O_RDWR);
    fds[nfds++] = open("/proc/self/maps", O_RDONLY);
    fds[nfds++] = open("/", O_RDONLY | O_DIRECTORY);
    fds[nfds++] = open("/dev/urandom", O_RDONLY);
    fds[nfds++] = AT_FDCWD;
    const int ntargets = sizeof targets / sizeof targets[0];
    long made = 0, errors = 0;
    refresh_scratch();
    for (long i = 0; i < iterations; i++) {
        if (i % 64 == 0) refresh_scratch();
        int nr = targets[next() % ntargets];
        long a[6];
        for (int k = 0; k < 6; k++) a[k] = rand_arg();
        if (!sanitize(nr, a)) continue;
        if (verbose) dprintf(SAVED_STDOUT, "call %ld: nr=%d %lx %lx %lx %lx %lx %lx\n", i, nr,
                             a[0], a[1], a[2], a[3], a[4], a[5]);
        long r = syscall(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
        made++;
        if (r == -1) {
            errors++;
            /* Every failure must be a real errno, never garbage from a crashed handler. */
            if (errno <= 0 || errno > 133) {
                dprintf(SAVED_STDOUT, "bad errno %d from nr=%d\n", errno, nr);
                return 4;
            }
        }
    }
    dprintf(SAVED_STDOUT, "random: %ld calls, %ld errors\n", made, errors);
    dprintf(SAVED_STDOUT, "done\n");
    return 0;
}

int main(int argc, char **argv) {
    if (argc > 1 && strncmp(argv[1], "random", 6) == 0) {
        long n = argc > 2 ? atol(argv[2]) : 5000;
        if (argc > 3) rng ^= strtoull(argv[3], NULL, 0) * 0x9e3779b97f4a7c15ULL;
        return phase_random(n, strcmp(argv[1], "random-verbose") == 0);
    }
    setup();
    phase_table();
    printf("done\n");
    return 0;
}
