/* FP/vector state across signal handlers (differential). A signal is raised with a raw
 * `syscall` instruction while xmm0-15 (and ymm upper halves, zmm0-31 and k1-7 where the
 * CPU has them) hold known patterns; the handler clobbers every one of them, and MXCSR and
 * the x87 control word; after rt_sigreturn all must be back. The handler must also start
 * with a clean FP state (MXCSR 0x1f80, x87 CW 0x37f), see the interrupted values in
 * uc_mcontext.fpregs, and an edit there must come back into the registers. Finally a
 * thread bombards the main thread with signals during an FP loop: the sum must be exact. */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

static unsigned char pattern[32 * 64] __attribute__((aligned(64)));
static unsigned char out[32 * 64] __attribute__((aligned(64)));
static unsigned char junk[32 * 64] __attribute__((aligned(64)));
static uint64_t kpat[8], kout[8];
static int have_avx, have_avx512;
static volatile unsigned handler_mxcsr, handler_fcw, handler_saw_xmm0;
static volatile int edit_xmm1;

static void __attribute__((noinline)) clobber_sse(void) {
    asm volatile(
        "movdqu 0(%0), %%xmm0\n movdqu 16(%0), %%xmm1\n movdqu 32(%0), %%xmm2\n movdqu 48(%0), %%xmm3\n"
        "movdqu 64(%0), %%xmm4\n movdqu 80(%0), %%xmm5\n movdqu 96(%0), %%xmm6\n movdqu 112(%0), %%xmm7\n"
        "movdqu 128(%0), %%xmm8\n movdqu 144(%0), %%xmm9\n movdqu 160(%0), %%xmm10\n movdqu 176(%0), %%xmm11\n"
        "movdqu 192(%0), %%xmm12\n movdqu 208(%0), %%xmm13\n movdqu 224(%0), %%xmm14\n movdqu 240(%0), %%xmm15\n"
        :: "r"(junk) : "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9",
        "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15");
}

static void __attribute__((noinline, target("avx"))) clobber_avx(void) {
    asm volatile(
        "vmovdqu 0(%0), %%ymm0\n vmovdqu 32(%0), %%ymm1\n vmovdqu 64(%0), %%ymm2\n vmovdqu 96(%0), %%ymm3\n"
        "vmovdqu 128(%0), %%ymm4\n vmovdqu 160(%0), %%ymm5\n vmovdqu 192(%0), %%ymm6\n vmovdqu 224(%0), %%ymm7\n"
        "vmovdqu 256(%0), %%ymm8\n vmovdqu 288(%0), %%ymm9\n vmovdqu 320(%0), %%ymm10\n vmovdqu 352(%0), %%ymm11\n"
        "vmovdqu 384(%0), %%ymm12\n vmovdqu 416(%0), %%ymm13\n vmovdqu 448(%0), %%ymm14\n vmovdqu 480(%0), %%ymm15\n"
        :: "r"(junk) : "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9",
        "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15");
}

