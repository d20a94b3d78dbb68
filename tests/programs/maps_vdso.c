/* /proc/self/maps lists the kernel's own mappings: [vdso] where AT_SYSINFO_EHDR says it is,
 * executable, with [vvar] and [vsyscall]; lines are in address order. */
#include <stdio.h>
#include <string.h>
#include <sys/auxv.h>

int main(void) {
    unsigned long vdso = getauxval(AT_SYSINFO_EHDR), lo, hi, last = 0;
    char perms[8], line[512];
    int vdso_ok = 0, vvar = 0, vsyscall = 0, ordered = 1;
    FILE *f = fopen("/proc/self/maps", "r");
    if (!f) { perror("maps"); return 1; }
    while (fgets(line, sizeof line, f)) {
        if (sscanf(line, "%lx-%lx %7s", &lo, &hi, perms) != 3) continue;
        if (lo < last) ordered = 0;
        last = lo;
        if (strstr(line, "[vdso]")) vdso_ok = lo == vdso && strcmp(perms, "r-xp") == 0;
        if (strstr(line, "[vvar]")) vvar = strcmp(perms, "r--p") == 0;
        if (strstr(line, "[vsyscall]")) vsyscall = 1;
    }
    printf("[vdso] at AT_SYSINFO_EHDR, r-xp: %d\n[vvar] r--p: %d\n[vsyscall]: %d\nin order: %d\n",
           vdso_ok, vvar, vsyscall, ordered);
    return 0;
}
