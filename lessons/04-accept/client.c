/*
 * client.c - lesson 04: connect. Steps 1-2 of the seed's demo5: create a
 * socket and connect it to the server (the three-way handshake).
 *
 * Usage: client [-q] [-n N] [-i SEC] [-t SEC] [--json] HOST PORT
 */
#include <errno.h>
#include <netdb.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "addr.h"
#include "args.h"
#include "explain.h"
#include "sockio.h"
#include "trace.h"

/* What this program does, for --help. */
#define ABOUT "Lesson 04 (client steps 1-2): creates a socket and connects to HOST PORT\n" \
              "(the three-way handshake), then exits; -n, -i are not used yet."


int main(int argc, char *argv[])
{
    struct client_args args;
    struct addrinfo hints, *res, *p;
    int sockfd = -1, rc, last_errno = 0;

    parse_client_args(argc, argv, ABOUT, &args);
    trace_init(ROLE_CLIENT, args.trace);
    ignore_sigpipe();               /* a vanished server must not kill us */

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

    for (p = res; p != NULL; p = p->ai_next) {
        /* Step 1: create the socket, of the family this address needs. */
        /* BEGIN SOLUTION */
        /* STUB: (void)sockfd; not_implemented(1); */
        sockfd = socket(p->ai_family, p->ai_socktype, p->ai_protocol);
        trace_call(1, sockfd, sockfd, "socket(%s, SOCK_STREAM, %d)", family_name(p->ai_family), p->ai_protocol);
        if (sockfd == -1) {
            last_errno = errno;
            continue;               /* this family is not available: next */
        }
        /* Give up on connect() and on each reply after args.timeout. */
        if (set_timeouts(1, sockfd, args.timeout) == -1)
            die_call("setsockopt", "timeouts on fd %d", sockfd);
        /* END SOLUTION */

        /* Step 2: connect. The kernel picks a local port and does the
         * three-way handshake (SYN, SYN+ACK, ACK); connect() returns when
         * it is done. No server listening: ECONNREFUSED. */
        /* BEGIN SOLUTION */
        /* STUB: not_implemented(2); */
        rc = connect(sockfd, p->ai_addr, p->ai_addrlen);
        trace_call(2, rc, sockfd, "connect(%d, %s, %u)", sockfd, addr_str(p->ai_addr, p->ai_addrlen), (unsigned)p->ai_addrlen);
        if (rc == 0)
            break;                  /* connected */
        last_errno = errno;
        rc = close(sockfd);         /* this address failed: try the next */
        trace_call(2, rc, NO_VIEW, "close(%d)", sockfd);
        /* END SOLUTION */
    }
    freeaddrinfo(res);
    if (p == NULL) {
        errno = last_errno;
        die_call("connect", "to %s port %s", args.host, args.port_text);
    }

    /* Connected: the socket is ESTABLISHED (the trace shows it). Step 3,
     * talking, is lesson 05; exit() closes the socket for us. */
    return EXIT_OK;
}
