/* What the PID and user namespace test programs (ns_pid.c, ns_user.c) share: the headers they
 * use, SHOW (a call's result and errno name) and the inode of a /proc/PID/ns file. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ns_common.h"

#define SHOW(label, expr) do { errno = 0; long _r = (long)(expr); int _e = errno; \
    printf("%s: %ld %s\n", label, _r, _r == -1 ? strerrorname_np(_e) : "-"); } while (0)

static ino_t ns_ino(const char *pid, const char *kind) {
    char path[64];
    struct stat st;
    snprintf(path, sizeof path, "/proc/%s/ns/%s", pid, kind);
    return stat(path, &st) ? 0 : st.st_ino;
}
