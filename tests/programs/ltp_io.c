/* Regressions found by running LTP's syscall tests (pipe, poll, epoll, fcntl, sockets, ...)
   natively and in the sandbox. One case per argv[1]; each prints only facts Linux makes
   deterministic, so native and sandbox output must be identical. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <netinet/in.h>
#include <pwd.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <linux/random.h>
#include <linux/fs.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <linux/sockios.h>
#include <termio.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#define CHECK(expr) do { errno = 0; long _r = (long)(expr); \
    printf("%-60s = %ld %s\n", #expr, _r, _r < 0 ? strerrorname_np(errno) : ""); } while (0)

struct cap_hdr { uint32_t version; int pid; };
struct cap_data { uint32_t effective, permitted, inheritable; };

static int caps(void)
{
    struct cap_hdr h = {0x12345678, 0};
    struct cap_data d[2];
    CHECK(syscall(SYS_capget, &h, d));
    printf("preferred version %#x\n", h.version);
    h.version = 0x12345678;
    CHECK(syscall(SYS_capget, &h, NULL));
    printf("preferred version %#x\n", h.version);
    h = (struct cap_hdr){0x20080522, -1};
    CHECK(syscall(SYS_capget, &h, d));
    h = (struct cap_hdr){0x20080522, 0};
    CHECK(syscall(SYS_capget, &h, d));
    printf("CAP_NET_RAW effective: %d\n", !!(d[0].effective & (1u << 13)));
    /* Drop CAP_NET_RAW from effective only: permitted keeps it. */
    d[0].effective &= ~(1u << 13);
    CHECK(syscall(SYS_capset, &h, d));
    CHECK(syscall(SYS_capget, &h, d));
    printf("effective: %d permitted: %d\n", !!(d[0].effective & (1u << 13)), !!(d[0].permitted & (1u << 13)));
    /* Effective beyond permitted: EPERM. */
    d[0].permitted &= ~(1u << 13);
    d[0].effective |= 1u << 13;
    CHECK(syscall(SYS_capset, &h, d));
    d[0].effective &= ~(1u << 13);
    CHECK(syscall(SYS_capset, &h, d));
    /* A dropped permitted capability cannot come back. */
    d[0].permitted |= 1u << 13;
    CHECK(syscall(SYS_capset, &h, d));
    CHECK(syscall(SYS_capget, &h, d));
    printf("effective: %d permitted: %d\n", !!(d[0].effective & (1u << 13)), !!(d[0].permitted & (1u << 13)));
    h.pid = getpid() + 1000000;
    CHECK(syscall(SYS_capset, &h, d));
    return 0;
}

static void show_getlk(int fd, int cmd, short type, long start, long len)
{
    struct flock g = {.l_type = type, .l_whence = SEEK_SET, .l_start = start, .l_len = len};
    errno = 0;
    int r = fcntl(fd, cmd, &g);
    printf("  getlk(%d, %ld, %ld) = %d %s type %d start %ld len %ld pid %s\n", type, start, len, r,
           r < 0 ? strerrorname_np(errno) : "", g.l_type, (long)g.l_start, (long)g.l_len,
           g.l_pid == 0 ? "0" : g.l_pid == getppid() ? "parent" : g.l_pid == getpid() ? "self" : g.l_pid == -1 ? "-1" : "other");
}

static int setlk(int fd, int cmd, short type, long start, long len)
{
    struct flock f = {.l_type = type, .l_whence = SEEK_SET, .l_start = start, .l_len = len};
    return fcntl(fd, cmd, &f);
}

