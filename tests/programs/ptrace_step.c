/* PTRACE_SINGLESTEP and a software breakpoint, as a debugger uses them: an int3 poked over the
 * first byte of work() (POKETEXT), hit (SIGTRAP, rip one past it), the byte restored and rip set
 * back, then single steps to the tracee's exit, counting them and the syscalls stepped over. The
 * counts are the CPU's and libc's: the same natively and sandboxed. Then PTRACE_SYSEMU: the
 * tracer emulates getppid (its answer in rax) and sees exit_group's argument; neither runs.
 * Last, an exec without PTRACE_O_TRACEEXEC: the old SIGTRAP after it, and a single step into a
 * signal handler: the trap comes at its first instruction. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>
#include "ptrace_util.h"

static int value = 1;

__attribute__((noinline)) static int work(void) {
    value += 2;
    value *= 3;
    syscall(SYS_getppid);
    return value;
}

static void sysemu(void) {
    pid_t pid = fork_traced();
    if (pid == 0) {
        long r = syscall(SYS_getppid);
        syscall(SYS_exit_group, r);   /* emulated: nothing happens */
        _exit(r + 1);
    }
    int st;
    struct user_regs_struct r;
    ptrace(PTRACE_SYSEMU, pid, 0, 0);
    waitpid(pid, &st, 0);
    ptrace(PTRACE_GETREGS, pid, 0, &r);
    printf("SYSEMU stop: sig %d, nr %lld (getppid %d), rax %lld\n", WSTOPSIG(st), (long long)r.orig_rax,
           r.orig_rax == SYS_getppid, (long long)r.rax);
    r.rax = 99;
    ptrace(PTRACE_SETREGS, pid, 0, &r);
    ptrace(PTRACE_SYSEMU, pid, 0, 0);
    waitpid(pid, &st, 0);
    ptrace(PTRACE_GETREGS, pid, 0, &r);
    printf("SYSEMU stop: exit_group %d with %lld\n", r.orig_rax == SYS_exit_group, (long long)r.rdi);
    ptrace(PTRACE_CONT, pid, 0, 0);
    waitpid(pid, &st, 0);
    printf("then exited %d with %d\n", WIFEXITED(st), WEXITSTATUS(st));
}

static void exec_sigtrap(void) {
    pid_t pid = fork();
    if (pid == 0) {
        ptrace(PTRACE_TRACEME, 0, 0, 0);
        execl("/bin/true", "true", (char *)0);
        _exit(90);
    }
    int st;
    siginfo_t si;
    waitpid(pid, &st, 0);
    ptrace(PTRACE_GETSIGINFO, pid, 0, &si);
    printf("after exec: stopped %d sig %d code %d\n", WIFSTOPPED(st), WSTOPSIG(st), si.si_code);
    ptrace(PTRACE_CONT, pid, 0, 0);
    waitpid(pid, &st, 0);
    printf("then exited %d with %d\n", WIFEXITED(st), WEXITSTATUS(st));
}

static volatile int handled;

static void on_usr1(int sig) { handled = sig; }

static void step_into_handler(void) {
    signal(SIGUSR1, on_usr1);
    pid_t pid = fork_traced();
    if (pid == 0) {
        raise(SIGUSR1);
        _exit(handled);
    }
    int st;
    struct user_regs_struct r;
    ptrace(PTRACE_CONT, pid, 0, 0);
    waitpid(pid, &st, 0);
    printf("signal stop: sig %d\n", WSTOPSIG(st));
    ptrace(PTRACE_SINGLESTEP, pid, 0, SIGUSR1);
    waitpid(pid, &st, 0);
    ptrace(PTRACE_GETREGS, pid, 0, &r);
    printf("stepped into the handler: sig %d at its first instruction %d\n", WSTOPSIG(st),
           r.rip == (unsigned long)on_usr1);
    ptrace(PTRACE_CONT, pid, 0, 0);
    waitpid(pid, &st, 0);
    printf("then exited %d with %d\n", WIFEXITED(st), WEXITSTATUS(st));
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    pid_t pid = fork_traced();
    if (pid == 0) exit(work());
    int st;
    unsigned long addr = (unsigned long)work;
    long orig = ptrace(PTRACE_PEEKTEXT, pid, addr, 0);
    printf("POKETEXT int3: %ld\n", ptrace(PTRACE_POKETEXT, pid, addr, (orig & ~0xffL) | 0xcc));
    printf("our copy untouched: %d\n", *(unsigned char *)work != 0xcc);
    ptrace(PTRACE_CONT, pid, 0, 0);
    waitpid(pid, &st, 0);
    struct user_regs_struct r;
    ptrace(PTRACE_GETREGS, pid, 0, &r);
    printf("breakpoint: stopped %d sig %d, rip past it %d\n", WIFSTOPPED(st), WSTOPSIG(st), r.rip == addr + 1);
    ptrace(PTRACE_POKETEXT, pid, addr, orig);
    r.rip = addr;
    ptrace(PTRACE_SETREGS, pid, 0, &r);
    unsigned long prev = r.rip;
    int steps, syscalls = 0;
    for (steps = 0; steps < 1000000; steps++) {
        if (ptrace(PTRACE_SINGLESTEP, pid, 0, 0) != 0) { perror("SINGLESTEP"); return 1; }
        waitpid(pid, &st, 0);
        if (!WIFSTOPPED(st)) break;
        if (WSTOPSIG(st) != SIGTRAP) { printf("stopped by %d at step %d\n", WSTOPSIG(st), steps); break; }
        ptrace(PTRACE_GETREGS, pid, 0, &r);
        if (r.rip - prev == 2 && (ptrace(PTRACE_PEEKTEXT, pid, prev, 0) & 0xffff) == 0x050f) syscalls++;
        if (steps < 6) printf("step %d: +%ld TF seen %d\n", steps, (long)(r.rip - prev), (int)(r.eflags >> 8 & 1));
        prev = r.rip;
    }
    printf("steps %d, syscalls stepped over %d, exited %d with %d\n", steps, syscalls, WIFEXITED(st),
           WEXITSTATUS(st));
    sysemu();
    exec_sigtrap();
    step_into_handler();
    return 0;
}
