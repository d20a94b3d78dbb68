/* name_to_handle_at(2) and open_by_handle_at(2) on tmpfs (/dev/shm, the same filesystem type
 * natively and in the sandbox): handle sizes and types, the mount id, reopening files and
 * directories by handle, ESTALE once a file is gone, and the EINVAL/EOVERFLOW/EPERM rules. A
 * handle's bytes are the kernel's business and differ between runs: they are not printed. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "show.h"

struct handle { unsigned int bytes; int type; unsigned char f[128]; };

static long to_handle(int dirfd, const char *path, struct handle *h, int *mnt, int flags, unsigned bytes) {
    memset(h, 0, sizeof *h);
    h->bytes = bytes;
    h->type = -99;
    errno = 0;
    return syscall(SYS_name_to_handle_at, dirfd, path, h, mnt, flags);
}

static long by_handle(int mountfd, struct handle *h, int flags) {
    errno = 0;
    return syscall(SYS_open_by_handle_at, mountfd, h, flags);
}

static int statx_mnt_id(const char *path) {
    struct statx sx;
    statx(AT_FDCWD, path, 0, STATX_MNT_ID, &sx);
    return (int)sx.stx_mnt_id;
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    char dir[] = "/dev/shm/handles-XXXXXX", file[64], sub[64], link[64];
    mkdtemp(dir);
    snprintf(file, sizeof file, "%s/f", dir);
    snprintf(sub, sizeof sub, "%s/d", dir);
    snprintf(link, sizeof link, "%s/l", dir);
    int fd = open(file, O_CREAT | O_WRONLY, 0644);
    write(fd, "contents\n", 9);
    close(fd);
    mkdir(sub, 0755);
    symlink("f", link);
    struct handle h, hd, hl;
    int mnt = -1;
    show("handle of a file", to_handle(AT_FDCWD, file, &h, &mnt, 0, 128));
    printf("  bytes %u type %d, mount id as statx's: %d\n", h.bytes, h.type, mnt == statx_mnt_id(file));
    int mnt2;
    struct handle again;
    to_handle(AT_FDCWD, file, &again, &mnt2, 0, 128);
    printf("  the same handle again: %d\n", !memcmp(&h, &again, 8 + h.bytes));
    show("handle of a directory", to_handle(AT_FDCWD, sub, &hd, &mnt, 0, 128));
    show("handle of a symlink itself", to_handle(AT_FDCWD, link, &hl, &mnt, 0, 128));
    printf("  differs from its target's: %d\n", memcmp(hl.f, h.f, h.bytes) != 0);
    show("handle following the symlink", to_handle(AT_FDCWD, link, &again, &mnt, AT_SYMLINK_FOLLOW, 128));
    printf("  same as the target's: %d\n", !memcmp(&h, &again, 8 + h.bytes));
    struct handle small;
    show("buffer too small", to_handle(AT_FDCWD, file, &small, &mnt, 0, 0));
    printf("  bytes needed %u type %d\n", small.bytes, small.type);
    show("buffer over MAX_HANDLE_SZ", to_handle(AT_FDCWD, file, &small, &mnt, 0, 129));
    show("bad flags", to_handle(AT_FDCWD, file, &small, &mnt, 0x10000000, 128));
    show("buffer of 13 bytes", to_handle(AT_FDCWD, file, &small, &mnt, 0, 13));
    printf("  bytes %u type %d\n", small.bytes, small.type);
    show("missing file", to_handle(AT_FDCWD, "/dev/shm/no/such", &small, &mnt, 0, 128));
    show("bad handle pointer", ({ errno = 0; syscall(SYS_name_to_handle_at, AT_FDCWD, file, (void *)8, &mnt, 0); }));
    show("bad mount id pointer", ({ errno = 0; syscall(SYS_name_to_handle_at, AT_FDCWD, file, &small, (void *)8, 0); }));
    int dfd = open(dir, O_RDONLY | O_DIRECTORY);
    struct handle bypath;
    to_handle(AT_FDCWD, dir, &bypath, &mnt, 0, 128);
    show("AT_EMPTY_PATH on a directory fd", to_handle(dfd, "", &again, &mnt, AT_EMPTY_PATH, 128));
    printf("  same as by path: %d\n", !memcmp(&again, &bypath, 8 + again.bytes));

    struct handle bad;
    long o = by_handle(dfd, &h, O_RDONLY);
    show("open by handle", o >= 0 ? 0 : -1);
    char buf[32] = {0};
    if (o >= 0) { read(o, buf, sizeof buf - 1); close(o); }
    printf("  reads %s", buf);
    o = by_handle(dfd, &hd, O_RDONLY | O_DIRECTORY);
    show("open a directory by handle", o >= 0 ? 0 : -1);
    if (o >= 0) close(o);
    show("directory for writing", by_handle(dfd, &hd, O_RDWR));
    o = by_handle(dfd, &hl, O_PATH | O_NOFOLLOW);
    show("symlink with O_PATH", o >= 0 ? 0 : -1);
    show("symlink for reading", by_handle(dfd, &hl, O_RDONLY));
    bad = h;
    bad.bytes = 8;
    show("a handle cut short", by_handle(dfd, &bad, O_RDONLY));
    bad = h;
    bad.bytes = 0;
    show("zero handle bytes", by_handle(dfd, &bad, O_RDONLY));
    bad.bytes = 129;
    show("handle bytes over MAX_HANDLE_SZ", by_handle(dfd, &bad, O_RDONLY));
    bad = h;
    bad.type = -1;
    show("negative type", by_handle(dfd, &bad, O_RDONLY));
    bad = h;
    memset(bad.f, 0xee, bad.bytes);
    show("garbage handle", by_handle(dfd, &bad, O_RDONLY));
    show("bad mount fd", by_handle(999, &h, O_RDONLY));
    show("bad handle pointer", ({ errno = 0; syscall(SYS_open_by_handle_at, dfd, (void *)8, O_RDONLY); }));
    pid_t c = fork();
    if (c == 0) {
        setuid(1000);
        show("unprivileged open by handle", by_handle(dfd, &h, O_RDONLY));
        _exit(0);
    }
    waitpid(c, NULL, 0);
    int keep = open(file, O_RDONLY);
    unlink(file);
    o = by_handle(dfd, &h, O_RDONLY);
    show("unlinked but open", o >= 0 ? 0 : -1);
    if (o >= 0) close(o);
    close(keep);
    show("unlinked and closed", by_handle(dfd, &h, O_RDONLY));
    struct handle hp;
    show("handle of a /proc file", to_handle(AT_FDCWD, "/proc/self/status", &hp, &mnt, 0, 128));
    unlink(link);
    rmdir(sub);
    rmdir(dir);
    return 0;
}
