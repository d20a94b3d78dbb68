/* More regressions found with gVisor's syscall tests as an oracle: one case per argv[1], each
 * printing what it observes (return values, errno names), run natively and in the sandbox.
 *   suid_exec          a set-user-ID file's owner becomes the effective and saved uid (AT_SECURE)
 *   sgid_exec          a set-group-ID, group-executable file's group becomes the effective gid
 *   exec_saved_ids     execve sets the saved uid and gid to the effective ones
 *   execveat_nofollow  execveat with AT_SYMLINK_NOFOLLOW of a symlink: ELOOP
 *   execveat_cloexec   execveat of a close-on-exec descriptor of a script: ENOENT
 *   maps_merged        /proc/self/maps shows adjacent like anonymous memory as one line, [heap] and
 *                      [stack] once each, an unnamed line ending in a space, names at column 73
 *   ptrace_sigmask     PTRACE_GETSIGMASK and PTRACE_SETSIGMASK of a stopped tracee
 *   pty_packet_flush   a replica's TCFLSH reaches a packet-mode master as a status byte (POLLPRI)
 *   pty_hup_pollout    a master whose replica closed polls POLLHUP and still POLLOUT; TIOCNOTTY through
 *                      the master of one's terminal is ENOTTY (and hangs nothing up)
 *   pty_canon_switch   input past 4095 bytes when canonical mode comes back: 4095 make a line, the
 *                      rest waits for its newline; IUTF8 backspace leaves a lone continuation byte
 *   rusage_maxrss      ru_maxrss of the process, of a waited-for child (wait4, RUSAGE_CHILDREN) and
 *                      /proc/self/statm's resident count follow memory touched (or populated), not mapped
 *   stop_all_threads   SIGSTOP stops every thread: one asleep when it came does not run on
 *   stop_nanosleep     a nanosleep a stop interrupts ends at its first deadline, not a whole one later
 *   process_vm_empty   process_vm_readv/writev with nothing on the local side: 0
 *   pidfd_checks       clone3 whose pidfd cannot be written makes no child (EFAULT); setns through
 *                      a zombie's pidfd ESRCH; pidfd_getfd and setns from a user namespace of one's
 *                      own EPERM (ptrace access needs the target's capabilities)
 *   socket_owner       a socket's FIOSETOWN/SIOCSPGRP and FIOGETOWN/SIOCGPGRP (F_SETOWN's), SIGIO
 *   aio_ring           an io_setup context moves with its ring (mremap), which cannot grow (EFAULT)
 *                      nor be used once PROT_NONE (EINVAL); io_submit's own EFAULT and EINVAL
 *   fifo_open_blocks   a blocking open of a FIFO waits for the other end: a signal interrupts it
 *                      (EINTR), a partner's open ends it; stat's nice and priority fields
 *   shm_attach         two attachments of a segment side by side count twice (shm_nattch); a
 *                      read-only one cannot be made writable (EACCES)
 *   msg_copy_small     msgrcv MSG_COPY into a buffer too small, even with MSG_NOERROR: EINVAL
 *   dev_lseek          lseek of /dev/null, /dev/zero, /dev/urandom: 0 for any offset and whence
 *   ptrace_listen      a tracee in a group stop under PTRACE_LISTEN, continued, then detached, dies
 *                      of the SIGTERM sent meanwhile (it waited for a SIGCONT already past)
 *   sysemu_detach      a call PTRACE_SYSEMU skipped returns the tracer's rax even once it has
 *                      detached; syscall(-1) untraced is ENOSYS
 *   noatime            a read through O_NOATIME, or on a noatime mount, leaves atime alone (in a
 *                      mount namespace of its own, so no mount outlives it)
 *   mountinfo_root     the root mount's parent in /proc/self/mountinfo is not itself (that is rootfs)
 *   proc_files         /proc/PID/io and a thread's, a thread's children, /proc/TID/task of a thread,
 *                      /proc/PID/task's link count,
 *                      /proc/devices, /proc/stat's softirq, /proc/sys/kernel/randomize_va_space
 *   proc_lifetime      /proc/PID files opened before the process ends show it when read: a zombie's
 *                      cmdline and maps are empty, Threads 1; once reaped, ESRCH; a pread from 0
 *                      reads anew; oom_score and coredump_filter exist; its task/ listed once reaped
 *                      ENOENT; its mem reads nothing (0) and cannot seek from the end (EINVAL);
 *                      maps opened by another uid without ptrace access: EACCES
 *   userns_capless     in a user namespace of its own, PR_SET_MM and mbind MPOL_MF_MOVE_ALL: EPERM
 *   chown_killpriv     chown drops a file's capabilities (security.capability)
 *   o_direct           O_DIRECT only where the file takes it: a regular file; a directory, a FIFO,
 *                      a device, a /proc file: EINVAL at open; F_SETFL O_DIRECT too (a pipe's
 *                      packet mode and a file opened with it aside; a memfd, a socket: EINVAL)
 *   nice_thread        nice is a thread's: setpriority(PRIO_PROCESS, tid) and a thread's own change
 *                      leave the others alone; PRIO_PGRP reads the best of all threads; a fork
 *                      takes its thread's; reset-on-fork keeps SCHED_BATCH but not a negative nice
 *   mounts_poll        /proc/self/mounts and mountinfo poll: EPOLLERR|EPOLLPRI once after a mount, a
 *                      remount, a move or an umount (in a mount namespace of its own); a
 *                      description opened before unshare(CLONE_NEWNS) watches the old namespace
 *   sys_net            /proc/sys/net in a network namespace of its own: core/somaxconn and the ipv4 and
 *                      ipv6 sysctls read Linux's defaults, take writes (ip_forward, tcp_sack,
 *                      ip_local_port_range; a backward range is EINVAL)
 *   tmpfs_pages        a tmpfs's size= counts pages written or fallocated, not file sizes: a sparse
 *                      ftruncate past it works, a write stops short at the limit (then ENOSPC),
 *                      fallocate and a long symlink (> 127 bytes) are ENOSPC, freeing gives room back
 *   nr_open            /proc/sys/fs/nr_open takes writes within its bounds (EINVAL outside; only its
 *                      own value is written back) and bounds RLIMIT_NOFILE (above: EPERM)
 *   xattr_perm         xattr_permission before the lookup: user.* follows the mode bits (EACCES;
 *                      listing needs none), is EPERM to change on a symlink (ENODATA to read);
 *                      trusted.* without CAP_SYS_ADMIN is EPERM to change, ENODATA to read
 *   hostname_poll      epoll on /proc/sys/kernel/hostname reports its change once (EPOLLERR), to
 *                      every watcher (in a UTS namespace of its own: the host's name stays)
 *   vma_anon_name      PR_SET_VMA_ANON_NAME names anonymous memory in maps ([anon:X], [anon_shmem:X]);
 *                      a file mapping EBADF, a bad character EINVAL, NULL removes the name
 *   vdso_buffer        the vDSO's bytes as a syscall's buffer: write, writev (ld.so prints its name
 *                      from there for ldd), a path, a pipe's contents read back
 *   proc_personality   /proc/self/personality follows personality(2), mode 0400 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/epoll.h>
#include <linux/aio_abi.h>
#include <linux/sched.h>
#include <sched.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/auxv.h>
#include <sys/personality.h>
#include <sys/ioctl.h>
#include <stddef.h>
#include <sys/ptrace.h>
#include <sys/user.h>
#include <termios.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <linux/prctl.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/sendfile.h>
#include <sys/mount.h>
#include <sys/msg.h>
#include <sys/shm.h>
#include <sys/socket.h>
#include <linux/sockios.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

static const char *err(long r) { return r < 0 ? strerrorname_np(errno) : "ok"; }
static char *self_path;

/* Run in the exec'd image: what it runs as. */
static int report_ids(void)
{
    uid_t r, e, s;
    gid_t gr, ge, gs;
    getresuid(&r, &e, &s);
    getresgid(&gr, &ge, &gs);
    printf("  uids %u %u %u gids %u %u %u secure %lu dumpable %d\n", r, e, s, gr, ge, gs,
           getauxval(AT_SECURE), prctl(PR_GET_DUMPABLE));
    fflush(stdout);
    return 0;
}

/* A copy of this program with mode ``mode`` (made by root, so owned by uid 0 and gid 0). */
static void copy_self(const char *to, mode_t mode)
{
    int in = open("/proc/self/exe", O_RDONLY), out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0700);
    struct stat st;
    fstat(in, &st);
    sendfile(out, in, NULL, st.st_size);
    fchmod(out, mode);
    close(in);
    close(out);
}

