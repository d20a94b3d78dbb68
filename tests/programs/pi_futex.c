/* PI futexes (FUTEX_LOCK_PI, LOCK_PI2, TRYLOCK_PI, UNLOCK_PI, WAIT_REQUEUE_PI, CMP_REQUEUE_PI) and the
 * glibc mutexes built on them: one case per argv[1], each printing what it observes (results, errno
 * names, futex words with thread ids spelled by name), run natively and in the sandbox.
 *   errors       raw calls: EDEADLK, EPERM, ESRCH (and the waiters bit it leaves), EFAULT, EINVAL, ENOSYS
 *                (FUTEX_CLOCK_REALTIME on calls without an absolute timeout, FUTEX_WAIT among them)
 *   contention   a PTHREAD_PRIO_INHERIT mutex shared by threads; the word of a contended lock
 *   trylock      trylock and timedlock of a PI mutex held elsewhere; LOCK_PI/LOCK_PI2 timeouts
 *   robust       a robust PI mutex whose owner exits: EOWNERDEAD (with and without a waiter)
 *   owner_exits  a raw PI lock whose owner exits with a waiter: the waiter owns it, OWNER_DIED set
 *   signal       a signal to a LOCK_PI waiter runs its handler and the wait goes on (no EINTR)
 *   cond         pthread_cond_wait/signal/broadcast on a PI mutex
 *   requeue      WAIT_REQUEUE_PI + CMP_REQUEUE_PI: taken at once, or requeued and handed over
 *   requeue_errors  requeue-PI misuse: EINVAL, EAGAIN, ETIMEDOUT, a signal before the requeue
 *   exec_robust  a process that execs holding robust mutexes (plain and PI, shared with its parent):
 *                the parent's next lock is EOWNERDEAD (exec walks the robust list it leaves)
 *   hammer       threads flip the word's bits without end while others lock and unlock it: every call
 *                returns (what it returns depends on the race), nothing spins forever */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#ifndef FUTEX_LOCK_PI2
#define FUTEX_LOCK_PI2 13
#endif

static long fx(void *uaddr, int op, long val, const void *timeout, void *uaddr2, unsigned val3)
{
    return syscall(SYS_futex, uaddr, op, val, timeout, uaddr2, val3);
}

static const char *res(long r) { return r < 0 ? strerrorname_np(errno) : "0"; }

static pid_t tids[8];
static const char *names[8];
static int ntids;

static void name_tid(pid_t tid, const char *name)
{
    tids[ntids] = tid;
    names[ntids++] = name;
}

/* A futex word with its TID spelled as the name of the thread it belongs to. */
static void show(const char *what, unsigned w)
{
    unsigned tid = w & FUTEX_TID_MASK;
    const char *who = NULL;
    for (int i = 0; i < ntids; i++)
        if ((unsigned)tids[i] == tid)
            who = names[i];
    printf("%s: ", what);
    if (who)
        printf("%s", who);
    else
        printf("%u", tid);
    printf("%s%s\n", w & FUTEX_WAITERS ? "|WAITERS" : "", w & FUTEX_OWNER_DIED ? "|OWNER_DIED" : "");
}

/* Wait (bounded) until thread ``tid`` sleeps, i.e. is blocked in the kernel. */
static int wait_blocked(pid_t tid)
{
    char path[64], buf[256];
    snprintf(path, sizeof path, "/proc/self/task/%d/stat", tid);
    for (int i = 0; i < 20000; i++) {
        FILE *f = fopen(path, "r");
        if (f) {
            size_t n = fread(buf, 1, sizeof buf - 1, f);
            fclose(f);
            buf[n] = 0;
            char *p = strrchr(buf, ')');
            if (p && p[1] == ' ' && p[2] == 'S')
                return 0;
        }
        usleep(1000);
    }
    printf("thread %d never blocked\n", tid);
    exit(1);
}

