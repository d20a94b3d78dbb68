/* Socket regressions found with gVisor's socket syscall tests as an oracle: one case per argv[1],
 * each printing what it observes (return values, errno names), run natively and in the sandbox.
 * Traffic goes to loopback addresses only.
 *   close_blocked_recv   a thread blocked in recv keeps its TCP socket after another thread closes the fd
 *   close_blocked_accept a thread blocked in accept keeps its listener after another thread closes the fd
 *   partial_send_reset   a blocking send that queued part of its data when the peer resets returns the count
 *   null_recv            recv of 0 bytes on TCP: ENOTCONN unconnected, EAGAIN without data; read of 0 is 0
 *   tcp_msg_trunc        recv(MSG_TRUNC) on TCP discards the bytes (the buffer is not written)
 *   poll_norm            POLLRDNORM/POLLWRNORM on TCP sockets (also a non-blocking connect's)
 *   tcp_cmsg             recvmsg on TCP with a control buffer: SO_TIMESTAMP and TCP_INQ messages
 *   sock_opts_ioctls     SO_NO_CHECK, SO_DETACH_FILTER, SIOCGSTAMP, SIOCATMARK on host sockets
 *   buf_force            SO_RCVBUFFORCE/SO_SNDBUFFORCE (a caller with CAP_NET_ADMIN) set the buffer size
 *   seqpacket_sender     recvfrom on a connected SOCK_SEQPACKET Unix socket gives the sender's name
 *   abstract_wrong_type  connect to an abstract name bound by another socket type: ECONNREFUSED
 *   creds_reaped_pid     SCM_CREDENTIALS naming a pid nothing has (a reaped child): ESRCH
 *   stream_creds         Unix stream reads and credentials: glued without SO_PASSCRED, split by differing
 *                        ones with it; none recorded while no end had SO_PASSCRED; explicit ones kept
 *   stream_fds           Unix stream reads and descriptors: a later message's come with a glued read;
 *                        descriptors sent with no data are dropped
 *   unix_rcvtimeo        read(2)/write(2) on Unix sockets honour SO_RCVTIMEO/SO_SNDTIMEO (read waited forever)
 *   unix_buf_force       SO_RCVBUFFORCE/SO_SNDBUFFORCE on Unix sockets (root): beyond {r,w}mem_max
 *   linger_close         a lingering close (SO_LINGER with a time, unsent data) stalls no other thread
 *   unix_bind_mode       the file bind makes has the socket's mode (fchmod) less the umask
 *   abstract_netns       abstract names are the socket's network namespace's, not the caller's now (root)
 *   unix_cmsg_edges      credentials cut to a small control buffer (MSG_CTRUNC); a null stream read takes
 *                        the descriptors; protocol-level options: EOPNOTSUPP; a listener's SO_PEERCRED
 *   creds_no_cap         SCM_CREDENTIALS with another pid without CAP_SYS_ADMIN: EPERM, even as root
 *   proc_snmp            /proc/net/snmp, /proc/net/netstat and /proc/net/snmp6 exist, in Linux's lines; their counters
 *                        move with loopback traffic; a new network namespace's start at 0
 *   socket_reopen        opening a socket through /proc/self/fd or its bound path: ENXIO
 *   so_mark_no_check     SO_MARK (root) and SO_NO_CHECK read back on Unix and TCP sockets
 *   signal_timed_recv    a signal (SA_RESTART) ends a recv waiting under SO_RCVTIMEO with EINTR, one
 *                        without a time limit is restarted (Unix and TCP)
 *   signal_connect       a blocking connect a signal interrupts (SA_RESTART) is restarted and completes
 *                        (it said EALREADY); under SO_SNDTIMEO it is EINTR
 *   tcp_read_options     SO_DEBUG (set by root), SO_PEERCRED, SO_BINDTODEVICE, SO_COOKIE read on TCP
 *   unix_dgram_edges     Unix datagrams: a dead peer is forgotten after ECONNREFUSED (then ENOTCONN); the
 *                        receive queue takes max_dgram_qlen + 1 datagrams; names, MSG_TRUNC, shutdown */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/capability.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/sockios.h>

static const char *err(long r) { return r < 0 ? strerrorname_np(errno) : "ok"; }

/* A listening TCP socket on 127.0.0.1 (an ephemeral port), its address in *a. */
static int listener(struct sockaddr_in *a)
{
    int l = socket(AF_INET, SOCK_STREAM, 0);
    socklen_t n = sizeof *a;
    memset(a, 0, sizeof *a);
    a->sin_family = AF_INET;
    a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(l, (struct sockaddr *)a, n) || listen(l, 8) || getsockname(l, (struct sockaddr *)a, &n)) {
        perror("listener");
        exit(1);
    }
    return l;
}

/* A connected pair: *c the connecting end, *s the accepted one. */
static void tcp_pair(int *c, int *s)
{
    struct sockaddr_in a;
    int l = listener(&a);
    *c = socket(AF_INET, SOCK_STREAM, 0);
    if (connect(*c, (struct sockaddr *)&a, sizeof a)) {
        perror("connect");
        exit(1);
    }
    *s = accept(l, NULL, NULL);
    close(l);
}

static int sleeping(long tid)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/self/task/%ld/stat", tid);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    int s = fgets(line, sizeof line, f) && strstr(line, ") S ");
    fclose(f);
    return s;
}

static volatile long waiter_tid;
static int wfd;

static void wait_until_blocked(void)
{
    for (int i = 0; i < 20000 && !(waiter_tid && sleeping(waiter_tid)); i++)   /* until it waits */
        usleep(1000);
}

static void *blocked_recv(void *arg)
{
    char b[8] = {0};
    waiter_tid = syscall(SYS_gettid);
    long n = recv(wfd, b, sizeof b, 0);
    printf("blocked recv: %ld %s '%s'\n", n, err(n), b);
    return NULL;
}

