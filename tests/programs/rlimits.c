/* The resource limits this process starts with (exec keeps them): one line per RLIMIT_*,
 * "resource soft hard", "inf" for RLIM_INFINITY. */
#include <stdio.h>
#include <sys/resource.h>

static void print_limit(rlim_t v)
{
    if (v == RLIM_INFINITY)
        printf(" inf");
    else
        printf(" %llu", (unsigned long long)v);
}

int main(void)
{
    for (int r = 0; r < RLIM_NLIMITS; r++) {
        struct rlimit lim;
        if (getrlimit(r, &lim) != 0) {
            printf("%d error\n", r);
            continue;
        }
        printf("%d", r);
        print_limit(lim.rlim_cur);
        print_limit(lim.rlim_max);
        printf("\n");
    }
    return 0;
}
