/* PTRACE_SYSEMU comes before seccomp (differential): a call the tracer emulates never reaches the
   tracee's filter, even one that kills; under PTRACE_SYSCALL the filter runs after the stop. */
#define _GNU_SOURCE
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef PTRACE_SYSEMU
#define PTRACE_SYSEMU 31
#endif

static void deny_getppid(void) {   /* getppid kills the process; everything else is allowed */
    struct sock_filter f[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_getppid, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog prog = {4, f};
    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog);
}

static void run(int request, const char *what) {
    pid_t child = fork();
    if (child == 0) {
        deny_getppid();
        ptrace(PTRACE_TRACEME, 0, 0, 0);
        raise(SIGSTOP);
        syscall(SYS_getppid);
        _exit(0);
    }
    int status;
    waitpid(child, &status, 0);                       /* the SIGSTOP */
    ptrace(request, child, 0, 0);
    waitpid(child, &status, 0);                       /* syscall entry of getppid */
    struct user_regs_struct regs;
    ptrace(PTRACE_GETREGS, child, 0, &regs);
    printf("%s: stopped at syscall %lld\n", what, (long long)regs.orig_rax);
    ptrace(PTRACE_CONT, child, 0, 0);
    waitpid(child, &status, 0);
    if (WIFSIGNALED(status))
        printf("%s: killed by signal %d\n", what, WTERMSIG(status));
    else
        printf("%s: exited %d\n", what, WEXITSTATUS(status));
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    run(PTRACE_SYSEMU, "sysemu");
    run(PTRACE_SYSCALL, "syscall");
    return 0;
}
