/* io_uring through the raw syscalls (no liburing), printed for a native-vs-sandbox comparison:
 * setup's argument checks, the rings' layout as the application sees it, NOP, errors of enter
 * and register, EXT_ARG's timeout, EINTR with enter's signal mask, and a hostile program that
 * scribbles the rings (huge tails, bad SQ indices, a bogus CQ head, bad pointers, bad mmaps):
 * it must get Linux's answers, never a hang. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/io_uring.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <unistd.h>

static long r(const char *what, long v) {
    if (v < 0) printf("%s: %s\n", what, strerrorname_np(errno));
    else printf("%s: %ld\n", what, v);
    return v;
}

static int setup(unsigned entries, struct io_uring_params *p) {
    return syscall(SYS_io_uring_setup, entries, p);
}

static long enter(int fd, unsigned sub, unsigned min, unsigned flags, void *arg, size_t sz) {
    return syscall(SYS_io_uring_enter, fd, sub, min, flags, arg, sz);
}

struct ring {
    int fd;
    struct io_uring_params p;
    unsigned char *sq, *cq;
    struct io_uring_sqe *sqes;
    unsigned *sq_head, *sq_tail, *sq_array, *sq_dropped, *sq_flags;
    unsigned *cq_head, *cq_tail, *cq_overflow;
    struct io_uring_cqe *cqes;
};

static int ring_init(struct ring *rg, unsigned entries) {
    memset(rg, 0, sizeof *rg);
    rg->fd = setup(entries, &rg->p);
    if (rg->fd < 0) return -1;
    struct io_uring_params *p = &rg->p;
    size_t sqsz = p->sq_off.array + p->sq_entries * 4;
    size_t cqsz = p->cq_off.cqes + p->cq_entries * sizeof(struct io_uring_cqe);
    size_t sz = sqsz > cqsz ? sqsz : cqsz;
    rg->sq = mmap(0, sz, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, rg->fd, IORING_OFF_SQ_RING);
    rg->cq = rg->sq;   /* IORING_FEAT_SINGLE_MMAP */
    rg->sqes = mmap(0, p->sq_entries * sizeof(struct io_uring_sqe), PROT_READ | PROT_WRITE,
                    MAP_SHARED | MAP_POPULATE, rg->fd, IORING_OFF_SQES);
    if (rg->sq == MAP_FAILED || rg->sqes == MAP_FAILED) return -1;
    rg->sq_head = (unsigned *)(rg->sq + p->sq_off.head);
    rg->sq_tail = (unsigned *)(rg->sq + p->sq_off.tail);
    rg->sq_array = (unsigned *)(rg->sq + p->sq_off.array);
    rg->sq_dropped = (unsigned *)(rg->sq + p->sq_off.dropped);
    rg->sq_flags = (unsigned *)(rg->sq + p->sq_off.flags);
    rg->cq_head = (unsigned *)(rg->cq + p->cq_off.head);
    rg->cq_tail = (unsigned *)(rg->cq + p->cq_off.tail);
    rg->cq_overflow = (unsigned *)(rg->cq + p->cq_off.overflow);
    rg->cqes = (struct io_uring_cqe *)(rg->cq + p->cq_off.cqes);
    return 0;
}

/* Queue one SQE (slot i of the array names SQE i) and return it, zeroed but for its opcode and
 * user_data. */
static struct io_uring_sqe *next_sqe(struct ring *rg, int opcode, unsigned long long data) {
    unsigned tail = *rg->sq_tail, mask = rg->p.sq_entries - 1;
    struct io_uring_sqe *sqe = &rg->sqes[tail & mask];
    memset(sqe, 0, sizeof *sqe);
    sqe->opcode = opcode;
    sqe->user_data = data;
    rg->sq_array[tail & mask] = tail & mask;
    __atomic_store_n(rg->sq_tail, tail + 1, __ATOMIC_RELEASE);
    return sqe;
}

