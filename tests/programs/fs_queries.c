/* sysfs(2) and ustat(2), the obsolete filesystem queries: each checked against what the same
 * system says elsewhere (/proc/filesystems, stat and statfs), so the output is the same natively
 * and in the sandbox although their filesystems differ. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "show.h"

struct kustat { int f_tfree; unsigned long f_tinode; char f_fname[6], f_fpack[6]; };

static void check_sysfs(void) {
    char line[128], name[64], buf[64];
    FILE *f = fopen("/proc/filesystems", "r");
    int i = 0, agree = 1;
    while (f && fgets(line, sizeof line, f)) {
        char *tab = strchr(line, '\t');
        if (!tab) continue;
        sscanf(tab + 1, "%63s", name);
        memset(buf, 0, sizeof buf);
        if (syscall(SYS_sysfs, 2, i, buf) != 0 || strcmp(buf, name) || syscall(SYS_sysfs, 1, name) != i) {
            printf("type %d: /proc/filesystems says %s, sysfs(2) %s\n", i, name, buf);
            agree = 0;
        }
        i++;
    }
    if (f) fclose(f);
    printf("sysfs agrees with /proc/filesystems: %d\n", agree);
    printf("sysfs(3) counts them: %d\n", syscall(SYS_sysfs, 3) == i);
    S("index of an unknown type", SYS_sysfs, 1, "nosuchfs");
    S("index of the empty name", SYS_sysfs, 1, "");
    S("index of a bad pointer", SYS_sysfs, 1, (char *)8);
    S("name past the last", SYS_sysfs, 2, (long)i, buf);
    S("name into a bad pointer", SYS_sysfs, 2, 0L, (char *)8);
    S("option 0", SYS_sysfs, 0, 0L, 0L);
    S("option 4", SYS_sysfs, 4, 0L, 0L);
}

static void check_ustat(const char *path) {
    struct stat st;
    struct statfs sf;
    struct kustat u;
    char what[96];
    if (stat(path, &st) || statfs(path, &sf)) { perror(path); return; }
    unsigned dev = (major(st.st_dev) << 8) | (minor(st.st_dev) & 0xff) | ((minor(st.st_dev) & ~0xffu) << 12);
    memset(&u, 0x55, sizeof u);
    long r = syscall(SYS_ustat, dev, &u);
    snprintf(what, sizeof what, "ustat of %s's device", path);
    show(what, r);
    if (r == 0)
        printf("  free inodes as statfs: %d, names empty: %d\n", u.f_tinode == (unsigned long)sf.f_ffree,
               !u.f_fname[0] && !u.f_fpack[0]);
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    check_sysfs();
    check_ustat("/proc");
    check_ustat("/dev/shm");
    S("ustat of no mounted device", SYS_ustat, 0xfff0fL, (void *)0);
    struct stat st;
    stat("/proc", &st);
    S("ustat into a bad pointer", SYS_ustat, (long)((major(st.st_dev) << 8) | minor(st.st_dev)), (void *)8);
    return 0;
}
