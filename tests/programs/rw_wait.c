/* read(2) and write(2) that must wait, and those that need not: a read of an empty pipe sleeps
 * until a writer comes; a blocking write larger than the pipe writes all of it, waiting for room
 * midway; a write with no room waits first; a pread of a regular file and a write to one return
 * at once; readv and writev alike. The sandbox's handlers make no generator unless a call waits
 * (syscalls/file.py): each way through is taken here. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>
#include "await_state.h"

#define BIG 200000

static char buf[BIG];

static void check(int ok, const char *what) {
    if (!ok) {
        printf("FAIL %s: %s\n", what, strerror(errno));
        exit(1);
    }
}

/* Reads exactly N bytes (several reads); returns the sum of the bytes, as a check. */
static long drain(int fd, long n) {
    long sum = 0, got = 0;
    static char in[65536];
    while (got < n) {
        ssize_t r = read(fd, in, sizeof in);
        check(r > 0, "drain read");
        for (ssize_t i = 0; i < r; i++) sum += (unsigned char)in[i];
        got += r;
    }
    return sum;
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    int p[2];
    /* 1. A reader asleep on an empty pipe gets what is written later. */
    check(pipe(p) == 0, "pipe");
    pid_t child = fork();
    if (child == 0) {
        char in[16] = {0};
        ssize_t r = read(p[0], in, sizeof in - 1);
        printf("child read %zd: %s\n", r, in);
        _exit(0);
    }
    check(await_pid_sleeping(child), "child asleep in read");
    check(write(p[1], "hello", 5) == 5, "write hello");
    waitpid(child, NULL, 0);
    /* 2. A blocking write of more than the pipe holds: all of it, the reader draining it. */
    for (int i = 0; i < BIG; i++) buf[i] = (char)(i * 7);
    long want = 0;
    for (int i = 0; i < BIG; i++) want += (unsigned char)buf[i];
    child = fork();
    if (child == 0) {
        check(await_pid_sleeping(getppid()), "writer asleep");
        printf("child drained sum %s\n", drain(p[0], BIG) == want ? "right" : "WRONG");
        _exit(0);
    }
    ssize_t w = write(p[1], buf, BIG);
    waitpid(child, NULL, 0);   /* (printed after the child's line: one order natively and here) */
    printf("big write %zd\n", w);
    /* 3. A write to a full pipe waits for room first. */
    check(write(p[1], buf, 65536) == 65536, "fill");
    child = fork();
    if (child == 0) {
        check(await_pid_sleeping(getppid()), "writer asleep on a full pipe");
        printf("child drained sum %s\n", drain(p[0], 65536 + 10) >= 0 ? "done" : "");
        _exit(0);
    }
    w = write(p[1], "0123456789", 10);
    waitpid(child, NULL, 0);
    printf("write to a full pipe %zd\n", w);
    /* 4. A non-blocking one says EAGAIN instead; a read of an empty one too. */
    fcntl(p[1], F_SETFL, O_NONBLOCK);
    fcntl(p[0], F_SETFL, O_NONBLOCK);
    check(write(p[1], buf, 65536) == 65536, "fill again");
    w = write(p[1], "x", 1);
    printf("non-blocking write to a full pipe %zd %s\n", w, strerror(errno));
    drain(p[0], 65536);
    w = read(p[0], buf, 10);
    printf("non-blocking read of an empty pipe %zd %s\n", w, strerror(errno));
    /* 5. readv asleep on an empty pipe; a writev larger than the pipe, drained by a child. */
    fcntl(p[1], F_SETFL, 0);
    fcntl(p[0], F_SETFL, 0);
    child = fork();
    if (child == 0) {
        char a[3] = {0}, b[8] = {0};
        struct iovec iov[2] = {{a, 2}, {b, 7}};
        ssize_t r = readv(p[0], iov, 2);
        printf("child readv %zd: %s|%s\n", r, a, b);
        _exit(0);
    }
    check(await_pid_sleeping(child), "child asleep in readv");
    check(write(p[1], "vectors", 7) == 7, "write vectors");
    waitpid(child, NULL, 0);
    child = fork();
    if (child == 0) {
        check(await_pid_sleeping(getppid()), "writev asleep");
        printf("child drained sum %s\n", drain(p[0], 2L * BIG) == 2 * want ? "right" : "WRONG");
        _exit(0);
    }
    struct iovec out[2] = {{buf, BIG}, {buf, BIG}};
    w = writev(p[1], out, 2);
    waitpid(child, NULL, 0);
    printf("big writev %zd\n", w);
    /* 6. A regular file: pwrite and pread at once. */
    char path[] = "/tmp/rw_wait_XXXXXX";
    int fd = mkstemp(path);
    check(fd >= 0, "mkstemp");
    unlink(path);
    printf("pwrite %zd\n", pwrite(fd, "abcdef", 6, 4));
    char in[16] = {0};
    printf("pread %zd %s\n", pread(fd, in, 4, 6), in);
    printf("read at 0 %zd\n", read(fd, in, 2));
    return 0;
}
