/* Small kernel features, each as Linux 6.x has it: one case per argv[1], each printing what it
 * observes (return values, errno names), run natively and in the sandbox.
 *   oob_basic      AF_UNIX stream MSG_OOB: the last byte sent is urgent; a read stops before it,
 *                  SIOCATMARK then says 1, recv(MSG_OOB) takes it (MSG_OOB in msg_flags), a second
 *                  recv(MSG_OOB) is EINVAL; poll's POLLPRI while it waits; FIONREAD throughout
 *   oob_skip       an ordinary read that starts at the urgent byte drops it and reads on; a read
 *                  that took bytes stops before it, and before a mark already read (MSG_WAITALL too)
 *   oob_replace    a second urgent byte replaces the first, which becomes ordinary data
 *   oob_peek       MSG_PEEK|MSG_OOB leaves the byte; MSG_PEEK of the data stops at the mark
 *   oob_inline     SO_OOBINLINE: recv(MSG_OOB) is EINVAL, the byte is read inline (after the stop)
 *   oob_signal     SIGURG (SI_KERNEL) to the receiving socket's owner (F_SETOWN), none without
 *                  one; epoll's EPOLLPRI
 *   oob_errors     MSG_OOB on datagram and seqpacket sockets: EOPNOTSUPP; sending 0 bytes with
 *                  it too; recv(MSG_OOB) unconnected or listening: EINVAL
 *   propagate_from /proc/PID/mountinfo's "propagate_from:N" of a slave whose master has no peer
 *                  under the process's root (chroot) but the master's master has (get_dominating_id)
 *   pidfd_info     PIDFD_GET_INFO of a live process (ids, credentials, cgroup, dumpable state), a
 *                  zombie and a reaped one (its exit code only, on request); sizes, bad calls
 *   pidfd_ns       PIDFD_GET_*_NAMESPACE: an O_CLOEXEC nsfs descriptor of the process's namespace;
 *                  ESRCH once it exited, EINVAL with an argument, EACCES without ptrace access
 *   set_tid        clone3's set_tid: a child with the chosen pid in a PID namespace of our own (and
 *                  pid 1 in a new one); EEXIST, EINVAL (range, sizes, no init), EFAULT, EPERM
 *                  without CAP_SYS_ADMIN/CAP_CHECKPOINT_RESTORE
 *   ns_last_pid    /proc/sys/kernel/ns_last_pid: the namespace's last pid; a write sets where the
 *                  next fork's pid is sought (EPERM without the capability, EINVAL out of range)
 *   pidfd_thread   PIDFD_THREAD (6.9): pidfd_open of any thread (without it, a thread that leads
 *                  nothing: ENOENT), O_EXCL in F_GETFL; pidfd_send_signal to that thread by
 *                  default; POLLIN|POLLHUP once it exited; waitid ECHILD; PIDFD_GET_INFO's pid;
 *                  clone3 CLONE_THREAD|CLONE_PIDFD
 *   loginuid       /proc/self/loginuid and sessionid: unset (4294967295) at first (a child unsets
 *                  its own first: the host's test run may have one), set once freely, a new session
 *                  each time, inherited by fork; set again without CAP_AUDIT_CONTROL EPERM, another
 *                  process's EPERM, bad numbers EINVAL/ERANGE, a write past offset 0 EINVAL
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stddef.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/fsuid.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/capability.h>

#include "show.h"

/* --- AF_UNIX MSG_OOB ------------------------------------------------------------------------- */

/* Linux 6.18 counts an urgent byte that a plain read dropped in FIONREAD for ever after (its
   inq_len is not lowered for it): a socket that dropped one no longer shows FIONREAD. */
static int inq_shown = 1;

static void oob_state(const char *what, int fd)
{
    struct pollfd p = {fd, POLLIN | POLLPRI | POLLOUT, 0};
    int mark = -1, inq = -1;
    int pr = poll(&p, 1, 0);
    long m = ioctl(fd, SIOCATMARK, &mark);
    long q = ioctl(fd, FIONREAD, &inq);
    printf("%s: poll %d revents %#x atmark %ld/%d", what, pr, pr > 0 ? p.revents : 0, m, mark);
    if (inq_shown)
        printf(" inq %ld/%d", q, inq);
    printf("\n");
}

/* recvmsg of up to N bytes with FLAGS (MSG_DONTWAIT added): the bytes and msg_flags. */
static void oob_recv(const char *what, int fd, size_t n, int flags)
{
    char buf[64] = {0};
    struct iovec iov = {buf, n};
    struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
    errno = 0;
    long r = recvmsg(fd, &mh, flags | MSG_DONTWAIT);
    if (r < 0)
        printf("%s: -1 %s\n", what, strerrorname_np(errno));
    else
        printf("%s: %ld '%.*s' flags %#x\n", what, r, (int)r, buf, mh.msg_flags);
}

static void oob_send(int fd, const char *s, int flags)
{
    errno = 0;
    long r = send(fd, s, strlen(s), flags | MSG_DONTWAIT);
    printf("send '%s' %s: %ld %s\n", s, flags & MSG_OOB ? "OOB" : "", r, r < 0 ? strerrorname_np(errno) : "");
}

static int stream_pair(int sv[2])
{
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv)) {
        perror("socketpair");
        exit(1);
    }
    return 0;
}

static int oob_basic(void)
{
    int sv[2];
    stream_pair(sv);
    oob_state("empty", sv[1]);
    oob_send(sv[0], "abc", MSG_OOB);
    oob_state("sent", sv[1]);
    oob_recv("read 10", sv[1], 10, 0);
    oob_state("after read", sv[1]);
    oob_recv("read 10 at the mark", sv[1], 10, 0);   /* the urgent byte is dropped: EAGAIN */
    inq_shown = 0;
    oob_state("after second read", sv[1]);
    stream_pair(sv);
    inq_shown = 1;
    oob_send(sv[0], "xyz", MSG_OOB);
    oob_recv("oob", sv[1], 10, MSG_OOB);
    oob_state("after oob", sv[1]);
    oob_recv("oob again", sv[1], 10, MSG_OOB);
    oob_recv("read 10", sv[1], 10, 0);
    oob_state("after read", sv[1]);
    oob_recv("read 10", sv[1], 10, 0);
    oob_state("after read", sv[1]);
    oob_send(sv[0], "q", MSG_OOB);
    oob_state("one byte", sv[1]);
    oob_recv("oob", sv[1], 10, MSG_OOB);
    oob_state("taken", sv[1]);
    oob_send(sv[0], "rs", 0);
    oob_state("more data", sv[1]);
    oob_recv("read 10", sv[1], 10, 0);
    oob_state("after read", sv[1]);
    oob_recv("oob none", sv[1], 10, MSG_OOB);
    oob_send(sv[0], "t", MSG_OOB);
    oob_recv("oob", sv[1], 10, MSG_OOB);
    oob_state("after", sv[1]);
    oob_recv("read 0", sv[1], 0, 0);
    oob_state("after", sv[1]);
    shutdown(sv[0], SHUT_WR);
    oob_recv("read at eof", sv[1], 10, 0);
    oob_recv("oob at eof", sv[1], 10, MSG_OOB);
    return 0;
}

