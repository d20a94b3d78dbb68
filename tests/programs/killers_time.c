/* Huge and invalid timeouts on every blocking call (issue 11, item 6): Linux accepts tv_sec up
 * to 2^63-1 (saturating at KTIME_MAX or TIME64_MAX) and the wait stays interruptible; a periodic
 * SIGALRM (no SA_RESTART) ends each wait with EINTR. Remaining times are printed as predicates
 * (they depend on the clock). */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <linux/aio_abi.h>
#include <linux/futex.h>
#include <mqueue.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ipc.h>
#include <sys/sem.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#define KTIME_SEC_MAX 9223372036L   /* KTIME_MAX / NSEC_PER_SEC */

static void on_alarm(int sig) { (void)sig; }

static void ticks(int on) {
    /* Periodic: a tick that lands before the call blocks is followed by another. */
    struct itimerval it = {{0, on ? 100000 : 0}, {0, on ? 100000 : 0}};
    setitimer(ITIMER_REAL, &it, NULL);
}

static long mono_sec(void) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return now.tv_sec;
}

#define SHOW(label, expr) do { errno = 0; long _r = (long)(expr); int _e = errno; \
    printf("%s: %ld %s\n", label, _r, _r < 0 ? strerrorname_np(_e) : "-"); fflush(stdout); } while (0)
#define BLOCK(label, expr) do { ticks(1); SHOW(label, expr); ticks(0); } while (0)

