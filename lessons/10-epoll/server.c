/*
 * server.c - lesson 10: lesson 09's server with epoll instead of poll().
 * The kernel keeps the set of watched sockets (epoll_ctl) and epoll_wait()
 * returns only the ready ones, so ten thousand idle clients cost nothing per
 * wake-up. Level-triggered by default; --edge makes it edge-triggered, which
 * needs every read and write to go on until EAGAIN.
 *
 * Usage: server [-q] [-k] [--edge] [--bind ADDR] [--json] PORT
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "addr.h"
#include "args.h"
#include "explain.h"
#include "sockio.h"

/* What this program does, for --help. */
#define ABOUT "Lesson 10 (epoll): lesson 09's server with epoll, level-triggered, or\n" \
              "edge-triggered with --edge (before the other options); until Ctrl-C."

/* Connections the kernel holds until we accept them; the kernel caps it
 * at net.core.somaxconn (4096 here). Thousands may connect at once. */
#define BACKLOG 4096
/* The frame header: the message's length, 4 bytes in network byte order. */
#define HEADER_LEN 4
/* The largest message we accept (the contract's 64 KiB). */
#define MAX_FRAME (64 * 1024)
/* How much one recv() may take at a time. */
#define READ_CHUNK 16384
/* Replies waiting for one client past this: stop reading it (back-pressure). */
#define OUT_LIMIT (64 * 1024)
/* The C10K problem's ten thousand clients, and a few fds of our own. */
#define FDS_WANTED 10016
/* Events one epoll_wait() returns at most; more wait for the next call. */
#define MAX_EVENTS 256
/* The reply to every message: length 2, then "ok". */
#define REPLY "ok"
#define REPLY_FRAME "\0\0\0\2" REPLY
#define REPLY_FRAME_LEN (HEADER_LEN + 2)

struct buffer {
    char *data;
    size_t len, cap;
};

struct client {
    int open;
    uint32_t events;        /* what epoll watches for it now */
    struct buffer in;       /* received, not yet a whole frame */
    struct buffer out;      /* replies the kernel has not taken yet */
};

/*
 * The server's state. File descriptors are small integers, below
 * RLIMIT_NOFILE, so clients[] is indexed by fd as the kernel's own fd table
 * is: epoll hands back the fd (event.data.fd) and we find the client at once.
 */
struct server {
    int epfd, listenfd, edge;
    int accept_paused;      /* out of fds: the listening socket unwatched */
    struct client *clients;
    size_t nclients;        /* the size of clients[]: the fd limit */
};

static int buffer_reserve(struct buffer *b, size_t more)
{
    size_t cap = b->cap ? b->cap : READ_CHUNK;
    char *p;

    while (cap < b->len + more)
        cap *= 2;
    if (cap == b->cap)
        return 0;
    p = realloc(b->data, cap);
    if (p == NULL)
        return -1;
    b->data = p;
    b->cap = cap;
    return 0;
}

/* Drop the first n bytes; an empty buffer gives its memory back. */
static void buffer_consume(struct buffer *b, size_t n)
{
    memmove(b->data, b->data + n, b->len - n);
    b->len -= n;
    if (b->len == 0) {
        free(b->data);
        b->data = NULL;
        b->cap = 0;
    }
}

/* O_NONBLOCK: a call that would wait fails with EAGAIN instead. */
static int set_nonblocking(int fd)
{
    int flags = fcntl(fd, F_GETFL);

    if (flags == -1)
        return -1;
    return fcntl(fd, F_SETFL, flags | O_NONBLOCK);
}

/*
 * Before step 1: each connection is a file descriptor, and a process may
 * have only RLIMIT_NOFILE of them open; the soft limit is often 1024, far
 * from ten thousand. A process may raise its soft limit up to the hard
 * limit (only root raises the hard one). Returns the limit in force.
 */
