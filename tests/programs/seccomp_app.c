/* seccomp(2) and PR_SET_SECCOMP for the application: filters, actions and modes, run natively
 * and in the sandbox (tests/test_seccomp.py compares the two). argv[1] names the section.
 * Built static: the errno section's filter denies openat, which a dynamic loader needs after exec. */
#include "seccomp_util.h"

static char *self;

/* -- errno: a denied openat, in the process, a forked child and an exec'd image ---------------- */
static void try_open(const char *who) {
    int fd = open("/etc/hostname", O_RDONLY);
    say("%s: open -> %s", who, err(fd));
    say(", PR_GET_SECCOMP %d, NoNewPrivs %d\n", prctl(PR_GET_SECCOMP, 0, 0, 0, 0),
        prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0));
}

static void section_errno(void) {
    nnp();
    say("install: %ld\n", deny(SYS_openat, SECCOMP_RET_ERRNO | EPERM));
    try_open("parent");
    pid_t pid = fork();
    if (pid == 0) { try_open("forked child"); _exit(0); }
    waitpid(pid, NULL, 0);
    pid = fork();
    if (pid == 0) {
        execl(self, self, "exec_helper", (char *)NULL);
        _exit(127);
    }
    int status;
    waitpid(pid, &status, 0);
    describe_status("exec'd child", status);
}

/* -- trap: SIGSYS with its siginfo ---------------------------------------------------------------- */
static volatile int t_signo, t_code, t_errno, t_syscall, t_addr_is_rip, t_rax;
static volatile unsigned t_arch;

static void on_sigsys(int sig, siginfo_t *si, void *ucv) {
    ucontext_t *uc = ucv;
    t_signo = si->si_signo; t_code = si->si_code; t_errno = si->si_errno;
    t_syscall = si->si_syscall; t_arch = si->si_arch;
    t_addr_is_rip = (unsigned long)si->si_call_addr == (unsigned long)uc->uc_mcontext.gregs[REG_RIP];
    t_rax = uc->uc_mcontext.gregs[REG_RAX];
}

static void trap_blocked(void) {
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, SIGSYS);
    sigprocmask(SIG_BLOCK, &s, NULL);
    deny(SYS_getppid, SECCOMP_RET_TRAP);
    ppid_call();
    say("blocked SIGSYS: still alive\n");
}

static void trap_ignored(void) {
    signal(SIGSYS, SIG_IGN);
    deny(SYS_getppid, SECCOMP_RET_TRAP);
    ppid_call();
    say("ignored SIGSYS: still alive\n");
}

static void trap_default(void) {
    signal(SIGSYS, SIG_DFL);
    deny(SYS_getppid, SECCOMP_RET_TRAP | 7);
    ppid_call();
}

static void section_trap(void) {
    nnp();
    handle(SIGSYS, (void (*)())on_sigsys, SA_SIGINFO);
    say("install: %ld\n", deny(SYS_getppid, SECCOMP_RET_TRAP | 0x42));
    long r = ppid_call();
    say("getppid returned %ld (nr %d)\n", r, SYS_getppid);
    say("siginfo: signo %d code %d errno 0x%x syscall %d arch 0x%x call_addr==rip %d; rax in frame %d\n",
        t_signo, t_code, t_errno, t_syscall, t_arch, t_addr_is_rip, t_rax);
    say("getpid still runs: %d\n", getpid() > 0);
    fflush(stdout);
    in_child("trap with SIGSYS blocked", trap_blocked);
    in_child("trap with SIGSYS ignored", trap_ignored);
    in_child("trap with SIGSYS default", trap_default);
}

/* -- kill: KILL_PROCESS, KILL_THREAD, unknown actions ---------------------------------------------- */
static void *call_ppid_thread(void *arg) {
    (void)arg;
    ppid_call();
    say("thread survived its syscall\n");
    return NULL;
}

static void kill_process_from_thread(void) {
    deny(SYS_getppid, SECCOMP_RET_KILL_PROCESS);
    pthread_t t;
    pthread_create(&t, NULL, call_ppid_thread, NULL);
    pthread_join(t, NULL);
    say("main survived KILL_PROCESS\n");
}

static void kill_thread_in_thread(void) {
    deny(SYS_getppid, SECCOMP_RET_KILL_THREAD);
    pthread_t t;
    pthread_create(&t, NULL, call_ppid_thread, NULL);
    pthread_join(t, NULL);
    say("main survived its thread's KILL_THREAD\n");
    syscall(SYS_exit_group, 7);
}

static void kill_thread_alone(void) { deny(SYS_getppid, SECCOMP_RET_KILL_THREAD); ppid_call(); }
static void kill_unknown_action(void) { deny(SYS_getppid, 0x00010000); ppid_call(); }
static void kill_unknown_high(void) { deny(SYS_getppid, 0x7ffe0000); ppid_call(); }

