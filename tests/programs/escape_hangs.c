/* Hangs where Linux returns, and permission checks (differential; each mode one argument):
 *   udp-shutdown  a blocking UDP recv wakes with 0 after shutdown(SHUT_RD), from another thread
 *                 while it is blocked and afterwards; MSG_DONTWAIT still EAGAIN; data still arrives
 *   zero-dgram    0-byte datagrams (UDP, AF_UNIX dgram and seqpacket; send, sendto, write, writev)
 *                 are delivered as 0-byte messages: POLLIN, recv returns 0; read of 0 takes nothing
 *   proc-task     /proc/self/task/TID has no task/ and a depth-bounded walk of /proc/self ends
 *   fsize DIR     RLIMIT_FSIZE: write, pwrite, writev, ftruncate, fallocate, sendfile,
 *                 copy_file_range and splice give EFBIG and SIGXFSZ past it (short writes up to it)
 *   altstack-nest a handler nesting on the alternate stack until it is full: SIGSEGV
 *   altstack-small a frame that does not fit the alternate stack at all: SIGSEGV
 *   kill-perm     a child that dropped to nobody may not signal its root parent (kill, tkill,
 *                 tgkill, rt_sigqueueinfo, rt_tgsigqueueinfo; SIGCONT within the session may)
 *   raw           raw and packet sockets: socket() result (run as root, or "raw nobody")
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <ucontext.h>
#include <unistd.h>

#define SHOW(label, expr) do { errno = 0; long _r = (long)(expr); int _e = errno; \
    printf("%s: %ld %s\n", label, _r, _r < 0 ? strerrorname_np(_e) : "-"); } while (0)

/* --- udp-shutdown ------------------------------------------------------------------------ */
static int udp_fd;
static volatile int reader_blocked, shut_ret, shut_errno;
static volatile long woke_with = -2;

static void *shut_later(void *arg) {
    /* The reader is (about to be) blocked in recvfrom: wait until it is asleep in the kernel. */
    char path[64], state[256];
    snprintf(path, sizeof path, "/proc/self/task/%ld/stat", (long)arg);
    for (int i = 0; i < 20000; i++) {
        FILE *f = fopen(path, "r");
        if (f) {
            size_t n = fread(state, 1, sizeof state - 1, f);
            fclose(f);
            state[n] = 0;
            char *p = strrchr(state, ')');
            if (p && p[1] == ' ' && p[2] == 'S' && reader_blocked)
                break;
        }
        usleep(1000);
    }
    shut_ret = shutdown(udp_fd, SHUT_RD);
    shut_errno = errno;
    return NULL;
}

static void *blocked_reader(void *arg) {
    char b[8];
    reader_blocked = 1;
    long r = recvfrom(udp_fd, b, sizeof b, 0, NULL, NULL);
    woke_with = r;
    return NULL;
}

static int udp_bound(struct sockaddr_in *a) {
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in x = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t l = sizeof x;
    bind(s, (void *)&x, sizeof x);
    getsockname(s, (void *)&x, &l);
    if (a) *a = x;
    return s;
}

