/* Regressions found by running gVisor's syscall tests (getdents, open, fcntl, sendfile, lseek,
   proc, utimes, rename, ...) natively and in the sandbox. One case per argv[1]; each prints the
   return values and errno names it observes, so native and sandbox output must be identical. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <linux/capability.h>
#include <sched.h>
#include <unistd.h>

#define CHECK(expr) do { errno = 0; long _r = (long)(expr); \
    printf("%-60s = %ld %s\n", #expr, _r, _r < 0 ? strerrorname_np(errno) : ""); } while (0)

static char dir[256];
static const char *base = "/tmp";   /* argv[2], for the cases that use it: where the files go */

static void make_dir(void)
{
    snprintf(dir, sizeof dir, "%s/gvt_vfs.XXXXXX", base);
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        exit(1);
    }
}

static void remove_dir(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd))
        exit(1);
}

/* A buffer whose tail is unmapped gives the records that fit before the hole, EFAULT when
   none does; a count above INT_MAX is EINVAL. */
static int getdents_case(void)
{
    make_dir();
    char path[128];
    for (int i = 0; i < 40; i++) {
        snprintf(path, sizeof path, "%s/file%02d", dir, i);
        close(open(path, O_CREAT | O_WRONLY, 0644));
    }
    long page = sysconf(_SC_PAGESIZE);
    char *map = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    munmap(map + page, page);
    char *buf = map + page - 256;
    for (int old = 0; old < 2; old++) {
        int fd = open(dir, O_RDONLY | O_DIRECTORY);
        long total = 0, n, calls = 0;
        while ((n = syscall(old ? SYS_getdents : SYS_getdents64, fd, buf, page)) > 0) {
            total += n;
            calls++;
        }
        printf("old=%d last=%ld %s calls>1=%d\n", old, n, n < 0 ? strerrorname_np(errno) : "", calls > 1);
        lseek(fd, 0, SEEK_SET);
        int entries = 0;
        while ((n = syscall(old ? SYS_getdents : SYS_getdents64, fd, buf, 256)) > 0)
            for (long off = 0; off < n; entries++)
                off += old ? *(unsigned short *)(buf + off + 16) : ((struct dirent64 *)(buf + off))->d_reclen;
        printf("entries %d\n", entries);
        lseek(fd, 0, SEEK_SET);
        CHECK(syscall(SYS_getdents64, fd, map + page, page));
        CHECK(syscall(SYS_getdents64, fd, map + page - 8, page));
        CHECK(syscall(SYS_getdents64, fd, buf, (unsigned)INT_MAX + 1));
        CHECK(syscall(SYS_getdents64, fd, buf, (unsigned)-1));
        CHECK(syscall(SYS_getdents, fd, buf, (unsigned)INT_MAX + 1));
        CHECK(syscall(SYS_getdents64, fd, buf, 0));
        close(fd);
    }
    remove_dir();
    return 0;
}

static int changed(const struct timespec *a, const struct timespec *b)
{
    return a->tv_sec != b->tv_sec || a->tv_nsec != b->tv_nsec;
}

/* Truncation to the size a file already has (open's O_TRUNC of an empty file, ftruncate,
   truncate) still sets mtime and ctime. */
static void trunc_times_in(const char *base, const char *label)
{
    char path[128];
    snprintf(path, sizeof path, "%s/gvt_vfs_trunc.%d", base, getpid());
    close(open(path, O_CREAT | O_WRONLY | O_TRUNC, 0644));
    for (int how = 0; how < 3; how++) {
        struct timespec old[2] = {{1000, 0}, {1000, 0}};
        struct stat a, b;
        utimensat(AT_FDCWD, path, old, 0);
        stat(path, &a);
        usleep(20000);
        if (how == 0) {
            close(open(path, O_WRONLY | O_TRUNC));
        } else if (how == 1) {
            int fd = open(path, O_WRONLY);
            CHECK(ftruncate(fd, 0));
            close(fd);
        } else {
            CHECK(truncate(path, 0));
        }
        stat(path, &b);
        printf("%s how=%d size=%ld mtime changed %d ctime changed %d\n", label, how, (long)b.st_size,
               changed(&a.st_mtim, &b.st_mtim), changed(&a.st_ctim, &b.st_ctim));
    }
    unlink(path);
}

static int trunc_times(void)
{
    make_dir();
    trunc_times_in(dir, "tmp");
    remove_dir();
    trunc_times_in("/var/tmp", "var_tmp");
    return 0;
}

/* F_GETFL of O_PATH descriptors (no O_LARGEFILE, unlike other opens); F_SETOWN_EX with a
   pid no process has, negative ones too, is ESRCH. */
