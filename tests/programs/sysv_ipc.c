/* System V IPC semantics (shm, sem, msg), printed so that a native run and a sandboxed run
 * can be compared line by line. Objects are IPC_PRIVATE or keyed by the pid, and removed at the
 * end, so nothing depends on (or is left in) the host's IPC namespace. Identifiers and keys are
 * never printed, only whether they behave. Synchronisation with children is by state (a
 * semaphore's waiter count), never by sleeping. */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

union semun { int val; struct semid_ds *buf; unsigned short *array; struct seminfo *__buf; };

static const char *err(long r) {
    static char buf[64];
    if (r != -1) { snprintf(buf, sizeof buf, "ok"); return buf; }
    switch (errno) {
    case EINVAL: return "EINVAL"; case EEXIST: return "EEXIST"; case ENOENT: return "ENOENT";
    case EACCES: return "EACCES"; case EPERM: return "EPERM"; case EAGAIN: return "EAGAIN";
    case ERANGE: return "ERANGE"; case EFBIG: return "EFBIG"; case E2BIG: return "E2BIG";
    case EINTR: return "EINTR"; case EIDRM: return "EIDRM"; case ENOMSG: return "ENOMSG";
    case EFAULT: return "EFAULT"; case ENOSPC: return "ENOSPC";
    default: snprintf(buf, sizeof buf, "errno %d", errno); return buf;
    }
}

static void wait_ncnt(int semid, int num, int want) {
    for (long i = 0; i < 200000000L; i++) {
        if (semctl(semid, num, GETNCNT) == want) return;
        sched_yield();
    }
    printf("timeout waiting for semncnt\n");
    exit(3);
}

static void on_alarm(int sig) { (void)sig; }