static int oob_skip(void)
{
    int sv[2];
    stream_pair(sv);
    oob_send(sv[0], "ab", 0);
    oob_send(sv[0], "c", MSG_OOB);
    oob_send(sv[0], "de", 0);
    oob_state("queued", sv[1]);
    oob_recv("read 10", sv[1], 10, 0);
    oob_state("at mark", sv[1]);
    oob_recv("read 10", sv[1], 10, 0);
    inq_shown = 0;
    oob_state("after", sv[1]);
    /* the mark already read still ends a read that took bytes */
    oob_send(sv[0], "fg", MSG_OOB);
    oob_send(sv[0], "hi", 0);
    oob_recv("oob", sv[1], 1, MSG_OOB);
    oob_state("oob read", sv[1]);
    oob_recv("read 10", sv[1], 10, 0);
    oob_state("after", sv[1]);
    oob_recv("read 10", sv[1], 10, 0);
    oob_state("after", sv[1]);
    /* MSG_WAITALL stops at the mark too */
    oob_send(sv[0], "jk", MSG_OOB);
    oob_send(sv[0], "lm", 0);
    oob_recv("waitall 4", sv[1], 4, MSG_WAITALL);
    oob_recv("read 1", sv[1], 1, 0);
    oob_state("after", sv[1]);
    oob_recv("read 10", sv[1], 10, 0);
    /* reading byte by byte up to the mark */
    oob_send(sv[0], "nop", MSG_OOB);
    oob_recv("read 1", sv[1], 1, 0);
    oob_state("before mark", sv[1]);
    oob_recv("read 1", sv[1], 1, 0);
    oob_state("at mark", sv[1]);
    oob_recv("read 1", sv[1], 1, 0);
    oob_state("past", sv[1]);
    /* read(2) too */
    oob_send(sv[0], "uvw", MSG_OOB);
    char buf[10];
    long r = read(sv[1], buf, sizeof buf);
    printf("read(2): %ld '%.*s'\n", r, (int)(r > 0 ? r : 0), buf);
    oob_state("after read(2)", sv[1]);
    return 0;
}

static int oob_replace(void)
{
    int sv[2];
    stream_pair(sv);
    oob_send(sv[0], "a", MSG_OOB);
    oob_send(sv[0], "b", MSG_OOB);
    oob_state("two", sv[1]);
    oob_recv("read 10", sv[1], 10, 0);
    oob_state("after", sv[1]);
    oob_recv("oob", sv[1], 10, MSG_OOB);
    oob_state("after oob", sv[1]);
    oob_recv("read 10", sv[1], 10, 0);
    oob_send(sv[0], "cd", MSG_OOB);
    oob_send(sv[0], "ef", MSG_OOB);
    oob_state("two more", sv[1]);
    oob_recv("oob", sv[1], 10, MSG_OOB);
    oob_state("after oob", sv[1]);
    oob_recv("read 10", sv[1], 10, 0);
    oob_state("after", sv[1]);
    oob_recv("read 10", sv[1], 10, 0);
    oob_state("after", sv[1]);
    /* an urgent byte read, then a new one: the old mark is gone from the way */
    oob_send(sv[0], "g", MSG_OOB);
    oob_recv("oob", sv[1], 10, MSG_OOB);
    oob_send(sv[0], "hi", MSG_OOB);
    oob_state("new", sv[1]);
    oob_recv("read 10", sv[1], 10, 0);
    oob_state("after", sv[1]);
    oob_recv("read 10", sv[1], 10, 0);
    return 0;
}

static int oob_peek(void)
{
    int sv[2];
    stream_pair(sv);
    oob_send(sv[0], "ab", 0);
    oob_send(sv[0], "cd", MSG_OOB);
    oob_send(sv[0], "ef", 0);
    oob_recv("peek oob", sv[1], 10, MSG_OOB | MSG_PEEK);
    oob_recv("peek oob", sv[1], 10, MSG_OOB | MSG_PEEK);
    oob_recv("peek", sv[1], 10, MSG_PEEK);
    oob_recv("read 1", sv[1], 1, 0);
    oob_recv("peek", sv[1], 10, MSG_PEEK);
    oob_recv("read 10", sv[1], 10, 0);
    oob_state("at mark", sv[1]);
    oob_recv("peek at mark", sv[1], 10, MSG_PEEK);
    oob_state("at mark", sv[1]);
    oob_recv("oob", sv[1], 10, MSG_OOB);
    oob_state("taken", sv[1]);
    oob_recv("peek", sv[1], 10, MSG_PEEK);
    oob_state("peeked", sv[1]);
    oob_recv("read 10", sv[1], 10, 0);
    oob_send(sv[0], "gh", MSG_OOB);
    oob_recv("oob", sv[1], 10, MSG_OOB);
    oob_recv("peek past a read mark", sv[1], 10, MSG_PEEK);
    oob_state("after", sv[1]);
    oob_recv("read 10", sv[1], 10, 0);
    oob_state("after", sv[1]);
    return 0;
}

static int oob_inline(void)
{
    int sv[2], one = 1, v = -1;
    socklen_t l = sizeof v;
    stream_pair(sv);
    SHOW(setsockopt(sv[1], SOL_SOCKET, SO_OOBINLINE, &one, sizeof one));
    SHOW(getsockopt(sv[1], SOL_SOCKET, SO_OOBINLINE, &v, &l));
    printf("SO_OOBINLINE %d\n", v);
    oob_send(sv[0], "abc", MSG_OOB);
    oob_state("sent", sv[1]);
    oob_recv("oob", sv[1], 10, MSG_OOB);
    oob_recv("peek oob", sv[1], 10, MSG_OOB | MSG_PEEK);
    oob_recv("peek", sv[1], 10, MSG_PEEK);
    oob_recv("read 10", sv[1], 10, 0);
    oob_state("at mark", sv[1]);
    oob_recv("peek", sv[1], 10, MSG_PEEK);
    oob_state("at mark", sv[1]);
    oob_recv("read 10", sv[1], 10, 0);
    oob_state("after", sv[1]);
    oob_send(sv[0], "de", MSG_OOB);
    oob_send(sv[0], "fg", 0);
    oob_recv("read 1", sv[1], 1, 0);
    oob_recv("read 10", sv[1], 10, 0);
    oob_state("after", sv[1]);
    /* turning it off with a byte inline and pending */
    oob_send(sv[0], "h", MSG_OOB);
    int zero = 0;
    setsockopt(sv[1], SOL_SOCKET, SO_OOBINLINE, &zero, sizeof zero);
    oob_recv("read 10", sv[1], 10, 0);
    oob_recv("oob", sv[1], 10, MSG_OOB);
    oob_send(sv[0], "i", MSG_OOB);
    setsockopt(sv[1], SOL_SOCKET, SO_OOBINLINE, &one, sizeof one);
    oob_recv("read 10", sv[1], 10, 0);
    oob_recv("read 10", sv[1], 10, 0);
    return 0;
}

