/* Random sequences of mount, bind, move, propagation-type and umount operations (differential):
 * ``mount_fuzz FIRST LAST OPS`` runs seeds FIRST..LAST, each in a child of its own that unshares
 * its mount namespace and makes every mount private first (natively, as root, nothing reaches
 * the host), with OPS operations on twelve paths below a tmpfs on /mnt, some made in children in
 * mount namespaces of their own, half of them in a new user namespace too (with no uid_map: files
 * they make on a tmpfs they mount are EOVERFLOW). Printed: each operation's result, and every ten operations each
 * path's visible marker files and its mount's propagation fields, peer groups as letters in
 * order of first appearance in that view (natively the numbers come from a kernel-wide allocator
 * whose order of reuse is not compared). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static unsigned long long rng;
static unsigned rnd(unsigned n) { rng = rng * 6364136223846793005ULL + 1442695040888963407ULL; return (rng >> 33) % n; }

#define NP 12
static char paths[NP][64];
static int ngroups, groups[512];
static char letter(int g) { for (int i = 0; i < ngroups; i++) if (groups[i] == g) return 'A' + i % 26; groups[ngroups++] = g; return 'A' + (ngroups - 1) % 26; }

static void fields(const char *path) {
    struct statx sx;
    if (statx(AT_FDCWD, path, 0, STATX_MNT_ID, &sx)) { printf(" %s", strerrorname_np(errno)); return; }
    FILE *f = fopen("/proc/self/mountinfo", "r");
    char line[1024];
    while (fgets(line, sizeof line, f)) {
        int id, n = 0;
        if (sscanf(line, "%d %*d %*s %*s %*s %*s%n", &id, &n) != 1 || (unsigned long long)id != sx.stx_mnt_id) continue;
        for (char *o = strtok(line + n, " \n"); o && strcmp(o, "-"); o = strtok(NULL, " \n")) {
            int g;
            if (sscanf(o, "shared:%d", &g) == 1) printf(" s:%c", letter(g));
            else if (sscanf(o, "master:%d", &g) == 1) printf(" m:%c", letter(g));
            else if (strncmp(o, "propagate_from", 14)) printf(" %s", o);
        }
    }
    fclose(f);
}

static void view(void) {
    ngroups = 0;
    for (int i = 0; i < NP; i++) {
        printf("%s:", paths[i]);
        fields(paths[i]);
        char m[96];
        for (int k = 0; k < 40; k++) {
            snprintf(m, sizeof m, "%s/f%d", paths[i], k);
            if (access(m, F_OK) == 0) printf(" f%d", k);
        }
        printf("\n");
    }
}

static int run(int nops) {
    if (unshare(CLONE_NEWNS) || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL)) { perror("setup"); return 1; }
    mount("none", "/mnt", "tmpfs", 0, "size=4m");
    mkdir("/mnt/r", 0755);
    mount("r", "/mnt/r", "tmpfs", 0, NULL);
    const char *names[NP] = {"/mnt/r/a", "/mnt/r/b", "/mnt/r/c", "/mnt/r/a/x", "/mnt/r/a/y", "/mnt/r/b/x",
                             "/mnt/r/b/y", "/mnt/r/c/x", "/mnt/r/a/x/z", "/mnt/r/b/x/z", "/mnt/r/c/x/z", "/mnt/r/d"};
    for (int i = 0; i < NP; i++) { strcpy(paths[i], names[i]); mkdir(paths[i], 0755); }
    static int marker = 0;
    for (int op = 0; op < nops; op++) {
        if (rnd(12) == 0) {   /* a child in a mount namespace of its own (or of a new user namespace) */
            int user = rnd(2);
            pid_t pid = fork();
            if (pid == 0) {
                int r = unshare(user ? CLONE_NEWUSER | CLONE_NEWNS : CLONE_NEWNS);
                printf("child%s unshare -> %d\n", user ? " user" : "", r);
                nops = 4; op = 0; marker += 1000;
                goto ops;
            }
            int st;
            waitpid(pid, &st, 0);
            printf("child exit %d\n", WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
            continue;
        }
    ops:;
        const char *p = paths[rnd(NP)], *q = paths[rnd(NP)];
        int r, e;
        char fn[96];
        errno = 0;
        switch (rnd(11)) {
        case 0: r = mount("t", p, "tmpfs", 0, NULL); printf("tmpfs %s", p); break;
        case 1: r = mount(p, q, NULL, MS_BIND, NULL); printf("bind %s %s", p, q); break;
        case 2: r = mount(p, q, NULL, MS_BIND | MS_REC, NULL); printf("rbind %s %s", p, q); break;
        case 3: r = mount(NULL, p, NULL, MS_SHARED, NULL); printf("shared %s", p); break;
        case 4: r = mount(NULL, p, NULL, MS_SLAVE, NULL); printf("slave %s", p); break;
        case 5: r = mount(NULL, p, NULL, MS_PRIVATE, NULL); printf("private %s", p); break;
        case 6: r = umount2(p, 0); printf("umount %s", p); break;
        case 7: r = umount2(p, MNT_DETACH); printf("detach %s", p); break;
        case 8: r = mount(p, q, NULL, MS_MOVE, NULL); printf("move %s %s", p, q); break;
        case 9: snprintf(fn, sizeof fn, "%s/f%d", p, marker++); r = open(fn, O_CREAT | O_WRONLY, 0644); if (r >= 0) close(r), r = 0; printf("touch %s", fn); break;
        default: r = mount(NULL, p, NULL, MS_SHARED | MS_REC, NULL); printf("rshared %s", p); break;
        }
        e = errno;
        printf(" -> %d %s\n", r, r ? strerrorname_np(e) : "");
        if (op % 10 == 9) view();
    }
    view();
    return 0;
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IONBF, 0);
    if (argc != 4)
        return 2;
    for (long seed = atol(argv[1]); seed <= atol(argv[2]); seed++) {
        printf("== seed %ld\n", seed);
        pid_t pid = fork();
        if (pid == 0) {
            rng = seed;
            exit(run(atoi(argv[3])));
        }
        int st;
        waitpid(pid, &st, 0);
        if (!WIFEXITED(st) || WEXITSTATUS(st))
            printf("seed %ld: status %d\n", seed, st);
    }
    return 0;
}