static int udp_shutdown(void) {
    struct sockaddr_in a;
    char b[8];
    udp_fd = udp_bound(&a);
    /* A reader thread blocks; another thread shuts the socket down for reading. */
    pid_t tid;
    pthread_t r, s;
    reader_blocked = 0;
    pthread_create(&r, NULL, blocked_reader, NULL);
    for (int i = 0; i < 5000 && !reader_blocked; i++) usleep(1000);
    /* the reader's tid: the newest entry of /proc/self/task */
    DIR *d = opendir("/proc/self/task");
    struct dirent *e;
    long newest = 0;
    while ((e = readdir(d)))
        if (atol(e->d_name) > newest) newest = atol(e->d_name);
    closedir(d);
    tid = newest;
    pthread_create(&s, NULL, shut_later, (void *)(long)tid);
    pthread_join(r, NULL);
    pthread_join(s, NULL);
    printf("shutdown(SHUT_RD) on unconnected udp: %d %s\n", shut_ret, shut_ret ? strerrorname_np(shut_errno) : "-");
    printf("blocked recvfrom woke: %ld\n", woke_with);
    SHOW("recvfrom after shutdown", recvfrom(udp_fd, b, sizeof b, 0, NULL, NULL));
    SHOW("recvfrom MSG_DONTWAIT after shutdown", recvfrom(udp_fd, b, sizeof b, MSG_DONTWAIT, NULL, NULL));
    struct pollfd p = {udp_fd, POLLIN | POLLRDHUP};
    SHOW("poll", poll(&p, 1, 0));
    printf("revents POLLIN=%d POLLRDHUP=%d\n", !!(p.revents & POLLIN), !!(p.revents & POLLRDHUP));
    int c = socket(AF_INET, SOCK_DGRAM, 0);
    SHOW("sendto after SHUT_RD", sendto(c, "xy", 2, 0, (void *)&a, sizeof a));
    SHOW("recvfrom gets the datagram", recvfrom(udp_fd, b, sizeof b, 0, NULL, NULL));
    /* A connected UDP socket shut down before the read. */
    int s2 = udp_bound(&a);
    connect(c, (void *)&a, sizeof a);
    SHOW("shutdown(SHUT_RDWR) connected udp", shutdown(c, SHUT_RDWR));
    SHOW("recv on it", recv(c, b, sizeof b, 0));
    SHOW("read on it", read(c, b, sizeof b));
    close(s2);
    return 0;
}

/* --- unix-shutdown: AF_UNIX message sockets after shutdown or close (EPIPE without SIGPIPE) ------ */
static volatile int pipes;
static void on_pipe(int sig) { pipes++; }
#define P(label, expr) do { pipes = 0; errno = 0; long _r = (long)(expr); int _e = errno; \
    printf("%s: %ld %s SIGPIPE=%d\n", label, _r, _r < 0 ? strerrorname_np(_e) : "-", pipes); } while (0)

static int unix_shutdown(void) {
    int sv[2];
    char b[4];
    signal(SIGPIPE, on_pipe);
    socketpair(AF_UNIX, SOCK_DGRAM, 0, sv);
    shutdown(sv[0], SHUT_WR);
    P("dgram send after own SHUT_WR", send(sv[0], "x", 1, 0));
    P("dgram write after own SHUT_WR", write(sv[0], "x", 1));
    socketpair(AF_UNIX, SOCK_DGRAM, 0, sv);
    shutdown(sv[1], SHUT_RD);
    P("dgram send to a peer shut for reading", send(sv[0], "x", 1, 0));
    P("dgram recv MSG_DONTWAIT after SHUT_RD", recv(sv[1], b, sizeof b, MSG_DONTWAIT));
    P("dgram recv after SHUT_RD", recv(sv[1], b, sizeof b, 0));
    socketpair(AF_UNIX, SOCK_DGRAM, 0, sv);
    close(sv[1]);
    P("dgram send to a closed peer", send(sv[0], "x", 1, 0));
    socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv);
    close(sv[1]);
    P("seqpacket send to a closed peer", send(sv[0], "x", 1, 0));
    P("seqpacket recv MSG_DONTWAIT, peer closed", recv(sv[0], b, sizeof b, MSG_DONTWAIT));
    socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv);
    shutdown(sv[0], SHUT_WR);
    P("seqpacket send after own SHUT_WR", send(sv[0], "x", 1, 0));
    socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv);
    shutdown(sv[1], SHUT_RD);
    P("seqpacket send to a peer shut for reading", send(sv[0], "x", 1, 0));
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    close(sv[1]);
    P("stream send to a closed peer", send(sv[0], "x", 1, 0));
    return 0;
}

/* --- zero-dgram -------------------------------------------------------------------------- */
static void expect_empty(const char *what, int rfd) {
    char b[4];
    struct pollfd p = {rfd, POLLIN};
    printf("%s: ", what);
    fflush(stdout);
    SHOW("poll", poll(&p, 1, 10000));
    SHOW("  recv", recv(rfd, b, sizeof b, 0));
    SHOW("  recv again (nothing left)", recv(rfd, b, sizeof b, MSG_DONTWAIT));
}

