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
#endif
