/* The systrap handshake flags scribbled by the application (tests/test_systrap.py): a child's
 * second thread writes the first thread's sysmsg flags over and over (asleep = 0: the Sentry
 * thinks the stub awake and does not wake it; polled = 1: the stub thinks the Sentry awake
 * and does not write its eventfd; spin) while the first makes syscalls and sleeps. It may cost
 * the child time, never its end. Natively the sysmsg is unmapped and the scribbler dies of
 * SIGSEGV at once; in the sandbox the child ends after its syscalls. The parent reports each
 * child's end either way. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define SLOT(i) ((volatile uint32_t *)(0x7FFE40000000UL + (i) * 0x10000UL))   /* thread i's sysmsg */
#define SPIN (152 / 4)      /* stub.S's M_SPIN, M_ASLEEP, M_POLLED */
#define ASLEEP (180 / 4)
#define POLLED (184 / 4)

static int mode;

static void *scribble(void *arg) {
    volatile uint32_t *m = SLOT(0);
    for (;;) {
        if (mode != 1) m[ASLEEP] = 0;
        if (mode != 0) m[POLLED] = 1;
        if (mode == 2) m[SPIN] = 7;
    }
    return arg;
}

int main(void) {
    for (mode = 0; mode <= 2; mode++) {
        fflush(stdout);
        pid_t pid = fork();
        if (pid == 0) {
            pthread_t t;
            pthread_create(&t, NULL, scribble, NULL);
            struct timespec ms = {0, 1000000};
            for (int i = 0; i < 20; i++)
                syscall(SYS_getpid);
            nanosleep(&ms, NULL);   /* answered after the stub's spin: it sleeps, the Sentry may not wake it */
            nanosleep(&ms, NULL);
            _exit(0);
        }
        int st;
        printf("mode %d: ended=%d\n", mode, waitpid(pid, &st, 0) == pid);
    }
    return 0;
}