static void test_shm(void) {
    printf("-- shm\n");
    printf("shmget size 0: %s\n", err(shmget(IPC_PRIVATE, 0, 0600)));
    int id = shmget(IPC_PRIVATE, 10000, IPC_CREAT | 0600);
    printf("shmget private: %s\n", id >= 0 ? "ok" : err(-1));
    struct shmid_ds ds;
    shmctl(id, IPC_STAT, &ds);
    printf("segsz %zu nattch %lu mode %o cpid-is-me %d uid-is-me %d atime %d\n", ds.shm_segsz,
           (unsigned long)ds.shm_nattch, ds.shm_perm.mode & 0777, ds.shm_cpid == getpid(),
           ds.shm_perm.uid == getuid(), ds.shm_atime != 0);
    char *p = shmat(id, NULL, 0);
    printf("shmat: %s aligned %d\n", p == (void *)-1 ? err(-1) : "ok", ((unsigned long)p & 4095) == 0);
    strcpy(p, "from parent");
    p[9999] = 'z';
    shmctl(id, IPC_STAT, &ds);
    printf("after attach nattch %lu lpid-is-me %d atime-set %d\n", (unsigned long)ds.shm_nattch,
           ds.shm_lpid == getpid(), ds.shm_atime != 0);
    pid_t c = fork();
    if (c == 0) {
        struct shmid_ds cds;
        shmctl(id, IPC_STAT, &cds);
        printf("child sees '%s' %c nattch %lu\n", p, p[9999], (unsigned long)cds.shm_nattch);
        strcpy(p, "from child");
        fflush(stdout);
        _exit(0);
    }
    int st;
    waitpid(c, &st, 0);
    printf("parent sees '%s'\n", p);
    shmctl(id, IPC_STAT, &ds);
    printf("after child exit nattch %lu\n", (unsigned long)ds.shm_nattch);
    /* A second attachment at a chosen address, and SHM_RND. */
    char *q = shmat(id, p + 0x100000 + 123, SHM_RND);
    printf("shmat SHM_RND: %s rounded %d same data %d\n", q == (void *)-1 ? err(-1) : "ok",
           q == p + 0x100000, q != (void *)-1 && strcmp(q, "from child") == 0);
    printf("shmat unaligned: %s\n", err((long)shmat(id, p + 0x200000 + 5, 0)));
    printf("shmat over a mapping: %s\n", err((long)shmat(id, p, 0)));
    shmctl(id, IPC_STAT, &ds);
    printf("two attachments nattch %lu\n", (unsigned long)ds.shm_nattch);
    printf("shmdt inside: %s\n", err(shmdt(q + 4096)));
    printf("shmdt unaligned: %s\n", err(shmdt(q + 1)));
    printf("shmdt second: %s\n", err(shmdt(q)));
    printf("shmdt again: %s\n", err(shmdt(q)));
    /* SHM_RDONLY: reading works, writing faults, and it can never become writable. */
    char *r = shmat(id, NULL, SHM_RDONLY);
    printf("rdonly reads '%s'\n", r);
    c = fork();
    if (c == 0) { r[0] = 'x'; _exit(0); }
    waitpid(c, &st, 0);
    printf("rdonly write: %s\n", WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV ? "SIGSEGV" : "no fault");
    shmdt(r);
    /* Removal while attached: the segment lives on, marked, and goes with its last detach. */
    printf("bad cmd: %s\n", err(shmctl(id, 77, &ds)));
    printf("IPC_64 cmd: %s\n", err(shmctl(id, IPC_STAT | 0x100, &ds)));
    printf("negative id: %s\n", err(shmctl(-1, IPC_STAT, &ds)));
    printf("IPC_RMID attached: %s\n", err(shmctl(id, IPC_RMID, NULL)));
    shmctl(id, IPC_STAT, &ds);
    printf("marked dest %d key private %d still readable '%s'\n", !!(ds.shm_perm.mode & SHM_DEST),
           ds.shm_perm.__key == IPC_PRIVATE, p);
    printf("shmdt last: %s\n", err(shmdt(p)));
    printf("stat after last detach: %s\n", err(shmctl(id, IPC_STAT, &ds)));
    /* Keys. */
    key_t key = 0x5e000000 | (getpid() & 0xffffff);
    printf("no key, no IPC_CREAT: %s\n", err(shmget(key, 4096, 0600)));
    int k = shmget(key, 8192, IPC_CREAT | 0640);
    printf("created by key: %s\n", k >= 0 ? "ok" : err(-1));
    printf("same key again: %s\n", shmget(key, 4096, 0) == k ? "same id" : "different");
    printf("EXCL: %s\n", err(shmget(key, 4096, IPC_CREAT | IPC_EXCL | 0600)));
    printf("bigger than it: %s\n", err(shmget(key, 100000, 0)));
    struct shmid_ds set = {0};
    set.shm_perm.uid = getuid(); set.shm_perm.gid = getgid(); set.shm_perm.mode = 0604;
    printf("IPC_SET: %s\n", err(shmctl(k, IPC_SET, &set)));
    shmctl(k, IPC_STAT, &ds);
    printf("mode now %o\n", ds.shm_perm.mode & 0777);
    c = fork();
    if (c == 0) {
        if (setuid(65534) != 0) _exit(9);
        printf("nobody shmat rw: %s\n", err((long)shmat(k, NULL, 0)));
        void *ro = shmat(k, NULL, SHM_RDONLY);
        printf("nobody shmat ro: %s\n", ro == (void *)-1 ? err(-1) : "ok");
        printf("nobody IPC_RMID: %s\n", err(shmctl(k, IPC_RMID, NULL)));
        printf("nobody shmget rw: %s\n", err(shmget(key, 0, 0600)));
        fflush(stdout);
        _exit(0);
    }
    waitpid(c, &st, 0);
    printf("IPC_RMID: %s\n", err(shmctl(k, IPC_RMID, NULL)));
    printf("key free again: %s\n", err(shmget(key, 4096, 0600)));
    struct shminfo info;
    int maxidx = shmctl(0, IPC_INFO, (struct shmid_ds *)&info);
    printf("IPC_INFO: %s shmmni %lu shmmin %lu\n", maxidx >= 0 ? "ok" : err(-1), info.shmmni, info.shmmin);
}

