/* Per-process CPU accounting (differential): getrusage(SELF/CHILDREN), wait4's rusage, times()
 * and /proc/self/stat's utime/cutime count this process's and its reaped children's CPU time
 * (each spins until its own CPU clock shows 0.3 s, so load cannot change the output). */
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/times.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double cpu_now(void) {
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

static void spin(double seconds) {
    volatile unsigned long x = 0;
    while (cpu_now() < seconds)
        for (int i = 0; i < 100000; i++)
            x += i;
}

static double tv(struct timeval v) { return v.tv_sec + v.tv_usec / 1e6; }

int main(void) {
    long hz = sysconf(_SC_CLK_TCK);
    struct rusage r;
    getrusage(RUSAGE_CHILDREN, &r);
    printf("children before any: %d\n", tv(r.ru_utime) + tv(r.ru_stime) < 0.05);
    spin(0.3);
    getrusage(RUSAGE_SELF, &r);
    printf("self user+sys >= 0.25: %d, user >= 0.2: %d\n", tv(r.ru_utime) + tv(r.ru_stime) >= 0.25,
           tv(r.ru_utime) >= 0.2);
    pid_t c = fork();
    if (c == 0) {
        spin(0.3);
        _exit(0);
    }
    int st;
    struct rusage cr;
    memset(&cr, 0, sizeof cr);
    wait4(c, &st, 0, &cr);
    double cu = tv(cr.ru_utime) + tv(cr.ru_stime);
    printf("wait4 rusage of the child: >= 0.25: %d, < 1.0: %d\n", cu >= 0.25, cu < 1.0);
    getrusage(RUSAGE_CHILDREN, &r);
    printf("children after: >= 0.25: %d\n", tv(r.ru_utime) + tv(r.ru_stime) >= 0.25);
    struct tms t;
    times(&t);
    printf("times: self >= 0.25 s: %d, children >= 0.25 s: %d\n", t.tms_utime + t.tms_stime >= 0.25 * hz,
           t.tms_cutime + t.tms_cstime >= 0.25 * hz);
    FILE *f = fopen("/proc/self/stat", "r");
    char buf[1024];
    size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
    buf[n] = 0;
    long v[4] = {0};
    char *p = strrchr(buf, ')');
    /* after "pid (comm)": state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt
     * utime stime cutime cstime */
    if (p)
        sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %ld %ld %ld %ld", &v[0], &v[1], &v[2], &v[3]);
    printf("/proc/self/stat: self >= 0.25 s: %d, children >= 0.25 s: %d\n", v[0] + v[1] >= 0.25 * hz,
           v[2] + v[3] >= 0.25 * hz);
    /* The system-wide figures include at least our own 0.6 s. */
    unsigned long long cpu[4] = {0};
    f = fopen("/proc/stat", "r");
    if (f && fscanf(f, "cpu %llu %llu %llu %llu", &cpu[0], &cpu[1], &cpu[2], &cpu[3]) == 4)
        printf("/proc/stat: busy >= 0.5 s: %d, idle counted: %d\n", cpu[0] + cpu[1] + cpu[2] >= 0.5 * hz,
               cpu[3] > 0);
    return 0;
}
