/* A tmpfs's memory goes with its last mount (differential; sandboxed under a memory limit that
 * holds only a few of them): 30 rounds of a 20 MiB file in a tmpfs mounted then unmounted
 * (mount(2)) or made and dropped as a detached tree (fsmount, the fd closed). Files still open,
 * and a cwd, keep a detached or unmounted tmpfs working until they go. */
#define _GNU_SOURCE
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include "mount_common.h"

static char chunk[1 << 20];

/* A tmpfs to fill: on /mnt/x (mount(2)) or detached (fsmount); an O_PATH fd of its root. */
static int new_tmpfs(int api) {
    if (!api) {
        mount("x", "/mnt/x", "tmpfs", 0, NULL);
        return open("/mnt/x", O_PATH);
    }
    int fd = fsopen("tmpfs", 0);
    fsconfig(fd, FSCONFIG_CMD_CREATE, NULL, NULL, 0);
    int m = fsmount(fd, 0, 0);
    close(fd);
    return m;
}

static int rounds(int api) {
    for (int i = 0; i < 30; i++) {
        int m = new_tmpfs(api);
        int fd = openat(m, "big", O_CREAT | O_WRONLY, 0644);
        for (int j = 0; j < 20; j++)
            if (write(fd, chunk, sizeof chunk) != sizeof chunk) {
                printf("round %d: %s\n", i, strerrorname_np(errno));
                return 1;
            }
        close(fd);
        close(m);
        if (!api)
            umount2("/mnt/x", 0);
    }
    printf("30 rounds through %s\n", api ? "fsmount" : "mount");
    return 0;
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    memset(chunk, 1, sizeof chunk);
    SHOW("unshare(NEWNS)", unshare(CLONE_NEWNS));
    private_mnt();
    mkdir("/mnt/x", 0755);
    if (rounds(0) || rounds(1))
        return 1;
    mount("y", "/mnt/x", "tmpfs", 0, NULL);
    put("/mnt/x/kept", "kept");
    int kept = open("/mnt/x/kept", O_RDONLY);
    chdir("/mnt/x");
    SHOW("detach the cwd's tmpfs", umount2("/mnt/x", MNT_DETACH));
    put("new", "new");
    char buf[8] = {0};
    int fd = open("new", O_RDONLY);
    SHOW("a file made in the detached cwd", read(fd, buf, sizeof buf - 1));
    close(fd);
    chdir("/");
    SHOW("the file kept open", read(kept, buf, sizeof buf - 1));
    printf("it reads: %s\n", buf);
    close(kept);
    return 0;
}
