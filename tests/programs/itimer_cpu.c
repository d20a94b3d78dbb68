/* setitimer's CPU-time timers: ITIMER_VIRTUAL and ITIMER_PROF expire after that much CPU time of
 * the process, not wall time: nothing comes while it sleeps; spinning, the signal comes once the
 * process has run about the timer's value; an interval repeats it; getitimer counts down in CPU
 * time (a sleep leaves it where it was). */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static volatile int fired;

static void on_timer(int sig) { fired++; }

static double cpu(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void check(int which, int sig, const char *name)
{
    fired = 0;
    signal(sig, on_timer);
    struct itimerval v = {.it_value = {0, 200000}};   /* 0.2 s of CPU */
    setitimer(which, &v, NULL);
    struct timespec nap = {0, 400000000};
    nanosleep(&nap, NULL);
    struct itimerval left;
    getitimer(which, &left);
    printf("%s: nothing while asleep: %d; more than half of it left: %d\n", name, fired == 0,
           left.it_value.tv_sec == 0 && left.it_value.tv_usec > 100000);
    double start = cpu();
    while (!fired && cpu() - start < 5)
        ;
    double ran = cpu() - start;
    printf("%s: fired after 0.05 to 3 s of CPU: %d\n", name, fired == 1 && ran > 0.05 && ran < 3);
    struct itimerval rep = {.it_interval = {0, 50000}, .it_value = {0, 50000}};
    fired = 0;
    setitimer(which, &rep, NULL);
    start = cpu();
    while (fired < 3 && cpu() - start < 5)
        ;
    struct itimerval off = {0};
    setitimer(which, &off, NULL);
    printf("%s: the interval repeats it: %d\n", name, fired >= 3);
}

int main(void)
{
    check(ITIMER_VIRTUAL, SIGVTALRM, "ITIMER_VIRTUAL");
    check(ITIMER_PROF, SIGPROF, "ITIMER_PROF");
    return 0;
}