static void abs_in(struct timespec *ts, clockid_t clock, long ms)
{
    clock_gettime(clock, ts);
    ts->tv_nsec += (ms % 1000) * 1000000L;
    ts->tv_sec += ms / 1000 + ts->tv_nsec / 1000000000L;
    ts->tv_nsec %= 1000000000L;
}

/* -- a thread that takes a raw PI lock and holds it until told, or exits holding it ------------ */
struct holder {
    atomic_uint *word;
    int go[2], done[2];
    pid_t tid;
    int exit_holding;
};

static void *holder_main(void *arg)
{
    struct holder *h = arg;
    h->tid = gettid();
    unsigned zero = 0;
    if (!atomic_compare_exchange_strong(h->word, &zero, (unsigned)h->tid))
        printf("holder: lock taken already\n");
    write(h->done[1], "x", 1);
    char c;
    read(h->go[0], &c, 1);
    if (!h->exit_holding)
        printf("holder unlock: %s\n", res(fx(h->word, FUTEX_UNLOCK_PI, 0, NULL, NULL, 0)));
    return NULL;
}

static pthread_t start_holder(struct holder *h, atomic_uint *word, int exit_holding, const char *name)
{
    pthread_t th;
    h->word = word;
    h->exit_holding = exit_holding;
    pipe(h->go);
    pipe(h->done);
    pthread_create(&th, NULL, holder_main, h);
    char c;
    read(h->done[0], &c, 1);
    name_tid(h->tid, name);
    return th;
}

static void release_holder(struct holder *h, pthread_t th)
{
    write(h->go[1], "x", 1);
    pthread_join(th, NULL);
}

static int errors(void)
{
    static atomic_uint w;
    name_tid(gettid(), "main");
    printf("lock free word: %s\n", res(fx(&w, FUTEX_LOCK_PI_PRIVATE, 0, NULL, NULL, 0)));
    show("word", w);
    printf("lock again: %s\n", res(fx(&w, FUTEX_LOCK_PI_PRIVATE, 0, NULL, NULL, 0)));
    printf("trylock again: %s\n", res(fx(&w, FUTEX_TRYLOCK_PI_PRIVATE, 0, NULL, NULL, 0)));
    printf("unlock: %s\n", res(fx(&w, FUTEX_UNLOCK_PI_PRIVATE, 0, NULL, NULL, 0)));
    show("word", w);
    printf("unlock again: %s\n", res(fx(&w, FUTEX_UNLOCK_PI_PRIVATE, 0, NULL, NULL, 0)));
    printf("trylock free word: %s\n", res(fx(&w, FUTEX_TRYLOCK_PI, 0, NULL, NULL, 0)));
    show("word", w);
    printf("unlock (shared): %s\n", res(fx(&w, FUTEX_UNLOCK_PI, 0, NULL, NULL, 0)));

    w = 0x3FFFFFF0;   /* an owner that does not exist */
    printf("lock, no such owner: %s\n", res(fx(&w, FUTEX_LOCK_PI_PRIVATE, 0, NULL, NULL, 0)));
    show("word", w);
    printf("trylock, no such owner: %s\n", res(fx(&w, FUTEX_TRYLOCK_PI_PRIVATE, 0, NULL, NULL, 0)));
    printf("unlock, not ours: %s\n", res(fx(&w, FUTEX_UNLOCK_PI_PRIVATE, 0, NULL, NULL, 0)));
    w = 0;

    printf("lock NULL: %s\n", res(fx(NULL, FUTEX_LOCK_PI_PRIVATE, 0, NULL, NULL, 0)));
    printf("unlock NULL: %s\n", res(fx(NULL, FUTEX_UNLOCK_PI_PRIVATE, 0, NULL, NULL, 0)));
    printf("lock misaligned: %s\n", res(fx((char *)&w + 1, FUTEX_LOCK_PI_PRIVATE, 0, NULL, NULL, 0)));
    unsigned *ro = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    printf("lock read-only: %s\n", res(fx(ro, FUTEX_LOCK_PI_PRIVATE, 0, NULL, NULL, 0)));
    printf("unlock read-only: %s\n", res(fx(ro, FUTEX_UNLOCK_PI_PRIVATE, 0, NULL, NULL, 0)));
    unsigned *gone = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    munmap(gone, 4096);
    printf("lock unmapped (shared): %s\n", res(fx(gone, FUTEX_LOCK_PI, 0, NULL, NULL, 0)));
    struct timespec ts = {0, 0};
    printf("lock with CLOCK_REALTIME flag: %s\n",
           res(fx(&w, FUTEX_LOCK_PI_PRIVATE | FUTEX_CLOCK_REALTIME, 0, &ts, NULL, 0)));
    printf("WAIT with CLOCK_REALTIME flag: %s\n", res(fx(&w, FUTEX_WAIT | FUTEX_CLOCK_REALTIME, 0, &ts, NULL, 0)));
    printf("WAKE with CLOCK_REALTIME flag: %s\n", res(fx(&w, FUTEX_WAKE | FUTEX_CLOCK_REALTIME, 1, NULL, NULL, 0)));
    printf("WAIT with CLOCK_REALTIME flag, bad timeout: %s\n",
           res(fx(&w, FUTEX_WAIT | FUTEX_CLOCK_REALTIME, 0, (void *)8, NULL, 0)));
    ts.tv_nsec = 2000000000L;
    printf("lock2 bad timespec: %s\n", res(fx(&w, FUTEX_LOCK_PI2_PRIVATE, 0, &ts, NULL, 0)));
    printf("lock2 timeout NULL fault: %s\n", res(fx(&w, FUTEX_LOCK_PI2_PRIVATE, 0, (void *)8, NULL, 0)));

    /* An owner that exited without a robust list: the word names a thread that is gone. */
    struct holder h;
    pthread_t th = start_holder(&h, &w, 1, "dead");
    release_holder(&h, th);
    show("word after owner exit", w);
    printf("lock, owner exited: %s\n", res(fx(&w, FUTEX_LOCK_PI_PRIVATE, 0, NULL, NULL, 0)));
    show("word", w);
    return 0;
}

