/* Scheduling policies as recorded and reported: sched_setscheduler/setparam/setattr and their
 * getters, sched_rr_get_interval, SCHED_RESET_ON_FORK, and the unprivileged rules (RLIMIT_RTPRIO,
 * no SCHED_DEADLINE, no clearing reset-on-fork, only one's own processes). */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

struct attr { uint32_t size, policy; uint64_t flags; int32_t nice; uint32_t prio; uint64_t runtime, deadline, period; uint32_t umin, umax; };
#ifndef SCHED_DEADLINE
#define SCHED_DEADLINE 6
#endif

static void show(const char *w, long r) {
    if (r < 0) printf("%s: -1 %s\n", w, strerrorname_np(errno));
    else printf("%s: %ld\n", w, r);
    fflush(stdout);
}

static int set(int policy, int prio) {
    struct sched_param p = {prio};
    return sched_setscheduler(0, policy, &p);
}

static int set_attr(int policy, int prio, int nice, uint64_t flags, uint64_t rt, uint64_t dl, uint64_t per) {
    struct attr a = {sizeof a, policy, flags, nice, prio, rt, dl, per, 0, 0};
    return syscall(SYS_sched_setattr, 0, &a, 0);
}

static void report(const char *what) {
    struct sched_param p = {-1};
    struct attr a;
    struct timespec ts;
    sched_getparam(0, &p);
    syscall(SYS_sched_getattr, 0, &a, sizeof a, 0);
    sched_rr_get_interval(0, &ts);
    long rr = ts.tv_sec * 1000000000L + ts.tv_nsec;
    if (a.policy != SCHED_DEADLINE) a.runtime = 0;   /* a fair task's is its slice: the host's */
    printf("%s: policy %#x param %d | attr policy %u flags %llu nice %d prio %u dl %llu/%llu/%llu | rr %s\n", what,
           sched_getscheduler(0), p.sched_priority, a.policy, (unsigned long long)a.flags, a.nice, a.prio,
           (unsigned long long)a.runtime, (unsigned long long)a.deadline, (unsigned long long)a.period,
           rr == 100000000 ? "100ms" : rr == 0 ? "0" : "other");
    fflush(stdout);
}

static void privileged(void) {
    show("fifo 10", set(SCHED_FIFO, 10));
    report("fifo");
    struct sched_param p = {30};
    show("setparam 30", sched_setparam(0, &p));
    report("fifo 30");
    show("rr 20", set(SCHED_RR, 20));
    report("rr");
    show("batch", set(SCHED_BATCH, 0));
    report("batch");
    show("idle", set(SCHED_IDLE, 0));
    report("idle");
    show("deadline attr", set_attr(SCHED_DEADLINE, 0, 0, 0, 10000000, 30000000, 30000000));
    report("deadline");
    show("other nice 3", set_attr(SCHED_OTHER, 0, 3, 0, 0, 0, 0));
    report("other");
    show("fifo prio 0", set(SCHED_FIFO, 0));
    show("fifo prio 100", set(SCHED_FIFO, 100));
    show("other prio 1", set(SCHED_OTHER, 1));
    show("policy 4", set(4, 0));
    show("policy 7", set(7, 0));
    show("deadline via setscheduler", set(SCHED_DEADLINE, 0));
    show("deadline runtime > deadline", set_attr(SCHED_DEADLINE, 0, 0, 0, 40000000, 30000000, 30000000));
    show("deadline tiny runtime", set_attr(SCHED_DEADLINE, 0, 0, 0, 100, 30000000, 30000000));
    show("setparam 5 on other", ({ struct sched_param q = {5}; sched_setparam(0, &q); }));
    show("fifo reset-on-fork", set(SCHED_FIFO | SCHED_RESET_ON_FORK, 7));
    report("reset-on-fork");
    pid_t c = fork();
    if (c == 0) { report("  child"); _exit(0); }
    waitpid(c, NULL, 0);
    show("other", set(SCHED_OTHER, 0));
    report("back");
}

static void unprivileged(void) {   /* RLIMIT_RTPRIO stays 0: raising it needs CAP_SYS_RESOURCE */
    if (setresuid(65534, 65534, 65534) < 0) { printf("setresuid failed\n"); return; }
    show("fifo 5", set(SCHED_FIFO, 5));
    show("rr 10", set(SCHED_RR, 10));
    show("deadline", set_attr(SCHED_DEADLINE, 0, 0, 0, 10000000, 30000000, 30000000));
    show("other", set(SCHED_OTHER, 0));
    show("nice -1 by setattr", set_attr(SCHED_OTHER, 0, -1, 0, 0, 0, 0));
    show("nice 2 by setattr", set_attr(SCHED_OTHER, 0, 2, 0, 0, 0, 0));
    show("nice 5 by setattr", set_attr(SCHED_OTHER, 0, 5, 0, 0, 0, 0));
    show("batch reset-on-fork", set(SCHED_BATCH | SCHED_RESET_ON_FORK, 0));
    show("clear reset-on-fork", set(SCHED_BATCH, 0));
    show("idle reset-on-fork", set(SCHED_IDLE | SCHED_RESET_ON_FORK, 0));
    show("idle to batch", set(SCHED_BATCH | SCHED_RESET_ON_FORK, 0));
    report("unprivileged");
    struct sched_param p = {0};
    show("parent's", sched_setscheduler(getppid(), SCHED_OTHER, &p));
}

int main(void) {
    report("start");
    privileged();
    pid_t c = fork();
    if (c == 0) { unprivileged(); _exit(0); }
    waitpid(c, NULL, 0);
    show("bad pid", sched_getscheduler(-1));
    show("no such pid", sched_getscheduler(999999));
    return 0;
}
