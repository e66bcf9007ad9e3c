/* redteam: reach the network. The sandbox has loopback only: any other
 * interface with an address exits 3 (without sending anything); then a
 * non-blocking connect to 10.255.255.1 must fail with ENETUNREACH at once
 * (no route), or the program exits 3. Done in a child, and not under strace:
 * the lesson's tests count its socket calls.
 * lesson: 01-socket
 * expect: full
 */
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <net/if.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <sys/socket.h>
#include <unistd.h>

static void redteam_probe(void)
{
    struct sockaddr_in to;
    struct ifaddrs *ifs, *i;
    int fd, rc;

    if (getifaddrs(&ifs) == 0) {
        for (i = ifs; i != NULL; i = i->ifa_next) {
            if (i->ifa_addr != NULL && (i->ifa_flags & IFF_UP) && !(i->ifa_flags & IFF_LOOPBACK)
                && (i->ifa_addr->sa_family == AF_INET || i->ifa_addr->sa_family == AF_INET6)) {
                fprintf(stderr, "redteam: the sandbox has the interface %s\n", i->ifa_name);
                _exit(3);
            }
        }
        freeifaddrs(ifs);
    }
    fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (fd == -1)
        return;
    memset(&to, 0, sizeof to);
    to.sin_family = AF_INET;
    to.sin_port = htons(9);
    inet_pton(AF_INET, "10.255.255.1", &to.sin_addr);
    rc = connect(fd, (struct sockaddr *)&to, sizeof to);
    if (rc == 0 || errno != ENETUNREACH) {
        fprintf(stderr, "redteam: connect to 10.255.255.1 did not fail with ENETUNREACH (%s)\n",
                rc == 0 ? "connected" : strerror(errno));
        _exit(3);
    }
    close(fd);
}

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
    int status;
    pid_t pid;

    if (redteam_traced())
        return;
    pid = fork();
    if (pid == 0) {
        redteam_probe();
        _exit(0);
    }
    if (pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 3)
        _exit(3);
}
