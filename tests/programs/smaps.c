/* /proc/self/smaps and smaps_rollup: an 8 MiB anonymous mapping with its first 2 MiB written
 * shows its size, at least those 2 MiB resident (all of it anonymous), and the rollup counts them;
 * the figures are lines of "Name:   N kB" as tools (pmap -X, psutil) parse them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

static long figure(FILE *f, const char *name)
{
    char line[512];
    size_t n = strlen(name);
    while (fgets(line, sizeof line, f))
        if (strncmp(line, name, n) == 0 && line[n] == ':')
            return atol(line + n + 1);
    return -1;
}

int main(void)
{
    size_t size = 8 << 20;
    /* Inaccessible pages either side: like anonymous memory adjacent to it would be the same line
     * of smaps (Linux merges such VMAs), and where it lands depends on the layout. */
    char *g = mmap(NULL, size + 2 * 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    char *m = mmap(g + 4096, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    memset(m, 1, 2 << 20);
    FILE *f = fopen("/proc/self/smaps", "r");
    char line[512], want[32];
    snprintf(want, sizeof want, "%lx-", (unsigned long)m);
    int found = 0;
    while (!found && fgets(line, sizeof line, f))
        found = strncmp(line, want, strlen(want)) == 0;
    printf("mapping found: %d\n", found);
    long sz = figure(f, "Size"), rss = figure(f, "Rss"), anon = figure(f, "Anonymous");
    printf("Size: %ld kB\n", sz);
    printf("Rss from 2048 to 8192 kB: %d\n", rss >= 2048 && rss <= 8192);
    printf("all of it anonymous: %d\n", anon == rss);
    fclose(f);
    f = fopen("/proc/self/smaps_rollup", "r");
    fgets(line, sizeof line, f);
    printf("rollup header: %s", strstr(line, "[rollup]") ? "[rollup]\n" : line);
    printf("rollup Rss at least 2048 kB: %d\n", figure(f, "Rss") >= 2048);
    fclose(f);
    return 0;
}
