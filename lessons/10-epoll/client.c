/*
 * client.c - lesson 10: the framed client of lesson 07, unchanged: the
 * seed's messages, each sent as a 4-byte length and the bytes, each reply
 * read whole (`\0\0\0\2ok`). Start many at once against this lesson's server.
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

/* The seed's buffer size and message: "This is super girl no. %d, id %03d." */
#define BUF_SIZE 1024
#define MESSAGE_FORMAT "这是第%ld个超级女生，编号%03ld。"
/* The frame header: the length, 4 bytes in network byte order. */
#define HEADER_LEN 4
/* The reply the server frames: length 2, then "ok". */
#define REPLY "ok"
#define REPLY_FRAME "\0\0\0\2" REPLY
#define REPLY_FRAME_LEN (HEADER_LEN + 2)

/* send() may take only part of what we give it: loop until all is sent. */
static int send_whole(int fd, const char *p, size_t len)
{
    while (len > 0) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

        if (n == -1 && errno == EINTR)
            continue;
        if (n == -1)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* recv() returns what has arrived, maybe less than asked: loop until we
 * have `want` bytes. Returns the count, less than `want` if the peer closed. */
static ssize_t recv_whole(int fd, char *p, size_t want)
{
    size_t got = 0;

    while (got < want) {
        ssize_t n = recv(fd, p + got, want - got, 0);

        if (n == -1 && errno == EINTR)
            continue;
        if (n == -1)
            return -1;
        if (n == 0)
            break;
        got += (size_t)n;
    }
    return (ssize_t)got;
}

/* Give up on connect() and on each reply after `seconds`. */
static int set_wait_limit(int fd, double seconds)
{
    struct timeval tv = {.tv_sec = (time_t)seconds,
                         .tv_usec = (suseconds_t)((seconds - (double)(time_t)seconds) * 1e6)};

    if (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) == -1)
        return -1;
    return setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
}

int main(int argc, char *argv[])
{
    struct client_args args;
    struct addrinfo hints, *res, *p;
    char frame[HEADER_LEN + BUF_SIZE], reply[REPLY_FRAME_LEN];
    int sockfd = -1, rc, last_errno = 0;

    parse_client_args(argc, argv, &args);
    ignore_sigpipe();               /* a vanished server must not kill us */

    /* HOST to addresses (IPv4 or IPv6); try each in turn. */
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    rc = getaddrinfo(args.host, args.port_text, &hints, &res);
    if (rc != 0)
        die_resolve(args.host, args.port_text, rc);
    for (p = res; p != NULL; p = p->ai_next) {
        /* Step 1: the socket. */
        sockfd = socket(p->ai_family, p->ai_socktype, p->ai_protocol);
        if (sockfd == -1) {
            last_errno = errno;
            continue;
        }
        if (set_wait_limit(sockfd, args.timeout) == -1)
            die_call("setsockopt", "timeouts on fd %d", sockfd);
        /* Step 2: connect. */
        if (connect(sockfd, p->ai_addr, p->ai_addrlen) == 0)
            break;
        last_errno = errno;
        close(sockfd);
    }
    freeaddrinfo(res);
    if (p == NULL) {
        errno = last_errno;
        die_call("connect", "to %s port %s", args.host, args.port_text);
    }

    /* Step 3: each message as a frame, each reply read whole and checked. */
    for (long i = 1; i <= args.count; i++) {
        int len = snprintf(frame + HEADER_LEN, BUF_SIZE, MESSAGE_FORMAT, i, i);
        uint32_t netlen = htonl((uint32_t)len);     /* network byte order */

        memcpy(frame, &netlen, HEADER_LEN);
        if (send_whole(sockfd, frame, HEADER_LEN + (size_t)len) == -1)
            die_call("send", "message %ld of %ld (%ld acknowledged)", i, args.count, i - 1);
        print_data(DATA_SENT, frame + HEADER_LEN, (size_t)len);

        ssize_t got = recv_whole(sockfd, reply, REPLY_FRAME_LEN);
        if (got == -1)
            die_call("recv", "reply to message %ld of %ld (%ld acknowledged)", i, args.count, i - 1);
        if (got < REPLY_FRAME_LEN)
            die_msg("the server closed the connection before replying to message %ld of %ld "
                    "(%ld acknowledged)", i, args.count, i - 1);
        if (memcmp(reply, REPLY_FRAME, REPLY_FRAME_LEN) != 0)
            die_msg("unexpected reply to message %ld of %ld (%ld acknowledged): expected the "
                    "frame \\0\\0\\0\\2ok", i, args.count, i - 1);
        print_data(DATA_RECEIVED, reply + HEADER_LEN, REPLY_FRAME_LEN - HEADER_LEN);
        if (i < args.count)
            sleep_seconds(args.interval);
    }

    /* Step 4: close; the server's poll() sees the socket readable and its
     * recv() returns 0. */
    close(sockfd);
    return EXIT_OK;
}
