/* fork/exec/wait (differential): status encoding of exits and deaths by signal, waitid's
 * siginfo, WNOHANG, WNOWAIT, ECHILD, zombies (/proc state Z, kill(pid, 0)), orphans
 * re-parented to a subreaper, SIGCHLD to the parent, SIGCHLD ignored (auto-reap).
 * Only the parent prints; children report through exit statuses and pipes. Nothing
 * printed depends on pid values, only on relations between them. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "await_state.h"

#define SHOW(label, expr) do { errno = 0; long _r = (long)(expr); int _e = errno; \
    printf("%s: %ld errno=%d\n", label, _r, _r == -1 ? _e : 0); } while (0)

static void nap(int ms) { struct timespec t = {ms / 1000, (ms % 1000) * 1000000L}; nanosleep(&t, NULL); }

static void no_core(void) { struct rlimit r = {0, 0}; setrlimit(RLIMIT_CORE, &r); }

static void show_status(const char *what, int st) {
    printf("%s: raw=0x%04x exited=%d code=%d signaled=%d sig=%d core=%d stopped=%d\n", what, st,
           WIFEXITED(st), WIFEXITED(st) ? WEXITSTATUS(st) : -1, WIFSIGNALED(st),
           WIFSIGNALED(st) ? WTERMSIG(st) : -1, WIFSIGNALED(st) ? WCOREDUMP(st) : 0, WIFSTOPPED(st));
}

static void exit_codes(void) {
    int codes[] = {0, 1, 42, 127, 128, 255, 256, 257};
    for (unsigned i = 0; i < sizeof codes / sizeof *codes; i++) {
        pid_t p = fork();
        if (p == 0) _exit(codes[i]);
        int st = -1;
        pid_t w = waitpid(p, &st, 0);
        char label[64];
        snprintf(label, sizeof label, "_exit(%d) same=%d", codes[i], w == p);
        show_status(label, st);
    }
    /* exit() from main's return path and exit_group from a forked child */
    pid_t p = fork();
    if (p == 0) exit(9);
    int st;
    waitpid(p, &st, 0);
    show_status("exit(9)", st);
}

static void deaths(void) {
    int sigs[] = {SIGKILL, SIGTERM, SIGUSR1, SIGHUP, SIGINT, SIGSEGV, SIGABRT, SIGQUIT, SIGRTMIN + 2, SIGPIPE, SIGALRM};
    for (unsigned i = 0; i < sizeof sigs / sizeof *sigs; i++) {
        pid_t p = fork();
        if (p == 0) { no_core(); kill(getpid(), sigs[i]); nap(2000); _exit(99); }
        int st = -1;
        waitpid(p, &st, 0);
        char label[64];
        snprintf(label, sizeof label, "kill self %d", sigs[i]);
        show_status(label, st);
    }
    /* the parent kills a child blocked in read */
    int fds[2];
    pipe(fds);
    pid_t p = fork();
    if (p == 0) { char c; close(fds[1]); read(fds[0], &c, 1); _exit(5); }
    close(fds[0]);
    nap(50);
    kill(p, SIGTERM);
    int st;
    waitpid(p, &st, 0);
    close(fds[1]);
    show_status("parent kills blocked child", st);
    /* a child killed by the signal it had blocked: SIGKILL cannot be blocked */
    p = fork();
    if (p == 0) { sigset_t s; sigfillset(&s); sigprocmask(SIG_BLOCK, &s, NULL); pause(); _exit(6); }
    nap(50);
    kill(p, SIGTERM);   /* blocked: stays pending */
    nap(50);
    SHOW("WNOHANG on child with blocked SIGTERM", waitpid(p, &st, WNOHANG));
    kill(p, SIGKILL);
    waitpid(p, &st, 0);
    show_status("SIGKILL through full mask", st);
}

