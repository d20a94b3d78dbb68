/* The new mount API (differential): fsopen/fsconfig/fsmount/fspick, open_tree, move_mount and
 * mount_setattr. As ns_mount.c, the process first unshares its mount namespace and makes every
 * mount private, so natively (as root) nothing reaches the host; its mounts are below a tmpfs on
 * /mnt. Printed: return values, errnos, messages read from fs context fds, files seen through the
 * new mounts and mountinfo rows of /mnt's mounts without their ids and devices. */
#define _GNU_SOURCE
#include <sched.h>
#include <stdint.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/vfs.h>

#include "ns_common.h"
#include "mount_common.h"

#define CREATE_EXCL 8                 /* FSCONFIG_CMD_CREATE_EXCL (Linux 6.6; glibc 2.36 lacks it) */
#define MOVE_MOUNT_BENEATH 0x200       /* Linux 6.5 */
#define BAD ((void *)1)               /* an address nothing is mapped at */
#define FSCONFIG(fd, cmd, key, value, aux) syscall(SYS_fsconfig, fd, cmd, key, value, aux)

/* Every message queued on fs context ``fd`` (read(2) gives one a call, then ENODATA). */
static void messages(const char *label, int fd) {
    char buf[512];
    for (;;) {
        errno = 0;
        long n = read(fd, buf, sizeof buf);
        if (n < 0) {
            printf("%s: read %s\n", label, strerrorname_np(errno));
            return;
        }
        printf("%s: %.*s", label, (int)n, buf);
    }
}

static void cat(const char *label, int dirfd, const char *path) {
    char buf[64] = {0};
    int fd = openat(dirfd, path, O_RDONLY);
    long n = fd < 0 ? -1 : read(fd, buf, sizeof buf - 1);
    printf("%s: %s\n", label, n < 0 ? strerrorname_np(errno) : buf);
    if (fd >= 0)
        close(fd);
}