static void kill_div_by_zero(void) {
    struct sock_filter f[] = {
        LD(NR_OFF), BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_getppid, 1, 0), RET(SECCOMP_RET_ALLOW),
        BPF_STMT(BPF_LDX | BPF_IMM, 0), BPF_STMT(BPF_LD | BPF_IMM, SECCOMP_RET_ALLOW),
        BPF_STMT(BPF_ALU | BPF_DIV | BPF_X, 0), BPF_STMT(BPF_RET | BPF_A, 0),
    };
    install(f, N(f));
    ppid_call();
}

static void section_kill(void) {
    nnp();
    in_child("KILL_PROCESS from a thread", kill_process_from_thread);
    in_child("KILL_THREAD in a second thread", kill_thread_in_thread);
    in_child("KILL_THREAD in the only thread", kill_thread_alone);
    in_child("unknown action 0x00010000", kill_unknown_action);
    in_child("unknown action 0x7ffe0000", kill_unknown_high);
    in_child("division by X=0 returns 0", kill_div_by_zero);
}

/* -- strict mode ----------------------------------------------------------------------------------- */
static void strict_then_getpid(void) {
    prctl(PR_SET_SECCOMP, SECCOMP_MODE_STRICT);
    say("strict: write works\n");
    syscall(SYS_getpid);
    say("strict: getpid survived\n");
}

static void strict_then_exit(void) {
    syscall(SYS_seccomp, SECCOMP_SET_MODE_STRICT, 0, NULL);
    syscall(SYS_exit, 3);
}

static void strict_then_exit_group(void) {
    prctl(PR_SET_SECCOMP, SECCOMP_MODE_STRICT, 0xdead, 0, 0);   /* strict mode ignores the pointer */
    syscall(SYS_exit_group, 4);
}

static void strict_then_prctl(void) {
    prctl(PR_SET_SECCOMP, SECCOMP_MODE_STRICT);
    prctl(PR_GET_SECCOMP);
}

static void filter_then_strict(void) {
    nnp();
    deny(SYS_getppid, SECCOMP_RET_ERRNO | 1);
    say("filter then strict: %s\n", err(prctl(PR_SET_SECCOMP, SECCOMP_MODE_STRICT)));
    say("filter then strict (seccomp): %s\n", err(syscall(SYS_seccomp, SECCOMP_SET_MODE_STRICT, 0, NULL)));
}

static void strict_then_filter(void) {
    nnp();
    struct sock_filter f[] = {RET(SECCOMP_RET_ALLOW)};
    struct sock_fprog prog = {1, f};
    prctl(PR_SET_SECCOMP, SECCOMP_MODE_STRICT);
    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog);   /* prctl is not allowed: killed */
}

static void section_strict(void) {
    say("strict with flags: %s\n", err(syscall(SYS_seccomp, SECCOMP_SET_MODE_STRICT, 1, NULL)));
    say("strict with args: %s\n", err(syscall(SYS_seccomp, SECCOMP_SET_MODE_STRICT, 0, (void *)8)));
    in_child("strict then getpid", strict_then_getpid);
    in_child("strict then exit(3)", strict_then_exit);
    in_child("strict then exit_group(4)", strict_then_exit_group);
    in_child("strict then PR_GET_SECCOMP", strict_then_prctl);
    in_child("filter then strict", filter_then_strict);
    in_child("strict then filter", strict_then_filter);

    /* A strict child (it says so through a pipe, then waits in read): its /proc status says mode 1. */
    int p[2], ready[2];
    pipe(p);
    pipe(ready);
    pid_t pid = fork();
    if (pid == 0) {
        char c;
        prctl(PR_SET_SECCOMP, SECCOMP_MODE_STRICT);
        write(ready[1], "s", 1);
        read(p[0], &c, 1);
        syscall(SYS_exit, c);
    }
    char c, path[64];
    read(ready[0], &c, 1);
    snprintf(path, sizeof path, "/proc/%d/status", pid);
    status_lines("strict child", path);
    write(p[1], "\5", 1);
    int status;
    waitpid(pid, &status, 0);
    describe_status("strict reader", status);
}

/* -- tsync ------------------------------------------------------------------------------------------ */
static pthread_barrier_t bar;
static volatile long thread_result;
static volatile pid_t thread_tid;

static void *tsync_thread(void *arg) {
    (void)arg;
    thread_tid = gettid();
    pthread_barrier_wait(&bar);          /* 1: main installs with TSYNC */
    pthread_barrier_wait(&bar);          /* 2 */
    thread_result = ppid_call() < 0 ? errno : 0;
    pthread_barrier_wait(&bar);          /* 3: main reads the result */
    pthread_barrier_wait(&bar);          /* 3b: and this thread's /proc status (one filter) */
    deny(SYS_getpgrp, SECCOMP_RET_ERRNO | ENOENT);   /* now this thread's stack diverges */
    pthread_barrier_wait(&bar);          /* 4: main tries TSYNC again */
    pthread_barrier_wait(&bar);          /* 5 */
    return NULL;
}

