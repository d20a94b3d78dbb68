/* overlayfs (differential): mount -t overlay over tmpfs layers, natively (as root) and in the
 * sandbox. The process first unshares its mount namespace and makes every mount private, so
 * natively nothing reaches the host; everything is below a tmpfs on /mnt. Printed: return values,
 * errnos, sorted listings, file contents, and relations of st_dev/st_ino that Linux keeps. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <dirent.h>
#include <unistd.h>
#include <linux/mount.h>

#include "mount_common.h"

#define OPTS "lowerdir=/mnt/l1:/mnt/l2,upperdir=/mnt/u,workdir=/mnt/w"

static void cat(const char *path) {
    char buf[128] = {0};
    int fd = open(path, O_RDONLY);
    if (fd < 0) {
        printf("cat %s: %s\n", path, strerrorname_np(errno));
        return;
    }
    read(fd, buf, sizeof buf - 1);
    close(fd);
    printf("cat %s: %s", path, buf);
}

/* Append ``text`` to ``path`` through the overlay (a copy-up of a lower file), showing the write. */
static void append(const char *label, const char *path, const char *text) {
    int fd = open(path, O_WRONLY | O_APPEND);
    SHOW(label, write(fd, text, strlen(text)));
    close(fd);
}

static void kind(const char *path) {
    struct stat st;
    if (lstat(path, &st)) {
        printf("kind %s: %s\n", path, strerrorname_np(errno));
        return;
    }
    printf("kind %s: %s mode %o rdev %u:%u\n", path, S_ISCHR(st.st_mode) ? "chr" : S_ISDIR(st.st_mode) ? "dir" :
           S_ISREG(st.st_mode) ? "reg" : "other", st.st_mode & 07777, major(st.st_rdev), minor(st.st_rdev));
}

static void layers(void) {
    const char *dirs[] = {"/mnt/l1", "/mnt/l2", "/mnt/u", "/mnt/w", "/mnt/m", "/mnt/l1/d", "/mnt/l2/d",
                          "/mnt/l1/o", "/mnt/l2/o", "/mnt/l2/gone", "/mnt/l2/ld", "/mnt/l2/e"};
    for (unsigned i = 0; i < sizeof dirs / sizeof *dirs; i++)
        mkdir(dirs[i], 0755);
    mkdir("/mnt/w/u", 0755);
    put("/mnt/l1/f", "l1 f\n");
    put("/mnt/l2/f", "l2 f\n");
    put("/mnt/l2/g", "l2 g\n");
    put("/mnt/l2/h", "l2 h\n");
    put("/mnt/l2/d/x", "x\n");
    put("/mnt/l1/d/y", "y\n");
    put("/mnt/l2/o/hidden", "hidden\n");
    put("/mnt/l1/o/shown", "shown\n");
    put("/mnt/l2/wh", "whited out\n");
    put("/mnt/l2/ld/k", "k\n");
    put("/mnt/l2/mapped", "lower data\n");
    SHOW("whiteout in l1", mknod("/mnt/l1/wh", S_IFCHR, makedev(0, 0)));
    SHOW("opaque l1/o", setxattr("/mnt/l1/o", "trusted.overlay.opaque", "y", 1, 0));
    SHOW("user xattr on l2/g", setxattr("/mnt/l2/g", "user.note", "kept", 4, 0));
    chmod("/mnt/l2/h", 0640);
    /* xattr whiteouts (Linux 6.8+): in a lower directory marked opaque "x" only */
    mkdir("/mnt/l1/xw", 0755); mkdir("/mnt/l2/xw", 0755); mkdir("/mnt/l1/nx", 0755); mkdir("/mnt/l2/nx", 0755);
    put("/mnt/l2/xw/n", "n\n"); put("/mnt/l1/xw/n", ""); put("/mnt/l2/nx/n", "n\n"); put("/mnt/l1/nx/n", "");
    SHOW("xattr whiteout", setxattr("/mnt/l1/xw/n", "trusted.overlay.whiteout", "", 0, 0));
    SHOW("xattr whiteout unmarked", setxattr("/mnt/l1/nx/n", "trusted.overlay.whiteout", "", 0, 0));
    SHOW("mark xw", setxattr("/mnt/l1/xw", "trusted.overlay.opaque", "x", 1, 0));
}

