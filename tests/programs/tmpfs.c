/* tmpfs at /tmp (differential): create, write, read back, rename, link, symlink,
 * mkdir, readdir, truncate, unlink. Works in a private directory it removes. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int cmp(const void *a, const void *b) { return strcmp(*(char **)a, *(char **)b); }

static void list(const char *what) {
    DIR *d = opendir(".");
    char *names[64];
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)) && n < 64) names[n++] = strdup(de->d_name);
    closedir(d);
    qsort(names, n, sizeof *names, cmp);
    printf("%s:", what);
    for (int i = 0; i < n; i++) printf(" %s", names[i]);
    printf("\n");
}

#define SHOW(expr) do { errno = 0; long r_ = (long)(expr); \
    printf("%s = %ld%s%s\n", #expr, r_, errno ? " " : "", errno ? strerrorname_np(errno) : ""); } while (0)

int main(void) {
    char tmpl[] = "/tmp/snakevisor-tmpfs-XXXXXX";
    if (!mkdtemp(tmpl) || chdir(tmpl)) { perror("mkdtemp"); return 2; }
    umask(022);
    int fd = open("a", O_CREAT | O_RDWR | O_EXCL, 0640);
    printf("open a: %d\n", fd >= 0);
    SHOW(write(fd, "hello, tmpfs\n", 13));
    SHOW(pwrite(fd, "HELLO", 5, 0));
    SHOW(pwrite(fd, "!", 1, 4096 * 3));      /* a hole in between */
    struct stat st;
    fstat(fd, &st);
    printf("size=%lld mode=%o nlink=%lu\n", (long long)st.st_size, st.st_mode, (unsigned long)st.st_nlink);
    char buf[64] = {0};
    SHOW(pread(fd, buf, 13, 0));
    printf("content: %.13s", buf);
    char hole[16];
    memset(hole, 1, sizeof hole);
    pread(fd, hole, 16, 5000);
    int zero = 1;
    for (int i = 0; i < 16; i++) zero &= hole[i] == 0;
    printf("hole reads as zeros: %d\n", zero);
    SHOW(ftruncate(fd, 5));
    SHOW(lseek(fd, 0, SEEK_END));
    SHOW(ftruncate(fd, 10));
    memset(buf, 7, sizeof buf);
    SHOW(pread(fd, buf, 64, 0));
    printf("truncate-extended tail is zero: %d\n", buf[5] == 0 && buf[9] == 0);
    int app = open("a", O_WRONLY | O_APPEND);
    SHOW(write(app, "xyz", 3));
    SHOW(lseek(fd, 0, SEEK_END));
    close(app);
    SHOW(mkdir("dir", 0755));
    SHOW(mkdir("dir", 0755));
    SHOW(rename("a", "dir/b"));
    SHOW(access("a", F_OK));
    SHOW(link("dir/b", "hard"));
    stat("hard", &st);
    printf("nlink after link: %lu\n", (unsigned long)st.st_nlink);
    SHOW(symlink("dir/b", "sym"));
    char target[64] = {0};
    SHOW(readlink("sym", target, sizeof target));
    printf("sym -> %s\n", target);
    int viasym = open("sym", O_RDONLY);
    memset(buf, 0, sizeof buf);
    SHOW(read(viasym, buf, 5));
    printf("read via symlink: %.5s\n", buf);
    SHOW(creat("dir/c", 0600));
    SHOW(rename("hard", "dir/c"));    /* replaces c */
    list("top");
    chdir("dir");
    list("dir");
    chdir("..");
    SHOW(rmdir("dir"));
    SHOW(unlink("dir/b"));
    SHOW(unlink("dir/c"));
    SHOW(rmdir("dir"));
    SHOW(unlink("sym"));
    /* the open file outlives its last name */
    memset(buf, 0, sizeof buf);
    SHOW(pread(fd, buf, 5, 0));
    printf("unlinked file still readable: %.5s\n", buf);
    fstat(fd, &st);
    printf("nlink of unlinked: %lu\n", (unsigned long)st.st_nlink);
    list("final");
    chdir("/");
    SHOW(rmdir(tmpl));
    return 0;
}
