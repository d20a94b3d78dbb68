/* execve and friends (differential): exec from a non-leader thread (the process keeps
 * its pid, one thread left), #! scripts (with an argument, nested, errors), close-on-exec
 * (O_CLOEXEC, FD_CLOEXEC, pipe2, dup clears it), what exec resets (handlers, alt stack)
 * and keeps (ignored signals, mask, pending), vfork+exec, vfork shares memory and
 * suspends the parent, posix_spawn with file actions and attributes, execveat/fexecve,
 * exec errors (ENOENT, EACCES, ENOEXEC). Usage: proc_exec SCRIPTDIR [section]
 * SCRIPTDIR holds scripts the test harness wrote (the sandbox's root is read-only). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;
static const char *self, *dir;

static void nap(int ms) { struct timespec t = {ms / 1000, (ms % 1000) * 1000000L}; nanosleep(&t, NULL); }

static void show_status(const char *what, int st) {
    if (WIFEXITED(st)) printf("%s: exit %d\n", what, WEXITSTATUS(st));
    else if (WIFSIGNALED(st)) printf("%s: signal %d\n", what, WTERMSIG(st));
    else printf("%s: raw 0x%x\n", what, st);
}

/* Run argv in a child with stdout captured; print the output prefixed, then the status. */
static void run_capture(const char *label, char *const argv[]) {
    int p[2];
    pipe(p);
    pid_t c = fork();
    if (c == 0) {
        dup2(p[1], 1);
        close(p[0]);
        close(p[1]);
        execv(argv[0], argv);
        printf("exec failed errno=%d\n", errno);
        fflush(stdout);
        _exit(127);
    }
    close(p[1]);
    char buf[4096];
    ssize_t n, total = 0;
    while ((n = read(p[0], buf + total, sizeof buf - 1 - total)) > 0) total += n;
    buf[total] = 0;
    close(p[0]);
    int st;
    waitpid(c, &st, 0);
    printf("[%s] %s", label, buf);
    if (total && buf[total - 1] != '\n') printf("\n");
    show_status("  status", st);
}

static int count_threads(void) {
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    int n = -1;
    while (f && fgets(line, sizeof line, f)) if (!strncmp(line, "Threads:", 8)) n = atoi(line + 8);
    if (f) fclose(f);
    return n;
}

/* ---- the exec'd side ---- */
static int after_exec(int argc, char **argv) {
    const char *what = argv[1];
    if (!strcmp(what, "thread-exec")) {
        pid_t old = atoi(argv[2]);
        printf("after exec from thread: pid kept=%d tid==pid=%d threads=%d\n", getpid() == old,
               (pid_t)syscall(SYS_gettid) == getpid(), count_threads());
        return 0;
    }
    if (!strcmp(what, "fds")) {
        for (int i = 2; i < argc; i++) {
            int fd = atoi(argv[i]);
            errno = 0;
            int r = fcntl(fd, F_GETFD);
            printf(" fd%d:%s", i - 2, r == -1 ? (errno == EBADF ? "closed" : "err") : "open");
        }
        printf("\n");
        return 0;
    }
    if (!strcmp(what, "signals")) {
        struct sigaction a;
        sigaction(SIGUSR1, NULL, &a);
        printf("handled USR1 reset to default: %d\n", a.sa_handler == SIG_DFL);
        sigaction(SIGUSR2, NULL, &a);
        printf("ignored USR2 still ignored: %d\n", a.sa_handler == SIG_IGN);
        sigset_t m, p;
        sigprocmask(SIG_SETMASK, NULL, &m);
        sigpending(&p);
        printf("mask kept (INT blocked): %d, pending kept (INT pending): %d\n", sigismember(&m, SIGINT), sigismember(&p, SIGINT));
        stack_t ss;
        sigaltstack(NULL, &ss);
        printf("alt stack disabled: %d\n", ss.ss_flags == SS_DISABLE);
        char name[16] = {0};
        prctl(PR_GET_NAME, name);
        printf("comm after exec: %s\n", name);
        return 0;
    }
    if (!strcmp(what, "exit")) return atoi(argv[2]);
    if (!strcmp(what, "echo")) { for (int i = 2; i < argc; i++) printf("%s%s", argv[i], i + 1 < argc ? " " : "\n"); return 0; }
    return 99;
}

