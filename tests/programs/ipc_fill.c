/* System V message queues up to the namespace's limit (msgmni): every msgget(IPC_PRIVATE) gets a
 * new object until ENOSPC; a freed index is the next one given out (Linux's lowest free index);
 * everything is removed again. Prints the count, the reused index and how long the fill took. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <time.h>

#define MAX_IDS 65536
static int ids[MAX_IDS];

int main(void) {
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    int n = 0;
    while (n < MAX_IDS) {
        int id = msgget(IPC_PRIVATE, 0600);
        if (id < 0) {
            printf("msgget after %d queues: errno %s\n", n, errno == ENOSPC ? "ENOSPC" : "other");
            break;
        }
        ids[n++] = id;
    }
    clock_gettime(CLOCK_MONOTONIC, &b);
    int victim = n / 3;
    msgctl(ids[victim], IPC_RMID, NULL);
    int again = msgget(IPC_PRIVATE, 0600);
    printf("freed index %d, next index %d\n", ids[victim] & 0x7fff, again & 0x7fff);
    ids[victim] = again;
    int removed = 0;
    for (int i = 0; i < n; i++)
        removed += msgctl(ids[i], IPC_RMID, NULL) == 0;
    printf("removed %d\n", removed);
    fprintf(stderr, "fill: %.2f s\n", (b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9);
    return 0;
}
