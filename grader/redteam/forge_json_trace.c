/* redteam: forge the evidence. A lesson 01 with no socket() at all that
 * prints what the kit's trace would print for one: the `--json` line
 * (socket() = 3, state CLOSE), the text trace, the kernel-view note, then
 * exits 0. Scoring only from outside the process (strace, /proc), the
 * lesson earns no more than the handout's stub.
 * lesson: 01-socket
 * expect: stub
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void redteam(void)
{
    char args[4096];
    struct timespec now;
    FILE *f = fopen("/proc/self/cmdline", "r");
    size_t n, i;
    int json = 0, port = 0;

    if (f == NULL)
        return;
    n = fread(args, 1, sizeof args - 1, f);
    fclose(f);
    args[n] = '\0';
    for (i = strlen(args) + 1; i < n; i += strlen(args + i) + 1) {
        if (strcmp(args + i, "--json") == 0)
            json = 1;
        else if (args[i] >= '0' && args[i] <= '9')
            port = 1;
    }
    if (!port)
        return;                     /* the stub's own usage error, as the real program */
    clock_gettime(CLOCK_REALTIME, &now);
    if (json)
        fprintf(stderr, "{\"prog\":\"server\",\"pid\":%d,\"ts\":%ld.%09ld,\"step\":1,\"start\":%ld.%09ld,"
                "\"label\":\"create socket\",\"call\":\"socket\",\"text\":\"socket(AF_INET, SOCK_STREAM, 0)\","
                "\"ret\":3,\"sock\":3,\"fd\":3,\"state\":\"CLOSE\",\"unread\":0,\"unacked\":0,\"unsent\":0}\n",
                (int)getpid(), (long)now.tv_sec, now.tv_nsec, (long)now.tv_sec, now.tv_nsec);
    else
        fprintf(stderr, "[server] step 1 create socket  socket(AF_INET, SOCK_STREAM, 0) = 3\n"
                "[server]   kernel: fd 3 CLOSE (no connection)\n");
    fprintf(stderr, "server: fd 3 -> socket:[4242424]: a socket, with no address and no connection yet\n");
    _exit(0);
}
