/* Random SQEs and ring scribbles for the Sentry (run in the sandbox only: results vary): random
 * opcodes, flags, descriptors among a few prepared ones, pointers to a scratch buffer or nowhere,
 * lengths small and huge, enter flags and counts; each round ends with a bounded wait. The
 * Sentry must answer every call and never fail internally. Prints "survived" at the end. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/io_uring.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

static uint64_t state = 0x9E3779B97F4A7C15ull;
static uint64_t rnd(void) {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
}

int main(int argc, char **argv) {
    int rounds = argc > 1 ? atoi(argv[1]) : 2000;
    if (argc > 2) state ^= strtoull(argv[2], NULL, 0) * 0x2545F4914F6CDD1Dull;
    struct io_uring_params p;
    memset(&p, 0, sizeof p);
    int fd = syscall(SYS_io_uring_setup, 8, &p);
    if (fd < 0) { perror("setup"); return 1; }
    size_t sz = p.sq_off.array + p.sq_entries * 4;
    size_t cqsz = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
    if (cqsz > sz) sz = cqsz;
    unsigned char *sq = mmap(0, sz, PROT_READ | PROT_WRITE, MAP_SHARED, fd, IORING_OFF_SQ_RING);
    struct io_uring_sqe *sqes = mmap(0, p.sq_entries * sizeof *sqes, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
                                     IORING_OFF_SQES);
    if (sq == MAP_FAILED || sqes == MAP_FAILED) { perror("mmap"); return 1; }
    unsigned *tail = (unsigned *)(sq + p.sq_off.tail), *array = (unsigned *)(sq + p.sq_off.array);
    unsigned *cq_head = (unsigned *)(sq + p.cq_off.head), *cq_tail = (unsigned *)(sq + p.cq_off.tail);
    int pfd[2], sv[2];
    if (pipe(pfd) || socketpair(AF_UNIX, SOCK_STREAM, 0, sv)) { perror("pipe"); return 1; }
    int tmp = open("/tmp", O_TMPFILE | O_RDWR, 0600);
    int efd = eventfd(0, 0);
    int fds[] = {pfd[0], pfd[1], sv[0], sv[1], tmp, efd, fd, -1, 1000, 0};
    static char scratch[65536];
    int regfds[2] = {pfd[0], tmp};
    syscall(SYS_io_uring_register, fd, IORING_REGISTER_FILES, regfds, 2);
    struct iovec reg = {scratch, sizeof scratch};
    syscall(SYS_io_uring_register, fd, IORING_REGISTER_BUFFERS, &reg, 1);
    for (int round = 0; round < rounds; round++) {
        int n = 1 + rnd() % 8;
        for (int i = 0; i < n; i++) {
            unsigned t = *tail;
            struct io_uring_sqe *s = &sqes[t & 7];
            for (unsigned k = 0; k < sizeof *s; k += 8) *(uint64_t *)((char *)s + k) = rnd();
            s->opcode = rnd() % 60;
            s->flags &= rnd() % 4 ? 0x4F : 0xFF;   /* mostly known flags */
            s->fd = fds[rnd() % 10];
            if (s->flags & IOSQE_FIXED_FILE) s->fd = rnd() % 3;
            if (rnd() % 4) s->addr = (uintptr_t)(scratch + rnd() % 4096);
            if (rnd() % 2) s->len = rnd() % 64;
            if (rnd() % 2) s->off = rnd() % 8192;
            if (rnd() % 2) s->rw_flags = 0;
            s->ioprio = rnd() % 8 ? 0 : s->ioprio;
            s->buf_index = rnd() % 2;
            s->personality = 0;
            s->splice_fd_in = rnd() % 8 ? 0 : s->splice_fd_in;
            if (s->opcode == IORING_OP_CLOSE || s->opcode == IORING_OP_OPENAT || s->opcode == 35 ||
                s->opcode == 36 || s->opcode == 37 || s->opcode == 38 || s->opcode == 39)
                s->opcode = IORING_OP_NOP;   /* keep the prepared descriptors and the tree */
            array[t & 7] = rnd() % 16 ? t & 7 : rnd();
            *tail = t + 1;
        }
        if (rnd() % 16 == 0) *tail += rnd() % 100000;   /* a scribbled tail */
        if (rnd() % 16 == 0) *cq_head = rnd();           /* a scribbled head */
        struct __kernel_timespec ts = {0, 100000};
        struct io_uring_getevents_arg arg = {.ts = (uintptr_t)&ts};
        unsigned flags = IORING_ENTER_GETEVENTS | IORING_ENTER_EXT_ARG | (rnd() % 16 ? 0 : rnd() & 0x1f);
        syscall(SYS_io_uring_enter, fd, rnd() % 16 ? n : (unsigned)rnd(), rnd() % 3, flags, &arg, sizeof arg);
        *cq_head = *cq_tail;   /* reap everything */
        if (rnd() % 8 == 0 && write(pfd[1], "x", 1) < 0) perror("write");
        if (rnd() % 8 == 0 && write(sv[1], "y", 1) < 0) perror("write");
    }
    close(fd);
    printf("survived\n");
    return 0;
}
