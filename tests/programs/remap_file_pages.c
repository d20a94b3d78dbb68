/* remap_file_pages(2), which Linux emulates by mapping the VMA's file again at the new offset:
 * the pages a shared file or shared anonymous mapping shows afterwards, writes reaching the
 * file, the offsets /proc/self/maps shows, and the EINVAL rules. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "show.h"

static long page;

#define R(what, ...) do { errno = 0; show(what, syscall(SYS_remap_file_pages, __VA_ARGS__)); } while (0)

static void pages(const char *what, char *p, int n) {
    printf("%s: ", what);
    for (int i = 0; i < n; i++) putchar(p[i * page]);
    putchar('\n');
}

/* The file offsets (in pages) /proc/self/maps gives the mappings of PATH. */
static void maps_offsets(const char *path) {
    char line[512];
    FILE *f = fopen("/proc/self/maps", "r");
    printf("maps offsets:");
    while (fgets(line, sizeof line, f))
        if (strstr(line, path)) {
            unsigned long lo, hi, off;
            sscanf(line, "%lx-%lx %*s %lx", &lo, &hi, &off);
            printf(" %lu+%lu", off / page, (hi - lo) / page);
        }
    printf("\n");
    fclose(f);
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    page = sysconf(_SC_PAGESIZE);
    char path[] = "/var/tmp/remap-XXXXXX";
    int fd = mkstemp(path);
    char *buf = malloc(4 * page);
    for (int i = 0; i < 4; i++) memset(buf + i * page, 'A' + i, page);
    write(fd, buf, 4 * page);
    char *m = mmap(NULL, 5 * page, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);   /* room for page 4 */
    mmap(m, 4 * page, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd, 0);
    pages("before", m, 4);
    R("page 0 shows file page 3", m, page, 0L, 3L, 0L);
    pages("after", m, 4);
    maps_offsets(path);
    R("pages 1-2 show file pages 0-1", m + page, 2 * page, 0L, 0L, 0L);
    pages("after", m, 4);
    maps_offsets(path);
    R("across the pieces it made", m, 4 * page, 0L, 0L, 0L);
    pages("back in order", m, 4);
    R("page 3 shows file page 1", m + 3 * page, page, 0L, 1L, 0L);
    m[3 * page] = 'x';
    char c;
    pread(fd, &c, 1, page);
    printf("write through it reached file page 1: %c\n", c);
    R("unaligned start and size are rounded down", m + 10, page + 10, 0L, 2L, 0L);
    pages("after", m, 4);
    R("prot given", m, page, (long)PROT_READ, 0L, 0L);
    R("size 0", m, 0L, 0L, 0L, 0L);
    R("into another mapping", m, 5 * page, 0L, 0L, 0L);
    R("unmapped start", (void *)page, page, 0L, 0L, 0L);
    R("pgoff wraps", m, 2 * page, 0L, -1L, 0L);
    char *priv = mmap(NULL, 2 * page, PROT_READ, MAP_PRIVATE, fd, 0);
    R("a private mapping", priv, page, 0L, 1L, 0L);
    mmap(m + 4 * page, page, PROT_READ, MAP_SHARED | MAP_FIXED, fd, 0);
    R("into a mapping of the file with other permissions", m, 5 * page, 0L, 0L, 0L);
    munmap(m + 4 * page, page);
    R("into a hole", m, 5 * page, 0L, 0L, 0L);
    char *anon = mmap(NULL, 4 * page, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    for (int i = 0; i < 4; i++) anon[i * page] = 'a' + i;
    R("shared anonymous: page 0 shows page 2", anon, page, 0L, 2L, 0L);
    pages("shared anonymous", anon, 4);
    unlink(path);
    return 0;
}
