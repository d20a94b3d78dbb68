/* Regressions found with gVisor's syscall tests as an oracle: one case per argv[1], each printing
 * what it observes (return values, errno names), run natively and in the sandbox.
 *   writev_gaps        empty iovec entries are skipped; a bad later entry gives a short write
 *   pipe_close_reader  a thread blocked in read keeps its pipe end open after another closes the fd
 *   pipe_null_read     a 0-byte read of an empty pipe returns 0 at once
 *   waitid_zombie      waitid without WEXITED and only a zombie child: ECHILD, not a wait forever
 *   clone3_signal      clone3 with CLONE_THREAD or CLONE_PARENT and an exit signal: EINVAL
 *   proc_tid           /proc/TID of a thread other than the leader opens (not listed)
 *   mremap_shared      shared anonymous memory shrunk then grown in place keeps its pages
 *   dir_access         getdents reports an access to inotify (IN_ACCESS), as a read does
 *   fixed_noreplace    MAP_FIXED_NOREPLACE with MAP_FIXED over a mapping: EEXIST
 *   pdeathsig_thread   PR_SET_PDEATHSIG fires when the parent *thread* exits, the process living on
 *   traceme_thread     PTRACE_TRACEME makes the thread that forked the tracer, not the first one
 *   comm_write         /proc/self/comm and a thread's /proc/self/task/TID/comm take writes
 *   preadv_espipe      preadv/pwritev on a pipe end of the other direction: ESPIPE before EBADF;
 *                      on an O_PATH descriptor EBADF (preadv2/pwritev2 too)
 *   fsync_stdout       fsync of the caller's stdout, a pipe here: EINVAL
 *   fork_affinity      a forked child has its parent's CPU affinity
 *   mlock_prot_none    mlock of PROT_NONE memory: ENOMEM (its pages cannot be made present)
 *   sigxfsz_sender     SIGXFSZ past RLIMIT_FSIZE comes from the writer itself (SI_USER, its pid)
 *   private_past_eof   a private writable file mapping: pages wholly past the file's end are SIGBUS,
 *                      the file's data (copied, private) once it grows there; a truncation drops
 *                      the private copies of pages past the new end, in a forked child too
 *   mremap_object      shared anonymous memory grown past its first size is SIGBUS there; mremap
 *                      with old_size 0 maps the same shared pages again (EINVAL if private)
 *   large_read         one write, read or readv of a 40 MiB file moves all of it (a bad later
 *                      iovec: what came before it); so does a read of /dev/zero or /dev/urandom
 *   setid_saved        without CAP_SETUID/CAP_SETGID, setuid/setgid may take the real or saved id
 *                      (root with euid 1 gets euid 0 and its capabilities back)
 *   epoll_add_waiting  a TCP socket added to an epoll (of a pipe) while a thread already waits in
 *                      epoll_wait wakes it when readable (a Go program's netpoller waits so)
 *   sigprof_busy       ITIMER_PROF's SIGPROF samples the thread that uses the CPU, not the first
 *                      thread, asleep (a profiler of a C thread in a Go program sees it)
 *   poll_epoll         poll of an epoll holding a pipe and a TCP socket wakes when the socket
 *                      becomes readable, and so does an epoll holding that epoll
 *   readv_bad_tail     readv/preadv of a file into a buffer whose tail is not mapped read what fits
 *                      (a short count; the offset moves by it), EFAULT only when nothing fits
 *   thread_cpu_other   another thread's CPU clock is its own: a waiting one's, a running one's
 *   cpu_timers         POSIX timers on a thread's or the process's CPU clock count CPU time
 *   thread_cpu         a single thread's CPU time, in RUSAGE_THREAD and /proc/thread-self/stat,
 *                      counts its spinning (it was 0)
 *   tmpfs_full_mmap    touching a hole of a mapped file of a full tmpfs (size=) is SIGBUS; a
 *                      write(2) from it EFAULT
 *   vsyscall_fault     a legacy vsyscall given a bad pointer is SIGSEGV at its entry, not EFAULT
 *   special_mprotect   mprotect of [vvar] and [vdso]: EACCES, EINVAL for a part, the whole changed */
#define _GNU_SOURCE
#include <dirent.h>
#include <setjmp.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/statfs.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <sys/time.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

static const char *err(long r) { return r < 0 ? strerrorname_np(errno) : "ok"; }

static int writev_gaps(void)
{
    int p[2];
    pipe(p);
    char a[] = "hello", b[] = "world";
    struct iovec v[4] = {{a, 0}, {a, 5}, {b, 0}, {b, 5}};
    printf("writev with empty entries: %zd\n", writev(p[1], v, 4));
    char buf[16] = {0};
    read(p[0], buf, sizeof buf);
    printf("read back: %s\n", buf);
    char *m = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    memset(m, 'x', 4096);
    munmap(m + 4096, 4096);
    struct iovec w[2] = {{m, 4096}, {m + 4096, 100}};
    printf("bad second entry: %zd\n", writev(p[1], w, 2));
    struct iovec u[1] = {{m + 4096, 100}};
    long r = writev(p[1], u, 1);
    printf("bad only entry: %ld %s\n", r, err(r));
    return 0;
}

static int fds[2];
static volatile long reader_tid;

static void *blocked_reader(void *arg)
{
    int v = 0;
    reader_tid = syscall(SYS_gettid);
    long n = read(fds[0], &v, sizeof v);
    printf("reader: %ld bytes, %d\n", n, v);
    return NULL;
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

static int pipe_close_reader(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    signal(SIGPIPE, SIG_IGN);
    pipe(fds);
    pthread_t t;
    pthread_create(&t, NULL, blocked_reader, NULL);
    for (int i = 0; i < 20000 && !(reader_tid && sleeping(reader_tid)); i++)   /* until it waits in read */
        usleep(1000);
    close(fds[0]);
    int v = 42;
    long n = write(fds[1], &v, sizeof v);
    const char *e = err(n);
    alarm(30);
    pthread_join(t, NULL);   /* (then print: the reader's line comes first either way) */
    printf("write after close: %ld %s\n", n, e);
    return 0;
}

static int pipe_null_read(void)
{
    int p[2];
    pipe(p);
    alarm(30);
    printf("null write: %ld\n", (long)write(p[1], NULL, 0));
    printf("null read of an empty pipe: %ld\n", (long)read(p[0], NULL, 0));
    return 0;
}

static int waitid_zombie(void)
{
    alarm(30);
    pid_t c = fork();
    if (c == 0)
        _exit(3);
    siginfo_t si;
    while (waitid(P_PID, c, &si, WEXITED | WNOWAIT) != 0)
        ;
    long r = waitid(P_ALL, 0, &si, WSTOPPED);
    printf("waitid(WSTOPPED) with a zombie only: %ld %s\n", r, err(r));
    r = waitid(P_ALL, 0, &si, WEXITED);
    printf("waitid(WEXITED): %ld, its child %d, status %d\n", r, si.si_pid == c, si.si_status);
    return 0;
}

static int clone3_signal(void)
{
    unsigned long long flags[] = {CLONE_THREAD | CLONE_SIGHAND | CLONE_VM, CLONE_PARENT};
    for (int i = 0; i < 2; i++) {
        struct clone_args args = {.flags = flags[i], .exit_signal = SIGCHLD};
        long r = syscall(SYS_clone3, &args, sizeof args);
        if (r == 0)
            _exit(0);   /* (a child made against Linux's rule) */
        printf("clone3 flags %#llx with an exit signal: %ld %s\n", flags[i], r < 0 ? r : 1, err(r));
    }
    return 0;
}

static pthread_barrier_t barrier;

static void *show_own_proc_dir(void *arg)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%ld/stat", (long)syscall(SYS_gettid));
    int fd = open(path, O_RDONLY);
    printf("open /proc/TID/stat of a thread: %s\n", err(fd));
    pthread_barrier_wait(&barrier);
    return NULL;
}

