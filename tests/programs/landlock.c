/* Landlock, run natively and in the sandbox (tests/test_landlock.py): each section builds a fresh
 * tree in a directory of its own under /tmp, forks a child that restricts itself and tries things,
 * and prints what each attempt gave (ok or the errno's name), never a path or a pid. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

/* <linux/landlock.h> as of ABI 7 (the build host's headers may be older) */
struct ll_ruleset_attr { unsigned long long handled_access_fs, handled_access_net, scoped; };
struct ll_path_beneath_attr { unsigned long long allowed_access; int parent_fd; } __attribute__((packed));
struct ll_net_port_attr { unsigned long long allowed_access, port; };
#define LANDLOCK_CREATE_RULESET_VERSION 1
#define LANDLOCK_RULE_PATH_BENEATH 1
#define LANDLOCK_RULE_NET_PORT 2
#define LANDLOCK_ACCESS_FS_EXECUTE (1ULL << 0)
#define LANDLOCK_ACCESS_FS_WRITE_FILE (1ULL << 1)
#define LANDLOCK_ACCESS_FS_READ_FILE (1ULL << 2)
#define LANDLOCK_ACCESS_FS_READ_DIR (1ULL << 3)
#define LANDLOCK_ACCESS_FS_REMOVE_DIR (1ULL << 4)
#define LANDLOCK_ACCESS_FS_REMOVE_FILE (1ULL << 5)
#define LANDLOCK_ACCESS_FS_MAKE_DIR (1ULL << 7)
#define LANDLOCK_ACCESS_FS_MAKE_REG (1ULL << 8)
#define LANDLOCK_ACCESS_FS_REFER (1ULL << 13)
#define LANDLOCK_ACCESS_FS_IOCTL_DEV (1ULL << 15)
#define LANDLOCK_ACCESS_NET_BIND_TCP (1ULL << 0)
#define LANDLOCK_ACCESS_NET_CONNECT_TCP (1ULL << 1)
#define LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET (1ULL << 0)
#define LANDLOCK_SCOPE_SIGNAL (1ULL << 1)
#ifndef SYS_landlock_create_ruleset
#define SYS_landlock_create_ruleset 444
#define SYS_landlock_add_rule 445
#define SYS_landlock_restrict_self 446
#endif

#define ALL_FS_V3 ((1ULL << 15) - 1)
#define ALL_FS_V5 ((1ULL << 16) - 1)

static const char *self_path;

static const char *ename(int e) {
    switch (e) {
    case 0: return "ok";
    case EACCES: return "EACCES"; case EPERM: return "EPERM"; case EXDEV: return "EXDEV";
    case EINVAL: return "EINVAL"; case E2BIG: return "E2BIG"; case EFAULT: return "EFAULT";
    case EBADF: return "EBADF"; case EBADFD: return "EBADFD"; case ENOMSG: return "ENOMSG";
    case ENOTTY: return "ENOTTY"; case ENOENT: return "ENOENT"; case EISDIR: return "EISDIR";
    case ENOTDIR: return "ENOTDIR"; case ECONNREFUSED: return "ECONNREFUSED";
    case EAFNOSUPPORT: return "EAFNOSUPPORT"; case EOPNOTSUPP: return "EOPNOTSUPP";
    default: { static char b[32]; snprintf(b, sizeof b, "errno %d", e); return b; }
    }
}

/* Print LABEL and what RET (a syscall's result, -1 with errno on failure) means; closes an fd
 * when CLOSE_FD says RET is one. */
static long report(const char *label, long ret, int close_fd) {
    int e = ret < 0 ? errno : 0;
    printf("%s: %s\n", label, ename(e));
    if (ret >= 0 && close_fd) close((int)ret);
    fflush(stdout);
    return ret;
}
#define TRY(label, expr) (errno = 0, report(label, (long)(expr), 0))
#define TRYFD(label, expr) (errno = 0, report(label, (long)(expr), 1))

static long create_ruleset(unsigned long long fs, unsigned long long net, unsigned long long scoped) {
    struct ll_ruleset_attr a = {.handled_access_fs = fs, .handled_access_net = net, .scoped = scoped};
    return syscall(SYS_landlock_create_ruleset, &a, sizeof a, 0);
}

static long add_path(int rs, const char *path, unsigned long long access) {
    struct ll_path_beneath_attr pb = {.allowed_access = access, .parent_fd = open(path, O_PATH)};
    long r = syscall(SYS_landlock_add_rule, rs, LANDLOCK_RULE_PATH_BENEATH, &pb, 0);
    int e = errno;
    close(pb.parent_fd);
    errno = e;
    return r;
}

static long add_port(int rs, unsigned long long port, unsigned long long access) {
    struct ll_net_port_attr np = {.allowed_access = access, .port = port};
    return syscall(SYS_landlock_add_rule, rs, LANDLOCK_RULE_NET_PORT, &np, 0);
}

