/* Syscall fuzzer (issue 11, "Trust"): random system calls, run inside the sandbox by
 * tests/fuzz.py syscalls (and tests/test_fuzz_syscalls.py).
 *
 *   fuzz_syscalls run SEED CALLS BATCH   CALLS random calls in forked children of BATCH calls each
 *   fuzz_syscalls replay SEED BATCH      one batch, every call printed before it is made
 *
 * Numbers are 0..460 and out of range (-1, 461..1000, 2^31, 2^63, x32-flagged, random);
 * arguments are edge values (0, -1, 1, INT_MAX, page boundaries, huge lengths), descriptors,
 * and pointers to unmapped, read-only, PROT_NONE, half-mapped and kernel addresses, and to
 * valid buffers of random content. Each batch runs in a forked child (its own process group,
 * alarm() as a hard bound, a 5 ms interval timer whose handler interrupts any blocking call);
 * the parent bounds a child that stops making progress, then checks the child's exit status
 * is one the child could have earned and that the Sentry still answers (getpid, a pipe round
 * trip). Any anomaly prints "FAIL" with the batch seed and the replay command, and the run
 * exits 1. The Sentry's own log (tracebacks) is checked by the Python side.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <linux/netlink.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PAGE 4096UL
#define MAX_NR 460
#define SCRATCH_PAGES 16
/* Fixed addresses far from the program, its heap, stack and libraries: the scratch pages
 * (read-write, random content), then one unmapped page (a pointer near the end is
 * half-mapped), a read-only page, a PROT_NONE page, and a hole that is never mapped. */
#define SCRATCH_ADDR 0x300000200000UL
#define RO_ADDR (SCRATCH_ADDR + (SCRATCH_PAGES + 1) * PAGE)
#define NONE_ADDR (RO_ADDR + PAGE)
#define HOLE_ADDR 0x310000000000UL
#define OUT 1000            /* the saved stdout of the replay mode */
#define STALL_SECONDS 3     /* a child making no call for this long is killed (a legit block) */
#define DEATH_SECONDS 60    /* a SIGKILLed child not reaped by then: the Sentry hangs */

/* What a child tells its parent, in a shared page. */
struct shared {
    volatile long progress;       /* loop iterations so far in this batch */
    volatile long calls;          /* syscalls made so far in this batch */
    volatile int in_call;         /* a syscall is in progress */
    volatile long nr, args[6];    /* the call in progress */
    volatile int done;            /* the batch ran to its end */
    volatile int exit_code;       /* -1, or the code of an exit/exit_group in progress */
    volatile long bad, bad_nr, bad_ret, bad_args[6];   /* results that no syscall may return */
};

static struct shared *sh;
static uint64_t rng;
static char *scratch;

static void die(int code) { sh->exit_code = code; _exit(code); }

static uint64_t next(void) { rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17; return rng; }

static uint64_t mix(uint64_t a, uint64_t b) {
    uint64_t z = a + 0x9e3779b97f4a7c15ULL * (b + 1);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return (z ^ (z >> 31)) | 1;
}

/* A raw syscall. Fork-like calls may return 0 in a new process or thread (on any stack
 * the fuzzer chose): there it leaves at once with exit(0), before touching memory. */
static long raw_syscall(long nr, long a, long b, long c, long d, long e, long f) {
    long ret;
    register long r10 __asm__("r10") = d;
    register long r8 __asm__("r8") = e;
    register long r9 __asm__("r9") = f;
    register long forky __asm__("r12") = nr == SYS_fork || nr == SYS_vfork || nr == SYS_clone ||
                                         nr == SYS_clone3;
    __asm__ volatile("syscall\n\t"
                     "test %%rax, %%rax\n\t"
                     "jnz 1f\n\t"
                     "test %%r12, %%r12\n\t"
                     "jz 1f\n\t"
                     "mov $60, %%eax\n\t"
                     "xor %%edi, %%edi\n\t"
                     "syscall\n\t"
                     "1:"
                     : "=a"(ret)
                     : "a"(nr), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9), "r"(forky)
                     : "rcx", "r11", "memory");
    return ret;
}

