/* Time and cgroup namespaces (differential): unshare(CLONE_NEWTIME) makes a namespace for the
 * children whose /proc/self/timens_offsets are written before anyone enters it (EACCES after);
 * a child that execs there reads CLOCK_MONOTONIC and CLOCK_BOOTTIME shifted (through the C
 * library, whatever it uses) and CLOCK_REALTIME not, sleeps until an absolute time of the shifted
 * clock, gets absolute timerfd and POSIX timer expiries, and sees /proc/uptime shifted; setns(2) into it shifts
 * the caller's own clock (read with the system call). unshare(CLONE_NEWCGROUP) and
 * clone(CLONE_NEWCGROUP) give a namespace rooted at the caller's cgroup. Run as root natively;
 * only differences of clocks, within bounds, are printed. */
#include "ns_show.h"
#include <sys/timerfd.h>
#include <time.h>

static long long now_ns(clockid_t c) {
    struct timespec ts;
    clock_gettime(c, &ts);
    return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static long long raw_now_ns(clockid_t c) {   /* the system call, never the vDSO */
    struct timespec ts;
    syscall(SYS_clock_gettime, c, &ts);
    return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static double uptime(void) {
    FILE *f = fopen("/proc/uptime", "r");
    double up = 0;
    if (f) {
        fscanf(f, "%lf", &up);
        fclose(f);
    }
    return up;
}

/* Is the clock ahead of the value the parent read (passed in argv) by ``offset`` seconds, give or
 * take the (under 30 s) time between the two readings? */
static int ahead(clockid_t c, const char *before, long offset) {
    long long d = now_ns(c) - atoll(before) - offset * 1000000000LL;
    return d >= 0 && d < 30000000000LL;
}

static int child(char **argv) {
    printf("child monotonic ahead by 1000 s: %d, boottime by 2000 s: %d, realtime by 0 s: %d\n",
           ahead(CLOCK_MONOTONIC, argv[2], 1000), ahead(CLOCK_BOOTTIME, argv[3], 2000),
           ahead(CLOCK_REALTIME, argv[4], 0));
    double up = uptime() - atof(argv[5]) - 2000;
    printf("child uptime ahead by 2000 s: %d\n", up > -0.02 && up < 30);   /* (2 decimals) */
    char buf[128] = {0};
    int fd = open("/proc/self/timens_offsets", O_RDONLY);
    read(fd, buf, sizeof buf - 1);
    close(fd);
    printf("child timens_offsets:\n%s", buf);
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_nsec += 50000000;
    if (until.tv_nsec >= 1000000000) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000;
    }
    long long t0 = raw_now_ns(CLOCK_MONOTONIC);
    SHOW("clock_nanosleep(TIMER_ABSTIME, +50ms)", clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &until, NULL));
    printf("slept under 2 s: %d\n", raw_now_ns(CLOCK_MONOTONIC) - t0 < 2000000000LL);
    int tfd = timerfd_create(CLOCK_MONOTONIC, 0);
    struct itimerspec its = {{0, 0}, until};
    its.it_value.tv_nsec = (its.it_value.tv_nsec + 50000000) % 1000000000;
    its.it_value.tv_sec += its.it_value.tv_nsec < 50000000;
    t0 = raw_now_ns(CLOCK_MONOTONIC);
    SHOW("timerfd_settime(ABSTIME, +50ms)", timerfd_settime(tfd, TFD_TIMER_ABSTIME, &its, NULL));
    unsigned long long n = 0;
    SHOW("timerfd read", read(tfd, &n, sizeof n));
    printf("expirations %llu, under 2 s: %d\n", n, raw_now_ns(CLOCK_MONOTONIC) - t0 < 2000000000LL);
    sigset_t usr1;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    sigprocmask(SIG_BLOCK, &usr1, NULL);
    struct sigevent ev = {0};
    ev.sigev_notify = SIGEV_SIGNAL;
    ev.sigev_signo = SIGUSR1;
    timer_t timer;
    SHOW("timer_create(CLOCK_MONOTONIC)", timer_create(CLOCK_MONOTONIC, &ev, &timer));
    clock_gettime(CLOCK_MONOTONIC, &its.it_value);
    its.it_value.tv_sec += its.it_value.tv_nsec >= 950000000;
    its.it_value.tv_nsec = (its.it_value.tv_nsec + 50000000) % 1000000000;
    t0 = raw_now_ns(CLOCK_MONOTONIC);
    SHOW("timer_settime(TIMER_ABSTIME, +50ms)", timer_settime(timer, TIMER_ABSTIME, &its, NULL));
    SHOW("sigwaitinfo", sigwaitinfo(&usr1, NULL));
    printf("timer fired under 2 s: %d\n", raw_now_ns(CLOCK_MONOTONIC) - t0 < 2000000000LL);
    return 0;
}