static void enforce(int rs) {
    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
    if (syscall(SYS_landlock_restrict_self, rs, 0)) { perror("restrict_self"); exit(90); }
    close(rs);
}

static void put(const char *path, const char *text) {
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0 || write(fd, text, strlen(text)) < 0) { perror(path); exit(91); }
    close(fd);
}

/* The tree every section starts from, in the current directory. */
static void make_tree(void) {
    const char *dirs[] = {"ro", "ro/sub", "rw", "rw/d0", "rw2", "rw3", "wo", "out", NULL};
    for (int i = 0; dirs[i]; i++) mkdir(dirs[i], 0755);
    put("ro/f", "hello"); put("rw/f", "rw"); put("rw/g", "g"); put("rw/t", "truncate me");
    put("wo/f", "write only"); put("rw2/x", "x"); put("rw3/x", "x"); put("out/f", "outside");
}

/* --- sections ------------------------------------------------------------------------------ */
static void sec_version(void) {
    TRY("version 7", syscall(SYS_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION) == 7 ? 0 : -1);
    long errata = syscall(SYS_landlock_create_ruleset, NULL, 0, 2 /* LANDLOCK_CREATE_RULESET_ERRATA */);
    printf("errata: %ld\n", errata);
}

static void sec_fs(void) {
    int before = open("out/f", O_RDWR);
    int rs = create_ruleset(ALL_FS_V3, 0, 0);
    unsigned long long all = ALL_FS_V3;
    TRY("rule ro", add_path(rs, "ro", LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR));
    TRY("rule rw", add_path(rs, "rw", all));
    TRY("rule rw2", add_path(rs, "rw2", all));
    TRY("rule rw3 (no refer)", add_path(rs, "rw3", all & ~LANDLOCK_ACCESS_FS_REFER));
    TRY("rule wo", add_path(rs, "wo", LANDLOCK_ACCESS_FS_WRITE_FILE));
    enforce(rs);
    TRYFD("read ro/f", open("ro/f", O_RDONLY));
    TRYFD("write ro/f", open("ro/f", O_WRONLY));
    TRYFD("read out/f", open("out/f", O_RDONLY));
    TRYFD("list ro", open("ro", O_RDONLY | O_DIRECTORY));
    TRYFD("list .", open(".", O_RDONLY | O_DIRECTORY));
    TRYFD("list out", open("out", O_RDONLY | O_DIRECTORY));
    TRYFD("O_PATH out/f", open("out/f", O_PATH));
    struct stat st;
    TRY("stat out/f", stat("out/f", &st));
    TRY("mkdir rw/d", mkdir("rw/d", 0755));
    TRY("mkdir ro/d", mkdir("ro/d", 0755));
    TRY("mkfifo rw/p", mkfifo("rw/p", 0644));
    TRY("mkfifo ro/p", mkfifo("ro/p", 0644));
    TRY("symlink rw/s", symlink("f", "rw/s"));
    TRY("symlink ro/s", symlink("f", "ro/s"));
    struct sockaddr_un un = {.sun_family = AF_UNIX, .sun_path = "rw/sock"};
    TRY("bind a unix socket in rw", bind(socket(AF_UNIX, SOCK_STREAM, 0), (struct sockaddr *)&un, sizeof un));
    strcpy(un.sun_path, "ro/sock");
    TRY("bind a unix socket in ro", bind(socket(AF_UNIX, SOCK_STREAM, 0), (struct sockaddr *)&un, sizeof un));
    TRYFD("creat rw/n", open("rw/n", O_WRONLY | O_CREAT, 0644));
    TRYFD("creat ro/n", open("ro/n", O_WRONLY | O_CREAT, 0644));
    TRYFD("creat out/n", open("out/n", O_RDONLY | O_CREAT, 0644));
    TRY("unlink rw/g", unlink("rw/g"));
    TRY("unlink ro/f", unlink("ro/f"));
    TRY("unlink ro/sub (a directory)", unlink("ro/sub"));
    TRY("rmdir rw/d", rmdir("rw/d"));
    TRY("rmdir ro/sub", rmdir("ro/sub"));
    TRY("rename rw/f rw/f2 (same directory)", rename("rw/f", "rw/f2"));
    TRY("rename rw/f2 rw2/f (refer both)", rename("rw/f2", "rw2/f"));
    TRY("rename rw2/f rw3/f (no refer)", rename("rw2/f", "rw3/f"));
    TRY("rename rw2/f ro/f3 (no make)", rename("rw2/f", "ro/f3"));
    TRY("rename rw2/f out/f3", rename("rw2/f", "out/f3"));
    TRY("link rw2/f rw/hl", link("rw2/f", "rw/hl"));
    TRY("link rw2/f rw3/hl", link("rw2/f", "rw3/hl"));
    TRY("exchange rw/hl rw2/x (refer both)", syscall(SYS_renameat2, AT_FDCWD, "rw/hl", AT_FDCWD, "rw2/x", RENAME_EXCHANGE));
    TRY("exchange rw/hl rw3/x (no refer)", syscall(SYS_renameat2, AT_FDCWD, "rw/hl", AT_FDCWD, "rw3/x", RENAME_EXCHANGE));
    TRY("exchange rw/hl ro/f (no make)", syscall(SYS_renameat2, AT_FDCWD, "rw/hl", AT_FDCWD, "ro/f", RENAME_EXCHANGE));
    TRY("truncate rw/t", truncate("rw/t", 2));
    TRY("truncate wo/f", truncate("wo/f", 2));
    TRY("truncate ro/f", truncate("ro/f", 2));
    int fd = TRY("open wo/f for writing", open("wo/f", O_WRONLY));
    TRY("ftruncate wo/f", ftruncate(fd, 1));
    TRY("write wo/f", write(fd, "x", 1));
    close(fd);
    TRYFD("open wo/f O_TRUNC", open("wo/f", O_WRONLY | O_TRUNC));
    TRYFD("open rw/t O_TRUNC", open("rw/t", O_WRONLY | O_TRUNC));
    TRYFD("open rw/new O_CREAT|O_TRUNC", open("rw/new", O_WRONLY | O_CREAT | O_TRUNC, 0644));
    TRY("ftruncate of a file opened before", ftruncate(before, 3));
    TRY("mount on rw", mount("none", "rw", "tmpfs", 0, NULL));
    TRYFD("reopen out/f via /proc/self/fd", open("/proc/self/fd/3", O_RDONLY));
}

