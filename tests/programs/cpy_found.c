/* Regressions found with CPython's own test suite as an oracle: one case per argv[1], each printing
 * what it observes (return values, errno names), run natively and in the sandbox.
 *   access_userns   access(2) checks as the real uid with the permitted capabilities when that uid
 *                   is root of the caller's user namespace, not only kernel uid 0: a user mapped to
 *                   root in a namespace of its own passes W_OK on a read-only directory it owns (as
 *                   creating a file there does); with SECBIT_NO_SETUID_FIXUP the capabilities are
 *                   left as they are, so a non-root real uid keeps them too (do_faccessat's
 *                   access_override_creds; CPython's test_tempfile test_read_only_directory)
 *   symlink_owner   a symlink an unprivileged user makes on a Gofer file system (here the root
 *                   overlay, in /var/tmp) is the user's: lchown to itself, utimensat without
 *                   following and unlink in a sticky directory work (CPython's test_posix
 *                   test_lchown and test_shutil's symlink tests, run as nobody on a volume)
 *   nproc_limit     RLIMIT_NPROC: a uid at its soft limit of tasks cannot fork or make a thread
 *                   (EAGAIN); kernel uid 0 is exempt (copy_process; CPython's test_subprocess
 *                   test_preexec_fork_failure, run as nobody) */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/securebits.h>

static const char *en(int r) {
    if (r == 0) return "0";
    switch (errno) {
    case EACCES: return "EACCES";
    case EPERM: return "EPERM";
    case EINVAL: return "EINVAL";
    case ENOENT: return "ENOENT";
    case EAGAIN: return "EAGAIN";
    default: return strerrorname_np(errno);
    }
}

static int write_file(const char *path, const char *text) {
    int fd = open(path, O_WRONLY);
    if (fd < 0) return -1;
    int r = write(fd, text, strlen(text)) == (ssize_t)strlen(text) ? 0 : -1;
    close(fd);
    return r;
}

/* In a child: become uid/gid 65534, map it to root in a user namespace of its own, make the
 * directory (owned by 65534) read-only, then ask access() and try to create in it. */
static void userns_child(const char *dir) {
    if (setgroups(0, NULL) || setresgid(65534, 65534, 65534) || setresuid(65534, 65534, 65534)) {
        printf("drop ids: %s\n", en(-1));
        _exit(1);
    }
    prctl(PR_SET_DUMPABLE, 1);   /* the id change made /proc/self root's */
    if (unshare(CLONE_NEWUSER) || write_file("/proc/self/setgroups", "deny") ||
        write_file("/proc/self/uid_map", "0 65534 1") || write_file("/proc/self/gid_map", "0 65534 1")) {
        printf("user namespace: %s\n", en(-1));
        _exit(1);
    }
    printf("ids in the namespace: %d %d\n", (int)getuid(), (int)geteuid());
    printf("chmod 0555: %s\n", en(chmod(dir, 0555)));
    printf("access W_OK: %s\n", en(access(dir, W_OK)));
    printf("faccessat AT_EACCESS W_OK: %s\n", en(faccessat(AT_FDCWD, dir, W_OK, AT_EACCESS)));
    char sub[256];
    snprintf(sub, sizeof sub, "%s/sub", dir);
    printf("mkdir inside: %s\n", en(mkdir(sub, 0700)));
    _exit(0);
}

/* In a child that stays root by effective uid: a real uid of 1000 clears the capabilities access()
 * uses, unless SECBIT_NO_SETUID_FIXUP keeps them. */
static void fixup_child(const char *dir, int keep) {
    if (keep && prctl(PR_SET_SECUREBITS, SECBIT_NO_SETUID_FIXUP)) {
        printf("securebits: %s\n", en(-1));
        _exit(1);
    }
    if (setresuid(1000, 0, 0)) {
        printf("setresuid: %s\n", en(-1));
        _exit(1);
    }
    printf("no_setuid_fixup=%d: access W_OK: %s, AT_EACCESS: %s\n", keep, en(access(dir, W_OK)),
           en(faccessat(AT_FDCWD, dir, W_OK, AT_EACCESS)));
    _exit(0);
}

static int run_child(void (*fn)(const char *, int), const char *dir, int arg) {
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        fn(dir, arg);
        _exit(0);
    }
    int status;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static void userns_adapter(const char *dir, int unused) { (void)unused; userns_child(dir); }

