/* Threads and futexes (differential): 100 threads on a pthread mutex + condvar, joins
 * through CLONE_CHILD_CLEARTID, a raw clone() whose ctid the kernel clears and wakes,
 * thread ids, tgkill to a chosen thread, a process signal picked up by the one thread
 * that does not block it, the main thread exiting first, exit_group from a thread,
 * futex WAIT/WAKE/REQUEUE/CMP_REQUEUE/WAKE_OP/BITSET/timeouts/errors, a shared futex
 * across fork, robust mutexes whose owner died, joined threads leaving the group, a new
 * thread's FP state. Usage: proc_threads [section] */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define SHOW(label, expr) do { errno = 0; long _r = (long)(expr); int _e = errno; \
    printf("%s: %ld errno=%d\n", label, _r, _r == -1 ? _e : 0); } while (0)

static void nap(int ms) { struct timespec t = {ms / 1000, (ms % 1000) * 1000000L}; nanosleep(&t, NULL); }
static long futex(void *uaddr, int op, int val, void *timeout_or_val2, void *uaddr2, int val3) {
    return syscall(SYS_futex, uaddr, op, val, timeout_or_val2, uaddr2, val3);
}
static pid_t gettid_(void) { return (pid_t)syscall(SYS_gettid); }

/* ---- 100 threads: mutex + condvar ---- */
#define NT 100
#define ITER 1000
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int ready, go;
static long counter;
static pid_t tids[NT];

static void *worker(void *arg) {
    long id = (long)arg;
    tids[id] = gettid_();
    pthread_mutex_lock(&mu);
    ready++;
    pthread_cond_broadcast(&cv);
    while (!go) pthread_cond_wait(&cv, &mu);
    pthread_mutex_unlock(&mu);
    for (int i = 0; i < ITER; i++) {
        pthread_mutex_lock(&mu);
        counter++;
        if ((i & 63) == 0) sched_yield();
        pthread_mutex_unlock(&mu);
    }
    return (void *)(id * 3);
}

static void contention(void) {
    pthread_t th[NT];
    for (long i = 0; i < NT; i++)
        if (pthread_create(&th[i], NULL, worker, (void *)i)) { printf("pthread_create %ld failed\n", i); exit(1); }
    pthread_mutex_lock(&mu);
    while (ready < NT) pthread_cond_wait(&cv, &mu);
    go = 1;
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&mu);
    long sum = 0;
    for (int i = 0; i < NT; i++) { void *r; pthread_join(th[i], &r); sum += (long)r; }
    int distinct = 1;
    for (int i = 0; i < NT; i++) {
        if (tids[i] == getpid() || tids[i] <= 0) distinct = 0;
        for (int j = 0; j < i; j++) if (tids[i] == tids[j]) distinct = 0;
    }
    printf("counter=%ld (want %d) join values sum=%ld tids distinct and not pid=%d\n", counter, NT * ITER, sum, distinct);
}

static void *worker_id(void *arg);

/* ---- raw clone with CLONE_CHILD_CLEARTID ---- */
static volatile int raw_ran;
static volatile pid_t raw_tid_seen, raw_pid_seen;
static int raw_fn(void *arg) {
    raw_tid_seen = (pid_t)syscall(SYS_gettid);
    raw_pid_seen = (pid_t)syscall(SYS_getpid);
    struct timespec t = {0, 50 * 1000000};
    syscall(SYS_nanosleep, &t, NULL);
    raw_ran = 1;
    return 0;   /* glibc's clone() then calls SYS_exit */
}

