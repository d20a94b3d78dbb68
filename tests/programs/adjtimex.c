/* adjtimex(2) and clock_adjtime(2): reading the kernel's clock discipline, and the refusals.
 * Adjusting is tried only where it must fail (no CAP_SYS_TIME), so the host clock is never
 * changed by the native run. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/timex.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "show.h"

#ifndef ADJ_ADJTIME
#define ADJ_ADJTIME 0x8000   /* the kernel's, not in glibc's header */
#endif

static void read_state(const char *what, long clock) {
    struct timex tx;
    struct timeval now;
    memset(&tx, 0, sizeof tx);
    tx.modes = 0;
    errno = 0;
    long r = clock < 0 ? syscall(SYS_adjtimex, &tx) : syscall(SYS_clock_adjtime, clock, &tx);
    gettimeofday(&now, NULL);
    show(what, r);
    if (r < 0) return;
    /* STA_NANO (time in nanoseconds) is the clock's global mode, which another program may have
     * switched on the host: it is left out of the comparison. */
    long usec = tx.status & STA_NANO ? tx.time.tv_usec / 1000 : tx.time.tv_usec;
    printf("  modes %u offset %ld freq %ld maxerror %ld esterror %ld status %#x constant %ld precision %ld\n",
           tx.modes, tx.offset, tx.freq, tx.maxerror, tx.esterror, tx.status & ~STA_NANO, tx.constant, tx.precision);
    printf("  tolerance %ld tick %ld ppsfreq %ld jitter %ld shift %d stabil %ld counts %ld %ld %ld %ld tai %d\n",
           tx.tolerance, tx.tick, tx.ppsfreq, tx.jitter, tx.shift, tx.stabil, tx.jitcnt, tx.calcnt, tx.errcnt,
           tx.stbcnt, tx.tai);
    long skew = (now.tv_sec - tx.time.tv_sec) * 1000000L + now.tv_usec - usec;
    printf("  time is now: %d\n", skew >= 0 && skew < 2000000);
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    read_state("adjtimex read", -1);
    read_state("clock_adjtime REALTIME read", CLOCK_REALTIME);
    struct timex tx;
    memset(&tx, 0, sizeof tx);
    tx.modes = ADJ_OFFSET_SS_READ;
    errno = 0;
    show("adjtime-style read", syscall(SYS_adjtimex, &tx));
    printf("  offset %ld\n", tx.offset);
    tx.modes = ADJ_ADJTIME;                       /* without SINGLESHOT */
    errno = 0;
    show("ADJ_ADJTIME alone", syscall(SYS_adjtimex, &tx));
    errno = 0;
    show("adjtimex bad pointer", syscall(SYS_adjtimex, (void *)8));
    long clocks[] = {CLOCK_MONOTONIC, CLOCK_BOOTTIME, CLOCK_TAI, 10, 12, 64, -2, -6, -1 - (3 << 3) + 3, -5};
    for (unsigned i = 0; i < sizeof clocks / sizeof clocks[0]; i++) {
        char what[64];
        snprintf(what, sizeof what, "clock_adjtime clock %ld", clocks[i]);
        memset(&tx, 0, sizeof tx);
        errno = 0;
        show(what, syscall(SYS_clock_adjtime, clocks[i], &tx));
    }
    errno = 0;
    show("clock_adjtime bad pointer", syscall(SYS_clock_adjtime, CLOCK_MONOTONIC, (void *)8));
    pid_t c = fork();
    if (c == 0) {
        if (setuid(1000)) { perror("setuid"); _exit(1); }
        long modes[] = {ADJ_OFFSET, ADJ_TICK, ADJ_SETOFFSET, ADJ_OFFSET_SINGLESHOT, ADJ_ADJTIME | ADJ_OFFSET_SINGLESHOT};
        for (unsigned i = 0; i < sizeof modes / sizeof modes[0]; i++) {
            char what[64];
            memset(&tx, 0, sizeof tx);
            tx.modes = modes[i];
            tx.tick = 10000;
            snprintf(what, sizeof what, "unprivileged modes %#lx", modes[i]);
            errno = 0;
            show(what, syscall(SYS_adjtimex, &tx));
        }
        _exit(0);
    }
    waitpid(c, NULL, 0);
    return 0;
}
