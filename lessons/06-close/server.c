/*
 * server.c - lesson 06: the whole server, ending with an orderly close.
 * Steps 1-6 of the seed's demo6: socket, bind, listen, accept, recv/send,
 * close. It binds IPv4 or IPv6 alike (getaddrinfo), and with -k it serves
 * one client after another until Ctrl-C.
 *
 * Usage: server [-q] [-k|--keep-listening] [--bind ADDR] [--json] PORT
 */
#include <errno.h>
#include <netdb.h>
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
#define ABOUT "Lesson 06 (steps 1-6): the whole server: prints each message it receives\n" \
              "and answers \"ok\", like the seed's demo6, then closes its sockets."

/* Connections the kernel may hold, handshake done, until we accept them:
 * the seed's 5. (Linux queues one more than this: backlog + 1.) */
#define BACKLOG 5
/* The seed's buffer size; one recv() here returns at most BUF_SIZE - 1. */
#define BUF_SIZE 1024
/* The seed's reply to every message: two bytes, no '\0' on the wire. */
#define REPLY "ok"
#define REPLY_LEN 2

/*
 * Step 5: talk to one client. Each recv() is taken as one message, as the
 * seed's demo6 does, printed, and answered with "ok". Returns 0 when the
 * client closed its end (recv() returned 0) or Ctrl-C ended the wait, -1
 * when the connection failed.
 */
static int talk(int clientfd)
{
    char buffer[BUF_SIZE];
    size_t sent;
    ssize_t n;

    for (;;) {
        /* recv() blocks until bytes arrive and returns how many: at most
         * sizeof(buffer) - 1, so there is always room for the '\0' we add.
         * 0 means the peer has closed its end (orderly close): forget that
         * case and the loop spins forever on a dead connection. */
        n = recv(clientfd, buffer, sizeof(buffer) - 1, 0);
        if (n == -1 && stop_requested())
            return 0;               /* Ctrl-C while waiting: close cleanly */
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

        /* send() may take fewer bytes than asked (a short write, when the
         * kernel's send buffer is nearly full) and returns how many it
         * took: send the rest until the whole reply is gone. One send()
         * with its count ignored works on loopback and loses bytes on a
         * real network. EINTR: a signal came before any byte went: again.
         * MSG_NOSIGNAL: a vanished client gives EPIPE, not a fatal SIGPIPE. */
        sent = 0;
        while (sent < REPLY_LEN && !stop_requested()) {
            n = send(clientfd, REPLY + sent, REPLY_LEN - sent, MSG_NOSIGNAL);
            if (n == -1 && errno == EINTR)
                continue;           /* interrupted before any byte went */
            if (n == -1) {
                warn_call("send", "reply to client (fd %d)", clientfd);
                return -1;
            }
            sent += (size_t)n;
        }
        /* A client that sends but never reads fills our send buffer, and
         * send() blocks. Ctrl-C (or the alarm catch_stop_signals() arms)
         * interrupts it with EINTR: retrying then would block forever,
         * so the loop above stops once a stop is requested. */
        if (sent < REPLY_LEN)
            return 0;               /* Ctrl-C while sending: close cleanly */
        print_data(DATA_SENT, REPLY, REPLY_LEN);
    }
}

int main(int argc, char *argv[])
{
    struct server_args args;
    struct addrinfo hints, *res = NULL, *p;
    struct sockaddr_storage servaddr, peeraddr;
    socklen_t servlen, peerlen;
    const char *tried = "?";
    int listenfd = -1, clientfd, rc, on = 1, last_errno = 0, status = EXIT_OK;

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
    /* BEGIN SOLUTION */
    /* STUB: // Write the addresses to bind: hints (memset; ai_family AF_UNSPEC, ai_socktype */
    /* STUB: // SOCK_STREAM, ai_flags AI_PASSIVE | AI_NUMERICHOST | AI_NUMERICSERV), then */
    /* STUB: // getaddrinfo(args.bind_addr, args.port_text, &hints, &res); when it does not */
    /* STUB: // return 0, die_resolve(args.bind_addr, args.port_text, rc). */
    /* STUB: (void)hints; (void)rc; not_implemented(2); */
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;        /* IPv4 or IPv6, as --bind says */
    hints.ai_socktype = SOCK_STREAM;    /* TCP */
    hints.ai_flags = AI_PASSIVE | AI_NUMERICHOST | AI_NUMERICSERV;
    rc = getaddrinfo(args.bind_addr, args.port_text, &hints, &res);
    if (rc != 0)
        die_resolve(args.bind_addr, args.port_text, rc);
    /* END SOLUTION */

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

    for (;;) {
        /* Step 4: accept a client. accept() blocks until the accept queue
         * holds a finished connection, then returns a NEW socket for it;
         * listenfd goes on listening. Ctrl-C while waiting ends the server;
         * any other failure is this client's: with -k, wait for the next. */
        peerlen = sizeof(peeraddr);
        clientfd = accept(listenfd, (struct sockaddr *)&peeraddr, &peerlen);
        if (clientfd == -1) {
            if (stop_requested())
                break;                  /* Ctrl-C while waiting for a client */
            if (errno == EINTR)
                continue;               /* some other signal: wait again */
            warn_call("accept", "on fd %d", listenfd);
            status = EXIT_RUNTIME;
            if (!args.keep)
                break;
            continue;                   /* -k: one failed accept is not the end */
        }

        /* Step 5: talk: each message in is answered with "ok". */
        status = talk(clientfd) == 0 ? EXIT_OK : EXIT_RUNTIME;

        /* Step 6 (for this client): close the connected socket. The client
         * usually closed first: our socket is in CLOSE_WAIT, and close()
         * sends our FIN. Forget it and every client leaks a descriptor
         * until accept() fails with EMFILE. */
        /* BEGIN SOLUTION */
        /* STUB: // Write step 6 for this client: close() clientfd; on -1, warn_call("close", ...). */
        /* STUB: not_implemented(6); */
        if (close(clientfd) == -1)
            warn_call("close", "client fd %d", clientfd);
        /* END SOLUTION */
        if (!args.keep || stop_requested())
            break;
    }

    /* Step 6: close the listening socket: the port is free again, and
     * clients still in the accept queue are reset (RST), not refused. */
    /* BEGIN SOLUTION */
    /* STUB: // Write step 6: close() listenfd; on -1, warn_call("close", ...). */
    /* STUB: not_implemented(6); */
    if (close(listenfd) == -1)
        warn_call("close", "listening fd %d", listenfd);
    /* END SOLUTION */
    /* With -k, one bad client does not make the whole run a failure. */
    return args.keep ? EXIT_OK : status;
}
