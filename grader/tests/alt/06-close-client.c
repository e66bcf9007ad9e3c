/*
 * 06-close-client.c - a correct lesson 06 client in another style than
 * the kit's: one buffer of the whole conversation state in a struct, a
 * recv() loop with MSG_WAITALL for the reply, shutdown() before close().
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

struct conv {
    int fd;
    long sent, acked;
};

static void give_up(struct conv *c, const char *what, int err)
{
    fprintf(stderr, "client: %s (message %ld, %ld acknowledged)%s%s\n", what, c->sent, c->acked,
            err ? ": " : "", err ? strerror(err) : "");
    exit(1);
}

static void send_all(struct conv *c, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = send(c->fd, p, n, MSG_NOSIGNAL);
        if (w == -1) {
            if (errno == EINTR)
                continue;
            give_up(c, "send failed", errno);
        }
        p += w;
        n -= (size_t)w;
    }
}

static void expect_ok(struct conv *c)
{
    char r[2];
    size_t have = 0;

    while (have < sizeof r) {
        ssize_t n = recv(c->fd, r + have, sizeof r - have, MSG_WAITALL);
        if (n == -1 && errno == EINTR)
            continue;
        if (n == -1)
            give_up(c, "no reply", errno);
        if (n == 0)
            give_up(c, "the server closed the connection", 0);
        have += (size_t)n;
    }
    if (r[0] != 'o' || r[1] != 'k')
        give_up(c, "the reply is not \"ok\"", 0);
    c->acked++;
    puts("received: ok");
}

int main(int argc, char **argv)
{
    struct client_args opts;
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res, *ai;
    struct timeval tv;
    struct conv c = {.fd = -1};
    char text[100];
    int rc, err = 0;

    parse_client_args(argc, argv, "Lesson 06 in another style: talk, then close.", &opts);
    if ((rc = getaddrinfo(opts.host, opts.port_text, &hints, &res)) != 0) {
        fprintf(stderr, "client: %s: %s\n", opts.host, gai_strerror(rc));
        return 1;
    }
    tv.tv_sec = (time_t)opts.timeout;
    tv.tv_usec = (suseconds_t)((opts.timeout - (double)tv.tv_sec) * 1e6);
    for (ai = res; ai != NULL && c.fd == -1; ai = ai->ai_next) {
        c.fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
        if (c.fd == -1) {
            err = errno;
            continue;
        }
        setsockopt(c.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        setsockopt(c.fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
        if (connect(c.fd, ai->ai_addr, ai->ai_addrlen) == -1) {
            err = errno;
            close(c.fd);
            c.fd = -1;
        }
    }
    freeaddrinfo(res);
    if (c.fd == -1) {
        fprintf(stderr, "client: cannot connect to %s port %s: %s\n", opts.host, opts.port_text, strerror(err));
        return 1;
    }

    while (c.sent < opts.count) {
        c.sent++;
        snprintf(text, sizeof text, "这是第%ld个超级女生，编号%03ld。", c.sent, c.sent);
        send_all(&c, text, strlen(text));
        printf("sent: %s\n", text);
        fflush(stdout);
        expect_ok(&c);
        fflush(stdout);
        if (c.sent < opts.count)
            usleep((useconds_t)(opts.interval * 1e6));
    }
    shutdown(c.fd, SHUT_WR);
    if (close(c.fd) == -1)
        perror("close");
    return 0;
}
