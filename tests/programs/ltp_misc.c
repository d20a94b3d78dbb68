/* Regressions found by running LTP's syscall tests (splice, fsync, memfd, execve, clocks,
   sysinfo, prctl, procfs) natively and in the sandbox. One case per argv[1]; each prints only
   facts Linux makes deterministic, so native and sandbox output must be identical. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <fcntl.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>
#include <linux/io_uring.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/mman.h>
#include <sched.h>
#include <sys/prctl.h>
#include <linux/capability.h>
#include <linux/securebits.h>
#include <sys/sendfile.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysinfo.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <mqueue.h>
#include <sys/shm.h>
#include <sys/sem.h>
#include <sys/msg.h>
#include <sys/select.h>
#include <sys/personality.h>
#include <poll.h>
#include <linux/close_range.h>
#include <linux/keyctl.h>
#include <linux/nsfs.h>
#include <sys/ioctl.h>
#include <linux/aio_abi.h>

#define CHECK(expr) do { errno = 0; long _r = (long)(expr); \
    printf("%-64s = %ld %s\n", #expr, _r, _r < 0 ? strerrorname_np(errno) : ""); } while (0)

static void on_alarm(int sig) { (void)sig; }

/* A splice that would wait is cut short by an alarm (EINTR), so a wrong wait shows as EINTR. */
static void guard(void)
{
    struct sigaction sa = {.sa_handler = on_alarm};   /* no SA_RESTART */
    sigaction(SIGALRM, &sa, NULL);
}

static int kind_fd(const char *kind)
{
    if (!strcmp(kind, "eventfd")) return eventfd(0, 0);
    if (!strcmp(kind, "epoll")) return epoll_create1(0);
    if (!strcmp(kind, "timerfd")) return timerfd_create(CLOCK_MONOTONIC, 0);
    if (!strcmp(kind, "inotify")) return inotify_init1(0);
    if (!strcmp(kind, "pidfd")) return syscall(SYS_pidfd_open, getpid(), 0);
    if (!strcmp(kind, "null")) return open("/dev/null", O_RDWR);
    if (!strcmp(kind, "zero")) return open("/dev/zero", O_RDWR);
    if (!strcmp(kind, "signalfd")) {
        sigset_t s;
        sigemptyset(&s);
        sigaddset(&s, SIGUSR1);
        return signalfd(-1, &s, 0);
    }
    if (!strcmp(kind, "io_uring")) {
        struct io_uring_params p;
        memset(&p, 0, sizeof p);
        return syscall(SYS_io_uring_setup, 4, &p);
    }
    return -1;
}

static int no_splice(void)
{
    static const char *kinds[] = {"eventfd", "epoll", "timerfd", "inotify", "pidfd", "signalfd", "io_uring",
                                  "null", "zero"};
    guard();
    int file = memfd_create("data", 0);
    write(file, "hello", 5);
    for (unsigned i = 0; i < sizeof kinds / sizeof *kinds; i++) {
        int p[2], q[2];
        int fd = kind_fd(kinds[i]);
        pipe(p);
        pipe(q);
        printf("%s:\n", kinds[i]);
        alarm(1);
        CHECK(splice(p[0], NULL, fd, NULL, 16, 0));
        alarm(1);
        CHECK(splice(fd, NULL, q[1], NULL, 16, SPLICE_F_NONBLOCK));
        write(p[1], "x", 1);
        CHECK(splice(p[0], NULL, fd, NULL, 16, SPLICE_F_NONBLOCK));
        CHECK(tee(p[0], fd, 16, SPLICE_F_NONBLOCK));
        off_t off = 0;
        alarm(1);
        CHECK(sendfile(fd, file, &off, 5));
        alarm(1);
        CHECK(sendfile(q[1], fd, NULL, 5));
        alarm(0);
        off = 0;
        /* A pidfd is a regular file of pidfs since Linux 6.9 (EXDEV there, EINVAL before). */
        if (strcmp(kinds[i], "pidfd")) {
            CHECK(copy_file_range(file, &off, fd, NULL, 5, 0));
            CHECK(copy_file_range(fd, NULL, file, &off, 5, 0));
        }
        close(fd);
        close(p[0]); close(p[1]); close(q[0]); close(q[1]);
    }
    return 0;
}

/* fsync and fdatasync need the file's ->fsync: pipes, sockets, devices, anon_inode files and
   procfs and sysfs files and directories have none (EINVAL); regular files, directories and
   memfds do. */
static int fsync_kinds(void)
{
    static const char *kinds[] = {"eventfd", "epoll", "timerfd", "inotify", "pidfd", "signalfd", "io_uring",
                                  "null", "zero", "pipe", "fifo", "socket", "pty", "proc", "memfd", "dir",
                                  "tmpfile", "o_path", "proc_dir", "sys_dir"};
    for (unsigned i = 0; i < sizeof kinds / sizeof *kinds; i++) {
        const char *k = kinds[i];
        int p[2], fd = kind_fd(k);
        if (!strcmp(k, "pipe")) { pipe(p); fd = p[1]; }
        if (!strcmp(k, "fifo")) {
            unlink("/tmp/ltp_misc_fifo");
            mkfifo("/tmp/ltp_misc_fifo", 0600);
            fd = open("/tmp/ltp_misc_fifo", O_RDWR);
        }
        if (!strcmp(k, "socket")) { socketpair(AF_UNIX, SOCK_STREAM, 0, p); fd = p[0]; }
        if (!strcmp(k, "pty")) fd = posix_openpt(O_RDWR | O_NOCTTY);
        if (!strcmp(k, "proc")) fd = open("/proc/self/status", O_RDONLY);
        if (!strcmp(k, "memfd")) fd = memfd_create("m", 0);
        if (!strcmp(k, "dir")) fd = open("/tmp", O_RDONLY | O_DIRECTORY);
        if (!strcmp(k, "tmpfile")) fd = open("/tmp", O_RDWR | O_TMPFILE, 0600);
        if (!strcmp(k, "o_path")) fd = open("/tmp", O_PATH);
        if (!strcmp(k, "proc_dir")) fd = open("/proc/self", O_RDONLY | O_DIRECTORY);
        if (!strcmp(k, "sys_dir")) fd = open("/sys/kernel", O_RDONLY | O_DIRECTORY);
        printf("%s (fd %s):\n", k, fd < 0 ? "bad" : "ok");
        CHECK(fsync(fd));
        CHECK(fdatasync(fd));
        if (strcmp(k, "pidfd"))   /* a regular file of pidfs since Linux 6.9 */
            CHECK(sync_file_range(fd, 0, 0, 0));
    }
    unlink("/tmp/ltp_misc_fifo");
    return 0;
}

/* Each seal against every way of changing a memfd's data or size (shmem_fallocate: a write
   seal forbids punching holes, a grow seal any allocation past the end, even with KEEP_SIZE). */
