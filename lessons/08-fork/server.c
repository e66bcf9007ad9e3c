/*
 * server.c - lesson 08: a process per client. Lesson 07's framed server,
 * but after accept() it forks: the child serves that client, the parent
 * goes straight back to accept(). Serves many clients at once until
 * SIGINT/SIGTERM (-k is accepted: this server always keeps listening).
 *
 * Usage: server [-q] [-k|--keep-listening] [--bind ADDR] [--json] PORT
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "addr.h"
#include "args.h"
#include "explain.h"
#include "sockio.h"

/* What this program does, for --help. */
#define ABOUT "Lesson 08 (fork): the framed server, one process per client, many\n" \
              "clients at once, until Ctrl-C or SIGTERM (-k is implied)."

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

/* One message's bytes; static, so 64 KiB do not sit on the stack. */
static char body[MAX_FRAME];

/*
 * Send all len bytes (Beej's sendall). send() may take fewer bytes than
 * asked (a short write: the send buffer was nearly full) or be interrupted
 * by a signal before it took any (EINTR): both mean "call again with the
 * rest". Returns 0, or -1 with errno set.
 */
static int sendall(int fd, const char *buf, size_t len)
{
    size_t sent = 0;

    while (sent < len) {
        /* MSG_NOSIGNAL: a vanished peer gives EPIPE, not a fatal SIGPIPE. */
        ssize_t n = send(fd, buf + sent, len - sent, MSG_NOSIGNAL);
        if (n == -1 && errno == EINTR && !stop_requested())
            continue;               /* interrupted before sending: again */
        if (n == -1)
            return -1;
        sent += (size_t)n;          /* a short write: send the rest */
    }
    return 0;
}

/*
 * Receive exactly len bytes: TCP is a byte stream, so one recv() may
 * return part of a frame or parts of two. Returns len, or fewer when the
 * peer closed its end first (0: it closed between frames), or -1 with
 * errno set.
 */
static ssize_t recvall(int fd, char *buf, size_t len)
{
    size_t got = 0;

    while (got < len) {
        ssize_t n = recv(fd, buf + got, len - got, 0);
        if (n == -1 && errno == EINTR && !stop_requested())
            continue;               /* a signal, not a stop: wait again */
        if (n == -1)
            return -1;
        if (n == 0)
            break;                  /* the peer closed: return what we have */
        got += (size_t)n;           /* a short read: ask for the rest */
    }
    return (ssize_t)got;
}

/*
 * Step 5: talk to one client, one frame at a time: read the 4-byte length,
 * check it, read exactly that many bytes, answer a framed "ok". Returns 0
 * when the client closed its end between two frames (or Ctrl-C ended the
 * wait), -1 when the connection failed or the client broke the protocol.
 */
static int talk(int clientfd)
{
    char header[HEADER_LEN], reply[HEADER_LEN + REPLY_LEN];
    uint32_t len, reply_len = htonl(REPLY_LEN);
    ssize_t got;

    /* The reply is always the same 6 bytes: 00 00 00 02 'o' 'k'. */
    memcpy(reply, &reply_len, HEADER_LEN);
    memcpy(reply + HEADER_LEN, REPLY, REPLY_LEN);
    for (;;) {
        got = recvall(clientfd, header, HEADER_LEN);
        if (got == -1) {
            if (stop_requested())
                return 0;           /* Ctrl-C while waiting: close cleanly */
            warn_call("recv", "frame header from client (fd %d)", clientfd);
            return -1;
        }
        if (got == 0)
            return 0;               /* closed between frames: the client is done */
        if (got < HEADER_LEN) {
            warn_msg("client (fd %d) closed the connection in the middle of a frame header "
                     "(%zd of %d bytes)", clientfd, got, HEADER_LEN);
            return -1;
        }
        /* memcpy, not *(uint32_t *)header: the bytes need not be aligned.
         * ntohl: the wire says 00 00 00 28 for 40; on a little-endian CPU
         * the same four bytes read raw would be 671088640. */
        memcpy(&len, header, HEADER_LEN);
        len = ntohl(len);
        if (len > MAX_FRAME) {
            warn_msg("client (fd %d) sent a frame of %lu bytes, more than the maximum %d "
                     "(MAX_FRAME): protocol error, closing this client",
                     clientfd, (unsigned long)len, MAX_FRAME);
            return -1;
        }
        got = recvall(clientfd, body, len);
        if (got == -1) {
            if (stop_requested())
                return 0;
            warn_call("recv", "frame body from client (fd %d)", clientfd);
            return -1;
        }
        if ((size_t)got < len) {
            warn_msg("client (fd %d) closed the connection in the middle of a frame "
                     "(%zd of %lu bytes)", clientfd, got, (unsigned long)len);
            return -1;
        }
        print_data(DATA_RECEIVED, body, len);

        /* Header and body in one buffer, so one sendall() sends the frame. */
        if (sendall(clientfd, reply, sizeof(reply)) == -1) {
            warn_call("send", "reply to client (fd %d)", clientfd);
            return -1;
        }
        print_data(DATA_SENT, REPLY, REPLY_LEN);
    }
}

