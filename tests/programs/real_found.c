/* Regressions found by running real programs (cp, tar, git, sqlite3, perl, node, java, gdb, make)
 * natively and in the sandbox. One case per argv[1]; each prints what it observes (modes, values,
 * errno names), so native and sandbox output must be identical. Files go in a directory made
 * under argv[2], by default /dev/shm (a tmpfs natively and in the sandbox).
 *   posix_acl   system.posix_acl_access/default on tmpfs: a minimal ACL only sets the mode (cp -a
 *               and cp -p set one instead of calling chmod), an extended one is kept, its mask is
 *               the group bits and chmod rewrites it, named entries grant access, bad values are
 *               refused, a directory's default ACL is inherited (and umask ignored), other
 *               system.* names are EOPNOTSUPP
 *   st_blocks   st_blocks counts what is written, at once (du, tar --sparse)
 *   tmpfs_blocks a tmpfs file's st_blocks: its pages written or fallocated, 8 a page
 *   acl_modes   what any filesystem with ACLs does (tmpfs, or the host's under a Gofer file): the
 *               mode after an ACL is set or removed, a named user's access, only the owner may
 *               set one, a directory's default ACL replaces the umask of what is made in it
 *   fd_link_modes the mode of /proc/self/fd/N tells how N is open: r-x, -wx, rwx, none for O_PATH
 *               (lsof's r/w/u column)
 *   maxrss_after_free ru_maxrss and VmHWM keep the peak after the memory is unmapped or discarded
 *               (/usr/bin/time -f %M of a Python program, which frees all before it exits)
 *   getrusage_many_vmas getrusage costs about the same with 4000 VMAs as with a few (a JVM's G1
 *               asks it at every pause: counting the RSS at each call made it 20 times slower)
 *   poll_same_fd_twice poll of a TCP socket listed twice, {POLLIN} and {0} (ssh's client loop):
 *               data that arrives while it sleeps wakes it (it slept out its timeout)
 *   poll_two_threads two threads in their first wait, both polling one TCP socket: data wakes
 *               both (the Sentry kept one waiter per wait number, and new threads' numbers agree)
 *   epoll_closed_without_del sockets closed while in an epoll, never EPOLL_CTL_DEL'd (nginx): a new
 *               connection added after them is reported (the Sentry's late cleanup of the closed
 *               ones unregistered the new one, whose host descriptor had taken a closed one's number) */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <grp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "await_state.h"

static char base[64];

static const char *ename(int e)
{
    switch (e) {
    case 0: return "0";
    case EACCES: return "EACCES"; case EPERM: return "EPERM"; case EINVAL: return "EINVAL";
    case ENODATA: return "ENODATA"; case EOPNOTSUPP: return "EOPNOTSUPP"; case ENOENT: return "ENOENT";
    case ERANGE: return "ERANGE"; case EEXIST: return "EEXIST";
    default: { static char b[16]; snprintf(b, sizeof b, "errno%d", e); return b; }
    }
}

#define SHOW(label, expr) do { errno = 0; long r_ = (long)(expr); \
    printf("%s: %ld %s\n", label, r_, r_ < 0 ? ename(errno) : "0"); } while (0)

static char *path(const char *name)
{
    char *p;
    if (asprintf(&p, "%s/%s", base, name) < 0)
        exit(5);
    return p;   /* a few per case: not freed */
}

/* An ACL in the xattr format: version 2, then (tag, perm, id) entries. */
struct acl { unsigned char b[4 + 8 * 8]; size_t len; };

static void acl_init(struct acl *a, uint32_t version)
{
    memcpy(a->b, &version, 4);
    a->len = 4;
}

static void acl_add(struct acl *a, uint16_t tag, uint16_t perm, uint32_t id)
{
    memcpy(a->b + a->len, &tag, 2);
    memcpy(a->b + a->len + 2, &perm, 2);
    memcpy(a->b + a->len + 4, &id, 4);
    a->len += 8;
}

enum { UOBJ = 1, USER = 2, GOBJ = 4, GROUP = 8, MASK = 0x10, OTHER = 0x20 };
#define NOID 0xffffffffu

