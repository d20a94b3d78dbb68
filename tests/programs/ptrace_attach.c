/* Attaching to running processes: PTRACE_ATTACH's SIGSTOP, TracerPid and "t (tracing stop)" in
 * /proc, ESRCH for a running tracee, PTRACE_DETACH; PTRACE_SEIZE (no stop), PTRACE_INTERRUPT's
 * PTRACE_EVENT_STOP, a group stop under SEIZE and PTRACE_LISTEN until SIGCONT; SIGKILL of a
 * stopped tracee; PTRACE_EVENT_EXIT before a death by signal; PTRACE_KILL; a tracer that is not the parent collecting its tracee's exit;
 * PTRACE_O_EXITKILL and a plain detach when the tracer exits; the access rule (another uid, a
 * process that is not dumpable). Output names no pid. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <sys/syscall.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>
#include "await_state.h"
#include "ptrace_util.h"

static void wait_show(const char *who, pid_t pid) {
    int st;
    if (waitpid(pid, &st, __WALL) != pid) { perror(who); exit(2); }
    show_status(who, st);
}

/* A child blocked in read() on a pipe until the test writes to it; exits with the count. */
static pid_t reader(int fds[2]) {
    if (pipe(fds) != 0) exit(2);
    pid_t pid = fork();
    if (pid == 0) {
        char buf[16];
        close(fds[1]);
        ssize_t n;
        while ((n = read(fds[0], buf, sizeof buf)) < 0 && errno == EINTR) {}
        _exit(n);
    }
    close(fds[0]);
    await_pid_sleeping(pid);
    return pid;
}

static void status_lines(pid_t pid) {
    char path[64], line[128];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    while (f && fgets(line, sizeof line, f)) {
        int tracer;
        if (!strncmp(line, "State:", 6)) printf("  %s", line);
        if (sscanf(line, "TracerPid: %d", &tracer) == 1) printf("  traced by us: %d\n", tracer == getpid());
    }
    if (f) fclose(f);
}

static void attach_detach(void) {
    int fds[2];
    pid_t pid = reader(fds);
    result("ATTACH", ptrace(PTRACE_ATTACH, pid, 0, 0));
    wait_show("attached", pid);
    status_lines(pid);
    siginfo_t si;
    ptrace(PTRACE_GETSIGINFO, pid, 0, &si);
    printf("siginfo: signo %d code %d from us %d\n", si.si_signo, si.si_code, si.si_pid == getpid());
    result("CONT", ptrace(PTRACE_CONT, pid, 0, 0));
    await_pid_sleeping(pid);
    struct user_regs_struct regs;
    result("GETREGS while it runs", ptrace(PTRACE_GETREGS, pid, 0, &regs));
    result("INTERRUPT without SEIZE", ptrace(PTRACE_INTERRUPT, pid, 0, 0));
    syscall(SYS_tgkill, pid, pid, SIGSTOP);
    wait_show("stopped again", pid);
    result("DETACH", ptrace(PTRACE_DETACH, pid, 0, 0));
    await_pid_sleeping(pid);
    status_lines(pid);
    write(fds[1], "hello", 5);
    wait_show("reader", pid);
}

static void seize_listen(void) {
    int fds[2], st;
    pid_t pid = reader(fds);
    result("SEIZE", ptrace(PTRACE_SEIZE, pid, 0, PTRACE_O_TRACESYSGOOD));
    result("no stop after SEIZE", waitpid(pid, &st, __WALL | WNOHANG));
    result("INTERRUPT", ptrace(PTRACE_INTERRUPT, pid, 0, 0));
    wait_show("interrupted", pid);
    siginfo_t si;
    ptrace(PTRACE_GETSIGINFO, pid, 0, &si);
    printf("siginfo: signo %d code %#x\n", si.si_signo, si.si_code);
    ptrace(PTRACE_CONT, pid, 0, 0);
    await_pid_sleeping(pid);
    kill(pid, SIGSTOP);
    wait_show("SIGSTOP delivery", pid);
    ptrace(PTRACE_CONT, pid, 0, SIGSTOP);
    wait_show("group stop", pid);
    result("GETSIGINFO in group stop", ptrace(PTRACE_GETSIGINFO, pid, 0, &si));
    printf("siginfo: signo %d code %#x\n", si.si_signo, si.si_code);
    result("LISTEN", ptrace(PTRACE_LISTEN, pid, 0, 0));
    kill(pid, SIGCONT);
    wait_show("after SIGCONT", pid);
    ptrace(PTRACE_CONT, pid, 0, 0);
    wait_show("SIGCONT delivery", pid);
    ptrace(PTRACE_CONT, pid, 0, SIGCONT);
    await_pid_sleeping(pid);
    write(fds[1], "hi", 2);
    wait_show("reader", pid);
}

