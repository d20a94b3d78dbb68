/* Tracing a thread: PTRACE_O_TRACECLONE's event stop (GETEVENTMSG: the new tid), the new
 * thread's own first stop (a tracer's wait needs no __WCLONE since Linux 4.7), its TracerPid,
 * then the thread's exit reported to the tracer by its tid, and the process's exit. Then vfork:
 * PTRACE_EVENT_VFORK, the child's first stop and exit, PTRACE_EVENT_VFORK_DONE. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include "ptrace_util.h"

static void *thread_main(void *arg) { return arg; }

static void traced_vfork(void) {
    pid_t pid = fork_traced();
    if (pid == 0) {
        pid_t c = vfork();
        if (c == 0) _exit(4);
        int st;
        waitpid(c, &st, 0);
        exit(WEXITSTATUS(st) + 10);
    }
    int st;
    unsigned long child = 0, done = 0;
    ptrace(PTRACE_SETOPTIONS, pid, 0, PTRACE_O_TRACEVFORK | PTRACE_O_TRACEVFORKDONE);
    ptrace(PTRACE_CONT, pid, 0, 0);
    waitpid(pid, &st, 0);
    show_status("vfork parent", st);
    ptrace(PTRACE_GETEVENTMSG, pid, 0, &child);
    ptrace(PTRACE_CONT, pid, 0, 0);   /* it now waits for its child to exit or exec */
    waitpid(child, &st, 0);
    show_status("vfork child", st);
    ptrace(PTRACE_CONT, child, 0, 0);
    waitpid(child, &st, 0);
    show_status("vfork child", st);
    waitpid(pid, &st, 0);
    show_status("vfork parent", st);
    ptrace(PTRACE_GETEVENTMSG, pid, 0, &done);
    printf("vfork done: msg is the child %d\n", done == child);
    ptrace(PTRACE_CONT, pid, 0, 0);
    for (;;) {   /* SIGCHLD's delivery, then the exit */
        waitpid(pid, &st, 0);
        show_status("vfork parent", st);
        if (!WIFSTOPPED(st)) break;
        ptrace(PTRACE_CONT, pid, 0, WSTOPSIG(st));
    }
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    pid_t pid = fork_traced_thread(thread_main, 7);
    int st;
    ptrace(PTRACE_SETOPTIONS, pid, 0, PTRACE_O_TRACECLONE);
    ptrace(PTRACE_CONT, pid, 0, 0);
    waitpid(pid, &st, 0);
    show_status("process", st);
    unsigned long tid = 0;
    ptrace(PTRACE_GETEVENTMSG, pid, 0, &tid);
    printf("new thread is another task: %d\n", tid != 0 && (pid_t)tid != pid);
    result("wait for the thread without __WCLONE", waitpid(tid, &st, 0) == (pid_t)tid ? 0 : -1);
    show_status("thread", st);
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/task/%lu/status", pid, tid);
    FILE *f = fopen(path, "r");
    char line[128];
    while (f && fgets(line, sizeof line, f)) {
        int tracer;
        if (sscanf(line, "TracerPid: %d", &tracer) == 1) printf("thread traced by us: %d\n", tracer == getpid());
    }
    if (f) fclose(f);
    ptrace(PTRACE_CONT, tid, 0, 0);
    result("wait for its exit", waitpid(tid, &st, 0) == (pid_t)tid ? 0 : -1);
    show_status("thread", st);
    ptrace(PTRACE_CONT, pid, 0, 0);
    waitpid(pid, &st, 0);
    show_status("process", st);
    result("nothing left", waitpid(-1, &st, __WALL));
    traced_vfork();
    return 0;
}
