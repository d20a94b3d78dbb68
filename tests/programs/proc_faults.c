/* Faults delivered to handlers (differential): SIGSEGV (NULL write, read-only page,
 * PROT_NONE, non-executable page), SIGBUS (mapping past EOF), SIGFPE (integer divide by
 * zero, INT_MIN/-1), SIGILL (ud2), SIGTRAP (int3). Prints si_signo, si_code, whether
 * si_addr is the expected address, the trap number and error code in the ucontext, and
 * whether the saved RIP is the faulting instruction. Handlers either siglongjmp out or
 * advance RIP in the ucontext and return (rt_sigreturn must honour the edit). Faults with
 * no handler, or with the signal blocked or ignored, kill the process. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <ucontext.h>
#include <unistd.h>

static sigjmp_buf env;
static volatile int got_sig, got_code, got_errno_field;
static volatile uintptr_t got_addr, got_rip, got_trapno, got_err;
static volatile int skip_bytes;   /* the handler advances RIP by this much ... */
static volatile int just_return;  /* ... and returns instead of jumping */

static void handler(int sig, siginfo_t *si, void *ucv) {
    ucontext_t *uc = ucv;
    got_sig = si->si_signo;
    got_code = si->si_code;
    got_errno_field = si->si_errno;
    got_addr = (uintptr_t)si->si_addr;
    got_rip = uc->uc_mcontext.gregs[REG_RIP];
    got_trapno = uc->uc_mcontext.gregs[REG_TRAPNO];
    got_err = uc->uc_mcontext.gregs[REG_ERR];
    if (just_return) { uc->uc_mcontext.gregs[REG_RIP] += skip_bytes; return; }
    siglongjmp(env, 1);
}

static void install(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = handler;
    sa.sa_flags = SA_SIGINFO | SA_NODEFER;
    int sigs[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP};
    for (int i = 0; i < 5; i++) sigaction(sigs[i], &sa, NULL);
}

static int show_trapno;   /* the 'trapno' section prints REG_TRAPNO instead */

static void report(const char *what, uintptr_t want_addr, uintptr_t want_rip) {
    if (show_trapno) printf("%-26s trapno=%lu\n", what, (unsigned long)got_trapno);
    else printf("%-26s sig=%d code=%d errno=%d addr_ok=%d rip_ok=%d\n", what, got_sig, got_code,
                got_errno_field, got_addr == want_addr, want_rip ? got_rip == want_rip : -1);
    got_sig = got_code = 0;
    got_addr = got_rip = got_trapno = got_err = 0;
}

/* Instructions at known addresses. */
extern char div_insn[], ud2_insn[], int3_after[], null_store[];
static void __attribute__((noinline)) do_div(int d) {
    int q, r;
    asm volatile(".globl div_insn\ndiv_insn: idivl %2" : "=a"(q), "=d"(r) : "r"(d), "a"(1), "d"(0));
}
static void __attribute__((noinline)) do_div_min(int d) {
    int q, r;
    asm volatile("idivl %2" : "=a"(q), "=d"(r) : "r"(d), "a"(INT_MIN), "d"(-1));
}
static void __attribute__((noinline)) do_ud2(void) { asm volatile(".globl ud2_insn\nud2_insn: ud2"); }
static void __attribute__((noinline)) do_int3(void) { asm volatile("int3\n.globl int3_after\nint3_after: nop"); }
static void __attribute__((noinline)) do_null_store(void) {
    asm volatile(".globl null_store\nnull_store: movl $1, 0" ::: "memory");
}

