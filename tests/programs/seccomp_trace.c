/* SECCOMP_RET_TRACE: a tracer with PTRACE_O_TRACESECCOMP sees PTRACE_EVENT_SECCOMP stops with
 * the filter's data as the event message; it may let the call run, skip it (orig_rax = -1, its
 * own rax as the result) or change it to another call; without the option the call is ENOSYS. */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

static void install(void) {
    struct sock_filter prog[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_getppid, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRACE | 42),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_getuid, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRACE | 43),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_getgid, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRACE | 44),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog fprog = {sizeof prog / sizeof prog[0], prog};
    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
    if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &fprog)) { perror("seccomp"); _exit(2); }
}

static void tracee(void) {
    ptrace(PTRACE_TRACEME, 0, 0, 0);
    raise(SIGSTOP);
    install();
    long ppid = syscall(SYS_getppid);
    long uid = syscall(SYS_getuid);
    long gid = syscall(SYS_getgid);
    printf("getppid is the parent: %d\ngetuid skipped, rax 777: %ld\ngetgid became getpid: %d\n",
           ppid == getppid(), uid, gid == getpid());
    fflush(stdout);
    _exit(0);
}

static int trace_events(pid_t pid) {
    int st, events = 0;
    waitpid(pid, &st, 0);   /* the SIGSTOP */
    ptrace(PTRACE_SETOPTIONS, pid, 0, PTRACE_O_TRACESECCOMP);
    ptrace(PTRACE_CONT, pid, 0, 0);
    while (waitpid(pid, &st, 0) == pid && WIFSTOPPED(st)) {
        if (st >> 8 != (SIGTRAP | (PTRACE_EVENT_SECCOMP << 8))) {
            ptrace(PTRACE_CONT, pid, 0, WSTOPSIG(st) == SIGTRAP ? 0 : WSTOPSIG(st));
            continue;
        }
        unsigned long msg = 0;
        ptrace(PTRACE_GETEVENTMSG, pid, 0, &msg);
        struct user_regs_struct regs;
        ptrace(PTRACE_GETREGS, pid, 0, &regs);
        printf("event %d: message %lu, syscall %lld\n", ++events, msg, regs.orig_rax);
        if (msg == 43) { regs.orig_rax = -1; regs.rax = 777; }
        if (msg == 44) regs.orig_rax = SYS_getpid;
        ptrace(PTRACE_SETREGS, pid, 0, &regs);
        ptrace(PTRACE_CONT, pid, 0, 0);
    }
    return WIFEXITED(st) ? WEXITSTATUS(st) : 100 + WTERMSIG(st);
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    pid_t pid = fork();
    if (pid == 0) tracee();
    printf("tracee exit: %d\n", trace_events(pid));
    pid = fork();
    if (pid == 0) {   /* no tracer: TRACE is ENOSYS */
        install();
        errno = 0;
        long r = syscall(SYS_getppid);
        printf("untraced TRACE: %ld %s\n", r, strerrorname_np(errno));
        _exit(0);
    }
    int st;
    waitpid(pid, &st, 0);
    return 0;
}
