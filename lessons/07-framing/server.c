/*
 * server.c - lesson 07: message boundaries. Lesson 06's server, speaking a
 * framed protocol: each message is a 4-byte length (network byte order)
 * and then that many bytes; each "ok" goes back framed the same way.
 *
 * Usage: server [-q] [-k|--keep-listening] [--bind ADDR] [--json] PORT
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "addr.h"
#include "args.h"
#include "explain.h"
#include "sockio.h"

/* What this program does, for --help. */
#define ABOUT "Lesson 07 (framing): lesson 06's server, speaking the framed protocol:\n" \
              "each message is a 4-byte length (network byte order), then the bytes;\n" \
              "each is printed and answered with a framed \"ok\"."

/* Connections the kernel may hold, handshake done, until we accept them. */
#define BACKLOG 5
/* The length prefix: a uint32_t in network byte order (big-endian). */
#define HEADER_LEN 4
/* The longest message we accept: 64 KiB. The length comes from the
 * network, so it is checked before it sizes anything: a peer that sends
 * ff ff ff ff must not make us wait for (or allocate) 4 GiB. */
#define MAX_FRAME (64 * 1024)
/* The seed's reply to every message, here as a framed message. */
#define REPLY "ok"

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
    /* BEGIN SOLUTION */
    /* STUB: // Write the send loop: send() (flag MSG_NOSIGNAL) from buf + sent until all len */
    /* STUB: // bytes are out; -1 with EINTR and !stop_requested(): call again; other -1: return -1. */
    /* STUB: (void)fd; (void)buf; (void)len; not_implemented(5); */
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
    /* END SOLUTION */
}

/*
 * Receive exactly len bytes: TCP is a byte stream, so one recv() may
 * return part of a frame or parts of two. Returns len, or fewer when the
 * peer closed its end first (0: it closed between frames), or -1 with
 * errno set.
 */
static ssize_t recvall(int fd, char *buf, size_t len)
{
    /* BEGIN SOLUTION */
    /* STUB: // Write the read-exactly loop: recv() into buf + got until len bytes came; -1 with */
    /* STUB: // EINTR and !stop_requested(): again; other -1: return -1; 0 (the peer closed): stop */
    /* STUB: // and return what came (got). */
    /* STUB: (void)fd; (void)buf; (void)len; not_implemented(5); */
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
    /* END SOLUTION */
}

/*
 * Step 5: talk to one client, one frame at a time: read the 4-byte length,
 * check it, read exactly that many bytes, answer a framed "ok". Returns 0
 * when the client closed its end between two frames (or Ctrl-C ended the
 * wait), -1 when the connection failed or the client broke the protocol.
 */
static int talk(int clientfd)
{
    char header[HEADER_LEN], reply[HEADER_LEN + sizeof(REPLY) - 1];
    uint32_t len, reply_len = htonl(sizeof(REPLY) - 1);
    ssize_t got;

    /* BEGIN SOLUTION */
    /* STUB: // Write the framed talk. First reply = reply_len (htonl'd) then REPLY, with memcpy(). */
    /* STUB: // Then loop: recvall() HEADER_LEN bytes into header (0: return 0; fewer: warn_msg(), */
    /* STUB: // return -1); memcpy() header into len, then ntohl(); len > MAX_FRAME: warn_msg(), */
    /* STUB: // return -1 (protocol error); recvall() len bytes into body (fewer: warn_msg(), return -1); */
    /* STUB: // print_data(DATA_RECEIVED, body, len); sendall() reply (-1: warn_call("send", ...)); */
    /* STUB: // print_data(DATA_SENT, ...). recvall() -1: return 0 if stop_requested(), else warn_call(). */
    /* STUB: (void)clientfd; (void)header; (void)reply; (void)len; (void)reply_len; */
    /* STUB: (void)got; (void)body; (void)sendall; (void)recvall; not_implemented(5); */
    /* The reply is always the same 6 bytes: 00 00 00 02 'o' 'k'. */
    memcpy(reply, &reply_len, HEADER_LEN);
    memcpy(reply + HEADER_LEN, REPLY, sizeof(REPLY) - 1);
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
        print_data(DATA_SENT, REPLY, sizeof(REPLY) - 1);
    }
    /* END SOLUTION */
}

int main(int argc, char *argv[])
{
    struct server_args args;
    struct addrinfo hints, *res;
    struct sockaddr_storage servaddr, peeraddr;
    socklen_t servlen, peerlen;
    int listenfd, clientfd, rc, on = 1, status = EXIT_OK;

    parse_server_args(argc, argv, ABOUT, SERVER_CAN_KEEP, &args);
    ignore_sigpipe();               /* a vanished client must not kill us */
    catch_stop_signals();           /* Ctrl-C: finish, close, exit 0 */
    setvbuf(stdout, NULL, _IOLBF, 0); /* each data line out as it happens */

    /* The address to bind, from --bind (a numeric IPv4 or IPv6 address)
     * and PORT: AI_PASSIVE asks for a server's address. */
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICHOST | AI_NUMERICSERV;
    rc = getaddrinfo(args.bind_addr, args.port_text, &hints, &res);
    if (rc != 0)
        die_resolve(args.bind_addr, args.port_text, rc);
    memcpy(&servaddr, res->ai_addr, res->ai_addrlen);
    servlen = res->ai_addrlen;
    freeaddrinfo(res);

    /* Step 1: create the listening socket. */
    listenfd = socket(servaddr.ss_family, SOCK_STREAM, 0);
    if (listenfd == -1)
        die_call("socket", "%s", family_name(servaddr.ss_family));

    /* Step 2: bind the address and port; SO_REUSEADDR first, so a restart
     * can bind while old connections sit in TIME_WAIT. */
    if (setsockopt(listenfd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) == -1)
        die_call("setsockopt", "SO_REUSEADDR");
    if (bind(listenfd, (struct sockaddr *)&servaddr, servlen) == -1)
        die_call("bind", "%s", addr_str((struct sockaddr *)&servaddr, servlen));
    servlen = sizeof(servaddr);     /* PORT 0: which port did the kernel pick? */
    if (getsockname(listenfd, (struct sockaddr *)&servaddr, &servlen) == -1)
        die_call("getsockname", "fd %d", listenfd);

    /* Step 3: listen: the kernel completes handshakes and queues them. */
    if (listen(listenfd, BACKLOG) == -1)
        die_call("listen", "on fd %d", listenfd);
    print_address("listening on", (struct sockaddr *)&servaddr, servlen);

    for (;;) {
        /* Step 4: accept a client: a new socket for this connection. */
        peerlen = sizeof(peeraddr);
        clientfd = accept(listenfd, (struct sockaddr *)&peeraddr, &peerlen);
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

        /* Step 5: framed messages in, framed "ok" out. */
        status = talk(clientfd) == 0 ? EXIT_OK : EXIT_RUNTIME;

        /* Step 6 (for this client): close the connected socket. A client
         * that broke the protocol is closed here too: it gets a FIN, and
         * the server goes on with the next one. */
        close(clientfd);            /* FIN (or RST if bytes are unread) */
        if (!args.keep || stop_requested())
            break;
    }

    /* Step 6: close the listening socket. */
    close(listenfd);                /* the port is free again */
    /* With -k, one bad client does not make the whole run a failure. */
    return args.keep ? EXIT_OK : status;
}