static int close_blocked_recv(void)
{
    int c, s;
    alarm(30);
    tcp_pair(&c, &s);
    wfd = c;
    pthread_t t;
    pthread_create(&t, NULL, blocked_recv, NULL);
    wait_until_blocked();
    printf("close: %s\n", err(close(c)));
    long n = send(s, "hi", 2, 0);
    pthread_join(t, NULL);   /* (then print: the receiving thread's line comes first either way) */
    printf("send: %ld\n", n);
    return 0;
}

static void *blocked_accept(void *arg)
{
    waiter_tid = syscall(SYS_gettid);
    long n = accept(wfd, NULL, NULL);
    printf("blocked accept: %s\n", err(n));
    return NULL;
}

static int close_blocked_accept(void)
{
    struct sockaddr_in a;
    alarm(30);
    wfd = listener(&a);
    pthread_t t;
    pthread_create(&t, NULL, blocked_accept, NULL);
    wait_until_blocked();
    printf("close: %s\n", err(close(wfd)));
    int c = socket(AF_INET, SOCK_STREAM, 0);
    long r = connect(c, (struct sockaddr *)&a, sizeof a);
    const char *e = err(r);
    pthread_join(t, NULL);   /* (then print: the accepting thread's line comes first either way) */
    printf("connect: %s\n", e);
    return 0;
}

static int ps_conn;
static long ps_result;
static size_t ps_total;

static void *big_writev(void *arg)
{
    static char data[2500];
    struct iovec v[IOV_MAX];
    for (int i = 0; i < IOV_MAX; i++)
        v[i] = (struct iovec){data, sizeof data};
    ps_total = sizeof data * IOV_MAX;
    ps_result = writev(ps_conn, v, IOV_MAX);
    if (ps_result < 0)
        printf("writev: %s\n", strerrorname_np(errno));
    return NULL;
}

