/*
 * client.c - lesson 06: the whole client, ending with an orderly close.
 * Steps 1-4 of the seed's demo5: socket, connect, send/recv, close.
 *
 * Usage: client [-q] [-n N] [-i SEC] [-t SEC] [--json] HOST PORT
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
#include "sockio.h"

/* What this program does, for --help. */
#define ABOUT "Lesson 06 (client steps 1-4): connects, sends N messages, waits for \"ok\"\n" \
              "after each, like the seed's demo5, then closes its socket."

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
    struct timeval timeout;
    char buffer[BUF_SIZE], reply[REPLY_LEN];
    int sockfd = -1, rc, last_errno = 0;

    parse_client_args(argc, argv, ABOUT, &args);
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

    /* How long to wait for connect() and for each reply (-t SEC) before
     * giving up, as a struct timeval for SO_SNDTIMEO and SO_RCVTIMEO. */
    timeout.tv_sec = (time_t)args.timeout;
    timeout.tv_usec = (suseconds_t)((args.timeout - (double)timeout.tv_sec) * 1e6);

    for (p = res; p != NULL; p = p->ai_next) {
        /* Step 1: create the socket, of the family this address needs
         * (AF_INET or AF_INET6; getaddrinfo() fills in SOCK_STREAM and TCP).
         * A family this host lacks fails: try the next address. */
        sockfd = socket(p->ai_family, p->ai_socktype, p->ai_protocol);
        if (sockfd == -1) {
            last_errno = errno;
            continue;
        }

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
        if (connect(sockfd, p->ai_addr, p->ai_addrlen) == 0)
            break;                      /* connected */
        last_errno = errno;
        close(sockfd);
        sockfd = -1;
    }
    freeaddrinfo(res);
    if (p == NULL) {
        errno = last_errno;             /* why the last address failed */
        die_call("connect", "to %s port %s", args.host, args.port_text);
    }

    /* Step 3: talk, as the seed's demo5 does: send a message, wait for the
     * whole "ok", then the next. A failure says which message was not
     * acknowledged: none is lost silently. */
    for (long i = 1; i <= args.count; i++) {
        int len = snprintf(buffer, sizeof(buffer), MESSAGE_FORMAT, i, i);
        size_t sent = 0, got = 0;
        ssize_t n;

        /* send() may take fewer bytes than asked (a short write) and
         * returns how many it took: send the rest until all len bytes are
         * gone, as Beej's sendall() does. EINTR: a signal came before any
         * byte went: again. MSG_NOSIGNAL: a vanished server gives EPIPE,
         * not a fatal SIGPIPE. No '\0' goes on the wire: len excludes it. */
        while (sent < (size_t)len) {
            n = send(sockfd, buffer + sent, (size_t)len - sent, MSG_NOSIGNAL);
            if (n == -1 && errno == EINTR)
                continue;
            if (n == -1)
                die_call("send", "message %ld of %ld (%ld acknowledged)", i, args.count, i - 1);
            sent += (size_t)n;
        }
        print_data(DATA_SENT, buffer, (size_t)len);

        /* TCP is a byte stream, not messages: the two bytes of "ok" may
         * come in two pieces, so one recv() is not one reply. Read until
         * we have REPLY_LEN bytes. 0: the server closed first. -1 with
         * EAGAIN: no reply within -t SEC (SO_RCVTIMEO). */
        while (got < REPLY_LEN) {
            n = recv(sockfd, reply + got, REPLY_LEN - got, 0);
            if (n == -1 && errno == EINTR)
                continue;
            if (n == -1)
                die_call("recv", "reply to message %ld of %ld (%ld acknowledged)", i, args.count, i - 1);
            if (n == 0)
                die_msg("the server closed the connection before replying to message %ld of %ld "
                        "(%ld acknowledged)", i, args.count, i - 1);
            got += (size_t)n;
        }
        print_data(DATA_RECEIVED, reply, got);
        if (memcmp(reply, REPLY, REPLY_LEN) != 0)
            die_msg("unexpected reply to message %ld of %ld (%ld acknowledged): expected \"%s\"",
                    i, args.count, i - 1, REPLY);
        if (i < args.count)
            sleep_seconds(args.interval);
    }

    /* Step 4: close. The kernel sends our FIN and the server's recv()
     * returns 0. The side that closes first (here, usually, this client)
     * keeps the connection in TIME_WAIT for 60 s on Linux (see `ss -tan
     * state time-wait`), so late packets of this connection die out
     * before its address pair is used again. */
    /* BEGIN SOLUTION */
    /* STUB: // Write step 4: close() sockfd; if it returns -1, warn_call("close", "fd %d", sockfd). */
    /* STUB: not_implemented(4); */
    if (close(sockfd) == -1)
        warn_call("close", "fd %d", sockfd);
    /* END SOLUTION */
    return EXIT_OK;
}
