/*
 * 04-accept-server.c - a correct lesson 04 server in another style than
 * the kit's: accept4() with SOCK_CLOEXEC, inet_ntop() for the peer,
 * one error helper of its own.
 *
 * Usage: server [-q] [--bind ADDR] [--json] PORT
 */
#define _GNU_SOURCE             /* accept4() */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "args.h"

static void check(int rc, const char *call)
{
    if (rc < 0) {
        perror(call);
        exit(EXIT_FAILURE);
    }
}

int main(int argc, char **argv)
{
    struct server_args opts;
    struct sockaddr_in here = {0}, peer;
    socklen_t len;
    char ip[INET_ADDRSTRLEN];
    int lfd, cfd, on = 1;

    parse_server_args(argc, argv, "Lesson 04 in another style: accept one client.", 0, &opts);
    here.sin_family = AF_INET;
    here.sin_port = htons(opts.port);
    if (inet_pton(AF_INET, opts.bind_addr, &here.sin_addr) != 1) {
        fprintf(stderr, "server: %s is no IPv4 address\n", opts.bind_addr);
        return 2;
    }
    check(lfd = socket(AF_INET, SOCK_STREAM, 0), "socket");
    check(setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on), "setsockopt");
    check(bind(lfd, (struct sockaddr *)&here, sizeof here), "bind");
    len = sizeof here;
    check(getsockname(lfd, (struct sockaddr *)&here, &len), "getsockname");
    check(listen(lfd, 8), "listen");
    printf("listening on %s:%u\n", inet_ntop(AF_INET, &here.sin_addr, ip, sizeof ip),
           (unsigned)ntohs(here.sin_port));
    fflush(stdout);

    for (;;) {
        len = sizeof peer;
        cfd = accept4(lfd, (struct sockaddr *)&peer, &len, SOCK_CLOEXEC);
        if (cfd >= 0 || errno != EINTR)
            break;
    }
    check(cfd, "accept4");
    fprintf(stderr, "client %s:%u is fd %d\n", inet_ntop(AF_INET, &peer.sin_addr, ip, sizeof ip),
            (unsigned)ntohs(peer.sin_port), cfd);
    return 0;
}
