/* SA_RESTART vs EINTR (differential). A blocking call is interrupted by a handled signal
 * that a child (or a timer) sends; with SA_RESTART read/write/wait4/futex-free calls
 * restart, without it they fail with EINTR; nanosleep/poll/select/pause/sigsuspend never
 * restart; signals that are ignored (explicitly or by default) do not interrupt.
 * Usage: proc_restart [child|alarm|itimer] */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void nap(int ms) { struct timespec t = {ms / 1000, (ms % 1000) * 1000000L}; while (nanosleep(&t, &t) == -1 && errno == EINTR); }

static volatile int hits;
static void on_sig(int sig) { hits++; }

static void set_action(int sig, int flags) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sig;
    sa.sa_flags = flags;
    sigaction(sig, &sa, NULL);
}

enum op { OP_READ, OP_WRITE, OP_WAIT4, OP_NANOSLEEP, OP_POLL, OP_SELECT, OP_PAUSE, OP_PSELECT, OP_PPOLL };
static const char *op_names[] = {"read", "write(full pipe)", "wait4", "nanosleep", "poll", "select", "pause",
                                 "pselect+mask", "ppoll+mask"};

/* The child signals the parent after 50 ms, then after 150 ms more makes the call
 * complete (writes a byte, drains the pipe, or exits). */
static void trial(enum op op, int sig, const char *disp, int flags) {
    hits = 0;
    if (!strcmp(disp, "handler")) set_action(sig, flags);
    else signal(sig, !strcmp(disp, "ignore") ? SIG_IGN : SIG_DFL);
    int fds[2];
    pipe(fds);
    if (op == OP_WRITE) {
        fcntl(fds[1], F_SETFL, O_NONBLOCK);
        char blob[4096];
        memset(blob, 'x', sizeof blob);
        while (write(fds[1], blob, sizeof blob) > 0) {}
        while (write(fds[1], blob, 1) > 0) {}
        fcntl(fds[1], F_SETFL, 0);
    }
    /* pselect/ppoll: the signal is blocked except during the call (make's jobserver loop) */
    sigset_t blocked, during;
    sigemptyset(&blocked);
    sigaddset(&blocked, sig);
    sigemptyset(&during);
    if (op == OP_PSELECT || op == OP_PPOLL) sigprocmask(SIG_BLOCK, &blocked, NULL);
    pid_t parent = getpid();
    pid_t c = fork();
    if (c == 0) {
        nap(50);
        kill(parent, sig);
        nap(150);
        if (op == OP_WRITE) { char buf[65536]; read(fds[0], buf, sizeof buf); }
        else write(fds[1], "y", 1);
        nap(op == OP_WAIT4 ? 0 : 300);
        _exit(0);
    }
    errno = 0;
    long r;
    char c1;
    struct pollfd pfd = {fds[0], POLLIN, 0};
    fd_set rs;
    struct timespec ts = {2, 0}, rem = {0, 0};
    struct timeval tv = {2, 0};
    switch (op) {
    case OP_READ: r = read(fds[0], &c1, 1); break;
    case OP_WRITE: r = write(fds[1], "z", 1); break;
    case OP_WAIT4: { int st; r = waitpid(c, &st, 0); if (r == c) r = 1; c = -1; break; }
    case OP_NANOSLEEP: r = nanosleep(&ts, &rem); break;
    case OP_POLL: r = poll(&pfd, 1, 2000); break;
    case OP_SELECT: FD_ZERO(&rs); FD_SET(fds[0], &rs); r = select(fds[0] + 1, &rs, NULL, NULL, &tv); break;
    case OP_PAUSE: r = pause(); break;
    case OP_PSELECT: FD_ZERO(&rs); FD_SET(fds[0], &rs); r = pselect(fds[0] + 1, &rs, NULL, NULL, &ts, &during); break;
    case OP_PPOLL: r = ppoll(&pfd, 1, &ts, &during); break;
    }
    int e0 = errno;
    if (op == OP_PSELECT || op == OP_PPOLL) {
        sigset_t now;
        sigprocmask(SIG_SETMASK, NULL, &now);
        printf("(mask restored after call: %d) ", sigismember(&now, sig));
        sigprocmask(SIG_UNBLOCK, &blocked, NULL);
    }
    errno = e0;
    int e = errno;
    printf("%-16s sig=%d %-7s %-10s -> %ld errno=%d hits=%d", op_names[op], sig, disp,
           flags & SA_RESTART ? "SA_RESTART" : "", r, r == -1 ? e : 0, hits);
    if (op == OP_NANOSLEEP && r == -1) printf(" rem_ok=%d", rem.tv_sec < 2 && (rem.tv_sec > 0 || rem.tv_nsec > 0));
    printf("\n");
    if (c > 0) { kill(c, SIGKILL); waitpid(c, NULL, 0); }
    close(fds[0]);
    close(fds[1]);
    signal(sig, SIG_DFL);
}

