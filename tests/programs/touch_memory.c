/* Map MiB of private memory (argv[1]), check it reads as zeros, dirty every page, exit: a
   process whose memory the Sentry must give back to the host once its stub is dead. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>

int main(int argc, char **argv) {
    size_t len = (size_t)(argc > 1 ? atoi(argv[1]) : 16) << 20;
    unsigned char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
        perror("mmap");
        return 1;
    }
    for (size_t i = 0; i < len; i += 4096) {
        if (p[i]) {
            printf("fresh memory is not zero at %zu\n", i);
            return 1;
        }
        p[i] = 0xA5;
    }
    return 0;
}
