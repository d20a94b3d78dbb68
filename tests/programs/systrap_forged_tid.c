/* A hostile child against the systrap platform: while its main thread creates threads, another
 * thread writes the host tid of an existing stub thread (its own, which the stub left in its
 * sysmsg) over the answer of the main thread's clone request, so that the Sentry would take
 * the new thread for one it already drives. The Sentry must notice (the process is killed) and
 * carry on serving the parent. Natively (and under ptrace) the sysmsg addresses are unmapped
 * and the child just dies of SIGSEGV; either way the parent reaps it and goes on. */
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define SLOT(i) (0x7FFE40000000UL + (i) * 0x10000UL)   /* thread i's sysmsg; 64 KiB each */
#define RET_OFFSET 96                                   /* the request's answer */
#define TID_OFFSET 176                                  /* the thread's host tid */

static void *forger(void *arg) {
    volatile int32_t *own_tid = (volatile int32_t *)(SLOT(1) + TID_OFFSET);
    volatile int64_t *ret = (volatile int64_t *)(SLOT(0) + RET_OFFSET);
    for (;;)
        *ret = *own_tid;
    return arg;
}

static void *nothing(void *arg) { return arg; }

/* Threads until the process is killed: the forger's write lands between the stub's answer and the
 * Sentry's read only by chance (a fixed 20000 threads missed it once on a fast machine), so the
 * loop ends only at a deadline, which a Sentry that never notices reaches (then signaled=0).
 * BATCH threads live at once: more than the sandbox keeps parked for reuse (8), so that every
 * batch makes clone requests. */
#define BATCH 12
static void child(int deadline) {
    pthread_t f, t[BATCH];
    struct timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    pthread_create(&f, NULL, forger, NULL);
    do {
        int made = 0;
        while (made < BATCH && pthread_create(&t[made], NULL, nothing, NULL) == 0)
            made++;
        while (made > 0)
            pthread_join(t[--made], NULL);
        clock_gettime(CLOCK_MONOTONIC, &now);
    } while (now.tv_sec - start.tv_sec < deadline);
}

/* argv: children (3), seconds each tries before it gives up (30). The forger needs a CPU of its
 * own at the right microsecond, and where the scheduler places a child's threads decides it: a
 * child may land at once or not in minutes. So a child that gives up (exits 0: its forgery never
 * landed) is followed by another, and only the first killed one is reported; none killed at all
 * prints nothing, which differs from the native run (the first child dies there). */
int main(int argc, char **argv) {
    int children = argc > 1 ? atoi(argv[1]) : 3, deadline = argc > 2 ? atoi(argv[2]) : 30;
    for (int round = 0; round < children; round++) {
        fflush(stdout);
        pid_t pid = fork();
        if (pid == 0) {
            child(deadline);
            _exit(0);
        }
        int st;
        pid_t r = waitpid(pid, &st, 0);   /* it dies by itself: SIGSEGV natively, killed here */
        if (r != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
            printf("a child: reaped=%d signaled=%d\n", r == pid, r == pid && WIFSIGNALED(st));
            break;
        }
    }
    printf("parent alive: %s\n", getpid() > 0 ? "ok" : "bad");
    return 0;
}
