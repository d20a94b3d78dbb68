/* Regressions found by running stress-ng's stressors natively and in the sandbox (the stress-ng
   oracle). One case per argv[1]; each prints the return values and errno names it observes, so
   native and sandbox output must be identical. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <termios.h>
#include <sys/socket.h>
#include <sys/prctl.h>
#include <sys/sem.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define CHECK(expr) do { errno = 0; long _r = (long)(expr); \
    printf("%-60s = %ld %s\n", #expr, _r, _r < 0 ? strerrorname_np(errno) : ""); } while (0)

static void print_file(const char *path)
{
    char buf[256];
    int fd = open(path, O_RDONLY);
    if (fd < 0) {
        printf("open %s: %s\n", path, strerrorname_np(errno));
        return;
    }
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    buf[n < 0 ? 0 : n] = 0;
    printf("%s: %s", path, buf);
}

/* dnotify: stress-ng reads fs.dir-notify-enable before it uses F_NOTIFY. */
static int dir_notify_enable(void)
{
    print_file("/proc/sys/fs/dir-notify-enable");
    int fd = open("/tmp", O_RDONLY | O_DIRECTORY);
    CHECK(fcntl(fd, F_NOTIFY, DN_CREATE));
    CHECK(fcntl(fd, F_NOTIFY, 0));
    close(fd);
    return 0;
}

/* cyclic: asks SCHED_DEADLINE's priority range (0..0 on Linux) before sched_setattr. */
static int deadline_priority(void)
{
    for (int policy = 0; policy <= 6; policy++) {   /* 7, SCHED_EXT, is new in 6.12 */
        CHECK(sched_get_priority_min(policy));
        CHECK(sched_get_priority_max(policy));
    }
    return 0;
}

/* reboot: a power-off in a PID namespace of the application's own ends that namespace (its init
   dies of SIGINT), not the sandbox. The child calls reboot only if it is the init of a new
   namespace: never on the host's own. */
static int reboot_pid_namespace(void)
{
    if (unshare(CLONE_NEWPID) < 0) {
        printf("unshare: %s\n", strerrorname_np(errno));
        return 0;
    }
    pid_t child = fork();
    if (child == 0) {
        if (getpid() != 1)
            _exit(3);
        printf("child is pid %d\n", getpid());
        CHECK(syscall(SYS_reboot, 0xfee1dead, 0xffffffff, 0x4321fedc, 0));   /* bad magic2 */
        CHECK(syscall(SYS_reboot, 0xfee1dead, 672274793, 0, 0));             /* Ctrl-Alt-Del off */
        syscall(SYS_reboot, 0xfee1dead, 672274793, 0x4321fedc, 0);            /* power off */
        _exit(4);
    }
    int status;
    CHECK(waitpid(child, &status, 0) == child);
    printf("signaled %d sig %d exited %d\n", WIFSIGNALED(status), WIFSIGNALED(status) ? WTERMSIG(status) : 0,
           WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    printf("parent survives\n");
    return 0;
}

/* kcmp: KCMP_SYSVSEM compares the processes' undo lists, which exist from the first SEM_UNDO
   operation on: a parent and a forked child that never made one compare equal. */
static int kcmp_sysvsem(void)
{
    int pipefd[2];
    if (pipe(pipefd) < 0)
        return 1;
    pid_t self = getpid(), child = fork();
    if (child == 0) {
        char c;
        close(pipefd[1]);
        read(pipefd[0], &c, 1);
        _exit(0);
    }
    close(pipefd[0]);
    CHECK(syscall(SYS_kcmp, self, child, 6 /* KCMP_SYSVSEM */, 0, 0));
    CHECK(syscall(SYS_kcmp, self, self, 6, 0, 0));
    int id = semget(IPC_PRIVATE, 1, IPC_CREAT | 0600);
    struct sembuf up = {0, 1, SEM_UNDO};
    CHECK(semop(id, &up, 1));
    CHECK(syscall(SYS_kcmp, self, child, 6, 0, 0) > 0);
    CHECK(syscall(SYS_kcmp, self, self, 6, 0, 0));
    CHECK(semctl(id, 0, IPC_RMID));
    close(pipefd[1]);
    waitpid(child, NULL, 0);
    return 0;
}

/* tee: flags beyond SPLICE_F_ALL are EINVAL (Linux 4.10 on), before the descriptors are
   looked at; a zero length is 0 (after the flags for tee, before them for splice). */
static int splice_flags(void)
{
    int a[2], b[2];
    if (pipe(a) < 0 || pipe(b) < 0)
        return 1;
    CHECK(write(a[1], "x", 1));
    CHECK(tee(a[0], b[1], INT32_MAX, ~0U));
    CHECK(tee(a[0], b[1], 1, 0x10));
    CHECK(tee(a[0], b[1], 0, ~0U));
    CHECK(tee(-1, -1, 0, 0));
    CHECK(tee(-1, -1, 1, ~0U));
    CHECK(splice(a[0], NULL, b[1], NULL, 1, ~0U));
    CHECK(splice(a[0], NULL, b[1], NULL, 0, ~0U));
    CHECK(splice(-1, NULL, -1, NULL, 0, 0));
    CHECK(splice(-1, NULL, -1, NULL, 1, 0x10));
    CHECK(tee(a[0], b[1], 1, SPLICE_F_NONBLOCK | SPLICE_F_MORE | SPLICE_F_MOVE | SPLICE_F_GIFT));
    CHECK(splice(a[0], NULL, b[1], NULL, 1, SPLICE_F_NONBLOCK));
    return 0;
}

/* numa: stress-ng finds the NUMA nodes in /proc/self/status's Mems_allowed. */
static int mems_allowed(void)
{
    char line[1024];
    FILE *f = fopen("/proc/self/status", "r");
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "Mems_allowed", 12))
            fputs(line, stdout);
    if (f)
        fclose(f);
    return 0;
}