static int zero_dgram(void) {
    char b[4];
    struct sockaddr_in a;
    int u = udp_bound(&a), c = socket(AF_INET, SOCK_DGRAM, 0);
    SHOW("udp sendto 0", sendto(c, "", 0, 0, (void *)&a, sizeof a));
    expect_empty("udp sendto", u);
    SHOW("udp write unconnected", write(c, "", 0));
    connect(c, (void *)&a, sizeof a);
    SHOW("udp write 0", write(c, "", 0));
    expect_empty("udp write", u);
    struct iovec iv = {b, 0};
    struct pollfd none = {u, POLLIN};
    SHOW("udp writev 0 (sends nothing)", writev(c, &iv, 1));
    SHOW("  poll", poll(&none, 1, 0));
    SHOW("udp read of 0 bytes (empty queue)", read(u, b, 0));

    struct sockaddr_un un = {.sun_family = AF_UNIX};
    memcpy(un.sun_path, "\0escape-hangs", 13);
    socklen_t ul = offsetof(struct sockaddr_un, sun_path) + 13;
    int ud = socket(AF_UNIX, SOCK_DGRAM, 0), uc = socket(AF_UNIX, SOCK_DGRAM, 0);
    SHOW("unix dgram bind", bind(ud, (void *)&un, ul));
    SHOW("unix dgram sendto 0", sendto(uc, "", 0, 0, (void *)&un, ul));
    expect_empty("unix dgram sendto", ud);
    SHOW("unix dgram write unconnected", write(uc, "", 0));
    connect(uc, (void *)&un, ul);
    SHOW("unix dgram write 0", write(uc, "", 0));
    expect_empty("unix dgram write", ud);
    SHOW("unix dgram writev 0 (sends nothing)", writev(uc, &iv, 1));
    none.fd = ud;
    SHOW("  poll", poll(&none, 1, 0));
    SHOW("unix dgram read of 0 bytes (empty queue)", read(ud, b, 0));
    SHOW("unix dgram write 0 again", write(uc, "", 0));
    SHOW("unix dgram read of 0 bytes takes nothing", read(ud, b, 0));
    expect_empty("unix dgram still queued", ud);

    int sv[2];
    socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv);
    SHOW("seqpacket write 0", write(sv[0], "", 0));
    expect_empty("seqpacket write", sv[1]);
    SHOW("seqpacket send 0", send(sv[0], "", 0, 0));
    expect_empty("seqpacket send", sv[1]);
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    SHOW("stream write 0", write(sv[0], "", 0));
    struct pollfd p = {sv[1], POLLIN};
    SHOW("stream poll (nothing to read)", poll(&p, 1, 0));
    return 0;
}

/* --- proc-task ----------------------------------------------------------------------------- */
static int task_dirs, entries;

static void walk(const char *path, int depth) {
    DIR *d = opendir(path);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        entries++;
        if (e->d_type != DT_DIR) continue;
        if (!strcmp(e->d_name, "task")) task_dirs++;
        if (depth < 6 && strcmp(e->d_name, "fd") && strcmp(e->d_name, "fdinfo")) {
            char sub[4096];
            snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
            walk(sub, depth + 1);
        }
    }
    closedir(d);
}

static int proc_task(void) {
    char p[128];
    snprintf(p, sizeof p, "/proc/self/task/%d/task", getpid());
    SHOW("access(/proc/self/task/TID/task)", access(p, F_OK));
    snprintf(p, sizeof p, "/proc/self/task/%d/stat", getpid());
    SHOW("access(/proc/self/task/TID/stat)", access(p, F_OK));
    snprintf(p, sizeof p, "/proc/self/task/%d/fd", getpid());
    SHOW("access(/proc/self/task/TID/fd)", access(p, F_OK));
    snprintf(p, sizeof p, "/proc/%d/task", getpid());
    SHOW("access(/proc/PID/task)", access(p, F_OK));
    walk("/proc/self", 0);
    printf("task directories met in a walk of /proc/self (depth 6): %d\n", task_dirs);
    return 0;
}

