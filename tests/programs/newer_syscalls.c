/* Syscalls of Linux 6.6-6.13 (differential; a section whose syscall the host lacks prints
   "host lacks" and the test skips it): fchmodat2, futex_wake/futex_wait/futex_requeue,
   mseal, setxattrat/getxattrat/listxattrat/removexattrat, lsm_* argument checks. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#define SHOW(expr) do { errno = 0; long r_ = (long)(expr); \
    printf("%s = %ld%s%s\n", #expr, r_, errno ? " " : "", errno ? strerrorname_np(errno) : ""); } while (0)
#define NR_fchmodat2 452
#define NR_futex_wake 454
#define NR_futex_wait 455
#define NR_futex_requeue 456
#define NR_lsm_get_self_attr 459
#define NR_lsm_set_self_attr 460
#define NR_lsm_list_modules 461
#define NR_mseal 462
#define NR_setxattrat 463
#define NR_getxattrat 464
#define NR_listxattrat 465
#define NR_removexattrat 466
#define F2_U32 2
#define F2_PRIVATE 128
#define PG 4096

struct waitv { uint64_t val, uaddr; uint32_t flags, reserved; };
struct xattr_args { uint64_t value; uint32_t size, flags; };

static int lacks(long nr) {
    errno = 0;
    syscall(nr, -1L, 0L, 0L, 0L, 0L, 0L);
    if (errno == ENOSYS) { printf("host lacks %ld\n", nr); return 1; }
    return 0;
}

static char dir[64];

static void fchmodat2_section(void) {
    char file[128], link[128];
    snprintf(file, sizeof file, "%s/f", dir);
    snprintf(link, sizeof link, "%s/l", dir);
    close(open(file, O_CREAT | O_WRONLY, 0600));
    symlink("f", link);
    struct stat st;
    SHOW(syscall(NR_fchmodat2, AT_FDCWD, file, 0640, 0));
    stat(file, &st);
    printf("mode %o\n", st.st_mode & 07777);
    SHOW(syscall(NR_fchmodat2, AT_FDCWD, link, 0600, AT_SYMLINK_NOFOLLOW));
    SHOW(syscall(NR_fchmodat2, AT_FDCWD, link, 0604, 0));
    stat(file, &st);
    printf("mode through the link %o\n", st.st_mode & 07777);
    int fd = open(file, O_RDONLY);
    SHOW(syscall(NR_fchmodat2, fd, "", 0644, AT_EMPTY_PATH));
    SHOW(syscall(NR_fchmodat2, fd, "", 0644, 0));
    SHOW(syscall(NR_fchmodat2, AT_FDCWD, file, 0644, 0x8000));
    SHOW(syscall(NR_fchmodat2, AT_FDCWD, (char *)8, 0644, 0));
    close(fd);
}

static uint32_t word, word2;

static void *waker(void *arg) {
    (void)arg;
    while (__atomic_load_n(&word, __ATOMIC_SEQ_CST) == 0) {
        __atomic_store_n(&word2, 1, __ATOMIC_SEQ_CST);
        syscall(NR_futex_wake, &word2, 0xffffffffUL, 1, F2_U32 | F2_PRIVATE);
        usleep(1000);
    }
    return NULL;
}

static void futex2_section(void) {
    SHOW(syscall(NR_futex_wake, &word, 0xffffffffUL, 1, F2_U32 | F2_PRIVATE));
    SHOW(syscall(NR_futex_wake, &word, 0xffffffffUL, 0, F2_U32 | F2_PRIVATE));
    SHOW(syscall(NR_futex_wake, &word, 0UL, 1, F2_U32 | F2_PRIVATE));
    SHOW(syscall(NR_futex_wake, &word, 1UL << 32, 1, F2_U32 | F2_PRIVATE));
    SHOW(syscall(NR_futex_wake, &word, 0xffffffffUL, 1, 1));           /* 16-bit futexes */
    SHOW(syscall(NR_futex_wake, &word, 0xffffffffUL, 1, F2_U32 | 0x400));
    SHOW(syscall(NR_futex_wake, (char *)&word + 1, 0xffffffffUL, 1, F2_U32 | F2_PRIVATE));
    SHOW(syscall(NR_futex_wait, &word, 5UL, 0xffffffffUL, F2_U32 | F2_PRIVATE, NULL, 0));   /* value differs */
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    now.tv_nsec += 20 * 1000 * 1000;
    if (now.tv_nsec >= 1000000000) { now.tv_sec++; now.tv_nsec -= 1000000000; }
    SHOW(syscall(NR_futex_wait, &word, 0UL, 0xffffffffUL, F2_U32 | F2_PRIVATE, &now, CLOCK_MONOTONIC));
    SHOW(syscall(NR_futex_wait, &word, 0UL, 0xffffffffUL, F2_U32 | F2_PRIVATE, &now, CLOCK_BOOTTIME));
    SHOW(syscall(NR_futex_wait, &word, 0UL, 0UL, F2_U32 | F2_PRIVATE, NULL, 0));
    /* a waiter woken by futex_wake from another thread */
    pthread_t th;
    pthread_create(&th, NULL, waker, NULL);
    long r;
    do {
        errno = 0;
        r = syscall(NR_futex_wait, &word2, 0UL, 0xffffffffUL, F2_U32 | F2_PRIVATE, NULL, 0);
    } while (r == -1 && errno == EINTR);
    /* woken (0), or the waker had already changed the word (EAGAIN): both are right */
    printf("woken: %d word2=%u\n", r == 0 || errno == EAGAIN, word2);
    __atomic_store_n(&word, 1, __ATOMIC_SEQ_CST);
    pthread_join(th, NULL);
    struct waitv w[2] = {{.val = 1, .uaddr = (uintptr_t)&word, .flags = F2_U32 | F2_PRIVATE},
                         {.uaddr = (uintptr_t)&word2, .flags = F2_U32 | F2_PRIVATE}};
    SHOW(syscall(NR_futex_requeue, w, 0, 1, 1));
    w[0].val = 7;
    SHOW(syscall(NR_futex_requeue, w, 0, 1, 1));
    SHOW(syscall(NR_futex_requeue, w, 1, 1, 1));
    w[0].val = 1;
    SHOW(syscall(NR_futex_requeue, w, 0, -1, 1));
    w[1].reserved = 1;
    SHOW(syscall(NR_futex_requeue, w, 0, 1, 1));
    SHOW(syscall(NR_futex_requeue, NULL, 0, 1, 1));
}

