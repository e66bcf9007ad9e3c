/*
 * server.c - lesson 06: the whole server, ending with an orderly close.
 * Steps 1-6 of the seed's demo6: socket, bind, listen, accept, recv/send,
 * close. With -k it serves one client after another until Ctrl-C.
 *
 * Usage: server [-q] [-k|--keep-listening] [--bind ADDR] [--json] PORT
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "addr.h"
#include "args.h"
#include "explain.h"
#include "sockio.h"
#include "trace.h"

/* What this program does, for --help. */
#define ABOUT "Lesson 06 (steps 1-6): the whole server: prints each message it receives\n" \
              "and answers \"ok\", like the seed's demo6, then closes its sockets."

/* Connections the kernel may hold, handshake done, until we accept them. */
#define BACKLOG 5
/* The seed's buffer size; one recv() returns at most this much. */
#define BUF_SIZE 1024
/* The seed's reply to every message. */
#define REPLY "ok"

/*
 * Step 5: talk to one client. Each recv() is taken as one message, as the
 * seed's demo6 does, and answered with "ok". Returns 0 when the client
 * closed its end (recv() returned 0) or Ctrl-C ended the wait, -1 when
 * the connection failed.
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
        if (n == -1 && errno == EINTR && !stop_requested())
            continue;               /* a signal interrupted the wait: again */
        if (n == -1) {
            if (stop_requested())
                return 0;           /* Ctrl-C while waiting: close cleanly */
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
    int listenfd, clientfd, rc, on = 1, status = EXIT_OK;

    parse_server_args(argc, argv, ABOUT, SERVER_CAN_KEEP, &args);
    trace_init(ROLE_SERVER, args.trace);
    ignore_sigpipe();               /* a vanished client must not kill us */
    catch_stop_signals();           /* Ctrl-C: finish, close, exit 0 */
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

    for (;;) {
        /* Step 4: accept a client. Blocks until the accept queue holds a
         * connection, then returns a NEW socket for it; listenfd keeps
         * listening. peeraddr says who connected. */
        /* BEGIN SOLUTION */
        /* STUB: (void)clientfd; (void)peeraddr; (void)peerlen; not_implemented(4); */
        peerlen = sizeof(peeraddr);
        clientfd = accept(listenfd, (struct sockaddr *)&peeraddr, &peerlen);
        trace_call(4, clientfd, clientfd, "accept(%d, %s, %u)", listenfd,
                   clientfd == -1 ? "NULL" : addr_str((struct sockaddr *)&peeraddr, peerlen), (unsigned)peerlen);
        if (clientfd == -1) {
            if (stop_requested())
                break;              /* Ctrl-C while waiting for a client */
            if (errno == EINTR)
                continue;           /* some other signal: wait again */
            warn_call("accept", "on fd %d", listenfd);
            status = EXIT_RUNTIME;
            if (!args.keep)
                break;
            continue;               /* -k: one failed accept is not the end */
        }
        /* END SOLUTION */

        /* Step 5: the seed's exchange: a message in, "ok" out. */
        status = talk(clientfd) == 0 ? EXIT_OK : EXIT_RUNTIME;

        /* Step 6 (for this client): close the connected socket. If the
         * client closed first, ours is in CLOSE_WAIT and close() sends our
         * FIN; the side that closes first waits in TIME_WAIT afterwards. */
        /* BEGIN SOLUTION */
        /* STUB: not_implemented(6); */
        trace_view(6, clientfd);
        rc = close(clientfd);
        trace_call(6, rc, NO_VIEW, "close(%d)", clientfd);
        /* END SOLUTION */
        if (!args.keep || stop_requested())
            break;
    }

    /* Step 6: close the listening socket: the port is free again, and
     * clients still in the accept queue are refused (reset). */
    /* BEGIN SOLUTION */
    /* STUB: not_implemented(6); */
    rc = close(listenfd);
    trace_call(6, rc, NO_VIEW, "close(%d)", listenfd);
    /* END SOLUTION */
    /* With -k, one bad client does not make the whole run a failure. */
    return args.keep ? EXIT_OK : status;
}
