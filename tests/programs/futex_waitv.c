/* futex_waitv(2): a thread waits on three futexes at once and learns which one was woken; a
 * value that differs already is EAGAIN; an absolute timeout on either clock is ETIMEDOUT; the
 * argument checks (flags, count, sizes, reserved bits, alignment, bad pointers) in Linux's order. */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include "await_state.h"

static uint32_t words[3];
static struct futex_waitv vec[3];
static pid_t waiter_tid;

static long waitv(struct futex_waitv *v, unsigned n, unsigned flags, struct timespec *ts, int clock) {
    return syscall(SYS_futex_waitv, v, n, flags, ts, clock);
}

static void show(const char *what, long r) {
    printf("%s: %ld %s\n", what, r, r < 0 ? strerrorname_np(errno) : "");
}

static void fill(unsigned flags) {
    for (int i = 0; i < 3; i++) {
        memset(&vec[i], 0, sizeof vec[i]);
        vec[i].uaddr = (uintptr_t)&words[i];
        vec[i].val = words[i];
        vec[i].flags = flags;
    }
}

static void *waiter(void *arg) {
    waiter_tid = gettid();
    long r = waitv(vec, 3, 0, NULL, 0);
    return (void *)r;
}

static void wake_one(int which, unsigned flags) {
    char path[64];
    fill(flags);
    pthread_t th;
    waiter_tid = 0;
    pthread_create(&th, NULL, waiter, NULL);
    while (!__atomic_load_n(&waiter_tid, __ATOMIC_SEQ_CST))
        sched_yield();
    snprintf(path, sizeof path, "/proc/self/task/%d/stat", waiter_tid);
    await_state_within(path, "S", 10000);
    long woken = 0;
    while (woken == 0) {   /* until the waiter is queued: a wake before that finds nobody */
        woken = syscall(SYS_futex, &words[which], FUTEX_WAKE | ((flags & FUTEX_PRIVATE_FLAG) ? FUTEX_PRIVATE_FLAG : 0), 1,
                        NULL, NULL, 0);
        if (woken == 0) sched_yield();
    }
    void *ret;
    pthread_join(th, &ret);
    printf("woke futex %d (flags %#x): waitv returned %ld\n", which, flags, (long)ret);
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    wake_one(1, FUTEX_32 | FUTEX_PRIVATE_FLAG);
    wake_one(2, FUTEX_32);
    wake_one(0, FUTEX_32 | FUTEX_PRIVATE_FLAG);

    fill(FUTEX_32);
    words[1] = 7;
    show("a value that differs", waitv(vec, 3, 0, NULL, 0));
    words[1] = 0;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_nsec += 20 * 1000 * 1000;
    if (ts.tv_nsec >= 1000000000) { ts.tv_sec++; ts.tv_nsec -= 1000000000; }
    show("monotonic timeout", waitv(vec, 3, 0, &ts, CLOCK_MONOTONIC));
    clock_gettime(CLOCK_REALTIME, &ts);
    show("realtime timeout in the past", waitv(vec, 3, 0, &ts, CLOCK_REALTIME));
    show("boottime clock", waitv(vec, 3, 0, &ts, CLOCK_BOOTTIME));
    struct timespec bad = {0, 1000000000};
    show("bad timespec", waitv(vec, 3, 0, &bad, CLOCK_MONOTONIC));
    show("unmapped timespec", waitv(vec, 3, 0, (struct timespec *)8, CLOCK_MONOTONIC));
    show("flags 1", waitv(vec, 3, 1, NULL, 0));
    show("count 0", waitv(vec, 0, 0, NULL, 0));
    show("count 129", waitv(vec, 129, 0, NULL, 0));
    show("NULL vector", waitv(NULL, 1, 0, NULL, 0));
    show("unmapped vector", waitv((struct futex_waitv *)8, 1, 0, NULL, 0));
    fill(0);
    show("size u8", waitv(vec, 3, 0, NULL, 0));
    fill(FUTEX_32 | 0x40);
    show("unknown flag", waitv(vec, 3, 0, NULL, 0));
    fill(FUTEX_32);
    vec[2].__reserved = 1;
    show("reserved set", waitv(vec, 3, 0, NULL, 0));
    fill(FUTEX_32);
    vec[0].val = 1ull << 32;
    show("value past 32 bits", waitv(vec, 3, 0, NULL, 0));
    fill(FUTEX_32);
    vec[1].uaddr += 1;
    show("misaligned address", waitv(vec, 3, 0, NULL, 0));
    fill(FUTEX_32);
    vec[2].uaddr = 8;
    show("unmapped address", waitv(vec, 3, 0, NULL, 0));
    return 0;
}