static void test_sem(void) {
    printf("-- sem\n");
    printf("semget nsems 0: %s\n", err(semget(IPC_PRIVATE, 0, 0600)));
    printf("semget too many: %s\n", err(semget(IPC_PRIVATE, 40000, 0600)));
    int id = semget(IPC_PRIVATE, 3, 0600);
    printf("semget: %s\n", id >= 0 ? "ok" : err(-1));
    struct semid_ds ds;
    union semun arg = {.buf = &ds};
    semctl(id, 0, IPC_STAT, arg);
    printf("nsems %lu mode %o otime %ld\n", (unsigned long)ds.sem_nsems, ds.sem_perm.mode & 0777, (long)ds.sem_otime);
    printf("initial %d %d %d\n", semctl(id, 0, GETVAL), semctl(id, 1, GETVAL), semctl(id, 2, GETVAL));
    arg.val = 5;
    printf("SETVAL: %s\n", err(semctl(id, 1, SETVAL, arg)));
    arg.val = 40000;
    printf("SETVAL too big: %s\n", err(semctl(id, 1, SETVAL, arg)));
    arg.val = -1;
    printf("SETVAL negative: %s\n", err(semctl(id, 1, SETVAL, arg)));
    printf("GETVAL past end: %s\n", err(semctl(id, 3, GETVAL)));
    printf("GETPID is me %d\n", semctl(id, 1, GETPID) == getpid());
    unsigned short all[3] = {1, 2, 3}, got[3];
    arg.array = all;
    printf("SETALL: %s\n", err(semctl(id, 0, SETALL, arg)));
    arg.array = got;
    semctl(id, 0, GETALL, arg);
    printf("GETALL %d %d %d\n", got[0], got[1], got[2]);
    struct sembuf ops[2] = {{0, -1, 0}, {2, 2, 0}};
    printf("semop atomic: %s\n", err(semop(id, ops, 2)));
    printf("now %d %d %d\n", semctl(id, 0, GETVAL), semctl(id, 1, GETVAL), semctl(id, 2, GETVAL));
    struct sembuf would_block[2] = {{2, 1, 0}, {0, -1, IPC_NOWAIT}};
    printf("all or nothing: %s, sem2 still %d\n", err(semop(id, would_block, 2)), semctl(id, 2, GETVAL));
    struct sembuf zero = {1, 0, IPC_NOWAIT};
    printf("wait-for-zero nowait: %s\n", err(semop(id, &zero, 1)));
    struct sembuf bad = {3, 1, 0};
    printf("sem_num past end: %s\n", err(semop(id, &bad, 1)));
    printf("nsops 0: %s\n", err(semop(id, ops, 0)));
    printf("nsops 501: %s\n", err(semop(id, ops, 501)));
    struct sembuf over = {2, 32767, 0};
    printf("over SEMVMX: %s\n", err(semop(id, &over, 1)));
    struct timespec ts = {0, 20 * 1000 * 1000};
    struct sembuf dec = {0, -1, 0};
    printf("semtimedop timeout: %s\n", err(semtimedop(id, &dec, 1, &ts)));
    struct timespec badts = {0, 2000000000L};
    printf("semtimedop bad timeout: %s\n", err(semtimedop(id, &dec, 1, &badts)));
    /* A blocked decrement, released by a child once it sees the waiter (semncnt). */
    pid_t c = fork();
    if (c == 0) {
        wait_ncnt(id, 0, 1);
        struct sembuf inc = {0, 1, 0};
        semop(id, &inc, 1);
        _exit(0);
    }
    printf("blocking semop: %s\n", err(semop(id, &dec, 1)));
    int st;
    waitpid(c, &st, 0);
    printf("GETNCNT after %d\n", semctl(id, 0, GETNCNT));
    /* SEM_UNDO: a child's adjustment is undone when it exits. */
    arg.val = 1;
    semctl(id, 0, SETVAL, arg);
    c = fork();
    if (c == 0) {
        struct sembuf up = {0, 2, SEM_UNDO}, down = {0, -1, SEM_UNDO};
        semop(id, &up, 1);
        semop(id, &down, 1);
        printf("child value %d\n", semctl(id, 0, GETVAL));
        fflush(stdout);
        _exit(0);
    }
    waitpid(c, &st, 0);
    printf("after undo %d\n", semctl(id, 0, GETVAL));
    /* A signal ends a semop with EINTR, even with SA_RESTART. */
    struct sigaction sa = {0};
    sa.sa_handler = on_alarm;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGALRM, &sa, NULL);
    struct itimerval it = {{0, 0}, {0, 30000}};
    setitimer(ITIMER_REAL, &it, NULL);
    struct sembuf z = {2, 0, 0};
    printf("semop interrupted: %s\n", err(semop(id, &z, 1)));
    /* Removal wakes a sleeper with EIDRM. */
    c = fork();
    if (c == 0) {
        struct sembuf d = {1, -100, 0};
        int r = semop(id, &d, 1);
        printf("sleeper: %s\n", err(r));
        fflush(stdout);
        _exit(0);
    }
    wait_ncnt(id, 1, 1);
    const char *rmid = err(semctl(id, 0, IPC_RMID));
    waitpid(c, &st, 0);   /* the sleeper prints first, whoever runs first */
    printf("IPC_RMID: %s\n", rmid);
    printf("GETVAL removed: %s\n", err(semctl(id, 0, GETVAL)));
}

