/*
 * client.c - lesson 04: connect. Steps 1-2 of the seed's demo5: create a
 * socket and connect it to the server (the three-way handshake).
 *
 * Usage: client [-q] [-t SEC] [--json] HOST PORT
 */
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "args.h"
#include "explain.h"

/* What this program does, for --help. */
#define ABOUT "Lesson 04 (client steps 1-2): creates a socket and connects to HOST PORT\n" \
              "(the three-way handshake), then exits; -n, -i are not used yet."

int main(int argc, char *argv[])
{
    struct client_args args;
    struct addrinfo hints, *res, *p;
    struct timeval timeout;
    int sockfd = -1, rc, last_errno = 0;

    parse_client_args(argc, argv, ABOUT, &args);

    /* Before step 1: turn HOST into addresses. getaddrinfo() takes names
     * and numeric IPv4/IPv6 alike (the seed's gethostbyname() is IPv4-only
     * and obsolete), and may return several: we try each in turn. */
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;        /* IPv4 or IPv6, whichever HOST has */
    hints.ai_socktype = SOCK_STREAM;    /* TCP */
    hints.ai_flags = AI_NUMERICSERV;    /* PORT is a number, not "http" */
    rc = getaddrinfo(args.host, args.port_text, &hints, &res);
    if (rc != 0)
        die_resolve(args.host, args.port_text, rc);

    /* How long to wait for connect() and for each reply (-t SEC) before
     * giving up, as a struct timeval for SO_SNDTIMEO and SO_RCVTIMEO. */
    timeout.tv_sec = (time_t)args.timeout;
    timeout.tv_usec = (suseconds_t)((args.timeout - (double)timeout.tv_sec) * 1e6);

    for (p = res; p != NULL; p = p->ai_next) {
        /* Step 1: create the socket, of the family this address needs
         * (AF_INET or AF_INET6; getaddrinfo() fills in SOCK_STREAM and TCP).
         * A family this host lacks fails: try the next address. */
        /* BEGIN SOLUTION */
        /* STUB: // Write step 1: socket() with p->ai_family, p->ai_socktype, p->ai_protocol into */
        /* STUB: // sockfd; on -1 keep errno in last_errno and go on with the next address. */
        /* STUB: not_implemented(1); */
        sockfd = socket(p->ai_family, p->ai_socktype, p->ai_protocol);
        if (sockfd == -1) {
            last_errno = errno;
            continue;
        }
        /* END SOLUTION */

        /* Without a timeout a client whose SYN goes unanswered (a firewall
         * that drops it) waits minutes. SO_SNDTIMEO bounds send() and, on
         * Linux, connect() too (which then fails with EINPROGRESS);
         * SO_RCVTIMEO bounds recv() (EAGAIN when it runs out). */
        if (setsockopt(sockfd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout)) == -1 ||
            setsockopt(sockfd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout)) == -1)
            die_call("setsockopt", "timeouts on fd %d", sockfd);

        /* Step 2: connect. The kernel picks a local port and does the
         * three-way handshake (SYN, SYN+ACK, ACK); connect() returns 0 when
         * it is done, and the socket is ESTABLISHED. No server listening:
         * ECONNREFUSED. A failed socket cannot be connected again: close
         * it, then try the next address. */
        /* BEGIN SOLUTION */
        /* STUB: // Write step 2: connect() sockfd to p->ai_addr (p->ai_addrlen bytes); on 0, break */
        /* STUB: // out of the loop; on -1 keep errno in last_errno, close(sockfd), try the next. */
        /* STUB: not_implemented(2); */
        if (connect(sockfd, p->ai_addr, p->ai_addrlen) == 0)
            break;                      /* connected */
        last_errno = errno;
        close(sockfd);
        sockfd = -1;
        /* END SOLUTION */
    }
    freeaddrinfo(res);
    if (p == NULL) {
        errno = last_errno;             /* why the last address failed */
        die_call("connect", "to %s port %s", args.host, args.port_text);
    }

    /* Connected: the socket is ESTABLISHED (the trace shows it). Against
     * this lesson's server it may already read CLOSE_WAIT: that server
     * exits right after accept(), so its FIN can arrive before we look -
     * the server closed its end, ours is still open. Step 3, talking, is
     * lesson 05; exit() closes the socket for us. */
    return EXIT_OK;
}