static void reap(struct ring *rg, const char *what) {
    unsigned head = *rg->cq_head, tail = __atomic_load_n(rg->cq_tail, __ATOMIC_ACQUIRE);
    for (; head != tail; head++) {
        struct io_uring_cqe *c = &rg->cqes[head & (rg->p.cq_entries - 1)];
        printf("%s cqe: data=%llu res=%d flags=%u\n", what, (unsigned long long)c->user_data, c->res, c->flags);
    }
    __atomic_store_n(rg->cq_head, head, __ATOMIC_RELEASE);
}

static void test_setup_args(void) {
    struct io_uring_params p;
    memset(&p, 0, sizeof p);
    r("setup entries=0", setup(0, &p));
    r("setup entries=40000", setup(40000, &p));
    memset(&p, 0, sizeof p);
    p.flags = IORING_SETUP_CLAMP;
    int fd = r("setup clamp ok", setup(40000, &p) >= 0);
    printf("clamped sq=%u cq=%u\n", p.sq_entries, p.cq_entries);
    close(setup(40000, &(struct io_uring_params){.flags = IORING_SETUP_CLAMP}));
    (void)fd;
    memset(&p, 0, sizeof p);
    p.resv[1] = 1;
    r("setup resv", setup(8, &p));
    memset(&p, 0, sizeof p);
    p.flags = IORING_SETUP_CQSIZE;
    r("setup cqsize=0", setup(8, &p));
    memset(&p, 0, sizeof p);
    p.flags = IORING_SETUP_CQSIZE;
    p.cq_entries = 4;
    r("setup cqsize<sq", setup(8, &p));
    memset(&p, 0, sizeof p);
    p.flags = IORING_SETUP_CQSIZE;
    p.cq_entries = 100;
    int cfd = setup(5, &p);
    printf("cqsize: ok=%d sq=%u cq=%u\n", cfd >= 0, p.sq_entries, p.cq_entries);
    close(cfd);
    r("setup bad params pointer", setup(8, (void *)8));
    memset(&p, 0, sizeof p);
    p.flags = 1u << 31;
    r("setup unknown flag", setup(8, &p));
    /* the fd: close-on-exec, named as Linux's */
    memset(&p, 0, sizeof p);
    int f = setup(4, &p);
    char path[64], link[64] = "";
    snprintf(path, sizeof path, "/proc/self/fd/%d", f);
    if (readlink(path, link, sizeof link - 1) < 0) perror("readlink");
    printf("fd link: %s cloexec=%d\n", link, fcntl(f, F_GETFD) & FD_CLOEXEC);
    /* an mmap at an offset that is no ring's */
    /* (EINVAL before Linux 6.10, ENOMEM since: only the failure is compared) */
    void *m = mmap(0, 4096, PROT_READ, MAP_SHARED, f, 0x18000000);
    printf("mmap at no ring fails: %d\n", m == MAP_FAILED);
    close(f);
}

