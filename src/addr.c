/*
 * addr.c - socket addresses and address families as text (see addr.h).
 */
#include "addr.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

/* Enough for "[" IPv6 "]:" port, with room to spare. */
#define ADDR_TEXT_MAX (INET6_ADDRSTRLEN + 16)
/* A trace line shows at most a few addresses at once. */
#define ADDR_SLOTS 4

const char *addr_str(const struct sockaddr *sa, socklen_t len)
{
    static char slots[ADDR_SLOTS][ADDR_TEXT_MAX];
    static unsigned next;
    char *out = slots[next++ % ADDR_SLOTS];
    char ip[INET6_ADDRSTRLEN];

    if (sa->sa_family == AF_INET && len >= sizeof(struct sockaddr_in)) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;

        inet_ntop(AF_INET, &in->sin_addr, ip, sizeof(ip));
        snprintf(out, ADDR_TEXT_MAX, "%s:%u", ip, ntohs(in->sin_port));
    } else if (sa->sa_family == AF_INET6 && len >= sizeof(struct sockaddr_in6)) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;

        inet_ntop(AF_INET6, &in6->sin6_addr, ip, sizeof(ip));
        snprintf(out, ADDR_TEXT_MAX, "[%s]:%u", ip, ntohs(in6->sin6_port));
    } else {
        snprintf(out, ADDR_TEXT_MAX, "(%s, %u bytes)", family_name(sa->sa_family),
                 (unsigned)len);
    }
    return out;
}

const char *family_name(int family)
{
    switch (family) {
    case AF_INET: return "AF_INET";
    case AF_INET6: return "AF_INET6";
    case AF_UNIX: return "AF_UNIX";
    case AF_UNSPEC: return "AF_UNSPEC";
    default: return "AF_?";
    }
}