static void cleartid(void) {
    size_t sz = 256 * 1024;
    char *stack = mmap(NULL, sz, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    static volatile pid_t ptid, ctid;
    ctid = -1;
    int flags = CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD | CLONE_SYSVSEM |
                CLONE_PARENT_SETTID | CLONE_CHILD_CLEARTID | CLONE_CHILD_SETTID;
    int tid = clone(raw_fn, stack + sz, flags, NULL, &ptid, NULL, &ctid);
    printf("clone returned tid==ptid %d, ptid!=pid %d\n", tid == ptid, ptid != getpid());
    /* wait on ctid until the kernel clears it at thread exit */
    int waits = 0;
    while (ctid != 0) {
        pid_t v = ctid;
        if (v == 0) break;
        futex((void *)&ctid, FUTEX_WAIT, v, NULL, NULL, 0);
        waits++;
    }
    printf("ctid cleared=%d thread ran=%d tid seen==tid %d pid seen==pid %d\n", ctid == 0, raw_ran,
           raw_tid_seen == tid, raw_pid_seen == getpid());
    munmap(stack, sz);

    /* set_tid_address returns the caller's tid */
    pid_t dummy;
    printf("set_tid_address returns tid: %d\n", syscall(SYS_set_tid_address, &dummy) == gettid_());

    /* pthread_join of many short-lived threads (each join relies on CLEARTID + futex wake) */
    long ok = 0;
    for (int round = 0; round < 200; round++) {
        pthread_t t;
        pthread_create(&t, NULL, worker_id, (void *)(long)round);
        void *r;
        pthread_join(t, &r);
        ok += (long)r == round;
    }
    printf("200 create+join round trips ok=%ld\n", ok);
}

/* ---- signals and threads ---- */
static volatile pid_t sig_tid;
static volatile int sig_count;
static void note_tid(int sig) { sig_tid = gettid_(); sig_count++; }
static volatile int stop_spin;
static void *spinner(void *arg) {
    int how = (int)(long)arg;   /* 1: block everything; 2: unblock SIGUSR1 (main blocks it) */
    sigset_t s;
    if (how == 1) { sigfillset(&s); pthread_sigmask(SIG_BLOCK, &s, NULL); }
    if (how == 2) { sigemptyset(&s); sigaddset(&s, SIGUSR1); pthread_sigmask(SIG_UNBLOCK, &s, NULL); }
    while (!stop_spin) nap(5);
    return NULL;
}
static pid_t spinner_tid;
static void *spinner_report(void *arg) {
    spinner_tid = gettid_();
    return spinner(arg);
}

/* A spinner thread started with ``mode`` and a process-directed SIGUSR1 meanwhile: the thread
 * that took it (the spinner's own tid stays in spinner_tid). */
static pid_t kill_beside_spinner(void *mode) {
    pthread_t t;
    spinner_tid = 0;
    sig_count = 0;
    stop_spin = 0;
    pthread_create(&t, NULL, spinner_report, mode);
    while (!spinner_tid) nap(1);
    nap(20);
    kill(getpid(), SIGUSR1);
    for (int i = 0; i < 200 && !sig_count; i++) nap(5);
    stop_spin = 1;
    pthread_join(t, NULL);
    return sig_tid;
}

/* In a forked child: a SIGTERM to a spinner thread while the main thread waits in pause (or
 * in nanosleep): it must kill the whole process. */
static void __attribute__((noreturn)) sigterm_to_spinner(int in_nanosleep) {
    pthread_t t2;
    spinner_tid = 0;
    stop_spin = 0;
    pthread_create(&t2, NULL, spinner_report, (void *)0);
    while (!spinner_tid) nap(1);
    syscall(SYS_tgkill, getpid(), spinner_tid, SIGTERM);
    for (;;) {
        if (in_nanosleep)
            nap(5);
        else
            pause();
    }
}

static void thread_signals(void) {
    signal(SIGUSR1, note_tid);
    pthread_t t;
    stop_spin = 0;
    pthread_create(&t, NULL, spinner_report, (void *)0);
    while (!spinner_tid) nap(1);
    syscall(SYS_tgkill, getpid(), spinner_tid, SIGUSR1);
    for (int i = 0; i < 200 && !sig_count; i++) nap(5);
    printf("tgkill reached the chosen thread: %d\n", sig_tid == spinner_tid);
    SHOW("tgkill wrong tgid", syscall(SYS_tgkill, getpid() + 100000, spinner_tid, 0));
    SHOW("tgkill bad tid", syscall(SYS_tgkill, getpid(), -5, SIGUSR1));
    SHOW("tgkill sig 0 probe", syscall(SYS_tgkill, getpid(), spinner_tid, 0));
    stop_spin = 1;
    pthread_join(t, NULL);

    /* the main thread blocks USR1; a process-directed one goes to the other thread */
    sigset_t s, old;
    sigemptyset(&s);
    sigaddset(&s, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, &s, &old);
    printf("kill() went to the unblocked thread: %d\n", kill_beside_spinner((void *)2) == spinner_tid);
    pthread_sigmask(SIG_SETMASK, &old, NULL);

    /* a thread's mask is its own: blocked in the thread, not in main */
    printf("kill() went to main when the thread blocks all: %d\n", kill_beside_spinner((void *)1) == getpid());
    signal(SIGUSR1, SIG_DFL);

    /* a fatal signal to one thread kills the whole process */
    pid_t p = fork();
    if (p == 0)
        sigterm_to_spinner(0);
    int st;
    waitpid(p, &st, 0);
    printf("tgkill SIGTERM to a thread kills the process: signaled=%d sig=%d\n", WIFSIGNALED(st), WIFSIGNALED(st) ? WTERMSIG(st) : 0);
    /* the same while the main thread sleeps in nanosleep instead of pause */
    p = fork();
    if (p == 0)
        sigterm_to_spinner(1);
    waitpid(p, &st, 0);
    printf("  ... main in nanosleep: signaled=%d sig=%d\n", WIFSIGNALED(st), WIFSIGNALED(st) ? WTERMSIG(st) : 0);
}

/* ---- exits ---- */
static void *late_exit(void *arg) { nap(100); printf("  worker still running after main's pthread_exit\n"); fflush(stdout); exit(5); }
static void *group_exit(void *arg) { nap(50); syscall(SYS_exit_group, 6); return NULL; }
static void *plain_exit(void *arg) { nap(50); return NULL; }
static void *sleeper(void *arg) { for (;;) pause(); }

static void exits(void) {
    int st;
    pid_t p = fork();
    if (p == 0) { pthread_t t; pthread_create(&t, NULL, late_exit, NULL); pthread_exit(NULL); }
    waitpid(p, &st, 0);
    printf("main pthread_exit, worker exit(5): code=%d\n", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
    p = fork();
    if (p == 0) { pthread_t t; pthread_create(&t, NULL, plain_exit, NULL); pthread_exit(NULL); }
    waitpid(p, &st, 0);
    printf("all threads pthread_exit: exited=%d code=%d\n", WIFEXITED(st), WIFEXITED(st) ? WEXITSTATUS(st) : -1);
    p = fork();
    if (p == 0) {
        pthread_t t;
        for (int i = 0; i < 5; i++) pthread_create(&t, NULL, sleeper, NULL);
        pthread_create(&t, NULL, group_exit, NULL);
        for (;;) pause();
    }
    waitpid(p, &st, 0);
    printf("exit_group(6) from a thread: code=%d\n", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
    /* /proc/self/task counts threads */
    pthread_t t[3];
    stop_spin = 0;
    for (int i = 0; i < 3; i++) pthread_create(&t[i], NULL, spinner, (void *)0);
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    int threads = -1;
    while (f && fgets(line, sizeof line, f)) if (!strncmp(line, "Threads:", 8)) threads = atoi(line + 8);
    if (f) fclose(f);
    printf("Threads: %d\n", threads);
    stop_spin = 1;
    for (int i = 0; i < 3; i++) pthread_join(t[i], NULL);
}

/* ---- futex operations ---- */
static int f1, f2;
static atomic_int waiting, woke;
static void *waiter(void *arg) {
    atomic_fetch_add(&waiting, 1);
    while (__atomic_load_n(&f1, __ATOMIC_SEQ_CST) == 0) futex(&f1, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0);
    atomic_fetch_add(&woke, 1);
    return NULL;
}

static void futex_ops(void) {
    int v = 5;
    struct timespec short_t = {0, 20 * 1000000};
    SHOW("WAIT wrong value", futex(&v, FUTEX_WAIT_PRIVATE, 4, NULL, NULL, 0));
    SHOW("WAIT timeout", futex(&v, FUTEX_WAIT_PRIVATE, 5, &short_t, NULL, 0));
    SHOW("WAKE nobody", futex(&v, FUTEX_WAKE_PRIVATE, 10, NULL, NULL, 0));
    SHOW("WAIT bad address", futex((void *)8, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0));
    SHOW("WAIT unaligned", futex((char *)&v + 1, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0));
    struct timespec bad = {0, 2000000000L};
    SHOW("WAIT bad timeout", futex(&v, FUTEX_WAIT_PRIVATE, 5, &bad, NULL, 0));
    SHOW("bad op", futex(&v, 99, 0, NULL, NULL, 0));
    SHOW("WAIT_BITSET bitset 0", futex(&v, FUTEX_WAIT_BITSET_PRIVATE, 5, NULL, NULL, 0));
    struct timespec abs;
    clock_gettime(CLOCK_MONOTONIC, &abs);
    abs.tv_nsec += 20 * 1000000;
    if (abs.tv_nsec >= 1000000000) { abs.tv_sec++; abs.tv_nsec -= 1000000000; }
    SHOW("WAIT_BITSET absolute monotonic timeout", futex(&v, FUTEX_WAIT_BITSET_PRIVATE, 5, &abs, NULL, FUTEX_BITSET_MATCH_ANY));
    clock_gettime(CLOCK_REALTIME, &abs);
    abs.tv_nsec += 20 * 1000000;
    if (abs.tv_nsec >= 1000000000) { abs.tv_sec++; abs.tv_nsec -= 1000000000; }
    SHOW("WAIT_BITSET absolute realtime timeout", futex(&v, FUTEX_WAIT_BITSET_PRIVATE | FUTEX_CLOCK_REALTIME, 5, &abs, NULL, FUTEX_BITSET_MATCH_ANY));

    /* CMP_REQUEUE: 4 waiters on f1; wake 1, move the rest to f2 */
    pthread_t th[4];
    for (int i = 0; i < 4; i++) pthread_create(&th[i], NULL, waiter, NULL);
    while (atomic_load(&waiting) < 4) nap(1);
    nap(100);
    SHOW("CMP_REQUEUE wrong val", futex(&f1, FUTEX_CMP_REQUEUE_PRIVATE, 1, (void *)(long)INT_MAX, &f2, 7));
    SHOW("CMP_REQUEUE woke+moved", futex(&f1, FUTEX_CMP_REQUEUE_PRIVATE, 1, (void *)(long)INT_MAX, &f2, 0));
    nap(50);
    printf("  woke so far: %d\n", atomic_load(&woke));   /* the woken one sees f1==0 and waits again */
    SHOW("WAKE on f1 (requeued ones are not there)", futex(&f1, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0));
    __atomic_store_n(&f1, 1, __ATOMIC_SEQ_CST);
    SHOW("WAKE on f2", futex(&f2, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0));
    futex(&f1, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
    for (int i = 0; i < 4; i++) pthread_join(th[i], NULL);
    printf("  all woke: %d\n", atomic_load(&woke));

    /* WAKE_OP: *f2 = 1 (SET), wake one on f1, and one on f2 if old f2 == 0 */
    f1 = 0; f2 = 0;
    atomic_store(&waiting, 0);
    atomic_store(&woke, 0);
    pthread_create(&th[0], NULL, waiter, NULL);
    while (atomic_load(&waiting) < 1) nap(1);
    nap(50);
    __atomic_store_n(&f1, 1, __ATOMIC_SEQ_CST);
    int op = FUTEX_OP(FUTEX_OP_SET, 1, FUTEX_OP_CMP_EQ, 0);
    SHOW("WAKE_OP", futex(&f1, FUTEX_WAKE_OP_PRIVATE, 1, (void *)1L, &f2, op));
    printf("  f2 after op=%d\n", f2);
    pthread_join(th[0], NULL);

    /* WAKE_BITSET only wakes matching waiters */
    f1 = 0;
    SHOW("WAKE_BITSET nobody", futex(&f1, FUTEX_WAKE_BITSET_PRIVATE, 1, NULL, NULL, 0x1));
    SHOW("WAKE_BITSET bitset 0", futex(&f1, FUTEX_WAKE_BITSET_PRIVATE, 1, NULL, NULL, 0));

    /* shared futex across fork */
    int *shared = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    *shared = 0;
    pid_t p = fork();
    if (p == 0) {
        while (__atomic_load_n(shared, __ATOMIC_SEQ_CST) == 0) futex(shared, FUTEX_WAIT, 0, NULL, NULL, 0);
        _exit(__atomic_load_n(shared, __ATOMIC_SEQ_CST));
    }
    nap(100);
    __atomic_store_n(shared, 9, __ATOMIC_SEQ_CST);
    long n = futex(shared, FUTEX_WAKE, 1, NULL, NULL, 0);
    int st;
    waitpid(p, &st, 0);
    printf("shared futex across fork: woke=%ld child saw=%d\n", n, WEXITSTATUS(st));
    /* the private flavour must not cross processes */
    *shared = 0;
    p = fork();
    if (p == 0) {
        struct timespec t = {0, 300 * 1000000};
        long r = futex(shared, FUTEX_WAIT_PRIVATE, 0, &t, NULL, 0);
        _exit(r == -1 && errno == ETIMEDOUT ? 1 : 2);
    }
    nap(100);
    n = futex(shared, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
    waitpid(p, &st, 0);
    printf("private futex does not cross fork: woke=%ld child timed out=%d\n", n, WEXITSTATUS(st) == 1);
}

/* ---- robust mutexes ---- */
static pthread_mutex_t robust;
static void *die_holding(void *arg) { pthread_mutex_lock(&robust); return NULL; }

static void robust_mutexes(void) {
    pthread_mutexattr_t a;
    pthread_mutexattr_init(&a);
    pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
    pthread_mutex_init(&robust, &a);
    pthread_t t;
    pthread_create(&t, NULL, die_holding, NULL);
    pthread_join(t, NULL);
    int r = pthread_mutex_lock(&robust);
    printf("lock after owner thread died: %s\n", r == EOWNERDEAD ? "EOWNERDEAD" : r == 0 ? "0" : "other");
    pthread_mutex_consistent(&robust);
    pthread_mutex_unlock(&robust);

    /* process-shared robust mutex, owner process dies */
    pthread_mutex_t *m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
    pthread_mutex_init(m, &a);
    pid_t p = fork();
    if (p == 0) { pthread_mutex_lock(m); _exit(0); }
    waitpid(p, NULL, 0);
    r = pthread_mutex_lock(m);
    printf("lock after owner process died: %s\n", r == EOWNERDEAD ? "EOWNERDEAD" : r == 0 ? "0" : "other");
    /* a waiter blocked in the kernel is woken when the owner dies */
    pthread_mutex_consistent(m);
    pthread_mutex_unlock(m);
    p = fork();
    if (p == 0) { pthread_mutex_lock(m); nap(200); _exit(0); }
    nap(50);
    r = pthread_mutex_lock(m);   /* blocks until the child exits */
    printf("blocked waiter woken by owner death: %s\n", r == EOWNERDEAD ? "EOWNERDEAD" : r == 0 ? "0" : "other");
    waitpid(p, NULL, 0);
}

static void *worker_id(void *arg) { return arg; }

/* A thread forks and exits while the main thread is blocked reading a pipe into a buffer the
 * fork made copy-on-write; the data (from the child) lands there after the forking thread is
 * gone. Then a thread forks a child that exits, and the thread reaps it and exits. */
static char cow_buf[4096];
static int fork_pipe[2];
static void *fork_and_leave(void *arg) {
    nap(50);   /* the main thread is blocked in read() by now */
    if (fork() == 0) {
        nap(100);   /* the forking thread has exited by now */
        write(fork_pipe[1], "from the child", 14);
        _exit(0);
    }
    return NULL;
}
static void *fork_and_reap(void *arg) {
    pid_t p = fork();
    if (p == 0) _exit(3);
    int st;
    waitpid(p, &st, 0);
    printf("  thread reaped its child: status %d\n", WEXITSTATUS(st));
    return NULL;
}
static void fork_from_thread(void) {
    pipe(fork_pipe);
    pthread_t t;
    pthread_create(&t, NULL, fork_and_leave, NULL);
    pthread_detach(t);
    ssize_t n = read(fork_pipe[0], cow_buf, sizeof cow_buf);
    printf("  main read %zd: %.*s\n", n, (int)(n > 0 ? n : 0), cow_buf);
    while (wait(NULL) > 0) ;
    pthread_create(&t, NULL, fork_and_reap, NULL);
    pthread_join(t, NULL);
    cow_buf[0] = 'X';
    printf("  main wrote its buffer after the thread left: %c\n", cow_buf[0]);
}

/* Joined threads leave the thread group: /proc/self/stat's num_threads (field 20) comes back
 * to 1. Linux releases a thread just after the join's wake-up, so it is polled (bounded). */
static long stat_num_threads(void) {
    char buf[1024];
    FILE *f = fopen("/proc/self/stat", "r");
    if (!f) return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    char *p = strrchr(buf, ')');
    for (int field = 2; p && field < 20; field++)
        p = strchr(p + 1, ' ');
    return p ? strtol(p + 1, NULL, 10) : -1;
}
static void *noop_thread(void *arg) { return arg; }
static void reaped_threads(void) {
    for (int i = 0; i < 50; i++) {
        pthread_t t;
        pthread_create(&t, NULL, noop_thread, NULL);
        pthread_join(t, NULL);
    }
    long n = stat_num_threads();
    for (int tries = 0; n != 1 && tries < 5000; tries++) {
        nap(2);
        n = stat_num_threads();
    }
    printf("  num_threads after 50 joins: %ld\n", n);
}

/* A new thread starts with its creator's FP state, never a finished thread's (the Sentry may give
 * it that thread's stub thread again): each first thread leaves with MXCSR rounding toward zero
 * and all exceptions masked, each second one reports the MXCSR it started with. */
static void *leave_with_odd_mxcsr(void *arg) {
    unsigned m = 0x7f80;
    __asm__ volatile("ldmxcsr %0" : : "m"(m));
    return arg;
}
static void *report_mxcsr(void *arg) {
    __asm__ volatile("stmxcsr %0" : "=m"(*(unsigned *)arg));
    return arg;
}
static void thread_fp_state(void) {
    unsigned seen = 0, odd = 0;
    for (int i = 0; i < 20; i++) {
        pthread_t t;
        pthread_create(&t, NULL, leave_with_odd_mxcsr, NULL);
        pthread_join(t, NULL);
        pthread_create(&t, NULL, report_mxcsr, &seen);
        pthread_join(t, NULL);
        odd += seen != 0x1f80;
    }
    printf("  new threads' MXCSR: %#x, %u of 20 not the creator's\n", seen, odd);
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    const char *only = argc > 1 ? argv[1] : "";
    if (!strcmp(only, "kill_own_thread")) {
        /* Not a section: the process itself (the sandbox's first process) dies by SIGTERM
         * sent to one of its threads while the main thread sleeps. */
        pthread_t t2;
        pthread_create(&t2, NULL, spinner_report, (void *)0);
        while (!spinner_tid) nap(1);
        printf("sending\n");
        syscall(SYS_tgkill, getpid(), spinner_tid, SIGTERM);
        for (;;) nap(5);
    }
#define SECTION(name) if (!*only || !strcmp(only, #name)) { printf("== " #name "\n"); name(); }
    SECTION(contention);
    SECTION(cleartid);
    SECTION(thread_signals);
    SECTION(exits);
    SECTION(futex_ops);
    SECTION(robust_mutexes);
    SECTION(fork_from_thread);
    SECTION(reaped_threads);
    SECTION(thread_fp_state);
    printf("done\n");
    return 0;
}
