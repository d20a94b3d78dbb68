/* Operations that depend on who asks get the asking Task, whoever else runs meanwhile
 * (the Sentry passes the Task explicitly; there is no "current task" global):
 *  - /proc/self, /proc/thread-self and /proc/self/stat name the reader, while two processes take
 *    turns through blocking pipe reads;
 *  - a signalfd read that blocked returns the reading thread's signals once it wakes, while
 *    another process runs and reads its own: a process-directed one for the blocked thread, a
 *    thread-directed one for its sibling, the other process's own.
 * Prints only facts that do not depend on pids. */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "await_state.h"

#define ROUNDS 200

static int self_ok(void) {
    char buf[128], want[128];
    ssize_t n = readlink("/proc/self", buf, sizeof buf - 1);
    if (n < 0) return 0;
    buf[n] = 0;
    snprintf(want, sizeof want, "%d", (int)getpid());
    if (strcmp(buf, want)) return 0;
    n = readlink("/proc/thread-self", buf, sizeof buf - 1);
    if (n < 0) return 0;
    buf[n] = 0;
    snprintf(want, sizeof want, "%d/task/%d", (int)getpid(), (int)gettid());
    if (strcmp(buf, want)) return 0;
    FILE *f = fopen("/proc/self/stat", "r");
    int pid = -1;
    if (!f || fscanf(f, "%d", &pid) != 1) pid = -1;
    if (f) fclose(f);
    return pid == getpid();
}

/* Parent and child alternate ROUNDS times; each checks /proc/self on its turn. */
static void proc_self_ping_pong(void) {
    int p2c[2], c2p[2];
    char c = 'x';
    if (pipe(p2c) || pipe(c2p)) exit(10);
    pid_t child = fork();
    if (child == 0) {
        int bad = 0;
        for (int i = 0; i < ROUNDS; i++) {
            if (read(p2c[0], &c, 1) != 1) _exit(11);
            bad += !self_ok();
            if (write(c2p[1], &c, 1) != 1) _exit(12);
        }
        _exit(bad ? 1 : 0);
    }
    int bad = 0, status;
    for (int i = 0; i < ROUNDS; i++) {
        bad += !self_ok();
        if (write(p2c[1], &c, 1) != 1 || read(c2p[0], &c, 1) != 1) exit(13);
    }
    waitpid(child, &status, 0);
    printf("/proc/self in the parent: %s\n", bad ? "FAIL" : "ok");
    printf("/proc/self in the child: %s\n", WIFEXITED(status) && WEXITSTATUS(status) == 0 ? "ok" : "FAIL");
}

/* The int value of one SIGUSR1 read from FD (blocking), or -1. */
static int read_value(int fd) {
    struct signalfd_siginfo si;
    if (read(fd, &si, sizeof si) != sizeof si || si.ssi_signo != SIGUSR1) return -1;
    return si.ssi_int;
}

static int sfd, tid_w;
static int reader_got;

static void *blocked_reader(void *arg) {
    (void)arg;
    int tid = gettid();
    if (write(tid_w, &tid, sizeof tid) != sizeof tid) return NULL;
    reader_got = read_value(sfd);
    return NULL;
}

/* Another process with a SIGUSR1 of its own pending (222): it waits for "go", then runs
 * syscalls while the reader wakes, then reads its signalfd. */
static pid_t start_other_process(int ready_w, int go_r) {
    pid_t pid = fork();
    if (pid) return pid;
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    int fd = signalfd(-1, &set, 0);
    union sigval v = {.sival_int = 222};
    if (fd < 0 || sigqueue(getpid(), SIGUSR1, v)) _exit(20);
    char c = 'r';
    if (write(ready_w, &c, 1) != 1 || read(go_r, &c, 1) != 1) _exit(21);
    for (int i = 0; i < 2000; i++) getppid();
    _exit(read_value(fd) == 222 ? 0 : 1);
}

/* A process whose main thread has a thread-directed SIGUSR1 pending (444) and whose second
 * thread blocks in read(signalfd) until a process-directed one (333) comes. */
static pid_t start_readers(int tid_pipe_w) {
    pid_t pid = fork();
    if (pid) return pid;
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    sfd = signalfd(-1, &set, 0);
    tid_w = tid_pipe_w;
    union sigval mine = {.sival_int = 444};
    pthread_t th;
    if (sfd < 0 || pthread_sigqueue(pthread_self(), SIGUSR1, mine)) _exit(32);
    if (pthread_create(&th, NULL, blocked_reader, NULL)) _exit(33);
    pthread_join(th, NULL);
    int main_got = read_value(sfd);
    _exit((reader_got == 333 ? 0 : 1) | (main_got == 444 ? 0 : 2));
}

static void signalfd_readers(void) {
    int ready[2], go[2], tids[2];
    if (pipe(ready) || pipe(go) || pipe(tids)) exit(30);
    pid_t other = start_other_process(ready[1], go[0]);
    char c;
    int tid;
    if (read(ready[0], &c, 1) != 1) exit(31);
    pid_t proc = start_readers(tids[1]);
    if (read(tids[0], &tid, sizeof tid) != sizeof tid) exit(35);
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/task/%d/stat", (int)proc, tid);
    if (!await_sleeping(path)) exit(36);   /* the reader sleeps in read(signalfd) */
    c = 'g';
    if (write(go[1], &c, 1) != 1) exit(38);
    union sigval v = {.sival_int = 333};
    if (sigqueue(proc, SIGUSR1, v)) exit(39);
    int st_proc, st_other;
    waitpid(proc, &st_proc, 0);
    waitpid(other, &st_other, 0);
    int code = WIFEXITED(st_proc) ? WEXITSTATUS(st_proc) : 99;
    printf("signalfd: the blocked thread reads its process's signal: %s\n", code & 1 ? "FAIL" : "ok");
    printf("signalfd: its sibling reads its own thread's signal: %s\n", code & ~1 ? "FAIL" : "ok");
    printf("signalfd: the other process reads its own: %s\n",
           WIFEXITED(st_other) && WEXITSTATUS(st_other) == 0 ? "ok" : "FAIL");
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    sigprocmask(SIG_BLOCK, &set, NULL);
    proc_self_ping_pong();
    signalfd_readers();
    return 0;
}
