/* Shared memory of an IPC namespace goes with the namespace: 40 children each unshare an IPC
 * namespace, fill a 16 MiB segment they never remove, and exit. Run under a memory limit far
 * below 40 x 16 MiB, every child must still succeed. */
#define _GNU_SOURCE
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/shm.h>

#include "ns_common.h"

#define SIZE (16 << 20)

static int child(void) {
    if (unshare(CLONE_NEWIPC))
        return 2;
    int id = shmget(0x1234, SIZE, IPC_CREAT | 0600);
    char *p = shmat(id, NULL, 0);
    if (id < 0 || p == (void *)-1)
        return 3;
    memset(p, 1, SIZE);
    shmdt(p);
    return 0;
}

int main(void) {
    for (int i = 0; i < 40; i++) {
        pid_t pid = fork();
        if (pid == 0)
            exit(child());
        int st = reap(pid);
        if (st) {
            printf("child %d: %d\n", i, st);
            return 1;
        }
    }
    printf("40 namespaces freed\n");
    return 0;
}