static int memfd_seals(void)
{
    static const struct { const char *name; int seal; } seals[] = {
        {"WRITE", F_SEAL_WRITE}, {"FUTURE_WRITE", F_SEAL_FUTURE_WRITE}, {"GROW", F_SEAL_GROW},
        {"SHRINK", F_SEAL_SHRINK}};
    for (unsigned i = 0; i < sizeof seals / sizeof *seals; i++) {
        int fd = memfd_create("sealed", MFD_ALLOW_SEALING);
        CHECK(ftruncate(fd, 8192));
        printf("F_SEAL_%s:\n", seals[i].name);
        CHECK(fcntl(fd, F_ADD_SEALS, seals[i].seal));
        CHECK(fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, 4096));
        CHECK(fallocate(fd, 0, 0, 4096));
        CHECK(fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, 4096));
        CHECK(fallocate(fd, FALLOC_FL_KEEP_SIZE, 4096, 8192));
        CHECK(fallocate(fd, 0, 4096, 8192));
        CHECK(pwrite(fd, "x", 1, 0));
        CHECK(pwrite(fd, "x", 1, 20000));
        CHECK(ftruncate(fd, 4096));
        CHECK(ftruncate(fd, 32768));
        struct stat st;
        fstat(fd, &st);
        printf("size %ld\n", (long)st.st_size);
        close(fd);
    }
    return 0;
}

/* execve with no arguments (NULL, or an empty array): since Linux 5.18 the program gets argc 1,
   argv[0] "" (main below reports what it got); a NULL envp is an empty environment. */
static int execve_null_argv(void)
{
    char *empty[] = {NULL}, *env[] = {"ONE=1", NULL};
    for (int i = 0; i < 2; i++) {
        pid_t pid = fork();
        if (pid == 0) {
            if (i == 0)
                syscall(SYS_execve, "/proc/self/exe", NULL, NULL);
            else
                syscall(SYS_execve, "/proc/self/exe", empty, env);
            _exit(99);
        }
        int status;
        waitpid(pid, &status, 0);
        printf("exit %d\n", WEXITSTATUS(status));
    }
    return 0;
}

static long long ts_ns(struct timespec ts) { return ts.tv_sec * 1000000000LL + ts.tv_nsec; }

/* The coarse clocks read by the syscall and by the vDSO (libc's clock_gettime) are one clock:
   alternating readings never go backwards. Their resolution is the host's tick; they can only be
   read (no timer, no sleep), like CLOCK_MONOTONIC_RAW. */
static int coarse_clocks(void)
{
    static const clockid_t clocks[] = {CLOCK_REALTIME_COARSE, CLOCK_MONOTONIC_COARSE, CLOCK_MONOTONIC_RAW};
    for (unsigned c = 0; c < 3; c++) {
        clockid_t id = clocks[c];
        int backwards = 0;
        struct timespec a, b, res;
        for (int i = 0; i < 2000; i++) {
            syscall(SYS_clock_gettime, id, &a);
            clock_gettime(id, &b);
            backwards += ts_ns(b) < ts_ns(a);
            clock_gettime(id, &a);
            syscall(SYS_clock_gettime, id, &b);
            backwards += ts_ns(b) < ts_ns(a);
        }
        printf("clock %d: %d readings went backwards\n", id, backwards);
        CHECK(syscall(SYS_clock_getres, id, &res));
        long long libc_res = (clock_getres(id, &b), ts_ns(b));
        printf("resolution %lld ns (libc %lld ns)\n", ts_ns(res), libc_res);
        timer_t timer;
        struct sigevent ev = {.sigev_notify = SIGEV_NONE};
        CHECK(syscall(SYS_timer_create, id, &ev, &timer));
        CHECK(syscall(SYS_clock_nanosleep, id, 0, &(struct timespec){0, 1}, NULL));
    }
    return 0;
}

/* sysinfo's uptime is the boot time in the caller's time namespace (rounded up to a second),
   like /proc/uptime's. */
static int sysinfo_timens(void)
{
    CHECK(unshare(CLONE_NEWTIME));
    int fd = open("/proc/self/timens_offsets", O_WRONLY);
    CHECK(write(fd, "boottime 100000 0", 17));
    close(fd);
    pid_t pid = fork();
    if (pid == 0) {
        struct sysinfo si;
        double up = 0;
        FILE *f = fopen("/proc/uptime", "r");
        fscanf(f, "%lf", &up);
        fclose(f);
        CHECK(sysinfo(&si));
        printf("uptime >= 100000: %d\n", si.uptime >= 100000);
        printf("uptime - /proc/uptime in [0, 2]: %d\n", si.uptime - (long)up >= 0 && si.uptime - (long)up <= 2);
        _exit(0);
    }
    int status;
    waitpid(pid, &status, 0);
    printf("child exit %d\n", WEXITSTATUS(status));
    return 0;
}

static double proc_uptime(void)
{
    double up = 0;
    FILE *f = fopen("/proc/uptime", "r");
    fscanf(f, "%lf", &up);
    fclose(f);
    return up;
}

static const char *write_offsets(const char *fmt, long sec)
{
    char buf[64];
    int n = snprintf(buf, sizeof buf, fmt, sec), fd = open("/proc/self/timens_offsets", O_WRONLY);
    long r = write(fd, buf, n);
    int e = errno;
    close(fd);
    return r < 0 ? strerrorname_np(e) : "ok";
}

/* /proc/PID/timens_offsets refuses (ERANGE) an offset that would make the clock, read now,
   negative or past KTIME_SEC_MAX / 2, by name or number, before EACCES; so uptime never goes
   below 0 (LTP sysinfo03's -10 s in a sandbox younger than that showed a negative uptime). */
static int timens_range(void)
{
    CHECK(unshare(CLONE_NEWTIME));
    long up = (long)proc_uptime();
    struct timespec mono;
    clock_gettime(CLOCK_MONOTONIC, &mono);
    printf("boottime -(uptime + 1000): %s\n", write_offsets("boottime -%ld 0", up + 1000));
    printf("7 -(uptime + 1000): %s\n", write_offsets("7 -%ld 0", up + 1000));
    printf("monotonic -(now + 1000): %s\n", write_offsets("monotonic -%ld 0", mono.tv_sec + 1000));
    printf("boottime +KTIME_SEC_MAX/2: %s\n", write_offsets("boottime %ld 0", 4611686018L));
    printf("boottime -(KTIME_SEC_MAX+1): %s\n", write_offsets("boottime -%ld 0", 9223372037L));
    printf("bad clock: %s, bad nsec: %s\n", write_offsets("x %ld 0", 1), write_offsets("boottime %ld 1000000000", 1));
    printf("boottime -(uptime / 2): %s\n", write_offsets("boottime -%ld 0", up / 2));
    pid_t pid = fork();
    if (pid == 0) {
        struct sysinfo si;
        double now = proc_uptime();
        sysinfo(&si);
        printf("child: /proc/uptime and sysinfo about half of it: %d %d\n", now >= up - up / 2 - 1 && now < up - up / 2 + 60,
               si.uptime >= up - up / 2 - 1 && si.uptime < up - up / 2 + 61);
        _exit(0);
    }
    waitpid(pid, NULL, 0);
    printf("entered, then boottime -(uptime + 1000): %s\n", write_offsets("boottime -%ld 0", up + 1000));
    return 0;
}