/* A child that drops to uid 65534 (and gid 65534 with ``drop_gid``) and execs ``path``. */
static void run_dropped(const char *path, int drop_gid)
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        if (drop_gid && setresgid(65534, 65534, 65534) < 0) _exit(10);
        if (setresuid(65534, 65534, 65534) < 0) _exit(11);
        execl(path, path, "report_ids", (char *)NULL);
        _exit(12);
    }
    int status;
    waitpid(pid, &status, 0);
    printf("  status %d\n", status);
}

static int suid_exec(void)
{
    const char *p = "/tmp/gvt_more_suid";
    copy_self(p, 04755);
    printf("set-user-ID root file run by uid 65534:\n");
    run_dropped(p, 1);
    chmod(p, 0755);
    printf("the same without the bit:\n");
    run_dropped(p, 1);
    unlink(p);
    return 0;
}

static int sgid_exec(void)
{
    const char *p = "/tmp/gvt_more_sgid";
    copy_self(p, 02755);
    printf("set-group-ID root file run by uid and gid 65534:\n");
    run_dropped(p, 1);
    chmod(p, 02745);
    printf("the same, not group-executable:\n");
    run_dropped(p, 1);
    unlink(p);
    return 0;
}

static int exec_saved_ids(void)
{
    pid_t pid = fork();
    if (pid == 0) {
        setresgid(-1, -1, 1234);
        setresuid(-1, -1, 1234);
        execl(self_path, self_path, "report_ids", (char *)NULL);
        _exit(12);
    }
    int status;
    waitpid(pid, &status, 0);
    printf("status %d\n", status);
    return 0;
}

/* execveat in a child; prints the errno it failed with. */
static void try_execveat(const char *what, int dirfd, const char *path, int flags)
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        char *argv[] = {(char *)path, "report_ids", NULL}, *envp[] = {NULL};
        long r = syscall(SYS_execveat, dirfd, path, argv, envp, flags);
        printf("%s: %ld %s\n", what, r, err(r));
        fflush(stdout);
        _exit(0);
    }
    int status;
    waitpid(pid, &status, 0);
}

static int execveat_nofollow(void)
{
    const char *l = "/tmp/gvt_more_link";
    unlink(l);
    symlink(self_path, l);
    try_execveat("absolute symlink, AT_SYMLINK_NOFOLLOW", AT_FDCWD, l, AT_SYMLINK_NOFOLLOW);
    int dir = open("/tmp", O_DIRECTORY | O_RDONLY);
    try_execveat("relative symlink, AT_SYMLINK_NOFOLLOW", dir, "gvt_more_link", AT_SYMLINK_NOFOLLOW);
    try_execveat("relative symlink, followed", dir, "gvt_more_link", 0);
    unlink(l);
    return 0;
}

static int execveat_cloexec(void)
{
    const char *s = "/tmp/gvt_more_script.sh";
    int fd = open(s, O_WRONLY | O_CREAT | O_TRUNC, 0755);
    dprintf(fd, "#!/bin/sh\necho script ran\n");
    close(fd);
    int plain = open(s, O_RDONLY), cloexec = open(s, O_RDONLY | O_CLOEXEC);
    try_execveat("script by a close-on-exec descriptor", cloexec, "", AT_EMPTY_PATH);
    try_execveat("script by a descriptor", plain, "", AT_EMPTY_PATH);
    int dir = open("/tmp", O_DIRECTORY | O_RDONLY | O_CLOEXEC);
    try_execveat("script by name in a close-on-exec directory", dir, "gvt_more_script.sh", 0);
    unlink(s);
    return 0;
}

/* The line of /proc/self/maps that contains ``addr`` (without its newline), and how many lines
 * name ``name``. */
static int maps_line(unsigned long addr, char *out, size_t n, const char *name, int *named)
{
    FILE *f = fopen("/proc/self/maps", "r");
    char line[512];
    int found = 0;
    *named = 0;
    while (fgets(line, sizeof line, f)) {
        unsigned long lo, hi;
        line[strcspn(line, "\n")] = 0;
        if (strstr(line, name)) {
            ++*named;
            if (!strcmp(name, "[stack]"))
                printf("[stack] at column %ld\n", (long)(strstr(line, name) - line));
        }
        if (sscanf(line, "%lx-%lx", &lo, &hi) == 2 && lo <= addr && addr < hi && !found) {
            snprintf(out, n, "%s", line);
            found = 1;
        }
    }
    fclose(f);
    return found;
}

static int maps_merged(void)
{
    char *r = mmap(NULL, 4 * 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    for (int i = 1; i < 3; i++)   /* two separate mappings side by side, one touched */
        mmap(r + i * 4096, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    r[4096] = 1;
    for (int i = 0; i < 8; i++)   /* brk's growth, a page at a time */
        *(char *)sbrk(4096) = 1;
    char line[512];
    int heaps, stacks;
    maps_line((unsigned long)r + 4096, line, sizeof line, "[heap]", &heaps);
    unsigned long lo, hi;
    sscanf(line, "%lx-%lx", &lo, &hi);
    printf("two adjacent mappings: one line of %lu pages from the first, ends in a space %d\n",
           (hi - lo) / 4096, line[strlen(line) - 1] == ' ');
    maps_line((unsigned long)r, line, sizeof line, "[stack]", &stacks);
    printf("[heap] lines %d, [stack] lines %d\n", heaps, stacks);
    return 0;
}

static int ptrace_sigmask(void)
{
    pid_t pid = fork();
    if (pid == 0) {
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, SIGUSR1);
        sigprocmask(SIG_BLOCK, &set, NULL);
        ptrace(PTRACE_TRACEME, 0, 0, 0);
        raise(SIGSTOP);
        sigprocmask(SIG_BLOCK, NULL, &set);
        _exit(sigismember(&set, SIGUSR2) * 10 + sigismember(&set, SIGUSR1));
    }
    int status;
    waitpid(pid, &status, 0);
    unsigned long mask = 0;
    long r = ptrace(PTRACE_GETSIGMASK, pid, 8, &mask);
    printf("GETSIGMASK: %ld %s, SIGUSR1 blocked %d\n", r, err(r), !!(mask & (1UL << (SIGUSR1 - 1))));
    r = ptrace(PTRACE_GETSIGMASK, pid, 4, &mask);
    printf("GETSIGMASK of size 4: %ld %s\n", r, err(r));
    r = ptrace(PTRACE_SETSIGMASK, pid, 8, (void *)-1);
    printf("SETSIGMASK from a bad address: %ld %s\n", r, err(r));
    mask = (1UL << (SIGUSR2 - 1)) | (1UL << (SIGKILL - 1));
    r = ptrace(PTRACE_SETSIGMASK, pid, 8, &mask);
    ptrace(PTRACE_GETSIGMASK, pid, 8, &mask);
    printf("SETSIGMASK: %ld %s, now SIGKILL %d SIGUSR2 %d\n", r, err(r), !!(mask & (1UL << (SIGKILL - 1))),
           !!(mask & (1UL << (SIGUSR2 - 1))));
    ptrace(PTRACE_CONT, pid, 0, 0);
    waitpid(pid, &status, 0);
    printf("the tracee saw SIGUSR2 blocked, SIGUSR1 not: exit %d\n", WEXITSTATUS(status));
    return 0;
}

static int open_pty(int *replica)
{
    int m = posix_openpt(O_RDWR | O_NOCTTY | O_NONBLOCK);
    grantpt(m);
    unlockpt(m);
    *replica = open(ptsname(m), O_RDWR | O_NOCTTY | O_NONBLOCK);
    return m;
}

static int pty_packet_flush(void)
{
    int s, m = open_pty(&s), on = 1;
    ioctl(m, TIOCPKT, &on);
    int queues[] = {TCIFLUSH, TCOFLUSH, TCIOFLUSH};
    for (int i = 0; i < 3; i++) {
        ioctl(s, TCFLSH, queues[i]);
        struct pollfd p = {m, POLLIN | POLLPRI, 0};
        int n = poll(&p, 1, 0);
        unsigned char c = 0xff;
        long r = read(m, &c, 1);
        printf("replica flush %d: poll %d revents %x, read %ld status %x\n", queues[i], n, p.revents, r, c);
    }
    ioctl(m, TCFLSH, TCIOFLUSH);
    struct pollfd p = {m, POLLIN | POLLPRI, 0};
    printf("master flush: poll %d\n", poll(&p, 1, 0));
    return 0;
}

static int pty_canon_switch(void)
{
    int s, m = open_pty(&s);
    struct termios t;
    tcgetattr(s, &t);
    t.c_lflag &= ~(ICANON | ECHO);
    tcsetattr(s, TCSANOW, &t);
    char buf[8192];
    memset(buf, 'M', 4100);
    printf("written: %ld\n", (long)write(m, buf, 4100));
    /* Linux moves input to the replica in a worker, a chunk at a time: wait for all of it (poll is
     * ready at the first chunk, so the bound is time, 20 s, not a number of polls) */
    int queued = 0;
    struct timespec t0, now;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        ioctl(s, FIONREAD, &queued);
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (queued >= 4095 || now.tv_sec - t0.tv_sec > 20)
            break;
        struct timespec pause = {0, 1000000};
        nanosleep(&pause, NULL);
    }
    t.c_lflag |= ICANON;
    tcsetattr(s, TCSANOW, &t);
    long r = read(s, buf, sizeof buf);
    printf("the line: %ld\n", r);
    r = read(s, buf, sizeof buf);
    printf("then: %ld %s\n", r, err(r));
    t.c_iflag |= IUTF8;
    tcsetattr(s, TCSANOW, &t);
    tcflush(s, TCIFLUSH);
    write(m, "\x80\x7f\n", 3);
    struct pollfd p = {s, POLLIN, 0};
    poll(&p, 1, 5000);
    r = read(s, buf, sizeof buf);
    printf("IUTF8, a continuation byte then backspace: %ld bytes, first %02x\n", r, (unsigned char)buf[0]);
    return 0;
}

