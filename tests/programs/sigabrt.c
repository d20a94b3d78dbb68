/* Death by signal (differential): the exit status is 128+SIGABRT for the shell,
 * -SIGABRT for subprocess. Usage: sigabrt [kill|raise|abort] */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv) {
    printf("before\n");
    fflush(stdout);
    const char *how = argc > 1 ? argv[1] : "kill";
    if (!strcmp(how, "raise")) raise(SIGABRT);
    else if (!strcmp(how, "abort")) abort();
    else kill(getpid(), SIGABRT);
    printf("after (signal did not kill)\n");
    return 0;
}
