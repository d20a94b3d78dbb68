/* poll/select/epoll/eventfd/timerfd semantics in one process. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/select.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#define SHOW(label, expr) do { long _r = (long)(expr); int _e = errno; printf("%s: %ld errno=%d\n", label, _r, _r < 0 ? _e : 0); } while (0)

static void show_epoll(int ep, const char *label, int timeout) {
    struct epoll_event ev[8];
    int n = epoll_wait(ep, ev, 8, timeout);
    printf("%s: n=%d", label, n);
    for (int i = 0; i < n; i++) printf(" [%lu:%#x]", (unsigned long)ev[i].data.u64, ev[i].events);
    printf("\n");
}

int main(void) {
    int p[2];
    pipe(p);
    struct pollfd pf[3] = {{p[0], POLLIN, 0}, {p[1], POLLOUT, 0}, {99, POLLIN, 0}};
    SHOW("poll", poll(pf, 3, 0));
    printf("revents %#x %#x %#x\n", pf[0].revents, pf[1].revents, pf[2].revents);
    write(p[1], "a", 1);
    SHOW("poll after write", poll(pf, 2, 100));
    printf("revents %#x %#x\n", pf[0].revents, pf[1].revents);
    close(p[1]);
    SHOW("poll after close", poll(pf, 1, 100));
    printf("revents %#x\n", pf[0].revents);
    char c;
    read(p[0], &c, 1);
    SHOW("poll hup only", poll(pf, 1, 100));
    printf("revents %#x\n", pf[0].revents);
    close(p[0]);

    pipe(p);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    SHOW("poll timeout", poll(pf, 1, 50));
    clock_gettime(CLOCK_MONOTONIC, &t1);
    long ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
    printf("waited enough: %d\n", ms >= 45);
    SHOW("poll nfds too big", poll(pf, 1 << 30, 0));

    /* select */
    fd_set r, w;
    FD_ZERO(&r); FD_ZERO(&w);
    FD_SET(p[0], &r); FD_SET(p[1], &w);
    struct timeval tv = {0, 20000};
    SHOW("select", select(p[1] + 1, &r, &w, NULL, &tv));
    printf("r=%d w=%d\n", FD_ISSET(p[0], &r), FD_ISSET(p[1], &w));
    FD_ZERO(&r); FD_SET(p[0], &r);
    tv.tv_sec = 0; tv.tv_usec = 30000;
    SHOW("select timeout", select(p[0] + 1, &r, NULL, NULL, &tv));
    printf("tv left %ld.%06ld\n", (long)tv.tv_sec, (long)tv.tv_usec);
    FD_ZERO(&r); FD_SET(77, &r);
    SHOW("select ebadf", select(78, &r, NULL, NULL, &tv));
    SHOW("select einval", select(-1, NULL, NULL, NULL, &tv));
    struct timespec ts = {0, 1000000};
    FD_ZERO(&w); FD_SET(p[1], &w);
    SHOW("pselect", pselect(p[1] + 1, NULL, &w, NULL, &ts, NULL));

    /* epoll: level, edge, oneshot */
    int ep = epoll_create1(EPOLL_CLOEXEC);
    SHOW("cloexec", fcntl(ep, F_GETFD));
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = 1};
    SHOW("ctl add", epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev));
    SHOW("ctl add again", epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev));
    SHOW("ctl add self", epoll_ctl(ep, EPOLL_CTL_ADD, ep, &ev));
    SHOW("ctl mod missing", epoll_ctl(ep, EPOLL_CTL_MOD, p[1], &ev));
    int reg = open("/proc/self/exe", O_RDONLY);
    SHOW("ctl add regular", epoll_ctl(ep, EPOLL_CTL_ADD, reg, &ev));
    show_epoll(ep, "empty", 10);
    write(p[1], "xy", 2);
    show_epoll(ep, "LT 1", 0);
    show_epoll(ep, "LT 2", 0);
    ev.events = EPOLLIN | EPOLLET; ev.data.u64 = 2;
    SHOW("ctl mod ET", epoll_ctl(ep, EPOLL_CTL_MOD, p[0], &ev));
    show_epoll(ep, "ET 1", 0);
    show_epoll(ep, "ET 2", 0);
    write(p[1], "z", 1);
    show_epoll(ep, "ET after write", 0);
    ev.events = EPOLLIN | EPOLLONESHOT; ev.data.u64 = 3;
    epoll_ctl(ep, EPOLL_CTL_MOD, p[0], &ev);
    show_epoll(ep, "ONESHOT 1", 0);
    show_epoll(ep, "ONESHOT 2", 0);
    epoll_ctl(ep, EPOLL_CTL_MOD, p[0], &ev);
    show_epoll(ep, "ONESHOT rearmed", 0);
    ev.events = EPOLLOUT; ev.data.u64 = 4;
    epoll_ctl(ep, EPOLL_CTL_ADD, p[1], &ev);
    ev.events = EPOLLIN; ev.data.u64 = 1;
    epoll_ctl(ep, EPOLL_CTL_MOD, p[0], &ev);
    show_epoll(ep, "both", 0);
    char buf[16];
    read(p[0], buf, sizeof buf);
    close(p[1]);
    show_epoll(ep, "after writer close", 0);
    SHOW("ctl del closed", epoll_ctl(ep, EPOLL_CTL_DEL, p[1], &ev));
    /* nested epoll */
    int ep2 = epoll_create(1);
    int q[2];
    pipe(q);
    ev.events = EPOLLIN; ev.data.u64 = 9;
    epoll_ctl(ep2, EPOLL_CTL_ADD, q[0], &ev);
    int ep3 = epoll_create1(0);
    ev.data.u64 = 10;
    SHOW("nest", epoll_ctl(ep3, EPOLL_CTL_ADD, ep2, &ev));
    SHOW("loop", epoll_ctl(ep2, EPOLL_CTL_ADD, ep3, &ev));
    show_epoll(ep3, "nested idle", 0);
    write(q[1], "q", 1);
    show_epoll(ep3, "nested ready", 0);
    SHOW("epoll_wait bad max", epoll_wait(ep3, NULL, 0, 0));
    SHOW("epoll_wait not epoll", epoll_wait(q[0], (struct epoll_event *)buf, 1, 0));
    /* closing the only fd removes the entry */
    int ep4 = epoll_create1(0);
    ev.events = EPOLLIN; ev.data.u64 = 11;
    epoll_ctl(ep4, EPOLL_CTL_ADD, q[0], &ev);
    close(q[0]);
    show_epoll(ep4, "closed removed", 0);

    /* eventfd */
    int efd = eventfd(3, EFD_NONBLOCK);
    uint64_t v = 0;
    SHOW("efd read", read(efd, &v, 8));
    printf("value %lu\n", (unsigned long)v);
    SHOW("efd read empty", read(efd, &v, 8));
    SHOW("efd short read", read(efd, &v, 4));
    v = 5; write(efd, &v, 8);
    v = UINT64_MAX; SHOW("efd write max", write(efd, &v, 8));
    v = UINT64_MAX - 1; SHOW("efd write overflow", write(efd, &v, 8));
    int sem = eventfd(2, EFD_SEMAPHORE | EFD_NONBLOCK);
    read(sem, &v, 8); printf("sem %lu\n", (unsigned long)v);
    read(sem, &v, 8); printf("sem %lu\n", (unsigned long)v);
    SHOW("sem empty", read(sem, &v, 8));
    struct pollfd ep_pf = {efd, POLLIN | POLLOUT, 0};
    poll(&ep_pf, 1, 0);
    printf("efd revents %#x\n", ep_pf.revents);
    ev.events = EPOLLIN | EPOLLET; ev.data.u64 = 12;
    epoll_ctl(ep4, EPOLL_CTL_ADD, efd, &ev);
    show_epoll(ep4, "efd in epoll", 0);
    show_epoll(ep4, "efd ET again", 0);

    /* timerfd */
    int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK);
    SHOW("tfd read unarmed", read(tfd, &v, 8));
    struct itimerspec its = {{0, 20000000}, {0, 20000000}}, cur;
    SHOW("settime", timerfd_settime(tfd, 0, &its, NULL));
    ev.events = EPOLLIN; ev.data.u64 = 13;
    epoll_ctl(ep4, EPOLL_CTL_ADD, tfd, &ev);
    show_epoll(ep4, "timer fired", 1000);
    usleep(50000);
    SHOW("tfd read", read(tfd, &v, 8));
    printf("expirations >= 2: %d\n", v >= 2);
    timerfd_gettime(tfd, &cur);
    printf("interval %ld\n", cur.it_interval.tv_nsec);
    memset(&its, 0, sizeof its);
    timerfd_settime(tfd, 0, &its, &cur);
    printf("old interval %ld\n", cur.it_interval.tv_nsec);
    SHOW("tfd bad clock", timerfd_create(12345, 0));
    int btfd = timerfd_create(CLOCK_REALTIME, 0);
    clock_gettime(CLOCK_REALTIME, &ts);
    its.it_value.tv_sec = ts.tv_sec; its.it_value.tv_nsec = ts.tv_nsec;
    its.it_value.tv_nsec += 10000000;
    if (its.it_value.tv_nsec >= 1000000000) { its.it_value.tv_sec++; its.it_value.tv_nsec -= 1000000000; }
    timerfd_settime(btfd, TFD_TIMER_ABSTIME, &its, NULL);
    SHOW("blocking abs timer read", read(btfd, &v, 8));
    printf("v=%lu\n", (unsigned long)v);
    return 0;
}