/* prctl: THP disabling (unused arguments must be 0), the timer slack (per thread, inherited; 0
   is the default, which a child takes from its parent's slack), the TSC mode, the capability
   bounding set and the securebits (both need CAP_SETPCAP). */
static int prctl_misc(void)
{
    int mode = -1;
    CHECK(prctl(PR_SET_THP_DISABLE, 1, 1, 0, 0));
    CHECK(prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0));
    CHECK(prctl(PR_GET_THP_DISABLE, 1, 0, 0, 0));
    CHECK(prctl(PR_GET_THP_DISABLE, 0, 0, 0, 0));
    CHECK(prctl(PR_SET_THP_DISABLE, 0, 0, 0, 0));
    CHECK(prctl(PR_GET_THP_DISABLE, 0, 0, 0, 0));
    CHECK(prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0));
    CHECK(prctl(PR_SET_TIMERSLACK, 200000, 0, 0, 0));
    CHECK(prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0));
    pid_t pid = fork();
    if (pid == 0) {
        CHECK(prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0));
        CHECK(prctl(PR_SET_TIMERSLACK, 1, 0, 0, 0));
        CHECK(prctl(PR_SET_TIMERSLACK, 0, 0, 0, 0));
        CHECK(prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0));
        _exit(0);
    }
    waitpid(pid, NULL, 0);
    CHECK(prctl(PR_SET_TIMERSLACK, 0, 0, 0, 0));
    CHECK(prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0));
    CHECK(prctl(PR_GET_TSC, &mode, 0, 0, 0));
    printf("tsc mode %d\n", mode);
    CHECK(prctl(PR_SET_TSC, 3, 0, 0, 0));
    CHECK(prctl(PR_SET_TSC, PR_TSC_SIGSEGV, 0, 0, 0));
    CHECK(prctl(PR_GET_TSC, &mode, 0, 0, 0));
    printf("tsc mode %d\n", mode);
    CHECK(prctl(PR_SET_TSC, PR_TSC_ENABLE, 0, 0, 0));
    CHECK(prctl(PR_GET_TSC, &mode, 0, 0, 0));
    printf("tsc mode %d\n", mode);
    CHECK(prctl(PR_GET_TSC, NULL, 0, 0, 0));
    CHECK(prctl(PR_CAPBSET_READ, CAP_SYS_NICE, 0, 0, 0));
    CHECK(prctl(PR_CAPBSET_DROP, 1000, 0, 0, 0));
    CHECK(prctl(PR_CAPBSET_DROP, CAP_SYS_NICE, 0, 0, 0));
    CHECK(prctl(PR_CAPBSET_READ, CAP_SYS_NICE, 0, 0, 0));
    CHECK(prctl(PR_GET_SECUREBITS, 0, 0, 0, 0));
    CHECK(prctl(PR_SET_SECUREBITS, 1 << 12, 0, 0, 0));
    CHECK(prctl(PR_SET_SECUREBITS, SECBIT_KEEP_CAPS, 0, 0, 0));
    CHECK(prctl(PR_GET_KEEPCAPS, 0, 0, 0, 0));
    CHECK(prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0));
    CHECK(prctl(PR_GET_SECUREBITS, 0, 0, 0, 0));
    CHECK(prctl(PR_SET_SECUREBITS, SECBIT_KEEP_CAPS | SECBIT_KEEP_CAPS_LOCKED | SECBIT_NO_CAP_AMBIENT_RAISE, 0, 0, 0));
    CHECK(prctl(PR_GET_SECUREBITS, 0, 0, 0, 0));
    CHECK(prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0));
    CHECK(prctl(PR_SET_SECUREBITS, SECBIT_KEEP_CAPS_LOCKED | SECBIT_NO_CAP_AMBIENT_RAISE, 0, 0, 0));
    CHECK(prctl(PR_SET_SECUREBITS, SECBIT_KEEP_CAPS | SECBIT_NO_CAP_AMBIENT_RAISE, 0, 0, 0));
    CHECK(prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_CHOWN, 0, 0));
    pid = fork();
    if (pid == 0) {   /* without CAP_SETPCAP: EPERM */
        struct { uint32_t version; int pid; } h = {0x20080522, 0};
        struct { uint32_t effective, permitted, inheritable; } d[2] = {{0}};
        CHECK(syscall(SYS_capset, &h, d));
        CHECK(prctl(PR_CAPBSET_DROP, CAP_CHOWN, 0, 0, 0));
        CHECK(prctl(PR_SET_SECUREBITS, SECBIT_KEEP_CAPS | SECBIT_KEEP_CAPS_LOCKED | SECBIT_NO_CAP_AMBIENT_RAISE, 0, 0, 0));
        _exit(0);
    }
    waitpid(pid, NULL, 0);
    return 0;
}

static void show_sysctl(const char *path)
{
    char buf[64] = "";
    struct stat st;
    int fd = open(path, O_RDONLY);
    buf[read(fd, buf, sizeof buf - 1) > 0 ? strcspn(buf, "\n") : 0] = 0;
    close(fd);
    stat(path, &st);
    printf("%s: mode %o value %s\n", path, st.st_mode & 07777, buf);
}

static void write_sysctl(const char *path, const char *value)
{
    errno = 0;
    int fd = open(path, O_WRONLY);
    int w = fd < 0 ? -1 : write(fd, value, strlen(value));
    int e = errno;
    int c = fd < 0 ? -1 : close(fd);
    printf("write %s to %s: open %s write %d %s close %d\n", value, path, fd < 0 ? strerrorname_np(e) : "ok", w,
           w < 0 && fd >= 0 ? strerrorname_np(e) : "", c);
}

/* /proc/sys files a root process may write (pid_max: from 301 up to 4194304) and ones it may
   not (shown 0444, open for writing EACCES). The host's pid_max is never changed: its own value
   is written back, bad ones refused (test_ltp_misc.py checks a new limit in the sandbox). */
static int sysctl_writes(void)
{
    char old[64] = "";
    int fd = open("/proc/sys/kernel/pid_max", O_RDONLY);
    read(fd, old, sizeof old - 1);
    close(fd);
    show_sysctl("/proc/sys/kernel/cap_last_cap");
    write_sysctl("/proc/sys/kernel/cap_last_cap", "40");
    write_sysctl("/proc/sys/kernel/pid_max", "300");
    write_sysctl("/proc/sys/kernel/pid_max", "4194305");
    write_sysctl("/proc/sys/kernel/pid_max", "junk");
    fd = open("/proc/sys/kernel/pid_max", O_WRONLY);
    printf("rewrite pid_max: %d\n", write(fd, old, strlen(old)) == (long)strlen(old));
    close(fd);
    return 0;
}