static void killed_while_stopped(void) {
    int fds[2];
    pid_t pid = reader(fds);
    ptrace(PTRACE_SEIZE, pid, 0, 0);
    ptrace(PTRACE_INTERRUPT, pid, 0, 0);
    wait_show("interrupted", pid);
    status_lines(pid);
    kill(pid, SIGKILL);
    wait_show("SIGKILLed tracee", pid);
    pid = reader(fds);
    ptrace(PTRACE_SEIZE, pid, 0, PTRACE_O_TRACEEXIT);
    kill(pid, SIGTERM);
    wait_show("SIGTERM delivery", pid);
    ptrace(PTRACE_CONT, pid, 0, SIGTERM);
    wait_show("dying of it", pid);
    unsigned long msg = 0;
    ptrace(PTRACE_GETEVENTMSG, pid, 0, &msg);
    printf("exit event: msg %lu\n", msg);
    ptrace(PTRACE_CONT, pid, 0, 0);
    wait_show("SIGTERMed tracee", pid);
    pid = fork_traced();
    if (pid == 0) _exit(0);
    result("PTRACE_KILL", ptrace(PTRACE_KILL, pid, 0, 0));
    wait_show("PTRACE_KILLed", pid);
}

/* A tracer H that is a sibling of its tracee G: it seizes G (with OPTIONS), says so through a
 * pipe, and either exits at once or, told to, collects G's exit (its code is H's). Meanwhile G's
 * parent cannot collect it: the tracer comes first. */
static void sibling_tracer(long options, int collect) {
    int fds[2], ready[2], go[2];
    pid_t g = reader(fds);
    if (pipe(ready) != 0 || pipe(go) != 0) exit(2);
    pid_t h = fork();
    if (h == 0) {
        long r = ptrace(PTRACE_SEIZE, g, 0, options);
        if (collect < 0) {   /* exit while the tracee is in a ptrace-stop: it runs on */
            int st;
            ptrace(PTRACE_INTERRUPT, g, 0, 0);
            r = waitpid(g, &st, __WALL) == g && st >> 16 == PTRACE_EVENT_STOP ? 0 : 97;
        }
        write(ready[1], "x", 1);
        char c;
        if (r != 0 || collect <= 0 || read(go[0], &c, 1) != 1) _exit(r ? 99 : 0);
        int st;
        _exit(waitpid(g, &st, __WALL) == g && WIFEXITED(st) ? 50 + WEXITSTATUS(st) : 98);
    }
    char c, path[64];
    read(ready[0], &c, 1);
    if (collect > 0) {
        write(fds[1], "abc", 3);
        snprintf(path, sizeof path, "/proc/%d/stat", (int)g);
        await_state(path, "Z");
        int st;
        result("parent's wait before the tracer's", waitpid(g, &st, WNOHANG));
        write(go[1], "y", 1);
        wait_show("tracer that collected the exit", h);
    } else {
        wait_show("tracer", h);
        if (!(options & PTRACE_O_EXITKILL)) {
            await_pid_sleeping(g);
            status_lines(g);
            kill(g, SIGTERM);
        }
    }
    wait_show("tracee as a child", g);
    close(ready[0]); close(ready[1]); close(go[0]); close(go[1]);
}

/* An unprivileged process may not trace root's, nor a process of its own uid that is not
 * dumpable; process_vm_readv follows the same rule. */
static void access_rule(void) {
    int fds[2];
    pid_t target = reader(fds);
    pid_t pid = fork();
    if (pid == 0) {
        char buf[8];
        struct iovec local = {buf, sizeof buf}, remote = {buf, sizeof buf};
        if (setresgid(65534, 65534, 65534) != 0 || setresuid(65534, 65534, 65534) != 0) _exit(90);
        result("nobody ATTACHes root's process", ptrace(PTRACE_ATTACH, target, 0, 0));
        result("nobody reads root's memory", process_vm_readv(target, &local, 1, &remote, 1, 0));
        pid_t same = fork();
        if (same == 0) {
            prctl(PR_SET_DUMPABLE, 0);
            pause();
            _exit(0);
        }
        await_pid_sleeping(same);
        result("nobody SEIZEs its own non-dumpable child", ptrace(PTRACE_SEIZE, same, 0, 0));
        result("nobody asks for PTRACE_O_SUSPEND_SECCOMP", ptrace(PTRACE_SEIZE, same, 0, PTRACE_O_SUSPEND_SECCOMP));
        kill(same, SIGKILL);
        waitpid(same, NULL, 0);
        _exit(0);
    }
    wait_show("unprivileged tracer", pid);
    write(fds[1], "z", 1);
    wait_show("reader", target);
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    printf("-- attach/detach\n");
    attach_detach();
    printf("-- seize/interrupt/listen\n");
    seize_listen();
    printf("-- kill\n");
    killed_while_stopped();
    printf("-- tracer exits with EXITKILL\n");
    sibling_tracer(PTRACE_O_EXITKILL, 0);
    printf("-- tracer exits without\n");
    sibling_tracer(0, 0);
    printf("-- tracer exits while its tracee is stopped\n");
    sibling_tracer(0, -1);
    printf("-- tracer is not the parent\n");
    sibling_tracer(0, 1);
    printf("-- access rule\n");
    access_rule();
    return 0;
}
