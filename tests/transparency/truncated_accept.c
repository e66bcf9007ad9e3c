/*
 * truncated_accept.c - an IPv6 peer accepted into a sockaddr_in (16
 * bytes): legal, the kernel truncates the address and returns its full
 * length (28). Nothing may read past the 16 bytes the caller gave (the
 * buffer is malloc()ed, so AddressSanitizer guards its end).
 * Prints "skip" when this host has no IPv6 loopback.
 */
#include "common.h"

int main(void)
{
    struct sockaddr_in6 a;
    socklen_t len = sizeof(a);
    struct sockaddr_in *small = malloc(sizeof(*small));
    int l = socket(AF_INET6, SOCK_STREAM, 0), c, s;

    memset(&a, 0, sizeof(a));
    a.sin6_family = AF_INET6;
    a.sin6_addr = in6addr_loopback;
    if (l == -1 || bind(l, (struct sockaddr *)&a, sizeof(a)) == -1) {
        puts("skip: no IPv6 loopback");
        return 0;
    }
    if (listen(l, 1) == -1 || getsockname(l, (struct sockaddr *)&a, &len) == -1)
        DIE("listen");
    c = socket(AF_INET6, SOCK_STREAM, 0);
    if (connect(c, (struct sockaddr *)&a, sizeof(a)) == -1)
        DIE("connect");
    len = sizeof(*small);
    s = accept(l, (struct sockaddr *)small, &len);
    printf("accept %s, family AF_INET6 %s, length %u (given %zu)\n", s >= 0 ? "ok" : "failed",
           small->sin_family == AF_INET6 ? "yes" : "no", (unsigned)len, sizeof(*small));
    len = sizeof(*small);
    c = getpeername(s, (struct sockaddr *)small, &len);
    printf("getpeername %d, length %u\n", c, (unsigned)len);
    free(small);
    return 0;
}
