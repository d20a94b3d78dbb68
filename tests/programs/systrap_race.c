/* Many threads trapping at once (tests/test_systrap.py): pairs of threads play futex
 * ping-pong and make a syscall between turns, so stubs stop, sleep and are woken while the
 * Sentry handles the others: a lost wake-up in the stub/Sentry handshakes would show as a hang
 * (or, bounded, as time). Prints the turns each pair played. */
#include <linux/futex.h>
#include <pthread.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

#define PAIRS 4
#define TURNS 2000

static volatile int turn[PAIRS];

static void *player(void *arg) {
    long id = (long)arg;
    int pair = id / 2, me = id % 2;
    for (int i = 0; i < TURNS; i++) {
        int want = 2 * i + me;
        for (;;) {
            int seen = turn[pair];
            if (seen == want)
                break;
            syscall(SYS_futex, &turn[pair], FUTEX_WAIT_PRIVATE, seen, NULL, NULL, 0);
        }
        syscall(SYS_getppid);
        __atomic_store_n(&turn[pair], want + 1, __ATOMIC_SEQ_CST);
        syscall(SYS_futex, &turn[pair], FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
    }
    return NULL;
}

int main(void) {
    pthread_t t[2 * PAIRS];
    for (long i = 0; i < 2 * PAIRS; i++)
        pthread_create(&t[i], NULL, player, (void *)i);
    for (int i = 0; i < 2 * PAIRS; i++)
        pthread_join(t[i], NULL);
    for (int p = 0; p < PAIRS; p++)
        printf("pair %d: %d turns\n", p, turn[p] / 2);
    return 0;
}