static volatile int urg_count, urg_code;

static void on_urg(int sig, siginfo_t *si, void *ctx)
{
    urg_count++;
    urg_code = si->si_code;
}

static volatile int rt_codes[8], rt_count;

static void on_rt(int sig, siginfo_t *si, void *ctx)
{
    if (rt_count < 8)
        rt_codes[rt_count] = si->si_code;
    rt_count++;
}

static int oob_signal(void)
{
    int sv[2];
    struct sigaction sa = {.sa_sigaction = on_urg, .sa_flags = SA_SIGINFO};
    sigaction(SIGURG, &sa, NULL);
    stream_pair(sv);
    oob_send(sv[0], "a", MSG_OOB);
    printf("no owner: %d SIGURG\n", urg_count);
    SHOW(fcntl(sv[1], F_SETOWN, getpid()));
    oob_send(sv[0], "b", MSG_OOB);
    printf("owner: %d SIGURG, si_code %#x\n", urg_count, urg_code);
    oob_send(sv[0], "cd", 0);
    printf("plain data: %d SIGURG\n", urg_count);
    SHOW(fcntl(sv[0], F_SETOWN, getpid()));
    oob_send(sv[1], "e", MSG_OOB);
    printf("other way: %d SIGURG\n", urg_count);

    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLPRI, .data.u32 = 7}, out[2];
    int sv2[2];
    stream_pair(sv2);
    SHOW(epoll_ctl(ep, EPOLL_CTL_ADD, sv2[1], &ev));
    printf("epoll_wait empty: %d\n", epoll_wait(ep, out, 2, 0));
    oob_send(sv2[0], "x", 0);
    printf("epoll_wait data: %d\n", epoll_wait(ep, out, 2, 0));
    oob_send(sv2[0], "y", MSG_OOB);
    int n = epoll_wait(ep, out, 2, 0);
    printf("epoll_wait oob: %d %#x %u\n", n, n > 0 ? out[0].events : 0, n > 0 ? out[0].data.u32 : 0);
    oob_recv("oob", sv2[1], 1, MSG_OOB);
    printf("epoll_wait taken: %d\n", epoll_wait(ep, out, 2, 0));

    /* a blocked poll for POLLPRI wakes on the urgent byte a child sends */
    int sv3[2];
    stream_pair(sv3);
    pid_t pid = fork();
    if (pid == 0) {
        struct pollfd p = {sv3[0], POLLIN, 0};
        poll(&p, 1, 20000);   /* the parent's go */
        send(sv3[0], "z", 1, MSG_OOB);
        _exit(0);
    }
    send(sv3[1], "g", 1, 0);
    struct pollfd p = {sv3[1], POLLPRI, 0};
    int pr = poll(&p, 1, 20000);
    printf("blocked poll: %d %#x\n", pr, p.revents);
    int st;
    waitpid(pid, &st, 0);
    oob_recv("oob", sv3[1], 1, MSG_OOB);

    /* O_ASYNC with F_SETSIG: that signal with POLL_IN for the data, POLL_PRI for the urgent byte */
    struct sigaction rt = {.sa_sigaction = on_rt, .sa_flags = SA_SIGINFO};
    sigaction(SIGRTMIN, &rt, NULL);
    int sv4[2];
    stream_pair(sv4);
    fcntl(sv4[1], F_SETOWN, getpid());
    fcntl(sv4[1], F_SETSIG, SIGRTMIN);
    fcntl(sv4[1], F_SETFL, O_ASYNC);
    urg_count = 0;
    oob_send(sv4[0], "ab", MSG_OOB);
    printf("O_ASYNC: %d SIGURG, %d F_SETSIG signals:", urg_count, rt_count);
    for (int i = 0; i < rt_count && i < 8; i++)
        printf(" %d", rt_codes[i]);
    printf("\n");
    return 0;
}

static int oob_errors(void)
{
    int d[2], q[2], s[2], one = 0;
    socketpair(AF_UNIX, SOCK_DGRAM, 0, d);
    socketpair(AF_UNIX, SOCK_SEQPACKET, 0, q);
    stream_pair(s);
    printf("dgram: ");
    oob_send(d[0], "a", MSG_OOB);
    oob_recv("dgram recv oob", d[1], 10, MSG_OOB);
    oob_recv("dgram recv (nothing queued)", d[1], 10, 0);
    printf("seqpacket: ");
    oob_send(q[0], "a", MSG_OOB);
    oob_recv("seqpacket recv oob", q[1], 10, MSG_OOB);
    oob_send(q[0], "b", 0);
    oob_recv("seqpacket recv oob with data", q[1], 10, MSG_OOB);
    oob_state("seqpacket", q[1]);
    printf("stream nothing: ");
    oob_send(s[0], "", MSG_OOB);
    oob_state("after", s[1]);
    int u = socket(AF_UNIX, SOCK_STREAM, 0);
    printf("unconnected: ");
    oob_send(u, "a", MSG_OOB);
    oob_recv("unconnected recv oob", u, 10, MSG_OOB);
    oob_state("unconnected", u);
    struct sockaddr_un a = {AF_UNIX};
    strcpy(a.sun_path + 1, "kfeatures-oob");
    socklen_t al = offsetof(struct sockaddr_un, sun_path) + 1 + strlen("kfeatures-oob");
    int l = socket(AF_UNIX, SOCK_STREAM, 0);
    SHOW(bind(l, (struct sockaddr *)&a, al));
    SHOW(listen(l, 1));
    oob_recv("listener recv oob", l, 10, MSG_OOB);
    printf("listener: ");
    oob_send(l, "a", MSG_OOB);
    int c = socket(AF_UNIX, SOCK_STREAM, 0);
    SHOW(connect(c, (struct sockaddr *)&a, al));
    oob_send(c, "xy", MSG_OOB);
    int acc = accept(l, NULL, NULL);
    oob_state("accepted", acc);
    oob_recv("oob", acc, 10, MSG_OOB);
    shutdown(s[1], SHUT_RD);
    printf("peer shut for reading: ");
    oob_send(s[0], "a", MSG_OOB | MSG_NOSIGNAL);
    close(s[1]);
    printf("peer closed: ");
    oob_send(s[0], "a", MSG_OOB | MSG_NOSIGNAL);
    /* a dgram with nothing: SIOCATMARK of a zero-length datagram at the head */
    send(d[0], "", 0, 0);
    oob_state("dgram empty datagram", d[1]);
    (void)one;
    return 0;
}