static int fcntl_case(void)
{
    int fd = open("/tmp", O_PATH);
    printf("O_PATH dir %#o\n", fcntl(fd, F_GETFL));
    int f2 = open("/etc/passwd", O_PATH | O_CLOEXEC | O_NOFOLLOW);
    printf("O_PATH file %#o\n", fcntl(f2, F_GETFL));
    printf("O_PATH dup %#o\n", fcntl(dup(f2), F_GETFL));
    printf("O_PATH dupfd %#o\n", fcntl(fcntl(f2, F_DUPFD_CLOEXEC, 0), F_GETFL));
    fd = open("/etc/passwd", O_RDONLY);
    printf("O_RDONLY %#o\n", fcntl(fd, F_GETFL));
    static const int types[] = {F_OWNER_TID, F_OWNER_PID, F_OWNER_PGRP, 7};
    static const int pids[] = {-1, 4000000, 0};
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 3; j++) {
            struct f_owner_ex o = {types[i], pids[j]};
            errno = 0;
            int r = fcntl(fd, F_SETOWN_EX, &o);
            printf("F_SETOWN_EX type %d pid %d = %d %s\n", types[i], pids[j], r, r < 0 ? strerrorname_np(errno) : "");
        }
    CHECK(fcntl(fd, F_SETOWN, 4000000));
    CHECK(fcntl(fd, F_SETOWN, -4000000));
    return 0;
}

/* Counts negative as ssize_t and offset + count past the largest loff_t are EINVAL (Linux's
   rw_verify_area), for sendfile's source and destination and splice's file side. */
static int sendfile_case(void)
{
    make_dir();
    char path[128], empty[128];
    snprintf(path, sizeof path, "%s/data", dir);
    snprintf(empty, sizeof empty, "%s/empty", dir);
    int fd = open(path, O_CREAT | O_RDWR, 0644);
    CHECK(write(fd, "0123456789", 10));
    close(open(empty, O_CREAT | O_RDWR, 0644));
    int in = open(path, O_RDONLY), in_empty = open(empty, O_RDONLY);
    int out = open(empty, O_WRONLY), mfd = memfd_create("gvt_vfs", 0);
    loff_t off;
    CHECK(sendfile(out, in, NULL, -1));
    CHECK(sendfile(out, in, NULL, (size_t)1 << 63));
    off = 0x7ffffffffffffffeLL;
    CHECK(sendfile(mfd, in_empty, &off, 3));
    CHECK(sendfile(mfd, in, &off, 3));
    printf("off %llx\n", (unsigned long long)off);
    CHECK(lseek(mfd, 0x7ffffffffffffffeLL, SEEK_SET));
    off = 0;
    CHECK(sendfile(mfd, in, &off, 3));
    CHECK(sendfile(mfd, in, &off, 1));
    CHECK(lseek(mfd, 0, SEEK_CUR));
    int p[2];
    pipe(p);
    CHECK(write(p[1], "abcdef", 6));
    off = 0x7ffffffffffffffeLL;
    int m2 = memfd_create("gvt_vfs2", 0);
    CHECK(splice(p[0], NULL, m2, &off, 3, 0));
    CHECK(splice(p[0], NULL, m2, &off, (size_t)-1, 0));
    off = 0x7ffffffffffffffeLL;
    CHECK(splice(m2, &off, p[1], NULL, 3, 0));
    CHECK(lseek(m2, 0x7ffffffffffffffeLL, SEEK_SET));
    CHECK(splice(p[0], NULL, m2, NULL, 3, 0));
    off = 0x7ffffffffffffffeLL;
    CHECK(splice(p[0], NULL, out, &off, 3, 0));
    /* sendfile's source: not a pipe; into a socket only a regular file; into a pipe a socket too */
    int q[2], sv[2], zero = open("/dev/zero", O_RDONLY);
    pipe(q);
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    CHECK(write(p[1], "ab", 2));
    CHECK(sendfile(sv[0], p[0], NULL, 100));
    CHECK(sendfile(q[1], p[0], NULL, 100));
    CHECK(sendfile(sv[0], zero, NULL, 100));
    CHECK(sendfile(q[1], zero, NULL, 100));
    CHECK(sendfile(q[1], sv[1], NULL, 100));
    remove_dir();
    return 0;
}

/* lseek on procfs and sysfs: directories seek from their size 0 (SEEK_DATA/HOLE: ENXIO),
   seq_file files only from the start or the current offset (EINVAL), sysctls from 0, sysfs
   attributes from a page. */
