/* Shared subtrees (differential): mount and umount events propagating between peers, to slaves,
 * across mount namespaces and into a less privileged one. As ns_mount.c, the process first
 * unshares its mount namespace and makes every mount private, so natively (as root) nothing
 * reaches the host; its mounts are below a tmpfs on /mnt. Printed: return values, errnos, which
 * files are visible where, and each path's mount as "shared:X master:Y" with the peer group
 * numbers replaced by letters in order of first appearance (natively they come from one
 * kernel-wide allocator). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ns_common.h"
#include "mount_common.h"

static int groups[256], n_groups;

static char letter(int group) {
    for (int i = 0; i < n_groups; i++)
        if (groups[i] == group)
            return 'A' + i;
    if (n_groups == 26)
        return '?';
    groups[n_groups++] = group;
    return 'A' + n_groups - 1;
}

/* The propagation fields of the mount ``path`` is on (statx's mount id), and how many mounts
 * mountinfo lists on that mount point. */
static void info(const char *path) {
    struct statx sx;
    if (statx(AT_FDCWD, path, 0, STATX_MNT_ID, &sx)) {
        printf("%s: %s\n", path, strerrorname_np(errno));
        return;
    }
    FILE *f = fopen("/proc/self/mountinfo", "r");
    char line[1024], fields[256] = "";
    int rows = 0;
    while (fgets(line, sizeof line, f)) {
        int id, n = 0;
        char point[256];
        if (sscanf(line, "%d %*d %*s %*s %255s %*s%n", &id, point, &n) != 2)
            continue;
        rows += strcmp(point, path) == 0;
        if ((unsigned long long)id != sx.stx_mnt_id)
            continue;
        char *opt = strtok(line + n, " \n");
        for (; opt && strcmp(opt, "-"); opt = strtok(NULL, " \n")) {
            int g;
            char item[32];
            if (sscanf(opt, "shared:%d", &g) == 1)
                snprintf(item, sizeof item, " shared:%c", letter(g));
            else if (sscanf(opt, "master:%d", &g) == 1)
                snprintf(item, sizeof item, " master:%c", letter(g));
            else
                snprintf(item, sizeof item, " %s", opt);
            strncat(fields, item, sizeof fields - strlen(fields) - 1);
        }
    }
    fclose(f);
    printf("%s: rows %d,%s\n", path, rows, fields[0] ? fields : " private");
}

static void seen(const char *path) {
    printf("%s exists: %d\n", path, access(path, F_OK) == 0);
}

static void dirs(const char *const *names) {
    for (; *names; names++)
        mkdir(*names, 0755);
}

/* Peers: what is mounted on one is mounted on the other, and goes with it; a peer whose copy has
 * a mount of its own below stays; a mount already where a copy goes ends up under it. */
static void peers(void) {
    dirs((const char *const[]){"/mnt/a", "/mnt/b", NULL});
    SHOW("tmpfs on a", mount("a", "/mnt/a", "tmpfs", 0, NULL));
    SHOW("make a shared", mount(NULL, "/mnt/a", NULL, MS_SHARED, NULL));
    dirs((const char *const[]){"/mnt/a/sub", "/mnt/a/sub2", NULL});
    SHOW("bind a on b", mount("/mnt/a", "/mnt/b", NULL, MS_BIND, NULL));
    info("/mnt/a");
    info("/mnt/b");
    SHOW("tmpfs on a/sub", mount("s", "/mnt/a/sub", "tmpfs", 0, NULL));
    put("/mnt/a/sub/f", "f");
    seen("/mnt/b/sub/f");
    info("/mnt/a/sub");
    info("/mnt/b/sub");
    SHOW("umount b/sub", umount2("/mnt/b/sub", 0));
    seen("/mnt/a/sub/f");
    /* a peer's copy with a mount of its own below is not unmounted with it */
    SHOW("tmpfs on a/sub", mount("s", "/mnt/a/sub", "tmpfs", 0, NULL));
    mkdir("/mnt/a/sub/in", 0755);
    SHOW("tmpfs on a/sub/in", mount("in", "/mnt/a/sub/in", "tmpfs", 0, NULL));
    info("/mnt/b/sub/in");
    SHOW("make b/sub private", mount(NULL, "/mnt/b/sub", NULL, MS_PRIVATE, NULL));
    SHOW("umount b/sub/in", umount2("/mnt/b/sub/in", 0));
    info("/mnt/a/sub/in");
    SHOW("umount b/sub lazily", umount2("/mnt/b/sub", MNT_DETACH));
    info("/mnt/a/sub");
    info("/mnt/a/sub/in");
    info("/mnt/b/sub");
    /* a busy copy makes a plain umount of its peer EBUSY */
    SHOW("tmpfs on a/sub2", mount("s2", "/mnt/a/sub2", "tmpfs", 0, NULL));
    int fd = open("/mnt/b/sub2/.", O_RDONLY);
    SHOW("umount a/sub2, b's copy busy", umount2("/mnt/a/sub2", 0));
    close(fd);
    SHOW("umount a/sub2", umount2("/mnt/a/sub2", 0));
    info("/mnt/b/sub2");
}