static void minimal(struct acl *a, int u, int g, int o)
{
    acl_init(a, 2);
    acl_add(a, UOBJ, u, NOID);
    acl_add(a, GOBJ, g, NOID);
    acl_add(a, OTHER, o, NOID);
}

static void show_mode(const char *label, const char *p)
{
    struct stat st;
    if (lstat(p, &st))
        printf("%s: stat %s\n", label, ename(errno));
    else
        printf("%s: mode %o\n", label, (unsigned)st.st_mode & 07777);
}

static void show_acl(const char *label, const char *p, const char *name)
{
    unsigned char v[256];
    errno = 0;
    ssize_t n = lgetxattr(p, name, v, sizeof v);
    printf("%s: %zd %s", label, n, n < 0 ? ename(errno) : "");
    for (ssize_t i = 4; i + 8 <= n; i += 8) {
        uint16_t tag, perm;
        uint32_t id;
        memcpy(&tag, v + i, 2); memcpy(&perm, v + i + 2, 2); memcpy(&id, v + i + 4, 4);
        printf(" %x:%o:%d", tag, perm, (int)id);
    }
    char list[256];
    ssize_t l = llistxattr(p, list, sizeof list);
    printf(" | listed");
    for (ssize_t i = 0; i < l; i += strlen(list + i) + 1)
        printf(" %s", list + i);
    printf("\n");
}

/* A child as uid/gid 65534 (no capabilities) opening p: the answer of the ACL check. */
static void open_as(const char *label, uid_t uid, gid_t gid, const char *p, int flags)
{
    pid_t pid = fork();
    if (pid == 0) {
        if (setgroups(0, NULL) || setresgid(gid, gid, gid) || setresuid(uid, uid, uid))
            _exit(99);
        errno = 0;
        int fd = open(p, flags);
        printf("%s: %s\n", label, fd < 0 ? ename(errno) : "ok");
        _exit(0);
    }
    int st;
    waitpid(pid, &st, 0);
}

