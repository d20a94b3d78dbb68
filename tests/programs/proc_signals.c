/* Signal delivery (differential): order and masks (standard signals coalesce, real-time
 * ones queue in order with their values), sigprocmask/sigpending, ignored and blocked
 * signals, nested handlers, sa_mask, SA_SIGINFO fields (SI_USER, SI_TKILL, SI_QUEUE,
 * si_pid, si_uid, si_value), SA_RESETHAND, SA_NODEFER, sigsuspend, sigtimedwait,
 * pause, rt_sigqueueinfo permission, fork inheritance. Usage: proc_signals [section] */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define SHOW(label, expr) do { errno = 0; long _r = (long)(expr); int _e = errno; \
    printf("%s: %ld errno=%d\n", label, _r, _r == -1 ? _e : 0); } while (0)

static void nap(int ms) { struct timespec t = {ms / 1000, (ms % 1000) * 1000000L}; nanosleep(&t, NULL); }

/* A log the handlers append to; printed by main. */
static char logbuf[8192];
static volatile int loglen;
static void logf_(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
#include <stdarg.h>
static void logf_(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(logbuf + loglen, sizeof logbuf - loglen, fmt, ap);
    va_end(ap);
    if (n > 0 && loglen + n < (int)sizeof logbuf) loglen += n;
}
static void flushlog(const char *title) { printf("%s: %.*s\n", title, loglen, logbuf); loglen = 0; }

static void set_handler(int sig, void (*fn)(int, siginfo_t *, void *), int flags, const sigset_t *mask) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = fn;
    sa.sa_flags = flags | SA_SIGINFO;
    if (mask) sa.sa_mask = *mask; else sigemptyset(&sa.sa_mask);
    if (sigaction(sig, &sa, NULL)) perror("sigaction");
}

static void block(int how, int a, int b, int c, int d) {
    sigset_t s;
    sigemptyset(&s);
    int v[] = {a, b, c, d};
    for (int i = 0; i < 4; i++) if (v[i]) sigaddset(&s, v[i]);
    sigprocmask(how, &s, NULL);
}

static void print_set(const char *title, const sigset_t *s) {
    printf("%s:", title);
    for (int i = 1; i < 65; i++) if (sigismember(s, i) == 1) printf(" %d", i);
    printf("\n");
}
static void print_pending(const char *title) { sigset_t s; sigpending(&s); print_set(title, &s); }
static void print_mask(const char *title) { sigset_t s; sigprocmask(SIG_SETMASK, NULL, &s); print_set(title, &s); }

static void rec(int sig, siginfo_t *si, void *uc) {
    if (si->si_code == SI_QUEUE) logf_(" %d(v%d)", sig, si->si_value.sival_int);
    else logf_(" %d", sig);
}

static int queue(int sig, int val) { union sigval v = {.sival_int = val}; return sigqueue(getpid(), sig, v); }

static void order(void) {
    sigset_t full;
    sigfillset(&full);
    int rt = SIGRTMIN;
    int sigs[] = {SIGUSR1, SIGUSR2, SIGHUP, SIGTERM, SIGWINCH, rt, rt + 1, rt + 5};
    for (unsigned i = 0; i < sizeof sigs / sizeof *sigs; i++) set_handler(sigs[i], rec, 0, &full);
    sigset_t all;
    sigemptyset(&all);
    for (unsigned i = 0; i < sizeof sigs / sizeof *sigs; i++) sigaddset(&all, sigs[i]);
    sigprocmask(SIG_BLOCK, &all, NULL);
    /* raised in a scrambled order; standard ones three times each */
    for (int k = 0; k < 3; k++) { kill(getpid(), SIGTERM); kill(getpid(), SIGUSR2); kill(getpid(), SIGUSR1); }
    queue(rt + 5, 50);
    queue(rt + 1, 11);
    queue(rt, 1);
    queue(rt + 1, 12);
    queue(rt, 2);
    queue(rt, 3);
    kill(getpid(), SIGWINCH);
    kill(getpid(), SIGHUP);
    queue(rt + 5, 51);
    print_pending("pending before unblock");
    sigprocmask(SIG_UNBLOCK, &all, NULL);
    flushlog("delivery order (handlers block all)");
    print_pending("pending after");
    /* thread-directed (raise = tgkill) before process-directed (kill), whatever the numbers */
    sigprocmask(SIG_BLOCK, &all, NULL);
    kill(getpid(), SIGUSR1);
    kill(getpid(), rt);
    raise(SIGTERM);
    raise(rt + 1);
    sigprocmask(SIG_UNBLOCK, &all, NULL);
    flushlog("thread-directed first");
}

