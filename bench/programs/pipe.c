/* Between two processes: stream throughput over a pipe or an AF_UNIX stream
 * socketpair, and round-trip latency over a pair of pipes.
 *   pipe pipe TARGET_MS       a forked writer sends 64 KiB writes, this process
 *                             reads; one operation = 64 KiB (MB/s)
 *   pipe unix TARGET_MS       the same over socketpair(AF_UNIX, SOCK_STREAM)
 *   pipe pingpong TARGET_MS   a forked child echoes 1 byte back over a second
 *                             pipe; one operation = one round trip
 * The child is forked once, before the timing starts: in the stream cases it
 * is told over a control pipe how many chunks to send next, so no fork is
 * timed. */
#include "bench.h"
#include <stdint.h>
#include <sys/socket.h>
#include <sys/wait.h>

#define CHUNK (64 * 1024)

static char *buf;
static int to_child = -1, from_child = -1;
static pid_t child;

static void write_all(int fd, const void *p, size_t len)
{
    while (len > 0) {
        ssize_t w = write(fd, p, len);
        if (w <= 0)
            bench_fail("write");
        p = (const char *)p + w;
        len -= w;
    }
}

/* The writer: for every count on ctl, that many CHUNK writes to out. */
static void writer(int ctl, int out)
{
    int64_t n;
    while (read(ctl, &n, sizeof n) == sizeof n)
        for (int64_t i = 0; i < n; i++)
            write_all(out, buf, CHUNK);
    _exit(0);
}

static void op_stream(long n, void *arg)
{
    (void)arg;
    int64_t count = n;
    write_all(to_child, &count, sizeof count);
    for (long left = n * (long)CHUNK; left > 0;) {
        ssize_t r = read(from_child, buf, left < CHUNK ? left : CHUNK);
        if (r < 0)
            bench_fail("read");
        if (r == 0) {
            fprintf(stderr, "writer closed early, %ld bytes missing\n", left);
            exit(1);
        }
        left -= r;
    }
}

/* The echo: every byte read from in goes back on out, until EOF. */
static void echo(int in, int out)
{
    char c;
    while (read(in, &c, 1) == 1)
        write_all(out, &c, 1);
    _exit(0);
}

static void op_pingpong(long n, void *arg)
{
    (void)arg;
    char c = 'x';
    for (long i = 0; i < n; i++) {
        write_all(to_child, &c, 1);
        if (read(from_child, &c, 1) != 1)
            bench_fail("pingpong read");
    }
}

/* Forks fn(in, out) over two channels: up (child to parent) and down
 * (parent to child); each end is kept open only where it is used. */
static void fork_child(void (*fn)(int, int), int up[2], int down[2])
{
    child = fork();
    if (child < 0)
        bench_fail("fork");
    if (child == 0) {
        close(up[0]);
        close(down[1]);
        fn(down[0], up[1]);
    }
    close(up[1]);
    close(down[0]);
    from_child = up[0];
    to_child = down[1];
}

int main(int argc, char **argv)
{
    double target = bench_target_ms(argc, argv, 3);
    buf = calloc(1, CHUNK);
    int ctl[2], data[2];
    bench_check(pipe(ctl) == 0, "pipe");
    bench_op_fn op = op_stream;
    double bytes_per_op = CHUNK;
    if (strcmp(argv[1], "pipe") == 0) {
        bench_check(pipe(data) == 0, "pipe");
        fork_child(writer, data, ctl);
    } else if (strcmp(argv[1], "unix") == 0) {
        bench_check(socketpair(AF_UNIX, SOCK_STREAM, 0, data) == 0, "socketpair");
        fork_child(writer, data, ctl);
    } else if (strcmp(argv[1], "pingpong") == 0) {
        bench_check(pipe(data) == 0, "pipe");
        fork_child(echo, data, ctl);
        op = op_pingpong;
        bytes_per_op = 0;
    } else {
        bench_unknown_case(argv[1]);
    }
    bench_run(op, NULL, target, bytes_per_op);
    close(to_child); /* EOF: the child exits */
    int status;
    if (waitpid(child, &status, 0) != child || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "child failed (status %d)\n", status);
        return 1;
    }
    return 0;
}