static void waitid_fields(void) {
    siginfo_t si;
    pid_t p = fork();
    if (p == 0) _exit(3);
    memset(&si, 0, sizeof si);
    SHOW("waitid exited", waitid(P_PID, p, &si, WEXITED));
    printf("  signo=%d code=%d status=%d pid_ok=%d uid_ok=%d\n", si.si_signo, si.si_code, si.si_status,
           si.si_pid == p, si.si_uid == getuid());

    p = fork();
    if (p == 0) { pause(); _exit(1); }
    kill(p, SIGTERM);
    memset(&si, 0, sizeof si);
    SHOW("waitid killed", waitid(P_PID, p, &si, WEXITED));
    printf("  signo=%d code=%d status=%d pid_ok=%d\n", si.si_signo, si.si_code, si.si_status, si.si_pid == p);

    p = fork();
    if (p == 0) { no_core(); *(volatile int *)0 = 1; _exit(1); }
    memset(&si, 0, sizeof si);
    SHOW("waitid segv (no core)", waitid(P_PID, p, &si, WEXITED));
    printf("  signo=%d code=%d status=%d\n", si.si_signo, si.si_code, si.si_status);

    /* WNOWAIT leaves the zombie in place: a second wait still finds it */
    p = fork();
    if (p == 0) _exit(11);
    memset(&si, 0, sizeof si);
    SHOW("waitid WNOWAIT", waitid(P_PID, p, &si, WEXITED | WNOWAIT));
    printf("  status=%d pid_ok=%d\n", si.si_status, si.si_pid == p);
    int st = 0;
    SHOW("then wait4 same", waitpid(p, &st, 0) == p);
    show_status("  after WNOWAIT", st);

    /* WNOHANG with a live child: returns 0, si_pid zeroed */
    int fds[2];
    pipe(fds);
    p = fork();
    if (p == 0) { char c; close(fds[1]); read(fds[0], &c, 1); _exit(4); }
    close(fds[0]);
    memset(&si, 0x5a, sizeof si);
    SHOW("waitid WNOHANG live", waitid(P_PID, p, &si, WEXITED | WNOHANG));
    printf("  si_pid=%d si_signo=%d\n", si.si_pid, si.si_signo);
    SHOW("waitpid WNOHANG live", waitpid(p, &st, WNOHANG));
    SHOW("wait4 WNOHANG any live", wait4(-1, &st, WNOHANG, NULL));
    write(fds[1], "x", 1);
    close(fds[1]);
    SHOW("waitpid blocking", waitpid(p, &st, 0) == p);
    show_status("  released", st);

    /* P_ALL and invalid arguments */
    p = fork();
    if (p == 0) _exit(12);
    memset(&si, 0, sizeof si);
    SHOW("waitid P_ALL", waitid(P_ALL, 0, &si, WEXITED));
    printf("  status=%d pid_ok=%d\n", si.si_status, si.si_pid == p);
    SHOW("waitid no options", waitid(P_ALL, 0, &si, 0));
    SHOW("waitid bad idtype", waitid((idtype_t)42, 0, &si, WEXITED));
    SHOW("wait4 bad options", wait4(-1, &st, 0x40000000, NULL));
}

static void echild(void) {
    int st;
    siginfo_t si;
    SHOW("wait no children", wait(&st));
    SHOW("waitpid stranger", waitpid(1 << 22, &st, 0));
    SHOW("waitpid WNOHANG no children", waitpid(-1, &st, WNOHANG));
    SHOW("waitid no children", waitid(P_ALL, 0, &si, WEXITED));
    SHOW("waitid WNOHANG no children", waitid(P_ALL, 0, &si, WEXITED | WNOHANG));
    /* a grandchild is not ours */
    int fds[2];
    pipe(fds);
    pid_t p = fork();
    if (p == 0) {
        pid_t g = fork();
        if (g == 0) { nap(100); _exit(0); }
        write(fds[1], &g, sizeof g);
        waitpid(g, NULL, 0);
        _exit(0);
    }
    pid_t g;
    read(fds[0], &g, sizeof g);
    SHOW("waitpid grandchild", waitpid(g, &st, WNOHANG));
    waitpid(p, &st, 0);
    close(fds[0]);
    close(fds[1]);
}

static void zombies(void) {
    pid_t p = fork();
    if (p == 0) _exit(21);
    siginfo_t si;
    memset(&si, 0, sizeof si);
    waitid(P_PID, p, &si, WEXITED | WNOWAIT);   /* blocks until it is a zombie */
    printf("zombie state=%c\n", pid_state(p));
    SHOW("kill(zombie, 0)", kill(p, 0));
    SHOW("kill(zombie, SIGKILL)", kill(p, SIGKILL));
    int st;
    SHOW("reap", waitpid(p, &st, 0) == p);
    show_status("  zombie status", st);
    printf("after reap state=%c\n", pid_state(p));
    SHOW("kill(reaped, 0)", kill(p, 0));

    /* many zombies, reaped with wait(-1): codes sum */
    pid_t kids[20];
    for (int i = 0; i < 20; i++) { kids[i] = fork(); if (kids[i] == 0) _exit(i + 1); }
    nap(50);
    int sum = 0, n = 0;
    pid_t w;
    while ((w = wait(&st)) > 0) { sum += WEXITSTATUS(st); n++; }
    printf("reaped %d zombies, code sum %d, then errno=%d\n", n, sum, errno);
}

static void orphans(void) {
    SHOW("PR_SET_CHILD_SUBREAPER", prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0));
    int isr = -1;
    prctl(PR_GET_CHILD_SUBREAPER, &isr, 0, 0, 0);
    printf("is subreaper=%d\n", isr);
    int up[2], down[2];
    pipe(up);
    pipe(down);
    pid_t me = getpid();
    pid_t p = fork();
    if (p == 0) {
        pid_t mid = getpid();
        int sync[2];
        pipe(sync);
        pid_t g = fork();
        if (g == 0) {
            char c;
            int parent_was_mid = getppid() == mid;
            write(sync[1], "s", 1);   /* mid exits only after this check */
            read(down[0], &c, 1);   /* wait until mid is gone */
            for (int i = 0; i < 200 && getppid() == mid; i++) nap(5);
            int ppid_is_reaper = getppid() == me;
            char msg[2] = {(char)('0' + parent_was_mid), (char)('0' + ppid_is_reaper)};
            write(up[1], msg, 2);
            _exit(33);
        }
        char c;
        read(sync[0], &c, 1);
        _exit(22);
    }
    int st;
    waitpid(p, &st, 0);
    show_status("middle child", st);
    write(down[1], "g", 1);
    char msg[2] = {'?', '?'};
    read(up[0], msg, 2);
    printf("grandchild: parent was middle=%c, reparented to subreaper=%c\n", msg[0], msg[1]);
    pid_t w = wait(&st);
    printf("subreaper reaps orphan: %d\n", w > 0 && w != p);
    show_status("  orphan status", st);
    prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0);
}