/* SEEK_DATA/SEEK_HOLE on a tmpfs file (a memfd: tmpfs natively too) are page-granular: data is
   a page written, or touched through a mapping; a page only fallocated, punched, or read with
   read(2) (which must not fill it) is a hole (LTP lseek11 took the Sentry's 64 KiB chunks for
   blocks). */
static int tmpfs_seek_holes(void)
{
    char buf[8192], *m;
    int fd = memfd_create("holes", 0);
    ftruncate(fd, 1 << 20);
#define SEEKS(what, from) printf("%-28s data %ld hole %ld\n", what, (long)lseek(fd, from, SEEK_DATA), \
                                 (long)lseek(fd, from, SEEK_HOLE))
    SEEKS("empty", 0);
    pwrite(fd, "x", 1, 8192 + 5);
    SEEKS("one byte in page 2", 0);
    SEEKS("from inside it", 8192 + 100);
    fallocate(fd, FALLOC_FL_KEEP_SIZE, 16384, 8192);
    SEEKS("fallocated pages 4-5", 12288);
    pread(fd, buf, 4096, 16384);
    SEEKS("read fallocated page 4", 12288);
    pread(fd, buf, sizeof buf, 40960);
    SEEKS("read pages 10-11", 20480);
    m = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    printf("mapped byte %d\n", m[90000]);
    SEEKS("mapping read page 21", 20480);
    m[200000] = 1;
    SEEKS("mapping wrote page 48", 90112);
    memset(buf, 0, sizeof buf);
    pwrite(fd, buf, 4096, 69632);
    SEEKS("zeros written to page 17", 12288);
    fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 65536, 8192);
    SEEKS("page 17 punched", 12288);
    for (long off = 0; off < 3 * 65536; off += 4096)
        pwrite(fd, "y", 1, 300000 + off);
    SEEKS("48 pages written", 299000);
    SEEKS("inside them", 300000 + 65536);
    ftruncate(fd, 400000);
    SEEKS("truncated", 300000 + 65536);
    printf("past the end: %ld %s\n", (long)lseek(fd, 400000, SEEK_DATA), strerrorname_np(errno));
    munmap(m, 1 << 20);
    close(fd);
    return 0;
}

static volatile int usr1_count;
static void on_usr1(int sig) { (void)sig; usr1_count++; }

/* The init of a new PID namespace drops a signal it does not handle, but not while it blocks
   it (sig_ignored: its handler may change before the unblock): then it is queued, handled if a
   handler came, dropped at delivery if not. A fault's forced signal still kills it (LTP pidns20
   saw its SIGUSR1, sent while blocked, lost). */
static int pidns_init_signals(void)
{
    int go[2], ready[2], status;
    char c;
    pipe(go), pipe(ready);
    pid_t pid = syscall(SYS_clone, CLONE_NEWPID | SIGCHLD, NULL, NULL, NULL, 0);
    if (pid == 0) {
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, SIGUSR1), sigaddset(&set, SIGUSR2);
        sigprocmask(SIG_BLOCK, &set, NULL);
        write(ready[1], "r", 1);
        read(go[0], &c, 1);
        signal(SIGUSR1, on_usr1);
        sigprocmask(SIG_UNBLOCK, &set, NULL);   /* SIGUSR2 is still SIG_DFL: dropped now */
        printf("init %ld: SIGUSR1 handled %d times, alive after SIGUSR2 and SIGTERM\n", syscall(SYS_getpid), usr1_count);
        pid_t inner = fork();
        if (inner == 0) {
            printf("kill(1, SIGUSR2) from inside: %d\n", kill(1, SIGUSR2));
            _exit(0);
        }
        waitpid(inner, NULL, 0);
        printf("init alive after it\n");
        *(volatile int *)16 = 0;   /* a fault's SIGSEGV, SIG_DFL: kills even the init */
        _exit(0);
    }
    read(ready[0], &c, 1);
    CHECK(kill(pid, SIGUSR1));
    CHECK(kill(pid, SIGUSR2));
    CHECK(kill(pid, SIGTERM));   /* unblocked, unhandled: dropped as it is sent */
    write(go[1], "g", 1);
    waitpid(pid, &status, 0);
    printf("init ended: signaled %d by %d\n", WIFSIGNALED(status), WIFSIGNALED(status) ? WTERMSIG(status) : -1);
    return 0;
}

/* PID namespaces nest 32 levels below the initial one (MAX_PID_NS_LEVEL); the 33rd clone is
   ENOSPC (LTP pidns32 found the sandbox stopping at 31). */
static int pidns_nest(int depth)
{
    int status;
    pid_t pid = syscall(SYS_clone, CLONE_NEWPID | SIGCHLD, NULL, NULL, NULL, 0);
    if (pid < 0) {
        printf("levels made: %d, then %s\n", depth, strerrorname_np(errno));
        return 0;
    }
    if (pid == 0)
        _exit(pidns_nest(depth + 1));
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}

static int pidns_depth(void) { return pidns_nest(0); }

static void mq_notified(mqd_t q, const char *who)
{
    sigset_t set;
    siginfo_t si;
    char buf[64];
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    sigwaitinfo(&set, &si);
    printf("%s: signo %d code %d si_pid %d\n", who, si.si_signo, si.si_code, si.si_pid);
    mq_receive(q, buf, sizeof buf, NULL);
}

/* An mqueue's notification signal names the sender as the registered process's PID namespace
   does: 0 from an ancestor namespace, its own number from within (LTP pidns30 saw the global pid). */
static int mq_notify_pidns(void)
{
    int go[2], ready[2], status;
    char c;
    struct mq_attr attr = {.mq_maxmsg = 2, .mq_msgsize = 64};
    mq_unlink("/ltp_misc_mq");
    mqd_t q = mq_open("/ltp_misc_mq", O_RDWR | O_CREAT | O_EXCL, 0600, &attr);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    sigprocmask(SIG_BLOCK, &set, NULL);
    pipe(go), pipe(ready);
    pid_t pid = syscall(SYS_clone, CLONE_NEWPID | SIGCHLD, NULL, NULL, NULL, 0);
    if (pid == 0) {
        struct sigevent ev = {.sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGUSR1};
        mq_notify(q, &ev);
        write(ready[1], "r", 1);
        mq_notified(q, "from the parent namespace");
        mq_notify(q, &ev);
        if (fork() == 0) {
            mq_send(q, "y", 1, 0);
            _exit(0);
        }
        mq_notified(q, "from within");
        wait(NULL);
        _exit(0);
    }
    read(ready[0], &c, 1);
    int sent = mq_send(q, "x", 1, 0);
    waitpid(pid, &status, 0);   /* (the child prints first) */
    printf("parent's mq_send %d\n", sent);
    mq_close(q);
    mq_unlink("/ltp_misc_mq");
    return 0;
}

