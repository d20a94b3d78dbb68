/* seccomp user notification, run natively and in the sandbox (tests/test_seccomp.py compares):
 * a thread under a filter with a listener (SECCOMP_FILTER_FLAG_NEW_LISTENER), supervised by the
 * main thread through the listener's ioctls and poll. */
#include "seccomp_util.h"

static volatile int listener = -1, listener2 = -1;
static volatile pid_t target_tid;
static long results[9];
static volatile int usr1_count;
static int to_main[2], to_target[2];

static long notify_filter(unsigned flags) {
    struct sock_filter f[] = {
        LD(NR_OFF), BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_getppid, 3, 0),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_dup, 0, 3), LD(ARG_LO(0)), BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 100, 0, 1),
        RET(SECCOMP_RET_USER_NOTIF), RET(SECCOMP_RET_ALLOW),
    };
    return install_flags(f, N(f), flags);
}

static long result_of(long r) { return r < 0 ? -errno : r; }

static void *notify_target(void *arg) {
    (void)arg;
    char c;
    sigset_t alrm;
    sigemptyset(&alrm);
    sigaddset(&alrm, SIGALRM);
    pthread_sigmask(SIG_BLOCK, &alrm, NULL);   /* main's RECV is what the timer interrupts */
    target_tid = gettid();
    listener = notify_filter(SECCOMP_FILTER_FLAG_NEW_LISTENER);
    write(to_main[1], "l", 1);
    read(to_target[0], &c, 1);            /* main says go */
    results[0] = result_of(syscall(SYS_getppid, 1, 2, 3, 0, 0, 0));
    results[1] = result_of(syscall(SYS_getppid));
    results[2] = result_of(syscall(SYS_getppid));       /* CONTINUE: the real answer */
    long fd = syscall(SYS_dup, 100);
    struct stat st;
    results[3] = fd >= 0 && fstat(fd, &st) == 0 && S_ISFIFO(st.st_mode);
    results[4] = result_of(syscall(SYS_getppid));          /* interrupted by SIGUSR1, restarted */
    results[5] = result_of(notify_filter(SECCOMP_FILTER_FLAG_NEW_LISTENER));   /* a second listener */
    results[6] = result_of(syscall(SYS_getppid));          /* the listener closes while we wait */
    results[7] = result_of(syscall(SYS_getppid));          /* no listener any more */
    listener2 = notify_filter(SECCOMP_FILTER_FLAG_NEW_LISTENER | SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV);
    write(to_main[1], "2", 1);
    results[8] = result_of(syscall(SYS_getppid));          /* killable wait: SIGUSR1 does not end it */
    return NULL;
}

static struct seccomp_notif notif;

static long notif_ioctl(unsigned long cmd, void *arg) { return ioctl(listener, cmd, arg); }

static int receive(void) {
    memset(&notif, 0, sizeof notif);
    return notif_ioctl(SECCOMP_IOCTL_NOTIF_RECV, &notif);
}

static long respond(long val, int error, unsigned flags) {
    struct seccomp_notif_resp resp = {notif.id, val, error, flags};
    return notif_ioctl(SECCOMP_IOCTL_NOTIF_SEND, &resp);
}

static short poll_now(int fd, short events, int timeout) {
    struct pollfd p = {fd, events, 0};
    return poll(&p, 1, timeout) < 0 ? -1 : p.revents;
}

static void on_usr1_restart(int sig) { (void)sig; usr1_count++; }

