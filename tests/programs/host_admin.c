/* Calls on the host's kernel as a whole (swap, process accounting, the system clock), as an
 * unprivileged process: the argument checks Linux makes first, then EPERM. Natively the calls
 * are only ever made without privilege, so nothing on the host changes. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "show.h"

static void calls(void) {
    S("swapon bad flags", SYS_swapon, "/nonexistent-swap", 0x80000L);
    S("swapon", SYS_swapon, "/nonexistent-swap", 0L);
    S("swapoff", SYS_swapoff, "/nonexistent-swap");
    S("acct off", SYS_acct, NULL);
    S("acct on", SYS_acct, "/nonexistent-acct");
    struct timeval tv = {1, 2000000};
    S("settimeofday bad usec", SYS_settimeofday, &tv, NULL);
    tv.tv_usec = 1000000;
    S("settimeofday a whole second of usec", SYS_settimeofday, &tv, NULL);
    tv.tv_usec = 0;
    tv.tv_sec = 8277292036L;
    S("settimeofday too late", SYS_settimeofday, &tv, NULL);
    tv.tv_sec = -1;
    S("settimeofday before 1970", SYS_settimeofday, &tv, NULL);
    tv.tv_sec = 1;
    S("settimeofday bad pointer", SYS_settimeofday, (void *)8, NULL);
    S("settimeofday bad tz pointer", SYS_settimeofday, NULL, (void *)8);
    S("settimeofday", SYS_settimeofday, &tv, NULL);
    S("settimeofday nothing", SYS_settimeofday, NULL, NULL);
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    pid_t c = fork();
    if (c == 0) {
        if (setuid(1000)) { perror("setuid"); _exit(1); }
        calls();
        _exit(0);
    }
    int status;
    waitpid(c, &status, 0);
    return WEXITSTATUS(status);
}