#define Z8(op, base) op " " #base "*64(%0), %%zmm" #base "\n"
static void __attribute__((noinline, target("avx512f,avx512bw"))) clobber_avx512(void) {
    asm volatile(
        "vmovdqu64 0*64(%0), %%zmm0\n vmovdqu64 1*64(%0), %%zmm1\n vmovdqu64 2*64(%0), %%zmm2\n vmovdqu64 3*64(%0), %%zmm3\n"
        "vmovdqu64 4*64(%0), %%zmm4\n vmovdqu64 5*64(%0), %%zmm5\n vmovdqu64 6*64(%0), %%zmm6\n vmovdqu64 7*64(%0), %%zmm7\n"
        "vmovdqu64 8*64(%0), %%zmm8\n vmovdqu64 9*64(%0), %%zmm9\n vmovdqu64 10*64(%0), %%zmm10\n vmovdqu64 11*64(%0), %%zmm11\n"
        "vmovdqu64 12*64(%0), %%zmm12\n vmovdqu64 13*64(%0), %%zmm13\n vmovdqu64 14*64(%0), %%zmm14\n vmovdqu64 15*64(%0), %%zmm15\n"
        "vmovdqu64 16*64(%0), %%zmm16\n vmovdqu64 17*64(%0), %%zmm17\n vmovdqu64 18*64(%0), %%zmm18\n vmovdqu64 19*64(%0), %%zmm19\n"
        "vmovdqu64 20*64(%0), %%zmm20\n vmovdqu64 21*64(%0), %%zmm21\n vmovdqu64 22*64(%0), %%zmm22\n vmovdqu64 23*64(%0), %%zmm23\n"
        "vmovdqu64 24*64(%0), %%zmm24\n vmovdqu64 25*64(%0), %%zmm25\n vmovdqu64 26*64(%0), %%zmm26\n vmovdqu64 27*64(%0), %%zmm27\n"
        "vmovdqu64 28*64(%0), %%zmm28\n vmovdqu64 29*64(%0), %%zmm29\n vmovdqu64 30*64(%0), %%zmm30\n vmovdqu64 31*64(%0), %%zmm31\n"
        "kxnorq %%k0, %%k0, %%k1\n kxnorq %%k0, %%k0, %%k2\n kxnorq %%k0, %%k0, %%k3\n kxnorq %%k0, %%k0, %%k4\n"
        "kxnorq %%k0, %%k0, %%k5\n kxnorq %%k0, %%k0, %%k6\n kxnorq %%k0, %%k0, %%k7\n"
        :: "r"(junk) : "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9",
        "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15", "xmm16", "xmm17", "xmm18", "xmm19", "xmm20",
        "xmm21", "xmm22", "xmm23", "xmm24", "xmm25", "xmm26", "xmm27", "xmm28", "xmm29", "xmm30", "xmm31",
        "k1", "k2", "k3", "k4", "k5", "k6", "k7");
}

static void handler(int sig, siginfo_t *si, void *ucv) {
    ucontext_t *uc = ucv;
    unsigned m;
    unsigned short cw;
    asm volatile("stmxcsr %0" : "=m"(m));
    asm volatile("fnstcw %0" : "=m"(cw));
    handler_mxcsr = m;
    handler_fcw = cw;
    if (uc->uc_mcontext.fpregs) handler_saw_xmm0 = uc->uc_mcontext.fpregs->_xmm[0].element[0];
    if (edit_xmm1 && uc->uc_mcontext.fpregs) {
        uc->uc_mcontext.fpregs->_xmm[1].element[0] = 0xfeedface;
        uc->uc_mcontext.fpregs->_xmm[1].element[3] = 0xcafef00d;
    }
    /* clobber everything */
    unsigned bad = 0x7f80 | (3 << 13);   /* all exceptions masked, round toward zero */
    unsigned short badcw = 0x0c7f;       /* x87 round toward zero */
    asm volatile("ldmxcsr %0" :: "m"(bad));
    asm volatile("fldcw %0" :: "m"(badcw));
    if (have_avx512) clobber_avx512();
    else if (have_avx) clobber_avx();
    else clobber_sse();
}

/* The round trips below: load every vector register from pattern, kill(getpid(), SIGUSR1)
 * with a raw syscall (the handler clobbers them), store them to out. Register n lives at
 * n * its width in both buffers. */
#define REGS16(M) M(0) M(1) M(2) M(3) M(4) M(5) M(6) M(7) M(8) M(9) M(10) M(11) M(12) M(13) M(14) M(15)
#define XL(n) "movdqu " #n "*16(%1), %%xmm" #n "\n"
#define XS(n) "movdqu %%xmm" #n ", " #n "*16(%2)\n"
#define YL(n) "vmovdqu " #n "*32(%1), %%ymm" #n "\n"
#define YS(n) "vmovdqu %%ymm" #n ", " #n "*32(%2)\n"
#define KILL_OPERANDS : "+a"(rax) : "r"(pattern), "r"(out), "D"((long)getpid()), "S"((long)SIGUSR1)
#define XMM_CLOBBERS "rcx", "r11", "memory", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", \
    "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15"

