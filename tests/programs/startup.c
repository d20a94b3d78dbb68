/* argv, envp, auxv and exit status as the loader sets them up (differential).
 * Usage: startup [exit N] [args...]   prints what the process was given, exits N. */
#include <elf.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <unistd.h>

extern char **environ;

int main(int argc, char **argv) {
    printf("argc=%d\n", argc);
    for (int i = 1; i < argc; i++) printf("argv[%d]=%s\n", i, argv[i]);
    printf("argv[argc]=%s\n", argv[argc] == NULL ? "NULL" : "not NULL");
    int n = 0;
    for (char **e = environ; *e; e++) n++;
    printf("envc=%d\n", n);
    const char *v = getenv("SNAKE_TEST");
    printf("SNAKE_TEST=%s\n", v ? v : "(unset)");
    /* envp follows argv on the initial stack */
    printf("environ==argv+argc+1: %d\n", environ == argv + argc + 1);
    printf("AT_PAGESZ=%lu\n", getauxval(AT_PAGESZ));
    unsigned char *rnd = (unsigned char *)getauxval(AT_RANDOM);
    unsigned sum = 0;
    for (int i = 0; i < 16; i++) sum |= rnd[i];
    printf("AT_RANDOM readable, nonzero=%d\n", rnd != NULL && sum != 0);
    const char *execfn = (const char *)getauxval(AT_EXECFN);
    printf("AT_EXECFN==argv[0]: %d\n", execfn && strcmp(execfn, argv[0]) == 0);
    printf("AT_PHENT=%lu\n", getauxval(AT_PHENT));
    const ElfW(Phdr) *ph = (const ElfW(Phdr) *)getauxval(AT_PHDR);
    unsigned long phnum = getauxval(AT_PHNUM);
    int has_load = 0;
    for (unsigned long i = 0; i < phnum; i++) has_load |= ph[i].p_type == PT_LOAD;
    printf("AT_PHDR readable with PT_LOAD: %d\n", has_load);
    printf("AT_ENTRY nonzero: %d\n", getauxval(AT_ENTRY) != 0);
    printf("AT_UID=%lu AT_EUID=%lu AT_GID=%lu AT_EGID=%lu\n", getauxval(AT_UID), getauxval(AT_EUID),
           getauxval(AT_GID), getauxval(AT_EGID));
    printf("AT_SECURE=%lu AT_CLKTCK=%lu\n", getauxval(AT_SECURE), getauxval(AT_CLKTCK));
    printf("AT_HWCAP nonzero: %d\n", getauxval(AT_HWCAP) != 0);
    printf("AT_SYSINFO_EHDR is ELF: %d\n",
           getauxval(AT_SYSINFO_EHDR) && memcmp((void *)getauxval(AT_SYSINFO_EHDR), ELFMAG, 4) == 0);
    /* the stack pointer at entry is 16-byte aligned; argv lives on it */
    printf("argv aligned: %d\n", ((unsigned long)argv & 7) == 0);
    fflush(stdout);
    if (argc >= 3 && strcmp(argv[1], "exit") == 0) return atoi(argv[2]);
    return 0;
}
