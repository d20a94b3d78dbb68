/* A handled signal must end an interruptible wait even when it also wakes the wait through a file
 * the wait watches (PostgreSQL's latch: SIGURG blocked and read through a signalfd in an epoll set,
 * a SIGTERM handler that sends itself SIGURG). The parent signals once the child sleeps (its
 * /proc/PID/stat says S), and prints how each child ended. */
#define _GNU_SOURCE
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "await_state.h"

static volatile sig_atomic_t term;
static void on_term(int s) { (void)s; term = 1; kill(getpid(), SIGURG); }

static void child(const char *how) {
    sigset_t m;
    sigemptyset(&m);
    sigaddset(&m, SIGURG);
    sigprocmask(SIG_BLOCK, &m, NULL);
    int sfd = signalfd(-1, &m, SFD_NONBLOCK | SFD_CLOEXEC), p[2];
    pipe(p);
    int watched = strstr(how, "pipe") ? p[0] : sfd;
    int ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev = {EPOLLIN, {.fd = watched}};
    epoll_ctl(ep, EPOLL_CTL_ADD, watched, &ev);
    struct sigaction sa = {0};
    sa.sa_handler = on_term;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGTERM, &sa, NULL);
    for (int i = 0; i < 100; i++) {
        if (term) _exit(0);
        if (strstr(how, "poll")) {
            struct pollfd pfd = {watched, POLLIN, 0};
            poll(&pfd, 1, 60000);
        } else {
            struct epoll_event out;
            epoll_wait(ep, &out, 1, 60000);
        }
        struct signalfd_siginfo si;
        read(sfd, &si, sizeof si);
    }
    _exit(1);
}

int main(void) {
    const char *cases[] = {"signalfd in epoll", "pipe in epoll", "signalfd in poll"};
    for (int i = 0; i < 3; i++) {
        pid_t c = fork();
        if (c == 0) child(cases[i]);
        await_pid_sleeping(c);
        kill(c, SIGTERM);
        int st;
        waitpid(c, &st, 0);
        printf("%s: exit %d\n", cases[i], WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
    }
    return 0;
}