static int pty_hup_pollout(void)
{
    int s, m = open_pty(&s);
    fflush(stdout);
    if (fork() == 0) {
        setsid();
        ioctl(s, TIOCSCTTY, 0);
        long r = ioctl(m, TIOCNOTTY);
        printf("TIOCNOTTY through the master: %ld %s\n", r, err(r));
        fflush(stdout);
        _exit(0);
    }
    int st;
    wait(&st);
    printf("the session leader survived: %d\n", WIFEXITED(st));
    close(s);
    struct pollfd p = {m, POLLIN | POLLOUT | POLLRDHUP | POLLRDNORM | POLLWRNORM, 0};
    int n = poll(&p, 1, 0);
    printf("replica closed: poll %d revents %x\n", n, p.revents);
    return 0;
}

static long statm_resident_kb(void)
{
    long size = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    fscanf(f, "%ld %ld", &size, &resident);
    fclose(f);
    return resident * 4;
}

static void touch(size_t mb)
{
    char *m = mmap(NULL, mb << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    memset(m, 1, mb << 20);
}

static int rusage_maxrss(void)
{
    struct rusage ru;
    long before = statm_resident_kb();
    mmap(NULL, 100 << 20, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
    printf("100 MiB of PROT_NONE mapped: resident grew under 10 MiB %d\n", statm_resident_kb() - before < 10240);
    before = statm_resident_kb();
    mmap(NULL, 32 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
    printf("32 MiB writable MAP_POPULATE: resident grew by it %d\n", statm_resident_kb() - before >= 30 * 1024);
    touch(8);
    getrusage(RUSAGE_SELF, &ru);
    printf("8 MiB touched: ru_maxrss >= 8 MiB %d, statm resident >= 8 MiB %d\n", ru.ru_maxrss >= 8192,
           statm_resident_kb() >= 8192);
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        touch(32);
        _exit(0);
    }
    int status;
    wait4(pid, &status, 0, &ru);
    printf("a child that touched 32 MiB: wait4's ru_maxrss >= 32 MiB %d\n", ru.ru_maxrss >= 32768);
    getrusage(RUSAGE_CHILDREN, &ru);
    printf("RUSAGE_CHILDREN's ru_maxrss >= 32 MiB %d\n", ru.ru_maxrss >= 32768);
    /* (Not our own below 32 MiB: it keeps the high-water mark of what we were before execve,
     * natively a fork of the test runner.) */
    return 0;
}

static void *sleep_then_exit(void *a)
{
    for (int i = 0; i < 30; i++)
        usleep(20000);
    exit(11);
}

static int stop_all_threads(void)
{
    int p[2];
    pipe(p);
    pid_t pid = fork();
    if (pid == 0) {
        pthread_t t;
        pthread_create(&t, NULL, sleep_then_exit, NULL);
        write(p[1], "x", 1);
        for (int i = 0; i < 60; i++)
            usleep(20000);
        exit(10);
    }
    char c;
    read(p[0], &c, 1);
    kill(pid, SIGSTOP);
    int st;
    waitpid(pid, &st, WUNTRACED);
    printf("stopped %d\n", WIFSTOPPED(st));
    usleep(1000000);   /* long past the thread's own 0.6 s */
    int r = waitpid(pid, &st, WNOHANG);
    printf("still there while stopped: %d\n", r == 0);
    kill(pid, SIGCONT);
    waitpid(pid, &st, 0);
    printf("exited after SIGCONT: %d\n", WIFEXITED(st));
    return 0;
}

static int stop_nanosleep(void)
{
    int p[2];
    pipe(p);
    pid_t pid = fork();
    if (pid == 0) {
        struct timespec ts = {1, 500000000}, a, b;
        clock_gettime(CLOCK_MONOTONIC, &a);
        write(p[1], "x", 1);
        nanosleep(&ts, NULL);
        clock_gettime(CLOCK_MONOTONIC, &b);
        double d = b.tv_sec - a.tv_sec + (b.tv_nsec - a.tv_nsec) / 1e9;
        _exit(d < 1.5 ? 1 : d < 2.5 ? 2 : 3);   /* 2: the first deadline, 3: slept anew */
    }
    char c;
    read(p[0], &c, 1);
    usleep(300000);
    kill(pid, SIGSTOP);
    int st;
    waitpid(pid, &st, WUNTRACED);
    usleep(1000000);
    kill(pid, SIGCONT);
    waitpid(pid, &st, 0);
    printf("nanosleep stopped midway: %d (2: ended at its deadline)\n", WEXITSTATUS(st));
    return 0;
}

static int process_vm_empty(void)
{
    char buf[16] = "remote", empty[1];
    struct iovec none = {empty, 0}, some = {buf, sizeof buf};
    long r = process_vm_writev(getpid(), &none, 1, &some, 1, 0);
    printf("writev of an empty local iovec: %ld %s\n", r, err(r));
    r = process_vm_readv(getpid(), &none, 1, &some, 1, 0);
    printf("readv into an empty local iovec: %ld %s\n", r, err(r));
    r = process_vm_readv(getpid(), &none, 1, (struct iovec *)8, 1, 0);
    printf("and a bad remote iovec array: %ld %s\n", r, err(r));
    return 0;
}

static int pidfd_checks(void)
{
    char *ro = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    struct clone_args ca = {.flags = CLONE_PIDFD, .exit_signal = SIGCHLD, .pidfd = (unsigned long)ro};
    fflush(stdout);
    long r = syscall(SYS_clone3, &ca, sizeof ca);
    if (r == 0)
        _exit(0);
    const char *e = err(r);
    printf("clone3 with a read-only pidfd address: %ld %s, a child made %d\n", r < 0 ? -1 : r, e,
           waitpid(-1, NULL, WNOHANG) != -1);
    int pidfd = -1;
    ca.pidfd = (unsigned long)&pidfd;
    pid_t child = syscall(SYS_clone3, &ca, sizeof ca);
    if (child == 0)
        _exit(0);
    siginfo_t si;
    waitid(P_PID, child, &si, WEXITED | WNOWAIT);
    r = setns(pidfd, CLONE_NEWNET);
    printf("setns through a zombie's pidfd: %ld %s\n", r, err(r));
    waitpid(child, NULL, 0);
    int self = syscall(SYS_pidfd_open, getpid(), 0);
    fflush(stdout);
    if (fork() == 0) {
        unshare(CLONE_NEWUSER);
        long g = syscall(SYS_pidfd_getfd, self, 0, 0);
        printf("from a new user namespace, pidfd_getfd: %d %s\n", g < 0 ? -1 : 0, err(g));
        g = setns(self, CLONE_NEWUTS);
        printf("from a new user namespace, setns: %ld %s\n", g, err(g));
        fflush(stdout);
        _exit(0);
    }
    wait(NULL);
    return 0;
}

static volatile int sigio_count;
static void on_sigio(int sig) { sigio_count++; }

static int socket_owner(void)
{
    int sv[2], get = -1, on = 1, bad = 999999;
    socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv);
    long r = ioctl(sv[1], FIOGETOWN, &get);
    printf("FIOGETOWN of a new socket: %ld %s owner %d\n", r, err(r), get);
    signal(SIGIO, on_sigio);
    ioctl(sv[1], FIOASYNC, &on);
    pid_t me = getpid();
    r = ioctl(sv[1], FIOSETOWN, &me);
    ioctl(sv[1], SIOCGPGRP, &get);
    printf("FIOSETOWN self: %ld %s, SIOCGPGRP gives us %d\n", r, err(r), get == me);
    write(sv[0], "abc", 3);
    printf("SIGIO after a write to the peer: %d\n", sigio_count);
    r = ioctl(sv[1], SIOCSPGRP, &bad);
    printf("SIOCSPGRP of no such process: %ld %s\n", r, err(r));
    int p[2];
    pipe(p);
    r = ioctl(p[0], FIOSETOWN, &me);
    printf("FIOSETOWN on a pipe: %ld %s\n", r, err(r));
    return 0;
}

static long aio_submit_one(aio_context_t ctx, int opcode, int fd, void *buf, long n, long off)
{
    struct iocb cb = {.aio_lio_opcode = opcode, .aio_fildes = fd, .aio_buf = (unsigned long)buf,
                      .aio_nbytes = n, .aio_offset = off, .aio_data = 7};
    struct iocb *cbs[1] = {&cb};
    return syscall(SYS_io_submit, ctx, 1, cbs);
}

static int aio_ring(void)
{
    aio_context_t ctx = 0;
    syscall(SYS_io_setup, 8, &ctx);
    int fd = open("/proc/self/exe", O_RDONLY);
    char buf[16];
    struct iovec bad = {(void *)0xFFFFFFFF00000000UL, 1};
    long r = aio_submit_one(ctx, IOCB_CMD_PREADV, fd, &bad, 1, 0);
    printf("io_submit, an iovec in kernel space: %ld %s\n", r, err(r));
    r = aio_submit_one(ctx, IOCB_CMD_PREAD, fd, buf, sizeof buf, -1);
    printf("io_submit, a negative offset: %ld %s\n", r, err(r));
    char *dst = mmap(NULL, 3 * 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    r = (long)mremap((void *)ctx, 4096, 8192, MREMAP_MAYMOVE | MREMAP_FIXED, dst);
    printf("mremap growing the ring: %s\n", r == -1 ? strerrorname_np(errno) : "moved");
    r = (long)mremap((void *)ctx, 4096, 4096, MREMAP_MAYMOVE | MREMAP_FIXED, dst + 8192);
    printf("mremap moving it: %d\n", r == (long)(dst + 8192));
    r = aio_submit_one(ctx, IOCB_CMD_PREAD, fd, buf, sizeof buf, 0);
    printf("io_submit with the old address: %ld %s\n", r, err(r));
    aio_context_t moved = (aio_context_t)(dst + 8192);
    r = aio_submit_one(moved, IOCB_CMD_PREAD, fd, buf, sizeof buf, 0);
    struct io_event ev;
    long g = syscall(SYS_io_getevents, moved, 1, 1, &ev, NULL);
    printf("with the new one: %ld %s, an event %ld with data %lld\n", r, err(r), g, (long long)ev.data);
    mprotect((void *)moved, 4096, PROT_NONE);
    struct timespec zero = {0, 0};
    g = syscall(SYS_io_getevents, moved, 0, 1, &ev, &zero);
    printf("io_getevents once the ring is PROT_NONE: %ld %s\n", g, err(g));
    g = syscall(SYS_io_destroy, moved);
    printf("io_destroy then: %ld %s\n", g, err(g));
    return 0;
}

static void on_alarm(int sig) {}

static int fifo_open_blocks(void)
{
    const char *p = "/tmp/gvt_more_fifo";
    unlink(p);
    mkfifo(p, 0600);
    struct sigaction sa = {.sa_handler = on_alarm};
    sigaction(SIGALRM, &sa, NULL);
    struct itimerval it = {{0, 0}, {0, 200000}};
    setitimer(ITIMER_REAL, &it, NULL);
    int fd = open(p, O_WRONLY);
    printf("O_WRONLY, no reader, a signal: %d %s\n", fd < 0 ? -1 : 0, err(fd));
    setitimer(ITIMER_REAL, &it, NULL);
    fd = open(p, O_RDONLY);
    printf("O_RDONLY, no writer, a signal: %d %s\n", fd < 0 ? -1 : 0, err(fd));
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        int w = open(p, O_WRONLY);   /* waits for the reader below */
        write(w, "x", 1);
        _exit(0);
    }
    fd = open(p, O_RDONLY);
    char c = '?';
    long n = read(fd, &c, 1);
    printf("O_RDONLY with a writer coming: %d, read %ld '%c'\n", fd < 0 ? -1 : 0, n, c);
    waitpid(pid, NULL, 0);
    unlink(p);
    setpriority(PRIO_PROCESS, 0, 7);
    FILE *f = fopen("/proc/self/stat", "r");
    char buf[1024];
    fgets(buf, sizeof buf, f);
    char *q = strrchr(buf, ')');
    long prio = 0, nice = 0;
    sscanf(q + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %ld %ld", &prio, &nice);
    printf("/proc/self/stat after nice 7: priority %ld nice %ld\n", prio, nice);
    return 0;
}

static int shm_attach(void)
{
    int id = shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0600);
    char *r = mmap(NULL, 2 * 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    munmap(r, 2 * 4096);
    char *a = shmat(id, r, 0), *b = shmat(id, r + 4096, 0);
    struct shmid_ds ds;
    shmctl(id, IPC_STAT, &ds);
    printf("attached side by side: %d %d, nattch %ld\n", a == r, b == r + 4096, (long)ds.shm_nattch);
    shmdt(a);
    shmctl(id, IPC_STAT, &ds);
    printf("one detached: nattch %ld\n", (long)ds.shm_nattch);
    char *ro = shmat(id, NULL, SHM_RDONLY);
    long m = mprotect(ro, 4096, PROT_READ | PROT_WRITE);
    printf("mprotect PROT_WRITE of a read-only attachment: %ld %s\n", m, err(m));
    shmctl(id, IPC_RMID, NULL);
    return 0;
}

static int msg_copy_small(void)
{
    int q = msgget(IPC_PRIVATE, IPC_CREAT | 0600);
    struct { long type; char text[64]; } m = {1, "a message of some length"}, out;
    msgsnd(q, &m, strlen(m.text) + 1, 0);
    long r = msgrcv(q, &out, 4, 0, MSG_COPY | IPC_NOWAIT | MSG_NOERROR);
    printf("MSG_COPY|MSG_NOERROR into 4 bytes: %ld %s\n", r, err(r));
    r = msgrcv(q, &out, 4, 0, IPC_NOWAIT | MSG_NOERROR);
    printf("a plain MSG_NOERROR receive: %ld %s\n", r, err(r));
    msgctl(q, IPC_RMID, NULL);
    return 0;
}

static int dev_lseek(void)
{
    const char *devs[] = {"/dev/null", "/dev/zero", "/dev/urandom"};
    for (int i = 0; i < 3; i++) {
        int fd = open(devs[i], O_RDONLY);
        long a = lseek(fd, -10, SEEK_CUR), b = lseek(fd, -10, SEEK_SET), c = lseek(fd, 100, SEEK_END);
        printf("%s: %ld %ld %ld\n", devs[i], a, b, c);
        close(fd);
    }
    return 0;
}

static int ptrace_listen(void)
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0)
        for (;;)
            pause();
    int st;
    ptrace(PTRACE_SEIZE, pid, 0, 0);
    ptrace(PTRACE_INTERRUPT, pid, 0, 0);
    waitpid(pid, &st, 0);
    printf("interrupted: %x\n", st >> 8);
    kill(pid, SIGSTOP);
    ptrace(PTRACE_CONT, pid, 0, 0);
    waitpid(pid, &st, 0);
    printf("SIGSTOP's delivery stop: %x\n", st >> 8);
    ptrace(PTRACE_CONT, pid, 0, SIGSTOP);
    waitpid(pid, &st, 0);
    printf("its group stop: %x\n", st >> 8);
    ptrace(PTRACE_LISTEN, pid, 0, 0);
    kill(pid, SIGTERM);
    printf("still there: %d\n", waitpid(pid, &st, WNOHANG) == 0);
    kill(pid, SIGCONT);
    waitpid(pid, &st, 0);
    printf("continued, the LISTEN trap: %x\n", st >> 8);
    ptrace(PTRACE_DETACH, pid, 0, 0);
    waitpid(pid, &st, 0);
    printf("detached: killed by signal %d\n", WIFSIGNALED(st) ? WTERMSIG(st) : 0);
    return 0;
}