/* --- mountinfo's propagate_from -------------------------------------------------------------- */

/* The optional fields of PID's mountinfo row for mount point POINT (as PID sees it), shown as
   LABEL, with peer group ids by name (they are kernel-wide numbers natively): LEARN >= 0 names
   the row's shared:N group_names[LEARN]. */
static int group_ids[4];
static const char *group_names[4] = {"A", "B"};

static void optional_fields(pid_t pid, const char *point, const char *label, int learn)
{
    char path[64], line[1024];
    snprintf(path, sizeof path, "/proc/%d/mountinfo", (int)pid);
    FILE *f = fopen(path, "r");
    int found = 0;
    while (f && fgets(line, sizeof line, f)) {
        char mp[256], *p = line;
        if (sscanf(line, "%*d %*d %*s %*s %255s", mp) != 1 || strcmp(mp, point))
            continue;
        found = 1;
        for (int i = 0; i < 6; i++)   /* past id, parent, dev, root, point, options */
            p = strchr(p, ' ') + 1;
        printf("  %s:", label);
        char *tok = strtok(p, " ");
        for (; tok && strcmp(tok, "-"); tok = strtok(NULL, " ")) {
            char name[32];
            int n;
            if (sscanf(tok, "%31[a-z_]:%d", name, &n) != 2) {
                printf(" %s", tok);
                continue;
            }
            if (learn >= 0 && !strcmp(name, "shared"))
                group_ids[learn] = n;
            const char *g = "?";
            for (int i = 0; i < 2; i++)
                if (group_ids[i] == n)
                    g = group_names[i];
            printf(" %s:%s", name, g);
        }
        printf("\n");
    }
    if (!found)
        printf("  %s: not shown\n", label);
    if (f)
        fclose(f);
}

static int propagate_from(void)
{
    char base[] = "/tmp/kfeatures-XXXXXX", p[5][128];
    if (!mkdtemp(base))
        return 1;
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        if (unshare(CLONE_NEWNS) || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) ||
            mount("none", base, "tmpfs", 0, NULL)) {
            printf("set-up: %s\n", strerrorname_np(errno));
            _exit(1);
        }
        const char *names[5] = {"r", "r/a", "r/c", "b", "r/d"};
        for (int i = 0; i < 5; i++) {
            snprintf(p[i], sizeof p[i], "%s/%s", base, names[i]);
            mkdir(p[i], 0755);
        }
        /* A: a shared tmpfs under r; b: a slave of A, shared in group B (outside r); c: a slave of
           B under r; d: a bind of c, so a slave of B too */
        SHOW(mount("none", p[1], "tmpfs", 0, NULL));
        SHOW(mount(NULL, p[1], NULL, MS_SHARED, NULL));
        SHOW(mount(p[1], p[3], NULL, MS_BIND, NULL));
        SHOW(mount(NULL, p[3], NULL, MS_SLAVE, NULL));
        SHOW(mount(NULL, p[3], NULL, MS_SHARED, NULL));
        SHOW(mount(p[3], p[2], NULL, MS_BIND, NULL));
        SHOW(mount(NULL, p[2], NULL, MS_SLAVE, NULL));
        SHOW(mount(p[2], p[4], NULL, MS_BIND, NULL));
        pid_t self = getpid();
        printf("from the namespace's root:\n");
        optional_fields(self, p[1], "r/a", 0);
        optional_fields(self, p[3], "b", 1);
        optional_fields(self, p[2], "r/c", -1);
        optional_fields(self, p[4], "r/d", -1);
        fflush(stdout);
        int go[2], done[2];
        pipe(go);
        pipe(done);
        pid_t child = fork();
        if (child == 0) {
            char c;
            close(go[0]);
            close(done[1]);
            if (chroot(p[0]))
                _exit(1);
            write(go[1], "x", 1);
            read(done[0], &c, 1);
            _exit(0);
        }
        char c;
        close(go[1]);
        close(done[0]);
        read(go[0], &c, 1);
        printf("from a process chrooted to r (B is not under its root):\n");
        optional_fields(child, "/a", "/a", -1);
        optional_fields(child, "/c", "/c", -1);
        optional_fields(child, "/d", "/d", -1);
        optional_fields(child, "/", "/", -1);
        /* A's group gone from under the root too: nothing dominates; c keeps master:B */
        SHOW(umount(p[4]));
        SHOW(mount(NULL, p[1], NULL, MS_PRIVATE, NULL));
        printf("A made private:\n");
        optional_fields(child, "/c", "/c", -1);
        optional_fields(self, p[3], "b", -1);
        close(done[1]);
        waitpid(child, NULL, 0);
        fflush(stdout);
        _exit(0);
    }
    int st;
    waitpid(pid, &st, 0);
    rmdir(base);   /* the mounts went with the namespace */
    return WIFEXITED(st) ? WEXITSTATUS(st) : 1;
}

/* --- pidfd ioctls (linux/pidfd.h of 6.13+: the host's headers may be older) -------------------- */

struct kf_pidfd_info {
    unsigned long long mask, cgroupid;
    unsigned int pid, tgid, ppid, ruid, rgid, euid, egid, suid, sgid, fsuid, fsgid;
    int exit_code;
    unsigned int coredump_mask, spare1;
    unsigned char tail[56];
};
#define KF_PIDFD_GET_INFO(size) _IOC(_IOC_READ | _IOC_WRITE, 0xFF, 11, size)

static int kf_pidfd_open(pid_t pid) { return syscall(SYS_pidfd_open, pid, 0); }

static unsigned long long self_cgroupid;

/* PIDFD_GET_INFO with SIZE bytes asking for WANT; pid and tgid shown as "=" when they are PID, ppid
   as "us" when it is PPID. */
