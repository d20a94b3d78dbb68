/* Helpers of the mount test programs (ns_mount.c, mount_api*.c): SHOW prints a call's result and
 * errno name; mountinfo prints the rows of /proc/self/mountinfo below /mnt made after the first
 * call (mountinfo(NULL) records the host's), without ids and devices; ls lists a directory sorted. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

#define SHOW(label, expr) do { errno = 0; long _r = (long)(expr); int _e = errno; \
    printf("%s: %ld %s\n", label, _r, _r == -1 ? strerrorname_np(_e) : "-"); } while (0)

static int old_ids[64], n_old;   /* mounts below /mnt before the test's own (the host's): not shown */

/* mountinfo rows whose mount point starts with /mnt: "root point options [optional] - type source super". */
static void mountinfo(const char *label) {
    FILE *f = fopen("/proc/self/mountinfo", "r");
    char line[1024];
    if (label)
        printf("-- mountinfo %s\n", label);
    while (fgets(line, sizeof line, f)) {
        char root[256], point[256], rest[512];
        int id, known = 0;
        if (sscanf(line, "%d %*d %*s %255s %255s %511[^\n]", &id, root, point, rest) != 4 || strncmp(point, "/mnt", 4))
            continue;
        for (int i = 0; i < n_old; i++)
            known |= old_ids[i] == id;
        if (!label && n_old < 64)
            old_ids[n_old++] = id;
        else if (label && !known) {
            /* Peer group numbers come from one kernel-wide allocator natively: not compared. */
            char *g = strstr(rest, "shared:");
            if (g)
                for (g += 7; *g >= '0' && *g <= '9'; g++)
                    *g = 'N';
            printf("%s %s %s\n", root, point, rest);
        }
    }
    fclose(f);
}

static void ls(const char *dir) {
    DIR *d = opendir(dir);
    printf("ls %s:", dir);
    if (!d) {
        printf(" %s\n", strerrorname_np(errno));
        return;
    }
    char names[32][64];
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) && n < 32)
        if (e->d_name[0] != '.')
            snprintf(names[n++], 64, "%.63s", e->d_name);
    closedir(d);
    qsort(names, n, 64, (int (*)(const void *, const void *))strcmp);
    for (int i = 0; i < n; i++)
        printf(" %s", names[i]);
    printf("\n");
}

static void put(const char *path, const char *text) {
    int fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0644);
    write(fd, text, strlen(text));
    close(fd);
}

/* After unshare(CLONE_NEWNS): every mount private (nothing reaches the host natively), the host's
 * mounts below /mnt recorded, and a tmpfs on /mnt for the test's own. */
static void private_mnt(void) {
    SHOW("make / rprivate", mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL));
    mountinfo(NULL);
    SHOW("tmpfs on /mnt", mount("none", "/mnt", "tmpfs", 0, "size=1m,mode=755"));
}
