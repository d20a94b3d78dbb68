/* A hostile child against the systrap mapper's receipt of a volume file's descriptor
 * (platform/systrap/mapper.py): one thread scribbles the msghdr the mapper's recvmsg reads (in the
 * first thread's sysmsg, SYSMSG at 0x7FFE40000000 + 0x840: memory the application can write)
 * (argv[2] given: only the control length, so that no descriptor is received) while another
 * maps and unmaps the file argv[1] MAP_SHARED, again and again. The child may see
 * mmap fail or be killed; it must never map anything but the file, and the Sentry must go on:
 * the parent then maps the file and finds the host's bytes. Sandbox-only (natively the address
 * is unmapped). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#define RECV ((volatile uint64_t *)0x7FFE40000840UL)

static void *scribble(void *arg) {
    (void)arg;
    int harmless = arg != NULL;
    for (uint64_t i = 0;; i++) {
        if (harmless)
            RECV[5] = 0;   /* msg_controllen: the descriptor is not received (the mmap fails) */
        else
            RECV[i % 12] = (i & 1) ? 1 : 0;   /* bad pointers and lengths: the recvmsg fails */
    }
    return NULL;
}

int main(int argc, char **argv) {
    if (argc < 2) return 2;
    setvbuf(stdout, NULL, _IOLBF, 0);
    pid_t pid = fork();
    if (pid == 0) {
        pthread_t t;
        pthread_create(&t, NULL, scribble, argc > 2 ? argv : NULL);
        int fd = open(argv[1], O_RDWR), odd = 0, failed = 0;
        for (int i = 0; i < 2000; i++) {
            char *p = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
            if (p == MAP_FAILED) { failed++; continue; }
            if (memcmp(p, "host-data", 9)) odd++;   /* anything else mapped there */
            munmap(p, 4096);
        }
        printf("child: foreign mappings %d, some failed %d\n", odd, failed > 0);
        _exit(0);
    }
    int status;
    waitpid(pid, &status, 0);
    printf("child: %s %d\n", WIFSIGNALED(status) ? "killed by signal" : "exit", WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
    int fd = open(argv[1], O_RDWR);
    char *p = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
    printf("parent: %.9s\n", p == MAP_FAILED ? "failed" : p);
    return 0;
}
