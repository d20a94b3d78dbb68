/* Per-task UTS and IPC namespaces (differential): unshare(CLONE_NEWUTS/CLONE_NEWIPC) and
 * clone(CLONE_NEWUTS) give a process its own host name and IPC objects while its parent's stay
 * as they were; /proc/PID/ns/{uts,ipc} differ exactly when the namespaces do; setns through an
 * nsfs fd and through a pidfd; EPERM without CAP_SYS_ADMIN; unshare(CLONE_FILES, CLONE_FS,
 * CLONE_SYSVSEM). Run as root natively: every name it changes is in a namespace of its own.
 * Nothing printed depends on pids, inode numbers or the host's names. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <mqueue.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ns_common.h"

#define SHOW(label, expr) do { errno = 0; long _r = (long)(expr); int _e = errno; \
    printf("%s: %ld %s\n", label, _r, _r == -1 ? strerrorname_np(_e) : "-"); } while (0)

static const key_t KEY = 0x5eed1234;

static ino_t ns_ino(const char *pid, const char *kind) {
    char path[64];
    struct stat st;
    snprintf(path, sizeof path, "/proc/%s/ns/%s", pid, kind);
    return stat(path, &st) ? 0 : st.st_ino;
}

static const char *nodename(void) {
    static struct utsname u;
    uname(&u);
    return u.nodename;
}

static void proc_hostname(char *buf, size_t n) {
    int fd = open("/proc/sys/kernel/hostname", O_RDONLY);
    ssize_t r = read(fd, buf, n - 1);
    buf[r > 0 ? r : 0] = 0;
    close(fd);
}

static int child_new_uts(void) {
    ino_t before = ns_ino("self", "uts");
    SHOW("unshare(NEWUTS)", unshare(CLONE_NEWUTS));
    printf("uts ino changed: %d\n", ns_ino("self", "uts") != before);
    SHOW("sethostname", sethostname("child-host", 10));
    SHOW("setdomainname", setdomainname("child-dom", 9));
    char buf[80];
    proc_hostname(buf, sizeof buf);
    struct utsname u;
    uname(&u);
    printf("child uname: %s %s, /proc: %s", u.nodename, u.domainname, buf);
    int fd = open("/proc/sys/kernel/hostname", O_WRONLY);
    SHOW("write /proc hostname", write(fd, "proc-host\n", 10));
    close(fd);
    printf("after /proc write: %s\n", nodename());
    return 0;
}

static int child_new_ipc(void) {
    ino_t before = ns_ino("self", "ipc");
    SHOW("unshare(NEWIPC)", unshare(CLONE_NEWIPC));
    printf("ipc ino changed: %d\n", ns_ino("self", "ipc") != before);
    SHOW("shmget parent's key", shmget(KEY, 0, 0));
    SHOW("mq_open parent's queue", mq_open("/ns_uts_ipc", O_RDONLY));
    SHOW("msgget new (excl)", msgget(KEY, IPC_CREAT | IPC_EXCL | 0600) >= 0);
    FILE *f = fopen("/proc/sysvipc/msg", "r");
    char line[512];
    int rows = 0;
    while (fgets(line, sizeof line, f))
        rows++;
    fclose(f);
    printf("/proc/sysvipc/msg rows in the new namespace: %d\n", rows);
    return 0;
}

static void test_unshare_uts_ipc(void) {
    char before[65];
    snprintf(before, sizeof before, "%s", nodename());
    pid_t pid = fork();
    if (pid == 0)
        exit(child_new_uts());
    printf("child: %d\n", reap(pid));
    printf("parent hostname unchanged: %d\n", strcmp(before, nodename()) == 0);

    pid = syscall(SYS_clone, CLONE_NEWUTS | SIGCHLD, 0, 0, 0, 0);
    if (pid == 0) {
        printf("clone(NEWUTS) child: sethostname %d\n", sethostname("clone-host", 10));
        printf("clone(NEWUTS) child: %s\n", nodename());
        exit(0);
    }
    printf("clone child: %d, parent hostname unchanged: %d\n", reap(pid), strcmp(before, nodename()) == 0);
    SHOW("clone(NEWIPC|SYSVSEM)", syscall(SYS_clone, CLONE_NEWIPC | CLONE_SYSVSEM | SIGCHLD, 0, 0, 0, 0));

    int shm = shmget(KEY, 4096, IPC_CREAT | IPC_EXCL | 0600);
    struct mq_attr attr = {.mq_maxmsg = 4, .mq_msgsize = 16};
    mqd_t q = mq_open("/ns_uts_ipc", O_CREAT | O_EXCL | O_RDWR, 0600, &attr);
    printf("parent made shm and queue: %d %d\n", shm >= 0, q != (mqd_t)-1);
    pid = fork();
    if (pid == 0)
        exit(child_new_ipc());
    printf("child: %d\n", reap(pid));
    SHOW("parent msgget child's key", msgget(KEY, 0));
    shmctl(shm, IPC_RMID, NULL);
    mq_close(q);
    mq_unlink("/ns_uts_ipc");
}

static void holder_setup(void) {
    unshare(CLONE_NEWUTS | CLONE_NEWIPC);
    sethostname("a-host", 6);
}

static int joiner(pid_t a) {
    char pid[16], path[64];
    snprintf(pid, sizeof pid, "%d", a);
    snprintf(path, sizeof path, "/proc/%d/ns/uts", a);
    int fd = open(path, O_RDONLY);
    SHOW("setns(uts fd, NEWIPC)", setns(fd, CLONE_NEWIPC));
    SHOW("setns(uts fd, NEWUTS)", setns(fd, CLONE_NEWUTS));
    printf("joined: %s, same uts ino: %d, same ipc ino: %d\n", nodename(),
           ns_ino("self", "uts") == ns_ino(pid, "uts"), ns_ino("self", "ipc") == ns_ino(pid, "ipc"));
    int pfd = syscall(SYS_pidfd_open, a, 0);
    SHOW("setns(pidfd, 0)", setns(pfd, 0));
    SHOW("setns(pidfd, NEWIPC)", setns(pfd, CLONE_NEWIPC));
    printf("same ipc ino now: %d\n", ns_ino("self", "ipc") == ns_ino(pid, "ipc"));
    SHOW("setns(pidfd, bad flag)", setns(pfd, CLONE_VM));
    SHOW("setns(stdin)", setns(0, 0));
    SHOW("setns(-1)", setns(-1, 0));
    SHOW("setns(user ns fd)", setns(open("/proc/self/ns/user", O_RDONLY), 0));
    return 0;
}

static void test_setns(void) {
    int release;
    pid_t a = holder(holder_setup, &release);
    pid_t pid = fork();
    if (pid == 0)
        exit(joiner(a));
    printf("joiner: %d\n", reap(pid));
    close(release);
    printf("holder: %d\n", reap(a));
}

static int unprivileged(void) {
    setuid(65534);   /* root -> nobody: the effective capabilities go */
    SHOW("unshare(NEWUTS) unprivileged", unshare(CLONE_NEWUTS));
    SHOW("unshare(NEWIPC) unprivileged", unshare(CLONE_NEWIPC));
    SHOW("clone(NEWUTS) unprivileged", syscall(SYS_clone, CLONE_NEWUTS | SIGCHLD, 0, 0, 0, 0));
    SHOW("setns unprivileged", setns(open("/proc/self/ns/uts", O_RDONLY), 0));
    SHOW("sethostname unprivileged", sethostname("x", 1));
    SHOW("unshare(FILES|FS) unprivileged", unshare(CLONE_FILES | CLONE_FS));
    return 0;
}