static int partial_send_reset(void)
{
    int c, s, small = 2500;
    alarm(60);
    signal(SIGPIPE, SIG_IGN);
    tcp_pair(&c, &s);
    setsockopt(c, SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
    setsockopt(s, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    ps_conn = c;
    pthread_t t;
    pthread_create(&t, NULL, big_writev, NULL);
    char b;
    printf("read one byte: %ld\n", (long)read(s, &b, 1));
    close(s);   /* unread data: the peer is reset */
    pthread_join(t, NULL);
    printf("writev returned part of the data: %d\n", ps_result > 0 && (size_t)ps_result < ps_total);
    return 0;
}

static int null_recv(void)
{
    char b[4];
    alarm(30);
    int u = socket(AF_INET, SOCK_STREAM, 0);
    long r = recv(u, b, 0, 0);
    printf("unconnected recv of 0: %ld %s\n", r, err(r));
    r = read(u, b, 0);
    printf("unconnected read of 0: %ld %s\n", r, err(r));
    int c, s;
    tcp_pair(&c, &s);
    r = recv(c, b, 0, MSG_DONTWAIT);
    printf("no data, recv of 0, MSG_DONTWAIT: %ld %s\n", r, err(r));
    r = read(c, b, 0);
    printf("no data, read of 0: %ld %s\n", r, err(r));
    send(s, "x", 1, 0);
    struct pollfd p = {c, POLLIN, 0};
    poll(&p, 1, 10000);
    r = recv(c, b, 0, 0);
    printf("data, recv of 0: %ld %s\n", r, err(r));
    r = recv(c, b, sizeof b, 0);
    printf("then recv: %ld\n", r);
    return 0;
}

static int tcp_msg_trunc(void)
{
    int c, s;
    alarm(30);
    tcp_pair(&c, &s);
    send(s, "abcdefgh", 8, 0);
    struct pollfd p = {c, POLLIN, 0};
    poll(&p, 1, 10000);
    char b[8] = {0};
    long r = recv(c, b, 3, MSG_TRUNC | MSG_PEEK);
    printf("MSG_TRUNC|MSG_PEEK: %ld, buffer '%s'\n", r, b);
    r = recv(c, b, 3, MSG_TRUNC);
    printf("MSG_TRUNC: %ld, buffer '%s'\n", r, b);
    r = recv(c, b, sizeof b - 1, 0);
    printf("then: %ld '%s'\n", r, b);
    return 0;
}

static int poll_norm(void)
{
    alarm(30);
    struct sockaddr_in a;
    int l = listener(&a);
    int c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    long r = connect(c, (struct sockaddr *)&a, sizeof a);
    printf("non-blocking connect: %s\n", err(r));
    struct pollfd p = {c, POLLWRNORM, 0};
    int n = poll(&p, 1, 10000);
    printf("poll(POLLWRNORM) while connecting: %d revents %#x\n", n, p.revents);
    int s = accept(l, NULL, NULL);
    send(s, "x", 1, 0);
    p = (struct pollfd){c, POLLRDNORM, 0};
    n = poll(&p, 1, 10000);
    printf("poll(POLLRDNORM) with data: %d revents %#x\n", n, p.revents);
    p = (struct pollfd){c, POLLRDNORM | POLLWRNORM | POLLIN | POLLOUT, 0};
    n = poll(&p, 1, 10000);
    printf("poll(all four): %d revents %#x\n", n, p.revents);
    return 0;
}

static int tcp_cmsg(void)
{
    int c, s, one = 1;
    alarm(30);
    tcp_pair(&c, &s);
    printf("TCP_INQ: %s\n", err(setsockopt(c, SOL_TCP, TCP_INQ, &one, sizeof one)));
    printf("SO_TIMESTAMP: %s\n", err(setsockopt(c, SOL_SOCKET, SO_TIMESTAMP, &one, sizeof one)));
    int v = 0;
    socklen_t vl = sizeof v;
    long r = getsockopt(c, SOL_TCP, TCP_INQ, &v, &vl);
    printf("getsockopt TCP_INQ: %s %d\n", err(r), v);
    send(s, "0123456789", 10, 0);
    int inq = 0;
    for (int i = 0; i < 10000 && inq < 10; i++) {   /* until all ten bytes are queued */
        ioctl(c, FIONREAD, &inq);
        if (inq < 10)
            usleep(1000);
    }
    char buf[4], control[CMSG_SPACE(sizeof(struct timeval)) + CMSG_SPACE(sizeof(int))];
    struct iovec iov = {buf, sizeof buf};
    struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control, .msg_controllen = sizeof control};
    r = recvmsg(c, &m, 0);
    printf("recvmsg: %ld, flags %#x\n", r, m.msg_flags);
    /* (a timestamp comes too once the kernel's timestamping static key is on: not always at once) */
    for (struct cmsghdr *h = CMSG_FIRSTHDR(&m); h; h = CMSG_NXTHDR(&m, h))
        if (h->cmsg_level == SOL_TCP)
            printf("  cmsg type %d len %zu inq %d\n", h->cmsg_type, (size_t)h->cmsg_len, *(int *)CMSG_DATA(h));
    return 0;
}

static int sock_opts_ioctls(void)
{
    alarm(30);
    int u = socket(AF_INET, SOCK_DGRAM, 0);
    int v = -1, one = 1;
    socklen_t vl = sizeof v;
    long r = getsockopt(u, SOL_SOCKET, SO_NO_CHECK, &v, &vl);
    printf("SO_NO_CHECK: %s %d\n", err(r), v);
    r = setsockopt(u, SOL_SOCKET, SO_NO_CHECK, &one, sizeof one);
    vl = sizeof v;
    getsockopt(u, SOL_SOCKET, SO_NO_CHECK, &v, &vl);
    printf("set SO_NO_CHECK: %s, now %d\n", err(r), v);
    r = setsockopt(u, SOL_SOCKET, SO_DETACH_FILTER, &one, sizeof one);
    printf("SO_DETACH_FILTER without a filter: %s\n", err(r));
    struct timeval tv;
    r = ioctl(u, SIOCGSTAMP, &tv);
    printf("SIOCGSTAMP before any datagram: %s\n", err(r));
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof a;
    bind(u, (struct sockaddr *)&a, al);
    getsockname(u, (struct sockaddr *)&a, &al);
    sendto(u, "d", 1, 0, (struct sockaddr *)&a, al);
    char b;
    recv(u, &b, 1, 0);
    struct timeval now;
    gettimeofday(&now, NULL);
    r = ioctl(u, SIOCGSTAMP, &tv);
    printf("SIOCGSTAMP after one: %s, within a minute %d\n", err(r), r == 0 && labs(now.tv_sec - tv.tv_sec) < 60);
    struct timespec ts;
    r = ioctl(u, SIOCGSTAMPNS, &ts);
    printf("SIOCGSTAMPNS: %s, same second %d\n", err(r), r == 0 && ts.tv_sec == tv.tv_sec);
    int c, s, mark = -1;
    tcp_pair(&c, &s);
    r = ioctl(c, SIOCATMARK, &mark);
    printf("SIOCATMARK: %s %d\n", err(r), mark);
    int outq = -1;
    r = ioctl(c, SIOCOUTQNSD, &outq);
    printf("SIOCOUTQNSD: %s %d\n", err(r), outq);
    return 0;
}

static int buf_force(void)
{
    int c = socket(AF_INET, SOCK_STREAM, 0), v = 0, size = 100000;
    socklen_t vl = sizeof v;
    long r = setsockopt(c, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size);
    getsockopt(c, SOL_SOCKET, SO_RCVBUF, &v, &vl);
    printf("SO_RCVBUFFORCE %d: %s, SO_RCVBUF now %d\n", size, err(r), v);
    size = 50000;
    r = setsockopt(c, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof size);
    vl = sizeof v;
    getsockopt(c, SOL_SOCKET, SO_SNDBUF, &v, &vl);
    printf("SO_SNDBUFFORCE %d: %s, SO_SNDBUF now %d\n", size, err(r), v);
    return 0;
}

/* A sockaddr_un for NAME: abstract if it starts with '@'; returns its length. */
static socklen_t unix_addr(struct sockaddr_un *u, const char *name)
{
    memset(u, 0, sizeof *u);
    u->sun_family = AF_UNIX;
    strcpy(u->sun_path, name);
    if (name[0] == '@')
        u->sun_path[0] = 0;
    return offsetof(struct sockaddr_un, sun_path) + strlen(name) + (name[0] != '@');
}

static int seqpacket_sender(void)
{
    char lname[64], cname[64];
    snprintf(lname, sizeof lname, "@gvt_seq_l_%d", getpid());
    snprintf(cname, sizeof cname, "@gvt_seq_c_%d", getpid());
    struct sockaddr_un la, ca, got;
    socklen_t ll = unix_addr(&la, lname), cl = unix_addr(&ca, cname);
    int l = socket(AF_UNIX, SOCK_SEQPACKET, 0), c = socket(AF_UNIX, SOCK_SEQPACKET, 0);
    bind(l, (struct sockaddr *)&la, ll);
    listen(l, 5);
    connect(c, (struct sockaddr *)&la, ll);
    int s = accept(l, NULL, NULL);
    printf("bind after connect: %s\n", err(bind(c, (struct sockaddr *)&ca, cl)));
    send(c, "x", 1, 0);
    char b;
    socklen_t gl = sizeof got;
    long r = recvfrom(s, &b, 1, 0, (struct sockaddr *)&got, &gl);
    printf("recvfrom: %ld, the name bound after connecting %d\n", r, gl == cl && !memcmp(&got, &ca, cl));
    send(s, "y", 1, 0);
    gl = sizeof got;
    r = recvfrom(c, &b, 1, 0, (struct sockaddr *)&got, &gl);
    printf("reply: %ld, from the listener's name %d\n", r, gl == ll && !memcmp(&got, &la, ll));
    return 0;
}

static int abstract_wrong_type(void)
{
    char name[64];
    snprintf(name, sizeof name, "@gvt_type_%d", getpid());
    struct sockaddr_un a;
    socklen_t al = unix_addr(&a, name);
    int l = socket(AF_UNIX, SOCK_SEQPACKET, 0);
    bind(l, (struct sockaddr *)&a, al);
    listen(l, 5);
    int c = socket(AF_UNIX, SOCK_STREAM, 0);
    long r = connect(c, (struct sockaddr *)&a, al);
    printf("stream connect to a seqpacket listener's abstract name: %s\n", err(r));
    int d = socket(AF_UNIX, SOCK_DGRAM, 0);
    r = sendto(d, "x", 1, 0, (struct sockaddr *)&a, al);
    printf("datagram to it: %s\n", err(r));
    c = socket(AF_UNIX, SOCK_SEQPACKET, 0);
    printf("seqpacket connect: %s\n", err(connect(c, (struct sockaddr *)&a, al)));
    return 0;
}

static int creds_reaped_pid(void)
{
    alarm(30);
    int sv[2], one = 1;
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    setsockopt(sv[1], SOL_SOCKET, SO_PASSCRED, &one, sizeof one);
    pid_t child = fork();
    if (child == 0)
        _exit(0);
    waitpid(child, NULL, 0);
    struct ucred cred = {child, getuid(), getgid()};
    char control[CMSG_SPACE(sizeof cred)] = {0};
    char b = 'x';
    struct iovec iov = {&b, 1};
    struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control, .msg_controllen = sizeof control};
    struct cmsghdr *h = CMSG_FIRSTHDR(&m);
    h->cmsg_level = SOL_SOCKET;
    h->cmsg_type = SCM_CREDENTIALS;
    h->cmsg_len = CMSG_LEN(sizeof cred);
    memcpy(CMSG_DATA(h), &cred, sizeof cred);
    long r = sendmsg(sv[0], &m, 0);
    printf("credentials of a reaped child (as root: %d): %s\n", getuid() == 0, err(r));
    cred.pid = getpid();
    memcpy(CMSG_DATA(h), &cred, sizeof cred);
    r = sendmsg(sv[0], &m, 0);
    printf("own credentials: %s\n", err(r));
    return 0;
}

