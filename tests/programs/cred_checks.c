/* Permission checks on other processes and on one's own ids (differential): kill/tkill,
   sched_setaffinity/setscheduler/setparam, setpriority (EPERM, and EACCES for lowering nice),
   get_robust_list, chroot (a failed lookup or search permission before EPERM, as ksys_chroot),
   and setreuid/setregid with saved ids as kernel/sys.c. */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define SHOW(expr) do { errno = 0; long r_ = (long)(expr); \
    printf("%s = %ld%s%s\n", #expr, r_, errno ? " " : "", errno ? strerrorname_np(errno) : ""); } while (0)

static void ids(void) {
    uid_t r, e, s;
    gid_t gr, ge, gs;
    getresuid(&r, &e, &s);
    getresgid(&gr, &ge, &gs);
    printf("  uids %u %u %u gids %u %u %u\n", r, e, s, gr, ge, gs);
}

static char private_dir[] = "/tmp/cred_checksXXXXXX";   /* 0700, root's */

static void as_other_user(pid_t victim) {
    if (setresgid(1000, 1000, 1000) || setresuid(1000, 1000, 1000)) { perror("setres"); _exit(1); }
    SHOW(syscall(SYS_tkill, victim, 0));
    SHOW(kill(victim, 0));
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(0, &set);
    SHOW(sched_setaffinity(victim, sizeof set, &set));
    SHOW(sched_setaffinity(0, sizeof set, &set));
    struct sched_param param = {0};
    SHOW(sched_setscheduler(victim, SCHED_OTHER, &param));
    SHOW(sched_setparam(victim, &param));
    SHOW(sched_setparam(0, &param));
    SHOW(setpriority(PRIO_PROCESS, victim, 5));
    SHOW(setpriority(PRIO_PROCESS, 0, 5));
    SHOW(setpriority(PRIO_PROCESS, 0, 2));       /* lowering nice without RLIMIT_NICE room */
    SHOW(getpriority(PRIO_PROCESS, 0));
    void *head;
    size_t len;
    SHOW(syscall(SYS_get_robust_list, victim, &head, &len));
    SHOW(syscall(SYS_get_robust_list, 0, &head, &len));
    SHOW(chroot("/"));
    SHOW(chroot("/nonexistent"));
    SHOW(chroot(private_dir) == -1 && errno == EACCES ? -1 : 0);
    _exit(0);
}

static void saved_ids(void) {
    if (setresgid(2000, 2001, 2002) || setresuid(1000, 1001, 1002)) { perror("setres"); _exit(1); }
    ids();
    SHOW(setregid(-1, 2002));
    ids();
    SHOW(setregid(2001, -1));
    SHOW(setregid(2000, -1));
    ids();
    SHOW(setreuid(-1, 1002));
    ids();
    SHOW(setreuid(1001, -1));
    SHOW(setreuid(1002, 1000));
    ids();
    SHOW(setreuid(-1, 1002));
    ids();
    SHOW(setreuid(-1, 0));
    _exit(0);
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    if (!mkdtemp(private_dir)) { perror("mkdtemp"); return 1; }
    pid_t victim = fork();
    if (victim == 0) { pause(); _exit(0); }
    pid_t other = fork();
    if (other == 0) as_other_user(victim);
    waitpid(other, NULL, 0);
    rmdir(private_dir);
    kill(victim, SIGKILL);
    waitpid(victim, NULL, 0);
    pid_t child = fork();
    if (child == 0) saved_ids();
    waitpid(child, NULL, 0);
    /* root may do all of it */
    SHOW(setreuid(-1, 0));
    SHOW(setpriority(PRIO_PROCESS, 0, -3));
    SHOW(getpriority(PRIO_PROCESS, 0));
    return 0;
}