static void contexts(void) {
    SHOW("fsopen unknown type", fsopen("nosuchfs", 0));
    SHOW("fsopen bad flags", fsopen("tmpfs", 2));
    SHOW("fsopen bad name pointer", fsopen(BAD, 0));
    int fd = fsopen("tmpfs", FSOPEN_CLOEXEC);
    SHOW("fsopen tmpfs cloexec", fcntl(fd, F_GETFD));
    char link[64], target[64] = {0};
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    readlink(link, target, sizeof target - 1);
    printf("context link: %s\n", target);
    messages("fresh context", fd);
    SHOW("unknown parameter", FSCONFIG(fd, FSCONFIG_SET_STRING, "bogus", "1", 0));
    SHOW("bad size", FSCONFIG(fd, FSCONFIG_SET_STRING, "size", "abc", 0));
    SHOW("bad mode", FSCONFIG(fd, FSCONFIG_SET_STRING, "mode", "99", 0));
    SHOW("source", FSCONFIG(fd, FSCONFIG_SET_STRING, "source", "apisrc", 0));
    SHOW("second source", FSCONFIG(fd, FSCONFIG_SET_STRING, "source", "again", 0));
    messages("errors", fd);
    SHOW("bogus again", FSCONFIG(fd, FSCONFIG_SET_STRING, "bogus", "1", 0));
    char small[8];
    SHOW("read into a small buffer", read(fd, small, sizeof small));
    messages("after EMSGSIZE", fd);
    SHOW("string without key", FSCONFIG(fd, FSCONFIG_SET_STRING, NULL, "1", 0));
    SHOW("flag with value", FSCONFIG(fd, FSCONFIG_SET_FLAG, "ro", "1", 0));
    SHOW("create with key", FSCONFIG(fd, FSCONFIG_CMD_CREATE, "x", NULL, 0));
    SHOW("binary of size 0", FSCONFIG(fd, FSCONFIG_SET_BINARY, "size", "1", 0));
    SHOW("unknown command", FSCONFIG(fd, 99, NULL, NULL, 0));
    SHOW("negative fd", FSCONFIG(-1, FSCONFIG_SET_FLAG, "ro", NULL, 0));
    SHOW("closed fd", FSCONFIG(999, FSCONFIG_SET_FLAG, "ro", NULL, 0));
    SHOW("not a context", FSCONFIG(1, FSCONFIG_SET_FLAG, "ro", NULL, 0));
    SHOW("key at a bad address", FSCONFIG(fd, FSCONFIG_SET_FLAG, BAD, NULL, 0));
    SHOW("value at a bad address", FSCONFIG(fd, FSCONFIG_SET_STRING, "size", BAD, 0));
    SHOW("fsmount before create", fsmount(fd, 0, 0));
    SHOW("size=64k", FSCONFIG(fd, FSCONFIG_SET_STRING, "size", "64k", 0));
    SHOW("mode=750", FSCONFIG(fd, FSCONFIG_SET_STRING, "mode", "750", 0));
    SHOW("nr_inodes=100", FSCONFIG(fd, FSCONFIG_SET_STRING, "nr_inodes", "100", 0));
    SHOW("rw flag", FSCONFIG(fd, FSCONFIG_SET_FLAG, "rw", NULL, 0));
    SHOW("create", FSCONFIG(fd, FSCONFIG_CMD_CREATE, NULL, NULL, 0));
    SHOW("create again", FSCONFIG(fd, FSCONFIG_CMD_CREATE, NULL, NULL, 0));
    SHOW("parameter after create", FSCONFIG(fd, FSCONFIG_SET_STRING, "size", "1m", 0));
    SHOW("reconfigure a new context", FSCONFIG(fd, FSCONFIG_CMD_RECONFIGURE, NULL, NULL, 0));
    SHOW("fsmount bad flags", fsmount(fd, 2, 0));
    SHOW("fsmount noatime|strictatime", fsmount(fd, 0, MOUNT_ATTR_NOATIME | MOUNT_ATTR_STRICTATIME));
    SHOW("fsmount idmap", fsmount(fd, 0, MOUNT_ATTR_IDMAP));
    SHOW("fsmount of a non-context", fsmount(1, 0, 0));
    int m = fsmount(fd, FSMOUNT_CLOEXEC, MOUNT_ATTR_NODEV | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOATIME);
    SHOW("fsmount", m >= 0);
    SHOW("fsmount cloexec", fcntl(m, F_GETFD));
    SHOW("fsmount O_PATH", (fcntl(m, F_GETFL) & O_PATH) != 0);
    SHOW("fsmount again", fsmount(fd, 0, 0));
    SHOW("create after fsmount", FSCONFIG(fd, FSCONFIG_CMD_CREATE, NULL, NULL, 0));
    struct stat st;
    fstat(m, &st);
    printf("detached root mode: %o\n", st.st_mode & 07777);
    int f = openat(m, "f", O_CREAT | O_WRONLY, 0644);
    SHOW("write in the detached tree", write(f, "detached", 8));
    close(f);
    mountinfo("nothing attached yet");
    mkdir("/mnt/t", 0755); mkdir("/mnt/t2", 0755);
    put("/mnt/file", "a file");
    SHOW("move_mount without F_EMPTY_PATH", move_mount(m, "", AT_FDCWD, "/mnt/t", 0));
    SHOW("move_mount bad flags", move_mount(m, "", AT_FDCWD, "/mnt/t", 0x8));
    SHOW("move_mount beneath|set_group", move_mount(m, "", AT_FDCWD, "/mnt/t", 0x300));
    SHOW("move_mount onto a file", move_mount(m, "", AT_FDCWD, "/mnt/file", MOVE_MOUNT_F_EMPTY_PATH));
    SHOW("move_mount to a bad path", move_mount(m, "", AT_FDCWD, BAD, MOVE_MOUNT_F_EMPTY_PATH));
    SHOW("attach", move_mount(m, "", AT_FDCWD, "/mnt/t", MOVE_MOUNT_F_EMPTY_PATH));
    cat("attached file", AT_FDCWD, "/mnt/t/f");
    mountinfo("fsmount tmpfs attached");
    SHOW("move the attached mount", move_mount(m, "", AT_FDCWD, "/mnt/t2", MOVE_MOUNT_F_EMPTY_PATH));
    close(m);
    close(fd);
    cat("after closing the fds", AT_FDCWD, "/mnt/t2/f");
    ls("/mnt/t");
    mountinfo("moved");
    const char *all[] = {"tmpfs", "ramfs", "proc", "devpts", "mqueue", "sysfs", "cgroup2"};
    for (int i = 0; i < 7; i++) {
        fd = fsopen(all[i], 0);
        SHOW(all[i], FSCONFIG(fd, CREATE_EXCL, NULL, NULL, 0));
        messages(all[i], fd);
        SHOW("then create", FSCONFIG(fd, FSCONFIG_CMD_CREATE, NULL, NULL, 0));
        close(fd);
    }
    fd = fsopen("proc", 0);
    SHOW("proc create", FSCONFIG(fd, FSCONFIG_CMD_CREATE, NULL, NULL, 0));
    m = fsmount(fd, 0, MOUNT_ATTR_NOEXEC);
    mkdir("/mnt/p", 0755);
    SHOW("proc attach", move_mount(m, "", AT_FDCWD, "/mnt/p", MOVE_MOUNT_F_EMPTY_PATH));
    cat("proc self comm", AT_FDCWD, "/mnt/p/self/comm");
    SHOW("umount proc while its fsmount fd is open", umount2("/mnt/p", 0));
    close(m);
    SHOW("umount proc", umount2("/mnt/p", 0));
    close(fd);
    const char *types[] = {"proc", "sysfs", "mqueue", "devpts", "cgroup2"};
    for (int i = 0; i < 5; i++) {
        fd = fsopen(types[i], 0);
        SHOW(types[i], FSCONFIG(fd, FSCONFIG_SET_STRING, "bogus", "1", 0));
        messages(types[i], fd);
        close(fd);
    }
}