/* resources: processes that fork without pause kept the Sentry's loop busy with their stops, and
   it never looked at its timers: the alarm of a process among them never came. */
static volatile sig_atomic_t alarmed;
static void on_alarm(int sig) { (void)sig; alarmed = 1; }

static int alarm_busy_forks(void)
{
    enum { N = 32 };
    pid_t kids[N];
    signal(SIGALRM, on_alarm);
    for (int i = 0; i < N; i++) {
        kids[i] = fork();
        if (kids[i] == 0)
            for (;;) {
                pid_t p = fork();
                if (p == 0)
                    _exit(0);
                if (p > 0)
                    waitpid(p, NULL, 0);
            }
    }
    alarm(1);
    while (!alarmed)
        pause();
    for (int i = 0; i < N; i++)
        kill(kids[i], SIGKILL);
    while (wait(NULL) > 0)
        ;
    printf("the alarm came\n");
    return 0;
}

/* usersyscall: syscall user dispatch. A call made while the selector reads BLOCK raises SIGSYS
   (SYS_USER_DISPATCH) and returns its own number; ALLOW, or a call from the allowed region, runs. */
static volatile char selector;
static volatile int sys_code, sys_errno, sys_nr;
static volatile unsigned sys_arch;

static void on_sigsys(int sig, siginfo_t *info, void *uc)
{
    (void)sig; (void)uc;
    selector = 0;   /* SYSCALL_DISPATCH_FILTER_ALLOW: the handler's own calls (sigreturn) run */
    sys_code = info->si_code;
    sys_errno = info->si_errno;
    sys_nr = info->si_syscall;
    sys_arch = info->si_arch;
}

static int user_dispatch(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_sigsys;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGSYS, &sa, NULL);
    CHECK(prctl(59, 2, 0, 0, 0));                          /* no such mode */
    CHECK(prctl(59, 0, 1, 0, 0));                          /* OFF takes no arguments */
    CHECK(prctl(59, 1, 0x1000, 0, &selector));             /* an empty region */
    CHECK(prctl(59, 1, ~0UL, 2, &selector));               /* one that wraps */
    CHECK(prctl(59, 1, 0, 0, (char *)0xffffffffffff0000UL));
    CHECK(prctl(59, 1, 0, 0, &selector));
    CHECK(syscall(0xe000));                                /* ALLOW: it runs (ENOSYS) */
    selector = 1;                                          /* BLOCK */
    long r = syscall(0xe000);
    printf("blocked call returns %#lx code %d errno %d nr %#x arch %#x\n", r, sys_code, sys_errno, sys_nr, sys_arch);
    selector = 1;
    r = syscall(SYS_getppid);
    printf("blocked getppid returns %ld (its number), selector now %d\n", r, selector);
    pid_t child = fork();
    if (child == 0) {
        selector = 1;   /* a new task starts without dispatch */
        _exit(syscall(SYS_getpid) == getpid() ? 0 : 1);
    }
    int status;
    waitpid(child, &status, 0);
    printf("forked child: %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    CHECK(prctl(59, 0, 0, 0, 0));
    CHECK(prctl(59, 1, 0x1000, 0x7ffffffff000 - 0x1000, &selector));   /* every address allowed */
    selector = 1;
    CHECK(syscall(0xe000));
    selector = 0;
    child = fork();
    if (child == 0) {
        prctl(59, 1, 0, 0, &selector);
        selector = 7;   /* neither ALLOW nor BLOCK: the process dies of SIGSYS */
        syscall(SYS_getpid);
        _exit(0);
    }
    waitpid(child, &status, 0);
    printf("bad selector: signaled %d sig %d\n", WIFSIGNALED(status), WIFSIGNALED(status) ? WTERMSIG(status) : 0);
    CHECK(prctl(59, 0, 0, 0, 0));
    return 0;
}