/*
 * The SIGCHLD handler. A child that has exited stays in the process table
 * as a zombie (state Z, <defunct> in ps) until its parent collects its exit
 * status with wait(): reap it here, as soon as it exits. Signals do not
 * queue, so one SIGCHLD may stand for several children: loop until none
 * is left. WNOHANG: a handler must never block. errno saved: the handler
 * runs between two lines of main(), whose errno it must not change.
 */
static void reap_children(int sig)
{
    /* BEGIN SOLUTION */
    /* STUB: // Write the SIGCHLD handler: save errno; waitpid(-1, NULL, WNOHANG) in a loop while */
    /* STUB: // it returns > 0 (one signal may stand for several children); restore errno. */
    /* STUB: (void)sig; not_implemented(4); */
    int saved_errno = errno;

    (void)sig;
    while (waitpid(-1, NULL, WNOHANG) > 0)
        ;                           /* one zombie reaped: any more? */
    errno = saved_errno;
    /* END SOLUTION */
}

int main(int argc, char *argv[])
{
    struct server_args args;
    struct addrinfo hints, *res = NULL, *p;
    struct sockaddr_storage servaddr, peeraddr;
    socklen_t servlen, peerlen;
    const char *tried = "?";
    struct sigaction sa;
    pid_t pid;
    int listenfd = -1, clientfd, rc, on = 1, last_errno = 0, status = EXIT_OK;

    parse_server_args(argc, argv, ABOUT, SERVER_CAN_KEEP, &args);
    ignore_sigpipe();               /* a vanished client must not kill us */
    catch_stop_signals();           /* Ctrl-C: finish, close, exit 0 */
    /* -k or not, this server keeps listening: each client gets a process
     * of its own, so the parent is free for the next at once. */
    args.keep = 1;
    /* Line-buffered: each data line is one write(), so the lines of
     * children printing at the same time never mix mid-line. */
    setvbuf(stdout, NULL, _IOLBF, 0);

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

    /* Reap each child as it exits (see reap_children()). SA_RESTART: an
     * accept() that SIGCHLD interrupts carries on instead of failing with
     * EINTR. SA_NOCLDSTOP: a child stopped by Ctrl-Z is not news. */
    /* BEGIN SOLUTION */
    /* STUB: // Install reap_children() for SIGCHLD: memset() sa; its sa_handler is reap_children, */
    /* STUB: // an empty sa_mask (sigemptyset()), sa_flags SA_RESTART and SA_NOCLDSTOP; sigaction(SIGCHLD, */
    /* STUB: // &sa, NULL), die_call("sigaction", ...) on -1. */
    /* STUB: (void)sa; (void)reap_children; not_implemented(4); */
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = reap_children;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART | SA_NOCLDSTOP;
    if (sigaction(SIGCHLD, &sa, NULL) == -1)
        die_call("sigaction", "SIGCHLD");
    /* END SOLUTION */

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

        /* Step 4, continued: fork. The child is a copy of this process with
         * copies of both descriptors: each socket now has two fds, one in
         * each process, and the kernel closes a socket only when its last
         * fd is closed. So each side closes the one it does not use. */
        /* BEGIN SOLUTION */
        /* STUB: // Write the fork: pid from fork(); -1: warn_call("fork", ...), close() clientfd, continue. */
        /* STUB: // The child (pid 0): close() listenfd; status EXIT_OK if talk(clientfd) returns 0, else */
        /* STUB: // EXIT_RUNTIME; close() clientfd; exit(status). The parent: close() its clientfd. */
        /* STUB: (void)pid; (void)talk; not_implemented(4); */
        pid = fork();
        if (pid == -1) {
            /* Too many processes (EAGAIN) or no memory: this client is
             * closed unserved, the server goes on. */
            warn_call("fork", "to serve client (fd %d)", clientfd);
            if (close(clientfd) == -1)  /* unserved: the client sees EOF */
                warn_call("close", "client fd %d", clientfd);
            continue;
        }
        if (pid == 0) {
            /* The child. It never accepts: close its copy of the
             * listening socket, or the port stays open (LISTEN, clients
             * queued and never served) for as long as any child lives,
             * even after the parent has exited. */
            if (close(listenfd) == -1)  /* the child's copy: it never accepts */
                warn_call("close", "listening fd %d (the child's copy)", listenfd);
            /* Step 5: talk: each message in is answered with "ok". */
            status = talk(clientfd) == 0 ? EXIT_OK : EXIT_RUNTIME;
            /* Step 6 (for this client): the last fd of this connection:
             * close() sends the FIN. */
            if (close(clientfd) == -1)
                warn_call("close", "client fd %d", clientfd);
            exit(status);           /* exit, not return: never back into the loop */
        }
        /* The parent. Close its copy of the client's socket: the child
         * has one. Forget this and every client leaks an fd here (see
         * /proc/PID/fd), and the connection never closes, because the
         * child's close() is no longer the last one. */
        if (close(clientfd) == -1)  /* the parent's copy: the child serves */
            warn_call("close", "client fd %d (the parent's copy)", clientfd);
        /* END SOLUTION */
        if (!args.keep || stop_requested())
            break;
    }

    /* Step 6: close the listening socket: the port is free again, and
     * clients still in the accept queue are reset (RST), not refused. */
    if (close(listenfd) == -1)
        warn_call("close", "listening fd %d", listenfd);
    /* With -k, one bad client does not make the whole run a failure. */
    return args.keep ? EXIT_OK : status;
}
