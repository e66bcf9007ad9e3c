/*
 * 05-send-recv-client.c - a correct lesson 05 client in another style
 * than the kit's: write()/read() instead of send()/recv() (SIGPIPE
 * ignored by hand), a writen()/readn() pair as in TLPI, nanosleep() for
 * -i, fprintf() for every message.
 *
 * Usage: client [-q] [-n N] [-i SEC] [-t SEC] [--json] HOST PORT
 */
#include <errno.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "args.h"

/* Write all n bytes, however many each write() takes. -1 on error. */
static ssize_t writen(int fd, const char *p, size_t n)
{
    size_t done = 0;

    while (done < n) {
        ssize_t w = write(fd, p + done, n - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return -1;
        done += (size_t)w;
    }
    return (ssize_t)done;
}

/* Read n bytes, or fewer when the peer closes first. -1 on error. */
static ssize_t readn(int fd, char *p, size_t n)
{
    size_t done = 0;

    while (done < n) {
        ssize_t r = read(fd, p + done, n - done);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -1;
        if (r == 0)
            break;
        done += (size_t)r;
    }
    return (ssize_t)done;
}

static int dial(const char *host, const char *port, double timeout)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res, *ai;
    struct timeval tv = {.tv_sec = (time_t)timeout};
    int fd = -1, rc, saved = 0;

    tv.tv_usec = (suseconds_t)((timeout - (double)tv.tv_sec) * 1e6);
    if ((rc = getaddrinfo(host, port, &hints, &res)) != 0) {
        fprintf(stderr, "client: cannot resolve %s: %s\n", host, gai_strerror(rc));
        exit(1);
    }
    for (ai = res; ai; ai = ai->ai_next) {
        if ((fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol)) < 0) {
            saved = errno;
            continue;
        }
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
            break;
        saved = errno;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0) {
        fprintf(stderr, "client: connect %s:%s: %s\n", host, port, strerror(saved));
        exit(1);
    }
    return fd;
}

int main(int argc, char **argv)
{
    struct client_args opts;
    char msg[128], reply[2];
    int fd;

    parse_client_args(argc, argv, "Lesson 05 in another style: send the seed's messages.", &opts);
    signal(SIGPIPE, SIG_IGN);
    fd = dial(opts.host, opts.port_text, opts.timeout);

    for (long i = 1; i <= opts.count; i++) {
        int len = snprintf(msg, sizeof msg, "这是第%ld个超级女生，编号%03ld。", i, i);
        ssize_t got;

        if (writen(fd, msg, (size_t)len) < 0) {
            fprintf(stderr, "client: message %ld: write: %s\n", i, strerror(errno));
            return 1;
        }
        printf("sent: %s\n", msg);
        fflush(stdout);
        got = readn(fd, reply, sizeof reply);
        if (got < 0) {
            fprintf(stderr, "client: waiting for the reply to message %ld: %s\n", i, strerror(errno));
            return 1;
        }
        if (got < 2) {
            fprintf(stderr, "client: the server hung up before answering message %ld\n", i);
            return 1;
        }
        if (memcmp(reply, "ok", 2) != 0) {
            fprintf(stderr, "client: message %ld was answered \"%.2s\", not \"ok\"\n", i, reply);
            return 1;
        }
        printf("received: ok\n");
        fflush(stdout);
        if (i < opts.count && opts.interval > 0) {
            struct timespec ts = {.tv_sec = (time_t)opts.interval};
            ts.tv_nsec = (long)((opts.interval - (double)ts.tv_sec) * 1e9);
            while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                ;
        }
    }
    return 0;
}
