/*
 * fork_exec.c - the parent listens; a forked child execs this program
 * again ("child PORT"), which connects and sends; the parent replies.
 * Both processes are traced, the exec'd one too (LD_PRELOAD is inherited).
 */
#include "common.h"

#include <sys/wait.h>

int main(int argc, char **argv)
{
    unsigned short port;
    char buf[16], arg[16];
    int l, s, status;
    pid_t pid;

    if (argc == 3 && strcmp(argv[1], "child") == 0) {
        int c = connect_to((unsigned short)atoi(argv[2]));

        send_all(c, "from the child", 14);
        return recv_all(c, buf, 2) == 2 && memcmp(buf, "ok", 2) == 0 ? 0 : 1;
    }
    l = listener(&port);
    fflush(stdout);
    pid = fork();
    if (pid == 0) {
        snprintf(arg, sizeof(arg), "%u", port);
        execl("/proc/self/exe", argv[0], "child", arg, (char *)NULL);
        _exit(127);
    }
    s = accept(l, NULL, NULL);
    printf("the parent received %zu bytes\n", recv_all(s, buf, 14));
    send_all(s, "ok", 2);
    waitpid(pid, &status, 0);
    printf("the child exited %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    return 0;
}
