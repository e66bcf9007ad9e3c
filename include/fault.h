/*
 * fault.h - fault injection at the socket API, driven by LAB_FAULT.
 *
 * The interposer (interpose.c) asks fault_begin() before each wrapped
 * socket call: wait, fail with an errno, or cap the byte count. The spec's
 * syntax is in fault/README.md.
 */
#ifndef SOCKETLAB_FAULT_H
#define SOCKETLAB_FAULT_H

#include <stddef.h>
#include <sys/types.h>

/**
 * @defgroup fault Fault injection
 * @brief Short writes, EINTR, resets and delays on demand (`LAB_FAULT`).
 * @{
 */

/** The calls a rule can name; several libc functions share one. */
enum fault_call {
    FC_SOCKET, FC_BIND, FC_LISTEN, FC_ACCEPT, FC_CONNECT,
    FC_SEND,   /**< send, sendto, sendmsg, write and writev on a socket */
    FC_RECV,   /**< recv, recvfrom, recvmsg, read and readv on a socket */
    FC_CLOSE,  /**< close of a socket */
    FC_COUNT   /**< how many there are */
};

/** What to do to one call. */
struct fault_verdict {
    long delay_ms;   /**< wait this long first (0: no wait) */
    int err;         /**< fail with this errno without making the call (0: make it) */
    size_t cap;      /**< pass at most this many bytes (0: no cap) */
};

/**
 * @brief Read LAB_FAULT, LAB_FAULT_SEED and LAB_FAULT_VERBOSE once.
 *
 * A bad spec is reported on stderr and ends the program with exit code 2.
 */
void fault_init(void);

/**
 * @brief Whether any rule is in force.
 * @return 1 when LAB_FAULT holds rules, else 0.
 */
int fault_enabled(void);

/**
 * @brief Decide what happens to this call (counting it), and wait first
 *        if a delay rule fires.
 * @param c  which call.
 * @return the verdict.
 */
struct fault_verdict fault_begin(enum fault_call c);

/**
 * @brief The byte count to pass on.
 * @param v    the call's verdict.
 * @param len  what the program asked for.
 * @return @p len, or less when a short rule fired.
 */
size_t fault_cap(struct fault_verdict v, size_t len);

/**
 * @brief After the call: record a short count that the cap made.
 * @param c    which call.
 * @param v    the call's verdict.
 * @param len  what the program asked for.
 * @param rc   what the call returned.
 */
void fault_note_short(enum fault_call c, struct fault_verdict v, size_t len, ssize_t rc);

/**
 * @brief What was injected into the last call, once.
 * @return a note such as "short write" or "EINTR", or NULL.
 */
const char *fault_last_note(void);

/** @} */

#endif /* SOCKETLAB_FAULT_H */
