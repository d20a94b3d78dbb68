/* What flushes leave on a pseudo-terminal (differential). The replica's output flushed (by ^C
 * with ISIG and without NOFLSH, or by tcflush(replica, TCOFLUSH)) loses what waits in the pty's
 * buffer, but what the master's line discipline already took in (4095 bytes: a raw n_tty's
 * buffer) stays readable, followed by the echo of ^C. With NOFLSH everything stays. The master's
 * TCOFLUSH does not take back input the replica's line discipline already has; the replica's
 * TCIFLUSH does. The replica is filled until its writes would block; the amount written is not
 * printed (it is the pty's buffer size, which differs). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

static long fill(int s) {
    char buf[1024];
    memset(buf, 'x', sizeof buf);
    long total = 0;
    for (;;) {
        ssize_t n = write(s, buf, sizeof buf);
        if (n <= 0)
            break;
        total += n;
    }
    usleep(100000);   /* Linux moves the pty's buffer into the master's line discipline in a work item */
    return total;
}

/* Everything the master can read now; the last two bytes in *last. */
static long drain(int m, char *last) {
    char buf[4096];
    long total = 0;
    last[0] = last[1] = 0;
    for (int idle = 0; idle < 5;) {
        ssize_t n = read(m, buf, sizeof buf);
        if (n > 0) {
            total += n;
            if (n >= 2) {
                memcpy(last, buf + n - 2, 2);
            } else {
                last[0] = last[1];
                last[1] = buf[0];
            }
            idle = 0;
        } else {
            usleep(20000);
            idle++;
        }
    }
    return total;
}

int main(void) {
    int m = posix_openpt(O_RDWR | O_NOCTTY);
    if (m < 0 || grantpt(m) || unlockpt(m)) {
        perror("ptmx");
        return 1;
    }
    int s = open(ptsname(m), O_RDWR | O_NOCTTY);
    if (s < 0) {
        perror("replica");
        return 1;
    }
    fcntl(m, F_SETFL, O_NONBLOCK);
    fcntl(s, F_SETFL, O_NONBLOCK);
    char last[2];
    struct termios t;
    tcgetattr(s, &t);

    long w = fill(s);
    write(m, "\x03", 1);
    usleep(100000);
    long r = drain(m, last);
    printf("^C: filled %d, read %ld, ends with ^C %d\n", w > 8192, r, !memcmp(last, "^C", 2));

    fill(s);
    tcflush(s, TCOFLUSH);
    usleep(100000);
    printf("replica TCOFLUSH: read %ld\n", drain(m, last));

    /* Short output is all in the master's line discipline already: a flush keeps it. */
    write(s, "hello\n", 6);
    usleep(100000);
    tcflush(s, TCOFLUSH);
    usleep(100000);
    printf("replica TCOFLUSH after a short write: read %ld\n", drain(m, last));

    char buf[64];
    write(m, "abc\n", 4);
    usleep(100000);
    tcflush(m, TCOFLUSH);
    usleep(100000);
    printf("master TCOFLUSH: the replica reads %zd\n", read(s, buf, sizeof buf));
    write(m, "def\n", 4);
    usleep(100000);
    tcflush(s, TCIFLUSH);
    usleep(100000);
    printf("replica TCIFLUSH: the replica reads %zd\n", read(s, buf, sizeof buf));
    write(s, "ghi\n", 4);
    usleep(100000);
    tcflush(m, TCIFLUSH);
    usleep(100000);
    printf("master TCIFLUSH: the master reads %ld\n", drain(m, last));

    /* NOFLSH: the ^C flushes nothing (its echo may wait for room: Linux defers it). */
    t.c_lflag |= NOFLSH;
    tcsetattr(s, TCSANOW, &t);
    w = fill(s);
    write(m, "\x03", 1);
    usleep(100000);
    r = drain(m, last);
    printf("^C with NOFLSH: read all %d\n", r >= w);
    return 0;
}