static void segv_faults(void) {
    long pg = sysconf(_SC_PAGESIZE);
    if (sigsetjmp(env, 1) == 0) do_null_store();
    report("NULL write", 0, (uintptr_t)null_store);

    volatile int *far = (int *)0x10000;   /* below mmap_min_addr on most systems: unmapped */
    if (sigsetjmp(env, 1) == 0) (void)*far;
    report("read unmapped 0x10000", 0x10000, 0);

    char *ro = mmap(NULL, pg, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (sigsetjmp(env, 1) == 0) ro[100] = 1;
    report("write read-only page", (uintptr_t)ro + 100, 0);

    char *none = mmap(NULL, pg, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (sigsetjmp(env, 1) == 0) (void)*(volatile char *)(none + 8);
    report("read PROT_NONE page", (uintptr_t)none + 8, 0);

    char *nx = mmap(NULL, pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    nx[0] = (char)0xc3;   /* ret */
    if (sigsetjmp(env, 1) == 0) ((void (*)(void))nx)();
    report("execute non-exec page", (uintptr_t)nx, (uintptr_t)nx);

    munmap(ro, pg);
    if (sigsetjmp(env, 1) == 0) (void)*(volatile char *)(ro + 5);
    report("read after munmap", (uintptr_t)ro + 5, 0);

    /* mprotect back and forth */
    char *rw = mmap(NULL, pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    rw[0] = 7;
    mprotect(rw, pg, PROT_READ);
    if (sigsetjmp(env, 1) == 0) rw[1] = 1;
    report("write after mprotect(READ)", (uintptr_t)rw + 1, 0);
    mprotect(rw, pg, PROT_READ | PROT_WRITE);
    rw[1] = 2;
    printf("  writable again: %d %d\n", rw[0], rw[1]);

    /* kill(SIGSEGV) is not a fault: SI_USER, no address */
    if (sigsetjmp(env, 1) == 0) kill(getpid(), SIGSEGV);
    printf("kill(SIGSEGV)              sig=%d code=%d\n", got_sig, got_code);
}

static void bus_fault(void) {
    long pg = sysconf(_SC_PAGESIZE);
    char path[] = "/tmp/proc_faults_XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0) { printf("mkstemp failed\n"); return; }
    unlink(path);
    ftruncate(fd, 100);
    char *m = mmap(NULL, 2 * pg, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    m[50] = 'a';      /* inside the file */
    m[pg - 1] = 'b';  /* same page, past EOF: fine */
    if (sigsetjmp(env, 1) == 0) (void)*(volatile char *)(m + pg + 10);
    report("read past EOF page", (uintptr_t)m + pg + 10, 0);
    ftruncate(fd, 2 * pg);
    printf("  after extending file: %d\n", *(volatile char *)(m + pg + 10));
    char b;
    pread(fd, &b, 1, 50);
    printf("  write through MAP_SHARED reached the file: %c\n", b);
    munmap(m, 2 * pg);
    close(fd);
}

static void arith_faults(void) {
    if (sigsetjmp(env, 1) == 0) do_div(0);
    report("idiv by zero", (uintptr_t)div_insn, (uintptr_t)div_insn);
    if (sigsetjmp(env, 1) == 0) do_div_min(-1);
    report("INT_MIN / -1", got_rip ? got_rip : 1, 0);   /* address is the idiv: only code matters */

    if (sigsetjmp(env, 1) == 0) do_ud2();
    report("ud2", (uintptr_t)ud2_insn, (uintptr_t)ud2_insn);

    if (sigsetjmp(env, 1) == 0) do_int3();
    report("int3 (addr 0, rip after)", 0, (uintptr_t)int3_after);

    /* returning from the handler with RIP advanced past the instruction */
    just_return = 1;
    skip_bytes = 2;
    do_ud2();
    report("ud2, handler skips it", (uintptr_t)ud2_insn, (uintptr_t)ud2_insn);
    skip_bytes = 0;
    do_int3();   /* SIGTRAP: RIP is already past int3; returning continues */
    report("int3, handler returns", 0, (uintptr_t)int3_after);
    just_return = 0;
    printf("continued after handlers returned\n");
}

static int child_status(void (*fn)(void), int setup) {
    pid_t p = fork();
    if (p == 0) {
        struct rlimit r = {0, 0};
        setrlimit(RLIMIT_CORE, &r);
        if (setup == 0) { signal(SIGSEGV, SIG_DFL); signal(SIGILL, SIG_DFL); signal(SIGFPE, SIG_DFL); signal(SIGTRAP, SIG_DFL); }
        if (setup == 1) { sigset_t s; sigemptyset(&s); sigaddset(&s, SIGSEGV); sigaddset(&s, SIGILL); sigaddset(&s, SIGFPE); sigaddset(&s, SIGTRAP); sigprocmask(SIG_BLOCK, &s, NULL); }
        if (setup == 2) { signal(SIGSEGV, SIG_IGN); signal(SIGILL, SIG_IGN); signal(SIGFPE, SIG_IGN); signal(SIGTRAP, SIG_IGN); }
        fn();
        _exit(0);
    }
    int st;
    waitpid(p, &st, 0);
    return st;
}
static void null_write(void) { *(volatile int *)0 = 1; }
static void div0(void) { do_div(0); }

static void fatal_faults(void) {
    const char *modes[] = {"default", "blocked", "ignored"};
    for (int m = 0; m < 3; m++) {
        int a = child_status(null_write, m), b = child_status(do_ud2, m), c = child_status(div0, m), d = child_status(do_int3, m);
        printf("%-8s SEGV->%d ILL->%d FPE->%d TRAP->%d (signaled %d%d%d%d)\n", modes[m],
               WIFSIGNALED(a) ? WTERMSIG(a) : -1, WIFSIGNALED(b) ? WTERMSIG(b) : -1,
               WIFSIGNALED(c) ? WTERMSIG(c) : -1, WIFSIGNALED(d) ? WTERMSIG(d) : -1,
               WIFSIGNALED(a), WIFSIGNALED(b), WIFSIGNALED(c), WIFSIGNALED(d));
    }
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    const char *only = argc > 1 ? argv[1] : "";
    install();
    if (!*only || !strcmp(only, "segv")) segv_faults();
    if (!*only || !strcmp(only, "bus")) bus_fault();
    if (!*only || !strcmp(only, "arith")) arith_faults();
    if (!*only || !strcmp(only, "fatal")) fatal_faults();
    if (!strcmp(only, "trapno")) { show_trapno = 1; segv_faults(); arith_faults(); }
    printf("done\n");
    return 0;
}