/* Record locks (POSIX and OFD) and flock locks conflict between processes and descriptions. */
static int locks(void)
{
    char path[64];
    snprintf(path, sizeof(path), "/tmp/ltp_io_locks.%d", getpid());
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600), p[2];
    write(fd, "0123456789abcdefghij", 20);
    CHECK(setlk(fd, F_SETLK, F_WRLCK, 10, 5));
    CHECK(setlk(fd, F_SETLK, F_RDLCK, 0, 5));
    CHECK(setlk(fd, F_SETLK, F_RDLCK, 5, 5));   /* merges with 0-5 */
    show_getlk(fd, F_GETLK, F_WRLCK, 0, 0);     /* own locks never conflict */
    pipe(p);
    pid_t child = fork();
    if (child == 0) {
        char c;
        show_getlk(fd, F_GETLK, F_RDLCK, 0, 0);
        show_getlk(fd, F_GETLK, F_WRLCK, 0, 0);
        show_getlk(fd, F_GETLK, F_WRLCK, 15, 0);
        show_getlk(fd, F_GETLK, F_RDLCK, 12, 1);
        CHECK(setlk(fd, F_SETLK, F_RDLCK, 0, 10));
        CHECK(setlk(fd, F_SETLK, F_WRLCK, 3, 2));
        CHECK(setlk(fd, F_SETLK, F_WRLCK, 14, 1));
        CHECK(setlk(fd, F_SETLK, F_WRLCK, 15, 100));
        int ofd = open(path, O_RDWR);
        CHECK(setlk(ofd, F_OFD_SETLK, F_WRLCK, 15, 1));   /* conflicts with this process's lock */
        CHECK(setlk(ofd, F_OFD_SETLK, F_WRLCK, 200, 1));
        show_getlk(fd, F_GETLK, F_WRLCK, 150, 100);
        show_getlk(fd, F_OFD_GETLK, F_WRLCK, 150, 100);
        /* Blocks until the parent drops its lock on 10-15. */
        write(p[1], "w", 1);
        CHECK(setlk(fd, F_SETLKW, F_WRLCK, 10, 1));
        show_getlk(open(path, O_RDWR), F_OFD_GETLK, F_WRLCK, 0, 0);
        read(p[0], &c, 1);
        _exit(0);
    }
    char c;
    read(p[0], &c, 1);
    usleep(100000);
    show_getlk(fd, F_GETLK, F_WRLCK, 0, 0);      /* the child's read lock 0-10 */
    /* Closing any descriptor of the file drops this process's record locks. */
    close(open(path, O_RDONLY));
    write(p[1], "x", 1);
    waitpid(child, NULL, 0);
    show_getlk(fd, F_GETLK, F_WRLCK, 0, 0);
    /* flock: shared locks coexist, exclusive ones conflict per description. */
    int a = open(path, O_RDONLY), b = open(path, O_RDONLY);
    CHECK(flock(a, LOCK_SH | LOCK_NB));
    CHECK(flock(b, LOCK_SH | LOCK_NB));
    CHECK(flock(b, LOCK_EX | LOCK_NB));
    CHECK(flock(a, LOCK_UN));
    CHECK(flock(b, LOCK_EX | LOCK_NB));
    CHECK(flock(a, LOCK_SH | LOCK_NB));
    close(b);
    CHECK(flock(a, LOCK_EX | LOCK_NB));
    /* Deadlock: each process holds one byte and waits for the other's. */
    int q[2];
    pipe(q);
    CHECK(setlk(fd, F_SETLK, F_WRLCK, 0, 1));
    child = fork();
    if (child == 0) {
        setlk(fd, F_SETLK, F_WRLCK, 1, 1);
        write(q[1], "r", 1);
        int r = setlk(fd, F_SETLKW, F_WRLCK, 0, 1);   /* waits for the parent, or EDEADLK */
        _exit(r == 0 ? 0 : 1);
    }
    read(q[0], &c, 1);
    usleep(200000);
    CHECK(setlk(fd, F_SETLKW, F_WRLCK, 1, 1));
    CHECK(setlk(fd, F_SETLK, F_UNLCK, 0, 0));
    int st;
    waitpid(child, &st, 0);
    printf("child status %d\n", WEXITSTATUS(st));
    unlink(path);
    return 0;
}

/* A blocking connect that waited is finished: connecting again is EISCONN; a refused one
   leaves the socket unconnected, so the next connect reports its own error. */