static void stacked(void) {
    int rt = SIGRTMIN;
    int sigs[] = {SIGUSR1, SIGUSR2, SIGHUP, SIGTERM, SIGWINCH, rt, rt + 1, rt + 5};
    sigset_t all;
    sigemptyset(&all);
    for (unsigned i = 0; i < sizeof sigs / sizeof *sigs; i++) sigaddset(&all, sigs[i]);
    /* The same with handlers that block nothing: the kernel stacks frames; whatever the
     * order is, it must be Linux's. */
    for (unsigned i = 0; i < sizeof sigs / sizeof *sigs; i++) set_handler(sigs[i], rec, 0, NULL);
    sigprocmask(SIG_BLOCK, &all, NULL);
    kill(getpid(), SIGTERM);
    raise(SIGUSR1);
    queue(rt + 1, 7);
    queue(rt, 8);
    kill(getpid(), SIGHUP);
    sigprocmask(SIG_UNBLOCK, &all, NULL);
    flushlog("delivery order (handlers block nothing)");

    /* sigpending, unblocking one at a time */
    sigprocmask(SIG_BLOCK, &all, NULL);
    queue(rt, 100);
    queue(rt, 101);
    kill(getpid(), SIGUSR2);
    block(SIG_UNBLOCK, rt, 0, 0, 0);
    flushlog("unblock rt only");
    print_pending("still pending");
    block(SIG_UNBLOCK, SIGUSR2, 0, 0, 0);
    flushlog("unblock USR2");
    for (unsigned i = 0; i < sizeof sigs / sizeof *sigs; i++) signal(sigs[i], SIG_DFL);
}

