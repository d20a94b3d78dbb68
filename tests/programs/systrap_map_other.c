#define _GNU_SOURCE
/* A hostile child against the systrap platform: it jumps into the stub's code (the `syscall;
 * int3` gadget) with registers of its choosing, to make, from the stub's instruction pointer,
 * an mmap of the memory descriptor at offsets of its choice (looking for a secret its parent
 * holds in its own memory), and an mprotect that would make a read-only shared mapping of a
 * file writable; then it runs the mapper's batch code over requests of its own, and its loop
 * over request pages of its own (reading the mapper's socket first); last it receives from the
 * mapper's socket (where the Sentry sends a volume file's descriptor) and maps, then closes, the
 * descriptor number such a file lands at in the mapper. Natively the gadget's
 * address is unmapped: the child dies of SIGSEGV. In the
 * sandbox the application threads' filter must refuse both calls (the child dies): if either
 * went through, the child finds the secret (or writes the file) and says so. */
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define GADGET 0x7FFE00000090UL   /* syscall; int3 */
#define BATCH 0x7FFE00000300UL    /* the mapper's batch: r12 = requests (nr and 6 arguments), r13 = count */
#define LOOP 0x7FFE00000380UL     /* the mapper's loop: r14 = request pages (count, requests), rbp = a byte */
#define MEMFD 3                   /* the MemoryFile's descriptor in every stub */
#define WINDOW (2UL << 20)
#define SCAN (256UL << 20)

static sigjmp_buf back;
static void on_trap(int sig) { (void)sig; siglongjmp(back, 1); }

/* syscall(nr, a..f) made at the gadget; the int3 after it comes back here through SIGTRAP. */
static long at_gadget(long nr, long a, long b, long c, long d, long e, long f)
{
    static volatile long result;
    if (sigsetjmp(back, 1) == 0) {
        register long r10 __asm__("r10") = d, r8 __asm__("r8") = e, r9 __asm__("r9") = f;
        __asm__ volatile("call *%[g]" : "+a"(nr) : [g] "r"(GADGET), "D"(a), "S"(b), "d"(c), "r"(r10),
                         "r"(r8), "r"(r9) : "rcx", "r11", "memory");
        result = nr;   /* not reached: the int3 traps first */
    }
    return result;
}

static int scan_for(const char *secret)
{
    char *area = mmap(NULL, WINDOW, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    for (unsigned long off = 0; off < SCAN; off += WINDOW) {
        at_gadget(9, (long)area, WINDOW, PROT_READ, MAP_SHARED | MAP_FIXED, MEMFD, off);
        if (memmem(area, WINDOW, secret, strlen(secret)))
            return 1;
    }
    return 0;
}

static int write_read_only(const char *path)
{
    int fd = open(path, O_RDONLY);
    char *p = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
    at_gadget(10, (long)p, 4096, PROT_READ | PROT_WRITE, 0, 0, 0);
    p[0] = 'X';
    return 1;
}

/* The batch code over one request of ours: an mmap of the memory descriptor at offset 0. */
static int batch_of_our_own(void)
{
    char *area = mmap(NULL, WINDOW, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    static long request[7];
    request[0] = 9; request[1] = (long)area; request[2] = WINDOW; request[3] = PROT_READ;
    request[4] = MAP_SHARED | MAP_FIXED; request[5] = MEMFD; request[6] = 0;
    if (sigsetjmp(back, 1) == 0) {
        register long r12 __asm__("r12") = (long)request, r13 __asm__("r13") = 1;
        __asm__ volatile("call *%[b]" : : [b] "r"(BATCH), "r"(r12), "r"(r13) : "rax", "rdi", "rsi", "rdx", "r10",
                         "r8", "r9", "rcx", "r11", "memory");
    }
    volatile char first = area[0];   /* faults (PROT_NONE) unless the request was made */
    (void)first;
    return 1;
}

/* The mapper's loop over request pages of ours: a read of its socket, then the same mmap. */
static int loop_of_our_own(void)
{
    char *area = mmap(NULL, WINDOW, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    static long pages[8], byte;
    pages[0] = 1; pages[1] = 9; pages[2] = (long)area; pages[3] = WINDOW; pages[4] = PROT_READ;
    pages[5] = MAP_SHARED | MAP_FIXED; pages[6] = MEMFD; pages[7] = 0;
    if (sigsetjmp(back, 1) == 0) {
        register long r14 __asm__("r14") = (long)pages;
        __asm__ volatile("push %%rbp\n\tmov %[s], %%rbp\n\tcall *%[l]\n\tpop %%rbp"
                         : : [l] "r"(LOOP), [s] "r"(&byte), "r"(r14)
                         : "rax", "rdi", "rsi", "rdx", "r10", "r8", "r9", "rcx", "r11", "r12", "r13", "r15", "memory");
    }
    volatile char first = area[0];
    (void)first;
    return 1;
}

/* recvmsg on the mapper's socket, mmap and close of the number a host file lands at (HOST_FD). */
static int receive_a_host_file(void)
{
    char byte, control[64];
    struct iovec iov = {&byte, 1};
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control, .msg_controllen = sizeof control};
    at_gadget(47, 0, (long)&msg, MSG_DONTWAIT, 0, 0, 0);
    char *area = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    at_gadget(9, (long)area, 4096, PROT_READ, MAP_SHARED | MAP_FIXED, 2, 0);
    at_gadget(3, 2, 0, 0, 0, 0, 0);
    return 1;
}

int main(void)
{
    char *secret = malloc(64);
    snprintf(secret, 64, "secret-%d-%s", 4242, "only-the-parent-holds-this");
    const char *path = "/tmp/systrap-read-only";
    int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0444);
    write(fd, "original\n", 9);
    close(fd);
    signal(SIGTRAP, on_trap);
    for (int mode = 0; mode < 5; mode++) {
        fflush(stdout);
        pid_t pid = fork();
        if (pid == 0) {
            char copy[64];   /* what to look for, built so the child's own pages differ from the parent's */
            snprintf(copy, sizeof copy, "secret-%d-%s", 4242, "only-the-parent-holds-this");
            memset(secret, 0, 64);
            int got = mode == 0 ? scan_for(copy) : mode == 1 ? write_read_only(path) :
                      mode == 2 ? batch_of_our_own() : mode == 3 ? loop_of_our_own() : receive_a_host_file();
            printf("mode %d: the child got through: %d\n", mode, got);
            fflush(stdout);
            _exit(0);
        }
        int st;
        waitpid(pid, &st, 0);
        printf("mode %d: child killed by a signal: %d\n", mode, WIFSIGNALED(st));
    }
    char buf[16] = {0};
    fd = open(path, O_RDONLY);
    read(fd, buf, sizeof buf - 1);
    close(fd);
    unlink(path);
    printf("file: %s", buf);
    printf("secret still here: %d\n", secret[0] == 's');
    return 0;
}
