/* POSIX message queues, printed for a native-vs-sandbox comparison: priorities, limits, blocking
 * and timeouts, mq_notify, the status line, permissions and errors (/dev/mqueue is not mounted on
 * every host: tests/test_mqueue.py looks at it in the sandbox only). The queue's name holds
 * the pid (never printed) and it is unlinked at the end. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <mqueue.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char name[64];
static volatile int notified_code, notified_value;

static void r(const char *what, long v) {
    if (v < 0) printf("%s: %s\n", what, strerrorname_np(errno));
    else printf("%s: %ld\n", what, v);
}

static void on_usr1(int sig, siginfo_t *si, void *uc) {
    (void)sig; (void)uc;
    notified_code = si->si_code;
    notified_value = si->si_value.sival_int;
}

static struct timespec in_ms(long ms) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += ms * 1000000;
    ts.tv_sec += ts.tv_nsec / 1000000000;
    ts.tv_nsec %= 1000000000;
    return ts;
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    snprintf(name, sizeof name, "/sv-mq-%d", getpid());
    struct mq_attr a = {0, 4, 64, 0}, got;

    r("open missing", mq_open(name, O_RDWR));
    r("open empty name", syscall(SYS_mq_open, "", O_RDWR | O_CREAT, 0600, NULL));
    r("open with a slash", syscall(SYS_mq_open, "a/b", O_RDWR | O_CREAT, 0600, NULL));
    struct mq_attr bad = {0, 0, 64, 0};
    r("maxmsg 0", mq_open(name, O_RDWR | O_CREAT, 0600, &bad));
    bad.mq_maxmsg = 100000;
    r("maxmsg 100000", mq_open(name, O_RDWR | O_CREAT, 0600, &bad));
    mqd_t q = mq_open(name, O_RDWR | O_CREAT | O_EXCL, 0600, &a);
    printf("created: %s\n", q >= 0 ? "ok" : strerrorname_np(errno));
    r("EXCL again", mq_open(name, O_RDWR | O_CREAT | O_EXCL, 0600, &a));
    mq_getattr(q, &got);
    printf("attr flags %ld maxmsg %ld msgsize %ld curmsgs %ld\n", got.mq_flags, got.mq_maxmsg, got.mq_msgsize,
           got.mq_curmsgs);

    r("send a/1", mq_send(q, "a", 2, 1));
    r("send b/5", mq_send(q, "b", 2, 5));
    r("send c/1", mq_send(q, "c", 2, 1));
    r("send d/5", mq_send(q, "d", 2, 5));
    char line[128] = {0};
    ssize_t n = read(q, line, sizeof line - 1);   /* a queue descriptor reads as its status line */
    printf("status %zd: %s", n, line);
    struct pollfd p = {q, POLLIN | POLLOUT, 0};
    int ready = poll(&p, 1, 0);
    printf("poll full: %d %x\n", ready, p.revents);
    r("send full nonblocking", ({ struct mq_attr nb = {O_NONBLOCK, 0, 0, 0};
                                  mq_setattr(q, &nb, NULL); long x = mq_send(q, "e", 2, 0);
                                  nb.mq_flags = 0; mq_setattr(q, &nb, NULL); x; }));
    struct timespec past = {1, 0};
    r("timedsend full, past deadline", mq_timedsend(q, "e", 2, 0, &past));
    struct timespec badts = {0, 2000000000L};
    r("timedsend bad timeout", mq_timedsend(q, "e", 2, 0, &badts));
    r("send too long", mq_send(q, "0123456789012345678901234567890123456789012345678901234567890123456789", 70, 0));
    r("prio 32768", mq_send(q, "x", 2, 32768));
    char buf[64];
    unsigned prio;
    r("receive into 10 bytes", mq_receive(q, buf, 10, &prio));
    for (int i = 0; i < 4; i++) {
        n = mq_receive(q, buf, sizeof buf, &prio);
        printf("received %zd '%s' prio %u\n", n, buf, prio);
    }
    struct timespec soon = in_ms(20);
    r("timedreceive empty", mq_timedreceive(q, buf, sizeof buf, &prio, &soon));

    /* mq_notify: a signal when a message lands in the empty queue. */
    struct sigaction sa = {0};
    sa.sa_sigaction = on_usr1;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGUSR1, &sa, NULL);
    struct sigevent ev = {0};
    ev.sigev_notify = SIGEV_SIGNAL;
    ev.sigev_signo = SIGUSR1;
    ev.sigev_value.sival_int = 42;
    r("notify", mq_notify(q, &ev));
    pid_t c = fork();
    if (c == 0) {
        r("child notify (busy)", mq_notify(q, &ev));
        _exit(0);
    }
    waitpid(c, NULL, 0);
    r("send after notify", mq_send(q, "n", 2, 0));
    printf("notified code %s value %d\n", notified_code == SI_MESGQ ? "SI_MESGQ" : "?", notified_value);
    r("notify again (one-shot, so free)", mq_notify(q, &ev));
    r("unregister", mq_notify(q, NULL));
    ev.sigev_signo = 99;
    r("notify bad signal", mq_notify(q, &ev));
    /* A registration ends when its process closes a descriptor of the queue (also by exiting). */
    ev.sigev_signo = SIGUSR1;
    c = fork();
    if (c == 0) {
        r("child notify", mq_notify(q, &ev));
        _exit(0);
    }
    waitpid(c, NULL, 0);
    r("notify after the registered child exited", mq_notify(q, &ev));
    r("close another descriptor of it", mq_close(mq_open(name, O_RDWR)));
    c = fork();
    if (c == 0) {
        r("child notify after the owner closed a descriptor", mq_notify(q, &ev));
        _exit(0);
    }
    waitpid(c, NULL, 0);
    mq_receive(q, buf, sizeof buf, &prio);

    /* A blocked receiver gets the next message. */
    c = fork();
    if (c == 0) {
        n = mq_receive(q, buf, sizeof buf, &prio);
        printf("child received %zd '%s' prio %u\n", n, buf, prio);
        _exit(0);
    }
    mq_send(q, "w", 2, 7);
    waitpid(c, NULL, 0);

    c = fork();
    if (c == 0) {
        setuid(65534);
        r("nobody opens", mq_open(name, O_RDONLY));
        _exit(0);
    }
    waitpid(c, NULL, 0);
    r("getsetattr bad flags", ({ struct mq_attr x = {O_NONBLOCK | 1, 0, 0, 0}; mq_setattr(q, &x, NULL); }));
    r("send on a plain fd", mq_send(0, "x", 2, 0));
    r("unlink", mq_unlink(name));
    r("unlink again", mq_unlink(name));
    r("still usable after unlink", mq_send(q, "z", 2, 0));
    mq_close(q);
    return 0;
}
