/*
 * 07-framing-client.c - a correct lesson 07 client in another style than
 * the kit's: the header built with shifts (no htonl), header and body
 * sent with one writev(), the reply read with read() into a struct.
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
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "args.h"

/* writev() may stop anywhere: move the vectors past what went. */
static int send_frame(int fd, const char *body, size_t len)
{
    unsigned char head[4] = {(unsigned char)(len >> 24), (unsigned char)(len >> 16),
                             (unsigned char)(len >> 8), (unsigned char)len};
    struct iovec v[2] = {{head, 4}, {(void *)body, len}};
    struct iovec *p = v;
    int cnt = 2;

    while (cnt > 0) {
        ssize_t w = writev(fd, p, cnt);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return -1;
        while (cnt > 0 && (size_t)w >= p->iov_len) {
            w -= (ssize_t)p->iov_len;
            p++;
            cnt--;
        }
        if (cnt > 0) {
            p->iov_base = (char *)p->iov_base + w;
            p->iov_len -= (size_t)w;
        }
    }
    return 0;
}

int main(int argc, char **argv)
{
    struct client_args opts;
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res, *ai;
    struct timeval tv;
    char text[128];
    int fd = -1, rc;

    parse_client_args(argc, argv, "Lesson 07 in another style: framed messages.", &opts);
    signal(SIGPIPE, SIG_IGN);
    rc = getaddrinfo(opts.host, opts.port_text, &hints, &res);
    if (rc != 0) {
        fprintf(stderr, "client: %s: %s\n", opts.host, gai_strerror(rc));
        return 1;
    }
    tv.tv_sec = (time_t)opts.timeout;
    tv.tv_usec = (suseconds_t)((opts.timeout - (double)tv.tv_sec) * 1e6);
    for (ai = res; ai; ai = ai->ai_next) {
        if ((fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol)) < 0)
            continue;
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
            break;
        perror("client: connect");
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0)
        return 1;

    for (long i = 1; i <= opts.count; i++) {
        unsigned char reply[6];
        size_t have = 0;

        snprintf(text, sizeof text, "这是第%ld个超级女生，编号%03ld。", i, i);
        if (send_frame(fd, text, strlen(text)) < 0) {
            fprintf(stderr, "client: sending message %ld: %s\n", i, strerror(errno));
            return 1;
        }
        printf("sent: %s\n", text);
        fflush(stdout);
        while (have < sizeof reply) {
            ssize_t r = read(fd, reply + have, sizeof reply - have);
            if (r < 0 && errno == EINTR)
                continue;
            if (r <= 0) {
                fprintf(stderr, "client: no reply to message %ld: %s\n", i,
                        r == 0 ? "the server closed the connection" : strerror(errno));
                return 1;
            }
            have += (size_t)r;
        }
        if (memcmp(reply, "\0\0\0\2ok", 6) != 0) {
            fprintf(stderr, "client: message %ld got a bad reply (%02x %02x %02x %02x ...)\n", i,
                    reply[0], reply[1], reply[2], reply[3]);
            return 1;
        }
        printf("received: ok\n");
        fflush(stdout);
        if (i < opts.count && opts.interval > 0) {
            struct timespec ts = {(time_t)opts.interval, (long)((opts.interval - (long)opts.interval) * 1e9)};
            nanosleep(&ts, NULL);
        }
    }
    close(fd);
    return 0;
}
