/* process_madvise(2) and process_mrelease(2) through pidfds: advice on a child's memory (what
 * another process may be advised, how many bytes, where it stops), on one's own, and releasing
 * the memory of a child only once it is dying. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "show.h"

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    long page = sysconf(_SC_PAGESIZE);
    char *mem = mmap(NULL, 8 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    memset(mem, 1, 8 * page);
    munmap(mem + 6 * page, 2 * page);      /* a hole after six pages */
    pid_t c = fork();
    if (c == 0) {
        for (;;) pause();
    }
    int pfd = syscall(SYS_pidfd_open, c, 0);
    struct iovec two[2] = {{mem, 2 * page}, {mem + 4 * page, 2 * page}};
    struct iovec into_hole[2] = {{mem, 2 * page}, {mem + 5 * page, 2 * page}};
    struct iovec hole[1] = {{mem + 6 * page, page}};
    S("cold, two ranges", SYS_process_madvise, pfd, two, 2L, MADV_COLD, 0L);
    S("pageout", SYS_process_madvise, pfd, two, 1L, MADV_PAGEOUT, 0L);
    S("willneed", SYS_process_madvise, pfd, two, 2L, MADV_WILLNEED, 0L);
    S("second range runs into a hole", SYS_process_madvise, pfd, into_hole, 2L, MADV_COLD, 0L);
    S("only a hole", SYS_process_madvise, pfd, hole, 1L, MADV_COLD, 0L);
    S("dontneed on another process", SYS_process_madvise, pfd, two, 1L, MADV_DONTNEED, 0L);
    S("unknown advice", SYS_process_madvise, pfd, two, 1L, 999L, 0L);
    S("flags", SYS_process_madvise, pfd, two, 1L, MADV_COLD, 1L);
    S("no ranges", SYS_process_madvise, pfd, two, 0L, MADV_COLD, 0L);
    S("too many ranges", SYS_process_madvise, pfd, two, 1025L, MADV_COLD, 0L);
    S("bad iovec pointer", SYS_process_madvise, pfd, (void *)8, 1L, MADV_COLD, 0L);
    S("not a pidfd", SYS_process_madvise, 1, two, 1L, MADV_COLD, 0L);
    S("closed fd", SYS_process_madvise, 99, two, 1L, MADV_COLD, 0L);
    int self = syscall(SYS_pidfd_open, getpid(), 0);
    S("dontneed on oneself", SYS_process_madvise, self, two, 1L, MADV_DONTNEED, 0L);
    printf("own memory after dontneed: %d\n", mem[0]);
    S("mrelease of a live child", SYS_process_mrelease, pfd, 0L);
    S("mrelease flags", SYS_process_mrelease, pfd, 1L);
    S("mrelease not a pidfd", SYS_process_mrelease, 1, 0L);
    kill(c, SIGKILL);
    errno = 0;   /* dying (0) or, if it is quick, dead already (ESRCH) */
    long r = syscall(SYS_process_mrelease, pfd, 0L);
    printf("mrelease of a killed child: %s\n", r == 0 || errno == ESRCH ? "ok" : strerrorname_np(errno));
    siginfo_t si;
    waitid(P_PID, c, &si, WEXITED | WNOWAIT);   /* a zombie now */
    S("mrelease of a zombie", SYS_process_mrelease, pfd, 0L);
    S("madvise of a zombie", SYS_process_madvise, pfd, two, 1L, MADV_COLD, 0L);
    waitpid(c, NULL, 0);
    S("mrelease once reaped", SYS_process_mrelease, pfd, 0L);
    S("madvise once reaped", SYS_process_madvise, pfd, two, 1L, MADV_COLD, 0L);
    pid_t u = fork();
    if (u == 0) {
        if (setuid(1000)) _exit(1);
        int p1 = syscall(SYS_pidfd_open, getppid(), 0);
        S("unprivileged madvise of root's process", SYS_process_madvise, p1, two, 1L, MADV_COLD, 0L);
        _exit(0);
    }
    waitpid(u, NULL, 0);
    return 0;
}
