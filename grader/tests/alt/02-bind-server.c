/*
 * 02-bind-server.c - a correct lesson 02 server in another style than the
 * kit's: inet_aton() and inet_ntoa(), strerror() in its own messages,
 * printf() for the bound address, exit codes by number.
 *
 * Usage: server [-q] [--bind ADDR] [--json] PORT
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "args.h"

static void fail(const char *what)
{
    fprintf(stderr, "server: %s failed: %s (errno %d)\n", what, strerror(errno), errno);
    exit(1);
}

int main(int argc, char **argv)
{
    struct server_args opts;
    struct sockaddr_in me;
    socklen_t melen = sizeof me;
    int fd, yes = 1;

    parse_server_args(argc, argv, "Lesson 02 in another style: bind a TCP socket.", 0, &opts);
    memset(&me, 0, sizeof me);
    me.sin_family = AF_INET;
    me.sin_port = htons(opts.port);
    if (!inet_aton(opts.bind_addr, &me.sin_addr)) {
        fprintf(stderr, "server: '%s' is not an IPv4 address\n", opts.bind_addr);
        exit(2);
    }

    fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd == -1)
        fail("socket");
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes) == -1)
        fail("setsockopt(SO_REUSEADDR)");
    if (bind(fd, (struct sockaddr *)&me, sizeof me) == -1)
        fail("bind");
    if (getsockname(fd, (struct sockaddr *)&me, &melen) == -1)
        fail("getsockname");
    printf("bound to %s:%u\n", inet_ntoa(me.sin_addr), (unsigned)ntohs(me.sin_port));
    return 0;
}
