/* redteam: leave daemons: three setsid'd children that ignore SIGTERM and
 * SIGHUP and sleep for minutes. A daemon left by an earlier test (pytest
 * names the test in PYTEST_CURRENT_TEST) and still alive when a later test
 * runs the program makes it exit 3.
 * lesson: 01-socket
 * expect: full
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
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

/* Alive and not a zombie waiting to be reaped. */
static int redteam_alive(int pid)
{
    char path[64], stat[512], *state;
    FILE *f;
    size_t n;

    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    f = fopen(path, "r");
    if (f == NULL)
        return 0;
    n = fread(stat, 1, sizeof stat - 1, f);
    fclose(f);
    stat[n] = '\0';
    state = strrchr(stat, ')');
    return state != NULL && state[1] == ' ' && state[2] != 'Z' && state[2] != 'X';
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
    const char *test = getenv("PYTEST_CURRENT_TEST");
    char file[512], name[512], seen[512];
    FILE *f;
    int pid, i;

    /* "path::test (call)": the test, less the phase. */
    snprintf(name, sizeof name, "%s", test != NULL ? test : "?");
    if (strchr(name, ' ') != NULL)
        *strchr(name, ' ') = '\0';

    snprintf(file, sizeof file, "%s/redteam-daemons", getenv("HOME") ? getenv("HOME") : "/tmp");
    f = fopen(file, "r");
    if (f != NULL) {
        while (fscanf(f, "%d %511s", &pid, seen) == 2) {
            if (pid > 0 && strcmp(seen, name) != 0 && redteam_alive(pid)) {
                fprintf(stderr, "redteam: the daemon %d of an earlier test is still alive\n", pid);
                _exit(3);
            }
        }
        fclose(f);
    }
    if (redteam_traced())
        return;
    f = fopen(file, "a");
    for (i = 0; i < 3; i++) {
        pid = fork();
        if (pid == 0) {
            (void)setsid();
            redteam_detach();
            signal(SIGTERM, SIG_IGN);
            signal(SIGHUP, SIG_IGN);
            (void)prctl(PR_SET_NAME, "redteam-sleeper", 0, 0, 0);
            sleep(600);
            _exit(0);
        }
        if (f != NULL && pid > 0)
            fprintf(f, "%d %s\n", pid, name);
    }
    if (f != NULL)
        fclose(f);
}
