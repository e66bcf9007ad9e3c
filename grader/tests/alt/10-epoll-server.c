/*
 * 10-epoll-server.c - a correct lesson 10 server in another style than
 * the kit's: each client a malloc()ed struct found through epoll's
 * data.ptr (no table indexed by fd), the stop signals read from a
 * signalfd in the same epoll set, and in --edge mode every socket
 * registered once for EPOLLIN | EPOLLOUT | EPOLLET.
 *
 * Usage: server [-q] [-k] [--edge] [--bind ADDR] [--json] PORT
 */
#define _GNU_SOURCE                 /* accept4() */
#include <errno.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "args.h"

#define BIGGEST 65536               /* longest message */
#define OWED_MAX (128 * 1024)       /* replies owed before we stop reading a client */
#define WANT_FDS 10000

struct cl {
    struct cl *prev, *next;         /* every client, for the shutdown */
    int fd;
    unsigned mask;                  /* what epoll watches (level-triggered mode) */
    int paused;                     /* stopped reading: too many replies owed */
    unsigned char *in, *out;
    size_t inn, incap, outn, outcap, outdone;
};

static struct cl *everyone;
static int ep, lfd, sfd, edge, lfd_paused;
static char listener_tag, signal_tag;  /* data.ptr of the two fds that are not clients */

static int need(unsigned char **b, size_t *cap, size_t want)
{
    size_t c = *cap ? *cap : 8192;
    while (c < want)
        c *= 2;
    if (c != *cap) {
        unsigned char *p = realloc(*b, c);
        if (!p)
            return -1;
        *b = p;
        *cap = c;
    }
    return 0;
}

static void arm(struct cl *c, unsigned mask, int op)
{
    struct epoll_event ev = {.events = mask, .data.ptr = c};

    if (epoll_ctl(ep, op, c->fd, &ev) < 0)
        perror("epoll_ctl");
    c->mask = mask;
}

static void rearm_listener(void)
{
    struct epoll_event ev = {.events = EPOLLIN | (edge ? EPOLLET : 0u), .data.ptr = &listener_tag};
    epoll_ctl(ep, EPOLL_CTL_MOD, lfd, &ev);
    lfd_paused = 0;
}

static void bye(struct cl *c)
{
    if (c->prev)
        c->prev->next = c->next;
    else
        everyone = c->next;
    if (c->next)
        c->next->prev = c->prev;
    close(c->fd);                   /* also leaves the epoll set */
    free(c->in);
    free(c->out);
    free(c);
    if (lfd_paused)
        rearm_listener();
}

static int push(struct cl *c)
{
    while (c->outdone < c->outn) {
        ssize_t n = send(c->fd, c->out + c->outdone, c->outn - c->outdone, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return 0;
        if (n < 0) {
            fprintf(stderr, "server: send to fd %d: %s\n", c->fd, strerror(errno));
            return -1;
        }
        c->outdone += (size_t)n;
    }
    c->outn = c->outdone = 0;
    return 0;
}

static int frames(struct cl *c)
{
    size_t at = 0;

    while (c->inn - at >= 4) {
        unsigned char *h = c->in + at;
        size_t len = (size_t)h[0] << 24 | (size_t)h[1] << 16 | (size_t)h[2] << 8 | h[3];
        if (len > BIGGEST) {
            fprintf(stderr, "server: fd %d: message length %zu > %d, closing it\n", c->fd, len, BIGGEST);
            return -1;
        }
        if (c->inn - at - 4 < len)
            break;
        printf("received: %.*s\nsent: ok\n", (int)len, (char *)h + 4);
        if (need(&c->out, &c->outcap, c->outn + 6) < 0)
            return -1;
        memcpy(c->out + c->outn, "\0\0\0\2ok", 6);
        c->outn += 6;
        at += 4 + len;
    }
    memmove(c->in, c->in + at, c->inn - at);
    c->inn -= at;
    return 0;
}

/* Read what there is: once (level-triggered), or until EAGAIN (edge),
 * stopping early while too many replies are owed. -1: drop the client. */
static int pull(struct cl *c)
{
    do {
        if (c->outn - c->outdone >= OWED_MAX) {
            c->paused = 1;
            return 0;
        }
        if (need(&c->in, &c->incap, c->inn + 16384) < 0)
            return -1;
        ssize_t n = recv(c->fd, c->in + c->inn, c->incap - c->inn, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            c->paused = 0;
            return 0;
        }
        if (n < 0) {
            fprintf(stderr, "server: recv from fd %d: %s\n", c->fd, strerror(errno));
            return -1;
        }
        if (n == 0) {
            if (c->inn)
                fprintf(stderr, "server: fd %d left with %zu bytes of a frame\n", c->fd, c->inn);
            return -1;
        }
        c->inn += (size_t)n;
        if (frames(c) < 0 || push(c) < 0)
            return -1;
    } while (edge);
    return 0;
}

static void welcome(void)
{
    for (;;) {
        int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK);
        if (fd < 0) {
            if (errno == EMFILE || errno == ENFILE) {
                struct epoll_event none = {.data.ptr = &listener_tag};
                epoll_ctl(ep, EPOLL_CTL_MOD, lfd, &none);
                lfd_paused = 1;     /* until a client leaves */
            } else if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED) {
                perror("accept4");
            }
            return;
        }
        struct cl *c = calloc(1, sizeof *c);
        if (!c) {
            close(fd);
            continue;
        }
        c->fd = fd;
        c->next = everyone;
        if (everyone)
            everyone->prev = c;
        everyone = c;
        arm(c, edge ? EPOLLIN | EPOLLOUT | EPOLLET : EPOLLIN, EPOLL_CTL_ADD);
    }
}

