/* Regressions found with the test suites that ship with pip packages (psutil, trio, numpy) as
 * oracles: one case per argv[1], each printing what it observes (bytes not printable ASCII as
 * \xNN), run natively and in the sandbox.
 *   maps_names   /proc/PID/maps names a mapped file by its path now, from the reader's root, as
 *                d_path gives it: bytes that are not UTF-8 as they are, a newline as "\012", the
 *                new name after a rename, " (deleted)" once unlinked; /proc/PID/fd/N links too
 *                (psutil's test_memory_maps with a non-UTF-8 file name; show_map_vma)
 *   comm_bytes   a comm that is not UTF-8: raw in /proc/PID/stat and /proc/PID/comm, with the
 *                backslash and newline escaped in status's Name (proc_task_name)
 *   mount_names  /proc/PID/mounts and mountinfo escape space, tab, newline and backslash in
 *                mount points, roots and sources as octal (mangle_path), other bytes raw
 *   ethtool      SIOCETHTOOL's queries of lo: the link, offloads, features, timestamping
 *                answered; settings, driver and rings EOPNOTSUPP (lo has none), ENODEV for no
 *                such device, EFAULT for a bad ifreq or data pointer, on any socket family
 *                (psutil's net_if_stats asks ETHTOOL_GSET and failed on ENOTTY)
 *   cpu_monotonic  a process's user and system times never go backwards, each on its own, in
 *                /proc/PID/stat, getrusage (RUSAGE_SELF, RUSAGE_THREAD) and times(): the
 *                precise runtime is split in the tick-sampled proportion, but a part that would
 *                shrink keeps its value (cputime_adjust's prev_cputime; psutil's test_cpu_percent
 *                saw a negative percentage)
 *   ctx_switches  a task that sleeps makes voluntary context switches: each nanosleep counts in
 *                /proc/PID/status (the thread's own), getrusage's ru_nvcsw (RUSAGE_THREAD, SELF,
 *                CHILDREN once reaped) and wait4's rusage; /proc/stat's ctxt is not 0 (they
 *                were all 0: psutil's test_num_ctx_switches and test_cpu_stats)
 *   memfree_touched  MemFree (and sysinfo's freeram) count the pages in use, not the address
 *                space reserved: 1 GiB mapped but untouched leaves them, touched takes it (every
 *                new process's 8 MiB stack was counted in full: psutil's comparisons with free(1)
 *                and vmstat(8) were 8.8 MiB apart) */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/sysinfo.h>
#include <sys/times.h>
#include <sys/wait.h>
#include <time.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

static void shown(const char *what, const char *buf, size_t n) {
    printf("%s: ", what);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = buf[i];
        if (c >= 32 && c < 127 && c != '\\') putchar(c); else printf("\\x%02x", c);
    }
    putchar('\n');
}

static ssize_t slurp(const char *path, char *buf, size_t size) {
    int fd = open(path, O_RDONLY);
    if (fd < 0) return -1;
    ssize_t total = 0, n;
    while ((n = read(fd, buf + total, size - 1 - total)) > 0) total += n;
    close(fd);
    buf[total] = 0;
    return total;
}

/* Every line of ``path`` holding ``key``, from its first '/' (maps) or whole (other files). */
static void lines_with(const char *path, const char *key, int from_slash) {
    static char buf[1 << 17];
    ssize_t n = slurp(path, buf, sizeof buf);
    for (char *l = buf; l < buf + n;) {
        char *e = memchr(l, '\n', buf + n - l);
        if (!e) e = buf + n;
        if (memmem(l, e - l, key, strlen(key))) {
            char *s = from_slash ? memchr(l, '/', e - l) : l;
            shown(path, s ? s : l, e - (s ? s : l));
        }
        l = e + 1;
    }
}

static void fd_link(int fd) {
    char path[64], target[512];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(path, target, sizeof target);
    if (n < 0) printf("readlink: %s\n", strerror(errno)); else shown("fd link", target, n);
}

static void maps_names(void) {
    const char *name = "/var/tmp/pysuites-maps-\xc0\x80-\xff-\n-tab\t-sp ace-\\-end";
    const char *moved = "/var/tmp/pysuites-maps-moved \xfe";
    unlink(name);
    unlink(moved);
    int fd = open(name, O_RDWR | O_CREAT | O_TRUNC, 0600);
    if (fd < 0 || ftruncate(fd, 4096)) { perror("create"); exit(1); }
    if (mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0) == MAP_FAILED) { perror("mmap"); exit(1); }
    lines_with("/proc/self/maps", "pysuites-maps", 1);
    fd_link(fd);
    if (rename(name, moved)) perror("rename");
    lines_with("/proc/self/maps", "pysuites-maps", 1);
    fd_link(fd);
    unlink(moved);
    lines_with("/proc/self/maps", "pysuites-maps", 1);
    lines_with("/proc/self/smaps", "pysuites-maps", 1);
    fd_link(fd);
}