static int sysemu_detach(void)
{
    long r = syscall(-1);
    printf("syscall(-1): %ld %s\n", r, err(r));
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        ptrace(PTRACE_TRACEME, 0, 0, 0);
        raise(SIGSTOP);
        long rv = syscall(SYS_exit_group, 3);   /* skipped: it returns the tracer's value */
        _exit(rv == 1234 ? 0 : 4);
    }
    int st;
    waitpid(pid, &st, 0);
    ptrace(PTRACE_SYSEMU, pid, 0, 0);
    waitpid(pid, &st, 0);
    struct user_regs_struct regs;
    ptrace(PTRACE_GETREGS, pid, 0, &regs);
    printf("SYSEMU stop at exit_group: %d\n", regs.orig_rax == SYS_exit_group);
    ptrace(PTRACE_POKEUSER, pid, offsetof(struct user_regs_struct, rax), 1234);
    ptrace(PTRACE_DETACH, pid, 0, 0);
    waitpid(pid, &st, 0);
    printf("the child saw the tracer's return value: exit %d\n", WEXITSTATUS(st));
    return 0;
}

/* Read ``path`` (opened with ``flags``) after setting its atime in the past: did atime move? */
static int atime_moves(const char *path, int flags)
{
    struct timespec old[2] = {{1000000, 0}, {0, UTIME_OMIT}};
    utimensat(AT_FDCWD, path, old, 0);
    int fd = open(path, O_RDONLY | flags);
    char c;
    read(fd, &c, 1);
    close(fd);
    struct stat st;
    stat(path, &st);
    return st.st_atime != 1000000;
}

