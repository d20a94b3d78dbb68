/* VMIN/VTIME on a pseudo-terminal in non-canonical mode (differential; only lower bounds of
 * elapsed time are printed, so a slow machine cannot change the output):
 * VMIN=0 VTIME=2 with no input times out with 0 bytes; with input queued it returns at once;
 * input arriving during the wait ends it. VMIN=3 VTIME=2: 2 bytes queued come back after the
 * inter-byte timer; 3 bytes at once. A signal during a VTIME wait gives EINTR. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void set_min_time(int fd, int vmin, int vtime) {
    struct termios t;
    tcgetattr(fd, &t);
    cfmakeraw(&t);
    t.c_cc[VMIN] = vmin;
    t.c_cc[VTIME] = vtime;
    tcsetattr(fd, TCSANOW, &t);
}

static void timed_read(int s, const char *what, size_t n) {
    char buf[64];
    double t0 = now();
    ssize_t r = read(s, buf, n);
    double dt = now() - t0;
    int e = errno;
    printf("%s: %zd", what, r);
    if (r > 0)
        printf(" \"%.*s\"", (int)r, buf);
    if (r < 0)
        printf(" %s", strerror(e));
    printf(" waited>=0.15s:%s\n", dt >= 0.15 ? "yes" : "no");
}

static void on_alarm(int sig) { (void)sig; }

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    int m = posix_openpt(O_RDWR | O_NOCTTY);
    if (m < 0 || grantpt(m) || unlockpt(m)) { perror("pty"); return 1; }
    int s = open(ptsname(m), O_RDWR | O_NOCTTY);
    if (s < 0) { perror("open replica"); return 1; }

    set_min_time(s, 0, 2);
    timed_read(s, "min0 time2 empty", 10);
    write(m, "xy", 2);
    usleep(20000);
    timed_read(s, "min0 time2 queued", 10);

    pid_t pid = fork();
    if (pid == 0) {
        usleep(50000);
        write(m, "late", 4);
        _exit(0);
    }
    char buf[16];
    ssize_t r = read(s, buf, sizeof buf);   /* VTIME is 0.2 s: the child's bytes come first */
    printf("min0 time2 arrives: %zd \"%.*s\"\n", r, (int)(r > 0 ? r : 0), buf);
    waitpid(pid, NULL, 0);

    set_min_time(s, 3, 2);
    write(m, "ab", 2);
    usleep(20000);
    timed_read(s, "min3 time2 two queued", 10);
    write(m, "abc", 3);
    usleep(20000);
    timed_read(s, "min3 time2 three queued", 10);
    write(m, "abcdef", 6);
    usleep(20000);
    timed_read(s, "min3 time2 asks 4", 4);
    timed_read(s, "min3 time2 rest", 10);

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm;   /* no SA_RESTART: the read fails with EINTR */
    sigaction(SIGALRM, &sa, NULL);
    set_min_time(s, 0, 50);
    ualarm(100000, 0);
    timed_read(s, "min0 time50 signal", 10);
    return 0;
}
