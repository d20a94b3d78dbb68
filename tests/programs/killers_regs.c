/* Register values from application input (issue 11, item 9): a TLS or GS base at or above
 * TASK_SIZE_MAX is EPERM for arch_prctl and clone(CLONE_SETTLS) (the Sentry's PTRACE_SETREGS
 * failed and the process was killed); rt_sigreturn frames with a non-canonical RIP, null code or
 * stack selectors, a bad FPU state or an unreadable frame end in SIGSEGV as on Linux, and a
 * restart code in the frame's RAX is plain data. */
#define _GNU_SOURCE
#include <asm/prctl.h>
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <ucontext.h>
#include <unistd.h>

#define TASK_SIZE_MAX 0x7ffffffff000UL

static void raw_exit(int code) {
    /* No libc: after a wrong CLONE_SETTLS the child's TLS is garbage. */
    asm volatile("syscall" :: "a"(SYS_exit_group), "D"(code) : "rcx", "r11", "memory");
    __builtin_unreachable();
}

static void show(const char *label, long r) {
    printf("%s: %ld %s\n", label, r, r < 0 ? strerrorname_np(errno) : "-");
    fflush(stdout);
}

static int mode;

static void on_usr1(int sig, siginfo_t *si, void *ctx) {
    ucontext_t *uc = ctx;
    (void)sig; (void)si;
    if (mode == 0)
        uc->uc_mcontext.gregs[REG_RIP] = 0x8000000000000000UL;       /* non-canonical */
    else if (mode == 1)
        uc->uc_mcontext.gregs[REG_RIP] = 0x0000800000000000UL;       /* just past user space */
    else if (mode == 2)
        uc->uc_mcontext.gregs[REG_CSGSFS] &= ~0xFFFFUL;                /* cs = 0 (becomes 3) */
    else if (mode == 4)
        uc->uc_mcontext.gregs[REG_CSGSFS] &= ~(0xFFFFUL << 48);        /* ss = 0: faults */
    else if (mode == 5) {
        uc->uc_mcontext.gregs[REG_CSGSFS] &= ~(0xFFFFUL << 48);        /* ss = 0, but not strict: */
        uc->uc_flags &= ~0x4UL;                                          /* replaced by __USER_DS */
    } else if (mode == 6)
        uc->uc_mcontext.fpregs->mxcsr = 0xFFFFFFFF;                      /* reserved bits: bad frame */
    else if (mode == 7)
        uc->uc_mcontext.fpregs = (void *)0x1000;                         /* unmapped fpstate */
    else if (mode >= 8)
        uc->uc_mcontext.gregs[REG_RAX] = -mode;        /* a kernel restart code: plain data here */
}

static void on_segv(int sig, siginfo_t *si, void *ctx) {
    (void)sig; (void)ctx;
    char buf[64];
    int n = snprintf(buf, sizeof buf, "SIGSEGV code %d addr %p\n", si->si_code, si->si_addr);
    write(1, buf, n);
    _exit(3);
}

static void in_child(const char *label, void (*body)(void), int segv_handler) {
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_flags = SA_SIGINFO;
        sa.sa_sigaction = on_usr1;
        sigaction(SIGUSR1, &sa, NULL);
        if (segv_handler) {
            sa.sa_sigaction = on_segv;
            sigaction(SIGSEGV, &sa, NULL);
        }
        body();
        _exit(0);
    }
    int status;
    waitpid(pid, &status, 0);
    if (WIFSIGNALED(status))
        printf("%s: killed by signal %d\n", label, WTERMSIG(status));
    else
        printf("%s: exit %d\n", label, WEXITSTATUS(status));
    fflush(stdout);
}

static void raise_usr1(void) { raise(SIGUSR1); printf("returned from the handler\n"); fflush(stdout); }

static void raise_usr1_errno(void) {
    errno = 0;
    int r = raise(SIGUSR1);
    printf("raise returned %d errno %d\n", r, errno);
    fflush(stdout);
}

static void bad_frame(void) {
    /* rt_sigreturn with the stack pointer on an unmapped page. */
    asm volatile("mov $0x1000, %%rsp\n\tsyscall" :: "a"(SYS_rt_sigreturn) : "memory");
}

int main(void) {
    show("ARCH_SET_GS last page below TASK_SIZE_MAX", syscall(SYS_arch_prctl, ARCH_SET_GS, TASK_SIZE_MAX - 1));
    unsigned long gs = 0;
    syscall(SYS_arch_prctl, ARCH_GET_GS, &gs);
    printf("gs base %#lx\n", gs);
    unsigned long bad[] = {TASK_SIZE_MAX, 0x7fffffffffffUL, 0x800000000000UL, 0xffff800000000000UL, ~0UL};
    for (int i = 0; i < 5; i++) {
        char label[64];
        snprintf(label, sizeof label, "ARCH_SET_GS %#lx", bad[i]);
        show(label, syscall(SYS_arch_prctl, ARCH_SET_GS, bad[i]));
        snprintf(label, sizeof label, "ARCH_SET_FS %#lx", bad[i]);
        show(label, syscall(SYS_arch_prctl, ARCH_SET_FS, bad[i]));
    }
    syscall(SYS_arch_prctl, ARCH_GET_GS, &gs);
    printf("gs base unchanged %#lx\n", gs);
    syscall(SYS_arch_prctl, ARCH_SET_GS, 0);

    for (int i = 0; i < 5; i++) {
        char label[64];
        snprintf(label, sizeof label, "clone CLONE_SETTLS %#lx", bad[i]);
        fflush(stdout);
        long r = syscall(SYS_clone, CLONE_SETTLS | SIGCHLD, 0, NULL, NULL, bad[i]);
        if (r == 0)
            raw_exit(0);
        show(label, r);
        if (r > 0)
            waitpid(r, NULL, 0);
    }

    mode = 0; in_child("sigreturn to a non-canonical rip", raise_usr1, 0);
    mode = 0; in_child("sigreturn to a non-canonical rip, SIGSEGV handler", raise_usr1, 1);
    mode = 1; in_child("sigreturn to 0x800000000000", raise_usr1, 0);
    mode = 2; in_child("sigreturn with cs 0", raise_usr1, 0);
    mode = 2; in_child("sigreturn with cs 0, SIGSEGV handler", raise_usr1, 1);
    mode = 3; in_child("sigreturn unchanged", raise_usr1, 0);
    mode = 4; in_child("sigreturn with ss 0", raise_usr1, 0);
    mode = 5; in_child("sigreturn with ss 0, UC_STRICT_RESTORE_SS clear", raise_usr1, 0);
    mode = 6; in_child("sigreturn with a bad MXCSR", raise_usr1, 0);
    mode = 6; in_child("sigreturn with a bad MXCSR, SIGSEGV handler", raise_usr1, 1);
    mode = 7; in_child("sigreturn with an unmapped fpstate", raise_usr1, 0);
    in_child("rt_sigreturn with an unmapped frame", bad_frame, 0);
    int codes[] = {512, 513, 514, 516};   /* ERESTARTSYS, ERESTARTNOINTR, ERESTARTNOHAND, ERESTART_RESTARTBLOCK */
    for (int i = 0; i < 4; i++) {
        char label[64];
        snprintf(label, sizeof label, "sigreturn with rax -%d", codes[i]);
        mode = codes[i];
        in_child(label, raise_usr1_errno, 0);
    }
    return system("echo still alive") == 0 ? 0 : 1;
}
