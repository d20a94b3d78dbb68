/* Processes and threads: fork+exit+wait, fork+exec /bin/true, thread
 * create+join, futex ping-pong between two threads, signal round trip
 * (kill to self, handler, sigreturn).   process CASE TARGET_MS */
#include "bench.h"
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/syscall.h>
#include <sys/wait.h>

static void op_fork(long n, void *arg)
{
    (void)arg;
    for (long i = 0; i < n; i++) {
        pid_t pid = fork();
        if (pid < 0)
            bench_fail("fork");
        if (pid == 0)
            _exit(0);
        int status;
        if (waitpid(pid, &status, 0) != pid)
            bench_fail("waitpid");
    }
}

static void op_fork_exec(long n, void *arg)
{
    (void)arg;
    for (long i = 0; i < n; i++) {
        pid_t pid = fork();
        if (pid < 0)
            bench_fail("fork");
        if (pid == 0) {
            char *args[] = {"/bin/true", NULL};
            execv(args[0], args);
            _exit(127);
        }
        int status;
        if (waitpid(pid, &status, 0) != pid)
            bench_fail("waitpid");
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            fprintf(stderr, "/bin/true failed (status %d)\n", status);
            exit(1);
        }
    }
}

static void *thread_noop(void *arg) { return arg; }

static void op_thread(long n, void *arg)
{
    (void)arg;
    for (long i = 0; i < n; i++) {
        pthread_t t;
        errno = pthread_create(&t, NULL, thread_noop, NULL);
        if (errno)
            bench_fail("pthread_create");
        pthread_join(t, NULL);
    }
}

/* Ping-pong: the word holds whose turn it is (0 main, 1 partner). */
static atomic_int turn;
static long pong_rounds;

static void futex_wait(atomic_int *w, int val)
{
    while (atomic_load(w) == val)
        syscall(SYS_futex, w, FUTEX_WAIT_PRIVATE, val, NULL, NULL, 0);
}

static void futex_pass(atomic_int *w, int to)
{
    atomic_store(w, to);
    syscall(SYS_futex, w, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

static void *partner(void *arg)
{
    (void)arg;
    for (long i = 0; i < pong_rounds; i++) {
        futex_wait(&turn, 0);
        futex_pass(&turn, 0);
    }
    return NULL;
}

static void op_futex(long n, void *arg)
{
    (void)arg;
    pthread_t t;
    atomic_store(&turn, 0);
    pong_rounds = n;
    errno = pthread_create(&t, NULL, partner, NULL);
    if (errno)
        bench_fail("pthread_create");
    for (long i = 0; i < n; i++) {
        futex_pass(&turn, 1);
        futex_wait(&turn, 1);
    }
    pthread_join(t, NULL);
}

static volatile sig_atomic_t caught;
static void on_usr1(int sig) { (void)sig; caught++; }

static void op_signal(long n, void *arg)
{
    (void)arg;
    pid_t self = getpid();
    for (long i = 0; i < n; i++)
        if (kill(self, SIGUSR1) != 0)
            bench_fail("kill");
}

int main(int argc, char **argv)
{
    double target = bench_target_ms(argc, argv, 3);
    const char *c = argv[1];
    if (strcmp(c, "fork_exit_wait") == 0)
        bench_run(op_fork, NULL, target, 0);
    else if (strcmp(c, "fork_exec_true") == 0)
        bench_run(op_fork_exec, NULL, target, 0);
    else if (strcmp(c, "thread_create_join") == 0)
        bench_run(op_thread, NULL, target, 0);
    else if (strcmp(c, "futex_pingpong") == 0)
        bench_run(op_futex, NULL, target, 0);
    else if (strcmp(c, "signal_roundtrip") == 0) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_usr1;
        bench_check(sigaction(SIGUSR1, &sa, NULL) == 0, "sigaction");
        bench_run(op_signal, NULL, target, 0);
        if (caught == 0) {
            fprintf(stderr, "signal handler never ran\n");
            exit(1);
        }
    } else
        bench_unknown_case(c);
    return 0;
}