static void put_file(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY);
    if (write(fd, text, strlen(text)) < 0)
        printf("write %s: %s\n", path, strerrorname_np(errno));
    close(fd);
}

/* User namespaces nest 33 levels below the initial one (create_user_ns refuses a parent past
   level 32); LTP userns07 found the sandbox stopping at 31. Each level maps root to root. */
static int userns_depth(void)
{
    pid_t pid = fork();
    if (pid == 0) {
        int n = 0;
        while (unshare(CLONE_NEWUSER) == 0) {
            n++;
            put_file("/proc/self/uid_map", "0 0 1");
            put_file("/proc/self/setgroups", "deny");
            put_file("/proc/self/gid_map", "0 0 1");
        }
        printf("levels made: %d, then %s\n", n, strerrorname_np(errno));
        _exit(0);
    }
    waitpid(pid, NULL, 0);
    return 0;
}

static void show_timerslack(const char *path)
{
    char buf[64] = "";
    int fd = open(path, O_RDONLY);
    if (read(fd, buf, sizeof buf - 1) < 0)
        printf("read %s: %s\n", path, strerrorname_np(errno));
    close(fd);
    printf("%s: %s", strncmp(path, "/proc/self/", 11) ? "the parent's" : path, buf);
}

/* /proc/PID/timerslack_ns (0666) shows and sets the task's timer slack as PR_GET/SET_TIMERSLACK
   do; 0 restores the slack it started with; a non-number is EINVAL (LTP prctl08 TCONFed on its
   absence). */
static int timerslack_proc(void)
{
    struct stat st;
    char path[64];
    stat("/proc/self/timerslack_ns", &st);
    printf("mode %o\n", st.st_mode & 07777);
    CHECK(prctl(PR_SET_TIMERSLACK, 70000, 0, 0, 0));
    show_timerslack("/proc/self/timerslack_ns");
    put_file("/proc/self/timerslack_ns", "123456\n");
    CHECK(prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0));
    put_file("/proc/self/timerslack_ns", "0");
    CHECK(prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0));
    put_file("/proc/self/timerslack_ns", "-5");
    put_file("/proc/self/timerslack_ns", "junk");
    pid_t parent = getpid();
    if (fork() == 0) {   /* root: CAP_SYS_NICE over the parent */
        snprintf(path, sizeof path, "/proc/%d/timerslack_ns", parent);
        put_file(path, "80000");
        show_timerslack(path);
        _exit(0);
    }
    wait(NULL);
    CHECK(prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0));
    return 0;
}

/* close_range(CLOSE_RANGE_UNSHARE) in a process sharing its fd table (CLONE_FILES) first takes a
   private copy: what it closes, or marks close-on-exec, stays open in the other (LTP close_range02
   found the shared table's descriptor closed). */
static int close_range_unshare(void)
{
    int a = open("/", O_PATH), b = open("/", O_PATH), status;
    pid_t pid = syscall(SYS_clone, CLONE_FILES | SIGCHLD, NULL, NULL, NULL, 0);
    if (pid == 0) {
        if (syscall(SYS_close_range, a, a, CLOSE_RANGE_UNSHARE) < 0)
            _exit(1);
        if (syscall(SYS_close_range, b, b, CLOSE_RANGE_UNSHARE | CLOSE_RANGE_CLOEXEC) < 0)
            _exit(2);
        _exit((fcntl(a, F_GETFD) == -1 && errno == EBADF ? 0 : 4) | (fcntl(b, F_GETFD) == FD_CLOEXEC ? 0 : 8));
    }
    waitpid(pid, &status, 0);
    printf("child: %d\n", WEXITSTATUS(status));
    CHECK(fcntl(a, F_GETFD));
    CHECK(fcntl(b, F_GETFD));
    close(a), close(b);
    return 0;
}

static void key_user_line(const char *what)
{
    char line[256];
    unsigned qnkeys = 0, qnbytes = 0;
    FILE *f = fopen("/proc/key-users", "r");
    while (f && fgets(line, sizeof line, f))
        if (strstr(line, " 4242:"))
            sscanf(strchr(line, ':') + 1, "%*d %*d/%*d %u/%*u %u/%*u", &qnkeys, &qnbytes);
    if (f)
        fclose(f);
    printf("%-28s %s: qnkeys %u qnbytes %u\n", what, f ? "key-users" : "no /proc/key-users", qnkeys, qnbytes);
}

/* /proc/key-users shows each key owner's quota use (LTP add_key05 reads it); a key charges its
   description and payload, and each link a keyring holds 4 bytes more (KEYQUOTA_LINK_BYTES),
   given back as links go. A uid with no keys on the host (the limits are the host's: not shown). */
static int key_users(void)
{
    if (fork() == 0) {
        setresgid(4242, 4242, 4242), setresuid(4242, 4242, 4242);
        long r = syscall(SYS_add_key, "keyring", "r1", NULL, 0, KEY_SPEC_PROCESS_KEYRING);
        key_user_line("keyring r1 in process's");
        long k = syscall(SYS_add_key, "user", "k1", "payload", 7, r);
        key_user_line("k1 in r1");
        syscall(SYS_add_key, "user", "k1", "pay", 3, r);
        key_user_line("k1 updated");
        syscall(SYS_keyctl, KEYCTL_LINK, k, KEY_SPEC_PROCESS_KEYRING);
        key_user_line("k1 linked to process's");
        syscall(SYS_keyctl, KEYCTL_UNLINK, k, r);
        key_user_line("k1 unlinked from r1");
        syscall(SYS_keyctl, KEYCTL_LINK, k, r);
        syscall(SYS_keyctl, KEYCTL_CLEAR, r);
        key_user_line("linked again, r1 cleared");
        syscall(SYS_keyctl, KEYCTL_REVOKE, r);
        key_user_line("r1 revoked");
        _exit(0);
    }
    wait(NULL);
    return 0;
}

/* kcmp(KCMP_IO) of a parent and a child it made with flags: 0 for one I/O context, else "differs". */
static void kcmp_io_with(const char *what, int flags)
{
    int hold[2];
    char c;
    pipe(hold);
    pid_t pid = syscall(SYS_clone, flags | SIGCHLD, NULL, NULL, NULL, 0);
    if (pid == 0) {
        read(hold[0], &c, 1);
        _exit(0);
    }
    long r = syscall(SYS_kcmp, getpid(), pid, 5 /* KCMP_IO */, 0, 0);
    printf("%-44s kcmp(KCMP_IO): %s\n", what, r == 0 ? "0" : r > 0 ? "differs" : strerrorname_np(errno));
    write(hold[1], "g", 1);
    waitpid(pid, NULL, 0);
    close(hold[0]), close(hold[1]);
}

