/* Copy-on-write past the memory limit: fill the address space's allowance with private
 * anonymous memory (until mmap says ENOMEM), give 1 MiB back, fork, and have the child write
 * every page, which needs a copy of each. Under a limit (the sandbox's --memory, Linux's memory
 * cgroup) the copies run out: the child is killed with SIGKILL (Linux's OOM killer) while the
 * parent, which shares nothing once the child is gone, writes its own pages and carries on. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#define CHUNK (1 << 20)
#define MAX_CHUNKS 4096

static char *chunks[MAX_CHUNKS];

int main(void) {
    int n = 0;
    while (n < MAX_CHUNKS) {
        void *p = mmap(0, CHUNK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED)
            break;
        chunks[n++] = p;
    }
    if (n < 8 || n == MAX_CHUNKS) {
        printf("no memory limit met (%d MiB mapped)\n", n);
        return 2;
    }
    munmap(chunks[--n], CHUNK);
    for (int i = 0; i < n; i++)
        memset(chunks[i], 1, CHUNK);
    printf("filled %d MiB\n", n);
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) {
        printf("fork: %s\n", strerror(errno));
        return 1;
    }
    if (pid == 0) {
        for (int i = 0; i < n; i++)
            memset(chunks[i], 2, CHUNK);
        printf("child wrote everything\n");
        _exit(0);
    }
    int status;
    if (waitpid(pid, &status, 0) != pid) {
        perror("waitpid");
        return 1;
    }
    if (WIFSIGNALED(status))
        printf("child killed by signal %d\n", WTERMSIG(status));
    else
        printf("child exited %d\n", WEXITSTATUS(status));
    for (int i = 0; i < n; i++)
        memset(chunks[i], 3, CHUNK);
    printf("parent wrote everything\n");
    return 0;
}
