/* Pipe semantics in one process: EOF, EAGAIN, FIONREAD, F_GETPIPE_SZ/F_SETPIPE_SZ, PIPE_BUF, EPIPE, O_DIRECT. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

int main(void) {
    int p[2];
    char buf[70000];
    signal(SIGPIPE, SIG_IGN);
    if (pipe2(p, O_NONBLOCK) < 0) { perror("pipe2"); return 1; }
    printf("flags r=%o w=%o\n", fcntl(p[0], F_GETFL) & ~0100000, fcntl(p[1], F_GETFL) & ~0100000);
    errno = 0;
    { long _r = (long)(read(p[0], buf, 10)); int _e = errno; printf("empty read: %ld errno=%d\n", _r, _e); }
    printf("write: %zd\n", write(p[1], "hello", 5));
    int n = -1;
    ioctl(p[0], FIONREAD, &n);
    printf("FIONREAD: %d\n", n);
    printf("read: %zd\n", read(p[0], buf, 3));
    printf("read rest: %zd '%.2s'\n", read(p[0], buf, 100), buf);
    printf("pipe size: %d\n", fcntl(p[1], F_GETPIPE_SZ));
    /* Fill it one byte at a time. */
    long total = 0;
    while (write(p[1], "x", 1) == 1) total++;
    { long _r = (long)(total); int _e = errno; printf("filled %ld errno=%d\n", _r, _e); }
    memset(buf, 'a', sizeof buf);
    errno = 0;
    { long _r = (long)(write(p[1], buf, 100)); int _e = errno; printf("atomic write when full: %ld errno=%d\n", _r, _e); }
    printf("read 100: %zd\n", read(p[0], buf, 100));
    printf("small write after space: %zd\n", write(p[1], buf, 50));
    printf("big partial write: %zd\n", write(p[1], buf, 8192) > 0);
    { long _r = (long)(fcntl(p[1], F_SETPIPE_SZ, 4096)); int _e = errno; printf("setpipe busy: %ld errno=%d\n", _r, _e); }
    while (read(p[0], buf, sizeof buf) > 0) {}
    printf("setpipe 5000 -> %d\n", fcntl(p[1], F_SETPIPE_SZ, 5000));
    printf("getpipe -> %d\n", fcntl(p[0], F_GETPIPE_SZ));
    printf("setpipe 0 -> %d\n", fcntl(p[1], F_SETPIPE_SZ, 0));
    struct stat st;
    fstat(p[0], &st);
    printf("fifo? %d size %ld\n", S_ISFIFO(st.st_mode), (long)st.st_size);
    { long _r = (long)((long)lseek(p[0], 0, SEEK_SET)); int _e = errno; printf("lseek: %ld errno=%d\n", _r, _e); }
    close(p[1]);
    printf("EOF read: %zd\n", read(p[0], buf, 10));
    close(p[0]);
    /* EPIPE */
    pipe(p);
    close(p[0]);
    errno = 0;
    { long _r = (long)(write(p[1], "x", 1)); int _e = errno; printf("EPIPE write: %ld errno=%d\n", _r, _e); }
    close(p[1]);
    /* Packet mode. */
    pipe2(p, O_DIRECT | O_NONBLOCK);
    write(p[1], "abc", 3);
    write(p[1], "defgh", 5);
    printf("packet 1: %zd\n", read(p[0], buf, 2));
    printf("packet 2: %zd '%.5s'\n", read(p[0], buf, 100), buf);
    close(p[0]); close(p[1]);
    /* A FIFO on /tmp. */
    unlink("/tmp/svfifo");
    printf("mkfifo: %d\n", mkfifo("/tmp/svfifo", 0600));
    errno = 0;
    { long _r = (long)(open("/tmp/svfifo", O_WRONLY | O_NONBLOCK)); int _e = errno; printf("open wr nonblock no reader: %ld errno=%d\n", _r, _e); }
    int r = open("/tmp/svfifo", O_RDONLY | O_NONBLOCK);
    printf("reader ok: %d\n", r >= 0);
    printf("read no writer: %zd\n", read(r, buf, 10));
    int w = open("/tmp/svfifo", O_WRONLY | O_NONBLOCK);
    printf("writer ok: %d\n", w >= 0);
    printf("fifo write: %zd\n", write(w, "fifo!", 5));
    printf("fifo read: %zd '%.5s'\n", read(r, buf, 10), buf);
    close(w);
    printf("fifo EOF: %zd\n", read(r, buf, 10));
    close(r);
    unlink("/tmp/svfifo");
    char path[64];
    pipe(p);
    snprintf(path, sizeof path, "/proc/self/fd/%d", p[0]);
    n = readlink(path, buf, 100);
    printf("readlink prefix: %.6s\n", n > 0 ? buf : "?");
    return 0;
}