/* A process has no I/O context until ioprio_set makes one: a fork of one without compares equal
   (both none, LTP kcmp03's CLONE_IO case); then a fork gets its own, and CLONE_IO shares it. */
static int kcmp_io(void)
{
    kcmp_io_with("fork, neither has an I/O context", 0);
    kcmp_io_with("CLONE_IO, neither has one", CLONE_IO);
    CHECK(syscall(SYS_ioprio_set, 1 /* IOPRIO_WHO_PROCESS */, 0, 2 << 13 | 4));
    kcmp_io_with("fork after ioprio_set", 0);
    kcmp_io_with("CLONE_IO after ioprio_set", CLONE_IO);
    return 0;
}

/* Sandbox only (it lowers fs.nr_open: test_ltp_misc.py): a copy of the fd table (fork,
   unshare(CLONE_FILES)) is EMFILE while a descriptor lies past nr_open rounded up to 64 (dup_fd;
   LTP unshare03); CLONE_FILES copies nothing and goes on. */
static int nr_open_copy(void)
{
    int status;
    put_file("/proc/sys/fs/nr_open", "64");
    dup2(2, 65);
    pid_t pid = fork();
    if (pid == 0)
        _exit(0);
    printf("fork: %s\n", pid < 0 ? strerrorname_np(errno) : "made");
    if (pid > 0)
        waitpid(pid, NULL, 0);
    pid = syscall(SYS_clone, CLONE_FILES | SIGCHLD, NULL, NULL, NULL, 0);
    if (pid == 0)
        _exit(unshare(CLONE_FILES) == -1 && errno == EMFILE ? 3 : 4);
    waitpid(pid, &status, 0);
    printf("CLONE_FILES child made, its unshare(CLONE_FILES) EMFILE: %d\n", WEXITSTATUS(status) == 3);
    close(65);
    pid = fork();
    if (pid == 0)
        _exit(0);
    printf("fork once it is closed: %s\n", pid < 0 ? strerrorname_np(errno) : "made");
    waitpid(pid, NULL, 0);
    put_file("/proc/sys/fs/nr_open", "1048576");
    return 0;
}

/* timer_settime's checks in Linux's order: a NULL new value is EINVAL, an unreadable one EFAULT,
   a bad value EINVAL, each before the timer id is looked at (LTP timer_settime02 saw EFAULT). */
static int timer_settime_order(void)
{
    timer_t timer;
    struct itimerspec its = {{0, 0}, {1, 0}}, bad = {{0, 0}, {0, -1}};
    timer_create(CLOCK_MONOTONIC, NULL, &timer);
    CHECK(syscall(SYS_timer_settime, timer, 0, NULL, NULL));
    CHECK(syscall(SYS_timer_settime, 12345, 0, NULL, NULL));
    CHECK(syscall(SYS_timer_settime, 12345, 0, (void *)8, NULL));
    CHECK(syscall(SYS_timer_settime, 12345, 0, &bad, NULL));
    CHECK(syscall(SYS_timer_settime, 12345, 0, &its, NULL));
    CHECK(syscall(SYS_timer_settime, timer, 0, &its, (void *)8));
    timer_delete(timer);
    return 0;
}

static long aio_one(aio_context_t ctx, int fd, int opcode, void *buf, size_t n, long long off, int rw_flags)
{
    struct iocb cb = {.aio_fildes = fd, .aio_lio_opcode = opcode, .aio_buf = (uintptr_t)buf, .aio_nbytes = n,
                      .aio_offset = off, .aio_rw_flags = rw_flags};
    struct iocb *list[1] = {&cb};
    struct io_event ev;
    if (syscall(SYS_io_submit, ctx, 1, list) != 1)
        return -1000 - errno;
    if (syscall(SYS_io_getevents, ctx, 1, 1, &ev, NULL) != 1)
        return -2000 - errno;
    return ev.res;
}

/* Linux AIO on a pipe reads and writes it as a stream, whatever the offset (aio has no ESPIPE),
   and RWF_NOWAIT on an empty one completes with -EAGAIN (LTP io_submit04 saw -ESPIPE). */
static int aio_pipe(void)
{
    aio_context_t ctx = 0;
    int p[2];
    char buf[16] = "";
    pipe(p);
    syscall(SYS_io_setup, 4, &ctx);
    printf("read, RWF_NOWAIT, empty pipe: %ld\n", aio_one(ctx, p[0], IOCB_CMD_PREAD, buf, sizeof buf, 0, RWF_NOWAIT));
    printf("write at offset 777: %ld\n", aio_one(ctx, p[1], IOCB_CMD_PWRITE, "abc", 3, 777, 0));
    printf("read at offset 12345: %ld\n", aio_one(ctx, p[0], IOCB_CMD_PREAD, buf, sizeof buf, 12345, 0));
    printf("got '%s'\n", buf);
    printf("read at offset -1: %ld\n", aio_one(ctx, p[0], IOCB_CMD_PREAD, buf, sizeof buf, -1, 0));
    syscall(SYS_io_destroy, ctx);
    close(p[0]), close(p[1]);
    return 0;
}

/* request_key with a callout would make a key in the default keyring: that keyring must be
   writable (a session keyring is joined with Search alone), else EACCES and no key is made
   (CVE-2017-17807; LTP request_key04 found the negative key linked). */
static int request_key_dest_perm(void)
{
    if (fork() == 0) {
        int ring;
        CHECK(syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, NULL) > 0);
        CHECK(syscall(SYS_keyctl, KEYCTL_SETPERM, KEY_SPEC_SESSION_KEYRING, 0x0b000000 /* POS SEARCH|READ|VIEW */));
        CHECK(syscall(SYS_keyctl, KEYCTL_SET_REQKEY_KEYRING, KEY_REQKEY_DEFL_SESSION_KEYRING));
        CHECK(syscall(SYS_request_key, "user", "desc", "callout_info", 0));
        CHECK(syscall(SYS_keyctl, KEYCTL_READ, KEY_SPEC_SESSION_KEYRING, &ring, sizeof ring));
        /* a keyring named ".*" is the kernel's: never joined as a session (CVE-2016-9604, LTP keyctl08) */
        CHECK(syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, ".builtin_trusted_keys"));
        CHECK(syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, ".ltp_misc_dot"));
        _exit(0);
    }
    wait(NULL);
    return 0;
}

/* Under the STICKY_TIMEOUTS personality select, pselect6 and ppoll leave their timeout as it was;
   otherwise they write back the time left (LTP personality02). */
