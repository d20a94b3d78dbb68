/* A pod sandbox's infrastructure process (Kubernetes' pause image): waits until SIGTERM or SIGINT. */
#include <signal.h>
#include <unistd.h>

static void done(int sig) { (void)sig; _exit(0); }

int main(void) {
    signal(SIGTERM, done);
    signal(SIGINT, done);
    for (;;)
        pause();
}