static int connect_state(void)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    int srv = socket(AF_INET, SOCK_STREAM, 0);
    bind(srv, (struct sockaddr *)&a, sizeof(a));
    listen(srv, 5);
    getsockname(srv, (struct sockaddr *)&a, &len);
    int c = socket(AF_INET, SOCK_STREAM, 0);
    CHECK(connect(c, (struct sockaddr *)&a, sizeof(a)));
    CHECK(connect(c, (struct sockaddr *)&a, sizeof(a)));
    close(srv);   /* nothing listens there now */
    int d = socket(AF_INET, SOCK_STREAM, 0);
    CHECK(connect(d, (struct sockaddr *)&a, sizeof(a)));
    struct sockaddr_in bad = a;
    bad.sin_family = 47;
    CHECK(connect(d, (struct sockaddr *)&bad, sizeof(bad)));
    CHECK(connect(d, (struct sockaddr *)&a, sizeof(a)));
    return 0;
}

/* connect(2) to a Unix socket file needs write permission on it; bind(2) of a privileged port
   needs CAP_NET_BIND_SERVICE, which an effective uid other than 0 does not have. */
static int setuid_perms(void)
{
    struct sockaddr_un un = {.sun_family = AF_UNIX};
    snprintf(un.sun_path, sizeof(un.sun_path), "/tmp/ltp_io_sock.%d", getpid());
    unlink(un.sun_path);
    int srv = socket(AF_UNIX, SOCK_STREAM, 0);
    CHECK(bind(srv, (struct sockaddr *)&un, sizeof(un)));
    CHECK(listen(srv, 5));
    struct passwd *pw = getpwnam("nobody");
    chown(un.sun_path, pw->pw_uid, pw->pw_gid);
    chmod(un.sun_path, 0500);
    struct sockaddr_in in = {.sin_family = AF_INET, .sin_port = htons(999), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int s1 = socket(AF_INET, SOCK_STREAM, 0);
    CHECK(bind(s1, (struct sockaddr *)&in, sizeof(in)));
    CHECK(setegid(pw->pw_gid));
    CHECK(seteuid(pw->pw_uid));
    struct cap_hdr h = {0x20080522, 0};
    struct cap_data d[2];
    CHECK(syscall(SYS_capget, &h, d));
    printf("after seteuid: effective %#x permitted nonzero %d\n", d[0].effective, d[0].permitted != 0);
    int c = socket(AF_UNIX, SOCK_STREAM, 0);
    CHECK(connect(c, (struct sockaddr *)&un, sizeof(un)));
    int s2 = socket(AF_INET, SOCK_STREAM, 0);
    in.sin_port = htons(998);
    CHECK(bind(s2, (struct sockaddr *)&in, sizeof(in)));
    in.sin_port = htons(0);
    CHECK(bind(s2, (struct sockaddr *)&in, sizeof(in)));
    chmod(un.sun_path, 0700);
    c = socket(AF_UNIX, SOCK_STREAM, 0);
    CHECK(connect(c, (struct sockaddr *)&un, sizeof(un)));
    CHECK(seteuid(0));
    CHECK(syscall(SYS_capget, &h, d));
    printf("back to 0: effective==permitted %d\n", d[0].effective == d[0].permitted);
    unlink(un.sun_path);
    return 0;
}

/* An O_PATH descriptor has no file operations: socket calls, epoll, timerfd and signalfd
   calls give EBADF (not ENOTSOCK/EPERM/EINVAL), poll reports POLLNVAL. */
static int o_path(void)
{
    int fd = open("/etc/passwd", O_PATH), len = 4, v;
    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN};
    struct itimerspec its;
    sigset_t mask;
    sigemptyset(&mask);
    CHECK(accept(fd, NULL, NULL));
    CHECK(listen(fd, 1));
    CHECK(getsockopt(fd, SOL_SOCKET, SO_TYPE, &v, (socklen_t *)&len));
    CHECK(shutdown(fd, SHUT_RDWR));
    CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev));
    CHECK(epoll_wait(fd, &ev, 1, 0));
    CHECK(timerfd_gettime(fd, &its));
    CHECK(signalfd(fd, &mask, 0));
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    CHECK(poll(&pfd, 1, 0));
    printf("revents %#x\n", pfd.revents);
    return 0;
}

