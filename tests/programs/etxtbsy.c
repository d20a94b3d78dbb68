/* ETXTBSY: a running program may not be opened for writing or truncated, and a file open for
 * writing may not be executed, as Linux's deny_write_access. Printed for a native-vs-sandbox
 * comparison; the copy of the program lives in a fresh directory under /tmp. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *r(long v) { return v < 0 ? strerrorname_np(errno) : "ok"; }

static int run(const char *path) {
    pid_t c = fork();
    if (c == 0) {
        execl(path, path, "child", (char *)0);
        _exit(errno == ETXTBSY ? 42 : 43);
    }
    int st;
    waitpid(c, &st, 0);
    return WEXITSTATUS(st);
}

int main(int argc, char **argv) {
    if (argc > 1 && !strcmp(argv[1], "hold")) {   /* the copy, running: says so, waits for EOF */
        char b;
        write(1, "r", 1);
        while (read(0, &b, 1) > 0) {}
        return 0;
    }
    if (argc > 1) return 7;   /* the copy, run as a child */
    setvbuf(stdout, NULL, _IONBF, 0);
    printf("open own program for writing: %s\n", r(open("/proc/self/exe", O_WRONLY)));
    printf("open it read-only: %s\n", r(open("/proc/self/exe", O_RDONLY)));
    printf("truncate it: %s\n", r(truncate("/proc/self/exe", 1 << 30)));
    char dir[] = "/tmp/etxtbsy-XXXXXX", copy[64];
    if (!mkdtemp(dir)) return 2;
    snprintf(copy, sizeof copy, "%s/prog", dir);
    int in = open("/proc/self/exe", O_RDONLY), out = open(copy, O_CREAT | O_WRONLY, 0755);
    char buf[65536];
    ssize_t n;
    while ((n = read(in, buf, sizeof buf)) > 0) write(out, buf, n);
    close(in);
    printf("exec while open for writing: %s\n", run(copy) == 42 ? "ETXTBSY" : "ran");
    close(out);
    printf("exec after close: exit %d\n", run(copy));
    int ro = open(copy, O_RDONLY);
    printf("exec while open read-only: exit %d\n", run(copy));
    close(ro);
    int up[2], down[2];
    pipe(up); pipe(down);
    pid_t c = fork();
    if (c == 0) {   /* a running copy: nobody may write it until it exits */
        dup2(down[0], 0); dup2(up[1], 1);
        close(down[1]); close(up[0]);
        execl(copy, copy, "hold", (char *)0);
        _exit(1);
    }
    close(down[0]); close(up[1]);
    char b;
    read(up[0], &b, 1);
    printf("write while a copy runs: %s\n", r(open(copy, O_WRONLY)));
    close(down[1]);
    int st;
    waitpid(c, &st, 0);
    printf("write after the copy exited: %s\n", r(open(copy, O_WRONLY)));
    unlink(copy);
    rmdir(dir);
    return 0;
}
