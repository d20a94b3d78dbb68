/* Shared harness of the benchmark programs: timing, self-calibration and the
 * one result line the driver parses.
 *
 * Every program is called as  PROG CASE TARGET_MS [ARGS...]  and prints ONE line:
 *   ns_per_op=123.4 ops=100000 [mb_per_s=...]      on success (exit 0)
 *   unsupported <reason>                            when the runner lacks the feature (exit 0)
 * or a message on stderr and exit 1 when something unexpected fails.
 * Work is calibrated against TARGET_MS, so a slow runner does fewer operations
 * instead of hanging the suite. */
#ifndef BENCH_H
#define BENCH_H
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static inline double bench_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static inline void bench_fail(const char *what)
{
    fprintf(stderr, "%s: %s\n", what, strerror(errno));
    exit(1);
}

/* errnos that mean "this runner does not offer the feature", not "broken". */
static inline int bench_is_unsupported_errno(int e)
{
    return e == ENOSYS || e == EROFS || e == EACCES || e == EPERM || e == EAFNOSUPPORT ||
           e == EPROTONOSUPPORT || e == ENETUNREACH || e == EOPNOTSUPP;
}

static inline void bench_unsupported(const char *what)
{
    printf("unsupported %s: %s\n", what, strerror(errno));
    fflush(stdout);
    exit(0);
}

/* Fails or reports unsupported depending on errno. */
static inline void bench_check(int ok, const char *what)
{
    if (ok)
        return;
    if (bench_is_unsupported_errno(errno))
        bench_unsupported(what);
    bench_fail(what);
}

typedef void (*bench_op_fn)(long n, void *arg);

/* Calibrates, then measures: batches of doubling size run untimed (warming
 * caches, allocating file blocks) until one takes a tenth of TARGET_MS; then
 * batches of that size are timed until TARGET_MS of work is done (at least
 * one operation). bytes_per_op > 0 adds a throughput figure. */
static inline void bench_run(bench_op_fn fn, void *arg, double target_ms, double bytes_per_op)
{
    double target_ns = target_ms * 1e6, total_ns = 0;
    long n = 1, ops = 0;
    for (;;) {
        double t0 = bench_now_ns();
        fn(n, arg);
        if (bench_now_ns() - t0 >= target_ns / 10 || n >= (1L << 40))
            break;
        n *= 2;
    }
    while (total_ns < target_ns) {
        double t0 = bench_now_ns();
        fn(n, arg);
        total_ns += bench_now_ns() - t0;
        ops += n;
    }
    if (bytes_per_op > 0)
        printf("ns_per_op=%.1f ops=%ld mb_per_s=%.1f\n", total_ns / ops, ops,
               bytes_per_op * ops / (total_ns / 1e9) / 1e6);
    else
        printf("ns_per_op=%.1f ops=%ld\n", total_ns / ops, ops);
    fflush(stdout);
}

static inline double bench_target_ms(int argc, char **argv, int need)
{
    if (argc < need) {
        fprintf(stderr, "usage: %s CASE TARGET_MS [ARGS...]\n", argv[0]);
        exit(2);
    }
    double t = atof(argv[2]);
    return t > 0 ? t : 100;
}

static inline void bench_unknown_case(const char *c)
{
    fprintf(stderr, "unknown case %s\n", c);
    exit(2);
}
#endif
