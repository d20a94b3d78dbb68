/* A call's result as the differential test programs print it: "WHAT = VALUE", or "WHAT = -1
 * ERRNO-NAME" when it failed. S(WHAT, NR, ARGS...) makes the raw syscall NR with errno cleared.
 * Include it after defining _GNU_SOURCE (strerrorname_np). */
#ifndef SHOW_H
#define SHOW_H
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static void show(const char *what, long r) {
    if (r == -1)
        printf("%s = -1 %s\n", what, strerrorname_np(errno));
    else
        printf("%s = %ld\n", what, r);
}
#define S(what, ...) do { errno = 0; show(what, syscall(__VA_ARGS__)); } while (0)
/* SHOW(expr): the expression's text, its value, and the errno name when errno was set. */
#define SHOW(expr) do { errno = 0; long r_ = (long)(expr); \
    printf("%s = %ld%s%s\n", #expr, r_, errno ? " " : "", errno ? strerrorname_np(errno) : ""); } while (0)

/* A "Name: N kB" line of /proc/self/status (VmLck, VmRSS...): N, or -1. */
static long status_kb(const char *name) {
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kb = -1;
    size_t n = strlen(name);
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, name, n) == 0 && line[n] == ':' && sscanf(line + n + 1, "%ld", &kb) == 1)
            break;
    if (f)
        fclose(f);
    return kb;
}

/* The name column of the /proc/self/maps line of the mapping that starts at ``addr`` (with its
   newline), or "" if there is none. */
static const char *mapped_as(const void *addr) {
    static char line[512];
    char want[32];
    snprintf(want, sizeof want, "%lx-", (unsigned long)addr);
    FILE *maps = fopen("/proc/self/maps", "r");
    const char *found = "";
    while (maps && fgets(line, sizeof line, maps))
        if (strncmp(line, want, strlen(want)) == 0) {
            int name = 0;
            sscanf(line, "%*s %*s %*s %*s %*s %n", &name);
            found = line + name;
            break;
        }
    if (maps)
        fclose(maps);
    return found;
}
#endif
