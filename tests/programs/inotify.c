/* inotify(7) semantics, printed for a native-vs-sandbox comparison: the events (in order, with
 * names, IN_ISDIR, move cookies), merging, IN_ONESHOT, IN_MASK_ADD/CREATE, IN_EXCL_UNLINK,
 * IN_IGNORED, a watched directory's own events, queue overflow, reads that do not fit,
 * FIONREAD, and the errors. Works in a fresh directory under /tmp, removed at the end. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

static int ino;
static char dir[64], sub[96];
static int wd_dir, wd_sub, wd_file;
static unsigned last_cookie;

static const char *wdname(int wd) {
    if (wd == wd_dir) return "dir";
    if (wd == wd_sub) return "sub";
    if (wd == wd_file) return "file";
    if (wd == -1) return "-1";
    return "?";
}

static void print_mask(unsigned m) {
    static const struct { unsigned bit; const char *name; } names[] = {
        {IN_ACCESS, "ACCESS"}, {IN_MODIFY, "MODIFY"}, {IN_ATTRIB, "ATTRIB"}, {IN_CLOSE_WRITE, "CLOSE_WRITE"},
        {IN_CLOSE_NOWRITE, "CLOSE_NOWRITE"}, {IN_OPEN, "OPEN"}, {IN_MOVED_FROM, "MOVED_FROM"},
        {IN_MOVED_TO, "MOVED_TO"}, {IN_CREATE, "CREATE"}, {IN_DELETE, "DELETE"}, {IN_DELETE_SELF, "DELETE_SELF"},
        {IN_MOVE_SELF, "MOVE_SELF"}, {IN_UNMOUNT, "UNMOUNT"}, {IN_Q_OVERFLOW, "Q_OVERFLOW"},
        {IN_IGNORED, "IGNORED"}, {IN_ISDIR, "ISDIR"}};
    const char *sep = "";
    for (unsigned i = 0; i < sizeof names / sizeof names[0]; i++)
        if (m & names[i].bit) { printf("%s%s", sep, names[i].name); sep = "|"; m &= ~names[i].bit; }
    if (m) printf("%s0x%x", sep, m);
}

/* Print every queued event (non-blocking), then "--". */
static void drain(const char *what) {
    char buf[65536] __attribute__((aligned(8)));
    printf("[%s]\n", what);
    for (;;) {
        ssize_t n = read(ino, buf, sizeof buf);
        if (n < 0) { if (errno != EAGAIN) printf("read: %s\n", strerrorname_np(errno)); break; }
        for (char *p = buf; p < buf + n;) {
            struct inotify_event *e = (struct inotify_event *)p;
            printf("  %s ", wdname(e->wd));
            print_mask(e->mask);
            if (e->mask & IN_MOVED_FROM) last_cookie = e->cookie;
            if (e->mask & IN_MOVED_TO) printf(" cookie=%s", e->cookie == last_cookie && e->cookie ? "pair" : "bad");
            else if (e->cookie) printf(" cookie=?");
            if (e->len) printf(" '%s' len%%16=%u", e->name, e->len % 16);
            printf("\n");
            p += sizeof *e + e->len;
        }
    }
}

