/* File leases (fcntl F_SETLEASE/F_GETLEASE) and their breaks, run natively and in the sandbox:
 * leases DIR makes its files in DIR (tmpfs or a Gofer directory). The holder takes its break
 * signal with sigtimedwait (blocked, F_SETSIG); a child blocked in open is awaited by its
 * /proc state before the holder gives way. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "await_state.h"

static char path[512], path2[512];

static void show(const char *what, int r) {
    if (r < 0) printf("%s: -1 %s\n", what, strerrorname_np(errno));
    else printf("%s: %d\n", what, r);
    fflush(stdout);
}

static const char *lname(int t) { return t == F_RDLCK ? "RDLCK" : t == F_WRLCK ? "WRLCK" : t == F_UNLCK ? "UNLCK" : "?"; }

/* The break signal, with si_code and si_fd, within ten seconds (0: none). */
static int take_signal(int fd) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGRTMIN + 1);
    siginfo_t si;
    struct timespec ts = {10, 0};   /* generous: a loaded machine */
    int s = sigtimedwait(&set, &si, &ts);
    if (s < 0) { printf("  no signal (%s)\n", strerrorname_np(errno)); return 0; }
    printf("  signal RTMIN+%d code %d fd_matches %d\n", s - SIGRTMIN, si.si_code, si.si_fd == fd);
    return s;
}

static int no_signal(void) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGRTMIN + 1);
    struct timespec ts = {0, 0};
    return sigtimedwait(&set, NULL, &ts) < 0;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* The /proc/locks rows of FD's file, sorted, without their number and with the pid as "me" or
 * "other" (the device and inode are the file's by construction). */
static void proc_locks(const char *what, int fd) {
    struct stat st;
    fstat(fd, &st);
    char want[64], line[256], *rows[32];
    snprintf(want, sizeof want, " %02x:%02x:%lu ", major(st.st_dev), minor(st.st_dev), (unsigned long)st.st_ino);
    FILE *f = fopen("/proc/locks", "r");
    int n = 0;
    if (!f) { printf("%s: no /proc/locks\n", what); return; }
    while (n < 32 && fgets(line, sizeof line, f)) {
        char *at = strstr(line, want), *colon = strchr(line, ':');
        if (!at || !colon) continue;
        *at = 0;
        char *pid = strrchr(line, ' ');
        *pid++ = 0;
        asprintf(&rows[n++], "%s %s %s", colon + 2, atoi(pid) == getpid() ? "me" : atoi(pid) == -1 ? "-1" : "other",
                 at + strlen(want));
    }
    fclose(f);
    qsort(rows, n, sizeof *rows, cmp_str);
    printf("%s: %d rows\n", what, n);
    for (int i = 0; i < n; i++) { printf("  [%s]\n", strtok(rows[i], "\n")); free(rows[i]); }
}

static int holder(int flags, int type) {
    int fd = open(path, flags);
    fcntl(fd, F_SETSIG, SIGRTMIN + 1);
    show("  setlease", fcntl(fd, F_SETLEASE, type));
    return fd;
}

static void setlease_rules(void) {
    printf("setlease rules\n");
    int d = open(".", O_RDONLY);
    show("dir", fcntl(d, F_SETLEASE, F_RDLCK));
    close(d);
    int r = open(path, O_RDONLY), w = open(path, O_RDWR);
    show("bad type", fcntl(r, F_SETLEASE, 7));
    show("unlock none", fcntl(r, F_SETLEASE, F_UNLCK));
    show("rd on rdwr", fcntl(w, F_SETLEASE, F_RDLCK));
    show("rd with writer", fcntl(r, F_SETLEASE, F_RDLCK));
    show("wr with reader", fcntl(w, F_SETLEASE, F_WRLCK));
    close(w);
    show("rd", fcntl(r, F_SETLEASE, F_RDLCK));
    show("get", fcntl(r, F_GETLEASE));
    proc_locks("read lease", r);
    int r2 = open(path, O_RDONLY);
    show("second rd", fcntl(r2, F_SETLEASE, F_RDLCK));
    show("upgrade with other", fcntl(r, F_SETLEASE, F_WRLCK));
    show("unlock second", fcntl(r2, F_SETLEASE, F_UNLCK));
    close(r2);
    show("upgrade alone", fcntl(r, F_SETLEASE, F_WRLCK));
    printf("get %s\n", lname(fcntl(r, F_GETLEASE)));
    show("owner is me", fcntl(r, F_GETOWN) == getpid());
    show("unlock", fcntl(r, F_SETLEASE, F_UNLCK));
    show("owner after unlock", fcntl(r, F_GETOWN));
    int p = open(path, O_PATH);
    show("o_path", fcntl(p, F_SETLEASE, F_RDLCK));
    show("wr on rdonly with o_path open", fcntl(r, F_SETLEASE, F_WRLCK));
    close(p);
    int r3 = dup(r);
    close(r);
    printf("after dup+close %s\n", lname(fcntl(r3, F_GETLEASE)));
    close(r3);
    r = open(path, O_RDWR);
    show("wr after all closed", fcntl(r, F_SETLEASE, F_WRLCK));
    close(r);
}

static void not_owner(void) {
    printf("not owner\n");
    pid_t c = fork();
    if (c == 0) {
        if (setresuid(65534, 65534, 65534) < 0) _exit(3);
        int fd = open(path, O_RDONLY);
        show("nobody", fcntl(fd, F_SETLEASE, F_RDLCK));
        _exit(0);
    }
    int st;
    waitpid(c, &st, 0);
}

/* A child opens with FLAGS (O_NONBLOCK first, then blocking) while the holder keeps TYPE. */
static void break_on(const char *what, int open_flags, int hflags, int type, int answer) {
    printf("break: %s\n", what);
    int fd = holder(hflags, type);
    pid_t c = fork();
    if (c == 0) {
        int o = open(path, open_flags | O_NONBLOCK);
        int nonblock_failed = o < 0 && errno == EWOULDBLOCK;
        o = open(path, open_flags);
        _exit(nonblock_failed | (o >= 0) << 1);
    }
    if (take_signal(fd)) {
        printf("  get during break %s\n", lname(fcntl(fd, F_GETLEASE)));
        if (!await_pid_sleeping(c)) printf("  child never slept\n");
        proc_locks("  during break", fd);
        show("  answer", fcntl(fd, F_SETLEASE, answer));
        printf("  get after answer %s\n", lname(fcntl(fd, F_GETLEASE)));
    }
    int st;
    waitpid(c, &st, 0);
    printf("  child: nonblocking open EWOULDBLOCK %d, blocking open ok %d\n", WEXITSTATUS(st) & 1, WEXITSTATUS(st) >> 1);
    if (fcntl(fd, F_GETLEASE) != F_UNLCK) fcntl(fd, F_SETLEASE, F_UNLCK);
    close(fd);
}

static void truncate_breaks(void) {
    printf("truncate\n");
    int fd = holder(O_RDONLY, F_RDLCK);
    pid_t c = fork();
    if (c == 0)
        _exit(truncate(path, 1) == 0 ? 0 : 1);
    if (take_signal(fd)) {
        printf("  get during break %s\n", lname(fcntl(fd, F_GETLEASE)));
        if (!await_pid_sleeping(c)) printf("  child never slept\n");
        show("  answer", fcntl(fd, F_SETLEASE, F_UNLCK));
    }
    int st;
    waitpid(c, &st, 0);
    printf("  child truncate status %d\n", WEXITSTATUS(st));
    close(fd);
}

static void other_locks(void) {
    int a = open(path, O_RDWR), b = open(path, O_RDONLY), c = open(path, O_RDWR);
    struct flock w = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 2, .l_len = 5};
    struct flock r = {.l_type = F_RDLCK, .l_whence = SEEK_SET, .l_start = 10, .l_len = 0};
    show("posix lock", fcntl(a, F_SETLK, &w));
    show("ofd lock", fcntl(c, F_OFD_SETLK, &r));
    show("flock", flock(b, LOCK_SH));
    proc_locks("locks", a);
    close(a);
    close(b);
    close(c);
    proc_locks("after close", a);
}