static void __attribute__((noinline)) sse_round_trip(void) {
    long rax = SYS_kill;
    asm volatile(REGS16(XL) "syscall\n" REGS16(XS) KILL_OPERANDS : XMM_CLOBBERS);
}

static void __attribute__((noinline, target("avx"))) avx_round_trip(void) {
    long rax = SYS_kill;
    asm volatile(REGS16(YL) "syscall\n" REGS16(YS) "vzeroupper\n" KILL_OPERANDS : XMM_CLOBBERS);
}

#define ZL(n) "vmovdqu64 " #n "*64(%1), %%zmm" #n "\n"
#define ZS(n) "vmovdqu64 %%zmm" #n ", " #n "*64(%2)\n"
static void __attribute__((noinline, target("avx512f,avx512bw"))) avx512_round_trip(void) {
    long rax = SYS_kill;
    asm volatile(
        ZL(0) ZL(1) ZL(2) ZL(3) ZL(4) ZL(5) ZL(6) ZL(7) ZL(8) ZL(9) ZL(10) ZL(11) ZL(12) ZL(13) ZL(14) ZL(15)
        ZL(16) ZL(17) ZL(18) ZL(19) ZL(20) ZL(21) ZL(22) ZL(23) ZL(24) ZL(25) ZL(26) ZL(27) ZL(28) ZL(29) ZL(30) ZL(31)
        "kmovq 8(%3), %%k1\n kmovq 16(%3), %%k2\n kmovq 24(%3), %%k3\n kmovq 32(%3), %%k4\n"
        "kmovq 40(%3), %%k5\n kmovq 48(%3), %%k6\n kmovq 56(%3), %%k7\n"
        "syscall\n"
        ZS(0) ZS(1) ZS(2) ZS(3) ZS(4) ZS(5) ZS(6) ZS(7) ZS(8) ZS(9) ZS(10) ZS(11) ZS(12) ZS(13) ZS(14) ZS(15)
        ZS(16) ZS(17) ZS(18) ZS(19) ZS(20) ZS(21) ZS(22) ZS(23) ZS(24) ZS(25) ZS(26) ZS(27) ZS(28) ZS(29) ZS(30) ZS(31)
        "kmovq %%k1, 8(%4)\n kmovq %%k2, 16(%4)\n kmovq %%k3, 24(%4)\n kmovq %%k4, 32(%4)\n"
        "kmovq %%k5, 40(%4)\n kmovq %%k6, 48(%4)\n kmovq %%k7, 56(%4)\n"
        "vzeroupper\n"
        : "+a"(rax) : "r"(pattern), "r"(out), "r"(kpat), "r"(kout), "D"((long)getpid()), "S"((long)SIGUSR1)
        : "rcx", "r11", "memory", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9",
        "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15", "xmm16", "xmm17", "xmm18", "xmm19", "xmm20",
        "xmm21", "xmm22", "xmm23", "xmm24", "xmm25", "xmm26", "xmm27", "xmm28", "xmm29", "xmm30", "xmm31",
        "k1", "k2", "k3", "k4", "k5", "k6", "k7");
}

static int count_same(int nregs, int width) {
    int same = 0;
    for (int i = 0; i < nregs; i++) same += !memcmp(pattern + i * width, out + i * width, width);
    return same;
}