static int noatime(void)
{
    const char *f = "/tmp/gvt_more_atime";
    int fd = open(f, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    write(fd, "data", 4);
    close(fd);
    printf("a plain read moves atime: %d\n", atime_moves(f, 0));
    printf("an O_NOATIME read: %d\n", atime_moves(f, O_NOATIME));
    unlink(f);
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
            _exit(1);
        mkdir("/tmp/gvt_more_mnt", 0755);
        if (mount("none", "/tmp/gvt_more_mnt", "tmpfs", MS_NOATIME, NULL) < 0)
            _exit(2);
        fd = open("/tmp/gvt_more_mnt/f", O_WRONLY | O_CREAT, 0644);
        write(fd, "data", 4);
        close(fd);
        printf("a read on a noatime mount: %d\n", atime_moves("/tmp/gvt_more_mnt/f", 0));
        mount(NULL, "/tmp/gvt_more_mnt", NULL, MS_REMOUNT | MS_STRICTATIME, NULL);
        printf("and once remounted strictatime: %d\n", atime_moves("/tmp/gvt_more_mnt/f", 0));
        umount("/tmp/gvt_more_mnt");
        mount("none", "/tmp/gvt_more_mnt", "tmpfs", MS_NOATIME | MS_STRICTATIME, NULL);
        fd = open("/tmp/gvt_more_mnt/f", O_WRONLY | O_CREAT, 0644);
        write(fd, "data", 4);
        close(fd);
        printf("noatime with strictatime: %d\n", atime_moves("/tmp/gvt_more_mnt/f", 0));
        fflush(stdout);
        _exit(0);
    }
    int st;
    waitpid(pid, &st, 0);
    rmdir("/tmp/gvt_more_mnt");
    printf("child status %d\n", WEXITSTATUS(st));
    return 0;
}

static int mountinfo_root(void)
{
    FILE *f = fopen("/proc/self/mountinfo", "r");
    char line[1024], where[512];
    int id, parent;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "%d %d %*s %*s %511s", &id, &parent, where) == 3 && !strcmp(where, "/"))
            printf("the root mount is its own parent: %d\n", id == parent);
    return 0;
}

/* syscw and wchar of an io file. */
static void io_counts(const char *path, long *syscw, long *wchar)
{
    FILE *f = fopen(path, "r");
    char key[64];
    long v;
    while (fscanf(f, "%63[^:]: %ld\n", key, &v) == 2) {
        if (!strcmp(key, "syscw")) *syscw = v;
        if (!strcmp(key, "wchar")) *wchar = v;
    }
    fclose(f);
}

static int io_pipe[2];
static char thread_io[64];
static long task_links;
static void *writer_thread(void *a)
{
    struct stat st;
    stat("/proc/self/task", &st);
    task_links = st.st_nlink;
    char path[64], buf[10] = {0};
    snprintf(path, sizeof path, "/proc/self/task/%d/io", (int)gettid());
    for (int i = 0; i < 5; i++)
        write(io_pipe[1], buf, sizeof buf);
    long calls = 0, bytes = 0;
    io_counts(path, &calls, &bytes);
    snprintf(thread_io, sizeof thread_io, "syscw %ld wchar %ld", calls, bytes);
    char task[64];
    snprintf(task, sizeof task, "/proc/%d/task/%d", (int)gettid(), (int)gettid());
    printf("/proc/TID/task/TID of a thread: %d\n", access(task, F_OK) == 0);
    return NULL;
}

static int file_has(const char *path, const char *what)
{
    char buf[8192] = {0};
    int fd = open(path, O_RDONLY);
    read(fd, buf, sizeof buf - 1);
    close(fd);
    return strstr(buf, what) != NULL;
}

static int proc_files(void)
{
    pipe(io_pipe);
    long c0 = 0, w0 = 0, c1 = 0, w1 = 0;
    io_counts("/proc/self/io", &c0, &w0);
    char buf[100] = {0};
    for (int i = 0; i < 3; i++)
        write(io_pipe[1], buf, sizeof buf);
    io_counts("/proc/self/io", &c1, &w1);
    printf("three writes of 100 bytes: syscw +%ld, wchar +%ld\n", c1 - c0, w1 - w0);
    pthread_t t;
    struct stat st;
    stat("/proc/self/task", &st);
    pthread_create(&t, NULL, writer_thread, NULL);
    pthread_join(t, NULL);
    printf("/proc/self/task links: at least 3 %d, one more with a thread %d\n", st.st_nlink >= 3,
           task_links == st.st_nlink + 1);
    printf("a thread's five writes of 10 bytes, in its own io: %s\n", thread_io);
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        read(io_pipe[0], buf, 1);
        _exit(0);
    }
    char path[64], want[32];
    snprintf(path, sizeof path, "/proc/self/task/%d/children", (int)getpid());
    snprintf(want, sizeof want, "%d ", (int)pid);
    printf("our thread's children name the child: %d\n", file_has(path, want));
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    printf("/proc/devices: %d %d\n", file_has("/proc/devices", "Character devices:\n"),
           file_has("/proc/devices", "\n  1 mem\n"));
    printf("/proc/stat has softirq: %d\n", file_has("/proc/stat", "\nsoftirq "));
    FILE *f = fopen("/proc/sys/kernel/randomize_va_space", "r");
    int v = -1;
    if (f) fscanf(f, "%d", &v);
    printf("randomize_va_space between 0 and 2: %d\n", v >= 0 && v <= 2);
    return 0;
}

static long read_at0(int fd, char *buf, size_t n)
{
    long r = pread(fd, buf, n - 1, 0);
    buf[r > 0 ? r : 0] = 0;
    return r;
}

static int proc_lifetime(void)
{
    int p[2];
    pipe(p);
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        char c;
        close(p[1]);
        read(p[0], &c, 1);
        _exit(0);
    }
    char path[64], buf[4096];
    const char *names[] = {"cmdline", "maps", "status", "stat", "comm"};
    int fds[5];
    for (int i = 0; i < 5; i++) {
        snprintf(path, sizeof path, "/proc/%d/%s", (int)pid, names[i]);
        fds[i] = open(path, O_RDONLY);
    }
    snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
    int taskdir = open(path, O_RDONLY | O_DIRECTORY);
    snprintf(path, sizeof path, "/proc/%d/mem", (int)pid);
    int mem = open(path, O_RDONLY);
    long e = lseek(mem, 0, SEEK_END);
    printf("mem SEEK_END: %ld %s\n", e, err(e));
    snprintf(path, sizeof path, "/proc/%d/exe", (int)pid);
    close(p[1]);
    siginfo_t si;
    waitid(P_PID, pid, &si, WEXITED | WNOWAIT);
    printf("zombie: cmdline %ld bytes, maps %ld bytes\n", read_at0(fds[0], buf, sizeof buf),
           read_at0(fds[1], buf, sizeof buf));
    read_at0(fds[2], buf, sizeof buf);
    char *t = strstr(buf, "Threads:");
    if (t)
        t[strcspn(t, "\n")] = 0;
    printf("zombie status %s\n", t ? t : "(no Threads)");
    long r = readlink(path, buf, sizeof buf);
    printf("zombie exe: %ld %s\n", r < 0 ? -1 : 0, err(r));
    waitpid(pid, NULL, 0);
    long g = syscall(SYS_getdents64, taskdir, buf, sizeof buf);
    printf("reaped, getdents of its task/: %ld %s\n", g < 0 ? -1 : 0, err(g));
    g = pread(mem, buf, 8, (long)&proc_lifetime);
    printf("reaped, its mem: %ld %s\n", g, err(g));
    for (int i = 2; i < 5; i++) {
        r = read_at0(fds[i], buf, sizeof buf);
        printf("reaped, %s: %ld %s\n", names[i], r < 0 ? -1 : 0, err(r));
    }
    int io = open("/proc/self/io", O_RDONLY);
    long a = 0, b = 0;
    read_at0(io, buf, sizeof buf);
    sscanf(buf, "rchar: %ld", &a);
    read_at0(io, buf, sizeof buf);
    sscanf(buf, "rchar: %ld", &b);
    printf("a second pread from 0 reads anew: %d\n", b > a);
    printf("oom_score and coredump_filter: %d %d\n", access("/proc/self/oom_score", R_OK) == 0,
           file_has("/proc/self/coredump_filter", "00000033"));
    fflush(stdout);
    pid_t parent = getpid();
    if (fork() == 0) {
        setuid(65534);
        snprintf(path, sizeof path, "/proc/%d/maps", (int)parent);
        int fd = open(path, O_RDONLY);
        printf("uid 65534 opening root's maps: %d %s\n", fd < 0 ? -1 : 0, err(fd));
        fflush(stdout);
        _exit(0);
    }
    wait(NULL);
    return 0;
}

