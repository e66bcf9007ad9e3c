/* redteam: sleep forever, deaf to SIGTERM, SIGINT and SIGHUP. Each test hits
 * its time limit; the lesson scores 0 and the grader finishes.
 * lesson: 01-socket
 * expect: zero
 */
#include <signal.h>
#include <unistd.h>

static void redteam(void)
{
    signal(SIGTERM, SIG_IGN);
    signal(SIGINT, SIG_IGN);
    signal(SIGHUP, SIG_IGN);
    for (;;)
        pause();
}
