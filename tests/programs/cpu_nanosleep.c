/* clock_nanosleep on CPU-time clocks (differential): the sleep lasts until the clock reaches the
 * time, not that much wall time. One case per argv[1]:
 *   spin      a thread spins; the main thread sleeps 0.3 s of the process's CPU clock (relative,
 *             then TIMER_ABSTIME, then on clock_getcpuclockid(getpid)'s id): each returns 0 once
 *             the clock got there; an absolute time already past returns at once
 *   idle      nothing runs: a 2 s CPU-clock sleep (glibc's id, and the raw call with
 *             CLOCK_PROCESS_CPUTIME_ID) is still asleep when a 0.2 s wall-clock alarm's handler
 *             interrupts it (EINTR), the time left (rem) is nearly all of it
 *   restart   a sleep stopped and continued (SIGSTOP/SIGCONT from a child) goes on to the same
 *             CPU-clock deadline (restart_syscall), then returns 0
 *   thread    another thread's clock (pthread_getcpuclockid): sleeps until that thread used it;
 *             the caller's own thread's id: EINVAL (after EFAULT/EINVAL of the timespec);
 *             CLOCK_THREAD_CPUTIME_ID: EOPNOTSUPP (glibc answers EINVAL itself); a clock fd id:
 *             EOPNOTSUPP; a process that does not exist: EINVAL
 *   child     another process's clock (clock_getcpuclockid of a spinning child)
 * Load cannot change the output: every check is on CPU clocks, with wall time only as an upper
 * bound of 20 s. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <sys/prctl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MS 1000000L

static long ns_of(clockid_t clock) {
    struct timespec t;
    clock_gettime(clock, &t);
    return t.tv_sec * 1000000000L + t.tv_nsec;
}

static struct timespec ts_of(long ns) {
    struct timespec t = {ns / 1000000000L, ns % 1000000000L};
    return t;
}

static atomic_int stop_spinning;

static void *spinner(void *arg) {
    volatile unsigned long x = 0;
    while (!atomic_load(&stop_spinning))
        x++;
    return arg;
}

/* Sleep on ``clock`` (relative or absolute), then report the result and whether it got there. */
static void sleep_on(const char *what, clockid_t clock, int flags, long ns) {
    long before = ns_of(clock), wall = ns_of(CLOCK_MONOTONIC);
    long target = flags ? ns : before + ns;
    struct timespec req = ts_of(ns);
    int r = clock_nanosleep(clock, flags, &req, NULL);
    long after = ns_of(clock);
    printf("%s: ret %s, clock reached %d, under 20 s %d\n", what, r ? strerrorname_np(r) : "0",
           after >= target, ns_of(CLOCK_MONOTONIC) - wall < 20000 * MS);
}

static int spin(void) {
    pthread_t th;
    pthread_create(&th, NULL, spinner, NULL);
    sleep_on("relative", CLOCK_PROCESS_CPUTIME_ID, 0, 300 * MS);
    sleep_on("absolute", CLOCK_PROCESS_CPUTIME_ID, TIMER_ABSTIME, ns_of(CLOCK_PROCESS_CPUTIME_ID) + 300 * MS);
    clockid_t mine;
    clock_getcpuclockid(getpid(), &mine);
    sleep_on("clock_getcpuclockid", mine, 0, 300 * MS);
    atomic_store(&stop_spinning, 1);
    pthread_join(th, NULL);
    long wall = ns_of(CLOCK_MONOTONIC);
    sleep_on("absolute past", CLOCK_PROCESS_CPUTIME_ID, TIMER_ABSTIME, 1);
    sleep_on("zero", CLOCK_PROCESS_CPUTIME_ID, 0, 0);
    printf("past and zero at once: %d\n", ns_of(CLOCK_MONOTONIC) - wall < 500 * MS);
    return 0;
}

static void on_alarm(int sig) { (void)sig; }

/* glibc passes CLOCK_PROCESS_CPUTIME_ID as the process's clock id (~0 << 3 | SCHED): the raw call
   takes the number itself too. */
static int raw_nanosleep(clockid_t clock, int flags, const struct timespec *req, struct timespec *rem) {
    return syscall(SYS_clock_nanosleep, clock, flags, req, rem) ? errno : 0;
}