/* A mount a slave has where a propagated copy goes ends up on the copy's root, and takes the
 * copy's place again when the copy is unmounted with its master's mount. */
static void tucked(void) {
    dirs((const char *const[]){"/mnt/ta", "/mnt/tb", NULL});
    SHOW("tmpfs on ta", mount("ta", "/mnt/ta", "tmpfs", 0, NULL));
    SHOW("make ta shared", mount(NULL, "/mnt/ta", NULL, MS_SHARED, NULL));
    mkdir("/mnt/ta/sub", 0755);
    SHOW("bind ta on tb", mount("/mnt/ta", "/mnt/tb", NULL, MS_BIND, NULL));
    SHOW("make tb slave", mount(NULL, "/mnt/tb", NULL, MS_SLAVE, NULL));
    SHOW("tmpfs on tb/sub", mount("own", "/mnt/tb/sub", "tmpfs", 0, NULL));
    put("/mnt/tb/sub/own", "own");
    SHOW("tmpfs on ta/sub", mount("s", "/mnt/ta/sub", "tmpfs", 0, NULL));
    seen("/mnt/tb/sub/own");
    seen("/mnt/ta/sub/own");
    info("/mnt/tb/sub");
    SHOW("umount ta/sub", umount2("/mnt/ta/sub", 0));
    seen("/mnt/tb/sub/own");
    info("/mnt/tb/sub");
    SHOW("tmpfs on ta/sub again", mount("s", "/mnt/ta/sub", "tmpfs", 0, NULL));
    SHOW("umount ta/sub lazily", umount2("/mnt/ta/sub", MNT_DETACH));
    seen("/mnt/tb/sub/own");
    info("/mnt/tb/sub");
}

