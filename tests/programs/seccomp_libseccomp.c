/* A real libseccomp user (seccomp_init, seccomp_rule_add with argument comparisons, seccomp_load):
 * the sandbox must accept the program libseccomp generates and answer as Linux does. Linked with
 * -lseccomp (libseccomp-dev). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <seccomp.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *res(long r) {
    static char buf[64];
    if (r >= 0) snprintf(buf, sizeof buf, "ok");
    else snprintf(buf, sizeof buf, "-1 %s", strerrorname_np(errno));
    return buf;
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
    if (!ctx) { puts("seccomp_init failed"); return 1; }
    int rc = 0;
    rc |= seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(openat), 1,
                           SCMP_A2(SCMP_CMP_MASKED_EQ, O_CREAT, O_CREAT));      /* no creating files */
    rc |= seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(dup), 1, SCMP_A0(SCMP_CMP_EQ, 0));
    rc |= seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOTTY), SCMP_SYS(kill), 2, SCMP_A0(SCMP_CMP_GT, 1000000),
                           SCMP_A1(SCMP_CMP_NE, 0));
    rc |= seccomp_rule_add(ctx, SCMP_ACT_KILL_PROCESS, SCMP_SYS(ptrace), 0);
    rc |= seccomp_rule_add(ctx, SCMP_ACT_TRAP, SCMP_SYS(mknodat), 0);
    printf("rules: %d\n", rc);
    printf("load: %d\n", seccomp_load(ctx));
    seccomp_release(ctx);
    printf("open existing: %s\n", res(open("/etc/hostname", O_RDONLY)));
    printf("open O_CREAT: %s\n", res(open("/tmp/seccomp-created", O_WRONLY | O_CREAT, 0600)));
    printf("dup(0): %s\n", res(dup(0)));
    printf("dup(1): %s\n", res(dup(1)));
    printf("kill(2000000, 0): %s\n", res(kill(2000000, 0)));
    printf("kill(2000000, 9): %s\n", res(kill(2000000, 9)));
    printf("PR_GET_SECCOMP: %d\n", prctl(PR_GET_SECCOMP, 0, 0, 0, 0));
    pid_t pid = fork();
    if (pid == 0) { syscall(SYS_ptrace, 0, 0, 0, 0); _exit(0); }
    int status;
    waitpid(pid, &status, 0);
    printf("child calling ptrace: signaled %d sig %d\n", WIFSIGNALED(status), WTERMSIG(status));
    return 0;
}