static int idle(void) {
    struct sigaction sa = {.sa_handler = on_alarm, .sa_flags = SA_RESTART};
    sigaction(SIGALRM, &sa, NULL);
    const char *names[] = {"relative", "relative, raw CLOCK_PROCESS_CPUTIME_ID", "absolute"};
    for (int i = 0; i < 3; i++) {
        int flags = i == 2 ? TIMER_ABSTIME : 0;
        timer_t tm;
        struct sigevent ev = {.sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGALRM};
        timer_create(CLOCK_MONOTONIC, &ev, &tm);
        struct itimerspec its = {.it_value = ts_of(200 * MS)};
        timer_settime(tm, 0, &its, NULL);
        long start = ns_of(CLOCK_PROCESS_CPUTIME_ID), wall = ns_of(CLOCK_MONOTONIC);
        struct timespec req = ts_of(flags ? start + 2000 * MS : 2000 * MS), rem = {-1, -1};
        int r = i == 1 ? raw_nanosleep(CLOCK_PROCESS_CPUTIME_ID, 0, &req, &rem)
                       : clock_nanosleep(CLOCK_PROCESS_CPUTIME_ID, flags, &req, &rem);
        long waited = ns_of(CLOCK_MONOTONIC) - wall;
        printf("%s: ret %s, woke by the alarm %d\n", names[i], r ? strerrorname_np(r) : "0",
               waited >= 150 * MS && waited < 1900 * MS);
        if (flags)   /* an absolute sleep leaves rem alone */
            printf("  rem untouched %d\n", rem.tv_sec == -1 && rem.tv_nsec == -1);
        else   /* nearly no CPU time went by: nearly all of it is left */
            printf("  rem > 1.9 s %d, <= 2 s %d\n", rem.tv_sec * 1000000000L + rem.tv_nsec > 1900 * MS,
                   rem.tv_sec * 1000000000L + rem.tv_nsec <= 2000 * MS);
        timer_delete(tm);
    }
    return 0;
}

static int restart(void) {
    pthread_t th;
    pthread_create(&th, NULL, spinner, NULL);
    pid_t parent = getpid();
    fflush(stdout);
    pid_t c = fork();
    if (c == 0) {   /* stop and continue the parent while it sleeps */
        struct timespec t = ts_of(100 * MS);
        nanosleep(&t, NULL);
        kill(parent, SIGSTOP);
        nanosleep(&t, NULL);
        kill(parent, SIGCONT);
        _exit(0);
    }
    sleep_on("stopped and continued", CLOCK_PROCESS_CPUTIME_ID, 0, 600 * MS);
    waitpid(c, NULL, 0);
    atomic_store(&stop_spinning, 1);
    pthread_join(th, NULL);
    return 0;
}

/* The raw call (glibc answers CLOCK_THREAD_CPUTIME_ID itself), and glibc's for comparison. */
static void bad(const char *what, clockid_t clock, int flags, const struct timespec *req) {
    errno = 0;
    long raw = syscall(SYS_clock_nanosleep, clock, flags, req, NULL);
    int r = clock_nanosleep(clock, flags, req, NULL);
    printf("%s: raw %s, glibc %s\n", what, raw ? strerrorname_np(errno) : "0", r ? strerrorname_np(r) : "0");
}

static int thread(void) {
    pthread_t th;
    pthread_create(&th, NULL, spinner, NULL);
    clockid_t other, own;
    pthread_getcpuclockid(th, &other);
    pthread_getcpuclockid(pthread_self(), &own);
    sleep_on("another thread's clock", other, TIMER_ABSTIME, ns_of(other) + 200 * MS);
    atomic_store(&stop_spinning, 1);
    pthread_join(th, NULL);
    struct timespec ok = ts_of(MS), invalid = {0, 1000000000L};
    bad("thread clock", CLOCK_THREAD_CPUTIME_ID, 0, &ok);
    bad("thread clock, bad pointer", CLOCK_THREAD_CPUTIME_ID, 0, (void *)8);
    bad("thread clock, bad nsec", CLOCK_THREAD_CPUTIME_ID, 0, &invalid);
    bad("own thread's id", own, 0, &ok);
    bad("own thread's id, bad pointer", own, 0, (void *)8);
    bad("process clock, bad nsec", CLOCK_PROCESS_CPUTIME_ID, 0, &invalid);
    bad("clock fd id", (clockid_t)((~3 << 3) | 3), 0, &ok);
    bad("no such process", (clockid_t)((~4000000 << 3) | 2), 0, &ok);
    bad("no such process, bad pointer", (clockid_t)((~4000000 << 3) | 2), 0, (void *)8);
    bad("clock 3 of a process", (clockid_t)((~0 << 3) | 3), 0, &ok);
    return 0;
}

static int child(void) {
    fflush(stdout);
    pid_t c = fork();
    if (c == 0) {   /* spins until killed: by us, or with us if the test run is cut short */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        alarm(60);
        spinner(NULL);
        _exit(0);
    }
    clockid_t clock;
    printf("clock_getcpuclockid: %d\n", clock_getcpuclockid(c, &clock));
    sleep_on("child's clock", clock, 0, 300 * MS);
    kill(c, SIGKILL);
    waitpid(c, NULL, 0);
    return 0;
}

int main(int argc, char **argv) {
    const char *c = argc > 1 ? argv[1] : "";
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (!strcmp(c, "spin")) return spin();
    if (!strcmp(c, "idle")) return idle();
    if (!strcmp(c, "restart")) return restart();
    if (!strcmp(c, "thread")) return thread();
    if (!strcmp(c, "child")) return child();
    fprintf(stderr, "unknown case %s\n", c);
    return 2;
}
