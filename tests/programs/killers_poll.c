/* poll/select on stdio the host cannot poll (issue 11, item 8): stdin from /dev/null or a regular
 * file, stdout to a regular file, are always ready for reading and writing, as Linux reports a file
 * without a poll method, and a wait for an event they can never have (POLLPRI) sleeps until the
 * timeout, without busy-waiting.
 *   killers_poll cpu    the waits alone (the test measures the Sentry's CPU time meanwhile)
 *   killers_poll count  a child counts getpid calls while the parent waits: it must not starve */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/select.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static void waits(void) {
    struct pollfd pf[2] = {{0, POLLPRI, 0}, {1, POLLPRI, 0}};
    int n = poll(pf, 2, 2000);
    printf("poll POLLPRI 2s: %d revents %#x %#x\n", n, pf[0].revents, pf[1].revents);
    fflush(stdout);
}

int main(int argc, char **argv) {
    int count_mode = argc > 1 && strcmp(argv[1], "count") == 0;
    struct pollfd pf = {0, POLLIN | POLLOUT | POLLPRI | POLLRDNORM | POLLWRNORM, 0};
    int n = poll(&pf, 1, 0);
    printf("poll ready: %d revents %#x\n", n, pf.revents);
    int ep = epoll_create1(0);
    struct epoll_event ev = {EPOLLIN, {0}};
    errno = 0;
    int r = epoll_ctl(ep, EPOLL_CTL_ADD, 0, &ev);
    printf("epoll_ctl stdin: %d %s\n", r, r < 0 ? strerrorname_np(errno) : "-");
    fd_set rd, ex;
    FD_ZERO(&rd); FD_ZERO(&ex);
    FD_SET(0, &rd); FD_SET(0, &ex);
    struct timeval tv = {5, 0};
    n = select(1, &rd, NULL, &ex, &tv);
    printf("select read+except: %d read %d except %d\n", n, FD_ISSET(0, &rd), FD_ISSET(0, &ex));
    fflush(stdout);
    if (!count_mode) {
        printf("waiting\n");
        fflush(stdout);
        waits();
        FD_ZERO(&ex); FD_SET(0, &ex);
        tv.tv_sec = 1; tv.tv_usec = 0;
        n = select(1, NULL, NULL, &ex, &tv);
        printf("select except 1s: %d\n", n);
        printf("done\n");
        fflush(stdout);
    } else {
        volatile long *count = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        pid_t child = fork();
        if (child == 0) {
            for (;;) { syscall(SYS_getpid); (*count)++; }
        }
        while (*count == 0)
            sched_yield();
        long before = *count;
        waits();
        long during = *count - before;
        kill(child, SIGKILL);
        waitpid(child, NULL, 0);
        printf("getpid calls during the wait >= 1000: %d\n", during >= 1000);
        fflush(stdout);
    }
    return system("echo still alive") == 0 ? 0 : 1;
}