static int lseek_case(void)
{
    static const char *paths[] = {"/proc", "/proc/self", "/proc/self/task", "/proc/self/fd", "/proc/sys",
        "/proc/sys/kernel", "/sys", "/sys/devices", "/sys/kernel", "/proc/meminfo", "/proc/stat",
        "/proc/self/status", "/proc/self/maps", "/proc/version", "/proc/cmdline", "/proc/sys/kernel/pid_max",
        "/proc/sys/vm/overcommit_memory", "/sys/kernel/mm/transparent_hugepage/enabled"};
    static const long offs[] = {0, 0, 3, 0, 5, 1000, 0, 0};
    static const int whence[] = {SEEK_CUR, SEEK_END, SEEK_END, SEEK_SET, SEEK_SET, SEEK_CUR, SEEK_DATA, SEEK_HOLE};
    for (unsigned i = 0; i < sizeof paths / sizeof *paths; i++) {
        int fd = open(paths[i], O_RDONLY);
        printf("%s:", paths[i]);
        for (int j = 0; j < 8; j++) {
            errno = 0;
            long r = lseek(fd, offs[j], whence[j]);
            printf(" %ld%s%s", r, r < 0 ? "/" : "", r < 0 ? strerrorname_np(errno) : "");
        }
        printf("\n");
        close(fd);
    }
    return 0;
}

static void print_fdinfo_flags(int fd)
{
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/self/fdinfo/%d", fd);
    int i = open(path, O_RDONLY);
    long n = read(i, buf, sizeof buf - 1);
    close(i);
    buf[n > 0 ? n : 0] = 0;
    char *flags = strstr(buf, "flags:");
    printf("fd flags %s", flags ? strtok(flags, "\n") : "none");
    printf("\n");
}

/* /proc/PID/fdinfo/N "flags:" shows O_CLOEXEC when the descriptor has FD_CLOEXEC. */
static int fdinfo_case(void)
{
    int fd = open("/etc/passwd", O_RDONLY | O_CLOEXEC);
    print_fdinfo_flags(fd);
    fcntl(fd, F_SETFD, 0);
    print_fdinfo_flags(fd);
    fcntl(fd, F_SETFD, FD_CLOEXEC);
    print_fdinfo_flags(fd);
    print_fdinfo_flags(dup(fd));
    print_fdinfo_flags(open("/tmp", O_PATH | O_CLOEXEC));
    print_fdinfo_flags(open("/etc/passwd", O_WRONLY | O_APPEND | O_NONBLOCK | O_CLOEXEC));
    return 0;
}

static void positional(const char *name, int fd)
{
    char b[8] = {0};
    errno = 0;
    long r = pread(fd, b, sizeof b, 0);
    printf("%s: pread %ld %s", name, r, r < 0 ? strerrorname_np(errno) : "");
    errno = 0;
    r = pwrite(fd, b, sizeof b, 0);
    printf(" pwrite %ld %s\n", r, r < 0 ? strerrorname_np(errno) : "");
}

/* pread64 and pwrite64 on a file that cannot seek are ESPIPE whatever its access mode (Linux
   checks FMODE_PREAD/FMODE_PWRITE first); on a seekable one the mode decides (EBADF). */
static int pread_espipe(void)
{
    int p[2], s[2];
    pipe(p);
    positional("pipe read end", p[0]);
    positional("pipe write end", p[1]);
    positional("inotify", inotify_init1(IN_NONBLOCK));
    positional("eventfd", eventfd(0, EFD_NONBLOCK));
    socketpair(AF_UNIX, SOCK_STREAM, 0, s);
    positional("socket", s[0]);
    positional("O_RDONLY file", open("/etc/passwd", O_RDONLY));
    positional("O_WRONLY /dev/null", open("/dev/null", O_WRONLY));
    positional("O_PATH", open("/etc/passwd", O_PATH));
    return 0;
}

/* utimensat with both times UTIME_OMIT has nothing to do and looks nothing up (0 even for a
   missing path or unknown flags); a NULL path names the descriptor, which an O_PATH one cannot
   be (EBADF), while AT_EMPTY_PATH looks it up as a path. */