/* ---- sections ---- */
static void *exec_thread(void *arg) {
    char pid[32];
    snprintf(pid, sizeof pid, "%d", getpid());
    execl(self, self, "--after", "thread-exec", pid, (char *)0);
    printf("exec from thread failed: %d\n", errno);
    return NULL;
}
static void *idle_thread(void *arg) { for (;;) pause(); }

static void thread_exec(void) {
    pid_t c = fork();
    if (c == 0) {
        pthread_t t;
        for (int i = 0; i < 3; i++) pthread_create(&t, NULL, idle_thread, NULL);
        pthread_create(&t, NULL, exec_thread, NULL);
        for (;;) pause();
    }
    int st;
    waitpid(c, &st, 0);
    show_status("exec from non-leader thread", st);
}

static void scripts(void) {
    char path[512], path2[512], path3[512], path4[512], path5[512];
    snprintf(path, sizeof path, "%s/script.sh", dir);
    snprintf(path2, sizeof path2, "%s/script_arg.sh", dir);
    snprintf(path3, sizeof path3, "%s/nested.sh", dir);
    snprintf(path4, sizeof path4, "%s/noexec.sh", dir);
    snprintf(path5, sizeof path5, "%s/badinterp.sh", dir);
    char *a1[] = {path, "one", "two words", NULL};
    run_capture("#!/bin/sh script", a1);
    char *a2[] = {path2, "x", NULL};
    run_capture("#! with an interpreter argument", a2);
    char *a3[] = {path3, "y", NULL};
    run_capture("#! whose interpreter is a script", a3);
    errno = 0;
    pid_t c = fork();
    if (c == 0) { char *a[] = {path4, NULL}; execv(path4, a); _exit(errno); }
    int st;
    waitpid(c, &st, 0);
    printf("script without x bit: errno %d\n", WEXITSTATUS(st));
    c = fork();
    if (c == 0) { char *a[] = {path5, NULL}; execv(path5, a); _exit(errno); }
    waitpid(c, &st, 0);
    printf("script with missing interpreter: errno %d\n", WEXITSTATUS(st));
    char garbage[512];
    snprintf(garbage, sizeof garbage, "%s/garbage.bin", dir);
    c = fork();
    if (c == 0) { char *a[] = {garbage, NULL}; execv(garbage, a); _exit(errno); }
    waitpid(c, &st, 0);
    printf("executable garbage: errno %d\n", WEXITSTATUS(st));
    c = fork();
    if (c == 0) { char *a[] = {"/nonexistent", NULL}; execv("/nonexistent", a); _exit(errno); }
    waitpid(c, &st, 0);
    printf("missing file: errno %d\n", WEXITSTATUS(st));
    c = fork();
    if (c == 0) { char *a[] = {dir, NULL}; execv(dir, a); _exit(errno); }
    waitpid(c, &st, 0);
    printf("a directory: errno %d\n", WEXITSTATUS(st));
    /* execvp falls back to /bin/sh for a file without #! (ENOEXEC) */
    char noshebang[512];
    snprintf(noshebang, sizeof noshebang, "%s/noshebang.sh", dir);
    char *a6[] = {noshebang, NULL};
    c = fork();
    if (c == 0) { execvp(noshebang, a6); _exit(errno); }
    waitpid(c, &st, 0);
    show_status("execvp of a script without #!", st);
}

