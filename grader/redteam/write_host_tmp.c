/* redteam: leave files behind: one in each of /tmp, /var/tmp, /run/lock,
 * /dev/shm and HOME, named with this run's mark (@MARK@). Each grading has
 * its own /tmp, /var/tmp, /run and /dev/shm, gone with it: the test finds
 * none of them on the machine afterwards.
 * lesson: 01-socket
 * expect: full
 */
#include <stdio.h>
#include <stdlib.h>

static void redteam(void)
{
    const char *dirs[] = {"/tmp", "/var/tmp", "/run/lock", "/run", "/dev/shm", getenv("HOME")};
    char path[512];
    size_t i;
    FILE *f;

    for (i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
        if (dirs[i] == NULL)
            continue;
        snprintf(path, sizeof path, "%s/@MARK@", dirs[i]);
        if ((f = fopen(path, "w")) != NULL) {
            fputs("left by a submission\n", f);
            fclose(f);
        }
    }
}
