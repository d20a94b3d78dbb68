/* A thread forks while the main thread already waits to join it: the join's futex (a shared
 * one, on private memory) must be woken by the thread's exit although the fork made that page
 * copy-on-write and the thread's own writes then gave it a fresh copy. Then the same from
 * many threads at once, with exec. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "await_state.h"

static int do_exec;

static void *forker(void *arg) {
    char main_stat[64];   /* main must be asleep in pthread_join first (else the test proves less) */
    snprintf(main_stat, sizeof main_stat, "/proc/self/task/%d/stat", (int)getpid());
    if (!await_sleeping(main_stat)) return (void *)0;
    pid_t p = fork();
    if (p == 0) {
        if (do_exec) execl("/bin/true", "true", (char *)0);
        _exit(0);
    }
    int st;
    return (void *)(long)(waitpid(p, &st, 0) == p && WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

int main(void) {
    for (do_exec = 0; do_exec <= 1; do_exec++) {
        pthread_t t[8];
        long ok = 0;
        for (int i = 0; i < 8; i++) pthread_create(&t[i], NULL, forker, NULL);
        for (int i = 0; i < 8; i++) { void *r; pthread_join(t[i], &r); ok += (long)r; }
        printf("exec=%d: joined 8 threads, %ld children fine\n", do_exec, ok);
    }
    return 0;
}