static void comm_bytes(void) {
    static char buf[8192];
    prctl(PR_SET_NAME, "c\xc0\x80\xff\n\\ x");
    ssize_t n = slurp("/proc/self/stat", buf, sizeof buf);
    char *open_paren = strchr(buf, '('), *close_paren = strstr(buf, ") R ");
    if (n < 0 || !open_paren || !close_paren) { printf("stat unparsed\n"); return; }
    shown("stat comm", open_paren, close_paren + 1 - open_paren);
    n = slurp("/proc/self/status", buf, sizeof buf);
    shown("status", buf, (char *)memchr(buf, '\n', n) - buf);
    n = slurp("/proc/self/comm", buf, sizeof buf);
    shown("comm", buf, n);
}

/* Only the mount's own fields: ids and device numbers differ between the two kernels. */
static void mountinfo_fields(void) {
    static char buf[1 << 17];
    ssize_t n = slurp("/proc/self/mountinfo", buf, sizeof buf);
    for (char *l = strtok(buf, "\n"); n > 0 && l; l = strtok(NULL, "\n")) {
        if (!strstr(l, "pysuites-mnt")) continue;
        char *f[6] = {l};
        for (int i = 1; i < 6 && f[i - 1]; i++) {
            f[i] = strchr(f[i - 1], ' ');
            if (f[i]) f[i]++;
        }
        char *sep = strstr(l, " - ");
        if (!f[5] || !sep) continue;
        shown("mountinfo root, mount point", f[3], f[5] - 1 - f[3]);
        shown("mountinfo type, source", sep + 3, strcspn(sep + 3, " ") + 1 + strcspn(sep + 3 + strcspn(sep + 3, " ") + 1, " "));
    }
}

static void mount_names(void) {
    const char *dir = "/var/tmp/pysuites-mnt a\tb\\c\xc3\xa9";
    if (unshare(CLONE_NEWNS) || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL)) {
        perror("private mount namespace");
        exit(1);
    }
    mkdir(dir, 0755);
    if (mount("src x\\y", dir, "tmpfs", 0, "size=64k")) { perror("mount"); rmdir(dir); exit(1); }
    lines_with("/proc/self/mounts", "pysuites-mnt", 0);
    mountinfo_fields();
    umount(dir);
    rmdir(dir);
}

/* One SIOCETHTOOL query: its outcome and the first words the device filled in. */
static void ethtool_query(int s, const char *dev, unsigned cmd, const char *what, unsigned words) {
    unsigned buf[64] = {cmd};
    if (cmd == ETHTOOL_GFEATURES) buf[1] = 2;                          /* room for 2 blocks */
    if (cmd == ETHTOOL_GSSET_INFO) buf[2] = 1u << ETH_SS_FEATURES;     /* the feature strings' count */
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    strncpy(ifr.ifr_name, dev, IFNAMSIZ - 1);
    ifr.ifr_data = (void *)buf;
    int r = ioctl(s, SIOCETHTOOL, &ifr);
    printf("%s %s: %s;", dev, what, r ? strerror(errno) : "ok");
    for (unsigned i = 1; i <= words; i++) printf(" %x", buf[i]);
    printf("\n");
}

static void ethtool(void) {
    int s = socket(AF_INET, SOCK_DGRAM, 0);
#define Q(cmd, words) ethtool_query(s, "lo", cmd, #cmd, words)
    Q(ETHTOOL_GSET, 4); Q(ETHTOOL_GLINK, 1); Q(ETHTOOL_GDRVINFO, 8); Q(ETHTOOL_GLINKSETTINGS, 4);
    Q(ETHTOOL_GRINGPARAM, 4); Q(ETHTOOL_GTSO, 1); Q(ETHTOOL_GSG, 1); Q(ETHTOOL_GRXCSUM, 1);
    Q(ETHTOOL_GTXCSUM, 1); Q(ETHTOOL_GGSO, 1); Q(ETHTOOL_GGRO, 1); Q(ETHTOOL_GFLAGS, 1);
    Q(ETHTOOL_GCHANNELS, 4); Q(ETHTOOL_GET_TS_INFO, 2); Q(ETHTOOL_GCOALESCE, 4);
    Q(ETHTOOL_GPAUSEPARAM, 3); Q(ETHTOOL_GFEATURES, 9); Q(ETHTOOL_GSSET_INFO, 4);
    ethtool_query(s, "nosuch0", ETHTOOL_GSET, "ETHTOOL_GSET", 1);
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    strcpy(ifr.ifr_name, "nosuch0");
    ifr.ifr_data = (void *)8;
    int r = ioctl(s, SIOCETHTOOL, &ifr);
    printf("nosuch0, bad data: %s\n", r ? strerror(errno) : "ok");
    strcpy(ifr.ifr_name, "lo");
    r = ioctl(s, SIOCETHTOOL, &ifr);
    printf("lo, bad data: %s\n", r ? strerror(errno) : "ok");
    r = ioctl(s, SIOCETHTOOL, (void *)8);
    printf("bad ifreq: %s\n", r ? strerror(errno) : "ok");
    ethtool_query(socket(AF_UNIX, SOCK_DGRAM, 0), "lo", ETHTOOL_GLINK, "on an AF_UNIX socket, ETHTOOL_GLINK", 1);
}