static void test_enter_errors(void) {
    int pfd[2];
    if (pipe(pfd)) perror("pipe");
    r("enter bad fd", enter(999, 0, 0, 0, NULL, 0));
    r("enter on a pipe", enter(pfd[0], 0, 0, 0, NULL, 0));
    r("register on a pipe", syscall(SYS_io_uring_register, pfd[0], IORING_REGISTER_PROBE, NULL, 0));
    r("register bad fd", syscall(SYS_io_uring_register, 999, IORING_REGISTER_PROBE, NULL, 0));
    struct ring rg;
    if (ring_init(&rg, 4)) { perror("ring"); exit(1); }
    r("enter unknown flag", enter(rg.fd, 0, 0, 1u << 20, NULL, 0));
    r("register unknown opcode", syscall(SYS_io_uring_register, rg.fd, 9999, NULL, 0));
    r("unregister files, none", syscall(SYS_io_uring_register, rg.fd, IORING_UNREGISTER_FILES, NULL, 0));
    r("register buffers, bad pointer", syscall(SYS_io_uring_register, rg.fd, IORING_REGISTER_BUFFERS, (void *)8, 1));
    int bad = -5;
    r("register files, bad fd", syscall(SYS_io_uring_register, rg.fd, IORING_REGISTER_FILES, &bad, 1));
    r("register files, the ring", syscall(SYS_io_uring_register, rg.fd, IORING_REGISTER_FILES, &rg.fd, 1));
    r("register eventfd, a pipe", syscall(SYS_io_uring_register, rg.fd, IORING_REGISTER_EVENTFD, &pfd[0], 1));
    /* GETEVENTS: the EXT_ARG timeout, a bad EXT_ARG size, a bad sigmask size */
    struct __kernel_timespec ts = {0, 20 * 1000 * 1000};
    struct io_uring_getevents_arg arg = {.ts = (uint64_t)(uintptr_t)&ts};
    r("wait ext_arg timeout", enter(rg.fd, 0, 1, IORING_ENTER_GETEVENTS | IORING_ENTER_EXT_ARG, &arg, sizeof arg));
    r("wait ext_arg bad size", enter(rg.fd, 0, 1, IORING_ENTER_GETEVENTS | IORING_ENTER_EXT_ARG, &arg, 8));
    r("wait ext_arg bad pointer", enter(rg.fd, 0, 1, IORING_ENTER_GETEVENTS | IORING_ENTER_EXT_ARG, (void *)8, sizeof arg));
    sigset_t set;
    sigemptyset(&set);
    r("wait bad sigset size", enter(rg.fd, 0, 1, IORING_ENTER_GETEVENTS, &set, 4));
    /* NOP, then a wait that finds it at once */
    next_sqe(&rg, IORING_OP_NOP, 7);
    r("submit nop and wait", enter(rg.fd, 1, 1, IORING_ENTER_GETEVENTS, NULL, 0));
    reap(&rg, "nop");
    printf("sq head after: %u\n", *rg.sq_head);
    close(rg.fd);
    close(pfd[0]);
    close(pfd[1]);
    /* a ring set up disabled: enter is EBADFD until IORING_REGISTER_ENABLE_RINGS */
    struct io_uring_params p = {.flags = IORING_SETUP_R_DISABLED};
    int fd = setup(4, &p);
    r("enter on a disabled ring", enter(fd, 0, 0, 0, NULL, 0));
    r("enable with an argument", syscall(SYS_io_uring_register, fd, IORING_REGISTER_ENABLE_RINGS, &p, 0));
    r("enable", syscall(SYS_io_uring_register, fd, IORING_REGISTER_ENABLE_RINGS, NULL, 0));
    r("enable again", syscall(SYS_io_uring_register, fd, IORING_REGISTER_ENABLE_RINGS, NULL, 0));
    r("enter once enabled", enter(fd, 0, 0, 0, NULL, 0));
    close(fd);
    memset(&p, 0, sizeof p);
    p.flags = IORING_SETUP_SQ_AFF;
    r("setup SQ_AFF without SQPOLL", setup(4, &p));
}

static volatile int alarms;
static void on_alarm(int sig) { alarms++; }

/* A wait with no completion coming: a signal unblocked only by enter's mask ends it with EINTR. */
static void test_eintr(void) {
    struct ring rg;
    if (ring_init(&rg, 4)) { perror("ring"); exit(1); }
    struct sigaction sa = {.sa_handler = on_alarm, .sa_flags = SA_RESTART};
    sigaction(SIGALRM, &sa, NULL);
    sigset_t block, during;
    sigemptyset(&block);
    sigaddset(&block, SIGALRM);
    sigprocmask(SIG_BLOCK, &block, NULL);
    sigemptyset(&during);
    struct itimerval it = {{0, 0}, {0, 20000}};
    setitimer(ITIMER_REAL, &it, NULL);
    r("wait, SIGALRM unblocked by the mask", enter(rg.fd, 0, 1, IORING_ENTER_GETEVENTS, &during, 8));
    printf("alarms: %d\n", alarms);
    sigprocmask(SIG_UNBLOCK, &block, NULL);
    close(rg.fd);
}

