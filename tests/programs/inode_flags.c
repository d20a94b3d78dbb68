/* Inode flags on tmpfs (differential): chattr's ioctls, append-only and immutable files and
   directories as Linux enforces them, inheritance of nodump, statx attributes, fsxattr, the
   capability and owner rules, and file_getattr/file_setattr (a section the host may lack). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#define SHOW(expr) do { errno = 0; long r_ = (long)(expr); \
    printf("%s = %ld%s%s\n", #expr, r_, errno ? " " : "", errno ? strerrorname_np(errno) : ""); } while (0)

static char dir[64], file[96], sub[96], other[96];

static int getflags(const char *path) {
    int fd = open(path, O_RDONLY), flags = -1;
    if (ioctl(fd, FS_IOC_GETFLAGS, &flags) < 0) flags = -errno;
    close(fd);
    return flags;
}

static long setflags(const char *path, int flags) {
    int fd = open(path, O_RDONLY);
    long r = ioctl(fd, FS_IOC_SETFLAGS, &flags);
    int e = errno;
    close(fd);
    errno = e;
    return r;
}

static void attrs(const char *path) {
    struct statx sx;
    statx(AT_FDCWD, path, 0, STATX_BASIC_STATS, &sx);
    printf("statx attributes %#llx mask %#llx\n", (unsigned long long)sx.stx_attributes,
           (unsigned long long)(sx.stx_attributes_mask & 0x70));
}

static void append_only(void) {
    SHOW(setflags(file, FS_APPEND_FL));
    printf("flags %#x\n", getflags(file));
    attrs(file);
    SHOW(open(file, O_WRONLY));
    int fd = open(file, O_WRONLY | O_APPEND);
    printf("O_APPEND open: %d\n", fd >= 0);
    SHOW(write(fd, "abc", 3));
    SHOW(pwrite(fd, "Z", 1, 0));
    SHOW(fcntl(fd, F_SETFL, 0));
    SHOW(open(file, O_WRONLY | O_APPEND | O_TRUNC));
    SHOW(ftruncate(fd, 0));
    SHOW(truncate(file, 0));
    SHOW(fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, 4096));
    SHOW(fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, 1));
    close(fd);
    char buf[16] = {0};
    fd = open(file, O_RDONLY);
    read(fd, buf, sizeof buf - 1);
    close(fd);
    printf("contents %s\n", buf);
    SHOW(unlink(file));
    SHOW(rename(file, other));
    SHOW(link(file, other));
    SHOW(chmod(file, 0600));
    SHOW(chown(file, 0, 0));
    SHOW(utimensat(AT_FDCWD, file, NULL, 0));
    struct timespec ts[2] = {{1, 0}, {1, 0}};
    SHOW(utimensat(AT_FDCWD, file, ts, 0));
    SHOW(setxattr(file, "user.x", "1", 1, 0));
    SHOW(setflags(file, 0));
}

static void immutable(void) {
    SHOW(setflags(file, FS_IMMUTABLE_FL));
    attrs(file);
    SHOW(open(file, O_RDONLY) >= 0);
    SHOW(open(file, O_WRONLY | O_APPEND));
    SHOW(access(file, W_OK));
    SHOW(unlink(file));
    SHOW(chmod(file, 0600));
    SHOW(utimensat(AT_FDCWD, file, NULL, 0));
    SHOW(truncate(file, 0));
    SHOW(setflags(file, 0));
    SHOW(setflags(sub, FS_IMMUTABLE_FL));
    char inner[128];
    snprintf(inner, sizeof inner, "%s/new", sub);
    SHOW(open(inner, O_CREAT | O_WRONLY, 0644));
    SHOW(mkdir(inner, 0755));
    SHOW(setflags(sub, FS_APPEND_FL));
    SHOW(close(open(inner, O_CREAT | O_WRONLY, 0644)));
    SHOW(unlink(inner));
    SHOW(setflags(sub, FS_NODUMP_FL | FS_NOATIME_FL));
    char born[128];
    snprintf(born, sizeof born, "%s/born", sub);
    close(open(born, O_CREAT | O_WRONLY, 0644));
    printf("inherited %#x\n", getflags(born));
    attrs(born);
    SHOW(setflags(file, FS_SYNC_FL));
    SHOW(setflags(file, 0x4000000));
    unlink(inner);
    unlink(born);
    setflags(sub, 0);
}

static void fsxattr_section(void) {
    int fd = open(file, O_RDONLY);
    struct fsxattr fa;
    memset(&fa, 0, sizeof fa);
    SHOW(ioctl(fd, FS_IOC_FSGETXATTR, &fa));
    fa.fsx_xflags = FS_XFLAG_NODUMP;
    SHOW(ioctl(fd, FS_IOC_FSSETXATTR, &fa));
    printf("flags now %#x\n", getflags(file));
    fa.fsx_extsize = 4096;
    SHOW(ioctl(fd, FS_IOC_FSSETXATTR, &fa));
    SHOW(ioctl(fd, FS_IOC_GETFLAGS, NULL));
    close(fd);
    setflags(file, 0);
}

static void unprivileged(void) {
    pid_t child = fork();
    if (child == 0) {
        char mine[128];
        snprintf(mine, sizeof mine, "%s/mine", dir);
        chmod(dir, 0777);
        setresuid(4242, 4242, 4242);
        close(open(mine, O_CREAT | O_WRONLY, 0644));
        SHOW(setflags(file, FS_NODUMP_FL));         /* not the owner */
        SHOW(setflags(mine, FS_NODUMP_FL));         /* the owner */
        SHOW(setflags(mine, FS_APPEND_FL));         /* needs CAP_LINUX_IMMUTABLE */
        setflags(mine, 0);
        unlink(mine);
        _exit(0);
    }
    waitpid(child, NULL, 0);
}

