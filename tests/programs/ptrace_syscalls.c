/* ptrace(2) as a tracer sees it: PTRACE_TRACEME + SIGSTOP, syscall-enter/exit stops (numbers,
 * rax -ENOSYS at entry, results), a result changed at exit, a syscall skipped with orig_rax -1,
 * an argument changed at entry,
 * registers (GETREGS, PEEKUSER, GETREGSET, GET_SYSCALL_INFO), memory (PEEKDATA/POKEDATA,
 * process_vm_readv/writev), fork/exec/exit event stops with GETEVENTMSG, the auto-attached
 * grandchild's SIGSTOP and its exit reported to the tracer. Output names no pid. */
#define _GNU_SOURCE
#include <elf.h>
#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/ptrace.h>
#include "ptrace_util.h"

static volatile long secret = 0x1122334455667788L;
static char message[32] = "hello from the tracee";
static pid_t child, grandchild;

static void say(const char *s) { syscall(SYS_write, 1, s, strlen(s)); }


static void tracee(void) {
    char buf[96];
    if (ptrace(PTRACE_TRACEME, 0, 0, 0) != 0) { perror("TRACEME"); _exit(90); }
    result("second TRACEME", ptrace(PTRACE_TRACEME, 0, 0, 0));
    syscall(SYS_kill, syscall(SYS_getpid), SIGSTOP);
    syscall(SYS_getpid);
    long ppid = syscall(SYS_getppid);          /* the tracer makes it 4242 */
    long skipped = syscall(SYS_getuid);        /* skipped: the tracer's 77 */
    snprintf(buf, sizeof buf, "tracee: getppid %ld getuid %ld secret %lx message '%s'\n",
             ppid, skipped, (long)secret, message);
    say(buf);
    pid_t g = fork();
    if (g == 0) _exit(3);
    int st;
    pid_t w = waitpid(g, &st, 0);
    snprintf(buf, sizeof buf, "tracee: reaped its child: %d, status %d\n", w == g, WEXITSTATUS(st));
    say(buf);
    execl("/bin/true", "true", (char *)0);
    _exit(91);
}

static int wait_stop(pid_t pid, const char *what) {
    int st;
    if (waitpid(pid, &st, __WALL) != pid) { perror(what); exit(2); }
    return st;
}

static void show_stop(const char *who, int st) {
    if (WIFSTOPPED(st)) printf("%s: stopped sig %d event %d sysgood %d\n", who, WSTOPSIG(st) & 0x7f,
                               st >> 16, (WSTOPSIG(st) & 0x80) != 0);
    else if (WIFEXITED(st)) printf("%s: exited %d\n", who, WEXITSTATUS(st));
    else if (WIFSIGNALED(st)) printf("%s: killed by %d\n", who, WTERMSIG(st));
}

static long eventmsg(pid_t pid) {
    unsigned long msg = 0;
    ptrace(PTRACE_GETEVENTMSG, pid, 0, &msg);
    return msg;
}

