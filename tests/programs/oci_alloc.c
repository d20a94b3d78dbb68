/* Allocate and touch 1 MiB at a time until the kernel refuses; report how far it got.
 * Under a container memory limit the Sentry must answer ENOMEM (not crash, not the host OOM killer). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

int main(void) {
    long mb;
    for (mb = 0; mb < 2048; mb++) {
        void *p = mmap(0, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) {
            printf("failed after %ld MiB: %s\n", mb, strerror(errno));
            return 0;
        }
        memset(p, 1, 1 << 20);
    }
    printf("allocated %ld MiB\n", mb);
    return 1;
}
