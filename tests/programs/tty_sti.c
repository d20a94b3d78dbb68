/* TIOCSTI (differential: the output must be the same natively and in snakevisor): a byte pushed
 * into a terminal's input as if typed. Through the replica it goes through the line discipline
 * (echo, canonical lines, ISIG's signals to the foreground group) and wakes a blocked reader (the
 * trio REPL's newline on ^C); through the master it is output the master reads. Without
 * CAP_SYS_ADMIN only the caller's controlling terminal takes it (EPERM for another terminal and
 * for the master); EFAULT for a bad pointer. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

static void show(const char *what, const char *buf, ssize_t n) {
    printf("%s: %zd \"", what, n);
    for (ssize_t i = 0; i < n; i++) {
        unsigned char c = buf[i];
        if (c >= 32 && c < 127 && c != '\\' && c != '"') putchar(c); else printf("\\x%02x", c);
    }
    printf("\"\n");
}

/* Everything the master can read within a short settle (Linux moves input asynchronously). */
static void drain(int m, const char *what) {
    char all[4096];
    ssize_t total = 0, n;
    struct pollfd p = {m, POLLIN, 0};
    while (total < (ssize_t)sizeof all && poll(&p, 1, 200) > 0 && (p.revents & POLLIN)) {
        n = read(m, all + total, sizeof all - total);
        if (n <= 0) break;
        total += n;
    }
    show(what, all, total);
}

/* Inject ``text``; 0 if all of it went in (a reader waits only for what did). */
static int sti(int fd, const char *what, const char *text) {
    for (const char *p = text; *p; p++) {
        if (ioctl(fd, TIOCSTI, p)) {
            printf("%s: %s\n", what, strerror(errno));
            return -1;
        }
    }
    printf("%s: ok\n", what);
    return 0;
}

static void read_back(int s, const char *what) {
    char buf[64];
    ssize_t n = read(s, buf, sizeof buf);
    show(what, buf, n);
}

static int open_pair(int *sp) {
    int m = posix_openpt(O_RDWR | O_NOCTTY);
    if (m < 0 || grantpt(m) || unlockpt(m)) { perror("openpt"); exit(1); }
    *sp = open(ptsname(m), O_RDWR | O_NOCTTY);
    if (*sp < 0) { perror("open replica"); exit(1); }
    return m;
}

static void drop_sys_admin(void) {
    struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct d[2];
    syscall(SYS_capget, &h, d);
    d[CAP_SYS_ADMIN / 32].effective &= ~(1u << (CAP_SYS_ADMIN % 32));
    if (syscall(SYS_capset, &h, d)) perror("capset");
}

static volatile sig_atomic_t got_int;
static void on_int(int sig) { (void)sig; got_int++; }

/* A child blocked in a canonical read of its terminal gets the line another process injects. */
static void wakes_a_blocked_reader(void) {
    int s, m = open_pair(&s);
    int go[2];
    pipe(go);
    pid_t c = fork();
    if (c == 0) {
        char buf[64];
        close(go[0]);
        write(go[1], "r", 1);
        ssize_t n = read(s, buf, sizeof buf);   /* blocks until the injected newline */
        show("blocked reader got", buf, n);
        _exit(0);
    }
    char b;
    close(go[1]);
    read(go[0], &b, 1);
    usleep(100000);   /* not synchronisation: only makes it likely the read is already waiting */
    int r = 0;
    for (const char *p = "hi\n"; *p && !r; p++) r = ioctl(s, TIOCSTI, p);
    if (r) kill(c, SIGKILL);   /* nothing will wake it */
    int st;
    waitpid(c, &st, 0);   /* the child prints first: the lines do not interleave */
    printf("inject into a blocked reader's terminal: %s\n", r ? strerror(errno) : "ok");
    drain(m, "echo");
    close(s);
    close(m);
}

/* In a session of its own with the replica as its terminal, without CAP_SYS_ADMIN: its own
 * terminal takes bytes (^C signals it), the master and another terminal refuse them. */
static void without_sys_admin(void) {
    int s, m = open_pair(&s);
    int s2, m2 = open_pair(&s2);
    pid_t c = fork();
    if (c == 0) {
        setsid();
        if (ioctl(s, TIOCSCTTY, 0)) perror("TIOCSCTTY");
        drop_sys_admin();
        signal(SIGINT, on_int);
        if (sti(s, "unprivileged, own terminal", "ok\n") == 0) read_back(s, "read back");
        drain(m, "echo");   /* before ^C discards what the master has not taken yet */
        sti(s, "unprivileged, ^C on own terminal", "\003");   /* flushes the input queue too */
        printf("SIGINT received: %d\n", (int)got_int);
        if (sti(s, "after ^C", "z\n") == 0) read_back(s, "read back");
        sti(m, "unprivileged, master", "x");
        sti(s2, "unprivileged, other terminal", "x");
        _exit(0);
    }
    int st;
    waitpid(c, &st, 0);
    drain(m, "echo");
    close(s); close(m); close(s2); close(m2);
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    int s, m = open_pair(&s);

    /* With CAP_SYS_ADMIN, any terminal: the replica's input through echo and canonical mode. */
    if (sti(s, "privileged, not own terminal", "abc\n") == 0) read_back(s, "replica reads");
    drain(m, "echo");

    /* Erase and kill characters are processed as typed ones are. */
    if (sti(s, "edited line", "xy\177z\n") == 0) read_back(s, "edited");
    drain(m, "echo");

    /* Into the master: what the master reads, not processed. */
    sti(m, "privileged, master", "M\n");
    drain(m, "master reads");

    errno = 0;
    printf("bad pointer: %s\n", ioctl(s, TIOCSTI, (char *)8) ? strerror(errno) : "ok");

    /* Raw mode: the byte is available at once (VMIN 1). */
    struct termios t;
    tcgetattr(s, &t);
    cfmakeraw(&t);
    tcsetattr(s, TCSANOW, &t);
    if (sti(s, "raw", "q") == 0) read_back(s, "raw reads");
    close(s);
    close(m);

    wakes_a_blocked_reader();
    without_sys_admin();
    return 0;
}
