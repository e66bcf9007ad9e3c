/* redteam: flood the output: 64 MB on stdout and on stderr, then exit 1.
 * The harness keeps a bounded amount; the lesson scores 0.
 * lesson: 01-socket
 * expect: zero
 */
#include <string.h>
#include <unistd.h>

static void redteam(void)
{
    static char junk[1 << 16];
    int i;

    memset(junk, 'x', sizeof junk);
    for (i = 0; i < 1024; i++) {
        if (write(1, junk, sizeof junk) < 0 || write(2, junk, sizeof junk) < 0)
            break;
    }
    _exit(1);
}