static int posix_acl(void)
{
    struct acl a;
    umask(022);
    char *d = path("d"), *f = path("f");
    SHOW("mkdir 0700", mkdir(d, 0700));
    minimal(&a, 7, 5, 5);   /* cp -a's copy of a 0755 directory's mode */
    SHOW("set minimal on dir", setxattr(d, "system.posix_acl_access", a.b, a.len, 0));
    show_mode("dir", d);
    show_acl("dir acl", d, "system.posix_acl_access");
    SHOW("creat 0600", close(open(f, O_CREAT | O_WRONLY, 0600)));
    minimal(&a, 6, 4, 4);
    SHOW("set minimal on file, XATTR_REPLACE", setxattr(f, "system.posix_acl_access", a.b, a.len, XATTR_REPLACE));
    show_mode("file", f);
    acl_init(&a, 2);
    acl_add(&a, UOBJ, 6, NOID); acl_add(&a, USER, 4, 65534); acl_add(&a, GOBJ, 4, NOID);
    acl_add(&a, MASK, 6, NOID); acl_add(&a, OTHER, 0, NOID);
    SHOW("set extended", setxattr(f, "system.posix_acl_access", a.b, a.len, 0));
    show_mode("file", f);
    show_acl("file acl", f, "system.posix_acl_access");
    open_as("named user reads", 65534, 65534, f, O_RDONLY);
    open_as("named user writes", 65534, 65534, f, O_WRONLY);
    open_as("other reads", 65533, 65533, f, O_RDONLY);
    SHOW("chmod 0751", chmod(f, 0751));
    show_acl("file acl", f, "system.posix_acl_access");
    SHOW("chmod 0711", chmod(f, 0711));
    open_as("named user reads, masked", 65534, 65534, f, O_RDONLY);
    open_as("other reads (mode)", 65533, 65533, f, O_RDONLY);
    SHOW("chmod 0640", chmod(f, 0640));
    pid_t pid = fork();
    if (pid == 0) {
        setgroups(0, NULL); setresgid(65534, 65534, 65534); setresuid(65534, 65534, 65534);
        SHOW("set by a non-owner", setxattr(f, "system.posix_acl_access", a.b, a.len, 0));
        _exit(0);
    }
    waitpid(pid, NULL, 0);

    /* Values refused */
    acl_init(&a, 1); acl_add(&a, UOBJ, 6, NOID); acl_add(&a, GOBJ, 4, NOID); acl_add(&a, OTHER, 4, NOID);
    SHOW("version 1", setxattr(f, "system.posix_acl_access", a.b, a.len, 0));
    minimal(&a, 6, 4, 4);
    SHOW("size 6", setxattr(f, "system.posix_acl_access", a.b, 6, 0));
    SHOW("size 2", setxattr(f, "system.posix_acl_access", a.b, 2, 0));
    minimal(&a, 8, 4, 4);
    SHOW("perm 8", setxattr(f, "system.posix_acl_access", a.b, a.len, 0));
    acl_init(&a, 2); acl_add(&a, UOBJ, 6, NOID); acl_add(&a, USER, 4, 1); acl_add(&a, GOBJ, 4, NOID);
    acl_add(&a, OTHER, 0, NOID);
    SHOW("named user, no mask", setxattr(f, "system.posix_acl_access", a.b, a.len, 0));
    acl_init(&a, 2); acl_add(&a, GOBJ, 6, NOID); acl_add(&a, UOBJ, 4, NOID); acl_add(&a, OTHER, 0, NOID);
    SHOW("out of order", setxattr(f, "system.posix_acl_access", a.b, a.len, 0));
    acl_init(&a, 2); acl_add(&a, UOBJ, 6, NOID); acl_add(&a, GOBJ, 4, NOID); acl_add(&a, 0x40, 0, NOID);
    SHOW("unknown tag", setxattr(f, "system.posix_acl_access", a.b, a.len, 0));
    show_acl("file acl still", f, "system.posix_acl_access");
    show_mode("file", f);
    SHOW("remove", removexattr(f, "system.posix_acl_access"));
    show_mode("file", f);
    show_acl("file acl", f, "system.posix_acl_access");
    SHOW("remove again", removexattr(f, "system.posix_acl_access"));
    SHOW("header only", setxattr(f, "system.posix_acl_access", a.b, 4, 0));
    show_mode("file", f);

    /* Default ACLs */
    minimal(&a, 7, 5, 5);
    SHOW("default on a file", setxattr(f, "system.posix_acl_default", a.b, a.len, 0));
    SHOW("empty default on a file", setxattr(f, "system.posix_acl_default", a.b, 0, 0));
    show_acl("dir default", d, "system.posix_acl_default");
    acl_init(&a, 2); acl_add(&a, UOBJ, 7, NOID); acl_add(&a, GOBJ, 5, NOID); acl_add(&a, GROUP, 7, 65534);
    acl_add(&a, MASK, 7, NOID); acl_add(&a, OTHER, 0, NOID);
    SHOW("default on the dir", setxattr(d, "system.posix_acl_default", a.b, a.len, 0));
    show_acl("dir default", d, "system.posix_acl_default");
    show_mode("dir", d);
    char *df = path("d/f"), *dd = path("d/sub"), *dl = path("d/link"), *dn = path("d/fifo");
    SHOW("creat 0666 in it", close(open(df, O_CREAT | O_WRONLY, 0666)));
    show_mode("new file", df);
    show_acl("new file acl", df, "system.posix_acl_access");
    show_acl("new file default", df, "system.posix_acl_default");
    SHOW("mkdir 0777 in it", mkdir(dd, 0777));
    show_mode("new dir", dd);
    show_acl("new dir acl", dd, "system.posix_acl_access");
    show_acl("new dir default", dd, "system.posix_acl_default");
    SHOW("mkfifo 0644 in it", mkfifo(dn, 0644));
    show_mode("new fifo", dn);
    SHOW("symlink in it", symlink("f", dl));
    show_acl("symlink acl", dl, "system.posix_acl_access");
    SHOW("remove the default", removexattr(d, "system.posix_acl_default"));
    show_acl("dir default", d, "system.posix_acl_default");
    minimal(&a, 7, 5, 5);
    SHOW("minimal default kept", setxattr(d, "system.posix_acl_default", a.b, a.len, 0));
    show_acl("dir default", d, "system.posix_acl_default");
    SHOW("creat 0666 under a minimal default", close(open(path("d/g"), O_CREAT | O_WRONLY, 0666)));
    show_mode("new file", path("d/g"));
    show_acl("new file acl", path("d/g"), "system.posix_acl_access");

    SHOW("system.foo", setxattr(f, "system.foo", "x", 1, 0));
    SHOW("get system.foo", getxattr(f, "system.foo", NULL, 0));
    SHOW("get short buffer", getxattr(dd, "system.posix_acl_default", a.b, 8));
    return 0;
}

