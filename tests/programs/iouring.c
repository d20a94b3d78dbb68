/* io_uring through liburing, printed for a native-vs-sandbox comparison: NOP, readv/writev and
 * read/write on a tmpfs file and a pipe (a read that completes after a later write), fsync,
 * linked and drained requests, eventfd notification, poll on a pipe (one-shot, multishot,
 * removed), timeouts (by time, by count, removed, the wait's own), cancellation, the probe,
 * registered files and buffers, openat/statx/close, reads, polls, accept, connect, send and recv on TCP
 * and AF_UNIX sockets, the requests that are one syscall (mkdirat, renameat, fallocate...), and a
 * CQ ring that overflows. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static struct io_uring ring;

/* The next SQE, its user_data set (liburing's prep functions leave it alone). */
static struct io_uring_sqe *sqe(unsigned long long data) {
    struct io_uring_sqe *s = io_uring_get_sqe(&ring);
    if (!s) { printf("no sqe\n"); exit(1); }
    s->user_data = data;
    return s;
}

/* Wait for n CQEs, print them in arrival order. */
static void reap(const char *what, int n) {
    for (int i = 0; i < n; i++) {
        struct io_uring_cqe *c;
        int e = io_uring_wait_cqe(&ring, &c);
        if (e) { printf("%s: wait %s\n", what, strerrorname_np(-e)); return; }
        printf("%s: data=%llu res=%d%s%s\n", what, (unsigned long long)c->user_data, c->res,
               c->res < 0 ? " " : "", c->res < 0 ? strerrorname_np(-c->res) : "");
        io_uring_cqe_seen(&ring, c);
    }
}

static int nothing_ready(void) {
    struct io_uring_cqe *c;
    return io_uring_peek_cqe(&ring, &c) == -EAGAIN;
}

static void test_file(void) {
    char path[] = "/tmp/iouring-XXXXXX";
    int fd = mkstemp(path);
    unlink(path);
    char a[] = "hello ", b[] = "uring\n", got[32] = {0};
    struct iovec w[2] = {{a, 6}, {b, 6}};
    struct io_uring_sqe *s = sqe(1);
    io_uring_prep_writev(s, fd, w, 2, 0);
    s->flags |= IOSQE_IO_LINK;
    s = sqe(2);
    io_uring_prep_fsync(s, fd, 0);
    s->flags |= IOSQE_IO_LINK;
    struct iovec r[2] = {{got, 4}, {got + 4, 20}};
    s = sqe(3);
    io_uring_prep_readv(s, fd, r, 2, 0);
    printf("submitted: %d\n", io_uring_submit(&ring));
    reap("file", 3);
    printf("read back: %s", got);
    /* read/write at the file position (offset -1): IORING_FEAT_RW_CUR_POS */
    lseek(fd, 0, SEEK_SET);
    memset(got, 0, sizeof got);
    s = sqe(4);
    io_uring_prep_read(s, fd, got, 5, -1);
    io_uring_submit(&ring);
    reap("cur pos", 1);
    printf("got %s, position now %ld\n", got, (long)lseek(fd, 0, SEEK_CUR));
    /* a short read breaks a link: the next request is cancelled */
    s = sqe(5);
    io_uring_prep_read(s, fd, got, 30, 0);
    s->flags |= IOSQE_IO_LINK;
    s = sqe(6);
    io_uring_prep_nop(s);
    io_uring_submit(&ring);
    reap("short link", 2);
    /* a hard link goes on after a failure */
    s = sqe(7);
    io_uring_prep_read(s, 999, got, 1, 0);
    s->flags |= IOSQE_IO_HARDLINK;
    s = sqe(8);
    io_uring_prep_nop(s);
    io_uring_submit(&ring);
    reap("hardlink", 2);
    /* errors: bad buffer, write to a read-only descriptor, unknown opcode */
    int ro = open("/proc/self/cmdline", O_RDONLY);
    s = sqe(9);
    io_uring_prep_read(s, fd, (void *)8, 4, 0);
    s = sqe(10);
    io_uring_prep_write(s, ro, a, 3, 0);
    io_uring_submit(&ring);
    reap("errors", 2);
    close(ro);
    close(fd);
}

