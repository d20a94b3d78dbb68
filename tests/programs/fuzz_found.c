/* Regressions the syscall fuzzer found (tests/test_fuzz_syscalls.py), run natively and in the sandbox.
 *
 * sigtimedwait_chld: a parent that blocks SIGCHLD (default action: ignore) and waits for it in
 * rt_sigtimedwait gets it when a child exits while it waits. The Sentry dropped the signal as
 * ignored because rt_sigtimedwait unblocks what it waits for while it sleeps; Linux still counts
 * it as blocked (real_blocked). The fuzzer's parent waited a full timeout after every batch. */
#define _GNU_SOURCE
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "await_state.h"

static void sigtimedwait_chld(void) {
    sigset_t all, chld;
    sigfillset(&all);
    sigprocmask(SIG_BLOCK, &all, NULL);
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    /* The child exits once the parent is asleep in sigtimedwait (its /proc stat says S); it
     * ends by exit_group, exit, and a signal (exit status 99 if the parent never slept). */
    for (int how = 0; how < 3; how++) {
        fflush(stdout);
        pid_t p = fork();
        if (p == 0) {
            if (!await_pid_sleeping(getppid())) syscall(SYS_exit_group, 99);
            if (how == 0) syscall(SYS_exit_group, 3);
            if (how == 1) syscall(SYS_exit, 4);
            raise(SIGKILL);
        }
        struct timespec ts = {90, 0};
        int r = sigtimedwait(&chld, NULL, &ts);
        int st = 0;
        waitpid(p, &st, 0);
        printf("child %d: sigtimedwait %s, status %#x\n", how, r == SIGCHLD ? "SIGCHLD" : "timed out", st);
    }
}

/* far_timer: a process sleeps 10^12 s ahead (nanosleep) while its parent runs. The Sentry's
 * event loop passed that deadline's distance to epoll_wait, which takes at most INT_MAX ms:
 * OverflowError, and the whole Sentry died. */
static void far_timer(void) {
    pid_t p = fork();
    if (p == 0) {
        struct timespec far = {1000000000000L, 0};
        nanosleep(&far, NULL);
        _exit(5);
    }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    do clock_gettime(CLOCK_MONOTONIC, &t1);   /* busy: the loop waits on the child's deadline alone */
    while ((t1.tv_sec - t0.tv_sec) * 1000000000L + (t1.tv_nsec - t0.tv_nsec) < 300000000L);
    kill(p, SIGKILL);
    int st = 0;
    waitpid(p, &st, 0);
    printf("far timer: child status %#x\n", st);
}

/* poll_unpollable (stdin: /dev/null or a regular file, which have no poll method): a poll
 * for nothing such a file will ever report blocks, as on Linux. The Sentry woke it at once,
 * again and again, and that task starved every other: the whole sandbox hung. */
static void poll_unpollable(void) {
    pid_t p = fork();
    if (p == 0) {
        struct pollfd pf = {0, 0, 0};
        poll(&pf, 1, -1);
        _exit(1);
    }
    /* the parent still runs while the child waits (in the sandbox the wait hung everything) */
    printf("child asleep in poll: %d\n", await_pid_sleeping(p));
    kill(p, SIGKILL);
    int st = 0;
    waitpid(p, &st, 0);
    printf("poll for nothing: child status %#x\n", st);
    struct pollfd pf = {0, POLLIN, 0};
    int r = poll(&pf, 1, 1000);
    printf("poll for POLLIN: %d, revents %#x\n", r, pf.revents);
    pf.events = 0;
    r = poll(&pf, 1, 100);
    printf("poll for nothing, 100 ms: %d, revents %#x\n", r, pf.revents);
}

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "sigtimedwait_chld") == 0) sigtimedwait_chld();
    else if (argc > 1 && strcmp(argv[1], "far_timer") == 0) far_timer();
    else if (argc > 1 && strcmp(argv[1], "poll_unpollable") == 0) poll_unpollable();
    else { fprintf(stderr, "usage: fuzz_found sigtimedwait_chld|far_timer|poll_unpollable\n"); return 2; }
    return 0;
}