/* What any filesystem with ACLs does, the sandbox's tmpfs or a Gofer file (the host's): the mode
 * after an ACL is set, kept or removed, the owner's right to set one, a default ACL's inheritance. */
static int acl_modes(void)
{
    struct acl a;
    umask(022);
    char *d = path("d"), *f = path("f"), *df = path("d/f"), *dd = path("d/sub");
    SHOW("mkdir 0700", mkdir(d, 0700));
    minimal(&a, 7, 5, 5);
    SHOW("set minimal on dir", setxattr(d, "system.posix_acl_access", a.b, a.len, 0));
    show_mode("dir", d);
    SHOW("creat 0600", close(open(f, O_CREAT | O_WRONLY, 0600)));
    minimal(&a, 6, 4, 4);
    SHOW("set minimal on file", setxattr(f, "system.posix_acl_access", a.b, a.len, 0));
    show_mode("file", f);
    acl_init(&a, 2);
    acl_add(&a, UOBJ, 6, NOID); acl_add(&a, USER, 4, 65534); acl_add(&a, GOBJ, 4, NOID);
    acl_add(&a, MASK, 6, NOID); acl_add(&a, OTHER, 0, NOID);
    SHOW("set extended", setxattr(f, "system.posix_acl_access", a.b, a.len, 0));
    show_mode("file", f);
    open_as("named user reads", 65534, 65534, f, O_RDONLY);
    open_as("named user writes", 65534, 65534, f, O_WRONLY);
    open_as("other reads", 65533, 65533, f, O_RDONLY);
    pid_t pid = fork();
    if (pid == 0) {
        setgroups(0, NULL); setresgid(65534, 65534, 65534); setresuid(65534, 65534, 65534);
        minimal(&a, 7, 7, 7);
        SHOW("set by a non-owner", setxattr(f, "system.posix_acl_access", a.b, a.len, 0));
        SHOW("removed by a non-owner", removexattr(f, "system.posix_acl_access"));
        _exit(0);
    }
    waitpid(pid, NULL, 0);
    show_mode("file", f);
    SHOW("chmod 0751", chmod(f, 0751));
    show_acl("file acl", f, "system.posix_acl_access");
    SHOW("remove", removexattr(f, "system.posix_acl_access"));
    show_mode("file", f);
    minimal(&a, 7, 5, 5);
    SHOW("default on a file", setxattr(f, "system.posix_acl_default", a.b, a.len, 0));
    acl_init(&a, 2); acl_add(&a, UOBJ, 7, NOID); acl_add(&a, GOBJ, 5, NOID); acl_add(&a, GROUP, 7, 65534);
    acl_add(&a, MASK, 7, NOID); acl_add(&a, OTHER, 0, NOID);
    SHOW("default on the dir", setxattr(d, "system.posix_acl_default", a.b, a.len, 0));
    SHOW("creat 0666 in it", close(open(df, O_CREAT | O_WRONLY, 0666)));
    show_mode("new file", df);
    SHOW("mkdir 0777 in it", mkdir(dd, 0777));
    show_mode("new dir", dd);
    SHOW("remove the default", removexattr(d, "system.posix_acl_default"));
    SHOW("creat 0666 without it", close(open(path("d/g"), O_CREAT | O_WRONLY, 0666)));
    show_mode("new file", path("d/g"));
    return 0;
}

/* st_blocks follows the data a file was given, at once: what du and tar --sparse read (tar takes
 * a file with no blocks for all hole and archives none of its data). */
static void show_blocks(const char *label, const char *p)
{
    struct stat st;
    if (stat(p, &st)) {
        printf("%s: stat %s\n", label, ename(errno));
        return;
    }
    printf("%s: size %lld, blocks %s, all of it %s\n", label, (long long)st.st_size,
           st.st_blocks ? "some" : "none", (long long)st.st_blocks * 512 >= st.st_size ? "yes" : "no");
}