static int utimes_case(void)
{
    make_dir();
    char path[128], missing[128];
    snprintf(path, sizeof path, "%s/file", dir);
    snprintf(missing, sizeof missing, "%s/missing", dir);
    close(open(path, O_CREAT | O_WRONLY, 0644));
    struct timespec omit[2] = {{0, UTIME_OMIT}, {0, UTIME_OMIT}};
    struct timespec bad[2] = {{0, UTIME_OMIT}, {0, 1000000000}};
    struct timespec set[2] = {{10, 0}, {20, 0}};
    struct timeval tv[2] = {{10, 0}, {20, 0}};
    CHECK(utimensat(AT_FDCWD, missing, omit, 0));
    CHECK(utimensat(AT_FDCWD, missing, omit, 0x4000));
    CHECK(utimensat(-1, "relative", omit, 0));
    CHECK(utimensat(AT_FDCWD, missing, bad, 0));
    CHECK(utimensat(AT_FDCWD, missing, set, 0));
    CHECK(utimensat(AT_FDCWD, missing, NULL, 0));
    int opath = open(path, O_PATH);
    CHECK(syscall(SYS_futimesat, opath, NULL, tv));
    CHECK(syscall(SYS_utimensat, opath, NULL, set, 0));
    CHECK(syscall(SYS_utimensat, opath, NULL, omit, 0));
    CHECK(futimens(opath, set));
    CHECK(utimensat(opath, "", set, AT_EMPTY_PATH));
    int fd = open(path, O_RDONLY);
    CHECK(syscall(SYS_futimesat, fd, NULL, tv));
    CHECK(syscall(SYS_utimensat, fd, NULL, set, AT_SYMLINK_NOFOLLOW));
    CHECK(syscall(SYS_futimesat, AT_FDCWD, NULL, tv));
    struct stat st;
    stat(path, &st);
    printf("atime %ld mtime %ld\n", (long)st.st_atime, (long)st.st_mtime);
    remove_dir();
    return 0;
}

/* rename onto "." or "..": EBUSY, or EEXIST with RENAME_NOREPLACE (there is something there) */
static int rename_dots(void)
{
    make_dir();
    char a[96], b[96], dot[100], dotdot[100];
    snprintf(a, sizeof a, "%s/a", dir);
    snprintf(b, sizeof b, "%s/b", dir);
    snprintf(dot, sizeof dot, "%s/.", b);
    snprintf(dotdot, sizeof dotdot, "%s/..", b);
    mkdir(a, 0755);
    mkdir(b, 0755);
    CHECK(renameat2(AT_FDCWD, a, AT_FDCWD, dot, RENAME_NOREPLACE));
    CHECK(renameat2(AT_FDCWD, a, AT_FDCWD, dotdot, RENAME_NOREPLACE));
    CHECK(renameat2(AT_FDCWD, a, AT_FDCWD, dot, 0));
    CHECK(renameat2(AT_FDCWD, dot, AT_FDCWD, a, RENAME_NOREPLACE));
    CHECK(renameat2(AT_FDCWD, a, AT_FDCWD, dot, RENAME_EXCHANGE));
    remove_dir();
    return 0;
}

static void drain_events(int fd, const char *what)
{
    char buf[4096] __attribute__((aligned(8)));
    printf("%s:", what);
    for (;;) {
        long n = read(fd, buf, sizeof buf);
        if (n <= 0)
            break;
        for (char *p = buf; p < buf + n;) {
            struct inotify_event *e = (void *)p;
            printf(" wd%d:%x%s", e->wd, e->mask, e->len ? " (a name)" : "");
            p += sizeof *e + e->len;
        }
    }
    printf("\n");
}

/* inotify: an exec opens the file (IN_OPEN); IN_EXCL_UNLINK watches ignore I/O through an
   unlinked name, the file's own watch too, but not changes to its inode; /proc's files are
   watched like others */
static int inotify_more(void)
{
    make_dir();
    int in = inotify_init1(IN_NONBLOCK);
    char script[96], file[96];
    snprintf(script, sizeof script, "%s/script", dir);
    int fd = open(script, O_WRONLY | O_CREAT, 0755);
    write(fd, "#!/bin/true\n", 12);
    close(fd);
    inotify_add_watch(in, script, IN_ALL_EVENTS);
    pid_t child = fork();
    if (child == 0) {
        execl(script, script, (char *)NULL);
        _exit(127);
    }
    int status;
    waitpid(child, &status, 0);
    printf("exec status %d\n", status);
    drain_events(in, "exec");
    snprintf(file, sizeof file, "%s/f", dir);
    fd = open(file, O_RDWR | O_CREAT, 0644);
    inotify_add_watch(in, dir, IN_ALL_EVENTS | IN_EXCL_UNLINK);
    inotify_add_watch(in, file, IN_ALL_EVENTS | IN_EXCL_UNLINK);
    unlink(file);
    int v = 0;
    write(fd, &v, sizeof v);
    lseek(fd, 0, SEEK_SET);
    read(fd, &v, sizeof v);
    drain_events(in, "written and read after the unlink");
    ftruncate(fd, 12345);
    fchmod(fd, 0600);
    drain_events(in, "its inode changed after the unlink");
    close(fd);
    drain_events(in, "closed");
    int proc = inotify_add_watch(in, "/proc/filesystems", IN_ALL_EVENTS);
    printf("a watch on /proc/filesystems: %d\n", proc > 0);
    fd = open("/proc/filesystems", O_RDONLY);
    char c;
    read(fd, &c, 1);
    close(fd);
    drain_events(in, "/proc/filesystems read");
    remove_dir();
    return 0;
}