static void sec_exec(void) {
    int rs = create_ruleset(LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_READ_FILE, 0, 0);
    TRY("rule / read", add_path(rs, "/", LANDLOCK_ACCESS_FS_READ_FILE));
    TRY("rule /usr execute", add_path(rs, "/usr", LANDLOCK_ACCESS_FS_EXECUTE));
    enforce(rs);
    pid_t p = fork();
    if (p == 0) {
        execl("/bin/true", "true", (char *)NULL);
        _exit(100 + errno);
    }
    int status;
    waitpid(p, &status, 0);
    printf("exec /bin/true: status %d\n", WEXITSTATUS(status));
    char *argv[] = {(char *)self_path, "noop", NULL};
    TRY("exec self (no execute right)", execv(self_path, argv));
}

static void probe(void) {
    TRYFD("probe: read out/f", open("out/f", O_RDONLY));
    TRYFD("probe: write out/f", open("out/f", O_WRONLY));
    TRYFD("probe: write rw/f", open("rw/f", O_WRONLY));
}

static void sec_inherit(void) {
    int rs = create_ruleset(LANDLOCK_ACCESS_FS_WRITE_FILE, 0, 0);
    TRY("rule rw", add_path(rs, "rw", LANDLOCK_ACCESS_FS_WRITE_FILE));
    enforce(rs);
    pid_t p = fork();
    if (p == 0) {
        char *argv[] = {(char *)self_path, "probe", NULL};
        execv(self_path, argv);
        _exit(99);
    }
    int status;
    waitpid(p, &status, 0);
    printf("probe status %d\n", WEXITSTATUS(status));
    if ((p = fork()) == 0) { probe(); _exit(0); }
    waitpid(p, &status, 0);
}

static void sec_stack(void) {
    int rs = create_ruleset(LANDLOCK_ACCESS_FS_READ_FILE, 0, 0);
    add_path(rs, "ro", LANDLOCK_ACCESS_FS_READ_FILE);
    add_path(rs, "rw", LANDLOCK_ACCESS_FS_READ_FILE);
    enforce(rs);
    TRYFD("layer 1: read rw/f", open("rw/f", O_RDONLY));
    rs = create_ruleset(LANDLOCK_ACCESS_FS_READ_FILE, 0, 0);
    add_path(rs, "ro", LANDLOCK_ACCESS_FS_READ_FILE);
    add_path(rs, "out", LANDLOCK_ACCESS_FS_READ_FILE);
    enforce(rs);
    TRYFD("layer 2: read ro/f", open("ro/f", O_RDONLY));
    TRYFD("layer 2: read rw/f", open("rw/f", O_RDONLY));
    TRYFD("layer 2: read out/f", open("out/f", O_RDONLY));
    /* A layer handling only writes leaves reads as they were */
    rs = create_ruleset(LANDLOCK_ACCESS_FS_WRITE_FILE, 0, 0);
    enforce(rs);
    TRYFD("layer 3: read ro/f", open("ro/f", O_RDONLY));
    for (int i = 4; i <= 17; i++) {
        rs = create_ruleset(LANDLOCK_ACCESS_FS_MAKE_DIR, 0, 0);
        long r = syscall(SYS_landlock_restrict_self, rs, 0);
        if (r || i >= 16) { char l[32]; snprintf(l, sizeof l, "layer %d", i); errno = r ? errno : 0; report(l, r, 0); }
        close(rs);
    }
}

