#define _GNU_SOURCE
/* Mappings up to vm.max_map_count: one-page mappings that cannot merge (alternating protections)
 * until mmap says ENOMEM; then the process carries on (a freed slot maps again, brk still
 * answers). The count itself differs with what else the process maps, so only its order of
 * magnitude is printed. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int main(void) {
    void *last = NULL;
    int n = 0, err = 0;
    for (; n < 100000; n++) {
        void *p = mmap(0, 4096, (n & 1) ? PROT_READ : PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) { err = errno; break; }
        last = p;
    }
    printf("stopped by %s after more than 60000: %d\n", strerrorname_np(err), n > 60000);
    munmap(last, 4096);
    void *p = mmap(0, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    printf("after a munmap, mmap works: %d\n", p != MAP_FAILED);
    printf("brk answers: %d\n", sbrk(0) != (void *)-1);
    return 0;
}