/* -- pthread PI mutexes ----------------------------------------------------------------------- */
static pthread_mutex_t pim;
static long counter;

static void init_pi_mutex(pthread_mutex_t *m, int robust)
{
    pthread_mutexattr_t a;
    pthread_mutexattr_init(&a);
    pthread_mutexattr_setprotocol(&a, PTHREAD_PRIO_INHERIT);
    if (robust)
        pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
    pthread_mutex_init(m, &a);
}

static void *count_main(void *arg)
{
    (void)arg;
    for (int i = 0; i < 200; i++) {
        int r = pthread_mutex_lock(&pim);
        if (r)
            printf("lock: %s\n", strerrorname_np(r));
        long c = counter;
        if (i % 8 == 0)
            sched_yield();
        counter = c + 1;
        pthread_mutex_unlock(&pim);
    }
    return NULL;
}

static void *lock_unlock_main(void *arg)
{
    pthread_mutex_t *m = arg;
    int r = pthread_mutex_lock(m);
    printf("waiter lock: %s\n", r ? strerrorname_np(r) : "0");
    if (r == EOWNERDEAD)
        printf("consistent: %d\n", pthread_mutex_consistent(m));
    pthread_mutex_unlock(m);
    return NULL;
}

static int contention(void)
{
    name_tid(gettid(), "main");
    init_pi_mutex(&pim, 0);
    pthread_t th[4];
    for (int i = 0; i < 4; i++)
        pthread_create(&th[i], NULL, count_main, NULL);
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    printf("counter: %ld\n", counter);

    pthread_mutex_lock(&pim);
    show("held", (unsigned)pim.__data.__lock);
    pthread_t w;
    pthread_create(&w, NULL, lock_unlock_main, &pim);
    /* its tid: wait for the waiters bit, then for it to sleep */
    while (!(pim.__data.__lock & FUTEX_WAITERS))
        usleep(1000);
    show("contended", (unsigned)pim.__data.__lock);
    pthread_mutex_unlock(&pim);
    pthread_join(w, NULL);
    show("after", (unsigned)pim.__data.__lock);
    return 0;
}

