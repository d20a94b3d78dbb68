/* PID namespaces (differential): unshare(CLONE_NEWPID) leaves the caller where it is and puts its
 * next child at pid 1 of a new namespace; ids there (getpid, getppid, wait4, waitid's si_pid,
 * SIGCHLD's and kill's si_pid, /proc/self/status NSpid), the init's protection from signals sent
 * inside its namespace (but not SIGKILL from outside), orphans reparented to it, every process
 * of the namespace killed when it exits and fork there ENOMEM after, clone(CLONE_NEWPID), setns to
 * a pid namespace fd (a descendant's only), CLONE_THREAD refused after unshare, and a proc
 * mounted inside listing only the namespace's processes. Run as root natively. Nothing printed
 * depends on pids outside the new namespaces or on inode numbers. */
#include "ns_show.h"
#include <dirent.h>
#include <pthread.h>
#include <sys/mount.h>
#include <sys/socket.h>

/* The NSpid line of /proc/self/status, tab-separated ids outermost first, as "a b c". */
static void nspid_line(const char *field, char *out, size_t n) {
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    size_t len = strlen(field);
    out[0] = 0;
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, field, len) && line[len] == ':') {
            snprintf(out, n, "%s", line + len + 2);
            out[strcspn(out, "\n")] = 0;
        }
    if (f)
        fclose(f);
}

/* How many ids NSpid lists, and the innermost one. */
static void show_nspid(const char *label) {
    char buf[128];
    nspid_line("NSpid", buf, sizeof buf);
    int fields = 1;
    for (char *p = buf; *p; p++)
        fields += *p == '\t';
    char *last = strrchr(buf, '\t');
    printf("%s NSpid: %d ids, innermost %s\n", label, fields, last ? last + 1 : buf);
}

static volatile sig_atomic_t usr1_from = -1, chld_from = -1;

static void on_usr1(int sig, siginfo_t *si, void *uc) { (void)sig; (void)uc; usr1_from = si->si_pid; }
static void on_chld(int sig, siginfo_t *si, void *uc) {   /* the first: the orphan's may follow */
    (void)sig; (void)uc;
    if (chld_from < 0)
        chld_from = si->si_pid;
}

static void handle(int sig, void (*fn)(int, siginfo_t *, void *)) {
    struct sigaction sa = {0};
    sa.sa_sigaction = fn;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;   /* the waits below must not end in EINTR */
    sigaction(sig, &sa, NULL);
}

/* Poll (not a fixed sleep) until getppid() is ``want``; returns whether it became so. */
static int await_ppid(pid_t want) {
    for (int i = 0; i < 20000; i++) {
        if (getppid() == want)
            return 1;
        usleep(500);
    }
    return 0;
}

/* pid 1 of the new namespace: ids, signals from inside, an orphan, waits. */
static int ns_init(void) {
    printf("init getpid: %d getppid: %d\n", getpid(), getppid());
    show_nspid("init");
    int sv[2];
    struct ucred cred;
    socklen_t len = sizeof cred;
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    getsockopt(sv[0], SOL_SOCKET, SO_PEERCRED, &cred, &len);
    printf("init SO_PEERCRED pid: %d\n", cred.pid);
    SHOW("init clone(CLONE_PARENT)", syscall(SYS_clone, CLONE_PARENT | SIGCHLD, 0, 0, 0, 0));
    handle(SIGUSR1, on_usr1);
    handle(SIGCHLD, on_chld);
    pid_t kid = fork();
    if (kid == 0) {
        printf("kid getpid: %d getppid: %d\n", getpid(), getppid());
        SHOW("kid kill(1, SIGTERM) (init ignores it)", kill(1, SIGTERM));
        SHOW("kid kill(1, SIGKILL) (init ignores it)", kill(1, SIGKILL));
        SHOW("kid kill(1, SIGUSR1) (handled)", kill(1, SIGUSR1));
        pid_t orphan = fork();
        if (orphan == 0)
            _exit(await_ppid(1) ? 5 : 6);   /* the exit status tells: printing would race init's */
        _exit(3);
    }
    int st;
    siginfo_t si;
    memset(&si, 0, sizeof si);
    SHOW("init waitid(P_PID 2) nowait", waitid(P_PID, 2, &si, WEXITED | WNOWAIT));
    printf("init fork returned: %d, waitid si_pid: %d\n", kid, si.si_pid);
    SHOW("init wait4(2)", wait4(2, &st, 0, NULL));
    printf("kid status %d, usr1 from %d, sigchld from %d\n", WEXITSTATUS(st), (int)usr1_from, (int)chld_from);
    pid_t w = wait(&st);
    printf("init reaped the orphan: %d status %d (5: it saw getppid() 1)\n", w, WEXITSTATUS(st));
    return 0;
}

