/* Address-space reservations: a huge PROT_NONE mapping, parts of it made accessible (mprotect),
 * written, inherited by fork, discarded, made PROT_NONE again, moved and grown by mremap, unmapped;
 * and several 8 GiB reservations (a wasm memory's guard regions). Each step prints what it sees. */
#define _GNU_SOURCE
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
static sigjmp_buf jb;
static volatile int code;
static void on_segv(int s, siginfo_t *si, void *u) { code = si->si_code; siglongjmp(jb, 1); }
int main(void) {
  struct sigaction sa = {.sa_sigaction = on_segv, .sa_flags = SA_SIGINFO};
  sigaction(SIGSEGV, &sa, NULL);
  size_t big = 1UL << 44;   /* 16 TiB */
  char *p = mmap(NULL, big, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  printf("reserve 16 TiB: %s\n", p == MAP_FAILED ? strerror(errno) : "ok");
  if (p == MAP_FAILED) return 1;
  if (sigsetjmp(jb, 1) == 0) { p[12345] = 1; printf("no fault\n"); }
  else printf("touch reserved: SIGSEGV code %s\n", code == SEGV_ACCERR ? "ACCERR" : code == SEGV_MAPERR ? "MAPERR" : "?");
  char *mid = p + (1UL << 40);
  printf("commit 8 MiB: %d\n", mprotect(mid, 8 << 20, PROT_READ | PROT_WRITE));
  memset(mid, 0x5a, 8 << 20);
  printf("read back: %d %d\n", mid[0], mid[(8 << 20) - 1]);
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) { mid[1] = 7; printf("child sees %d %d\n", mid[0], mid[1]); fflush(stdout); _exit(0); }
  waitpid(pid, NULL, 0);
  printf("parent keeps %d %d\n", mid[0], mid[1]);
  printf("decommit: %d\n", madvise(mid, 8 << 20, MADV_DONTNEED));
  printf("after DONTNEED: %d\n", mid[100]);
  printf("back to none: %d\n", mprotect(mid, 8 << 20, PROT_NONE));
  if (sigsetjmp(jb, 1) == 0) { mid[0] = 1; printf("no fault\n"); }
  else printf("touch after PROT_NONE: SIGSEGV code %s\n", code == SEGV_ACCERR ? "ACCERR" : "MAPERR");
  char *q = mremap(p, big, 2 * big, MREMAP_MAYMOVE);
  printf("mremap to 32 TiB: %s\n", q == MAP_FAILED ? strerror(errno) : "ok");
  printf("unmap: %d\n", munmap(q == MAP_FAILED ? p : q, q == MAP_FAILED ? big : 2 * big));
  for (int i = 0; i < 3; i++) {
    char *r = mmap(NULL, 8UL << 30, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    printf("reserve 8 GiB #%d: %s\n", i, r == MAP_FAILED ? strerror(errno) : "ok");
  }
  return 0;
}