static void masks(void) {
    sigset_t s, old;
    sigprocmask(SIG_SETMASK, NULL, &old);
    print_set("initial mask", &old);
    sigfillset(&s);
    sigprocmask(SIG_SETMASK, &s, NULL);
    print_mask("after blocking everything (no KILL/STOP)");
    sigemptyset(&s);
    sigaddset(&s, SIGUSR1);
    sigaddset(&s, SIGINT);
    sigprocmask(SIG_UNBLOCK, &s, NULL);
    print_mask("after unblocking USR1 and INT");
    sigprocmask(SIG_SETMASK, &s, NULL);
    print_mask("setmask {INT, USR1}");
    sigemptyset(&s);
    sigaddset(&s, SIGTERM);
    sigprocmask(SIG_BLOCK, &s, NULL);
    print_mask("block TERM");
    SHOW("sigprocmask bad how", syscall(SYS_rt_sigprocmask, 7, &s, NULL, 8));
    SHOW("rt_sigprocmask bad size", syscall(SYS_rt_sigprocmask, SIG_BLOCK, &s, NULL, 4));
    SHOW("rt_sigprocmask bad pointer", syscall(SYS_rt_sigprocmask, SIG_BLOCK, (void *)8, NULL, 8));
    SHOW("rt_sigpending bad size", syscall(SYS_rt_sigpending, &s, 16));
    sigprocmask(SIG_SETMASK, &old, NULL);

    struct sigaction sa, prev;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_IGN;
    SHOW("sigaction(SIGKILL)", sigaction(SIGKILL, &sa, NULL));
    SHOW("sigaction(SIGSTOP)", sigaction(SIGSTOP, &sa, NULL));
    SHOW("sigaction(0)", syscall(SYS_rt_sigaction, 0, NULL, &prev, 8));
    SHOW("sigaction(65)", syscall(SYS_rt_sigaction, 65, NULL, &prev, 8));
    SHOW("rt_sigaction bad size", syscall(SYS_rt_sigaction, SIGUSR1, NULL, &prev, 4));
    SHOW("sigaction query SIGKILL", sigaction(SIGKILL, NULL, &prev));
    printf("  SIGKILL handler is default: %d\n", prev.sa_handler == SIG_DFL);
    /* old action round trip: handler, flags (minus glibc's SA_RESTORER), mask */
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = rec;
    sa.sa_flags = SA_SIGINFO | SA_RESTART | SA_NODEFER | SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    sigaddset(&sa.sa_mask, SIGHUP);
    sigaddset(&sa.sa_mask, SIGKILL);   /* silently dropped */
    sigaction(SIGUSR1, &sa, NULL);
    sigaction(SIGUSR1, NULL, &prev);
    printf("old action: same handler %d flags 0x%x\n", prev.sa_sigaction == rec,
           (unsigned)(prev.sa_flags & ~0x04000000));
    print_set("  old mask", &prev.sa_mask);
    signal(SIGUSR1, SIG_DFL);

    /* ignored signals: not made pending if unblocked; blocked-and-ignored stay pending,
     * and setting SIG_IGN discards a pending one */
    signal(SIGUSR2, SIG_IGN);
    raise(SIGUSR2);
    print_pending("ignored+unblocked raised, pending");
    block(SIG_BLOCK, SIGUSR2, 0, 0, 0);
    raise(SIGUSR2);
    print_pending("ignored+blocked raised, pending");
    signal(SIGUSR2, SIG_DFL);
    raise(SIGUSR2);
    print_pending("now default, raised again, pending");
    signal(SIGUSR2, SIG_IGN);
    print_pending("set to SIG_IGN: pending discarded");
    block(SIG_UNBLOCK, SIGUSR2, 0, 0, 0);
    signal(SIGUSR2, SIG_DFL);
    /* default-ignore signals do nothing */
    raise(SIGCHLD);
    raise(SIGURG);
    raise(SIGWINCH);
    raise(SIGCONT);
    printf("survived SIGCHLD, SIGURG, SIGWINCH, SIGCONT with default action\n");
    /* sigaddset-level pending check for RT via sigqueue while blocked, then discard by SIG_IGN */
    set_handler(SIGRTMIN, rec, 0, NULL);
    block(SIG_BLOCK, SIGRTMIN, 0, 0, 0);
    queue(SIGRTMIN, 1);
    queue(SIGRTMIN, 2);
    signal(SIGRTMIN, SIG_IGN);
    set_handler(SIGRTMIN, rec, 0, NULL);
    block(SIG_UNBLOCK, SIGRTMIN, 0, 0, 0);
    flushlog("rt queue after SIG_IGN discarded it (empty)");
    signal(SIGRTMIN, SIG_DFL);
}

static volatile int depth, nest_once;
static void nest_usr1(int sig, siginfo_t *si, void *uc) {
    depth++;
    logf_(" [1 in d%d", depth);
    sigset_t cur;
    sigprocmask(SIG_SETMASK, NULL, &cur);
    logf_(" mask1:%d%d%d", sigismember(&cur, SIGUSR1), sigismember(&cur, SIGUSR2), sigismember(&cur, SIGHUP));
    if (!nest_once++) { raise(SIGUSR2); logf_(" after-raise2"); raise(SIGUSR1); logf_(" after-raise1"); raise(SIGHUP); logf_(" after-hup"); }
    logf_(" 1 out]");
    depth--;
}
static void nest_usr2(int sig, siginfo_t *si, void *uc) {
    depth++;
    logf_(" [2 in d%d", depth);
    sigset_t cur;
    sigprocmask(SIG_SETMASK, NULL, &cur);
    logf_(" mask2:%d%d%d", sigismember(&cur, SIGUSR1), sigismember(&cur, SIGUSR2), sigismember(&cur, SIGHUP));
    logf_(" 2 out]");
    depth--;
}

static void nested(void) {
    sigset_t m;
    sigemptyset(&m);
    sigaddset(&m, SIGHUP);
    set_handler(SIGUSR1, nest_usr1, 0, &m);    /* HUP deferred while in USR1 */
    set_handler(SIGUSR2, nest_usr2, 0, NULL);
    set_handler(SIGHUP, nest_usr2, 0, NULL);
    raise(SIGUSR1);
    flushlog("nested (USR1 defers itself and HUP)");
    print_mask("mask restored after handlers");

    set_handler(SIGUSR1, nest_usr1, SA_NODEFER, NULL);
    nest_once = 0;
    raise(SIGUSR1);
    flushlog("nested with SA_NODEFER");
    for (int s = 1; s < 32; s++) if (s != SIGKILL && s != SIGSTOP) signal(s, SIG_DFL);
    (void)m;
}