static void part_time(char *self) {
    ino_t own = ns_ino("self", "time");
    SHOW("unshare(NEWTIME)", unshare(CLONE_NEWTIME));
    printf("ns/time unchanged: %d, time_for_children new: %d\n", ns_ino("self", "time") == own,
           ns_ino("self", "time_for_children") != own);
    int fd = open("/proc/self/timens_offsets", O_WRONLY);
    SHOW("timens_offsets bad clock", write(fd, "realtime 5 0", 12));
    SHOW("timens_offsets bad nsec", write(fd, "monotonic 5 1000000000", 22));
    const char *offsets = "monotonic 1000 0\nboottime 2000 0\n";
    SHOW("timens_offsets", write(fd, offsets, strlen(offsets)));
    char a[32], b[32], c[32], d[32];
    snprintf(a, sizeof a, "%lld", now_ns(CLOCK_MONOTONIC));
    snprintf(b, sizeof b, "%lld", now_ns(CLOCK_BOOTTIME));
    snprintf(c, sizeof c, "%lld", now_ns(CLOCK_REALTIME));
    snprintf(d, sizeof d, "%f", uptime());
    pid_t p = fork();
    if (p == 0) {
        execl(self, self, "timens-child", a, b, c, d, (char *)NULL);
        _exit(127);
    }
    printf("child status: %d\n", reap(p));
    close(fd);
    fd = open("/proc/self/timens_offsets", O_WRONLY);
    SHOW("timens_offsets once entered", write(fd, offsets, strlen(offsets)));
    close(fd);
    long long before = raw_now_ns(CLOCK_MONOTONIC);
    int ns = open("/proc/self/ns/time_for_children", O_RDONLY);
    SHOW("setns(time_for_children)", setns(ns, CLONE_NEWTIME));
    close(ns);
    printf("ns/time now the children's: %d\n", ns_ino("self", "time") == ns_ino("self", "time_for_children"));
    long long late = raw_now_ns(CLOCK_MONOTONIC) - before - 1000000000000LL;
    printf("own monotonic ahead by 1000 s: %d\n", late >= 0 && late < 30000000000LL);
}

/* The unified hierarchy's line of /proc/self/cgroup (a host may list v1 hierarchies too). */
static void show_cgroup(const char *label) {
    char line[256];
    FILE *f = fopen("/proc/self/cgroup", "r");
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "0::", 3))
            printf("%s: %s", label, line);
    if (f)
        fclose(f);
}

static void part_cgroup(void) {
    ino_t own = ns_ino("self", "cgroup");
    pid_t p = syscall(SYS_clone, CLONE_NEWCGROUP | SIGCHLD, 0, 0, 0, 0);
    if (p == 0) {
        printf("clone(NEWCGROUP) ns/cgroup changed: %d\n", ns_ino("self", "cgroup") != own);
        show_cgroup("clone(NEWCGROUP) cgroup");
        _exit(0);
    }
    reap(p);
    SHOW("unshare(NEWCGROUP)", unshare(CLONE_NEWCGROUP));
    printf("ns/cgroup changed: %d\n", ns_ino("self", "cgroup") != own);
    show_cgroup("cgroup");
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IONBF, 0);
    if (argc == 6 && !strcmp(argv[1], "timens-child"))
        return child(argv);
    part_cgroup();
    part_time(argv[0]);
    return 0;
}