/* sendmsg of LEN bytes of DATA with explicit credentials (CRED) and/or a descriptor (FD >= 0). */
static long send_with(int s, const char *data, size_t len, const struct ucred *cred, int fd)
{
    char control[CMSG_SPACE(sizeof(struct ucred)) + CMSG_SPACE(sizeof(int))] = {0};
    struct iovec iov = {(void *)data, len};
    struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control, .msg_controllen = 0};
    struct cmsghdr *h = (struct cmsghdr *)control;
    if (cred) {
        h->cmsg_level = SOL_SOCKET, h->cmsg_type = SCM_CREDENTIALS, h->cmsg_len = CMSG_LEN(sizeof *cred);
        memcpy(CMSG_DATA(h), cred, sizeof *cred);
        m.msg_controllen += CMSG_SPACE(sizeof *cred);
        h = (struct cmsghdr *)(control + m.msg_controllen);
    }
    if (fd >= 0) {
        h->cmsg_level = SOL_SOCKET, h->cmsg_type = SCM_RIGHTS, h->cmsg_len = CMSG_LEN(sizeof fd);
        memcpy(CMSG_DATA(h), &fd, sizeof fd);
        m.msg_controllen += CMSG_SPACE(sizeof fd);
    }
    if (!m.msg_controllen)
        m.msg_control = NULL;
    return sendmsg(s, &m, 0);
}

/* One recvmsg of up to N bytes: prints the count, the credentials and descriptors that came. */
static void recv_show(int s, size_t n, const char *what)
{
    char buf[256], control[256];
    struct iovec iov = {buf, n};
    struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control, .msg_controllen = sizeof control};
    long r = recvmsg(s, &m, MSG_DONTWAIT);
    printf("%s: %ld %s", what, r, err(r));
    for (struct cmsghdr *h = CMSG_FIRSTHDR(&m); r >= 0 && h; h = CMSG_NXTHDR(&m, h)) {
        if (h->cmsg_type == SCM_CREDENTIALS) {
            struct ucred *c = (struct ucred *)CMSG_DATA(h);
            printf(", creds pid %s uid %u gid %u", c->pid == getpid() ? "mine" : c->pid ? "other" : "0", c->uid, c->gid);
        } else if (h->cmsg_type == SCM_RIGHTS) {
            printf(", %zu descriptor(s)", (size_t)(h->cmsg_len - CMSG_LEN(0)) / sizeof(int));
        }
    }
    printf("\n");
}

static void passcred(int s, int on)
{
    setsockopt(s, SOL_SOCKET, SO_PASSCRED, &on, sizeof on);
}

static int stream_creds(void)
{
    int sv[2];
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    write(sv[0], "aaaa", 4);
    write(sv[0], "bbbb", 4);
    passcred(sv[1], 1);
    recv_show(sv[1], 100, "two writes before SO_PASSCRED, read with it");
    passcred(sv[1], 0);
    write(sv[0], "cccc", 4);
    passcred(sv[1], 1);
    write(sv[0], "dddd", 4);
    passcred(sv[1], 0);
    recv_show(sv[1], 100, "before and after SO_PASSCRED, read without it");
    write(sv[0], "eeee", 4);
    passcred(sv[1], 1);
    write(sv[0], "ffff", 4);
    recv_show(sv[1], 100, "before and after SO_PASSCRED, read with it");
    recv_show(sv[1], 100, "then");
    struct ucred mine = {getpid(), getuid(), getgid()};
    passcred(sv[1], 0);
    printf("explicit credentials: %ld\n", send_with(sv[0], "gggg", 4, &mine, -1));
    passcred(sv[1], 1);
    recv_show(sv[1], 100, "read with SO_PASSCRED set after");
    return 0;
}

static int stream_fds(void)
{
    int sv[2], p[2];
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    pipe(p);
    write(sv[0], "aaaa", 4);
    send_with(sv[0], "bbbb", 4, NULL, p[0]);
    write(sv[0], "cccc", 4);
    recv_show(sv[1], 100, "plain, then with a descriptor, then plain");
    recv_show(sv[1], 100, "then");
    printf("a descriptor with no data: %ld\n", send_with(sv[0], "", 0, NULL, p[0]));
    write(sv[0], "dddd", 4);
    recv_show(sv[1], 100, "then data");
    return 0;
}

