/* The rest of the table (issue "Kernel features I"): personality, fadvise64, sync_file_range,
 * sched_rr_get_interval, sched_getattr/setattr, ioprio_get/set, membarrier, pkeys and the NUMA
 * calls, each with its errors, printed for a native-vs-sandbox comparison. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "show.h"

struct sched_attr_v1 {
    uint32_t size, policy; uint64_t flags; int32_t nice; uint32_t priority;
    uint64_t runtime, deadline, period; uint32_t util_min, util_max;
};

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    /* personality */
    S("personality query", SYS_personality, 0xffffffffUL);
    S("personality set ADDR_NO_RANDOMIZE", SYS_personality, 0x0040000UL);
    S("personality read back", SYS_personality, 0xffffffffUL);
    pid_t c = fork();
    if (c == 0) { S("personality in child", SYS_personality, 0xffffffffUL); _exit(0); }
    waitpid(c, NULL, 0);
    S("personality restore", SYS_personality, 0UL);

    /* fadvise64, sync_file_range */
    int fd = open("/proc/self/exe", O_RDONLY);
    int p[2];
    pipe(p);
    S("fadvise normal", SYS_fadvise64, fd, 0, 0, 0);
    S("fadvise dontneed", SYS_fadvise64, fd, 0, 4096, 4);
    S("fadvise bad advice", SYS_fadvise64, fd, 0, 0, 99);
    S("fadvise negative len", SYS_fadvise64, fd, 0, -1L, 0);
    S("fadvise pipe", SYS_fadvise64, p[0], 0, 0, 0);
    S("fadvise bad fd", SYS_fadvise64, 999, 0, 0, 0);
    S("sync_file_range ok", SYS_sync_file_range, fd, 0, 0, 0);
    S("sync_file_range bad flags", SYS_sync_file_range, fd, 0, 0, 8);
    S("sync_file_range negative offset", SYS_sync_file_range, fd, -1L, 0, 0);
    S("sync_file_range negative nbytes", SYS_sync_file_range, fd, 0, -5L, 0);
    S("sync_file_range pipe", SYS_sync_file_range, p[1], 0, 0, 0);

    /* scheduling */
    struct timespec ts = {9, 9};
    S("sched_rr_get_interval self", SYS_sched_rr_get_interval, 0, &ts);
    printf("interval %ld %ld\n", (long)ts.tv_sec, ts.tv_nsec);
    S("sched_rr_get_interval -1", SYS_sched_rr_get_interval, -1, &ts);
    S("sched_rr_get_interval absent", SYS_sched_rr_get_interval, 0x3ffffff0, &ts);
    struct sched_attr_v1 a;
    memset(&a, 0xff, sizeof a);
    S("sched_getattr", SYS_sched_getattr, 0, &a, sizeof a, 0);
    printf("attr size %u policy %u nice %d prio %u\n", a.size, a.policy, a.nice, a.priority);
    S("sched_getattr small", SYS_sched_getattr, 0, &a, 40, 0);
    S("sched_getattr flags", SYS_sched_getattr, 0, &a, sizeof a, 1);
    memset(&a, 0, sizeof a);
    a.size = sizeof a;
    a.policy = 0;
    a.nice = 5;
    S("sched_setattr nice 5", SYS_sched_setattr, 0, &a, 0);
    errno = 0;
    printf("getpriority now %d\n", getpriority(PRIO_PROCESS, 0));
    a.size = 20;
    S("sched_setattr size 20", SYS_sched_setattr, 0, &a, 0);
    printf("size written back %u\n", a.size);
    a.size = sizeof a;
    a.policy = 77;
    S("sched_setattr bad policy", SYS_sched_setattr, 0, &a, 0);
    a.policy = 0;
    a.priority = 3;
    S("sched_setattr priority for OTHER", SYS_sched_setattr, 0, &a, 0);

    /* ioprio */
    S("ioprio_get", SYS_ioprio_get, 1, 0);
    S("ioprio_set BE 4", SYS_ioprio_set, 1, 0, (2 << 13) | 4);
    S("ioprio_get after", SYS_ioprio_get, 1, 0);
    S("ioprio_set NONE with level", SYS_ioprio_set, 1, 0, 3);
    S("ioprio_set class 7", SYS_ioprio_set, 1, 0, 7 << 13);
    S("ioprio_get bad which", SYS_ioprio_get, 9, 0);
    S("ioprio_get absent pid", SYS_ioprio_get, 1, 0x3ffffff0);

    /* membarrier */
    S("membarrier query", SYS_membarrier, 0, 0, 0);
    S("membarrier private unregistered", SYS_membarrier, 8, 0, 0);
    S("membarrier register private", SYS_membarrier, 16, 0, 0);
    S("membarrier private", SYS_membarrier, 8, 0, 0);
    S("membarrier global", SYS_membarrier, 1, 0, 0);
    S("membarrier registrations", SYS_membarrier, 512, 0, 0);
    S("membarrier bad cmd", SYS_membarrier, 3, 0, 0);
    S("membarrier flags", SYS_membarrier, 1, 1, 0);
    c = fork();
    if (c == 0) { S("membarrier registrations in child", SYS_membarrier, 512, 0, 0); _exit(0); }
    waitpid(c, NULL, 0);

    /* kcmp, restart_syscall */
    int again = open("/proc/self/exe", O_RDONLY), dupped = dup(fd);
    pid_t me = getpid();
    S("kcmp same file", SYS_kcmp, me, me, 0, fd, dupped);
    printf("kcmp other open differs %d\n", syscall(SYS_kcmp, me, me, 0, fd, again) > 0);
    S("kcmp vm self", SYS_kcmp, me, me, 1, 0, 0);
    S("kcmp files self", SYS_kcmp, me, me, 2, 0, 0);
    S("kcmp bad fd", SYS_kcmp, me, me, 0, fd, 999);
    S("kcmp bad type", SYS_kcmp, me, me, 99, 0, 0);
    S("kcmp absent pid", SYS_kcmp, me, 0x3ffffff0, 1, 0, 0);
    int sync_pipe[2];
    pipe(sync_pipe);
    c = fork();
    if (c == 0) { char b; read(sync_pipe[0], &b, 1); _exit(0); }
    printf("kcmp vm child differs %d\n", syscall(SYS_kcmp, me, c, 1, 0, 0) > 0);
    S("kcmp file inherited", SYS_kcmp, me, c, 0, fd, fd);
    write(sync_pipe[1], "x", 1);
    waitpid(c, NULL, 0);
    S("restart_syscall", SYS_restart_syscall);

    /* protection keys (no PKU) */
    char *m = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    m[0] = 1;   /* present (an untouched page has no node yet: move_pages says -EFAULT) */
    S("pkey_alloc", SYS_pkey_alloc, 0, 0);
    S("pkey_alloc flags", SYS_pkey_alloc, 1, 0);
    S("pkey_free 0", SYS_pkey_free, 0);
    S("pkey_mprotect -1", SYS_pkey_mprotect, m, 4096, PROT_READ, -1);
    S("pkey_mprotect 0", SYS_pkey_mprotect, m, 4096, PROT_READ, 0);
    S("mlock2", SYS_mlock2, m, 4096, 0);
    S("mlock2 ONFAULT", SYS_mlock2, m, 4096, 1);
    S("mlock2 bad flags", SYS_mlock2, m, 4096, 2);
    S("mlock2 unmapped", SYS_mlock2, 0x10000, 4096, 0);
    S("munlock", SYS_munlock, m, 4096);

    /* NUMA, one node */
    int mode = -7;
    unsigned long mask[2] = {7, 7};
    S("get_mempolicy", SYS_get_mempolicy, &mode, mask, 128, 0, 0);
    printf("mode %d mask %lx\n", mode, mask[0]);
    S("get_mempolicy mems allowed", SYS_get_mempolicy, &mode, mask, 128, 0, 4);
    printf("mode %d mask %lx\n", mode, mask[0]);
    S("get_mempolicy addr", SYS_get_mempolicy, &mode, NULL, 0, m, 2);
    S("get_mempolicy node of addr", SYS_get_mempolicy, &mode, NULL, 0, m, 3);
    printf("node %d\n", mode);
    S("get_mempolicy addr without flag", SYS_get_mempolicy, &mode, NULL, 0, m, 0);
    S("get_mempolicy unmapped addr", SYS_get_mempolicy, &mode, NULL, 0, 0x10000, 2);
    S("get_mempolicy bad flags", SYS_get_mempolicy, &mode, NULL, 0, 0, 64);
    unsigned long node0 = 1, node5 = 32;
    S("set_mempolicy bind 0", SYS_set_mempolicy, 2, &node0, 64);
    S("get_mempolicy after", SYS_get_mempolicy, &mode, mask, 128, 0, 0);
    printf("mode %d mask %lx\n", mode, mask[0]);
    S("set_mempolicy bind 5", SYS_set_mempolicy, 2, &node5, 64);
    S("set_mempolicy default with nodes", SYS_set_mempolicy, 0, &node0, 64);
    S("set_mempolicy bad mode", SYS_set_mempolicy, 17, &node0, 64);
    S("set_mempolicy default", SYS_set_mempolicy, 0, NULL, 0);
    S("mbind", SYS_mbind, m, 8192, 2, &node0, 64, 0);
    S("mbind unaligned", SYS_mbind, m + 1, 8192, 2, &node0, 64, 0);
    S("mbind bad flags", SYS_mbind, m, 8192, 2, &node0, 64, 99);
    munmap(m + 4096, 4096);
    S("mbind over a hole", SYS_mbind, m, 8192, 2, &node0, 64, 0);
    void *pages[2] = {m, m + 4096};
    int status[2] = {9, 9};
    S("move_pages", SYS_move_pages, 0, 2, pages, NULL, status, 0);
    printf("status %d %d\n", status[0], status[1]);
    /* a long array (several steps of the Sentry's loop) */
    enum { MANY = 40000 };
    void **many = malloc(MANY * sizeof *many);
    int *many_status = malloc(MANY * sizeof *many_status);
    for (int i = 0; i < MANY; i++) many[i] = i % 2 ? (void *)0x10000 : (void *)m;
    S("move_pages many", SYS_move_pages, 0, MANY, many, NULL, many_status, 0);
    printf("status %d %d %d\n", many_status[0], many_status[MANY - 2], many_status[MANY - 1]);
    /* another user's process: ptrace's access rule (EPERM), as for kcmp */
    pid_t parent = getpid();
    c = fork();
    if (c == 0) {
        if (setgid(65534) || setuid(65534)) _exit(3);
        S("move_pages other user's process", SYS_move_pages, parent, 1, pages, NULL, status, 0);
        S("migrate_pages other user's process", SYS_migrate_pages, parent, 64, &node0, &node0);
        S("move_pages own process by pid", SYS_move_pages, getpid(), 1, pages, NULL, status, 0);
        S("migrate_pages absent pid", SYS_migrate_pages, 0x3ffffff0, 64, &node0, &node0);
        _exit(0);
    }
    waitpid(c, NULL, 0);
    return 0;
}
