/* sigaltstack (differential): SA_ONSTACK handlers run on the alternate stack and see
 * SS_ONSTACK; handlers without it do not; nested delivery stays on the alt stack below
 * the outer frame; changing the stack while on it is EPERM; size/flag errors; stack
 * overflow recovered on the alt stack with siglongjmp; an 8 KiB alt stack holds a frame; fork
 * keeps it, exec drops it. */
#define _GNU_SOURCE
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#define SHOW(label, expr) do { errno = 0; long _r = (long)(expr); int _e = errno; \
    printf("%s: %ld errno=%d\n", label, _r, _r == -1 ? _e : 0); } while (0)

#define ALT_SIZE (64 * 1024)
static char *alt;
static volatile int on_alt[4], flags_seen[4], eperm_seen, inner_below;
static volatile uintptr_t outer_sp;

static int in_alt(void *p) { return (char *)p >= alt && (char *)p < alt + ALT_SIZE; }

static void h_usr2(int sig) {
    char local;
    stack_t cur;
    sigaltstack(NULL, &cur);
    on_alt[1] = in_alt(&local);
    flags_seen[1] = cur.ss_flags;
    inner_below = outer_sp && (uintptr_t)&local < outer_sp;
}

static void h_usr1(int sig) {
    char local;
    stack_t cur, repl;
    sigaltstack(NULL, &cur);
    on_alt[0] = in_alt(&local);
    flags_seen[0] = cur.ss_flags;
    repl.ss_sp = malloc(ALT_SIZE);
    repl.ss_size = ALT_SIZE;
    repl.ss_flags = 0;
    errno = 0;
    eperm_seen = sigaltstack(&repl, NULL) == -1 ? errno : 0;
    outer_sp = (uintptr_t)&local;
    raise(SIGUSR2);          /* nested SA_ONSTACK handler */
    outer_sp = 0;
}

static void h_plain(int sig) {
    char local;
    on_alt[2] = in_alt(&local);
}

static sigjmp_buf env;
static volatile int seg_on_alt;
static void h_segv(int sig, siginfo_t *si, void *uc) {
    char local;
    seg_on_alt = in_alt(&local);
    siglongjmp(env, 1);
}

static volatile long depth_reached;
static int __attribute__((noinline)) recurse(int n) {
    volatile char pad[1024];
    pad[0] = (char)n;
    depth_reached = n;
    return recurse(n + 1) + pad[0];
}

/* In a forked child: overflow a 256 KiB stack with SIGSEGV caught on the alternate stack
 * (``with_alt``) or with none (the overflow then kills; no core file). Exits 42 when it was
 * survived on the alternate stack, 43 when survived otherwise, 44 when survived with none. */
