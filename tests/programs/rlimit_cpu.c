/* RLIMIT_CPU: SIGXCPU at the soft limit and each second after (the soft limit moving up a
 * second each time, as getrlimit shows), SIGKILL at the hard limit.
 *   rlimit_cpu handler   a SIGXCPU handler prints the soft limit it finds; dies of SIGKILL
 *   rlimit_cpu default   SIGXCPU's default action ends the process
 *   rlimit_cpu child     a forked child spins under the limit its parent set; the parent reports
 *   rlimit_cpu exec      CPU time spent before an execve still counts after it */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double cpu_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void on_xcpu(int sig)
{
    struct rlimit r;
    getrlimit(RLIMIT_CPU, &r);
    char line[64];
    int n = snprintf(line, sizeof line, "SIGXCPU: soft limit now %llu\n", (unsigned long long)r.rlim_cur);
    write(1, line, n);
}

static void spin(void)
{
    for (volatile unsigned long x = 0;; x++)
        ;
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "handler";
    if (strcmp(mode, "exec") == 0) {   /* spin half a second of CPU, then exec ourselves */
        while (cpu_seconds() < 0.5)
            ;
        execl("/proc/self/exe", argv[0], "exec2", (char *)NULL);
        perror("execl");
        return 1;
    }
    if (strcmp(mode, "exec2") == 0) {
        printf("CPU time kept across execve: %d\n", cpu_seconds() >= 0.5);
        return 0;
    }
    struct rlimit r = {1, 3};
    if (strcmp(mode, "handler") == 0)
        signal(SIGXCPU, on_xcpu);
    if (setrlimit(RLIMIT_CPU, &r) != 0) {
        perror("setrlimit");
        return 1;
    }
    if (strcmp(mode, "child") == 0) {
        pid_t pid = fork();
        if (pid == 0)
            spin();
        int status;
        waitpid(pid, &status, 0);
        printf("child: %s %d\n", WIFSIGNALED(status) ? "signal" : "exit",
               WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
        return 0;
    }
    printf("spinning\n");
    fflush(stdout);
    spin();
}
