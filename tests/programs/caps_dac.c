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
#include <unistd.h>
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
    return 0;
}
