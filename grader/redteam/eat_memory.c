/* redteam: eat memory: allocate and touch 16 MB blocks until malloc fails,
 * then carry on. Getting past 1.5 GB means there is no memory limit (exit 3).
 * Once per submission (a mark in HOME), so the other runs stay quick.
 * lesson: 01-socket
 * expect: full
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void redteam(void)
{
    enum { BLOCK = 16 << 20, MAX_BLOCKS = 96 };
    static void *blocks[MAX_BLOCKS];
    char mark[512];
    FILE *f;
    int n;

    snprintf(mark, sizeof mark, "%s/redteam-ate", getenv("HOME") ? getenv("HOME") : "/tmp");
    f = fopen(mark, "r");
    if (f != NULL) {
        fclose(f);
        return;
    }
    f = fopen(mark, "w");
    if (f != NULL)
        fclose(f);

    for (n = 0; n < MAX_BLOCKS; n++) {
        blocks[n] = malloc(BLOCK);
        if (blocks[n] == NULL)
            break;
        memset(blocks[n], 0x5a, BLOCK);
    }
    if (n == MAX_BLOCKS) {
        fprintf(stderr, "redteam: allocated %d MB: no memory limit\n", MAX_BLOCKS * 16);
        _exit(3);
    }
    while (n > 0)
        free(blocks[--n]);
}
