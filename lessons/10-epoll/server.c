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

/* Connections the kernel may hold, handshake done, until we accept them.
 * The seed's 5 was enough for one client at a time; from this lesson on a
 * crowd of clients may connect at once while the server is busy. The
 * kernel caps it at net.core.somaxconn (4096 on recent Linux). */
#define BACKLOG 4096
/* The length prefix: a uint32_t in network byte order (big-endian). */
#define HEADER_LEN 4
/* The longest message we accept: 64 KiB. The length comes from the
 * network, so it is checked before it sizes anything: a peer that sends
 * ff ff ff ff must not make us wait for (or allocate) 4 GiB. */
#define MAX_FRAME (64 * 1024)
/* The seed's reply to every message: two bytes, no '\0' on the wire. */
#define REPLY "ok"
#define REPLY_LEN 2
/* How much one recv() may take from one client per wake-up. */
#define READ_CHUNK 16384
/* Replies waiting for a client past this many bytes: stop reading from it
 * until it takes them (back-pressure). Bounds what one client costs us. */
#define OUT_LIMIT (64 * 1024)
/* The C10K problem's ten thousand clients, and a few fds of our own. */
#define FDS_WANTED 10016
/* Events one epoll_wait() returns at most; more wait for the next call. */
#define MAX_EVENTS 256

/* Bytes waiting in memory: a partial frame in, or replies out. */
struct buffer {
    char *data;
    size_t len, cap;
};

struct client {
    int fd;
    struct buffer in;       /* received, not yet a whole frame */
    struct buffer out;      /* replies the kernel has not taken yet */
    int open;               /* a client is on this fd (see struct server) */
    uint32_t events;        /* what epoll watches for it now */
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

/* Make room for `more` bytes after b->len. Returns 0, or -1 (no memory). */
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

/* Drop the first n bytes (sent, or parsed); an empty buffer gives its
 * memory back, so ten thousand idle clients cost almost nothing. */
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

/* O_NONBLOCK: a call that would wait (recv with nothing to read, send into
 * a full buffer, accept with an empty queue) fails with EAGAIN instead. A
 * server that serves many clients from one thread must never wait on one. */
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

/* Step 6 for one client: close its socket (which also takes it out of the
 * epoll set, when no other descriptor refers to it) and free its buffers. */
static void drop_client(struct server *s, int fd)
{
    struct client *c = &s->clients[fd];

    if (close(c->fd) == -1)
        warn_call("close", "client fd %d", c->fd);
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
    /* STUB: // and s->clients[fd] = (struct client){.fd = fd, .open = 1, .events = EPOLLIN}. */
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
        s->clients[fd] = (struct client){.fd = fd, .open = 1, .events = EPOLLIN};
    }
    /* END SOLUTION */
}

/*
 * Step 5, out: give the kernel as much of c's pending replies as it takes.
 * A full send buffer (EAGAIN) is no error: the rest stays in c->out and
 * poll() says (POLLOUT) when there is room. Returns -1 if c must go.
 */
static int client_write(struct client *c)
{
    while (c->out.len > 0) {
        ssize_t n = send(c->fd, c->out.data, c->out.len, MSG_NOSIGNAL);

        if (n == -1) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return 0;           /* full: POLLOUT will tell us */
            warn_call("send", "replies to client (fd %d)", c->fd);
            return -1;
        }
        buffer_consume(&c->out, (size_t)n);     /* a short send: the rest later */
    }
    return 0;
}

/*
 * Step 5, in: answer every whole frame in c->in and keep the partial one
 * (its header, or part of its body) for the next recv(). Returns -1 when
 * the client broke the protocol.
 */
