/* Mount namespaces and mount(2)/umount2(2)/pivot_root(2) (differential). The process first
 * unshares its mount namespace and makes every mount private, so natively (as root) nothing
 * it does reaches the host; all its mounts are below a tmpfs on /mnt. Printed: return values,
 * errnos, file contents, and mountinfo rows of /mnt's mounts without their ids and devices. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <dirent.h>
#include <unistd.h>

#include "ns_common.h"
#include "mount_common.h"

static int pivot_root(const char *n, const char *o) { return syscall(SYS_pivot_root, n, o); }

static void binds(void) {
    mkdir("/mnt/a", 0755); mkdir("/mnt/b", 0755); mkdir("/mnt/c", 0755); mkdir("/mnt/d", 0755);
    put("/mnt/file", "file text\n");
    put("/mnt/file2", "");
    SHOW("bind a on b", mount("/mnt/a", "/mnt/b", NULL, MS_BIND, NULL));
    put("/mnt/a/x", "x");
    printf("b/x visible: %d\n", access("/mnt/b/x", F_OK) == 0);
    SHOW("remount b ro", mount(NULL, "/mnt/b", NULL, MS_BIND | MS_REMOUNT | MS_RDONLY, NULL));
    SHOW("create in ro b", open("/mnt/b/y", O_CREAT | O_WRONLY, 0644));
    SHOW("mkdir in ro b", mkdir("/mnt/b/z", 0755));
    SHOW("create in a", open("/mnt/a/y", O_CREAT | O_WRONLY, 0644) >= 0);
    SHOW("remount of a non-mountpoint", mount(NULL, "/mnt/a", NULL, MS_BIND | MS_REMOUNT | MS_RDONLY, NULL));
    SHOW("bind file on dir", mount("/mnt/file", "/mnt/c", NULL, MS_BIND, NULL));
    SHOW("bind file on file", mount("/mnt/file", "/mnt/file2", NULL, MS_BIND, NULL));
    char buf[32] = {0};
    int fd = open("/mnt/file2", O_RDONLY);
    read(fd, buf, sizeof buf - 1);
    close(fd);
    printf("file2 reads: %s", buf);
    mkdir("/mnt/a/sub", 0755);
    SHOW("tmpfs on a/sub", mount("t2", "/mnt/a/sub", "tmpfs", 0, "mode=700"));
    put("/mnt/a/sub/s", "s");
    SHOW("bind a on c", mount("/mnt/a", "/mnt/c", NULL, MS_BIND, NULL));
    SHOW("rbind a on d", mount("/mnt/a", "/mnt/d", NULL, MS_BIND | MS_REC, NULL));
    ls("/mnt/c/sub");
    ls("/mnt/d/sub");
    mountinfo("after binds");
}

static void propagation(void) {
    SHOW("shared on a non-mountpoint", mount(NULL, "/mnt/a", NULL, MS_SHARED, NULL));
    SHOW("shared|private", mount(NULL, "/mnt/b", NULL, MS_SHARED | MS_PRIVATE, NULL));
    SHOW("shared|nosuid", mount(NULL, "/mnt/b", NULL, MS_SHARED | MS_NOSUID, NULL));
    SHOW("make b shared", mount(NULL, "/mnt/b", NULL, MS_SHARED, NULL));
    SHOW("make b slave (no peers: private)", mount(NULL, "/mnt/b", NULL, MS_SLAVE, NULL));
    SHOW("make c rshared", mount(NULL, "/mnt/c", NULL, MS_SHARED | MS_REC, NULL));
    SHOW("make d unbindable", mount(NULL, "/mnt/d", NULL, MS_UNBINDABLE, NULL));
    mkdir("/mnt/e", 0755);
    SHOW("bind unbindable d", mount("/mnt/d", "/mnt/e", NULL, MS_BIND, NULL));
    mountinfo("after propagation changes");
    SHOW("make /mnt/c private again", mount(NULL, "/mnt/c", NULL, MS_PRIVATE | MS_REC, NULL));
}

static void moves(void) {
    SHOW("move a non-mountpoint", mount("/mnt/a", "/mnt/e", NULL, MS_MOVE, NULL));
    SHOW("move d into itself", mount("/mnt/d", "/mnt/d/sub", NULL, MS_MOVE, NULL));
    SHOW("move d onto a file", mount("/mnt/d", "/mnt/file", NULL, MS_MOVE, NULL));
    SHOW("move d to e", mount("/mnt/d", "/mnt/e", NULL, MS_MOVE, NULL));
    ls("/mnt/e/sub");
    ls("/mnt/d");
    mountinfo("after move");
}

static void umounts(void) {
    SHOW("umount a non-mountpoint", umount2("/mnt/a", 0));
    SHOW("umount bad flags", umount2("/mnt/b", 0x100));
    SHOW("umount expire|detach", umount2("/mnt/b", MNT_EXPIRE | MNT_DETACH));
    SHOW("umount missing", umount2("/mnt/nothing", 0));
    int fd = open("/mnt/a/sub/s", O_RDONLY);
    SHOW("umount with a file open", umount2("/mnt/a/sub", 0));
    SHOW("umount with MNT_FORCE, file open", umount2("/mnt/a/sub", MNT_FORCE));
    close(fd);
    SHOW("umount with a submount", umount2("/mnt/e", 0));
    chdir("/mnt/e/sub");
    SHOW("umount the cwd's mount", umount2("/mnt/e/sub", 0));
    chdir("/");
    fd = open("/mnt/e/sub/s", O_RDONLY);
    SHOW("detach e (and e/sub) with a file open", umount2("/mnt/e", MNT_DETACH));
    char c = 0;
    SHOW("read through the detached mount", read(fd, &c, 1));
    close(fd);
    ls("/mnt/e");
    SHOW("umount c", umount2("/mnt/c", 0));
    symlink("/mnt/b", "/mnt/link");
    SHOW("umount NOFOLLOW of a symlink", umount2("/mnt/link", UMOUNT_NOFOLLOW));
    SHOW("expire b (first)", umount2("/mnt/link", MNT_EXPIRE));
    SHOW("expire b (second)", umount2("/mnt/link", MNT_EXPIRE));
    SHOW("umount a/sub", umount2("/mnt/a/sub", 0));
    mountinfo("after umounts");
}

static void filesystems(void) {
    mkdir("/mnt/p", 0755); mkdir("/mnt/s", 0755); mkdir("/mnt/q", 0755); mkdir("/mnt/t", 0755);
    SHOW("mount proc", mount("proc", "/mnt/p", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL));
    char buf[64] = {0};
    int fd = open("/mnt/p/self/comm", O_RDONLY);
    read(fd, buf, sizeof buf - 1);
    close(fd);
    printf("proc self comm: %s", buf);
    SHOW("mount sysfs", mount("sysfs", "/mnt/s", "sysfs", MS_RDONLY, NULL));
    SHOW("umount sysfs", umount2("/mnt/s", 0));   /* not in the rows: the Sentry's sysfs is read-only as a whole */
    SHOW("mount mqueue", mount("mqueue", "/mnt/q", "mqueue", 0, NULL));
    SHOW("mount no such type", mount("x", "/mnt/t", "nosuchfs", 0, NULL));
    SHOW("mount no type", mount("x", "/mnt/t", NULL, 0, NULL));
    SHOW("tmpfs bad size", mount("x", "/mnt/t", "tmpfs", 0, "size=abc"));
    SHOW("tmpfs unknown option", mount("x", "/mnt/t", "tmpfs", 0, "bogus=1"));
    SHOW("tmpfs ro", mount("rotmp", "/mnt/t", "tmpfs", MS_RDONLY, "size=64k"));
    SHOW("create in ro tmpfs", open("/mnt/t/f", O_CREAT | O_WRONLY, 0644));
    SHOW("remount rw", mount(NULL, "/mnt/t", NULL, MS_REMOUNT, "size=64k"));
    SHOW("create after remount", open("/mnt/t/f", O_CREAT | O_WRONLY, 0644) >= 0);
    SHOW("mount on a missing path", mount("x", "/mnt/none/x", "tmpfs", 0, NULL));
    mountinfo("filesystems");
    umount2("/mnt/p", 0);
    umount2("/mnt/q", 0);
}