static void check_registers(void) {
    struct user_regs_struct regs;
    ptrace(PTRACE_GETREGS, child, 0, &regs);
    errno = 0;
    long orig = ptrace(PTRACE_PEEKUSER, child, offsetof(struct user, regs.orig_rax), 0);
    long dr7 = ptrace(PTRACE_PEEKUSER, child, offsetof(struct user, u_debugreg[7]), 0);
    struct user_regs_struct set;
    struct iovec iov = {&set, sizeof set};
    long r = ptrace(PTRACE_GETREGSET, child, NT_PRSTATUS, &iov);
    printf("regs: orig_rax==PEEKUSER %d, rax %lld, dr7 %ld, regset %ld len %zu same %d\n",
           orig == (long)regs.orig_rax, (long long)regs.rax, dr7, r, iov.iov_len, set.rip == regs.rip);
    result("PEEKUSER misaligned", ptrace(PTRACE_PEEKUSER, child, 3, 0));
    struct user_fpregs_struct fp;
    result("GETFPREGS", ptrace(PTRACE_GETFPREGS, child, 0, &fp));
    result("SETFPREGS unchanged", ptrace(PTRACE_SETFPREGS, child, 0, &fp));
    unsigned int mxcsr = fp.mxcsr;
    fp.mxcsr = 0xFFFF0000;
    result("SETFPREGS reserved MXCSR bits", ptrace(PTRACE_SETFPREGS, child, 0, &fp));
    fp.mxcsr = mxcsr;
    static char xstate[16384];
    struct iovec xiov = {xstate, sizeof xstate};
    result("GETREGSET xstate", ptrace(PTRACE_GETREGSET, child, NT_X86_XSTATE, &xiov));
    unsigned long long xcr0;   /* Linux puts XCR0 in the image's software bytes (gdb reads it there) */
    memcpy(&xcr0, xstate + 464, sizeof xcr0);
    printf("  xstate size %zu xcr0 %llx\n", xiov.iov_len, xcr0);
    result("SETREGSET xstate unchanged", ptrace(PTRACE_SETREGSET, child, NT_X86_XSTATE, &xiov));
    xstate[520] = 1;   /* a compacted-format XSAVE header: refused */
    result("SETREGSET xstate compacted", ptrace(PTRACE_SETREGSET, child, NT_X86_XSTATE, &xiov));
    xiov.iov_len = 3;
    result("GETREGSET odd length", ptrace(PTRACE_GETREGSET, child, NT_PRSTATUS, &xiov));
    printf("  iov_len %zu\n", xiov.iov_len);
    struct ptrace_syscall_info info;
    r = ptrace(PTRACE_GET_SYSCALL_INFO, child, sizeof info, &info);
    printf("syscall info: size %ld op %d nr==orig %d arch %x\n", r, info.op,
           info.entry.nr == regs.orig_rax, info.arch);
}

static void check_memory(void) {
    errno = 0;
    long word = ptrace(PTRACE_PEEKDATA, child, &secret, 0);
    printf("PEEKDATA secret: %lx errno %d\n", word, errno);
    result("POKEDATA", ptrace(PTRACE_POKEDATA, child, &secret, 0x5eed));
    result("PEEKDATA at 0", ptrace(PTRACE_PEEKDATA, child, 0, 0));
    char buf[32] = {0};
    struct iovec local = {buf, sizeof buf}, remote = {message, sizeof message};
    result("process_vm_readv", process_vm_readv(child, &local, 1, &remote, 1, 0));
    printf("read '%s'\n", buf);
    strcpy(buf, "rewritten by the tracer");
    result("process_vm_writev", process_vm_writev(child, &local, 1, &remote, 1, 0));
    struct iovec bad = {(void *)8, 16}, two[2] = {{buf, 4}, {buf + 8, 4}};
    result("process_vm_readv bad remote", process_vm_readv(child, &local, 1, &bad, 1, 0));
    result("process_vm_readv flags", process_vm_readv(child, &local, 1, &remote, 1, 1));
    result("process_vm_readv bad local", process_vm_readv(child, &bad, 1, &remote, 1, 0));
    result("process_vm_readv two local", process_vm_readv(child, two, 2, &remote, 1, 0));
    struct iovec partial[2] = {{message, 8}, {(void *)8, 8}};
    result("process_vm_readv partial", process_vm_readv(child, &local, 1, partial, 2, 0));
    result("process_vm_readv pid 0", process_vm_readv(0, &local, 1, &remote, 1, 0));
}

/* One syscall stop: enter or exit, edited as the test plans. Returns 0 once the tracee has
 * reached its fork. */