static void option_errors(void) {
    SHOW("no lowerdir", mount("overlay", "/mnt/m", "overlay", 0, "upperdir=/mnt/u,workdir=/mnt/w"));
    SHOW("upper without work", mount("overlay", "/mnt/m", "overlay", 0, "lowerdir=/mnt/l1,upperdir=/mnt/u"));
    SHOW("unknown option", mount("overlay", "/mnt/m", "overlay", 0, "lowerdir=/mnt/l1,bogus"));
    SHOW("bad redirect_dir", mount("overlay", "/mnt/m", "overlay", 0, "lowerdir=/mnt/l1,redirect_dir=maybe"));
    SHOW("missing lower", mount("overlay", "/mnt/m", "overlay", 0, "lowerdir=/mnt/nonesuch"));
    SHOW("lower is a file", mount("overlay", "/mnt/m", "overlay", 0, "lowerdir=/mnt/l1/f"));
    SHOW("empty lowerdir", mount("overlay", "/mnt/m", "overlay", 0, "lowerdir=,upperdir=/mnt/u,workdir=/mnt/w"));
    SHOW("single lower, no upper", mount("overlay", "/mnt/m", "overlay", 0, "lowerdir=/mnt/l1,workdir=/mnt/w"));
    SHOW("lower is upper", mount("overlay", "/mnt/m", "overlay", 0, "lowerdir=/mnt/u,upperdir=/mnt/u,workdir=/mnt/w"));
    SHOW("lower inside upper", mount("overlay", "/mnt/m", "overlay", 0, "lowerdir=/mnt/l1/d,upperdir=/mnt/l1,workdir=/mnt/w"));
    SHOW("same lower twice", mount("overlay", "/mnt/m", "overlay", 0, "lowerdir=/mnt/l1:/mnt/l1"));
    SHOW("work is a lower", mount("overlay", "/mnt/m", "overlay", 0, "lowerdir=/mnt/w,upperdir=/mnt/u,workdir=/mnt/w"));
    SHOW("upper inside work", mount("overlay", "/mnt/m", "overlay", 0, "lowerdir=/mnt/l1,upperdir=/mnt/w/u,workdir=/mnt/w"));
    SHOW("work inside upper", mount("overlay", "/mnt/m", "overlay", 0, "lowerdir=/mnt/l1,upperdir=/mnt/u,workdir=/mnt/u"));
}

static void merge(void) {
    ls("/mnt/m");
    ls("/mnt/m/d");
    ls("/mnt/m/o");
    ls("/mnt/m/xw");
    cat("/mnt/m/f");
    cat("/mnt/m/g");
    SHOW("access whiteout name", access("/mnt/m/wh", F_OK));
    ls("/mnt/w");
    struct stat m, d, f, lf;
    stat("/mnt/m", &m); stat("/mnt/m/d", &d); stat("/mnt/m/g", &f); stat("/mnt/l2/g", &lf);
    printf("dir dev is the overlay's: %d, file dev too: %d, file ino the lower's: %d\n",
           d.st_dev == m.st_dev, f.st_dev == m.st_dev, f.st_ino == lf.st_ino);
    printf("merged dir nlink %lu\n", (unsigned long)d.st_nlink);
}

static void copy_up(void) {
    struct stat before, after, lower;
    stat("/mnt/m/g", &before);
    append("append to lower file", "/mnt/m/g", "more\n");
    stat("/mnt/m/g", &after);
    stat("/mnt/l2/g", &lower);
    cat("/mnt/m/g");
    cat("/mnt/l2/g");
    cat("/mnt/u/g");
    printf("ino kept by copy-up: %d, size %ld, lower size %ld\n", before.st_ino == after.st_ino,
           (long)after.st_size, (long)lower.st_size);
    char v[16] = {0};
    SHOW("copied xattr", getxattr("/mnt/u/g", "user.note", v, sizeof v - 1));
    printf("xattr value %s\n", v);
    kind("/mnt/u/h");
    SHOW("chmod lower file", chmod("/mnt/m/h", 0600));
    kind("/mnt/u/h");
    kind("/mnt/m/h");
    kind("/mnt/l2/h");
    struct stat t0, t1;
    stat("/mnt/m/d/x", &t0);
    SHOW("open lower file O_TRUNC", close(open("/mnt/m/d/x", O_WRONLY | O_TRUNC)));
    stat("/mnt/m/d/x", &t1);
    printf("truncated size %ld, mtime changed %d\n", (long)t1.st_size, t1.st_mtim.tv_nsec != t0.st_mtim.tv_nsec ||
           t1.st_mtim.tv_sec != t0.st_mtim.tv_sec);
    cat("/mnt/l2/d/x");
    kind("/mnt/u/d");
    SHOW("create in merged dir", close(open("/mnt/m/d/new", O_CREAT | O_WRONLY, 0644)));
    kind("/mnt/u/d");
    ls("/mnt/u/d");
    ls("/mnt/m/d");
}

