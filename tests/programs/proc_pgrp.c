/* Process groups and sessions (differential): setpgid/getpgid/getpgrp/setsid/getsid,
 * kill(0, sig), kill(-pgid, sig), waitpid(0)/waitpid(-pgid), and their errors.
 * Everything runs in a forked child P, which (natively and in the sandbox alike) starts
 * as a non-leader in its parent's group and session. Only P prints. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define SHOW(label, expr) do { errno = 0; long _r = (long)(expr); int _e = errno; \
    printf("%s: %ld errno=%d\n", label, _r, _r == -1 ? _e : 0); } while (0)
#define TRUTH(label, expr) printf("%s: %d\n", label, (int)!!(expr))

static void nap(int ms) { struct timespec t = {ms / 1000, (ms % 1000) * 1000000L}; nanosleep(&t, NULL); }

static int report_fd;
static void on_usr1(int sig) { char c = 'u'; write(report_fd, &c, 1); }

/* A child that waits to be killed; returns its pid. */
static pid_t sleeper(pid_t pgid) {
    pid_t c = fork();
    if (c == 0) {
        if (pgid >= 0) setpgid(0, pgid);
        for (;;) pause();
    }
    if (pgid >= 0) setpgid(c, pgid == 0 ? c : pgid);   /* both sides, so no race */
    return c;
}