static volatile int bomb_hits;
static void fp_handler(int sig) {
    /* FP work in the handler, in another rounding mode */
    volatile double x = 1.0;
    unsigned bad = 0x7f80 | (1 << 13);
    asm volatile("ldmxcsr %0" :: "m"(bad));
    for (int i = 0; i < 10; i++) x = x / 3.0 + 0.1;
    bomb_hits++;
}
static pthread_t main_thread;
static volatile int bomb_done;
static void *bomber(void *arg) {
    for (int i = 0; i < 2000; i++) pthread_kill(main_thread, SIGUSR2);
    bomb_done = 1;
    return NULL;
}
static volatile double one = 1.0;   /* keeps the compiler from folding or hoisting the loop */
static double fp_loop(void) {
    double s = 0, o = one;
    for (int i = 1; i < 300000; i++) s += o / (double)i * ((i & 1) ? 1.0 : -1.0);
    return s;
}

int main(int argc, char **argv) {
    int show_clean = argc > 1 && !strcmp(argv[1], "clean");   /* the handler's initial FP state, alone */
    setvbuf(stdout, NULL, _IOLBF, 0);
    __builtin_cpu_init();
    have_avx = __builtin_cpu_supports("avx");
    have_avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw");
    for (unsigned i = 0; i < sizeof pattern; i++) { pattern[i] = (unsigned char)(i * 7 + 3); junk[i] = 0xa5; }
    for (int i = 0; i < 8; i++) kpat[i] = 0x0123456789abcdefULL * (i + 1);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = handler;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGUSR1, &sa, NULL);

    /* main runs with a non-default MXCSR/x87 CW: the handler must see defaults, and ours must come back */
    unsigned mine = 0x1f80 | (2 << 13), now;
    unsigned short mycw = 0x077f, nowcw;   /* x87 round up */
    asm volatile("ldmxcsr %0" :: "m"(mine));
    asm volatile("fldcw %0" :: "m"(mycw));

    memset(out, 0, sizeof out);
    sse_round_trip();
    printf("xmm0-15 preserved: %d/16\n", count_same(16, 16));
    asm volatile("stmxcsr %0" : "=m"(now));
    asm volatile("fnstcw %0" : "=m"(nowcw));
    printf("MXCSR preserved: %d, x87 CW preserved: %d\n", now == mine, nowcw == mycw);
    if (show_clean) { printf("handler started with MXCSR=0x%x FCW=0x%x\n", handler_mxcsr, handler_fcw); return 0; }
    printf("handler saw xmm0 in uc_mcontext.fpregs: %d\n", handler_saw_xmm0 == *(uint32_t *)pattern);

    edit_xmm1 = 1;
    sse_round_trip();
    edit_xmm1 = 0;
    uint32_t *x1 = (uint32_t *)(out + 16);
    printf("fpregs edit reached xmm1: %d, rest kept: %d\n", x1[0] == 0xfeedface && x1[3] == 0xcafef00d,
           count_same(16, 16) == 15);

    if (have_avx) {
        memset(out, 0, sizeof out);
        avx_round_trip();
        printf("ymm0-15 preserved: %d/16\n", count_same(16, 32));
    } else printf("ymm0-15 preserved: 16/16\n");
    if (have_avx512) {
        memset(out, 0, sizeof out);
        memset(kout, 0, sizeof kout);
        avx512_round_trip();
        int ks = 0;
        for (int i = 1; i < 8; i++) ks += kout[i] == kpat[i];
        printf("zmm0-31 preserved: %d/32, k1-7 preserved: %d/7\n", count_same(32, 64), ks);
    } else printf("zmm0-31 preserved: 32/32, k1-7 preserved: 7/7\n");

    /* asynchronous signals during an FP loop */
    mine = 0x1f80;
    asm volatile("ldmxcsr %0" :: "m"(mine));
    double want = fp_loop();
    signal(SIGUSR2, fp_handler);
    main_thread = pthread_self();
    pthread_t t;
    pthread_create(&t, NULL, bomber, NULL);
    double got = want;
    int rounds = 0;
    while (!bomb_done || rounds < 2) {
        double g = fp_loop();
        if (g != want) got = g;
        rounds++;
    }
    pthread_join(t, NULL);
    printf("FP loop exact under signal bombardment: %d (signals handled: %d)\n", got == want, bomb_hits > 0);
    return 0;
}