static int proc_tid(void)
{
    pthread_barrier_init(&barrier, NULL, 2);
    pthread_t t;
    pthread_create(&t, NULL, show_own_proc_dir, NULL);
    pthread_barrier_wait(&barrier);
    pthread_join(t, NULL);
    return 0;
}

static int mremap_shared(void)
{
    long pg = sysconf(_SC_PAGESIZE);
    char *m = mmap(NULL, 2 * pg, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    m[0] = 'a';
    m[pg] = 'b';
    printf("shrink: %s\n", mremap(m, 2 * pg, pg, 0) == m ? "in place" : "moved");
    char *g = mremap(m, pg, 2 * pg, 0);
    printf("grow: %s, second page holds '%c'\n", g == m ? "in place" : "moved", g[pg] ? g[pg] : '0');
    fflush(stdout);
    pid_t c = fork();
    if (c == 0) {
        g[pg] = 'c';
        _exit(0);
    }
    waitpid(c, NULL, 0);
    printf("after a child wrote it: '%c'\n", g[pg]);
    return 0;
}

static int dir_access(void)
{
    mkdir("/tmp/gvt_dir", 0755);
    int in = inotify_init1(IN_NONBLOCK);
    inotify_add_watch(in, "/tmp/gvt_dir", IN_ACCESS | IN_OPEN | IN_CLOSE_NOWRITE);
    int d = open("/tmp/gvt_dir", O_RDONLY | O_DIRECTORY);
    char buf[4096];
    printf("getdents: %d\n", syscall(SYS_getdents64, d, buf, sizeof buf) > 0);
    printf("getdents at the end: %ld\n", (long)syscall(SYS_getdents64, d, buf, sizeof buf));
    close(d);
    char ev[4096];
    long r = read(in, ev, sizeof ev);
    for (char *p = ev; r > 0 && p < ev + r; p += sizeof(struct inotify_event) + ((struct inotify_event *)p)->len)
        printf("event %#x\n", ((struct inotify_event *)p)->mask);
    rmdir("/tmp/gvt_dir");
    return 0;
}

static int fixed_noreplace(void)
{
    char *m = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    void *r = mmap(m, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_FIXED_NOREPLACE, -1, 0);
    printf("MAP_FIXED|MAP_FIXED_NOREPLACE over a mapping: %s\n", r == MAP_FAILED ? strerrorname_np(errno) : "mapped");
    return 0;
}

static int sync_pipe[2];

static void on_usr1(int sig) { write(sync_pipe[1], "D", 1); }

static void *fork_then_exit(void *arg)
{
    pid_t c = fork();
    if (c == 0) {
        signal(SIGUSR1, on_usr1);
        prctl(PR_SET_PDEATHSIG, SIGUSR1);
        write(sync_pipe[1], "R", 1);   /* ready: the thread may exit now */
        alarm(30);
        for (;;)
            pause();
    }
    char b;
    read(sync_pipe[0], &b, 1);
    printf("child ready: %c\n", b);
    fflush(stdout);
    return (void *)(long)c;
}

static int pdeathsig_thread(void)
{
    pipe(sync_pipe);
    pthread_t t;
    void *ret;
    pthread_create(&t, NULL, fork_then_exit, NULL);
    pthread_join(t, &ret);   /* the parent thread has exited; this process lives on */
    char b;
    read(sync_pipe[0], &b, 1);
    printf("the child got its parent-death signal: %c\n", b);
    kill((pid_t)(long)ret, SIGKILL);
    waitpid((pid_t)(long)ret, NULL, 0);
    return 0;
}

static void *trace_a_child(void *arg)
{
    pid_t c = fork();
    if (c == 0) {
        ptrace(PTRACE_TRACEME, 0, 0, 0);
        raise(SIGSTOP);
        _exit(7);
    }
    int st;
    waitpid(c, &st, 0);
    printf("stopped: %d\n", WIFSTOPPED(st) && WSTOPSIG(st) == SIGSTOP);
    long r = ptrace(PTRACE_DETACH, c, 0, 0);
    printf("detach by the forking thread: %ld %s\n", r, err(r));
    waitpid(c, &st, 0);
    printf("child exit %d\n", WEXITSTATUS(st));
    return NULL;
}

static int traceme_thread(void)
{
    alarm(30);
    pthread_t t;
    pthread_create(&t, NULL, trace_a_child, NULL);
    pthread_join(t, NULL);
    return 0;
}

static void *idle_thread(void *arg)
{
    pthread_barrier_wait(&barrier);
    pthread_barrier_wait(&barrier);
    return NULL;
}

static int comm_write(void)
{
    pthread_barrier_init(&barrier, NULL, 2);
    pthread_t t;
    pthread_create(&t, NULL, idle_thread, NULL);
    pthread_barrier_wait(&barrier);
    printf("pthread_setname_np of another thread: %d\n", pthread_setname_np(t, "worker-1"));
    char name[32] = {0};
    pthread_getname_np(t, name, sizeof name);
    printf("its name: %s\n", name);
    int fd = open("/proc/self/comm", O_WRONLY);
    printf("write /proc/self/comm: %ld\n", (long)write(fd, "renamed-to-something-long\n", 26));
    close(fd);
    fd = open("/proc/self/comm", O_RDONLY);
    char buf[32] = {0};
    read(fd, buf, sizeof buf - 1);
    printf("reads back: [%s]\n", buf);
    pthread_barrier_wait(&barrier);
    pthread_join(t, NULL);
    return 0;
}

static int preadv_espipe(void)
{
    int p[2];
    pipe(p);
    char c;
    struct iovec v = {&c, 1};
    long r = preadv(p[1], &v, 1, 0);
    printf("preadv on the write end: %ld %s\n", r, err(r));
    r = pwritev(p[0], &v, 1, 0);
    printf("pwritev on the read end: %ld %s\n", r, err(r));
    int o = open("/proc/self/exe", O_PATH);
    r = preadv(o, &v, 1, 0);
    printf("preadv on O_PATH: %ld %s\n", r, err(r));
    r = preadv2(o, &v, 1, 0, 0);
    printf("preadv2 on O_PATH: %ld %s\n", r, err(r));
    r = pwritev2(o, &v, 1, 0, 0);
    printf("pwritev2 on O_PATH: %ld %s\n", r, err(r));
    return 0;
}

static int fsync_stdout(void)
{
    long r = fsync(1);
    printf("fsync(stdout) = %ld %s\n", r, err(r));
    return 0;
}

static int fork_affinity(void)
{
    cpu_set_t one, parent, child;
    CPU_ZERO(&one);
    CPU_SET(0, &one);
    sched_setaffinity(0, sizeof one, &one);
    sched_getaffinity(0, sizeof parent, &parent);
    fflush(stdout);
    pid_t c = fork();
    if (c == 0) {
        sched_getaffinity(0, sizeof child, &child);
        printf("the child's affinity is its parent's: %d\n", CPU_EQUAL(&child, &parent));
        fflush(stdout);
        _exit(0);
    }
    waitpid(c, NULL, 0);
    return 0;
}

static int mlock_prot_none(void)
{
    char *m = mmap(NULL, 8192, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    long r = mlock(m, 8192);
    printf("mlock of PROT_NONE memory: %ld %s\n", r, err(r));
    return 0;
}

static volatile int xfsz_code = -1, xfsz_from_self;

static void on_xfsz(int sig, siginfo_t *si, void *uc)
{
    xfsz_code = si->si_code;
    xfsz_from_self = si->si_pid == getpid();
}

static int sigxfsz_sender(void)
{
    struct sigaction sa = {.sa_sigaction = on_xfsz, .sa_flags = SA_SIGINFO};
    sigaction(SIGXFSZ, &sa, NULL);
    struct rlimit r = {4096, RLIM_INFINITY};
    setrlimit(RLIMIT_FSIZE, &r);
    int fd = open("/tmp/gvt_fsize", O_WRONLY | O_CREAT | O_TRUNC, 0644);
    char buf[8192] = {0};
    printf("write past the limit: %ld\n", (long)write(fd, buf, sizeof buf));
    long w = write(fd, buf, 1);
    printf("then: %ld %s; SIGXFSZ si_code %d, from the writer itself %d\n", w, err(w), xfsz_code, xfsz_from_self);
    unlink("/tmp/gvt_fsize");
    return 0;
}

static sigjmp_buf touch_jump;
static volatile int touch_signal;

static void on_touch_fault(int sig) { touch_signal = sig; siglongjmp(touch_jump, 1); }

/* The signal an access to *a raises (0: none). */
static int touch(char *a, int write)
{
    touch_signal = 0;
    if (!sigsetjmp(touch_jump, 1)) {
        if (write) *a = 'w';
        else (void)*(volatile char *)a;
    }
    return touch_signal;
}

/* A tmpfs mounted with size=8k (in a mount namespace of its own) and a sparse 4-page file: the
   first touch of a page in a shared or a read-only private mapping allocates it; once the limit
   is reached a touch is SIGBUS (shmem_fault's VM_FAULT_SIGBUS), a write(2) from such a page
   EFAULT; a truncation frees pages for other touches. */
static int tmpfs_full_mmap(void)
{
    signal(SIGBUS, on_touch_fault);
    signal(SIGSEGV, on_touch_fault);
    char dir[] = "/tmp/gvt_tmpfs_full.XXXXXX", path[64];
    if (!mkdtemp(dir))
        return 1;
    if (unshare(CLONE_NEWNS) || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) ||
        mount("tmpfs", dir, "tmpfs", 0, "size=8k")) {
        perror("mount");
        rmdir(dir);
        return 1;
    }
    snprintf(path, sizeof path, "%s/f", dir);
    int fd = open(path, O_CREAT | O_RDWR, 0600), pipes[2];
    ftruncate(fd, 4 * 4096);
    pipe(pipes);
    char *p = mmap(NULL, 4 * 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    int r0 = touch(p, 0), w1 = touch(p + 4096, 1), r2 = touch(p + 2 * 4096, 0), w3 = touch(p + 3 * 4096, 1);
    struct statfs st;
    statfs(dir, &st);
    printf("shared: read page 0 %d, write page 1 %d, read page 2 %d, write page 3 %d; free blocks %ld\n",
           r0, w1, r2, w3, (long)st.f_bfree);
    long n = write(pipes[1], p + 3 * 4096, 10);
    printf("write(2) from page 3: %ld %s\n", n, err(n));
    n = pwrite(fd, "x", 1, 2 * 4096);
    printf("pwrite to page 2: %ld %s\n", n, err(n));
    ftruncate(fd, 4096);   /* frees page 1 */
    ftruncate(fd, 4 * 4096);
    int again = touch(p + 2 * 4096, 1), more = touch(p + 3 * 4096, 0);
    printf("after a truncation: write page 2 %d, read page 3 %d, page 0 '%c'\n", again, more, p[0] ? '?' : '0');
    char *q = mmap(NULL, 4 * 4096, PROT_READ, MAP_PRIVATE, fd, 0);
    printf("private read-only: read page 2 %d, read page 3 %d\n", touch(q + 2 * 4096, 0), touch(q + 3 * 4096, 0));
    munmap(p, 4 * 4096);
    munmap(q, 4 * 4096);
    /* Populating charges as touching does: MADV_POPULATE_* EFAULT, mlock ENOMEM past the limit. */
    ftruncate(fd, 0);
    ftruncate(fd, 4 * 4096);
    p = mmap(NULL, 4 * 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    long r = madvise(p, 4096, 23 /* MADV_POPULATE_WRITE */);
    printf("populate page 0: %s", err(r));
    r = madvise(p, 4 * 4096, 22 /* MADV_POPULATE_READ */);
    statfs(dir, &st);
    printf(", all: %s; free blocks %ld", err(r), (long)st.f_bfree);
    r = mlock(p, 4 * 4096);
    printf("; mlock: %s", err(r));
    struct iovec into = {p + 2 * 4096, 8};
    write(pipes[1], "data", 4);
    r = readv(pipes[0], &into, 1);
    printf("; readv into page 2: %ld %s\n", r, err(r));
    munmap(p, 4 * 4096);
    ftruncate(fd, 0);   /* MAP_POPULATE charges what fits, and the mapping is made */
    ftruncate(fd, 4 * 4096);
    p = mmap(NULL, 4 * 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, 0);
    statfs(dir, &st);
    printf("MAP_POPULATE: %s, free blocks %ld\n", p == MAP_FAILED ? "failed" : "ok", (long)st.f_bfree);
    munmap(p, 4 * 4096);
    close(fd);
    umount(dir);
    rmdir(dir);
    return 0;
}

static sigjmp_buf vsyscall_jump;
static int vsyscall_fault_caller(void);
static char vsyscall_seen[160];

static void on_vsyscall_fault(int sig, siginfo_t *si, void *uc)
{
    greg_t *g = ((ucontext_t *)uc)->uc_mcontext.gregs;
    unsigned long ret_addr = *(unsigned long *)g[REG_RSP];   /* the caller's return address, still pushed */
    snprintf(vsyscall_seen, sizeof vsyscall_seen, "%s code %d addr %p rip %llx rax %lld returns into main %d",
             sigabbrev_np(sig), si->si_code, si->si_addr, (unsigned long long)g[REG_RIP], (long long)g[REG_RAX],
             ret_addr - (unsigned long)vsyscall_fault_caller < 4096);
    siglongjmp(vsyscall_jump, 1);
}

/* A legacy vsyscall (gettimeofday, time, getcpu at 0xffffffffff600000 + 0x400 * n) given a bad
   pointer: SIGSEGV (SI_KERNEL) at the vsyscall's entry, its return address still on the stack and
   rax -ENOSYS (emulate_vsyscall), not EFAULT; a pointer outside user space: SEGV_MAPERR there. */
static int vsyscall_fault_caller(void)
{
    struct sigaction sa = {.sa_sigaction = on_vsyscall_fault, .sa_flags = SA_SIGINFO};
    sigaction(SIGSEGV, &sa, NULL);
    long (*gtod)(void *, void *) = (void *)0xffffffffff600000;
    long (*vtime)(void *) = (void *)0xffffffffff600400;
    long (*vgetcpu)(void *, void *, void *) = (void *)0xffffffffff600800;
    struct timeval tv;
    unsigned cpu;
    printf("gettimeofday: %ld, time > 0: %d, getcpu: %ld\n", gtod(&tv, NULL), vtime(NULL) > 0, vgetcpu(&cpu, NULL, NULL));
    void *bad[] = {(void *)1, (void *)0xffff800000000000ul};
    for (int i = 0; i < 2; i++)
        for (int call = 0; call < 4; call++) {
            long r = 0;
            vsyscall_seen[0] = 0;
            if (!sigsetjmp(vsyscall_jump, 1))
                r = call == 0 ? gtod(bad[i], NULL) : call == 1 ? gtod(&tv, bad[i]) : call == 2 ? vtime(bad[i])
                                                                                     : vgetcpu(bad[i], NULL, NULL);
            printf("call %d pointer %p: %s\n", call, bad[i], vsyscall_seen[0] ? vsyscall_seen : r == -EFAULT ? "EFAULT" : "?");
        }
    return 0;
}

/* The perms /proc/self/maps shows for the mapping named `name` ("" if none). */
static void maps_perms(const char *name, char perms[5])
{
    FILE *f = fopen("/proc/self/maps", "r");
    char line[512], n[64];
    strcpy(perms, "");
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "%*x-%*x %4s %*s %*s %*s %63s", perms, n) == 2 && !strcmp(n, name))
            break;
        else
            strcpy(perms, "");
    if (f)
        fclose(f);
}

/* mprotect of the kernel's special mappings ([vvar], [vvar_vclock], [vdso]): EACCES for what
   they may not become (no VM_MAYWRITE or VM_MAYEXEC on [vvar]), nothing for their own
   protection, EINVAL for a part (special mappings are not split), a change of the whole mapping
   made (and kept by fork); [vsyscall] is no VMA: ENOMEM. The sandbox said ENOMEM to all. */
static int special_mprotect(void)
{
    static const int prots[] = {PROT_READ, PROT_READ | PROT_WRITE, PROT_READ | PROT_EXEC, PROT_NONE, PROT_WRITE};
    static const char *prot_names[] = {"R", "RW", "RX", "NONE", "W"};
    FILE *f = fopen("/proc/self/maps", "r");
    char line[512];
    struct { unsigned long start, end; char name[32]; } m[8];
    int n = 0;
    while (fgets(line, sizeof line, f) && n < 8) {
        char name[64] = "";
        if (sscanf(line, "%lx-%lx %*s %*s %*s %*s %63s", &m[n].start, &m[n].end, name) == 3 &&
            !strncmp(name, "[v", 2) && strlen(name) < sizeof m[n].name)
            strcpy(m[n++].name, name);
    }
    fclose(f);
    for (int i = 0; i < n; i++) {
        for (int p = 0; p < 5; p++) {
            long r = mprotect((void *)m[i].start, 4096, prots[p]);
            printf("%s first page %s: %s\n", m[i].name, prot_names[p], err(r));
        }
        if (!strcmp(m[i].name, "[vsyscall]"))
            continue;
        for (int p = 0; p < 4; p++) {
            fflush(stdout);
            pid_t child = fork();
            if (child == 0) {   /* no vdso call from here on */
                char buf[160], before[5], after[5], forked[5] = "";
                maps_perms(m[i].name, before);
                long r = mprotect((void *)m[i].start, m[i].end - m[i].start, prots[p]);
                const char *result = err(r);
                maps_perms(m[i].name, after);
                int fds[2];
                pipe(fds);
                if (fork() == 0) {
                    maps_perms(m[i].name, forked);
                    write(fds[1], forked, 5);
                    _exit(0);
                }
                wait(NULL);
                read(fds[0], forked, 5);
                int len = snprintf(buf, sizeof buf, "%s whole %s: %s, %s -> %s, in a fork %s\n", m[i].name,
                                   prot_names[p], result, before, after, forked);
                write(1, buf, len);
                _exit(0);
            }
            waitpid(child, NULL, 0);
        }
    }
    return 0;
}

static int private_past_eof(void)
{
    signal(SIGBUS, on_touch_fault);
    signal(SIGSEGV, on_touch_fault);
    int fd = open("/tmp/gvt_past_eof", O_RDWR | O_CREAT | O_TRUNC, 0600);
    ftruncate(fd, 100);
    char *p = mmap(NULL, 4 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    int in_file = touch(p + 200, 1), past = touch(p + 2 * 4096, 0), past_w = touch(p + 2 * 4096, 1);
    printf("inside the last page %d, past the end: read %d write %d\n", in_file, past, past_w);
    ftruncate(fd, 3 * 4096);
    pwrite(fd, "FILEDATA", 8, 2 * 4096);
    int grown = touch(p + 2 * 4096, 0);
    printf("after the file grew: %d '%c'\n", grown, grown ? '?' : p[2 * 4096]);
    int w = touch(p + 2 * 4096 + 1, 1);
    char back[9] = {0};
    pread(fd, back, 8, 2 * 4096);
    printf("a write there: %d, the file keeps %s, the page past it: %d\n", w, back, touch(p + 3 * 4096, 0));
    char *q = mremap(p, 4 * 4096, 5 * 4096, MREMAP_MAYMOVE);
    int a = touch(q + 3 * 4096, 0), b = touch(q + 4 * 4096, 0), c = touch(q + 2 * 4096 + 1, 0);
    printf("moved and grown: %d %d %d '%c'\n", a, b, c, c ? '?' : q[2 * 4096 + 1]);
    fflush(stdout);
    pid_t child = fork();
    if (child == 0) {
        touch(q + 4096, 1);   /* the child's own copy of the second page */
        ftruncate(fd, 4096);
        a = touch(q + 4096, 0), b = touch(q, 0);
        printf("in a child, truncated: the copied page %d, the first %d\n", a, b);
        fflush(stdout);
        _exit(0);
    }
    waitpid(child, NULL, 0);
    a = touch(q + 2 * 4096, 0), b = touch(q + 4096, 0);
    printf("its parent: the written page %d, the one before %d\n", a, b);
    mprotect(q, 5 * 4096, PROT_READ);
    a = touch(q, 0), b = touch(q + 4 * 4096, 0);
    printf("read-only: %d %d\n", a, b);
    ftruncate(fd, 8192);
    pwrite(fd, "AGAIN", 5, 4096);
    b = touch(q + 4096, 0);
    printf("grown back: %d '%c'\n", b, b ? '?' : q[4096]);
    unlink("/tmp/gvt_past_eof");
    return 0;
}

static const char *map_err(void *r) { return r == MAP_FAILED ? strerrorname_np(errno) : "ok"; }

static char at(char *m) { return m == MAP_FAILED ? '?' : *m; }

static int mremap_object(void)
{
    signal(SIGBUS, on_touch_fault);
    signal(SIGSEGV, on_touch_fault);
    long P = 4096;
    char *room = mmap(NULL, 6 * P, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    char *m = mmap(room, 2 * P, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    memset(m, 'a', P);
    memset(m + P, 'b', P);
    printf("shrunk: %s\n", map_err(mremap(m, 2 * P, P, 0)));
    char *n = mremap(m, P, 3 * P, MREMAP_MAYMOVE | MREMAP_FIXED, m + P);
    int third = touch(n + 2 * P, 0);
    printf("grown and moved: %s, pages '%c' '%c', the third %d\n", map_err(n), n[0], n[P], third);
    char *g = mremap(n, 3 * P, 4 * P, MREMAP_MAYMOVE);
    printf("grown again: %s, the fourth %d\n", map_err(g), touch(g + 3 * P, 1));
    char *s = mmap(NULL, 2 * P, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    s[0] = 'x', s[P] = 'y';
    printf("a copy in place: %s\n", map_err(mremap(s, 0, P, 0)));
    char *d = mremap(s, 0, 2 * P, MREMAP_MAYMOVE);
    printf("a copy: %s, elsewhere %d, '%c' '%c'\n", map_err(d), d != s, at(d), d == MAP_FAILED ? '?' : d[P]);
    if (d == MAP_FAILED)
        return 0;
    d[0] = 'z';
    printf("written through the copy: '%c', the original still mapped %d\n", s[0], touch(s + P, 0));
    char *d2 = mremap(s + P, 0, 2 * P, MREMAP_MAYMOVE);
    printf("a copy from the second page: %s '%c', past the object %d\n", map_err(d2), at(d2),
           d2 == MAP_FAILED ? -1 : touch(d2 + P, 0));
    char *priv = mmap(NULL, P, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    printf("a copy of private memory: %s\n", map_err(mremap(priv, 0, P, MREMAP_MAYMOVE)));
    char *dst = mmap(NULL, 2 * P, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    char *f = mremap(s, 0, 2 * P, MREMAP_MAYMOVE | MREMAP_FIXED, dst);
    printf("a copy at a fixed place: %s %d '%c'\n", map_err(f), f == dst, at(f));
    fflush(stdout);
    pid_t c = fork();
    if (c == 0) {
        s[P] = 'C';
        _exit(0);
    }
    waitpid(c, NULL, 0);
    printf("a child's write: '%c' '%c'\n", d[P], f == MAP_FAILED ? '?' : f[P]);
    FILE *maps = fopen("/proc/self/maps", "r");
    char line[256];
    while (fgets(line, sizeof line, maps))
        if (strstr(line, "/dev/zero")) {   /* perms and offset: one line per mapping, as Linux merges */
            char *perms = strchr(line, ' ') + 1;
            printf("%.14s\n", perms);
        }
    return 0;
}

static int large_read(void)
{
    size_t size = 40 << 20;
    char *data = malloc(size), *back = malloc(size + 4096);
    for (size_t i = 0; i < size; i++)
        data[i] = (char)(i * 7 + (i >> 12));
    int fd = open("/tmp/gvt_large", O_RDWR | O_CREAT | O_TRUNC, 0600);
    printf("one write: %ld\n", (long)write(fd, data, size));
    long r = pread(fd, back, size + 4096, 0);
    printf("one pread: %ld, the same bytes %d\n", r, r == (long)size && !memcmp(data, back, size));
    lseek(fd, 0, SEEK_SET);
    memset(back, 0, size);
    r = read(fd, back, size);
    printf("one read: %ld, the same bytes %d\n", r, r == (long)size && !memcmp(data, back, size));
    memset(back, 0, size);
    struct iovec iov[3] = {{back, 24 << 20}, {NULL, 0}, {back + (24 << 20), 16 << 20}};
    r = preadv(fd, iov, 3, 0);
    printf("one preadv: %ld, the same bytes %d\n", r, r == (long)size && !memcmp(data, back, size));
    struct iovec bad[2] = {{back, 20 << 20}, {(void *)8, 4096}};
    lseek(fd, 0, SEEK_SET);
    r = readv(fd, bad, 2);
    printf("readv with a bad second iovec: %ld, offset then %ld\n", r, (long)lseek(fd, 0, SEEK_CUR));
    unlink("/tmp/gvt_large");
    int zero = open("/dev/zero", O_RDONLY), urandom = open("/dev/urandom", O_RDONLY);
    memset(back, 1, size);
    r = read(zero, back, size);
    size_t nonzero = 0;
    for (size_t i = 0; i < size; i++)
        nonzero += back[i] != 0;
    printf("one read of /dev/zero: %ld, bytes not zero %zu\n", r, nonzero);
    memset(back, 0, size);
    r = read(urandom, back + 1, size);
    nonzero = 0;
    for (size_t i = 1; i <= size; i++)
        nonzero += back[i] != 0;
    printf("one read of /dev/urandom: %ld, mostly not zero %d\n", r, nonzero > size / 2);
    return 0;
}

static void show_ids(const char *what)
{
    char line[256], prm[32] = "", eff[32] = "";
    FILE *f = fopen("/proc/self/status", "r");
    printf("%s:", what);
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = 0;
        if (!strncmp(line, "Uid:", 4) || !strncmp(line, "Gid:", 4))
            printf(" [%s]", line);
        sscanf(line, "CapPrm: %31s", prm);
        sscanf(line, "CapEff: %31s", eff);
    }
    fclose(f);
    printf(" effective capabilities: %s\n", !strcmp(prm, eff) ? "all permitted" : strtoul(eff, NULL, 16) ? "some" : "none");
}

static int setid_saved(void)
{
    long r;
    r = syscall(SYS_setresgid, -1, 1, -1);
    printf("setresgid(-1, 1, -1) = %ld %s\n", r, err(r));
    show_ids("egid 1");
    r = syscall(SYS_setresuid, -1, 1, -1);
    printf("setresuid(-1, 1, -1) = %ld %s\n", r, err(r));
    show_ids("euid 1");
    r = syscall(SYS_setgid, 0);
    printf("setgid(0) without CAP_SETGID = %ld %s\n", r, err(r));
    r = syscall(SYS_setuid, 2);
    printf("setuid(2) = %ld %s\n", r, err(r));
    r = syscall(SYS_setuid, 0);
    printf("setuid(0), the real and saved id = %ld %s\n", r, err(r));
    show_ids("setuid 0");
    r = syscall(SYS_setgid, 1);
    printf("setgid(1) = %ld %s\n", r, err(r));
    show_ids("setgid 1");
    return 0;
}

/* A connected TCP pair on loopback: the accepted end, and the client's in *client. */
static int loopback_pair(int *client)
{
    int listener = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    bind(listener, (void *)&a, len);
    listen(listener, 8);
    getsockname(listener, (void *)&a, &len);
    *client = socket(AF_INET, SOCK_STREAM, 0);
    connect(*client, (void *)&a, len);
    int server = accept(listener, NULL, NULL);
    close(listener);
    return server;
}

/* An epoll instance watching a new pipe's read end. */
static int epoll_of_a_pipe(void)
{
    int ep = epoll_create1(0), p[2];
    pipe(p);
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = p[0]};
    epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev);
    return ep;
}

static int waiting_epoll, waiting_got;
static struct epoll_event waiting_events[4];
static volatile long waiting_tid;

static void *epoll_waiter(void *arg)
{
    waiting_tid = syscall(SYS_gettid);
    waiting_got = epoll_wait(waiting_epoll, waiting_events, 4, -1);
    return NULL;
}

static int epoll_add_waiting(void)
{
    waiting_epoll = epoll_of_a_pipe();
    int client, server = loopback_pair(&client);
    struct epoll_event ev;
    pthread_t th;
    pthread_create(&th, NULL, epoll_waiter, NULL);
    for (int i = 0; i < 20000 && !(waiting_tid && sleeping(waiting_tid)); i++)
        usleep(1000);   /* until the waiter sleeps in epoll_wait */
    ev.events = EPOLLIN | EPOLLET;
    ev.data.fd = server;
    epoll_ctl(waiting_epoll, EPOLL_CTL_ADD, server, &ev);
    write(client, "x", 1);
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 20;   /* natively at once; a lost wake-up would wait forever */
    if (pthread_timedjoin_np(th, NULL, &until)) {
        printf("the waiter still waits\n");
        return 0;
    }
    printf("the waiter got %d event(s), the socket's %d\n", waiting_got,
           waiting_got == 1 && waiting_events[0].data.fd == server);
    return 0;
}

static volatile long prof_busy_tid, prof_on_busy, prof_elsewhere;
static volatile int prof_stop;

static void on_prof(int sig)
{
    if (syscall(SYS_gettid) == prof_busy_tid)
        prof_on_busy++;
    else
        prof_elsewhere++;
}

static void *spin(void *arg)
{
    prof_busy_tid = syscall(SYS_gettid);
    while (!prof_stop && prof_on_busy + prof_elsewhere < 40)
        ;
    return NULL;
}

static int sigprof_busy(void)
{
    signal(SIGPROF, on_prof);
    struct itimerval it = {{0, 5000}, {0, 5000}};
    setitimer(ITIMER_PROF, &it, NULL);
    pthread_t th;
    pthread_create(&th, NULL, spin, NULL);
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 60;   /* 40 samples of 5 ms of CPU: well under a second natively */
    if (pthread_timedjoin_np(th, NULL, &until)) {
        prof_stop = 1;
        pthread_join(th, NULL);
    }
    struct itimerval off = {{0, 0}, {0, 0}};
    setitimer(ITIMER_PROF, &off, NULL);
    printf("40 samples: %d, most on the busy thread: %d\n", prof_on_busy + prof_elsewhere >= 40,
           prof_on_busy > 3 * prof_elsewhere);
    return 0;
}

static int poll_epoll_client;

static void still_waits(int sig)
{
    static const char msg[] = "still waiting\n";
    write(1, msg, sizeof msg - 1);
    _exit(0);
}

static void *write_soon(void *arg)
{
    while (!(waiting_tid && sleeping(waiting_tid)))
        usleep(1000);   /* the poller sleeps in poll */
    write(poll_epoll_client, "x", 1);
    return NULL;
}

static int poll_epoll(void)
{
    int ep = epoll_of_a_pipe(), server = loopback_pair(&poll_epoll_client);
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = server};
    epoll_ctl(ep, EPOLL_CTL_ADD, server, &ev);
    waiting_tid = syscall(SYS_gettid);
    pthread_t th;
    pthread_create(&th, NULL, write_soon, NULL);
    signal(SIGALRM, still_waits);
    alarm(20);   /* natively at once; a lost wake-up would wait forever */
    struct pollfd pf = {.fd = ep, .events = POLLIN};
    int n = poll(&pf, 1, -1);
    printf("poll of the epoll: %d, revents %x\n", n, pf.revents);
    pthread_join(th, NULL);
    char c;
    read(server, &c, 1);
    int outer = epoll_create1(0);
    ev.data.fd = ep;
    epoll_ctl(outer, EPOLL_CTL_ADD, ep, &ev);
    pthread_create(&th, NULL, write_soon, NULL);
    n = epoll_wait(outer, &ev, 1, -1);
    printf("an epoll of the epoll: %d, the inner one's %d\n", n, ev.data.fd == ep);
    pthread_join(th, NULL);
    return 0;
}

static int readv_bad_tail(void)
{
    char *buf = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    mprotect(buf + 4096, 4096, PROT_NONE);
    int fd = open("/tmp/gvt_bad_tail", O_RDWR | O_CREAT | O_TRUNC, 0600);
    write(fd, "hello world", 11);
    lseek(fd, 0, SEEK_SET);
    struct iovec one = {buf + 4095, 10}, big = {buf + 4095, 4096}, none = {buf + 4096, 10};
    long r = readv(fd, &one, 1);
    printf("readv, one byte mapped: %ld %s '%c', offset %ld\n", r, err(r), buf[4095], (long)lseek(fd, 0, SEEK_CUR));
    r = preadv(fd, &big, 1, 4);
    printf("preadv of a page, one byte mapped: %ld %s '%c'\n", r, err(r), buf[4095]);
    r = readv(fd, &none, 1);
    printf("readv, nothing mapped: %ld %s, offset %ld\n", r, err(r), (long)lseek(fd, 0, SEEK_CUR));
    struct iovec two[2] = {{buf + 4090, 3}, {buf + 4095, 8}};
    r = readv(fd, two, 2);
    printf("readv, the second iovec's tail unmapped: %ld %s '%.4s'\n", r, err(r), buf + 4090);
    unlink("/tmp/gvt_bad_tail");
    return 0;
}

/* The calling thread's utime + stime in ticks, as its /proc/thread-self/stat says. */
static long thread_self_ticks(void)
{
    char line[1024];
    FILE *f = fopen("/proc/thread-self/stat", "r");
    fgets(line, sizeof line, f);
    fclose(f);
    long utime = 0, stime = 0;
    sscanf(strrchr(line, ')') + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %ld %ld", &utime, &stime);
    return utime + stime;
}

static int thread_cpu(void)
{
    struct timespec start, now;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &start);
    do   /* 300 ms of CPU */
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
    while ((now.tv_sec - start.tv_sec) * 1000000000L + now.tv_nsec - start.tv_nsec < 300000000L);
    struct rusage ru;
    getrusage(RUSAGE_THREAD, &ru);
    long ru_ms = (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000 + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1000;
    printf("RUSAGE_THREAD at least 250 ms: %d; /proc/thread-self/stat at least 25 ticks: %d\n",
           ru_ms >= 250, thread_self_ticks() >= 25);
    return 0;
}

static long long clock_ns(clockid_t c)
{
    struct timespec t;
    clock_gettime(c, &t);
    return t.tv_sec * 1000000000LL + t.tv_nsec;
}

static void *spin_own_200ms(void *arg)
{
    long long start = clock_ns(CLOCK_THREAD_CPUTIME_ID);
    while (clock_ns(CLOCK_THREAD_CPUTIME_ID) - start < 200000000LL)
        for (volatile int i = 0; i < 100000; i++)
            ;
    clockid_t c;
    pthread_getcpuclockid(pthread_self(), &c);
    long long mine = clock_ns(c);
    struct rusage ru;
    getrusage(RUSAGE_THREAD, &ru);
    double r = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
    long ticks = thread_self_ticks();
    *(int *)arg = (mine >= 200000000LL) + 2 * (mine < 400000000LL) + 4 * (r >= 0.19 && r < 0.4) +
                  8 * (ticks >= 18 && ticks < 40);
    return 0;
}

/* Each thread's CPU clock is its own (ClockGettime.CputimeId): four threads spin 200 ms of their own
 * CPU time each, so the process's grows by 800 ms, and each reads about 200 ms through
 * CLOCK_THREAD_CPUTIME_ID, pthread_getcpuclockid, RUSAGE_THREAD and /proc/thread-self/stat; the
 * idle main thread little. */
static int thread_cpu_own(void)
{
    long long p0 = clock_ns(CLOCK_PROCESS_CPUTIME_ID);
    pthread_t t[4];
    int ok[4];
    for (int i = 0; i < 4; i++)
        pthread_create(&t[i], 0, spin_own_200ms, &ok[i]);
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], 0);
        printf("thread %d: own clock >= 200 ms %d, < 400 ms %d, RUSAGE_THREAD about it %d, "
               "/proc/thread-self/stat too %d\n", i, ok[i] & 1, ok[i] >> 1 & 1, ok[i] >> 2 & 1, ok[i] >> 3 & 1);
    }
    printf("process grew >= 800 ms: %d\n", clock_ns(CLOCK_PROCESS_CPUTIME_ID) - p0 >= 800000000LL);
    printf("main thread's own clock < 100 ms: %d\n", clock_ns(CLOCK_THREAD_CPUTIME_ID) < 100000000LL);
    return 0;
}

static volatile int other_done, other_stop;
static int other_pipe[2];
static long long other_own_at_stop;

static void *spin_then_block(void *arg)
{
    (void)arg;
    long long start = clock_ns(CLOCK_THREAD_CPUTIME_ID);
    while (clock_ns(CLOCK_THREAD_CPUTIME_ID) - start < 200000000LL)
        for (volatile int i = 0; i < 100000; i++)
            ;
    other_done = 1;
    char c;
    read(other_pipe[0], &c, 1);   /* blocked until main is done reading its clock */
    return 0;
}

static void *spin_until_stopped(void *arg)
{
    (void)arg;
    while (!other_stop)
        for (volatile int i = 0; i < 10000; i++)
            ;
    other_own_at_stop = clock_ns(CLOCK_THREAD_CPUTIME_ID);
    return 0;
}

/* Another thread's CPU clock (pthread_getcpuclockid: a JVM's ThreadMXBean reads its threads' so) is
 * that thread's own, not the process's: one that spun 200 ms and now waits in read reads about
 * 200 ms while a second thread spins on; the spinning one's clock, read from outside, only grows,
 * and stays at most what it then reads of itself. */
static int thread_cpu_other(void)
{
    pthread_t a, b;
    clockid_t ca, cb;
    pipe(other_pipe);
    pthread_create(&b, 0, spin_until_stopped, 0);
    pthread_create(&a, 0, spin_then_block, 0);
    pthread_getcpuclockid(a, &ca);
    pthread_getcpuclockid(b, &cb);
    long long waited = 0;
    while (!other_done && waited < 60000) {
        struct timespec ms = {0, 1000000};
        nanosleep(&ms, 0);
        waited++;
    }
    long long a_ns = clock_ns(ca), last = 0, grew = 1;
    printf("waiting thread's clock >= 200 ms %d, < 400 ms %d\n", a_ns >= 200000000LL, a_ns < 400000000LL);
    for (int i = 0; i < 50 && last < 300000000LL; i++) {   /* the spinner's clock, read as it runs */
        struct timespec ms = {0, 20000000};
        nanosleep(&ms, 0);
        long long now = clock_ns(cb);
        grew &= now >= last;
        last = now;
    }
    long long after = clock_ns(CLOCK_PROCESS_CPUTIME_ID);
    other_stop = 1;
    pthread_join(b, 0);
    printf("spinning thread's clock only grew %d, below the process's %d, at most its own later %d\n", (int)grew,
           last < after, last <= other_own_at_stop);
    write(other_pipe[1], "x", 1);
    pthread_join(a, 0);
    return 0;
}

static volatile int prof_a, prof_b, prof_proc, cpu_timer_stop;
static volatile pid_t tid_a, tid_b;

static void on_thread_prof(int sig)
{
    (void)sig;
    pid_t me = gettid();
    if (me == tid_a)
        prof_a++;
    else if (me == tid_b)
        prof_b++;
}

static void on_proc_timer(int sig) { (void)sig; prof_proc++; }

static timer_t own_cpu_timer(void)   /* SIGPROF to this thread each 10 ms of its own CPU time */
{
    struct sigevent ev = {.sigev_notify = SIGEV_THREAD_ID, .sigev_signo = SIGPROF};
    ev._sigev_un._tid = gettid();
    timer_t id;
    if (timer_create(CLOCK_THREAD_CPUTIME_ID, &ev, &id))
        return 0;
    struct itimerspec its = {{0, 10000000}, {0, 10000000}};
    timer_settime(id, 0, &its, 0);
    return id;
}

static void *cpu_timer_sleeper(void *arg)
{
    (void)arg;
    tid_a = gettid();
    timer_t id = own_cpu_timer();
    for (int i = 0; i < 30 && !cpu_timer_stop; i++) {   /* 300 ms asleep: no CPU time, no signal */
        struct timespec ms = {0, 10000000};
        nanosleep(&ms, 0);
    }
    timer_delete(id);
    return 0;
}

static void *cpu_timer_spinner(void *arg)
{
    (void)arg;
    tid_b = gettid();
    timer_t id = own_cpu_timer();
    long long start = clock_ns(CLOCK_THREAD_CPUTIME_ID);
    while (clock_ns(CLOCK_THREAD_CPUTIME_ID) - start < 200000000LL)
        for (volatile int i = 0; i < 10000; i++)
            ;
    timer_delete(id);
    return 0;
}

/* POSIX timers on CPU clocks count CPU time, not wall time (Go's profiler arms one per thread on
 * CLOCK_THREAD_CPUTIME_ID): a sleeping thread's timer stays quiet while a spinning one's fires
 * about every 10 ms of its CPU time; a process timer does not fire while the process sleeps, and
 * its remaining time stands still meanwhile; then spinning makes it fire. */
static int cpu_timers(void)
{
    signal(SIGPROF, on_thread_prof);
    pthread_t a, b;
    pthread_create(&a, 0, cpu_timer_sleeper, 0);
    pthread_create(&b, 0, cpu_timer_spinner, 0);
    pthread_join(b, 0);
    cpu_timer_stop = 1;
    pthread_join(a, 0);
    printf("sleeping thread's timer: %s; spinning thread's: %s\n", prof_a <= 2 ? "quiet" : "fired",
           prof_b >= 5 && prof_b <= 25 ? "about every 10 ms" : "other");
    signal(SIGALRM, on_proc_timer);
    timer_t id;
    struct sigevent ev = {.sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGALRM};
    timer_create(CLOCK_PROCESS_CPUTIME_ID, &ev, &id);
    struct itimerspec its = {{0, 0}, {0, 50000000}}, left;
    timer_settime(id, 0, &its, 0);
    struct timespec nap = {0, 200000000};
    nanosleep(&nap, 0);
    timer_gettime(id, &left);
    printf("asleep: fired %d, still more than 30 ms left %d\n", prof_proc, left.it_value.tv_nsec > 30000000);
    long long start = clock_ns(CLOCK_PROCESS_CPUTIME_ID);
    while (!prof_proc && clock_ns(CLOCK_PROCESS_CPUTIME_ID) - start < 5000000000LL)
        for (volatile int i = 0; i < 10000; i++)
            ;
    printf("spinning: fired %d after at least 30 ms of CPU %d\n", prof_proc,
           clock_ns(CLOCK_PROCESS_CPUTIME_ID) - start >= 30000000LL);
    return 0;
}

int main(int argc, char **argv)
{
    const char *c = argc > 1 ? argv[1] : "";
    if (!strcmp(c, "cpu_timers")) return cpu_timers();
    if (!strcmp(c, "thread_cpu_other")) return thread_cpu_other();
    if (!strcmp(c, "writev_gaps")) return writev_gaps();
    if (!strcmp(c, "pipe_close_reader")) return pipe_close_reader();
    if (!strcmp(c, "pipe_null_read")) return pipe_null_read();
    if (!strcmp(c, "waitid_zombie")) return waitid_zombie();
    if (!strcmp(c, "clone3_signal")) return clone3_signal();
    if (!strcmp(c, "proc_tid")) return proc_tid();
    if (!strcmp(c, "mremap_shared")) return mremap_shared();
    if (!strcmp(c, "dir_access")) return dir_access();
    if (!strcmp(c, "fixed_noreplace")) return fixed_noreplace();
    if (!strcmp(c, "pdeathsig_thread")) return pdeathsig_thread();
    if (!strcmp(c, "traceme_thread")) return traceme_thread();
    if (!strcmp(c, "comm_write")) return comm_write();
    if (!strcmp(c, "preadv_espipe")) return preadv_espipe();
    if (!strcmp(c, "fsync_stdout")) return fsync_stdout();
    if (!strcmp(c, "fork_affinity")) return fork_affinity();
    if (!strcmp(c, "mlock_prot_none")) return mlock_prot_none();
    if (!strcmp(c, "sigxfsz_sender")) return sigxfsz_sender();
    if (!strcmp(c, "private_past_eof")) return private_past_eof();
    if (!strcmp(c, "mremap_object")) return mremap_object();
    if (!strcmp(c, "large_read")) return large_read();
    if (!strcmp(c, "setid_saved")) return setid_saved();
    if (!strcmp(c, "epoll_add_waiting")) return epoll_add_waiting();
    if (!strcmp(c, "sigprof_busy")) return sigprof_busy();
    if (!strcmp(c, "poll_epoll")) return poll_epoll();
    if (!strcmp(c, "readv_bad_tail")) return readv_bad_tail();
    if (!strcmp(c, "thread_cpu")) return thread_cpu();
    if (!strcmp(c, "thread_cpu_own")) return thread_cpu_own();
    if (!strcmp(c, "tmpfs_full_mmap")) return tmpfs_full_mmap();
    if (!strcmp(c, "vsyscall_fault")) return vsyscall_fault_caller();
    if (!strcmp(c, "special_mprotect")) return special_mprotect();
    fprintf(stderr, "unknown case %s\n", c);
    return 2;
}
