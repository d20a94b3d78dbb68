/* oci_shim: one OCI cycle as a container engine's shim runs it (bench/oci_cycle.py).
 *
 *   oci_shim PIDFILE ID BUNDLE RUNTIME [RUNTIME-FLAGS...]
 *
 * As containerd's shim and conmon: a subreaper that runs `RUNTIME create --bundle BUNDLE
 * --pid-file PIDFILE ID` (the container's stdio /dev/null), `RUNTIME start ID`, waits for the
 * pid in PIDFILE as its child (reparented to it), then `RUNTIME delete ID`. Exits 0 when every
 * step did (the container's own exit status is not looked at), else 1 with a line on stderr.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_ARGS 64

static char **runtime;
static int runtime_len;

/* Runs RUNTIME VERB ARGS... (NULL-terminated) and waits for it; its wait status. */
static int run(int quiet_stdio, const char *verb, ...)
{
    char *argv[MAX_ARGS];
    int n = 0;
    for (int i = 0; i < runtime_len && n < MAX_ARGS - 8; i++)
        argv[n++] = runtime[i];
    argv[n++] = (char *)verb;
    va_list ap;
    va_start(ap, verb);
    char *a;
    while ((a = va_arg(ap, char *)) != NULL && n < MAX_ARGS - 1)
        argv[n++] = a;
    va_end(ap);
    argv[n] = NULL;
    pid_t pid = fork();
    if (pid < 0) {
        perror("oci_shim: fork");
        exit(1);
    }
    if (pid == 0) {
        if (quiet_stdio) {
            int null = open("/dev/null", O_RDWR);
            dup2(null, 0);
            dup2(null, 1);
        }
        execvp(argv[0], argv);
        fprintf(stderr, "oci_shim: %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    /* Any child: orphans reparented to us are reaped as they exit (runsc's delete waits for
       its gofer to be gone, not a zombie), the container's own pid among them (then
       wait_container finds it gone). */
    int status;
    pid_t got;
    while ((got = waitpid(-1, &status, 0)) != pid)
        if (got < 0 && errno != EINTR) {
            perror("oci_shim: waitpid");
            exit(1);
        }
    return status;
}

static void check(int status, const char *verb)
{
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "oci_shim: %s failed (wait status %#x)\n", verb, status);
        exit(1);
    }
}

/* Waits for pid: our child (a subreaper's), or else polled every millisecond; other
   children that exit meanwhile are reaped. */
static void wait_container(pid_t pid)
{
    pid_t got;
    while ((got = waitpid(-1, NULL, 0)) != pid)
        if (got < 0 && errno != EINTR)
            break;
    struct timespec ms = {0, 1000000};
    while (got != pid && kill(pid, 0) == 0)
        nanosleep(&ms, NULL);
}

int main(int argc, char **argv)
{
    if (argc < 5) {
        fprintf(stderr, "usage: oci_shim PIDFILE ID BUNDLE RUNTIME [FLAGS...]\n");
        return 2;
    }
    char *pid_file = argv[1], *id = argv[2], *bundle = argv[3];
    runtime = argv + 4;
    runtime_len = argc - 4;
    prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
    check(run(1, "create", "--bundle", bundle, "--pid-file", pid_file, id, NULL), "create");
    FILE *f = fopen(pid_file, "r");
    int pid = 0;
    if (!f || fscanf(f, "%d", &pid) != 1 || pid <= 0) {
        fprintf(stderr, "oci_shim: no pid in %s\n", pid_file);
        return 1;
    }
    fclose(f);
    check(run(0, "start", id, NULL), "start");
    wait_container(pid);
    check(run(0, "delete", id, NULL), "delete");
    while (waitpid(-1, NULL, WNOHANG) > 0)   /* orphans reparented to us */
        ;
    return 0;
}