static int unix_rcvtimeo(void)
{
    alarm(30);
    int types[] = {SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET};
    for (int i = 0; i < 3; i++) {
        int sv[2];
        socketpair(AF_UNIX, types[i], 0, sv);
        struct timeval tv = {0, 20000};
        setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        setsockopt(sv[0], SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
        char b[64] = {0};
        long r = read(sv[0], b, sizeof b);
        printf("type %d read: %ld %s", types[i], r, err(r));
        r = readv(sv[0], &(struct iovec){b, sizeof b}, 1);
        printf(", readv: %ld %s", r, err(r));
        int full = 0;
        for (int k = 0; k < 100000 && !full; k++)   /* fill the socket (a write times out then) */
            full = write(sv[0], b, sizeof b) < 0;
        printf(", write to a full socket: %s\n", full ? strerrorname_np(errno) : "never full");
    }
    return 0;
}

static int unix_buf_force(void)
{
    int sv[2], size = 1 << 24, v = 0;
    socklen_t vl = sizeof v;
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    long r = setsockopt(sv[0], SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size);
    getsockopt(sv[0], SOL_SOCKET, SO_RCVBUF, &v, &vl);
    printf("SO_RCVBUFFORCE %d: %s, SO_RCVBUF now %d\n", size, err(r), v);
    r = setsockopt(sv[0], SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof size);
    vl = sizeof v;
    getsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &v, &vl);
    printf("SO_SNDBUFFORCE %d: %s, SO_SNDBUF now %d\n", size, err(r), v);
    return 0;
}

static double mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static volatile int beating = 1;
static double max_gap;

static void *heartbeat(void *arg)
{
    double last = mono();
    while (beating) {
        usleep(10000);
        double t = mono();
        if (t - last > max_gap)
            max_gap = t - last;
        last = t;
    }
    return NULL;
}

static int linger_close(void)
{
    int c, s;
    alarm(60);
    tcp_pair(&c, &s);   /* s never reads: c's data stays unsent */
    fcntl(c, F_SETFL, O_NONBLOCK);
    static char buf[65536];
    while (write(c, buf, sizeof buf) > 0)
        ;
    fcntl(c, F_SETFL, 0);
    struct linger lg = {1, 3};
    printf("SO_LINGER: %s\n", err(setsockopt(c, SOL_SOCKET, SO_LINGER, &lg, sizeof lg)));
    pthread_t t;
    pthread_create(&t, NULL, heartbeat, NULL);
    usleep(100000);
    printf("close: %s\n", err(close(c)));
    usleep(100000);
    beating = 0;
    pthread_join(t, NULL);
    printf("the other thread ran on during the close (no gap over 1.5 s): %d\n", max_gap < 1.5);
    return 0;
}

static int unix_bind_mode(void)
{
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    printf("fchmod 0765: %s\n", err(fchmod(s, 0765)));
    umask(0123);
    struct sockaddr_un a;
    char path[64];
    snprintf(path, sizeof path, "/tmp/gvt_sock_mode_%d", getpid());
    socklen_t al = unix_addr(&a, path);
    printf("bind: %s\n", err(bind(s, (struct sockaddr *)&a, al)));
    struct stat st;
    stat(path, &st);
    printf("mode %o\n", st.st_mode);
    unlink(path);
    return 0;
}

static int abstract_netns(void)
{
    int l = socket(AF_UNIX, SOCK_STREAM, 0), c = socket(AF_UNIX, SOCK_STREAM, 0);
    printf("unshare(CLONE_NEWNET): %s\n", err(unshare(CLONE_NEWNET)));
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    socklen_t al = sizeof a;
    bind(l, (struct sockaddr *)&a, sizeof(sa_family_t));   /* autobind: an abstract name */
    getsockname(l, (struct sockaddr *)&a, &al);
    listen(l, 1);
    printf("connect from a socket of the old namespace: %s\n", err(connect(c, (struct sockaddr *)&a, al)));
    int n = socket(AF_UNIX, SOCK_STREAM, 0);
    long r = connect(n, (struct sockaddr *)&a, al);
    printf("connect from one of the new namespace: %s\n", err(r));
    return 0;
}

static void recv_small_control(int s, size_t room)
{
    char buf[8], control[64];
    memset(control, 0xff, sizeof control);
    struct iovec iov = {buf, sizeof buf};
    struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control, .msg_controllen = room};
    long r = recvmsg(s, &m, 0);
    struct cmsghdr *h = CMSG_FIRSTHDR(&m);
    printf("control room %zu: %ld bytes, msg_controllen %zu, MSG_CTRUNC %d, first cmsg len %ld type %d\n", room, r,
           (size_t)m.msg_controllen, !!(m.msg_flags & MSG_CTRUNC), h ? (long)h->cmsg_len : -1L, h ? h->cmsg_type : -1);
}

static int unix_cmsg_edges(void)
{
    int sv[2], p[2];
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    passcred(sv[1], 1);
    size_t rooms[] = {CMSG_SPACE(0) + sizeof(pid_t), CMSG_LEN(0), 8};
    for (int i = 0; i < 3; i++) {
        write(sv[0], "ab", 2);
        recv_small_control(sv[1], rooms[i]);
    }
    passcred(sv[1], 0);
    pipe(p);
    send_with(sv[0], "xy", 2, NULL, p[0]);
    char control[CMSG_SPACE(sizeof(int))];
    struct msghdr m = {.msg_control = control, .msg_controllen = sizeof control};
    long r = recvmsg(sv[1], &m, 0);
    printf("null read: %ld, descriptor %d\n", r, CMSG_FIRSTHDR(&m) != NULL && CMSG_FIRSTHDR(&m)->cmsg_type == SCM_RIGHTS);
    char b[4] = {0};
    printf("then: %ld '%s'\n", (long)read(sv[1], b, sizeof b), b);
    int levels[] = {SOL_IP, SOL_TCP, 263}, v = 0;
    for (int i = 0; i < 3; i++) {
        socklen_t vl = sizeof v;
        long g = getsockopt(sv[0], levels[i], 1, &v, &vl);
        const char *ge = err(g);
        printf("level %d: getsockopt %s, setsockopt %s\n", levels[i], ge, err(setsockopt(sv[0], levels[i], 1, &v, sizeof v)));
    }
    char name[64];
    snprintf(name, sizeof name, "@gvt_peercred_%d", getpid());
    struct sockaddr_un a;
    socklen_t al = unix_addr(&a, name);
    int l = socket(AF_UNIX, SOCK_STREAM, 0);
    bind(l, (struct sockaddr *)&a, al);
    listen(l, 1);
    struct ucred cr;
    socklen_t cl = sizeof cr;
    getsockopt(l, SOL_SOCKET, SO_PEERCRED, &cr, &cl);
    printf("listener's SO_PEERCRED: pid mine %d, uid %u\n", cr.pid == getpid(), cr.uid);
    return 0;
}

