/* PTRACE_SECCOMP_GET_FILTER / GET_METADATA (differential): a tracer reads back the tracee's
   filters as installed, newest first, with their LOG flag; ENOENT past the last. */
#define _GNU_SOURCE
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/wait.h>

#include "show.h"

#ifndef PTRACE_SECCOMP_GET_FILTER
#define PTRACE_SECCOMP_GET_FILTER 0x420c
#define PTRACE_SECCOMP_GET_METADATA 0x420d
#endif

static void install(int len, unsigned flags) {   /* ``len`` instructions, the last ALLOW */
    struct sock_filter f[8];
    for (int i = 0; i < len - 1; i++)
        f[i] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr));
    f[len - 1] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
    struct sock_fprog prog = {len, f};
    syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog);
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    pid_t child = fork();
    if (child == 0) {
        prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
        install(3, 0);
        install(5, SECCOMP_FILTER_FLAG_LOG);
        ptrace(PTRACE_TRACEME, 0, 0, 0);
        raise(SIGSTOP);
        _exit(0);
    }
    int status;
    waitpid(child, &status, 0);
    struct sock_filter buf[8];
    S("filter 0 (the first installed): length", SYS_ptrace, PTRACE_SECCOMP_GET_FILTER, child, 0L, NULL);
    S("filter 1 copied", SYS_ptrace, PTRACE_SECCOMP_GET_FILTER, child, 1L, buf);
    printf("its last instruction returns ALLOW: %d\n", buf[4].code == (BPF_RET | BPF_K) && buf[4].k == SECCOMP_RET_ALLOW);
    S("filter 1 (the newest): length", SYS_ptrace, PTRACE_SECCOMP_GET_FILTER, child, 1L, NULL);
    S("past the last", SYS_ptrace, PTRACE_SECCOMP_GET_FILTER, child, 2L, NULL);
    S("bad buffer", SYS_ptrace, PTRACE_SECCOMP_GET_FILTER, child, 0L, (void *)8);
    struct { unsigned long long off, flags; } meta = {0, 99};
    S("metadata of filter 0", SYS_ptrace, PTRACE_SECCOMP_GET_METADATA, child, (long)sizeof meta, &meta);
    printf("  off %llu flags %llu\n", meta.off, meta.flags);
    meta.off = 1;
    S("metadata of filter 1", SYS_ptrace, PTRACE_SECCOMP_GET_METADATA, child, (long)sizeof meta, &meta);
    printf("  off %llu flags %llu\n", meta.off, meta.flags);
    S("metadata, size too small", SYS_ptrace, PTRACE_SECCOMP_GET_METADATA, child, 4L, &meta);
    kill(child, SIGKILL);
    waitpid(child, &status, 0);
    return 0;
}
