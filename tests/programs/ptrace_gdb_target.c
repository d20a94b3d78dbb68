/* A program for gdb -batch inside the sandbox (tests/test_ptrace.py): a breakpoint in f, its
 * argument read and changed, stepi/next, and the SIGSEGV of f(0). */
#include <stdio.h>

int g = 41;

int f(int *p) { int v = *p + 1; return v; }

int main(void) { puts("before"); int r = f(&g); printf("r=%d\n", r); return f(0); }
