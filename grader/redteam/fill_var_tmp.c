/* redteam: fill /var/tmp, where gradings keep their work: 16 MB files until
 * the disk says no or 320 MB are written. Each grading's /var/tmp is its
 * own and small (or not writable at all): more than 256 MB is no cap (exit
 * 3). The files are left for the test to look for.
 * lesson: 01-socket
 * expect: full
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void redteam(void)
{
    enum { CHUNK = 1 << 20, FILE_MB = 16, FILES = 20 };
    static char junk[CHUNK];
    char path[256];
    long written = 0;
    int i, mb;
    FILE *f;

    memset(junk, 'v', sizeof junk);
    for (i = 0; i < FILES; i++) {
        snprintf(path, sizeof path, "/var/tmp/@MARK@-%d-%d", (int)getpid(), i);
        if ((f = fopen(path, "w")) == NULL)
            break;
        for (mb = 0; mb < FILE_MB && fwrite(junk, 1, CHUNK, f) == CHUNK; mb++)
            written += CHUNK;
        if (fclose(f) != 0 || mb < FILE_MB)
            break;
    }
    if (written > (256L << 20)) {
        fprintf(stderr, "redteam: wrote %ld MB into /var/tmp: no cap\n", written >> 20);
        _exit(3);
    }
}