static void notify_bad_calls(void) {
    struct seccomp_notif_resp resp = {12345, 0, 0, 0};
    __u64 id = 12345;
    memset(&notif, 0, sizeof notif);
    notif.pid = 1;
    say("RECV into a dirty buffer: %s\n", err(notif_ioctl(SECCOMP_IOCTL_NOTIF_RECV, &notif)));
    say("RECV bad pointer: %s\n", err(notif_ioctl(SECCOMP_IOCTL_NOTIF_RECV, (void *)8)));
    say("SEND unknown id: %s\n", err(notif_ioctl(SECCOMP_IOCTL_NOTIF_SEND, &resp)));
    resp.flags = 2;
    say("SEND bad flags: %s\n", err(notif_ioctl(SECCOMP_IOCTL_NOTIF_SEND, &resp)));
    resp.flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE, resp.val = 1;
    say("SEND CONTINUE with a value: %s\n", err(notif_ioctl(SECCOMP_IOCTL_NOTIF_SEND, &resp)));
    say("ID_VALID unknown: %s\n", err(notif_ioctl(SECCOMP_IOCTL_NOTIF_ID_VALID, &id)));
    say("unknown ioctl: %s\n", err(notif_ioctl(0x2199, NULL)));
    say("read: %s\n", err(read(listener, &id, 8)));
    say("poll with nothing pending: %d\n", poll_now(listener, POLLIN | POLLOUT, 0));
    handle(SIGALRM, on_usr1_restart, 0);   /* (with SA_RESTART, Linux 6.6 and later restart RECV) */
    struct itimerval it = {{0, 0}, {0, 20000}};
    setitimer(ITIMER_REAL, &it, NULL);
    say("RECV interrupted by a signal: %s\n", err(receive()));
}

static void section_notify(void) {
    nnp();
    pipe(to_main);
    pipe(to_target);
    char c;
    pthread_t t;
    pthread_create(&t, NULL, notify_target, NULL);
    read(to_main[0], &c, 1);
    say("listener: %s, close-on-exec %d\n", listener >= 0 ? "a descriptor" : err(listener),
        (fcntl(listener, F_GETFD) & FD_CLOEXEC) != 0);
    notify_bad_calls();
    write(to_target[1], "g", 1);

    say("poll: %d\n", poll_now(listener, POLLIN | POLLOUT, -1));
    long r = receive();
    say("RECV: %s; nr %d arch 0x%x args %llu %llu %llu; pid is the thread's %d\n", err(r), notif.data.nr,
        notif.data.arch, notif.data.args[0], notif.data.args[1], notif.data.args[2], notif.pid == target_tid);
    say("poll after RECV: %d\n", poll_now(listener, POLLIN | POLLOUT, 0));
    say("ID_VALID: %s\n", err(notif_ioctl(SECCOMP_IOCTL_NOTIF_ID_VALID, &notif.id)));
    say("SEND 4242: %s\n", err(respond(4242, 0, 0)));
    receive();
    say("SEND -EPERM: %s\n", err(respond(0, -EPERM, 0)));
    receive();
    say("SEND CONTINUE: %s\n", err(respond(0, 0, SECCOMP_USER_NOTIF_FLAG_CONTINUE)));
    receive();
    struct seccomp_notif_addfd addfd = {notif.id, SECCOMP_ADDFD_FLAG_SEND, to_main[1], 0, 0};
    say("dup(100): nr %d; ADDFD|SEND: %s\n", notif.data.nr, ioctl(listener, SECCOMP_IOCTL_NOTIF_ADDFD, &addfd) >= 0 ?
        "a descriptor" : err(-1));

    handle(SIGUSR1, on_usr1_restart, SA_RESTART);
    receive();
    __u64 first = notif.id;
    syscall(SYS_tgkill, getpid(), target_tid, SIGUSR1);
    say("poll after the target's restart: %d\n", poll_now(listener, POLLIN, -1));
    say("ID_VALID of the interrupted one: %s\n", err(notif_ioctl(SECCOMP_IOCTL_NOTIF_ID_VALID, &first)));
    receive();
    say("restarted call is a new notification: %d\n", notif.id != first);
    respond(7, 0, 0);

    say("poll before closing: %d\n", poll_now(listener, POLLIN, -1));
    receive();
    close(listener);
    read(to_main[0], &c, 1);
    say("second listener (WAIT_KILLABLE_RECV) after the first closed: %s\n",
        listener2 >= 0 ? "a descriptor" : err(listener2));
    listener = listener2;
    say("RECV: %s\n", err(receive()));
    int before = usr1_count;
    syscall(SYS_tgkill, getpid(), target_tid, SIGUSR1);
    say("SEND 11 after a signal to the received one: %s\n", err(respond(11, 0, 0)));
    pthread_join(t, NULL);
    say("its handler ran after: %d\n", usr1_count - before);
    say("poll after the target thread exited: %d\n", poll_now(listener2, 0, -1));
    results[2] = results[2] == getppid();
    for (int i = 0; i < 9; i++) say("target result %d: %ld\n", i, results[i]);
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    section_notify();
    return 0;
}