static volatile int reset_count;
static void reset_h(int sig, siginfo_t *si, void *uc) { reset_count++; }

static void resethand(void) {
    set_handler(SIGUSR1, reset_h, SA_RESETHAND, NULL);
    raise(SIGUSR1);
    struct sigaction prev;
    sigaction(SIGUSR1, NULL, &prev);
    printf("SA_RESETHAND: ran %d, now default %d, flags cleared of SA_SIGINFO %d\n", reset_count,
           prev.sa_handler == SIG_DFL, !(prev.sa_flags & SA_SIGINFO));
    pid_t p = fork();
    if (p == 0) {
        set_handler(SIGUSR1, reset_h, SA_RESETHAND, NULL);
        raise(SIGUSR1);
        raise(SIGUSR1);   /* default: terminate */
        _exit(0);
    }
    int st;
    waitpid(p, &st, 0);
    printf("second raise kills: signaled=%d sig=%d\n", WIFSIGNALED(st), WIFSIGNALED(st) ? WTERMSIG(st) : 0);
    /* SA_RESETHAND implies SA_NODEFER: the signal is not blocked inside the handler */
    signal(SIGUSR1, SIG_DFL);
}

static void info_h(int sig, siginfo_t *si, void *uc) {
    logf_(" sig=%d signo=%d code=%d pid_self=%d pid_parent=%d uid_ok=%d", sig, si->si_signo, si->si_code,
          si->si_pid == getpid(), si->si_pid == getppid(), si->si_uid == getuid());
    if (si->si_code == SI_QUEUE) logf_(" value=%d", si->si_value.sival_int);
}

static void siginfo(void) {
    set_handler(SIGUSR1, info_h, 0, NULL);
    set_handler(SIGRTMIN + 3, info_h, 0, NULL);
    kill(getpid(), SIGUSR1);
    flushlog("kill");
    raise(SIGUSR1);
    flushlog("raise");
    syscall(SYS_tgkill, getpid(), syscall(SYS_gettid), SIGUSR1);
    flushlog("tgkill");
    syscall(SYS_tkill, syscall(SYS_gettid), SIGUSR1);
    flushlog("tkill");
    queue(SIGUSR1, 77);
    flushlog("sigqueue");
    queue(SIGRTMIN + 3, -5);
    flushlog("sigqueue rt");
    siginfo_t si;
    memset(&si, 0, sizeof si);
    si.si_signo = SIGUSR1;
    si.si_code = SI_QUEUE;
    si.si_value.sival_int = 4242;
    si.si_pid = getpid();
    si.si_uid = getuid();
    SHOW("rt_sigqueueinfo self", syscall(SYS_rt_sigqueueinfo, getpid(), SIGUSR1, &si));
    flushlog("  got");
    si.si_code = SI_USER;
    SHOW("rt_sigqueueinfo SI_USER to self", syscall(SYS_rt_sigqueueinfo, getpid(), SIGUSR1, &si));
    flushlog("  got");
    si.si_code = SI_TKILL;
    SHOW("rt_tgsigqueueinfo SI_TKILL to self", syscall(SYS_rt_tgsigqueueinfo, getpid(), syscall(SYS_gettid), SIGUSR1, &si));
    flushlog("  got");

    /* From a child: si_pid is the child's, and a forged si_code is refused */
    int fds[2];
    pipe(fds);
    block(SIG_BLOCK, SIGUSR1, 0, 0, 0);
    pid_t c = fork();
    if (c == 0) {
        siginfo_t f;
        memset(&f, 0, sizeof f);
        f.si_signo = SIGUSR1;
        f.si_code = SI_KERNEL;
        int r1 = syscall(SYS_rt_sigqueueinfo, getppid(), SIGUSR1, &f) == -1 && errno == EPERM;
        f.si_code = SI_TKILL;
        int r2 = syscall(SYS_rt_sigqueueinfo, getppid(), SIGUSR1, &f) == -1 && errno == EPERM;
        f.si_code = 0;  /* SI_USER */
        int r3 = syscall(SYS_rt_sigqueueinfo, getppid(), SIGUSR1, &f) == -1 && errno == EPERM;
        kill(getppid(), SIGUSR1);
        char r[3] = {(char)('0' + r1), (char)('0' + r2), (char)('0' + r3)};
        write(fds[1], r, 3);
        _exit(0);
    }
    char r[3];
    read(fds[0], r, 3);
    waitpid(c, NULL, 0);
    printf("forged SI_KERNEL EPERM=%c SI_TKILL EPERM=%c SI_USER EPERM=%c\n", r[0], r[1], r[2]);
    block(SIG_UNBLOCK, SIGUSR1, 0, 0, 0);
    /* info_h checks si_pid against getppid(): here it must match the child, so compare directly */
    flushlog("from child (pid_self=0 pid_parent=0 expected)");
    signal(SIGUSR1, SIG_DFL);
    signal(SIGRTMIN + 3, SIG_DFL);
    close(fds[0]);
    close(fds[1]);
}