static void *nothing(void *arg) { return arg; }

static void part_unshare(void) {
    pid_t me = getpid();
    ino_t own = ns_ino("self", "pid");
    SHOW("unshare(NEWPID)", unshare(CLONE_NEWPID));
    printf("getpid unchanged: %d\n", getpid() == me);
    printf("ns/pid unchanged: %d, pid_for_children new: %d\n", ns_ino("self", "pid") == own,
           ns_ino("self", "pid_for_children") != own);
    pthread_t th;
    printf("pthread_create after unshare: %s\n", strerrorname_np(pthread_create(&th, NULL, nothing, NULL)));
    pid_t init = fork();
    if (init == 0)
        exit(ns_init());
    int status = reap(init);
    printf("outer sees init as another pid: %d\n", init > 1 && init != me);
    printf("outer init status: %d\n", status);
    SHOW("fork after the namespace's init exited", fork());
}

static void part_init_death(void) {
    int p[2];
    pipe(p);
    pid_t init = syscall(SYS_clone, CLONE_NEWPID | SIGCHLD, 0, 0, 0, 0);
    if (init == 0) {
        close(p[0]);
        printf("clone(NEWPID) child getpid: %d\n", getpid());
        if (fork() == 0) {
            pause();   /* holds p[1] until the namespace's death kills it */
            _exit(0);
        }
        close(p[1]);
        _exit(7);
    }
    close(p[1]);
    printf("clone(NEWPID) init status: %d\n", reap(init));
    char c;
    SHOW("read from the killed process's pipe (EOF)", read(p[0], &c, 1));
    close(p[0]);
}

static void part_kill_from_outside(void) {
    int ready[2];
    pipe(ready);
    int outer_ns = open("/proc/self/ns/pid", O_RDONLY);
    pid_t init = syscall(SYS_clone, CLONE_NEWPID | SIGCHLD, 0, 0, 0, 0);
    if (init == 0) {
        /* the parent's namespace is not ours or below it */
        SHOW("init setns(parent's pid ns)", setns(outer_ns, CLONE_NEWPID));
        write(ready[1], "x", 1);
        for (;;)
            pause();
    }
    char c;
    read(ready[0], &c, 1);
    close(outer_ns);
    pid_t joiner = fork();
    if (joiner == 0) {   /* a process of its own: setns leaves its pid_for_children in there */
        char path[64];
        snprintf(path, sizeof path, "/proc/%d/ns/pid", init);
        int fd = open(path, O_RDONLY);
        SHOW("setns(child's pid ns)", setns(fd, CLONE_NEWPID));
        printf("ns/pid unchanged by setns: %d\n", ns_ino("self", "pid") != ns_ino("self", "pid_for_children"));
        pid_t in = fork();
        if (in == 0) {
            printf("joined namespace: getpid %d getppid %d\n", getpid(), getppid());
            show_nspid("joined");
            _exit(0);
        }
        _exit(reap(in));
    }
    printf("joiner status: %d\n", reap(joiner));
    SHOW("outer kill(init, SIGTERM) (default action, from outside: ignored)", kill(init, SIGTERM));
    SHOW("outer kill(init, SIGKILL)", kill(init, SIGKILL));
    printf("init status after SIGKILL: %d\n", reap(init));
}

static void part_proc(void) {
    pid_t init = syscall(SYS_clone, CLONE_NEWPID | CLONE_NEWNS | SIGCHLD, 0, 0, 0, 0);
    if (init == 0) {
        SHOW("make / private", mount("none", "/", NULL, MS_REC | MS_PRIVATE, NULL));
        SHOW("mount proc", mount("proc", "/proc", "proc", 0, NULL));
        char buf[64] = {0};
        readlink("/proc/self", buf, sizeof buf - 1);
        printf("/proc/self -> %s\n", buf);
        DIR *d = opendir("/proc");
        struct dirent *e;
        printf("numeric entries:");
        while ((e = readdir(d)))
            if (e->d_name[0] >= '0' && e->d_name[0] <= '9')
                printf(" %s", e->d_name);
        printf("\n");
        closedir(d);
        show_nspid("proc");
        _exit(0);
    }
    printf("proc child status: %d\n", reap(init));
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    part_init_death();
    part_kill_from_outside();
    part_proc();
    part_unshare();   /* last: it leaves this process's pid_for_children dead */
    return 0;
}
