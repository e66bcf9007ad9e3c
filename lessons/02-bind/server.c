/*
 * server.c - lesson 02: bind. Steps 1-2 of the seed's demo6: create the
 * socket and give it an address and port; with PORT 0 the kernel picks a
 * free port, and getsockname() tells which.
 *
 * Usage: server [-q] [--bind ADDR] [--json] PORT
 */
#include <sys/socket.h>

#include "addr.h"
#include "args.h"
#include "explain.h"
#include "sockio.h"
#include "trace.h"

/* What this program does, for --help. */
#define ABOUT "Lesson 02 (steps 1-2): creates a TCP socket, binds it to PORT, prints\n" \
              "the address it got (\"bound to ADDR:PORT\"), then exits."

int main(int argc, char *argv[])
{
    struct server_args args;
    struct sockaddr_storage servaddr;
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

    print_address("bound to", (struct sockaddr *)&servaddr, servlen);

    /* The socket has an address but is not listening yet (lesson 03): a
     * client connecting now is refused. */
    return EXIT_OK;
}