static volatile int susp_hits;
static void susp_h(int sig, siginfo_t *si, void *uc) {
    susp_hits++;
    sigset_t cur;
    sigprocmask(SIG_SETMASK, NULL, &cur);
    logf_(" handler sig=%d mask has USR1=%d USR2=%d", sig, sigismember(&cur, SIGUSR1), sigismember(&cur, SIGUSR2));
}

static void suspend(void) {
    set_handler(SIGUSR1, susp_h, 0, NULL);
    set_handler(SIGUSR2, susp_h, 0, NULL);
    block(SIG_BLOCK, SIGUSR1, SIGUSR2, 0, 0);
    pid_t c = fork();
    if (c == 0) { nap(50); kill(getppid(), SIGUSR1); _exit(0); }
    sigset_t only2;
    sigemptyset(&only2);
    sigaddset(&only2, SIGUSR2);
    errno = 0;
    int r = sigsuspend(&only2);
    printf("sigsuspend: %d errno=%d hits=%d\n", r, errno, susp_hits);
    flushlog("  in handler");
    print_mask("  mask after sigsuspend");
    waitpid(c, NULL, 0);
    /* already pending when sigsuspend is called: returns at once */
    raise(SIGUSR2);
    sigset_t none;
    sigemptyset(&none);
    errno = 0;
    r = sigsuspend(&none);
    printf("sigsuspend with pending: %d errno=%d hits=%d\n", r, errno, susp_hits);
    flushlog("  in handler");
    block(SIG_UNBLOCK, SIGUSR1, SIGUSR2, 0, 0);

    /* pause() */
    c = fork();
    if (c == 0) { nap(50); kill(getppid(), SIGUSR2); _exit(0); }
    errno = 0;
    r = pause();
    printf("pause: %d errno=%d hits=%d\n", r, errno, susp_hits);
    waitpid(c, NULL, 0);
    loglen = 0;
    signal(SIGUSR1, SIG_DFL);
    signal(SIGUSR2, SIG_DFL);
}

