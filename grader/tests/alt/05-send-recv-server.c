/*
 * 05-send-recv-server.c - a correct lesson 05 server in another style than
 * the kit's: perror() instead of die_call(), read()/write() instead of
 * recv()/send(), printf() for the data lines, a do-while send loop and no
 * kit helper but the argument parser. tests/test_alt_solutions.py checks
 * that it passes lesson 05's tests: the tests judge what a program does,
 * not how it is written.
 *
 * Usage: server [-q] [--bind ADDR] [--json] PORT
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "args.h"

#define ABOUT "A lesson 05 server in another style (perror, read/write, printf)."

static int serve(int fd)
{
    char msg[1024];
    int got;

    while ((got = (int)read(fd, msg, sizeof msg - 1)) != 0) {
        if (got < 0) {
            if (errno == EINTR)
                continue;
            perror("read");
            return 1;
        }
        msg[got] = 0;
        printf("received: %s\n", msg);
        fflush(stdout);

        const char *answer = "ok";
        size_t left = 2;
        do {
            ssize_t w = write(fd, answer, left);
            if (w < 0 && errno != EINTR) {
                perror("write");
                return 1;
            }
            if (w > 0) {
                answer += w;
                left -= (size_t)w;
            }
        } while (left > 0);
        printf("sent: ok\n");
        fflush(stdout);
    }
    return 0;
}

int main(int argc, char *argv[])
{
    struct server_args a;
    struct sockaddr_in me;
    socklen_t melen = sizeof me;
    int yes = 1, s, c;

    parse_server_args(argc, argv, ABOUT, 0, &a);
    signal(SIGPIPE, SIG_IGN);

    if ((s = socket(PF_INET, SOCK_STREAM | SOCK_CLOEXEC, IPPROTO_TCP)) < 0) {
        perror("socket");
        return 1;
    }
    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    memset(&me, 0, sizeof me);
    me.sin_family = AF_INET;
    me.sin_port = htons(a.port);
    if (inet_pton(AF_INET, a.bind_addr, &me.sin_addr) != 1) {
        fprintf(stderr, "server: --bind %s: not an IPv4 address\n", a.bind_addr);
        return 2;
    }
    if (bind(s, (struct sockaddr *)&me, sizeof me) < 0) {
        perror("bind");
        return 1;
    }
    if (listen(s, 5) < 0 || getsockname(s, (struct sockaddr *)&me, &melen) < 0) {
        perror("listen");
        return 1;
    }
    printf("listening on %s:%d\n", inet_ntoa(me.sin_addr), ntohs(me.sin_port));
    fflush(stdout);

    while ((c = accept(s, NULL, NULL)) < 0) {
        if (errno != EINTR) {
            perror("accept");
            return 1;
        }
    }
    return serve(c);
}