static void removals(void) {
    SHOW("unlink lower file", unlink("/mnt/m/f"));
    kind("/mnt/u/f");
    SHOW("access removed", access("/mnt/m/f", F_OK));
    SHOW("rmdir non-empty", rmdir("/mnt/m/d"));
    SHOW("rmdir lower dir", rmdir("/mnt/m/gone"));
    kind("/mnt/u/gone");
    SHOW("mkdir over whiteout", mkdir("/mnt/m/gone", 0700));
    char v[4] = {0};
    SHOW("opaque xattr", getxattr("/mnt/u/gone", "trusted.overlay.opaque", v, sizeof v - 1));
    printf("opaque value %s\n", v);
    SHOW("create over whiteout", close(open("/mnt/m/f", O_CREAT | O_WRONLY, 0644)));
    kind("/mnt/u/f");
    SHOW("unlink it again", unlink("/mnt/m/f"));
    kind("/mnt/u/f");
    ls("/mnt/m");
}

static void renames(void) {
    SHOW("rename lower dir", rename("/mnt/m/ld", "/mnt/m/ld2"));
    SHOW("mkdir upper dir", mkdir("/mnt/m/ud", 0755));
    SHOW("rename upper dir", rename("/mnt/m/ud", "/mnt/m/ud2"));
    SHOW("rename lower file", rename("/mnt/m/h", "/mnt/m/d/h2"));
    kind("/mnt/u/h");
    cat("/mnt/m/d/h2");
    SHOW("rename upper dir over lower dir", rename("/mnt/m/ud2", "/mnt/m/e"));
    SHOW("rename over non-empty", rename("/mnt/m/e", "/mnt/m/d"));
    ls("/mnt/m");
    ls("/mnt/m/e");
    ls("/mnt/u");
    put("/mnt/m/mine", "mine\n");
    SHOW("exchange lower and upper files", renameat2(AT_FDCWD, "/mnt/m/mine", AT_FDCWD, "/mnt/m/g", RENAME_EXCHANGE));
    cat("/mnt/m/g");
    cat("/mnt/m/mine");
    SHOW("exchange with lower dir", renameat2(AT_FDCWD, "/mnt/m/mine", AT_FDCWD, "/mnt/m/ld", RENAME_EXCHANGE));
    SHOW("exchange with missing", renameat2(AT_FDCWD, "/mnt/m/mine", AT_FDCWD, "/mnt/m/nope", RENAME_EXCHANGE));
    SHOW("rename whiteout flag", renameat2(AT_FDCWD, "/mnt/m/mine", AT_FDCWD, "/mnt/m/other", RENAME_WHITEOUT));
    SHOW("exchange and noreplace", renameat2(AT_FDCWD, "/mnt/m/mine", AT_FDCWD, "/mnt/m/g",
                                             RENAME_EXCHANGE | RENAME_NOREPLACE));
}

