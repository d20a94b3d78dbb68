/* /proc/PID/mem, /proc/PID/pagemap and /proc/PID/ns (differential): a child's memory read and
 * written through mem, EIO where nothing is mapped, writes forced through read-only pages, ptrace's
 * access rules (other uid, not dumpable), pagemap's reading rules and present bits, ns link format. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define PAGE 4096L

static char buf[64] = "the child's data";

/* What a call returned, and errno when it failed (read after the call, not in the same printf). */
static void show(const char *what, long r) { printf("%s: %ld errno=%d\n", what, r, r < 0 ? errno : 0); }

static int open_mem(pid_t pid, const char *file, int flags) {
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/%s", pid, file);
    return open(path, flags);
}

/* A child that waits for a byte on `go`, prints what `buf` and `ro` hold, and exits. */
static pid_t waiting_child(int go, char *ro) {
    pid_t pid = fork();
    if (pid == 0) {
        char c;
        if (read(go, &c, 1) != 1) _exit(9);
        printf("child sees: buf=\"%s\" ro=\"%s\"\n", buf, ro);
        fflush(stdout);
        _exit(0);
    }
    return pid;
}

static void mem_rules(void) {
    char *ro = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    strcpy(ro, "read-only page");
    mprotect(ro, PAGE, PROT_READ);
    /* two pages, the second unmapped: a read across the end is short */
    char *edge = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    munmap(edge + PAGE, PAGE);
    memset(edge, 'e', PAGE);
    int p[2];
    pipe(p);
    pid_t pid = waiting_child(p[0], ro);
    strcpy(buf, "the parent changed its own copy");   /* the child keeps the old one */
    int fd = open_mem(pid, "mem", O_RDWR);
    printf("open child mem: %d\n", fd >= 0);
    char got[64] = {0};
    printf("pread buf: %zd \"%s\"\n", pread(fd, got, 16, (off_t)(uintptr_t)buf), got);
    printf("pwrite buf: %zd\n", pwrite(fd, "written by parent", 18, (off_t)(uintptr_t)buf));
    printf("pwrite read-only page: %zd\n", pwrite(fd, "forced", 6, (off_t)(uintptr_t)ro));
    show("pread at 0", pread(fd, got, 8, 0));
    show("pwrite at 0", pwrite(fd, got, 8, 0));
    static char big[2 * PAGE];
    printf("pread across the end of a mapping: %zd\n", pread(fd, big, 2 * PAGE, (off_t)(uintptr_t)edge));
    lseek(fd, (off_t)(uintptr_t)buf, SEEK_SET);
    memset(got, 0, sizeof got);
    printf("read at lseek: %zd \"%s\"\n", read(fd, got, 17), got);
    close(fd);
    write(p[1], "g", 1);
    int st;
    waitpid(pid, &st, 0);
    printf("child exit %d\n", WEXITSTATUS(st));
}

/* As an unprivileged user: a child of the same uid is readable unless it is not dumpable;
 * a root process is not. */
static void access_rules(void) {
    pid_t root_pid = getpid();
    pid_t worker = fork();
    if (worker == 0) {
        if (setresgid(65534, 65534, 65534) || setresuid(65534, 65534, 65534)) _exit(8);
        printf("dumpable after setresuid: %d\n", prctl(PR_GET_DUMPABLE));
        show("own mem while not dumpable", open_mem(getpid(), "mem", O_RDONLY));
        prctl(PR_SET_DUMPABLE, 1);
        int p[2], q[2];
        pipe(p);
        pipe(q);
        pid_t kid = fork();
        if (kid == 0) {
            char c;
            write(q[1], "k", 1);
            read(p[0], &c, 1);
            _exit(0);
        }
        char c;
        read(q[0], &c, 1);
        int fd = open_mem(kid, "mem", O_RDONLY);
        printf("same uid, dumpable (inherited by fork): %d\n", fd >= 0);
        char got[16] = {0};
        printf("  pread: %zd \"%s\"\n", pread(fd, got, 9, (off_t)(uintptr_t)buf), got);
        close(fd);
        fd = open_mem(root_pid, "mem", O_RDONLY);
        show("root's mem", fd);
        fd = open_mem(root_pid, "pagemap", O_RDONLY);
        show("root's pagemap", fd);
        char link[64];
        snprintf(link, sizeof link, "/proc/%d/ns/net", root_pid);
        show("root's ns/net readlink", readlink(link, got, sizeof got));
        write(p[1], "x", 1);
        waitpid(kid, NULL, 0);

        /* a child that makes itself not dumpable */
        kid = fork();
        if (kid == 0) {
            prctl(PR_SET_DUMPABLE, 0);
            write(q[1], "k", 1);
            read(p[0], &c, 1);
            _exit(0);
        }
        read(q[0], &c, 1);
        fd = open_mem(kid, "mem", O_RDONLY);
        show("same uid, not dumpable", fd);
        fd = open_mem(getpid(), "mem", O_RDONLY);
        printf("own mem: %d\n", fd >= 0);
        /* pagemap as an unprivileged reader: no PFN */
        uint64_t e = 0;
        int pm = open("/proc/self/pagemap", O_RDONLY);
        buf[0] = 'x';
        pread(pm, &e, 8, (off_t)((uintptr_t)buf / PAGE * 8));
        printf("unprivileged pagemap: present=%d pfn=%llx\n", (int)(e >> 63), (unsigned long long)(e & ((1ULL << 55) - 1)));
        write(p[1], "x", 1);
        waitpid(kid, NULL, 0);
        fflush(stdout);
        _exit(0);
    }
    int st;
    waitpid(worker, &st, 0);
    printf("worker exit %d\n", WEXITSTATUS(st));
}

