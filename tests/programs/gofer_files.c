/* Gofer-backed files under stress (tests/test_escape_gofer_files.py), run natively and sandboxed.
 *
 *   gofer_files map PATH MODE [wait] OFF...   map all of PATH MAP_SHARED (MODE r: O_RDONLY and
 *       PROT_READ; rw-ro: O_RDWR and PROT_READ; rw: O_RDWR and PROT_READ|PROT_WRITE), print the
 *       8 bytes at each OFF; with "wait", print "ready" and read a line from stdin first
 *       (the host changes the file meanwhile); then munmap and close.
 *   gofer_files mprotect PATH   map PATH PROT_READ/MAP_SHARED (opened O_RDWR), mprotect it
 *       PROT_READ|PROT_WRITE, write "X" at offset 0, munmap and close.
 *   gofer_files many DIR N   raise RLIMIT_NOFILE to N+64, create and keep open DIR/f0..f(N-1)
 *       writing each one's number, then read every one back through its descriptor.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

static int map_file(int argc, char **argv) {
    const char *path = argv[2], *mode = argv[3];
    int i = 4, wait = argc > 4 && strcmp(argv[4], "wait") == 0;
    int flags = strcmp(mode, "r") == 0 ? O_RDONLY : O_RDWR;
    int prot = strcmp(mode, "rw") == 0 ? PROT_READ | PROT_WRITE : PROT_READ;
    int fd = open(path, flags);
    if (fd < 0) { printf("open: %s\n", strerror(errno)); return 1; }
    struct stat st;
    fstat(fd, &st);
    unsigned char *p = mmap(NULL, st.st_size, prot, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) { printf("mmap: %s\n", strerror(errno)); return 1; }
    if (wait) {
        char line[64];
        printf("ready\n");
        fflush(stdout);
        if (!fgets(line, sizeof line, stdin)) return 1;
        i++;
    }
    for (; i < argc; i++) {
        long long off = atoll(argv[i]);
        printf("%lld:", off);
        for (int k = 0; k < 8 && off + k < st.st_size; k++) printf("%02x", p[off + k]);
        printf("\n");
    }
    if (munmap(p, st.st_size) || close(fd)) { printf("munmap/close: %s\n", strerror(errno)); return 1; }
    printf("done\n");
    return 0;
}

static int mprotect_write(const char *path) {
    int fd = open(path, O_RDWR);
    if (fd < 0) { printf("open: %s\n", strerror(errno)); return 1; }
    char *p = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) { printf("mmap: %s\n", strerror(errno)); return 1; }
    if (mprotect(p, 4096, PROT_READ | PROT_WRITE)) { printf("mprotect: %s\n", strerror(errno)); return 1; }
    p[0] = 'X';
    if (munmap(p, 4096) || close(fd)) { printf("munmap/close: %s\n", strerror(errno)); return 1; }
    printf("done\n");
    return 0;
}

static int many_files(char **argv) {
    const char *dir = argv[2];
    int n = atoi(argv[3]);
    struct rlimit rl = {n + 64, n + 64};
    if (setrlimit(RLIMIT_NOFILE, &rl)) { printf("setrlimit: %s\n", strerror(errno)); return 1; }
    int *fds = calloc(n, sizeof *fds);
    char path[4096], buf[32];
    for (int i = 0; i < n; i++) {
        snprintf(path, sizeof path, "%s/f%d", dir, i);
        fds[i] = open(path, O_RDWR | O_CREAT, 0644);
        if (fds[i] < 0) { printf("open #%d: %s\n", i, strerror(errno)); return 1; }
        int len = snprintf(buf, sizeof buf, "%d", i);
        if (pwrite(fds[i], buf, len, 0) != len) { printf("write #%d: %s\n", i, strerror(errno)); return 1; }
    }
    printf("opened %d\n", n);
    for (int i = 0; i < n; i++) {
        char want[32];
        int len = snprintf(want, sizeof want, "%d", i);
        ssize_t got = pread(fds[i], buf, sizeof buf, 0);
        if (got != len || memcmp(buf, want, len)) {
            printf("read #%d: %zd %s\n", i, got, got < 0 ? strerror(errno) : "");
            return 1;
        }
    }
    printf("read back %d\n", n);
    return 0;
}

int main(int argc, char **argv) {
    if (argc > 4 && strcmp(argv[1], "map") == 0) return map_file(argc, argv);
    if (argc == 4 && strcmp(argv[1], "many") == 0) return many_files(argv);
    if (argc == 3 && strcmp(argv[1], "mprotect") == 0) return mprotect_write(argv[2]);
    fprintf(stderr, "usage: see the comment at the top\n");
    return 2;
}