static int pivot_child(void) {
    unshare(CLONE_NEWNS);
    mkdir("/mnt/nr", 0755);
    SHOW("pivot to a non-mountpoint", pivot_root("/mnt/nr", "/mnt/nr"));
    SHOW("pivot to a file", pivot_root("/mnt/file", "/mnt/nr"));
    SHOW("pivot to /", pivot_root("/", "/mnt"));
    mount("nr", "/mnt/nr", "tmpfs", 0, NULL);
    mkdir("/mnt/nr/old", 0755);
    mkdir("/mnt/nr/new2", 0755);
    SHOW("put_old outside new_root", pivot_root("/mnt/nr", "/mnt/a"));
    SHOW("pivot_root", pivot_root("/mnt/nr", "/mnt/nr/old"));
    char cwd[256];
    printf("cwd: %s\n", getcwd(cwd, sizeof cwd) ? cwd : strerrorname_np(errno));
    ls("/");
    ls("/old/mnt/a");
    SHOW("detach /old", umount2("/old", MNT_DETACH));
    ls("/old");
    mount("n2", "/new2", "tmpfs", 0, NULL);
    mkdir("/new2/etc", 0755);
    chdir("/new2");
    SHOW("pivot_root(.,.)", pivot_root(".", "."));
    SHOW("umount2(., DETACH)", umount2(".", MNT_DETACH));
    chdir("/");
    ls("/");
    return 0;
}

