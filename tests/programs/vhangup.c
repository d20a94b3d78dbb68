/* vhangup(2): a session leader with a pty as its controlling terminal hangs it up. It gets
 * SIGHUP and SIGCONT, its session loses the terminal, the descriptions open on it read EOF and
 * fail writes and ioctls with EIO (a new open works), and the foreground group is told too (or
 * not) as Linux does. Without CAP_SYS_TTY_CONFIG: EPERM; without a terminal: nothing to do. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "show.h"

static volatile sig_atomic_t got_hup, got_cont, got_usr1;
static void on_sig(int sig) {
    if (sig == SIGHUP) got_hup++;
    if (sig == SIGCONT) got_cont++;
    if (sig == SIGUSR1) got_usr1++;
}

#define E(what, expr) do { errno = 0; show(what, (long)(expr)); } while (0)   /* an expression's result */

static void catch(int sig) {
    struct sigaction sa = {0};
    sa.sa_handler = on_sig;
    sigaction(sig, &sa, NULL);
}

/* In the foreground group: report which signals arrived once the leader says it is over. */
static void foreground_member(int ready) {
    catch(SIGHUP);
    catch(SIGCONT);
    catch(SIGUSR1);
    sigset_t none, usr1;
    sigemptyset(&none);
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    sigprocmask(SIG_BLOCK, &usr1, NULL);
    write(ready, "r", 1);
    while (!got_usr1)
        sigsuspend(&none);
    printf("foreground member: SIGHUP %d, SIGCONT %d\n", got_hup, got_cont);
    _exit(0);
}

static void leader(const char *name) {
    setsid();
    int s = open(name, O_RDWR);          /* becomes the controlling terminal */
    catch(SIGHUP);
    catch(SIGCONT);
    int p[2];
    pipe(p);
    pid_t b = fork();
    if (b == 0) {
        setpgid(0, 0);
        foreground_member(p[1]);
    }
    setpgid(b, b);
    char ready;
    read(p[0], &ready, 1);
    tcsetpgrp(s, b);
    E("vhangup", vhangup());
    printf("leader: SIGHUP %d, SIGCONT %d\n", got_hup, got_cont);
    char buf[8];
    E("read the hung-up terminal", read(s, buf, sizeof buf));
    E("write it", write(s, "x", 1));
    int pg;
    E("TIOCGPGRP on it", ioctl(s, TIOCGPGRP, &pg));
    struct pollfd pfd = {s, POLLIN | POLLOUT, 0};
    E("poll it", poll(&pfd, 1, 0));
    printf("  revents %#x\n", pfd.revents);
    E("tcgetsid of a fresh open", ({ int f = open(name, O_RDWR | O_NOCTTY); long r = tcgetsid(f); close(f); r; }));
    E("open /dev/tty (no controlling terminal now)", open("/dev/tty", O_RDWR));
    int s2 = open(name, O_RDWR | O_NOCTTY);
    E("write a new open", write(s2, "y", 1));
    kill(b, SIGUSR1);
    waitpid(b, NULL, 0);
    E("vhangup again (no terminal)", vhangup());
    pid_t c = fork();
    if (c == 0) {
        setuid(1000);
        E("vhangup without CAP_SYS_TTY_CONFIG", vhangup());
        _exit(0);
    }
    waitpid(c, NULL, 0);
    _exit(0);
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    int m = posix_openpt(O_RDWR | O_NOCTTY);
    grantpt(m);
    unlockpt(m);
    char name[64];
    strcpy(name, ptsname(m));
    pid_t a = fork();
    if (a == 0)
        leader(name);
    int status;
    waitpid(a, &status, 0);
    printf("leader exit %#x\n", status);
    char buf[64];
    int fl = fcntl(m, F_GETFL);
    fcntl(m, F_SETFL, fl | O_NONBLOCK);
    errno = 0;
    long n = read(m, buf, sizeof buf);
    printf("master read after: %ld %s\n", n, n < 0 ? strerrorname_np(errno) : "");
    return 0;
}