static void pidfd_info_show(const char *what, int fd, unsigned size, unsigned long long want, pid_t pid, pid_t ppid)
{
    struct kf_pidfd_info in;
    memset(&in, 0xAA, sizeof in);
    in.mask = want;
    errno = 0;
    long r = ioctl(fd, KF_PIDFD_GET_INFO(size), &in);
    if (r < 0) {
        printf("%s: -1 %s\n", what, strerrorname_np(errno));
        return;
    }
    int tail_zero = 1;
    for (unsigned i = 72; i < size && i < sizeof in; i++)
        tail_zero &= ((unsigned char *)&in)[i] == 0;
    printf("%s: mask %#llx cgroup %s pid %s tgid %s ppid %s ids %u %u %u %u %u %u %u %u exit %#x core %#x%s\n",
           what, in.mask, in.cgroupid == self_cgroupid ? "ours" : in.cgroupid ? "other" : "0",
           in.pid == (unsigned)pid ? "=" : in.pid ? "?" : "0", in.tgid == (unsigned)pid ? "=" : in.tgid ? "?" : "0",
           in.ppid == (unsigned)ppid ? "us" : in.ppid ? "?" : "0",
           in.ruid, in.rgid, in.euid, in.egid, in.suid, in.sgid, in.fsuid, in.fsgid,
           size >= 64 ? in.exit_code : -1, size >= 72 ? in.coredump_mask : 0xFFFFFFFF,
           size > 72 ? (tail_zero ? " tail 0" : " tail set") : "");
}

static int pidfd_info(void)
{
    struct kf_pidfd_info in = {0};
    int self = kf_pidfd_open(getpid());
    SHOW(ioctl(self, KF_PIDFD_GET_INFO(64), &in));
    self_cgroupid = in.cgroupid;
    printf("own: mask %#llx cgroupid set %d pid ok %d\n", in.mask, in.cgroupid != 0, in.pid == (unsigned)getpid());
    int go[2];
    pipe(go);
    fflush(stdout);
    pid_t c = fork();
    if (c == 0) {
        char b;
        setresgid(2001, 2002, 2003);
        setresuid(1001, 1002, 1003);
        setfsuid(1004);
        close(go[1]);
        read(go[0], &b, 1);
        _exit(7);
    }
    close(go[0]);
    int fd = kf_pidfd_open(c);
    struct timespec pause_10ms = {0, 10000000};
    for (int i = 0; i < 2000; i++) {   /* until the child has set its ids (20 s at most) */
        memset(&in, 0, sizeof in);
        ioctl(fd, KF_PIDFD_GET_INFO(64), &in);
        if (in.fsuid == 1004)
            break;
        nanosleep(&pause_10ms, NULL);
    }
    pidfd_info_show("live 64", fd, 64, 0, c, getpid());
    pidfd_info_show("live 64 +exit +core", fd, 64, 8 | 16, c, getpid());
    pidfd_info_show("live 72 +exit +core", fd, 72, 8 | 16, c, getpid());
    pidfd_info_show("live 128 all", fd, 128, ~0ULL, c, getpid());
    pidfd_info_show("own 72 +core", self, 72, 16, getpid(), getppid());
    close(go[1]);
    siginfo_t si;
    waitid(P_PID, c, &si, WEXITED | WNOWAIT);
    pidfd_info_show("zombie 72 +exit +core", fd, 72, 8 | 16, c, getpid());
    pidfd_info_show("zombie 64", fd, 64, 0, c, getpid());
    waitpid(c, NULL, 0);
    pidfd_info_show("reaped 72", fd, 72, 0, c, getpid());
    pidfd_info_show("reaped 72 +exit", fd, 72, 8, c, getpid());
    pidfd_info_show("reaped 72 +exit +core", fd, 72, 8 | 16, c, getpid());
    pidfd_info_show("reaped 64 +exit +core", fd, 64, 8 | 16, c, getpid());
    /* killed by a signal */
    c = fork();
    if (c == 0) {
        pause();
        _exit(0);
    }
    fd = kf_pidfd_open(c);
    kill(c, SIGKILL);
    waitpid(c, NULL, 0);
    pidfd_info_show("killed", fd, 72, 8, c, getpid());
    /* bad calls */
    pidfd_info_show("size 56", self, 56, 0, getpid(), getppid());
    SHOW(ioctl(self, _IOC(_IOC_READ, 0xFF, 11, 64), &in));
    SHOW(ioctl(self, _IOC(_IOC_NONE, 0xFF, 11, 64), &in));
    SHOW(ioctl(self, _IO(0xFF, 12), 0));
    SHOW(ioctl(self, KF_PIDFD_GET_INFO(64), NULL));
    SHOW(ioctl(self, KF_PIDFD_GET_INFO(64), (void *)8));
    int devnull = open("/dev/null", O_RDONLY);
    SHOW(ioctl(devnull, KF_PIDFD_GET_INFO(64), &in));
    return 0;
}

static const char *ns_names[] = {"", "cgroup", "ipc", "mnt", "net", "pid", "pid_for_children", "time",
                                 "time_for_children", "user", "uts"};

static void pidfd_ns_show(int fd, pid_t pid, int n)
{
    char want[128] = "", got[128] = "", path[64];
    errno = 0;
    int r = ioctl(fd, _IO(0xFF, n), 0);
    if (r < 0) {
        printf("  %s: -1 %s\n", ns_names[n], strerrorname_np(errno));
        return;
    }
    snprintf(path, sizeof path, "/proc/%d/ns/%s", (int)pid, ns_names[n]);
    readlink(path, want, sizeof want - 1);
    snprintf(path, sizeof path, "/proc/self/fd/%d", r);
    readlink(path, got, sizeof got - 1);
    printf("  %s: %s, cloexec %d\n", ns_names[n], strcmp(want, got) ? got : "its /proc/PID/ns file's",
           fcntl(r, F_GETFD));
    close(r);
}