static void cloexec(void) {
    int a = open("/dev/null", O_RDONLY);                 /* stays */
    int b = open("/dev/null", O_RDONLY | O_CLOEXEC);     /* closed */
    int c = open("/dev/null", O_RDONLY);
    fcntl(c, F_SETFD, FD_CLOEXEC);                        /* closed */
    int d = dup(b);                                       /* dup clears CLOEXEC: stays */
    int e = fcntl(a, F_DUPFD_CLOEXEC, 0);                 /* closed */
    int p[2];
    pipe2(p, O_CLOEXEC);                                  /* both closed */
    int f = dup3(a, 40, O_CLOEXEC);                       /* closed */
    int g = 41;
    dup2(b, g);                                           /* stays */
    int h = open("/dev/null", O_RDONLY | O_CLOEXEC);
    fcntl(h, F_SETFD, 0);                                 /* cleared: stays */
    printf("before exec flags: a=%d b=%d c=%d d=%d e=%d\n", fcntl(a, F_GETFD), fcntl(b, F_GETFD),
           fcntl(c, F_GETFD), fcntl(d, F_GETFD), fcntl(e, F_GETFD));
    char s[10][16];
    int fds[] = {a, b, c, d, e, p[0], p[1], f, g, h};
    for (int i = 0; i < 10; i++) snprintf(s[i], 16, "%d", fds[i]);
    char *argv[] = {(char *)self, "--after", "fds", s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7], s[8], s[9], NULL};
    run_capture("after exec (a b c d e p0 p1 f g h)", argv);
    int all[] = {a, b, c, d, e, p[0], p[1], f, g, h};
    for (int i = 0; i < 10; i++) close(all[i]);
}

static void exec_signals(void) {
    signal(SIGUSR1, (void (*)(int))exec_signals);   /* any handler */
    signal(SIGUSR2, SIG_IGN);
    sigset_t m;
    sigemptyset(&m);
    sigaddset(&m, SIGINT);
    sigprocmask(SIG_BLOCK, &m, NULL);
    stack_t ss = {.ss_sp = malloc(65536), .ss_size = 65536, .ss_flags = 0};
    sigaltstack(&ss, NULL);
    pid_t c = fork();
    if (c == 0) {
        raise(SIGINT);
        execl(self, self, "--after", "signals", (char *)0);
        _exit(127);
    }
    int st;
    waitpid(c, &st, 0);
    show_status("exec signal state child", st);
    signal(SIGUSR1, SIG_DFL);
    signal(SIGUSR2, SIG_DFL);
    sigprocmask(SIG_UNBLOCK, &m, NULL);
}

static void vfork_exec(void) {
    static volatile int shared_var;
    shared_var = 1;
    pid_t c = vfork();
    if (c == 0) {
        shared_var = 2;   /* vfork shares memory until exec/_exit */
        _exit(3);
    }
    int st;
    waitpid(c, &st, 0);
    printf("vfork child wrote parent's memory: %d\n", shared_var == 2);
    show_status("vfork _exit(3)", st);

    /* the parent is suspended until the child execs: it cannot run before */
    int p[2];
    pipe(p);
    shared_var = 0;
    c = vfork();
    if (c == 0) {
        shared_var = 5;
        char *argv[] = {(char *)self, "--after", "exit", "4", NULL};
        execv(self, argv);
        _exit(127);
    }
    printf("parent resumed after child's exec: saw %d\n", shared_var);
    waitpid(c, &st, 0);
    show_status("vfork+exec exit 4", st);
    close(p[0]);
    close(p[1]);

    /* vfork + exec of a missing program: child reports via _exit */
    c = vfork();
    if (c == 0) { execl("/nonexistent", "x", (char *)0); _exit(errno); }
    waitpid(c, &st, 0);
    show_status("vfork+exec missing (exit errno)", st);

    /* raw clone(CLONE_VM|CLONE_VFORK) via syscall is what posix_spawn does; covered below */
}

