/* openat2(2): struct open_how's strict checks and the RESOLVE_* scoping rules, printed for a
 * native-vs-sandbox comparison, in a fresh directory under /tmp:
 *   d/f, d/sub/g, d/abs -> /etc/hostname, d/up -> ../x, d/rel -> sub/g, x (beside d). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

static int dfd;

static void try(const char *what, int at, const char *path, unsigned long long flags, unsigned long long mode,
                unsigned long long resolve) {
    struct open_how how = {flags, mode, resolve};
    int fd = syscall(SYS_openat2, at, path, &how, sizeof how);
    if (fd < 0) printf("%s: %s\n", what, strerrorname_np(errno));
    else { printf("%s: ok\n", what); close(fd); }
}

int main(void) {
    char top[] = "/tmp/openat2-XXXXXX", path[128];
    if (!mkdtemp(top)) return 2;
    chdir(top);
    mkdir("d", 0755); mkdir("d/sub", 0755);
    close(open("d/f", O_CREAT | O_WRONLY, 0644)); close(open("d/sub/g", O_CREAT | O_WRONLY, 0644));
    close(open("x", O_CREAT | O_WRONLY, 0644));
    symlink("/etc/hostname", "d/abs"); symlink("../x", "d/up"); symlink("sub/g", "d/rel");
    dfd = open("d", O_RDONLY | O_DIRECTORY);

    struct open_how how = {O_RDONLY, 0, 0};
    printf("size 20: %s\n", syscall(SYS_openat2, dfd, "f", &how, 20) < 0 ? strerrorname_np(errno) : "ok");
    char big[40] = {0};
    memcpy(big, &how, sizeof how);
    printf("size 40 zero tail: %s\n", syscall(SYS_openat2, dfd, "f", big, 40) < 0 ? strerrorname_np(errno) : "ok");
    big[30] = 1;
    printf("size 40 nonzero tail: %s\n", syscall(SYS_openat2, dfd, "f", big, 40) < 0 ? strerrorname_np(errno) : "ok");
    try("unknown flag bit", dfd, "f", 1ULL << 40, 0, 0);
    try("unknown resolve bit", dfd, "f", O_RDONLY, 0, 0x40);
    try("mode without O_CREAT", dfd, "f", O_RDONLY, 0644, 0);
    try("mode beyond 07777", dfd, "new", O_CREAT | O_WRONLY, 010000, 0);
    try("BENEATH|IN_ROOT", dfd, "f", O_RDONLY, 0, RESOLVE_BENEATH | RESOLVE_IN_ROOT);
    try("O_PATH with O_RDWR", dfd, "f", O_PATH | O_RDWR, 0, 0);
    try("CACHED with O_CREAT", dfd, "new", O_CREAT | O_WRONLY, 0644, RESOLVE_CACHED);
    try("CACHED plain", dfd, "f", O_RDONLY, 0, RESOLVE_CACHED);
    try("create", dfd, "new", O_CREAT | O_WRONLY, 0600, 0);

    try("BENEATH f", dfd, "f", O_RDONLY, 0, RESOLVE_BENEATH);
    try("BENEATH sub/../f", dfd, "sub/../f", O_RDONLY, 0, RESOLVE_BENEATH);
    try("BENEATH ../x", dfd, "../x", O_RDONLY, 0, RESOLVE_BENEATH);
    try("BENEATH absolute", dfd, "/etc/hostname", O_RDONLY, 0, RESOLVE_BENEATH);
    try("BENEATH abs symlink", dfd, "abs", O_RDONLY, 0, RESOLVE_BENEATH);
    try("BENEATH up symlink", dfd, "up", O_RDONLY, 0, RESOLVE_BENEATH);
    try("BENEATH rel symlink", dfd, "rel", O_RDONLY, 0, RESOLVE_BENEATH);
    try("IN_ROOT /f", dfd, "/f", O_RDONLY, 0, RESOLVE_IN_ROOT);
    try("IN_ROOT ../../f", dfd, "../../f", O_RDONLY, 0, RESOLVE_IN_ROOT);
    try("IN_ROOT abs symlink (d has no etc)", dfd, "abs", O_RDONLY, 0, RESOLVE_IN_ROOT);
    try("NO_SYMLINKS rel", dfd, "rel", O_RDONLY, 0, RESOLVE_NO_SYMLINKS);
    try("NO_SYMLINKS rel, O_PATH|O_NOFOLLOW", dfd, "rel", O_PATH | O_NOFOLLOW, 0, RESOLVE_NO_SYMLINKS);
    try("NO_SYMLINKS O_CREAT through a link", dfd, "rel", O_CREAT | O_WRONLY, 0600, RESOLVE_NO_SYMLINKS);
    try("NO_SYMLINKS plain", dfd, "sub/g", O_RDONLY, 0, RESOLVE_NO_SYMLINKS);
    snprintf(path, sizeof path, "/proc/self/fd/%d", dfd);
    try("NO_MAGICLINKS /proc/self/fd", AT_FDCWD, path, O_RDONLY, 0, RESOLVE_NO_MAGICLINKS);
    try("magic link allowed", AT_FDCWD, path, O_RDONLY, 0, 0);
    try("NO_XDEV to /proc", AT_FDCWD, "/proc/self/status", O_RDONLY, 0, RESOLVE_NO_XDEV);
    try("NO_XDEV within", dfd, "sub/g", O_RDONLY, 0, RESOLVE_NO_XDEV);
    unlink("d/new"); unlink("d/rel"); unlink("d/up"); unlink("d/abs"); unlink("d/sub/g"); unlink("d/f");
    unlink("x"); rmdir("d/sub"); rmdir("d"); rmdir(top);
    return 0;
}
