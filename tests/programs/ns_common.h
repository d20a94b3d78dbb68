/* Helpers of the namespace test programs (ns_uts_ipc.c, ns_mount.c). */
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

/* The exit status of child ``pid`` (128+N for death by signal N). */
static int reap(pid_t pid) {
    int st;
    waitpid(pid, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* A child that runs ``setup`` (entering namespaces of its own), then waits until the pipe end
 * stored in *release is closed; returns once the setup is done. */
static pid_t holder(void (*setup)(void), int *release) {
    int ready[2], hold[2];
    pipe(ready);
    pipe(hold);
    pid_t pid = fork();
    if (pid == 0) {
        close(hold[1]);
        setup();
        write(ready[1], "x", 1);
        char c;
        read(hold[0], &c, 1);
        exit(0);
    }
    char c;
    close(hold[0]);
    close(ready[1]);
    read(ready[0], &c, 1);
    close(ready[0]);
    *release = hold[1];
    return pid;
}