/* size=0 and nr_inodes=0: a tmpfs without limits (statfs reports none). */
static void unlimited(void) {
    int fd = fsopen("tmpfs", 0);
    FSCONFIG(fd, FSCONFIG_SET_STRING, "size", "0", 0);
    FSCONFIG(fd, FSCONFIG_SET_STRING, "nr_inodes", "0", 0);
    SHOW("create size=0,nr_inodes=0", FSCONFIG(fd, FSCONFIG_CMD_CREATE, NULL, NULL, 0));
    int m = fsmount(fd, 0, 0);
    int f = openat(m, "f", O_CREAT | O_WRONLY, 0644);
    SHOW("write there", write(f, "unlimited", 9));
    close(f);
    struct statfs s;
    fstatfs(m, &s);
    printf("statfs: blocks %ld bfree %ld files %ld ffree %ld\n", (long)s.f_blocks, (long)s.f_bfree, (long)s.f_files,
           (long)s.f_ffree);
    mkdir("/mnt/z", 0755);
    SHOW("attach", move_mount(m, "", AT_FDCWD, "/mnt/z", MOVE_MOUNT_F_EMPTY_PATH));
    mountinfo("unlimited");
    close(m);
    close(fd);
    SHOW("umount", umount2("/mnt/z", 0));
}

/* tmpfs's parameter values as Linux checks them: flags take no value, huge= one of its words,
 * uid=/gid= a 32-bit id other than -1, sizes no sign. */
static void tmpfs_values(void) {
    static const struct { int cmd; const char *key, *value; } cases[] = {
        {FSCONFIG_SET_STRING, "noswap", "1"}, {FSCONFIG_SET_FLAG, "noswap", NULL},
        {FSCONFIG_SET_FLAG, "huge", NULL}, {FSCONFIG_SET_STRING, "huge", "bogus"},
        {FSCONFIG_SET_STRING, "huge", "within_size"}, {FSCONFIG_SET_STRING, "inode64", "x"},
        {FSCONFIG_SET_STRING, "uid", "-1"}, {FSCONFIG_SET_STRING, "uid", "abc"},
        {FSCONFIG_SET_STRING, "gid", "4294967295"}, {FSCONFIG_SET_STRING, "uid", "4294967296"},
        {FSCONFIG_SET_STRING, "nr_inodes", "1x"}, {FSCONFIG_SET_STRING, "mode", "77777"},
        {FSCONFIG_SET_STRING, "size", "-5"}, {FSCONFIG_SET_STRING, "nr_blocks", "16"},
    };
    int fd = fsopen("tmpfs", 0);
    for (unsigned i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char label[64];
        snprintf(label, sizeof label, "%s=%s", cases[i].key, cases[i].value ? cases[i].value : "(flag)");
        SHOW(label, FSCONFIG(fd, cases[i].cmd, cases[i].key, cases[i].value, 0));
        messages(label, fd);
    }
    close(fd);
    mkdir("/mnt/v", 0755);
    SHOW("mount(2) noswap=1", mount("v", "/mnt/v", "tmpfs", 0, "noswap=1"));
    SHOW("mount(2) huge=never,noswap", mount("v", "/mnt/v", "tmpfs", 0, "huge=never,noswap"));
    umount2("/mnt/v", 0);
}

