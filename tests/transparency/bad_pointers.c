/*
 * bad_pointers.c - each socket call given a pointer the kernel refuses:
 * it must return -1 EFAULT, as bare, never crash inside a tracer.
 * Usage: bad_pointers [SKIP...]   (SKIP: cases left out, by name: under
 * AddressSanitizer's runtime its own interceptors read some of them)
 */
#include "common.h"

#include <sys/uio.h>

/* A pointer the kernel refuses, opaque to the compiler. */
static void *volatile bad_pointer = (void *)1;
#define BAD (bad_pointer)

static char **skip;

static int wanted(const char *call)
{
    for (char **s = skip; *s != NULL; s++)
        if (strcmp(*s, call) == 0)
            return 0;
    return 1;
}

static void report(const char *call, long rc)
{
    printf("%s = %ld %s\n", call, rc, rc == -1 ? (errno == EFAULT ? "EFAULT" : strerror(errno)) : "");
}

#define TRY(name, call) do { if (wanted(name)) report(name, (call)); } while (0)

int main(int argc, char **argv)
{
    unsigned short port;
    int l = listener(&port), c = connect_to(port), s = accept(l, NULL, NULL), u;
    struct iovec bad_iov[1] = {{BAD, 5}};
    socklen_t len = 16;

    (void)argc;
    skip = argv + 1;
    u = socket(AF_INET, SOCK_STREAM, 0);
    TRY("send", send(c, BAD, 5, MSG_NOSIGNAL));
    TRY("sendto", sendto(c, BAD, 5, MSG_NOSIGNAL, NULL, 0));
    TRY("bind", bind(u, BAD, 16));
    TRY("connect", connect(u, BAD, 16));
    TRY("setsockopt", setsockopt(c, SOL_SOCKET, SO_REUSEADDR, BAD, sizeof(int)));
    TRY("getsockopt", getsockopt(c, SOL_SOCKET, SO_ERROR, BAD, &len));
    TRY("writev", writev(c, bad_iov, 1));
    TRY("writev-vector", writev(c, BAD, 1));
    TRY("getsockname-len", getsockname(c, BAD, BAD));
    TRY("getsockname-addr", getsockname(c, BAD, &len));
    TRY("getpeername", getpeername(c, BAD, BAD));
    TRY("sendmsg", sendmsg(c, BAD, 0));
    send_all(c, "hello", 5);
    TRY("recv", recv(s, BAD, 5, 0));
    close(connect_to(port));        /* a connection waits: accept() takes it, then cannot say who */
    TRY("accept-len", accept(l, BAD, BAD));
    return 0;
}