static void *thread_reads(void *arg) {
    TRYFD("its new thread: read out/f", open("out/f", O_RDONLY));
    return arg;
}

static void *thread_restricts(void *arg) {
    int rs = create_ruleset(LANDLOCK_ACCESS_FS_READ_FILE, 0, 0);
    enforce(rs);
    TRYFD("thread: read out/f", open("out/f", O_RDONLY));
    pthread_t th;
    pthread_create(&th, NULL, thread_reads, NULL);   /* clone(CLONE_THREAD) inherits the domain */
    pthread_join(th, NULL);
    return arg;
}

static void sec_threads(void) {
    pthread_t th;
    pthread_create(&th, NULL, thread_restricts, NULL);
    pthread_join(th, NULL);
    TRYFD("main thread: read out/f", open("out/f", O_RDONLY));
}

static void sec_args(void) {
    struct ll_ruleset_attr a = {.handled_access_fs = LANDLOCK_ACCESS_FS_READ_FILE};
    char big[64] = {0};
    memcpy(big, &a, sizeof a);
    TRY("create: NULL attr", syscall(SYS_landlock_create_ruleset, NULL, sizeof a, 0));
    TRY("create: bad pointer", syscall(SYS_landlock_create_ruleset, (void *)8, sizeof a, 0));
    TRY("create: size 4", syscall(SYS_landlock_create_ruleset, &a, 4, 0));
    TRYFD("create: size 8 (ABI 1 struct)", syscall(SYS_landlock_create_ruleset, &a, 8, 0));
    TRYFD("create: size 64, zero tail", syscall(SYS_landlock_create_ruleset, big, 64, 0));
    big[40] = 1;
    TRY("create: size 64, non-zero tail", syscall(SYS_landlock_create_ruleset, big, 64, 0));
    TRY("create: size 8192", syscall(SYS_landlock_create_ruleset, big, 8192, 0));
    TRY("create: unknown fs right", create_ruleset(1ULL << 20, 0, 0));
    TRY("create: unknown net right", create_ruleset(0, 1ULL << 5, 0));
    TRY("create: unknown scope", create_ruleset(0, 0, 1ULL << 5));
    TRY("create: nothing handled", create_ruleset(0, 0, 0));
    TRY("create: version with attr", syscall(SYS_landlock_create_ruleset, &a, 0, LANDLOCK_CREATE_RULESET_VERSION));
    TRY("create: unknown flag", syscall(SYS_landlock_create_ruleset, NULL, 0, 4));
    int rs = create_ruleset(LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR, LANDLOCK_ACCESS_NET_BIND_TCP, 0);
    char link[64] = {0}, path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", rs);
    readlink(path, link, sizeof link - 1);
    printf("ruleset fd: %s, cloexec %d\n", link, !!(fcntl(rs, F_GETFD) & FD_CLOEXEC));
    char c;
    TRY("read ruleset fd", read(rs, &c, 1));
    TRY("write ruleset fd", write(rs, "x", 1));
    struct ll_path_beneath_attr pb = {.allowed_access = LANDLOCK_ACCESS_FS_READ_FILE, .parent_fd = open("ro", O_PATH)};
    TRY("add: ok", syscall(SYS_landlock_add_rule, rs, LANDLOCK_RULE_PATH_BENEATH, &pb, 0));
    TRY("add: flags", syscall(SYS_landlock_add_rule, rs, LANDLOCK_RULE_PATH_BENEATH, &pb, 1));
    TRY("add: bad fd", syscall(SYS_landlock_add_rule, 999, LANDLOCK_RULE_PATH_BENEATH, &pb, 0));
    int devnull = open("/dev/null", O_RDONLY);
    TRY("add: not a ruleset", syscall(SYS_landlock_add_rule, devnull, LANDLOCK_RULE_PATH_BENEATH, &pb, 0));
    TRY("add: bad type", syscall(SYS_landlock_add_rule, rs, 7, &pb, 0));
    TRY("add: bad pointer", syscall(SYS_landlock_add_rule, rs, LANDLOCK_RULE_PATH_BENEATH, (void *)8, 0));
    pb.allowed_access = 0;
    TRY("add: nothing allowed", syscall(SYS_landlock_add_rule, rs, LANDLOCK_RULE_PATH_BENEATH, &pb, 0));
    pb.allowed_access = LANDLOCK_ACCESS_FS_WRITE_FILE;
    TRY("add: right not handled", syscall(SYS_landlock_add_rule, rs, LANDLOCK_RULE_PATH_BENEATH, &pb, 0));
    pb.allowed_access = LANDLOCK_ACCESS_FS_READ_DIR;
    close(pb.parent_fd);
    pb.parent_fd = open("ro/f", O_RDONLY);
    TRY("add: directory right on a file", syscall(SYS_landlock_add_rule, rs, LANDLOCK_RULE_PATH_BENEATH, &pb, 0));
    pb.allowed_access = LANDLOCK_ACCESS_FS_READ_FILE;
    TRY("add: file right on a file", syscall(SYS_landlock_add_rule, rs, LANDLOCK_RULE_PATH_BENEATH, &pb, 0));
    close(pb.parent_fd);
    int pfd[2];
    pipe(pfd);
    pb.parent_fd = pfd[0];
    TRY("add: a pipe", syscall(SYS_landlock_add_rule, rs, LANDLOCK_RULE_PATH_BENEATH, &pb, 0));
    pb.parent_fd = open("/proc/self/ns/uts", O_RDONLY);
    TRY("add: an nsfs file", syscall(SYS_landlock_add_rule, rs, LANDLOCK_RULE_PATH_BENEATH, &pb, 0));
    pb.parent_fd = open("/proc/self/status", O_RDONLY);
    TRY("add: a procfs file", syscall(SYS_landlock_add_rule, rs, LANDLOCK_RULE_PATH_BENEATH, &pb, 0));
    int efd = syscall(SYS_eventfd2, 0, 0);
    pb.parent_fd = efd;
    TRY("add: an eventfd", syscall(SYS_landlock_add_rule, rs, LANDLOCK_RULE_PATH_BENEATH, &pb, 0));
    pb.parent_fd = rs;
    TRY("add: the ruleset itself", syscall(SYS_landlock_add_rule, rs, LANDLOCK_RULE_PATH_BENEATH, &pb, 0));
    pb.parent_fd = 999;
    TRY("add: bad parent fd", syscall(SYS_landlock_add_rule, rs, LANDLOCK_RULE_PATH_BENEATH, &pb, 0));
    TRY("add port: ok", add_port(rs, 8080, LANDLOCK_ACCESS_NET_BIND_TCP));
    TRY("add port: 65536", add_port(rs, 65536, LANDLOCK_ACCESS_NET_BIND_TCP));
    TRY("add port: right not handled", add_port(rs, 80, LANDLOCK_ACCESS_NET_CONNECT_TCP));
    TRY("add port: nothing allowed", add_port(rs, 80, 0));
    TRY("restrict: bad flags", (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), syscall(SYS_landlock_restrict_self, rs, 8)));
    TRY("restrict: not a ruleset", syscall(SYS_landlock_restrict_self, devnull, 0));
    TRY("restrict: bad fd", syscall(SYS_landlock_restrict_self, 999, 0));
    TRY("restrict: -1 with SUBDOMAINS_OFF", syscall(SYS_landlock_restrict_self, -1, 4));
    TRY("restrict: -1 with other flags", syscall(SYS_landlock_restrict_self, -1, 5));
    TRY("restrict: log flags", syscall(SYS_landlock_restrict_self, rs, 3));
    TRYFD("after: read ro/f", open("ro/f", O_RDONLY));
    TRYFD("after: read out/f", open("out/f", O_RDONLY));
    pid_t p = fork();
    if (p == 0) {   /* without no_new_privs (a fresh process cannot clear it: a non-root one) */
        int rs2 = create_ruleset(LANDLOCK_ACCESS_FS_READ_FILE, 0, 0);
        _exit(rs2 < 0 ? 2 : 0);
    }
    int status;
    waitpid(p, &status, 0);
}