static void section_tsync(void) {
    nnp();
    pthread_barrier_init(&bar, NULL, 2);
    pthread_t t;
    pthread_create(&t, NULL, tsync_thread, NULL);
    pthread_barrier_wait(&bar);
    say("TSYNC install: %ld\n", deny_flags(SYS_getppid, SECCOMP_RET_ERRNO | EACCES, SECCOMP_FILTER_FLAG_TSYNC));
    pthread_barrier_wait(&bar);
    pthread_barrier_wait(&bar);
    say("thread's getppid: %s\n", strerrorname_np(thread_result) ? strerrorname_np(thread_result) : "ok");
    char path[64];
    snprintf(path, sizeof path, "/proc/self/task/%d/status", thread_tid);
    status_lines("synced thread", path);
    pthread_barrier_wait(&bar);          /* 3b: only now may the thread add a filter of its own */
    pthread_barrier_wait(&bar);
    long r = deny_flags(SYS_getsid, SECCOMP_RET_ERRNO | 1, SECCOMP_FILTER_FLAG_TSYNC);
    say("TSYNC with a diverging thread: returns its tid %d\n", r == thread_tid);
    say("TSYNC|TSYNC_ESRCH: %s\n", err(deny_flags(SYS_getsid, SECCOMP_RET_ERRNO | 1,
                                                  SECCOMP_FILTER_FLAG_TSYNC | SECCOMP_FILTER_FLAG_TSYNC_ESRCH)));
    say("TSYNC|NEW_LISTENER: %s\n", err(deny_flags(SYS_getsid, SECCOMP_RET_ERRNO | 1,
                                                   SECCOMP_FILTER_FLAG_TSYNC | SECCOMP_FILTER_FLAG_NEW_LISTENER)));
    say("getsid after the failed syncs: %s\n", err(getsid(0) > 0 ? 1 : -1));
    status_lines("main", "/proc/self/status");
    pthread_barrier_wait(&bar);
    pthread_join(t, NULL);
    say("LOG|SPEC_ALLOW install: %ld\n",
        deny_flags(SYS_getsid, SECCOMP_RET_LOG, SECCOMP_FILTER_FLAG_LOG | SECCOMP_FILTER_FLAG_SPEC_ALLOW));
    status_lines("main", "/proc/self/status");
}

/* -- precedence and the interpreter ------------------------------------------------------------------ */
static void kill_beats_errno(void) {
    deny(SYS_getppid, SECCOMP_RET_ERRNO | EPERM);
    deny(SYS_getppid, SECCOMP_RET_KILL_THREAD);
    deny(SYS_getppid, SECCOMP_RET_TRAP);
    ppid_call();
}

static void trap_beats_errno(void) {
    deny(SYS_getppid, SECCOMP_RET_TRAP | 3);
    deny(SYS_getppid, SECCOMP_RET_ERRNO | EPERM);
    ppid_call();
}

static void alu_filter(void) {
    /* A = ERRNO | f(nr, args): every ALU operation, scratch memory, X-based jumps */
    struct sock_filter f[] = {
        LD(NR_OFF), BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_getegid, 1, 0), RET(SECCOMP_RET_ALLOW),
        BPF_STMT(BPF_ALU | BPF_ADD | BPF_K, 5), BPF_STMT(BPF_ALU | BPF_MUL | BPF_K, 3),
        BPF_STMT(BPF_ST, 3), LD(ARG_LO(0)), BPF_STMT(BPF_ALU | BPF_LSH | BPF_K, 4),
        BPF_STMT(BPF_MISC | BPF_TAX, 0), BPF_STMT(BPF_LD | BPF_MEM, 3), BPF_STMT(BPF_ALU | BPF_SUB | BPF_X, 0),
        BPF_STMT(BPF_ALU | BPF_OR | BPF_K, 0x100), BPF_STMT(BPF_ALU | BPF_XOR | BPF_K, 0x0f),
        BPF_STMT(BPF_ALU | BPF_RSH | BPF_K, 1), BPF_STMT(BPF_ALU | BPF_NEG, 0),
        BPF_STMT(BPF_ALU | BPF_AND | BPF_K, 0x3ff), BPF_STMT(BPF_STX, 5), BPF_STMT(BPF_LDX | BPF_MEM, 5),
        LD(ARG_LO(1)), BPF_STMT(BPF_ALU | BPF_ADD | BPF_X, 0), BPF_STMT(BPF_LDX | BPF_IMM, 7),
        BPF_STMT(BPF_ALU | BPF_DIV | BPF_X, 0), BPF_STMT(BPF_LDX | BPF_IMM, 3),
        BPF_STMT(BPF_ALU | BPF_LSH | BPF_X, 0), BPF_STMT(BPF_LDX | BPF_IMM, 35),   /* shift by 35 & 31 */
        BPF_STMT(BPF_ALU | BPF_RSH | BPF_X, 0), BPF_STMT(BPF_ALU | BPF_MUL | BPF_X, 0),
        BPF_STMT(BPF_ALU | BPF_ADD | BPF_X, 0), BPF_STMT(BPF_ALU | BPF_OR | BPF_X, 0),
        BPF_STMT(BPF_ALU | BPF_XOR | BPF_X, 0), BPF_STMT(BPF_ALU | BPF_DIV | BPF_K, 2),
        BPF_JUMP(BPF_JMP | BPF_JGT | BPF_X, 0, 1, 0), BPF_STMT(BPF_ALU | BPF_ADD | BPF_K, 1000),
        BPF_JUMP(BPF_JMP | BPF_JGE | BPF_X, 0, 0, 1), BPF_STMT(BPF_ALU | BPF_ADD | BPF_K, 100),
        BPF_JUMP(BPF_JMP | BPF_JSET | BPF_X, 0, 1, 0), BPF_STMT(BPF_ALU | BPF_ADD | BPF_K, 10),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_X, 0, 0, 1), BPF_STMT(BPF_ALU | BPF_SUB | BPF_K, 1),
        BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, 1, 0, 1), BPF_STMT(BPF_JMP | BPF_JA, 1),
        BPF_STMT(BPF_ALU | BPF_ADD | BPF_K, 2),
        BPF_STMT(BPF_MISC | BPF_TAX, 0), BPF_STMT(BPF_LD | BPF_W | BPF_LEN, 0), BPF_STMT(BPF_ALU | BPF_ADD | BPF_X, 0),
        BPF_STMT(BPF_LDX | BPF_W | BPF_LEN, 0), BPF_STMT(BPF_ALU | BPF_SUB | BPF_X, 0),
        BPF_STMT(BPF_ALU | BPF_AND | BPF_K, 0xfff), BPF_STMT(BPF_ALU | BPF_OR | BPF_K, SECCOMP_RET_ERRNO),
        BPF_STMT(BPF_RET | BPF_A, 0),
    };
    say("ALU filter install: %s\n", err(install(f, N(f))));
    for (long a = 0; a < 4; a++)
        say("getegid(%ld, %ld) -> %s\n", a * 11, a * 1000 + 7, err(syscall(SYS_getegid, a * 11, a * 1000 + 7, 0, 0, 0, 0)));
}