static int st_blocks(void)
{
    char buf[8192];
    memset(buf, 'x', sizeof buf);
    char *f = path("f"), *s = path("sparse");
    int fd = open(f, O_CREAT | O_WRONLY, 0644);
    show_blocks("new", f);
    SHOW("write 8192", write(fd, buf, sizeof buf));
    show_blocks("written", f);
    SHOW("fsync", fsync(fd));
    show_blocks("synced", f);
    close(fd);
    fd = open(s, O_CREAT | O_WRONLY, 0644);
    SHOW("truncate 8 MiB", ftruncate(fd, 8 << 20));
    show_blocks("holes", s);
    SHOW("pwrite 1 at 4 MiB", pwrite(fd, "y", 1, 4 << 20));
    show_blocks("one page", s);
    SHOW("fallocate 64 KiB", fallocate(fd, 0, 0, 65536));
    show_blocks("allocated", s);
    close(fd);
    return 0;
}

/* A tmpfs file's st_blocks is its allocated pages (written, fallocated), 8 a page: du's answer. */
static void exact_blocks(const char *label, int fd)
{
    struct stat st;
    fstat(fd, &st);
    printf("%s: size %lld blocks %lld\n", label, (long long)st.st_size, (long long)st.st_blocks);
}

static int tmpfs_blocks(void)
{
    int fd = open(path("t"), O_CREAT | O_RDWR, 0644);
    SHOW("truncate 100 MiB", ftruncate(fd, 100 << 20));
    exact_blocks("holes", fd);
    SHOW("pwrite 1 at 50 MiB", pwrite(fd, "x", 1, 50 << 20));
    exact_blocks("one page", fd);
    SHOW("pwrite 64 at 0", pwrite(fd, base, sizeof base, 0));
    exact_blocks("two more", fd);
    SHOW("fallocate 8 MiB at 1 MiB", fallocate(fd, 0, 1 << 20, 8 << 20));
    exact_blocks("allocated", fd);
    SHOW("punch 2 MiB at 2 MiB", fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 2 << 20, 2 << 20));
    exact_blocks("punched", fd);
    SHOW("truncate 4 MiB", ftruncate(fd, 4 << 20));
    exact_blocks("truncated", fd);
    close(fd);
    return 0;
}

/* lstat of /proc/self/fd/N: S_IFLNK with r-x for a readable description, -wx for a writable one. */
static void show_fd_link(const char *label, int fd)
{
    char link[64];
    struct stat st;
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    if (lstat(link, &st))
        printf("%s: lstat %s\n", label, ename(errno));
    else
        printf("%s: link %d mode %04o\n", label, S_ISLNK(st.st_mode), (unsigned)(st.st_mode & 07777));
    close(fd);
}

static int fd_link_modes(void)
{
    int p[2], sv[2];
    close(open(path("f"), O_CREAT | O_WRONLY, 0644));
    show_fd_link("O_RDONLY", open(path("f"), O_RDONLY));
    show_fd_link("O_WRONLY", open(path("f"), O_WRONLY));
    show_fd_link("O_RDWR", open(path("f"), O_RDWR));
    show_fd_link("O_WRONLY|O_APPEND", open(path("f"), O_WRONLY | O_APPEND));
    show_fd_link("O_PATH", open(path("f"), O_PATH));
    show_fd_link("directory", open(base, O_RDONLY | O_DIRECTORY));
    if (pipe(p) == 0) {
        show_fd_link("pipe read end", p[0]);
        show_fd_link("pipe write end", p[1]);
    }
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0) {
        show_fd_link("socket", sv[0]);
        close(sv[1]);
    }
    show_fd_link("/dev/null O_WRONLY", open("/dev/null", O_WRONLY));
    return 0;
}

/* Touch ``mb`` MiB of a fresh mapping, then let it go by munmap or MADV_DONTNEED. */
static void peak_then_free(int mb, int discard)
{
    size_t n = (size_t)mb << 20;
    char *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        exit(6);
    for (size_t i = 0; i < n; i += 4096)
        p[i] = 1;
    if (discard)
        madvise(p, n, MADV_DONTNEED);
    munmap(p, n);
}