/* Slaves receive and do not send; changing types moves slaves to the right master. */
static void slaves(void) {
    dirs((const char *const[]){"/mnt/m", "/mnt/s1", "/mnt/s2", "/mnt/s3", NULL});
    SHOW("tmpfs on m", mount("m", "/mnt/m", "tmpfs", 0, NULL));
    SHOW("make m shared", mount(NULL, "/mnt/m", NULL, MS_SHARED, NULL));
    dirs((const char *const[]){"/mnt/m/x", "/mnt/m/y", NULL});
    SHOW("bind m on s1", mount("/mnt/m", "/mnt/s1", NULL, MS_BIND, NULL));
    SHOW("make s1 slave", mount(NULL, "/mnt/s1", NULL, MS_SLAVE, NULL));
    SHOW("make s1 shared too", mount(NULL, "/mnt/s1", NULL, MS_SHARED, NULL));
    SHOW("bind s1 on s2", mount("/mnt/s1", "/mnt/s2", NULL, MS_BIND, NULL));
    SHOW("make s2 slave", mount(NULL, "/mnt/s2", NULL, MS_SLAVE, NULL));
    SHOW("bind s2 (a slave) on s3", mount("/mnt/s2", "/mnt/s3", NULL, MS_BIND, NULL));
    info("/mnt/m");
    info("/mnt/s1");
    info("/mnt/s2");
    info("/mnt/s3");
    SHOW("tmpfs on m/x", mount("x", "/mnt/m/x", "tmpfs", 0, NULL));
    put("/mnt/m/x/f", "f");
    seen("/mnt/s1/x/f");
    seen("/mnt/s2/x/f");
    seen("/mnt/s3/x/f");
    info("/mnt/m/x");
    info("/mnt/s1/x");
    info("/mnt/s2/x");
    SHOW("tmpfs on s1/y", mount("y", "/mnt/s1/y", "tmpfs", 0, NULL));
    put("/mnt/s1/y/g", "g");
    seen("/mnt/m/y/g");
    seen("/mnt/s2/y/g");
    SHOW("make s1 private", mount(NULL, "/mnt/s1", NULL, MS_PRIVATE, NULL));
    info("/mnt/s1");
    info("/mnt/s2");
    SHOW("umount m/x", umount2("/mnt/m/x", 0));
    seen("/mnt/s1/x/f");
    seen("/mnt/s2/x/f");
    SHOW("make m unbindable", mount(NULL, "/mnt/m", NULL, MS_UNBINDABLE, NULL));
    info("/mnt/m");
    info("/mnt/s3");
    SHOW("make m shared again", mount(NULL, "/mnt/m", NULL, MS_SHARED, NULL));
    info("/mnt/m");
}

/* A recursive bind and a move onto a shared mount propagate whole trees. */
static void trees(void) {
    dirs((const char *const[]){"/mnt/p", "/mnt/q", "/mnt/t", "/mnt/u", NULL});
    SHOW("tmpfs on p", mount("p", "/mnt/p", "tmpfs", 0, NULL));
    SHOW("make p shared", mount(NULL, "/mnt/p", NULL, MS_SHARED, NULL));
    dirs((const char *const[]){"/mnt/p/r", "/mnt/p/v", NULL});
    SHOW("bind p on q", mount("/mnt/p", "/mnt/q", NULL, MS_BIND, NULL));
    SHOW("tmpfs on t", mount("t", "/mnt/t", "tmpfs", 0, NULL));
    mkdir("/mnt/t/in", 0755);
    SHOW("tmpfs on t/in", mount("tin", "/mnt/t/in", "tmpfs", 0, NULL));
    put("/mnt/t/in/h", "h");
    SHOW("rbind t on p/r", mount("/mnt/t", "/mnt/p/r", NULL, MS_BIND | MS_REC, NULL));
    seen("/mnt/q/r/in/h");
    info("/mnt/p/r");
    info("/mnt/q/r");
    info("/mnt/q/r/in");
    SHOW("tmpfs on u", mount("u", "/mnt/u", "tmpfs", 0, NULL));
    put("/mnt/u/w", "w");
    SHOW("move u to p/v", mount("/mnt/u", "/mnt/p/v", NULL, MS_MOVE, NULL));
    seen("/mnt/q/v/w");
    info("/mnt/q/v");
    SHOW("umount q/r lazily", umount2("/mnt/q/r", MNT_DETACH));
    seen("/mnt/p/r/in/h");
}

/* Mount namespaces: a copy's shared mounts are peers of the originals; in a namespace of a new
 * user namespace they are slaves, and the trees that propagate in are locked below their top. */
