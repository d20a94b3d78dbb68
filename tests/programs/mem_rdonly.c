/* Writing what you may only read (differential): a MAP_SHARED mapping of a descriptor opened
 * O_RDONLY must never become writable (VM_MAYWRITE: mprotect is EACCES), so nothing can reach the
 * file through it. Usage: mem_rdonly PATH [nobody]  (nobody: drop to uid/gid 65534 first) */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define SHOW(label, expr) do { errno = 0; long _r = (long)(expr); int _e = errno; \
    printf("%s: %ld %s\n", label, _r, _r == -1 ? strerrorname_np(_e) : "-"); } while (0)

static long map(void *p) { return p == MAP_FAILED ? -1 : 0; }

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IONBF, 0);
    if (argc > 2 && !strcmp(argv[2], "nobody")) {
        if (setgroups(0, NULL) || setgid(65534) || setuid(65534)) { perror("setuid"); return 2; }
    }
    int fd = open(argv[1], O_RDONLY);
    if (fd < 0) { perror("open"); return 2; }
    SHOW("open for writing", open(argv[1], O_RDWR));
    SHOW("shared writable mmap", map(mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)));
    char *m = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
    if (m == MAP_FAILED) { perror("mmap"); return 2; }
    errno = 0;
    int r = mprotect(m, 4096, PROT_READ | PROT_WRITE);
    printf("mprotect shared read-only mapping RW: %d %s\n", r, r ? strerrorname_np(errno) : "-");
    if (r == 0) {   /* what the attack does next: the write must never reach the file */
        memcpy(m, "OWNED", 5);
        msync(m, 4096, MS_SYNC);
    }
    SHOW("mprotect it PROT_WRITE alone", mprotect(m, 4096, PROT_WRITE));
    SHOW("mprotect it read-only again", mprotect(m, 4096, PROT_READ));
    munmap(m, 4096);
    /* MAP_SHARED_VALIDATE behaves the same. */
    m = mmap(NULL, 4096, PROT_READ, MAP_SHARED_VALIDATE, fd, 0);
    SHOW("mprotect shared-validate mapping RW", m == MAP_FAILED ? -1 : mprotect(m, 4096, PROT_READ | PROT_WRITE));
    /* A private mapping may become writable: the writes stay in the process's copy. */
    char *p = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, fd, 0);
    SHOW("mprotect private mapping RW", mprotect(p, 4096, PROT_READ | PROT_WRITE));
    memcpy(p, "PRIV!", 5);
    char buf[6] = {0};
    pread(fd, buf, 5, 0);
    printf("file starts: %s\n", buf);
    return 0;
}