static void *trylock_main(void *arg)
{
    (void)arg;
    int r = pthread_mutex_trylock(&pim);
    printf("other thread trylock: %s\n", r ? strerrorname_np(r) : "0");
    struct timespec ts;
    abs_in(&ts, CLOCK_REALTIME, 50);
    r = pthread_mutex_timedlock(&pim, &ts);
    printf("other thread timedlock: %s\n", r ? strerrorname_np(r) : "0");
    unsigned *word = (unsigned *)&pim.__data.__lock;
    abs_in(&ts, CLOCK_REALTIME, 30);
    printf("LOCK_PI, realtime timeout: %s\n", res(fx(word, FUTEX_LOCK_PI_PRIVATE, 0, &ts, NULL, 0)));
    abs_in(&ts, CLOCK_MONOTONIC, 30);
    printf("LOCK_PI2, monotonic timeout: %s\n", res(fx(word, FUTEX_LOCK_PI2_PRIVATE, 0, &ts, NULL, 0)));
    abs_in(&ts, CLOCK_REALTIME, 30);
    printf("LOCK_PI2, realtime timeout: %s\n",
           res(fx(word, FUTEX_LOCK_PI2_PRIVATE | FUTEX_CLOCK_REALTIME, 0, &ts, NULL, 0)));
    ts.tv_sec = 0;
    ts.tv_nsec = 0;
    printf("LOCK_PI2, past timeout: %s\n", res(fx(word, FUTEX_LOCK_PI2_PRIVATE, 0, &ts, NULL, 0)));
    return NULL;
}

static int trylock(void)
{
    name_tid(gettid(), "main");
    init_pi_mutex(&pim, 0);
    printf("trylock: %d\n", pthread_mutex_trylock(&pim));
    pthread_t th;
    pthread_create(&th, NULL, trylock_main, NULL);
    pthread_join(th, NULL);
    show("word", (unsigned)pim.__data.__lock);
    printf("unlock: %d\n", pthread_mutex_unlock(&pim));
    show("word", (unsigned)pim.__data.__lock);
    printf("trylock free: %d\n", pthread_mutex_trylock(&pim));
    printf("unlock: %d\n", pthread_mutex_unlock(&pim));
    return 0;
}

static int exit_pipe[2], locked_pipe[2];

static void *robust_owner_main(void *arg)
{
    pthread_mutex_t *m = arg;
    printf("owner lock: %d\n", pthread_mutex_lock(m));
    write(locked_pipe[1], "x", 1);
    char c;
    read(exit_pipe[0], &c, 1);
    return NULL;   /* exits holding it */
}

static int robust(void)
{
    name_tid(gettid(), "main");
    static pthread_mutex_t m;
    init_pi_mutex(&m, 1);
    pipe(exit_pipe);
    pipe(locked_pipe);
    pthread_t owner;
    char c;
    /* no waiter: the next locker finds the owner died */
    pthread_create(&owner, NULL, robust_owner_main, &m);
    read(locked_pipe[0], &c, 1);
    write(exit_pipe[1], "x", 1);
    pthread_join(owner, NULL);
    show("word after owner exit", (unsigned)m.__data.__lock);
    int r = pthread_mutex_lock(&m);
    printf("lock: %s\n", r ? strerrorname_np(r) : "0");
    printf("consistent: %d\n", pthread_mutex_consistent(&m));
    printf("unlock: %d\n", pthread_mutex_unlock(&m));
    printf("lock again: %d\n", pthread_mutex_lock(&m));
    printf("unlock: %d\n", pthread_mutex_unlock(&m));

    /* a waiter blocked when the owner exits is handed the lock */
    pthread_create(&owner, NULL, robust_owner_main, &m);
    read(locked_pipe[0], &c, 1);
    pthread_t waiter;
    pthread_create(&waiter, NULL, lock_unlock_main, &m);
    while (!(m.__data.__lock & FUTEX_WAITERS))
        usleep(1000);
    write(exit_pipe[1], "x", 1);
    pthread_join(owner, NULL);
    pthread_join(waiter, NULL);
    show("word", (unsigned)m.__data.__lock);
    printf("lock after: %d\n", pthread_mutex_lock(&m));
    printf("unlock: %d\n", pthread_mutex_unlock(&m));
    return 0;
}