static void test_pipe(void) {
    int p[2];
    if (pipe(p)) perror("pipe");
    char buf[16] = {0};
    struct io_uring_sqe *s = sqe(20);
    io_uring_prep_read(s, p[0], buf, sizeof buf, 0);
    printf("pipe read submitted: %d, pending: %d\n", io_uring_submit(&ring), nothing_ready());
    if (write(p[1], "late", 4) != 4) perror("write");
    reap("pipe read", 1);
    printf("pipe got: %s\n", buf);
    /* a write, then a linked read of it */
    s = sqe(21);
    io_uring_prep_write(s, p[1], "abc", 3, 0);
    s->flags |= IOSQE_IO_LINK;
    s = sqe(22);
    io_uring_prep_read(s, p[0], buf, 3, 0);
    io_uring_submit(&ring);
    reap("pipe link", 2);
    /* poll: not ready, then ready after a write; a removed one; a multishot one */
    s = sqe(23);
    io_uring_prep_poll_add(s, p[0], POLLIN);
    printf("poll submitted: %d, pending: %d\n", io_uring_submit(&ring), nothing_ready());
    if (write(p[1], "x", 1) != 1) perror("write");
    reap("poll", 1);
    if (read(p[0], buf, 1) != 1) perror("read");
    s = sqe(24);
    io_uring_prep_poll_add(s, p[0], POLLIN);
    io_uring_submit(&ring);
    s = sqe(25);
    io_uring_prep_poll_remove(s, 24);
    io_uring_submit(&ring);
    reap("poll remove", 2);
    s = sqe(26);
    io_uring_prep_poll_multishot(s, p[0], POLLIN);
    io_uring_submit(&ring);
    for (int i = 0; i < 2; i++) {
        if (write(p[1], "y", 1) != 1) perror("write");
        struct io_uring_cqe *c;
        io_uring_wait_cqe(&ring, &c);
        printf("multishot: data=%llu res=%d more=%d\n", (unsigned long long)c->user_data, c->res,
               !!(c->flags & IORING_CQE_F_MORE));
        io_uring_cqe_seen(&ring, c);
        if (read(p[0], buf, 1) != 1) perror("read");
    }
    s = sqe(27);
    io_uring_prep_poll_remove(s, 26);
    io_uring_submit(&ring);
    reap("multishot removed", 2);
    /* a pending read cancelled */
    s = sqe(28);
    io_uring_prep_read(s, p[0], buf, 4, 0);
    io_uring_submit(&ring);
    s = sqe(29);
    io_uring_prep_cancel64(s, 28, 0);
    io_uring_submit(&ring);
    reap("cancel", 2);
    s = sqe(30);
    io_uring_prep_cancel64(s, 12345, 0);
    io_uring_submit(&ring);
    reap("cancel nothing", 1);
    /* the writer goes: a pending read sees end of file */
    s = sqe(31);
    io_uring_prep_read(s, p[0], buf, 4, 0);
    io_uring_submit(&ring);
    close(p[1]);
    reap("eof", 1);
    close(p[0]);
}

static void test_timeouts(void) {
    struct __kernel_timespec ts = {0, 20 * 1000 * 1000};
    struct io_uring_sqe *s = sqe(40);
    io_uring_prep_timeout(s, &ts, 0, 0);
    io_uring_submit(&ring);
    reap("timeout", 1);
    struct __kernel_timespec long_ts = {10, 0};
    s = sqe(41);
    io_uring_prep_timeout(s, &long_ts, 1, 0);   /* or after one other completion */
    s = sqe(42);
    io_uring_prep_nop(s);
    io_uring_submit(&ring);
    reap("timeout by count", 2);
    s = sqe(43);
    io_uring_prep_timeout(s, &long_ts, 0, 0);
    io_uring_submit(&ring);
    s = sqe(44);
    io_uring_prep_timeout_remove(s, 43, 0);
    io_uring_submit(&ring);
    reap("timeout removed", 2);
    struct io_uring_cqe *c;
    printf("wait_cqe_timeout: %s\n", strerrorname_np(-io_uring_wait_cqe_timeout(&ring, &c, &ts)));
    /* an absolute CLOCK_MONOTONIC deadline */
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    struct __kernel_timespec abs_ts = {now.tv_sec, now.tv_nsec + 20 * 1000 * 1000};
    if (abs_ts.tv_nsec >= 1000000000) { abs_ts.tv_sec++; abs_ts.tv_nsec -= 1000000000; }
    s = sqe(45);
    io_uring_prep_timeout(s, &abs_ts, 0, IORING_TIMEOUT_ABS);
    io_uring_submit(&ring);
    reap("absolute timeout", 1);

}