static volatile sig_atomic_t chld_count, chld_code, chld_pid_ok;
static pid_t chld_expect;
static void on_chld(int sig, siginfo_t *si, void *uc) {
    chld_count++;
    chld_code = si->si_code;
    chld_pid_ok = si->si_pid == chld_expect;
}

static void sigchld(void) {
    struct sigaction sa = {0};
    sa.sa_sigaction = on_chld;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sigaction(SIGCHLD, &sa, NULL);
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGCHLD);
    sigprocmask(SIG_BLOCK, &block, &old);
    chld_expect = fork();
    if (chld_expect == 0) _exit(8);
    int st;
    waitpid(chld_expect, &st, 0);
    sigset_t pend;
    sigpending(&pend);
    printf("SIGCHLD pending after wait=%d\n", sigismember(&pend, SIGCHLD));
    sigprocmask(SIG_SETMASK, &old, NULL);
    printf("SIGCHLD handler ran=%d code=%d (CLD_EXITED=%d) pid_ok=%d\n", chld_count, chld_code, CLD_EXITED, chld_pid_ok);

    chld_count = 0;
    chld_expect = fork();
    if (chld_expect == 0) { pause(); _exit(0); }
    kill(chld_expect, SIGKILL);
    waitpid(chld_expect, &st, 0);
    nap(20);
    printf("SIGCHLD for killed child ran=%d code=%d (CLD_KILLED=%d)\n", chld_count, chld_code, CLD_KILLED);

    /* SIGCHLD ignored: children are reaped automatically and wait() reports ECHILD */
    signal(SIGCHLD, SIG_IGN);
    for (int i = 0; i < 3; i++) if (fork() == 0) _exit(i);
    errno = 0;
    pid_t w = wait(&st);
    printf("wait with SIGCHLD ignored: %d errno=%d\n", w, errno);
    /* SA_NOCLDWAIT with a handler: the same, and the handler still runs */
    sa.sa_flags = SA_SIGINFO | SA_NOCLDWAIT;
    chld_count = 0;
    sigaction(SIGCHLD, &sa, NULL);
    chld_expect = fork();
    if (chld_expect == 0) _exit(1);
    errno = 0;
    w = wait(&st);
    int e = errno;
    nap(20);
    printf("wait with SA_NOCLDWAIT: %d errno=%d handler ran=%d\n", w, e, chld_count);
    /* The same with the parent already asleep in wait when the child exits: the wake-up finds no
     * child left, and ECHILD wins over the pending SIGCHLD (no EINTR; Linux's do_wait rechecks). */
    chld_count = 0;
    chld_expect = fork();
    if (chld_expect == 0) _exit(await_pid_sleeping(getppid()) ? 1 : 99);   /* once the parent waits */
    errno = 0;
    w = waitpid(chld_expect, &st, 0);
    e = errno;
    nap(20);
    printf("waitpid asleep with SA_NOCLDWAIT: %d errno=%d handler ran=%d\n", w, e, chld_count);
    signal(SIGCHLD, SIG_DFL);
}

static void exec_status(const char *self) {
    int st;
    pid_t p = fork();
    if (p == 0) { execl("/bin/sh", "sh", "-c", "exit 7", (char *)0); _exit(100); }
    waitpid(p, &st, 0);
    show_status("exec sh exit 7", st);
    p = fork();
    if (p == 0) { execl(self, self, "exit-by", "15", (char *)0); _exit(100); }
    waitpid(p, &st, 0);
    show_status("exec self, dies by SIGTERM", st);
    p = fork();
    if (p == 0) { execl("/nonexistent/prog", "x", (char *)0); _exit(errno); }
    waitpid(p, &st, 0);
    show_status("exec missing (exit errno)", st);
    p = fork();
    if (p == 0) { execl("/bin/sh", "sh", "-c", "kill -USR2 $$", (char *)0); _exit(100); }
    waitpid(p, &st, 0);
    show_status("sh kill -USR2 $$", st);
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc > 2 && !strcmp(argv[1], "exit-by")) { no_core(); kill(getpid(), atoi(argv[2])); pause(); return 1; }
    exit_codes();
    deaths();
    waitid_fields();
    echild();
    zombies();
    orphans();
    sigchld();
    exec_status(argv[0]);
    printf("done\n");
    return 0;
}
