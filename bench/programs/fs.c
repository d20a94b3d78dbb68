/* File system access: open+close, stat, read and write throughput in a directory.
 *   fs open_close|stat TARGET_MS DIR
 *   fs read|write TARGET_MS DIR BLOCK_BYTES
 * Reads use DIR/svbench-data (created here when missing; the driver pre-creates
 * it in a host directory that the runner may only see read-only). Writes go to
 * a private file that is removed at the end; a directory the runner cannot
 * write is reported as unsupported. */
#include "bench.h"
#include <fcntl.h>
#include <sys/stat.h>

#define DATA_NAME "svbench-data"
#define DATA_LEN (16L << 20)

static char path[4096];
static int fd = -1;
static size_t block;
static char *buf;

static void op_open_close(long n, void *arg)
{
    (void)arg;
    for (long i = 0; i < n; i++) {
        int f = open(path, O_RDONLY);
        if (f < 0)
            bench_fail("open");
        close(f);
    }
}

static void op_stat(long n, void *arg)
{
    (void)arg;
    struct stat st;
    for (long i = 0; i < n; i++)
        if (stat(path, &st) != 0)
            bench_fail("stat");
}

static void op_read(long n, void *arg)
{
    static off_t off;
    (void)arg;
    for (long i = 0; i < n; i++) {
        if (off + (off_t)block > DATA_LEN)
            off = 0;
        ssize_t r = pread(fd, buf, block, off);
        if (r != (ssize_t)block)
            bench_fail("pread");
        off += block;
    }
}

static void op_write(long n, void *arg)
{
    static off_t off;
    (void)arg;
    for (long i = 0; i < n; i++) {
        if (off + (off_t)block > DATA_LEN)
            off = 0; /* bounded file size: rewrite the same 16 MiB */
        ssize_t w = pwrite(fd, buf, block, off);
        if (w != (ssize_t)block)
            bench_fail("pwrite");
        off += block;
    }
}

/* Makes DIR/svbench-data if it is missing (the sandbox's own /tmp); returns
 * whether it did, so the file can be removed at the end. */
static int ensure_data(const char *dir)
{
    snprintf(path, sizeof path, "%s/" DATA_NAME, dir);
    struct stat st;
    if (stat(path, &st) == 0 && st.st_size >= DATA_LEN)
        return 0;
    int f = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    bench_check(f >= 0, "create data file");
    char *chunk = calloc(1, 1 << 20);
    memset(chunk, 'x', 1 << 20);
    for (long off = 0; off < DATA_LEN; off += 1 << 20)
        if (write(f, chunk, 1 << 20) != 1 << 20)
            bench_fail("write data file");
    free(chunk);
    close(f);
    return 1;
}

int main(int argc, char **argv)
{
    double target = bench_target_ms(argc, argv, 4);
    const char *c = argv[1], *dir = argv[3];
    if (strcmp(c, "read") == 0 || strcmp(c, "write") == 0) {
        if (argc < 5)
            bench_unknown_case("(missing block size)");
        block = strtoul(argv[4], NULL, 0);
        if (block == 0 || block > (size_t)DATA_LEN)
            bench_unknown_case(argv[4]);
        buf = malloc(block);
        memset(buf, 'y', block);
    }
    if (strcmp(c, "write") == 0) {
        snprintf(path, sizeof path, "%s/svbench-write-%d", dir, (int)getpid());
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        bench_check(fd >= 0, "open for writing");
        bench_run(op_write, NULL, target, (double)block);
        close(fd);
        unlink(path);
        return 0;
    }
    int created = ensure_data(dir);
    if (strcmp(c, "open_close") == 0)
        bench_run(op_open_close, NULL, target, 0);
    else if (strcmp(c, "stat") == 0)
        bench_run(op_stat, NULL, target, 0);
    else if (strcmp(c, "read") == 0) {
        fd = open(path, O_RDONLY);
        if (fd < 0)
            bench_fail("open data file");
        bench_run(op_read, NULL, target, (double)block);
        close(fd);
    } else
        bench_unknown_case(c);
    if (created)
        unlink(path);
    return 0;
}
