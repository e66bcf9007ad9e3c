/*
 * 01-socket-server.c - a correct lesson 01 server in another style than
 * the kit's: PF_INET and IPPROTO_TCP spelled out, perror() and
 * EXIT_FAILURE, fstat() to see what the fd is. test_alt_solutions.py
 * checks that it passes lesson 01's tests.
 *
 * Usage: server [-q] [--json] [--pause] PORT
 */
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "args.h"

int main(int argc, char **argv)
{
    struct server_args opts;
    struct stat st;
    int sock;

    parse_server_args(argc, argv, "Lesson 01 in another style: make one TCP socket.", 0, &opts);

    sock = socket(PF_INET, SOCK_STREAM, IPPROTO_TCP);
    if (sock < 0) {
        perror("socket");
        return EXIT_FAILURE;
    }
    if (fstat(sock, &st) == 0 && S_ISSOCK(st.st_mode))
        fprintf(stderr, "got fd %d, a socket (inode %lu), not bound yet\n", sock, (unsigned long)st.st_ino);
    return EXIT_SUCCESS;
}