/* Socket argument errors in Linux's order. */
static int sock_errnos(void)
{
    int sv[2], v = 0;
    socklen_t len = sizeof(v);
    CHECK(socketpair(0, SOCK_STREAM, 0, sv));
    CHECK(socketpair(PF_INET, 75, 0, sv));
    CHECK(socketpair(PF_INET, 12, 0, sv));
    CHECK(socketpair(PF_INET, SOCK_RAW, 0, sv));
    CHECK(socketpair(PF_INET, SOCK_DGRAM, 17, sv));
    CHECK(socketpair(PF_INET, SOCK_DGRAM, 6, sv));
    CHECK(socketpair(PF_INET, SOCK_STREAM, 6, sv));
    CHECK(socketpair(PF_INET, SOCK_STREAM, 1, sv));
    CHECK(socket(PF_INET, 12, 0));
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof(a);
    int srv = socket(AF_INET, SOCK_STREAM, 0);
    bind(srv, (struct sockaddr *)&a, sizeof(a));
    listen(srv, 5);
    getsockname(srv, (struct sockaddr *)&a, &alen);
    int c = socket(AF_INET, SOCK_STREAM, 0);
    connect(c, (struct sockaddr *)&a, sizeof(a));
    int s2 = accept(srv, NULL, NULL);
    int u = socket(AF_INET, SOCK_DGRAM, 0);
    CHECK(getsockopt(c, 500, SO_OOBINLINE, &v, &len));
    CHECK(getsockopt(c, IPPROTO_UDP, SO_OOBINLINE, &v, &len));
    CHECK(getsockopt(c, IPPROTO_IP, -1, &v, &len));
    CHECK(getsockopt(c, IPPROTO_TCP, -1, &v, &len));
    CHECK(getsockopt(c, SOL_SOCKET, -1, &v, &len));
    CHECK(getsockopt(u, IPPROTO_TCP, 1, &v, &len));
    CHECK(getsockopt(u, IPPROTO_UDP, -1, &v, &len));
    CHECK(setsockopt(c, 500, 1, &v, sizeof(v)));
    char buf[16];
    CHECK(recv(c, buf, sizeof(buf), MSG_ERRQUEUE));   /* blocking socket, empty queue: EAGAIN at once */
    CHECK(recv(u, buf, sizeof(buf), MSG_ERRQUEUE));
    /* SCM_RIGHTS means nothing to an inet socket: ignored, the data goes. */
    union { char b[CMSG_SPACE(sizeof(int))]; struct cmsghdr h; } cb;
    struct iovec iov = {.iov_base = "R", .iov_len = 1};
    struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cb.b, .msg_controllen = CMSG_LEN(sizeof(int))};
    struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = SCM_RIGHTS;
    cm->cmsg_len = CMSG_LEN(sizeof(int));
    *(int *)CMSG_DATA(cm) = 0;
    CHECK(sendmsg(s2, &mh, 0));
    CHECK(recv(c, buf, sizeof(buf), 0));
    mh.msg_iovlen = 1025;
    CHECK(sendmsg(s2, &mh, 0));
    CHECK(recvmsg(c, &mh, MSG_DONTWAIT));
    /* An interface change reads its ifreq before the capability check: EFAULT (LTP sockioctl01) */
    CHECK(ioctl(u, SIOCSIFFLAGS, (void *)8));
    CHECK(ioctl(u, SIOCSIFMTU, (void *)8));
    return 0;
}

/* vmsplice: user memory into a pipe and out of it, partial when the pipe fills, EAGAIN only
   with SPLICE_F_NONBLOCK; argument errors in Linux's order. */
