/*
 * server.c - lesson 03: listen. Steps 1-3 of the seed's demo6: socket,
 * bind, listen; then wait until a client has connected - without
 * accept() - and show that the kernel finished its handshake anyway.
 *
 * Usage: server [-q] [--bind ADDR] [--json] PORT
 */
#include <errno.h>
#include <poll.h>
#include <sys/socket.h>

#include "addr.h"
#include "args.h"
#include "explain.h"
#include "sockio.h"
#include "trace.h"

/* What this program does, for --help. */
#define ABOUT "Lesson 03 (steps 1-3): socket, bind, listen; waits until one client has\n" \
              "finished its handshake (without accept()), then exits."

/* Connections the kernel may hold, handshake done, until we accept them. */
#define BACKLOG 5

int main(int argc, char *argv[])
{
    struct server_args args;
    struct sockaddr_storage servaddr;
    struct pollfd pfd;
    socklen_t servlen;
    int listenfd, rc, on = 1;

    parse_server_args(argc, argv, ABOUT, 0, &args);
    trace_init(ROLE_SERVER, args.trace);
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

    /* No accept() yet (lesson 04). poll() waits until the accept queue
     * is not empty: a client's connect() has already succeeded, because
     * the kernel, not our program, answers the handshake. */
    pfd.fd = listenfd;
    pfd.events = POLLIN;
    do {
        rc = poll(&pfd, 1, -1);
    } while (rc == -1 && errno == EINTR);
    trace_call(3, rc, listenfd, "poll([{fd=%d, events=POLLIN}], 1, -1)", listenfd);
    if (rc == -1)
        die_call("poll", "fd %d", listenfd);
    trace_note(3, "a client completed its handshake before any accept(): it waits in the accept queue");
    return EXIT_OK;
}