/* The name maps shows for the mapping that holds ``addr``. */
static void maps_name(const char *what, void *addr)
{
    char line[512];
    int n;
    maps_line((unsigned long)addr, line, sizeof line, "\001", &n);
    char *name = line;
    for (int field = 0; field < 5 && name; field++) {   /* past range, perms, offset, dev, inode */
        name = strchr(name, ' ');
        if (name) name++;
    }
    while (name && *name == ' ') name++;
    printf("%s: '%s'\n", what, name ? name : "");
}

static int vma_anon_name(void)
{
    char *r = mmap(NULL, 3 * 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    char *priv = mmap(r + 4096, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    long e = prctl(PR_SET_VMA, PR_SET_VMA_ANON_NAME, priv, 4096, "test");
    printf("named: %ld %s\n", e, err(e));
    maps_name("private", priv);
    prctl(PR_SET_VMA, PR_SET_VMA_ANON_NAME, priv, 4096, "");
    maps_name("empty name", priv);
    prctl(PR_SET_VMA, PR_SET_VMA_ANON_NAME, priv, 4096, NULL);
    maps_name("no name", priv);
    e = prctl(PR_SET_VMA, PR_SET_VMA_ANON_NAME, priv, 4096, "a[b");
    printf("a bad character: %ld %s\n", e, err(e));
    char *shared = mmap(NULL, 4096, PROT_READ, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    prctl(PR_SET_VMA, PR_SET_VMA_ANON_NAME, shared, 4096, "shm");
    maps_name("shared", shared);
    int fd = open("/proc/self/exe", O_RDONLY);
    char *file = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, fd, 0);
    e = prctl(PR_SET_VMA, PR_SET_VMA_ANON_NAME, file, 4096, "x");
    printf("a file mapping: %ld %s\n", e, err(e));
    return 0;
}

static int hostname_poll(void)
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        if (unshare(CLONE_NEWUTS) < 0)
            _exit(1);
        int fd1 = open("/proc/sys/kernel/hostname", O_RDONLY), fd2 = open("/proc/sys/kernel/hostname", O_RDONLY);
        int ep1 = epoll_create1(0), ep2 = epoll_create1(0);
        struct epoll_event ev = {0};
        long r = epoll_ctl(ep1, EPOLL_CTL_ADD, fd1, &ev);
        epoll_ctl(ep2, EPOLL_CTL_ADD, fd2, &ev);
        printf("epoll_ctl on the sysctl: %ld %s\n", r, err(r));
        printf("before a change: %d\n", epoll_wait(ep1, &ev, 1, 0));
        sethostname("gvt-more-test", 13);
        int n1 = epoll_wait(ep1, &ev, 1, 1000);
        printf("after: %d, EPOLLERR %d\n", n1, !!(ev.events & EPOLLERR));
        int n2 = epoll_wait(ep2, &ev, 1, 1000);
        printf("the other watcher: %d, EPOLLERR %d\n", n2, !!(ev.events & EPOLLERR));
        printf("again: %d %d\n", epoll_wait(ep1, &ev, 1, 0), epoll_wait(ep2, &ev, 1, 0));
        int st = open("/proc/self/stat", O_RDONLY);
        r = epoll_ctl(ep1, EPOLL_CTL_ADD, st, &ev);
        printf("epoll_ctl on /proc/self/stat: %ld %s\n", r, err(r));
        fflush(stdout);
        _exit(0);
    }
    int status;
    waitpid(pid, &status, 0);
    printf("child status %d\n", WEXITSTATUS(status));
    return 0;
}

static int userns_capless(void)
{
    fflush(stdout);
    if (fork() == 0) {
        unshare(CLONE_NEWUSER);
        long r = syscall(SYS_prctl, PR_SET_MM, 0, 0, 0, 0);
        printf("PR_SET_MM: %ld %s\n", r, err(r));
        r = syscall(SYS_mbind, 0, 0, 0, NULL, 0, 4 /* MPOL_MF_MOVE_ALL */);
        printf("mbind MPOL_MF_MOVE_ALL: %ld %s\n", r, err(r));
        fflush(stdout);
        _exit(0);
    }
    wait(NULL);
    return 0;
}

static int chown_killpriv(void)
{
    const char *f = "/tmp/gvt_more_caps";
    close(open(f, O_WRONLY | O_CREAT | O_TRUNC, 0755));
    /* struct vfs_cap_data, revision 2: CAP_NET_RAW permitted and effective */
    unsigned int caps[5] = {0x02000001, 1u << 13, 0, 0, 0};
    long r = setxattr(f, "security.capability", caps, sizeof caps, 0);
    printf("set: %ld %s\n", r, err(r));
    chown(f, 1234, -1);
    char buf[64];
    r = getxattr(f, "security.capability", buf, sizeof buf);
    printf("after chown: %ld %s\n", r, err(r));
    unlink(f);
    return 0;
}

static void direct_open(const char *path)
{
    int fd = open(path, O_RDWR | O_DIRECT | O_NONBLOCK);
    if (fd < 0)
        fd = open(path, O_RDONLY | O_DIRECT | O_NONBLOCK);
    printf("open %s O_DIRECT: %s\n", path, fd < 0 ? strerrorname_np(errno) : "ok");
    if (fd >= 0)
        close(fd);
}

static void direct_setfl(const char *what, int fd)
{
    long r = fcntl(fd, F_SETFL, O_DIRECT);
    printf("F_SETFL O_DIRECT on %s: %ld %s, now %d\n", what, r, err(r), !!(fcntl(fd, F_GETFL) & O_DIRECT));
    close(fd);
}

static int o_direct(void)
{
    const char *f = "/tmp/gvt_more_direct", *fifo = "/tmp/gvt_more_dfifo";
    close(open(f, O_WRONLY | O_CREAT | O_TRUNC, 0600));
    unlink(fifo);
    mkfifo(fifo, 0600);
    const char *paths[] = {f, "/tmp", fifo, "/dev/null", "/dev/zero", "/proc/self/status", "/proc"};
    for (unsigned i = 0; i < sizeof paths / sizeof *paths; i++)
        direct_open(paths[i]);
    int p[2];
    pipe(p);
    close(p[1]);
    direct_setfl("a pipe", p[0]);
    direct_setfl("a file", open(f, O_RDONLY));
    direct_setfl("a directory", open("/tmp", O_RDONLY));
    direct_setfl("/dev/null", open("/dev/null", O_RDONLY));
    direct_setfl("a memfd", memfd_create("d", 0));
    direct_setfl("a socket", socket(AF_UNIX, SOCK_STREAM, 0));
    unlink(fifo);
    unlink(f);
    return 0;
}

static pthread_barrier_t nice_set, nice_seen;

static void *nice_thread_fn(void *arg)
{
    (void)arg;
    printf("thread starts at %d\n", getpriority(PRIO_PROCESS, 0));
    setpriority(PRIO_PROCESS, 0, 7);
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        printf("its child: %d\n", getpriority(PRIO_PROCESS, 0));
        fflush(stdout);
        _exit(0);
    }
    waitpid(pid, NULL, 0);
    printf("thread, own: %d\n", getpriority(PRIO_PROCESS, 0));
    pthread_barrier_wait(&nice_set);
    pthread_barrier_wait(&nice_seen);
    return NULL;
}