static int creds_no_cap(void)
{
    alarm(30);
    int sv[2];
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    pid_t child = fork();
    if (child == 0) {
        pause();
        _exit(0);
    }
    struct ucred other = {child, getuid(), getgid()};
    printf("as root: %ld\n", send_with(sv[0], "a", 1, &other, -1));
    struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct data[2];
    syscall(SYS_capget, &hdr, data);
    data[0].effective &= ~(1u << CAP_SYS_ADMIN);
    printf("drop CAP_SYS_ADMIN: %s\n", err(syscall(SYS_capset, &hdr, data)));
    long r = send_with(sv[0], "b", 1, &other, -1);
    printf("another's pid without it: %s\n", err(r));
    struct ucred mine = {getpid(), getuid(), getgid()};
    printf("own pid: %ld\n", send_with(sv[0], "c", 1, &mine, -1));
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
    return 0;
}

static int socket_reopen(void)
{
    int sv[2];
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    char p[64];
    snprintf(p, sizeof p, "/proc/self/fd/%d", sv[0]);
    long r = open(p, O_WRONLY);
    printf("reopen through /proc/self/fd: %s\n", err(r));
    r = open(p, O_PATH);
    printf("O_PATH: %s\n", err(r));
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un a;
    char path[64];
    snprintf(path, sizeof path, "/tmp/gvt_reopen_%d", getpid());
    socklen_t al = unix_addr(&a, path);
    bind(s, (struct sockaddr *)&a, al);
    r = open(path, O_RDWR);
    printf("open of the bound path: %s\n", err(r));
    unlink(path);
    return 0;
}

static int so_mark_no_check(void)
{
    int sv[2];
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    int socks[] = {sv[0], socket(AF_INET, SOCK_STREAM, 0)};
    for (int i = 0; i < 2; i++) {
        int mark = 1234, v = -1, one = 1;
        socklen_t vl = sizeof v;
        long r = setsockopt(socks[i], SOL_SOCKET, SO_MARK, &mark, sizeof mark);
        long g = getsockopt(socks[i], SOL_SOCKET, SO_MARK, &v, &vl);
        printf("%s: set SO_MARK %s, get %s %d", i ? "tcp" : "unix", err(r), err(g), v);
        v = -1, vl = sizeof v;
        g = getsockopt(socks[i], SOL_SOCKET, SO_NO_CHECK, &v, &vl);
        printf(", SO_NO_CHECK %s %d", err(g), v);
        r = setsockopt(socks[i], SOL_SOCKET, SO_NO_CHECK, &one, sizeof one);
        v = -1, vl = sizeof v;
        getsockopt(socks[i], SOL_SOCKET, SO_NO_CHECK, &v, &vl);
        printf(", set %s, now %d\n", err(r), v);
    }
    return 0;
}

static void on_usr1(int sig) {}
static volatile long target_tid;
static int sig_peer, sig_listener;
static volatile int sig_done;

/* Signal the waiting thread once it sleeps in its call, then (a recv) give it data or (a connect)
 * accept until it is done. */
static void *interrupter(void *arg)
{
    for (int i = 0; i < 20000 && !(target_tid && sleeping(target_tid)); i++)
        usleep(1000);
    syscall(SYS_tgkill, getpid(), target_tid, SIGUSR1);
    for (int i = 0; i < 20000 && !sig_done && !sleeping(target_tid); i++)   /* back asleep, or done */
        usleep(1000);
    if (sig_peer >= 0)
        write(sig_peer, "d", 1);
    while (sig_listener >= 0 && !sig_done) {
        int x = accept4(sig_listener, NULL, NULL, SOCK_NONBLOCK);
        if (x >= 0)
            close(x);
        usleep(10000);
    }
    return NULL;
}

static void restartable_usr1(void)
{
    struct sigaction sa = {0};
    sa.sa_handler = on_usr1;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGUSR1, &sa, NULL);
}

static void timed_recv(const char *what, int fd, int peer, int limited)
{
    if (limited) {
        struct timeval tv = {20, 0};
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    }
    sig_peer = peer, sig_listener = -1, sig_done = 0;
    target_tid = syscall(SYS_gettid);
    pthread_t t;
    pthread_create(&t, NULL, interrupter, NULL);
    char b[4];
    long r = recv(fd, b, sizeof b, 0);
    sig_done = 1;
    pthread_join(t, NULL);
    printf("%s, %s: %ld %s\n", what, limited ? "SO_RCVTIMEO" : "no time limit", r, err(r));
}

static int signal_timed_recv(void)
{
    alarm(60);
    restartable_usr1();
    for (int limited = 0; limited < 2; limited++) {
        int sv[2], c, s;
        socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
        timed_recv("unix", sv[0], sv[1], limited);
        tcp_pair(&c, &s);
        timed_recv("tcp", c, s, limited);
    }
    return 0;
}