struct file_attr { uint64_t fa_xflags; uint32_t fa_extsize, fa_nextents, fa_projid, fa_cowextsize; };

static void file_attr_section(void) {
    struct file_attr fa;
    errno = 0;
    if (syscall(468, AT_FDCWD, file, &fa, sizeof fa, 0) < 0 && errno == ENOSYS) { printf("host lacks file_getattr\n"); return; }
    fa.fa_xflags = FS_XFLAG_NOATIME;
    SHOW(syscall(469, AT_FDCWD, file, &fa, sizeof fa, 0));
    memset(&fa, 0xff, sizeof fa);
    SHOW(syscall(468, AT_FDCWD, file, &fa, sizeof fa, 0));
    printf("xflags %#llx extsize %u\n", (unsigned long long)fa.fa_xflags, fa.fa_extsize);
    SHOW(syscall(468, AT_FDCWD, file, &fa, 8, 0));
    SHOW(syscall(468, AT_FDCWD, file, &fa, sizeof fa, 0x10000));
    SHOW(syscall(468, AT_FDCWD, "/proc/self/status", &fa, sizeof fa, 0));
    fa.fa_xflags = 0;
    SHOW(syscall(469, AT_FDCWD, file, &fa, sizeof fa, 0));
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IONBF, 0);
    snprintf(dir, sizeof dir, "/dev/shm/inode_flags.%d", getpid());
    snprintf(file, sizeof file, "%s/f", dir);
    snprintf(sub, sizeof sub, "%s/d", dir);
    snprintf(other, sizeof other, "%s/g", dir);
    mkdir(dir, 0755);
    mkdir(sub, 0755);
    close(open(file, O_CREAT | O_WRONLY, 0644));
    const char *s = argc > 1 ? argv[1] : "";
    if (!strcmp(s, "append")) append_only();
    if (!strcmp(s, "immutable")) immutable();
    if (!strcmp(s, "fsxattr")) fsxattr_section();
    if (!strcmp(s, "unprivileged")) unprivileged();
    if (!strcmp(s, "file_attr")) file_attr_section();
    printf("left %#x %#x\n", getflags(file), getflags(sub));
    setflags(file, 0);
    setflags(sub, 0);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    return system(cmd) != 0;
}
