/* User namespaces (differential): unshare/clone(CLONE_NEWUSER) by root and by an unprivileged
 * user; ids before and after /proc/self/uid_map and gid_map are written (the overflow id 65534
 * while unmapped, as stat shows unmapped owners); the maps' write rules (once, in the parent's
 * ids, the owner's own id alone unless privileged, gid_map only after setgroups "deny",
 * setgroups(2) refused then); capabilities there but not over the initial namespace's
 * resources (the host name) until a UTS namespace is made inside; setns into a user namespace;
 * CLONE_NEWUSER with CLONE_FS refused. Run as root natively; nothing printed depends on inode
 * numbers or pids. */
#include "ns_show.h"
#include <grp.h>
#include <sys/prctl.h>

/* write(2) of ``text`` to /proc/PID/``name``: the call's result (or the open's failure). */
static long put(const char *pid, const char *name, const char *text) {
    char path[64];
    snprintf(path, sizeof path, "/proc/%s/%s", pid, name);
    int fd = open(path, O_WRONLY);
    long r = fd < 0 ? -1 : write(fd, text, strlen(text));
    int e = errno;
    if (fd >= 0)
        close(fd);
    errno = e;   /* the write's (or the open's) */
    return r;
}

/* Writes to /proc/self files, each shown with its result. */
struct step { const char *label, *file, *text; };

static void writes(const struct step *s) {
    for (; s->label; s++)
        SHOW(s->label, put("self", s->file, s->text));
}

static void show_file(const char *label, const char *path) {
    char buf[256] = {0};
    int fd = open(path, O_RDONLY);
    long n = fd < 0 ? -1 : read(fd, buf, sizeof buf - 1);
    if (fd >= 0)
        close(fd);
    for (char *p = buf; *p; p++)
        if (*p == '\n')
            *p = '|';
    printf("%s: [%s]%s\n", label, n < 0 ? "" : buf, n < 0 ? strerrorname_np(errno) : "");
}

static void show_ids(const char *label) {
    struct stat st;
    stat("/", &st);
    printf("%s: uid %d gid %d euid %d, / owned by %d:%d, groups %d\n", label, getuid(), getgid(), geteuid(),
           st.st_uid, st.st_gid, getgroups(0, NULL));
}

static int as_root(void) {
    ino_t before = ns_ino("self", "user");
    SHOW("root unshare(NEWUSER)", unshare(CLONE_NEWUSER));
    printf("ns/user changed: %d\n", ns_ino("self", "user") != before);
    show_ids("unmapped");
    show_file("uid_map before", "/proc/self/uid_map");
    show_file("setgroups before", "/proc/self/setgroups");
    static const struct step steps[] = {
        {"uid_map bad line", "uid_map", "0 0\n"},
        {"uid_map overlapping", "uid_map", "0 0 2\n1 5 1\n"},
        {"uid_map 0 0 1", "uid_map", "0 0 1\n"},
        {"uid_map again", "uid_map", "0 0 1\n"},
        {"gid_map 0 0 1 (the owner's own gid needs setgroups deny)", "gid_map", "0 0 1\n"},
        {"setgroups deny", "setgroups", "deny"},
        {0, 0, 0}};
    writes(steps);
    show_file("uid_map after", "/proc/self/uid_map");
    show_ids("mapped");
    SHOW("setgroups(2) allowed", setgroups(0, NULL));
    SHOW("setuid(5) unmapped", setuid(5));
    SHOW("sethostname (the initial UTS namespace)", sethostname("x", 1));
    SHOW("unshare(NEWUTS) inside", unshare(CLONE_NEWUTS));
    SHOW("sethostname (its own UTS namespace)", sethostname("inner", 5));
    return 0;
}

static int as_user(void) {
    SHOW("setresgid(1000)", setresgid(1000, 1000, 1000));
    SHOW("setgroups none", setgroups(0, NULL));
    SHOW("setresuid(1000)", setresuid(1000, 1000, 1000));
    SHOW("dumpable again (its /proc/self files its own)", prctl(PR_SET_DUMPABLE, 1, 0, 0, 0));
    SHOW("user unshare(NEWUTS) (no capability)", unshare(CLONE_NEWUTS));
    SHOW("user unshare(NEWUSER)", unshare(CLONE_NEWUSER));
    show_ids("user unmapped");
    static const struct step steps[] = {
        {"uid_map 0 0 1 (not its own id)", "uid_map", "0 0 1\n"},
        {"uid_map 0 1000 1", "uid_map", "0 1000 1\n"},
        {"gid_map before deny", "gid_map", "0 1000 1\n"},
        {"setgroups deny", "setgroups", "deny\n"},
        {"setgroups allow again", "setgroups", "allow\n"},
        {"gid_map after deny", "gid_map", "0 1000 1\n"},
        {0, 0, 0}};
    writes(steps);
    show_ids("user mapped");
    show_file("setgroups now", "/proc/self/setgroups");
    SHOW("setgroups(2) denied", setgroups(0, NULL));
    SHOW("unshare(NEWUTS) inside", unshare(CLONE_NEWUTS));
    SHOW("nested unshare(NEWUSER)", unshare(CLONE_NEWUSER));
    SHOW("nested uid_map of an id the parent lacks", put("self", "uid_map", "0 5 1\n"));
    SHOW("nested uid_map 7 0 1", put("self", "uid_map", "7 0 1\n"));
    show_file("nested uid_map", "/proc/self/uid_map");
    return 0;
}

static void mapped_user_ns(void) {
    unshare(CLONE_NEWUSER);
    put("self", "uid_map", "0 0 1\n");
}

static void setns_into_child(void) {
    int release;
    pid_t kid = holder(mapped_user_ns, &release);
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/ns/user", kid);
    int fd = open(path, O_RDONLY);
    pid_t joiner = fork();
    if (joiner == 0) {
        SHOW("setns(child's user ns)", setns(fd, CLONE_NEWUSER));
        printf("after setns: uid %d\n", getuid());
        SHOW("setns(same user ns)", setns(fd, CLONE_NEWUSER));
        _exit(0);
    }
    reap(joiner);
    close(fd);
    close(release);
    reap(kid);
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    pid_t p = fork();
    if (p == 0)
        exit(as_root());
    printf("as root: %d\n", reap(p));
    p = fork();
    if (p == 0)
        exit(as_user());
    printf("as user: %d\n", reap(p));
    setns_into_child();
    p = syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0);
    if (p == 0) {
        printf("clone(NEWUSER) child uid %d\n", getuid());
        _exit(0);
    }
    reap(p);
    SHOW("clone(NEWUSER|FS)", syscall(SYS_clone, CLONE_NEWUSER | CLONE_FS | SIGCHLD, 0, 0, 0, 0));
    return 0;
}