static int signal_connect(void)
{
    alarm(60);
    restartable_usr1();
    for (int limited = 0; limited < 2; limited++) {
        struct sockaddr_in a;
        int l = listener(&a);
        listen(l, 0);
        for (int i = 0; i < 8; i++)   /* a full accept queue: the next SYN goes unanswered for now */
            connect(socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0), (struct sockaddr *)&a, sizeof a);
        int c = socket(AF_INET, SOCK_STREAM, 0);
        if (limited) {
            struct timeval tv = {20, 0};
            setsockopt(c, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
        }
        sig_peer = -1, sig_listener = l, sig_done = 0;
        target_tid = syscall(SYS_gettid);
        pthread_t t;
        pthread_create(&t, NULL, interrupter, NULL);
        long r = connect(c, (struct sockaddr *)&a, sizeof a);
        sig_done = 1;
        pthread_join(t, NULL);
        printf("blocking connect, %s: %s\n", limited ? "SO_SNDTIMEO" : "no time limit", err(r));
    }
    return 0;
}

static int tcp_read_options(void)
{
    int c = socket(AF_INET, SOCK_STREAM, 0), v = 0, one = 1;
    socklen_t vl = sizeof v;
    long r = getsockopt(c, SOL_SOCKET, SO_DEBUG, &v, &vl);
    printf("SO_DEBUG: %s %d", err(r), v);
    r = setsockopt(c, SOL_SOCKET, SO_DEBUG, &one, sizeof one);
    vl = sizeof v;
    getsockopt(c, SOL_SOCKET, SO_DEBUG, &v, &vl);
    printf(", set %s, now %d\n", err(r), v);
    struct ucred cr = {-1, 1, 1};
    vl = sizeof cr;
    r = getsockopt(c, SOL_SOCKET, SO_PEERCRED, &cr, &vl);
    printf("SO_PEERCRED: %s, pid %d uid %d gid %d\n", err(r), cr.pid, (int)cr.uid, (int)cr.gid);
    char dev[32] = "x";
    vl = sizeof dev;
    r = getsockopt(c, SOL_SOCKET, SO_BINDTODEVICE, dev, &vl);
    printf("SO_BINDTODEVICE: %s, length %d\n", err(r), vl);
    unsigned long long cookie = 0;
    vl = sizeof cookie;
    r = getsockopt(c, SOL_SOCKET, SO_COOKIE, &cookie, &vl);
    printf("SO_COOKIE: %s, set %d\n", err(r), cookie != 0);
    return 0;
}

#define SHOW(x) do { errno = 0; long r_ = (x); printf("%-60s %ld %s\n", #x, r_, r_ < 0 ? strerrorname_np(errno) : ""); } while (0)

static int unix_dgram_edges(void)
{
    char p1[64], p2[64], buf[300000];
    snprintf(p1, sizeof p1, "/tmp/gvt_udg1_%d", getpid());
    snprintf(p2, sizeof p2, "/tmp/gvt_udg2_%d", getpid());
    struct sockaddr_un a, b, f;
    socklen_t al = unix_addr(&a, p1), bl = unix_addr(&b, p2), fl;
    int s = socket(AF_UNIX, SOCK_DGRAM, 0), t = socket(AF_UNIX, SOCK_DGRAM, 0);
    SHOW(sendto(t, "x", 1, 0, (struct sockaddr *)&a, al));
    SHOW(bind(s, (struct sockaddr *)&a, al));
    SHOW(bind(s, (struct sockaddr *)&b, bl));
    SHOW(sendto(t, "hello", 5, 0, (struct sockaddr *)&a, al));
    fl = sizeof f;
    SHOW(recvfrom(s, buf, 2, MSG_TRUNC, (struct sockaddr *)&f, &fl));
    SHOW(connect(s, (struct sockaddr *)&a, al));
    SHOW(send(s, "self", 4, 0));
    SHOW(recv(s, buf, 10, MSG_DONTWAIT));
    int u = socket(AF_UNIX, SOCK_DGRAM, 0);
    SHOW(bind(u, (struct sockaddr *)&b, bl));
    SHOW(connect(t, (struct sockaddr *)&b, bl));
    close(u);
    SHOW(send(t, "x", 1, 0));
    SHOW(send(t, "x", 1, 0));
    unlink(p2);
    int w = socket(AF_UNIX, SOCK_DGRAM, 0), q = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    SHOW(bind(w, (struct sockaddr *)&b, bl));
    SHOW(connect(q, (struct sockaddr *)&b, bl));
    int n = 0;
    while (send(q, "m", 1, 0) == 1)
        n++;
    printf("queued %d, then %s\n", n, strerrorname_np(errno));
    SHOW(send(q, buf, 250000, 0));
    SHOW(shutdown(w, SHUT_RD));
    SHOW(recv(w, buf, 1, 0));
    unlink(p1);
    unlink(p2);
    return 0;
}

/* The value of field `name` of the `prefix` lines of /proc/net/snmp (-1: none). */
static long snmp_value(const char *prefix, const char *name)
{
    FILE *f = fopen("/proc/net/snmp", "r");
    char header[4096], values[4096];
    long found = -1;
    size_t plen = strlen(prefix);
    while (f && fgets(header, sizeof header, f) && fgets(values, sizeof values, f)) {
        if (strncmp(header, prefix, plen) || header[plen] != ':')
            continue;
        char *hs, *vs, *h = strtok_r(header + plen + 1, " \n", &hs), *v = strtok_r(values + plen + 1, " \n", &vs);
        for (; h && v; h = strtok_r(NULL, " \n", &hs), v = strtok_r(NULL, " \n", &vs))
            if (!strcmp(h, name))
                found = atol(v);
    }
    if (f)
        fclose(f);
    return found;
}

/* Each header line of /proc/net/`file` but IcmpMsg's (which lists the message types seen), and
   whether the value line after it has as many fields; with `all`, the values too. */
static void show_mib(const char *file, int all)
{
    char path[64], header[8192], values[8192];
    snprintf(path, sizeof path, "/proc/net/%s", file);
    FILE *f = fopen(path, "r");
    if (!f) {
        printf("%s: %s\n", path, strerrorname_np(errno));
        return;
    }
    while (fgets(header, sizeof header, f) && fgets(values, sizeof values, f)) {
        if (!strncmp(header, "IcmpMsg:", 8))
            continue;
        int names = 0, nums = 0;
        for (char *p = header; *p; p++)
            names += *p == ' ';
        for (char *p = values; *p; p++)
            nums += *p == ' ';
        header[strcspn(header, "\n")] = 0;
        printf("%s (as many values: %d)\n%s", header, names == nums, all ? values : "");
    }
    fclose(f);
}

