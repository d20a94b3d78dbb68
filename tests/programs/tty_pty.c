/* Pseudo-terminal semantics (differential: the output must be the same natively and in snakevisor).
 * posix_openpt/grantpt/unlockpt/ptsname, canonical reads line by line with erase/kill/EOF,
 * output processing (ONLCR), echo on and off, raw mode with VMIN, FIONREAD, TCFLSH, winsize,
 * TIOCGPTN/locking, hang-up on master close, and a forked child with the replica as its
 * controlling terminal: VINTR/VQUIT/VSUSP to the foreground group, SIGWINCH, SIGTTOU with TOSTOP,
 * SIGTTIN for a background reader, /dev/tty, tcgetpgrp/tcsetpgrp/tcgetsid. */
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

static void show(const char *what, const char *buf, ssize_t n) {
    printf("%s: %zd \"", what, n);
    for (ssize_t i = 0; i < n; i++) {
        unsigned char c = buf[i];
        if (c >= 32 && c < 127 && c != '\\' && c != '"') putchar(c); else printf("\\x%02x", c);
    }
    printf("\"\n");
}

/* Everything the master can read right now (after a short settle). */
static void drain(int m, const char *what) {
    char buf[4096];
    struct pollfd p = {m, POLLIN, 0};
    ssize_t total = 0;
    char all[8192];
    while (poll(&p, 1, 100) > 0 && (p.revents & POLLIN)) {
        ssize_t n = read(m, buf, sizeof buf);
        if (n <= 0) break;
        memcpy(all + total, buf, n);
        total += n;
    }
    show(what, all, total);
}

static void rd(int s, const char *what, size_t want) {
    char buf[256];
    ssize_t n = read(s, buf, want);
    if (n < 0) printf("%s: error %s\n", what, strerror(errno));
    else show(what, buf, n);
}

static int open_pair(int *sp) {
    int m = posix_openpt(O_RDWR | O_NOCTTY);
    if (m < 0) { perror("posix_openpt"); exit(1); }
    if (grantpt(m) || unlockpt(m)) { perror("grantpt/unlockpt"); exit(1); }
    char *name = ptsname(m);
    if (!name || strncmp(name, "/dev/pts/", 9)) { printf("bad ptsname\n"); exit(1); }
    *sp = open(name, O_RDWR | O_NOCTTY);
    if (*sp < 0) { perror("open replica"); exit(1); }
    return m;
}

static volatile sig_atomic_t got[65];
static void on_sig(int sig) { got[sig]++; }

/* A background job writing (or reading) the terminal ``s`` stops, as job control wants. */
static void background_job_stops(int s, int reader) {
    pid_t bg = fork();
    if (bg == 0) {
        setpgid(0, 0);
        if (reader) {
            char c;
            read(s, &c, 1);
            _exit(8);
        }
        write(s, "bg-write\n", 9);   /* stops here until SIGCONT */
        _exit(7);
    }
    setpgid(bg, bg);
    int st;
    waitpid(bg, &st, WUNTRACED);
    printf("child: bg %s %s %s\n", reader ? "reader" : "writer", WIFSTOPPED(st) ? "stopped by" : "not stopped",
           WIFSTOPPED(st) ? strsignal(WSTOPSIG(st)) : "");
    kill(bg, SIGKILL);
    waitpid(bg, &st, 0);
}

