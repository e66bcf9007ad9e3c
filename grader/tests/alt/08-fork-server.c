/*
 * 08-fork-server.c - a correct lesson 08 server in another style than the
 * kit's: SIGCHLD ignored (SIG_IGN), so the kernel reaps the children and
 * no handler calls waitpid(); Ctrl-C and SIGTERM end the parent in their
 * handler (_exit(), nothing to tidy) and a child by their default action
 * (the kernel closes its socket); recv() with MSG_WAITALL inside a loop;
 * a frame's length built from its 4 bytes by hand.
 *
 * Usage: server [-q] [-k] [--bind ADDR] [--json] PORT
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

#define MAX_MESSAGE 65536

/* The parent's whole shutdown: the kernel closes the listening socket.
 * (A flag checked before accept() would miss a signal that comes just
 * before the call; _exit() in the handler cannot.) */
static void on_signal(int sig)
{
    (void)sig;
    _exit(0);
}

/* Fill buf with n bytes: n, fewer at end of stream, -1 on error. */
static long fill(int fd, char *buf, long n)
{
    long have = 0;

    while (have < n) {
        ssize_t r = recv(fd, buf + have, (size_t)(n - have), MSG_WAITALL);
        if (r == 0)
            break;
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        have += r;
    }
    return have;
}

static int send_reply(int fd)
{
    const char *p = "\0\0\0\2ok";
    long left = 6;

    while (left > 0) {
        ssize_t w = send(fd, p, (size_t)left, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += w;
        left -= w;
    }
    return 0;
}

/* The child's whole life: frames in, framed oks out, until the client goes. */
static int child(int fd)
{
    static char body[MAX_MESSAGE];
    unsigned char h[4];
    long got, size;

    for (;;) {
        got = fill(fd, (char *)h, 4);
        if (got == 0)
            return 0;
        if (got < 0) {
            perror("recv");
            return 1;
        }
        if (got < 4) {
            fprintf(stderr, "[pid %d] client left after %ld of 4 header bytes\n", (int)getpid(), got);
            return 1;
        }
        size = (long)h[0] << 24 | (long)h[1] << 16 | (long)h[2] << 8 | (long)h[3];
        if (size > MAX_MESSAGE) {
            fprintf(stderr, "[pid %d] frame length %ld is over %d, hanging up\n", (int)getpid(), size,
                    MAX_MESSAGE);
            return 1;
        }
        got = fill(fd, body, size);
        if (got < size) {
            fprintf(stderr, "[pid %d] client left after %ld of %ld body bytes\n", (int)getpid(), got, size);
            return 1;
        }
        printf("received: %.*s\nsent: ok\n", (int)size, body);
        fflush(stdout);
        if (send_reply(fd) < 0) {
            perror("send");
            return 1;
        }
    }
}

int main(int argc, char **argv)
{
    struct server_args opts;
    struct addrinfo hints = {.ai_flags = AI_PASSIVE, .ai_socktype = SOCK_STREAM}, *ai;
    struct sockaddr_storage me;
    socklen_t melen = sizeof me;
    struct sigaction sa = {.sa_handler = on_signal};
    char host[64], port[16];
    int lfd, cfd, yes = 1;

    parse_server_args(argc, argv, "Lesson 08 in another style: a child per client.", SERVER_CAN_KEEP, &opts);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGCHLD, SIG_IGN);           /* children reaped by the kernel */

    if (getaddrinfo(opts.bind_addr, opts.port_text, &hints, &ai) != 0) {
        fprintf(stderr, "server: bad address %s\n", opts.bind_addr);
        return 2;
    }
    lfd = socket(ai->ai_family, SOCK_STREAM, 0);
    if (lfd < 0) {
        perror("socket");
        return 1;
    }
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    if (bind(lfd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(lfd, 128) < 0) {
        perror("bind/listen");
        return 1;
    }
    freeaddrinfo(ai);
    getsockname(lfd, (struct sockaddr *)&me, &melen);
    getnameinfo((struct sockaddr *)&me, melen, host, sizeof host, port, sizeof port,
                NI_NUMERICHOST | NI_NUMERICSERV);
    printf(me.ss_family == AF_INET6 ? "listening on [%s]:%s\n" : "listening on %s:%s\n", host, port);
    fflush(stdout);

    for (;;) {
        cfd = accept(lfd, NULL, NULL);
        if (cfd < 0) {
            if (errno != EINTR)
                perror("accept");
            continue;
        }
        switch (fork()) {
        case -1:
            perror("fork");
            break;
        case 0:
            signal(SIGINT, SIG_DFL);
            signal(SIGTERM, SIG_DFL);
            close(lfd);
            exit(child(cfd));           /* exit() closes cfd: our FIN */
        default:
            break;
        }
        close(cfd);
    }
}