static int sysvsem_child(void) {
    int id = semget(IPC_PRIVATE, 1, 0600);
    struct sembuf op = {0, 1, SEM_UNDO};
    semop(id, &op, 1);
    printf("semval before unshare(SYSVSEM): %d\n", semctl(id, 0, GETVAL));
    SHOW("unshare(SYSVSEM)", unshare(CLONE_SYSVSEM));
    printf("semval after (undo applied): %d\n", semctl(id, 0, GETVAL));
    semctl(id, 0, IPC_RMID);
    return 0;
}

static void test_other_flags(void) {
    SHOW("unshare(0)", unshare(0));
    SHOW("unshare(CSIGNAL bits)", unshare(SIGCHLD));
    SHOW("unshare(CLONE_THREAD|VM|SIGHAND) single-threaded", unshare(CLONE_THREAD | CLONE_VM | CLONE_SIGHAND));
    int fd = open("/dev/null", O_RDONLY);
    pid_t pid = syscall(SYS_clone, CLONE_FILES | CLONE_FS | SIGCHLD, 0, 0, 0, 0);
    if (pid == 0) {
        SHOW("unshare(FILES|FS)", unshare(CLONE_FILES | CLONE_FS));
        close(fd);
        chdir("/tmp");
        exit(0);
    }
    char cwd[256];
    reap(pid);
    printf("fd still open in the parent: %d, cwd unchanged: %d\n", fcntl(fd, F_GETFD) >= 0,
           strcmp(getcwd(cwd, sizeof cwd), "/tmp") != 0);
    pid = syscall(SYS_clone, CLONE_FILES | SIGCHLD, 0, 0, 0, 0);
    if (pid == 0) {
        close(fd);   /* shared table: the parent loses it too */
        exit(0);
    }
    reap(pid);
    printf("without unshare the close is shared: %d\n", fcntl(fd, F_GETFD) == -1);
    pid = fork();
    if (pid == 0)
        exit(sysvsem_child());
    printf("sysvsem child: %d\n", reap(pid));
    pid = fork();
    if (pid == 0)
        exit(unprivileged());
    printf("unprivileged child: %d\n", reap(pid));
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    chdir("/");
    test_unshare_uts_ipc();
    test_setns();
    test_other_flags();
    return 0;
}