static int answer_frames(struct client *c)
{
    uint32_t reply_len = htonl(REPLY_LEN);
    size_t used = 0;

    while (c->in.len - used >= HEADER_LEN) {
        uint32_t len;

        memcpy(&len, c->in.data + used, HEADER_LEN);    /* may be unaligned */
        len = ntohl(len);
        if (len > MAX_FRAME) {
            warn_msg("client (fd %d) announced a %lu-byte message, above the maximum of %d: "
                     "protocol error, closing that client", c->fd, (unsigned long)len, MAX_FRAME);
            return -1;
        }
        if (c->in.len - used < HEADER_LEN + len)
            break;                  /* the rest of this frame is on its way */
        print_data(DATA_RECEIVED, c->in.data + used + HEADER_LEN, len);
        /* The reply, framed: 00 00 00 02 'o' 'k', after those waiting. */
        if (buffer_reserve(&c->out, HEADER_LEN + REPLY_LEN) == -1) {
            warn_msg("client (fd %d): out of memory for its replies, closing it", c->fd);
            return -1;
        }
        memcpy(c->out.data + c->out.len, &reply_len, HEADER_LEN);
        memcpy(c->out.data + c->out.len + HEADER_LEN, REPLY, REPLY_LEN);
        c->out.len += HEADER_LEN + REPLY_LEN;
        print_data(DATA_SENT, REPLY, REPLY_LEN);
        used += HEADER_LEN + len;
    }
    if (used > 0)
        buffer_consume(&c->in, used);
    return 0;
}

/*
 * Step 5: c's socket is readable. Level-triggered, one recv() is enough:
 * epoll reports the socket again while bytes wait. Edge-triggered, it
 * reports only new arrivals, so we must read until EAGAIN: bytes left in
 * the kernel would wait forever if the client sends nothing more. Both stop
 * reading once the client's replies pass OUT_LIMIT (back-pressure).
 */
static int client_read(struct server *s, struct client *c)
{
    /* BEGIN SOLUTION */
    /* STUB: // Write the read (the drain loop): while c->out.len < OUT_LIMIT: buffer_reserve(&c->in, */
    /* STUB: // READ_CHUNK); recv() after c->in.len (EINTR: again; EAGAIN: drained: buffer_consume(&c->in, */
    /* STUB: // 0) to give an empty buffer back, return 0; other -1: */
    /* STUB: // warn_call(), return -1; 0: warn_msg() if part of a frame came, return -1); */
    /* STUB: // c->in.len += n; answer_frames(c) and client_write(c) (-1: return -1); */
    /* STUB: // level-triggered (!s->edge): break after one recv(). Edge-triggered: until EAGAIN. */
    /* STUB: (void)s; (void)c; (void)answer_frames; (void)client_write; not_implemented(5); */
    while (c->out.len < OUT_LIMIT) {
        ssize_t n;

        if (buffer_reserve(&c->in, READ_CHUNK) == -1) {
            warn_msg("client (fd %d): out of memory for its messages, closing it", c->fd);
            return -1;
        }
        n = recv(c->fd, c->in.data + c->in.len, READ_CHUNK, 0);
        if (n == -1) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                /* Drained. Give the buffer back unless part of a frame
                 * waits in it, or every idle client keeps READ_CHUNK bytes. */
                buffer_consume(&c->in, 0);
                return 0;           /* wait for the next edge */
            }
            warn_call("recv", "from client (fd %d)", c->fd);
            return -1;
        }
        if (n == 0) {
            if (c->in.len > 0)
                warn_msg("client (fd %d) closed in the middle of a frame (%zu bytes of it came): "
                         "dropping them", c->fd, c->in.len);
            return -1;              /* the client closed its end */
        }
        c->in.len += (size_t)n;
        if (answer_frames(c) == -1 || client_write(c) == -1)
            return -1;
        if (!s->edge)
            break;                  /* level-triggered: epoll tells us again */
    }
    return 0;
    /* END SOLUTION */
}

/* What epoll should watch for c: readable while its replies are under the
 * limit (back-pressure), writable only while replies wait (EPOLLOUT on a
 * socket with room would wake us for nothing, in a busy loop). Changed only
 * when it must be: each epoll_ctl() is a system call. Re-arming EPOLLIN with
 * MOD reports data already waiting, so back-pressure does not lose an edge. */
