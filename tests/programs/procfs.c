/* /proc/self as the application sees it (differential): exe, maps, status, fd. */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int cmp(const void *a, const void *b) { return strcmp(*(char **)a, *(char **)b); }

int main(int argc, char **argv) {
    char exe[4096] = {0}, want[4096] = {0};
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    realpath(argv[0], want);
    printf("exe matches realpath(argv[0]): %d\n", n > 0 && strcmp(exe, want) == 0);

    /* maps: a line naming our executable, one [stack], r-xp text */
    FILE *f = fopen("/proc/self/maps", "r");
    char line[8192];
    int exe_lines = 0, stack = 0, text = 0, wellformed = 1;
    while (f && fgets(line, sizeof line, f)) {
        unsigned long lo, hi;
        char perms[8];
        if (sscanf(line, "%lx-%lx %7s", &lo, &hi, perms) != 3 || lo >= hi) wellformed = 0;
        if (strstr(line, exe)) { exe_lines++; if (!strcmp(perms, "r-xp")) text = 1; }
        if (strstr(line, "[stack]")) stack++;
    }
    printf("maps: wellformed=%d exe-lines>0=%d exe-text=%d stack=%d\n", wellformed, exe_lines > 0, text, stack);
    if (f) fclose(f);

    /* status: Name is the first 15 chars of the basename; these fields exist */
    f = fopen("/proc/self/status", "r");
    const char *fields[] = {"Name:", "State:", "Tgid:", "Pid:", "PPid:", "Uid:", "Gid:", "VmRSS:", "Threads:", "SigBlk:"};
    int seen[10] = {0};
    char name[64] = "";
    while (f && fgets(line, sizeof line, f)) {
        for (int i = 0; i < 10; i++)
            if (!strncmp(line, fields[i], strlen(fields[i]))) seen[i] = 1;
        if (!strncmp(line, "Name:", 5)) sscanf(line + 5, "%63s", name);
        if (!strncmp(line, "Uid:", 4)) printf("status %s", line);
        if (!strncmp(line, "Threads:", 8)) printf("status %s", line);
    }
    if (f) fclose(f);
    const char *base = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
    printf("status Name matches comm: %d\n", strncmp(name, base, 15) == 0);
    for (int i = 0; i < 10; i++) printf("status has %s %d\n", fields[i], seen[i]);
    f = fopen("/proc/self/comm", "r");
    char comm[64] = "";
    if (f) { fgets(comm, sizeof comm, f); fclose(f); }
    comm[strcspn(comm, "\n")] = 0;
    printf("comm matches: %d\n", strncmp(comm, base, 15) == 0);

    /* fd: open a few, list sorted; the directory's own fd appears too */
    int a = open("/etc/passwd", O_RDONLY), b = open("/dev/null", O_WRONLY);
    dup2(a, 9);
    DIR *d = opendir("/proc/self/fd");
    char *names[64];
    int count = 0;
    struct dirent *de;
    while (d && (de = readdir(d)) && count < 64)
        if (de->d_name[0] != '.') names[count++] = strdup(de->d_name);
    qsort(names, count, sizeof *names, cmp);
    printf("fds:");
    for (int i = 0; i < count; i++) printf(" %s", names[i]);
    printf("\n");
    if (d) closedir(d);
    char target[4096] = {0};
    readlink("/proc/self/fd/9", target, sizeof target - 1);
    printf("fd/9 -> %s\n", target);
    memset(target, 0, sizeof target);
    readlink("/proc/self/fd/4", target, sizeof target - 1);
    printf("fd/4 -> %s\n", target);
    int via = open("/proc/self/fd/9", O_RDONLY);
    char buf[5] = {0};
    printf("reopen via /proc/self/fd/9: %zd %.4s\n", read(via, buf, 4), buf);
    (void)b;
    return 0;
}
