/* A tracer's register changes at a signal-delivery-stop that follows a syscall stick (differential):
   the syscall returns what the tracer put in rax (the Sentry wrote its own result over it, which
   broke a nested snakevisor's first injected syscall after the exec SIGTRAP). */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    pid_t child = fork();
    if (child == 0) {
        ptrace(PTRACE_TRACEME, 0, 0, 0);
        long r = syscall(SYS_tgkill, getpid(), gettid(), SIGUSR1);
        printf("tgkill returned %ld\n", r);
        _exit(0);
    }
    int status;
    waitpid(child, &status, 0);
    struct user_regs_struct regs;
    ptrace(PTRACE_GETREGS, child, 0, &regs);
    printf("stopped by %d with rax %lld\n", WSTOPSIG(status), (long long)regs.rax);
    regs.rax = 77;
    ptrace(PTRACE_SETREGS, child, 0, &regs);
    ptrace(PTRACE_CONT, child, 0, 0);   /* the signal suppressed */
    waitpid(child, &status, 0);
    printf("child exited %d\n", WEXITSTATUS(status));
    return 0;
}
