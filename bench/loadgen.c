/*
 * loadgen.c - the load client of `make bench-load`: C connections at once,
 * each sending M framed messages (the framed protocol of lessons 07-10) and
 * waiting for each reply, all from one thread with epoll. libc only.
 *
 * Usage: loadgen [-c CONNECTIONS] [-n MESSAGES] [-t SECONDS] HOST PORT
 *
 * Two phases. Accept: every connection connects and sends its first message;
 * a connection counts once its first reply is back (the kernel finishes the
 * handshake before the server's accept(), so connect() alone would time the
 * kernel, not the server). Then, all at once, the other M-1 round trips of
 * each connection: round trips per second and their latency (p50, p99).
 * Prints one line of key=value pairs on stdout; errors also on stderr.
 * Exit 0 when every round trip succeeded, 1 otherwise, 2 on a usage error.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define HEADER_LEN 4
#define REPLY_FRAME "\0\0\0\2ok"
#define REPLY_FRAME_LEN 6
#define MESSAGE_FORMAT "这是第%ld个超级女生，编号%03ld。"
#define FRAME_MAX 128
#define MAX_EVENTS 512

enum state { CONNECTING, SENDING, WAITING, PARKED, DONE, FAILED };

struct conn {
    int fd;
    enum state state;
    long done;                      /* round trips completed */
    uint64_t t_sent;                /* when the current message went out */
    char out[FRAME_MAX];
    size_t out_len, out_off;
    char in[REPLY_FRAME_LEN];
    size_t in_got;
};

static int epfd;
static long messages = 10;
static long errors;
static uint64_t *lat;               /* round-trip times in ns, phase 2 */
static size_t nlat;
static const char *first_error;

static uint64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void fail(struct conn *c, const char *why)
{
    if (first_error == NULL)
        first_error = why;
    errors++;
    c->state = FAILED;
    close(c->fd);
    c->fd = -1;
}

static int rewatch(struct conn *c, uint32_t events)
{
    struct epoll_event ev = {.events = events, .data.ptr = c};

    return epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev);
}

/* Send what is left of c's frame; EPOLLOUT only while some is left. */
static void push(struct conn *c)
{
    while (c->out_off < c->out_len) {
        ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);

        if (n == -1 && errno == EINTR)
            continue;
        if (n == -1 && errno == EAGAIN) {
            if (c->state != SENDING && rewatch(c, EPOLLIN | EPOLLOUT) == -1)
                fail(c, "epoll_ctl");
            c->state = SENDING;
            return;
        }
        if (n == -1) {
            fail(c, "send failed");
            return;
        }
        c->out_off += (size_t)n;
    }
    if (c->state == SENDING && rewatch(c, EPOLLIN) == -1) {
        fail(c, "epoll_ctl");
        return;
    }
    c->state = WAITING;
}

static void send_next(struct conn *c)
{
    long i = c->done + 1;
    int len = snprintf(c->out + HEADER_LEN, FRAME_MAX - HEADER_LEN, MESSAGE_FORMAT, i, i);
    uint32_t netlen = htonl((uint32_t)len);

    memcpy(c->out, &netlen, HEADER_LEN);
    c->out_len = HEADER_LEN + (size_t)len;
    c->out_off = 0;
    c->in_got = 0;
    c->t_sent = now_ns();
    push(c);
}

/* A reply's bytes; a whole one ends the round trip. `phase_end` is how many
 * round trips this phase wants from each connection. */
static void pull(struct conn *c, long phase_end, int timing)
{
    for (;;) {
        ssize_t n = recv(c->fd, c->in + c->in_got, REPLY_FRAME_LEN - c->in_got, 0);

        if (n == -1 && errno == EINTR)
            continue;
        if (n == -1 && errno == EAGAIN)
            return;
        if (n == -1) {
            fail(c, "recv failed (connection reset?)");
            return;
        }
        if (n == 0) {
            fail(c, "the server closed the connection before replying");
            return;
        }
        c->in_got += (size_t)n;
        if (c->in_got < REPLY_FRAME_LEN)
            continue;
        if (memcmp(c->in, REPLY_FRAME, REPLY_FRAME_LEN) != 0) {
            fail(c, "a reply was not the frame \\0\\0\\0\\2ok");
            return;
        }
        if (timing)
            lat[nlat++] = now_ns() - c->t_sent;
        c->done++;
        if (c->done == messages)
            c->state = DONE;
        else if (c->done == phase_end)
            c->state = PARKED;
        else
            send_next(c);
        return;
    }
}

static void connected(struct conn *c)
{
    int err = 0;
    socklen_t len = sizeof(err);

    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1 || err != 0) {
        fail(c, "connect failed");
        return;
    }
    if (rewatch(c, EPOLLIN) == -1) {
        fail(c, "epoll_ctl");
        return;
    }
    c->state = WAITING;
    send_next(c);
}

/* Run the event loop until no connection is CONNECTING, SENDING or
 * WAITING, or the deadline passes (those left count as errors). */