static int on_syscall_stop(int *entering) {
    struct user_regs_struct regs;
    ptrace(PTRACE_GETREGS, child, 0, &regs);
    long nr = regs.orig_rax;
    if (*entering) {
        printf("enter %ld (rax %lld)\n", nr, (long long)regs.rax);
        if (nr == SYS_getuid) {
            regs.orig_rax = -1;
            ptrace(PTRACE_SETREGS, child, 0, &regs);
        }
        if (nr == SYS_getpid) check_registers();
        if (nr == SYS_write) {   /* a changed argument is the one used: the write is cut short */
            regs.rdx = 8;
            ptrace(PTRACE_SETREGS, child, 0, &regs);
        }
    } else {
        long ret = regs.rax;
        /* pids differ from run to run: only whether it is the right one is printed */
        printf("exit %ld = %ld\n", nr, nr == SYS_getpid ? (long)(ret == child) :
               nr == SYS_getppid ? (long)(ret == getpid()) : ret);
        if (nr == SYS_getppid) {
            ptrace(PTRACE_POKEUSER, child, offsetof(struct user, regs.rax), 4242);
            check_memory();
        }
        if (nr == (long)-1) ptrace(PTRACE_POKEUSER, child, offsetof(struct user, regs.rax), 77);
    }
    *entering = !*entering;
    return 1;
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    child = fork();
    if (child == 0) tracee();
    int st = wait_stop(child, "initial stop");
    show_stop("tracee", st);
    siginfo_t si;
    ptrace(PTRACE_GETSIGINFO, child, 0, &si);
    printf("siginfo: signo %d code %d\n", si.si_signo, si.si_code);
    result("SETOPTIONS bad", ptrace(PTRACE_SETOPTIONS, child, 0, 1L << 30));
    ptrace(PTRACE_SETOPTIONS, child, 0, PTRACE_O_TRACESYSGOOD | PTRACE_O_TRACEFORK | PTRACE_O_TRACEEXEC |
           PTRACE_O_TRACEEXIT);
    result("ATTACH again", ptrace(PTRACE_ATTACH, child, 0, 0));
    result("ATTACH self", ptrace(PTRACE_ATTACH, getpid(), 0, 0));
    result("GETEVENTMSG of a non-tracee", ptrace(PTRACE_GETEVENTMSG, getpid(), 0, 0));
    int entering = 1;
    ptrace(PTRACE_SYSCALL, child, 0, 0);
    for (;;) {
        st = wait_stop(child, "tracee stop");
        if (st >> 8 == (SIGTRAP | 0x80)) {
            on_syscall_stop(&entering);
            ptrace(PTRACE_SYSCALL, child, 0, 0);
            continue;
        }
        show_stop("tracee", st);
        if (st >> 16 == PTRACE_EVENT_FORK) break;
        ptrace(PTRACE_SYSCALL, child, 0, 0);
    }
    grandchild = eventmsg(child);
    printf("fork event: new pid is a pid %d\n", grandchild > 0);
    show_stop("grandchild", wait_stop(grandchild, "grandchild stop"));
    ptrace(PTRACE_CONT, grandchild, 0, 0);
    show_stop("grandchild", st = wait_stop(grandchild, "grandchild exit event"));
    printf("exit event: msg %ld\n", eventmsg(grandchild));
    ptrace(PTRACE_CONT, grandchild, 0, 0);
    show_stop("grandchild", wait_stop(grandchild, "grandchild exit"));
    /* The rest without syscall stops: SIGCHLD's delivery, the exec and exit events. */
    ptrace(PTRACE_CONT, child, 0, 0);
    for (;;) {
        st = wait_stop(child, "tracee event");
        show_stop("tracee", st);
        if (!WIFSTOPPED(st)) break;
        int sig = 0;
        if (st >> 16 == PTRACE_EVENT_EXEC) printf("exec event: msg is its pid %d\n", eventmsg(child) == child);
        else if (st >> 16 == PTRACE_EVENT_EXIT) printf("exit event: msg %ld\n", eventmsg(child));
        else sig = WSTOPSIG(st);
        ptrace(PTRACE_CONT, child, 0, sig);
    }
    result("wait again", waitpid(-1, &st, __WALL));
    return 0;
}
