/* execveat of a descriptor (differential): a memfd still open for writing runs (as runc's and
   snakevisor's own stubs do), named /dev/fd/N with the file's own name as comm; while it runs it
   cannot be opened for writing by path (ETXTBSY); a name relative to a directory descriptor. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include "show.h"

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IONBF, 0);
    if (argc > 1) {   /* the program run from the memfd */
        char comm[32] = {0};
        int f = open("/proc/self/comm", O_RDONLY);
        read(f, comm, sizeof comm - 1);
        printf("run as argv0=%s comm=%s", argv[0], comm);
        SHOW(open("/proc/self/exe", O_WRONLY));
        return 3;
    }
    int fd = memfd_create("me", MFD_CLOEXEC);
    int src = open("/proc/self/exe", O_RDONLY);
    char buf[65536];
    ssize_t n;
    while ((n = read(src, buf, sizeof buf)) > 0)
        write(fd, buf, n);
    pid_t p = fork();
    if (p == 0) {
        char *av[] = {"from-memfd", "child", NULL}, *ev[] = {NULL};
        S("execveat", SYS_execveat, fd, "", av, ev, AT_EMPTY_PATH);
        _exit(1);
    }
    int status;
    waitpid(p, &status, 0);
    printf("exit status %d\n", WEXITSTATUS(status));
    int dir = open("/bin", O_RDONLY | O_DIRECTORY);
    p = fork();
    if (p == 0) {
        char *av[] = {"true", NULL}, *ev[] = {NULL};
        S("execveat relative", SYS_execveat, dir, "true", av, ev, 0);
        _exit(9);
    }
    waitpid(p, &status, 0);
    printf("relative exit status %d\n", WEXITSTATUS(status));
    S("execveat empty without AT_EMPTY_PATH", SYS_execveat, fd, "", (char *[]){"x", NULL}, (char *[]){NULL}, 0);
    return 0;
}
