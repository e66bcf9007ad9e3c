/*
 * addr.h - socket addresses and address families as text.
 */
#ifndef SOCKETLAB_ADDR_H
#define SOCKETLAB_ADDR_H

#include <sys/socket.h>

/**
 * @defgroup addr Addresses
 * @brief Socket addresses and address families as text.
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

/** @} */

#endif /* SOCKETLAB_ADDR_H */