static void test_eventfd_and_drain(void) {
    int efd = eventfd(0, 0);
    printf("register eventfd: %d\n", io_uring_register_eventfd(&ring, efd));
    struct io_uring_sqe *s = sqe(50);
    io_uring_prep_nop(s);
    io_uring_submit(&ring);
    unsigned long long n = 0;
    if (read(efd, &n, 8) != 8) perror("read eventfd");
    printf("eventfd count: %llu\n", n);
    reap("eventfd", 1);
    /* the application's switch in the CQ ring: IORING_CQ_EVENTFD_DISABLED */
    io_uring_cq_eventfd_toggle(&ring, false);
    s = sqe(55);
    io_uring_prep_nop(s);
    io_uring_submit(&ring);
    reap("eventfd disabled", 1);
    io_uring_cq_eventfd_toggle(&ring, true);
    s = sqe(56);
    io_uring_prep_nop(s);
    io_uring_submit(&ring);
    reap("eventfd enabled", 1);
    if (read(efd, &n, 8) != 8) perror("read eventfd");
    printf("eventfd count after the toggle: %llu\n", n);
    printf("unregister eventfd: %d, again: %d\n", io_uring_unregister_eventfd(&ring),
           io_uring_unregister_eventfd(&ring));
    /* EVENTFD_ASYNC: only completions Linux runs in an io-wq worker (fsync, statx) signal it */
    printf("register eventfd async: %d\n", io_uring_register_eventfd_async(&ring, efd));
    fcntl(efd, F_SETFL, O_NONBLOCK);
    s = sqe(53);
    io_uring_prep_nop(s);
    io_uring_submit(&ring);
    reap("async eventfd nop", 1);
    printf("after a nop: %s\n", read(efd, &n, 8) < 0 ? strerrorname_np(errno) : "signalled");
    int fd = open("/proc/self/exe", O_RDONLY);
    s = sqe(54);
    io_uring_prep_fsync(s, fd, 0);
    io_uring_submit(&ring);
    reap("async eventfd fsync", 1);
    printf("after an fsync: %s\n", read(efd, &n, 8) < 0 ? strerrorname_np(errno) : "signalled");
    close(fd);
    io_uring_unregister_eventfd(&ring);
    close(efd);
    /* drain: the NOP waits for the pending pipe read before it */
    int p[2];
    if (pipe(p)) perror("pipe");
    char buf[4];
    s = sqe(51);
    io_uring_prep_read(s, p[0], buf, 1, 0);
    s = sqe(52);
    io_uring_prep_nop(s);
    s->flags |= IOSQE_IO_DRAIN;
    io_uring_submit(&ring);
    printf("drained nop waits: %d\n", nothing_ready());
    if (write(p[1], "z", 1) != 1) perror("write");
    reap("drain", 2);
    close(p[0]);
    close(p[1]);
}

static void test_probe_and_registered(void) {
    struct io_uring_probe *probe = io_uring_get_probe_ring(&ring);
    int ops[] = {IORING_OP_NOP, IORING_OP_READV, IORING_OP_WRITEV, IORING_OP_FSYNC, IORING_OP_READ_FIXED,
                 IORING_OP_WRITE_FIXED, IORING_OP_POLL_ADD, IORING_OP_POLL_REMOVE, IORING_OP_TIMEOUT,
                 IORING_OP_TIMEOUT_REMOVE, IORING_OP_ASYNC_CANCEL, IORING_OP_OPENAT, IORING_OP_CLOSE,
                 IORING_OP_STATX, IORING_OP_READ, IORING_OP_WRITE, IORING_OP_ACCEPT, IORING_OP_SEND,
                 IORING_OP_RECV, IORING_OP_CONNECT, IORING_OP_SYNC_FILE_RANGE, IORING_OP_FALLOCATE,
                 IORING_OP_FADVISE, IORING_OP_MADVISE, IORING_OP_SHUTDOWN, IORING_OP_RENAMEAT, IORING_OP_UNLINKAT,
                 IORING_OP_MKDIRAT, IORING_OP_SYMLINKAT, IORING_OP_LINKAT, IORING_OP_EPOLL_CTL,
                 IORING_OP_FILES_UPDATE, IORING_OP_SENDMSG, IORING_OP_RECVMSG};
    printf("probe:");
    for (unsigned i = 0; i < sizeof ops / sizeof ops[0]; i++)
        printf(" %d=%d", ops[i], probe ? io_uring_opcode_supported(probe, ops[i]) : -1);
    printf("\n");
    io_uring_free_probe(probe);
    /* registered files and buffers */
    char path[] = "/tmp/iouring-fixed-XXXXXX";
    int fd = mkstemp(path);
    unlink(path);
    static char bufmem[8192];
    struct iovec iov = {bufmem, sizeof bufmem};
    printf("register buffers: %d, again: %d\n", io_uring_register_buffers(&ring, &iov, 1),
           io_uring_register_buffers(&ring, &iov, 1));
    int fds[2] = {-1, fd};
    printf("register files: %d\n", io_uring_register_files(&ring, fds, 2));
    strcpy(bufmem, "fixed data");
    struct io_uring_sqe *s = sqe(60);
    io_uring_prep_write_fixed(s, 1, bufmem, 10, 0, 0);
    s->flags |= IOSQE_FIXED_FILE | IOSQE_IO_LINK;
    s = sqe(61);
    io_uring_prep_read_fixed(s, 1, bufmem + 100, 10, 0, 0);
    s->flags |= IOSQE_FIXED_FILE;
    io_uring_submit(&ring);
    reap("fixed", 2);
    s = sqe(62);
    io_uring_prep_read_fixed(s, 1, bufmem + 8190, 10, 0, 0);   /* past the buffer */
    s->flags |= IOSQE_FIXED_FILE;
    s = sqe(63);
    io_uring_prep_nop(s);
    s->flags |= IOSQE_FIXED_FILE;
    s->fd = 0;   /* an empty slot: a NOP takes no file, so no error */
    io_uring_submit(&ring);
    reap("fixed", 2);
    printf("fixed read: %.10s\n", bufmem + 100);
    printf("unregister: %d %d\n", io_uring_unregister_files(&ring), io_uring_unregister_buffers(&ring));
    close(fd);
}