static void section_precedence(void) {
    nnp();
    deny(SYS_getppid, SECCOMP_RET_ERRNO | EPERM);
    deny(SYS_getppid, SECCOMP_RET_TRACE);
    say("ERRNO (older) vs TRACE (newer): %s\n", err(ppid_call()));
    deny(SYS_getppid, SECCOMP_RET_ERRNO | ENOENT);
    say("a newer ERRNO wins a tie: %s\n", err(ppid_call()));
    deny(SYS_getppid, SECCOMP_RET_ALLOW);
    deny(SYS_getppid, SECCOMP_RET_LOG);
    say("ALLOW and LOG do not override: %s\n", err(ppid_call()));
    deny(SYS_getpgrp, SECCOMP_RET_TRACE);
    say("TRACE without a tracer: %s\n", err(syscall(SYS_getpgrp)));
    deny(SYS_getsid, SECCOMP_RET_USER_NOTIF);
    say("USER_NOTIF without a listener: %s\n", err(syscall(SYS_getsid, 0)));
    deny(SYS_getuid, SECCOMP_RET_ERRNO | 5000);
    say("ERRNO data capped at 4095: %s\n", err(syscall(SYS_getuid)));
    deny(SYS_sched_yield, SECCOMP_RET_ERRNO | 0);
    say("ERRNO 0: %s\n", err(syscall(SYS_sched_yield)));
    deny(SYS_getgid, SECCOMP_RET_ERRNO | 512);
    say("ERRNO 512 (a kernel restart code): %s\n", err(syscall(SYS_getgid)));
    deny(SYS_gettid, SECCOMP_RET_LOG);
    deny(SYS_gettid, SECCOMP_RET_ALLOW | 0x1234);
    say("LOG and ALLOW with data run it: %d\n", syscall(SYS_gettid) == getpid());

    struct sock_filter args[] = {
        LD(NR_OFF), BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_dup, 1, 0), RET(SECCOMP_RET_ALLOW),
        LD(ARG_HI(0)), BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 1, 0, 1), RET(SECCOMP_RET_ERRNO | EXDEV),
        LD(ARG_LO(0)), BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 1), RET(SECCOMP_RET_ERRNO | EPERM),
        LD(offsetof(struct seccomp_data, instruction_pointer)), LD(offsetof(struct seccomp_data, instruction_pointer) + 4),
        RET(SECCOMP_RET_ALLOW),
    };
    say("argument filter install: %s\n", err(install(args, N(args))));
    say("dup(0): %s\n", err(syscall(SYS_dup, 0L)));
    long fd = syscall(SYS_dup, 1L);
    say("dup(1): %s\n", fd >= 0 ? "a descriptor" : err(fd));
    say("dup(1 | 1 << 32): %s\n", err(syscall(SYS_dup, (1L << 32) | 1)));
    fflush(stdout);
    in_child("KILL_THREAD beats TRAP and ERRNO", kill_beats_errno);
    in_child("TRAP beats ERRNO", trap_beats_errno);
    in_child("ALU", alu_filter);
}

/* -- invalid programs and the other operations -------------------------------------------------- */
static void show_install(const char *what, struct sock_filter *f, unsigned short len) {
    say("%s: %s\n", what, err(install(f, len)));
}

