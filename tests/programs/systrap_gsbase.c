/* arch_prctl(ARCH_SET_GS/ARCH_SET_FS) take effect in the thread (read back through %gs and
 * %fs loads and ARCH_GET_*), also in a second thread and after fork. */
#include <asm/prctl.h>
#include <pthread.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static unsigned long gs_area[4] = {0x1111, 0x2222, 0x3333, 0x4444};
static unsigned long gs_area2[4] = {0x5555, 0x6666, 0x7777, 0x8888};

static unsigned long read_gs(int i) {
    unsigned long v;
    if (i == 0) __asm__ volatile("mov %%gs:0, %0" : "=r"(v));
    else __asm__ volatile("mov %%gs:8, %0" : "=r"(v));
    return v;
}

static void *thread(void *arg) {
    syscall(SYS_arch_prctl, ARCH_SET_GS, gs_area2);
    printf("thread gs:0=%#lx\n", read_gs(0));
    return arg;
}

int main(void) {
    printf("set gs: %ld\n", syscall(SYS_arch_prctl, ARCH_SET_GS, gs_area));
    printf("gs:0=%#lx gs:8=%#lx\n", read_gs(0), read_gs(1));
    unsigned long got = 0;
    syscall(SYS_arch_prctl, ARCH_GET_GS, &got);
    printf("get gs ok=%d\n", got == (unsigned long)gs_area);
    fflush(stdout);
    pthread_t t;
    pthread_create(&t, NULL, thread, NULL);
    pthread_join(t, NULL);
    printf("main gs:0=%#lx after thread\n", read_gs(0));
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) { printf("child gs:8=%#lx\n", read_gs(1)); fflush(stdout); _exit(0); }
    waitpid(pid, NULL, 0);
    return 0;
}