/* /proc/net/snmp6's counter names ("name<spaces>\tvalue" lines; with `all`, the values too), but
   the Icmp6InTypeN/Icmp6OutTypeN ones, which show only the message types seen. */
static void show_snmp6(int all)
{
    FILE *f = fopen("/proc/net/snmp6", "r");
    char line[256];
    int n = 0;
    if (!f) {
        printf("/proc/net/snmp6: %s\n", strerrorname_np(errno));
        return;
    }
    while (fgets(line, sizeof line, f)) {
        if (!strncmp(line, "Icmp6InType", 11) || !strncmp(line, "Icmp6OutType", 12))
            continue;
        n++;
        if (all)
            fputs(line, stdout);
        else
            printf("%.*s\n", (int)strcspn(line, " \t"), line);
    }
    fclose(f);
    printf("snmp6: %d counters\n", n);
}

/* /proc/net/snmp, /proc/net/netstat and /proc/net/snmp6: Linux's lines; the counters move with loopback traffic
   (a TCP connection made and accepted, one refused, a UDP datagram to no port and one received);
   a new network namespace's start at 0 (root). */
static int proc_snmp(void)
{
    show_mib("snmp", 0);
    show_mib("netstat", 0);
    show_snmp6(0);
    static const char *counters[][2] = {{"Tcp", "ActiveOpens"}, {"Tcp", "PassiveOpens"}, {"Tcp", "AttemptFails"},
                                        {"Udp", "OutDatagrams"}, {"Udp", "InDatagrams"}, {"Udp", "NoPorts"}};
    long before[6];
    for (int i = 0; i < 6; i++)
        before[i] = snmp_value(counters[i][0], counters[i][1]);
    struct sockaddr_in a;
    int l = listener(&a), c = socket(AF_INET, SOCK_STREAM, 0);
    connect(c, (struct sockaddr *)&a, sizeof a);
    int s = accept(l, NULL, NULL);
    close(s), close(c), close(l);
    c = socket(AF_INET, SOCK_STREAM, 0);
    long r = connect(c, (struct sockaddr *)&a, sizeof a);   /* nothing listens there now */
    printf("connect to a closed port: %ld %s\n", r, r < 0 ? strerrorname_np(errno) : "");
    close(c);
    int u = socket(AF_INET, SOCK_DGRAM, 0), v = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in b = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof b;
    bind(v, (struct sockaddr *)&b, sizeof b);
    getsockname(v, (struct sockaddr *)&b, &len);
    sendto(u, "x", 1, 0, (struct sockaddr *)&b, sizeof b);
    char buf[8];
    printf("datagram received: %zd\n", recv(v, buf, sizeof buf, 0));
    close(v);
    connect(u, (struct sockaddr *)&b, sizeof b);   /* its port is closed now: ICMP port unreachable */
    send(u, "y", 1, 0);
    r = recv(u, buf, sizeof buf, 0);
    printf("datagram to a closed port, then recv: %ld %s\n", r, r < 0 ? strerrorname_np(errno) : "");
    close(u);
    for (int i = 0; i < 6; i++)
        printf("%s %s grew: %d\n", counters[i][0], counters[i][1], snmp_value(counters[i][0], counters[i][1]) > before[i]);
    pid_t child = fork();
    if (child == 0) {
        if (unshare(CLONE_NEWNET))
            _exit(1);
        show_mib("snmp", 1);
        show_snmp6(1);
        _exit(0);
    }
    int status;
    waitpid(child, &status, 0);
    printf("new namespace: status %d\n", status);
    return 0;
}

int main(int argc, char **argv)
{
    const char *c = argc > 1 ? argv[1] : "";
    setvbuf(stdout, NULL, _IONBF, 0);
    if (!strcmp(c, "close_blocked_recv")) return close_blocked_recv();
    if (!strcmp(c, "close_blocked_accept")) return close_blocked_accept();
    if (!strcmp(c, "partial_send_reset")) return partial_send_reset();
    if (!strcmp(c, "null_recv")) return null_recv();
    if (!strcmp(c, "tcp_msg_trunc")) return tcp_msg_trunc();
    if (!strcmp(c, "poll_norm")) return poll_norm();
    if (!strcmp(c, "tcp_cmsg")) return tcp_cmsg();
    if (!strcmp(c, "sock_opts_ioctls")) return sock_opts_ioctls();
    if (!strcmp(c, "buf_force")) return buf_force();
    if (!strcmp(c, "seqpacket_sender")) return seqpacket_sender();
    if (!strcmp(c, "abstract_wrong_type")) return abstract_wrong_type();
    if (!strcmp(c, "creds_reaped_pid")) return creds_reaped_pid();
    if (!strcmp(c, "stream_creds")) return stream_creds();
    if (!strcmp(c, "stream_fds")) return stream_fds();
    if (!strcmp(c, "unix_rcvtimeo")) return unix_rcvtimeo();
    if (!strcmp(c, "unix_buf_force")) return unix_buf_force();
    if (!strcmp(c, "linger_close")) return linger_close();
    if (!strcmp(c, "unix_bind_mode")) return unix_bind_mode();
    if (!strcmp(c, "abstract_netns")) return abstract_netns();
    if (!strcmp(c, "unix_cmsg_edges")) return unix_cmsg_edges();
    if (!strcmp(c, "creds_no_cap")) return creds_no_cap();
    if (!strcmp(c, "socket_reopen")) return socket_reopen();
    if (!strcmp(c, "so_mark_no_check")) return so_mark_no_check();
    if (!strcmp(c, "signal_timed_recv")) return signal_timed_recv();
    if (!strcmp(c, "signal_connect")) return signal_connect();
    if (!strcmp(c, "tcp_read_options")) return tcp_read_options();
    if (!strcmp(c, "unix_dgram_edges")) return unix_dgram_edges();
    if (!strcmp(c, "proc_snmp")) return proc_snmp();
    fprintf(stderr, "unknown case %s\n", c);
    return 2;
}