static void spawn(void) {
    int p[2];
    pipe(p);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, p[1], 1);
    posix_spawn_file_actions_addclose(&fa, p[0]);
    posix_spawn_file_actions_addclose(&fa, p[1]);
    char *argv[] = {"echo", "spawned", "hello", NULL};
    pid_t c;
    int r = posix_spawnp(&c, "echo", &fa, NULL, argv, environ);
    close(p[1]);
    char buf[256] = {0};
    ssize_t n = read(p[0], buf, sizeof buf - 1);
    close(p[0]);
    int st;
    waitpid(c, &st, 0);
    printf("posix_spawnp: r=%d output=%.*s", r, (int)(n > 0 ? n : 0), buf);
    show_status("  status", st);

    r = posix_spawn(&c, "/nonexistent/prog", NULL, NULL, argv, environ);
    if (r == 0) { waitpid(c, &st, 0); show_status("posix_spawn missing: spawned, child", st); }
    else printf("posix_spawn missing: r=%d\n", r);

    /* attributes: new process group, signal mask, default dispositions */
    posix_spawnattr_t at;
    posix_spawnattr_init(&at);
    posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    posix_spawnattr_setpgroup(&at, 0);
    sigset_t m, def;
    sigemptyset(&m);
    sigaddset(&m, SIGHUP);
    posix_spawnattr_setsigmask(&at, &m);
    sigemptyset(&def);
    sigaddset(&def, SIGUSR2);
    posix_spawnattr_setsigdefault(&at, &def);
    signal(SIGUSR2, SIG_IGN);
    /* The spawned program reports its own mask and dispositions (a shell's own would be racy: dash
     * blocks every signal around its vfork). Only the bits posix_spawn set are printed: the rest of
     * SigIgn is whatever the test runner inherited. Its group is read while it is a zombie. */
    char *gr[] = {"grep", "-E", "^Sig(Blk|Ign)", "/proc/self/status", NULL};
    pipe(p);
    posix_spawn_file_actions_t fa2;
    posix_spawn_file_actions_init(&fa2);
    posix_spawn_file_actions_adddup2(&fa2, p[1], 1);
    posix_spawn_file_actions_addclose(&fa2, p[0]);
    posix_spawn_file_actions_addclose(&fa2, p[1]);
    r = posix_spawnp(&c, "grep", &fa2, &at, gr, environ);
    close(p[1]);
    char out[512] = {0};
    ssize_t total = 0;
    while ((n = read(p[0], out + total, sizeof out - 1 - total)) > 0) total += n;
    close(p[0]);
    siginfo_t si;
    waitid(P_PID, c, &si, WEXITED | WNOWAIT);
    pid_t pg = getpgid(c);
    waitpid(c, &st, 0);
    unsigned long long blk = ~0ULL, ign = ~0ULL;
    char *b = strstr(out, "SigBlk:"), *g = strstr(out, "SigIgn:");
    if (b) blk = strtoull(b + 7, NULL, 16);
    if (g) ign = strtoull(g + 7, NULL, 16);
    printf("posix_spawn with attrs: r=%d SigBlk=%llx SIGUSR2 ignored=%llu own group=%d\n", r, blk,
           (ign >> (SIGUSR2 - 1)) & 1, pg == c);
    show_status("  status", st);
    signal(SIGUSR2, SIG_DFL);

    /* execveat(AT_EMPTY_PATH) / fexecve */
    int fd = open(self, O_RDONLY | O_CLOEXEC);
    c = fork();
    if (c == 0) {
        char *a[] = {(char *)self, "--after", "exit", "12", NULL};
        fexecve(fd, a, environ);
        _exit(100 + errno);
    }
    waitpid(c, &st, 0);
    show_status("fexecve", st);
    c = fork();
    if (c == 0) {
        char *a[] = {"x", "--after", "exit", "13", NULL};
        syscall(SYS_execveat, AT_FDCWD, self, a, environ, 0);
        _exit(100 + errno);
    }
    waitpid(c, &st, 0);
    show_status("execveat(AT_FDCWD, path)", st);
    close(fd);
    char dirpath[512];
    snprintf(dirpath, sizeof dirpath, "%s", self);
    char *slash = strrchr(dirpath, '/');
    *slash = 0;
    int dfd = open(dirpath, O_RDONLY | O_DIRECTORY);
    c = fork();
    if (c == 0) {
        char *a[] = {"x", "--after", "exit", "14", NULL};
        syscall(SYS_execveat, dfd, slash + 1, a, environ, 0);
        _exit(100 + errno);
    }
    waitpid(c, &st, 0);
    show_status("execveat(dirfd, name)", st);
    close(dfd);
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    self = argv[0];
    if (argc > 2 && !strcmp(argv[1], "--after")) return after_exec(argc - 1, argv + 1);
    if (argc < 2) { fprintf(stderr, "usage: proc_exec SCRIPTDIR [section]\n"); return 2; }
    dir = argv[1];
    const char *only = argc > 2 ? argv[2] : "";
#define SECTION(name) if (!*only || !strcmp(only, #name)) { printf("== " #name "\n"); name(); }
    SECTION(thread_exec);
    SECTION(scripts);
    SECTION(cloexec);
    SECTION(exec_signals);
    SECTION(vfork_exec);
    SECTION(spawn);
    printf("done\n");
    return 0;
}