static void pagemap_rules(void) {
    int fd = open("/proc/self/pagemap", O_RDONLY);
    char *m = mmap(NULL, 3 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    munmap(m + 2 * PAGE, PAGE);
    m[0] = 1;                         /* page 0 touched, page 1 not, page 2 unmapped */
    uint64_t e[3];
    off_t at = (off_t)((uintptr_t)m / PAGE * 8);
    printf("pagemap read: %zd\n", pread(fd, e, sizeof e, at));
    printf("touched: present=%d exclusive=%d; untouched=%llx; unmapped=%llx\n", (int)(e[0] >> 63),
           (int)(e[0] >> 56 & 1), (unsigned long long)e[1], (unsigned long long)e[2]);
    show("misaligned offset", pread(fd, e, 8, at + 4));
    show("misaligned count", pread(fd, e, 12, at));
    printf("past the user address space: %zd\n", pread(fd, e, 8, (off_t)((1ULL << 47) / PAGE * 8)));
    struct stat st;
    fstat(fd, &st);
    printf("size %lld mode %o\n", (long long)st.st_size, st.st_mode & 0777);
    close(fd);
}

static void ns_links(void) {
    const char *names[] = {"cgroup", "ipc", "mnt", "net", "pid", "pid_for_children", "user", "uts"};
    unsigned long inos[8];
    for (int i = 0; i < 8; i++) {
        char path[64], target[64] = {0}, kind[32];
        snprintf(path, sizeof path, "/proc/self/ns/%s", names[i]);
        ssize_t n = readlink(path, target, sizeof target - 1);
        unsigned long num = 0;
        struct stat st, lst;
        int ok = n > 0 && sscanf(target, "%31[a-z]:[%lu]", kind, &num) == 2 && target[n - 1] == ']';
        stat(path, &st);
        lstat(path, &lst);
        inos[i] = st.st_ino;
        printf("%s: format=%d kind=%s stat-ino=link-number:%d link-mode=%o\n", names[i], ok, ok ? kind : "?",
               st.st_ino == num, lst.st_mode & 07777);
    }
    int distinct = 1;
    for (int i = 0; i < 8; i++)
        for (int j = i + 1; j < 8; j++)
            if (inos[i] == inos[j] && !(i == 4 && j == 5)) distinct = 0;
    printf("distinct per type: %d, pid_for_children is pid: %d\n", distinct, inos[4] == inos[5]);
    int fd = open("/proc/self/ns/net", O_RDONLY);
    char c;
    printf("open ns: %d\n", fd >= 0);
    show("read ns", read(fd, &c, 1));
}

/* A write through mem into a read-only private file mapping (as a debugger's breakpoint) changes
 * that process's copy only: the file, and every other mapping of it, keep their bytes. */
static void private_file_mapping(void) {
    char path[] = "/tmp/proc_mem_XXXXXX";
    int file = mkstemp(path);
    unlink(path);
    char page[PAGE];
    memset(page, 'f', PAGE);
    memcpy(page, "file bytes", 10);
    write(file, page, PAGE);
    char *text = mmap(NULL, PAGE, PROT_READ | PROT_EXEC, MAP_PRIVATE, file, 0);
    char *other = mmap(NULL, PAGE, PROT_READ, MAP_SHARED, file, 0);
    /* The child spins in its own code meanwhile (no syscall): the copy it gets is mapped into
     * a process that is running, not waiting in the kernel. */
    volatile int *go = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    pid_t pid = fork();
    if (pid == 0) {
        *go = 1;
        while (*go != 2)
            ;
        printf("child's private mapping: \"%.10s\"\n", text);
        _exit(0);
    }
    while (*go != 1)
        ;
    int fd = open_mem(pid, "mem", O_RDWR);
    printf("pwrite into a read-only private file mapping: %zd\n",
           pwrite(fd, "BREAKPOINT", 10, (off_t)(uintptr_t)text));
    close(fd);
    *go = 2;
    int st;
    waitpid(pid, &st, 0);
    char back[11] = {0};
    pread(file, back, 10, 0);
    printf("file after: \"%s\" shared mapping: \"%.10s\" own private mapping: \"%.10s\"\n",
           back, other, text);
    munmap(text, PAGE);
    munmap(other, PAGE);
    munmap((void *)go, PAGE);
    close(file);
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    mem_rules();
    private_file_mapping();
    access_rules();
    pagemap_rules();
    ns_links();
    return 0;
}