/* Tagged, sparse and updated tables of registered files and buffers: a tag comes back as a CQE
 * when its resource leaves the table. */
static void test_rsrc(void) {
    int p[2];
    if (pipe(p)) perror("pipe");
    int fds[3] = {p[0], p[1], -1};
    __u64 tags[3] = {501, 0, 0};
    printf("register files with tags: %d\n", io_uring_register_files_tags(&ring, fds, tags, 3));
    char buf[8] = {0};
    struct io_uring_sqe *s = sqe(140);
    io_uring_prep_write(s, 1, "tag", 3, 0);
    s->flags |= IOSQE_FIXED_FILE | IOSQE_IO_LINK;
    s = sqe(141);
    io_uring_prep_read(s, 0, buf, 3, 0);
    s->flags |= IOSQE_FIXED_FILE;
    io_uring_submit(&ring);
    reap("fixed pipe", 2);
    int nfd = p[1];
    __u64 ntag = 502;
    printf("update slot 0: %d\n", io_uring_register_files_update_tag(&ring, 0, &nfd, &ntag, 1));
    reap("old tag", 1);
    s = sqe(142);
    io_uring_prep_files_update(s, &p[0], 1, 2);
    io_uring_submit(&ring);
    reap("files update request", 1);
    int skip[2] = {IORING_REGISTER_FILES_SKIP, -1};
    printf("update with a skip: %d\n", io_uring_register_files_update(&ring, 0, skip, 2));
    printf("update past the end: %d\n", io_uring_register_files_update(&ring, 2, skip, 2));
    printf("tag on an empty slot: %d\n", io_uring_register_files_update_tag(&ring, 1, &skip[1], &ntag, 1));
    printf("unregister files: %d\n", io_uring_unregister_files(&ring));
    reap("unregister tag", 1);
    printf("sparse buffers: %d\n", io_uring_register_buffers_sparse(&ring, 2));
    s = sqe(143);
    io_uring_prep_read_fixed(s, p[0], buf, 1, 0, 0);
    io_uring_submit(&ring);
    reap("read into an empty slot", 1);
    struct iovec iov = {buf, sizeof buf};
    __u64 btag = 600;
    printf("buffer update: %d\n", io_uring_register_buffers_update_tag(&ring, 0, &iov, &btag, 1));
    printf("unregister buffers: %d\n", io_uring_unregister_buffers(&ring));
    reap("buffer tag", 1);
    printf("sparse files: %d\n", io_uring_register_files_sparse(&ring, 4));
    s = sqe(144);
    io_uring_prep_read(s, 0, buf, 1, 0);
    s->flags |= IOSQE_FIXED_FILE;
    io_uring_submit(&ring);
    reap("read from an empty slot", 1);
    printf("unregister files: %d\n", io_uring_unregister_files(&ring));
    close(p[0]);
    close(p[1]);
}

static void test_open_statx_close(void) {
    struct io_uring_sqe *s = sqe(70);
    io_uring_prep_openat(s, AT_FDCWD, "/etc/hostname", O_RDONLY, 0);
    io_uring_submit(&ring);
    struct io_uring_cqe *c;
    io_uring_wait_cqe(&ring, &c);
    int fd = c->res;
    printf("openat: ok=%d\n", fd >= 0);
    io_uring_cqe_seen(&ring, c);
    struct statx stx;
    s = sqe(71);
    io_uring_prep_statx(s, AT_FDCWD, "/etc/hostname", 0, STATX_SIZE, &stx);
    io_uring_submit(&ring);
    reap("statx", 1);
    struct stat st;
    stat("/etc/hostname", &st);
    printf("statx size matches: %d\n", (long long)stx.stx_size == (long long)st.st_size);
    s = sqe(72);
    io_uring_prep_openat(s, AT_FDCWD, "/nonexistent/x", O_RDONLY, 0);
    s = sqe(73);
    io_uring_prep_close(s, fd);
    s = sqe(74);
    io_uring_prep_close(s, ring.ring_fd);
    io_uring_submit(&ring);
    reap("open/close", 3);
    printf("closed: %d\n", fcntl(fd, F_GETFD) == -1 && errno == EBADF);
}

