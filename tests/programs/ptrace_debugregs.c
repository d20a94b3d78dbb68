/* Hardware breakpoints through ptrace, as gdb's `watch` uses them: the tracee's debug registers
 * read and written with PEEKUSER/POKEUSER at u_debugreg[i]. Linux's checks (DR4/DR5, addresses
 * past TASK_SIZE_MAX, DR7's length/type combinations, alignment, reserved bits), a write
 * watchpoint (len 4) on a variable the tracee writes: SIGTRAP with TRAP_HWBKPT, DR6's bit and
 * the new value; a write by a syscall does not trap; an execute breakpoint on a function; DR6
 * after a single step; a forked child and an exec'd image start with no breakpoints. Meanwhile
 * two breakpoints stay enabled where the sandbox's stub has its code (no memory of the tracee's:
 * they never trigger, and must not in the Sentry's own use of the stub). Printed as values and
 * relations (no addresses): the same natively and sandboxed. `ptrace_debugregs enable` only
 * sets and enables a watchpoint, and clears it (systrap refuses to enable one: EIO). */
#define _GNU_SOURCE
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/user.h>
#include "ptrace_util.h"

#define DR_OFF(i) (offsetof(struct user, u_debugreg) + (i) * sizeof(long))
#define DR7_L(i) (1UL << ((i) * 2))
#define DR7_RWLEN(i, rw, len) ((unsigned long)((rw) | (len) << 2) << (16 + (i) * 4))
enum { RW_EXEC = 0, RW_WRITE = 1, RW_IO = 2, RW_RDWR = 3 };
enum { LEN_1 = 0, LEN_2 = 1, LEN_8 = 2, LEN_4 = 3 };

static volatile int watched;
static volatile long wide;
static unsigned long keep;   /* DR7's bits for the breakpoints at the stub's addresses */
#define STUB_GADGET 0x7ffe00000090UL   /* platform/layout.py's STUB_ADDR and stub.py's GADGET_OFFSET */

__attribute__((noinline)) static int target(int x) { return x * 3 + watched; }

static pid_t pid;

static long peek_dr(int i) {
    errno = 0;
    long v = ptrace(PTRACE_PEEKUSER, pid, DR_OFF(i), 0);
    return errno ? -errno : v;
}

static long poke_dr(int i, unsigned long v) {
    return ptrace(PTRACE_POKEUSER, pid, DR_OFF(i), v) == 0 ? 0 : -errno;
}

static void poke(const char *what, int i, unsigned long v) { printf("%s: %ld\n", what, poke_dr(i, v)); }

static void show_drs(const char *who) {
    printf("%s: dr0 %s dr1 %s dr2 %s dr3 %s dr6 %#lx dr7 %#lx\n", who, peek_dr(0) ? "set" : "0",
           peek_dr(1) ? "set" : "0", peek_dr(2) ? "set" : "0", peek_dr(3) ? "set" : "0", peek_dr(6), peek_dr(7));
}

/* Resume and wait for the next stop, passing over SIGCHLD's (the grandchild's exit). */
static void cont_and_wait(const char *who, int step) {
    int st;
    do {
        ptrace(step ? PTRACE_SINGLESTEP : PTRACE_CONT, pid, 0, 0);
        waitpid(pid, &st, 0);
    } while (WIFSTOPPED(st) && WSTOPSIG(st) == SIGCHLD && st >> 16 == 0);
    show_status(who, st);
}

/* At a SIGTRAP stop: its si_code, whether si_addr is rip (or ``at``), DR6, the watched value. */
static void show_trap(const char *who, unsigned long at) {
    siginfo_t si;
    struct user_regs_struct r;
    ptrace(PTRACE_GETSIGINFO, pid, 0, &si);
    ptrace(PTRACE_GETREGS, pid, 0, &r);
    long value = ptrace(PTRACE_PEEKDATA, pid, (void *)&watched, 0);
    printf("%s: si_code %d si_addr==rip %d rip==target %d dr6 %#lx watched %d\n", who, si.si_code,
           (unsigned long)si.si_addr == r.rip, at && r.rip == at, peek_dr(6), (int)value);
}

