/*
 * server.c - lesson 01: socket. Step 1 of the seed's demo6: ask the kernel
 * for a TCP socket and look at what we got: a file descriptor, a socket
 * with no address and no connection. (PORT is checked; lesson 02 binds it.)
 *
 * Usage: server [-q] [--bind ADDR] [--json] PORT
 */
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

#include "addr.h"
#include "args.h"
#include "explain.h"
#include "trace.h"

/* What this program does, for --help. */
#define ABOUT "Lesson 01 (step 1): creates a TCP socket, shows what the kernel made,\n" \
              "then exits. PORT is only checked here; lesson 02 binds it."

int main(int argc, char *argv[])
{
    struct server_args args;
    struct sockaddr_storage servaddr;
    socklen_t servlen;
    char path[64], target[64];
    ssize_t n;
    int listenfd;

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

    /* What is it? A file descriptor like any open file; /proc shows the
     * kernel object behind it, "socket:[inode]". */
    snprintf(path, sizeof(path), "/proc/self/fd/%d", listenfd);
    n = readlink(path, target, sizeof(target) - 1);
    if (n != -1) {
        target[n] = '\0';
        trace_note(1, "fd %d -> %s: a socket, with no address and no connection yet", listenfd, target);
    }

    /* Step 2, bind, is lesson 02. exit() closes the socket for us. */
    return EXIT_OK;
}