static void sec_nnp(void) {
    int rs = create_ruleset(LANDLOCK_ACCESS_FS_READ_FILE, 0, 0);
    TRY("setuid 65534", setuid(65534));
    TRY("restrict without no_new_privs nor CAP_SYS_ADMIN", syscall(SYS_landlock_restrict_self, rs, 0));
    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
    TRY("restrict with no_new_privs", syscall(SYS_landlock_restrict_self, rs, 0));
}

static int tcp_listener(int *port) {
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t n = sizeof a;
    bind(s, (struct sockaddr *)&a, sizeof a);
    listen(s, 8);
    getsockname(s, (struct sockaddr *)&a, &n);
    *port = ntohs(a.sin_port);
    return s;
}

static long tcp(int connect_, int port) {
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    long r = connect_ ? connect(s, (struct sockaddr *)&a, sizeof a) : bind(s, (struct sockaddr *)&a, sizeof a);
    int e = errno;
    close(s);
    errno = e;
    return r;
}

static void sec_net(void) {
    int p_listen, p_free;
    int l = tcp_listener(&p_listen);
    close(tcp_listener(&p_free));   /* a port free a moment ago */
    int rs = create_ruleset(0, LANDLOCK_ACCESS_NET_BIND_TCP | LANDLOCK_ACCESS_NET_CONNECT_TCP, 0);
    TRY("rule connect", add_port(rs, p_listen, LANDLOCK_ACCESS_NET_CONNECT_TCP));
    TRY("rule bind", add_port(rs, p_free, LANDLOCK_ACCESS_NET_BIND_TCP));
    enforce(rs);
    TRY("connect allowed port", tcp(1, p_listen));
    TRY("connect port with bind right only", tcp(1, p_free));
    TRY("bind allowed port", tcp(0, p_free));
    TRY("bind port 0", tcp(0, 0));
    TRY("bind port with connect right only", tcp(0, p_listen));
    int u = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    TRY("udp bind any port", bind(u, (struct sockaddr *)&a, sizeof a));
    int s = socket(AF_INET, SOCK_STREAM, 0);
    TRY("bind short address", bind(s, (struct sockaddr *)&a, 1));
    TRY("bind sockaddr_in too short", bind(s, (struct sockaddr *)&a, 8));
    struct sockaddr_in6 a6 = {.sin6_family = AF_INET6};
    TRY("bind AF_INET6 address on an AF_INET socket", bind(s, (struct sockaddr *)&a6, sizeof a6));
    int s6 = socket(AF_INET6, SOCK_STREAM, 0);
    struct sockaddr_in6 b6 = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT};
    TRY("ipv6 bind port 0", bind(s6, (struct sockaddr *)&b6, sizeof b6));
    TRY("ipv6 bind, 20-byte address", bind(s6, (struct sockaddr *)&b6, 20));
    a.sin_port = htons(p_listen);
    TRY("ipv6 connect to an AF_INET address", connect(s6, (struct sockaddr *)&a, sizeof a));
    a.sin_port = 0;
    a.sin_family = AF_UNSPEC;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    TRY("bind AF_UNSPEC non-any address", bind(s, (struct sockaddr *)&a, sizeof a));
    close(l);
}

