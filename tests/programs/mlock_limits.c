/* Memory locks (differential): mlock/mlock2/munlock/mlockall accounting in VmLck, holes,
   RLIMIT_MEMLOCK for an unprivileged user (ENOMEM, EPERM, MAP_LOCKED's EAGAIN), MCL_FUTURE,
   fork dropping locks, bad flags; O_NOATIME only for the file's owner. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include "show.h"
#define PG 4096

static long vmlck(void) { return status_kb("VmLck"); }

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    char *p = mmap(NULL, 16 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    SHOW(mlock(p, 8 * PG));
    SHOW(vmlck());
    SHOW(mlock(p + 100, 8 * PG));          /* overlapping, unaligned: rounded out */
    SHOW(vmlck());
    SHOW(munlock(p, 4 * PG));
    SHOW(vmlck());
    SHOW(mlock2(p, PG, 2));
    SHOW(mlock2(p, PG, MLOCK_ONFAULT));
    SHOW(vmlck());
    munmap(p + 12 * PG, PG);
    SHOW(mlock(p, 16 * PG));                /* a hole: ENOMEM */
    SHOW(munlock(p, 12 * PG));
    SHOW(vmlck());
    SHOW(mlockall(0));
    SHOW(mlockall(MCL_ONFAULT));
    SHOW(mlockall(8));
    SHOW(mlockall(MCL_CURRENT));
    printf("all locked: %d\n", vmlck() > 64);
    pid_t child = fork();
    if (child == 0) { printf("child VmLck: %ld\n", vmlck()); _exit(0); }
    waitpid(child, NULL, 0);
    SHOW(munlockall());
    SHOW(vmlck());
    SHOW(mlockall(MCL_FUTURE));
    SHOW(vmlck());
    char *q = mmap(NULL, 4 * PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    SHOW(vmlck());
    SHOW(munlockall());
    munmap(q, 4 * PG);

    char root_path[64], own_path[64];
    snprintf(root_path, sizeof root_path, "/tmp/mlock_limits_root.%d", getpid());
    snprintf(own_path, sizeof own_path, "/tmp/mlock_limits_own.%d", getpid());
    int root_file = open(root_path, O_CREAT | O_RDWR, 0644);
    /* The unprivileged part runs in a child, so that the root parent can remove its file. */
    child = fork();
    if (child != 0) {
        int status;
        waitpid(child, &status, 0);
        unlink(root_path);
        return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
    }
    struct rlimit rl = {2 * PG, 2 * PG};
    SHOW(setrlimit(RLIMIT_MEMLOCK, &rl));
    uid_t uid = 200000 + getpid() % 100000;
    if (setresuid(uid, uid, uid) != 0) { perror("setresuid"); return 1; }
    SHOW(mlock(p, PG));
    SHOW(mlock(p, 3 * PG));                 /* past the limit */
    SHOW(mlock(p, 2 * PG));                 /* the locked page is not counted twice */
    SHOW(vmlck());
    SHOW(mmap(NULL, 4 * PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_LOCKED, -1, 0) == (void *)-1);
    SHOW(mlockall(MCL_CURRENT));
    SHOW(munlock(p, 16 * PG));
    rl.rlim_cur = rl.rlim_max = 0;
    SHOW(setrlimit(RLIMIT_MEMLOCK, &rl));
    SHOW(mlock(p, PG));
    SHOW(mmap(NULL, PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_LOCKED, -1, 0) == (void *)-1);
    SHOW(munlock(p, PG));

    SHOW(open(root_path, O_RDONLY | O_NOATIME));
    SHOW(fcntl(root_file, F_SETFL, O_NOATIME));
    int own = open(own_path, O_CREAT | O_RDWR | O_NOATIME, 0644);
    printf("own file with O_NOATIME: %d\n", own >= 0);
    SHOW(fcntl(own, F_SETFL, O_NOATIME));
    unlink(own_path);
    return 0;
}
