/*
 * common.h - what the transparency programs share: a loopback TCP pair
 * made in-process, and send/recv loops that survive short counts and
 * EINTR (so LAB_FAULT's short writes change nothing they print).
 * Each program prints only facts on stdout; the same run bare and traced
 * must print the same bytes and exit the same (tests/test_transparency.py).
 */
#ifndef TRANSPARENCY_COMMON_H
#define TRANSPARENCY_COMMON_H

#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define DIE(what) do { perror(what); exit(1); } while (0)

/* A listening TCP socket on 127.0.0.1, any port; its port in *port. */
static inline int listener(unsigned short *port)
{
    struct sockaddr_in a;
    socklen_t len = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd == -1 || bind(fd, (struct sockaddr *)&a, sizeof(a)) == -1 || listen(fd, 8) == -1 ||
        getsockname(fd, (struct sockaddr *)&a, &len) == -1)
        DIE("listener");
    *port = ntohs(a.sin_port);
    return fd;
}

/* A TCP socket connected to 127.0.0.1:port. */
static inline int connect_to(unsigned short port)
{
    struct sockaddr_in a;
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd == -1 || connect(fd, (struct sockaddr *)&a, sizeof(a)) == -1)
        DIE("connect");
    return fd;
}

static inline void send_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;

    while (len > 0) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

        if (n == -1 && errno == EINTR)
            continue;
        if (n <= 0)
            DIE("send");
        p += n;
        len -= (size_t)n;
    }
}

/* Read until len bytes came or the peer closed; how many came. */
static inline size_t recv_all(int fd, void *buf, size_t len)
{
    size_t got = 0;

    while (got < len) {
        ssize_t n = recv(fd, (char *)buf + got, len - got, 0);

        if (n == -1 && errno == EINTR)
            continue;
        if (n == -1)
            DIE("recv");
        if (n == 0)
            break;
        got += (size_t)n;
    }
    return got;
}

#endif
