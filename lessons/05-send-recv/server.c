/*
 * server.c - lesson 05: the seed's exchange. Steps 1-5 of demo6: socket,
 * bind, listen, accept, then each message received is answered "ok".
 *
 * Usage: server [-q] [--bind ADDR] [--json] PORT
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "addr.h"
#include "args.h"
#include "explain.h"
#include "sockio.h"
#include "trace.h"

/* What this program does, for --help. */
#define ABOUT "Lesson 05 (steps 1-5): serves one client: prints each message it\n" \
              "receives and answers \"ok\", like the seed's demo6."

/* Connections the kernel may hold, handshake done, until we accept them. */
#define BACKLOG 5
/* The seed's buffer size; one recv() returns at most this much. */
#define BUF_SIZE 1024
/* The seed's reply to every message. */
#define REPLY "ok"

/*
 * Step 5: talk to one client. Each recv() is taken as one message, as the
 * seed's demo6 does, and answered with "ok". Returns 0 when the client
 * closed its end (recv() returned 0), -1 when the connection failed.
 */
static int talk(int clientfd)
{
    /* BEGIN SOLUTION */
    /* STUB: (void)clientfd; not_implemented(5); */
    char buffer[BUF_SIZE];

    for (;;) {
        /* recv() blocks until bytes arrive, returns 0 once the peer has
         * closed its end, -1 on error. Ask for one byte less than the
         * buffer so there is always room for the '\0' we add. */
        ssize_t n = recv(clientfd, buffer, sizeof(buffer) - 1, 0);
        trace_call(5, n, NO_VIEW, "recv(%d, buf, %zu, 0)", clientfd, sizeof(buffer) - 1);
        if (n == -1 && errno == EINTR)
            continue;               /* a signal interrupted the wait: again */
        if (n == -1) {
            warn_call("recv", "from client (fd %d)", clientfd);
            return -1;
        }
        if (n == 0)
            return 0;               /* orderly close: the client is done */
        buffer[n] = '\0';           /* recv() does not terminate strings */
        print_data(DATA_RECEIVED, buffer, (size_t)n);

        /* send() may write fewer bytes than asked: send_all() loops. */
        if (send_all(5, clientfd, REPLY, strlen(REPLY)) == -1) {
            warn_call("send", "reply to client (fd %d)", clientfd);
            return -1;
        }
        print_data(DATA_SENT, REPLY, strlen(REPLY));
    }
    /* END SOLUTION */
}

int main(int argc, char *argv[])
{
    struct server_args args;
    struct sockaddr_storage servaddr, peeraddr;
    socklen_t servlen, peerlen;
    int listenfd, clientfd, rc, on = 1;

    parse_server_args(argc, argv, ABOUT, 0, &args);
    trace_init(ROLE_SERVER, args.trace);
    ignore_sigpipe();               /* a vanished client must not kill us */
    /* The address to bind, from --bind (a numeric IPv4 or IPv6 address)
     * and PORT, in network byte order. */
    if (passive_addr(args.bind_addr, args.port, &servaddr, &servlen) == -1)
        die_usage("--bind '%s' is not a numeric address", args.bind_addr);

    /* Step 1: create the listening socket: a TCP (stream) endpoint that
     * has no address yet. The kernel returns the lowest free fd. */
    /* BEGIN SOLUTION */
    /* STUB: (void)listenfd; not_implemented(1); */
    listenfd = socket(servaddr.ss_family, SOCK_STREAM, 0);
    trace_call(1, listenfd, listenfd, "socket(%s, SOCK_STREAM, 0)", family_name(servaddr.ss_family));
    if (listenfd == -1)
        die_call("socket", "%s", family_name(servaddr.ss_family));
    /* END SOLUTION */

    /* Step 2: bind the address and port. SO_REUSEADDR first, so a server
     * restarted right after a run can bind while old connections on this
     * port still sit in TIME_WAIT (the seed forgets this). */
    /* BEGIN SOLUTION */
    /* STUB: (void)rc; (void)on; not_implemented(2); */
    rc = setsockopt(listenfd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
    trace_call(2, rc, NO_VIEW, "setsockopt(%d, SOL_SOCKET, SO_REUSEADDR, [1], %zu)", listenfd, sizeof(on));
    if (rc == -1)
        die_call("setsockopt", "SO_REUSEADDR");
    rc = bind(listenfd, (struct sockaddr *)&servaddr, servlen);
    trace_call(2, rc, listenfd, "bind(%d, %s, %u)", listenfd, addr_str((struct sockaddr *)&servaddr, servlen), (unsigned)servlen);
    if (rc == -1)
        die_call("bind", "%s", addr_str((struct sockaddr *)&servaddr, servlen));
    /* With PORT 0 the kernel chose a free port at bind(): ask which. */
    servlen = sizeof(servaddr);
    rc = getsockname(listenfd, (struct sockaddr *)&servaddr, &servlen);
    trace_call(2, rc, NO_VIEW, "getsockname(%d, %s, %u)", listenfd, addr_str((struct sockaddr *)&servaddr, servlen), (unsigned)servlen);
    if (rc == -1)
        die_call("getsockname", "fd %d", listenfd);
    /* END SOLUTION */

    /* Step 3: listen. The socket turns passive (LISTEN): the kernel now
     * completes handshakes on its own and queues up to BACKLOG of them. */
    /* BEGIN SOLUTION */
    /* STUB: not_implemented(3); */
    rc = listen(listenfd, BACKLOG);
    trace_call(3, rc, listenfd, "listen(%d, %d)", listenfd, BACKLOG);
    if (rc == -1)
        die_call("listen", "on fd %d", listenfd);
    /* END SOLUTION */
    print_address("listening on", (struct sockaddr *)&servaddr, servlen);

    /* Step 4: accept a client. Blocks until the accept queue holds a
     * connection, then returns a NEW socket for it; listenfd keeps
     * listening. peeraddr says who connected. */
    /* BEGIN SOLUTION */
    /* STUB: (void)clientfd; (void)peeraddr; (void)peerlen; not_implemented(4); */
    do {
        peerlen = sizeof(peeraddr);
        clientfd = accept(listenfd, (struct sockaddr *)&peeraddr, &peerlen);
        trace_call(4, clientfd, clientfd, "accept(%d, %s, %u)", listenfd,
                   clientfd == -1 ? "NULL" : addr_str((struct sockaddr *)&peeraddr, peerlen), (unsigned)peerlen);
    } while (clientfd == -1 && errno == EINTR);   /* a signal: wait again */
    if (clientfd == -1)
        die_call("accept", "on fd %d", listenfd);
    /* END SOLUTION */

    /* Step 5: the seed's exchange: a message in, "ok" out, until the
     * client closes its end. */
    if (talk(clientfd) == -1)
        return EXIT_RUNTIME;

    /* Step 6, closing both sockets, is lesson 06; until then exit() lets
     * the kernel close them for us. */
    return EXIT_OK;
}
