/* Linux AIO through the raw syscalls (no libaio), printed for a native-vs-sandbox comparison:
 * reads, writes, vectors, fsync, eventfd notification, the events' fields, and the errors. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/aio_abi.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <pthread.h>
#include <sched.h>
#include <unistd.h>
#include "await_state.h"

static long r(const char *what, long v) {
    if (v < 0) printf("%s: %s\n", what, strerrorname_np(errno));
    else printf("%s: %ld\n", what, v);
    return v;
}

static aio_context_t ctx;

/* A waiter in io_getevents (no timeout) whose context another thread destroys: Linux wakes it
 * with EINVAL (the context is dead) rather than leaving it asleep forever. */
static aio_context_t doomed;
static pid_t waiter_tid;
static long waiter_result;
static int waiter_errno;

static void *wait_on_doomed(void *arg) {
    struct io_event ev[4];
    waiter_tid = syscall(SYS_gettid);
    waiter_result = syscall(SYS_io_getevents, doomed, 1, 4, ev, NULL);
    waiter_errno = errno;
    return arg;
}

static void destroy_under_a_waiter(void) {
    r("io_setup (to destroy under a waiter)", syscall(SYS_io_setup, 4, &doomed));
    pthread_t t;
    pthread_create(&t, NULL, wait_on_doomed, NULL);
    char path[64];
    while (!__atomic_load_n(&waiter_tid, __ATOMIC_SEQ_CST))
        sched_yield();
    snprintf(path, sizeof path, "/proc/self/task/%d/stat", (int)waiter_tid);
    printf("waiter asleep: %d\n", await_sleeping(path));
    r("destroy under a waiter", syscall(SYS_io_destroy, doomed));
    pthread_join(t, NULL);
    printf("waiter: %ld %s\n", waiter_result, waiter_result < 0 ? strerrorname_np(waiter_errno) : "");
}