static void by_child(void) {
    enum op restartable[] = {OP_READ, OP_WRITE, OP_WAIT4};
    for (int i = 0; i < 3; i++) {
        trial(restartable[i], SIGUSR1, "handler", SA_RESTART);
        trial(restartable[i], SIGUSR1, "handler", 0);
    }
    enum op never[] = {OP_NANOSLEEP, OP_POLL, OP_SELECT, OP_PAUSE, OP_PSELECT, OP_PPOLL};
    for (int i = 0; i < 6; i++) trial(never[i], SIGUSR1, "handler", SA_RESTART);
    trial(OP_PSELECT, SIGCHLD, "handler", SA_RESTART);   /* make -j's pattern */
    trial(OP_READ, SIGUSR1, "ignore", 0);
    trial(OP_READ, SIGCHLD, "default", 0);
    trial(OP_READ, SIGWINCH, "default", 0);
    trial(OP_POLL, SIGURG, "default", 0);
}

/* Timer-driven: alarm(1) or a 100 ms ITIMER_REAL interrupts a read on an empty pipe. */
static void by_timer(int use_alarm) {
    for (int restart = 0; restart < 2; restart++) {
        hits = 0;
        set_action(SIGALRM, restart ? SA_RESTART : 0);
        int fds[2];
        pipe(fds);
        pid_t c = fork();
        if (c == 0) { nap(use_alarm ? 1500 : 400); write(fds[1], "y", 1); nap(500); _exit(0); }
        if (use_alarm) {
            printf("alarm(5) first returns %u\n", alarm(5));
            unsigned left = alarm(1);
            printf("alarm(1) replaces it, returned %d\n", left >= 4 && left <= 5);
        } else {
            struct itimerval it = {{0, 0}, {0, 100000}}, old;
            printf("setitimer: %d\n", setitimer(ITIMER_REAL, &it, &old));
            struct itimerval now;
            getitimer(ITIMER_REAL, &now);
            printf("getitimer armed: %d\n", now.it_value.tv_sec == 0 && now.it_value.tv_usec > 0);
        }
        char b;
        errno = 0;
        long r = read(fds[0], &b, 1);
        printf("%s read %s -> %ld errno=%d hits=%d\n", use_alarm ? "alarm" : "itimer",
               restart ? "SA_RESTART" : "no restart", r, r == -1 ? errno : 0, hits);
        kill(c, SIGKILL);
        waitpid(c, NULL, 0);
        close(fds[0]);
        close(fds[1]);
    }
    if (!use_alarm) {
        /* periodic timer: three ticks, then disarm */
        hits = 0;
        set_action(SIGALRM, 0);
        struct itimerval it = {{0, 20000}, {0, 20000}};
        setitimer(ITIMER_REAL, &it, NULL);
        while (hits < 3) pause();
        struct itimerval off = {{0, 0}, {0, 0}};
        setitimer(ITIMER_REAL, &off, NULL);
        printf("periodic itimer ticks >= 3: %d\n", hits >= 3);
    } else {
        printf("alarm(0) with none pending: %u\n", alarm(0));
        /* default SIGALRM terminates */
        pid_t c = fork();
        if (c == 0) { signal(SIGALRM, SIG_DFL); alarm(1); pause(); _exit(0); }
        int st;
        waitpid(c, &st, 0);
        printf("default SIGALRM: signaled=%d sig=%d\n", WIFSIGNALED(st), WIFSIGNALED(st) ? WTERMSIG(st) : 0);
    }
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    const char *mode = argc > 1 ? argv[1] : "child";
    if (!strcmp(mode, "child")) by_child();
    else if (!strcmp(mode, "alarm")) by_timer(1);
    else by_timer(0);
    printf("done\n");
    return 0;
}