/* Bounds of strings, binaries and struct sizes; fds of the wrong kind. */
static void edges(void) {
    char k255[256], k256[257], big[5000];
    static char attr[4096];
    memset(k255, 'k', 255); k255[255] = 0;
    memset(k256, 'k', 256); k256[256] = 0;
    memset(big, 't', 4999); big[4999] = 0;
    int fd = fsopen("tmpfs", 0);
    SHOW("key of 255 bytes", FSCONFIG(fd, FSCONFIG_SET_FLAG, k255, NULL, 0));
    SHOW("key of 256 bytes", FSCONFIG(fd, FSCONFIG_SET_FLAG, k256, NULL, 0));
    SHOW("value of 255 bytes", FSCONFIG(fd, FSCONFIG_SET_STRING, "source", k255, 0));
    SHOW("value of 256 bytes", FSCONFIG(fd, FSCONFIG_SET_STRING, "size", k256, 0));
    SHOW("binary past 1 MiB", FSCONFIG(fd, FSCONFIG_SET_BINARY, "size", big, (1 << 20) + 1));
    SHOW("binary at a bad address", FSCONFIG(fd, FSCONFIG_SET_BINARY, "size", BAD, 10));
    SHOW("path", FSCONFIG(fd, FSCONFIG_SET_PATH, "size", "/tmp", AT_FDCWD));
    SHOW("path, bad dirfd", FSCONFIG(fd, FSCONFIG_SET_PATH, "size", "/tmp", -5));
    SHOW("empty path", FSCONFIG(fd, FSCONFIG_SET_PATH_EMPTY, "size", "", 0));
    SHOW("closed fd value", FSCONFIG(fd, FSCONFIG_SET_FD, "size", NULL, 99));
    SHOW("fd value", FSCONFIG(fd, FSCONFIG_SET_FD, "size", NULL, 0));
    SHOW("fd source", FSCONFIG(fd, FSCONFIG_SET_FD, "source", NULL, 0));
    SHOW("flag source", FSCONFIG(fd, FSCONFIG_SET_FLAG, "source", NULL, 0));
    messages("edges", fd);
    SHOW("fsopen of a page-long name", fsopen(big, 0));
    SHOW("fsopen of an empty name", fsopen("", 0));
    ((uint64_t *)attr)[0] = MOUNT_ATTR_NOSUID;
    SHOW("mount_attr of a page", syscall(SYS_mount_setattr, AT_FDCWD, "/mnt/t2", 0, attr, 4096));
    SHOW("mount_attr of 2^40 bytes", syscall(SYS_mount_setattr, AT_FDCWD, "/mnt/t2", 0, attr, 1UL << 40));
    char b[16];
    SHOW("write to a context", write(fd, "x", 1));
    SHOW("lseek a context", lseek(fd, 0, SEEK_SET));
    SHOW("pread a context", pread(fd, b, 10, 0));
    int t = open_tree(AT_FDCWD, "/mnt/t2", OPEN_TREE_CLONE);
    SHOW("fsconfig on an O_PATH fd", FSCONFIG(t, FSCONFIG_SET_FLAG, "ro", NULL, 0));
    SHOW("fsmount of an O_PATH fd", fsmount(t, 0, 0));
    SHOW("fchdir into a detached tree", fchdir(t));
    SHOW("open . there", open(".", O_RDONLY | O_DIRECTORY) >= 0);
    chdir("/");
    SHOW("fspick of a detached tree", fspick(t, "", FSPICK_EMPTY_PATH) >= 0);
    SHOW("fspick of an empty path", fspick(t, "", 0));
    SHOW("mount_setattr of a detached tree", syscall(SYS_mount_setattr, t, "", AT_EMPTY_PATH | AT_RECURSIVE, attr, 32));
    SHOW("clone a detached tree", open_tree(t, "", OPEN_TREE_CLONE | AT_EMPTY_PATH) >= 0);
    SHOW("set_group from a detached tree", move_mount(t, "", AT_FDCWD, "/mnt", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_SET_GROUP));
    close(t);
    close(fd);
}

static void ramfs(void) {
    int fd = fsopen("ramfs", 0);
    SHOW("ramfs unknown parameter (ignored)", FSCONFIG(fd, FSCONFIG_SET_STRING, "bogus", "1", 0));
    SHOW("ramfs size (ignored)", FSCONFIG(fd, FSCONFIG_SET_STRING, "size", "1m", 0));
    SHOW("ramfs bad mode", FSCONFIG(fd, FSCONFIG_SET_STRING, "mode", "abc", 0));
    SHOW("ramfs mode flag", FSCONFIG(fd, FSCONFIG_SET_FLAG, "mode", NULL, 0));
    SHOW("ramfs source", FSCONFIG(fd, FSCONFIG_SET_STRING, "source", "rsrc", 0));
    SHOW("ramfs mode", FSCONFIG(fd, FSCONFIG_SET_STRING, "mode", "700", 0));
    messages("ramfs", fd);
    SHOW("ramfs create", FSCONFIG(fd, FSCONFIG_CMD_CREATE, NULL, NULL, 0));
    int m = fsmount(fd, 0, 0);
    mkdir("/mnt/r", 0755); mkdir("/mnt/r2", 0755); mkdir("/mnt/r3", 0755);
    SHOW("ramfs attach", move_mount(m, "", AT_FDCWD, "/mnt/r", MOVE_MOUNT_F_EMPTY_PATH));
    SHOW("mount(2) ramfs", mount("r2", "/mnt/r2", "ramfs", 0, "size=1m,bogus,mode=1777"));
    SHOW("mount(2) ramfs bad mode", mount("r3", "/mnt/r3", "ramfs", 0, "mode=abc"));
    SHOW("mount(2) ramfs", mount("r3", "/mnt/r3", "ramfs", 0, NULL));
    struct statfs s;
    statfs("/mnt/r", &s);
    printf("ramfs statfs: type %lx blocks %ld bsize %ld files %ld\n", (long)s.f_type, (long)s.f_blocks,
           (long)s.f_bsize, (long)s.f_files);
    struct stat st;
    stat("/mnt/r", &st);
    printf("ramfs root mode: %o\n", st.st_mode & 07777);
    put("/mnt/r/f", "in ramfs");
    cat("ramfs file", AT_FDCWD, "/mnt/r/f");
    mountinfo("ramfs");
    umount2("/mnt/r", 0); umount2("/mnt/r2", 0); umount2("/mnt/r3", 0);
    close(m);
    close(fd);
}

