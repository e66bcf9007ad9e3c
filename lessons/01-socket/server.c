/*
 * server.c - lesson 01: socket. Step 1 of the seed's demo6: ask the kernel
 * for a TCP socket and look at what we got: a file descriptor, a socket
 * with no address and no connection. (PORT is checked; lesson 02 binds it.)
 *
 * Usage: server [-q] [--json] [--pause] PORT
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "args.h"
#include "explain.h"

/* What this program does, for --help. */
#define ABOUT "Lesson 01 (step 1): creates a TCP socket, shows what the kernel made,\n" \
              "then exits. PORT is only checked here; lesson 02 binds it."

int main(int argc, char *argv[])
{
    struct server_args args;
    char path[64], target[64];
    ssize_t n;
    int listenfd = -1;

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
    /* BEGIN SOLUTION */
    /* STUB: // Write step 1: socket() for an IPv4 (AF_INET) TCP (SOCK_STREAM) socket, */
    /* STUB: // its fd in listenfd; if it returns -1, die_call("socket", "AF_INET, SOCK_STREAM"). */
    /* STUB: (void)listenfd; not_implemented(1); */
    listenfd = socket(AF_INET, SOCK_STREAM, 0);
    if (listenfd == -1)
        die_call("socket", "AF_INET, SOCK_STREAM");
    /* END SOLUTION */

    /* What is it? A file descriptor like any open file: /proc shows the
     * kernel object behind it, "socket:[inode]". (On stderr: stdout is
     * for the data lines only.) */
    snprintf(path, sizeof(path), "/proc/self/fd/%d", listenfd);
    n = readlink(path, target, sizeof(target) - 1);
    if (n != -1) {
        target[n] = '\0';
        warn_msg("fd %d -> %s: a socket, with no address and no connection yet",
                 listenfd, target);       /* "server: ...", in the user's language */
    }

    /* Step 2, bind, is lesson 02. exit() closes the socket for us. */
    return EXIT_OK;
}
