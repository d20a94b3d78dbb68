/* Memory allocation: mmap+touch+munmap, malloc/free of small and large blocks. */
#include "bench.h"
#include <malloc.h>
#include <sys/mman.h>

#define MAP_LEN (1 << 20)

static void op_mmap_touch(long n, void *arg)
{
    (void)arg;
    long page = sysconf(_SC_PAGESIZE);
    for (long i = 0; i < n; i++) {
        char *p = mmap(NULL, MAP_LEN, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED)
            bench_fail("mmap");
        for (long off = 0; off < MAP_LEN; off += page)
            p[off] = 1;
        if (munmap(p, MAP_LEN) != 0)
            bench_fail("munmap");
    }
}

static void op_malloc(long n, void *arg)
{
    size_t size = *(size_t *)arg;
    for (long i = 0; i < n; i++) {
        volatile char *p = malloc(size);
        if (!p)
            bench_fail("malloc");
        p[0] = 1; /* touch so the allocation is real */
        free((void *)p);
    }
}

int main(int argc, char **argv)
{
    double target = bench_target_ms(argc, argv, 3);
    size_t small = 64, large = 4 << 20; /* large: above glibc's mmap threshold */
    if (strcmp(argv[1], "mmap_touch") == 0)
        bench_run(op_mmap_touch, NULL, target, MAP_LEN);
    else if (strcmp(argv[1], "malloc_small") == 0)
        bench_run(op_malloc, &small, target, 0);
    else if (strcmp(argv[1], "malloc_large") == 0) {
        /* A fixed threshold stops glibc from raising it after the first free,
         * so every large block really is an mmap/munmap pair. */
        mallopt(M_MMAP_THRESHOLD, 128 * 1024);
        bench_run(op_malloc, &large, target, 0);
    }
    else
        bench_unknown_case(argv[1]);
    return 0;
}