/* A listener on a loopback port (its address in *sa), a client connected to it, and the accepted end. */
static void tcp_pair(struct sockaddr_in *sa, int *l, int *c, int *a) {
    *sa = (struct sockaddr_in){.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof *sa;
    *l = socket(AF_INET, SOCK_STREAM, 0);
    if (bind(*l, (struct sockaddr *)sa, len) || listen(*l, 1) || getsockname(*l, (struct sockaddr *)sa, &len))
        perror("listen");
    *c = socket(AF_INET, SOCK_STREAM, 0);
    if (connect(*c, (struct sockaddr *)sa, sizeof *sa)) perror("connect");
    *a = accept(*l, NULL, NULL);
}

/* A TCP connection over loopback (a host socket in the sandbox): a read and a poll that wait. */
static void test_tcp(void) {
    struct sockaddr_in sa;
    int l, c, a;
    tcp_pair(&sa, &l, &c, &a);
    char buf[16] = {0};
    struct io_uring_sqe *s = sqe(80);
    io_uring_prep_read(s, a, buf, sizeof buf, 0);
    printf("tcp read submitted: %d, pending: %d\n", io_uring_submit(&ring), nothing_ready());
    if (write(c, "net", 3) != 3) perror("write");
    reap("tcp read", 1);
    printf("tcp got: %s\n", buf);
    s = sqe(81);
    io_uring_prep_poll_add(s, a, POLLIN);
    printf("tcp poll submitted: %d, pending: %d\n", io_uring_submit(&ring), nothing_ready());
    if (write(c, "more", 4) != 4) perror("write");
    reap("tcp poll", 1);
    s = sqe(82);
    io_uring_prep_read(s, a, buf, sizeof buf, 0);
    io_uring_submit(&ring);
    reap("tcp read ready", 1);
    s = sqe(83);
    io_uring_prep_recv(s, a, buf, sizeof buf, 0);
    io_uring_submit(&ring);
    close(c);
    reap("tcp recv eof", 1);
    close(a);
    /* accept waits for a connection */
    struct sockaddr_in peer;
    socklen_t plen = sizeof peer;
    s = sqe(84);
    io_uring_prep_accept(s, l, (struct sockaddr *)&peer, &plen, SOCK_CLOEXEC);
    printf("accept submitted: %d, pending: %d\n", io_uring_submit(&ring), nothing_ready());
    c = socket(AF_INET, SOCK_STREAM, 0);
    if (connect(c, (struct sockaddr *)&sa, sizeof sa)) perror("connect");
    struct io_uring_cqe *cq;
    io_uring_wait_cqe(&ring, &cq);
    a = cq->res;
    printf("accept: data=%llu ok=%d family=%d len=%d cloexec=%d\n", (unsigned long long)cq->user_data, a >= 0,
           peer.sin_family, plen, fcntl(a, F_GETFD) & FD_CLOEXEC);
    io_uring_cqe_seen(&ring, cq);
    s = sqe(85);
    io_uring_prep_send(s, c, "sent", 4, 0);
    s->flags |= IOSQE_IO_LINK;
    s = sqe(86);
    io_uring_prep_recv(s, a, buf, sizeof buf, 0);
    io_uring_submit(&ring);
    reap("tcp send/recv", 2);
    close(a);
    close(c);
    /* connect, with a send linked to it, and a connection refused */
    c = socket(AF_INET, SOCK_STREAM, 0);
    s = sqe(87);
    io_uring_prep_connect(s, c, (struct sockaddr *)&sa, sizeof sa);
    s->flags |= IOSQE_IO_LINK;
    s = sqe(88);
    io_uring_prep_send(s, c, "linked", 6, 0);
    io_uring_submit(&ring);
    reap("tcp connect", 2);
    a = accept(l, NULL, NULL);
    memset(buf, 0, sizeof buf);
    printf("accepted got %zd: %s\n", read(a, buf, sizeof buf), buf);
    close(a);
    close(c);
    close(l);
    c = socket(AF_INET, SOCK_STREAM, 0);
    s = sqe(89);
    io_uring_prep_connect(s, c, (struct sockaddr *)&sa, sizeof sa);   /* nobody listens now */
    io_uring_submit(&ring);
    reap("tcp refused", 1);
    close(c);
}

/* A send on a TCP socket whose buffers are full waits until the peer reads. */
static void test_tcp_full(void) {
    struct sockaddr_in sa;
    int l, c, a;
    tcp_pair(&sa, &l, &c, &a);
    static char big[65536];
    while (send(c, big, sizeof big, MSG_DONTWAIT) > 0)
        ;
    struct io_uring_sqe *s = sqe(95);
    io_uring_prep_send(s, c, "!", 1, 0);
    printf("full send submitted: %d, pending: %d\n", io_uring_submit(&ring), nothing_ready());
    struct io_uring_cqe *cq = NULL;
    for (int i = 0; i < 1000 && io_uring_peek_cqe(&ring, &cq); i++) {
        while (recv(a, big, sizeof big, MSG_DONTWAIT) > 0)
            ;
        struct pollfd pf = {ring.ring_fd, POLLIN, 0};
        poll(&pf, 1, 100);   /* the CQE, or drain again */
    }
    printf("full send: data=%llu res=%d\n", cq ? (unsigned long long)cq->user_data : 0ull, cq ? cq->res : 0);
    if (cq) io_uring_cqe_seen(&ring, cq);
    close(a);
    close(c);
    close(l);
}

/* AF_UNIX (sockets of the Sentry): a receive that waits for a send from the ring */
static void test_unix(void) {
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv)) perror("socketpair");
    char buf[16] = {0};
    struct io_uring_sqe *s = sqe(90);
    io_uring_prep_recv(s, sv[0], buf, sizeof buf, 0);
    printf("unix recv submitted: %d, pending: %d\n", io_uring_submit(&ring), nothing_ready());
    s = sqe(91);
    io_uring_prep_send(s, sv[1], "unix", 4, 0);
    io_uring_submit(&ring);
    reap("unix", 2);
    printf("unix got: %s\n", buf);
    s = sqe(92);
    io_uring_prep_recv(s, sv[0], buf, sizeof buf, MSG_DONTWAIT);
    io_uring_submit(&ring);
    reap("unix dontwait", 1);
    s = sqe(93);
    io_uring_prep_recv(s, 0, buf, sizeof buf, 0);
    io_uring_submit(&ring);
    reap("recv on a non-socket", 1);
    /* recvmsg waits; sendmsg passes a pipe's write end (SCM_RIGHTS) with the data */
    char data[8] = {0};
    union { struct cmsghdr h; char space[CMSG_SPACE(sizeof(int))]; } in = {0}, out = {0};
    struct iovec riov = {data, sizeof data}, siov = {"fd", 2};
    struct msghdr rmsg = {.msg_iov = &riov, .msg_iovlen = 1, .msg_control = in.space, .msg_controllen = sizeof in.space};
    s = sqe(94);
    io_uring_prep_recvmsg(s, sv[0], &rmsg, 0);
    printf("recvmsg submitted: %d, pending: %d\n", io_uring_submit(&ring), nothing_ready());
    int p[2];
    if (pipe(p)) perror("pipe");
    struct msghdr smsg = {.msg_iov = &siov, .msg_iovlen = 1, .msg_control = out.space, .msg_controllen = sizeof out.space};
    struct cmsghdr *cm = CMSG_FIRSTHDR(&smsg);
    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = SCM_RIGHTS;
    cm->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(cm), &p[1], sizeof(int));
    s = sqe(95);
    io_uring_prep_sendmsg(s, sv[1], &smsg, 0);
    io_uring_submit(&ring);
    reap("sendmsg/recvmsg", 2);
    int passed = -1;
    struct cmsghdr *rc = CMSG_FIRSTHDR(&rmsg);
    if (rc && rc->cmsg_type == SCM_RIGHTS) memcpy(&passed, CMSG_DATA(rc), sizeof(int));
    printf("got %s and a descriptor: %d\n", data, passed >= 0);
    if (passed >= 0 && write(passed, "via", 3) == 3 && read(p[0], data, 3) == 3)
        printf("written through it: %.3s\n", data);
    close(passed);
    close(p[0]);
    close(p[1]);
    close(sv[0]);
    close(sv[1]);
}