static void section_invalid(void) {
    say("PR_GET_SECCOMP before: %d\n", prctl(PR_GET_SECCOMP));
    nnp();
    struct sock_filter bad_ja[] = {BPF_STMT(BPF_JMP | BPF_JA, 1), RET(SECCOMP_RET_ALLOW)};
    struct sock_filter bad_jeq[] = {LD(NR_OFF), BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 2), RET(SECCOMP_RET_ALLOW)};
    struct sock_filter no_ret[] = {RET(SECCOMP_RET_ALLOW), LD(NR_OFF)};
    struct sock_filter far_load[] = {LD(64), RET(SECCOMP_RET_ALLOW)};
    struct sock_filter unaligned[] = {LD(2), RET(SECCOMP_RET_ALLOW)};
    struct sock_filter half_load[] = {BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 0), RET(SECCOMP_RET_ALLOW)};
    struct sock_filter ind_load[] = {BPF_STMT(BPF_LD | BPF_W | BPF_IND, 0), RET(SECCOMP_RET_ALLOW)};
    struct sock_filter mod[] = {BPF_STMT(BPF_ALU | BPF_MOD | BPF_K, 3), RET(SECCOMP_RET_ALLOW)};
    struct sock_filter div0[] = {BPF_STMT(BPF_ALU | BPF_DIV | BPF_K, 0), RET(SECCOMP_RET_ALLOW)};
    struct sock_filter lsh32[] = {BPF_STMT(BPF_ALU | BPF_LSH | BPF_K, 32), RET(SECCOMP_RET_ALLOW)};
    struct sock_filter uninit_mem[] = {BPF_STMT(BPF_LD | BPF_MEM, 2), RET(SECCOMP_RET_ALLOW)};
    struct sock_filter mem16[] = {BPF_STMT(BPF_ST, 16), RET(SECCOMP_RET_ALLOW)};
    struct sock_filter path_mem[] = {   /* M[1] stored on one path only */
        LD(NR_OFF), BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 1), BPF_STMT(BPF_ST, 1),
        BPF_STMT(BPF_LD | BPF_MEM, 1), RET(SECCOMP_RET_ALLOW)};
    struct sock_filter anc[] = {LD(SKF_AD_OFF + SKF_AD_PROTOCOL), RET(SECCOMP_RET_ALLOW)};
    struct sock_filter unknown[] = {{0xffff, 0, 0, 0}, RET(SECCOMP_RET_ALLOW)};
    struct sock_filter msh[] = {BPF_STMT(BPF_LDX | BPF_B | BPF_MSH, 0), RET(SECCOMP_RET_ALLOW)};
    show_install("bad JA", bad_ja, N(bad_ja));
    show_install("bad JEQ", bad_jeq, N(bad_jeq));
    show_install("no RET last", no_ret, N(no_ret));
    show_install("load at 64", far_load, N(far_load));
    show_install("unaligned load", unaligned, N(unaligned));
    show_install("16-bit load", half_load, N(half_load));
    show_install("indirect load", ind_load, N(ind_load));
    show_install("MOD", mod, N(mod));
    show_install("DIV by 0", div0, N(div0));
    show_install("LSH 32", lsh32, N(lsh32));
    show_install("uninitialised M[2]", uninit_mem, N(uninit_mem));
    show_install("M[16]", mem16, N(mem16));
    show_install("M[1] on one path", path_mem, N(path_mem));
    show_install("ancillary load", anc, N(anc));
    show_install("opcode 0xffff", unknown, N(unknown));
    show_install("MSH", msh, N(msh));
    static struct sock_filter big[BPF_MAXINSNS + 1];
    for (int i = 0; i <= BPF_MAXINSNS; i++) big[i] = (struct sock_filter)RET(SECCOMP_RET_ALLOW);
    show_install("length 0", big, 0);
    show_install("length 4097", big, BPF_MAXINSNS + 1);
    show_install("NULL program", NULL, 1);
    show_install("bad program pointer", (struct sock_filter *)8, 1);
    say("bad sock_fprog pointer: %s\n", err(syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, (void *)8)));
    say("NULL sock_fprog: %s\n", err(syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, NULL)));
    struct sock_fprog ok = {1, big};
    say("unknown flag: %s\n", err(syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 1 << 10, &ok)));
    say("WAIT_KILLABLE_RECV alone: %s\n", err(syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER,
                                                       SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV, &ok)));
    say("unknown operation: %s\n", err(syscall(SYS_seccomp, 99, 0, &ok)));
    say("PR_SET_SECCOMP mode 3: %s\n", err(prctl(PR_SET_SECCOMP, 3, &ok)));
    say("PR_SET_SECCOMP bad pointer: %s\n", err(prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, 8)));
    say("PR_GET_SECCOMP still: %d\n", prctl(PR_GET_SECCOMP));

    unsigned actions[] = {SECCOMP_RET_KILL_PROCESS, SECCOMP_RET_KILL_THREAD, SECCOMP_RET_TRAP, SECCOMP_RET_ERRNO,
                          SECCOMP_RET_USER_NOTIF, SECCOMP_RET_TRACE, SECCOMP_RET_LOG, SECCOMP_RET_ALLOW,
                          0x00010000, SECCOMP_RET_ERRNO | 1, 0x7ffe0000};
    for (unsigned i = 0; i < N(actions); i++)
        say("GET_ACTION_AVAIL 0x%08x: %s\n", actions[i],
            err(syscall(SYS_seccomp, SECCOMP_GET_ACTION_AVAIL, 0, &actions[i])));
    say("GET_ACTION_AVAIL with flags: %s\n", err(syscall(SYS_seccomp, SECCOMP_GET_ACTION_AVAIL, 1, &actions[0])));
    say("GET_ACTION_AVAIL bad pointer: %s\n", err(syscall(SYS_seccomp, SECCOMP_GET_ACTION_AVAIL, 0, (void *)8)));
    struct seccomp_notif_sizes sizes;
    say("GET_NOTIF_SIZES: %s\n", err(syscall(SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &sizes)));
    say("sizes: notif %d resp %d data %d\n", sizes.seccomp_notif, sizes.seccomp_notif_resp, sizes.seccomp_data);
    say("GET_NOTIF_SIZES bad pointer: %s\n", err(syscall(SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, (void *)8)));
    show_install("valid via seccomp", big, 1);
    say("valid via prctl: %s\n", err(prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &ok)));
    say("PR_GET_SECCOMP after: %d\n", prctl(PR_GET_SECCOMP));
}

