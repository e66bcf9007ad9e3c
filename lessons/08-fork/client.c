/*
 * client.c - lesson 08: lesson 07's framed client, unchanged: lesson 08 is
 * about the server. Run many of these at once against lesson 08's server.
 * Each message goes out as a 4-byte length (network byte order) and then
 * its bytes; each reply comes back framed the same way.
 *
 * Usage: client [-q] [-n N] [-i SEC] [-t SEC] [--json] HOST PORT
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "args.h"
#include "explain.h"
#include "sockio.h"

/* What this program does, for --help. */
#define ABOUT "Lesson 08: lesson 07's framed client: sends N framed messages and waits\n" \
              "for the framed \"ok\" after each."

/* The seed's buffer size and message: "This is super girl no. %d, id %03d." */
#define BUF_SIZE 1024
#define MESSAGE_FORMAT "这是第%ld个超级女生，编号%03ld。"
/* The length prefix: a uint32_t in network byte order (big-endian). */
#define HEADER_LEN 4
/* The server answers each message with a framed "ok". */
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
}

/*
 * Receive exactly len bytes: one recv() may return part of a frame.
 * Returns len, or fewer when the peer closed first, or -1 with errno set
 * (EAGAIN when the -t timeout ran out).
 */
static ssize_t recvall(int fd, char *buf, size_t len)
{
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
}

int main(int argc, char *argv[])
{
    struct client_args args;
    struct addrinfo hints, *res, *p;
    struct timeval tv;
    char frame[HEADER_LEN + BUF_SIZE], reply[HEADER_LEN + REPLY_LEN];
    uint32_t len;
    int sockfd = -1, rc, last_errno = 0;

    parse_client_args(argc, argv, ABOUT, &args);
    ignore_sigpipe();               /* a vanished server must not kill us */

    /* Before step 1: turn HOST into addresses (IPv4 or IPv6, names too). */
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    rc = getaddrinfo(args.host, args.port_text, &hints, &res);
    if (rc != 0)
        die_resolve(args.host, args.port_text, rc);

    /* Give up on connect() and on each reply after -t seconds. */
    tv.tv_sec = (time_t)args.timeout;
    tv.tv_usec = (suseconds_t)((args.timeout - (double)tv.tv_sec) * 1e6);
    for (p = res; p != NULL; p = p->ai_next) {
        /* Step 1: create the socket, of the family this address needs. */
        sockfd = socket(p->ai_family, p->ai_socktype, p->ai_protocol);
        if (sockfd == -1) {
            last_errno = errno;
            continue;               /* this family is not available: next */
        }
        if (setsockopt(sockfd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) == -1 ||
            setsockopt(sockfd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) == -1)
            die_call("setsockopt", "timeouts on fd %d", sockfd);

        /* Step 2: connect (the three-way handshake). */
        if (connect(sockfd, p->ai_addr, p->ai_addrlen) == 0)
            break;                  /* connected */
        last_errno = errno;
        close(sockfd);              /* this address failed: try the next */
    }
    freeaddrinfo(res);
    if (p == NULL) {
        errno = last_errno;
        die_call("connect", "to %s port %s", args.host, args.port_text);
    }

    /* Step 3: talk, in frames. Each message goes out as its length and
     * its bytes in one buffer; each reply must be exactly 00 00 00 02 o k. */
    for (long i = 1; i <= args.count; i++) {
        int n = snprintf(frame + HEADER_LEN, BUF_SIZE, MESSAGE_FORMAT, i, i);

        /* htonl: the length goes out big-endian whatever this CPU is. */
        len = htonl((uint32_t)n);
        memcpy(frame, &len, HEADER_LEN);
        if (sendall(sockfd, frame, HEADER_LEN + (size_t)n) == -1)
            die_call("send", "message %ld of %ld (%ld acknowledged)", i, args.count, i - 1);
        print_data(DATA_SENT, frame + HEADER_LEN, (size_t)n);

        /* The reply may come in pieces: read the whole frame. */
        ssize_t got = recvall(sockfd, reply, sizeof(reply));
        if (got == -1)
            die_call("recv", "reply to message %ld of %ld (%ld acknowledged)", i, args.count, i - 1);
        if ((size_t)got < sizeof(reply))
            die_msg("the server closed the connection before replying to message %ld of %ld "
                    "(%ld acknowledged)", i, args.count, i - 1);
        memcpy(&len, reply, HEADER_LEN);
        print_data(DATA_RECEIVED, reply + HEADER_LEN, REPLY_LEN);
        if (ntohl(len) != REPLY_LEN || memcmp(reply + HEADER_LEN, REPLY, REPLY_LEN) != 0)
            die_msg("unexpected reply to message %ld of %ld (%ld acknowledged): expected the "
                    "frame 00 00 00 02 \"%s\"", i, args.count, i - 1, REPLY);
        fflush(stdout);             /* show the round trip before we wait */
        if (i < args.count)
            sleep_seconds(args.interval);
    }

    /* Step 4: close: our FIN; the server's read of the next header
     * returns 0, which it takes as "done" (a close between frames). */
    close(sockfd);                  /* our FIN */
    return EXIT_OK;
}
