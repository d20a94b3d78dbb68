/* RLIMIT_SIGPENDING (differential): queued signals are charged to the receiver's user and
   refused past the limit: sigqueue of a real-time signal gets EAGAIN, kill(2) and standard
   signals still arrive (with their information lost), and every process of the user counts. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

static void queue_until_refused(pid_t pid, int sig, const char *what) {
    union sigval v = {.sival_int = 7};
    int sent = 0;
    while (sent < 10 && sigqueue(pid, sig, v) == 0)
        sent++;
    printf("%s: %d queued, then %s\n", what, sent, sent < 10 ? strerrorname_np(errno) : "no refusal");
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    struct rlimit rl = {4, 4};
    if (setrlimit(RLIMIT_SIGPENDING, &rl) != 0) { perror("setrlimit"); return 1; }
    /* The count is per user: become a user no other process has (run as root), so signals
       pending elsewhere on the machine do not count. */
    uid_t uid = 200000 + getpid() % 100000;
    if (setresuid(uid, uid, uid) != 0) { perror("setresuid"); return 1; }
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGRTMIN);
    sigaddset(&set, SIGRTMIN + 1);
    sigaddset(&set, SIGUSR1);
    sigprocmask(SIG_BLOCK, &set, NULL);

    queue_until_refused(getpid(), SIGRTMIN, "own rt queue");
    printf("kill rt past the limit: %d\n", kill(getpid(), SIGRTMIN + 1));
    printf("sigqueue standard past the limit: %d\n", sigqueue(getpid(), SIGUSR1, (union sigval){.sival_int = 9}));
    siginfo_t si;
    sigset_t usr1;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    int got = sigwaitinfo(&usr1, &si);
    printf("standard taken: %d code %d value %d\n", got == SIGUSR1, si.si_code, si.si_value.sival_int);
    sigset_t rt1;
    sigemptyset(&rt1);
    sigaddset(&rt1, SIGRTMIN + 1);
    got = sigwaitinfo(&rt1, &si);
    printf("rt from kill taken: %d code %d\n", got == SIGRTMIN + 1, si.si_code);
    sigset_t rt;
    sigemptyset(&rt);
    sigaddset(&rt, SIGRTMIN);
    got = sigwaitinfo(&rt, &si);
    printf("one taken: %d value %d\n", got == SIGRTMIN, si.si_value.sival_int);
    queue_until_refused(getpid(), SIGRTMIN, "after taking one");
    while (sigtimedwait(&rt, &si, &(struct timespec){0}) == SIGRTMIN) {}

    /* A child of the same user holding queued signals uses up the parent's allowance. */
    int ready[2], done[2];
    pipe(ready);
    pipe(done);
    pid_t child = fork();
    if (child == 0) {
        char c;
        write(ready[1], "r", 1);
        read(done[0], &c, 1);
        _exit(0);
    }
    char c;
    read(ready[0], &c, 1);
    queue_until_refused(child, SIGRTMIN, "child's queue");
    queue_until_refused(getpid(), SIGRTMIN, "own queue while the child holds them");
    write(done[1], "d", 1);
    int status;
    waitpid(child, &status, 0);
    printf("child exited %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    while (sigtimedwait(&rt, &si, &(struct timespec){0}) == SIGRTMIN) {}
    queue_until_refused(getpid(), SIGRTMIN, "own queue after the child is gone");
    return 0;
}
