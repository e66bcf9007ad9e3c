/* redteam: fork bomb, first thing in main. The process limit holds it; the
 * lesson scores 0, the grader and the other lessons carry on.
 * lesson: 01-socket
 * expect: zero
 */
#include <unistd.h>

static void redteam(void)
{
    for (;;)
        (void)fork();
}