static void run(struct conn *conns, long n, long phase_end, int timing, uint64_t deadline)
{
    struct epoll_event ev[MAX_EVENTS];
    long busy;

    for (;;) {
        busy = 0;
        for (long i = 0; i < n; i++)
            busy += conns[i].state <= WAITING;
        if (busy == 0)
            return;
        uint64_t t = now_ns();
        if (t >= deadline)
            break;
        int k = epoll_wait(epfd, ev, MAX_EVENTS, (int)((deadline - t) / 1000000 + 1));
        if (k == -1 && errno != EINTR) {
            perror("loadgen: epoll_wait");
            exit(1);
        }
        for (int j = 0; j < k; j++) {
            struct conn *c = ev[j].data.ptr;

            if (c->state == CONNECTING)
                connected(c);
            else if (c->state == SENDING && (ev[j].events & EPOLLOUT))
                push(c);
            if (c->state == WAITING && (ev[j].events & (EPOLLIN | EPOLLERR | EPOLLHUP)))
                pull(c, phase_end, timing);
        }
    }
    for (long i = 0; i < n; i++)
        if (conns[i].state <= WAITING)
            fail(&conns[i], "timed out waiting for the server");
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return (x > y) - (x < y);
}

static void usage(void)
{
    fprintf(stderr, "usage: loadgen [-c CONNECTIONS] [-n MESSAGES] [-t SECONDS] HOST PORT\n");
    exit(2);
}

int main(int argc, char *argv[])
{
    long nconn = 100, timeout = 60;
    struct sockaddr_in sa = {.sin_family = AF_INET};
    struct rlimit rl;
    struct conn *conns;
    int opt;

    while ((opt = getopt(argc, argv, "c:n:t:h")) != -1) {
        char *end = "";
        long v = optarg ? strtol(optarg, &end, 10) : 0;

        if (opt == 'h' || opt == '?' || *end != '\0' || v < 1)
            usage();
        if (opt == 'c') nconn = v;
        if (opt == 'n') messages = v;
        if (opt == 't') timeout = v;
    }
    if (argc - optind != 2 || inet_pton(AF_INET, argv[optind], &sa.sin_addr) != 1)
        usage();
    sa.sin_port = htons((unsigned short)atoi(argv[optind + 1]));

    /* One fd per connection: raise the soft limit to the hard one. */
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < (rlim_t)nconn + 16) {
        fprintf(stderr, "loadgen: %ld connections need %ld fds; RLIMIT_NOFILE is %lu (ulimit -Hn)\n",
                nconn, nconn + 16, (unsigned long)rl.rlim_cur);
        return 1;
    }
    conns = calloc((size_t)nconn, sizeof(*conns));
    lat = calloc((size_t)(nconn * messages), sizeof(*lat));
    epfd = epoll_create1(0);
    if (conns == NULL || lat == NULL || epfd == -1) {
        perror("loadgen: setup");
        return 1;
    }

    uint64_t deadline = now_ns() + (uint64_t)timeout * 1000000000u;
    uint64_t t0 = now_ns();
    for (long i = 0; i < nconn; i++) {
        struct conn *c = &conns[i];
        struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT, .data.ptr = c};
        int one = 1;

        c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
        if (c->fd == -1) {
            fail(c, "socket failed");
            continue;
        }
        setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        c->state = CONNECTING;
        if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) == -1 && errno != EINPROGRESS) {
            fail(c, "connect failed");
            continue;
        }
        if (epoll_ctl(epfd, EPOLL_CTL_ADD, c->fd, &ev) == -1)
            fail(c, "epoll_ctl");
    }
    /* Phase 1: connect and the first round trip of each. */
    run(conns, nconn, 1, messages == 1, deadline);
    uint64_t t1 = now_ns();
    long accepted = 0;
    for (long i = 0; i < nconn; i++) {
        accepted += conns[i].done >= 1;
        if (conns[i].state == PARKED)
            send_next(&conns[i]);
    }
    /* Phase 2: the other round trips, all connections at once. */
    if (messages > 1)
        run(conns, nconn, messages, 1, deadline);
    uint64_t t2 = now_ns();

    long trips = 0;
    for (long i = 0; i < nconn; i++) {
        trips += conns[i].done;
        if (conns[i].fd != -1)
            close(conns[i].fd);
    }
    qsort(lat, nlat, sizeof(*lat), cmp_u64);
    double p50 = nlat ? (double)lat[nlat / 2] / 1e3 : 0;
    double p99 = nlat ? (double)lat[(nlat * 99) / 100] / 1e3 : 0;
    double secs2 = (double)(t2 - t1) / 1e9;
    double rate = messages > 1 && secs2 > 0 ? (double)nlat / secs2
                                            : (double)nlat / ((double)(t1 - t0) / 1e9);
    printf("connections=%ld messages=%ld round_trips=%ld errors=%ld seconds=%.3f "
           "rt_per_s=%.0f p50_us=%.0f p99_us=%.0f accept_per_s=%.0f\n",
           nconn, messages, trips, errors, (double)(t2 - t0) / 1e9, rate, p50, p99,
           (double)accepted / ((double)(t1 - t0) / 1e9));
    free(conns);
    free(lat);
    close(epfd);
    if (errors)
        fprintf(stderr, "loadgen: %ld of %ld connections failed; first: %s\n", errors, nconn, first_error);
    return errors ? 1 : 0;
}