/* A store through a shared mapping of ``fd``'s first page, written back. */
static int store_through_mapping(int fd)
{
    char *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED)
        return -1;
    p[0] = 'x';
    return msync(p, 4096, MS_SYNC);
}

/* fs.protected_hardlinks: another user may not link a file it could not read and write, a
   special file or a setuid one; its owner may */
static int protected_hardlinks(void)
{
    make_dir();
    chmod(dir, 0777);
    char unwritable[96], fifo[96], suid[96], mine[96], target[96];
    snprintf(unwritable, sizeof unwritable, "%s/ro", dir);
    snprintf(fifo, sizeof fifo, "%s/fifo", dir);
    snprintf(suid, sizeof suid, "%s/suid", dir);
    snprintf(mine, sizeof mine, "%s/mine", dir);
    snprintf(target, sizeof target, "%s/new", dir);
    close(open(unwritable, O_CREAT | O_WRONLY, 0644));
    mkfifo(fifo, 0666);
    close(open(suid, O_CREAT | O_WRONLY, 0666));
    chmod(suid, 0666 | S_ISUID);
    pid_t child = fork();
    if (child == 0) {
        if (setuid(65534) != 0)
            _exit(3);
        CHECK(link(unwritable, target));
        CHECK(link(fifo, target));
        CHECK(link(suid, target));
        close(open(mine, O_CREAT | O_WRONLY, 0600));
        CHECK(link(mine, target));
        _exit(0);
    }
    int status;
    waitpid(child, &status, 0);
    CHECK(link(unwritable, target));   /* root: CAP_FOWNER */
    printf("child status %d\n", status);
    remove_dir();
    return 0;
}

/* One operation of setid_write on "f", in the child: its result (negative: failed). */
static long setid_op(const char *op)
{
    if (!strcmp(op, "truncate"))
        return truncate("f", 1);
    if (!strcmp(op, "otrunc"))
        return open("f", O_WRONLY | O_TRUNC);
    int fd = open("f", O_RDWR);
    if (strstr(op, "ftruncate"))
        return ftruncate(fd, 2);
    if (strstr(op, "falloc"))
        return fallocate(fd, 0, 0, 8192);
    if (!strcmp(op, "punch"))
        return fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, 4096);
    if (strstr(op, "mmap"))   /* a store through a shared mapping clears nothing */
        return store_through_mapping(fd);
    return write(fd, "x", strcmp(op, "write0") ? 1 : 0);
}

/* A write (not of 0 bytes), a truncation (ftruncate, truncate, open's O_TRUNC) or an allocation
   by a writer without CAP_FSETID clears set-user-ID, and set-group-ID when the group may execute
   or the writer is not in the file's group; a store through a mapping, or root's write, leaves
   them (pjdfstest chmod/12). Each operation runs in a child, as uid/gid 65534 unless its name
   starts with "root", from inside the directory. */
static int setid_write(void)
{
    static const struct { int mode, gid; } modes[] = {{04777, 0}, {02777, 0}, {06777, 0}, {02767, 0},
                                                       {02767, 65534}, {02777, 65534}, {0777, 0}};
    static const char *ops[] = {"write", "write0", "ftruncate", "truncate", "otrunc", "fallocate", "punch", "mmap",
                                "root-write", "root-ftruncate", "root-falloc", "root-mmap"};
    make_dir();
    if (chmod(dir, 0755) || chdir(dir))
        return 1;
    for (size_t m = 0; m < sizeof modes / sizeof modes[0]; m++)
        for (size_t op = 0; op < sizeof ops / sizeof ops[0]; op++) {
            int fd = open("f", O_CREAT | O_WRONLY | O_TRUNC, 0600);
            ftruncate(fd, 4096);
            fchown(fd, 0, modes[m].gid);
            fchmod(fd, modes[m].mode);
            close(fd);
            pid_t child = fork();
            if (child == 0) {
                if (strncmp(ops[op], "root", 4) && (setgid(65534) || setuid(65534)))
                    _exit(3);
                _exit(setid_op(ops[op]) < 0 ? 4 : 0);
            }
            int status;
            waitpid(child, &status, 0);
            struct stat st;
            stat("f", &st);
            printf("%05o gid %-5d %-14s status %d -> %05o\n", modes[m].mode, modes[m].gid, ops[op], status,
                   st.st_mode & 07777);
            unlink("f");
        }
    chdir("/");
    remove_dir();
    return 0;
}

/* chown and lchown with ids of -1 (nothing to change but the change time) succeed for anyone
   who can reach the file, but still clear set-user-ID (and set-group-ID as a write would) of a file that is not a
   directory, for root too, and that needs the owner (or CAP_FOWNER): EPERM otherwise. A change
   of owner or group by root clears them likewise (pjdfstest chown/00). */
