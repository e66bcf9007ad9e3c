/*
 * addr.h - socket addresses: turn text into a sockaddr and back.
 */
#ifndef SOCKETLAB_ADDR_H
#define SOCKETLAB_ADDR_H

#include <sys/socket.h>

/**
 * @defgroup addr Addresses
 * @brief Socket addresses as text, and a server's own address from text.
 * @{
 */

/**
 * @brief Format a socket address as text: `127.0.0.1:5005` or `[::1]:5005`.
 * @param sa   the address (IPv4 or IPv6).
 * @param len  its length, as the call was given or returned it.
 * @return a string in one of a few static buffers, valid until the fourth
 *         call after this one (enough for one trace line). Never fails: an
 *         unknown family or a too-short @p len gives `(AF_?, N bytes)`.
 */
const char *addr_str(const struct sockaddr *sa, socklen_t len);

/**
 * @brief The name of an address family constant.
 * @param family  AF_INET, AF_INET6, ...
 * @return "AF_INET", "AF_INET6", or "AF_?".
 */
const char *family_name(int family);

/**
 * @brief Build the address a server binds: a numeric host and a port.
 * @param host  a numeric IPv4 or IPv6 address ("0.0.0.0", "::").
 * @param port  the port in host byte order (0 for any free port).
 * @param out   the address, with the port in network byte order (htons).
 * @param len   its length, for bind().
 * @return 0 on success; -1 when @p host is not a numeric address.
 */
int passive_addr(const char *host, unsigned short port,
                 struct sockaddr_storage *out, socklen_t *len);

/** @} */

#endif /* SOCKETLAB_ADDR_H */