static void checks(void) {
    show_drs("initially");
    printf("peek dr4: %ld dr5: %ld\n", peek_dr(4), peek_dr(5));
    poke("poke dr4 0", 4, 0);
    poke("poke dr5 1", 5, 1);
    poke("dr0 = TASK_SIZE_MAX", 0, 0x7ffffffff000UL);
    poke("dr0 = TASK_SIZE_MAX - 1", 0, 0x7fffffffefffUL);
    poke("dr0 = kernel address", 0, 0xffffffff81000000UL);
    printf("dr0 now %s\n", peek_dr(0) == 0x7fffffffefffUL ? "TASK_SIZE_MAX - 1" : "other");
    poke("dr7 len 2 at TASK_SIZE_MAX - 1", 7, DR7_L(0) | DR7_RWLEN(0, RW_WRITE, LEN_2));
    poke("dr1 = &watched + 1", 1, (unsigned long)&watched + 1);
    poke("dr7 exec len 4", 7, DR7_L(1) | DR7_RWLEN(1, RW_EXEC, LEN_4));
    poke("dr7 io type", 7, DR7_L(1) | DR7_RWLEN(1, RW_IO, LEN_1));
    poke("dr7 write len 4 misaligned", 7, DR7_L(1) | DR7_RWLEN(1, RW_WRITE, LEN_4));
    poke("dr7 write len 2 misaligned", 7, DR7_L(1) | DR7_RWLEN(1, RW_WRITE, LEN_2));
    poke("dr7 rw len 1 misaligned", 7, DR7_L(1) | DR7_RWLEN(1, RW_RDWR, LEN_1));
    printf("dr7 now %#lx\n", peek_dr(7));
    poke("dr7 disabled io type", 7, DR7_RWLEN(1, RW_IO, LEN_4));
    poke("dr1 = &wide", 1, (unsigned long)&wide);
    poke("dr7 len 8 global enable, reserved bits", 7, 2UL << 2 | DR7_RWLEN(1, RW_WRITE, LEN_8) | 0x700 | 1UL << 40);
    printf("dr7 now %#lx\n", peek_dr(7));
    poke("dr1 = &wide + 4 while len 8", 1, (unsigned long)&wide + 4);
    poke("dr7 0", 7, 0);
    poke("dr1 = &wide + 4 after clearing", 1, (unsigned long)&wide + 4);
    poke("dr6 = 0x1234", 6, 0x1234);
    printf("dr6 now %#lx\n", peek_dr(6));
    poke("dr6 = 0", 6, 0);
    poke("dr0 = 0", 0, 0);
    poke("dr1 = 0", 1, 0);
    show_drs("after the checks");
}

static void child(void) {
    int fds[2];
    watched = 1;          /* the write watchpoint: a trap after each of these */
    char *p = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p != MAP_FAILED) {   /* in the sandbox, host calls run through the stub's gadget */
        p[4096] = 1;
        mprotect(p, 4096, PROT_READ);
        munmap(p, 8192);
    }
    watched = 2;
    if (pipe(fds) == 0) { /* a write by the kernel does not trap */
        int three = 3;
        write(fds[1], &three, sizeof three);
        read(fds[0], (void *)&watched, sizeof watched);
    }
    watched = 4;
    int r = target(1);    /* the execute breakpoint */
    pid_t g = fork();     /* with no breakpoints of its own: no trap at target */
    if (g == 0) _exit(target(watched));
    waitpid(g, NULL, 0);
    execl("/bin/true", "true", (char *)0);
    _exit(r);
}

/* Set and enable a write watchpoint, read it back, clear it; then let the child go. */
static void enable_only(void) {
    poke("dr0 = &watched", 0, (unsigned long)&watched);
    poke("dr7 write len 4", 7, DR7_L(0) | DR7_RWLEN(0, RW_WRITE, LEN_4));
    show_drs("enabled");
    poke("dr7 0", 7, 0);
    poke("dr0 = 0", 0, 0);
    show_drs("cleared");
    kill(pid, SIGKILL);
    int st;
    waitpid(pid, &st, 0);
    show_status("child", st);
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IONBF, 0);
    pid = fork_traced();
    if (pid == 0) {
        child();
        return 0;
    }
    ptrace(PTRACE_SETOPTIONS, pid, 0, PTRACE_O_TRACEFORK | PTRACE_O_TRACEEXEC);
    if (argc > 1 && strcmp(argv[1], "enable") == 0) {
        enable_only();
        return 0;
    }
    checks();
    poke("dr1 = the stub's gadget", 1, STUB_GADGET);
    poke("dr3 = the stub's page", 3, STUB_GADGET & ~0xfffUL);
    keep = DR7_L(1) | DR7_L(3) | DR7_RWLEN(3, RW_RDWR, LEN_8);
    poke("dr0 = &watched", 0, (unsigned long)&watched);
    poke("dr7 write len 4", 7, keep | DR7_L(0) | DR7_RWLEN(0, RW_WRITE, LEN_4));
    cont_and_wait("first write", 0);
    show_trap("first write", 0);
    poke("dr6 = 0", 6, 0);
    cont_and_wait("second write", 0);
    show_trap("second write", 0);
    cont_and_wait("write after the read", 0);
    show_trap("write after the read", 0);
    poke("dr7 without slot 0", 7, keep);
    poke("dr0 = target", 0, (unsigned long)target);
    poke("dr7 exec", 7, keep | DR7_L(0));
    show_drs("exec breakpoint set");
    cont_and_wait("at target", 0);
    show_trap("at target", (unsigned long)target);
    cont_and_wait("single step", 1);   /* RF: the breakpoint's own instruction runs */
    show_trap("single step", 0);
    cont_and_wait("fork event", 0);
    unsigned long g;
    ptrace(PTRACE_GETEVENTMSG, pid, 0, &g);
    pid_t parent = pid;
    pid = g;
    int st;
    waitpid(pid, &st, __WALL);
    show_status("grandchild", st);
    show_drs("grandchild");   /* Linux's fork copies DR6 and DR7's value, not the breakpoints */
    ptrace(PTRACE_CONT, pid, 0, 0);
    waitpid(pid, &st, __WALL);
    show_status("grandchild", st);
    pid = parent;
    show_drs("after the fork");
    cont_and_wait("exec event", 0);
    show_drs("after exec");
    cont_and_wait("child", 0);
    return 0;
}