static void timedwait(void) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    sigaddset(&set, SIGUSR2);
    sigaddset(&set, SIGRTMIN);
    sigprocmask(SIG_BLOCK, &set, NULL);
    siginfo_t si;
    struct timespec ts = {0, 50 * 1000000};
    errno = 0;
    int r = sigtimedwait(&set, &si, &ts);
    printf("sigtimedwait nothing: %d errno=%d\n", r, errno);
    struct timespec zero = {0, 0};
    r = sigtimedwait(&set, &si, &zero);
    printf("sigtimedwait zero timeout: %d errno=%d\n", r, errno);
    queue(SIGRTMIN, 5);
    queue(SIGRTMIN, 6);
    kill(getpid(), SIGUSR2);
    raise(SIGUSR1);
    for (int i = 0; i < 4; i++) {
        memset(&si, 0, sizeof si);
        r = sigtimedwait(&set, &si, &ts);
        printf("sigtimedwait: %d signo=%d code=%d pid_self=%d", r, si.si_signo, si.si_code, si.si_pid == getpid());
        if (si.si_code == SI_QUEUE) printf(" value=%d", si.si_value.sival_int);
        printf("\n");
    }
    print_pending("pending after draining");
    /* a signal from a child wakes sigwaitinfo */
    pid_t c = fork();
    if (c == 0) { nap(50); union sigval v = {.sival_int = 99}; sigqueue(getppid(), SIGRTMIN, v); _exit(0); }
    memset(&si, 0, sizeof si);
    r = sigwaitinfo(&set, &si);
    printf("sigwaitinfo from child: %d code=%d value=%d pid_child=%d\n", r, si.si_code, si.si_value.sival_int, si.si_pid == c);
    waitpid(c, NULL, 0);
    /* sigwait on an unblocked signal with a handler: the handler wins? No: only blocked
     * signals are waited for; invalid timeout is EINVAL */
    struct timespec bad = {0, 2000000000L};
    errno = 0;
    r = sigtimedwait(&set, &si, &bad);
    printf("sigtimedwait bad timeout: %d errno=%d\n", r, errno);
    /* a signal outside the set interrupts sigtimedwait: handler runs, EINTR */
    set_handler(SIGHUP, rec, 0, NULL);
    c = fork();
    if (c == 0) { nap(50); kill(getppid(), SIGHUP); _exit(0); }
    struct timespec longer = {5, 0};
    errno = 0;
    r = sigtimedwait(&set, &si, &longer);
    printf("sigtimedwait interrupted by handled HUP: %d errno=%d\n", r, errno);
    flushlog("  handler");
    waitpid(c, NULL, 0);
    sigprocmask(SIG_UNBLOCK, &set, NULL);
    signal(SIGHUP, SIG_DFL);
}

static void inherit(void) {
    set_handler(SIGUSR1, rec, SA_RESTART, NULL);
    signal(SIGUSR2, SIG_IGN);
    block(SIG_BLOCK, SIGHUP, 0, 0, 0);
    raise(SIGHUP);
    int fds[2];
    pipe(fds);
    pid_t c = fork();
    if (c == 0) {
        sigset_t m, p;
        struct sigaction a1, a2;
        sigprocmask(SIG_SETMASK, NULL, &m);
        sigpending(&p);
        sigaction(SIGUSR1, NULL, &a1);
        sigaction(SIGUSR2, NULL, &a2);
        char r[4] = {(char)('0' + sigismember(&m, SIGHUP)), (char)('0' + sigismember(&p, SIGHUP)),
                     (char)('0' + (a1.sa_sigaction == rec)), (char)('0' + (a2.sa_handler == SIG_IGN))};
        write(fds[1], r, 4);
        _exit(0);
    }
    char r[4];
    read(fds[0], r, 4);
    waitpid(c, NULL, 0);
    printf("fork child: mask inherited %c, pending cleared (0) %c, handler inherited %c, ignore inherited %c\n",
           r[0], r[1], r[2], r[3]);
    signal(SIGHUP, SIG_IGN);   /* discard */
    block(SIG_UNBLOCK, SIGHUP, 0, 0, 0);
    signal(SIGHUP, SIG_DFL);
    signal(SIGUSR1, SIG_DFL);
    signal(SIGUSR2, SIG_DFL);
}

/* Each section starts from a clean slate: no mask, default dispositions, nothing pending. */
static void reset(void) {
    sigset_t none;
    sigemptyset(&none);
    for (int s = 1; s < 65; s++) if (s != SIGKILL && s != SIGSTOP && (s < 32 || s >= SIGRTMIN)) signal(s, SIG_IGN);
    sigprocmask(SIG_SETMASK, &none, NULL);
    for (int s = 1; s < 65; s++) if (s != SIGKILL && s != SIGSTOP && (s < 32 || s >= SIGRTMIN)) signal(s, SIG_DFL);
    loglen = 0;
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    const char *only = argc > 1 ? argv[1] : "";
#define SECTION(name) if (!*only || !strcmp(only, #name)) { printf("== " #name "\n"); reset(); name(); }
    SECTION(order);
    SECTION(stacked);
    SECTION(masks);
    SECTION(nested);
    SECTION(resethand);
    SECTION(siginfo);
    SECTION(suspend);
    SECTION(timedwait);
    SECTION(inherit);
    printf("done\n");
    return 0;
}