static int nice_thread(void)
{
    setpgid(0, 0);   /* a group of its own for PRIO_PGRP (the sandbox's first process has one) */
    setpriority(PRIO_PROCESS, 0, 5);
    pthread_barrier_init(&nice_set, NULL, 2);
    pthread_barrier_init(&nice_seen, NULL, 2);
    pthread_t th;
    pthread_create(&th, NULL, nice_thread_fn, NULL);
    pthread_barrier_wait(&nice_set);
    pid_t tid = 0;
    char path[64];
    snprintf(path, sizeof path, "/proc/self/task");
    DIR *d = opendir(path);
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (atoi(e->d_name) > 0 && atoi(e->d_name) != getpid())
            tid = atoi(e->d_name);
    closedir(d);
    printf("main, own: %d; the thread's: %d\n", getpriority(PRIO_PROCESS, 0), getpriority(PRIO_PROCESS, tid));
    setpriority(PRIO_PROCESS, tid, 9);
    printf("after setting the thread's: %d, %d\n", getpriority(PRIO_PROCESS, 0), getpriority(PRIO_PROCESS, tid));
    setpriority(PRIO_PROCESS, 0, 3);
    printf("the process group's best: %d\n", getpriority(PRIO_PGRP, 0));
    pthread_barrier_wait(&nice_seen);
    pthread_join(th, NULL);
    struct sched_param sp = {0};
    setpriority(PRIO_PROCESS, 0, -4);
    printf("SCHED_BATCH|RESET_ON_FORK: %d\n", sched_setscheduler(0, SCHED_BATCH | SCHED_RESET_ON_FORK, &sp));
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        printf("reset child: policy %d nice %d\n", sched_getscheduler(0), getpriority(PRIO_PROCESS, 0));
        fflush(stdout);
        _exit(0);
    }
    waitpid(pid, NULL, 0);
    return 0;
}

static int mount_events(int ep)
{
    struct epoll_event ev;
    int n = epoll_wait(ep, &ev, 1, 0);
    return n == 1 ? (ev.events & (EPOLLERR | EPOLLPRI)) == (EPOLLERR | EPOLLPRI) : n;
}

static int mounts_poll_child(void)
{
    if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
        return 1;
    const char *a = "/tmp/gvt_more_pa", *b = "/tmp/gvt_more_pb";
    mkdir(a, 0755);
    mkdir(b, 0755);
    int ep[2], fds[2];
    const char *files[2] = {"/proc/self/mounts", "/proc/self/mountinfo"};
    for (int i = 0; i < 2; i++) {
        fds[i] = open(files[i], O_RDONLY);
        ep[i] = epoll_create1(0);
        struct epoll_event ev = {.events = EPOLLPRI | EPOLLERR};
        long r = epoll_ctl(ep[i], EPOLL_CTL_ADD, fds[i], &ev);
        printf("epoll_ctl %s: %ld %s\n", files[i], r, err(r));
    }
    struct pollfd pfd = {fds[1], POLLIN | POLLPRI, 0};
    int n = poll(&pfd, 1, 0);
    printf("poll at first: %d revents %#x\n", n, pfd.revents);
    const char *steps[] = {"mount", "again", "remount", "move", "umount"};
    for (int i = 0; i < 5; i++) {
        if (i == 0)
            mount("none", a, "tmpfs", 0, NULL);
        if (i == 2)
            mount(NULL, a, NULL, MS_REMOUNT | MS_RDONLY, NULL);
        if (i == 3)
            mount(a, b, NULL, MS_MOVE, NULL);
        if (i == 4)
            umount(b);
        printf("%s: %d %d\n", steps[i], mount_events(ep[0]), mount_events(ep[1]));
    }
    mount("none", a, "tmpfs", 0, NULL);
    n = poll(&pfd, 1, 0);
    printf("poll after a mount: %d revents %#x\n", n, pfd.revents);
    n = poll(&pfd, 1, 0);
    printf("poll again: %d revents %#x\n", n, pfd.revents);
    /* a new namespace: the descriptors still watch the old one */
    if (unshare(CLONE_NEWNS) < 0)
        return 2;
    umount(a);
    printf("umount in a new namespace: %d\n", mount_events(ep[1]));
    rmdir(a);
    rmdir(b);
    return 0;
}

static int mounts_poll(void)
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        int r = mounts_poll_child();
        fflush(stdout);
        _exit(r);
    }
    int st;
    waitpid(pid, &st, 0);
    rmdir("/tmp/gvt_more_pa");
    rmdir("/tmp/gvt_more_pb");
    return st;
}

static void sysctl_show(const char *name)
{
    char path[128], buf[64] = "";
    snprintf(path, sizeof path, "/proc/sys/net/%s", name);
    int fd = open(path, O_RDONLY);
    long n = fd < 0 ? -1 : read(fd, buf, sizeof buf - 1);
    printf("%s: %s", name, n < 0 ? strerrorname_np(errno) : buf);
    if (n < 0) printf("\n");
    if (fd >= 0) close(fd);
}

static void sysctl_set(const char *name, const char *value)
{
    char path[128];
    snprintf(path, sizeof path, "/proc/sys/net/%s", name);
    int fd = open(path, O_WRONLY);
    long r = fd < 0 ? -1 : write(fd, value, strlen(value));
    printf("write %s to %s: %ld %s\n", value, name, r, err(r));
    if (fd >= 0) close(fd);
}

static int sys_net(void)
{
    if (unshare(CLONE_NEWNET) < 0) {
        printf("unshare: %s\n", strerrorname_np(errno));
        return 1;
    }
    const char *names[] = {"core/somaxconn", "ipv4/ip_forward", "ipv4/ip_local_port_range", "ipv4/tcp_sack",
                           "ipv4/tcp_keepalive_time", "ipv4/ping_group_range", "ipv6/bindv6only",
                           "ipv6/auto_flowlabels"};
    for (unsigned i = 0; i < sizeof names / sizeof *names; i++)
        sysctl_show(names[i]);
    sysctl_set("ipv4/ip_forward", "1");
    sysctl_set("ipv4/tcp_sack", "0");
    sysctl_set("ipv4/ip_local_port_range", "40000 50000");
    sysctl_set("ipv4/ip_local_port_range", "5000 2000");
    sysctl_show("ipv4/ip_forward");
    sysctl_show("ipv4/tcp_sack");
    sysctl_show("ipv4/ip_local_port_range");
    struct stat st;
    stat("/proc/sys/net/ipv6", &st);
    printf("ipv6 mode %o\n", st.st_mode);
    return 0;
}

static void tmpfs_free(const char *d, const char *what)
{
    struct statfs sf;
    statfs(d, &sf);
    printf("%s: %ld of %ld blocks free\n", what, (long)sf.f_bfree, (long)sf.f_blocks);
}

static int tmpfs_pages_child(void)
{
    const char *d = "/tmp/gvt_more_tp";
    if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
        return 1;
    mkdir(d, 0755);
    if (mount("none", d, "tmpfs", 0, "size=12288") < 0)
        return 2;
    int fd = open("/tmp/gvt_more_tp/f", O_RDWR | O_CREAT, 0644);
    long r = ftruncate(fd, 1 << 20);
    printf("sparse ftruncate to 1 MiB: %ld %s\n", r, err(r));
    tmpfs_free(d, "after it");
    char buf[3 * 4096 + 10];
    memset(buf, 'x', sizeof buf);
    r = pwrite(fd, buf, 10, 4096 - 5);
    printf("a write across two pages: %ld %s\n", r, err(r));
    r = pwrite(fd, buf, sizeof buf, 8192 - 3);
    printf("a write past the limit: %ld %s\n", r, err(r));
    r = pwrite(fd, buf, 1, 3 * 4096);
    printf("one more byte: %ld %s\n", r, err(r));
    r = pwrite(fd, buf, 100, 0);
    printf("rewriting a charged page: %ld %s\n", r, err(r));
    r = fallocate(fd, 0, 65536, 4096);
    printf("fallocate: %ld %s\n", r, err(r));
    char target[129];
    memset(target, 'a', 128);
    target[128] = 0;
    r = symlink(target, "/tmp/gvt_more_tp/long");
    printf("a 128-byte symlink: %ld %s\n", r, err(r));
    target[127] = 0;
    r = symlink(target, "/tmp/gvt_more_tp/short");
    printf("a 127-byte symlink: %ld %s\n", r, err(r));
    r = ftruncate(fd, 4096);
    printf("truncating to one page: %ld %s\n", r, err(r));
    tmpfs_free(d, "after it");
    target[127] = 'a';
    r = symlink(target, "/tmp/gvt_more_tp/long");
    printf("now the 128-byte symlink: %ld %s\n", r, err(r));
    r = fallocate(fd, FALLOC_FL_KEEP_SIZE, 4096, 4096);
    printf("fallocate a page: %ld %s\n", r, err(r));
    tmpfs_free(d, "full");
    r = fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, 8192);
    printf("punching two pages: %ld %s\n", r, err(r));
    tmpfs_free(d, "after it");
    close(fd);
    unlink("/tmp/gvt_more_tp/long");
    tmpfs_free(d, "the long symlink gone");
    umount(d);
    rmdir(d);
    return 0;
}