/* --- fsize ------------------------------------------------------------------------------------- */
static volatile int xfsz;
static void on_xfsz(int sig) { xfsz++; }

#define FS(label, expr) do { xfsz = 0; errno = 0; long _r = (long)(expr); int _e = errno; \
    printf("%s: %ld %s SIGXFSZ=%d\n", label, _r, _r < 0 ? strerrorname_np(_e) : "-", xfsz); } while (0)

static int fsize(const char *dir) {
    char p[512], q[512], buf[64];
    snprintf(p, sizeof p, "%s/escape-fsize-dst", dir);
    snprintf(q, sizeof q, "%s/escape-fsize-src", dir);
    memset(buf, 'a', sizeof buf);
    int src = open(q, O_RDWR | O_CREAT | O_TRUNC, 0600);
    write(src, buf, 64);
    int fd = open(p, O_RDWR | O_CREAT | O_TRUNC, 0600);
    unlink(p);
    unlink(q);
    signal(SIGXFSZ, on_xfsz);
    struct rlimit rl = {16, RLIM_INFINITY};
    setrlimit(RLIMIT_FSIZE, &rl);
    FS("write 10", write(fd, buf, 10));
    FS("write 10 (6 fit)", write(fd, buf, 10));
    FS("write at the limit", write(fd, buf, 10));
    FS("write 0 at the limit", write(fd, buf, 0));
    FS("pwrite past", pwrite(fd, buf, 4, 20));
    FS("pwrite (2 fit)", pwrite(fd, buf, 4, 14));
    struct iovec iv[2] = {{buf, 4}, {buf, 4}};
    FS("pwritev at the limit", pwritev(fd, iv, 2, 16));
    lseek(fd, 16, SEEK_SET);
    FS("writev at the limit", writev(fd, iv, 2));
    char r[512];
    snprintf(r, sizeof r, "%s/escape-fsize-trunc", dir);
    close(open(r, O_WRONLY | O_CREAT | O_TRUNC, 0600));
    FS("truncate past", truncate(r, 17));
    FS("truncate to the limit", truncate(r, 16));
    unlink(r);
    FS("ftruncate past", ftruncate(fd, 17));
    FS("ftruncate to the limit", ftruncate(fd, 16));
    FS("ftruncate shorter", ftruncate(fd, 16));
    off_t o = 0;
    FS("fallocate past", fallocate(fd, 0, 10, 10));
    FS("fallocate KEEP_SIZE past (tmpfs: refused too)", fallocate(fd, FALLOC_FL_KEEP_SIZE, 10, 10));
    FS("fallocate PUNCH_HOLE past", fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 10, 10));
    o = 0;
    lseek(fd, 12, SEEK_SET);
    FS("sendfile (4 fit)", sendfile(fd, src, &o, 8));
    printf("  source offset %ld\n", (long)o);
    lseek(fd, 16, SEEK_SET);
    FS("sendfile at the limit", sendfile(fd, src, &o, 8));
    loff_t oi = 0, oo = 16;
    FS("copy_file_range at the limit", copy_file_range(src, &oi, fd, &oo, 8, 0));
    oi = 0, oo = 12;
    FS("copy_file_range (4 fit)", copy_file_range(src, &oi, fd, &oo, 8, 0));
    int pp[2];
    pipe(pp);
    write(pp[1], buf, 8);
    oo = 16;
    FS("splice at the limit", splice(pp[0], NULL, fd, &oo, 8, SPLICE_F_NONBLOCK));
    oo = 14;
    FS("splice (2 fit)", splice(pp[0], NULL, fd, &oo, 8, SPLICE_F_NONBLOCK));
    FS("pipe keeps the rest", read(pp[0], buf, sizeof buf));
    FS("size", lseek(fd, 0, SEEK_END));
    int ap = open(p, O_WRONLY | O_CREAT | O_APPEND, 0600);
    unlink(p);
    FS("O_APPEND write 20 (16 fit)", write(ap, buf, 20));
    FS("O_APPEND write at the limit", write(ap, buf, 1));
    signal(SIGXFSZ, SIG_IGN);
    FS("pwrite past, SIGXFSZ ignored", pwrite(fd, buf, 4, 100));
    /* Not regular files: no limit. */
    int pq[2];
    pipe(pq);
    signal(SIGXFSZ, on_xfsz);
    FS("pipe write past the limit", write(pq[1], buf, 40));
    signal(SIGXFSZ, SIG_DFL);
    fflush(stdout);
    pwrite(fd, buf, 4, 100);   /* the default action: death by SIGXFSZ */
    printf("still alive\n");
    return 0;
}

