/*
 * 04-accept-client.c - a correct lesson 04 client in another style than
 * the kit's: getaddrinfo() with a while loop over the answers,
 * gai_strerror() and strerror() in its own messages.
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

int main(int argc, char **argv)
{
    struct client_args opts;
    struct addrinfo want = {.ai_socktype = SOCK_STREAM}, *list, *ai;
    struct timeval tv;
    int fd = -1, err, why = 0;

    parse_client_args(argc, argv, "Lesson 04 in another style: connect to HOST PORT.", &opts);
    err = getaddrinfo(opts.host, opts.port_text, &want, &list);
    if (err) {
        fprintf(stderr, "client: %s: %s\n", opts.host, gai_strerror(err));
        return 1;
    }
    tv.tv_sec = (time_t)opts.timeout;
    tv.tv_usec = (suseconds_t)((opts.timeout - (double)tv.tv_sec) * 1000000);
    ai = list;
    while (ai) {
        fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
        if (fd >= 0) {
            setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
            if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
                break;
            why = errno;
            close(fd);
            fd = -1;
        } else {
            why = errno;
        }
        ai = ai->ai_next;
    }
    freeaddrinfo(list);
    if (fd < 0) {
        fprintf(stderr, "client: could not connect to %s port %s: %s\n", opts.host, opts.port_text,
                strerror(why));
        return 1;
    }
    fprintf(stderr, "client: connected (fd %d)\n", fd);
    return 0;
}