static void handle(struct cl *c, unsigned ev)
{
    int dead = 0;

    if (ev & EPOLLOUT) {
        dead = push(c) < 0;
        if (!dead && c->paused && c->outn - c->outdone < OWED_MAX)
            dead = pull(c) < 0;     /* (edge) no new EPOLLIN comes for bytes already there */
    }
    if (!dead && (ev & (EPOLLIN | EPOLLHUP | EPOLLERR)) && !c->paused)
        dead = pull(c) < 0;
    if (dead) {
        bye(c);
        return;
    }
    if (!edge) {
        unsigned want = (c->outn - c->outdone < OWED_MAX ? EPOLLIN : 0) | (c->outn > c->outdone ? EPOLLOUT : 0);
        c->paused = 0;              /* level-triggered: epoll asks again */
        if (want != c->mask)
            arm(c, want, EPOLL_CTL_MOD);
    }
}

static void raise_nofile(void)
{
    struct rlimit r;

    if (getrlimit(RLIMIT_NOFILE, &r) == 0 && r.rlim_cur < r.rlim_max) {
        r.rlim_cur = r.rlim_max;
        setrlimit(RLIMIT_NOFILE, &r);
    }
    if (getrlimit(RLIMIT_NOFILE, &r) == 0 && r.rlim_cur < WANT_FDS)
        fprintf(stderr, "server: warning: only %lu file descriptors (RLIMIT_NOFILE), so fewer clients at once\n",
                (unsigned long)r.rlim_cur);
}

int main(int argc, char **argv)
{
    struct server_args opts;
    struct addrinfo hints = {.ai_flags = AI_PASSIVE | AI_NUMERICHOST, .ai_socktype = SOCK_STREAM}, *ai;
    struct sockaddr_storage me;
    socklen_t len = sizeof me;
    struct epoll_event evs[64], ev;
    sigset_t stops;
    char host[64], port[16];
    int n = 0, on = 1, running = 1;

    for (int i = 1; i < argc; i++)          /* --edge is this lesson's own flag */
        if (strcmp(argv[i], "--edge") == 0) {
            edge = 1;
            memmove(&argv[i], &argv[i + 1], (size_t)(argc - i) * sizeof *argv);
            argc--;
            break;
        }
    parse_server_args(argc, argv, "Lesson 10 in another style: epoll, --edge for edge-triggered.",
                      SERVER_CAN_KEEP, &opts);
    raise_nofile();
    sigemptyset(&stops);
    sigaddset(&stops, SIGINT);
    sigaddset(&stops, SIGTERM);
    sigprocmask(SIG_BLOCK, &stops, NULL);
    signal(SIGPIPE, SIG_IGN);
    sfd = signalfd(-1, &stops, SFD_CLOEXEC);

    if (getaddrinfo(opts.bind_addr, opts.port_text, &hints, &ai) != 0) {
        fprintf(stderr, "server: bad --bind %s\n", opts.bind_addr);
        return 2;
    }
    lfd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (lfd < 0 || setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) < 0 ||
        bind(lfd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(lfd, 4096) < 0) {
        perror("server: listen");
        return 1;
    }
    freeaddrinfo(ai);
    ep = epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0 || sfd < 0) {
        perror("server: epoll/signalfd");
        return 1;
    }
    ev = (struct epoll_event){.events = EPOLLIN | (edge ? EPOLLET : 0u), .data.ptr = &listener_tag};
    epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
    ev = (struct epoll_event){.events = EPOLLIN, .data.ptr = &signal_tag};
    epoll_ctl(ep, EPOLL_CTL_ADD, sfd, &ev);
    getsockname(lfd, (struct sockaddr *)&me, &len);
    getnameinfo((struct sockaddr *)&me, len, host, sizeof host, port, sizeof port, NI_NUMERICHOST | NI_NUMERICSERV);
    printf(me.ss_family == AF_INET6 ? "listening on [%s]:%s\n" : "listening on %s:%s\n", host, port);

    while (running) {
        fflush(stdout);
        n = epoll_wait(ep, evs, 64, -1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            perror("epoll_wait");
            return 1;
        }
        for (int i = 0; i < n; i++) {
            if (evs[i].data.ptr == &signal_tag)
                running = 0;
            else if (evs[i].data.ptr == &listener_tag)
                welcome();
            else
                handle(evs[i].data.ptr, evs[i].events);
        }
    }
    fflush(stdout);
    while (everyone)
        bye(everyone);
    close(lfd);
    close(sfd);
    close(ep);
    return 0;
}