/* --- altstack -------------------------------------------------------------------------------- */
static char *alt;
static size_t alt_size;
static volatile int depth;

static void nest(int sig) {
    char local;
    if ((char *)&local < alt || (char *)&local >= alt + alt_size) {
        /* Linux never lets a frame leave the alternate stack. */
        printf("handler ran below the alternate stack at depth %d\n", depth);
        fflush(stdout);
        _exit(3);
    }
    depth++;
    raise(SIGUSR1);
}

static int altstack(int small) {
    /* The alternate stack sits at the top of a larger mapping, so running past its bottom
     * is not itself a fault. */
    size_t region = 8 << 20;
    char *m = mmap(NULL, region, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    /* small: 2048 bytes (the kernel's MINSIGSTKSZ, the least sigaltstack takes), less than one
     * frame with this CPU's XSAVE area; otherwise 64 KiB that nesting fills up. */
    alt_size = small ? 2048 : 64 * 1024;
    alt = m + region - alt_size;
    stack_t ss = {.ss_sp = alt, .ss_size = alt_size, .ss_flags = 0};
    SHOW("sigaltstack", sigaltstack(&ss, NULL));
    struct sigaction sa = {.sa_handler = nest, .sa_flags = SA_ONSTACK | SA_NODEFER};
    sigaction(SIGUSR1, &sa, NULL);
    fflush(stdout);
    raise(SIGUSR1);
    printf("returned\n");
    return 0;
}

/* --- altstack-readonly: a frame that cannot be written forces SIGSEGV (force_sigsegv) ------------- */
static volatile int segv_code = -1;

static void on_segv(int sig, siginfo_t *si, void *uc) { segv_code = si->si_code; }

static int altstack_readonly(int segv_onstack) {
    /* SIGUSR1's handler runs on an alternate stack the process may only read: its frame cannot
     * be written, so SIGUSR1 is dropped and SIGSEGV forced; SIGSEGV's handler runs on the
     * ordinary stack (the process lives on), or, itself on that stack, cannot run (it dies). */
    static char stack_area[64 * 1024] __attribute__((aligned(4096)));
    stack_t ss = {.ss_sp = stack_area, .ss_size = sizeof stack_area};
    SHOW("sigaltstack", sigaltstack(&ss, NULL));
    struct sigaction sa = {.sa_sigaction = on_segv, .sa_flags = SA_SIGINFO | (segv_onstack ? SA_ONSTACK : 0)};
    sigaction(SIGSEGV, &sa, NULL);
    struct sigaction usr = {.sa_handler = nest, .sa_flags = SA_ONSTACK};
    sigaction(SIGUSR1, &usr, NULL);
    SHOW("mprotect", mprotect(stack_area, sizeof stack_area, PROT_READ));
    fflush(stdout);
    SHOW("raise", raise(SIGUSR1));
    printf("returned: SIGSEGV handler ran with si_code %#x\n", segv_code);
    return 0;
}

/* --- altstack-flags: what a handler's uc_stack says, and SS_AUTODISARM ------------------------------ */
#ifndef SS_AUTODISARM
#define SS_AUTODISARM (1U << 31)
#endif

static void show_stack(int sig, siginfo_t *si, void *ucp) {
    ucontext_t *uc = ucp;
    stack_t cur;
    sigaltstack(NULL, &cur);
    printf("  handler: uc_stack flags=%#x size=%zu; sigaltstack now flags=%#x size=%zu\n",
           (unsigned)uc->uc_stack.ss_flags, uc->uc_stack.ss_size, (unsigned)cur.ss_flags, cur.ss_size);
}

static void deliver(const char *what, int onstack) {
    struct sigaction sa = {.sa_sigaction = show_stack, .sa_flags = SA_SIGINFO | (onstack ? SA_ONSTACK : 0)};
    sigaction(SIGUSR1, &sa, NULL);
    printf("%s\n", what);
    raise(SIGUSR1);
    stack_t cur;
    sigaltstack(NULL, &cur);
    printf("  after: flags=%#x size=%zu\n", (unsigned)cur.ss_flags, cur.ss_size);
}

static int altstack_flags(void) {
    static char mem[65536];
    stack_t ss = {.ss_sp = mem, .ss_size = sizeof mem, .ss_flags = 0};
    SHOW("sigaltstack", sigaltstack(&ss, NULL));
    deliver("plain, SA_ONSTACK", 1);
    deliver("plain, no SA_ONSTACK", 0);
    ss.ss_flags = SS_AUTODISARM;
    SHOW("sigaltstack SS_AUTODISARM", sigaltstack(&ss, NULL));
    stack_t cur;
    sigaltstack(NULL, &cur);
    printf("  set: flags=%#x size=%zu\n", (unsigned)cur.ss_flags, cur.ss_size);
    deliver("autodisarm, SA_ONSTACK", 1);
    deliver("autodisarm, no SA_ONSTACK", 0);
    return 0;
}

/* --- kill-perm ------------------------------------------------------------------------------- */
static int kill_perm(void) {
    pid_t parent = getpid();
    int ready[2];
    pipe(ready);
    pid_t child = fork();
    if (child == 0) {
        if (setgroups(0, NULL) || setresgid(65534, 65534, 65534) || setresuid(65534, 65534, 65534)) {
            perror("drop");
            _exit(2);
        }
        sigset_t usr1;
        sigemptyset(&usr1);
        sigaddset(&usr1, SIGUSR1);
        sigprocmask(SIG_BLOCK, &usr1, NULL);   /* kill(0) reaches this child too */
        siginfo_t si = {0};
        si.si_code = SI_QUEUE;
        SHOW("kill(parent, 0)", kill(parent, 0));
        SHOW("kill(parent, SIGUSR1)", kill(parent, SIGUSR1));
        SHOW("tkill(parent, SIGUSR1)", syscall(SYS_tkill, parent, SIGUSR1));
        SHOW("tgkill(parent, parent, SIGUSR1)", syscall(SYS_tgkill, parent, parent, SIGUSR1));
        SHOW("rt_sigqueueinfo(parent, SIGUSR1)", syscall(SYS_rt_sigqueueinfo, parent, SIGUSR1, &si));
        SHOW("rt_tgsigqueueinfo(parent, parent, SIGUSR1)",
             syscall(SYS_rt_tgsigqueueinfo, parent, parent, SIGUSR1, &si));
        SHOW("kill(0, SIGUSR1) (own group)", kill(0, SIGUSR1));
        SHOW("kill(parent, SIGCONT) (same session)", kill(parent, SIGCONT));
        SHOW("tkill(self, 0)", syscall(SYS_tkill, getpid(), 0));
        fflush(stdout);
        _exit(0);
    }
    int st;
    waitpid(child, &st, 0);
    printf("child exited %d\n", WEXITSTATUS(st));
    /* Root (CAP_KILL) may signal a process of another user. */
    child = fork();
    if (child == 0) {
        setresuid(65534, 65534, 65534);
        pause();
        _exit(0);
    }
    SHOW("root tkill(child, SIGKILL)", syscall(SYS_tkill, child, SIGKILL));
    waitpid(child, &st, 0);
    printf("child killed by %d\n", WIFSIGNALED(st) ? WTERMSIG(st) : 0);
    return 0;
}

/* --- raw -------------------------------------------------------------------------------------- */
static int raw(int as_nobody) {
    if (as_nobody && (setgroups(0, NULL) || setresgid(65534, 65534, 65534) || setresuid(65534, 65534, 65534))) {
        perror("drop");
        return 2;
    }
    SHOW("socket(AF_INET, SOCK_RAW, IPPROTO_RAW)", socket(AF_INET, SOCK_RAW, IPPROTO_RAW));
    SHOW("socket(AF_INET, SOCK_RAW, IPPROTO_UDP)", socket(AF_INET, SOCK_RAW, IPPROTO_UDP));
    SHOW("socket(AF_INET, SOCK_RAW, IPPROTO_ICMP)", socket(AF_INET, SOCK_RAW, IPPROTO_ICMP));
    SHOW("socket(AF_INET6, SOCK_RAW, IPPROTO_RAW)", socket(AF_INET6, SOCK_RAW, IPPROTO_RAW));
    SHOW("socket(AF_PACKET, SOCK_RAW, 0)", socket(AF_PACKET, SOCK_RAW, 0));
    SHOW("socket(AF_PACKET, SOCK_DGRAM, 0)", socket(AF_PACKET, SOCK_DGRAM, 0));
    return 0;
}

static int ping_socket(int as_nobody) {
    if (as_nobody && (setgroups(0, NULL) || setresgid(65534, 65534, 65534) || setresuid(65534, 65534, 65534))) {
        perror("drop");
        return 2;
    }
    SHOW("socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP)", socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP) >= 0 ? 0 : -1);
    SHOW("socket(AF_INET6, SOCK_DGRAM, IPPROTO_ICMPV6)", socket(AF_INET6, SOCK_DGRAM, IPPROTO_ICMPV6) >= 0 ? 0 : -1);
    return 0;
}

