/* reboot(2) inside a PID namespace (kernel/reboot.c reboot_pid_ns), run as the namespace's init:
 * natively under `unshare -p -f`, in the sandbox as its first process. The refusals first, then
 * the command argv[1] names, from a child (argv[2] "child") or from init itself: the namespace
 * ends, its init reported killed by SIGHUP (restart) or SIGINT (halt, power off). */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/reboot.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "show.h"

#define R(what, m1, m2, cmd) do { errno = 0; show(what, syscall(SYS_reboot, m1, m2, cmd, 0L)); } while (0)

static unsigned long command(const char *name) {
    if (!strcmp(name, "restart")) return LINUX_REBOOT_CMD_RESTART;
    if (!strcmp(name, "restart2")) return LINUX_REBOOT_CMD_RESTART2;
    if (!strcmp(name, "halt")) return LINUX_REBOOT_CMD_HALT;
    return LINUX_REBOOT_CMD_POWER_OFF;
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IONBF, 0);
    printf("pid %d\n", getpid());
    R("bad magic1", 0x12345678L, LINUX_REBOOT_MAGIC2, LINUX_REBOOT_CMD_RESTART);
    R("bad magic2", LINUX_REBOOT_MAGIC1, 0x12345678L, LINUX_REBOOT_CMD_RESTART);
    R("CAD_ON", LINUX_REBOOT_MAGIC1, LINUX_REBOOT_MAGIC2, LINUX_REBOOT_CMD_CAD_ON);
    R("CAD_OFF", LINUX_REBOOT_MAGIC1, LINUX_REBOOT_MAGIC2A, LINUX_REBOOT_CMD_CAD_OFF);
    R("KEXEC", LINUX_REBOOT_MAGIC1, LINUX_REBOOT_MAGIC2B, LINUX_REBOOT_CMD_KEXEC);
    R("SW_SUSPEND", LINUX_REBOOT_MAGIC1, LINUX_REBOOT_MAGIC2C, LINUX_REBOOT_CMD_SW_SUSPEND);
    R("unknown command", LINUX_REBOOT_MAGIC1, LINUX_REBOOT_MAGIC2, 0x1234L);
    pid_t c = fork();
    if (c == 0) {
        if (setuid(1000)) { perror("setuid"); _exit(1); }
        R("without CAP_SYS_BOOT", LINUX_REBOOT_MAGIC1, LINUX_REBOOT_MAGIC2, LINUX_REBOOT_CMD_RESTART);
        R("without CAP_SYS_BOOT, bad magic", 0L, 0L, 0L);
        _exit(0);
    }
    waitpid(c, NULL, 0);
    if (argc < 2)
        return 0;
    unsigned long cmd = command(argv[1]);
    if (argc > 2) {
        int ready[2];
        if (pipe(ready)) return 1;
        c = fork();
        if (c == 0) {
            printf("child %s\n", argv[1]);
            syscall(SYS_reboot, LINUX_REBOOT_MAGIC1, LINUX_REBOOT_MAGIC2, cmd, "arg");
            printf("child: reboot returned (%s)\n", strerrorname_np(errno));
            _exit(3);
        }
        int status;
        waitpid(c, &status, 0);   /* init is killed while it waits */
        printf("init: child ended (%#x)\n", status);
        return 4;
    }
    printf("init %s\n", argv[1]);
    syscall(SYS_reboot, LINUX_REBOOT_MAGIC1, LINUX_REBOOT_MAGIC2, cmd, "arg");
    printf("init: reboot returned (%s)\n", strerrorname_np(errno));
    return 5;
}
