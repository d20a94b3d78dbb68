/* uname, clocks and sleeping (differential): stable uname fields, monotonic
 * clock increasing, nanosleep 10ms taking at least 10ms; CPU-time clocks count work,
 * not sleep, and clock_getcpuclockid/pthread_getcpuclockid ids work. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

static long long ns(clockid_t c) {
    struct timespec t;
    clock_gettime(c, &t);
    return t.tv_sec * 1000000000LL + t.tv_nsec;
}

int main(void) {
    struct utsname u;
    printf("uname: %d sysname=%s machine=%s\n", uname(&u), u.sysname, u.machine);
    printf("release non-empty: %d\n", u.release[0] != 0);
    long long a = ns(CLOCK_MONOTONIC), b = ns(CLOCK_MONOTONIC), c = ns(CLOCK_MONOTONIC);
    printf("monotonic non-decreasing: %d\n", a <= b && b <= c);
    struct timespec req = {0, 10 * 1000000}, rem = {9, 9};
    long long before = ns(CLOCK_MONOTONIC);
    int r = nanosleep(&req, &rem);
    long long slept = ns(CLOCK_MONOTONIC) - before;
    printf("nanosleep 10ms: %d slept>=10ms: %d slept<2s: %d\n", r, slept >= 10000000, slept < 2000000000LL);
    before = ns(CLOCK_MONOTONIC);
    struct timespec abs;
    clock_gettime(CLOCK_MONOTONIC, &abs);
    abs.tv_nsec += 5000000;
    if (abs.tv_nsec >= 1000000000) { abs.tv_sec++; abs.tv_nsec -= 1000000000; }
    r = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &abs, NULL);
    printf("clock_nanosleep abs 5ms: %d slept>=5ms: %d\n", r, ns(CLOCK_MONOTONIC) - before >= 5000000);
    long long rt = ns(CLOCK_REALTIME);
    printf("realtime after 2020: %d\n", rt > 1577836800LL * 1000000000LL);
    time_t t = time(NULL);
    printf("time() within 5s of CLOCK_REALTIME: %d\n", (long long)t - rt / 1000000000LL < 5 && rt / 1000000000LL - t < 5);
    struct timespec res;
    clock_getres(CLOCK_MONOTONIC, &res);
    printf("monotonic resolution <= 1ms: %d\n", res.tv_sec == 0 && res.tv_nsec <= 1000000);
    printf("process cputime >= 0: %d\n", ns(CLOCK_PROCESS_CPUTIME_ID) >= 0);
    printf("sysconf pagesize=%ld clk_tck=%ld\n", sysconf(_SC_PAGESIZE), sysconf(_SC_CLK_TCK));

    long long p0 = ns(CLOCK_PROCESS_CPUTIME_ID), t0 = ns(CLOCK_THREAD_CPUTIME_ID);
    struct timespec nap = {0, 200 * 1000000};
    nanosleep(&nap, NULL);
    printf("a 200ms sleep adds < 50ms of CPU time: process %d thread %d\n",
           ns(CLOCK_PROCESS_CPUTIME_ID) - p0 < 50000000, ns(CLOCK_THREAD_CPUTIME_ID) - t0 < 50000000);
    p0 = ns(CLOCK_PROCESS_CPUTIME_ID);
    long long w0 = ns(CLOCK_MONOTONIC);
    volatile unsigned long spin = 0;
    while (ns(CLOCK_PROCESS_CPUTIME_ID) - p0 < 30000000 && ns(CLOCK_MONOTONIC) - w0 < 5000000000LL)
        for (int i = 0; i < 100000; i++) spin++;
    printf("work advances the CPU clock: %d\n", ns(CLOCK_PROCESS_CPUTIME_ID) - p0 >= 30000000);
    clockid_t cid;
    printf("clock_getcpuclockid(self): %d", clock_getcpuclockid(getpid(), &cid));
    printf(" gettime>0: %d\n", ns(cid) > 0);
    printf("clock_getres(that): %d\n", clock_getres(cid, &res));
    printf("pthread_getcpuclockid: %d", pthread_getcpuclockid(pthread_self(), &cid));
    printf(" gettime>0: %d\n", ns(cid) > 0);
    pid_t child = fork();
    if (child == 0) { for (;;) pause(); }
    printf("clock_getcpuclockid(child): %d", clock_getcpuclockid(child, &cid));
    struct timespec ct;
    printf(" gettime: %d\n", clock_gettime(cid, &ct));
    kill(child, SIGKILL);
    printf("clock_getcpuclockid(no such pid): %s\n", strerrorname_np(clock_getcpuclockid(4000000, &cid)));
    r = clock_gettime(-5, &ct);   /* pid 0, clock type 3: no such clock */
    printf("bad cpu clock id: %d %s\n", r, strerrorname_np(errno));
    return 0;
}