static rlim_t raise_fd_limit(void)
{
    struct rlimit rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
        die_call("getrlimit", "RLIMIT_NOFILE");
    if (rl.rlim_cur < rl.rlim_max) {
        rlim_t soft = rl.rlim_cur;

        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) == -1) {
            warn_call("setrlimit", "RLIMIT_NOFILE from %lu to %lu: serving at most about %lu clients",
                      (unsigned long)soft, (unsigned long)rl.rlim_max, (unsigned long)soft);
            rl.rlim_cur = soft;
        }
    }
    if (rl.rlim_cur < FDS_WANTED)
        warn_msg("RLIMIT_NOFILE is %lu: at most about that many clients at once "
                 "(the hard limit, `ulimit -Hn`, is raised by root)", (unsigned long)rl.rlim_cur);
    if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > (1 << 20))
        rl.rlim_cur = 1 << 20;      /* a table that size is plenty */
    return rl.rlim_cur;
}

/* Tell epoll what to watch on fd (ADD, MOD). In edge-triggered mode
 * (EPOLLET) epoll reports a change of readiness once, not a state. */
static int watch(struct server *s, int op, int fd, uint32_t events)
{
    /* BEGIN SOLUTION */
    /* STUB: // Write it: a struct epoll_event with .events = events (| EPOLLET when s->edge) and */
    /* STUB: // .data.fd = fd; return epoll_ctl(s->epfd, op, fd, &ev). */
    /* STUB: (void)s; (void)op; (void)fd; (void)events; not_implemented(5); */
    struct epoll_event ev = {.events = events | (s->edge ? EPOLLET : 0), .data.fd = fd};

    return epoll_ctl(s->epfd, op, fd, &ev);
    /* END SOLUTION */
}

/* Step 6 for one client: close() also takes the fd out of the epoll set
 * (when no other descriptor refers to the socket). */
static void drop_client(struct server *s, int fd)
{
    struct client *c = &s->clients[fd];

    close(fd);
    free(c->in.data);
    free(c->out.data);
    memset(c, 0, sizeof(*c));
    /* A free fd again: accept, if out of fds paused it. (MOD reports the
     * clients already queued, in edge-triggered mode too.) */
    if (s->accept_paused && watch(s, EPOLL_CTL_MOD, s->listenfd, EPOLLIN) == 0)
        s->accept_paused = 0;
}

/*
 * Step 4: accept every client waiting in the queue, until EAGAIN. In edge-
 * triggered mode this loop is required: epoll reported "the queue became
 * non-empty" once, and will not again for clients already in it.
 */
static void accept_clients(struct server *s)
{
    /* BEGIN SOLUTION */
    /* STUB: // Write the accept loop (lesson 09's, with epoll): accept(s->listenfd, NULL, NULL) */
    /* STUB: // until EAGAIN; EINTR, ECONNABORTED: next; EMFILE/ENFILE: warn_call(), watch(s, */
    /* STUB: // EPOLL_CTL_MOD, s->listenfd, 0), s->accept_paused = 1, return; fd >= s->nclients: */
    /* STUB: // warn_msg(), close(fd); then set_nonblocking(fd), watch(s, EPOLL_CTL_ADD, fd, EPOLLIN) */
    /* STUB: // and s->clients[fd] = (struct client){.open = 1, .events = EPOLLIN}. */
    /* STUB: (void)s; not_implemented(4); */
    for (;;) {
        int fd = accept(s->listenfd, NULL, NULL);

        if (fd == -1) {
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return;             /* the queue is empty */
            if (errno == EINTR || errno == ECONNABORTED)
                continue;           /* that one gave up: take the next */
            if (errno == EMFILE || errno == ENFILE) {
                /* Out of fds: the client stays in the queue. Stop watching
                 * the listening socket, or level-triggered epoll would
                 * report it at once, forever; drop_client() resumes. */
                warn_call("accept", "on fd %d: pausing accept until a client leaves", s->listenfd);
                if (watch(s, EPOLL_CTL_MOD, s->listenfd, 0) == 0)
                    s->accept_paused = 1;
                return;
            }
            warn_call("accept", "on fd %d", s->listenfd);
            return;
        }
        if ((size_t)fd >= s->nclients) {
            warn_msg("client fd %d is beyond the table of %zu: closing it", fd, s->nclients);
            close(fd);
            continue;
        }
        if (set_nonblocking(fd) == -1 || watch(s, EPOLL_CTL_ADD, fd, EPOLLIN) == -1) {
            warn_call("accept", "setting up client fd %d", fd);
            close(fd);
            continue;
        }
        s->clients[fd] = (struct client){.open = 1, .events = EPOLLIN};
    }
    /* END SOLUTION */
}