static void child_job_control(int m, int s) {
    /* The child: a new session with the replica as its controlling terminal. */
    pid_t pid = fork();
    if (pid == 0) {
        close(m);
        setsid();
        if (ioctl(s, TIOCSCTTY, 0) < 0) { perror("TIOCSCTTY"); _exit(1); }
        signal(SIGINT, on_sig);
        signal(SIGQUIT, on_sig);
        signal(SIGTSTP, on_sig);
        signal(SIGWINCH, on_sig);
        printf("child: tcgetpgrp==getpgrp %d, tcgetsid==getsid %d\n", tcgetpgrp(s) == getpgrp(),
               tcgetsid(s) == getsid(0));
        int t = open("/dev/tty", O_RDWR);
        printf("child: /dev/tty %s\n", t >= 0 ? "opened" : strerror(errno));
        if (t >= 0) { write(t, "via-dev-tty\n", 12); close(t); }
        write(s, "ready\n", 6);
        /* Wait for the parent's three ISIG characters and the resize. */
        for (int i = 0; i < 200 && !(got[SIGINT] && got[SIGQUIT] && got[SIGTSTP] && got[SIGWINCH]); i++)
            usleep(10000);
        printf("child: INT %d QUIT %d TSTP %d WINCH %d\n", got[SIGINT], got[SIGQUIT], got[SIGTSTP],
               got[SIGWINCH]);
        struct winsize ws;
        ioctl(s, TIOCGWINSZ, &ws);
        printf("child: winsize %dx%d\n", ws.ws_row, ws.ws_col);
        fflush(stdout);
        /* A background group: with TOSTOP a write stops it (SIGTTOU); a read always does (SIGTTIN). */
        struct termios tio;
        tcgetattr(s, &tio);
        tio.c_lflag |= TOSTOP;
        tcsetattr(s, TCSANOW, &tio);
        background_job_stops(s, 0);
        background_job_stops(s, 1);
        /* Ignoring SIGTTOU lets a background write through; a background reader ignoring SIGTTIN gets EIO. */
        pid_t bg = fork();
        if (bg == 0) {
            setpgid(0, 0);
            signal(SIGTTOU, SIG_IGN);
            signal(SIGTTIN, SIG_IGN);
            ssize_t w = write(s, "bg-ignored\n", 11);
            char c;
            ssize_t r = read(s, &c, 1);
            printf("child: bg ignoring: write %zd, read %zd %s\n", w, r, r < 0 ? strerror(errno) : "");
            fflush(stdout);
            /* tcsetpgrp from the background with SIGTTOU ignored works: take the terminal. */
            printf("child: bg tcsetpgrp %d\n", tcsetpgrp(s, getpgrp()));
            printf("child: now foreground %d\n", tcgetpgrp(s) == getpgrp());
            fflush(stdout);
            _exit(9);
        }
        setpgid(bg, bg);
        int st;
        waitpid(bg, &st, 0);
        printf("child: bg exit %d\n", WEXITSTATUS(st));
        fflush(stdout);
        _exit(0);
    }
    /* The parent plays the terminal. */
    char buf[256];
    ssize_t n = 0;
    struct pollfd p = {m, POLLIN, 0};
    char acc[512];
    size_t got_n = 0;
    while (got_n < 6 || !memmem(acc, got_n, "ready", 5)) {
        if (poll(&p, 1, 5000) <= 0) { printf("parent: timeout\n"); break; }
        n = read(m, buf, sizeof buf);
        if (n <= 0) break;
        memcpy(acc + got_n, buf, n);
        got_n += n;
    }
    show("parent: from child", acc, got_n);
    write(m, "\003", 1);
    usleep(20000);
    write(m, "\034", 1);
    usleep(20000);
    write(m, "\032", 1);
    usleep(20000);
    struct winsize ws = {.ws_row = 33, .ws_col = 99};
    ioctl(m, TIOCSWINSZ, &ws);
    int st;
    waitpid(pid, &st, 0);
    drain(m, "parent: echoes and output");
    printf("parent: child exit %d\n", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    int s, m = open_pair(&s);
    unsigned int ptn;
    printf("TIOCGPTN %d, isatty(s) %d, isatty(m) %d\n", ioctl(m, TIOCGPTN, &ptn), isatty(s), isatty(m));
    struct termios t;
    tcgetattr(s, &t);
    printf("default termios: iflag %o oflag %o cflag %o lflag %o VMIN %d VEOF %d speed %d\n",
           t.c_iflag, t.c_oflag, t.c_cflag, t.c_lflag, t.c_cc[VMIN], t.c_cc[VEOF], (int)cfgetospeed(&t));
    struct winsize ws;
    ioctl(s, TIOCGWINSZ, &ws);
    printf("initial winsize %dx%d\n", ws.ws_row, ws.ws_col);

    /* Canonical mode: lines with erase, word erase, kill and EOF. */
    write(m, "hello\n", 6);
    write(m, "abX\177c\n", 6);
    write(m, "one two\027three\n", 14);
    write(m, "junk\025kept\n", 10);
    write(m, "partial\004", 8);
    write(m, "\004", 1);
    int avail;
    usleep(50000);   /* Linux hands input to the line discipline asynchronously */
    ioctl(s, FIONREAD, &avail);
    printf("FIONREAD %d\n", avail);
    rd(s, "line1", 100);
    rd(s, "line2 (2 bytes)", 2);
    rd(s, "line2 rest", 100);
    rd(s, "line3", 100);
    rd(s, "line4", 100);
    rd(s, "line5", 100);
    rd(s, "eof", 100);
    drain(m, "echo");

    /* Output processing. */
    write(s, "a\nb\r\n", 5);
    drain(m, "onlcr");
    tcgetattr(s, &t);
    t.c_oflag &= ~OPOST;
    tcsetattr(s, TCSANOW, &t);
    write(s, "a\nb\n", 4);
    drain(m, "no opost");
    t.c_oflag |= OPOST;

    /* Echo off; control characters echoed as ^X. */
    t.c_lflag &= ~ECHO;
    tcsetattr(s, TCSANOW, &t);
    write(m, "secret\n", 7);
    rd(s, "noecho line", 100);
    drain(m, "noecho echo");
    t.c_lflag |= ECHO;
    tcsetattr(s, TCSANOW, &t);
    write(m, "x\001y\n", 4);
    rd(s, "ctl line", 100);
    drain(m, "ctl echo");

    /* Raw mode: VMIN=1, no ICRNL. */
    cfmakeraw(&t);
    tcsetattr(s, TCSANOW, &t);
    write(m, "r\r\003x", 4);
    usleep(50000);
    ioctl(s, FIONREAD, &avail);
    printf("raw FIONREAD %d\n", avail);
    rd(s, "raw", 100);
    drain(m, "raw echo");
    t.c_cc[VMIN] = 0;
    t.c_cc[VTIME] = 0;
    tcsetattr(s, TCSANOW, &t);
    rd(s, "raw vmin0", 100);

    /* TCFLSH. */
    write(m, "flushed", 7);
    tcflush(s, TCIFLUSH);
    rd(s, "after flush", 100);

    /* Non-blocking read on an empty replica; the master's readiness. */
    fcntl(s, F_SETFL, O_NONBLOCK);
    t.c_cc[VMIN] = 1;
    tcsetattr(s, TCSANOW, &t);
    rd(s, "nonblock", 10);
    fcntl(s, F_SETFL, 0);
    struct pollfd pm = {m, POLLIN | POLLOUT, 0};
    poll(&pm, 1, 0);
    printf("master poll %x\n", pm.revents);

    /* Back to a sane terminal for the job-control child. */
    tcgetattr(s, &t);
    t.c_iflag = ICRNL | IXON;
    t.c_oflag = OPOST | ONLCR;
    t.c_lflag = ISIG | ICANON | ECHO | ECHOE | ECHOK | ECHOCTL | ECHOKE | IEXTEN;
    t.c_cc[VMIN] = 1;
    tcsetattr(s, TCSANOW, &t);
    child_job_control(m, s);

    /* Replica closed: the master reads what is left, then EIO; POLLHUP. */
    close(s);
    drain(m, "leftover");
    pm.events = POLLIN;
    poll(&pm, 1, 0);
    printf("master poll after replica close %x\n", pm.revents);
    char c;
    ssize_t r = read(m, &c, 1);
    printf("master read after replica close: %zd %s\n", r, r < 0 ? strerror(errno) : "");

    /* Master closed: the replica is hung up. */
    m = open_pair(&s);
    close(m);
    r = read(s, &c, 1);
    printf("replica read after hangup: %zd\n", r);
    r = write(s, "x", 1);
    printf("replica write after hangup: %zd %s\n", r, r < 0 ? strerror(errno) : "");
    struct pollfd ps = {s, POLLIN | POLLOUT, 0};
    poll(&ps, 1, 0);
    printf("replica poll after hangup %x\n", ps.revents);

    /* A locked pair cannot be opened. */
    m = posix_openpt(O_RDWR | O_NOCTTY);
    int fd = open(ptsname(m), O_RDWR | O_NOCTTY);
    printf("open locked replica: %s\n", fd < 0 ? strerror(errno) : "opened");
    /* No controlling terminal in a new session: /dev/tty is ENXIO. */
    if (fork() == 0) {
        setsid();
        int t2 = open("/dev/tty", O_RDWR);
        printf("/dev/tty without ctty: %s\n", t2 < 0 ? strerror(errno) : "opened");
        _exit(0);
    }
    wait(NULL);
    return 0;
}