static int sticky_timeouts(void)
{
    int p[2];
    pipe(p);
    for (int sticky = 0; sticky < 2; sticky++) {
        personality(sticky ? 0x4000000 /* STICKY_TIMEOUTS */ : 0);
        fd_set set;
        FD_ZERO(&set);
        FD_SET(p[0], &set);
        struct timeval tv = {0, 10};
        select(p[0] + 1, &set, NULL, NULL, &tv);
        FD_ZERO(&set);
        FD_SET(p[0], &set);
        struct timespec ts = {0, 10000};
        syscall(SYS_pselect6, p[0] + 1, &set, NULL, NULL, &ts, NULL);
        struct timespec ts2 = {0, 10000};
        struct pollfd pfd = {p[0], POLLIN, 0};
        syscall(SYS_ppoll, &pfd, 1, &ts2, NULL, 8);
        printf("sticky %d: select left %ld us, pselect %ld ns, ppoll %ld ns\n", sticky, (long)tv.tv_usec, ts.tv_nsec,
               ts2.tv_nsec);
    }
    personality(0);
    close(p[0]), close(p[1]);
    return 0;
}

/* AT_HANDLE_FID asks only for a file id, which any filesystem gives (its inode number and
   generation, FILEID_INO32_GEN), even one that cannot decode handles: /proc (LTP
   name_to_handle_at03); without the flag, EOPNOTSUPP there; opening such a handle, ESTALE. */
#ifndef AT_HANDLE_FID
#define AT_HANDLE_FID 0x200
#endif
static int handle_fid(void)
{
    struct { struct file_handle h; unsigned char room[64]; } fh;
    struct stat st;
    int mount_id;
    stat("/proc/filesystems", &st);
    fh.h.handle_bytes = 64;
    CHECK(syscall(SYS_name_to_handle_at, AT_FDCWD, "/proc/filesystems", &fh.h, &mount_id, 0));
    fh.h.handle_bytes = 64;
    CHECK(syscall(SYS_name_to_handle_at, AT_FDCWD, "/proc/filesystems", &fh.h, &mount_id, AT_HANDLE_FID));
    unsigned ino;
    memcpy(&ino, fh.h.f_handle, 4);
    printf("bytes %u type %d, the inode number: %d\n", fh.h.handle_bytes, fh.h.handle_type, ino == (unsigned)st.st_ino);
    int proc = open("/proc", O_RDONLY | O_DIRECTORY);
    CHECK(syscall(SYS_open_by_handle_at, proc, &fh.h, O_RDONLY));
    close(proc);
    return 0;
}

/* /proc/PID/fdinfo of an inotify descriptor has a line per watch: its wd, the inode, and the
   mask as the user asked it, IN_ONESHOT and IN_EXCL_UNLINK kept, IN_ONLYDIR and the like not;
   then the inode's file id (LTP inotify12 parses it). The numbers of the inode differ natively. */
static int inotify_fdinfo(void)
{
    char path[64], line[512];
    int fd = inotify_init1(0);
    inotify_add_watch(fd, "/tmp", IN_MODIFY | IN_ONESHOT | IN_ONLYDIR | IN_DONT_FOLLOW);
    inotify_add_watch(fd, "/", IN_ATTRIB | IN_EXCL_UNLINK | IN_MASK_CREATE);
    snprintf(path, sizeof path, "/proc/self/fdinfo/%d", fd);
    FILE *f = fopen(path, "r");
    while (fgets(line, sizeof line, f)) {
        unsigned wd, mask, bytes, type;
        if (sscanf(line, "inotify wd:%x ino:%*x sdev:%*x mask:%x ignored_mask:0 fhandle-bytes:%x fhandle-type:%x",
                   &wd, &mask, &bytes, &type) == 4)
            printf("wd %u mask %x fhandle-bytes %u type %u\n", wd, mask, bytes, type);
    }
    fclose(f);
    close(fd);
    return 0;
}

static void show_file(const char *path)
{
    char buf[64] = "";
    int fd = open(path, O_RDONLY);
    buf[read(fd, buf, sizeof buf - 1) > 0 ? strcspn(buf, "\n") : 0] = 0;
    close(fd);
    printf("%s: %s\n", path, buf);
}

/* kernel.msgmni and kernel.shmmni are the IPC namespace's limits on queues and segments, written
   by its root (0..IPCMNI): msgget/shmget are ENOSPC past them (LTP msgget03). In a new IPC
   namespace, so the host's stay as they are. */
static int ipc_mni(void)
{
    if (fork() == 0) {
        unshare(CLONE_NEWIPC);
        show_file("/proc/sys/kernel/msgmni");
        put_file("/proc/sys/kernel/msgmni", "2");
        put_file("/proc/sys/kernel/msgmni", "40000");
        put_file("/proc/sys/kernel/msgmni", "-1");
        show_file("/proc/sys/kernel/msgmni");
        for (int i = 0; i < 3; i++)
            printf("msgget %d: %s\n", i, msgget(IPC_PRIVATE, 0600) >= 0 ? "made" : strerrorname_np(errno));
        put_file("/proc/sys/kernel/shmmni", "1");
        show_file("/proc/sys/kernel/shmmni");
        for (int i = 0; i < 2; i++)
            printf("shmget %d: %s\n", i, shmget(IPC_PRIVATE, 4096, 0600) >= 0 ? "made" : strerrorname_np(errno));
        _exit(0);
    }
    wait(NULL);
    return 0;
}

/* Sandbox only (the sysctls are global: test_ltp_misc.py): kernel.sched_rr_timeslice_ms (0 or
   less: back to 100) is SCHED_RR's slice; sched_rt_period_us at least 1, sched_rt_runtime_us -1
   or up to the period, else EINVAL (LTP proc_sched_rt01). */
static int sched_rt_sysctls(void)
{
    struct sched_param sp = {.sched_priority = 1};
    struct timespec ts;
    put_file("/proc/sys/kernel/sched_rr_timeslice_ms", "25");
    sched_setscheduler(0, SCHED_RR, &sp);
    sched_rr_get_interval(0, &ts);
    printf("slice %ld ms\n", ts.tv_nsec / 1000000);
    put_file("/proc/sys/kernel/sched_rr_timeslice_ms", "-1");
    show_file("/proc/sys/kernel/sched_rr_timeslice_ms");
    put_file("/proc/sys/kernel/sched_rt_period_us", "0");
    put_file("/proc/sys/kernel/sched_rt_runtime_us", "-2");
    put_file("/proc/sys/kernel/sched_rt_runtime_us", "1000001");
    put_file("/proc/sys/kernel/sched_rt_runtime_us", "-1");
    put_file("/proc/sys/kernel/sched_rt_period_us", "500000");
    show_file("/proc/sys/kernel/sched_rt_period_us");
    show_file("/proc/sys/kernel/sched_rt_runtime_us");
    return 0;
}

static unsigned long ino_of_fd(long fd)
{
    struct stat st;
    if (fd < 0 || fstat(fd, &st))
        return 0;
    return st.st_ino;
}