/* Step 5, out: give the kernel what it takes of fd's replies, until EAGAIN
 * (the rest waits for EPOLLOUT). Returns -1 if the client must go. */
static int client_write(struct client *c, int fd)
{
    while (c->out.len > 0) {
        ssize_t n = send(fd, c->out.data, c->out.len, MSG_NOSIGNAL);

        if (n == -1) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return 0;           /* full: EPOLLOUT will tell us */
            warn_call("send", "replies to client (fd %d)", fd);
            return -1;
        }
        buffer_consume(&c->out, (size_t)n);
    }
    return 0;
}

/* Step 5, in: answer each whole frame in c->in, keep the partial one. */
static int answer_frames(struct client *c, int fd)
{
    size_t used = 0;

    while (c->in.len - used >= HEADER_LEN) {
        uint32_t len;

        memcpy(&len, c->in.data + used, HEADER_LEN);
        len = ntohl(len);
        if (len > MAX_FRAME) {
            warn_msg("client (fd %d) announced a %lu-byte message, above the maximum of %d: "
                     "protocol error, closing that client", fd, (unsigned long)len, MAX_FRAME);
            return -1;
        }
        if (c->in.len - used < HEADER_LEN + len)
            break;                  /* the rest of this frame is on its way */
        print_data(DATA_RECEIVED, c->in.data + used + HEADER_LEN, len);
        if (buffer_reserve(&c->out, REPLY_FRAME_LEN) == -1) {
            warn_msg("client (fd %d): out of memory for its replies, closing it", fd);
            return -1;
        }
        memcpy(c->out.data + c->out.len, REPLY_FRAME, REPLY_FRAME_LEN);
        c->out.len += REPLY_FRAME_LEN;
        print_data(DATA_SENT, REPLY, strlen(REPLY));
        used += HEADER_LEN + len;
    }
    if (used > 0)
        buffer_consume(&c->in, used);
    return 0;
}

/*
 * Step 5: fd is readable. Level-triggered, one recv() is enough: epoll
 * reports the socket again while bytes wait. Edge-triggered, it reports
 * only new arrivals, so we must read until EAGAIN: bytes left in the
 * kernel would wait forever if the client sends nothing more. Both stop
 * reading once the client's replies pass OUT_LIMIT (back-pressure).
 */