static int pidfd_ns(void)
{
    int go[2];
    pipe(go);
    fflush(stdout);
    pid_t c = fork();
    if (c == 0) {   /* namespaces of its own: UTS, IPC, mount, time for its children */
        char b;
        close(go[1]);
        if (unshare(CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNS | CLONE_NEWTIME))
            _exit(1);
        write(STDOUT_FILENO, "", 0);
        read(go[0], &b, 1);
        _exit(0);
    }
    close(go[0]);
    int fd = kf_pidfd_open(c);
    char mine[128] = "", theirs[128] = "", path[64];
    struct timespec pause_10ms = {0, 10000000};
    snprintf(path, sizeof path, "/proc/%d/ns/uts", (int)c);
    readlink("/proc/self/ns/uts", mine, sizeof mine - 1);
    for (int i = 0; i < 2000 && (!theirs[0] || !strcmp(mine, theirs)); i++) {   /* until it unshared */
        memset(theirs, 0, sizeof theirs);
        readlink(path, theirs, sizeof theirs - 1);
        nanosleep(&pause_10ms, NULL);
    }
    printf("a child with namespaces of its own:\n");
    for (int n = 1; n <= 10; n++)
        pidfd_ns_show(fd, c, n);
    SHOW(ioctl(fd, _IO(0xFF, 10), 1));
    SHOW(ioctl(fd, _IO(0xFF, 11), 0));
    close(go[1]);
    siginfo_t si;
    waitid(P_PID, c, &si, WEXITED | WNOWAIT);
    printf("zombie:\n");
    pidfd_ns_show(fd, c, 10);
    SHOW(ioctl(fd, _IO(0xFF, 10), 1));
    waitpid(c, NULL, 0);
    printf("reaped:\n");
    pidfd_ns_show(fd, c, 10);
    SHOW(ioctl(fd, _IO(0xFF, 10), 1));
    /* no ptrace access: another uid asking about us (root) */
    int self = kf_pidfd_open(getpid());
    fflush(stdout);
    c = fork();
    if (c == 0) {
        setresuid(1001, 1001, 1001);
        printf("from uid 1001:\n");
        pidfd_ns_show(self, getppid(), 10);
        struct kf_pidfd_info in = {0};
        SHOW(ioctl(self, KF_PIDFD_GET_INFO(64), &in));
        fflush(stdout);
        _exit(0);
    }
    waitpid(c, NULL, 0);
    return 0;
}

/* --- clone3 set_tid, ns_last_pid ------------------------------------------------------------ */

struct kf_clone_args {
    unsigned long long flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid,
        set_tid_size, cgroup;
};

/* clone3 (fork-like) with SET_TID[N]: the child exits with its own pid (as its namespace names
   it) as status. Returns the pid the caller sees, or -1 with errno. */
static long clone_with_tid(unsigned long long flags, pid_t *set_tid, size_t n)
{
    struct kf_clone_args a = {.flags = flags, .exit_signal = SIGCHLD, .set_tid = (unsigned long)set_tid,
                              .set_tid_size = n};
    fflush(stdout);
    long r = syscall(SYS_clone3, &a, sizeof a);
    if (r == 0)
        _exit(getpid() & 0xFF);
    return r;
}

/* A clone_with_tid result, and the child's own pid (its exit status, the low 8 bits). */
static void show_clone(const char *what, long r)
{
    int st;
    if (r < 0) {
        printf("  %s: -1 %s\n", what, strerrorname_np(errno));
        return;
    }
    waitpid(r, &st, 0);
    printf("  %s: %ld, its own pid & 255: %d\n", what, r, WEXITSTATUS(st));
}

static int pid_levels(void)   /* how deep our PID namespace is: NSpid's count - 1 */
{
    char line[256];
    int n = 0;
    FILE *f = fopen("/proc/self/status", "r");
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "NSpid:", 6))
            for (char *p = line + 6; *p; p++)
                n += (*p == '\t');
    if (f)
        fclose(f);
    return n - 1;
}

static int read_int_file(const char *path)
{
    FILE *f = fopen(path, "r");
    int v = -1;
    if (f) {
        fscanf(f, "%d", &v);
        fclose(f);
    }
    return v;
}

static long write_file(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY);
    if (fd < 0)
        return -1;
    long r = write(fd, text, strlen(text));
    int e = errno;
    close(fd);
    errno = e;
    return r;
}

