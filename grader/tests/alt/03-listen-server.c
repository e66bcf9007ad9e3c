/*
 * 03-listen-server.c - a correct lesson 03 server in another style than
 * the kit's: select() instead of poll() to see a client queued, a backlog
 * of SOMAXCONN, perror() for errors.
 *
 * Usage: server [-q] [--bind ADDR] [--json] PORT
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <sys/socket.h>

#include "args.h"

int main(int argc, char **argv)
{
    struct server_args opts;
    struct sockaddr_in addr = {0};
    socklen_t len = sizeof addr;
    fd_set ready;
    int lfd, one = 1, n;

    parse_server_args(argc, argv, "Lesson 03 in another style: listen, see a client queue up.", 0, &opts);
    addr.sin_family = AF_INET;
    addr.sin_port = htons(opts.port);
    if (inet_pton(AF_INET, opts.bind_addr, &addr.sin_addr) != 1) {
        fprintf(stderr, "server: --bind %s: an IPv4 address is needed here\n", opts.bind_addr);
        return 2;
    }
    if ((lfd = socket(AF_INET, SOCK_STREAM, 0)) < 0) {
        perror("socket");
        return 1;
    }
    if (setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
        bind(lfd, (struct sockaddr *)&addr, sizeof addr) < 0 ||
        getsockname(lfd, (struct sockaddr *)&addr, &len) < 0) {
        perror("bind");
        return 1;
    }
    if (listen(lfd, SOMAXCONN) < 0) {
        perror("listen");
        return 1;
    }
    printf("listening on %s:%d\n", inet_ntoa(addr.sin_addr), ntohs(addr.sin_port));
    fflush(stdout);

    /* The kernel finishes a client's handshake on its own; select() says
     * when one sits in the queue, and we leave without accepting it. */
    do {
        FD_ZERO(&ready);
        FD_SET(lfd, &ready);
        n = select(lfd + 1, &ready, NULL, NULL, NULL);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
        perror("select");
        return 1;
    }
    fprintf(stderr, "a client is waiting in the accept queue\n");
    return 0;
}