int main(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm;   /* no SA_RESTART: an interrupted wait returns EINTR */
    sigaction(SIGALRM, &sa, NULL);

    /* nanosleep: 10^9 s, then the largest timespec; rem counts down from the (saturated) end. */
    struct timespec ts = {1000000000L, 0}, rem = {0, 0};
    BLOCK("nanosleep 1e9", syscall(SYS_nanosleep, &ts, &rem));
    printf("rem 1e9 ok: %d\n", rem.tv_sec >= 1000000000L - 60 && rem.tv_sec < 1000000000L);
    ts.tv_sec = INT64_MAX; ts.tv_nsec = 999999999;
    BLOCK("nanosleep max", syscall(SYS_nanosleep, &ts, &rem));
    printf("rem max = KTIME_MAX - now: %d\n", labs(rem.tv_sec + mono_sec() - KTIME_SEC_MAX) <= 2);
    struct timespec bad[] = {{-1, 0}, {0, 1000000000L}, {0, -1}, {INT64_MIN, 0}, {1, INT64_MAX}};
    for (int i = 0; i < 5; i++) {
        char label[64];
        snprintf(label, sizeof label, "nanosleep bad %d", i);
        SHOW(label, syscall(SYS_nanosleep, &bad[i], NULL));
    }

    /* clock_nanosleep: relative and absolute. */
    ts.tv_sec = INT64_MAX; ts.tv_nsec = 0;
    BLOCK("clock_nanosleep rel", syscall(SYS_clock_nanosleep, CLOCK_MONOTONIC, 0, &ts, &rem));
    printf("clock_nanosleep rem ok: %d\n", labs(rem.tv_sec + mono_sec() - KTIME_SEC_MAX) <= 2);
    BLOCK("clock_nanosleep abs", syscall(SYS_clock_nanosleep, CLOCK_REALTIME, TIMER_ABSTIME, &ts, NULL));
    SHOW("clock_nanosleep bad", syscall(SYS_clock_nanosleep, CLOCK_MONOTONIC, 0, &bad[0], NULL));

    /* futex. */
    int word = 0;
    BLOCK("futex wait max", syscall(SYS_futex, &word, FUTEX_WAIT_PRIVATE, 0, &ts, NULL, 0));
    BLOCK("futex bitset abs max", syscall(SYS_futex, &word, FUTEX_WAIT_BITSET_PRIVATE, 0, &ts, NULL, -1));
    SHOW("futex bad", syscall(SYS_futex, &word, FUTEX_WAIT_PRIVATE, 0, &bad[2], NULL, 0));

    /* poll family: the end time saturates at TIME64_MAX seconds and is written back. */
    BLOCK("poll INT_MAX", syscall(SYS_poll, NULL, 0, INT_MAX));
    struct timespec pts = {INT64_MAX, 999999999};
    BLOCK("ppoll max", syscall(SYS_ppoll, NULL, 0, &pts, NULL, 8));
    printf("ppoll left = TIME64_MAX - now: %d\n", labs(INT64_MAX - pts.tv_sec - mono_sec()) <= 2);
    SHOW("ppoll bad", syscall(SYS_ppoll, NULL, 0, &bad[1], NULL, 8));
    struct timeval tv = {INT64_MAX, 0};
    BLOCK("select max", syscall(SYS_select, 0, NULL, NULL, NULL, &tv));
    printf("select left = TIME64_MAX - now: %d\n", labs(INT64_MAX - tv.tv_sec - mono_sec()) <= 2);
    struct timeval norm = {-1, 1000000};   /* normalised to {0, 0}: no wait, no write-back */
    SHOW("select normalised zero", syscall(SYS_select, 0, NULL, NULL, NULL, &norm));
    printf("select zero untouched: %ld %ld\n", (long)norm.tv_sec, (long)norm.tv_usec);
    struct timeval tvbad[] = {{-1, 0}, {0, -1}, {INT64_MAX, 1000000}};
    for (int i = 0; i < 3; i++) {
        char label[64];
        snprintf(label, sizeof label, "select bad %d", i);
        SHOW(label, syscall(SYS_select, 0, NULL, NULL, NULL, &tvbad[i]));
    }
    pts.tv_sec = INT64_MAX; pts.tv_nsec = 0;
    BLOCK("pselect6 max", syscall(SYS_pselect6, 0, NULL, NULL, NULL, &pts, NULL));
    int ep = epoll_create1(0);
    struct epoll_event evs[1];
    BLOCK("epoll_wait INT_MAX", syscall(SYS_epoll_wait, ep, evs, 1, INT_MAX));
    pts.tv_sec = INT64_MAX; pts.tv_nsec = 999999999;
    BLOCK("epoll_pwait2 max", syscall(441, ep, evs, 1, &pts, NULL, 8));
    SHOW("epoll_pwait2 bad", syscall(441, ep, evs, 1, &bad[1], NULL, 8));

    /* rt_sigtimedwait for a signal that never comes. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR2);
    ts.tv_sec = INT64_MAX; ts.tv_nsec = 0;
    BLOCK("rt_sigtimedwait max", syscall(SYS_rt_sigtimedwait, &set, NULL, &ts, 8));
    SHOW("rt_sigtimedwait bad", syscall(SYS_rt_sigtimedwait, &set, NULL, &bad[0], 8));

    /* System V and POSIX IPC, Linux AIO. */
    int sem = semget(IPC_PRIVATE, 1, 0600);
    struct sembuf down = {0, -1, 0};
    ts.tv_sec = INT64_MAX; ts.tv_nsec = 0;
    BLOCK("semtimedop max", semtimedop(sem, &down, 1, &ts));
    SHOW("semtimedop bad", semtimedop(sem, &down, 1, &bad[2]));
    semctl(sem, 0, IPC_RMID);
    char qname[64];
    snprintf(qname, sizeof qname, "/killers-time-%d", getpid());
    mqd_t q = mq_open(qname, O_RDWR | O_CREAT | O_EXCL, 0600, NULL);
    char msg[8192];
    BLOCK("mq_timedreceive max", mq_timedreceive(q, msg, sizeof msg, NULL, &ts));
    SHOW("mq_timedreceive bad", mq_timedreceive(q, msg, sizeof msg, NULL, &bad[1]));
    mq_close(q);
    mq_unlink(qname);
    aio_context_t aio = 0;
    SHOW("io_setup", syscall(SYS_io_setup, 1, &aio));
    struct io_event events[1];
    BLOCK("io_getevents max", syscall(SYS_io_getevents, aio, 1, 1, events, &ts));
    syscall(SYS_io_destroy, aio);

    /* Socket timeouts: the largest is "forever" (reads back as 0), a negative one "never wait". */
    int sv[2];
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    struct timeval big = {INT64_MAX, 999999}, got = {1, 1};
    socklen_t len = sizeof got;
    SHOW("SO_RCVTIMEO max", setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &big, sizeof big));
    SHOW("getsockopt", getsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &got, &len));
    printf("SO_RCVTIMEO reads back: %ld %ld\n", (long)got.tv_sec, (long)got.tv_usec);
    char c;
    BLOCK("recv forever", recv(sv[0], &c, 1, 0));
    struct timeval neg = {-5, 0};
    SHOW("SO_RCVTIMEO negative", setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &neg, sizeof neg));
    BLOCK("recv with negative timeout", recv(sv[0], &c, 1, 0));
    SHOW("SO_SNDTIMEO max", setsockopt(sv[0], SOL_SOCKET, SO_SNDTIMEO, &big, sizeof big));
    len = sizeof got;
    SHOW("getsockopt snd", getsockopt(sv[0], SOL_SOCKET, SO_SNDTIMEO, &got, &len));
    printf("SO_SNDTIMEO reads back: %ld %ld\n", (long)got.tv_sec, (long)got.tv_usec);

    /* Timers armed for centuries: they read back KTIME_MAX - now. */
    int tfd = timerfd_create(CLOCK_MONOTONIC, 0);
    struct itimerspec its = {{INT64_MAX, 0}, {INT64_MAX, 999999999}}, cur;
    SHOW("timerfd_settime max", timerfd_settime(tfd, 0, &its, NULL));
    timerfd_gettime(tfd, &cur);
    printf("timerfd left ok: %d\n", labs(cur.it_value.tv_sec + mono_sec() - KTIME_SEC_MAX) <= 2);
    timer_t timer;
    struct sigevent sev;
    memset(&sev, 0, sizeof sev);
    sev.sigev_notify = SIGEV_NONE;
    SHOW("timer_create", syscall(SYS_timer_create, CLOCK_MONOTONIC, &sev, &timer));
    SHOW("timer_settime max", timer_settime(timer, 0, &its, NULL));
    timer_gettime(timer, &cur);
    printf("timer left ok: %d\n", labs(cur.it_value.tv_sec + mono_sec() - KTIME_SEC_MAX) <= 2);
    SHOW("timer_settime abs max", timer_settime(timer, TIMER_ABSTIME, &its, NULL));
    struct itimerval itv = {{INT64_MAX, 0}, {INT64_MAX, 999999}}, old;
    SHOW("setitimer max", setitimer(ITIMER_REAL, &itv, NULL));
    SHOW("getitimer", getitimer(ITIMER_REAL, &old));
    printf("itimer left ok: %d\n", labs(old.it_value.tv_sec + mono_sec() - KTIME_SEC_MAX) <= 2);
    ticks(0);
    SHOW("alarm max", alarm(UINT_MAX));
    SHOW("alarm left", alarm(0));

    /* The sandbox still runs programs. */
    fflush(stdout);
    return system("echo still alive") == 0 ? 0 : 1;
}
