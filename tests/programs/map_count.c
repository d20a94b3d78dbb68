#define _GNU_SOURCE
/* Mappings up to vm.max_map_count: one-page mappings that cannot merge (alternating protections)
 * until mmap says ENOMEM; then the process carries on (a freed slot maps again, brk still
 * answers). The count itself differs with what else the process maps, so only its order of
 * magnitude is printed. Then the same limit reached by splitting one mapping (mprotect of every
 * other page; a hole punched by munmap): ENOMEM, and the process carries on. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static void splits(void) {
    const long pg = 4096, n = 70000;
    char *p = mmap(0, n * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) { perror("mmap"); return; }
    long i;
    int err = 0;
    for (i = 0; i < n; i += 2)
        if (mprotect(p + i * pg, pg, PROT_READ)) { err = errno; break; }
    printf("mprotect splits stopped by %s after more than 30000: %d\n", strerrorname_np(err), i / 2 > 30000);
    errno = 0;
    int r = munmap(p + (i + 5) * pg, pg);
    printf("munmap of a hole at the limit: %d %s\n", r, strerrorname_np(errno));
    p[(i + 5) * pg] = 1;   /* still mapped and writable */
    printf("munmap of the whole: %d\n", munmap(p, n * pg));
}

static void *maps[100000];

int main(void) {
    void *last = NULL;
    int n = 0, err = 0;
    for (; n < 100000; n++) {
        void *p = mmap(0, 4096, (n & 1) ? PROT_READ : PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) { err = errno; break; }
        last = maps[n] = p;
    }
    printf("stopped by %s after more than 60000: %d\n", strerrorname_np(err), n > 60000);
    munmap(last, 4096);
    void *p = mmap(0, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    printf("after a munmap, mmap works: %d\n", p != MAP_FAILED);
    printf("brk answers: %d\n", sbrk(0) != (void *)-1);
    for (int i = 0; i < n - 1; i++)
        munmap(maps[i], 4096);
    splits();
    return 0;
}
