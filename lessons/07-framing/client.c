/*
 * client.c - lesson 07: message boundaries. Lesson 06's client, speaking a
 * framed protocol: each message goes out as a 4-byte length (network byte
 * order) and then its bytes; each reply comes back framed the same way.
 *
 * Usage: client [-q] [-n N] [-i SEC] [-t SEC] [--json] HOST PORT
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdint.h>
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
#define ABOUT "Lesson 07 (framing): sends N framed messages (a 4-byte length, then the\n" \
              "bytes) and waits for the framed \"ok\" after each."

/* The seed's buffer size and message: "This is super girl no. %d, id %03d." */
#define BUF_SIZE 1024
#define MESSAGE_FORMAT "这是第%ld个超级女生，编号%03ld。"
/* The length prefix: a uint32_t in network byte order (big-endian). */
#define HEADER_LEN 4
/* The seed's server answers each message with these two bytes. */
#define REPLY "ok"
#define REPLY_LEN 2

/*
 * Send all len bytes (Beej's sendall): send() may take fewer bytes than
 * asked (a short write) or be interrupted by a signal before it took any
 * (EINTR): both mean "call again with the rest". Returns 0, or -1 with
 * errno set.
 */
static int sendall(int fd, const char *buf, size_t len)
{
    /* BEGIN SOLUTION */
    /* STUB: // Write the send loop: send() (flag MSG_NOSIGNAL) from buf + sent until all len */
    /* STUB: // bytes are out; -1 with EINTR: call again; other -1: return -1. */
    /* STUB: (void)fd; (void)buf; (void)len; not_implemented(3); */
    size_t sent = 0;

    while (sent < len) {
        /* MSG_NOSIGNAL: a vanished peer gives EPIPE, not a fatal SIGPIPE. */
        ssize_t n = send(fd, buf + sent, len - sent, MSG_NOSIGNAL);
        if (n == -1 && errno == EINTR)
            continue;               /* interrupted before sending: again */
        if (n == -1)
            return -1;
        sent += (size_t)n;          /* a short write: send the rest */
    }
    return 0;
    /* END SOLUTION */
}

/*
 * Receive exactly len bytes: one recv() may return part of a frame.
 * Returns len, or fewer when the peer closed first, or -1 with errno set
 * (EAGAIN when the -t timeout ran out).
 */
static ssize_t recvall(int fd, char *buf, size_t len)
{
    /* BEGIN SOLUTION */
    /* STUB: // Write the read-exactly loop: recv() into buf + got until len bytes came; EINTR: */
    /* STUB: // again; other -1: return -1; 0 (the peer closed): stop and return what came (got). */
    /* STUB: (void)fd; (void)buf; (void)len; not_implemented(3); */
    size_t got = 0;

    while (got < len) {
        ssize_t n = recv(fd, buf + got, len - got, 0);
        if (n == -1 && errno == EINTR)
            continue;               /* a signal: wait again */
        if (n == -1)
            return -1;
        if (n == 0)
            break;                  /* the peer closed: return what we have */
        got += (size_t)n;           /* a short read: ask for the rest */
    }
    return (ssize_t)got;
    /* END SOLUTION */
}

int main(int argc, char *argv[])
{
    struct client_args args;
    struct addrinfo hints, *res, *p;
    struct timeval timeout;
    char frame[HEADER_LEN + BUF_SIZE], reply[HEADER_LEN + REPLY_LEN];
    uint32_t len;
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

    /* Step 3: talk, in frames. Each message goes out as its length and
     * its bytes in one buffer; each reply must be exactly 00 00 00 02 o k.
     * A failure says which message was not acknowledged. */
    /* BEGIN SOLUTION */
    /* STUB: // Write step 3, for i from 1 to args.count: snprintf() MESSAGE_FORMAT into frame + */
    /* STUB: // HEADER_LEN; htonl() its length into len and memcpy() it to frame; sendall() the frame */
    /* STUB: // (-1: die_call("send", ...)); print_data(DATA_SENT, ...); recvall() the 6-byte reply */
    /* STUB: // (-1: die_call("recv", ...); short: die_msg()); ntohl() its length must be REPLY_LEN and */
    /* STUB: // memcmp() its bytes equal REPLY (else die_msg()); print_data(DATA_RECEIVED, ...); */
    /* STUB: // sleep_seconds(args.interval) between messages. */
    /* STUB: (void)frame; (void)reply; (void)len; (void)sendall; (void)recvall; not_implemented(3); */
    for (long i = 1; i <= args.count; i++) {
        int msglen = snprintf(frame + HEADER_LEN, BUF_SIZE, MESSAGE_FORMAT, i, i);
        ssize_t n;

        /* htonl: the length goes out big-endian whatever this CPU is. */
        len = htonl((uint32_t)msglen);
        memcpy(frame, &len, HEADER_LEN);
        if (sendall(sockfd, frame, HEADER_LEN + (size_t)msglen) == -1)
            die_call("send", "message %ld of %ld (%ld acknowledged)", i, args.count, i - 1);
        print_data(DATA_SENT, frame + HEADER_LEN, (size_t)msglen);

        /* The reply may come in pieces: read the whole frame. -1 with
         * EAGAIN: no reply within -t SEC (SO_RCVTIMEO). */
        n = recvall(sockfd, reply, sizeof(reply));
        if (n == -1)
            die_call("recv", "reply to message %ld of %ld (%ld acknowledged)", i, args.count, i - 1);
        if ((size_t)n < sizeof(reply))
            die_msg("the server closed the connection before replying to message %ld of %ld "
                    "(%ld acknowledged)", i, args.count, i - 1);
        memcpy(&len, reply, HEADER_LEN);
        print_data(DATA_RECEIVED, reply + HEADER_LEN, REPLY_LEN);
        if (ntohl(len) != REPLY_LEN || memcmp(reply + HEADER_LEN, REPLY, REPLY_LEN) != 0)
            die_msg("unexpected reply to message %ld of %ld (%ld acknowledged): expected the "
                    "frame 00 00 00 02 \"%s\"", i, args.count, i - 1, REPLY);
        if (i < args.count)
            sleep_seconds(args.interval);
    }
    /* END SOLUTION */

    /* Step 4: close. The kernel sends our FIN and the server's recv()
     * returns 0. The side that closes first (here, usually, this client)
     * keeps the connection in TIME_WAIT for 60 s on Linux (see `ss -tan
     * state time-wait`), so late packets of this connection die out
     * before its address pair is used again. */
    if (close(sockfd) == -1)
        warn_call("close", "fd %d", sockfd);
    return EXIT_OK;
}