/* -- no_new_privs ------------------------------------------------------------------------------------ */
static void strict_without_nnp(void) { prctl(PR_SET_SECCOMP, SECCOMP_MODE_STRICT); syscall(SYS_exit, 0); }

static void nobody(void) {
    struct sock_filter f[] = {RET(SECCOMP_RET_ALLOW)};
    struct sock_fprog prog = {1, f};
    if (setuid(65534)) { say("setuid: %s\n", strerror(errno)); return; }
    say("nobody, no no_new_privs: %s\n", err(install(f, 1)));
    say("nobody, no no_new_privs, prctl: %s\n", err(prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog)));
    say("nobody, no no_new_privs, length 0: %s\n", err(install(f, 0)));
    say("nobody, no no_new_privs, NULL program: %s\n", err(install(NULL, 1)));
    in_child("nobody, strict mode without no_new_privs", strict_without_nnp);
    nnp();
    say("nobody, no_new_privs: %s\n", err(install(f, 1)));
}

static void root_without_nnp(void) {
    struct sock_filter f[] = {RET(SECCOMP_RET_ALLOW)};
    say("root (CAP_SYS_ADMIN), no no_new_privs: %s\n", err(install(f, 1)));
    say("PR_GET_NO_NEW_PRIVS: %d\n", prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0));
    say("PR_GET_NO_NEW_PRIVS with arg2: %s\n", err(prctl(PR_GET_NO_NEW_PRIVS, 1, 0, 0, 0)));
}

static void section_nnp(void) {
    in_child("nobody", nobody);
    in_child("root", root_without_nnp);
}

/* -- /proc/PID/status ---------------------------------------------------------------------------------- */
static void section_status(void) {
    status_lines("start", "/proc/self/status");
    nnp();
    status_lines("no_new_privs", "/proc/self/status");
    deny(SYS_getppid, SECCOMP_RET_ERRNO | 1);
    status_lines("one filter", "/proc/self/status");
    deny(SYS_getpgrp, SECCOMP_RET_ERRNO | 1);
    status_lines("two filters", "/proc/self/status");
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) { status_lines("forked child", "/proc/self/status"); _exit(0); }
    waitpid(pid, NULL, 0);
}

/* -- restarts: a restarted syscall is filtered again (by a filter the handler installed) --------- */
static volatile int handler_installed;

static void on_alarm(int sig) {
    (void)sig;
    handler_installed = deny(SYS_read, SECCOMP_RET_ERRNO | EPERM) == 0;
}

static void on_usr1(int sig) { (void)sig; }

static void section_restart(void) {
    nnp();
    handle(SIGALRM, on_alarm, SA_RESTART);
    int p[2];
    pipe(p);
    struct itimerval it = {{0, 0}, {0, 20000}};
    setitimer(ITIMER_REAL, &it, NULL);
    char c;
    long r = read(p[0], &c, 1);           /* blocks; SIGALRM's handler adds a filter; read restarts */
    say("restarted read: %s (handler installed %d)\n", err(r), handler_installed);
    /* The handler's rt_sigreturn is filtered too, and allowed: a TRAP handler returns once. */
    handle(SIGUSR1, on_usr1, 0);
    deny(SYS_rt_sigreturn, SECCOMP_RET_LOG);
    raise(SIGUSR1);
    say("rt_sigreturn under a LOG filter returned\n");
}

/* -- hostile: random programs, and a stack as large as Linux allows ------------------------------- */
static unsigned next_rand(unsigned *s) { *s = *s * 1103515245 + 12345; return *s >> 8; }