static void body(void) {
    pid_t me = getpid(), parent = getppid();
    TRUTH("P starts in parent's group", getpgid(0) == getpgid(parent));
    TRUTH("getpgrp == getpgid(0)", getpgrp() == getpgid(0));
    TRUTH("P starts in parent's session", getsid(0) == getsid(parent));
    TRUTH("getpgid(me) == getpgid(0)", getpgid(me) == getpgid(0));
    SHOW("getpgid(nonexistent)", getpgid(1 << 22));
    SHOW("getsid(nonexistent)", getsid(1 << 22));
    SHOW("setpgid(nonexistent)", setpgid(1 << 22, 0));
    SHOW("setpgid(0, -1)", setpgid(0, -1));
    SHOW("setpgid(0, nonexistent group)", setpgid(0, 1 << 22));

    SHOW("setpgid(0, 0)", setpgid(0, 0));
    TRUTH("now leader: pgid == pid", getpgid(0) == me);
    SHOW("setsid as group leader", setsid());
    TRUTH("session unchanged", getsid(0) == getsid(parent));
    SHOW("setpgid back to parent's group", setpgid(0, getpgid(parent)));
    TRUTH("back in parent's group", getpgid(0) == getpgid(parent));
    SHOW("setpgid(0,0) again", setpgid(0, 0));

    /* A child in a new session */
    int fds[2];
    pipe(fds);
    pid_t c = fork();
    if (c == 0) {
        char r[8];
        pid_t s = setsid();
        r[0] = '0' + (s == getpid());
        r[1] = '0' + (getsid(0) == getpid());
        r[2] = '0' + (getpgid(0) == getpid());
        errno = 0;
        r[3] = '0' + (setpgid(0, me) == -1 && errno == EPERM);      /* other session */
        errno = 0;
        r[4] = '0' + (setsid() == -1 && errno == EPERM);            /* already leader */
        r[5] = '0' + (getsid(me) == getsid(getppid()));             /* may look at P's */
        write(fds[1], r, 6);
        pause();
        _exit(0);
    }
    char r[6] = {0};
    read(fds[0], r, 6);
    printf("setsid child: ret==pid %c, sid==pid %c, pgid==pid %c, setpgid across sessions EPERM %c, "
           "setsid twice EPERM %c, getsid(P) %c\n", r[0], r[1], r[2], r[3], r[4], r[5]);
    TRUTH("getsid(child) == child", getsid(c) == c);
    SHOW("setpgid(child in other session, me)", setpgid(c, me));
    kill(c, SIGKILL);
    waitpid(c, NULL, 0);

    /* setpgid on a child after it has exec'd: EACCES */
    int go[2];
    pipe(go);
    c = fork();
    if (c == 0) {
        close(go[1]);
        dup2(go[0], 0);
        execl("/bin/sh", "sh", "-c", "read x; exit 0", (char *)0);
        _exit(100);
    }
    close(go[0]);
    for (int i = 0; i < 200; i++) {   /* wait until the exec happened: /proc/c/exe changes */
        char path[64], buf[256];
        snprintf(path, sizeof path, "/proc/%d/exe", c);
        ssize_t n = readlink(path, buf, sizeof buf - 1);
        if (n > 0) { buf[n] = 0; if (strstr(buf, "sh")) break; }
        nap(10);
    }
    nap(50);
    SHOW("setpgid(child after exec)", setpgid(c, c));
    write(go[1], "\n", 1);
    close(go[1]);
    waitpid(c, NULL, 0);

    /* kill(0, sig): P and two children in P's group get it */
    pipe(fds);
    report_fd = fds[1];
    signal(SIGUSR1, on_usr1);
    pid_t a = sleeper(-1), b = sleeper(-1);
    nap(50);
    SHOW("kill(0, SIGUSR1)", kill(0, SIGUSR1));
    nap(100);
    int n = 0;
    char buf[16];
    while (n < 3) {
        ssize_t k = read(fds[0], buf, 1);
        if (k == 1) n++;
        else if (errno != EINTR) break;
    }
    printf("kill(0) reached %d processes\n", n);
    kill(a, SIGKILL);
    kill(b, SIGKILL);
    waitpid(a, NULL, 0);
    waitpid(b, NULL, 0);

    /* kill(-pgid): a separate group of three, P not in it */
    signal(SIGUSR1, SIG_DFL);
    pid_t g = sleeper(0);
    pid_t g2 = sleeper(g), g3 = sleeper(g);
    pid_t outside = sleeper(-1);
    nap(50);
    TRUTH("group members", getpgid(g2) == g && getpgid(g3) == g && getpgid(g) == g);
    int st;
    SHOW("waitpid(-g, WNOHANG) live", waitpid(-g, &st, WNOHANG));
    SHOW("kill(-g, SIGTERM)", kill(-g, SIGTERM));
    int killed = 0;
    for (int i = 0; i < 3; i++) {
        pid_t w = waitpid(-g, &st, 0);
        if (w > 0 && WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM) killed++;
    }
    printf("kill(-g) terminated %d group members\n", killed);
    SHOW("waitpid(-g) when the group is empty", waitpid(-g, &st, WNOHANG));
    SHOW("outside still alive: kill(outside, 0)", kill(outside, 0));
    SHOW("waitpid(0) WNOHANG: outside is in my group", waitpid(0, &st, WNOHANG));
    kill(outside, SIGKILL);
    SHOW("waitpid(0) reaps it", waitpid(0, &st, 0) == outside);
    SHOW("kill(-nonexistent group)", kill(-(1 << 22), SIGTERM));
    SHOW("killpg(nonexistent)", killpg(1 << 22, 0));
    SHOW("kill(-g, 0) after group died", kill(-g, 0));
    SHOW("kill bad signal", kill(me, 65));
    SHOW("kill(me, 0)", kill(me, 0));

    /* A child in another group reaped only by waitpid(-its group) or -1, not by waitpid(0) */
    pid_t o = fork();
    if (o == 0) { setpgid(0, 0); _exit(4); }
    setpgid(o, o);
    nap(50);
    SHOW("waitpid(0) ignores other-group child", waitpid(0, &st, WNOHANG));
    SHOW("waitpid(-o) finds it", waitpid(-o, &st, 0) == o);
    printf("status code %d\n", WEXITSTATUS(st));

    /* The group survives its leader: members keep the pgid after it exits */
    g = fork();
    if (g == 0) { setpgid(0, 0); nap(50); _exit(0); }
    setpgid(g, g);
    g2 = sleeper(g);
    waitpid(g, &st, 0);
    TRUTH("member keeps pgid after leader exited", getpgid(g2) == g);
    SHOW("kill(-g) with leader gone", kill(-g, SIGKILL));
    SHOW("reap member", waitpid(g2, &st, 0) == g2);
    TRUTH("  killed by 9", WIFSIGNALED(st) && WTERMSIG(st) == 9);
}

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    pid_t p = fork();
    if (p == 0) { body(); fflush(stdout); _exit(0); }
    int st;
    waitpid(p, &st, 0);
    printf("P exit status %d\n", st);
    return 0;
}
