/* Built with -fsanitize=address: AddressSanitizer reserves terabytes of shadow memory
 * (MAP_NORESERVE) at start, then reports the heap overflow below and exits 1. */
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    volatile char *p = malloc(16);
    printf("in bounds ok\n");
    fflush(stdout);
    p[16 + argc] = 1;   /* past the end */
    free((char *)p);
    return 0;
}