static const unsigned short OPS[] = {
    BPF_LD | BPF_W | BPF_ABS, BPF_LD | BPF_W | BPF_LEN, BPF_LD | BPF_IMM, BPF_LDX | BPF_IMM, BPF_LD | BPF_MEM,
    BPF_LDX | BPF_MEM, BPF_ST, BPF_STX, BPF_RET | BPF_K, BPF_RET | BPF_A, BPF_MISC | BPF_TAX, BPF_MISC | BPF_TXA,
    BPF_ALU | BPF_NEG, BPF_JMP | BPF_JA, BPF_ALU | BPF_ADD | BPF_K, BPF_ALU | BPF_SUB | BPF_X,
    BPF_ALU | BPF_MUL | BPF_K, BPF_ALU | BPF_DIV | BPF_X, BPF_ALU | BPF_DIV | BPF_K, BPF_ALU | BPF_AND | BPF_K,
    BPF_ALU | BPF_OR | BPF_X, BPF_ALU | BPF_XOR | BPF_K, BPF_ALU | BPF_LSH | BPF_X, BPF_ALU | BPF_RSH | BPF_K,
    BPF_JMP | BPF_JEQ | BPF_K, BPF_JMP | BPF_JGT | BPF_X, BPF_JMP | BPF_JGE | BPF_K, BPF_JMP | BPF_JSET | BPF_X,
    BPF_LD | BPF_H | BPF_ABS, BPF_ALU | BPF_MOD | BPF_K,
};
static const unsigned KS[] = {0, 1, 2, 4, 16, 20, 24, 28, 60, 64, 15, 31, 32,
                              SECCOMP_RET_ALLOW, SECCOMP_RET_ERRNO | 13, SECCOMP_RET_TRAP, SECCOMP_RET_LOG,
                              SECCOMP_RET_TRACE, SECCOMP_RET_KILL_THREAD | 1, SECCOMP_RET_USER_NOTIF, 0x7ffe0000};

static void random_program(unsigned seed) {
    struct sock_filter f[24];
    unsigned s = seed;
    int len = 1 + next_rand(&s) % 24, raw = next_rand(&s) % 3 == 0;
    for (int i = 0; i < len; i++) {
        if (raw && next_rand(&s) % 2) {      /* random bytes */
            unsigned w[2] = {next_rand(&s) << 8 ^ next_rand(&s), next_rand(&s) << 8 ^ next_rand(&s)};
            memcpy(&f[i], w, sizeof f[i]);
            if (f[i].code == (BPF_LD | BPF_W | BPF_ABS) && (f[i].k == 8 || f[i].k == 12)) f[i].k = 0;
            continue;
        }
        f[i].code = OPS[next_rand(&s) % N(OPS)];
        int room = len - i - 1, sloppy = next_rand(&s) % 8 == 0;    /* mostly valid, sometimes not */
        f[i].jt = next_rand(&s) % (room + sloppy > 0 ? room + sloppy : 1);
        f[i].jf = next_rand(&s) % (room + sloppy > 0 ? room + sloppy : 1);
        f[i].k = next_rand(&s) % 3 ? KS[next_rand(&s) % N(KS)] : next_rand(&s) % 8;
        if (f[i].code == (BPF_JMP | BPF_JA)) f[i].k %= room + sloppy > 0 ? room + sloppy : 1;
        if ((f[i].code & 7) == BPF_LD && !sloppy) f[i].k &= 0x3c;
        if ((f[i].code == BPF_ST || f[i].code == BPF_STX || (f[i].code & 0xe0) == BPF_MEM) && !sloppy) f[i].k &= 15;
        if (f[i].code == (BPF_LD | BPF_W | BPF_ABS) && (f[i].k == 8 || f[i].k == 12)) f[i].k = 0;  /* no ip */
    }
    if (!raw || next_rand(&s) % 2) f[len - 1] = (struct sock_filter)RET(KS[13 + next_rand(&s) % 8]);
    nnp();
    if (install(f, len) < 0) syscall(SYS_exit_group, 100 + errno, 0, 0, 0, 0, 0);
    syscall(SYS_getppid, 1, 2, 3, 4, 5, 6);
    syscall(SYS_dup, 0, 0, 0, 0, 0, 0);
    syscall(SYS_exit_group, 0, 0, 0, 0, 0, 0);
    syscall(SYS_exit, 1, 0, 0, 0, 0, 0);
    __builtin_trap();
}

static void section_random(void) {
    int installed = 0, refused = 0;
    for (unsigned i = 0; i < 1000; i++) {
        pid_t pid = fork();
        if (pid == 0) random_program(i * 7919 + 1);
        int status;
        waitpid(pid, &status, 0);
        if (WIFEXITED(status) && WEXITSTATUS(status) == 100 + EINVAL) refused++;
        else installed++;
        say("%04x%c", status & 0xffff, i % 16 == 15 ? '\n' : ' ');
    }
    say("\nrefused %d, installed %d\n", refused, installed);
}

/* Install F until Linux says no: how many fit tells how it counts (the length of its eBPF
 * translation of each filter, plus 4). */
static void fill_stack(struct sock_filter *f, int len) {
    nnp();
    int n = 0;
    long r;
    while ((r = install(f, len)) == 0) n++;
    say("filters of %d instructions: %d installed, then %s\n", len, n, err(r));
    say("the syscalls still run: getppid %d\n", getppid() > 0);
}

