/* A POSIX timer whose overrun count passes INT_MAX (issue 11, item 7): an absolute timer set
 * decades in the past with a 1 ms interval has ~10^12 overruns at once; Linux saturates both
 * si_overrun and timer_getoverrun at DELAYTIMER_MAX (INT_MAX). */
#define _GNU_SOURCE
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int main(void) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGRTMIN);
    sigprocmask(SIG_BLOCK, &set, NULL);
    struct sigevent sev;
    memset(&sev, 0, sizeof sev);
    sev.sigev_notify = SIGEV_SIGNAL;
    sev.sigev_signo = SIGRTMIN;
    sev.sigev_value.sival_int = 42;
    timer_t timer;
    if (timer_create(CLOCK_REALTIME, &sev, &timer) != 0) { perror("timer_create"); return 1; }
    struct itimerspec its = {{0, 1000000}, {1, 0}};   /* interval 1 ms, first expiry at 1970-01-01 00:00:01 */
    if (timer_settime(timer, TIMER_ABSTIME, &its, NULL) != 0) { perror("timer_settime"); return 1; }
    siginfo_t info;
    int sig = sigwaitinfo(&set, &info);
    printf("signal %d code %d value %d\n", sig == SIGRTMIN, info.si_code, info.si_value.sival_int);
    printf("si_overrun saturated: %d\n", info.si_overrun == INT_MAX);
    printf("timer_getoverrun saturated: %d\n", timer_getoverrun(timer) == INT_MAX);
    timer_delete(timer);

    /* The signal of a timer is queued once: expirations while it is pending are its overruns. */
    sev.sigev_value.sival_int = 7;
    timer_create(CLOCK_MONOTONIC, &sev, &timer);
    struct itimerspec every50ms = {{0, 50000000}, {0, 50000000}};
    timer_settime(timer, 0, &every50ms, NULL);
    struct timespec wait = {0, 600000000};
    while (nanosleep(&wait, &wait) != 0)
        ;
    sig = sigwaitinfo(&set, &info);
    printf("pending timer signal: value %d, overrun >= 5: %d\n", info.si_value.sival_int, info.si_overrun >= 5);
    timer_delete(timer);
    fflush(stdout);
    return system("echo still alive") == 0 ? 0 : 1;
}