static void err(const char *what, long r) {
    printf("%s: %s\n", what, r < 0 ? strerrorname_np(errno) : "ok");
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    strcpy(dir, "/tmp/inotify-XXXXXX");
    if (!mkdtemp(dir)) return 2;
    snprintf(sub, sizeof sub, "%s/sub", dir);
    chdir(dir);

    err("init1 bad flags", inotify_init1(0x1234));
    ino = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    err("init1", ino);
    int fdflags = fcntl(ino, F_GETFD);
    printf("cloexec %d nonblock %d\n", fdflags & FD_CLOEXEC, !!(fcntl(ino, F_GETFL) & O_NONBLOCK));
    char target[64];
    ssize_t ln = readlink("/proc/self/fd/3", target, sizeof target - 1);
    target[ln > 0 ? ln : 0] = 0;
    printf("fd link %s\n", ln > 0 && strstr(target, "inotify") ? "anon_inode:inotify" : target);

    err("add_watch bad fd", inotify_add_watch(999, ".", IN_ALL_EVENTS));
    err("add_watch not inotify", inotify_add_watch(0, ".", IN_ALL_EVENTS));
    err("add_watch mask 0", inotify_add_watch(ino, ".", 0));
    err("add_watch missing", inotify_add_watch(ino, "nope", IN_ALL_EVENTS));
    err("add_watch ADD|CREATE", inotify_add_watch(ino, ".", IN_MODIFY | IN_MASK_ADD | IN_MASK_CREATE));
    close(open("f", O_CREAT | O_WRONLY, 0644));
    err("add_watch ONLYDIR on a file", inotify_add_watch(ino, "f", IN_MODIFY | IN_ONLYDIR));
    unlink("f");

    wd_dir = inotify_add_watch(ino, ".", IN_ALL_EVENTS);
    err("watch dir", wd_dir);
    printf("same wd again %d\n", inotify_add_watch(ino, ".", IN_ALL_EVENTS) == wd_dir);
    err("MASK_CREATE on a watched one", inotify_add_watch(ino, ".", IN_ALL_EVENTS | IN_MASK_CREATE));

    int fd = open("a", O_CREAT | O_WRONLY, 0644);
    write(fd, "x", 1);
    write(fd, "y", 1);                  /* merged with the previous MODIFY */
    close(fd);
    drain("create, write twice, close");

    fd = open("a", O_RDONLY);
    char c;
    read(fd, &c, 1);
    close(fd);
    chmod("a", 0600);
    truncate("a", 0);
    fd = open("a", O_WRONLY | O_TRUNC);
    close(fd);
    drain("open, read, close, chmod, truncate, O_TRUNC");

    mkdir("sub", 0755);
    wd_sub = inotify_add_watch(ino, "sub", IN_ALL_EVENTS);
    rename("a", "b");
    rename("b", "sub/c");
    link("sub/c", "d");
    symlink("d", "e");
    drain("mkdir, renames, link, symlink");

    wd_file = inotify_add_watch(ino, "d", IN_ALL_EVENTS);
    unlink("d");                        /* the inode still has sub/c: no DELETE_SELF */
    unlink("sub/c");                    /* the last name: DELETE_SELF, then IGNORED */
    drain("unlink both names of a watched file");

    fd = open("g", O_CREAT | O_RDWR, 0644);
    wd_file = inotify_add_watch(ino, "g", IN_ALL_EVENTS);
    unlink("g");                        /* open: DELETE_SELF waits for the close */
    write(fd, "z", 1);
    drain("unlink an open watched file, write");
    close(fd);
    drain("close it");

    err("rm_watch sub", inotify_rm_watch(ino, wd_sub));
    err("rm_watch again", inotify_rm_watch(ino, wd_sub));
    rmdir("sub");
    unlink("e");
    drain("rm_watch, rmdir, unlink");

    /* A watched directory's own move and removal: MOVE_SELF and DELETE_SELF carry no IN_ISDIR
       (inotify masks it out of those two), unlike its IN_ATTRIB */
    mkdir("wd", 0755);
    wd_sub = inotify_add_watch(ino, "wd", IN_ALL_EVENTS);
    chmod("wd", 0700);
    rename("wd", "wd2");
    rmdir("wd2");
    drain("a watched directory: chmod, rename, rmdir");

    /* IN_ONESHOT and IN_MASK_ADD */
    close(open("h", O_CREAT | O_WRONLY, 0644));
    drain("create h");
    wd_file = inotify_add_watch(ino, "h", IN_ATTRIB | IN_ONESHOT);
    inotify_add_watch(ino, "h", IN_MODIFY | IN_MASK_ADD);
    fd = open("h", O_WRONLY);
    write(fd, "1", 1);
    write(fd, "2", 1);
    close(fd);
    chmod("h", 0640);
    drain("oneshot with MODIFY added");

    /* IN_EXCL_UNLINK: events of an unlinked child do not reach the directory */
    inotify_rm_watch(ino, wd_dir);
    drain("rm_watch dir");
    wd_dir = inotify_add_watch(ino, ".", IN_MODIFY | IN_EXCL_UNLINK);
    fd = open("h", O_WRONLY);
    unlink("h");
    write(fd, "3", 1);
    close(fd);
    drain("EXCL_UNLINK");

    /* Reads that do not fit, FIONREAD, poll */
    inotify_add_watch(ino, ".", IN_CREATE);
    close(open("a-rather-long-name-for-the-event", O_CREAT | O_WRONLY, 0644));
    int queued = -1;
    ioctl(ino, FIONREAD, &queued);
    printf("FIONREAD %d\n", queued);
    struct pollfd pfd = {ino, POLLIN, 0};
    int ready = poll(&pfd, 1, 0);
    printf("poll %d revents %x\n", ready, pfd.revents);
    char small[20];
    err("read into 20 bytes", read(ino, small, sizeof small));
    drain("after the short read");
    err("read empty", read(ino, small, sizeof small));
    unlink("a-rather-long-name-for-the-event");

    /* Overflow: more events than max_queued_events (16384) */
    inotify_rm_watch(ino, wd_dir);
    drain("quiet");
    wd_dir = inotify_add_watch(ino, ".", IN_OPEN | IN_CLOSE_NOWRITE);
    close(open("o", O_CREAT | O_WRONLY, 0644));
    drain("o");
    for (int i = 0; i < 8300; i++)
        close(open("o", O_RDONLY));
    ioctl(ino, FIONREAD, &queued);
    char *big = malloc(1 << 20);
    ssize_t n = read(ino, big, 1 << 20);
    int count = 0, overflow = 0;
    for (char *p = big; p < big + n; count++) {
        struct inotify_event *e = (struct inotify_event *)p;
        if (e->mask & IN_Q_OVERFLOW) overflow = count;
        p += sizeof *e + e->len;
    }
    printf("overflow: %zd bytes (FIONREAD %d), %d events, overflow at %d\n", n, queued, count, overflow);
    unlink("o");
    rmdir(dir);
    return 0;
}