static void links_and_maps(void) {
    struct stat st;
    struct stat la, lb, ua;
    put("/mnt/l2/hl", "hard\n");
    link("/mnt/l2/hl", "/mnt/l2/hl2");
    stat("/mnt/m/hl", &la);
    append("copy up a hard-linked lower file", "/mnt/m/hl", "x\n");
    stat("/mnt/m/hl", &lb);
    stat("/mnt/u/hl", &ua);
    printf("nlink %lu -> %lu, ino kept %d, upper's %d\n", (unsigned long)la.st_nlink, (unsigned long)lb.st_nlink,
           la.st_ino == lb.st_ino, lb.st_ino == ua.st_ino);
    cat("/mnt/m/hl2");
    SHOW("link lower file", link("/mnt/m/mapped", "/mnt/m/mapped2"));
    stat("/mnt/m/mapped", &st);
    printf("nlink after link %lu\n", (unsigned long)st.st_nlink);
    put("/mnt/l2/m2", "lower map\n");
    int fd = open("/mnt/m/m2", O_RDONLY);
    char *p = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
    int w = open("/mnt/m/m2", O_WRONLY);
    SHOW("write through upper", pwrite(w, "UPPER", 5, 0));
    close(w);
    printf("old mapping sees: %.10s\n", p);
    char again[16] = {0};
    SHOW("read through the fd opened before copy-up", pread(fd, again, sizeof again - 1, 0));
    printf("it reads: %s", again);
    struct stat fst;
    fstat(fd, &fst);
    printf("its fstat size %ld\n", (long)fst.st_size);
    cat("/mnt/m/m2");
    munmap(p, 4096);
    close(fd);
    int t = open("/mnt/m/d", O_TMPFILE | O_RDWR, 0640);
    SHOW("O_TMPFILE in a merged dir", t >= 0);
    SHOW("write it", write(t, "tmp\n", 4));
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", t);
    SHOW("name it", linkat(AT_FDCWD, path, AT_FDCWD, "/mnt/m/d/named", AT_SYMLINK_FOLLOW));
    close(t);
    cat("/mnt/m/d/named");
    cat("/mnt/u/d/named");
    kind("/mnt/m/d/named");
    int x = open("/mnt/m/e", O_TMPFILE | O_RDWR | O_EXCL, 0600);
    snprintf(path, sizeof path, "/proc/self/fd/%d", x);
    SHOW("name an O_EXCL one", linkat(AT_FDCWD, path, AT_FDCWD, "/mnt/m/e/no", AT_SYMLINK_FOLLOW));
    close(x);
}

static void read_only(void) {
    mkdir("/mnt/r", 0755);
    SHOW("read-only overlay", mount("overlay", "/mnt/r", "overlay", 0, "lowerdir=/mnt/l1:/mnt/l2"));
    ls("/mnt/r");
    SHOW("create in read-only", open("/mnt/r/new", O_CREAT | O_WRONLY, 0644));
    SHOW("write lower file", open("/mnt/r/g", O_WRONLY));
    SHOW("umount read-only", umount("/mnt/r"));
}

static void new_api(void) {
    int fs = syscall(SYS_fsopen, "overlay", 0);
    SHOW("fsopen overlay", fs >= 0);
    SHOW("bogus key", syscall(SYS_fsconfig, fs, FSCONFIG_SET_STRING, "bogus", "x", 0));
    SHOW("lowerdir+ missing", syscall(SYS_fsconfig, fs, FSCONFIG_SET_STRING, "lowerdir+", "/mnt/nonesuch", 0));
    SHOW("lowerdir+ a file", syscall(SYS_fsconfig, fs, FSCONFIG_SET_STRING, "lowerdir+", "/mnt/l1/f", 0));
    SHOW("index=maybe", syscall(SYS_fsconfig, fs, FSCONFIG_SET_STRING, "index", "maybe", 0));
    for (int i = 0; i < 3; i++) {
        char msg[256] = {0};
        errno = 0;
        long n = read(fs, msg, sizeof msg - 1);
        printf("log: %ld %s %s", n, n < 0 ? strerrorname_np(errno) : "-", n > 0 ? msg : "\n");
    }
    SHOW("lowerdir+ l1", syscall(SYS_fsconfig, fs, FSCONFIG_SET_STRING, "lowerdir+", "/mnt/l1", 0));
    SHOW("lowerdir+ l2", syscall(SYS_fsconfig, fs, FSCONFIG_SET_STRING, "lowerdir+", "/mnt/l2", 0));
    SHOW("create", syscall(SYS_fsconfig, fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0));
    int mfd = syscall(SYS_fsmount, fs, 0, 0);
    SHOW("fsmount", mfd >= 0);
    mkdir("/mnt/n", 0755);
    SHOW("move_mount", syscall(SYS_move_mount, mfd, "", AT_FDCWD, "/mnt/n", MOVE_MOUNT_F_EMPTY_PATH));
    ls("/mnt/n");
    cat("/mnt/n/f");
    close(mfd);
    close(fs);
    SHOW("umount new", umount("/mnt/n"));
    int many = syscall(SYS_fsopen, "overlay", 0), i = 0;
    while (i < 600 && syscall(SYS_fsconfig, many, FSCONFIG_SET_STRING, "lowerdir+", "/mnt/l1", 0) == 0)
        i++;
    printf("lowerdir+ taken %d times, then %s\n", i, strerrorname_np(errno));
    char msg[128] = {0};
    read(many, msg, sizeof msg - 1);
    printf("log: %s", msg);
    SHOW("create with one layer 500 times", syscall(SYS_fsconfig, many, FSCONFIG_CMD_CREATE, NULL, NULL, 0));
    close(many);
}

