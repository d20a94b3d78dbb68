/* A program for gdb's `watch` inside the sandbox (tests/test_ptrace_debugregs.py): a global
 * changed in a loop, a hardware watchpoint stops at each change with its old and new value. */
#include <stdio.h>

int counter;

int main(void) {
    for (int i = 0; i < 3; i++)
        counter += i + 1;
    printf("counter=%d\n", counter);
    return 0;
}
