/* Permission checks come from capabilities, not from being root: a root process that drops
 * CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH may not open another user's 0600 file; with
 * CAP_DAC_READ_SEARCH back it may read it but not write it (Linux's generic_permission). A
 * directory of that user's (0700) may be searched and listed with CAP_DAC_READ_SEARCH only. */
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>
static void drop(unsigned cap) {
    struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct d[2];
    syscall(SYS_capget, &h, d);
    d[cap / 32].effective &= ~(1u << (cap % 32));
    if (syscall(SYS_capset, &h, d)) perror("capset");
}

static void say(const char *what, int r) { printf("%s: %s\n", what, r == 0 ? "ok" : strerror(errno)); }

/* The other overrides: CAP_FOWNER (sticky directories, times, chmod of another's file),
 * CAP_FSETID (chmod keeping set-group-ID for a group one is not in), CAP_CHOWN, CAP_MKNOD,
 * CAP_SYS_CHROOT. Each is dropped in a child of its own. */
static void others(void) {
    mkdir("/tmp/sticky", 0777);
    chmod("/tmp/sticky", 01777);
    chown("/tmp/sticky", 2000, 2000);   /* neither ours nor the file's: only CAP_FOWNER may delete */
    int fd = open("/tmp/sticky/theirs", O_CREAT | O_WRONLY, 0600);
    close(fd);
    chown("/tmp/sticky/theirs", 1000, 1000);
    fd = open("/tmp/mine", O_CREAT | O_WRONLY, 0644);
    close(fd);
    chown("/tmp/mine", 0, 1000);
    unsigned caps[] = {CAP_FOWNER, CAP_FSETID, CAP_CHOWN, CAP_MKNOD, CAP_SYS_CHROOT};
    for (int i = 0; i < 5; i++) {
        fflush(stdout);
        if (fork() == 0) {
            drop(caps[i]);
            printf("without capability %u:\n", caps[i]);
            say("  utimes(now) on their 0600 file", utimes("/tmp/sticky/theirs", NULL));
            say("  chmod their file", chmod("/tmp/sticky/theirs", 0600));
            struct stat st;
            say("  chmod g+s on mine (group 1000)", chmod("/tmp/mine", 02644));
            stat("/tmp/mine", &st);
            printf("  set-group-ID kept: %d\n", !!(st.st_mode & S_ISGID));
            say("  mknod a character device", mknod("/tmp/dev-null-copy", S_IFCHR | 0600, makedev(1, 3)));
            unlink("/tmp/dev-null-copy");
            say("  chown their file to 0", chown("/tmp/sticky/theirs", 0, 0));
            chown("/tmp/sticky/theirs", 1000, 1000);
            say("  unlink their file in a sticky directory", unlink("/tmp/sticky/theirs"));
            say("  chroot (last: it changes every path)", chroot("/tmp"));
            fflush(stdout);
            _exit(0);
        }
        wait(NULL);
        fd = open("/tmp/sticky/theirs", O_CREAT | O_WRONLY, 0600);
        close(fd);
        chown("/tmp/sticky/theirs", 1000, 1000);
    }
    unlink("/tmp/sticky/theirs");
    rmdir("/tmp/sticky");
    unlink("/tmp/mine");
}

int main(void) {
    const char *p = "/tmp/dac-test-file";
    int fd = open(p, O_CREAT | O_WRONLY | O_TRUNC, 0600);
    write(fd, "secret\n", 7); close(fd);
    chown(p, 1000, 1000);
    struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct d[2];
    syscall(SYS_capget, &h, d);
    d[0].effective &= ~((1u << CAP_DAC_OVERRIDE) | (1u << CAP_DAC_READ_SEARCH));
    if (syscall(SYS_capset, &h, d)) perror("capset");
    fd = open(p, O_RDONLY);
    printf("root without DAC caps opens a 0600 file of uid 1000: %s\n", fd >= 0 ? "yes" : strerror(errno));
    fd = open(p, O_WRONLY);
    printf("for writing: %s\n", fd >= 0 ? "yes" : strerror(errno));
    d[0].effective |= 1u << CAP_DAC_READ_SEARCH;
    syscall(SYS_capset, &h, d);
    fd = open(p, O_RDONLY);
    printf("with CAP_DAC_READ_SEARCH, reading: %s\n", fd >= 0 ? "yes" : strerror(errno));
    fd = open(p, O_WRONLY);
    printf("with CAP_DAC_READ_SEARCH, writing: %s\n", fd >= 0 ? "yes" : strerror(errno));
    const char *dir = "/tmp/dac-test-dir";
    mkdir(dir, 0700);
    chown(dir, 1000, 1000);
    printf("with CAP_DAC_READ_SEARCH, listing a 0700 directory of uid 1000: %s\n",
           open(dir, O_RDONLY | O_DIRECTORY) >= 0 ? "yes" : strerror(errno));
    d[0].effective &= ~(1u << CAP_DAC_READ_SEARCH);
    syscall(SYS_capset, &h, d);
    printf("without, listing it: %s\n", open(dir, O_RDONLY | O_DIRECTORY) >= 0 ? "yes" : strerror(errno));
    d[0].effective |= 1u << CAP_DAC_OVERRIDE;
    syscall(SYS_capset, &h, d);
    unlink(p);
    rmdir(dir);
    others();
    return 0;
}