/* Socket options and control messages Linux keeps to CAP_NET_RAW / CAP_NET_ADMIN holders. */
static int privileged_opts(int as_nobody) {
    if (as_nobody && (setgroups(0, NULL) || setresgid(65534, 65534, 65534) || setresuid(65534, 65534, 65534))) {
        perror("drop");
        return 2;
    }
    int s = socket(AF_INET, SOCK_DGRAM, 0), s6 = socket(AF_INET6, SOCK_DGRAM, 0);
    int v = 7;
    SHOW("SO_PRIORITY 7", setsockopt(s, SOL_SOCKET, SO_PRIORITY, &v, 4));
    v = 6;
    SHOW("SO_PRIORITY 6", setsockopt(s, SOL_SOCKET, SO_PRIORITY, &v, 4));
    v = -1;
    SHOW("SO_PRIORITY -1", setsockopt(s, SOL_SOCKET, SO_PRIORITY, &v, 4));
    unsigned char hop[8] = {0, 0, 1, 4, 0, 0, 0, 0};
    SHOW("IPV6_HOPOPTS", setsockopt(s6, IPPROTO_IPV6, IPV6_HOPOPTS, hop, 8));
    SHOW("IPV6_DSTOPTS", setsockopt(s6, IPPROTO_IPV6, IPV6_DSTOPTS, hop, 8));
    SHOW("IPV6_RTHDRDSTOPTS", setsockopt(s6, IPPROTO_IPV6, IPV6_RTHDRDSTOPTS, hop, 8));
    v = 1;
    SHOW("SO_MARK", setsockopt(s, SOL_SOCKET, SO_MARK, &v, 4));
    v = 1 << 20;
    SHOW("SO_SNDBUFFORCE", setsockopt(s, SOL_SOCKET, SO_SNDBUFFORCE, &v, 4));
    SHOW("SO_RCVBUFFORCE", setsockopt(s, SOL_SOCKET, SO_RCVBUFFORCE, &v, 4));
    /* IPV6_HOPOPTS as a control message of one datagram, to ::1 */
    int r6 = socket(AF_INET6, SOCK_DGRAM, 0);
    struct sockaddr_in6 a6 = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT};
    socklen_t l6 = sizeof a6;
    bind(r6, (void *)&a6, sizeof a6);
    getsockname(r6, (void *)&a6, &l6);
    union { char buf[CMSG_SPACE(8)]; struct cmsghdr align; } cb;
    memset(&cb, 0, sizeof cb);
    struct iovec iov = {"x", 1};
    struct msghdr m = {.msg_name = &a6, .msg_namelen = sizeof a6, .msg_iov = &iov, .msg_iovlen = 1,
                       .msg_control = cb.buf, .msg_controllen = sizeof cb.buf};
    struct cmsghdr *c = CMSG_FIRSTHDR(&m);
    c->cmsg_level = IPPROTO_IPV6;
    c->cmsg_type = IPV6_HOPOPTS;
    c->cmsg_len = CMSG_LEN(8);
    memcpy(CMSG_DATA(c), hop, 8);
    SHOW("sendmsg with an IPV6_HOPOPTS cmsg", sendmsg(s6, &m, 0));
    return 0;
}