static int do_vmsplice(void)
{
    int p[2], fd = open("/dev/null", O_WRONLY);
    static char big[100000] __attribute__((aligned(4096))), out[70000];
    memset(big, 'v', sizeof(big));
    pipe(p);
    struct iovec iov[2] = {{big, 10}, {big + 10, 20}};
    CHECK(vmsplice(p[1], iov, 2, 0));
    struct iovec rv = {out, 7};
    CHECK(vmsplice(p[0], &rv, 1, 0));
    printf("got %.7s\n", out);
    rv.iov_len = sizeof(out);
    CHECK(vmsplice(p[0], &rv, 1, 0));
    CHECK(vmsplice(p[0], &rv, 1, SPLICE_F_NONBLOCK));
    struct iovec bv = {big, sizeof(big)};
    CHECK(vmsplice(p[1], &bv, 1, 0));   /* fills the pipe: 65536 */
    CHECK(vmsplice(p[1], &bv, 1, SPLICE_F_NONBLOCK));
    CHECK(vmsplice(fd, &bv, 1, 0));
    CHECK(vmsplice(fd, &bv, 0, 0));
    CHECK(vmsplice(-1, &bv, 1, 0));
    CHECK(vmsplice(p[1], &bv, 1025, 0));
    CHECK(vmsplice(p[1], &bv, 1, 0x100));
    close(p[0]);
    signal(SIGPIPE, SIG_IGN);
    CHECK(vmsplice(p[1], &bv, 1, 0));
    return 0;
}

/* splice between a pipe and a socket both ways; files with no splice support are EINVAL at
   once (an empty pipe spliced into an eventfd must not wait). */
static int splice_kinds(void)
{
    int p[2], q[2], sv[2];
    char buf[64] = {0};
    pipe(p);
    pipe(q);
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    write(p[1], "through a socket", 16);
    CHECK(splice(p[0], NULL, sv[0], NULL, 16, 0));
    CHECK(splice(sv[1], NULL, q[1], NULL, 16, 0));
    CHECK(read(q[0], buf, sizeof(buf)));
    printf("%s\n", buf);
    int dir = open("/", O_RDONLY | O_DIRECTORY), efd = eventfd(0, 0);
    CHECK(splice(dir, NULL, q[1], NULL, 1, 0));
    CHECK(splice(efd, NULL, q[1], NULL, 1, 0));
    CHECK(splice(p[0], NULL, efd, NULL, 1, 0));
    CHECK(splice(p[0], NULL, epoll_create1(0), NULL, 1, 0));
    return 0;
}

/* EPOLLEXCLUSIVE: one event wakes one of the epoll instances waiting on a file, not all. */
static int epoll_exclusive(void)
{
    int p[2], n = 4;
    volatile int *shared = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    pipe(p);
    pid_t kids[4];
    for (int i = 0; i < n; i++) {
        if ((kids[i] = fork()) == 0) {
            int ep = epoll_create1(0);
            struct epoll_event ev = {.events = EPOLLIN | EPOLLET | EPOLLEXCLUSIVE};
            epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev);
            __sync_fetch_and_add(&shared[0], 1);
            if (epoll_wait(ep, &ev, 1, 5000) == 1)
                __sync_fetch_and_add(&shared[1], 1);
            _exit(0);
        }
    }
    while (shared[0] < n)
        usleep(10000);
    usleep(300000);   /* all are asleep in epoll_wait */
    write(p[1], "x", 1);
    usleep(500000);
    printf("woken by one event: %d\n", shared[1]);
    for (int i = 0; i < n; i++) {
        kill(kids[i], SIGKILL);
        waitpid(kids[i], NULL, 0);
    }
    return 0;
}

/* The old struct termio ioctls on a pty: TCGETA gives the low halves of the flags and the first
   8 control characters (padding zeroed), TCSETAW sets them and keeps the rest. */
static int termio(void)
{
    int m = posix_openpt(O_RDWR | O_NOCTTY);
    grantpt(m);
    unlockpt(m);
    int s = open(ptsname(m), O_RDWR | O_NOCTTY);
    struct termio t;
    memset(&t, 0xAA, sizeof(t));
    CHECK(ioctl(s, TCGETA, &t));
    printf("%x %x %x %x %d %02x %02x pad %d\n", t.c_iflag, t.c_oflag, t.c_cflag, t.c_lflag, t.c_line,
           t.c_cc[0], t.c_cc[7], ((unsigned char *)&t)[17]);
    t.c_lflag &= ~ECHO;
    t.c_cc[VMIN] = 3;
    CHECK(ioctl(s, TCSETAW, &t));
    struct termios ts;
    tcgetattr(s, &ts);
    printf("%x %d %x %d\n", ts.c_lflag, ts.c_cc[VMIN], ts.c_cflag, ts.c_cc[VEOL2]);
    CHECK(ioctl(m, TCGETA, &t));
    return 0;
}

