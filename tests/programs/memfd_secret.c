/* memfd_secret (differential): sized once, mapped shared only (and locked: VmLck grows), never
   read, written, seeked, synced or allocated; maps and fd links name "/secretmem (deleted)". */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "show.h"
#define PG 4096

static long vmlck(void) { return status_kb("VmLck"); }

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    int fd = syscall(447, 0);
    if (fd < 0 && errno == ENOSYS) { printf("host lacks memfd_secret\n"); return 0; }
    SHOW(syscall(447, 1));
    int cl = syscall(447, O_CLOEXEC);
    printf("cloexec: %d\n", fcntl(cl, F_GETFD) == FD_CLOEXEC);
    struct stat st;
    fstat(fd, &st);
    printf("mode %o size %ld\n", st.st_mode, (long)st.st_size);
    char link[128] = {0};
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    readlink(path, link, sizeof link - 1);
    printf("link %s\n", link);
    SHOW(ftruncate(fd, 2 * PG));
    SHOW(ftruncate(fd, 3 * PG));
    char buf[16] = "x";
    SHOW(write(fd, buf, 1));
    SHOW(read(fd, buf, 1));
    SHOW(pread(fd, buf, 1, 0));
    static char big[1 << 16];   /* large ones too (the Sentry copies those another way) */
    SHOW(read(fd, big, sizeof big));
    SHOW(write(fd, big, sizeof big));
    SHOW(lseek(fd, 0, SEEK_SET));
    SHOW(fsync(fd));
    SHOW(fallocate(fd, 0, 0, PG));
    SHOW(fcntl(fd, F_ADD_SEALS, 1));
    SHOW(mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0) == MAP_FAILED);
    long before = vmlck();
    char *p = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    printf("shared map: %d, VmLck grew by %ld kB\n", p != MAP_FAILED, vmlck() - before);
    strcpy(p, "secret");
    pid_t child = fork();
    if (child == 0) { strcpy(p + PG, "child"); _exit(0); }
    waitpid(child, NULL, 0);
    printf("contents: %s %s\n", p, p + PG);
    printf("mapped as %s", mapped_as(p));
    /* the mapping is charged to RLIMIT_MEMLOCK: past it, EAGAIN (not EPERM) */
    struct rlimit rl = {PG, PG};
    setrlimit(RLIMIT_MEMLOCK, &rl);
    child = fork();
    if (child == 0) {
        setresuid(4242, 4242, 4242);
        SHOW(mmap(NULL, 2 * PG, PROT_READ, MAP_SHARED, fd, 0) == MAP_FAILED);
        _exit(0);
    }
    waitpid(child, NULL, 0);
    return 0;
}