static int tmpfs_pages(void)
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        int r = tmpfs_pages_child();
        fflush(stdout);
        _exit(r);
    }
    int st;
    waitpid(pid, &st, 0);
    rmdir("/tmp/gvt_more_tp");
    return st;
}

static long write_nr_open(const char *v)
{
    int fd = open("/proc/sys/fs/nr_open", O_WRONLY);
    long r = fd < 0 ? -1 : write(fd, v, strlen(v));
    if (fd >= 0) close(fd);
    return r;
}

static int nr_open(void)
{
    char old[32] = "", now[32] = "";
    int fd = open("/proc/sys/fs/nr_open", O_RDONLY);
    if (fd < 0 || read(fd, old, sizeof old - 1) <= 0)
        return 1;
    close(fd);
    long r = write_nr_open("10");
    printf("nr_open 10: %ld %s\n", r, err(r));
    r = write_nr_open("2147483647");
    printf("nr_open INT_MAX: %ld %s\n", r, err(r));
    r = write_nr_open(old);   /* the same value: the host's stays as it is */
    printf("nr_open rewritten: %d %s\n", r == (long)strlen(old), err(r));
    fd = open("/proc/sys/fs/nr_open", O_RDONLY);
    read(fd, now, sizeof now - 1);
    close(fd);
    printf("read back the same: %d\n", !strcmp(old, now));
    struct rlimit rl = {atol(old) + 1, atol(old) + 1};
    r = setrlimit(RLIMIT_NOFILE, &rl);
    printf("RLIMIT_NOFILE above it: %ld %s\n", r, err(r));
    return 0;
}

static void xattr_try(const char *what, const char *path, const char *name, int nofollow)
{
    char buf[64];
    long g = (nofollow ? lgetxattr : getxattr)(path, name, buf, sizeof buf);
    printf("%s get %s: %ld %s\n", what, name, g, err(g));
    long s = (nofollow ? lsetxattr : setxattr)(path, name, "b", 1, 0);
    printf("%s set %s: %ld %s\n", what, name, s, err(s));
    long r = (nofollow ? lremovexattr : removexattr)(path, name);
    printf("%s remove %s: %ld %s\n", what, name, r, err(r));
}

static int xattr_perm(void)
{
    const char *f = "/tmp/gvt_more_xattr", *l = "/tmp/gvt_more_xlink";
    close(open(f, O_WRONLY | O_CREAT | O_TRUNC, 0600));
    unlink(l);
    symlink(f, l);
    long r = setxattr(f, "user.t", "a", 1, 0);
    printf("set: %ld %s\n", r, err(r));
    xattr_try("symlink", l, "user.none", 1);
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        if (setuid(65534)) _exit(1);
        xattr_try("nobody", f, "user.t", 0);
        xattr_try("nobody", f, "trusted.none", 0);
        char list[64];
        r = listxattr(f, list, sizeof list);
        printf("nobody list: %ld %s\n", r, err(r));
        fflush(stdout);
        _exit(0);
    }
    int st;
    waitpid(pid, &st, 0);
    unlink(l);
    unlink(f);
    return st;
}

static void show_personality(const char *when)
{
    char buf[32] = "";
    int fd = open("/proc/self/personality", O_RDONLY);
    long n = fd < 0 ? -1 : read(fd, buf, sizeof buf - 1);
    printf("%s: %s", when, n > 0 ? buf : "unreadable\n");
    if (fd >= 0)
        close(fd);
}

static int proc_personality(void)
{
    struct stat st;
    printf("mode %o\n", stat("/proc/self/personality", &st) ? 0 : st.st_mode & 07777);
    show_personality("at start");
    personality(0x0040000 | 0x0400000);   /* ADDR_NO_RANDOMIZE | READ_IMPLIES_EXEC */
    show_personality("after personality()");
    personality(0);
    return 0;
}

static int vdso_buffer(void)
{
    const char *vdso = (const char *)getauxval(AT_SYSINFO_EHDR);
    const char *name = memmem(vdso, 8192, "linux-vdso.so.1", 16);
    if (!vdso || !name) {
        printf("no vdso or no name in it\n");
        return 1;
    }
    fflush(stdout);
    printf("write: %ld\n", (long)write(1, vdso + 1, 3));
    fflush(stdout);
    struct iovec iov[3] = {{"\t", 1}, {(void *)name, strlen(name)}, {"\n", 1}};
    printf("writev: %ld\n", (long)writev(1, iov, 3));
    errno = 0;
    long r = open(name, O_RDONLY);   /* a path in the vDSO: not found, not EFAULT */
    printf("open of its name: %ld %s\n", r, strerrorname_np(errno));
    int p[2];
    pipe2(p, O_NONBLOCK);
    char back[64];
    long w = write(p[1], vdso, 64);
    printf("through a pipe: %ld, same %d\n", w, read(p[0], back, 64) == 64 && !memcmp(back, vdso, 64));
    return 0;
}

int main(int argc, char **argv)
{
    const char *c = argc > 1 ? argv[1] : "";
    self_path = realpath("/proc/self/exe", NULL);
    if (!strcmp(c, "vdso_buffer")) return vdso_buffer();
    if (!strcmp(c, "proc_personality")) return proc_personality();
    if (!strcmp(c, "report_ids")) return report_ids();
    if (!strcmp(c, "suid_exec")) return suid_exec();
    if (!strcmp(c, "sgid_exec")) return sgid_exec();
    if (!strcmp(c, "exec_saved_ids")) return exec_saved_ids();
    if (!strcmp(c, "execveat_nofollow")) return execveat_nofollow();
    if (!strcmp(c, "execveat_cloexec")) return execveat_cloexec();
    if (!strcmp(c, "maps_merged")) return maps_merged();
    if (!strcmp(c, "ptrace_sigmask")) return ptrace_sigmask();
    if (!strcmp(c, "pty_packet_flush")) return pty_packet_flush();
    if (!strcmp(c, "pty_hup_pollout")) return pty_hup_pollout();
    if (!strcmp(c, "pty_canon_switch")) return pty_canon_switch();
    if (!strcmp(c, "rusage_maxrss")) return rusage_maxrss();
    if (!strcmp(c, "stop_all_threads")) return stop_all_threads();
    if (!strcmp(c, "stop_nanosleep")) return stop_nanosleep();
    if (!strcmp(c, "process_vm_empty")) return process_vm_empty();
    if (!strcmp(c, "pidfd_checks")) return pidfd_checks();
    if (!strcmp(c, "socket_owner")) return socket_owner();
    if (!strcmp(c, "aio_ring")) return aio_ring();
    if (!strcmp(c, "fifo_open_blocks")) return fifo_open_blocks();
    if (!strcmp(c, "shm_attach")) return shm_attach();
    if (!strcmp(c, "msg_copy_small")) return msg_copy_small();
    if (!strcmp(c, "dev_lseek")) return dev_lseek();
    if (!strcmp(c, "ptrace_listen")) return ptrace_listen();
    if (!strcmp(c, "sysemu_detach")) return sysemu_detach();
    if (!strcmp(c, "noatime")) return noatime();
    if (!strcmp(c, "mountinfo_root")) return mountinfo_root();
    if (!strcmp(c, "proc_files")) return proc_files();
    if (!strcmp(c, "proc_lifetime")) return proc_lifetime();
    if (!strcmp(c, "vma_anon_name")) return vma_anon_name();
    if (!strcmp(c, "hostname_poll")) return hostname_poll();
    if (!strcmp(c, "userns_capless")) return userns_capless();
    if (!strcmp(c, "chown_killpriv")) return chown_killpriv();
    if (!strcmp(c, "xattr_perm")) return xattr_perm();
    if (!strcmp(c, "o_direct")) return o_direct();
    if (!strcmp(c, "nice_thread")) return nice_thread();
    if (!strcmp(c, "mounts_poll")) return mounts_poll();
    if (!strcmp(c, "sys_net")) return sys_net();
    if (!strcmp(c, "tmpfs_pages")) return tmpfs_pages();
    if (!strcmp(c, "nr_open")) return nr_open();
    fprintf(stderr, "unknown case %s\n", c);
    return 2;
}
