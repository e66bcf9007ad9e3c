/*
 * server.c - lesson 05: the seed's exchange. Steps 1-5 of demo6: socket,
 * bind, listen, accept, then each message received is answered "ok".
 *
 * Usage: server [-q] [--bind ADDR] [--json] PORT
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
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
#define ABOUT "Lesson 05 (steps 1-5): serves one client: prints each message it\n" \
              "receives and answers \"ok\", like the seed's demo6."

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
 * client closed its end (recv() returned 0), -1 when the connection failed.
 */
static int talk(int clientfd)
{
    /* BEGIN SOLUTION */
    /* STUB: // Write step 5: loop: recv() into a char buffer[BUF_SIZE] (room for a '\0'); again */
    /* STUB: // on EINTR; -1: warn_call("recv", ...), return -1; 0: the client closed, return 0; */
    /* STUB: // else print_data(DATA_RECEIVED, ...), then send() REPLY (REPLY_LEN bytes, */
    /* STUB: // MSG_NOSIGNAL) in a loop until every byte is sent (send() may take fewer; EINTR: */
    /* STUB: // again; -1: warn_call("send", ...), return -1), then print_data(DATA_SENT, ...). */
    /* STUB: (void)clientfd; not_implemented(5); */
    char buffer[BUF_SIZE];
    size_t sent;
    ssize_t n;

    for (;;) {
        /* recv() blocks until bytes arrive and returns how many: at most
         * sizeof(buffer) - 1, so there is always room for the '\0' we add.
         * 0 means the peer has closed its end (orderly close): forget that
         * case and the loop spins forever on a dead connection. */
        n = recv(clientfd, buffer, sizeof(buffer) - 1, 0);
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
        while (sent < REPLY_LEN) {
            n = send(clientfd, REPLY + sent, REPLY_LEN - sent, MSG_NOSIGNAL);
            if (n == -1 && errno == EINTR)
                continue;           /* interrupted before any byte went */
            if (n == -1) {
                warn_call("send", "reply to client (fd %d)", clientfd);
                return -1;
            }
            sent += (size_t)n;
        }
        print_data(DATA_SENT, REPLY, REPLY_LEN);
    }
    /* END SOLUTION */
}

int main(int argc, char *argv[])
{
    struct server_args args;
    struct sockaddr_in servaddr;
    struct sockaddr_storage peeraddr;
    socklen_t servlen, peerlen;
    int listenfd, clientfd, on = 1;

    parse_server_args(argc, argv, ABOUT, 0, &args);
    ignore_sigpipe();               /* a vanished client must not kill us */
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
    if (listen(listenfd, BACKLOG) == -1)
        die_call("listen", "on fd %d", listenfd);
    print_address("listening on", (struct sockaddr *)&servaddr, servlen);

    /* Step 4: accept a client. accept() blocks until the accept queue
     * holds a finished connection, then returns a NEW socket for it (fd
     * 4, ESTABLISHED); listenfd goes on listening. peeraddr and peerlen
     * say who connected (pass NULL, NULL if you do not care, as the seed
     * does). The typical mistake: talking on listenfd instead of the new
     * fd. A signal may interrupt the wait (EINTR): wait again. */
    do {
        peerlen = sizeof(peeraddr);
        clientfd = accept(listenfd, (struct sockaddr *)&peeraddr, &peerlen);
    } while (clientfd == -1 && errno == EINTR);
    if (clientfd == -1)
        die_call("accept", "on fd %d", listenfd);

    /* Step 5: the seed's exchange: a message in, "ok" out, until the
     * client closes its end. */
    if (talk(clientfd) == -1)
        return EXIT_RUNTIME;

    /* Step 6, closing both sockets, is lesson 06; until then exit() lets
     * the kernel close them for us. */
    return EXIT_OK;
}