static atomic_uint word1;

static void *raw_lock_main(void *arg)
{
    atomic_uint *w = arg;
    long r = fx(w, FUTEX_LOCK_PI_PRIVATE, 0, NULL, NULL, 0);
    printf("waiter LOCK_PI: %s\n", res(r));
    unsigned v = *w;
    printf("waiter owns it: %d\n", (v & FUTEX_TID_MASK) == (unsigned)gettid());
    printf("waiter sees waiters %d owner_died %d\n", !!(v & FUTEX_WAITERS), !!(v & FUTEX_OWNER_DIED));
    printf("waiter UNLOCK_PI: %s\n", res(fx(w, FUTEX_UNLOCK_PI_PRIVATE, 0, NULL, NULL, 0)));
    return NULL;
}

static int owner_exits(void)
{
    name_tid(gettid(), "main");
    struct holder h;
    pthread_t th = start_holder(&h, &word1, 1, "owner");
    pthread_t waiter;
    pthread_create(&waiter, NULL, raw_lock_main, &word1);
    while (!(word1 & FUTEX_WAITERS))
        usleep(1000);
    show("contended", word1);
    release_holder(&h, th);
    pthread_join(waiter, NULL);
    show("word", word1);
    return 0;
}

static volatile sig_atomic_t handled;
static void on_usr1(int sig) { (void)sig; handled++; }

static void *signal_waiter_main(void *arg)
{
    (void)arg;
    long r = fx(&word1, FUTEX_LOCK_PI_PRIVATE, 0, NULL, NULL, 0);
    printf("LOCK_PI after a signal: %s, handler ran %d\n", res(r), (int)handled);
    printf("owns it: %d\n", (word1 & FUTEX_TID_MASK) == (unsigned)gettid());
    fx(&word1, FUTEX_UNLOCK_PI_PRIVATE, 0, NULL, NULL, 0);
    return NULL;
}

static int signal_case(void)
{
    struct sigaction sa = {0};
    sa.sa_handler = on_usr1;   /* no SA_RESTART: LOCK_PI restarts regardless */
    sigaction(SIGUSR1, &sa, NULL);
    unsigned zero = 0;
    atomic_compare_exchange_strong(&word1, &zero, (unsigned)gettid());
    pthread_t th;
    pthread_create(&th, NULL, signal_waiter_main, NULL);
    while (!(word1 & FUTEX_WAITERS))
        usleep(1000);
    pthread_kill(th, SIGUSR1);
    while (!handled)
        usleep(1000);
    long r = fx(&word1, FUTEX_UNLOCK_PI_PRIVATE, 0, NULL, NULL, 0);
    pthread_join(th, NULL);
    printf("main UNLOCK_PI: %s\n", res(r));
    return 0;
}

static pthread_cond_t cv;
static int items, consumed, not_owner;

/* The PI mutex's word names its owner: the caller, once pthread_mutex_lock returned. */
static void check_owner(void)
{
    if ((pim.__data.__lock & FUTEX_TID_MASK) != (unsigned)gettid())
        not_owner++;
}

static void *consumer_main(void *arg)
{
    (void)arg;
    for (;;) {
        pthread_mutex_lock(&pim);
        check_owner();
        while (!items && consumed < 300) {
            pthread_cond_wait(&cv, &pim);
            check_owner();
        }
        if (consumed >= 300) {
            pthread_mutex_unlock(&pim);
            return NULL;
        }
        items--;
        consumed++;
        if (consumed == 300)
            pthread_cond_broadcast(&cv);
        pthread_mutex_unlock(&pim);
    }
}