static int chown_noop(void)
{
    static const struct { int mode, uid, gid; } files[] = {
        {0644, 0, 0}, {04755, 0, 0}, {02755, 0, 0}, {02745, 0, 0}, {06555, 65534, 65534}, {02745, 65534, 0},
        {02745, 65534, 65534}, {04755, 65534, 0}};
    static const char *ops[] = {"root -1 -1", "root 0 -1", "root -1 0", "user -1 -1", "user lchown -1 -1",
                                "user -1 65534", "root dir -1 -1", "user symlink -1 -1"};
    make_dir();
    if (chmod(dir, 0755) || chdir(dir))
        return 1;
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++)
        for (size_t op = 0; op < sizeof ops / sizeof ops[0]; op++) {
            const char *name = op == 6 ? "d" : "f";
            if (op == 6)
                mkdir("d", 0700);
            else
                close(open("f", O_CREAT | O_WRONLY | O_TRUNC, 0600));
            if (op == 7)
                symlink("f", "l");
            chown(name, files[i].uid, files[i].gid);
            chmod(name, files[i].mode);
            pid_t child = fork();
            if (child == 0) {
                if (op >= 3 && op != 6 && (setgroups(0, NULL) || setgid(65534) || setuid(65534)))
                    _exit(3);
                errno = 0;
                int r = op == 1 ? chown(name, 0, -1) : op == 2 ? chown(name, -1, 0) : op == 4 ? lchown(name, -1, -1)
                        : op == 5 ? chown(name, -1, 65534) : op == 7 ? lchown("l", -1, -1) : chown(name, -1, -1);
                printf("%05o %d:%d %-18s = %d %s", files[i].mode, files[i].uid, files[i].gid, ops[op], r,
                       r < 0 ? strerrorname_np(errno) : "");
                _exit(0);
            }
            int status;
            waitpid(child, &status, 0);
            struct stat st;
            stat(name, &st);
            printf(" (status %d) -> %05o %d:%d\n", status, st.st_mode & 07777, st.st_uid, st.st_gid);
            if (op == 0 || op == 6) {   /* the change time changes too, with nothing else */
                struct timespec old[2] = {{1000, 0}, {1000, 0}};
                struct stat a, b;
                utimensat(AT_FDCWD, name, old, 0);
                stat(name, &a);
                usleep(20000);
                chown(name, -1, -1);
                stat(name, &b);
                printf("  ctime changed %d\n", changed(&a.st_ctim, &b.st_ctim));
            }
            if (op == 6)
                rmdir("d");
            else
                unlink("f");
            unlink("l");
        }
    chdir("/");
    remove_dir();
    return 0;
}

/* A directory that changes parent in a rename needs write permission on itself (its ".."
   changes), the one it is exchanged with too; a file, or a rename within one directory, does
   not (pjdfstest rename/09). */
static int rename_dir_parent(void)
{
    make_dir();
    if (chmod(dir, 0755) || chdir(dir))
        return 1;
    mkdir("p1", 0777);
    mkdir("p2", 0777);
    chmod("p1", 0777);
    chmod("p2", 0777);
    mkdir("p1/d", 0755);
    close(open("p1/f", O_CREAT | O_WRONLY, 0644));
    mkdir("p1/u", 0755);
    chown("p1/u", 65534, 65534);
    mkdir("p2/x", 0755);
    chown("p2/x", 65534, 65534);
    mkdir("p2/r", 0755);
    pid_t child = fork();
    if (child == 0) {
        if (setgroups(0, NULL) || setgid(65534) || setuid(65534))
            _exit(3);
        CHECK(rename("p1/d", "p2/d"));
        CHECK(rename("p1/d", "p1/e"));
        CHECK(rename("p1/e", "p1/d"));
        CHECK(rename("p1/f", "p2/f"));
        CHECK(rename("p2/f", "p1/f"));
        CHECK(rename("p1/u", "p2/u"));
        CHECK(rename("p2/u", "p1/u"));
        CHECK(renameat2(AT_FDCWD, "p1/d", AT_FDCWD, "p2/x", RENAME_EXCHANGE));
        CHECK(renameat2(AT_FDCWD, "p2/x", AT_FDCWD, "p1/d", RENAME_EXCHANGE));
        CHECK(renameat2(AT_FDCWD, "p1/u", AT_FDCWD, "p2/x", RENAME_EXCHANGE));
        CHECK(renameat2(AT_FDCWD, "p1/u", AT_FDCWD, "p2/r", RENAME_EXCHANGE));
        CHECK(renameat2(AT_FDCWD, "p1/u", AT_FDCWD, "p2/f", RENAME_EXCHANGE));
        CHECK(rename("p1/u", "p2/r"));
        _exit(0);
    }
    int status;
    waitpid(child, &status, 0);
    printf("child status %d\n", status);
    CHECK(rename("p1/d", "p2/d"));   /* root: CAP_DAC_OVERRIDE */
    struct stat st;
    CHECK(stat("p2/d", &st));
    CHECK(stat("p1/u", &st));
    chdir("/");
    remove_dir();
    return 0;
}