static void events(const char *what, long min, long max, struct iocb **which, int n) {
    struct io_event ev[8];
    struct timespec ts = {5, 0};
    long got = syscall(SYS_io_getevents, ctx, min, max, ev, &ts);
    printf("%s: %ld events\n", what, got);
    /* By data: Linux completes an fsync in a worker, so it may come before or after a read. */
    for (long i = 1; i < got; i++)
        for (long j = i; j > 0 && ev[j - 1].data > ev[j].data; j--) {
            struct io_event tmp = ev[j]; ev[j] = ev[j - 1]; ev[j - 1] = tmp;
        }
    for (long i = 0; i < got; i++) {
        int idx = -1;
        for (int j = 0; j < n; j++)
            if ((uintptr_t)which[j] == ev[i].obj) idx = j;
        printf("  data %llu iocb #%d res %lld res2 %lld\n", (unsigned long long)ev[i].data, idx,
               (long long)ev[i].res, (long long)ev[i].res2);
    }
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    char path[] = "/tmp/aio-XXXXXX";
    int fd = mkstemp(path);
    unlink(path);

    aio_context_t bad = 5;
    r("io_setup nonzero ctx", syscall(SYS_io_setup, 4, &bad));
    ctx = 0;
    r("io_setup 0 events", syscall(SYS_io_setup, 0, &ctx));
    r("io_setup", syscall(SYS_io_setup, 8, &ctx));
    printf("ctx set %d\n", ctx != 0);

    char data[] = "hello, asynchronous world";
    char back[64] = {0}, v1[6] = {0}, v2[8] = {0};
    struct iovec iov[2] = {{v1, 5}, {v2, 7}};
    int efd = eventfd(0, EFD_NONBLOCK);
    struct iocb w = {0}, rd = {0}, rv = {0}, sync = {0}, badbuf = {0};
    w.aio_data = 1; w.aio_lio_opcode = IOCB_CMD_PWRITE; w.aio_fildes = fd;
    w.aio_buf = (uintptr_t)data; w.aio_nbytes = sizeof data; w.aio_offset = 10;
    w.aio_flags = IOCB_FLAG_RESFD; w.aio_resfd = efd;
    struct iocb *one[1] = {&w};
    r("submit write", syscall(SYS_io_submit, ctx, 1, one));
    uint64_t count = 0;
    read(efd, &count, 8);
    printf("eventfd count %llu\n", (unsigned long long)count);
    events("after write", 1, 8, one, 1);

    rd.aio_data = 2; rd.aio_lio_opcode = IOCB_CMD_PREAD; rd.aio_fildes = fd;
    rd.aio_buf = (uintptr_t)back; rd.aio_nbytes = sizeof back; rd.aio_offset = 10;
    rv.aio_data = 3; rv.aio_lio_opcode = IOCB_CMD_PREADV; rv.aio_fildes = fd;
    rv.aio_buf = (uintptr_t)iov; rv.aio_nbytes = 2; rv.aio_offset = 17;
    sync.aio_data = 4; sync.aio_lio_opcode = IOCB_CMD_FSYNC; sync.aio_fildes = fd;
    badbuf.aio_data = 5; badbuf.aio_lio_opcode = IOCB_CMD_PREAD; badbuf.aio_fildes = fd;
    badbuf.aio_buf = 8; badbuf.aio_nbytes = 10; badbuf.aio_offset = 10;
    struct iocb *four[4] = {&rd, &rv, &sync, &badbuf};
    r("submit four", syscall(SYS_io_submit, ctx, 4, four));
    events("after four", 4, 8, four, 4);
    printf("read back '%s', vector '%s' '%s'\n", back, v1, v2);

    struct io_event ev[4];
    struct timespec zero = {0, 0}, shortwait = {0, 20000000};
    r("getevents none, no wait", syscall(SYS_io_getevents, ctx, 0, 4, ev, &zero));
    r("getevents wait for one that never comes", syscall(SYS_io_getevents, ctx, 1, 4, ev, &shortwait));
    r("getevents min > nr", syscall(SYS_io_getevents, ctx, 3, 2, ev, &zero));
    struct timespec badts = {0, 2000000000L};
    r("getevents bad timeout", syscall(SYS_io_getevents, ctx, 0, 4, ev, &badts));
    r("getevents bad ctx", syscall(SYS_io_getevents, 12345, 0, 4, ev, &zero));

    struct iocb op = {0};
    op.aio_lio_opcode = 77; op.aio_fildes = fd;
    struct iocb *bad1[2] = {&op, &rd};
    r("submit bad opcode first", syscall(SYS_io_submit, ctx, 2, bad1));
    struct iocb *bad2[2] = {&rd, &op};
    r("submit bad opcode second", syscall(SYS_io_submit, ctx, 2, bad2));
    events("the one that went", 1, 8, bad2, 2);
    struct iocb nofd = rd;
    nofd.aio_fildes = 999;
    struct iocb *bad3[1] = {&nofd};
    r("submit bad fd", syscall(SYS_io_submit, ctx, 1, bad3));
    struct iocb ro = w;
    int rofd = open("/proc/self/exe", O_RDONLY);
    ro.aio_fildes = rofd; ro.aio_flags = 0;
    struct iocb *bad4[1] = {&ro};
    r("submit write to a read-only fd", syscall(SYS_io_submit, ctx, 1, bad4));
    struct iocb resv = rd;
    resv.aio_reserved2 = 1;
    struct iocb *bad5[1] = {&resv};
    r("submit reserved field", syscall(SYS_io_submit, ctx, 1, bad5));
    r("submit negative count", syscall(SYS_io_submit, ctx, -1, bad5));
    r("submit zero", syscall(SYS_io_submit, ctx, 0, bad5));
    struct io_event res;
    r("cancel completed", syscall(SYS_io_cancel, ctx, &rd, &res));
    r("destroy", syscall(SYS_io_destroy, ctx));
    r("destroy again", syscall(SYS_io_destroy, ctx));
    r("submit after destroy", syscall(SYS_io_submit, ctx, 1, one));
    destroy_under_a_waiter();
    return 0;
}