/* l1cache, llc-affinity: stress-ng sizes its buffers from cpu0's cache directories in sysfs. */
static int cpu_caches(void)
{
    static const char *files[] = {"level", "type", "size", "coherency_line_size", "ways_of_associativity"};
    char path[128];
    for (int i = 0; i < 8; i++) {
        snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu0/cache/index%d", i);
        if (access(path, F_OK) < 0) {
            printf("%s: %s\n", path, strerrorname_np(errno));
            break;
        }
        for (size_t f = 0; f < sizeof files / sizeof files[0]; f++) {
            snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu0/cache/index%d/%s", i, files[f]);
            print_file(path);
        }
    }
    return 0;
}

/* icmp-flood, rawudp (under do --net-raw): IP_HDRINCL on a raw socket, ENOPROTOOPT on others. */
static int raw_hdrincl(void)
{
    int one = 1, got = 0;
    socklen_t len = sizeof got;
    int raw = socket(AF_INET, SOCK_RAW, IPPROTO_UDP), udp = socket(AF_INET, SOCK_DGRAM, 0);
    printf("raw socket %s\n", raw < 0 ? strerrorname_np(errno) : "made");
    CHECK(setsockopt(raw, IPPROTO_IP, IP_HDRINCL, &one, sizeof one));
    CHECK(getsockopt(raw, IPPROTO_IP, IP_HDRINCL, &got, &len));
    printf("IP_HDRINCL %d\n", got);
    CHECK(setsockopt(udp, IPPROTO_IP, IP_HDRINCL, &one, sizeof one));
    CHECK(getsockopt(udp, IPPROTO_IP, IP_HDRINCL, &got, &len));
    return 0;
}

/* pty: TIOCGLCKTRMIOS/TIOCSLCKTRMIOS, the locked termios bits a TCSETS cannot change. */
static int pty_locked_termios(void)
{
    int master = posix_openpt(O_RDWR | O_NOCTTY);
    if (master < 0 || grantpt(master) < 0 || unlockpt(master) < 0)
        return 1;
    int replica = open(ptsname(master), O_RDWR | O_NOCTTY);
    struct termios lock, t;
    memset(&lock, 0xAA, sizeof lock);
    CHECK(ioctl(replica, TIOCGLCKTRMIOS, &lock));
    printf("lock lflag %#x line %d cc0 %d\n", lock.c_lflag, lock.c_line, lock.c_cc[0]);
    tcgetattr(replica, &t);
    int echo = !!(t.c_lflag & ECHO);
    memset(&lock, 0, sizeof lock);
    lock.c_lflag = ECHO;
    lock.c_cc[VINTR] = 1;
    CHECK(ioctl(replica, TIOCSLCKTRMIOS, &lock));
    CHECK(ioctl(replica, TIOCSLCKTRMIOS, (void *)8));
    t.c_lflag ^= ECHO | ICANON;
    cc_t intr = t.c_cc[VINTR];
    t.c_cc[VINTR] = 7;
    t.c_cc[VQUIT] = 9;
    CHECK(tcsetattr(replica, TCSANOW, &t));
    tcgetattr(master, &t);
    printf("echo kept %d, icanon %#x, intr kept %d, quit %d\n", !!(t.c_lflag & ECHO) == echo, t.c_lflag & ICANON,
           t.c_cc[VINTR] == intr, t.c_cc[VQUIT]);
    memset(&lock, 0xAA, sizeof lock);
    CHECK(ioctl(master, TIOCGLCKTRMIOS, &lock));
    printf("via master: lflag %#x cc0 %d\n", lock.c_lflag, lock.c_cc[0]);
    close(replica);
    close(master);
    return 0;
}

static const struct { const char *name; int (*fn)(void); } cases[] = {
    {"pty_locked_termios", pty_locked_termios},
    {"raw_hdrincl", raw_hdrincl},
    {"cpu_caches", cpu_caches},
    {"user_dispatch", user_dispatch},
    {"alarm_busy_forks", alarm_busy_forks},
    {"mems_allowed", mems_allowed},
    {"splice_flags", splice_flags},
    {"kcmp_sysvsem", kcmp_sysvsem},
    {"reboot_pid_namespace", reboot_pid_namespace},
    {"deadline_priority", deadline_priority},
    {"dir_notify_enable", dir_notify_enable},
};

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    if (argc < 2)
        return 2;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        if (!strcmp(argv[1], cases[i].name))
            return cases[i].fn();
    return 2;
}