static void no_break(void) {
    printf("no break\n");
    int fd = holder(O_RDONLY, F_WRLCK);
    show("  rename", rename(path, path2));
    show("  rename back", rename(path2, path));
    show("  link", link(path, path2));
    show("  unlink", unlink(path2));
    show("  stat", access(path, F_OK));
    show("  no signal", no_signal());
    printf("  get %s\n", lname(fcntl(fd, F_GETLEASE)));
    int o = open(path, O_RDONLY | O_NONBLOCK);   /* an open for reading breaks a write lease */
    show("  open rdonly nonblock", o);
    if (take_signal(fd)) printf("  get %s\n", lname(fcntl(fd, F_GETLEASE)));
    fcntl(fd, F_SETLEASE, F_UNLCK);
    close(fd);
    fd = holder(O_RDONLY, F_RDLCK);
    o = open(path, O_RDONLY | O_NONBLOCK);
    show("  read lease, open rdonly", o >= 0);
    close(o);
    o = open(path, O_RDONLY | O_TRUNC | O_NONBLOCK);
    show("  read lease, open rdonly|trunc", o >= 0 ? 0 : -1);
    if (o >= 0) close(o); else take_signal(fd);
    close(fd);
}

/* Sandbox only (natively it would change the host's setting): with lease-break-time 1, a holder
 * that does not answer loses its lease after a second and the opener goes on. */
static void break_timeout(void) {
    int s = open("/proc/sys/fs/lease-break-time", O_WRONLY);
    if (s < 0 || write(s, "1\n", 2) != 2) { printf("cannot set lease-break-time\n"); return; }
    close(s);
    int fd = holder(O_RDONLY, F_WRLCK);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int o = open(path, O_RDWR);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double waited = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
    show("  open after timeout ok", o >= 0);
    printf("  waited about a second %d\n", waited > 0.9 && waited < 10);
    printf("  get %s\n", lname(fcntl(fd, F_GETLEASE)));
    take_signal(fd);
}

int main(int argc, char **argv) {
    const char *dir = argc > 1 ? argv[1] : "/tmp";
    snprintf(path, sizeof path, "%s/lease-%d", dir, (int)getpid());
    snprintf(path2, sizeof path2, "%s/lease-%d.b", dir, (int)getpid());
    setvbuf(stdout, NULL, _IONBF, 0);   /* nothing buffered is copied by fork */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGRTMIN + 1);
    sigprocmask(SIG_BLOCK, &set, NULL);
    int fd = open(path, O_CREAT | O_RDWR | O_TRUNC, 0644);
    if (fd < 0) { perror(path); return 2; }
    write(fd, "data", 4);
    close(fd);
    if (chdir(dir) < 0) return 2;
    if (argc > 2 && !strcmp(argv[2], "timeout")) {
        break_timeout();
        unlink(path);
        return 0;
    }
    setlease_rules();
    not_owner();
    break_on("write open vs read lease, unlock", O_WRONLY, O_RDONLY, F_RDLCK, F_UNLCK);
    break_on("read open vs write lease, downgrade", O_RDONLY, O_RDONLY, F_WRLCK, F_RDLCK);
    break_on("write open vs write lease, downgrade then unlock", O_RDWR, O_RDWR, F_WRLCK, F_UNLCK);
    truncate_breaks();
    no_break();
    other_locks();
    unlink(path);
    return 0;
}