static int cond(void)
{
    init_pi_mutex(&pim, 0);
    pthread_cond_init(&cv, NULL);
    pthread_t th[3];
    for (int i = 0; i < 3; i++)
        pthread_create(&th[i], NULL, consumer_main, NULL);
    for (int i = 0; i < 300; i++) {
        pthread_mutex_lock(&pim);
        check_owner();
        items++;
        pthread_cond_signal(&cv);
        pthread_mutex_unlock(&pim);
    }
    for (int i = 0; i < 3; i++)
        pthread_join(th[i], NULL);
    printf("consumed %d, left %d, locked without owning it %d\n", consumed, items, not_owner);
    return 0;
}

/* -- requeue-PI: cond word ``cw``, PI mutex ``mw`` --------------------------------------------- */
static atomic_uint cw, mw;

struct rq_waiter {
    pthread_t th;
    pid_t tid;
    int ready[2];
    const char *name;
    long ret;
    int err;
    unsigned word;
};

static void *rq_main(void *arg)
{
    struct rq_waiter *w = arg;
    w->tid = gettid();
    write(w->ready[1], "x", 1);
    w->ret = fx(&cw, FUTEX_WAIT_REQUEUE_PI_PRIVATE, 0, NULL, &mw, 0);
    w->err = errno;
    w->word = mw;
    if (w->ret == 0)
        fx(&mw, FUTEX_UNLOCK_PI_PRIVATE, 0, NULL, NULL, 0);
    return NULL;
}

static void rq_start(struct rq_waiter *w, const char *name)
{
    w->name = name;
    pipe(w->ready);
    pthread_create(&w->th, NULL, rq_main, w);
    char c;
    read(w->ready[0], &c, 1);
    name_tid(w->tid, name);
    wait_blocked(w->tid);
}

static void rq_join(struct rq_waiter *w)
{
    pthread_join(w->th, NULL);
    printf("%s: %s", w->name, w->ret ? strerrorname_np(w->err) : "0");
    show(", word then", w->word);
}

static long cmp_requeue_pi(int nr_requeue)
{
    return fx(&cw, FUTEX_CMP_REQUEUE_PI_PRIVATE, 1, (void *)(long)nr_requeue, &mw, 0);
}

static int requeue(void)
{
    name_tid(gettid(), "main");
    struct rq_waiter a, b, c;
    /* mutex free, nothing else requeued: the first waiter takes it */
    rq_start(&a, "a");
    rq_start(&b, "b");
    printf("requeue 0, mutex free: %ld\n", cmp_requeue_pi(0));
    rq_join(&a);
    printf("requeue 5, mutex free: %ld\n", cmp_requeue_pi(5));
    rq_join(&b);
    show("mutex", mw);
    /* mutex free, others requeued: the first takes it, FUTEX_WAITERS set, the next waits for it */
    ntids = 1;
    rq_start(&a, "a");
    rq_start(&b, "b");
    printf("requeue 1, mutex free, two waiting: %ld\n", cmp_requeue_pi(1));
    rq_join(&a);
    rq_join(&b);
    show("mutex", mw);
    /* mutex held: everyone is requeued, and unlocking hands it over in order */
    ntids = 1;
    rq_start(&a, "a");
    rq_start(&b, "b");
    rq_start(&c, "c");
    printf("main LOCK_PI: %s\n", res(fx(&mw, FUTEX_LOCK_PI_PRIVATE, 0, NULL, NULL, 0)));
    printf("requeue 1, mutex held: %ld\n", cmp_requeue_pi(1));
    show("mutex", mw);
    printf("requeue INT_MAX, mutex held: %ld\n", cmp_requeue_pi(INT_MAX));
    printf("FUTEX_WAKE on the PI mutex: %s\n", res(fx(&mw, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0)));
    printf("main UNLOCK_PI: %s\n", res(fx(&mw, FUTEX_UNLOCK_PI_PRIVATE, 0, NULL, NULL, 0)));
    rq_join(&a);
    rq_join(&b);
    rq_join(&c);
    show("mutex", mw);
    printf("requeue, nobody waiting: %ld\n", cmp_requeue_pi(1));
    return 0;
}

