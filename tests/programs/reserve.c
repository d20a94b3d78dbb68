/* Reserve (map without touching) 256 MiB at a time until the kernel refuses: how much memory
 * may this sandbox have? "reserved N MiB: <strerror>", or "no limit" past 64 GiB. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

int main(void) {
    long mb;
    for (mb = 0; mb < 64L << 10; mb += 256) {
        if (mmap(0, 256L << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) == MAP_FAILED) {
            printf("reserved %ld MiB: %s\n", mb, strerror(errno));
            return 0;
        }
    }
    printf("no limit\n");
    return 1;
}