/* Does SIGIO for a pipe a child owns, with us as its owner, reach us? (the child scoped or not) */
static int sigio_reaches_us(int scoped) {
    sigset_t set, old, pending;
    sigemptyset(&set);
    sigaddset(&set, SIGIO);
    sigprocmask(SIG_BLOCK, &set, &old);
    pid_t us = getpid(), c = fork();
    if (c == 0) {
        if (scoped) enforce(create_ruleset(0, 0, LANDLOCK_SCOPE_SIGNAL));
        int p[2];
        pipe(p);
        fcntl(p[0], F_SETOWN, us);
        fcntl(p[0], F_SETFL, O_ASYNC);
        write(p[1], "x", 1);
        _exit(0);
    }
    waitpid(c, NULL, 0);
    sigpending(&pending);
    int got = sigismember(&pending, SIGIO), sig;
    if (got) sigwait(&set, &sig);
    sigprocmask(SIG_SETMASK, &old, NULL);
    return got;
}

static void sec_scope(void) {
    printf("SIGIO from an unscoped child: %d\n", sigio_reaches_us(0));
    printf("SIGIO from a scoped child: %d\n", sigio_reaches_us(1));
    /* An abstract listener and datagram socket made outside the domain */
    char name[64];
    int n = snprintf(name, sizeof name, "%clandlock-test-%d", 0, getpid());
    struct sockaddr_un su = {.sun_family = AF_UNIX};
    memcpy(su.sun_path, name, n);
    socklen_t len = offsetof(struct sockaddr_un, sun_path) + n;
    int l = socket(AF_UNIX, SOCK_STREAM, 0);
    bind(l, (struct sockaddr *)&su, len);
    listen(l, 8);
    struct sockaddr_un sd = su;
    sd.sun_path[1] = 'L';
    int d = socket(AF_UNIX, SOCK_DGRAM, 0);
    bind(d, (struct sockaddr *)&sd, len);
    pid_t parent = getpid();
    pid_t c = fork();
    if (c == 0) {
        int rs = create_ruleset(0, 0, LANDLOCK_SCOPE_SIGNAL | LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET);
        enforce(rs);
        TRY("kill parent", kill(parent, 0));
        TRY("kill self", kill(getpid(), 0));
        pid_t g = fork();
        if (g == 0) { pause(); _exit(0); }
        TRY("kill child in the domain", kill(g, SIGKILL));
        waitpid(g, NULL, 0);
        int s = socket(AF_UNIX, SOCK_STREAM, 0);
        TRY("connect abstract outside", connect(s, (struct sockaddr *)&su, len));
        int u = socket(AF_UNIX, SOCK_DGRAM, 0);
        TRY("sendto abstract outside", sendto(u, "x", 1, 0, (struct sockaddr *)&sd, len));
        TRY("connect dgram abstract outside", connect(u, (struct sockaddr *)&sd, len));
        struct sockaddr_un mine = su;
        mine.sun_path[1] = 'M';
        int ml = socket(AF_UNIX, SOCK_STREAM, 0);
        bind(ml, (struct sockaddr *)&mine, len);
        listen(ml, 8);
        int s2 = socket(AF_UNIX, SOCK_STREAM, 0);
        TRY("connect abstract inside", connect(s2, (struct sockaddr *)&mine, len));
        _exit(0);
    }
    int status;
    waitpid(c, &status, 0);
    printf("scoped child status %d\n", WEXITSTATUS(status));
    close(l);
    close(d);
}

