/* Syscall round trip: getpid through syscall(2) so libc cannot cache it. */
#include "bench.h"
#include <sys/syscall.h>

static void op_getpid(long n, void *arg)
{
    (void)arg;
    for (long i = 0; i < n; i++)
        syscall(SYS_getpid);
}

int main(int argc, char **argv)
{
    double target = bench_target_ms(argc, argv, 3);
    if (strcmp(argv[1], "getpid") != 0)
        bench_unknown_case(argv[1]);
    bench_run(op_getpid, NULL, target, 0);
    return 0;
}
