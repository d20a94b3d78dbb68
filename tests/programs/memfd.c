/* memfd_create (differential): flags, name limits, the /proc/self/fd link, read/write/mmap
 * sharing, fstat, and seals (F_GET_SEALS/F_ADD_SEALS; SHRINK, GROW, WRITE enforced). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define SHOW(label, expr) do { errno = 0; long _r = (long)(expr); int _e = errno; \
    printf("%s: %ld %s\n", label, _r, _r == -1 ? strerrorname_np(_e) : "-"); } while (0)

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    char longname[300];
    memset(longname, 'a', sizeof longname);
    longname[249] = 0;
    int ok = memfd_create(longname, 0);
    printf("249-byte name ok: %d\n", ok >= 0);
    close(ok);
    longname[249] = 'a';
    longname[250] = 0;
    SHOW("250-byte name", memfd_create(longname, 0));
    SHOW("bad flags", memfd_create("x", 0x100));
    SHOW("bad name pointer", memfd_create((char *)1, 0));
    int fd = memfd_create("Hi", MFD_CLOEXEC);
    printf("cloexec=%d flags=%#o\n", fcntl(fd, F_GETFD), fcntl(fd, F_GETFL) & ~O_LARGEFILE);
    char link[128] = {0}, path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    readlink(path, link, sizeof link - 1);
    printf("readlink: %s\n", link);
    struct stat st;
    fstat(fd, &st);
    printf("fstat: reg=%d mode=%o size=%lld nlink=%lu\n", S_ISREG(st.st_mode), st.st_mode & 0777,
           (long long)st.st_size, (unsigned long)st.st_nlink);
    SHOW("write", write(fd, "memfd_create", 12));
    SHOW("lseek cur", lseek(fd, 0, SEEK_CUR));
    SHOW("ftruncate 8192", ftruncate(fd, 8192));
    char *p = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    printf("mmap sees: %.12s\n", p);
    memcpy(p + 4096, "via mapping", 11);
    char buf[16] = {0};
    pread(fd, buf, 11, 4096);
    printf("pread sees: %s\n", buf);
    munmap(p, 8192);
    SHOW("F_GET_SEALS without ALLOW_SEALING", fcntl(fd, F_GET_SEALS));
    SHOW("F_ADD_SEALS without ALLOW_SEALING", fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE));
    close(fd);

    fd = memfd_create("sealed", MFD_ALLOW_SEALING);
    write(fd, "0123456789", 10);
    SHOW("F_GET_SEALS", fcntl(fd, F_GET_SEALS));
    SHOW("F_ADD_SEALS bad bit", fcntl(fd, F_ADD_SEALS, 0x1000));
    SHOW("F_ADD_SEALS SHRINK|GROW", fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW));
    SHOW("F_GET_SEALS", fcntl(fd, F_GET_SEALS));
    SHOW("ftruncate smaller", ftruncate(fd, 5));
    SHOW("ftruncate larger", ftruncate(fd, 20));
    SHOW("write in place", pwrite(fd, "ab", 2, 0));
    SHOW("write past end", pwrite(fd, "ab", 2, 9));
    SHOW("F_ADD_SEALS WRITE|SEAL", fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_SEAL));
    SHOW("write sealed", pwrite(fd, "ab", 2, 0));
    SHOW("F_ADD_SEALS after SEAL", fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK));
    SHOW("F_GET_SEALS", fcntl(fd, F_GET_SEALS));
    memset(buf, 0, sizeof buf);
    pread(fd, buf, 10, 0);
    printf("content: %s\n", buf);
    SHOW("F_GET_SEALS on a pipe", fcntl(0, F_GET_SEALS));
    return 0;
}
