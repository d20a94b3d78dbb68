/* Which platform runs us? Under systrap the thread's sysmsg page is mapped at 0x7FFE40000000
 * (above the application's address space); natively and under ptrace nothing is there. */
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>

static sigjmp_buf env;
static void on_segv(int sig) { siglongjmp(env, 1); }

int main(void) {
    signal(SIGSEGV, on_segv);
    if (sigsetjmp(env, 1) == 0) {
        volatile unsigned *state = (volatile unsigned *)0x7FFE40000000UL;
        unsigned v = *state;
        printf("sysmsg mapped (state %u)\n", v);
    } else {
        printf("no sysmsg\n");
    }
    return 0;
}