static int rewatch(struct server *s, struct client *c)
{
    /* BEGIN SOLUTION */
    /* STUB: // Write it: want EPOLLIN while c->out.len < OUT_LIMIT, | EPOLLOUT while c->out.len > 0; */
    /* STUB: // the same as c->events: return 0; else c->events = want and return */
    /* STUB: // watch(s, EPOLL_CTL_MOD, c->fd, want). */
    /* STUB: (void)s; (void)c; not_implemented(5); */
    uint32_t want = (c->out.len < OUT_LIMIT ? EPOLLIN : 0) | (c->out.len > 0 ? EPOLLOUT : 0);

    if (want == c->events)
        return 0;
    c->events = want;
    return watch(s, EPOLL_CTL_MOD, c->fd, want);
    /* END SOLUTION */
}

/* Step 5: the loop. epoll_wait() returns the ready sockets, and only those;
 * each gets its turn, and none waits. */
static void serve(struct server *s)
{
    /* BEGIN SOLUTION */
    /* STUB: // Write the loop, until stop_requested(): fflush(stdout); ready = epoll_wait(s->epfd, */
    /* STUB: // events, MAX_EVENTS, -1) into a struct epoll_event events[MAX_EVENTS] (EINTR: continue; */
    /* STUB: // other -1: die_call("epoll_wait", ...)); for each events[i]: the listening fd: */
    /* STUB: // accept_clients(); a client (skip if !c->open): EPOLLOUT: client_write(c); EPOLLIN, */
    /* STUB: // EPOLLHUP, EPOLLERR: client_read(s, c); on -1 or rewatch(s, c) == -1: drop_client(s, fd). */
    /* STUB: (void)s; (void)accept_clients; (void)client_read; (void)rewatch; not_implemented(5); */
    struct epoll_event events[MAX_EVENTS];

    while (!stop_requested()) {
        fflush(stdout);             /* this round's data lines, in one write */
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
                rc = client_write(c);
            if (rc == 0 && (re & (EPOLLIN | EPOLLHUP | EPOLLERR)))
                rc = client_read(s, c);
            if (rc == -1 || rewatch(s, c) == -1)
                drop_client(s, fd);
        }
    }
    /* END SOLUTION */
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
    struct addrinfo hints, *res = NULL, *p;
    struct sockaddr_storage servaddr;
    socklen_t servlen;
    const char *tried = "?";
    struct server s = {0};
    int listenfd = -1, rc, on = 1, last_errno = 0;

    s.edge = take_flag(&argc, argv, "--edge");
    /* -k is accepted and changes nothing: this server serves every client
     * at once, until Ctrl-C or SIGTERM. */
    parse_server_args(argc, argv, ABOUT, SERVER_CAN_KEEP, &args);
    ignore_sigpipe();               /* a vanished client must not kill us */
    catch_stop_signals();           /* Ctrl-C: finish, close, exit 0 */
    s.nclients = raise_fd_limit();
    s.clients = calloc(s.nclients, sizeof(*s.clients));
    if (s.clients == NULL)
        die_msg("out of memory for a table of %zu clients", s.nclients);

    /* Before step 1: the addresses to bind, for IPv4 and IPv6 alike.
     * Lesson 02 filled a sockaddr_in by hand, which holds IPv4 only;
     * getaddrinfo() fills a sockaddr of the right family for us, port in
     * network byte order included. AI_PASSIVE: an address to bind (with a
     * NULL host it would give the wildcard, 0.0.0.0 or ::; our --bind
     * defaults to 0.0.0.0). AI_NUMERICHOST, AI_NUMERICSERV: the texts are
     * numbers, never looked up in DNS. --bind :: gives an IPv6 socket. */
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;        /* IPv4 or IPv6, as --bind says */
    hints.ai_socktype = SOCK_STREAM;    /* TCP */
    hints.ai_flags = AI_PASSIVE | AI_NUMERICHOST | AI_NUMERICSERV;
    rc = getaddrinfo(args.bind_addr, args.port_text, &hints, &res);
    if (rc != 0)
        die_resolve(args.bind_addr, args.port_text, rc);

    /* Try each address until one binds: the loop shape of every
     * getaddrinfo() caller. A numeric --bind gives one address; a host
     * name (without AI_NUMERICHOST) could give several. */
    for (p = res; p != NULL; p = p->ai_next) {
        tried = addr_str(p->ai_addr, p->ai_addrlen);

        /* Step 1: create the listening socket, of the address's family
         * (AF_INET, or AF_INET6 for --bind ::): the kernel makes a socket
         * with no address and no connection (state CLOSE). A family this
         * host lacks fails: try the next address. */
        listenfd = socket(p->ai_family, p->ai_socktype, p->ai_protocol);
        if (listenfd == -1) {
            last_errno = errno;
            continue;                   /* this family is not available */
        }

        /* Step 2: bind the address and port. SO_REUSEADDR first: without
         * it, bind() fails with EADDRINUSE while the port still has a
         * connection in TIME_WAIT (or FIN_WAIT2), which happens to a
         * server restarted after IT closed a connection first, or was
         * killed with a client connected (TIME_WAIT lasts 60 s on Linux).
         * In the seed's exchange the client closes first, so its own port
         * holds the TIME_WAIT. An IPv6 socket bound to :: also takes IPv4
         * clients, as v4-mapped addresses (::ffff:127.0.0.1): Linux's
         * default (net.ipv6.bindv6only = 0); setting IPV6_V6ONLY to 1
         * would refuse them. */
        if (setsockopt(listenfd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) == -1)
            die_call("setsockopt", "SO_REUSEADDR on fd %d", listenfd);
        if (bind(listenfd, p->ai_addr, p->ai_addrlen) == 0)
            break;                      /* bound */
        last_errno = errno;
        close(listenfd);                /* this address failed: the next */
    }
    freeaddrinfo(res);
    if (p == NULL) {
        errno = last_errno;             /* why the last address failed */
        die_call("bind", "%s", tried);
    }
    /* With PORT 0 the kernel chose a free port at bind(): ask which. */
    servlen = sizeof(servaddr);
    if (getsockname(listenfd, (struct sockaddr *)&servaddr, &servlen) == -1)
        die_call("getsockname", "fd %d", listenfd);

    /* Step 3: listen. The socket turns passive (state LISTEN): from now
     * on the kernel itself answers clients' handshakes and queues up to
     * BACKLOG finished connections until accept() takes them. Without
     * listen(), a client's connect() is refused (ECONNREFUSED). */
    if (listen(listenfd, BACKLOG) == -1)
        die_call("listen", "on fd %d", listenfd);
    print_address("listening on", (struct sockaddr *)&servaddr, servlen);

    /* The listening socket is non-blocking too (see accept_clients()). */
    if (set_nonblocking(listenfd) == -1)
        die_call("fcntl", "O_NONBLOCK on fd %d", listenfd);

    /* The epoll instance: a set of sockets the kernel watches for us. It
     * is itself a file descriptor (closed in step 6). */
    s.listenfd = listenfd;
    /* BEGIN SOLUTION */
    /* STUB: // Create the epoll set: s.epfd = epoll_create1(EPOLL_CLOEXEC) (-1: die_call()); then */
    /* STUB: // watch(&s, EPOLL_CTL_ADD, listenfd, EPOLLIN) (-1: die_call("epoll_ctl", ...)). */
    /* STUB: not_implemented(5); */
    s.epfd = epoll_create1(EPOLL_CLOEXEC);
    if (s.epfd == -1)
        die_call("epoll_create1", "EPOLL_CLOEXEC");
    if (watch(&s, EPOLL_CTL_ADD, listenfd, EPOLLIN) == -1)
        die_call("epoll_ctl", "EPOLL_CTL_ADD listening fd %d", listenfd);
    /* END SOLUTION */

    /* Steps 4 and 5, for every client at once: serve(), the loop. */
    serve(&s);

    /* Step 6: close every client; then the listening socket: the port is
     * free again, and clients still in the accept queue are reset (RST),
     * not refused. */
    for (size_t fd = 0; fd < s.nclients; fd++)
        if (s.clients[fd].open)
            drop_client(&s, (int)fd);
    if (close(listenfd) == -1)
        warn_call("close", "listening fd %d", listenfd);
    if (close(s.epfd) == -1)
        warn_call("close", "epoll fd %d", s.epfd);
    free(s.clients);
    return EXIT_OK;
}
