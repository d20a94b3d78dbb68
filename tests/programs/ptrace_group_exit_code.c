/* A traced thread that ended on its own (exit code 0) and is collected only after its group's
 * exit_group(5) reports the group's code, 5 (Linux's wait_task_zombie: SIGNAL_GROUP_EXIT). The
 * order is fixed: the thread's end is seen first with WNOWAIT, and the group's exit by the main
 * thread's PTRACE_EVENT_EXIT stop (its own report waits until the thread is collected). */
#define _GNU_SOURCE
#include <pthread.h>
#include "ptrace_util.h"

static void *quick(void *arg) { (void)arg; return NULL; }

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    pid_t pid = fork_traced_thread(quick, 5);
    int st;
    unsigned long tid;
    ptrace(PTRACE_SETOPTIONS, pid, 0, PTRACE_O_TRACECLONE | PTRACE_O_TRACEEXIT);
    ptrace(PTRACE_CONT, pid, 0, 0);
    waitpid(pid, &st, __WALL);                  /* the clone event; the main thread stays stopped */
    show_status("main thread", st);
    ptrace(PTRACE_GETEVENTMSG, pid, 0, &tid);
    waitpid(tid, &st, __WALL);                  /* the new thread's first stop */
    show_status("thread", st);
    ptrace(PTRACE_CONT, tid, 0, 0);
    waitpid(tid, &st, __WALL);                  /* its own exit event (exit code 0) */
    show_status("thread", st);
    ptrace(PTRACE_CONT, tid, 0, 0);
    siginfo_t si = {0};
    int r = waitid(P_PID, tid, &si, WEXITED | WNOWAIT | __WALL);   /* it has ended: not collected */
    printf("thread ended: %d code %d status %d\n", r, si.si_code, si.si_status);
    ptrace(PTRACE_CONT, pid, 0, 0);
    waitpid(pid, &st, __WALL);                  /* exit_group(5) under way: the exit event */
    show_status("main thread", st);
    waitpid(tid, &st, __WALL);
    show_status("thread collected after the group", st);
    ptrace(PTRACE_CONT, pid, 0, 0);
    waitpid(pid, &st, __WALL);
    show_status("main thread", st);
    return 0;
}