static const char *const paths[] = {
    "/tmp/fz0", "/tmp/fz1", "/tmp/fzdir", "/tmp", "/dev/shm/fz2", "/nonexistent/x", "",
    "/proc/self/maps", "/proc/self/status", "/proc/self/fd", "/dev/null", "/dev/zero", "/dev/full",
    "/dev/tty", "/dev/ptmx", ".", "..", "fzrel", "/tmp/fzdir/../fz0", "/tmp/fzfifo", "/tmp/fzsock",
    "/tmp/fzlink", "/", "/etc/passwd", "/proc/sys/kernel/hostname", "/dev/shm",
    NULL,   /* the canary, from the command line: it must stay untouched on the host */
};
#define NPATHS (sizeof paths / sizeof paths[0])
static const char *canary = "/nonexistent/canary";

static long fds[24];
static int nfds;

/* Map (or re-map: random calls may have unmapped or protected them) the fixed areas and
 * fill the scratch pages: path strings in the last page, plausible words elsewhere
 * (pointers into scratch, so iovecs and structures point somewhere; small numbers; -1). */
static void refresh_areas(void) {
    scratch = mmap((void *)SCRATCH_ADDR, SCRATCH_PAGES * PAGE, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    if (scratch == MAP_FAILED) die(90);
    munmap((void *)(SCRATCH_ADDR + SCRATCH_PAGES * PAGE), PAGE);
    char *ro = mmap((void *)RO_ADDR, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    if (ro == MAP_FAILED) die(91);
    /* Read-only content: a path, then small words (never CLONE_PARENT, see sanitize). */
    strcpy(ro, "/tmp/fz0");
    for (unsigned i = 8; i < PAGE / 8; i++) ((long *)ro)[i] = i % 7;
    mprotect(ro, PAGE, PROT_READ);
    if (mmap((void *)NONE_ADDR, PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == MAP_FAILED)
        die(92);
    munmap((void *)HOLE_ADDR, 1UL << 30);
    char *pp = scratch + (SCRATCH_PAGES - 1) * PAGE;
    for (unsigned i = 0; i < NPATHS; i++) strcpy(pp + i * 128, paths[i] ? paths[i] : canary);
    long *w = (long *)scratch;
    for (unsigned i = 0; i < (SCRATCH_PAGES - 1) * PAGE / 8; i++) {
        uint64_t r = next();
        switch (r % 10) {
        case 0: case 1: w[i] = (long)(scratch + (r >> 8) % ((SCRATCH_PAGES - 1) * PAGE)); break;
        case 2: w[i] = (r >> 8) % 64; break;
        case 3: w[i] = (r >> 8) % 8192; break;
        case 4: w[i] = -1; break;
        case 5: w[i] = fds[(r >> 8) % nfds]; break;
        default: w[i] = (long)(r >> (r % 64)); break;
        }
    }
}

static long rand_arg(void) {
    uint64_t r = next(), s = r >> 8;
    switch (r % 40) {
    case 0: case 1: return 0;
    case 2: return 1;
    case 3: case 4: return -1;
    case 5: return INT_MAX;
    case 6: return INT_MIN;
    case 7: return UINT_MAX;
    case 8: return LONG_MAX;
    case 9: return LONG_MIN;
    case 10: case 11: return s % 17;
    case 12: case 13: case 14: return fds[s % nfds];
    case 15: case 16: case 17: return (long)(scratch + (s % 4) * ((s >> 4) % 2 ? PAGE : 8));   /* valid buffer */
    case 18: case 19: case 20: return (long)(scratch + (SCRATCH_PAGES - 1) * PAGE + (s % NPATHS) * 128);
    case 21: return (long)HOLE_ADDR + (s % 4) * PAGE;                                           /* unmapped */
    case 22: return (long)RO_ADDR + (s % 2) * 8;                                                 /* read-only */
    case 23: return (long)NONE_ADDR;                                                             /* PROT_NONE */
    case 24: return (long)(scratch + SCRATCH_PAGES * PAGE - 1 - s % 64);                         /* half-mapped */
    case 25: { static const unsigned long k[] = {0xffff800000000000UL, 0xffffffffff600000UL,
                                                 0xfffffffffffff000UL, 0x0000800000000000UL, 0x7ffffffff000UL};
               return (long)k[s % 5]; }                                                          /* kernel, non-canonical */
    case 26: return PAGE * (s % 4) + (s % 3) - 1;                                                /* page boundaries */
    case 27: { static const long h[] = {1L << 31, (1L << 32) - 1, 1L << 40, LONG_MAX - 4095, 0x7ffff000};
               return h[s % 5]; }                                                                /* huge lengths */
    case 28: return (long)(uint32_t)s;
    case 29: return (long)next();
    case 30: case 31: return 1L << (s % 64);
    case 32: return -100;   /* AT_FDCWD */
    case 33: return (long)(scratch + s % (SCRATCH_PAGES * PAGE));
    case 34: return s % 65;  /* signal numbers */
    default: return s % 4096;
    }
}

static long rand_nr(void) {
    uint64_t r = next();
    if (r % 100 >= 8) return (long)((r >> 8) % (MAX_NR + 1));
    switch ((r >> 8) % 7) {
    case 0: return -1;
    case 1: return MAX_NR + 1 + (long)((r >> 16) % (1000 - MAX_NR));
    case 2: return 1L << 31;
    case 3: return (long)(1UL << 63);
    case 4: return 0x40000000L | (long)((r >> 16) % 548);   /* the x32 ABI bit */
    case 5: return (long)next();
    default: return (long)(r >> 16) % 2000 - 1000;
    }
}

/* May a memory-management call touch [a, a+len)? Only if the range lies wholly in the
 * fixed areas, the first 64 KiB, the hole, or the kernel half: not our code, stack or heap. */
static int in_zone(unsigned long a, unsigned long len) {
    unsigned long end = len > ULONG_MAX - 4095 ? ULONG_MAX : a + ((len + 4095) & ~4095UL);
    if (end < a) end = ULONG_MAX;
    if (a >= 0x800000000000UL) return 1;
    const unsigned long zones[3][2] = {
        {SCRATCH_ADDR, NONE_ADDR + PAGE}, {0, 0x10000}, {HOLE_ADDR, HOLE_ADDR + (1UL << 40)},
    };
    for (int i = 0; i < 3; i++)
        if (a >= zones[i][0] && end <= zones[i][1]) return 1;
    return 0;
}

static pid_t parent_pid, parent_pgid;
static timer_t tick_timer;

static int targets_parent(long pid) {
    return (pid_t)pid == parent_pid || (pid_t)pid == -1 || (pid_t)pid == -parent_pgid;
}

/* Calls excluded or tamed. Only what would legitimately end the whole run is excluded:
 * signals to the parent (pid 1 here), to everyone (-1) or to its group; tracing or writing
 * the parent; lowering its limits; reboot (in a PID namespace it kills init). Everything
 * else may happen, but most of the time memory calls are kept off our own code and stack
 * (a child that unmaps itself only ends its batch early: 1 in 16 gets through anyway) and
 * copy lengths are bounded: files written on the root land in the Gofer's overlay upper
 * tmpfs, which the sandbox's memory limit does not bound, on a machine others share. */
static int sanitize(long nr, long *a) {
    switch (nr) {
    case SYS_kill: case SYS_rt_sigqueueinfo: case SYS_pidfd_open: return !targets_parent(a[0]);
    case SYS_ptrace: return !targets_parent(a[1]);
    case SYS_tkill: return !targets_parent(a[0]);
    case SYS_tgkill: case SYS_rt_tgsigqueueinfo: return !targets_parent(a[0]) && !targets_parent(a[1]);
    case SYS_process_vm_writev: return !targets_parent(a[0]);
    case SYS_prlimit64: return !targets_parent(a[0]) || a[2] == 0;
    case SYS_reboot: return 0;
    case SYS_clone:   /* CLONE_PARENT: the exit signal would go to the parent */
        if (a[0] & 0x8000) a[0] = (a[0] & ~0xffL) | SIGCHLD;
        return 1;
    case SYS_clone3:
        if ((unsigned long)a[0] >= SCRATCH_ADDR && (unsigned long)a[0] + 40 <= SCRATCH_ADDR + SCRATCH_PAGES * PAGE) {
            unsigned long *ca = (unsigned long *)a[0];
            ca[0] &= ~0x8000UL;
        }
        return 1;
    case SYS_exit: case SYS_exit_group:
        sh->exit_code = (int)(a[0] & 0xff);
        return 1;
    }
    if (next() % 16 == 0) return 1;
    switch (nr) {
    /* Keep the tick that interrupts blocking calls (or the child waits for the stall bound). */
    case SYS_timer_delete: case SYS_timer_settime: return a[0] != (long)tick_timer;
    case SYS_rt_sigaction: return (int)a[0] != SIGUSR2;
    case SYS_rt_sigprocmask:
        if ((unsigned long)a[1] >= SCRATCH_ADDR && (unsigned long)a[1] + 8 <= SCRATCH_ADDR + SCRATCH_PAGES * PAGE)
            *(unsigned long *)a[1] &= ~(1UL << (SIGUSR2 - 1));
        return (unsigned long)a[1] != RO_ADDR || (int)a[0] == SIG_UNBLOCK;
    case SYS_mmap:
        if (!(a[3] & (MAP_FIXED | MAP_FIXED_NOREPLACE))) return 1;
        return in_zone(a[0], a[1]);
    case SYS_munmap: case SYS_mprotect: case SYS_madvise: case SYS_pkey_mprotect:
    case SYS_remap_file_pages:
        return in_zone(a[0], a[1]) || (a[0] & 4095);
    case SYS_mremap:
        if ((a[3] & 2 /* MREMAP_FIXED */) && !in_zone(a[4], a[2])) return 0;
        return in_zone(a[0], a[1]) || (a[0] & 4095);
    case SYS_brk: return a[0] == 0 || (unsigned long)a[0] >= 0x800000000000UL;
    case SYS_shmdt: return in_zone(a[0], 1);
    case SYS_rt_sigreturn: case SYS_arch_prctl: case SYS_exit: case SYS_exit_group: case SYS_seccomp:
    case SYS_set_tid_address:
        return 0;
    case SYS_sendfile: a[3] &= 0xffffff; return 1;
    case SYS_copy_file_range: case SYS_splice: a[4] &= 0xffffff; return 1;
    case SYS_tee: a[2] &= 0xffffff; return 1;
    case SYS_fallocate: a[2] &= 0xffffff; a[3] &= 0xffffff; return 1;
    }
    return 1;
}

static void on_tick(int sig) { (void)sig; }

/* One batch in this (forked) process: never returns. */
static void run_batch(uint64_t seed, long calls, int verbose) {
    rng = seed;
    setpgid(0, 0);
    alarm(60);   /* the hard bound: a batch is a few seconds at most */
    struct sigaction sa = {0};
    sa.sa_handler = on_tick;   /* no SA_RESTART: the tick interrupts blocking calls with EINTR */
    sigaction(SIGUSR2, &sa, NULL);
    struct sigevent ev = {0};
    ev.sigev_notify = SIGEV_SIGNAL;
    ev.sigev_signo = SIGUSR2;
    if (timer_create(CLOCK_MONOTONIC, &ev, &tick_timer) == 0) {
        struct itimerspec its = {{0, 5000000}, {0, 5000000}};
        timer_settime(tick_timer, 0, &its, NULL);
    }
    int devnull = open("/dev/null", O_RDWR);
    dup2(devnull, 0); dup2(devnull, 1); dup2(devnull, 2);
    if (devnull > 2) close(devnull);
    mkdir("/tmp/fzdir", 0755);
    close(open("/tmp/fz0", O_CREAT | O_RDWR, 0644));
    mknod("/tmp/fzfifo", S_IFIFO | 0644, 0);
    symlink("/tmp/fz0", "/tmp/fzlink");
    nfds = 0;
    fds[nfds++] = 0; fds[nfds++] = 1; fds[nfds++] = -1; fds[nfds++] = 1 << 20; fds[nfds++] = INT_MAX;
    fds[nfds++] = open("/tmp/fz0", O_RDWR);
    fds[nfds++] = open("/tmp/fzdir", O_RDONLY | O_DIRECTORY);
    fds[nfds++] = open("/dev/zero", O_RDWR);
    fds[nfds++] = open("/proc/self/maps", O_RDONLY);
    fds[nfds++] = open("/", O_RDONLY | O_DIRECTORY);
    fds[nfds++] = open(canary, (next() & 1) ? O_RDWR : O_RDONLY);
    int p[2];
    if (pipe2(p, O_NONBLOCK) == 0) { fds[nfds++] = p[0]; fds[nfds++] = p[1]; }
    fds[nfds++] = socket(AF_UNIX, SOCK_STREAM, 0);
    fds[nfds++] = socket(AF_NETLINK, SOCK_RAW, NETLINK_SOCK_DIAG);   /* answered by the Sentry */
    fds[nfds++] = socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE);
    fds[nfds++] = -100;
    refresh_areas();
    for (long i = 0; i < calls; i++) {
        if (i % 32 == 0) refresh_areas();
        long nr = rand_nr(), a[6];
        for (int k = 0; k < 6; k++) a[k] = rand_arg();
        sh->progress = i + 1;
        if (!sanitize(nr, a)) { sh->exit_code = -1; continue; }
        sh->nr = nr;
        for (int k = 0; k < 6; k++) sh->args[k] = a[k];
        if (verbose) dprintf(OUT, "call %ld: nr=%ld %lx %lx %lx %lx %lx %lx\n", i, nr, a[0], a[1], a[2], a[3], a[4], a[5]);
        sh->in_call = 1;
        long r = raw_syscall(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
        sh->in_call = 0;
        sh->exit_code = -1;
        sh->calls++;
        /* An error is -1..-4095; a real errno is at most 133 (the ERESTART* codes, 512..516,
         * must never reach an application). fcntl(F_GETOWN) returns -pgid legitimately. */
        if (r < -133 && r >= -4095 && nr != SYS_fcntl && !sh->bad) {
            sh->bad = 1; sh->bad_nr = nr; sh->bad_ret = r;
            for (int k = 0; k < 6; k++) sh->bad_args[k] = a[k];
        }
        if (verbose) {
            struct timespec now;
            clock_gettime(CLOCK_MONOTONIC, &now);
            dprintf(OUT, "  = %ld (at %ld.%06ld)\n", r, (long)now.tv_sec, now.tv_nsec / 1000);
        }
    }
    sh->done = 1;
    _exit(0);
}

static volatile sig_atomic_t got_chld;

static int health_check(void) {
    if (getpid() != parent_pid) return 1;
    int p[2];
    if (pipe(p) != 0) return 2;
    uint64_t v = 0x1122334455667788ULL, w = 0;
    int ok = write(p[1], &v, 8) == 8 && read(p[0], &w, 8) == 8 && v == w;
    close(p[0]);
    close(p[1]);
    return ok ? 0 : 3;
}

/* Wait for the batch's child: 0 and its status, or -1 when it could not be reaped (a hang).
 * Other processes reparented to us (a child's children) are reaped on the way. */
static int wait_child(pid_t child, int *status, long *stuck_nr) {
    sigset_t chld;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    long last = -1;
    time_t last_change = time(NULL), killed_at = 0;
    for (;;) {
        int st;
        pid_t w;
        while ((w = waitpid(-1, &st, WNOHANG | __WALL)) > 0) {
            if (w == child && (WIFEXITED(st) || WIFSIGNALED(st))) { *status = st; return 0; }
            if (WIFSTOPPED(st)) kill(w, SIGKILL);   /* stopped (or traced by us): end it */
        }
        struct timespec ts = {1, 0};
        sigtimedwait(&chld, NULL, &ts);
        time_t now = time(NULL);
        if (sh->progress != last) { last = sh->progress; last_change = now; }
        if (!killed_at && now - last_change >= STALL_SECONDS) {
            *stuck_nr = sh->nr;
            kill(-child, SIGKILL);
            kill(child, SIGKILL);
            killed_at = now;
        }
        if (killed_at && now - killed_at >= DEATH_SECONDS) return -1;
    }
}

static void usage(void) {
    fprintf(stderr, "usage: fuzz_syscalls run SEED CALLS BATCH | replay SEED BATCH [CANARY]\n");
    exit(2);
}

int main(int argc, char **argv) {
    if (argc < 4) usage();
    uint64_t seed = strtoull(argv[2], NULL, 0);
    if (argc > 5) canary = argv[5];
    else if (strcmp(argv[1], "replay") == 0 && argc > 4) canary = argv[4];
    if (strlen(canary) >= 128) usage();
    parent_pid = getpid();
    parent_pgid = getpgrp();
    sh = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (sh == MAP_FAILED) { perror("mmap"); return 2; }
    sigset_t all;
    sigfillset(&all);
    sigprocmask(SIG_BLOCK, &all, NULL);   /* the parent takes SIGCHLD by sigtimedwait only */
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (strcmp(argv[1], "replay") == 0) {
        long batch = atol(argv[3]);
        dup2(1, OUT);
        pid_t c = fork();
        if (c == 0) { sigprocmask(SIG_UNBLOCK, &all, NULL); run_batch(seed, batch, 1); }
        int st = 0;
        long stuck = -1;
        if (wait_child(c, &st, &stuck) < 0) { printf("FAIL: the child could not be reaped\n"); return 1; }
        printf("replay: %ld calls, status 0x%x, stuck nr %ld, health %d\n", sh->calls, st, stuck, health_check());
        return 0;
    }
    if (strcmp(argv[1], "run") != 0 || argc < 5) usage();
    long total = atol(argv[3]), per = atol(argv[4]);
    if (per <= 0) per = 1;
    printf("fuzz_syscalls: seed %#lx, %ld calls, %ld per batch, canary %s\n", (unsigned long)seed, total, per, canary);
    long made = 0, batches = 0, exited = 0, signaled = 0, stalled = 0, failures = 0;
    long by_signal[65] = {0};
    time_t start = time(NULL);
    while (made < total && failures == 0) {
        uint64_t bseed = mix(seed, batches);
        memset(sh, 0, sizeof *sh);
        sh->exit_code = -1;
        long want = per;   /* loop iterations; a few are skipped by sanitize */
        printf("batch %ld seed %#lx\n", batches, (unsigned long)bseed);
        pid_t c = fork();
        if (c < 0) { printf("FAIL batch %ld seed %#lx: fork: %s\n", batches, (unsigned long)bseed, strerror(errno)); failures++; break; }
        if (c == 0) { sigprocmask(SIG_UNBLOCK, &all, NULL); run_batch(bseed, want, 0); }
        int st = 0;
        long stuck = -1;
        const char *why = NULL;
        char whybuf[200];
        if (wait_child(c, &st, &stuck) < 0) why = "the child was SIGKILLed and never reaped (the Sentry hangs)";
        else if (stuck >= 0) {
            stalled++;
            printf("batch %ld: no progress for %ds in nr %ld (%lx %lx %lx %lx %lx %lx): killed\n", batches, STALL_SECONDS,
                   stuck, sh->args[0], sh->args[1], sh->args[2], sh->args[3], sh->args[4], sh->args[5]);
        }
        if (!why && WIFEXITED(st)) {
            exited++;
            int code = WEXITSTATUS(st);
            /* Sane: the batch's end (0, done set), or the code of the exit call it was making. */
            if (!(sh->done && code == 0) && code != sh->exit_code) {
                snprintf(whybuf, sizeof whybuf, "exit code %d, but done=%d and the exit call in progress had %d (last nr %ld)",
                         code, sh->done, sh->exit_code, sh->nr);
                why = whybuf;
            }
        } else if (!why && WIFSIGNALED(st)) {
            signaled++;
            int s = WTERMSIG(st);
            if (s < 1 || s > 64) { snprintf(whybuf, sizeof whybuf, "killed by signal %d", s); why = whybuf; }
            else by_signal[s]++;
        } else if (!why) {
            snprintf(whybuf, sizeof whybuf, "status 0x%x is neither an exit nor a death", st);
            why = whybuf;
        }
        int h = health_check();
        if (!why && h) { snprintf(whybuf, sizeof whybuf, "the Sentry's health check failed (%d)", h); why = whybuf; }
        if (!why && sh->bad) {
            snprintf(whybuf, sizeof whybuf, "nr %ld returned %ld (args %lx %lx %lx %lx %lx %lx)", sh->bad_nr, sh->bad_ret,
                     sh->bad_args[0], sh->bad_args[1], sh->bad_args[2], sh->bad_args[3], sh->bad_args[4], sh->bad_args[5]);
            why = whybuf;
        }
        made += sh->calls + sh->in_call;   /* the call that ended the child counts */
        batches++;
        if (why) {
            printf("FAIL batch %ld seed %#lx: %s\n  replay: fuzz_syscalls replay %#lx %ld %s\n",
                   batches - 1, (unsigned long)bseed, why, (unsigned long)bseed, want, canary);
            failures++;
        }
        if (batches % 20 == 0)
            printf("progress: %ld calls, %ld batches, %lds\n", made, batches, (long)(time(NULL) - start));
    }
    printf("summary: calls=%ld batches=%ld exited=%ld signaled=%ld stalled=%ld failures=%ld seconds=%ld\n",
           made, batches, exited, signaled, stalled, failures, (long)(time(NULL) - start));
    printf("deaths by signal:");
    for (int s = 1; s <= 64; s++) if (by_signal[s]) printf(" %d:%ld", s, by_signal[s]);
    printf("\n");
    if (failures) return 1;
    printf("done\n");
    return 0;
}