static void mseal_section(void) {
    char *p = mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    SHOW(syscall(NR_mseal, p + 1, PG, 0));
    SHOW(syscall(NR_mseal, p, PG, 1));
    SHOW(syscall(NR_mseal, p, 0, 0));
    munmap(p + 3 * PG, PG);
    SHOW(syscall(NR_mseal, p, 4 * PG, 0));              /* a hole: ENOMEM, nothing sealed */
    SHOW(munmap(p, PG));
    p = mmap(p, 3 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    SHOW(syscall(NR_mseal, p + PG, PG, 0));
    SHOW(munmap(p + PG, PG));
    SHOW(munmap(p, 3 * PG));                              /* the whole call fails */
    p[0] = 1;
    printf("first page still there: %d\n", p[0]);
    SHOW(mprotect(p + PG, PG, PROT_READ));
    SHOW(mremap(p + PG, PG, 2 * PG, MREMAP_MAYMOVE) == MAP_FAILED);
    SHOW(mmap(p + PG, PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == MAP_FAILED);
    SHOW(madvise(p + PG, PG, MADV_DONTNEED));            /* writable: allowed */
    SHOW(mprotect(p + 2 * PG, PG, PROT_READ));
    SHOW(syscall(NR_mseal, p + 2 * PG, PG, 0));
    SHOW(madvise(p + 2 * PG, PG, MADV_DONTNEED));        /* read-only anonymous: refused */
    SHOW(madvise(p + 2 * PG, PG, MADV_WILLNEED));
    SHOW(munmap(p, PG));                                  /* unsealed: fine */
    pid_t child = fork();
    if (child == 0) { SHOW(munmap(p + PG, PG)); _exit(0); }   /* fork keeps the seal */
    waitpid(child, NULL, 0);
}

static void xattrat_section(void) {
    char file[128];
    snprintf(file, sizeof file, "%s/x", dir);
    int fd = open(file, O_CREAT | O_RDWR, 0600);
    int dfd = open(dir, O_RDONLY | O_DIRECTORY);
    struct xattr_args args = {.value = (uintptr_t)"hello", .size = 5};
    SHOW(syscall(NR_setxattrat, dfd, "x", 0, "user.greeting", &args, sizeof args));
    char buf[64] = {0};
    struct xattr_args get = {.value = (uintptr_t)buf, .size = sizeof buf};
    SHOW(syscall(NR_getxattrat, dfd, "x", 0, "user.greeting", &get, sizeof get));
    printf("value %s\n", buf);
    SHOW(syscall(NR_getxattrat, fd, "", AT_EMPTY_PATH, "user.greeting", &get, sizeof get));
    SHOW(syscall(NR_getxattrat, fd, "", 0, "user.greeting", &get, sizeof get));
    get.flags = 1;
    SHOW(syscall(NR_getxattrat, dfd, "x", 0, "user.greeting", &get, sizeof get));
    get.flags = 0;
    SHOW(syscall(NR_getxattrat, dfd, "x", 0, "user.greeting", &get, 8));
    char big[32] = {0};
    memcpy(big, &get, sizeof get);
    SHOW(syscall(NR_getxattrat, dfd, "x", 0, "user.greeting", big, sizeof big));
    big[20] = 1;
    SHOW(syscall(NR_getxattrat, dfd, "x", 0, "user.greeting", big, sizeof big));
    SHOW(syscall(NR_getxattrat, dfd, "x", 0x8000, "user.greeting", &get, sizeof get));
    args.flags = XATTR_CREATE;
    SHOW(syscall(NR_setxattrat, dfd, "x", 0, "user.greeting", &args, sizeof args));
    char list[64];
    SHOW(syscall(NR_listxattrat, dfd, "x", 0, list, sizeof list));
    SHOW(syscall(NR_listxattrat, dfd, "x", 0, NULL, 0));
    SHOW(syscall(NR_removexattrat, dfd, "x", 0, "user.greeting"));
    SHOW(syscall(NR_removexattrat, dfd, "x", 0, "user.greeting"));
    int opath = open(file, O_PATH);
    SHOW(syscall(NR_listxattrat, opath, "", AT_EMPTY_PATH, list, sizeof list));
    close(fd); close(dfd); close(opath);
}

static void lsm_section(void) {
    uint64_t ids[16];
    uint32_t size = sizeof ids;
    SHOW(syscall(NR_lsm_list_modules, ids, &size, 1));
    SHOW(syscall(NR_lsm_list_modules, ids, NULL, 0));
    printf("capability listed: %d\n", syscall(NR_lsm_list_modules, ids, &size, 0) > 0 && ids[0] != 0);
    SHOW(syscall(NR_lsm_get_self_attr, 100, NULL, &size, 4));
    char ctx[64] = {0};
    SHOW(syscall(NR_lsm_set_self_attr, 100, ctx, 8, 0));
    SHOW(syscall(NR_lsm_set_self_attr, 100, ctx, sizeof ctx, 1));
    SHOW(syscall(NR_lsm_set_self_attr, 100, ctx, 2 * PG, 0));
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IONBF, 0);
    snprintf(dir, sizeof dir, "/tmp/newer_syscalls.%d", getpid());
    mkdir(dir, 0700);
    const char *s = argc > 1 ? argv[1] : "";
    if (!strcmp(s, "fchmodat2") && !lacks(NR_fchmodat2)) fchmodat2_section();
    if (!strcmp(s, "futex2") && !lacks(NR_futex_wake)) futex2_section();
    if (!strcmp(s, "mseal") && !lacks(NR_mseal)) mseal_section();
    if (!strcmp(s, "xattrat") && !lacks(NR_setxattrat)) xattrat_section();
    if (!strcmp(s, "lsm") && !lacks(NR_lsm_list_modules)) lsm_section();
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    return system(cmd) != 0;
}
