/*
 * epoll_baseline.c - the baseline of `make bench-load`: the framed protocol
 * of lessons 07-10 with nothing else, a level-triggered epoll loop that prints
 * no data lines and keeps no more state than it must: 32 bytes per idle
 * connection, and no allocation per round trip. Lessons 09 and 10 are
 * measured against it.
 *
 * Usage: epoll_baseline [-q] PORT   (prints "listening on 127.0.0.1:PORT")
 */
#define _GNU_SOURCE                 /* accept4() */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#define HEADER_LEN 4
#define MAX_FRAME (64 * 1024)
#define IN_MAX (HEADER_LEN + MAX_FRAME)
#define REPLY_FRAME "\0\0\0\2ok"
#define REPLY_FRAME_LEN 6
#define MAX_EVENTS 256

struct conn {
    char *in;                       /* a partial frame, IN_MAX bytes; NULL when none waits */
    size_t in_len;
    char *out;                      /* replies the kernel did not take */
    size_t out_len;
};

static struct conn *conns;
static int epfd;
/* Where a read goes when no partial frame waits, the usual case: so an
 * idle connection holds no buffer, and a round trip allocates nothing. */
static char scratch[IN_MAX];

static void drop(int fd)
{
    free(conns[fd].in);
    free(conns[fd].out);
    memset(&conns[fd], 0, sizeof(conns[fd]));
    close(fd);
}

/* Append n bytes of replies to what waits for EPOLLOUT; -1 out of memory. */
static int queue_out(struct conn *c, const char *data, size_t n)
{
    char *p = realloc(c->out, c->out_len + n);

    if (p == NULL)
        return -1;
    memcpy(p + c->out_len, data, n);
    c->out = p;
    c->out_len += n;
    return 0;
}

/* Keep the `left` bytes of a partial frame at buf + used for the next read. */
static int keep_partial(struct conn *c, char *buf, size_t used, size_t left)
{
    if (left == 0) {
        free(c->in);
        c->in = NULL;
        c->in_len = 0;
        return 0;
    }
    if (c->in == NULL && (c->in = malloc(IN_MAX)) == NULL)
        return -1;
    memmove(c->in, buf + used, left);
    c->in_len = left;
    return 0;
}

/* Read once, answer every whole frame, send; -1 when fd must go. */
static int serve(int fd)
{
    struct conn *c = &conns[fd];
    char reply[4096], *buf = c->in ? c->in : scratch;
    size_t have = c->in_len, nreply = 0, used = 0;
    ssize_t n;

    n = recv(fd, buf + have, IN_MAX - have, 0);
    if (n == -1)
        return errno == EAGAIN || errno == EINTR ? 0 : -1;
    if (n == 0)
        return -1;
    have += (size_t)n;
    while (have - used >= HEADER_LEN) {
        uint32_t len;

        memcpy(&len, buf + used, HEADER_LEN);
        len = ntohl(len);
        if (len > MAX_FRAME)
            return -1;
        if (have - used < HEADER_LEN + len)
            break;
        used += HEADER_LEN + len;
        if (nreply + REPLY_FRAME_LEN > sizeof(reply)) {
            if (queue_out(c, reply, nreply) == -1)
                return -1;
            nreply = 0;
        }
        memcpy(reply + nreply, REPLY_FRAME, REPLY_FRAME_LEN);
        nreply += REPLY_FRAME_LEN;
    }
    if (keep_partial(c, buf, used, have - used) == -1)
        return -1;
    if (c->out_len == 0 && nreply > 0) {
        /* The usual case: nothing queued, the kernel takes the replies. */
        n = send(fd, reply, nreply, MSG_NOSIGNAL);
        if (n == -1 && errno != EAGAIN)
            return -1;
        used = n == -1 ? 0 : (size_t)n;
        if (used < nreply) {
            if (queue_out(c, reply + used, nreply - used) == -1)
                return -1;
            struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT, .data.fd = fd};
            epoll_ctl(epfd, EPOLL_CTL_MOD, fd, &ev);
        }
    } else if (nreply > 0 && queue_out(c, reply, nreply) == -1) {
        return -1;
    }
    return 0;
}

/* EPOLLOUT: send queued replies; back to EPOLLIN alone once none are left. */
static int flush(int fd)
{
    struct conn *c = &conns[fd];
    ssize_t n = send(fd, c->out, c->out_len, MSG_NOSIGNAL);

    if (n == -1)
        return errno == EAGAIN || errno == EINTR ? 0 : -1;
    memmove(c->out, c->out + n, c->out_len - (size_t)n);
    c->out_len -= (size_t)n;
    if (c->out_len == 0) {
        struct epoll_event ev = {.events = EPOLLIN, .data.fd = fd};
        free(c->out);
        c->out = NULL;
        return epoll_ctl(epfd, EPOLL_CTL_MOD, fd, &ev);
    }
    return 0;
}

int main(int argc, char *argv[])
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(sa);
    struct epoll_event ev, events[MAX_EVENTS];
    struct rlimit rl;
    int listenfd, one = 1;

    if (argc > 1 && strcmp(argv[1], "-q") == 0)
        argv++, argc--;
    if (argc != 2) {
        fprintf(stderr, "usage: epoll_baseline [-q] PORT\n");
        return 2;
    }
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
        getrlimit(RLIMIT_NOFILE, &rl);
    }
    conns = calloc(rl.rlim_cur, sizeof(*conns));
    sa.sin_port = htons((unsigned short)atoi(argv[1]));
    listenfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    setsockopt(listenfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (conns == NULL || listenfd == -1 || bind(listenfd, (struct sockaddr *)&sa, sizeof(sa)) == -1 ||
        listen(listenfd, 4096) == -1 || getsockname(listenfd, (struct sockaddr *)&sa, &len) == -1) {
        perror("epoll_baseline");
        return 1;
    }
    printf("listening on 127.0.0.1:%u\n", ntohs(sa.sin_port));
    fflush(stdout);
    epfd = epoll_create1(0);
    ev = (struct epoll_event){.events = EPOLLIN, .data.fd = listenfd};
    epoll_ctl(epfd, EPOLL_CTL_ADD, listenfd, &ev);
    for (;;) {
        int k = epoll_wait(epfd, events, MAX_EVENTS, -1);

        for (int i = 0; i < k; i++) {
            int fd = events[i].data.fd;

            if (fd == listenfd) {
                int c;
                while ((c = accept4(listenfd, NULL, NULL, SOCK_NONBLOCK)) != -1) {
                    if ((rlim_t)c >= rl.rlim_cur) {
                        close(c);
                        continue;
                    }
                    ev = (struct epoll_event){.events = EPOLLIN, .data.fd = c};
                    epoll_ctl(epfd, EPOLL_CTL_ADD, c, &ev);
                }
                continue;
            }
            if (((events[i].events & EPOLLOUT) && flush(fd) == -1) ||
                ((events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) && serve(fd) == -1))
                drop(fd);
        }
    }
}
