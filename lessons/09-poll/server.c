/*
 * server.c - lesson 09: one process serves many clients at once with poll().
 * Every socket is non-blocking; one poll() waits on all of them. Each client
 * has a buffer for a frame that has not arrived whole yet and one for replies
 * the kernel could not take yet. Framed protocol of lesson 07.
 *
 * Usage: server [-q] [-k] [--bind ADDR] [--json] PORT
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "addr.h"
#include "args.h"
#include "explain.h"
#include "sockio.h"

/* What this program does, for --help. */
#define ABOUT "Lesson 09 (poll): the framed server, one process serving many clients\n" \
              "at once with poll() over non-blocking sockets, until Ctrl-C or SIGTERM."

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

/* Bytes waiting in memory: a partial frame in, or replies out. */
struct buffer {
    char *data;
    size_t len, cap;
};

struct client {
    int fd;
    struct buffer in;       /* received, not yet a whole frame */
    struct buffer out;      /* replies the kernel has not taken yet */
};

/*
 * The poll set. fds[i] and clients[i] belong together; fds[0] is the
 * listening socket (clients[0] unused). poll() takes one array of struct
 * pollfd, so the array is the set: adding a client appends, dropping one
 * moves the last into its place.
 */
struct server {
    struct pollfd *fds;
    struct client *clients;
    size_t nfds, cap;
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

/* Put fd in the poll set, watching `events`. Returns 0, or -1 (no memory). */
static int add_fd(struct server *s, int fd, short events)
{
    if (s->nfds == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 64;
        struct pollfd *fds = realloc(s->fds, cap * sizeof(*fds));
        struct client *clients;

        if (fds == NULL)
            return -1;
        s->fds = fds;
        clients = realloc(s->clients, cap * sizeof(*clients));
        if (clients == NULL)
            return -1;
        s->clients = clients;
        s->cap = cap;
    }
    s->fds[s->nfds] = (struct pollfd){.fd = fd, .events = events};
    s->clients[s->nfds] = (struct client){.fd = fd};
    s->nfds++;
    return 0;
}

/* Step 6 for one client: close its socket, free its buffers, and move the
 * last entry of the set into its place. */
static void drop_client(struct server *s, size_t i)
{
    struct client *c = &s->clients[i];

    if (close(c->fd) == -1)
        warn_call("close", "client fd %d", c->fd);
    free(c->in.data);
    free(c->out.data);
    s->nfds--;
    s->fds[i] = s->fds[s->nfds];
    s->clients[i] = s->clients[s->nfds];
    s->fds[0].events = POLLIN;      /* a free fd again: accept, if paused */
}

/*
 * Step 4: accept every client waiting in the queue. The listening socket is
 * non-blocking, so accept() says EAGAIN when the queue is empty instead of
 * waiting for the next client while the others wait for us.
 */
static void accept_clients(struct server *s)
{
    /* BEGIN SOLUTION */
    /* STUB: // Write the accept loop: accept(s->fds[0].fd, NULL, NULL) until it fails with EAGAIN */
    /* STUB: // (return); EMFILE/ENFILE: warn_call(), s->fds[0].events = 0, return; other errors: */
    /* STUB: // warn_call() (not for EINTR, ECONNABORTED), return if stop_requested(), else next; each */
    /* STUB: // new fd: set_nonblocking() and add_fd(s, fd, POLLIN) (-1: warn_call(), close()). */
    /* STUB: (void)s; not_implemented(4); */
    for (;;) {
        int clientfd = accept(s->fds[0].fd, NULL, NULL);

        if (clientfd == -1) {
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return;             /* the queue is empty: back to poll() */
            if (errno == EMFILE || errno == ENFILE) {
                /* Out of fds: the client stays in the queue. Stop watching
                 * the listening socket, or poll() would report it ready
                 * again at once, forever; drop_client() resumes. */
                warn_call("accept", "on fd %d: pausing accept until a client leaves", s->fds[0].fd);
                s->fds[0].events = 0;
                return;
            }
            if (errno != EINTR && errno != ECONNABORTED)
                warn_call("accept", "on fd %d", s->fds[0].fd);
            if (stop_requested())
                return;
            continue;               /* that one gave up: take the next */
        }
        if (set_nonblocking(clientfd) == -1 || add_fd(s, clientfd, POLLIN) == -1) {
            warn_call("accept", "setting up client fd %d", clientfd);
            if (close(clientfd) == -1)
                warn_call("close", "client fd %d", clientfd);
        }
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
    /* BEGIN SOLUTION */
    /* STUB: // Write the send loop: while c->out.len > 0, send() c->out.data (MSG_NOSIGNAL); */
    /* STUB: // EINTR: again; EAGAIN: return 0 (POLLOUT says when); other -1: warn_call(), return -1; */
    /* STUB: // buffer_consume(&c->out, n) the bytes sent. */
    /* STUB: (void)c; (void)buffer_consume; not_implemented(5); */
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
    /* END SOLUTION */
}

/*
 * Step 5, in: answer every whole frame in c->in and keep the partial one
 * (its header, or part of its body) for the next recv(). Returns -1 when
 * the client broke the protocol.
 */
static int answer_frames(struct client *c)
{
    /* BEGIN SOLUTION */
    /* STUB: // Write the frame parser: while c->in has a whole header after `used`: memcpy() and */
    /* STUB: // ntohl() the length (> MAX_FRAME: warn_msg(), return -1); body not all there: break; */
    /* STUB: // print_data(DATA_RECEIVED, ...); buffer_reserve(&c->out, HEADER_LEN + REPLY_LEN), then */
    /* STUB: // memcpy() the reply's length, htonl(REPLY_LEN), and REPLY to the end of c->out; */
    /* STUB: // print_data(DATA_SENT, ...); used += the frame. At the end buffer_consume(&c->in, used): */
    /* STUB: // the partial frame stays. */
    /* STUB: (void)c; (void)buffer_reserve; not_implemented(5); */
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
    /* END SOLUTION */
}

/*
 * Step 5: c's socket is readable. One recv() is enough: poll() is level-
 * triggered, it reports the socket again while bytes are waiting. Returns
 * -1 when the client is gone or must go.
 */
static int client_read(struct client *c)
{
    /* BEGIN SOLUTION */
    /* STUB: // Write the read: buffer_reserve(&c->in, READ_CHUNK); one recv() after c->in.len */
    /* STUB: // (EAGAIN, EINTR: return 0; other -1: warn_call(), return -1; 0: the client closed, */
    /* STUB: // warn_msg() if part of a frame came, return -1); c->in.len += n; answer_frames(c), */
    /* STUB: // then client_write(c). */
    /* STUB: (void)c; (void)answer_frames; (void)client_write; not_implemented(5); */
    ssize_t n;

    if (buffer_reserve(&c->in, READ_CHUNK) == -1) {
        warn_msg("client (fd %d): out of memory for its messages, closing it", c->fd);
        return -1;
    }
    n = recv(c->fd, c->in.data + c->in.len, READ_CHUNK, 0);
    if (n == -1) {
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
            return 0;               /* nothing after all: poll() again */
        warn_call("recv", "from client (fd %d)", c->fd);
        return -1;
    }
    if (n == 0) {
        if (c->in.len > 0)
            warn_msg("client (fd %d) closed in the middle of a frame (%zu bytes of it came): "
                     "dropping them", c->fd, c->in.len);
        return -1;                  /* the client closed its end */
    }
    c->in.len += (size_t)n;
    if (answer_frames(c) == -1)
        return -1;
    /* Send the replies now rather than after another poll(): usually the
     * kernel takes them all and POLLOUT is never needed. */
    return client_write(c);
    /* END SOLUTION */
}

/* What poll() should watch for c: readable while its replies are under the
 * limit (back-pressure), writable only while replies wait (POLLOUT on a
 * socket with room would wake us for nothing, in a busy loop). */
static short client_events(const struct client *c)
{
    /* BEGIN SOLUTION */
    /* STUB: // Return what poll() should watch: POLLIN while c->out.len < OUT_LIMIT, | POLLOUT while c->out.len > 0. */
    /* STUB: (void)c; not_implemented(5); */
    return (c->out.len < OUT_LIMIT ? POLLIN : 0) | (c->out.len > 0 ? POLLOUT : 0);
    /* END SOLUTION */
}

/* Step 5: the loop. One poll() waits for whatever happens first on any
 * socket; then each socket that is ready gets its turn, and none waits. */
static void serve(struct server *s)
{
    /* BEGIN SOLUTION */
    /* STUB: // Write the loop, until stop_requested(): fflush(stdout); poll(s->fds, s->nfds, -1) */
    /* STUB: // (EINTR: continue; other -1: die_call("poll", ...)); POLLIN on fds[0]: accept_clients(); */
    /* STUB: // then each client i from the last down to 1 with revents: POLLOUT: client_write(c); */
    /* STUB: // POLLIN, POLLHUP, POLLERR: client_read(c); on -1 or POLLNVAL drop_client(s, i), else */
    /* STUB: // s->fds[i].events = client_events(c). */
    /* STUB: (void)s; (void)accept_clients; (void)client_read; (void)client_events; not_implemented(5); */
    while (!stop_requested()) {
        fflush(stdout);             /* this round's data lines, in one write */
        int ready = poll(s->fds, s->nfds, -1);

        if (ready == -1) {
            if (errno == EINTR)
                continue;           /* a signal; stop_requested() decides */
            die_call("poll", "on %zu sockets", s->nfds);
        }
        if (s->fds[0].revents & POLLIN)
            accept_clients(s);      /* appends; new entries have revents 0 */
        /* Backwards, so drop_client() moving the last entry into slot i
         * moves one that has had its turn already. */
        for (size_t i = s->nfds - 1; i >= 1; i--) {
            struct client *c = &s->clients[i];
            short re = s->fds[i].revents;
            int rc = 0;

            if (re == 0)
                continue;
            if (re & POLLOUT)
                rc = client_write(c);
            if (rc == 0 && (re & (POLLIN | POLLHUP | POLLERR)))
                rc = client_read(c);
            if (rc == -1 || (re & POLLNVAL))
                drop_client(s, i);
            else
                s->fds[i].events = client_events(c);
        }
    }
    /* END SOLUTION */
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

    /* -k is accepted and changes nothing: this server serves every client
     * at once, until Ctrl-C or SIGTERM. */
    parse_server_args(argc, argv, ABOUT, SERVER_CAN_KEEP, &args);
    ignore_sigpipe();               /* a vanished client must not kill us */
    catch_stop_signals();           /* Ctrl-C: finish, close, exit 0 */

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

    /* Steps 4 and 5, for every client at once: serve(), the loop. */
    if (add_fd(&s, listenfd, POLLIN) == -1)
        die_msg("out of memory for the poll set");
    serve(&s);

    /* Step 6: close every client; then the listening socket: the port is
     * free again, and clients still in the accept queue are reset (RST),
     * not refused. */
    while (s.nfds > 1)
        drop_client(&s, s.nfds - 1);
    if (close(listenfd) == -1)
        warn_call("close", "listening fd %d", listenfd);
    free(s.fds);
    free(s.clients);
    return EXIT_OK;
}
