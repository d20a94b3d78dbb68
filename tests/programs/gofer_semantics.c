/* File semantics a Gofer mount must give as Linux does, in the directory argv[1]: renameat2's
 * RENAME_EXCHANGE (a directory and a file across parents), RENAME_NOREPLACE and
 * RENAME_WHITEOUT, mknod of a FIFO, a socket and the 0:0 whiteout, O_TMPFILE named by linkat
 * through /proc/self/fd, copy_file_range, FICLONE and SEEK_DATA/SEEK_HOLE. Prints results,
 * never paths or numbers that differ between runs. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <unistd.h>

static int dir;

static void show(const char *what, long r) {
    if (r < 0)
        printf("%s: -1 %s\n", what, strerrorname_np(errno));
    else
        printf("%s: %ld\n", what, r);
}

static char kind(const char *name) {
    struct stat st;
    if (fstatat(dir, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return '-';
    return S_ISDIR(st.st_mode) ? 'd' : S_ISREG(st.st_mode) ? 'f' : S_ISFIFO(st.st_mode) ? 'p'
         : S_ISSOCK(st.st_mode) ? 's' : S_ISCHR(st.st_mode) ? 'c' : '?';
}

static long nlink(const char *name) {
    struct stat st;
    return fstatat(dir, name, &st, AT_SYMLINK_NOFOLLOW) < 0 ? -1 : (long)st.st_nlink;
}

static void put(const char *name, const char *data) {
    int fd = openat(dir, name, O_CREAT | O_WRONLY | O_TRUNC, 0644);
    write(fd, data, strlen(data));
    close(fd);
}

static void get(const char *what, const char *name) {
    char buf[64] = "";
    int fd = openat(dir, name, O_RDONLY);
    long n = fd < 0 ? -1 : read(fd, buf, sizeof buf - 1);
    printf("%s: %s\n", what, n < 0 ? "(unreadable)" : buf);
    if (fd >= 0)
        close(fd);
}

static void renames(void) {
    mkdirat(dir, "d1", 0755);
    mkdirat(dir, "d1/sub", 0755);
    mkdirat(dir, "d2", 0755);
    put("d1/sub/inner", "inner");
    put("d2/f", "file");
    show("exchange dir and file", syscall(SYS_renameat2, dir, "d1/sub", dir, "d2/f", RENAME_EXCHANGE));
    printf("kinds: d1/sub=%c d2/f=%c nlink d1=%ld d2=%ld\n", kind("d1/sub"), kind("d2/f"), nlink("d1"), nlink("d2"));
    get("d2/f/inner", "d2/f/inner");
    get("d1/sub", "d1/sub");
    show("exchange with a missing name", syscall(SYS_renameat2, dir, "d1/sub", dir, "d2/none", RENAME_EXCHANGE));
    put("a", "a");
    put("b", "b");
    show("noreplace onto b", syscall(SYS_renameat2, dir, "a", dir, "b", RENAME_NOREPLACE));
    show("noreplace onto c", syscall(SYS_renameat2, dir, "a", dir, "c", RENAME_NOREPLACE));
    get("c", "c");
    show("exchange|noreplace", syscall(SYS_renameat2, dir, "b", dir, "c", RENAME_EXCHANGE | RENAME_NOREPLACE));
    show("whiteout c to e", syscall(SYS_renameat2, dir, "c", dir, "e", RENAME_WHITEOUT));
    printf("kinds: c=%c e=%c\n", kind("c"), kind("e"));
}

static void nodes(void) {
    show("mknod fifo", mknodat(dir, "fifo", S_IFIFO | 0600, 0));
    show("mknod socket", mknodat(dir, "sock", S_IFSOCK | 0600, 0));
    show("mknod whiteout", mknodat(dir, "wh", S_IFCHR | 0600, makedev(0, 0)));
    struct stat st;
    fstatat(dir, "wh", &st, AT_SYMLINK_NOFOLLOW);
    printf("kinds: fifo=%c sock=%c wh=%c rdev=%u:%u\n", kind("fifo"), kind("sock"), kind("wh"),
           major(st.st_rdev), minor(st.st_rdev));
}

static void tmpfiles(void) {
    char proc[64];
    int fd = openat(dir, ".", O_TMPFILE | O_RDWR, 0600);
    show("O_TMPFILE", fd < 0 ? -1 : 0);
    if (fd < 0)
        return;
    write(fd, "unnamed", 7);
    struct stat st;
    fstat(fd, &st);
    printf("tmpfile nlink=%ld size=%ld\n", (long)st.st_nlink, (long)st.st_size);
    snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
    show("linkat /proc/self/fd", linkat(AT_FDCWD, proc, dir, "named", AT_SYMLINK_FOLLOW));
    get("named", "named");
    close(fd);
    fd = openat(dir, ".", O_TMPFILE | O_WRONLY | O_EXCL, 0600);
    snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
    show("linkat O_EXCL tmpfile", linkat(AT_FDCWD, proc, dir, "never", AT_SYMLINK_FOLLOW));
    close(fd);
    printf("kinds: never=%c\n", kind("never"));
}

static void copies(void) {
    char block[4096];
    memset(block, 'x', sizeof block);
    int src = openat(dir, "src", O_CREAT | O_RDWR | O_TRUNC, 0644);
    pwrite(src, block, sizeof block, 0);
    pwrite(src, block, sizeof block, 1 << 20);     /* a hole of ~1 MiB between */
    int dst = openat(dir, "dst", O_CREAT | O_RDWR | O_TRUNC, 0644);
    off64_t in = 0, out = 0;
    show("copy_file_range", copy_file_range(src, &in, dst, &out, 8192, 0));
    printf("offsets: in=%lld out=%lld\n", (long long)in, (long long)out);
    int clone = openat(dir, "clone", O_CREAT | O_RDWR | O_TRUNC, 0644);
    long r = ioctl(clone, FICLONE, src);
    /* A filesystem without reflinks says EOPNOTSUPP (ext4, tmpfs) or EXDEV/EINVAL: "no". */
    printf("FICLONE: %s\n", r == 0 ? "cloned" : (errno == EOPNOTSUPP || errno == EXDEV || errno == EINVAL
                                                 || errno == ENOTTY) ? "unsupported" : strerrorname_np(errno));
    show("SEEK_DATA 0", lseek(src, 0, SEEK_DATA));
    show("SEEK_HOLE 0", lseek(src, 0, SEEK_HOLE));
    show("SEEK_DATA 8192", lseek(src, 8192, SEEK_DATA));
    show("SEEK_DATA past end", lseek(src, (1 << 20) + 8192, SEEK_DATA));
    close(src);
    close(dst);
    close(clone);
}

int main(int argc, char **argv) {
    if (argc > 1)
        mkdir(argv[1], 0755);      /* (may exist) */
    if (argc < 2 || (dir = open(argv[1], O_RDONLY | O_DIRECTORY)) < 0)
        return 2;
    renames();
    nodes();
    tmpfiles();
    copies();
    return 0;
}