/* Signal-driven I/O: an O_ASYNC pipe signals its owner when data arrives (F_SETSIG's signal
   with si_code POLL_IN, si_band and si_fd; SIGIO otherwise); F_SETOWN/F_SETOWN_EX owners. */
static int sigio(void)
{
    int p[2];
    pipe(p);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGIO);
    sigaddset(&set, SIGUSR1);
    sigprocmask(SIG_BLOCK, &set, NULL);
    struct timespec ts = {2, 0};
    siginfo_t si;
    CHECK(fcntl(p[0], F_SETOWN, 999999));
    CHECK(fcntl(p[0], F_SETOWN, getpid()));
    CHECK(fcntl(p[0], F_GETOWN) == getpid());
    CHECK(fcntl(p[0], F_SETFL, O_ASYNC) == 0);
    write(p[1], "a", 1);
    int sig = sigtimedwait(&set, &si, &ts);
    printf("signal %d code %#x\n", sig, si.si_code);
    CHECK(fcntl(p[0], F_SETSIG, SIGUSR1));
    CHECK(fcntl(p[0], F_GETSIG));
    struct f_owner_ex ox = {F_OWNER_TID, gettid()};
    CHECK(fcntl(p[0], F_SETOWN_EX, &ox));
    memset(&ox, 0, sizeof(ox));
    CHECK(fcntl(p[0], F_GETOWN_EX, &ox));
    printf("owner type %d self %d\n", ox.type, ox.pid == gettid());
    write(p[1], "b", 1);
    sig = sigtimedwait(&set, &si, &ts);
    printf("signal %d code %d band %#lx fd %d\n", sig, si.si_code, si.si_band, si.si_fd == p[0]);
    ox.type = 7;
    CHECK(fcntl(p[0], F_SETOWN_EX, &ox));
    CHECK(fcntl(p[0], F_SETOWN, -getpgrp()));
    printf("F_GETOWN is -pgrp: %d\n", fcntl(p[0], F_GETOWN) == -getpgrp());
    CHECK(fcntl(p[0], F_SETFL, 0));
    write(p[1], "c", 1);
    ts.tv_sec = 0;
    ts.tv_nsec = 200000000;
    CHECK(sigtimedwait(&set, &si, &ts));   /* O_ASYNC is off: nothing */
    return 0;
}

static void show_file(const char *path)
{
    char buf[128] = {0};
    int fd = open(path, O_RDONLY);
    errno = 0;
    long n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);
    printf("%s: %s%s", path, n < 0 ? strerrorname_np(errno) : buf, n < 0 ? "\n" : "");
    close(fd);
}

static long write_file(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY | O_TRUNC);
    if (fd < 0)
        return -1;
    long n = write(fd, text, strlen(text));
    int e = errno;
    close(fd);
    errno = e;
    return n;
}

/* /proc takes writes where Linux's does: oom_score_adj (range-checked, inherited), sysctls
   (pipe-max-size sets what F_SETPIPE_SZ allows without CAP_SYS_RESOURCE); names cannot be
   created or removed, modes cannot change. */