/* Run FN as pid 1 of a new PID namespace (and a mount namespace, to mount its proc). */
static int in_new_pidns(int (*fn)(void))
{
    fflush(stdout);
    if (unshare(CLONE_NEWPID)) {
        printf("unshare: %s\n", strerrorname_np(errno));
        return 1;
    }
    pid_t pid = fork();
    if (pid == 0) {
        if (unshare(CLONE_NEWNS) || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) ||
            mount("proc", "/proc", "proc", 0, NULL)) {
            printf("proc: %s\n", strerrorname_np(errno));
            _exit(1);
        }
        _exit(fn());
    }
    int st;
    waitpid(pid, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static pid_t outer_pid;   /* the pid the first child of the case has one level up */

static int set_tid_inside(void)
{
    int pid_max = read_int_file("/proc/sys/kernel/pid_max");
    printf("in a new PID namespace, pid %d\n", (int)getpid());
    pid_t want[40] = {5};
    show_clone("set_tid {5}", clone_with_tid(0, want, 1));
    show_clone("set_tid {5} again (5 is free)", clone_with_tid(0, want, 1));
    want[0] = 1;
    show_clone("set_tid {1} (ours)", clone_with_tid(0, want, 1));
    want[0] = 0;
    show_clone("set_tid {0}", clone_with_tid(0, want, 1));
    want[0] = -3;
    show_clone("set_tid {-3}", clone_with_tid(0, want, 1));
    want[0] = pid_max;
    show_clone("set_tid {pid_max}", clone_with_tid(0, want, 1));
    want[0] = pid_max - 1;
    long r = clone_with_tid(0, want, 1);
    printf("  set_tid {pid_max - 1}: %s\n", r == pid_max - 1 ? "pid_max - 1" : r < 0 ? strerrorname_np(errno) : "?");
    if (r > 0)
        waitpid(r, NULL, 0);
    want[0] = 6;
    show_clone("set_tid_size 0 with an array", clone_with_tid(0, want, 0));
    show_clone("set_tid_size 1 with NULL", clone_with_tid(0, NULL, 1));
    show_clone("set_tid_size 33", clone_with_tid(0, want, 33));
    show_clone("set_tid at a bad address", clone_with_tid(0, (pid_t *)8, 1));
    int levels = pid_levels();
    show_clone("one more than there are levels", clone_with_tid(0, want, levels + 2));
    want[1] = outer_pid;   /* taken one level up (our own pid there) */
    show_clone("{6, our pid one level up}", clone_with_tid(0, want, 2));
    want[0] = 1;
    show_clone("CLONE_NEWPID {1}", clone_with_tid(CLONE_NEWPID, want, 1));
    want[0] = 2;
    show_clone("CLONE_NEWPID {2} (no init there)", clone_with_tid(CLONE_NEWPID, want, 1));
    want[0] = 1, want[1] = 7;
    show_clone("CLONE_NEWPID {1, 7}", clone_with_tid(CLONE_NEWPID, want, 2));
    want[0] = 1, want[1] = 1;
    show_clone("CLONE_NEWPID {1, 1}", clone_with_tid(CLONE_NEWPID, want, 2));
    fflush(stdout);
    pid_t c = fork();
    if (c == 0) {   /* without CAP_SYS_ADMIN and CAP_CHECKPOINT_RESTORE */
        setresuid(1001, 1001, 1001);
        want[0] = 8;
        show_clone("set_tid {8} as uid 1001", clone_with_tid(0, want, 1));
        want[0] = 1;
        show_clone("CLONE_NEWUSER|CLONE_NEWPID {1} as uid 1001",
                   clone_with_tid(CLONE_NEWUSER | CLONE_NEWPID, want, 1));
        want[0] = 1, want[1] = 9;
        show_clone("CLONE_NEWUSER|CLONE_NEWPID {1, 9} as uid 1001",
                   clone_with_tid(CLONE_NEWUSER | CLONE_NEWPID, want, 2));
        fflush(stdout);
        _exit(0);
    }
    waitpid(c, NULL, 0);
    return 0;
}

static int set_tid(void)
{
    fflush(stdout);
    pid_t c = fork();
    if (c == 0) {
        outer_pid = getpid();
        _exit(in_new_pidns(set_tid_inside));
    }
    int st;
    waitpid(c, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 1;
}

static int ns_last_pid_inside(void)
{
    const char *path = "/proc/sys/kernel/ns_last_pid";
    struct stat sb;
    SHOW(stat(path, &sb));
    printf("mode %o\n", sb.st_mode & 07777);
    printf("ns_last_pid %d\n", read_int_file(path));
    show_clone("fork", clone_with_tid(0, NULL, 0));
    printf("ns_last_pid %d\n", read_int_file(path));
    pid_t want[1] = {50};
    show_clone("set_tid {50}", clone_with_tid(0, want, 1));
    printf("ns_last_pid after set_tid %d\n", read_int_file(path));
    SHOW(write_file(path, "100"));
    printf("ns_last_pid %d\n", read_int_file(path));
    show_clone("fork", clone_with_tid(0, NULL, 0));
    printf("ns_last_pid %d\n", read_int_file(path));
    SHOW(write_file(path, "-1"));
    SHOW(write_file(path, "abc"));
    char big[32];
    snprintf(big, sizeof big, "%d", read_int_file("/proc/sys/kernel/pid_max") + 1);
    SHOW(write_file(path, big));
    SHOW(write_file(path, "49"));
    show_clone("fork after 49 (50 is free again)", clone_with_tid(0, NULL, 0));
    fflush(stdout);
    pid_t c = fork();
    if (c == 0) {
        setresuid(1001, 1001, 1001);
        SHOW(write_file(path, "200"));
        printf("as uid 1001: ns_last_pid %d\n", read_int_file(path));
        fflush(stdout);
        _exit(0);
    }
    waitpid(c, NULL, 0);
    return 0;
}

static int ns_last_pid(void)
{
    fflush(stdout);
    pid_t c = fork();
    if (c == 0)
        _exit(in_new_pidns(ns_last_pid_inside));
    int st;
    waitpid(c, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 1;
}

/* --- PIDFD_THREAD ------------------------------------------------------------------------------- */

static volatile pid_t usr1_tid, thread_tid;
static int thread_gate[2];

static void on_usr1(int sig) { usr1_tid = gettid(); }

static void *gated_thread(void *arg)
{
    char b;
    thread_tid = gettid();
    read(thread_gate[0], &b, 1);
    return NULL;
}

/* clone3 of a thread that exits at once (no C code runs on its stack). */
static long clone3_thread_exits(struct kf_clone_args *a)
{
    long ret;
    asm volatile("mov $435, %%eax\n syscall\n test %%rax, %%rax\n jnz 1f\n"
                 "mov $60, %%eax\n xor %%edi, %%edi\n syscall\n 1:"
                 : "=a"(ret) : "D"(a), "S"(sizeof *a) : "rcx", "r11", "memory");
    return ret;
}

static void pidfd_poll_show(const char *what, int fd)
{
    struct pollfd p = {fd, POLLIN, 0};
    int r = poll(&p, 1, 0);
    printf("%s: poll %d revents %#x\n", what, r, p.revents);
}

static void await_usr1(const char *what)
{
    struct timespec pause_1ms = {0, 1000000};
    for (int i = 0; i < 20000 && !usr1_tid; i++)   /* 20 s at most */
        nanosleep(&pause_1ms, NULL);
    printf("%s: handled by %s\n", what, usr1_tid == thread_tid ? "the thread" : usr1_tid == getpid() ? "the leader" :
           usr1_tid ? "?" : "nobody");
    usr1_tid = 0;
}

static int pidfd_thread_body(void)
{
    const unsigned PIDFD_THREAD_FLAG = O_EXCL;
    signal(SIGUSR1, on_usr1);
    pipe(thread_gate);
    pthread_t th;
    pthread_create(&th, NULL, gated_thread, NULL);
    struct timespec pause_1ms = {0, 1000000};
    for (int i = 0; i < 20000 && !thread_tid; i++)
        nanosleep(&pause_1ms, NULL);
    SHOW(syscall(SYS_pidfd_open, thread_tid, 0));
    int fd = syscall(SYS_pidfd_open, thread_tid, PIDFD_THREAD_FLAG);
    printf("pidfd_open(thread, PIDFD_THREAD) ok %d, F_GETFL %#x\n", fd >= 0, fcntl(fd, F_GETFL));
    int own = syscall(SYS_pidfd_open, getpid(), PIDFD_THREAD_FLAG);
    printf("pidfd_open(self, PIDFD_THREAD) ok %d\n", own >= 0);
    SHOW(syscall(SYS_pidfd_open, getpid(), O_CREAT));
    pidfd_poll_show("running", fd);
    struct kf_pidfd_info in = {0};
    SHOW(ioctl(fd, KF_PIDFD_GET_INFO(64), &in));
    printf("info: pid is the thread's %d, tgid ours %d\n", in.pid == (unsigned)thread_tid, in.tgid == (unsigned)getpid());
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, &set, NULL);   /* the leader blocks it: a process signal goes to the thread */
    SHOW(syscall(SYS_pidfd_send_signal, fd, SIGUSR1, NULL, 0));
    await_usr1("default scope");
    SHOW(syscall(SYS_pidfd_send_signal, fd, SIGUSR1, NULL, 2 /* PIDFD_SIGNAL_THREAD_GROUP */));
    await_usr1("thread group");
    pthread_sigmask(SIG_UNBLOCK, &set, NULL);
    int proc = syscall(SYS_pidfd_open, getpid(), 0);
    SHOW(syscall(SYS_pidfd_send_signal, proc, SIGUSR1, NULL, 1 /* PIDFD_SIGNAL_THREAD */));
    await_usr1("a process pidfd, PIDFD_SIGNAL_THREAD");
    siginfo_t si;
    SHOW(waitid(P_PIDFD, fd, &si, WEXITED | WNOHANG));
    close(thread_gate[1]);
    pthread_join(th, NULL);
    for (int i = 0; i < 20000; i++) {   /* until the exit shows (it is reaped as it exits) */
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, 0) > 0)
            break;
        nanosleep(&pause_1ms, NULL);
    }
    pidfd_poll_show("exited", fd);
    SHOW(syscall(SYS_pidfd_send_signal, fd, SIGUSR1, NULL, 0));
    SHOW(syscall(SYS_pidfd_open, thread_tid, PIDFD_THREAD_FLAG));
    SHOW(ioctl(fd, KF_PIDFD_GET_INFO(64), &in));
    memset(&in, 0, sizeof in);
    in.mask = 8;   /* PIDFD_INFO_EXIT */
    SHOW(ioctl(fd, KF_PIDFD_GET_INFO(64), &in));
    printf("exited thread's info: mask %#llx pid %u exit %#x\n", in.mask, in.pid, in.exit_code);
    SHOW(ioctl(fd, _IO(0xFF, 10), 0));
    /* clone3 CLONE_THREAD|CLONE_PIDFD: a thread pidfd */
    char *stack = mmap(NULL, 65536, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    int pfd = -1;
    struct kf_clone_args a = {.flags = CLONE_VM | CLONE_THREAD | CLONE_SIGHAND | CLONE_PIDFD,
                              .pidfd = (unsigned long)&pfd, .stack = (unsigned long)stack, .stack_size = 65536};
    long r = clone3_thread_exits(&a);
    printf("clone3 CLONE_THREAD|CLONE_PIDFD: %s, F_GETFL %#x\n", r > 0 ? "a thread" : strerrorname_np(-r),
           fcntl(pfd, F_GETFL));
    for (int i = 0; i < 20000; i++) {
        struct pollfd p = {pfd, POLLIN, 0};
        if (poll(&p, 1, 0) > 0)
            break;
        nanosleep(&pause_1ms, NULL);
    }
    pidfd_poll_show("that thread exited", pfd);
    return 0;
}

static int pidfd_thread(void)   /* in a child: the sandbox runs us as pid 1, whose threads have no ppid */
{
    fflush(stdout);
    pid_t c = fork();
    if (c == 0) {
        int r = pidfd_thread_body();
        fflush(stdout);
        _exit(r);
    }
    int st;
    waitpid(c, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* --- the audit login uid ---------------------------------------------------------------------- */

static long read_u32_file(const char *path) {
    char buf[32] = "";
    int fd = open(path, O_RDONLY);
    long n = read(fd, buf, sizeof buf - 1);
    close(fd);
    return n > 0 && buf[n - 1] != '\n' ? strtol(buf, NULL, 10) : -1;   /* (no newline, as Linux) */
}

static void write_loginuid(const char *what, const char *path, const char *text, off_t offset) {
    int fd = open(path, O_WRONLY);
    errno = 0;
    long n = pwrite(fd, text, strlen(text), offset);
    printf("%s: %ld %s\n", what, n, n < 0 ? strerrorname_np(errno) : "");
    close(fd);
}

static int loginuid_child(void) {
    const char *me = "/proc/self/loginuid";
    write_loginuid("unset first", me, "4294967295", 0);
    printf("loginuid %ld sessionid %ld\n", read_u32_file(me), read_u32_file("/proc/self/sessionid"));
    write_loginuid("set 1000", me, "1000\n", 0);
    long session = read_u32_file("/proc/self/sessionid");
    printf("loginuid %ld, a session %d\n", read_u32_file(me), session > 0 && session < 4294967295L);
    write_loginuid("set 1001 (CAP_AUDIT_CONTROL)", me, "1001", 0);
    long session2 = read_u32_file("/proc/self/sessionid");
    printf("loginuid %ld, a new session %d\n", read_u32_file(me), session2 != session);
    write_loginuid("not a number", me, "10x", 0);
    write_loginuid("too big", me, "4294967296", 0);
    write_loginuid("at offset 1", me, "1002", 1);
    char parent[64];
    snprintf(parent, sizeof parent, "/proc/%d/loginuid", (int)getppid());
    write_loginuid("another process's", parent, "1003", 0);
    fflush(stdout);
    pid_t c = fork();
    if (c == 0) {
        printf("child: loginuid %ld, same session %d\n", read_u32_file(me),
               read_u32_file("/proc/self/sessionid") == session2);
        struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
        struct __user_cap_data_struct d[2];
        syscall(SYS_capget, &h, d);
        d[0].effective &= ~(1u << CAP_AUDIT_CONTROL);
        syscall(SYS_capset, &h, d);
        write_loginuid("child without CAP_AUDIT_CONTROL", me, "1004", 0);
        printf("child: loginuid %ld\n", read_u32_file(me));
        _exit(0);
    }
    waitpid(c, NULL, 0);
    write_loginuid("unset again", me, "4294967295", 0);
    printf("loginuid %ld sessionid %ld\n", read_u32_file(me), read_u32_file("/proc/self/sessionid"));
    return 0;
}

static int loginuid(void) {   /* in a child: the native test run's own loginuid is left alone */
    fflush(stdout);
    pid_t c = fork();
    if (c == 0)
        _exit(loginuid_child());
    int st;
    waitpid(c, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

int main(int argc, char **argv)
{
    const char *c = argc > 1 ? argv[1] : "";
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (!strcmp(c, "oob_basic")) return oob_basic();
    if (!strcmp(c, "oob_skip")) return oob_skip();
    if (!strcmp(c, "oob_replace")) return oob_replace();
    if (!strcmp(c, "oob_peek")) return oob_peek();
    if (!strcmp(c, "oob_inline")) return oob_inline();
    if (!strcmp(c, "oob_signal")) return oob_signal();
    if (!strcmp(c, "oob_errors")) return oob_errors();
    if (!strcmp(c, "propagate_from")) return propagate_from();
    if (!strcmp(c, "pidfd_info")) return pidfd_info();
    if (!strcmp(c, "pidfd_ns")) return pidfd_ns();
    if (!strcmp(c, "set_tid")) return set_tid();
    if (!strcmp(c, "ns_last_pid")) return ns_last_pid();
    if (!strcmp(c, "pidfd_thread")) return pidfd_thread();
    if (!strcmp(c, "loginuid")) return loginuid();
    fprintf(stderr, "unknown case %s\n", c);
    return 2;
}