/* utime, stime of /proc/self/stat in ticks. */
static void stat_times(long *ut, long *st) {
    char buf[4096];
    ssize_t n = slurp("/proc/self/stat", buf, sizeof buf);
    char *p = n > 0 ? strrchr(buf, ')') : NULL;
    *ut = *st = -1;
    if (p) sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %ld %ld", ut, st);
}

static long usec(struct timeval tv) { return tv.tv_sec * 1000000L + tv.tv_usec; }

/* Mixed user and system time for 3 s, every clock read often: count any step backwards. */
static void cpu_monotonic(void) {
    long prev[8] = {0}, now[8];
    int back[4] = {0};
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    volatile unsigned long spin = 0;
    do {
        for (int i = 0; i < 20000; i++) spin += i;   /* user time */
        getppid();                                    /* and system time */
        struct rusage self, thread;
        struct tms tm;
        getrusage(RUSAGE_SELF, &self);
        getrusage(RUSAGE_THREAD, &thread);
        times(&tm);
        stat_times(&now[0], &now[1]);
        now[2] = usec(self.ru_utime), now[3] = usec(self.ru_stime);
        now[4] = usec(thread.ru_utime), now[5] = usec(thread.ru_stime);
        now[6] = tm.tms_utime, now[7] = tm.tms_stime;
        for (int i = 0; i < 8; i++) {
            if (now[i] < prev[i]) back[i / 2]++;
            prev[i] = now[i];
        }
        clock_gettime(CLOCK_MONOTONIC, &t);
    } while (t.tv_sec - t0.tv_sec < 3);
    printf("steps back: /proc/self/stat %d, RUSAGE_SELF %d, RUSAGE_THREAD %d, times %d\n",
           back[0], back[1], back[2], back[3]);
}

/* A "name: N" line's N in a /proc file, -1 if missing. */
static long proc_field(const char *path, const char *name) {
    char buf[8192];
    if (slurp(path, buf, sizeof buf) < 0) return -1;
    char *p = strstr(buf, name);
    return p ? strtol(p + strlen(name), NULL, 10) : -1;
}

static void sleeps(int n) {
    for (int i = 0; i < n; i++) nanosleep(&(struct timespec){0, 1000000}, NULL);
}

static void ctx_switches(void) {
    struct rusage self0, thread0, self1, thread1, children, waited;
    long status0 = proc_field("/proc/self/status", "voluntary_ctxt_switches:");
    getrusage(RUSAGE_SELF, &self0);
    getrusage(RUSAGE_THREAD, &thread0);
    sleeps(10);
    long status1 = proc_field("/proc/self/status", "voluntary_ctxt_switches:");
    getrusage(RUSAGE_SELF, &self1);
    getrusage(RUSAGE_THREAD, &thread1);
    printf("10 sleeps counted: status %d, RUSAGE_SELF %d, RUSAGE_THREAD %d\n", status1 - status0 >= 10,
           self1.ru_nvcsw - self0.ru_nvcsw >= 10, thread1.ru_nvcsw - thread0.ru_nvcsw >= 10);
    pid_t c = fork();
    if (c == 0) {
        sleeps(5);
        _exit(0);
    }
    int st;
    wait4(c, &st, 0, &waited);
    getrusage(RUSAGE_CHILDREN, &children);
    printf("a child's 5 sleeps: wait4 %d, RUSAGE_CHILDREN %d\n", waited.ru_nvcsw >= 5, children.ru_nvcsw >= 5);
    printf("/proc/stat ctxt > 0: %d\n", proc_field("/proc/stat", "ctxt ") > 0);
}

static long free_mib(long *freeram_mib) {
    struct sysinfo si;
    sysinfo(&si);
    *freeram_mib = (long)(si.freeram * si.mem_unit >> 20);
    return proc_field("/proc/meminfo", "MemFree:") >> 10;
}

static void memfree_touched(void) {
    const size_t size = 1ul << 30;
    long ram0, ram1, ram2;
    long free0 = free_mib(&ram0);
    char *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) { perror("mmap"); exit(1); }
    long free1 = free_mib(&ram1);
    printf("1 GiB mapped, untouched: MemFree down < 512 MiB %d, freeram %d\n", free0 - free1 < 512, ram0 - ram1 < 512);
    for (size_t i = 0; i < size; i += 4096) p[i] = 1;
    long free2 = free_mib(&ram2);
    printf("touched: MemFree down >= 512 MiB %d, freeram %d\n", free0 - free2 >= 512, ram0 - ram2 >= 512);
    munmap(p, size);
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IONBF, 0);
    if (argc < 2) return 2;
    if (!strcmp(argv[1], "maps_names")) maps_names();
    else if (!strcmp(argv[1], "comm_bytes")) comm_bytes();
    else if (!strcmp(argv[1], "mount_names")) mount_names();
    else if (!strcmp(argv[1], "ethtool")) ethtool();
    else if (!strcmp(argv[1], "cpu_monotonic")) cpu_monotonic();
    else if (!strcmp(argv[1], "ctx_switches")) ctx_switches();
    else if (!strcmp(argv[1], "memfree_touched")) memfree_touched();
    else return 2;
    return 0;
}