static int proc_writes(void)
{
    show_file("/proc/self/oom_score_adj");
    CHECK(write_file("/proc/self/oom_score_adj", "300\n"));
    show_file("/proc/self/oom_score_adj");
    CHECK(write_file("/proc/self/oom_score_adj", "5000"));
    CHECK(write_file("/proc/self/oom_score_adj", "abc"));
    CHECK(write_file("/proc/self/stat", "1"));
    if (fork() == 0) {
        show_file("/proc/self/oom_score_adj");
        _exit(0);
    }
    wait(NULL);
    show_file("/proc/sys/kernel/tainted");
    show_file("/proc/sys/fs/pipe-user-pages-soft");
    show_file("/proc/sys/fs/pipe-user-pages-hard");
    char old[32] = {0};
    int fd = open("/proc/sys/fs/pipe-max-size", O_RDONLY);
    read(fd, old, sizeof(old) - 1);
    close(fd);
    /* The host's sysctl is never changed: its own value is written back, a bad one refused. */
    printf("rewrite same value: %d\n", write_file("/proc/sys/fs/pipe-max-size", old) == (long)strlen(old));
    CHECK(write_file("/proc/sys/fs/pipe-max-size", "-5"));
    show_file("/proc/sys/fs/pipe-max-size");
    CHECK(open("/proc/newfile", O_WRONLY | O_CREAT, 0644));
    CHECK(mkdir("/proc/newdir", 0755));
    CHECK(unlink("/proc/uptime"));
    CHECK(chmod("/proc/sys/fs/pipe-max-size", 0600));
    int p[2];
    pipe(p);
    struct passwd *pw = getpwnam("nobody");
    if (fork() == 0) {   /* without CAP_SYS_RESOURCE a pipe grows up to pipe-max-size */
        setuid(pw->pw_uid);
        CHECK(fcntl(p[0], F_SETPIPE_SZ, atoi(old)));
        CHECK(fcntl(p[0], F_SETPIPE_SZ, 2 * atoi(old)));
        CHECK(fcntl(p[0], F_SETPIPE_SZ, 4096));
        CHECK(write_file("/proc/sys/fs/pipe-max-size", old));
        _exit(0);
    }
    wait(NULL);
    return 0;
}

/* The protocol-independent multicast requests reach the network stack (were ENOPROTOOPT). */
static int mcast(void)
{
    int u = socket(AF_INET, SOCK_DGRAM, 0);
    struct group_req gr = {.gr_interface = 1};   /* lo */
    struct sockaddr_in *g = (struct sockaddr_in *)&gr.gr_group;
    g->sin_family = AF_INET;
    g->sin_addr.s_addr = htonl(0xEF010203);   /* 239.1.2.3 */
    CHECK(setsockopt(u, IPPROTO_IP, MCAST_JOIN_GROUP, &gr, sizeof(gr)));
    CHECK(setsockopt(u, IPPROTO_IP, MCAST_JOIN_GROUP, &gr, sizeof(gr)));
    CHECK(setsockopt(u, IPPROTO_IP, MCAST_LEAVE_GROUP, &gr, sizeof(gr)));
    struct group_source_req gsr = {.gsr_interface = 1};
    memcpy(&gsr.gsr_group, g, sizeof(*g));
    struct sockaddr_in *src = (struct sockaddr_in *)&gsr.gsr_source;
    src->sin_family = AF_INET;
    src->sin_addr.s_addr = htonl(0x7F000001);
    CHECK(setsockopt(u, IPPROTO_IP, MCAST_JOIN_SOURCE_GROUP, &gsr, sizeof(gsr)));
    CHECK(setsockopt(u, IPPROTO_IP, MCAST_LEAVE_SOURCE_GROUP, &gsr, sizeof(gsr)));
    return 0;
}

/* /dev/urandom's ioctls: the entropy count, privileged pool changes, EINVAL for the rest. */
static int random_ioctl(void)
{
    int fd = open("/dev/urandom", O_RDONLY), cnt = -1;
    CHECK(ioctl(fd, RNDGETENTCNT, &cnt));
    printf("entropy count matches /proc: %d\n", cnt > 0);
    CHECK(ioctl(fd, RNDZAPENTCNT));
    struct termios t;
    CHECK(ioctl(fd, TCGETS, &t));
    CHECK(ioctl(fd, 0x12345, &t));
    if (fork() == 0) {
        setuid(getpwnam("nobody")->pw_uid);
        CHECK(ioctl(fd, RNDZAPENTCNT));
        CHECK(ioctl(fd, RNDGETENTCNT, &cnt));
        _exit(0);
    }
    wait(NULL);
    return 0;
}

/* FICLONE on files that cannot share extents: the generic checks' errnos, never ENOTTY. */
static int ficlone(void)
{
    char a[64], b[64];
    snprintf(a, sizeof(a), "/tmp/ltp_io_clone_a.%d", getpid());
    snprintf(b, sizeof(b), "/tmp/ltp_io_clone_b.%d", getpid());
    int src = open(a, O_RDWR | O_CREAT, 0600), dst = open(b, O_RDWR | O_CREAT, 0600);
    int dir = open("/tmp", O_RDONLY), zero = open("/dev/zero", O_RDWR), p[2];
    pipe(p);
    CHECK(ioctl(dst, FICLONE, 999));
    CHECK(ioctl(dst, FICLONE, dir));
    CHECK(ioctl(dst, FICLONE, zero));
    CHECK(ioctl(zero, FICLONE, src));
    CHECK(ioctl(p[1], FICLONE, p[0]));
    CHECK(ioctl(dst, FICLONE, p[0]));
    unlink(a);
    unlink(b);
    return 0;
}