/* An ICMP echo to 127.0.0.1 over a raw socket, and its reply (loopback only; bounded by a timeout). */
static int raw_ping(void) {
    int s = socket(AF_INET, SOCK_RAW, IPPROTO_ICMP);
    if (s < 0) {
        printf("socket: %s\n", strerrorname_np(errno));
        return 1;
    }
    struct timeval tv = {10, 0};
    setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    unsigned char pkt[16] = {8, 0, 0, 0, 0x12, 0x34, 0, 1, 'p', 'i', 'n', 'g'};
    uint32_t sum = 0;
    for (int i = 0; i < 16; i += 2) sum += pkt[i] << 8 | pkt[i + 1];
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    sum = ~sum & 0xffff;
    pkt[2] = sum >> 8, pkt[3] = sum & 0xff;
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    SHOW("sendto 127.0.0.1", sendto(s, pkt, sizeof pkt, 0, (void *)&to, sizeof to));
    for (int i = 0; i < 16; i++) {
        unsigned char in[256];
        long n = recv(s, in, sizeof in, 0);
        if (n < 0) {
            printf("recv: %s\n", strerrorname_np(errno));
            return 1;
        }
        int ihl = (in[0] & 15) * 4;
        if (n >= ihl + 8 && in[ihl] == 0 && in[ihl + 4] == 0x12 && in[ihl + 5] == 0x34) {
            printf("echo reply from 127.0.0.1, %ld bytes of ICMP\n", n - ihl);
            return 0;
        }
    }
    printf("no reply\n");
    return 1;
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc < 2) return 2;
    const char *m = argv[1];
    if (!strcmp(m, "udp-shutdown")) return udp_shutdown();
    if (!strcmp(m, "zero-dgram")) return zero_dgram();
    if (!strcmp(m, "unix-shutdown")) return unix_shutdown();
    if (!strcmp(m, "proc-task")) return proc_task();
    if (!strcmp(m, "fsize")) return fsize(argc > 2 ? argv[2] : "/dev/shm");
    if (!strcmp(m, "altstack-nest")) return altstack(0);
    if (!strcmp(m, "altstack-small")) return altstack(1);
    if (!strcmp(m, "altstack-flags")) return altstack_flags();
    if (!strcmp(m, "altstack-readonly")) return altstack_readonly(0);
    if (!strcmp(m, "altstack-readonly-segv")) return altstack_readonly(1);
    if (!strcmp(m, "kill-perm")) return kill_perm();
    if (!strcmp(m, "raw-ping")) return raw_ping();
    if (!strcmp(m, "privileged-opts")) return privileged_opts(argc > 2 && !strcmp(argv[2], "nobody"));
    if (!strcmp(m, "ping-socket")) return ping_socket(argc > 2 && !strcmp(argv[2], "nobody"));
    if (!strcmp(m, "raw")) return raw(argc > 2 && !strcmp(argv[2], "nobody"));
    return 2;
}