static int access_userns(void) {
    if (geteuid() != 0) {
        printf("needs root\n");
        return 0;
    }
    char dir[] = "/tmp/cpy_accessXXXXXX";
    if (!mkdtemp(dir) || chown(dir, 65534, 65534)) {
        perror("mkdtemp/chown");
        return 1;
    }
    int bad = run_child(userns_adapter, dir, 0);
    char sub[256];
    snprintf(sub, sizeof sub, "%s/sub", dir);
    rmdir(sub);
    /* the root-owned directory, read-only for everyone, for the SECBIT_NO_SETUID_FIXUP part */
    if (chown(dir, 0, 0) || chmod(dir, 0555)) {
        perror("chown/chmod");
        return 1;
    }
    bad |= run_child(fixup_child, dir, 0);
    bad |= run_child(fixup_child, dir, 1);
    rmdir(dir);
    return bad;
}

static void symlink_child(const char *dir, int unused) {
    (void)unused;
    if (setgroups(0, NULL) || setresgid(65534, 65534, 65534) || setresuid(65534, 65534, 65534)) {
        printf("drop ids: %s\n", en(-1));
        _exit(1);
    }
    char link[256];
    snprintf(link, sizeof link, "%s/l", dir);
    printf("symlink: %s\n", en(symlink("target", link)));
    struct stat st;
    if (lstat(link, &st) == 0)
        printf("owner: %d %d\n", (int)st.st_uid, (int)st.st_gid);
    printf("lchown to itself: %s\n", en(lchown(link, 65534, 65534)));
    struct timespec times[2] = {{1, 0}, {2, 0}};
    printf("utimensat nofollow: %s\n", en(utimensat(AT_FDCWD, link, times, AT_SYMLINK_NOFOLLOW)));
    if (lstat(link, &st) == 0)
        printf("mtime: %ld\n", (long)st.st_mtime);
    printf("unlink: %s\n", en(unlink(link)));
    _exit(0);
}

static int symlink_owner(void) {
    if (geteuid() != 0) {
        printf("needs root\n");
        return 0;
    }
    char dir[] = "/var/tmp/cpy_linkXXXXXX";
    if (!mkdtemp(dir) || chmod(dir, 01777)) {
        perror("mkdtemp/chmod");
        return 1;
    }
    int bad = run_child(symlink_child, dir, 0);
    char link[256];
    snprintf(link, sizeof link, "%s/l", dir);
    unlink(link);
    rmdir(dir);
    return bad;
}

static void *idle(void *arg) { return arg; }

static void nproc_try(const char *who) {
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0)
        _exit(0);
    int saved = errno;
    if (pid > 0)
        waitpid(pid, NULL, 0);
    errno = saved;
    printf("%s: fork: %s", who, en(pid > 0 ? 0 : -1));
    pthread_t th;
    int r = pthread_create(&th, NULL, idle, NULL);
    if (r == 0)
        pthread_join(th, NULL);
    errno = r;
    printf(", pthread_create: %s\n", en(r ? -1 : 0));
}

static void nproc_child(const char *unused, int uid) {
    (void)unused;
    if (uid && (setgroups(0, NULL) || setresgid(uid, uid, uid) || setresuid(uid, uid, uid))) {
        printf("drop ids: %s\n", en(-1));
        _exit(1);
    }
    struct rlimit rl;
    getrlimit(RLIMIT_NPROC, &rl);
    rl.rlim_cur = 0;
    printf("setrlimit 0: %s\n", en(setrlimit(RLIMIT_NPROC, &rl)));
    nproc_try(uid ? "uid 65534" : "uid 0");
    _exit(0);
}

static int nproc_limit(void) {
    if (geteuid() != 0) {
        printf("needs root\n");
        return 0;
    }
    return run_child(nproc_child, NULL, 65534) | run_child(nproc_child, NULL, 0);
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0);   /* the children end with _exit */
    if (argc < 2) {
        fprintf(stderr, "usage: %s CASE\n", argv[0]);
        return 2;
    }
    if (!strcmp(argv[1], "access_userns"))
        return access_userns();
    if (!strcmp(argv[1], "symlink_owner"))
        return symlink_owner();
    if (!strcmp(argv[1], "nproc_limit"))
        return nproc_limit();
    fprintf(stderr, "unknown case %s\n", argv[1]);
    return 2;
}
