/* Debug registers are per thread: a watchpoint set on one thread traps its write, and a thread
 * made after that one exited starts with none (in the sandbox it may run in the same host thread,
 * which must not keep the first one's breakpoints). Stops are awaited thread by thread, in the
 * order the tracee makes them (its main thread waits in pthread_join meanwhile). */
#define _GNU_SOURCE
#include <pthread.h>
#include <stddef.h>
#include <sys/user.h>
#include "ptrace_util.h"

#define DR_OFF(i) (offsetof(struct user, u_debugreg) + (i) * sizeof(long))

static volatile int watched;

static void *writer(void *arg) {
    watched += (int)(long)arg;
    return NULL;
}

static void run_thread(long add) {
    pthread_t th;
    if (pthread_create(&th, NULL, writer, (void *)add) == 0) pthread_join(th, NULL);
}

static int wait_for(pid_t tid, const char *who) {
    int st;
    if (waitpid(tid, &st, __WALL) != tid) { perror("waitpid"); exit(3); }
    show_status(who, st);
    return st;
}

/* The child's next clone event; returns the new thread's tid once it has made its first stop. */
static pid_t next_thread(pid_t pid, const char *who) {
    unsigned long tid;
    ptrace(PTRACE_CONT, pid, 0, 0);
    wait_for(pid, "clone event");
    ptrace(PTRACE_GETEVENTMSG, pid, 0, &tid);
    wait_for(tid, who);
    printf("%s: dr0 %s dr7 %#lx\n", who, ptrace(PTRACE_PEEKUSER, tid, DR_OFF(0), 0) ? "set" : "0",
           ptrace(PTRACE_PEEKUSER, tid, DR_OFF(7), 0));
    return tid;
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    pid_t pid = fork_traced();
    if (pid == 0) {
        run_thread(1);   /* watched: traps */
        run_thread(2);   /* not watched: no trap */
        _exit(watched);
    }
    ptrace(PTRACE_SETOPTIONS, pid, 0, PTRACE_O_TRACECLONE);
    pid_t a = next_thread(pid, "first thread");
    printf("dr0 = &watched: %ld\n", ptrace(PTRACE_POKEUSER, a, DR_OFF(0), &watched));
    printf("dr7 write len 4: %ld\n", ptrace(PTRACE_POKEUSER, a, DR_OFF(7), 0xd0001L));
    ptrace(PTRACE_CONT, a, 0, 0);
    ptrace(PTRACE_CONT, pid, 0, 0);
    wait_for(a, "first thread");
    siginfo_t si;
    ptrace(PTRACE_GETSIGINFO, a, 0, &si);
    printf("first thread: si_code %d dr6 %#lx watched %ld\n", si.si_code, ptrace(PTRACE_PEEKUSER, a, DR_OFF(6), 0),
           ptrace(PTRACE_PEEKDATA, a, &watched, 0));
    ptrace(PTRACE_CONT, a, 0, 0);
    wait_for(a, "first thread");
    wait_for(pid, "main thread");   /* the clone event of the second thread */
    unsigned long b;
    ptrace(PTRACE_GETEVENTMSG, pid, 0, &b);
    wait_for(b, "second thread");
    printf("second thread: dr0 %s dr7 %#lx\n", ptrace(PTRACE_PEEKUSER, b, DR_OFF(0), 0) ? "set" : "0",
           ptrace(PTRACE_PEEKUSER, b, DR_OFF(7), 0));
    /* The second thread's exit is collected before the main thread runs on: collected after the
     * group's exit_group, it would report the group's code (wait_task_zombie), a race. */
    ptrace(PTRACE_CONT, b, 0, 0);
    wait_for(b, "second thread");
    ptrace(PTRACE_CONT, pid, 0, 0);
    wait_for(pid, "main thread");
    return 0;
}