static unsigned long ino_of_path(const char *path)
{
    struct stat st;
    return stat(path, &st) ? 0 : st.st_ino;
}

/* The nsfs ioctls (LTP ioctl_ns01-07): a namespace's type, the user namespace owning it, the
   parent of a PID or user namespace (EPERM above the caller's, EINVAL for other kinds), a user
   namespace's owner uid; ENOTTY for others. Results shown as "same inode as ..." (numbers differ). */
static int ns_ioctls(void)
{
    int uts = open("/proc/self/ns/uts", O_RDONLY), user = open("/proc/self/ns/user", O_RDONLY);
    int pidns = open("/proc/self/ns/pid", O_RDONLY);
    unsigned owner = 99;
    CHECK(ioctl(uts, NS_GET_NSTYPE) == CLONE_NEWUTS);
    long r = ioctl(uts, NS_GET_USERNS);
    printf("uts's owner is my user namespace: %d, close-on-exec: %d\n", ino_of_fd(r) == ino_of_path("/proc/self/ns/user"),
           fcntl(r, F_GETFD) == FD_CLOEXEC);
    close(r);
    CHECK(ioctl(user, NS_GET_PARENT));
    CHECK(ioctl(user, NS_GET_USERNS));
    CHECK(ioctl(pidns, NS_GET_PARENT));
    CHECK(ioctl(uts, NS_GET_PARENT));
    CHECK(ioctl(uts, NS_GET_OWNER_UID, &owner));
    CHECK(ioctl(user, NS_GET_OWNER_UID, &owner));
    printf("owner uid %u\n", owner);
    CHECK(ioctl(uts, 0xb7ff));
    unsigned long my_user = ino_of_path("/proc/self/ns/user"), my_pid = ino_of_path("/proc/self/ns/pid");
    int go[2], ready[2];
    char c;
    pipe(go), pipe(ready);
    pid_t pid = syscall(SYS_clone, CLONE_NEWPID | SIGCHLD, NULL, NULL, NULL, 0);
    if (pid == 0) {
        int mine = open("/proc/self/ns/pid", O_RDONLY);
        CHECK(ioctl(mine, NS_GET_PARENT));   /* above the caller's active namespace */
        if (unshare(CLONE_NEWUSER) == 0) {
            put_file("/proc/self/uid_map", "0 0 1");
            int u = open("/proc/self/ns/user", O_RDONLY);
            CHECK(ioctl(u, NS_GET_PARENT));   /* the old one is above it now */
            CHECK(ioctl(u, NS_GET_OWNER_UID, &owner));
            printf("child: owner uid %u\n", owner);
        }
        write(ready[1], "r", 1);
        read(go[0], &c, 1);
        _exit(0);
    }
    read(ready[0], &c, 1);
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/ns/pid", pid);
    int child_ns = open(path, O_RDONLY);
    r = ioctl(child_ns, NS_GET_PARENT);
    printf("the child's PID namespace's parent is mine: %d\n", ino_of_fd(r) == my_pid);
    snprintf(path, sizeof path, "/proc/%d/ns/user", pid);
    int child_user = open(path, O_RDONLY);
    r = ioctl(child_user, NS_GET_PARENT);
    printf("the child's user namespace's parent is mine: %d\n", ino_of_fd(r) == my_user);
    write(go[1], "g", 1);
    waitpid(pid, NULL, 0);
    return 0;
}

/* kernel.{shm,msg,sem}_next_id (checkpoint/restore): the IPC namespace's next object gets that
   id (its sequence number, the lowest free index from its own), then the file reads -1 again
   (LTP shmget05/06, msgget04/05). In a new IPC namespace: the host's are left alone. */
static int ipc_next_id(void)
{
    if (fork() == 0) {
        unshare(CLONE_NEWIPC);
        show_file("/proc/sys/kernel/shm_next_id");
        put_file("/proc/sys/kernel/shm_next_id", "12345");
        printf("shmget: %d\n", shmget(IPC_PRIVATE, 4096, 0600));
        show_file("/proc/sys/kernel/shm_next_id");
        put_file("/proc/sys/kernel/shm_next_id", "12345");
        printf("shmget again (12345 taken): %d\n", shmget(IPC_PRIVATE, 4096, 0600));
        put_file("/proc/sys/kernel/msg_next_id", "70000");
        printf("msgget: %d\n", msgget(IPC_PRIVATE, 0600));
        put_file("/proc/sys/kernel/sem_next_id", "5");
        printf("semget: %d\n", semget(IPC_PRIVATE, 1, 0600));
        printf("semget after: %d\n", semget(IPC_PRIVATE, 1, 0600));
        put_file("/proc/sys/kernel/sem_next_id", "-2");
        _exit(0);
    }
    wait(NULL);
    return 0;
}

static const struct { const char *name; int (*fn)(void); } CASES[] = {
    {"no_splice", no_splice},
    {"fsync_kinds", fsync_kinds},
    {"memfd_seals", memfd_seals},
    {"execve_null_argv", execve_null_argv},
    {"coarse_clocks", coarse_clocks},
    {"sysinfo_timens", sysinfo_timens},
    {"timens_range", timens_range},
    {"prctl_misc", prctl_misc},
    {"sysctl_writes", sysctl_writes},
    {"tmpfs_seek_holes", tmpfs_seek_holes},
    {"pidns_init_signals", pidns_init_signals},
    {"pidns_depth", pidns_depth},
    {"mq_notify_pidns", mq_notify_pidns},
    {"userns_depth", userns_depth},
    {"timerslack_proc", timerslack_proc},
    {"close_range_unshare", close_range_unshare},
    {"key_users", key_users},
    {"kcmp_io", kcmp_io},
    {"nr_open_copy", nr_open_copy},
    {"timer_settime_order", timer_settime_order},
    {"aio_pipe", aio_pipe},
    {"request_key_dest_perm", request_key_dest_perm},
    {"sticky_timeouts", sticky_timeouts},
    {"handle_fid", handle_fid},
    {"inotify_fdinfo", inotify_fdinfo},
    {"ipc_mni", ipc_mni},
    {"sched_rt_sysctls", sched_rt_sysctls},
    {"ns_ioctls", ns_ioctls},
    {"ipc_next_id", ipc_next_id},
};

int main(int argc, char **argv)
{
    extern char **environ;
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc < 2) {   /* execve_null_argv's program */
        int envc = 0;
        while (environ[envc])
            envc++;
        printf("argc %d argv[0] %s\"%s\" envc %d %s\n", argc, argv[0] ? "" : "NULL ", argv[0] ? argv[0] : "",
               envc, envc ? environ[0] : "");
        return 0;
    }
    for (unsigned i = 0; argc > 1 && i < sizeof CASES / sizeof *CASES; i++)
        if (!strcmp(argv[1], CASES[i].name))
            return CASES[i].fn();
    fprintf(stderr, "usage: %s CASE\n", argv[0]);
    return 2;
}