/* A child shares the ring (fork keeps the mappings and the descriptor): its NOP reaches the parent.
 * The mappings are named after the ring in /proc/self/maps. */
static void test_fork(void) {
    struct io_uring shared;   /* its own: liburing's SQ bookkeeping is per process */
    io_uring_queue_init(4, &shared, 0);
    pid_t pid = fork();
    if (pid == 0) {
        struct io_uring_sqe *s = io_uring_get_sqe(&shared);
        io_uring_prep_nop(s);
        s->user_data = 99;
        _exit(io_uring_submit(&shared) == 1 ? 0 : 1);
    }
    int status;
    waitpid(pid, &status, 0);
    printf("child status: %d\n", WEXITSTATUS(status));
    struct io_uring_cqe *c;
    io_uring_wait_cqe(&shared, &c);
    printf("from the child: data=%llu res=%d\n", (unsigned long long)c->user_data, c->res);
    io_uring_cqe_seen(&shared, c);
    FILE *maps = fopen("/proc/self/maps", "r");
    char line[512];
    int named = 0;
    while (maps && fgets(line, sizeof line, maps))
        named += strstr(line, "anon_inode:[io_uring]") != NULL;
    printf("maps naming the ring: %d\n", named >= 2);
    if (maps) fclose(maps);
    io_uring_queue_exit(&shared);
}

