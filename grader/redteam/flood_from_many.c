/* redteam: flood the harness from many processes: forty children each
 * write 4 MB to stdout and to stderr (320 MB through the program's pipes),
 * then the program exits 1. The harness keeps a bounded amount for a
 * whole test, junit.xml and the logs stay small; the lesson scores 0.
 * lesson: 01-socket
 * expect: zero
 */
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void redteam(void)
{
    static char junk[1 << 16];
    int i, k;

    memset(junk, 'f', sizeof junk);
    for (i = 0; i < 40; i++) {
        if (fork() == 0) {
            for (k = 0; k < 64; k++)
                if (write(1, junk, sizeof junk) < 0 || write(2, junk, sizeof junk) < 0)
                    break;
            _exit(0);
        }
    }
    while (wait(NULL) > 0)
        ;
    _exit(1);
}