static void test_hostile(void) {
    struct ring rg;
    if (ring_init(&rg, 8)) { perror("ring"); exit(1); }
    /* a bad index in the SQ array: dropped, and submission stops there */
    next_sqe(&rg, IORING_OP_NOP, 0);
    rg.sq_array[0] = 1000;
    r("submit bad index", enter(rg.fd, 1, 0, 0, NULL, 0));
    printf("dropped=%u head=%u\n", *rg.sq_dropped, *rg.sq_head);
    /* a huge tail: at most sq_entries are consumed per call */
    for (int i = 0; i < 8; i++) {
        memset(&rg.sqes[i], 0, sizeof rg.sqes[i]);
        rg.sqes[i].opcode = IORING_OP_NOP;
        rg.sqes[i].user_data = 100 + i;
        rg.sq_array[i] = i;
    }
    *rg.sq_tail = *rg.sq_head + 1000000;
    r("submit huge tail", enter(rg.fd, 0xFFFFFFFF, 0, 0, NULL, 0));
    printf("head=%u cq tail=%u\n", *rg.sq_head, *rg.cq_tail);
    reap(&rg, "huge tail");
    *rg.sq_tail = *rg.sq_head;   /* back to sanity */
    /* unknown opcode, unknown SQE flag, bad iovecs: each is refused in its CQE and, as Linux 6.x,
     * ends that submission (the later enters take the next one) */
    next_sqe(&rg, 250, 1);
    struct io_uring_sqe *s = next_sqe(&rg, IORING_OP_NOP, 2);
    s->flags = 0x80;
    s = next_sqe(&rg, IORING_OP_READV, 3);
    s->fd = 0;
    s->addr = 8;
    s->len = 1;
    s = next_sqe(&rg, IORING_OP_READV, 4);
    s->fd = 0;
    s->addr = 8;
    s->len = 100000;
    r("submit bad sqes", enter(rg.fd, 4, 0, 0, NULL, 0));
    reap(&rg, "bad sqes");
    /* a CQ head the application moved past the tail: the ring counts as full */
    unsigned tail = *rg.cq_tail;
    *rg.cq_head = tail + 5000;
    next_sqe(&rg, IORING_OP_NOP, 9);
    r("submit with a bogus cq head", enter(rg.fd, 1, 0, 0, NULL, 0));
    printf("cq tail moved: %d\n", *rg.cq_tail != tail);
    *rg.cq_head = tail;
    struct __kernel_timespec ts = {0, 10 * 1000 * 1000};
    struct io_uring_getevents_arg arg = {.ts = (uint64_t)(uintptr_t)&ts};
    r("wait after the head is back", enter(rg.fd, 0, 1, IORING_ENTER_GETEVENTS | IORING_ENTER_EXT_ARG, &arg, sizeof arg));
    reap(&rg, "after");
    /* the application scribbles the ring's mask and entries fields: the kernel keeps its own */
    *(unsigned *)(rg.sq + rg.p.sq_off.ring_mask) = 0xFFFFFFFF;
    *(unsigned *)(rg.sq + rg.p.sq_off.ring_entries) = 0xFFFFFFFF;
    next_sqe(&rg, IORING_OP_NOP, 11);   /* uses our own mask */
    r("submit after scribbling the mask", enter(rg.fd, 1, 1, IORING_ENTER_GETEVENTS, NULL, 0));
    reap(&rg, "scribbled");
    munmap(rg.sqes, 8 * sizeof(struct io_uring_sqe));
    r("submit after unmapping the sqes", enter(rg.fd, 0, 0, 0, NULL, 0));
    close(rg.fd);
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    test_setup_args();
    test_enter_errors();
    test_eintr();
    test_hostile();
    printf("done\n");
    return 0;
}