/* IOSQE_CQE_SKIP_SUCCESS: no CQE for a success, one for a failure; once used, a ring refuses
 * IOSQE_IO_DRAIN (EOPNOTSUPP), as Linux's drain_disabled. */
static void test_skip_success(void) {
    static char buf[4];
    struct io_uring_sqe *s = sqe(46);
    io_uring_prep_nop(s);
    s->flags |= IOSQE_CQE_SKIP_SUCCESS;
    s = sqe(47);
    io_uring_prep_read(s, 999, buf, 1, 0);
    s->flags |= IOSQE_CQE_SKIP_SUCCESS;
    s = sqe(48);
    io_uring_prep_nop(s);
    io_uring_submit(&ring);
    reap("skip success", 2);
    s = sqe(49);
    io_uring_prep_nop(s);
    s->flags |= IOSQE_IO_DRAIN;
    io_uring_submit(&ring);
    reap("drain after skip", 1);
}

/* IORING_SETUP_SQPOLL: liburing enters only when the SQ ring asks for a wake-up */
static void test_sqpoll(void) {
    struct io_uring sq;
    struct io_uring_params p = {.flags = IORING_SETUP_SQPOLL, .sq_thread_idle = 10};
    int e = io_uring_queue_init_params(4, &sq, &p);
    printf("sqpoll init: %d\n", e);
    if (e) return;
    char buf[8] = {0};
    int fd = open("/etc/hostname", O_RDONLY);
    struct io_uring_sqe *s = io_uring_get_sqe(&sq);
    io_uring_prep_read(s, fd, buf, 4, 0);
    s->user_data = 110;
    s = io_uring_get_sqe(&sq);
    io_uring_prep_nop(s);
    s->user_data = 111;
    printf("sqpoll submitted: %d\n", io_uring_submit(&sq));
    for (int i = 0; i < 2; i++) {
        struct io_uring_cqe *c;
        io_uring_wait_cqe(&sq, &c);
        printf("sqpoll: data=%llu res=%d\n", (unsigned long long)c->user_data, c->res);
        io_uring_cqe_seen(&sq, c);
    }
    close(fd);
    io_uring_queue_exit(&sq);
}

/* Requests that are one syscall: mkdirat, symlinkat, linkat, renameat, unlinkat, fallocate,
 * fadvise, madvise, sync_file_range, shutdown, epoll_ctl. */
