/* Reservations under a memory limit (run with --memory 64m): PROT_NONE mappings are address space
 * only, as Linux does not account them until mprotect makes them writable, so 640 MiB of them fit
 * under 64 MiB (a JVM's code cache, a malloc arena's 64 MiB heap); what mprotect opens counts,
 * so the limit still ends it (ENOMEM), and what munmap frees counts no more. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#define N 40
#define SIZE (16 << 20)

int main(void)
{
    char *r[N];
    int made = 0;
    for (int i = 0; i < N; i++) {
        r[i] = mmap(NULL, SIZE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | (i % 2 ? MAP_NORESERVE : 0), -1, 0);
        if (r[i] == MAP_FAILED) {
            printf("reservation %d: %s\n", i, strerror(errno));
            return 1;
        }
        made++;
    }
    printf("reserved %d x 16 MiB\n", made);
    for (int i = 0; i < N; i++) {   /* 1 MiB of each opened and written: 40 MiB in all */
        if (mprotect(r[i], 1 << 20, PROT_READ | PROT_WRITE)) {
            printf("mprotect %d: %s\n", i, strerror(errno));
            return 1;
        }
        memset(r[i], i, 1 << 20);
    }
    printf("opened 1 MiB of each\n");
    pid_t pid = fork();   /* the reserved rest costs the child nothing either */
    if (pid == 0)
        _exit(r[7][100] == 7 && r[N - 1][(1 << 20) - 1] == N - 1 ? 0 : 3);
    int status;
    waitpid(pid, &status, 0);
    printf("child: %s\n", WIFEXITED(status) && WEXITSTATUS(status) == 0 ? "saw the data" : "failed");
    int refused = -1;
    for (int i = 0; i < N && refused < 0; i++)   /* whole reservations opened: the limit ends it */
        if (mprotect(r[i], SIZE, PROT_READ | PROT_WRITE))
            refused = i, printf("whole reservations opened: refused at %d: %s\n", i, strerror(errno));
    if (refused < 0) {
        printf("no refusal\n");
        return 1;
    }
    for (int i = 0; i < N; i++)
        munmap(r[i], SIZE);
    char *big = mmap(NULL, 48 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    printf("after munmap, 48 MiB: %s\n", big == MAP_FAILED ? strerror(errno) : "mapped");
    return 0;
}
