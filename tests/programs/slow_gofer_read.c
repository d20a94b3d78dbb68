/* Run with the file argv[1] served through tests/slow_gofer.py's proxy, which holds every Tread
 * until the test opens its gate: while reads wait for the Gofer, a child keeps calling getpid
 * (a "tick" line every TICK calls), a reader blocked in read(2) is SIGKILLed, and a catchable
 * signal does not cut the parent's own read short. */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include "await_state.h"

#define TICK 2000

static volatile sig_atomic_t handled;

static void on_usr1(int sig) { (void)sig; handled = 1; }

int main(int argc, char **argv) {
    if (argc < 2) return 2;
    pid_t ticker = fork();
    if (ticker == 0) {
        for (unsigned long i = 1;; i++) {
            syscall(SYS_getpid);
            if (i % TICK == 0) dprintf(1, "tick\n");
        }
    }
    pid_t reader = fork();
    if (reader == 0) {
        char b[64];
        int fd = open(argv[1], O_RDONLY);
        read(fd, b, sizeof b);
        _exit(3);
    }
    int st;
    if (!await_pid_sleeping(reader)) dprintf(1, "reader never blocked\n");
    kill(reader, SIGKILL);
    waitpid(reader, &st, 0);
    dprintf(1, "reader killed: %d\n", WIFSIGNALED(st) ? WTERMSIG(st) : -1);

    struct sigaction sa = {0};
    sa.sa_handler = on_usr1;   /* no SA_RESTART: an interrupted read would fail with EINTR */
    sigaction(SIGUSR1, &sa, NULL);
    pid_t parent = getpid();
    pid_t signaller = fork();
    if (signaller == 0) {
        if (!await_pid_sleeping(parent)) dprintf(1, "parent never blocked\n");
        kill(parent, SIGUSR1);
        dprintf(1, "signalled\n");
        _exit(0);
    }
    char buf[64];
    int fd = open(argv[1], O_RDONLY);
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0) perror("read");
    dprintf(1, "read %zd: %.*s, handler ran: %d\n", n, n > 0 ? (int)n : 0, buf, handled);
    waitpid(signaller, &st, 0);
    kill(ticker, SIGKILL);
    waitpid(ticker, &st, 0);
    return 0;
}