static int requeue_errors(void)
{
    name_tid(gettid(), "main");
    struct timespec ts;
    printf("WAIT_REQUEUE_PI, value differs: %s\n",
           res(fx(&cw, FUTEX_WAIT_REQUEUE_PI_PRIVATE, 1, NULL, &mw, 0)));
    printf("WAIT_REQUEUE_PI, same futex: %s\n", res(fx(&cw, FUTEX_WAIT_REQUEUE_PI_PRIVATE, 0, NULL, &cw, 0)));
    printf("WAIT_REQUEUE_PI, second NULL: %s\n", res(fx(&cw, FUTEX_WAIT_REQUEUE_PI, 0, NULL, NULL, 0)));
    abs_in(&ts, CLOCK_MONOTONIC, 30);
    printf("WAIT_REQUEUE_PI, timeout: %s\n", res(fx(&cw, FUTEX_WAIT_REQUEUE_PI_PRIVATE, 0, &ts, &mw, 0)));
    abs_in(&ts, CLOCK_REALTIME, 30);
    printf("WAIT_REQUEUE_PI, realtime timeout: %s\n",
           res(fx(&cw, FUTEX_WAIT_REQUEUE_PI_PRIVATE | FUTEX_CLOCK_REALTIME, 0, &ts, &mw, 0)));
    printf("CMP_REQUEUE_PI, wake 2: %s\n", res(fx(&cw, FUTEX_CMP_REQUEUE_PI_PRIVATE, 2, (void *)1, &mw, 0)));
    printf("CMP_REQUEUE_PI, same futex: %s\n", res(fx(&cw, FUTEX_CMP_REQUEUE_PI_PRIVATE, 1, (void *)1, &cw, 0)));
    printf("CMP_REQUEUE_PI, value differs: %s\n",
           res(fx(&cw, FUTEX_CMP_REQUEUE_PI_PRIVATE, 1, (void *)1, &mw, 7)));
    printf("CMP_REQUEUE_PI, negative: %s\n", res(fx(&cw, FUTEX_CMP_REQUEUE_PI_PRIVATE, 1, (void *)-1L, &mw, 0)));

    struct sigaction sa = {0};
    sa.sa_handler = on_usr1;
    sigaction(SIGUSR1, &sa, NULL);
    struct rq_waiter a;
    rq_start(&a, "a");
    printf("FUTEX_WAKE on the cond: %s\n", res(fx(&cw, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0)));
    printf("FUTEX_CMP_REQUEUE on the cond: %s\n",
           res(fx(&cw, FUTEX_CMP_REQUEUE_PRIVATE, 0, (void *)1, &mw, 0)));
    printf("CMP_REQUEUE_PI to another futex: %s\n",
           res(fx(&cw, FUTEX_CMP_REQUEUE_PI_PRIVATE, 1, (void *)1, &word1, 0)));
    /* a signal before the requeue: the handler runs, the wait goes on */
    pthread_kill(a.th, SIGUSR1);
    while (!handled)
        usleep(1000);
    wait_blocked(a.tid);
    /* a signal after the requeue: EAGAIN */
    printf("main LOCK_PI: %s\n", res(fx(&mw, FUTEX_LOCK_PI_PRIVATE, 0, NULL, NULL, 0)));
    printf("requeue, mutex held: %ld\n", cmp_requeue_pi(1));
    show("mutex", mw);
    pthread_kill(a.th, SIGUSR1);
    rq_join(&a);
    printf("handler ran %d\n", (int)handled);
    show("mutex", mw);
    printf("main UNLOCK_PI: %s\n", res(fx(&mw, FUTEX_UNLOCK_PI_PRIVATE, 0, NULL, NULL, 0)));
    show("mutex", mw);
    return 0;
}