static int client_read(struct server *s, struct client *c, int fd)
{
    /* BEGIN SOLUTION */
    /* STUB: // Write the read (the drain loop): while c->out.len < OUT_LIMIT: buffer_reserve(&c->in, */
    /* STUB: // READ_CHUNK); recv() after c->in.len (EINTR: again; EAGAIN: return 0, drained; other -1: */
    /* STUB: // warn_call(), return -1; 0: warn_msg() if part of a frame came, return -1); */
    /* STUB: // c->in.len += n; answer_frames(c, fd) and client_write(c, fd) (-1: return -1); */
    /* STUB: // level-triggered (!s->edge): break after one recv(). Edge-triggered: until EAGAIN. */
    /* STUB: (void)s; (void)c; (void)fd; */
    /* STUB: (void)answer_frames; (void)client_write; not_implemented(5); */
    while (c->out.len < OUT_LIMIT) {
        ssize_t n;

        if (buffer_reserve(&c->in, READ_CHUNK) == -1) {
            warn_msg("client (fd %d): out of memory for its messages, closing it", fd);
            return -1;
        }
        n = recv(fd, c->in.data + c->in.len, READ_CHUNK, 0);
        if (n == -1) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return 0;           /* drained: wait for the next edge */
            warn_call("recv", "from client (fd %d)", fd);
            return -1;
        }
        if (n == 0) {
            if (c->in.len > 0)
                warn_msg("client (fd %d) closed in the middle of a frame (%zu bytes of it came): "
                         "dropping them", fd, c->in.len);
            return -1;              /* the client closed its end */
        }
        c->in.len += (size_t)n;
        if (answer_frames(c, fd) == -1 || client_write(c, fd) == -1)
            return -1;
        if (!s->edge)
            break;                  /* level-triggered: epoll tells us again */
    }
    return 0;
    /* END SOLUTION */
}

/* Step 5: what epoll watches for fd now, changed only when it must be
 * (each epoll_ctl() is a system call): in while its replies are under the
 * limit, out while replies wait. Re-arming EPOLLIN with MOD reports data
 * already waiting, so back-pressure does not lose an edge. */
static int rewatch(struct server *s, struct client *c, int fd)
{
    uint32_t want = (c->out.len < OUT_LIMIT ? EPOLLIN : 0) | (c->out.len > 0 ? EPOLLOUT : 0);

    if (want == c->events)
        return 0;
    c->events = want;
    return watch(s, EPOLL_CTL_MOD, fd, want);
}

/* Step 5: the loop. epoll_wait() returns the ready sockets, and only those. */
static void serve(struct server *s)
{
    struct epoll_event events[MAX_EVENTS];

    while (!stop_requested()) {
        fflush(stdout);             /* this round's data lines, in one write */
        /* BEGIN SOLUTION */
        /* STUB: // Write the wait: ready = epoll_wait(s->epfd, events, MAX_EVENTS, -1) (EINTR: continue; */
        /* STUB: // other -1: die_call("epoll_wait", ...)); for each events[i]: the listening fd: */
        /* STUB: // accept_clients(); a client (skip if !c->open): EPOLLOUT: client_write(c, fd); EPOLLIN, */
        /* STUB: // EPOLLHUP, EPOLLERR: client_read(s, c, fd); on -1 or rewatch(s, c, fd) == -1: */
        /* STUB: // drop_client(s, fd). */
        /* STUB: (void)s; (void)events; (void)accept_clients; */
        /* STUB: (void)client_read; (void)rewatch; not_implemented(5); */
        int ready = epoll_wait(s->epfd, events, MAX_EVENTS, -1);

        if (ready == -1) {
            if (errno == EINTR)
                continue;           /* a signal; stop_requested() decides */
            die_call("epoll_wait", "on epoll fd %d", s->epfd);
        }
        for (int i = 0; i < ready; i++) {
            int fd = events[i].data.fd;
            uint32_t re = events[i].events;
            struct client *c = &s->clients[fd];
            int rc = 0;

            if (fd == s->listenfd) {
                accept_clients(s);
                continue;
            }
            if (!c->open)
                continue;           /* dropped earlier in this round */
            if (re & EPOLLOUT)
                rc = client_write(c, fd);
            if (rc == 0 && (re & (EPOLLIN | EPOLLHUP | EPOLLERR)))
                rc = client_read(s, c, fd);
            if (rc == -1 || rewatch(s, c, fd) == -1)
                drop_client(s, fd);
        }
        /* END SOLUTION */
    }
}

/* --edge is this lesson's own flag: take it out of argv before the kit's
 * parser, which knows the flags every server shares, sees the rest. */