static void namespaces(void) {
    dirs((const char *const[]){"/mnt/n", NULL});
    SHOW("tmpfs on n", mount("n", "/mnt/n", "tmpfs", 0, NULL));
    SHOW("make n shared", mount(NULL, "/mnt/n", NULL, MS_SHARED, NULL));
    dirs((const char *const[]){"/mnt/n/c", "/mnt/n/d", NULL});
    SHOW("tmpfs on n/c", mount("c", "/mnt/n/c", "tmpfs", 0, NULL));
    pid_t pid = fork();
    if (pid == 0) {
        SHOW("child: unshare(NEWNS)", unshare(CLONE_NEWNS));
        SHOW("child: umount n/c lazily", umount2("/mnt/n/c", MNT_DETACH));
        SHOW("child: tmpfs on n/d", mount("d", "/mnt/n/d", "tmpfs", 0, NULL));
        put("/mnt/n/d/from-child", "x");
        exit(0);
    }
    printf("child: %d\n", reap(pid));
    info("/mnt/n/c");
    seen("/mnt/n/d/from-child");
    int ready[2], go[2];
    pipe(ready);
    pipe(go);
    pid = fork();
    if (pid == 0) {
        char c;
        SHOW("user child: unshare(NEWUSER|NEWNS)", unshare(CLONE_NEWUSER | CLONE_NEWNS));
        info("/mnt/n");
        write(ready[1], "r", 1);
        read(go[0], &c, 1);
        seen("/mnt/n/e/in/secret");
        seen("/mnt/n/e/in/over");
        SHOW("user child: umount n/e/in (locked)", umount2("/mnt/n/e/in", MNT_DETACH));
        int dirfd = open("/mnt/n/e", O_RDONLY | O_DIRECTORY);
        SHOW("user child: umount n/e (the top)", umount2("/mnt/n/e", MNT_DETACH));
        SHOW("user child: hidden file through the detached tree", openat(dirfd, "in/secret", O_RDONLY));
        SHOW("user child: tmpfs on n/d", mount("ud", "/mnt/n/d", "tmpfs", 0, NULL));
        /* its own tmpfs belongs to its user namespace, where its uid has no mapping yet */
        SHOW("user child: create there (no uid_map)", open("/mnt/n/d/from-user-child", O_CREAT | O_WRONLY, 0644));
        SHOW("user child: mkdir there", mkdir("/mnt/n/d/dir", 0755));
        SHOW("user child: create on the parent's tmpfs", open("/mnt/n/made-by-user-child", O_CREAT | O_WRONLY, 0644) >= 0);
        exit(0);
    }
    char c;
    read(ready[0], &c, 1);
    dirs((const char *const[]){"/mnt/n/e", "/mnt/ep", NULL});
    SHOW("tmpfs on ep", mount("ep", "/mnt/ep", "tmpfs", 0, NULL));
    dirs((const char *const[]){"/mnt/ep/in", NULL});
    put("/mnt/ep/in/secret", "s");
    SHOW("tmpfs on ep/in", mount("epin", "/mnt/ep/in", "tmpfs", 0, NULL));
    put("/mnt/ep/in/over", "o");
    SHOW("rbind ep on n/e", mount("/mnt/ep", "/mnt/n/e", NULL, MS_BIND | MS_REC, NULL));
    write(go[1], "g", 1);
    printf("user child: %d\n", reap(pid));
    seen("/mnt/n/e/in/over");
    seen("/mnt/n/d/from-user-child");
}

/* A procfs magic link is no mount point (mount08): reached through an O_PATH file of the link
 * itself, /proc/self/fd/N names the link, and a bind onto it is ENOENT. */
static void magic_link(void) {
    put("/mnt/ml", "x");
    int fd = open("/mnt/ml", O_RDONLY);
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    int link = open(path, O_PATH | O_NOFOLLOW);
    snprintf(path, sizeof path, "/proc/self/fd/%d", link);
    SHOW("bind onto a magic link", mount("/mnt/ml", path, NULL, MS_BIND, NULL));
    SHOW("tmpfs onto a magic link", mount("t", path, "tmpfs", 0, NULL));
    close(link);
    close(fd);
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    SHOW("unshare(NEWNS)", unshare(CLONE_NEWNS));
    private_mnt();
    peers();
    tucked();
    slaves();
    trees();
    namespaces();
    magic_link();
    return 0;
}