static void stack_4096(void) {
    static struct sock_filter f[BPF_MAXINSNS];
    for (int i = 0; i < BPF_MAXINSNS - 1; i++) f[i] = (struct sock_filter)LD(NR_OFF);
    f[BPF_MAXINSNS - 1] = (struct sock_filter)RET(SECCOMP_RET_ALLOW);
    fill_stack(f, BPF_MAXINSNS);
}

static void stack_1(void) {
    struct sock_filter f[] = {RET(SECCOMP_RET_ALLOW)};
    fill_stack(f, 1);
}

static void stack_jumps(void) {   /* every shape of jump Linux translates differently */
    struct sock_filter f[] = {
        LD(NR_OFF), BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, 1, 1, 1), RET(SECCOMP_RET_ERRNO | 1),
        BPF_JUMP(BPF_JMP | BPF_JGT | BPF_K, 0x80000000, 0, 1), RET(SECCOMP_RET_ERRNO | 2),
        BPF_JUMP(BPF_JMP | BPF_JGE | BPF_X, 0, 1, 0), BPF_STMT(BPF_LDX | BPF_IMM, 3),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 5, 1, 1), BPF_STMT(BPF_ALU | BPF_DIV | BPF_X, 0),
        BPF_JUMP(BPF_JMP | BPF_JSET | BPF_X, 0, 0, 1), BPF_STMT(BPF_JMP | BPF_JA, 0),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0xffffffff, 1, 1), BPF_STMT(BPF_MISC | BPF_TAX, 0),
        BPF_STMT(BPF_LD | BPF_IMM, SECCOMP_RET_ALLOW), BPF_STMT(BPF_RET | BPF_A, 0),
    };
    fill_stack(f, N(f));
}

static void stack_deny(void) {
    nnp();
    int n = 0;
    long r;
    while ((r = deny(SYS_getppid, SECCOMP_RET_ERRNO | 1)) == 0) n++;
    say("deny filters: %d installed, then %s\n", n, err(r));
}

/* Threads that each hold as many 4096-instruction filters as Linux allows (a thread's filters
 * are its own), alive together: the sandbox charges them to its memory limit, so under a small
 * --memory they stop early with ENOMEM. (Threads, not processes: after a fork, a parent's
 * copy-on-write fault past the limit is an OOM kill.) */
static struct sock_filter big_filter[BPF_MAXINSNS];
static int counts[2], hold[2];

static void *charge_thread(void *arg) {
    (void)arg;
    char n = 0, c;
    while (install(big_filter, BPF_MAXINSNS) == 0) n++;
    n = errno == ENOMEM ? n : -1;
    write(counts[1], &n, 1);
    read(hold[0], &c, 1);                 /* keep the filters until main is done */
    return NULL;
}

static void section_charge(void) {
    for (int i = 0; i < BPF_MAXINSNS - 1; i++) big_filter[i] = (struct sock_filter)LD(NR_OFF);
    big_filter[BPF_MAXINSNS - 1] = (struct sock_filter)RET(SECCOMP_RET_ALLOW);
    pthread_t threads[40];
    int total = 0, short_ = 0, made = 0;
    pipe(counts);
    pipe(hold);
    nnp();
    pthread_attr_t small;                 /* small stacks: the filters are what fills the memory */
    pthread_attr_init(&small);
    pthread_attr_setstacksize(&small, 128 * 1024);
    for (; made < 40; made++) {
        if (pthread_create(&threads[made], &small, charge_thread, NULL)) break;
        char n;
        read(counts[0], &n, 1);
        total += n;
        short_ += n < 7;
    }
    close(hold[1]);
    for (int i = 0; i < made; i++) pthread_join(threads[i], NULL);
    say("threads: %d; filters installed: %d; threads stopped short by ENOMEM: %d\n", made, total, short_);
}

static void section_stack(void) {
    in_child("stack of 4096-instruction filters", stack_4096);
    in_child("stack of 1-instruction filters", stack_1);
    in_child("stack of filters with jumps", stack_jumps);
    in_child("stack of deny filters", stack_deny);
}

static void exec_helper(void) { try_open("exec'd image"); }

static const struct { const char *name; void (*fn)(void); } SECTIONS[] = {
    {"exec_helper", exec_helper}, {"errno", section_errno}, {"trap", section_trap}, {"kill", section_kill},
    {"strict", section_strict}, {"tsync", section_tsync}, {"precedence", section_precedence},
    {"invalid", section_invalid}, {"nnp", section_nnp}, {"status", section_status}, {"random", section_random},
    {"restart", section_restart}, {"stack", section_stack}, {"charge", section_charge},
};

int main(int argc, char **argv) {
    self = argv[0];
    setvbuf(stdout, NULL, _IONBF, 0);
    for (unsigned i = 0; argc > 1 && i < N(SECTIONS); i++)
        if (!strcmp(argv[1], SECTIONS[i].name)) { SECTIONS[i].fn(); return 0; }
    fprintf(stderr, "unknown section %s\n", argc > 1 ? argv[1] : "(none)");
    return 2;
}