static int take_flag(int *argc, char **argv, const char *flag)
{
    for (int i = 1; i < *argc && strcmp(argv[i], "--") != 0; i++) {
        if (strcmp(argv[i], flag) == 0) {
            memmove(&argv[i], &argv[i + 1], (size_t)(*argc - i) * sizeof(*argv));
            (*argc)--;
            return 1;
        }
    }
    return 0;
}

int main(int argc, char *argv[])
{
    struct server_args args;
    struct server s = {.epfd = -1};
    struct addrinfo hints, *res;
    struct sockaddr_storage servaddr;
    socklen_t addrlen = sizeof(servaddr);
    int rc, on = 1;

    s.edge = take_flag(&argc, argv, "--edge");
    parse_server_args(argc, argv, ABOUT, SERVER_CAN_KEEP, &args);  /* -k: always */
    ignore_sigpipe();               /* a vanished client must not kill us */
    catch_stop_signals();           /* Ctrl-C: finish, close, exit 0 */
    s.nclients = raise_fd_limit();
    s.clients = calloc(s.nclients, sizeof(*s.clients));
    if (s.clients == NULL)
        die_msg("out of memory for a table of %zu clients", s.nclients);

    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICHOST | AI_NUMERICSERV;
    rc = getaddrinfo(args.bind_addr, args.port_text, &hints, &res);
    if (rc != 0)
        die_resolve(args.bind_addr, args.port_text, rc);

    /* Step 1: the listening socket, non-blocking (see accept_clients()). */
    s.listenfd = socket(res->ai_family, res->ai_socktype, res->ai_protocol);
    if (s.listenfd == -1)
        die_call("socket", "%s", family_name(res->ai_family));
    if (set_nonblocking(s.listenfd) == -1)
        die_call("fcntl", "O_NONBLOCK on fd %d", s.listenfd);

    /* Step 2: bind, after SO_REUSEADDR; getsockname() for PORT 0. */
    if (setsockopt(s.listenfd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) == -1)
        die_call("setsockopt", "SO_REUSEADDR");
    if (bind(s.listenfd, res->ai_addr, res->ai_addrlen) == -1)
        die_call("bind", "%s", addr_str(res->ai_addr, res->ai_addrlen));
    freeaddrinfo(res);
    if (getsockname(s.listenfd, (struct sockaddr *)&servaddr, &addrlen) == -1)
        die_call("getsockname", "fd %d", s.listenfd);

    /* Step 3: listen. */
    if (listen(s.listenfd, BACKLOG) == -1)
        die_call("listen", "on fd %d", s.listenfd);

    /* The epoll instance: a set of sockets the kernel watches for us. It
     * is itself a file descriptor (closed in step 6). */
    /* BEGIN SOLUTION */
    /* STUB: // Create the epoll set: s.epfd = epoll_create1(EPOLL_CLOEXEC) (-1: die_call()); then */
    /* STUB: // watch(&s, EPOLL_CTL_ADD, s.listenfd, EPOLLIN) (-1: die_call("epoll_ctl", ...)). */
    /* STUB: not_implemented(5); */
    s.epfd = epoll_create1(EPOLL_CLOEXEC);
    if (s.epfd == -1)
        die_call("epoll_create1", "EPOLL_CLOEXEC");
    if (watch(&s, EPOLL_CTL_ADD, s.listenfd, EPOLLIN) == -1)
        die_call("epoll_ctl", "EPOLL_CTL_ADD listening fd %d", s.listenfd);
    /* END SOLUTION */
    print_address("listening on", (struct sockaddr *)&servaddr, addrlen);

    /* Steps 4 and 5, for every client at once: the epoll loop. */
    serve(&s);

    /* Step 6: close every client, the listening socket, the epoll fd. */
    for (size_t fd = 0; fd < s.nclients; fd++)
        if (s.clients[fd].open)
            drop_client(&s, (int)fd);
    close(s.listenfd);
    close(s.epfd);
    free(s.clients);
    return EXIT_OK;
}