static void sec_ioctl(void) {
    int before = open("/dev/null", O_RDONLY);
    int rs = create_ruleset(LANDLOCK_ACCESS_FS_IOCTL_DEV, 0, 0);
    TRY("rule /dev/zero", add_path(rs, "/dev/zero", LANDLOCK_ACCESS_FS_IOCTL_DEV));
    enforce(rs);
    int n, fd = open("/dev/null", O_RDONLY);
    TRY("FIONREAD /dev/null", ioctl(fd, FIONREAD, &n));
    TRY("FIOCLEX /dev/null", ioctl(fd, FIOCLEX));
    TRY("FIONBIO /dev/null", ioctl(fd, FIONBIO, &(int){1}));
    TRY("FIONREAD /dev/null opened before", ioctl(before, FIONREAD, &n));
    int z = open("/dev/zero", O_RDONLY);
    TRY("FIONREAD /dev/zero (allowed)", ioctl(z, FIONREAD, &n));
    int f = open("out/f", O_RDONLY);
    TRY("FIONREAD a regular file", ioctl(f, FIONREAD, &n));
}

static void sec_refer(void) {
    unsigned long long base = LANDLOCK_ACCESS_FS_REFER | LANDLOCK_ACCESS_FS_MAKE_REG | LANDLOCK_ACCESS_FS_REMOVE_FILE
                              | LANDLOCK_ACCESS_FS_MAKE_DIR | LANDLOCK_ACCESS_FS_REMOVE_DIR;
    unsigned long long rw = LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_WRITE_FILE;
    pid_t p = fork();
    if (p == 0) {   /* a ruleset of ABI 1's rights: REFER is never granted, reparenting is EXDEV */
        enforce(create_ruleset(LANDLOCK_ACCESS_FS_READ_FILE, 0, 0));
        TRY("abi 1: rename in a directory", rename("rw/f", "rw/f1"));
        TRY("abi 1: rename to another", rename("rw/f1", "rw2/f1"));
        TRY("abi 1: link to another", link("rw/f1", "rw2/l"));
        _exit(0);
    }
    waitpid(p, NULL, 0);
    if ((p = fork()) == 0) {   /* a domain restricting no file: renames as usual */
        enforce(create_ruleset(0, LANDLOCK_ACCESS_NET_BIND_TCP, 0));
        TRY("net only: rename to another", rename("rw/g", "rw2/g"));
        _exit(0);
    }
    waitpid(p, NULL, 0);
    if ((p = fork()) == 0) {   /* REFER granted by the file layer; a second layer restricting no file */
        int r = create_ruleset(base, 0, 0);
        add_path(r, "rw", base);
        add_path(r, "rw2", base);
        enforce(r);
        TRY("refer granted: rename to another", rename("rw2/g", "rw/g"));
        enforce(create_ruleset(0, LANDLOCK_ACCESS_NET_BIND_TCP, 0));
        TRY("and a net-only layer above: rename to another", rename("rw/g", "rw2/g"));
        _exit(0);
    }
    waitpid(p, NULL, 0);
    int rs = create_ruleset(base | rw, 0, 0);
    add_path(rs, "rw", base | rw);
    add_path(rs, "rw2", base | rw);
    add_path(rs, "rw3", base | LANDLOCK_ACCESS_FS_READ_FILE);
    add_path(rs, "rw3/x", LANDLOCK_ACCESS_FS_WRITE_FILE);
    enforce(rs);
    TRY("same rights", rename("rw/f1", "rw2/f"));
    TRY("to fewer rights", rename("rw2/f", "rw3/f"));
    TRY("back to more rights", rename("rw3/f", "rw/f"));
    TRY("a file with its own write rule to more rights", rename("rw3/x", "rw/x"));
    TRY("a directory to fewer rights", rename("rw/d0", "rw3/d0"));
    TRY("exchange across unequal rights", syscall(SYS_renameat2, AT_FDCWD, "rw/g", AT_FDCWD, "rw3/f", RENAME_EXCHANGE));
    TRY("exchange within one side", syscall(SYS_renameat2, AT_FDCWD, "rw/g", AT_FDCWD, "rw2/x", RENAME_EXCHANGE));
}