static void holder_setup(void) {
    unshare(CLONE_NEWNS);
    mkdir("/mnt/h", 0755);
    mount("h", "/mnt/h", "tmpfs", 0, NULL);
    put("/mnt/h/hfile", "h");
}

static void namespaces(void) {
    int release;
    pid_t h = holder(holder_setup, &release);
    printf("holder's tmpfs visible here: %d\n", access("/mnt/h/hfile", F_OK) == 0);
    char other[64];
    snprintf(other, sizeof other, "/proc/%d/root/mnt/h", h);
    printf("holder's tmpfs through /proc/PID/root: %d\n", access(other, F_OK) == 0);
    SHOW("mount on another namespace's mount", mount("x", other, "tmpfs", 0, NULL));
    SHOW("bind onto another namespace's mount", mount("/mnt/a", other, NULL, MS_BIND, NULL));
    SHOW("umount another namespace's mount", umount2(other, 0));
    pid_t pid = fork();
    if (pid == 0) {
        char path[64], cwd[256];
        snprintf(path, sizeof path, "/proc/%d/ns/mnt", h);
        chdir("/mnt/a");
        SHOW("setns(mnt)", setns(open(path, O_RDONLY), CLONE_NEWNS));
        printf("after setns: hfile %d, cwd %s\n", access("/mnt/h/hfile", F_OK) == 0, getcwd(cwd, sizeof cwd));
        exit(0);
    }
    reap(pid);
    close(release);
    reap(h);
    SHOW("clone(NEWNS|FS)", syscall(SYS_clone, CLONE_NEWNS | CLONE_FS | SIGCHLD, 0, 0, 0, 0));
    pid = syscall(SYS_clone, CLONE_NEWNS | SIGCHLD, 0, 0, 0, 0);
    if (pid == 0) {
        mkdir("/mnt/cl", 0755);
        exit(mount("cl", "/mnt/cl", "tmpfs", 0, NULL) == 0 && access("/mnt/cl/..", F_OK) == 0 ? 0 : 1);
    }
    printf("clone(NEWNS) child: %d\n", reap(pid));
    struct stat a, b;
    stat("/mnt", &a);
    stat("/mnt/cl", &b);
    printf("child's mount on /mnt/cl seen here: %d\n", a.st_dev != b.st_dev);
    pid = fork();
    if (pid == 0) {
        setuid(65534);
        SHOW("mount unprivileged", mount("x", "/mnt/t", "tmpfs", 0, NULL));
        SHOW("umount unprivileged", umount2("/mnt/t", 0));
        SHOW("pivot_root unprivileged", pivot_root("/mnt", "/mnt"));
        SHOW("unshare(NEWNS) unprivileged", unshare(CLONE_NEWNS));
        exit(0);
    }
    reap(pid);
}

#define LOCKABLE (MS_RDONLY | MS_NOEXEC | MS_NODEV | MS_NOSUID)

static void write_file(const char *path, const char *text) {
    int fd = open(path, O_WRONLY);
    write(fd, text, strlen(text));
    close(fd);
}

/* Locked mounts (lock_mnt_tree): in a mount namespace copied into a new user namespace, the
 * copied mounts' set flags may not be cleared nor their atime changed (EPERM, by mount(2) and
 * mount_setattr(2)), they may not be unmounted or moved alone (EINVAL), nor bound without their
 * locked children (EINVAL); a bind copy keeps the locked flags but may be unmounted; in the
 * namespace that owns them nothing is locked. The sandbox locked nothing. */