static long vm_hwm_kb(void)
{
    char line[128];
    long kb = -1;
    FILE *f = fopen("/proc/self/status", "r");
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "VmHWM:", 6))
            kb = atol(line + 6);
    if (f)
        fclose(f);
    return kb;
}

static int maxrss_after_free(void)
{
    struct rusage ru;
    int st;
    peak_then_free(48, 0);
    getrusage(RUSAGE_SELF, &ru);
    printf("self after munmap of 48 MiB: maxrss >= 48 MiB %d, VmHWM >= 48 MiB %d\n",
           ru.ru_maxrss >= 48 << 10, vm_hwm_kb() >= 48 << 10);
    for (int discard = 0; discard < 2; discard++) {
        pid_t pid = fork();
        if (pid == 0) {
            peak_then_free(96, discard);
            exit(0);
        }
        if (wait4(pid, &st, 0, &ru) != pid)
            return 1;
        printf("child %s: wait4 maxrss >= 96 MiB %d\n", discard ? "MADV_DONTNEED" : "munmap", ru.ru_maxrss >= 96 << 10);
    }
    getrusage(RUSAGE_CHILDREN, &ru);
    printf("children: maxrss >= 96 MiB %d\n", ru.ru_maxrss >= 96 << 10);
    return 0;
}

