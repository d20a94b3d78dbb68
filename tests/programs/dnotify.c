/* dnotify (fcntl F_NOTIFY), printed for a native-vs-sandbox comparison: F_SETSIG's real-time
 * signal with si_code POLL_MSG and si_fd, DN_MULTISHOT, one-shot registrations, the DN_* classes
 * (create, modify, attrib, rename, delete), and the errors; a watched directory's own attribute
 * change (its watch and its parent's both signalled), and DN_RENAME for renames within the
 * directory only (not into or out of it). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static int dfd;
static sigset_t rt;

static void drain(const char *what) {
    struct timespec none = {0, 0};
    siginfo_t si;
    int n = 0, sane = 1;
    while (sigtimedwait(&rt, &si, &none) > 0) {
        n++;
        if (si.si_code != POLL_MSG || si.si_fd != dfd) sane = 0;
    }
    printf("%s: %s\n", what, n ? (sane ? "signalled (POLL_MSG, si_fd)" : "signalled, wrong siginfo") : "quiet");
}

/* Which of the two watches were signalled (parent: dfd, the subdirectory: sfd). */
static void drain_two(const char *what, int sfd) {
    struct timespec none = {0, 0};
    siginfo_t si;
    int parent = 0, sub = 0;
    while (sigtimedwait(&rt, &si, &none) > 0) {
        parent |= si.si_fd == dfd;
        sub |= si.si_fd == sfd;
    }
    printf("%s: parent %s, subdirectory %s\n", what, parent ? "signalled" : "quiet", sub ? "signalled" : "quiet");
}

static void subdir_and_renames(void) {
    mkdir("s", 0700);
    close(open("f", O_CREAT | O_WRONLY, 0644));
    int sfd = open("s", O_RDONLY | O_DIRECTORY);
    fcntl(dfd, F_NOTIFY, 0);
    fcntl(sfd, F_SETSIG, SIGRTMIN + 1);
    fcntl(dfd, F_NOTIFY, DN_ATTRIB | DN_RENAME | DN_MULTISHOT);
    fcntl(sfd, F_NOTIFY, DN_ATTRIB | DN_RENAME | DN_MULTISHOT);
    chmod("s", 0755);
    drain_two("chmod of the subdirectory", sfd);
    rename("f", "s/f");
    drain_two("rename into the subdirectory", sfd);
    rename("s/f", "s/g");
    drain_two("rename within the subdirectory", sfd);
    rename("s", "t");
    drain_two("rename of the subdirectory", sfd);
    close(sfd);
    unlink("t/g"); rmdir("t");
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    char dir[] = "/tmp/dnotify-XXXXXX";
    if (!mkdtemp(dir)) return 2;
    chdir(dir);
    sigemptyset(&rt);
    sigaddset(&rt, SIGRTMIN + 1);
    sigprocmask(SIG_BLOCK, &rt, NULL);
    dfd = open(".", O_RDONLY | O_DIRECTORY);
    int file = open("plain", O_CREAT | O_WRONLY, 0644);
    printf("F_NOTIFY on a file: %s\n", fcntl(file, F_NOTIFY, DN_CREATE) < 0 ? strerrorname_np(errno) : "ok");
    fcntl(dfd, F_SETSIG, SIGRTMIN + 1);
    printf("F_NOTIFY multishot: %d\n", fcntl(dfd, F_NOTIFY, DN_CREATE | DN_DELETE | DN_RENAME | DN_MULTISHOT));
    printf("owner is me: %d\n", fcntl(dfd, F_GETOWN) == getpid());
    close(open("a", O_CREAT | O_WRONLY, 0644));
    drain("create");
    write(file, "x", 1);
    drain("modify (not asked for)");
    rename("a", "b");
    drain("rename");
    unlink("b");
    drain("delete");
    printf("F_NOTIFY modify|attrib, one-shot: %d\n", fcntl(dfd, F_NOTIFY, DN_MODIFY | DN_ATTRIB));
    write(file, "y", 1);
    drain("modify");
    chmod("plain", 0600);
    drain("attrib (masks add up: the earlier DN_MULTISHOT stays)");
    printf("F_NOTIFY 0 (cancel): %d\n", fcntl(dfd, F_NOTIFY, 0));
    close(open("c", O_CREAT | O_WRONLY, 0644));
    drain("create after cancel");
    unlink("c"); unlink("plain"); close(file);
    subdir_and_renames();
    close(dfd); rmdir(dir);
    return 0;
}
