/*
 * 09-poll-server.c - a correct lesson 09 server in another style than the
 * kit's: sockets made non-blocking at birth (SOCK_NONBLOCK, accept4()),
 * a table whose free slots hold fd -1 (poll() skips them) instead of a
 * packed array, ppoll() with SIGINT/SIGTERM blocked outside it (no race
 * with the stop flag), and a paused listener stored as ~fd.
 *
 * Usage: server [-q] [-k] [--bind ADDR] [--json] PORT
 */
#define _GNU_SOURCE                 /* accept4(), ppoll() */
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "args.h"

#define FRAME_MAX 65536
#define BACKLOG_MAX (256 * 1024)    /* replies owed to one client before we stop reading it */

struct peer {
    unsigned char *in, *out;
    size_t in_len, in_cap, out_len, out_cap, out_sent;
};

static struct pollfd *pfd;          /* pfd[0]: the listener */
static struct peer *peers;
static size_t slots;
static volatile sig_atomic_t stopped;

static void stop_handler(int sig)
{
    (void)sig;
    stopped = 1;
}

static int grow(unsigned char **buf, size_t *cap, size_t need)
{
    size_t cap2 = *cap ? *cap : 4096;
    unsigned char *p;

    while (cap2 < need)
        cap2 *= 2;
    if (cap2 == *cap)
        return 0;
    if ((p = realloc(*buf, cap2)) == NULL)
        return -1;
    *buf = p;
    *cap = cap2;
    return 0;
}

static void hang_up(size_t i)
{
    close(pfd[i].fd);
    free(peers[i].in);
    free(peers[i].out);
    memset(&peers[i], 0, sizeof peers[i]);
    pfd[i].fd = -1;
    if (pfd[0].fd < 0)
        pfd[0].fd = ~pfd[0].fd;     /* an fd is free again: listen again */
}

static void take_clients(void)
{
    for (;;) {
        int fd = accept4(pfd[0].fd, NULL, NULL, SOCK_NONBLOCK);
        size_t i;

        if (fd < 0) {
            if (errno == EMFILE || errno == ENFILE) {
                fprintf(stderr, "server: out of file descriptors; new clients wait\n");
                pfd[0].fd = ~pfd[0].fd;
            } else if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED) {
                perror("accept4");
            }
            return;
        }
        for (i = 1; i < slots && pfd[i].fd != -1; i++)
            ;
        if (i == slots) {
            size_t n = slots * 2;
            struct pollfd *p = realloc(pfd, n * sizeof *p);
            struct peer *q = p ? realloc(peers, n * sizeof *q) : NULL;
            if (p)
                pfd = p;
            if (q == NULL) {
                fprintf(stderr, "server: no memory for client fd %d\n", fd);
                close(fd);
                continue;
            }
            peers = q;
            for (size_t k = slots; k < n; k++) {
                pfd[k] = (struct pollfd){.fd = -1};
                memset(&peers[k], 0, sizeof peers[k]);
            }
            slots = n;
        }
        pfd[i] = (struct pollfd){.fd = fd, .events = POLLIN};     /* revents 0: not this round */
    }
}

/* Push out what we owe; -1 when the connection is broken. */
static int flush_out(size_t i)
{
    struct peer *p = &peers[i];

    while (p->out_sent < p->out_len) {
        ssize_t n = send(pfd[i].fd, p->out + p->out_sent, p->out_len - p->out_sent, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return 0;
            fprintf(stderr, "server: sending to fd %d: %s\n", pfd[i].fd, strerror(errno));
            return -1;
        }
        p->out_sent += (size_t)n;
    }
    p->out_len = p->out_sent = 0;
    return 0;
}

/* Answer the whole frames in p->in. -1 on a broken frame. */
static int answer(size_t i)
{
    struct peer *p = &peers[i];
    size_t at = 0;

    while (p->in_len - at >= 4) {
        const unsigned char *h = p->in + at;
        unsigned long size = (unsigned long)h[0] << 24 | h[1] << 16 | h[2] << 8 | h[3];

        if (size > FRAME_MAX) {
            fprintf(stderr, "server: fd %d wants to send %lu bytes, the limit is %d: bye\n", pfd[i].fd,
                    size, FRAME_MAX);
            return -1;
        }
        if (p->in_len - at - 4 < size)
            break;
        fputs("received: ", stdout);
        fwrite(h + 4, 1, size, stdout);
        fputs("\nsent: ok\n", stdout);
        if (grow(&p->out, &p->out_cap, p->out_len + 6) < 0)
            return -1;
        memcpy(p->out + p->out_len, "\0\0\0\2ok", 6);
        p->out_len += 6;
        at += 4 + size;
    }
    memmove(p->in, p->in + at, p->in_len - at);
    p->in_len -= at;
    return 0;
}

