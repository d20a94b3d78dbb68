/* slow_gofer_io OP PATH, with PATH served through tests/slow_gofer.py's proxy, which holds the
 * 9P requests of OP (read: Tread, write: Twrite, fsync: Tfsync, getdents: Treaddir) until the
 * test opens its gate. While they wait for the Gofer, a child keeps calling getpid (a "tick"
 * line every TICK calls), a child blocked in OP is SIGKILLed, and a catchable signal does not
 * cut the parent's own OP short. */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include "await_state.h"

#define TICK 2000

static volatile sig_atomic_t handled;

static void on_usr1(int sig) { (void)sig; handled = 1; }

/* OP on PATH into BUF (what read or getdents gave); its result. */
static long do_op(const char *op, const char *path, char *buf, size_t size) {
    if (!strcmp(op, "getdents")) {
        int fd = open(path, O_RDONLY | O_DIRECTORY);
        return syscall(SYS_getdents64, fd, buf, size);
    }
    int fd = open(path, !strcmp(op, "read") ? O_RDONLY : O_WRONLY | O_CREAT, 0644);
    if (!strcmp(op, "read")) return read(fd, buf, size);
    if (!strcmp(op, "write")) return write(fd, "hello world", 11);
    write(fd, "synced", 6);
    return fsync(fd);
}

int main(int argc, char **argv) {
    if (argc < 3) return 2;
    const char *op = argv[1], *path = argv[2];
    char buf[4096];
    pid_t ticker = fork();
    if (ticker == 0) {
        for (unsigned long i = 1;; i++) {
            syscall(SYS_getpid);
            if (i % TICK == 0) dprintf(1, "tick\n");
        }
    }
    pid_t victim = fork();
    if (victim == 0) {
        do_op(op, path, buf, sizeof buf);
        _exit(3);
    }
    int st;
    if (!await_pid_sleeping(victim)) dprintf(1, "victim never blocked\n");
    kill(victim, SIGKILL);
    waitpid(victim, &st, 0);
    dprintf(1, "victim killed: %d\n", WIFSIGNALED(st) ? WTERMSIG(st) : -1);

    struct sigaction sa = {0};
    sa.sa_handler = on_usr1;   /* no SA_RESTART: an interrupted call would fail with EINTR */
    sigaction(SIGUSR1, &sa, NULL);
    pid_t parent = getpid();
    pid_t signaller = fork();
    if (signaller == 0) {
        if (!await_pid_sleeping(parent)) dprintf(1, "parent never blocked\n");
        kill(parent, SIGUSR1);
        dprintf(1, "signalled\n");
        _exit(0);
    }
    long n = do_op(op, path, buf, sizeof buf);
    if (n < 0) perror(op);
    dprintf(1, "%s %ld: %.*s, handler ran: %d\n", op, n, !strcmp(op, "read") && n > 0 ? (int)n : 0, buf,
            handled);
    waitpid(signaller, &st, 0);
    kill(ticker, SIGKILL);
    waitpid(ticker, &st, 0);
    return 0;
}
