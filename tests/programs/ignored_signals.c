/* The signals this process starts with ignored (exec keeps them ignored): one line of numbers. */
#include <signal.h>
#include <stdio.h>

int main(void)
{
    printf("ignored:");
    for (int sig = 1; sig < 32; sig++) {
        struct sigaction sa;
        if (sigaction(sig, NULL, &sa) == 0 && sa.sa_handler == SIG_IGN)
            printf(" %d", sig);
    }
    printf("\n");
    return 0;
}
