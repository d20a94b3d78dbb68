/* What the ptrace test programs share: a result line for a call that may fail, a wait status
 * printed without pids, and a child that is traced and stopped before it goes on. */
#ifndef PTRACE_UTIL_H
#define PTRACE_UTIL_H
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ptrace.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

/* "name: result errno N" (errno read after the call: not an argument evaluated beside it). */
static void result(const char *name, long r) { printf("%s: %ld errno %d\n", name, r, r == -1 ? errno : 0); }

static void show_status(const char *who, int st) {
    if (WIFSTOPPED(st)) printf("%s: stopped sig %d event %d\n", who, WSTOPSIG(st) & 0x7f, st >> 16);
    else if (WIFEXITED(st)) printf("%s: exited %d\n", who, WEXITSTATUS(st));
    else if (WIFSIGNALED(st)) printf("%s: killed by %d\n", who, WTERMSIG(st));
}

/* fork(): the child asks to be traced (PTRACE_TRACEME), stops itself with SIGSTOP and returns 0
 * once its tracer lets it go on; the parent returns the child's pid once it has seen that stop. */
static pid_t fork_traced(void) {
    pid_t pid = fork();
    if (pid == 0) {
        if (ptrace(PTRACE_TRACEME, 0, 0, 0) != 0) _exit(90);
        raise(SIGSTOP);
        return 0;
    }
    int st;
    if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFSTOPPED(st)) exit(2);
    return pid;
}

/* fork_traced, then the child runs ``fn`` in one thread, joins it and exits with ``code``; the
 * parent gets the child's pid (build with -pthread). */
static inline pid_t fork_traced_thread(void *(*fn)(void *), int code) {
    pid_t pid = fork_traced();
    if (pid == 0) {
        pthread_t th;
        pthread_create(&th, NULL, fn, NULL);
        pthread_join(th, NULL);
        exit(code);
    }
    return pid;
}
#endif
