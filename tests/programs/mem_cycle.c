/* mmap, touch and munmap mappings of ever different sizes, far more address space in total than
   the Sentry's MemoryFile holds (1 TiB): each size is new, so only an allocator that reuses and
   merges freed space of other sizes keeps up. Prints how many cycles succeeded. */
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <sys/mman.h>

int main(int argc, char **argv) {
    int cycles = argc > 1 ? atoi(argv[1]) : 2200;
    size_t step = (size_t)1 << 20;      /* cycle i maps i MiB plus i pages: sum over 2200 cycles > 2 TiB */
    for (int i = 1; i <= cycles; i++) {
        size_t len = i * step + (size_t)i * 4096;
        unsigned char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) {
            printf("cycle %d (%zu bytes): mmap failed: %m\n", i, len);
            return 1;
        }
        if (p[0] || p[len - 1] || p[len / 2]) {
            printf("cycle %d: fresh memory is not zero\n", i);
            return 1;
        }
        p[0] = p[len / 2] = p[len - 1] = 0xA5;   /* dirty it, so a reused range must come back zeroed */
        if (munmap(p, len)) {
            printf("cycle %d: munmap failed: %m\n", i);
            return 1;
        }
    }
    /* A shared anonymous mapping too: its region is freed with its last reference. */
    for (int i = 1; i <= 200; i++) {
        size_t len = (size_t)(3000 + i) * step;
        unsigned char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) {
            printf("shared cycle %d: mmap failed: %m\n", i);
            return 1;
        }
        if (p[len - 1]) {
            printf("shared cycle %d: fresh memory is not zero\n", i);
            return 1;
        }
        p[len - 1] = 1;
        munmap(p, len);
    }
    printf("%d cycles ok\n", cycles);
    return 0;
}
