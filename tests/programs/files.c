/* Reading the root filesystem and the fd table (differential): /etc/passwd via
 * open/read/pread/lseek/fstat/stat/lstat/statx, readlink, getdents64 of /etc,
 * getcwd/chdir/fchdir, dup/dup2/dup3/fcntl and close-on-exec flags. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

static uint64_t fnv(const void *p, size_t n) {
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++) h = (h ^ ((const unsigned char *)p)[i]) * 1099511628211ULL;
    return h;
}

static void show_stat(const char *what, int r, const struct stat *st) {
    if (r) { printf("%s: -1 %s\n", what, strerrordesc_np(errno)); return; }
    printf("%s: mode=%o size=%lld nlink=%lu uid=%u gid=%u mtime=%lld blksize-positive=%d\n", what, st->st_mode,
           (long long)st->st_size, (unsigned long)st->st_nlink, st->st_uid, st->st_gid,
           (long long)st->st_mtime, st->st_blksize > 0);
}

static int cmp(const void *a, const void *b) { return strcmp(*(char **)a, *(char **)b); }

int main(void) {
    static char buf[1 << 20];
    int fd = open("/etc/passwd", O_RDONLY);
    printf("open: %d\n", fd);
    ssize_t n = read(fd, buf, sizeof buf);
    printf("read: %zd hash=%016llx\n", n, (unsigned long long)fnv(buf, n));
    printf("read at EOF: %zd\n", read(fd, buf, 10));
    printf("lseek SEEK_CUR: %lld\n", (long long)lseek(fd, 0, SEEK_CUR));
    printf("lseek 5 SEEK_SET: %lld\n", (long long)lseek(fd, 5, SEEK_SET));
    char small[16] = {0};
    n = read(fd, small, 10);
    printf("read 10: %zd %.10s\n", n, small);
    printf("lseek -3 SEEK_END: %lld\n", (long long)lseek(fd, -3, SEEK_END));
    memset(small, 0, sizeof small);
    n = pread(fd, small, 8, 0);
    printf("pread 8 @0: %zd %.8s\n", n, small);
    printf("offset unchanged by pread: %lld\n", (long long)lseek(fd, 0, SEEK_CUR));
    printf("pread past EOF: %zd\n", pread(fd, small, 8, 1 << 30));
    struct stat st, st2, st3;
    int r = fstat(fd, &st);
    show_stat("fstat /etc/passwd", r, &st);
    r = stat("/etc/passwd", &st2);
    show_stat("stat /etc/passwd", r, &st2);
    printf("stat and fstat agree on ino/dev: %d\n", st.st_ino == st2.st_ino && st.st_dev == st2.st_dev);
    r = lstat("/etc/passwd", &st3);
    show_stat("lstat /etc/passwd", r, &st3);
    r = stat("/etc", &st3);
    show_stat("stat /etc", r, &st3);
    r = fstatat(AT_FDCWD, "/etc/passwd", &st3, AT_SYMLINK_NOFOLLOW);
    show_stat("fstatat /etc/passwd NOFOLLOW", r, &st3);
    struct statx sx;
    r = statx(AT_FDCWD, "/etc/passwd", 0, STATX_BASIC_STATS, &sx);
    printf("statx: %d mask-has-basic=%d mode=%o size=%llu nlink=%u ino-matches=%d\n", r,
           (sx.stx_mask & STATX_BASIC_STATS) == STATX_BASIC_STATS, sx.stx_mode,
           (unsigned long long)sx.stx_size, sx.stx_nlink, sx.stx_ino == st.st_ino);
    r = statx(fd, "", AT_EMPTY_PATH, STATX_SIZE, &sx);
    printf("statx AT_EMPTY_PATH: %d size=%llu\n", r, (unsigned long long)sx.stx_size);
    printf("access R_OK: %d\n", access("/etc/passwd", R_OK));
    close(fd);

    /* symlinks */
    char link[4096];
    ssize_t ln = readlink("/proc/self/exe", link, sizeof link - 1);
    printf("readlink /proc/self/exe is absolute: %d\n", ln > 0 && link[0] == '/');
    ln = readlink("/bin", link, sizeof link - 1);
    if (ln >= 0) link[ln] = 0;
    printf("readlink /bin: %zd %s\n", ln, ln >= 0 ? link : strerrorname_np(errno));
    r = lstat("/bin", &st3);
    printf("lstat /bin is link: %d\n", r == 0 && S_ISLNK(st3.st_mode));
    r = stat("/bin/sh", &st3);
    printf("stat /bin/sh (through symlinks) is regular: %d\n", r == 0 && S_ISREG(st3.st_mode));

    /* getdents64 of /etc, sorted */
    int dfd = open("/etc", O_RDONLY | O_DIRECTORY);
    char **names = malloc(sizeof(char *) * 100000);
    int count = 0, dots = 0;
    for (;;) {
        long got = syscall(SYS_getdents64, dfd, buf, 4096);
        if (got <= 0) { printf("getdents64 end: %ld\n", got); break; }
        for (long off = 0; off < got;) {
            struct dirent64 *de = (struct dirent64 *)(buf + off);
            if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) dots++;
            else names[count++] = strdup(de->d_name);
            off += de->d_reclen;
        }
    }
    qsort(names, count, sizeof *names, cmp);
    printf("/etc entries=%d dots=%d\n", count, dots);
    for (int i = 0; i < count; i++) printf("  %s\n", names[i]);
    /* directory seek back to 0 restarts the listing */
    lseek(dfd, 0, SEEK_SET);
    printf("getdents64 after rewind > 0: %d\n", syscall(SYS_getdents64, dfd, buf, 4096) > 0);

    /* cwd */
    char cwd[4096];
    printf("chdir /etc: %d\n", chdir("/etc"));
    printf("getcwd: %s\n", getcwd(cwd, sizeof cwd));
    printf("relative open passwd: %d\n", (fd = open("passwd", O_RDONLY)) >= 0);
    close(fd);
    r = chdir("..");
    printf("chdir ..: %d getcwd: %s\n", r, getcwd(cwd, sizeof cwd));
    r = chdir("/usr/../etc/./");
    printf("chdir /usr/../etc/./: %d getcwd: %s\n", r, getcwd(cwd, sizeof cwd));
    int root = open("/", O_RDONLY | O_DIRECTORY);
    r = fchdir(root);
    printf("fchdir /: %d getcwd: %s\n", r, getcwd(cwd, sizeof cwd));
    r = fchdir(dfd);
    printf("fchdir /etc fd: %d getcwd: %s\n", r, getcwd(cwd, sizeof cwd));
    errno = 0;
    r = chdir("/etc/passwd");
    printf("chdir /etc/passwd: %d %s\n", r, strerrorname_np(errno));

    /* fd table */
    fd = open("/etc/passwd", O_RDONLY);
    printf("fd=%d (lowest free)\n", fd);
    int d1 = dup(fd);
    printf("dup: %d cloexec=%d\n", d1, fcntl(d1, F_GETFD));
    int d2 = dup2(fd, 50);
    printf("dup2 50: %d cloexec=%d\n", d2, fcntl(d2, F_GETFD));
    int d3 = dup3(fd, 51, O_CLOEXEC);
    printf("dup3 51 O_CLOEXEC: %d cloexec=%d\n", d3, fcntl(d3, F_GETFD));
    int d4 = fcntl(fd, F_DUPFD, 40);
    printf("F_DUPFD 40: %d\n", d4);
    int d5 = fcntl(fd, F_DUPFD_CLOEXEC, 40);
    printf("F_DUPFD_CLOEXEC 40: %d cloexec=%d\n", d5, fcntl(d5, F_GETFD));
    r = fcntl(fd, F_SETFD, FD_CLOEXEC);
    printf("F_SETFD 1 on fd: %d -> %d\n", r, fcntl(fd, F_GETFD));
    int oc = open("/etc/passwd", O_RDONLY | O_CLOEXEC);
    printf("open O_CLOEXEC: cloexec=%d\n", fcntl(oc, F_GETFD));
    printf("F_GETFL: %o\n", fcntl(fd, F_GETFL));
    r = fcntl(fd, F_SETFL, O_NONBLOCK | O_APPEND);
    printf("F_SETFL O_NONBLOCK|O_APPEND: %d -> %o\n", r, fcntl(fd, F_GETFL));
    /* duplicated descriptors share one offset */
    lseek(fd, 7, SEEK_SET);
    printf("shared offset via dup: %lld\n", (long long)lseek(d1, 0, SEEK_CUR));
    r = close(d2);
    int r2 = close(d2);
    printf("close dup2'd: %d, again: %d %s\n", r, r2, strerrorname_np(errno));
    int again = dup(fd);
    printf("reuse lowest: %d\n", again);

    /* dnotify requests: accepted on a directory, ENOTDIR elsewhere (a removal is always fine) */
    int nfd = open("/etc", O_RDONLY | O_DIRECTORY);
    r = fcntl(nfd, F_NOTIFY, DN_CREATE | DN_MULTISHOT);
    printf("F_NOTIFY dir: %d\n", r);
    r = fcntl(fd, F_NOTIFY, DN_CREATE);
    printf("F_NOTIFY file: %d %s\n", r, strerrorname_np(errno));
    printf("F_NOTIFY file, remove: %d\n", fcntl(fd, F_NOTIFY, 0));
    close(nfd);

    /* RLIMIT_NOFILE: the fd table follows setrlimit both ways */
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    int want = rl.rlim_max < 1500 ? (int)rl.rlim_max : 1500;
    rl.rlim_cur = 64;
    printf("setrlimit NOFILE 64: %d\n", setrlimit(RLIMIT_NOFILE, &rl));
    int last = -1;
    while ((r = dup(0)) >= 0) last = r;
    printf("dup until %s: last fd %d\n", strerrorname_np(errno), last);
    r = dup2(0, 64);
    printf("dup2 to 64: %d %s\n", r, strerrorname_np(errno));
    r = fcntl(0, F_DUPFD, 64);
    printf("F_DUPFD 64: %d %s\n", r, strerrorname_np(errno));
    rl.rlim_cur = want;
    printf("setrlimit NOFILE up: %d\n", setrlimit(RLIMIT_NOFILE, &rl));
    while ((r = dup(0)) >= 0) last = r;
    printf("dup until %s: last fd is limit-1: %d\n", strerrorname_np(errno), last == want - 1);
    printf("dup2 to limit-1 after close: %d\n", close(want - 1) == 0 && dup2(0, want - 1) == want - 1);
    return 0;
}
