/* Network namespaces (differential): unshare(CLONE_NEWNET) gives a namespace whose loopback is
   down (ENETUNREACH), brought up by SIOCSIFFLAGS; a TCP listener and an abstract AF_UNIX name
   of the old namespace are not reachable from the new one; setns returns; clone(CLONE_NEWNET)
   gives the child its own; an unprivileged caller gets EPERM. Ports are picked per run. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#define SHOW(expr) do { errno = 0; long r_ = (long)(expr); \
    printf("%s = %ld%s%s\n", #expr, r_, errno ? " " : "", errno ? strerrorname_np(errno) : ""); } while (0)

static int port;
static char abstract_name[32];

static int lo_up(void) {
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    struct ifreq r = {0};
    strcpy(r.ifr_name, "lo");
    int x = ioctl(s, SIOCGIFFLAGS, &r);
    close(s);
    return x < 0 ? -errno : !!(r.ifr_flags & IFF_UP);
}

static long set_lo_up(void) {
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    struct ifreq r = {0};
    strcpy(r.ifr_name, "lo");
    ioctl(s, SIOCGIFFLAGS, &r);
    r.ifr_flags |= IFF_UP;
    long x = ioctl(s, SIOCSIFFLAGS, &r);
    int e = errno;
    close(s);
    errno = e;
    return x;
}

static struct sockaddr_in loopback(void) {
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return a;
}

static int tcp_listen(void) {
    int s = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = loopback();
    if (bind(s, (void *)&a, sizeof a) < 0 || listen(s, 5) < 0) { int e = errno; close(s); errno = e; return -1; }
    return s;
}

static int tcp_connect(void) {
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = loopback();
    int r = connect(s, (void *)&a, sizeof a), e = errno;
    close(s);
    errno = e;
    return r;
}

static int unix_abstract(int listening) {
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    size_t n = strlen(abstract_name + 1) + 1;
    memcpy(a.sun_path, abstract_name, n);
    socklen_t len = offsetof(struct sockaddr_un, sun_path) + n;
    int r = listening ? (bind(s, (void *)&a, len) || listen(s, 1) ? -1 : 0) : connect(s, (void *)&a, len);
    int e = errno;
    if (r < 0 || !listening) close(s);
    errno = e;
    return r < 0 ? -1 : s;
}

static ino_t ns_ino(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 ? st.st_ino : 0;
}

static int child_main(void *arg) {
    printf("clone child: own namespace %d, lo up %d\n", ns_ino("/proc/self/ns/net") != *(ino_t *)arg, lo_up());
    return 0;
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    port = 20000 + getpid() % 20000;
    snprintf(abstract_name, sizeof abstract_name, "%cns_net.%d", 0, getpid());
    int outer = open("/proc/self/ns/net", O_RDONLY);
    ino_t before = ns_ino("/proc/self/ns/net");
    int listener = tcp_listen();
    int named = unix_abstract(1);
    printf("outer: lo up %d, listening %d, abstract bound %d\n", lo_up(), listener >= 0, named >= 0);
    SHOW(tcp_connect());
    SHOW(unshare(CLONE_NEWNET));
    printf("a new namespace: %d\n", ns_ino("/proc/self/ns/net") != before);
    printf("inner lo up: %d\n", lo_up());
    SHOW(tcp_connect());
    SHOW(set_lo_up());
    printf("inner lo up now: %d\n", lo_up());
    SHOW(tcp_connect());
    int inner_listener = tcp_listen();
    printf("same port bound inside: %d\n", inner_listener >= 0);
    SHOW(tcp_connect());
    SHOW(unix_abstract(0));
    int inner_named = unix_abstract(1);
    printf("same abstract name bound inside: %d\n", inner_named >= 0);
    SHOW(setns(outer, CLONE_NEWNET));
    printf("back: %d\n", ns_ino("/proc/self/ns/net") == before);
    close(inner_listener);
    SHOW(tcp_connect());
    int c = unix_abstract(0);
    printf("abstract reachable again: %d\n", c >= 0);
    static char stack[65536];
    pid_t pid = clone(child_main, stack + sizeof stack, CLONE_NEWNET | SIGCHLD, &before);
    int status;
    waitpid(pid, &status, 0);
    pid = fork();
    if (pid == 0) {
        setresuid(4242, 4242, 4242);
        SHOW(unshare(CLONE_NEWNET));
        _exit(0);
    }
    waitpid(pid, &status, 0);
    close(listener);
    close(named);
    close(inner_named);
    return 0;
}
