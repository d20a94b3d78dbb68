/* wait4/waitid and ptrace corners found with gVisor's wait_test: one case per argv[1], each printing
 * what it observes, run natively and in the sandbox.
 *   tracee_wclone   a child traced by its parent (PTRACE_TRACEME) exits: wait4(pid, __WCLONE) reaps it
 *                   (a tracee is waitable whatever __WCLONE says), once
 *   tracee_waitid   the same with waitid(P_PID, __WCLONE), and __WALL
 *   wnothread       __WNOTHREAD: a thread cannot wait for its sibling's child, the sibling can */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *err(long r) { return r < 0 ? strerrorname_np(errno) : "ok"; }

/* A child that becomes its parent's tracee, tells it so by closing the pipe, and exits 7. */
static pid_t traced_child(void)
{
    int p[2];
    pipe(p);
    pid_t child = fork();
    if (child == 0) {
        close(p[0]);
        if (ptrace(PTRACE_TRACEME, 0, NULL, NULL))
            _exit(99);
        close(p[1]);
        _exit(7);
    }
    close(p[1]);
    char c;
    read(p[0], &c, 1);
    close(p[0]);
    return child;
}

static int tracee_wclone(void)
{
    pid_t child = traced_child();
    int st = 0;
    pid_t r = wait4(child, &st, __WCLONE, NULL);
    printf("wait4 __WCLONE: %s, the child %d, exited %d code %d\n", err(r), r == child, WIFEXITED(st),
           WEXITSTATUS(st));
    r = wait4(-1, &st, WNOHANG | __WALL, NULL);
    printf("again: %s\n", err(r));
    return 0;
}

static int tracee_waitid(void)
{
    siginfo_t si;
    pid_t child = traced_child();
    memset(&si, 0, sizeof si);
    long r = waitid(P_PID, child, &si, WEXITED | __WCLONE);
    printf("waitid __WCLONE: %s, the child %d, code %d status %d\n", err(r), si.si_pid == child, si.si_code,
           si.si_status);
    child = traced_child();
    int st = 0;
    r = wait4(child, &st, __WALL, NULL);
    printf("wait4 __WALL: %s, the child %d, status %#x\n", err(r), r == child, st);
    r = waitid(P_ALL, 0, &si, WEXITED | WNOHANG | __WALL);
    printf("again: %s\n", err(r));
    return 0;
}

static pid_t sibling_child;
static int made[2], waited[2];

static void *sibling_main(void *arg)
{
    (void)arg;
    sibling_child = fork();
    if (sibling_child == 0)
        _exit(3);
    write(made[1], "x", 1);
    char c;
    read(waited[0], &c, 1);
    int st = 0;
    pid_t r = waitpid(sibling_child, &st, __WNOTHREAD);
    printf("its own thread, __WNOTHREAD: %s, exited %d code %d\n", err(r), WIFEXITED(st), WEXITSTATUS(st));
    return NULL;
}

static int wnothread(void)
{
    pipe(made);
    pipe(waited);
    pthread_t th;
    pthread_create(&th, NULL, sibling_main, NULL);
    char c;
    read(made[0], &c, 1);
    int st;
    printf("sibling's child, __WNOTHREAD: %s\n", err(waitpid(sibling_child, &st, __WNOTHREAD)));
    siginfo_t si;
    printf("waitid, __WNOTHREAD: %s\n", err(waitid(P_ALL, 0, &si, WEXITED | WNOHANG | __WNOTHREAD)));
    write(waited[1], "x", 1);
    pthread_join(th, NULL);
    return 0;
}

int main(int argc, char **argv)
{
    const char *c = argc > 1 ? argv[1] : "";
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (!strcmp(c, "tracee_wclone")) return tracee_wclone();
    if (!strcmp(c, "tracee_waitid")) return tracee_waitid();
    if (!strcmp(c, "wnothread")) return wnothread();
    fprintf(stderr, "unknown case %s\n", c);
    return 2;
}
