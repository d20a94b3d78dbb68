/* Regressions found by a later sweep of gVisor's syscall tests: one case per argv[1], each printing
 * what it observes (return values, errno names), run natively and in the sandbox.
 *   userns_securebits  a new user namespace resets the securebits: PR_SET_KEEPCAPS's flag is gone
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef SECBIT_NO_SETUID_FIXUP
#define SECBIT_NO_SETUID_FIXUP 4
#endif

static const char *en(int e)
{
    switch (e) {
    case 0: return "OK";
    case EPERM: return "EPERM";
    case ENOENT: return "ENOENT";
    case EACCES: return "EACCES";
    case EINVAL: return "EINVAL";
    case ENOEXEC: return "ENOEXEC";
    case ELOOP: return "ELOOP";
    case ELIBBAD: return "ELIBBAD";
    default: return strerror(e);
    }
}

static void show(const char *what, long r)
{
    printf("%s: %ld %s\n", what, r, r < 0 ? en(errno) : "");
}

/* The child's exit status or terminating signal, as one line. */
static void show_status(const char *what, pid_t pid)
{
    int st;
    if (waitpid(pid, &st, 0) != pid) {
        printf("%s: waitpid failed %s\n", what, en(errno));
        return;
    }
    if (WIFEXITED(st))
        printf("%s: exit %d\n", what, WEXITSTATUS(st));
    else if (WIFSIGNALED(st))
        printf("%s: signal %d\n", what, WTERMSIG(st));
    else
        printf("%s: status %#x\n", what, st);
}

static int userns_securebits(void)
{
    pid_t pid = fork();
    if (pid == 0) {
        show("set keepcaps", prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0));
        show("set no_setuid_fixup", prctl(PR_SET_SECUREBITS, SECBIT_NO_SETUID_FIXUP | 16, 0, 0, 0));
        show("securebits before", prctl(PR_GET_SECUREBITS, 0, 0, 0, 0));
        show("unshare user", unshare(CLONE_NEWUSER));
        show("keepcaps after", prctl(PR_GET_KEEPCAPS, 0, 0, 0, 0));
        show("securebits after", prctl(PR_GET_SECUREBITS, 0, 0, 0, 0));
        fflush(stdout);
        _exit(0);
    }
    show_status("child", pid);
    return 0;
}

int main(int argc, char **argv)
{
    const char *c = argc > 1 ? argv[1] : "";
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (!strcmp(c, "userns_securebits")) return userns_securebits();
    fprintf(stderr, "unknown case %s\n", c);
    return 2;
}
