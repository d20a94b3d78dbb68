/* Capabilities across setuid and execve (run as root): PR_SET_KEEPCAPS keeps the permitted set when
 * leaving uid 0 and execve clears the flag; execve by a non-root user keeps only the ambient set;
 * PR_CAP_AMBIENT's rules. Prints /proc/self/status's Cap lines (the masks the sandbox reports are
 * its own, so only those made here are compared: CapInh, CapPrm, CapEff, CapAmb). */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/capability.h>
#include <stdio.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static unsigned long long field(const char *name) {
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    unsigned long long v = ~0ULL;
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, name, strlen(name))) v = strtoull(line + strlen(name) + 1, NULL, 16);
    fclose(f);
    return v;
}

/* The sets in hex, except a set equal to the bounding set (the host's, or the sandbox's) which is
 * printed as "bounding". */
static void show(const char *name, unsigned long long v, unsigned long long bnd) {
    if (v == bnd) printf(" %s=bounding", name);
    else printf(" %s=%llx", name, v);
}

static void caps(const char *when) {
    unsigned long long bnd = field("CapBnd");
    printf("%s:", when);
    show("inh", field("CapInh"), bnd);
    show("prm", field("CapPrm"), bnd);
    show("eff", field("CapEff"), bnd);
    show("amb", field("CapAmb"), bnd);
    printf(" keepcaps=%d\n", prctl(PR_GET_KEEPCAPS));
}

static void set_caps(unsigned eff, unsigned prm, unsigned inh) {
    struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct d[2] = {{eff, prm, inh}, {0, 0, 0}};
    if (syscall(SYS_capset, &h, d)) printf("capset: %s\n", strerrorname_np(errno));
}

static void run_child(char *self, const char *step) {
    pid_t c = fork();
    if (c == 0) {
        execl(self, self, step, (char *)0);
        _exit(127);
    }
    int st;
    waitpid(c, &st, 0);
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IONBF, 0);
    if (argc > 1) { caps(argv[1]); return 0; }
    const unsigned bind = 1u << CAP_NET_BIND_SERVICE, kill = 1u << CAP_KILL, setuid_cap = 1u << CAP_SETUID;
    int r = prctl(PR_SET_KEEPCAPS, 2);
    printf("keepcaps bad value: %d %s\n", r, strerrorname_np(errno));
    r = prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_NET_BIND_SERVICE, 0, 0);
    printf("ambient raise without inheritable: %d %s\n", r, strerrorname_np(errno));
    r = prctl(PR_CAP_AMBIENT, 9, 0, 0, 0);
    printf("ambient bad op: %d %s\n", r, strerrorname_np(errno));
    set_caps(bind | kill | setuid_cap, bind | kill | setuid_cap, bind);
    printf("ambient raise: %d\n", prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_NET_BIND_SERVICE, 0, 0));
    printf("ambient is set: %d\n", prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, CAP_NET_BIND_SERVICE, 0, 0));
    printf("ambient is set for kill: %d\n", prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, CAP_KILL, 0, 0));
    caps("root, reduced");
    run_child(argv[0], "root after exec (inheritable|bounding back)");
    printf("keepcaps: %d\n", prctl(PR_SET_KEEPCAPS, 1));
    prctl(PR_SET_PDEATHSIG, SIGUSR1);
    if (setresuid(65534, 65534, 65534)) printf("setresuid: %s\n", strerrorname_np(errno));
    int sig = -1;
    prctl(PR_GET_PDEATHSIG, &sig);   /* commit_creds clears it with the euid change */
    printf("after setresuid: pdeathsig %d dumpable %d\n", sig, prctl(PR_GET_DUMPABLE));
    caps("nobody, keepcaps");
    set_caps(bind, bind | kill, bind);
    printf("ambient raise as nobody: %d\n", prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_NET_BIND_SERVICE, 0, 0));
    caps("nobody, effective again");
    run_child(argv[0], "nobody after exec (ambient only)");
    prctl(PR_SET_PDEATHSIG, SIGUSR1);
    prctl(PR_SET_DUMPABLE, 1);
    set_caps(0, kill, 0);
    caps("inheritable dropped: ambient follows");
    prctl(PR_GET_PDEATHSIG, &sig);   /* fewer capabilities: neither is reset */
    printf("after capset: pdeathsig %d dumpable %d\n", sig, prctl(PR_GET_DUMPABLE));
    return 0;
}
