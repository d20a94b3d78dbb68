/* Threads made one after another start clean, whatever the one before them left in its
 * registers (differential). The sandbox keeps an exited thread's stub thread for the next
 * one (a parked stub thread, on both platforms): nothing of the old thread may reach the new
 * one. Each thread checks what it inherits from its creator (MXCSR and the x87 control word,
 * the FS and GS bases, the signal mask, no alternate signal stack, fresh thread-locals, a new
 * tid), then dirties all of them and leaves a pattern in xmm0-7 before it exits. Then the same
 * with four threads alive at a time, past the number of stubs the sandbox keeps. */
#define _GNU_SOURCE
#include <asm/prctl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static __thread int tls_value = 7;
static unsigned long gs_area[2] = {0xabc, 0xdef};
static unsigned long main_fs, main_gs;
static unsigned int main_mxcsr;
static unsigned short main_cw;
static pid_t seen_tids[256];
static int seen;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static char altstack[1 << 16];

static unsigned int get_mxcsr(void) { unsigned int v; __asm__ volatile("stmxcsr %0" : "=m"(v)); return v; }
static unsigned short get_cw(void) { unsigned short v; __asm__ volatile("fnstcw %0" : "=m"(v)); return v; }
static unsigned long arch_get(int code) { unsigned long v = 0; syscall(SYS_arch_prctl, code, &v); return v; }

/* What a fresh thread must see; returns the number of differences (printed). */
static int check_fresh(int n)
{
    int bad = 0;
    pid_t tid = gettid();
    unsigned long fs = arch_get(ARCH_GET_FS);
    sigset_t mask;
    stack_t ss;
    pthread_sigmask(SIG_BLOCK, NULL, &mask);
    sigaltstack(NULL, &ss);
    pthread_mutex_lock(&lock);
    for (int i = 0; i < seen; i++)
        if (seen_tids[i] == tid) { printf("thread %d: tid of an earlier thread\n", n); bad++; }
    if (seen < 256) seen_tids[seen++] = tid;
    pthread_mutex_unlock(&lock);
    if (get_mxcsr() != main_mxcsr) { printf("thread %d: mxcsr %#x\n", n, get_mxcsr()); bad++; }
    if (get_cw() != main_cw) { printf("thread %d: x87 cw %#x\n", n, get_cw()); bad++; }
    if (arch_get(ARCH_GET_GS) != main_gs) { printf("thread %d: gs base changed\n", n); bad++; }
    if (fs == main_fs || fs == 0) { printf("thread %d: fs base not its own\n", n); bad++; }
    if (sigismember(&mask, SIGUSR1) || !sigismember(&mask, SIGUSR2)) { printf("thread %d: signal mask\n", n); bad++; }
    if (!(ss.ss_flags & SS_DISABLE)) { printf("thread %d: an alternate stack\n", n); bad++; }
    if (tls_value != 7) { printf("thread %d: tls %d\n", n, tls_value); bad++; }
    return bad;
}

/* Leave everything dirty for whoever comes next. */
static void dirty(int n)
{
    sigset_t mask;
    stack_t ss = {.ss_sp = altstack, .ss_size = sizeof altstack};
    sigemptyset(&mask);
    sigaddset(&mask, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, &mask, NULL);
    sigaltstack(&ss, NULL);
    tls_value = 1000 + n;
    unsigned int mxcsr = get_mxcsr() | 0x6000; /* round toward zero */
    __asm__ volatile("ldmxcsr %0" : : "m"(mxcsr));
    unsigned short cw = 0x7f; /* single precision, all masked */
    __asm__ volatile("fldcw %0" : : "m"(cw));
    syscall(SYS_arch_prctl, ARCH_SET_GS, gs_area);
    __asm__ volatile("pcmpeqd %%xmm0, %%xmm0\n\tmovdqa %%xmm0, %%xmm1\n\tmovdqa %%xmm0, %%xmm7"
                     ::: "xmm0", "xmm1", "xmm7");
}

static void *thread(void *arg)
{
    int n = (int)(intptr_t)arg;
    int bad = check_fresh(n);
    dirty(n);
    return (void *)(intptr_t)bad;
}

static int run(int total, int at_once)
{
    int bad = 0;
    for (int i = 0; i < total; i += at_once) {
        pthread_t t[8];
        for (int j = 0; j < at_once; j++)
            if (pthread_create(&t[j], NULL, thread, (void *)(intptr_t)(i + j)) != 0) { puts("create failed"); return 1; }
        for (int j = 0; j < at_once; j++) {
            void *r;
            pthread_join(t[j], &r);
            bad += (int)(intptr_t)r;
        }
    }
    return bad;
}

int main(void)
{
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGUSR2);
    pthread_sigmask(SIG_BLOCK, &mask, NULL);
    main_mxcsr = get_mxcsr();
    main_cw = get_cw();
    main_fs = arch_get(ARCH_GET_FS);
    main_gs = arch_get(ARCH_GET_GS);
    int one = run(40, 1);
    printf("one at a time: %d differences\n", one);
    int four = run(40, 4);
    printf("four at a time: %d differences\n", four);
    printf("threads seen: %d\n", seen);
    return one || four;
}