/* IPv6 sticky options and IPV6_ADDRFORM reach the host socket (were ENOPROTOOPT). */
static int ipv6_opts(void)
{
    int u6 = socket(AF_INET6, SOCK_DGRAM, 0), v = AF_INET;
    unsigned char hdr[24] = {0, 2, 0, 0};   /* an empty type-0 routing header: refused (EINVAL) */
    socklen_t len = sizeof(hdr);
    CHECK(setsockopt(u6, IPPROTO_IPV6, IPV6_RTHDR, NULL, 0));
    CHECK(setsockopt(u6, IPPROTO_IPV6, IPV6_RTHDR, hdr, sizeof(hdr)));
    CHECK(getsockopt(u6, IPPROTO_IPV6, IPV6_RTHDR, hdr, &len));
    CHECK(setsockopt(u6, IPPROTO_IPV6, IPV6_HOPOPTS, NULL, 0));
    CHECK(setsockopt(u6, IPPROTO_IPV6, IPV6_DSTOPTS, NULL, 0));
    /* A v4-mapped IPv6 TCP connection becomes an IPv4 socket. */
    int srv = socket(AF_INET6, SOCK_STREAM, 0);
    struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_ANY_INIT};
    socklen_t alen = sizeof(a);
    bind(srv, (struct sockaddr *)&a, sizeof(a));
    listen(srv, 5);
    getsockname(srv, (struct sockaddr *)&a, &alen);
    struct sockaddr_in c4 = {.sin_family = AF_INET, .sin_port = a.sin6_port, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int c = socket(AF_INET, SOCK_STREAM, 0);
    CHECK(connect(c, (struct sockaddr *)&c4, sizeof(c4)));
    int s6 = accept(srv, NULL, NULL);
    CHECK(setsockopt(s6, SOL_IPV6, IPV6_ADDRFORM, &v, sizeof(v)));
    struct sockaddr_storage ss;
    alen = sizeof(ss);
    getsockname(s6, (struct sockaddr *)&ss, &alen);
    printf("family now %d len %d\n", ss.ss_family, alen);
    len = sizeof(v);
    CHECK(getsockopt(s6, SOL_SOCKET, SO_DOMAIN, &v, &len));
    printf("SO_DOMAIN %d\n", v);
    return 0;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    if (argc < 2)
        return 2;
    if (!strcmp(argv[1], "caps"))
        return caps();
    if (!strcmp(argv[1], "locks"))
        return locks();
    if (!strcmp(argv[1], "connect_state"))
        return connect_state();
    if (!strcmp(argv[1], "setuid_perms"))
        return setuid_perms();
    if (!strcmp(argv[1], "o_path"))
        return o_path();
    if (!strcmp(argv[1], "sock_errnos"))
        return sock_errnos();
    if (!strcmp(argv[1], "vmsplice"))
        return do_vmsplice();
    if (!strcmp(argv[1], "splice_kinds"))
        return splice_kinds();
    if (!strcmp(argv[1], "epoll_exclusive"))
        return epoll_exclusive();
    if (!strcmp(argv[1], "termio"))
        return termio();
    if (!strcmp(argv[1], "sigio"))
        return sigio();
    if (!strcmp(argv[1], "proc_writes"))
        return proc_writes();
    if (!strcmp(argv[1], "mcast"))
        return mcast();
    if (!strcmp(argv[1], "random_ioctl"))
        return random_ioctl();
    if (!strcmp(argv[1], "ficlone"))
        return ficlone();
    if (!strcmp(argv[1], "ipv6_opts"))
        return ipv6_opts();
    printf("unknown case %s\n", argv[1]);
    return 2;
}
