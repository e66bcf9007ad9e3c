/*
 * client.c - lesson 05: the seed's exchange. Steps 1-3 of demo5: socket,
 * connect, then send each message and wait for its "ok".
 *
 * Usage: client [-q] [-n N] [-i SEC] [-t SEC] [--json] HOST PORT
 */
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "addr.h"
#include "args.h"
#include "explain.h"
#include "sockio.h"
#include "trace.h"

/* What this program does, for --help. */
#define ABOUT "Lesson 05 (client steps 1-3): connects, sends N messages and waits for\n" \
              "\"ok\" after each, like the seed's demo5."

/* The seed's buffer size and message: "This is super girl no. %d, id %03d." */
#define BUF_SIZE 1024
#define MESSAGE_FORMAT "这是第%ld个超级女生，编号%03ld。"
/* The seed's server answers each message with these two bytes. */
#define REPLY "ok"
#define REPLY_LEN 2

int main(int argc, char *argv[])
{
    struct client_args args;
    struct addrinfo hints, *res, *p;
    char buffer[BUF_SIZE], reply[REPLY_LEN];
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

    /* Step 3: talk. Send a message, wait for the whole "ok", then the next.
     * A failure says which message was not acknowledged: none is lost
     * silently. */
    /* BEGIN SOLUTION */
    /* STUB: (void)buffer; (void)reply; not_implemented(3); */
    for (long i = 1; i <= args.count; i++) {
        int len = snprintf(buffer, sizeof(buffer), MESSAGE_FORMAT, i, i);

        /* send() may take only part of the message: send_all() loops. */
        if (send_all(3, sockfd, buffer, (size_t)len) == -1)
            die_call("send", "message %ld of %ld (%ld acknowledged)", i, args.count, i - 1);
        print_data(DATA_SENT, buffer, (size_t)len);

        /* The reply may come in pieces: read until we have all of it. */
        ssize_t got = recv_exactly(3, sockfd, reply, REPLY_LEN);
        if (got == -1)
            die_call("recv", "reply to message %ld of %ld (%ld acknowledged)", i, args.count, i - 1);
        if (got < REPLY_LEN)
            die_msg("the server closed the connection before replying to message %ld of %ld "
                    "(%ld acknowledged)", i, args.count, i - 1);
        print_data(DATA_RECEIVED, reply, (size_t)got);
        if (memcmp(reply, REPLY, REPLY_LEN) != 0)
            die_msg("unexpected reply to message %ld of %ld (%ld acknowledged): expected \"%s\"",
                    i, args.count, i - 1, REPLY);
        if (i < args.count)
            sleep_seconds(args.interval);
    }
    /* END SOLUTION */

    /* Step 4, close, is lesson 06; until then exit() closes the socket. */
    return EXIT_OK;
}
