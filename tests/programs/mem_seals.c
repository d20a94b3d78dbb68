/* memfd write seals and mappings (differential): F_SEAL_WRITE is EBUSY while a shared mapping may
 * write; once sealed (or F_SEAL_FUTURE_WRITE), a new shared mapping can be neither writable (EPERM)
 * nor made writable (mprotect EACCES); private mappings stay copy-on-write. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define SHOW(label, expr) do { errno = 0; long _r = (long)(expr); int _e = errno; \
    printf("%s: %ld %s\n", label, _r, _r == -1 ? strerrorname_np(_e) : "-"); } while (0)
#define RW (PROT_READ | PROT_WRITE)

static long map(void *p) { return p == MAP_FAILED ? -1 : 0; }

static int sealable(void) {
    int fd = memfd_create("sealed", MFD_ALLOW_SEALING);
    if (fd < 0 || ftruncate(fd, 8192) || pwrite(fd, "data", 4, 0) != 4) { perror("memfd"); _exit(2); }
    return fd;
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    int fd = sealable();
    char *w = mmap(NULL, 8192, RW, MAP_SHARED, fd, 0);
    SHOW("F_SEAL_WRITE with a writable shared mapping", fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE));
    char *half = w + 4096;
    munmap(w, 4096);
    SHOW("F_SEAL_WRITE with half of it left", fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE));
    munmap(half, 4096);
    char *p = mmap(NULL, 8192, RW, MAP_PRIVATE, fd, 0);
    SHOW("F_SEAL_WRITE with only a private mapping", fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE));
    SHOW("F_GET_SEALS", fcntl(fd, F_GET_SEALS));
    SHOW("shared writable mmap after the seal", map(mmap(NULL, 4096, RW, MAP_SHARED, fd, 0)));
    char *r = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
    SHOW("shared read-only mmap after the seal", map(r));
    SHOW("mprotect it RW", mprotect(r, 4096, RW));
    SHOW("write()", write(fd, "x", 1));
    memcpy(p, "priv", 4);
    SHOW("private writable mmap after the seal", map(mmap(NULL, 4096, RW, MAP_PRIVATE, fd, 0)));
    printf("file: %.4s, mapping: %.4s, private copy: %.4s\n", r, r, p);

    /* A read-only shared mapping of a descriptor open for writing may still become writable. */
    fd = sealable();
    r = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
    SHOW("F_SEAL_WRITE with a read-only shared mapping", fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE));
    munmap(r, 4096);

    fd = sealable();
    w = mmap(NULL, 4096, RW, MAP_SHARED, fd, 0);
    SHOW("F_SEAL_FUTURE_WRITE with a writable shared mapping", fcntl(fd, F_ADD_SEALS, F_SEAL_FUTURE_WRITE));
    memcpy(w, "kept", 4);   /* a mapping made before the seal keeps writing */
    SHOW("shared writable mmap after it", map(mmap(NULL, 4096, RW, MAP_SHARED, fd, 0)));
    r = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
    SHOW("mprotect a new read-only one RW", mprotect(r, 4096, RW));
    SHOW("write()", write(fd, "x", 1));
    printf("file: %.4s\n", r);
    return 0;
}
