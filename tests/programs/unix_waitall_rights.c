/* A stream read with MSG_WAITALL that waits for its second half, which carries descriptors
 * (SCM_RIGHTS): Linux glues the two writes (same writer) and delivers the descriptor with the
 * bytes, then ends the read. Then a read larger than what is queued, whose second message has
 * descriptors too. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "await_state.h"

static void send_fd(int sock, const char *data, int fd) {
    char control[CMSG_SPACE(sizeof(int))] = {0};
    struct iovec iov = {(void *)data, strlen(data)};
    struct msghdr msg = {0};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &fd, sizeof fd);
    if (sendmsg(sock, &msg, 0) < 0) perror("sendmsg");
}

/* Receive up to n bytes with flags; print the bytes and what the descriptors passed are. */
static void receive(int sock, size_t n, int flags) {
    char buf[64] = {0}, control[CMSG_SPACE(4 * sizeof(int))];
    struct iovec iov = {buf, n};
    struct msghdr msg = {0};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    ssize_t r = recvmsg(sock, &msg, flags);
    printf("recvmsg: %zd \"%s\"", r, r > 0 ? buf : "");
    int fds = 0;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
        for (size_t i = 0; i < (c->cmsg_len - CMSG_LEN(0)) / sizeof(int); i++) {
            int fd;
            memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
            struct stat st;
            printf(" fd:%s", fstat(fd, &st) == 0 && S_ISFIFO(st.st_mode) ? "fifo" : "bad");
            close(fd);
            fds++;
        }
    }
    printf(" (%d descriptors)\n", fds);
    fflush(stdout);
}

int main(void) {
    int sv[2], p[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) || pipe(p)) return 1;
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == 0) {
        write(sv[1], "hello", 5);
        char path[64];
        snprintf(path, sizeof path, "/proc/%d/stat", (int)parent);
        if (!await_sleeping(path)) _exit(9);   /* the parent waits in recvmsg for the rest */
        send_fd(sv[1], "world", p[1]);
        send_fd(sv[1], "again", p[0]);
        _exit(0);
    }
    receive(sv[0], 10, MSG_WAITALL);
    int st;
    waitpid(pid, &st, 0);
    receive(sv[0], 40, 0);
    printf("child exit %d\n", WEXITSTATUS(st));
    return 0;
}