/* As user 1000: the caller's permissions on the overlay's files, the layers changed as the mounter. */
static void as_user(void) {
    put("/mnt/l2/shared", "shared\n");
    chmod("/mnt/l2/shared", 0666);
    mkdir("/mnt/l2/open", 0777);
    chmod("/mnt/l2/open", 0777);
    pid_t pid = fork();
    if (pid == 0) {
        SHOW("setresuid 1000", setresuid(1000, 1000, 1000));
        append("write a 0666 lower file", "/mnt/m/shared", "user\n");
        SHOW("create in 0777 lower dir", close(open("/mnt/m/open/mine", O_CREAT | O_WRONLY, 0600)));
        SHOW("create in 0755 dir", open("/mnt/m/d/theirs", O_CREAT | O_WRONLY, 0600));
        SHOW("chmod a file not ours", chmod("/mnt/m/shared", 0600));
        SHOW("unlink in 0755 dir", unlink("/mnt/m/d/x"));
        exit(0);
    }
    int st;
    waitpid(pid, &st, 0);
    struct stat a, b;
    stat("/mnt/u/shared", &a);
    stat("/mnt/u/open/mine", &b);
    printf("copied-up owner %u mode %o, new file owner %u mode %o\n", a.st_uid, a.st_mode & 07777, b.st_uid,
           b.st_mode & 07777);
    struct statfs sf;
    statfs("/mnt/m", &sf);
    printf("statfs type %lx\n", (unsigned long)sf.f_type);
}

/* userxattr: the overlay's xattrs in the user. namespace (rootless container engines). */
static void user_xattrs(void) {
    const char *dirs[] = {"/mnt/x1", "/mnt/x2", "/mnt/x1/o", "/mnt/x2/o", "/mnt/x2/g", "/mnt/xu", "/mnt/xw", "/mnt/xm",
                          "/mnt/x1/t", "/mnt/x2/t"};
    for (unsigned i = 0; i < sizeof dirs / sizeof *dirs; i++)
        mkdir(dirs[i], 0755);
    put("/mnt/x2/o/hidden", "");
    put("/mnt/x2/g/f", "");
    put("/mnt/x2/t/merged", "");
    SHOW("user opaque", setxattr("/mnt/x1/o", "user.overlay.opaque", "y", 1, 0));
    SHOW("trusted opaque ignored", setxattr("/mnt/x1/t", "trusted.overlay.opaque", "y", 1, 0));
    SHOW("userxattr mount", mount("overlay", "/mnt/xm", "overlay", 0,
                                  "lowerdir=/mnt/x1:/mnt/x2,upperdir=/mnt/xu,workdir=/mnt/xw,userxattr"));
    ls("/mnt/xm");
    ls("/mnt/xm/o");
    ls("/mnt/xm/t");
    SHOW("rmdir lower", rmdir("/mnt/xm/g") == 0 ? unlink("/mnt/xm/g") : rmdir("/mnt/xm/g/f"));
    SHOW("unlink then rmdir", unlink("/mnt/xm/g/f") == 0 ? rmdir("/mnt/xm/g") : -1);
    SHOW("mkdir over whiteout", mkdir("/mnt/xm/g", 0755));
    char v[4] = {0};
    SHOW("user.overlay.opaque", getxattr("/mnt/xu/g", "user.overlay.opaque", v, sizeof v - 1));
    printf("value %s\n", v);
    SHOW("trusted one", getxattr("/mnt/xu/g", "trusted.overlay.opaque", v, sizeof v - 1));
    SHOW("umount userxattr", umount("/mnt/xm"));
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    SHOW("unshare(NEWNS)", unshare(CLONE_NEWNS));
    private_mnt();
    layers();
    option_errors();
    new_api();
    read_only();
    SHOW("mount overlay", mount("overlay", "/mnt/m", "overlay", 0, OPTS));
    merge();
    copy_up();
    removals();
    renames();
    links_and_maps();
    as_user();
    user_xattrs();
    SHOW("umount", umount("/mnt/m"));
    return 0;
}
