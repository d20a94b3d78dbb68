/* Stress (differential): usage proc_stress futex|forks|storm|spawnmany
 *   futex:  100 threads contend on a raw futex lock (and a pthread mutex), 2000 increments each
 *   forks:  500 children forked, each exits with i % 256, reaped in order and with wait(-1)
 *   storm:  one thread sends 10,000 SIGUSR1 and 10,000 real-time signals to another; standard
 *           signals coalesce (1 <= received <= sent), every queued RT one arrives in order
 *   spawnmany: 50 threads each fork+exec /bin/true concurrently */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long futex(void *uaddr, int op, int val) { return syscall(SYS_futex, uaddr, op, val, NULL, NULL, 0); }

/* A Drepper-style futex mutex: 0 free, 1 locked, 2 locked with waiters. */
static atomic_int lock_word;
static void lock(void) {
    int c = 0;
    if (atomic_compare_exchange_strong(&lock_word, &c, 1)) return;
    if (c != 2) c = atomic_exchange(&lock_word, 2);
    while (c != 0) {
        futex(&lock_word, FUTEX_WAIT_PRIVATE, 2);
        c = atomic_exchange(&lock_word, 2);
    }
}
static void unlock(void) {
    if (atomic_fetch_sub(&lock_word, 1) != 1) {
        atomic_store(&lock_word, 0);
        futex(&lock_word, FUTEX_WAKE_PRIVATE, 1);
    }
}

#define NT 100
#define ITER 2000
static long raw_counter, mutex_counter;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_barrier_t barrier;
static void *contender(void *arg) {
    pthread_barrier_wait(&barrier);
    for (int i = 0; i < ITER; i++) {
        lock();
        raw_counter++;
        unlock();
        if ((i & 7) == 0) {
            pthread_mutex_lock(&mu);
            mutex_counter++;
            pthread_mutex_unlock(&mu);
        }
    }
    return NULL;
}
static void futex_stress(void) {
    pthread_t th[NT];
    pthread_barrier_init(&barrier, NULL, NT);
    for (int i = 0; i < NT; i++)
        if (pthread_create(&th[i], NULL, contender, NULL)) { printf("create failed at %d\n", i); exit(1); }
    for (int i = 0; i < NT; i++) pthread_join(th[i], NULL);
    printf("raw futex lock counter=%ld (want %d), pthread mutex counter=%ld (want %d)\n", raw_counter, NT * ITER,
           mutex_counter, NT * (ITER / 8));
}

static void fork_stress(void) {
    long sum = 0, want = 0, bad = 0;
    for (int i = 0; i < 400; i++) {
        pid_t p = fork();
        if (p < 0) { printf("fork failed at %d errno=%d\n", i, errno); exit(1); }
        if (p == 0) _exit(i % 256);
        int st;
        if (waitpid(p, &st, 0) != p || !WIFEXITED(st)) bad++;
        else sum += WEXITSTATUS(st);
        want += i % 256;
    }
    /* 100 more alive at once, reaped in any order */
    for (int i = 400; i < 500; i++) {
        pid_t p = fork();
        if (p < 0) { printf("fork failed at %d errno=%d\n", i, errno); exit(1); }
        if (p == 0) _exit(i % 256);
        want += i % 256;
    }
    int st, n = 0;
    pid_t w;
    while ((w = wait(&st)) > 0) { n++; if (WIFEXITED(st)) sum += WEXITSTATUS(st); else bad++; }
    printf("500 children: status sum=%ld want=%ld bad=%ld concurrent reaped=%d last errno=%d\n", sum, want, bad, n, errno);
}

static volatile int usr1_count, rt_count, rt_out_of_order, rt_expect;
static void on_usr1(int sig) { usr1_count++; }
static void on_rt(int sig, siginfo_t *si, void *uc) {
    if (si->si_value.sival_int != rt_expect) rt_out_of_order++;
    rt_expect = si->si_value.sival_int + 1;
    rt_count++;
}
static volatile pid_t target_tid;
static volatile int target_stop;
static void *target(void *arg) {
    target_tid = (pid_t)syscall(SYS_gettid);
    while (!target_stop) { struct timespec t = {0, 1000000}; nanosleep(&t, NULL); }
    return NULL;
}
static void storm(void) {
    signal(SIGUSR1, on_usr1);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_rt;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sigaction(SIGRTMIN, &sa, NULL);
    /* the main (sending) thread blocks both, so only the target gets them */
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, SIGUSR1);
    sigaddset(&s, SIGRTMIN);
    pthread_t t;
    pthread_create(&t, NULL, target, NULL);
    pthread_sigmask(SIG_BLOCK, &s, NULL);
    while (!target_tid) usleep(1000);
    int sent = 0, rt_sent = 0, eagain = 0;
    for (int i = 0; i < 10000; i++)
        if (syscall(SYS_tgkill, getpid(), target_tid, SIGUSR1) == 0) sent++;
    for (int i = 0; i < 10000; i++) {
        siginfo_t si;
        memset(&si, 0, sizeof si);
        si.si_signo = SIGRTMIN;
        si.si_code = SI_QUEUE;
        si.si_pid = getpid();
        si.si_uid = getuid();
        si.si_value.sival_int = rt_sent;
        if (syscall(SYS_rt_tgsigqueueinfo, getpid(), target_tid, SIGRTMIN, &si) == 0) rt_sent++;
        else if (errno == EAGAIN) { eagain++; usleep(100); i--; if (eagain > 100000) break; }
        else break;
    }
    /* let the target drain */
    for (int i = 0; i < 2000 && rt_count < rt_sent; i++) usleep(1000);
    usleep(20000);
    target_stop = 1;
    pthread_join(t, NULL);
    printf("USR1: sent=%d received>=1 %d received<=sent %d\n", sent, usr1_count >= 1, usr1_count <= sent);
    printf("RT: sent=%d received=%d out_of_order=%d\n", rt_sent, rt_count, rt_out_of_order);
}

static void *spawner(void *arg) {
    long bad = 0;
    for (int i = 0; i < 4; i++) {
        pid_t p = fork();
        if (p == 0) { execl("/bin/true", "true", (char *)0); _exit(127); }
        int st;
        if (waitpid(p, &st, 0) != p || !WIFEXITED(st) || WEXITSTATUS(st) != 0) bad++;
    }
    return (void *)bad;
}
static void spawnmany(void) {
    pthread_t th[50];
    long bad = 0;
    for (int i = 0; i < 50; i++) pthread_create(&th[i], NULL, spawner, NULL);
    for (int i = 0; i < 50; i++) { void *r; pthread_join(th[i], &r); bad += (long)r; }
    printf("200 fork+exec from 50 threads: bad=%ld\n", bad);
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    const char *m = argc > 1 ? argv[1] : "";
    if (!strcmp(m, "futex")) futex_stress();
    else if (!strcmp(m, "forks")) fork_stress();
    else if (!strcmp(m, "storm")) storm();
    else if (!strcmp(m, "spawnmany")) spawnmany();
    else { fprintf(stderr, "usage: proc_stress futex|forks|storm|spawnmany\n"); return 2; }
    return 0;
}