struct msg { long mtype; char text[64]; };

static void test_msg(void) {
    printf("-- msg\n");
    int id = msgget(IPC_PRIVATE, 0600);
    printf("msgget: %s\n", id >= 0 ? "ok" : err(-1));
    struct msg m;
    for (int t = 3; t >= 1; t--) {
        m.mtype = t;
        snprintf(m.text, sizeof m.text, "type %d", t);
        msgsnd(id, &m, strlen(m.text) + 1, 0);
    }
    m.mtype = 2;
    strcpy(m.text, "second two");
    msgsnd(id, &m, strlen(m.text) + 1, 0);
    struct msqid_ds ds;
    msgctl(id, IPC_STAT, &ds);
    printf("qnum %lu cbytes %lu qbytes %lu lspid-is-me %d\n", (unsigned long)ds.msg_qnum,
           (unsigned long)ds.msg_cbytes, (unsigned long)ds.msg_qbytes, ds.msg_lspid == getpid());
    long n = msgrcv(id, &m, sizeof m.text, 0, MSG_COPY | IPC_NOWAIT);
    printf("MSG_COPY 0: %ld '%s'\n", n, n > 0 ? m.text : "");
    n = msgrcv(id, &m, sizeof m.text, 1, MSG_COPY | IPC_NOWAIT);
    printf("MSG_COPY 1: %ld type %ld\n", n, m.mtype);
    printf("MSG_COPY blocking: %s\n", err(msgrcv(id, &m, sizeof m.text, 0, MSG_COPY)));
    n = msgrcv(id, &m, sizeof m.text, 2, 0);
    printf("type 2: %ld '%s'\n", n, m.text);
    n = msgrcv(id, &m, sizeof m.text, -2, 0);
    printf("type <= 2: '%s'\n", m.text);
    n = msgrcv(id, &m, sizeof m.text, 2, MSG_EXCEPT);
    printf("except 2: '%s'\n", m.text);
    printf("too small: %s\n", err(msgrcv(id, &m, 3, 0, 0)));
    n = msgrcv(id, &m, 3, 0, MSG_NOERROR);
    printf("truncated: %ld '%.3s'\n", n, m.text);
    printf("empty nowait: %s\n", err(msgrcv(id, &m, sizeof m.text, 0, IPC_NOWAIT)));
    m.mtype = 0;
    printf("mtype 0: %s\n", err(msgsnd(id, &m, 4, 0)));
    m.mtype = 1;
    printf("over MSGMAX: %s\n", err(msgsnd(id, &m, 9000, 0)));
    printf("bad buffer: %s\n", err(msgsnd(id, (void *)8, 4, 0)));
    /* A full queue: EAGAIN without waiting, and a blocked sender released by a reader. */
    msgctl(id, IPC_STAT, &ds);
    ds.msg_qbytes = 10;
    printf("IPC_SET qbytes: %s\n", err(msgctl(id, IPC_SET, &ds)));
    ds.msg_qbytes = 100000;
    pid_t c = fork();
    if (c == 0) {
        setuid(65534);
        printf("nobody raises qbytes: %s\n", err(msgctl(id, IPC_SET, &ds)));
        fflush(stdout);
        _exit(0);
    }
    int st;
    waitpid(c, &st, 0);
    strcpy(m.text, "12345678");
    msgsnd(id, &m, 8, 0);
    printf("full nowait: %s\n", err(msgsnd(id, &m, 8, IPC_NOWAIT)));
    /* Blocked receiver, then a sender. */
    msgrcv(id, &m, sizeof m.text, 0, 0);
    c = fork();
    if (c == 0) {
        struct msg in;
        long r = msgrcv(id, &in, sizeof in.text, 7, 0);
        printf("receiver got %ld '%s'\n", r, r > 0 ? in.text : err(-1));
        fflush(stdout);
        _exit(0);
    }
    m.mtype = 5;
    strcpy(m.text, "no");
    msgsnd(id, &m, 3, 0);
    m.mtype = 7;
    strcpy(m.text, "yes");
    msgsnd(id, &m, 4, 0);
    waitpid(c, &st, 0);
    msgctl(id, IPC_STAT, &ds);
    printf("left qnum %lu\n", (unsigned long)ds.msg_qnum);
    printf("IPC_RMID: %s\n", err(msgctl(id, IPC_RMID, NULL)));
    printf("send to removed: %s\n", err(msgsnd(id, &m, 3, 0)));
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    test_shm();
    test_sem();
    test_msg();
    return 0;
}