/* A path argument is at most PATH_MAX bytes with its NUL: a symlink's target of PATH_MAX
   characters is ENAMETOOLONG, as a path to resolve is (pjdfstest symlink/03). */
static int long_target(void)
{
    make_dir();
    static char target[PATH_MAX + 2];
    char link[300];
    snprintf(link, sizeof link, "%s/l", dir);
    for (int n = PATH_MAX - 2; n <= PATH_MAX + 1; n++) {
        memset(target, 'a', n);
        target[n] = 0;
        for (int i = 200; i < n; i += 200)
            target[i] = '/';
        errno = 0;
        int r = symlink(target, link);
        printf("target of %d: %d %s\n", n, r, r < 0 ? strerrorname_np(errno) : "");
        unlink(link);
        r = open(target, O_RDONLY);
        printf("open of %d: %d %s\n", n, r, r < 0 ? strerrorname_np(errno) : "");
    }
    remove_dir();
    return 0;
}

/* One operation of caps_write on "f", in a child: its result (negative: failed). */
static long caps_op(const char *op)
{
    if (!strncmp(op, "user-", 5)) {
        if (setgid(65534) || setuid(65534))
            return -1;
        op += 5;
    }
    if (!strcmp(op, "truncate"))
        return truncate("f", 1);
    if (!strcmp(op, "otrunc"))
        return open("f", O_WRONLY | O_TRUNC);
    if (!strcmp(op, "chown"))
        return chown("f", -1, -1);
    if (!strcmp(op, "none"))
        return 0;
    int fd = open("f", O_RDWR);
    if (!strcmp(op, "ftruncate"))
        return ftruncate(fd, 2);
    if (!strcmp(op, "fallocate"))
        return fallocate(fd, 0, 0, 8192);
    if (!strcmp(op, "pwrite"))
        return pwrite(fd, "x", 1, 100);
    if (!strcmp(op, "mmap"))   /* a store through a shared mapping keeps them */
        return store_through_mapping(fd);
    return write(fd, "x", strcmp(op, "write0") ? 1 : 0);
}

/* A write (not of 0 bytes), a truncation, an allocation or a chown of a file drops its
   capabilities (security.capability), root's or not (file_remove_privs: cap_inode_killpriv);
   a store through a mapping does not. With "ovl" as argv[2], in an overlay of tmpfs layers
   whose lower files hold them, mounted in a mount namespace of its own. */
static int caps_write(void)
{
    static const char *ops[] = {"write", "write0", "pwrite", "ftruncate", "truncate", "otrunc", "fallocate",
                                "mmap", "chown", "user-write", "user-truncate", "none"};
    struct vfs_cap_data cap = {.magic_etc = VFS_CAP_REVISION_2 | VFS_CAP_FLAGS_EFFECTIVE};
    cap.data[0].permitted = 1 << CAP_NET_RAW;
    int ovl = !strcmp(base, "ovl");
    if (ovl)
        base = "/tmp";
    make_dir();
    if (chmod(dir, 0755) || chdir(dir))
        return 1;
    if (ovl && (unshare(CLONE_NEWNS) || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) ||
                mount("tmpfs", ".", "tmpfs", 0, "mode=0755") || chdir(dir) ||
                mkdir("l", 0755) || mkdir("u", 0755) || mkdir("w", 0755) || mkdir("m", 0755))) {
        perror("overlay setup");
        return 1;
    }
    for (size_t op = 0; op < sizeof ops / sizeof ops[0]; op++) {
        int fd = open(ovl ? "l/f" : "f", O_CREAT | O_WRONLY | O_TRUNC, 0666);
        ftruncate(fd, 4096);
        fchmod(fd, 0666);
        close(fd);
        int set = setxattr(ovl ? "l/f" : "f", "security.capability", &cap, XATTR_CAPS_SZ_2, 0);
        if (ovl && (mount("overlay", "m", "overlay", 0, "lowerdir=l,upperdir=u,workdir=w") || chdir("m")))
            return 1;
        pid_t child = fork();
        if (child == 0)
            _exit(caps_op(ops[op]) < 0 ? 4 : 0);
        int status;
        waitpid(child, &status, 0);
        char value[64];
        errno = 0;
        ssize_t n = getxattr("f", "security.capability", value, sizeof value);
        printf("%-14s set %d status %d -> %zd %s\n", ops[op], set, status, n, n < 0 ? strerrorname_np(errno) : "");
        unlink("f");
        if (ovl && (chdir("..") || umount("m") || system("rm -rf u/* w/*") || unlink("l/f")))
            return 1;
    }
    /* Setting them takes a struct vfs_cap_data of its revision's size (EINVAL), and
       CAP_SETFCAP, as removing them does; other security.* names need CAP_SYS_ADMIN. */
    close(open("f", O_CREAT | O_WRONLY, 0666));
    CHECK(setxattr("f", "security.capability", "xyz", 3, 0));
    CHECK(setxattr("f", "security.capability", "abcdefghijklmnopqrst", 20, 0));
    CHECK(setxattr("f", "security.capability", &cap, XATTR_CAPS_SZ_3, 0));
    CHECK(setxattr("f", "security.other", "x", 1, 0));
    pid_t child = fork();
    if (child == 0) {
        if (setgid(65534) || setuid(65534))
            _exit(3);
        CHECK(setxattr("f", "security.capability", &cap, XATTR_CAPS_SZ_2, 0));
        CHECK(setxattr("f", "security.capability", "xyz", 3, 0));
        CHECK(setxattr("f", "security.other", "y", 1, 0));
        CHECK(removexattr("f", "security.capability"));
        CHECK(removexattr("f", "security.other"));
        CHECK(removexattr("f", "security.none"));
        _exit(0);
    }
    int status;
    waitpid(child, &status, 0);
    unlink("f");
    chdir("/");
    if (ovl && umount(dir))
        return 1;
    remove_dir();
    return 0;
}