static void __attribute__((noreturn)) overflow_child(int with_alt) {
    struct rlimit rl = {256 * 1024, 256 * 1024};
    setrlimit(RLIMIT_STACK, &rl);
    if (!with_alt) {
        rl.rlim_cur = rl.rlim_max = 0;
        setrlimit(RLIMIT_CORE, &rl);
        stack_t off = {.ss_flags = SS_DISABLE};
        sigaltstack(&off, NULL);
    }
    struct sigaction s2;
    memset(&s2, 0, sizeof s2);
    s2.sa_sigaction = h_segv;
    s2.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigaction(SIGSEGV, &s2, NULL);
    if (sigsetjmp(env, 1) == 0) { recurse(0); _exit(1); }
    _exit(!with_alt ? 44 : seg_on_alt && depth_reached > 10 ? 42 : 43);
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc > 1 && !strcmp(argv[1], "after-exec")) {
        stack_t cur;
        sigaltstack(NULL, &cur);
        printf("after exec: flags=%d size=%zu\n", cur.ss_flags, cur.ss_size);
        return 0;
    }
    stack_t cur, ss;
    SHOW("query", sigaltstack(NULL, &cur));
    printf("initial flags=%d (SS_DISABLE=%d) size=%zu\n", cur.ss_flags, SS_DISABLE, cur.ss_size);

    alt = malloc(ALT_SIZE);
    ss.ss_sp = alt;
    ss.ss_size = 1024;
    ss.ss_flags = 0;
    SHOW("too small", sigaltstack(&ss, NULL));
    ss.ss_size = ALT_SIZE;
    ss.ss_flags = 0x1234;
    SHOW("bad flags", sigaltstack(&ss, NULL));
    ss.ss_flags = SS_ONSTACK;   /* accepted by Linux for compatibility, treated as 0 */
    SHOW("SS_ONSTACK flag", sigaltstack(&ss, NULL));
    ss.ss_flags = 0;
    SHOW("install", sigaltstack(&ss, NULL));
    sigaltstack(NULL, &cur);
    printf("installed: flags=%d size=%zu same_sp=%d\n", cur.ss_flags, cur.ss_size, cur.ss_sp == alt);
    SHOW("bad pointer", sigaltstack((stack_t *)8, NULL));

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = h_usr1;
    sa.sa_flags = SA_ONSTACK;
    sigaction(SIGUSR1, &sa, NULL);
    sa.sa_handler = h_usr2;
    sigaction(SIGUSR2, &sa, NULL);
    sa.sa_handler = h_plain;
    sa.sa_flags = 0;
    sigaction(SIGHUP, &sa, NULL);

    raise(SIGUSR1);
    printf("USR1 (SA_ONSTACK): on alt=%d flags=%d (SS_ONSTACK=%d) change while on it errno=%d\n",
           on_alt[0], flags_seen[0], SS_ONSTACK, eperm_seen);
    printf("nested USR2 (SA_ONSTACK): on alt=%d flags=%d below outer frame=%d\n", on_alt[1], flags_seen[1], inner_below);
    raise(SIGUSR2);
    printf("USR2 alone: on alt=%d flags=%d\n", on_alt[1], flags_seen[1]);
    raise(SIGHUP);
    printf("HUP (no SA_ONSTACK): on alt=%d\n", on_alt[2]);
    sigaltstack(NULL, &cur);
    printf("after handlers: flags=%d\n", cur.ss_flags);

    /* fork keeps the alternate stack */
    pid_t p = fork();
    if (p == 0) {
        raise(SIGUSR2);
        _exit(on_alt[1] ? 10 : 20);
    }
    int st;
    waitpid(p, &st, 0);
    printf("fork child on alt=%d\n", WEXITSTATUS(st) == 10);

    /* stack overflow: only survivable on the alternate stack */
    p = fork();
    if (p == 0)
        overflow_child(1);
    waitpid(p, &st, 0);
    printf("stack overflow recovered on alt stack: exited=%d code=%d\n", WIFEXITED(st), WIFEXITED(st) ? WEXITSTATUS(st) : -WTERMSIG(st));

    /* without an alternate stack the overflow kills with SIGSEGV */
    p = fork();
    if (p == 0)
        overflow_child(0);
    waitpid(p, &st, 0);
    printf("overflow without alt stack: signaled=%d sig=%d\n", WIFSIGNALED(st), WIFSIGNALED(st) ? WTERMSIG(st) : 0);

    /* An 8 KiB alternate stack takes a frame: Linux's frame holds the XSAVE state of what the
     * process may use, without the 8 KiB of AMX tile data it has no permission for (on CPUs
     * with AMX ptrace's image has them: a frame of that size overflowed this stack). */
    p = fork();
    if (p == 0) {
        stack_t small = { .ss_sp = malloc(8192), .ss_size = 8192, .ss_flags = 0 };
        sigaltstack(&small, NULL);
        raise(SIGUSR2);
        _exit(flags_seen[1] == SS_ONSTACK ? 7 : 8);
    }
    waitpid(p, &st, 0);
    printf("8 KiB alt stack: exited=%d code=%d\n", WIFEXITED(st), WIFEXITED(st) ? WEXITSTATUS(st) : -WTERMSIG(st));

    /* disable */
    ss.ss_flags = SS_DISABLE;
    SHOW("disable", sigaltstack(&ss, NULL));
    sigaltstack(NULL, &cur);
    printf("disabled: flags=%d\n", cur.ss_flags);
    raise(SIGUSR2);
    printf("USR2 after disable: on alt=%d\n", on_alt[1]);

    /* exec drops the alternate stack */
    ss.ss_flags = 0;
    sigaltstack(&ss, NULL);
    p = fork();
    if (p == 0) { execl(argv[0], argv[0], "after-exec", (char *)0); _exit(127); }
    waitpid(p, &st, 0);
    return 0;
}
