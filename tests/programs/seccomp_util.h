/* Helpers shared by the seccomp test programs (seccomp_app.c, seccomp_notify.c): unbuffered
 * output, errno names, installing filters, children and their wait statuses. */
#ifndef SECCOMP_UTIL_H
#define SECCOMP_UTIL_H
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/ucontext.h>
#include <sys/wait.h>
#include <ucontext.h>
#include <unistd.h>

#define NR_OFF offsetof(struct seccomp_data, nr)
#define ARCH_OFF offsetof(struct seccomp_data, arch)
#define ARG_LO(i) (offsetof(struct seccomp_data, args) + 8 * (i))
#define ARG_HI(i) (ARG_LO(i) + 4)
#define RET(v) BPF_STMT(BPF_RET | BPF_K, (v))
#define LD(off) BPF_STMT(BPF_LD | BPF_W | BPF_ABS, (off))
#define N(a) (sizeof(a) / sizeof((a)[0]))

/* Unbuffered output: children die in ways that would lose a stdio buffer. */
static void say(const char *fmt, ...) {
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (write(1, buf, n) < 0) _exit(99);
}

static const char *err(long r) {
    static char buf[64];
    if (r >= 0) { snprintf(buf, sizeof buf, "%ld", r); return buf; }
    snprintf(buf, sizeof buf, "-1 %s", strerrorname_np(errno) ? strerrorname_np(errno) : "?");
    if (!strerrorname_np(errno)) snprintf(buf, sizeof buf, "-1 errno=%d", errno);
    return buf;
}

static long install_flags(struct sock_filter *f, unsigned short len, unsigned flags) {
    struct sock_fprog prog = {len, f};
    return syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog);
}

static long install(struct sock_filter *f, unsigned short len) { return install_flags(f, len, 0); }

/* A filter answering ACTION for syscall NR and allowing the rest (on x86_64). */
static long deny_flags(int nr, unsigned action, unsigned flags) {
    struct sock_filter f[] = {
        LD(ARCH_OFF), BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0), RET(SECCOMP_RET_KILL_PROCESS),
        LD(NR_OFF), BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, nr, 0, 1), RET(action), RET(SECCOMP_RET_ALLOW),
    };
    return install_flags(f, N(f), flags);
}

static long deny(int nr, unsigned action) { return deny_flags(nr, action, 0); }

static void nnp(void) {
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)) { perror("PR_SET_NO_NEW_PRIVS"); exit(1); }
}

static void describe_status(const char *what, int status) {
    if (WIFEXITED(status)) say("%s: exit %d\n", what, WEXITSTATUS(status));
    else say("%s: signal %d core %d\n", what, WTERMSIG(status), WCOREDUMP(status) ? 1 : 0);
}

/* Run FN in a child and report how it ended. */
static void in_child(const char *what, void (*fn)(void)) {
    pid_t pid = fork();
    if (pid == 0) { fn(); _exit(0); }
    int status;
    waitpid(pid, &status, 0);
    describe_status(what, status);
}

static void handle(int sig, void (*fn)(), int flags) {
    struct sigaction sa = {0};
    sa.sa_handler = (void (*)(int))fn;
    sa.sa_flags = flags;
    sigaction(sig, &sa, NULL);
}

static void status_lines(const char *who, const char *path) {
    char line[256];
    FILE *f = fopen(path, "r");
    if (!f) { say("%s: cannot open %s\n", who, path); return; }
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, "NoNewPrivs:", 11) || !strncmp(line, "Seccomp", 7)) say("%s %s", who, line);
    fclose(f);
}

static long ppid_call(void) { return syscall(SYS_getppid, 1, 2, 3, 4, 5, 6); }

#endif