/* caps_lower DIR: the files f-OP of DIR hold file capabilities (the test sets them on the host);
   in an overlay whose lower layer is DIR and whose upper is a tmpfs, OP drops them from the
   copied-up file, as on the file itself (a chown, a truncation by path, a write, nothing). */
static int caps_lower(void)
{
    static const char *ops[] = {"chown", "truncate", "write", "none"};
    char upper[] = "/tmp/gvt_caps_lower.XXXXXX", path[128];
    if (!mkdtemp(upper) || unshare(CLONE_NEWNS) || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) ||
        mount("tmpfs", upper, "tmpfs", 0, "mode=0755") || chdir(upper) || mkdir("u", 0755) || mkdir("w", 0755) ||
        mkdir("m", 0755)) {
        perror("caps_lower setup");
        return 1;
    }
    char options[256];
    snprintf(options, sizeof options, "lowerdir=%s,upperdir=u,workdir=w", base);
    if (mount("overlay", "m", "overlay", 0, options)) {
        perror("overlay");
        return 1;
    }
    for (size_t op = 0; op < sizeof ops / sizeof ops[0]; op++) {
        snprintf(path, sizeof path, "m/f-%s", ops[op]);
        char value[64];
        ssize_t before = getxattr(path, "security.capability", value, sizeof value);
        long r = 0;
        if (!strcmp(ops[op], "chown"))
            r = chown(path, -1, -1);
        else if (!strcmp(ops[op], "truncate"))
            r = truncate(path, 1);
        else if (!strcmp(ops[op], "write")) {
            int fd = open(path, O_WRONLY);
            r = write(fd, "x", 1);
            close(fd);
        }
        errno = 0;
        ssize_t after = getxattr(path, "security.capability", value, sizeof value);
        printf("%-9s before %zd, op %ld, after %zd %s\n", ops[op], before, r, after, after < 0 ? strerrorname_np(errno) : "");
    }
    chdir("/");
    umount2(upper, MNT_DETACH);
    rmdir(upper);
    return 0;
}

static const struct { const char *name; int (*fn)(void); } cases[] = {
    {"caps_lower", caps_lower},
    {"caps_write", caps_write},
    {"setid_write", setid_write},
    {"chown_noop", chown_noop},
    {"rename_dir_parent", rename_dir_parent},
    {"long_target", long_target},
    {"protected_hardlinks", protected_hardlinks},
    {"inotify_more", inotify_more},
    {"rename_dots", rename_dots},
    {"utimes", utimes_case},
    {"pread_espipe", pread_espipe},
    {"fdinfo", fdinfo_case},
    {"lseek", lseek_case},
    {"sendfile", sendfile_case},
    {"fcntl", fcntl_case},
    {"getdents", getdents_case},
    {"trunc_times", trunc_times},
};

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    if (argc < 2)
        return 2;
    if (argc > 2)
        base = argv[2];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        if (!strcmp(argv[1], cases[i].name))
            return cases[i].fn();
    return 2;
}