static int exec_robust(void)
{
    pthread_mutex_t *m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    for (int i = 0; i < 2; i++) {
        pthread_mutexattr_t a;
        pthread_mutexattr_init(&a);
        pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
        pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
        if (i)
            pthread_mutexattr_setprotocol(&a, PTHREAD_PRIO_INHERIT);
        pthread_mutex_init(&m[i], &a);
    }
    pid_t child = fork();
    if (child == 0) {
        if (pthread_mutex_lock(&m[0]) || pthread_mutex_lock(&m[1]))
            _exit(1);
        execl("/bin/true", "true", (char *)NULL);
        _exit(2);
    }
    int st;
    waitpid(child, &st, 0);
    printf("child: exited %d code %d\n", WIFEXITED(st), WEXITSTATUS(st));
    for (int i = 0; i < 2; i++) {
        printf("%s mutex word: OWNER_DIED %d\n", i ? "PI" : "plain", !!(m[i].__data.__lock & FUTEX_OWNER_DIED));
        struct timespec ts;
        abs_in(&ts, CLOCK_REALTIME, 2000);
        int r = pthread_mutex_timedlock(&m[i], &ts);
        printf("%s mutex: %s\n", i ? "PI" : "plain", r ? strerrorname_np(r) : "0");
    }
    return 0;
}

static atomic_int hammering, flippers;

static void *hammer_main(void *arg)
{
    atomic_uint *w = arg;
    atomic_fetch_add(&flippers, 1);
    while (atomic_load(&hammering))
        atomic_fetch_xor(w, 0x1 | FUTEX_WAITERS);
    return NULL;
}

static void *hammered_main(void *arg)
{
    atomic_uint *w = arg;
    struct timespec ts;
    for (int i = 0; i < 300; i++) {
        abs_in(&ts, CLOCK_MONOTONIC, 1);
        fx(w, FUTEX_LOCK_PI2_PRIVATE, 0, &ts, NULL, 0);
        fx(w, FUTEX_TRYLOCK_PI_PRIVATE, 0, NULL, NULL, 0);
        fx(w, FUTEX_UNLOCK_PI_PRIVATE, 0, NULL, NULL, 0);
    }
    return NULL;
}

static int hammer(void)
{
    static atomic_uint w;
    pthread_t flip[2], lock[2];
    atomic_store(&hammering, 1);
    w = (unsigned)gettid();
    for (int i = 0; i < 2; i++)
        pthread_create(&flip[i], NULL, hammer_main, &w);
    while (atomic_load(&flippers) < 2)
        sched_yield();
    for (int i = 0; i < 2; i++)
        pthread_create(&lock[i], NULL, hammered_main, &w);
    for (int i = 0; i < 2; i++)
        pthread_join(lock[i], NULL);
    atomic_store(&hammering, 0);
    for (int i = 0; i < 2; i++)
        pthread_join(flip[i], NULL);
    printf("every call returned\n");
    return 0;
}

int main(int argc, char **argv)
{
    const char *c = argc > 1 ? argv[1] : "";
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (!strcmp(c, "errors")) return errors();
    if (!strcmp(c, "contention")) return contention();
    if (!strcmp(c, "trylock")) return trylock();
    if (!strcmp(c, "robust")) return robust();
    if (!strcmp(c, "owner_exits")) return owner_exits();
    if (!strcmp(c, "signal")) return signal_case();
    if (!strcmp(c, "cond")) return cond();
    if (!strcmp(c, "requeue")) return requeue();
    if (!strcmp(c, "requeue_errors")) return requeue_errors();
    if (!strcmp(c, "hammer")) return hammer();
    if (!strcmp(c, "exec_robust")) return exec_robust();
    fprintf(stderr, "unknown case %s\n", c);
    return 2;
}