static int take_input(size_t i)
{
    struct peer *p = &peers[i];
    ssize_t n;

    if (grow(&p->in, &p->in_cap, p->in_len + 16384) < 0)
        return -1;
    n = recv(pfd[i].fd, p->in + p->in_len, p->in_cap - p->in_len, 0);
    if (n < 0)
        return errno == EAGAIN || errno == EINTR ? 0 : (perror("recv"), -1);
    if (n == 0) {
        if (p->in_len)
            fprintf(stderr, "server: fd %d closed with %zu bytes of a frame unfinished\n", pfd[i].fd, p->in_len);
        return -1;
    }
    p->in_len += (size_t)n;
    return answer(i) < 0 ? -1 : flush_out(i);
}

int main(int argc, char **argv)
{
    struct server_args opts;
    struct addrinfo hints = {.ai_flags = AI_PASSIVE | AI_NUMERICHOST, .ai_socktype = SOCK_STREAM}, *ai;
    struct sockaddr_storage me;
    socklen_t len = sizeof me;
    struct sigaction sa = {.sa_handler = stop_handler};
    sigset_t stops, during_poll;
    char host[64], port[16];
    int lfd, on = 1;

    parse_server_args(argc, argv, "Lesson 09 in another style: many clients, one poll().", SERVER_CAN_KEEP, &opts);
    sigemptyset(&stops);
    sigaddset(&stops, SIGINT);
    sigaddset(&stops, SIGTERM);
    sigprocmask(SIG_BLOCK, &stops, &during_poll);  /* delivered only inside ppoll() */
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    if (getaddrinfo(opts.bind_addr, opts.port_text, &hints, &ai) != 0) {
        fprintf(stderr, "server: cannot use address %s\n", opts.bind_addr);
        return 2;
    }
    lfd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (lfd < 0 || setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) < 0 ||
        bind(lfd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(lfd, SOMAXCONN) < 0) {
        perror("server: listening socket");
        return 1;
    }
    freeaddrinfo(ai);
    getsockname(lfd, (struct sockaddr *)&me, &len);
    getnameinfo((struct sockaddr *)&me, len, host, sizeof host, port, sizeof port, NI_NUMERICHOST | NI_NUMERICSERV);
    printf(me.ss_family == AF_INET6 ? "listening on [%s]:%s\n" : "listening on %s:%s\n", host, port);

    slots = 16;
    pfd = malloc(slots * sizeof *pfd);
    peers = calloc(slots, sizeof *peers);
    if (pfd == NULL || peers == NULL)
        return 1;
    for (size_t i = 0; i < slots; i++)
        pfd[i] = (struct pollfd){.fd = -1};
    pfd[0] = (struct pollfd){.fd = lfd, .events = POLLIN};

    while (!stopped) {
        fflush(stdout);
        if (ppoll(pfd, slots, NULL, &during_poll) < 0) {
            if (errno == EINTR)
                continue;
            perror("ppoll");
            return 1;
        }
        if (pfd[0].fd >= 0 && (pfd[0].revents & POLLIN))
            take_clients();
        for (size_t i = 1; i < slots; i++) {
            short r = pfd[i].revents;
            int bad = 0;

            if (pfd[i].fd < 0 || r == 0)
                continue;
            if (r & POLLOUT)
                bad = flush_out(i) < 0;
            if (!bad && (r & (POLLIN | POLLHUP | POLLERR)))
                bad = take_input(i) < 0;
            if (bad || (r & POLLNVAL)) {
                hang_up(i);
                continue;
            }
            pfd[i].events = (peers[i].out_len - peers[i].out_sent < BACKLOG_MAX ? POLLIN : 0) |
                            (peers[i].out_len > peers[i].out_sent ? POLLOUT : 0);
        }
    }
    for (size_t i = 1; i < slots; i++)
        if (pfd[i].fd >= 0)
            hang_up(i);
    close(pfd[0].fd < 0 ? ~pfd[0].fd : pfd[0].fd);
    fflush(stdout);
    return 0;
}
