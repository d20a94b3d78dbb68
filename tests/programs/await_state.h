/* Waiting for another task to be asleep, by its /proc stat, instead of sleeping a while and
 * hoping it got there: natively state S is an interruptible sleep, in the sandbox a task blocked
 * in a syscall. Shared by the test programs (tests/harness.py's compile_c hashes this header too). */
#ifndef AWAIT_STATE_H
#define AWAIT_STATE_H
#include <stdio.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>

/* The state letter in PATH (a /proc/.../stat file): '-' if there is no such file, '?' if it
 * cannot be parsed. */
static char proc_state(const char *path) {
    char buf[512];
    FILE *f = fopen(path, "r");
    if (!f) return '-';
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    char *close_paren = strrchr(buf, ')');
    return close_paren && close_paren[1] == ' ' ? close_paren[2] : '?';
}

static char pid_state(pid_t pid) {
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    return proc_state(path);
}

/* Poll PATH until its state is one of STATES; 1 once it is, 0 if it was not within LIMIT_MS. */
static int await_state_within(const char *path, const char *states, long limit_ms) {
    struct timespec t0, t, pause_1ms = {0, 1000000};
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        char s = proc_state(path);
        if (s != '-' && s != '?' && strchr(states, s)) return 1;
        clock_gettime(CLOCK_MONOTONIC, &t);
        if ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000 > limit_ms) return 0;
        nanosleep(&pause_1ms, NULL);
    }
}

static int await_state(const char *path, const char *states) { return await_state_within(path, states, 60000); }

static int await_sleeping(const char *path) { return await_state(path, "S"); }

static int await_pid_sleeping(pid_t pid) {
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    return await_sleeping(path);
}
#endif