static double getrusage_loop(int calls)
{
    struct rusage ru;
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (int i = 0; i < calls; i++)
        getrusage(RUSAGE_THREAD, &ru);
    clock_gettime(CLOCK_MONOTONIC, &b);
    return (b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9;
}

static int getrusage_many_vmas(void)
{
    enum { PAGES = 4000, CALLS = 100 };
    double few = getrusage_loop(CALLS);
    char *p = mmap(NULL, (size_t)PAGES * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return 1;
    for (int i = 0; i < PAGES; i++)
        p[(size_t)i * 4096] = 1;
    for (int i = 0; i < PAGES; i += 2)   /* every other page read-only: a VMA each */
        mprotect(p + (size_t)i * 4096, 4096, PROT_READ);
    double many = getrusage_loop(CALLS);
    printf("%d getrusage calls with %d more VMAs: within 25 times the cost with a few: %d\n", CALLS, PAGES / 2,
           many < 25 * few + 0.05);
    return 0;
}

/* A connected loopback TCP pair: *srv and *cli. */
static int tcp_pair(int *srv, int *cli)
{
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof addr;
    int lst = socket(AF_INET, SOCK_STREAM, 0);
    *cli = socket(AF_INET, SOCK_STREAM, 0);
    if (bind(lst, (struct sockaddr *)&addr, sizeof addr) || listen(lst, 1) ||
        getsockname(lst, (struct sockaddr *)&addr, &len) || connect(*cli, (struct sockaddr *)&addr, len))
        return -1;
    *srv = accept(lst, NULL, NULL);
    close(lst);
    return *srv < 0 ? -1 : 0;
}

static int poll_same_fd_twice(void)
{
    int srv, cli;
    if (tcp_pair(&srv, &cli))
        return 1;
    for (int second = 0; second <= POLLIN; second += POLLIN) {
        pid_t parent = getpid(), pid = fork();
        if (pid == 0)   /* writes once the parent sleeps in poll */
            _exit(!await_pid_sleeping(parent) || write(cli, "x", 1) != 1);
        struct pollfd fds[2] = {{srv, POLLIN, 0}, {srv, (short)second, 0}};
        struct timespec a, b;
        clock_gettime(CLOCK_MONOTONIC, &a);
        int n = poll(fds, 2, 30000);
        clock_gettime(CLOCK_MONOTONIC, &b);
        char c;
        printf("second entry events %d: poll %d, revents %d %d, woken before the timeout %d, read %zd\n", second, n,
               fds[0].revents, fds[1].revents, b.tv_sec - a.tv_sec < 20, read(srv, &c, 1));
        int st;
        waitpid(pid, &st, 0);
    }
    return 0;
}

static int poller_fd;
static volatile pid_t poller_tid[2];

static void *poller(void *arg)
{
    long i = (long)arg;
    struct pollfd p = {poller_fd, POLLIN, 0};
    struct timespec a, b;
    poller_tid[i] = (pid_t)syscall(SYS_gettid);
    clock_gettime(CLOCK_MONOTONIC, &a);
    int n = poll(&p, 1, 30000);
    clock_gettime(CLOCK_MONOTONIC, &b);
    return (void *)(long)(n == 1 && b.tv_sec - a.tv_sec < 20);
}

static int poll_two_threads(void)
{
    int cli;
    pthread_t t[2];
    if (tcp_pair(&poller_fd, &cli))
        return 1;
    for (long i = 0; i < 2; i++)
        pthread_create(&t[i], NULL, poller, (void *)i);
    for (int i = 0; i < 2; i++) {
        char path[64];
        while (!poller_tid[i])
            sched_yield();
        snprintf(path, sizeof path, "/proc/self/task/%d/stat", (int)poller_tid[i]);
        if (!await_sleeping(path))
            return 1;
    }
    if (write(cli, "x", 1) != 1)
        return 1;
    for (int i = 0; i < 2; i++) {
        void *woken;
        pthread_join(t[i], &woken);
        printf("thread %d: woken by the data before the timeout %ld\n", i, (long)woken);
    }
    return 0;
}

static int epoll_closed_without_del(void)
{
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof addr;
    int lst = socket(AF_INET, SOCK_STREAM, 0), ep = epoll_create1(0), reported = 0;
    if (bind(lst, (struct sockaddr *)&addr, sizeof addr) || listen(lst, 16) ||
        getsockname(lst, (struct sockaddr *)&addr, &len))
        return 1;
    for (int round = 0; round < 8; round++) {
        int cli[4], srv[4];
        for (int i = 0; i < 4; i++) {   /* three to close while watched, one to serve */
            cli[i] = socket(AF_INET, SOCK_STREAM, 0);
            if (connect(cli[i], (struct sockaddr *)&addr, len) || (srv[i] = accept(lst, NULL, NULL)) < 0)
                return 1;
            if (i < 3) {
                struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP | EPOLLET, .data.u32 = 100 + i};
                epoll_ctl(ep, EPOLL_CTL_ADD, srv[i], &ev);
            }
        }
        for (int i = 0; i < 3; i++)
            close(srv[i]);   /* no EPOLL_CTL_DEL: closing removes them */
        struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP | EPOLLET, .data.u32 = 7}, got[4];
        epoll_ctl(ep, EPOLL_CTL_ADD, srv[3], &ev);
        epoll_wait(ep, got, 4, 0);   /* nothing yet: the closed ones go */
        if (write(cli[3], "x", 1) != 1)
            return 1;
        int n = epoll_wait(ep, got, 4, 20000);
        close(srv[3]);
        for (int i = 0; i < 4; i++)
            close(cli[i]);
        if (n != 1 || got[0].data.u32 != 7)
            break;   /* (one miss is enough: each costs the whole timeout) */
        reported++;
    }
    printf("new connections reported: %d of 8\n", reported);
    return 0;
}

static const struct { const char *name; int (*fn)(void); } cases[] = {
    {"epoll_closed_without_del", epoll_closed_without_del},
    {"poll_two_threads", poll_two_threads},
    {"poll_same_fd_twice", poll_same_fd_twice},
    {"getrusage_many_vmas", getrusage_many_vmas},
    {"maxrss_after_free", maxrss_after_free},
    {"fd_link_modes", fd_link_modes},
    {"tmpfs_blocks", tmpfs_blocks},
    {"st_blocks", st_blocks},
    {"posix_acl", posix_acl},
    {"acl_modes", acl_modes},
};

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    if (argc < 2)
        return 2;
    snprintf(base, sizeof base, "%s/real_found.%d", argc > 2 ? argv[2] : "/dev/shm", (int)getpid());
    if (mkdir(base, 0755))
        return 3;
    int rc = 2;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        if (!strcmp(argv[1], cases[i].name))
            rc = cases[i].fn();
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", base);
    if (system(cmd))
        return 4;
    return rc;
}