static void sec_chroot(void) {
    int rs = create_ruleset(LANDLOCK_ACCESS_FS_READ_FILE, 0, 0);
    TRY("rule on the real root", add_path(rs, "/", LANDLOCK_ACCESS_FS_READ_FILE));
    enforce(rs);
    rs = create_ruleset(LANDLOCK_ACCESS_FS_READ_FILE, 0, 0);
    TRY("rule on ro", add_path(rs, "ro", LANDLOCK_ACCESS_FS_READ_FILE));
    TRY("chroot .", chroot("."));
    enforce(rs);   /* the walk goes on above the chroot to the real root, where layer 1's rule is */
    TRYFD("read /ro/f in the chroot", open("/ro/f", O_RDONLY));
    TRYFD("read /out/f in the chroot", open("/out/f", O_RDONLY));
}

static void sec_ptrace(void) {
    enforce(create_ruleset(LANDLOCK_ACCESS_FS_MAKE_DIR, 0, 0));
    pid_t outer = fork();
    if (outer == 0) { pause(); _exit(0); }
    enforce(create_ruleset(LANDLOCK_ACCESS_FS_MAKE_DIR, 0, 0));   /* a domain nested in the first */
    pid_t same = fork();
    if (same == 0) { pause(); _exit(0); }
    TRY("attach to a process of the outer domain", ptrace(PTRACE_ATTACH, outer, 0, 0));
    if (TRY("attach to a process of the same domain", ptrace(PTRACE_ATTACH, same, 0, 0)) == 0)
        waitpid(same, NULL, 0);   /* its attach stop */
    kill(outer, SIGKILL);
    kill(same, SIGKILL);
    waitpid(outer, NULL, 0);
    waitpid(same, NULL, 0);
    /* PTRACE_TRACEME: the parent's domain must contain the child's */
    pid_t c = fork();
    if (c == 0) {
        enforce(create_ruleset(LANDLOCK_ACCESS_FS_MAKE_DIR, 0, 0));
        TRY("traceme from a nested domain", ptrace(PTRACE_TRACEME, 0, 0, 0));
        _exit(0);
    }
    waitpid(c, NULL, 0);
    int go[2];
    pipe(go);
    if ((c = fork()) == 0) {
        char b;
        read(go[0], &b, 1);   /* the parent has restricted itself further meanwhile */
        TRY("traceme to a parent in a nested domain", ptrace(PTRACE_TRACEME, 0, 0, 0));
        _exit(0);
    }
    enforce(create_ruleset(LANDLOCK_ACCESS_FS_MAKE_DIR, 0, 0));
    write(go[1], "g", 1);
    waitpid(c, NULL, 0);
}

struct section { const char *name; void (*fn)(void); };
static const struct section sections[] = {
    {"version", sec_version}, {"fs", sec_fs}, {"exec", sec_exec}, {"inherit", sec_inherit},
    {"stack", sec_stack}, {"threads", sec_threads}, {"args", sec_args}, {"nnp", sec_nnp},
    {"net", sec_net}, {"scope", sec_scope}, {"ioctl", sec_ioctl}, {"ptrace", sec_ptrace}, {"refer", sec_refer}, {"chroot", sec_chroot},
    {NULL, NULL},
};

static void remove_tree(const char *dir) {
    pid_t p = fork();
    if (p == 0) { execl("/bin/rm", "rm", "-rf", dir, (char *)NULL); _exit(127); }
    waitpid(p, NULL, 0);
}

int main(int argc, char **argv) {
    self_path = argv[0];
    if (argc < 2) return 2;
    if (!strcmp(argv[1], "noop")) return 0;
    if (!strcmp(argv[1], "probe")) { probe(); return 0; }
    for (const struct section *s = sections; s->name; s++) {
        if (strcmp(argv[1], s->name)) continue;
        char dir[256];   /* under /tmp (the sandbox's tmpfs) or $LANDLOCK_DIR (/var/tmp: the Gofer's root) */
        snprintf(dir, sizeof dir, "%s/landlock-XXXXXX", getenv("LANDLOCK_DIR") ? getenv("LANDLOCK_DIR") : "/tmp");
        if (!mkdtemp(dir) || chdir(dir)) { perror("mkdtemp"); return 92; }
        make_tree();
        pid_t p = fork();
        if (p == 0) { s->fn(); fflush(stdout); _exit(0); }
        int status;
        waitpid(p, &status, 0);
        printf("section %s: status %d\n", s->name, WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
        chdir("/");
        remove_tree(dir);
        return 0;
    }
    return 2;
}
