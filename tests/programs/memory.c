/* Memory management seen from the application (differential): anonymous and
 * private file mappings, munmap, mprotect, mremap grow/shrink/move, brk and
 * MADV_DONTNEED. Prints one "name: ok" or "name: FAIL ..." line per check. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define PG 4096
static int failures;

static void check(const char *name, int ok, const char *detail) {
    printf("%s: %s%s%s\n", name, ok ? "ok" : "FAIL", ok ? "" : " ", ok ? "" : detail);
    if (!ok) failures++;
}

static int all(const unsigned char *p, size_t n, unsigned char v) {
    for (size_t i = 0; i < n; i++) if (p[i] != v) return 0;
    return 1;
}

int main(void) {
    /* anonymous private: zero-filled, writable */
    unsigned char *a = mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    check("mmap anon", a != MAP_FAILED, strerror(errno));
    check("anon zero-filled", all(a, 4 * PG, 0), "");
    memset(a, 0xab, 4 * PG);
    check("anon write/read", all(a, 4 * PG, 0xab), "");

    /* anonymous shared */
    unsigned char *s = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    check("mmap anon shared", s != MAP_FAILED && all(s, PG, 0), strerror(errno));
    s[10] = 7;
    check("anon shared write", s[10] == 7, "");

    /* munmap the middle: the rest survives, the hole is reusable */
    check("munmap middle", munmap(a + PG, PG) == 0, strerror(errno));
    check("after munmap, neighbours intact", all(a, PG, 0xab) && all(a + 2 * PG, 2 * PG, 0xab), "");
    unsigned char *h = mmap(a + PG, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    check("MAP_FIXED into the hole", h == a + PG && all(h, PG, 0), "");
    check("msync anon", msync(a, PG, MS_SYNC) == 0, strerror(errno));
    unsigned char vec[4];
    check("mincore", mincore(a, 4 * PG, vec) == 0, strerror(errno));

    /* mprotect: read-only still readable; back to RW writable */
    check("mprotect R", mprotect(a, 4 * PG, PROT_READ) == 0, strerror(errno));
    check("read after mprotect R", a[0] == 0xab, "");
    check("mprotect RW", mprotect(a, 4 * PG, PROT_READ | PROT_WRITE) == 0, strerror(errno));
    a[0] = 1;
    check("write after mprotect RW", a[0] == 1, "");
    /* a write through write(2) into a read-only page fails with EFAULT */
    mprotect(a + 3 * PG, PG, PROT_READ);
    int fd = open("/dev/zero", O_RDONLY);
    errno = 0;
    check("read(2) into PROT_READ page -> EFAULT", read(fd, a + 3 * PG, 16) == -1 && errno == EFAULT, strerror(errno));
    close(fd);
    mprotect(a + 3 * PG, PG, PROT_READ | PROT_WRITE);

    /* mremap: grow keeps contents and zero-fills, shrink, move */
    unsigned char *r = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    memset(r, 0x5a, 2 * PG);
    unsigned char *g = mremap(r, 2 * PG, 8 * PG, MREMAP_MAYMOVE);
    check("mremap grow", g != MAP_FAILED && all(g, 2 * PG, 0x5a) && all(g + 2 * PG, 6 * PG, 0), strerror(errno));
    unsigned char *k = mremap(g, 8 * PG, PG, 0);
    check("mremap shrink in place", k == g && all(k, PG, 0x5a), strerror(errno));
    unsigned char *target = mmap(NULL, 16 * PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    unsigned char *m = mremap(k, PG, PG, MREMAP_MAYMOVE | MREMAP_FIXED, target + 4 * PG);
    check("mremap move", m == target + 4 * PG && all(m, PG, 0x5a), strerror(errno));
    errno = 0;
    check("old address unmapped after move", msync(k, PG, MS_ASYNC) == -1 && errno == ENOMEM, strerror(errno));

    /* brk: grow, use, shrink */
    char *b0 = sbrk(0);
    check("sbrk(0)", b0 != (void *)-1, "");
    check("brk grow", brk(b0 + 64 * PG) == 0 && sbrk(0) == b0 + 64 * PG, strerror(errno));
    memset(b0, 0x11, 64 * PG);
    check("brk memory writable", all((unsigned char *)b0, 64 * PG, 0x11), "");
    check("brk shrink", brk(b0 + PG) == 0 && sbrk(0) == b0 + PG, strerror(errno));
    check("brk regrow is zeroed", brk(b0 + 8 * PG) == 0 && all((unsigned char *)b0 + PG, 7 * PG, 0), "");

    /* MADV_DONTNEED on anonymous private memory zeroes it */
    memset(a, 0xcd, 4 * PG);
    check("madvise DONTNEED", madvise(a + PG, 2 * PG, MADV_DONTNEED) == 0, strerror(errno));
    check("DONTNEED zeroed the range only",
          all(a, PG, 0xcd) && all(a + PG, 2 * PG, 0) && all(a + 3 * PG, PG, 0xcd), "");

    /* private file mapping: contents match read(2); writes stay private */
    int pf = open("/etc/passwd", O_RDONLY);
    struct stat st;
    fstat(pf, &st);
    size_t len = st.st_size;
    char *content = malloc(len);
    check("read /etc/passwd", pread(pf, content, len, 0) == (ssize_t)len, strerror(errno));
    char *f = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE, pf, 0);
    check("mmap private file", f != MAP_FAILED, strerror(errno));
    check("file mapping matches read(2)", memcmp(f, content, len) == 0, "");
    size_t tail = (len + PG - 1) / PG * PG - len;
    check("file mapping zero past EOF", all((unsigned char *)f + len, tail, 0), "");
    f[0] ^= 0xff;
    char first;
    pread(pf, &first, 1, 0);
    check("private write not in file", first == content[0], "");
    check("DONTNEED on private file mapping", madvise(f, PG, MADV_DONTNEED) == 0, strerror(errno));
    check("DONTNEED restores file contents", f[0] == content[0], "");
    char *fo = mmap(NULL, PG, PROT_READ, MAP_PRIVATE, pf, 0);
    check("second file mapping", fo != MAP_FAILED && memcmp(fo, content, len < PG ? len : PG) == 0, "");
    check("munmap file mapping", munmap(f, len) == 0 && munmap(fo, PG) == 0, strerror(errno));
    close(pf);

    /* a big sparse anonymous mapping is cheap: touch a few pages only */
    unsigned char *big = mmap(NULL, 1UL << 32, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    check("4 GiB NORESERVE mapping", big != MAP_FAILED, strerror(errno));
    if (big != MAP_FAILED) {
        big[0] = 1; big[(1UL << 32) - 1] = 2; big[1UL << 31] = 3;
        check("touch sparse pages", big[0] == 1 && big[(1UL << 32) - 1] == 2 && big[1UL << 31] == 3, "");
        munmap(big, 1UL << 32);
    }
    printf("failures=%d\n", failures);
    return failures ? 1 : 0;
}
