/* Process file descriptors (differential): pidfd_open (flags, errors, close-on-exec), poll on a
 * pidfd before and after the child exits and after it is reaped, pidfd_send_signal (a signal,
 * signal 0, a forged siginfo to another process, a /proc/PID directory, bad flags), waitid
 * P_PIDFD (blocking and through a non-blocking pidfd), pidfd_getfd, and clone(CLONE_PIDFD).
 * Only the parent prints; nothing printed depends on pid values. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef PIDFD_NONBLOCK
#define PIDFD_NONBLOCK O_NONBLOCK
#endif
#ifndef P_PIDFD
#define P_PIDFD 3
#endif

#define SHOW(label, expr) do { errno = 0; long _r = (long)(expr); int _e = errno; \
    printf("%s: %ld %s\n", label, _r, _r == -1 ? strerrorname_np(_e) : "-"); } while (0)

static int pidfd_open(pid_t pid, unsigned flags) { return syscall(SYS_pidfd_open, pid, flags); }
static int pidfd_send_signal(int fd, int sig, siginfo_t *info, unsigned flags) {
    return syscall(SYS_pidfd_send_signal, fd, sig, info, flags);
}
static int pidfd_getfd(int fd, int target, unsigned flags) { return syscall(SYS_pidfd_getfd, fd, target, flags); }

static short poll1(int fd) {
    struct pollfd p = {fd, POLLIN, 0};
    return poll(&p, 1, 0) < 0 ? -1 : p.revents;
}

static pid_t sleeper(void) {
    pid_t pid = fork();
    if (pid == 0) {
        for (;;) pause();
    }
    return pid;
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    SHOW("pidfd_open(0)", pidfd_open(0, 0));
    SHOW("pidfd_open(-1)", pidfd_open(-1, 0));
    SHOW("pidfd_open bad flags", pidfd_open(getpid(), 1));
    SHOW("pidfd_open(no such pid)", pidfd_open(4000000, 0));
    int self = pidfd_open(getpid(), 0);
    printf("pidfd_open(self) ok: %d cloexec=%d\n", self >= 0, fcntl(self, F_GETFD));
    printf("poll self: %#x\n", poll1(self));
    char buf[8];
    SHOW("read pidfd", read(self, buf, sizeof buf));
    char link[64] = {0}, path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", self);
    readlink(path, link, sizeof link - 1);
    printf("readlink: %s\n", link);
    SHOW("send_signal bad flags", pidfd_send_signal(self, 0, NULL, 8));
    SHOW("send_signal two scopes", pidfd_send_signal(self, 0, NULL, 3));
    SHOW("send_signal to a non-pidfd", pidfd_send_signal(0, 0, NULL, 0));
    SHOW("send_signal bad fd", pidfd_send_signal(999, 0, NULL, 0));
    SHOW("send_signal sig 0 to self", pidfd_send_signal(self, 0, NULL, 0));
    SHOW("send_signal bad signal", pidfd_send_signal(self, 1000, NULL, 0));

    /* a child that waits for SIGTERM */
    pid_t pid = sleeper();
    int pfd = pidfd_open(pid, 0);
    printf("poll running child: %#x\n", poll1(pfd));
    siginfo_t si;
    memset(&si, 0, sizeof si);
    si.si_signo = SIGTERM;
    si.si_code = SI_KERNEL;
    SHOW("send_signal forged SI_KERNEL to child", pidfd_send_signal(pfd, SIGTERM, &si, 0));
    si.si_code = SI_QUEUE;
    si.si_signo = SIGUSR1;
    SHOW("send_signal siginfo signo mismatch", pidfd_send_signal(pfd, SIGTERM, &si, 0));
    SHOW("send_signal SIGTERM", pidfd_send_signal(pfd, SIGTERM, NULL, 0));
    struct pollfd p = {pfd, POLLIN, 0};
    SHOW("poll until exit", poll(&p, 1, 5000));
    printf("revents zombie: %#x\n", p.revents);
    SHOW("send_signal to zombie", pidfd_send_signal(pfd, SIGTERM, NULL, 0));
    memset(&si, 0, sizeof si);
    SHOW("waitid P_PIDFD", waitid(P_PIDFD, pfd, &si, WEXITED));
    printf("waitid: pid matches=%d code=%d status=%d\n", si.si_pid == pid, si.si_code, si.si_status);
    printf("poll reaped: %#x\n", poll1(pfd));
    SHOW("send_signal to reaped", pidfd_send_signal(pfd, SIGTERM, NULL, 0));
    SHOW("pidfd_getfd reaped", pidfd_getfd(pfd, 0, 0));
    SHOW("waitid P_PIDFD reaped", waitid(P_PIDFD, pfd, &si, WEXITED));
    SHOW("waitid P_PIDFD not a pidfd", waitid(P_PIDFD, 0, &si, WEXITED));
    SHOW("pidfd_open reaped pid", pidfd_open(pid, 0));
    close(pfd);

    /* non-blocking pidfd: waitid without WNOHANG is EAGAIN while the child runs */
    pid = sleeper();
    pfd = pidfd_open(pid, PIDFD_NONBLOCK);
    printf("nonblock F_GETFL has O_NONBLOCK: %d\n", !!(fcntl(pfd, F_GETFL) & O_NONBLOCK));
    SHOW("waitid nonblocking pidfd", waitid(P_PIDFD, pfd, &si, WEXITED));
    memset(&si, 0, sizeof si);
    SHOW("waitid nonblocking pidfd WNOHANG", waitid(P_PIDFD, pfd, &si, WEXITED | WNOHANG));
    printf("WNOHANG siginfo pid zero: %d\n", si.si_pid == 0);
    /* pidfd_getfd: the child's stdout, duplicated */
    int got = pidfd_getfd(pfd, 1, 0);
    printf("pidfd_getfd ok: %d cloexec=%d\n", got >= 0, fcntl(got, F_GETFD));
    close(got);
    SHOW("pidfd_getfd bad flags", pidfd_getfd(pfd, 1, 1));
    SHOW("pidfd_getfd closed fd", pidfd_getfd(pfd, 77, 0));
    SHOW("pidfd_getfd not a pidfd", pidfd_getfd(0, 1, 0));
    /* /proc/PID works as a pidfd for pidfd_send_signal only */
    char procdir[32];
    snprintf(procdir, sizeof procdir, "/proc/%d", pid);
    int dfd = open(procdir, O_DIRECTORY | O_RDONLY);
    SHOW("waitid P_PIDFD on /proc/PID", waitid(P_PIDFD, dfd, &si, WEXITED | WNOHANG));
    SHOW("send_signal via /proc/PID", pidfd_send_signal(dfd, SIGKILL, NULL, 0));
    close(dfd);
    p.fd = pfd;
    poll(&p, 1, 5000);
    memset(&si, 0, sizeof si);
    SHOW("waitid nonblocking pidfd after exit", waitid(P_PIDFD, pfd, &si, WEXITED));
    printf("killed: code=%d status=%d\n", si.si_code, si.si_status);
    close(pfd);

    /* clone(CLONE_PIDFD): the pidfd comes back where the parent tid would go */
    int cfd = -1;
    long r = syscall(SYS_clone, CLONE_PIDFD | SIGCHLD, 0, &cfd, 0, 0);
    if (r == 0) _exit(7);
    printf("clone CLONE_PIDFD: child>0=%d fd>2=%d cloexec=%d\n", r > 0, cfd > 2, fcntl(cfd, F_GETFD));
    memset(&si, 0, sizeof si);
    SHOW("waitid clone pidfd", waitid(P_PIDFD, cfd, &si, WEXITED));
    printf("clone child: code=%d status=%d pid matches=%d\n", si.si_code, si.si_status, si.si_pid == r);
    close(cfd);
    SHOW("clone CLONE_PIDFD|CLONE_PARENT_SETTID", syscall(SYS_clone, CLONE_PIDFD | CLONE_PARENT_SETTID | SIGCHLD, 0, &cfd, 0, 0));
    /* a signal to oneself through the pidfd */
    signal(SIGUSR1, SIG_IGN);
    SHOW("send_signal SIGUSR1 to self (ignored)", pidfd_send_signal(self, SIGUSR1, NULL, 0));
    return 0;
}