static void trees(void) {
    mkdir("/mnt/a", 0755); mkdir("/mnt/a/sub", 0755);
    mkdir("/mnt/b", 0755); mkdir("/mnt/c", 0755); mkdir("/mnt/d", 0755); mkdir("/mnt/e", 0755);
    put("/mnt/a/x", "x text");
    mount("sub", "/mnt/a/sub", "tmpfs", 0, NULL);
    put("/mnt/a/sub/s", "s text");
    int p = open_tree(AT_FDCWD, "/mnt/a", 0);
    SHOW("open_tree O_PATH", (fcntl(p, F_GETFL) & O_PATH) != 0);
    SHOW("open_tree cloexec", fcntl(p, F_GETFD));
    char c;
    SHOW("read an open_tree fd", read(p, &c, 1));
    SHOW("move a plain open_tree fd (not a mount root)", move_mount(p, "", AT_FDCWD, "/mnt/b", MOVE_MOUNT_F_EMPTY_PATH));
    close(p);
    SHOW("open_tree bad flags", open_tree(AT_FDCWD, "/mnt/a", 4));
    SHOW("open_tree recursive without clone", open_tree(AT_FDCWD, "/mnt/a", AT_RECURSIVE));
    SHOW("open_tree missing", open_tree(AT_FDCWD, "/mnt/none", OPEN_TREE_CLONE));
    SHOW("open_tree bad path", open_tree(AT_FDCWD, BAD, OPEN_TREE_CLONE));
    SHOW("open_tree empty path", open_tree(AT_FDCWD, "", OPEN_TREE_CLONE));
    int one = open_tree(AT_FDCWD, "/mnt/a", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
    int all = open_tree(AT_FDCWD, "/mnt/a", OPEN_TREE_CLONE | AT_RECURSIVE);
    SHOW("clone cloexec", fcntl(one, F_GETFD));
    SHOW("clone sees x", faccessat(one, "x", F_OK, 0));
    SHOW("clone sees sub/s", faccessat(one, "sub/s", F_OK, 0));
    SHOW("recursive clone sees sub/s", faccessat(all, "sub/s", F_OK, 0));
    mountinfo("clones detached");
    SHOW("attach the clone", move_mount(one, "", AT_FDCWD, "/mnt/b", MOVE_MOUNT_F_EMPTY_PATH));
    SHOW("attach the recursive clone", move_mount(all, "", AT_FDCWD, "/mnt/c", MOVE_MOUNT_F_EMPTY_PATH));
    ls("/mnt/b/sub");
    ls("/mnt/c/sub");
    SHOW("move by path", move_mount(AT_FDCWD, "/mnt/c", AT_FDCWD, "/mnt/d", 0));
    ls("/mnt/c");
    ls("/mnt/d/sub");
    SHOW("move into itself", move_mount(AT_FDCWD, "/mnt/d", AT_FDCWD, "/mnt/d/sub", 0));
    SHOW("move a non-mountpoint", move_mount(AT_FDCWD, "/mnt/a", AT_FDCWD, "/mnt/e", 0));
    symlink("/mnt/d", "/mnt/lnk");
    SHOW("move a symlink", move_mount(AT_FDCWD, "/mnt/lnk", AT_FDCWD, "/mnt/e", 0));
    SHOW("move through F_SYMLINKS", move_mount(AT_FDCWD, "/mnt/lnk", AT_FDCWD, "/mnt/e", MOVE_MOUNT_F_SYMLINKS));
    SHOW("move it back", move_mount(AT_FDCWD, "/mnt/e", AT_FDCWD, "/mnt/d", 0));
    mkdir("/mnt/f", 0755);
    int to = open("/mnt/f", O_PATH);
    int t3 = open_tree(AT_FDCWD, "/mnt/a/sub", OPEN_TREE_CLONE);
    SHOW("attach with T_EMPTY_PATH", move_mount(t3, "", to, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH));
    close(to);
    close(t3);
    ls("/mnt/f");
    mountinfo("open_tree and move_mount");
    int t = open_tree(AT_FDCWD, "/mnt/a", OPEN_TREE_CLONE | AT_RECURSIVE);
    int kept = openat(t, "sub/s", O_RDONLY);
    close(t);   /* the detached tree goes, its open file stays usable */
    char buf[16] = {0};
    SHOW("read a file of a dropped tree", read(kept, buf, sizeof buf - 1));
    printf("it reads: %s\n", buf);
    close(kept);
    close(one);
    close(all);
}

static long setattr(const char *path, unsigned flags, struct mount_attr *a, size_t size) {
    return syscall(SYS_mount_setattr, AT_FDCWD, path, flags, a, size);
}

static void attributes(void) {
    struct mount_attr a = {.attr_set = MOUNT_ATTR_RDONLY};
    char big[48] = {0};
    SHOW("size 16", setattr("/mnt/d", 0, &a, 16));
    SHOW("size past a page", setattr("/mnt/d", 0, &a, 4097));
    big[40] = 1;
    SHOW("size 48 with a nonzero tail", setattr("/mnt/d", 0, (struct mount_attr *)big, 48));
    SHOW("bad pointer", setattr("/mnt/d", 0, BAD, 32));
    SHOW("bad flags", setattr("/mnt/d", 1, &a, 32));
    SHOW("nothing to do, missing path", setattr("/mnt/none", 0, &(struct mount_attr){0}, 32));
    SHOW("missing path", setattr("/mnt/none", 0, &a, 32));
    SHOW("unknown attribute", setattr("/mnt/d", 0, &(struct mount_attr){.attr_set = 0x1000}, 32));
    SHOW("upper attribute bits", setattr("/mnt/d", 0, &(struct mount_attr){.attr_clr = 1ULL << 32}, 32));
    SHOW("bad propagation", setattr("/mnt/d", 0, &(struct mount_attr){.propagation = MS_SHARED | MS_PRIVATE}, 32));
    SHOW("strictatime without clearing atime", setattr("/mnt/d", 0, &(struct mount_attr){.attr_set = MOUNT_ATTR_STRICTATIME}, 32));
    SHOW("clear idmap", setattr("/mnt/d", 0, &(struct mount_attr){.attr_clr = MOUNT_ATTR_IDMAP}, 32));
    SHOW("idmap, fd past INT_MAX", setattr("/mnt/d", 0, &(struct mount_attr){.attr_set = MOUNT_ATTR_IDMAP, .userns_fd = 1ULL << 31}, 32));
    SHOW("idmap, closed fd", setattr("/mnt/d", 0, &(struct mount_attr){.attr_set = MOUNT_ATTR_IDMAP, .userns_fd = 999}, 32));
    SHOW("idmap, not a namespace", setattr("/mnt/d", 0, &(struct mount_attr){.attr_set = MOUNT_ATTR_IDMAP, .userns_fd = 1}, 32));
    int uts = open("/proc/self/ns/uts", O_RDONLY), user = open("/proc/self/ns/user", O_RDONLY);
    SHOW("idmap, a uts namespace", setattr("/mnt/d", 0, &(struct mount_attr){.attr_set = MOUNT_ATTR_IDMAP, .userns_fd = uts}, 32));
    SHOW("idmap, the initial user namespace", setattr("/mnt/d", 0, &(struct mount_attr){.attr_set = MOUNT_ATTR_IDMAP, .userns_fd = user}, 32));
    close(uts);
    close(user);
    SHOW("not a mount root", setattr("/mnt/a", 0, &a, 32));
    *(struct mount_attr *)big = a;
    big[40] = 0;
    SHOW("rdonly recursive, size 48", setattr("/mnt/d", AT_RECURSIVE, (struct mount_attr *)big, 48));
    SHOW("create in d", open("/mnt/d/new", O_CREAT | O_WRONLY, 0644));
    SHOW("create in d/sub", open("/mnt/d/sub/new", O_CREAT | O_WRONLY, 0644));
    SHOW("clear rdonly on d only", setattr("/mnt/d", 0, &(struct mount_attr){.attr_clr = MOUNT_ATTR_RDONLY}, 32));
    SHOW("create in d", open("/mnt/d/new", O_CREAT | O_WRONLY, 0644) >= 0);
    SHOW("create in d/sub", open("/mnt/d/sub/new", O_CREAT | O_WRONLY, 0644));
    SHOW("strictatime, nosymfollow, noexec", setattr("/mnt/t2", 0, &(struct mount_attr){
        .attr_set = MOUNT_ATTR_STRICTATIME | MOUNT_ATTR_NOSYMFOLLOW | MOUNT_ATTR_NOEXEC | MOUNT_ATTR_NODIRATIME,
        .attr_clr = MOUNT_ATTR__ATIME | MOUNT_ATTR_NODEV}, 32));
    SHOW("shared", setattr("/mnt/b", 0, &(struct mount_attr){.propagation = MS_SHARED}, 32));
    SHOW("unbindable", setattr("/mnt/f", 0, &(struct mount_attr){.propagation = MS_UNBINDABLE}, 32));
    SHOW("open_tree of an unbindable mount", open_tree(AT_FDCWD, "/mnt/f", OPEN_TREE_CLONE));
    int t = open_tree(AT_FDCWD, "/mnt/a", OPEN_TREE_CLONE);
    SHOW("rdonly on a detached tree", syscall(SYS_mount_setattr, t, "", AT_EMPTY_PATH, &a, 32));
    SHOW("attach it", move_mount(t, "", AT_FDCWD, "/mnt/e", MOVE_MOUNT_F_EMPTY_PATH));
    SHOW("create in the ro bind", open("/mnt/e/new", O_CREAT | O_WRONLY, 0644));
    close(t);
    mountinfo("mount_setattr");
    SHOW("private again", setattr("/mnt/b", 0, &(struct mount_attr){.propagation = MS_PRIVATE}, 32));
}

static void pick(void) {
    SHOW("fspick bad flags", fspick(AT_FDCWD, "/mnt/t2", 0x10));
    SHOW("fspick a non-mountpoint", fspick(AT_FDCWD, "/mnt/a", 0));
    SHOW("fspick missing", fspick(AT_FDCWD, "/mnt/none", 0));
    int p = fspick(AT_FDCWD, "/mnt/t2", FSPICK_CLOEXEC);
    SHOW("fspick cloexec", fcntl(p, F_GETFD));
    SHOW("create on a picked context", FSCONFIG(p, FSCONFIG_CMD_CREATE, NULL, NULL, 0));
    SHOW("fsmount of a picked context", fsmount(p, 0, 0));
    SHOW("bogus", FSCONFIG(p, FSCONFIG_SET_STRING, "bogus", "1", 0));
    messages("picked", p);
    SHOW("ro", FSCONFIG(p, FSCONFIG_SET_FLAG, "ro", NULL, 0));
    SHOW("size=128k", FSCONFIG(p, FSCONFIG_SET_STRING, "size", "128k", 0));
    SHOW("reconfigure", FSCONFIG(p, FSCONFIG_CMD_RECONFIGURE, NULL, NULL, 0));
    SHOW("create in the ro superblock", open("/mnt/t2/g", O_CREAT | O_WRONLY, 0644));
    mountinfo("picked and reconfigured ro");
    SHOW("reconfigure again (ro is forgotten, not its mask)", FSCONFIG(p, FSCONFIG_CMD_RECONFIGURE, NULL, NULL, 0));
    SHOW("create in the superblock", open("/mnt/t2/g", O_CREAT | O_WRONLY, 0644) >= 0);
    mountinfo("reconfigured again");
    close(p);
}

/* A reconfigure changes a tmpfs's limits (not its mode or owner); one below what is used fails
 * and leaves the context failed. */
static void resize(void) {
    mkdir("/mnt/s", 0755);
    mount("s", "/mnt/s", "tmpfs", 0, "size=1m");
    char zeros[20000] = {0};
    int f = open("/mnt/s/f", O_CREAT | O_WRONLY, 0644);
    write(f, zeros, sizeof zeros);
    close(f);
    int p = fspick(AT_FDCWD, "/mnt/s", 0);
    FSCONFIG(p, FSCONFIG_SET_STRING, "size", "8k", 0);
    SHOW("reconfigure below what is used", FSCONFIG(p, FSCONFIG_CMD_RECONFIGURE, NULL, NULL, 0));
    messages("resize", p);
    SHOW("a parameter after a failure", FSCONFIG(p, FSCONFIG_SET_STRING, "size", "64k", 0));
    SHOW("reconfigure after a failure", FSCONFIG(p, FSCONFIG_CMD_RECONFIGURE, NULL, NULL, 0));
    close(p);
    p = fspick(AT_FDCWD, "/mnt/s", 0);
    FSCONFIG(p, FSCONFIG_SET_STRING, "size", "19k", 0);
    FSCONFIG(p, FSCONFIG_SET_STRING, "mode", "700", 0);
    FSCONFIG(p, FSCONFIG_SET_STRING, "uid", "5", 0);
    SHOW("reconfigure to 19k (whole pages: 20k)", FSCONFIG(p, FSCONFIG_CMD_RECONFIGURE, NULL, NULL, 0));
    f = open("/mnt/s/g", O_CREAT | O_WRONLY, 0644);
    SHOW("write past the new size", write(f, zeros, 100));
    close(f);
    struct stat st;
    stat("/mnt/s", &st);
    printf("mode and owner kept: %o %d\n", st.st_mode & 07777, st.st_uid);
    mountinfo("resized");
    close(p);
    umount2("/mnt/s", 0);
}

/* A mount with a file open for writing on it cannot become read-only (EBUSY), all or nothing. */
static void writers(void) {
    mkdir("/mnt/b/w", 0755);
    mount("w", "/mnt/b/w", "tmpfs", 0, NULL);
    int w = open("/mnt/b/w/f", O_CREAT | O_WRONLY, 0644), r = open("/mnt/b/x", O_RDONLY);
    struct mount_attr ro = {.attr_set = MOUNT_ATTR_RDONLY};
    SHOW("rdonly recursive, a writer below", setattr("/mnt/b", AT_RECURSIVE, &ro, 32));
    SHOW("b still writable", open("/mnt/b/y", O_CREAT | O_RDONLY, 0644) >= 0);
    SHOW("rdonly b only (a reader)", setattr("/mnt/b", 0, &ro, 32));
    SHOW("remount,bind,ro with a writer", mount(NULL, "/mnt/b/w", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL));
    SHOW("remount,ro with a writer", mount(NULL, "/mnt/b/w", NULL, MS_REMOUNT | MS_RDONLY, NULL));
    int p = fspick(AT_FDCWD, "/mnt/b/w", 0);
    FSCONFIG(p, FSCONFIG_SET_FLAG, "ro", NULL, 0);
    SHOW("reconfigure ro with a writer", FSCONFIG(p, FSCONFIG_CMD_RECONFIGURE, NULL, NULL, 0));
    close(w);
    SHOW("remount,bind,ro", mount(NULL, "/mnt/b/w", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL));
    SHOW("write-open on the ro mount", open("/mnt/b/w/f", O_WRONLY));
    close(p);
    close(r);
    umount2("/mnt/b/w", 0);
}

static void unprivileged(void) {
    int fd = fsopen("tmpfs", 0);
    int created = fsopen("tmpfs", 0);
    FSCONFIG(created, FSCONFIG_CMD_CREATE, NULL, NULL, 0);
    pid_t pid = fork();
    if (pid == 0) {
        setuid(65534);
        SHOW("fsopen", fsopen("tmpfs", 0));
        SHOW("fsconfig set", FSCONFIG(fd, FSCONFIG_SET_STRING, "size", "1m", 0));
        SHOW("fsconfig create", FSCONFIG(fd, FSCONFIG_CMD_CREATE, NULL, NULL, 0));
        SHOW("fsmount", fsmount(created, 0, 0));
        SHOW("fspick", fspick(AT_FDCWD, "/mnt/t2", 0));
        SHOW("open_tree", open_tree(AT_FDCWD, "/mnt/t2", 0) >= 0);
        SHOW("open_tree clone", open_tree(AT_FDCWD, "/mnt/t2", OPEN_TREE_CLONE));
        SHOW("move_mount", move_mount(AT_FDCWD, "/mnt/t2", AT_FDCWD, "/mnt/t", 0));
        SHOW("mount_setattr", setattr("/mnt/t2", 0, &(struct mount_attr){.attr_set = MOUNT_ATTR_RDONLY}, 32));
        exit(0);
    }
    printf("unprivileged child: %d\n", reap(pid));
    close(fd);
    close(created);
}

/* MOVE_MOUNT_BENEATH: a mount slid under the one on top of a path, revealed by its unmount. */
static void beneath(void) {
    mkdir("/mnt/u", 0755); mkdir("/mnt/v", 0755);
    mount("top", "/mnt/u", "tmpfs", 0, NULL);
    put("/mnt/u/topfile", "");
    int fd = fsopen("tmpfs", 0);
    FSCONFIG(fd, FSCONFIG_SET_STRING, "source", "under", 0);
    FSCONFIG(fd, FSCONFIG_CMD_CREATE, NULL, NULL, 0);
    int m = fsmount(fd, 0, 0);
    put("/mnt/v/x", "");
    close(openat(m, "underfile", O_CREAT | O_WRONLY, 0644));
    SHOW("beneath a non-mountpoint", move_mount(m, "", AT_FDCWD, "/mnt/v", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_BENEATH));
    SHOW("beneath /", move_mount(m, "", AT_FDCWD, "/", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_BENEATH));
    SHOW("beneath|set_group", move_mount(m, "", AT_FDCWD, "/mnt/u", MOVE_MOUNT_F_EMPTY_PATH | 0x300));
    SHOW("beneath u", move_mount(m, "", AT_FDCWD, "/mnt/u", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_BENEATH));
    ls("/mnt/u");
    mountinfo("beneath");
    SHOW("umount the top", umount2("/mnt/u", 0));
    ls("/mnt/u");
    SHOW("beneath itself", move_mount(AT_FDCWD, "/mnt/u", AT_FDCWD, "/mnt/u", MOVE_MOUNT_BENEATH));
    mount("v", "/mnt/v", "tmpfs", 0, NULL);
    mkdir("/mnt/u/sub", 0755);
    mount("sub", "/mnt/u/sub", "tmpfs", 0, NULL);
    SHOW("attached beneath a mount with a submount", move_mount(AT_FDCWD, "/mnt/v", AT_FDCWD, "/mnt/u", MOVE_MOUNT_BENEATH));
    SHOW("beneath its own child", move_mount(AT_FDCWD, "/mnt/u", AT_FDCWD, "/mnt/u/sub", MOVE_MOUNT_BENEATH));
    SHOW("beneath a plain directory again", move_mount(AT_FDCWD, "/mnt/u/sub", AT_FDCWD, "/mnt/v", MOVE_MOUNT_BENEATH));
    mountinfo("beneath, attached");
    ls("/mnt/u");
    SHOW("umount u's top", umount2("/mnt/u", MNT_DETACH));
    ls("/mnt/u");
    close(m);
    close(fd);
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    SHOW("unshare(NEWNS)", unshare(CLONE_NEWNS));
    private_mnt();
    contexts();
    ramfs();
    unlimited();
    tmpfs_values();
    edges();
    trees();
    attributes();
    pick();
    resize();
    writers();
    unprivileged();
    beneath();
    return 0;
}
