/*
 * server.c - lesson 04: accept one client. Steps 1-4 of the seed's demo6:
 * socket, bind, listen, accept; the trace names the peer.
 *
 * Usage: server [-q] [--bind ADDR] [--json] PORT
 */
#include <errno.h>
#include <sys/socket.h>

#include "addr.h"
#include "args.h"
#include "explain.h"
#include "sockio.h"
#include "trace.h"

/* What this program does, for --help. */
#define ABOUT "Lesson 04 (steps 1-4): socket, bind, listen, accept one client; prints\n" \
              "nothing from it and exits."

/* Connections the kernel may hold, handshake done, until we accept them. */
#define BACKLOG 5

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

    /* The connected socket is ESTABLISHED (CLOSE_WAIT if the client has
     * already closed its end; the trace shows which); the listening
     * socket still listens for more clients. Step 5 talks. */
    return EXIT_OK;
}
