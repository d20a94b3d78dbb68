/* uname, clocks and sleeping (differential): stable uname fields, monotonic
 * clock increasing, nanosleep 10ms taking at least 10ms. */
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
    return 0;
}
