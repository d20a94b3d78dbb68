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

/* Register lists for the asm below: register n of a width lives at n * that width in a buffer
 * (operand %0 in the clobbers; %1 in and %2 out in the round trips). */
#define REGS16(M, a) M(0, a) M(1, a) M(2, a) M(3, a) M(4, a) M(5, a) M(6, a) M(7, a) M(8, a) M(9, a) M(10, a) M(11, a) M(12, a) M(13, a) M(14, a) M(15, a)
#define REGS32(M, a) REGS16(M, a) M(16, a) M(17, a) M(18, a) M(19, a) M(20, a) M(21, a) M(22, a) M(23, a) M(24, a) M(25, a) M(26, a) M(27, a) M(28, a) M(29, a) M(30, a) M(31, a)
#define XL(n, src) "movdqu " #n "*16(" src "), %%xmm" #n "\n"
#define XS(n, dst) "movdqu %%xmm" #n ", " #n "*16(" dst ")\n"
#define YL(n, src) "vmovdqu " #n "*32(" src "), %%ymm" #n "\n"
#define YS(n, dst) "vmovdqu %%ymm" #n ", " #n "*32(" dst ")\n"
#define ZL(n, src) "vmovdqu64 " #n "*64(" src "), %%zmm" #n "\n"
#define ZS(n, dst) "vmovdqu64 %%zmm" #n ", " #n "*64(" dst ")\n"
#define XMM0_15 "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15"
#define XMM16_31 "xmm16", "xmm17", "xmm18", "xmm19", "xmm20", "xmm21", "xmm22", "xmm23", "xmm24", "xmm25", "xmm26", "xmm27", "xmm28", "xmm29", "xmm30", "xmm31"
#define K1_7 "k1", "k2", "k3", "k4", "k5", "k6", "k7"

static void __attribute__((noinline)) clobber_sse(void) {
    asm volatile(REGS16(XL, "%0") :: "r"(junk) : XMM0_15);
}

static void __attribute__((noinline, target("avx"))) clobber_avx(void) {
    asm volatile(REGS16(YL, "%0") :: "r"(junk) : XMM0_15);
}

static void __attribute__((noinline, target("avx512f,avx512bw"))) clobber_avx512(void) {
    asm volatile(
        REGS32(ZL, "%0")
        "kxnorq %%k0, %%k0, %%k1\n kxnorq %%k0, %%k0, %%k2\n kxnorq %%k0, %%k0, %%k3\n kxnorq %%k0, %%k0, %%k4\n"
        "kxnorq %%k0, %%k0, %%k5\n kxnorq %%k0, %%k0, %%k6\n kxnorq %%k0, %%k0, %%k7\n"
        :: "r"(junk) : XMM0_15, XMM16_31, K1_7);
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

/* The round trips: load every vector register from pattern, kill(getpid(), SIGUSR1) with a
 * raw syscall (the handler clobbers them), store them to out. */
#define KILL_OPERANDS : "+a"(rax) : "r"(pattern), "r"(out), "D"((long)getpid()), "S"((long)SIGUSR1)

static void __attribute__((noinline)) sse_round_trip(void) {
    long rax = SYS_kill;
    asm volatile(REGS16(XL, "%1") "syscall\n" REGS16(XS, "%2") KILL_OPERANDS : "rcx", "r11", "memory", XMM0_15);
}

static void __attribute__((noinline, target("avx"))) avx_round_trip(void) {
    long rax = SYS_kill;
    asm volatile(REGS16(YL, "%1") "syscall\n" REGS16(YS, "%2") "vzeroupper\n"
                 KILL_OPERANDS : "rcx", "r11", "memory", XMM0_15);
}

static void __attribute__((noinline, target("avx512f,avx512bw"))) avx512_round_trip(void) {
    long rax = SYS_kill;
    asm volatile(
        REGS32(ZL, "%1")
        "kmovq 8(%3), %%k1\n kmovq 16(%3), %%k2\n kmovq 24(%3), %%k3\n kmovq 32(%3), %%k4\n"
        "kmovq 40(%3), %%k5\n kmovq 48(%3), %%k6\n kmovq 56(%3), %%k7\n"
        "syscall\n"
        REGS32(ZS, "%2")
        "kmovq %%k1, 8(%4)\n kmovq %%k2, 16(%4)\n kmovq %%k3, 24(%4)\n kmovq %%k4, 32(%4)\n"
        "kmovq %%k5, 40(%4)\n kmovq %%k6, 48(%4)\n kmovq %%k7, 56(%4)\n"
        "vzeroupper\n"
        : "+a"(rax) : "r"(pattern), "r"(out), "r"(kpat), "r"(kout), "D"((long)getpid()), "S"((long)SIGUSR1)
        : "rcx", "r11", "memory", XMM0_15, XMM16_31, K1_7);
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