static void test_calls(void) {
    char dir[64], a[96], b[96], l[96];
    snprintf(dir, sizeof dir, "/tmp/iouring-calls-%d", getpid());
    snprintf(a, sizeof a, "%s/a", dir);
    snprintf(b, sizeof b, "%s/b", dir);
    snprintf(l, sizeof l, "%s/l", dir);
    struct io_uring_sqe *s = sqe(120);
    io_uring_prep_mkdirat(s, AT_FDCWD, dir, 0700);
    s->flags |= IOSQE_IO_LINK;
    s = sqe(121);
    io_uring_prep_symlinkat(s, "target", AT_FDCWD, l);
    io_uring_submit(&ring);
    reap("mkdir+symlink", 2);
    int fd = open(a, O_CREAT | O_RDWR, 0600);
    s = sqe(122);
    io_uring_prep_fallocate(s, fd, 0, 0, 8192);
    s->flags |= IOSQE_IO_LINK;
    s = sqe(123);
    io_uring_prep_fadvise(s, fd, 0, 4096, POSIX_FADV_SEQUENTIAL);
    s->flags |= IOSQE_IO_LINK;
    s = sqe(124);
    io_uring_prep_sync_file_range(s, fd, 4096, 0, 0);
    io_uring_submit(&ring);
    reap("fallocate/fadvise/sync_file_range", 3);
    struct stat st;
    fstat(fd, &st);
    printf("size after fallocate: %lld\n", (long long)st.st_size);
    s = sqe(125);
    io_uring_prep_linkat(s, AT_FDCWD, a, AT_FDCWD, b, 0);
    s->flags |= IOSQE_IO_LINK;
    s = sqe(126);
    io_uring_prep_renameat(s, AT_FDCWD, b, AT_FDCWD, l, 0);
    s->flags |= IOSQE_IO_LINK;
    s = sqe(127);
    io_uring_prep_unlinkat(s, AT_FDCWD, a, 0);
    s->flags |= IOSQE_IO_LINK;
    s = sqe(128);
    io_uring_prep_unlinkat(s, AT_FDCWD, dir, AT_REMOVEDIR);   /* not empty */
    io_uring_submit(&ring);
    reap("link/rename/unlink", 4);
    fstat(fd, &st);
    printf("links now: %ld, l is a file: %d\n", (long)st.st_nlink, stat(l, &st) == 0 && S_ISREG(st.st_mode));
    close(fd);
    s = sqe(129);
    io_uring_prep_unlinkat(s, AT_FDCWD, l, 0);
    s->flags |= IOSQE_IO_LINK;
    s = sqe(130);
    io_uring_prep_unlinkat(s, AT_FDCWD, dir, AT_REMOVEDIR);
    s = sqe(131);
    io_uring_prep_mkdirat(s, AT_FDCWD, (char *)8, 0700);   /* a bad path: refused at submission */
    printf("submitted: %d\n", io_uring_submit(&ring));
    reap("cleanup", 3);
    char *page = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    page[0] = 1;
    s = sqe(132);
    io_uring_prep_madvise(s, page, 8192, MADV_DONTNEED);
    io_uring_submit(&ring);
    reap("madvise", 1);
    printf("page after MADV_DONTNEED: %d\n", page[0]);
    munmap(page, 8192);
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv)) perror("socketpair");
    s = sqe(133);
    io_uring_prep_shutdown(s, sv[1], SHUT_WR);
    s = sqe(134);
    io_uring_prep_shutdown(s, 0, SHUT_WR);
    io_uring_submit(&ring);
    reap("shutdown", 2);
    char c;
    printf("read after the peer's shutdown: %zd\n", read(sv[0], &c, 1));
    close(sv[0]);
    close(sv[1]);
    /* epoll_ctl from the ring: an ADD that epoll_wait then reports, and a second ADD (EEXIST) */
    int ep = epoll_create1(0), p[2];
    if (pipe(p)) perror("pipe");
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = 77};
    s = sqe(135);
    io_uring_prep_epoll_ctl(s, ep, p[0], EPOLL_CTL_ADD, &ev);
    s->flags |= IOSQE_IO_HARDLINK;
    s = sqe(136);
    io_uring_prep_epoll_ctl(s, ep, p[0], EPOLL_CTL_ADD, &ev);
    io_uring_submit(&ring);
    reap("epoll_ctl", 2);
    if (write(p[1], "e", 1) != 1) perror("write");
    struct epoll_event got = {0};
    int n = epoll_wait(ep, &got, 1, 1000);
    printf("epoll_wait: %d data=%llu\n", n, (unsigned long long)got.data.u64);
    close(p[0]);
    close(p[1]);
    close(ep);
}

static void test_overflow(void) {
    struct io_uring small;
    struct io_uring_params p = {0};
    io_uring_queue_init_params(2, &small, &p);   /* 2 SQEs, 4 CQEs */
    int total = 0;
    for (int round = 0; round < 5; round++) {
        for (int i = 0; i < 2; i++) {
            struct io_uring_sqe *s = io_uring_get_sqe(&small);
            io_uring_prep_nop(s);
            s->user_data = 100 + round * 2 + i;
        }
        io_uring_submit(&small);
    }
    struct io_uring_cqe *c;
    while (io_uring_peek_cqe(&small, &c) == 0) {
        printf("overflow reap: %llu\n", (unsigned long long)c->user_data);
        io_uring_cqe_seen(&small, c);
        total++;
    }
    printf("reaped %d of 10\n", total);
    io_uring_queue_exit(&small);
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    int e = io_uring_queue_init(16, &ring, 0);
    if (e) { printf("queue_init: %s\n", strerrorname_np(-e)); return 1; }
    struct io_uring_sqe *s = sqe(1234);
    io_uring_prep_nop(s);
    io_uring_submit(&ring);
    /* the ring's descriptor polls readable while CQEs wait, writable while the SQ has room */
    struct pollfd pf = {ring.ring_fd, POLLIN | POLLOUT, 0};
    int ready = poll(&pf, 1, 0);
    printf("poll ring: %d revents=%#x\n", ready, pf.revents);
    reap("nop", 1);
    ready = poll(&pf, 1, 0);
    printf("poll ring reaped: %d revents=%#x\n", ready, pf.revents);
    test_file();
    test_pipe();
    test_timeouts();
    test_eventfd_and_drain();
    test_probe_and_registered();
    test_rsrc();
    test_open_statx_close();
    test_tcp();
    test_tcp_full();
    test_unix();
    test_fork();
    test_calls();
    test_overflow();
    test_sqpoll();
    test_skip_success();
    io_uring_queue_exit(&ring);
    printf("done\n");
    return 0;
}
