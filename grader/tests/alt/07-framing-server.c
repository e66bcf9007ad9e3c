/*
 * 07-framing-server.c - a correct lesson 07 server in another style than
 * the kit's: read()/write() with a readn()/writen() pair, the header
 * decoded byte by byte (no ntohl), the body in a malloc()ed buffer, its
 * own signal flag and messages.
 *
 * Usage: server [-q] [-k|--keep-listening] [--bind ADDR] [--json] PORT
 */
#include <errno.h>
#include <netdb.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "args.h"

#define LIMIT 65536                 /* longest message we take */

static volatile sig_atomic_t quit;

static void handle(int sig)
{
    quit = sig;
}

/* Read up to n bytes; fewer only at end of stream. -1: error (or quit). */
static ssize_t readn(int fd, unsigned char *p, size_t n)
{
    size_t got = 0;

    while (got < n) {
        ssize_t r = read(fd, p + got, n - got);
        if (r > 0) {
            got += (size_t)r;
        } else if (r == 0) {
            break;
        } else if (errno != EINTR || quit) {
            return -1;
        }
    }
    return (ssize_t)got;
}

static int writen(int fd, const unsigned char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR && !quit)
            continue;
        if (w < 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* One client, frame after frame: 0 when it closed between frames. */
static int converse(int fd)
{
    static const unsigned char answer[] = {0, 0, 0, 2, 'o', 'k'};
    unsigned char head[4], *body;
    uint32_t size;
    ssize_t n;

    for (;;) {
        n = readn(fd, head, 4);
        if (n == 0)
            return 0;
        if (n < 0) {
            if (quit)
                return 0;
            fprintf(stderr, "server: fd %d: read: %s\n", fd, strerror(errno));
            return -1;
        }
        if (n < 4) {
            fprintf(stderr, "server: fd %d hung up after %zd byte(s) of a 4-byte length\n", fd, n);
            return -1;
        }
        size = (uint32_t)head[0] << 24 | (uint32_t)head[1] << 16 | (uint32_t)head[2] << 8 | head[3];
        if (size > LIMIT) {
            fprintf(stderr, "server: fd %d announced %lu bytes (limit %d): dropping it\n", fd,
                    (unsigned long)size, LIMIT);
            return -1;
        }
        body = malloc(size + 1);
        if (body == NULL) {
            fprintf(stderr, "server: no memory for %lu bytes\n", (unsigned long)size);
            return -1;
        }
        n = readn(fd, body, size);
        if (n < (ssize_t)size) {
            if (n >= 0)
                fprintf(stderr, "server: fd %d hung up after %zd of a %lu-byte message\n", fd, n,
                        (unsigned long)size);
            else if (!quit)
                fprintf(stderr, "server: fd %d: read: %s\n", fd, strerror(errno));
            free(body);
            return n < 0 && quit ? 0 : -1;
        }
        fputs("received: ", stdout);
        fwrite(body, 1, size, stdout);
        fputc('\n', stdout);
        free(body);
        if (writen(fd, answer, sizeof answer) < 0) {
            if (quit)
                return 0;
            fprintf(stderr, "server: fd %d: write: %s\n", fd, strerror(errno));
            return -1;
        }
        puts("sent: ok");
        fflush(stdout);
    }
}

int main(int argc, char **argv)
{
    struct server_args opts;
    struct addrinfo hints = {.ai_flags = AI_PASSIVE, .ai_socktype = SOCK_STREAM}, *res;
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    struct sigaction sa = {.sa_handler = handle};
    char host[NI_MAXHOST], port[NI_MAXSERV];
    int lfd, cfd, on = 1, rc, status = 0;

    parse_server_args(argc, argv, "Lesson 07 in another style: a framed server.", SERVER_CAN_KEEP, &opts);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    if ((rc = getaddrinfo(opts.bind_addr, opts.port_text, &hints, &res)) != 0) {
        fprintf(stderr, "server: %s: %s\n", opts.bind_addr, gai_strerror(rc));
        return 2;
    }
    lfd = socket(res->ai_family, res->ai_socktype, res->ai_protocol);
    if (lfd < 0 || setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) < 0 ||
        bind(lfd, res->ai_addr, res->ai_addrlen) < 0 || listen(lfd, 16) < 0 ||
        getsockname(lfd, (struct sockaddr *)&ss, &len) < 0) {
        perror("server: setting up the listening socket");
        return 1;
    }
    freeaddrinfo(res);
    getnameinfo((struct sockaddr *)&ss, len, host, sizeof host, port, sizeof port, NI_NUMERICHOST | NI_NUMERICSERV);
    printf(strchr(host, ':') ? "listening on [%s]:%s\n" : "listening on %s:%s\n", host, port);
    fflush(stdout);

    do {
        cfd = accept(lfd, NULL, NULL);
        if (cfd < 0) {
            if (errno == EINTR)
                continue;
            perror("server: accept");
            status = 1;
            continue;
        }
        status = converse(cfd) < 0;
        close(cfd);
    } while (opts.keep && !quit);
    close(lfd);
    return opts.keep ? 0 : status;
}
