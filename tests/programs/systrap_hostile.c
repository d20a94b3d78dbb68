/* Hostile children against the systrap platform: each scribbles on what the stub shares
 * with the Sentry (the sysmsg pages above TASK_SIZE, the signal frames in them) or jumps
 * into the stub's code. Natively (and under ptrace) those addresses are unmapped and the
 * child just dies of SIGSEGV. Either way the parent, another process, must carry on: it
 * waits for each child to die or settle in pause, kills it, reaps it and goes on making syscalls. */
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "await_state.h"

#define SYSMSG ((volatile uint64_t *)0x7FFE40000000UL)   /* thread 0's sysmsg; 64 KiB each */
#define SLOT(i) ((volatile uint64_t *)(0x7FFE40000000UL + (i) * 0x10000UL))
#define STUB_HANDLER 0x7FFE00000100UL
#define STUB_DO_SYSCALL 0x7FFE000001CFUL

static uint64_t rnd = 88172645463325252ULL;
static uint64_t next(void) { rnd ^= rnd << 13; rnd ^= rnd >> 7; rnd ^= rnd << 17; return rnd; }

static void *busy(void *arg) {
    for (;;) syscall(SYS_getpid);
    return arg;
}

static void child(int mode) {
    switch (mode) {
    case 0:   /* garbage over the whole first page of its own sysmsg, then a syscall */
        for (int i = 0; i < 512; i++) SYSMSG[i] = next();
        syscall(SYS_getpid);
        break;
    case 1:   /* forge a pending request: state SYSCALL with exit_group's number */
        SYSMSG[5] = 231; SYSMSG[0] = 3;
        syscall(SYS_getpid);
        break;
    case 2:   /* point the frame pointers outside the sysmsg, then fault */
        SYSMSG[2] = 0x1000; SYSMSG[3] = 0xFFFFFFFFFFFFF000ULL; SYSMSG[1] = 31;
        *(volatile int *)8 = 1;
        break;
    case 3: { /* call the stub's signal handler with our own registers */
        void (*h)(int, void *, void *) = (void (*)(int, void *, void *))STUB_HANDLER;
        h(31, (void *)SYSMSG, (void *)SYSMSG);
        break;
    }
    case 4:   /* jump to the request executor with a garbage sysmsg */
        ((void (*)(void))STUB_DO_SYSCALL)();
        break;
    case 5: { /* a sibling thread makes syscalls while we scribble its sysmsg and frame */
        pthread_t t;
        pthread_create(&t, NULL, busy, NULL);
        for (long n = 0; n < 2000000; n++) SLOT(1)[next() % 8192] = next();
        break;
    }
    case 6:   /* garbage over the alternate stack (the saved frame) while in a syscall */
        for (int i = 512; i < 8192; i++) SYSMSG[i] = next();
        syscall(SYS_getpid);
        break;
    }
    for (;;) pause();
}

int main(void) {
    for (int mode = 0; mode <= 6; mode++) {
        fflush(stdout);
        int go[2];
        pipe(go);
        pid_t pid = fork();
        if (pid == 0) { close(go[0]); write(go[1], "", 1); close(go[1]); child(mode); _exit(0); }
        close(go[1]);
        char c;
        int started = read(go[0], &c, 1) == 1;   /* it is at its hostile act */
        close(go[0]);
        /* It has done its worst once it is dead (a zombie) or asleep in pause (it never ends by
         * itself); natively at once. A child stuck for good in the stub's code (mode 3 under
         * systrap: the Sentry never hears from it again) looks running forever: 1 s is its bound. */
        char stat[64];
        snprintf(stat, sizeof stat, "/proc/%d/stat", (int)pid);
        await_state_within(stat, "SZ", 1000);
        kill(pid, SIGKILL);
        int st;
        pid_t r = waitpid(pid, &st, 0);
        printf("mode %d: started=%d reaped=%d\n", mode, started, r == pid);
    }
    printf("parent alive: pid %s\n", getpid() > 0 ? "ok" : "bad");
    return 0;
}