static void locked(void) {
    mkdir("/mnt/lk", 0755); mkdir("/mnt/lk2", 0755); mkdir("/mnt/lkb", 0755); mkdir("/mnt/lkc", 0755);
    mkdir("/mnt/lkd", 0755);
    SHOW("tmpfs on lk", mount("none", "/mnt/lk", "tmpfs", 0, "size=64k"));
    SHOW("lk lockable flags", mount(NULL, "/mnt/lk", NULL, MS_REMOUNT | MS_BIND | LOCKABLE, NULL));
    SHOW("tmpfs on lk2", mount("none", "/mnt/lk2", "tmpfs", 0, "size=64k"));
    mkdir("/mnt/lk2/sub", 0755);
    SHOW("tmpfs on lk2/sub", mount("none", "/mnt/lk2/sub", "tmpfs", 0, "size=64k"));
    pid_t pid = fork();
    if (pid == 0) {
        if (unshare(CLONE_NEWUSER | CLONE_NEWNS))
            exit(3);
        write_file("/proc/self/setgroups", "deny");
        write_file("/proc/self/uid_map", "0 0 1");
        write_file("/proc/self/gid_map", "0 0 1");
        static const int flags[] = {MS_RDONLY, MS_NOEXEC, MS_NODEV, MS_NOSUID};
        static const char *names[] = {"rdonly", "noexec", "nodev", "nosuid"};
        char label[64];
        for (int i = 0; i < 4; i++) {
            snprintf(label, sizeof label, "locked: clear %s", names[i]);
            SHOW(label, mount(NULL, "/mnt/lk", NULL, MS_REMOUNT | MS_BIND | (LOCKABLE & ~flags[i]), NULL));
        }
        SHOW("locked: remount with no flags", mount(NULL, "/mnt/lk", NULL, MS_REMOUNT | MS_BIND, NULL));
        SHOW("locked: noatime", mount(NULL, "/mnt/lk", NULL, MS_REMOUNT | MS_BIND | LOCKABLE | MS_NOATIME, NULL));
        SHOW("locked: create", open("/mnt/lk/f", O_CREAT | O_RDWR, 0644));
        SHOW("locked: keep the flags", mount(NULL, "/mnt/lk", NULL, MS_REMOUNT | MS_BIND | LOCKABLE, NULL));
        struct { unsigned long long set, clr, propagation, userns_fd; } attr = {0, MOUNT_ATTR_RDONLY, 0, 0};
        SHOW("locked: mount_setattr clear rdonly", syscall(SYS_mount_setattr, AT_FDCWD, "/mnt/lk", 0, &attr, sizeof attr));
        SHOW("locked: umount", umount2("/mnt/lk", 0));
        SHOW("locked: umount detach", umount2("/mnt/lk", MNT_DETACH));
        SHOW("locked: move", mount("/mnt/lk2", "/mnt/lkd", NULL, MS_MOVE, NULL));
        SHOW("locked: bind without its children", mount("/mnt/lk2", "/mnt/lkb", NULL, MS_BIND, NULL));
        SHOW("locked: bind with them", mount("/mnt/lk2", "/mnt/lkb", NULL, MS_BIND | MS_REC, NULL));
        SHOW("bind copy: umount its child", umount2("/mnt/lkb/sub", 0));
        SHOW("bind copy: umount", umount2("/mnt/lkb", MNT_DETACH));
        SHOW("bind of lk", mount("/mnt/lk", "/mnt/lkc", NULL, MS_BIND, NULL));
        SHOW("bind of lk: clear rdonly", mount(NULL, "/mnt/lkc", NULL, MS_REMOUNT | MS_BIND | (LOCKABLE & ~MS_RDONLY), NULL));
        SHOW("bind of lk: umount", umount2("/mnt/lkc", 0));
        exit(0);
    }
    printf("locked child: %d\n", reap(pid));
    SHOW("owner: remount lk with no flags", mount(NULL, "/mnt/lk", NULL, MS_REMOUNT | MS_BIND, NULL));
    SHOW("owner: umount lk2/sub", umount2("/mnt/lk2/sub", 0));
    SHOW("owner: umount lk2", umount2("/mnt/lk2", 0));
    SHOW("owner: umount lk", umount2("/mnt/lk", 0));
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    struct stat before, after;
    stat("/proc/self/ns/mnt", &before);
    SHOW("unshare(NEWNS)", unshare(CLONE_NEWNS));
    stat("/proc/self/ns/mnt", &after);
    printf("mnt ino changed: %d\n", before.st_ino != after.st_ino);
    private_mnt();
    binds();
    propagation();
    moves();
    umounts();
    filesystems();
    locked();
    pid_t pid = fork();
    if (pid == 0)
        exit(pivot_child());
    printf("pivot child: %d\n", reap(pid));
    namespaces();
    return 0;
}
