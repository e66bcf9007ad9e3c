/*
 * server.c - lesson 03: listen. Steps 1-3 of the seed's demo6: socket,
 * bind, listen; then wait until a client has connected - without
 * accept() - and show that the kernel finished its handshake anyway.
 *
 * Usage: server [-q] [--bind ADDR] [--json] PORT
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
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
#define ABOUT "Lesson 03 (steps 1-3): socket, bind, listen; waits until one client has\n" \
              "finished its handshake (without accept()), then exits."

/* Connections the kernel may hold, handshake done, until we accept them:
 * the seed's 5. (Linux queues one more than this: backlog + 1.) */
#define BACKLOG 5

int main(int argc, char *argv[])
{
    struct server_args args;
    struct sockaddr_in servaddr;
    struct pollfd pfd;
    socklen_t servlen;
    int listenfd, rc, on = 1;

    parse_server_args(argc, argv, ABOUT, 0, &args);
    /* --bind: lessons 01-05 take IPv4 addresses only (lesson 02 binds one
     * with a sockaddr_in); IPv6 comes with getaddrinfo() in lesson 06. */
    if (strchr(args.bind_addr, ':') != NULL)
        die_usage("--bind '%s': binding an IPv6 address comes in lesson 06-close; "
                  "here use an IPv4 address (0.0.0.0, 127.0.0.1)", args.bind_addr);

    /* Step 1: create the listening socket. AF_INET: IPv4 addresses;
     * SOCK_STREAM: a reliable byte stream, which for AF_INET is TCP (the 0
     * lets the kernel pick that protocol; IPPROTO_TCP says it outright).
     * The kernel makes a socket with no address and no connection (state
     * CLOSE) and returns the lowest free file descriptor: 3, after stdin,
     * stdout and stderr. -1 means no socket: always check. */
    listenfd = socket(AF_INET, SOCK_STREAM, 0);
    if (listenfd == -1)
        die_call("socket", "AF_INET, SOCK_STREAM");

    /* Step 2: bind the address and port clients will connect to. */
    /* SO_REUSEADDR before bind(): without it, bind() fails with EADDRINUSE
     * while the port still has a connection in TIME_WAIT (or FIN_WAIT2).
     * That happens to a server restarted after IT closed a connection
     * first, or was killed with a client connected: the side that closes
     * first keeps the connection in TIME_WAIT for 60 s on Linux. (In the
     * seed's exchange the client closes first, so the TIME_WAIT is on the
     * client's port, and the seed's server gets away without this.) */
    if (setsockopt(listenfd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) == -1)
        die_call("setsockopt", "SO_REUSEADDR on fd %d", listenfd);

    /* The address, as the seed fills it. memset first: sockaddr_in has
     * padding (sin_zero) that must be zero. */
    memset(&servaddr, 0, sizeof(servaddr));
    servaddr.sin_family = AF_INET;              /* (1) the address family */
    /* (2) the port, in network byte order (big-endian). The classic bug is
     * forgetting htons(): on a little-endian PC port 5005 (0x138d) would
     * be bound as 36115 (0x8d13). PORT 0 asks the kernel for a free port. */
    servaddr.sin_port = htons(args.port);
    /* (3) which of this host's addresses: INADDR_ANY (0.0.0.0) means all
     * of them, like the seed; --bind 127.0.0.1 means loopback only, and
     * inet_pton() turns the text into the 4 bytes, already big-endian. */
    if (strcmp(args.bind_addr, "0.0.0.0") == 0)
        servaddr.sin_addr.s_addr = htonl(INADDR_ANY);
    else if (inet_pton(AF_INET, args.bind_addr, &servaddr.sin_addr) != 1)
        die_usage("--bind '%s' is not an IPv4 address", args.bind_addr);

    /* bind() gives the socket its address: still state CLOSE, but now
     * the port is taken. EADDRINUSE: someone else has it; EACCES: ports
     * below 1024 need root. */
    if (bind(listenfd, (struct sockaddr *)&servaddr, sizeof(servaddr)) == -1)
        die_call("bind", "%s", addr_str((struct sockaddr *)&servaddr, sizeof(servaddr)));

    /* With PORT 0 the kernel chose a free port at bind(): ask which. */
    servlen = sizeof(servaddr);
    if (getsockname(listenfd, (struct sockaddr *)&servaddr, &servlen) == -1)
        die_call("getsockname", "fd %d", listenfd);

    /* Step 3: listen. The socket turns passive (state LISTEN): from now
     * on the kernel itself answers clients' handshakes and queues up to
     * BACKLOG finished connections until accept() takes them. Without
     * listen(), a client's connect() is refused (ECONNREFUSED). */
    /* BEGIN SOLUTION */
    /* STUB: // Write step 3: listen() on listenfd with a backlog of BACKLOG; */
    /* STUB: // if it returns -1, die_call("listen", "on fd %d", listenfd). */
    /* STUB: not_implemented(3); */
    if (listen(listenfd, BACKLOG) == -1)
        die_call("listen", "on fd %d", listenfd);
    /* END SOLUTION */
    print_address("listening on", (struct sockaddr *)&servaddr, servlen);

    /* No accept() yet (lesson 04). poll() waits until the accept queue
     * is not empty (POLLIN): a client's connect() has already succeeded,
     * because the kernel, not our program, answers the handshake. */
    pfd.fd = listenfd;
    pfd.events = POLLIN;
    do {
        rc = poll(&pfd, 1, -1);
    } while (rc == -1 && errno == EINTR);   /* a signal: wait again */
    if (rc == -1)
        die_call("poll", "fd %d", listenfd);
    /* A socket that is not listening cannot queue clients: poll() then
     * reports POLLHUP at once instead of POLLIN. */
    if (!(pfd.revents & POLLIN))
        die_msg("poll on fd %d: no client can arrive (revents 0x%x): is the socket listening?",
                listenfd, (unsigned)pfd.revents);
    /* POLLIN: a client completed its handshake before any accept(); it
     * waits in the accept queue (the trace shows "accept queue 1 of 5").
     * Exiting now closes the listening socket, which resets it. */
    return EXIT_OK;
}
