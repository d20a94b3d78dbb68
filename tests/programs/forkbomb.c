/* A fork bomb that ends: every process forks until its fork is refused; the others then wait
 * to be killed. The first process reports the errno of its refusal, waits for a line on stdin
 * (the test counts host processes meanwhile), then kills the whole bomb and reaps it.
 * Output: "refused: <strerror>" then "ended". */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void) {
    pid_t top = getpid();
    int refused = 0;
    setpgid(0, 0);
    for (;;) {
        pid_t c = fork();
        if (c < 0) {
            refused = errno;
            break;
        }
        /* parent and child alike fork on */
    }
    if (getpid() != top) {
        for (;;)
            pause();
    }
    printf("refused: %s\n", strerror(refused));
    fflush(stdout);
    char buf[16];
    if (read(0, buf, sizeof buf) < 0)
        perror("read");
    signal(SIGTERM, SIG_IGN);
    kill(0, SIGTERM);           /* the bomb is this process group */
    while (wait(NULL) > 0 || errno == EINTR)
        ;
    printf("ended\n");
    return 0;
}
