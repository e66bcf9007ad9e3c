/*
 * 06-close-server.c - a correct lesson 06 server in another style than
 * the kit's: its own sigaction() handler and flag instead of the kit's
 * stop helpers, a switch on recv()'s result, perror() and fprintf(), and
 * the address printed with getnameinfo().
 *
 * Usage: server [-q] [-k|--keep-listening] [--bind ADDR] [--json] PORT
 */
#include <errno.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "args.h"

static volatile sig_atomic_t stopping;

static void on_stop(int sig)
{
    (void)sig;
    stopping = 1;
}

/* Serve one client: 0 when it hung up (or we are stopping), -1 on error. */
static int serve(int cfd)
{
    char buf[1024];
    ssize_t n;

    for (;;) {
        n = recv(cfd, buf, sizeof buf - 1, 0);
        switch (n) {
        case 0:
            return 0;
        case -1:
            if (stopping)
                return 0;
            if (errno == EINTR)
                continue;
            fprintf(stderr, "server: reading from fd %d: %s\n", cfd, strerror(errno));
            return -1;
        default:
            buf[n] = '\0';
            printf("received: %s\n", buf);
            fflush(stdout);
        }
        const char *ok = "ok";
        size_t left = 2;
        while (left > 0) {
            ssize_t w = send(cfd, ok, left, MSG_NOSIGNAL);
            if (w < 0) {
                if (stopping)
                    return 0;
                if (errno == EINTR)
                    continue;
                fprintf(stderr, "server: answering fd %d: %s\n", cfd, strerror(errno));
                return -1;
            }
            ok += w;
            left -= (size_t)w;
        }
        printf("sent: ok\n");
        fflush(stdout);
    }
}

static int open_listener(const char *addr, const char *port)
{
    struct addrinfo hints = {.ai_flags = AI_PASSIVE | AI_NUMERICHOST, .ai_socktype = SOCK_STREAM};
    struct addrinfo *res, *ai;
    int fd = -1, on = 1, rc;

    if ((rc = getaddrinfo(addr, port, &hints, &res)) != 0) {
        fprintf(stderr, "server: %s port %s: %s\n", addr, port, gai_strerror(rc));
        exit(2);
    }
    for (ai = res; ai != NULL; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
        if (fd == -1)
            continue;
        if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) == 0 &&
            bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, 5) == 0)
            break;
        perror("bind");
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd == -1)
        exit(1);
    return fd;
}

int main(int argc, char **argv)
{
    struct server_args opts;
    struct sigaction sa;
    struct sockaddr_storage ss;
    socklen_t sslen = sizeof ss;
    char host[NI_MAXHOST], serv[NI_MAXSERV];
    int lfd, cfd, failed = 0;

    parse_server_args(argc, argv, "Lesson 06 in another style: serve, then close.", SERVER_CAN_KEEP, &opts);
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop;            /* no SA_RESTART: blocking calls return EINTR */
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    lfd = open_listener(opts.bind_addr, opts.port_text);
    if (getsockname(lfd, (struct sockaddr *)&ss, &sslen) == -1 ||
        getnameinfo((struct sockaddr *)&ss, sslen, host, sizeof host, serv, sizeof serv,
                    NI_NUMERICHOST | NI_NUMERICSERV) != 0) {
        perror("getsockname");
        return 1;
    }
    printf(ss.ss_family == AF_INET6 ? "listening on [%s]:%s\n" : "listening on %s:%s\n", host, serv);
    fflush(stdout);

    while (!stopping) {
        cfd = accept(lfd, NULL, NULL);
        if (cfd == -1) {
            if (errno == EINTR)
                continue;
            perror("accept");
            failed = 1;
            if (opts.keep)
                continue;
            break;
        }
        failed = serve(cfd) != 0;
        if (close(cfd) == -1)
            perror("close");
        if (!opts.keep)
            break;
    }
    if (close(lfd) == -1)
        perror("close");
    return opts.keep ? 0 : failed;
}
