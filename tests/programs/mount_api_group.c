/* move_mount(MOVE_MOUNT_SET_GROUP) (differential): a private mount joins the peer group or the
 * master of another mount of the same superblock. Peer group numbers differ natively (one
 * kernel-wide allocator), so only whether two mounts share one is printed. */
#define _GNU_SOURCE
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include "mount_common.h"

static void set_group(const char *label, const char *from, const char *to) {
    SHOW(label, move_mount(AT_FDCWD, from, AT_FDCWD, to, MOVE_MOUNT_SET_GROUP));
}

/* The first optional field of mountinfo's row for ``point`` ("shared:3", "master:2", or "-"). */
static void group(const char *point, char *out) {
    FILE *f = fopen("/proc/self/mountinfo", "r");
    char line[1024], p[256], opt[256];
    strcpy(out, "-");
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "%*d %*d %*s %*s %255s %*s %255s", p, opt) == 2 && !strcmp(p, point))
            strcpy(out, opt);
    fclose(f);
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    SHOW("unshare(NEWNS)", unshare(CLONE_NEWNS));
    private_mnt();
    mkdir("/mnt/g1", 0755); mkdir("/mnt/g2", 0755); mkdir("/mnt/g3", 0755); mkdir("/mnt/o", 0755);
    mount("g", "/mnt/g1", "tmpfs", 0, NULL);
    mkdir("/mnt/g1/in", 0755);
    mount("/mnt/g1", "/mnt/g2", NULL, MS_BIND, NULL);
    mount("/mnt/g1/in", "/mnt/g3", NULL, MS_BIND, NULL);
    mount("o", "/mnt/o", "tmpfs", 0, NULL);
    set_group("from a private mount", "/mnt/g1", "/mnt/g2");
    mount(NULL, "/mnt/g1", NULL, MS_SHARED, NULL);
    set_group("to another superblock", "/mnt/g1", "/mnt/o");
    set_group("from a non-mountpoint", "/mnt/g1/in", "/mnt/g2");
    set_group("from a narrower root", "/mnt/g3", "/mnt/g2");
    set_group("g1 to g2", "/mnt/g1", "/mnt/g2");
    set_group("g1 to g3", "/mnt/g1", "/mnt/g3");
    set_group("to a shared mount", "/mnt/g1", "/mnt/g2");
    SHOW("set_group|beneath", move_mount(AT_FDCWD, "/mnt/g1", AT_FDCWD, "/mnt/g3", MOVE_MOUNT_SET_GROUP | 0x200));
    char a[256], b[256], c[256];
    group("/mnt/g1", a); group("/mnt/g2", b); group("/mnt/g3", c);
    printf("g2 a peer of g1: %d, g3 a peer of g1: %d\n", !strcmp(a, b), !strcmp(a, c));
    mount(NULL, "/mnt/g2", NULL, MS_SLAVE, NULL);
    group("/mnt/g2", b);
    printf("g2 a slave: %d\n", !strncmp(b, "master:", 7));
    mount(NULL, "/mnt/g3", NULL, MS_PRIVATE, NULL);
    set_group("from a slave", "/mnt/g2", "/mnt/g3");
    group("/mnt/g3", c);
    printf("g3 a slave of g2's master: %d\n", !strcmp(b, c));
    return 0;
}
